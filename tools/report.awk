# report.awk - bench's raw figures as Markdown, or as data for charts.
#
#   awk -f tools/report.awk -v what=WHAT [-v workers=4] \
#       [-v patience=2000] raw.tsv
#   WHAT: quick table spread targets throughput makespans slowloris
#         slowloris-rounds slowbody slowbody-rounds idle idle-rounds
#         targets12; or, for the pictures, name (of step n),
#         slowloris-round, slowbody-round and idle-round
#         (the round of step n at size whose p99 is the median)
#
# raw.tsv, written by tools/bench.sh, one figure a line, tab-separated:
#   wrk   NAME CONNECTIONS ROUND REQUESTS/S P50_MS P99_MS ERRORS TOTAL
#   peak  NAME ROUND THREADS RSS_KB CPU_MS  (n/a without /proc)
#   span  NAME SCENARIO MAKESPAN_MS MEDIAN_MS  (never: not answered)
#   slowloris NAME TRICKLERS ROUND P50_MS P99_MS ANSWERED REQUESTS
#         RECONNECTIONS  (never: that many requests not answered)
#   slowbody  the same fields, with clients that trickle a body
#   idle  NAME CONNECTIONS ROUND HELD P99_MS ANSWERED REQUESTS THREADS
#         RSS_KB RSS_START_KB TCP_MEM_KB FDS
#   meta  PART DATE LOAD_BEFORE LOAD_AFTER ROUNDS MACHINE

BEGIN {
    stepn = n # -v n=: the rules below use n for their own counts
    FS = "\t"
    if (workers == "") workers = 4
    if (patience == "") patience = 2000
    NEVER = 1e18 # sorts after every figure
}

$1 != "meta" && !($2 in seen) { seen[$2] = 1; names[++count] = $2 }

$1 == "wrk" {
    key = $2 SUBSEP $3
    n = ++runs[key]
    rps[key, n] = $5; p50[key, n] = $6; p99[key, n] = $7
    errors[$2] += $8
    if ($3 == 64) requests[$2] += $9
}

$1 == "peak" && $4 == "n/a" { no_proc[$2] = 1 }
$1 == "peak" && $4 != "n/a" {
    if ($4 + 0 > threads[$2]) threads[$2] = $4 + 0
    if ($5 + 0 > rss[$2]) rss[$2] = $5 + 0
    cpu_ms[$2] += $6
}

$1 == "span" { span[$2, $3] = $4; median[$2, $3] = $5 }

# Slowloris and idle: every round's figures, by (name, size).
$1 == "slowloris" || $1 == "slowbody" || $1 == "idle" {
    kind = $1
    if (!((kind, $3) in has_size)) {
        has_size[kind, $3] = 1
        sizes[kind, ++nsizes[kind]] = $3
    }
    key = kind SUBSEP $2 SUBSEP $3
    n = ++nround[key]
    for (i = 4; i <= NF; i++) f[key, n, i] = $i
}

# A figure as a number that sorts: "never" after every other.
function value(v) {
    return v == "never" || v == "" ? NEVER : v + 0
}

# The median of field i over the rounds of key (the lower middle one
# for an even count), as written in raw.tsv.
function med(key, i,    n, r, j, t, order) {
    n = nround[key]
    for (r = 1; r <= n; r++) order[r] = r
    for (r = 2; r <= n; r++)
        for (j = r; j > 1 && value(f[key, order[j], i]) < \
                 value(f[key, order[j - 1], i]); j--) {
            t = order[j]; order[j] = order[j - 1]; order[j - 1] = t
        }
    med_round = f[key, order[int((n + 1) / 2)], 4]
    return f[key, order[int((n + 1) / 2)], i]
}

# Milliseconds as written, or for never ">2000".
function lat(v) {
    return v == "never" ? ">" patience : v
}

function mib(kb) {
    return kb == "n/a" || kb == "" ? "n/a" : sprintf("%.1f MiB", kb / 1024)
}

function kib(kb) {
    return kb == "n/a" || kb == "" ? "n/a" : sprintf("%d KiB", kb)
}

# The sizes of kind in ascending order: "0 50 200".
function sorted_sizes(kind,    i, j, t, n, out) {
    n = nsizes[kind]
    for (i = 1; i <= n; i++) ord[i] = sizes[kind, i]
    for (i = 2; i <= n; i++)
        for (j = i; j > 1 && ord[j] + 0 < ord[j - 1] + 0; j--) {
            t = ord[j]; ord[j] = ord[j - 1]; ord[j - 1] = t
        }
    return n
}

# kind: slowloris (heads trickled) or slowbody (bodies).
function slowloris_table(kind,    n, i, k, name, key, line) {
    n = sorted_sizes(kind)
    line = "| server |"
    for (k = 1; k <= n; k++)
        line = line " " ord[k] " trickling" \
            (kind == "slowbody" ? " a body" : "") " |"
    print line
    line = "|---|"
    for (k = 1; k <= n; k++) line = line "--:|"
    print line
    for (i = 1; i <= count; i++) {
        name = names[i]
        if (!((kind, name, ord[1]) in nround)) continue
        line = "| " name " |"
        for (k = 1; k <= n; k++) {
            key = kind SUBSEP name SUBSEP ord[k]
            line = line " " lat(med(key, 5)) " / " lat(med(key, 6)) " |"
        }
        print line
    }
}

# Every round: field i of each round, joined.
function rounds_of(key, i, fmt,    r, line) {
    line = ""
    for (r = 1; r <= nround[key]; r++)
        line = line (r > 1 ? ", " : "") \
            (fmt == "lat" ? lat(f[key, r, i]) : \
             fmt == "mib" ? sprintf("%.1f", f[key, r, i] / 1024) : \
             f[key, r, i])
    return line
}

function slowloris_rounds(kind,    n, i, k, name, key) {
    n = sorted_sizes(kind)
    print "| server | trickling | p50 ms, each round | p99 ms, each" \
        " round | answered, each round | trickling connections" \
        " closed and opened anew, each round |"
    print "|---|--:|--:|--:|--:|--:|"
    for (i = 1; i <= count; i++)
        for (k = 1; k <= n; k++) {
            name = names[i]
            key = kind SUBSEP name SUBSEP ord[k]
            if (!(key in nround)) continue
            printf "| %s | %s | %s | %s | %s of %s | %s |\n", name, \
                ord[k], rounds_of(key, 5, "lat"), \
                rounds_of(key, 6, "lat"), rounds_of(key, 7), \
                f[key, 1, 8], rounds_of(key, 9)
        }
}

function idle_table(    n, i, k, name, key) {
    n = sorted_sizes("idle")
    print "| server | idle | held | fds | threads | RSS idle | RSS |" \
        " TCP mem | p99 ms | answered |"
    print "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
    for (i = 1; i <= count; i++)
        for (k = 1; k <= n; k++) {
            name = names[i]
            key = "idle" SUBSEP name SUBSEP ord[k]
            if (!(key in nround)) continue
            printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |" \
                " %s of %s |\n", name, ord[k], med(key, 5), \
                med(key, 13), med(key, 9), mib(med(key, 11)), \
                mib(med(key, 10)), kib(med(key, 12)), \
                lat(med(key, 6)), med(key, 7), f[key, 1, 8]
        }
}

function idle_rounds(    n, i, k, name, key) {
    n = sorted_sizes("idle")
    print "| server | idle | p99 ms, each round | threads, each round" \
        " | RSS MiB, each round | held, each round |"
    print "|---|--:|--:|--:|--:|--:|"
    for (i = 1; i <= count; i++)
        for (k = 1; k <= n; k++) {
            name = names[i]
            key = "idle" SUBSEP name SUBSEP ord[k]
            if (!(key in nround)) continue
            printf "| %s | %s | %s | %s | %s | %s |\n", name, ord[k], \
                rounds_of(key, 6, "lat"), rounds_of(key, 9), \
                rounds_of(key, 10, "mib"), rounds_of(key, 5)
        }
}

# The round of step n at size whose p99 is the median of its rounds.
function median_p99_round(kind,    key) {
    key = kind SUBSEP step(stepn) SUBSEP size
    if (!(key in nround)) return ""
    med(key, 6)
    return med_round
}

function targets12(    s4, s5, key, p99, v, rss, start, threads, held,
                       r) {
    s4 = step(4); s5 = step(5)
    print "Targets of issue 12, measured in this run (never asserted):"
    print ""
    if (s5 == "") {
        print "- not measured: no step 5 in this run"
        return
    }
    key = "slowloris" SUBSEP s5 SUBSEP 200
    if (key in nround) {
        p99 = med(key, 6)
        printf "- step 5 with 200 trickling clients: normal-request" \
            " p99 %s ms (target: at most 20 ms): %s\n", lat(p99), \
            verdict(value(p99) <= 20)
    } else
        print "- step 5 with 200 trickling clients: not measured"
    key = "idle" SUBSEP s5 SUBSEP 10000
    if (key in nround) {
        held = med(key, 5); threads = med(key, 9)
        rss = med(key, 10); start = med(key, 11); p99 = med(key, 6)
        printf "- step 5 holding 10,000 idle connections: %s held" \
            " (target: 10000): %s; %s threads (target: at most" \
            " %d workers + 2 = %d): %s; RSS %s, idle %s, +%.1f MiB" \
            " (target: at most +4 MiB): %s; p99 %s ms (target: at" \
            " most 20 ms): %s\n", held, verdict(held + 0 >= 10000), \
            threads, workers, workers + 2, \
            verdict(threads + 0 <= workers + 2), mib(rss), \
            mib(start), (rss - start) / 1024, \
            verdict(rss - start <= 4096), lat(p99), \
            verdict(value(p99) <= 20)
    } else
        print "- step 5 holding 10,000 idle connections: not measured"
    if (s4 != "" && rate(s4, 64) != "" && rate(s5, 64) != "") {
        r = ratio(rate(s5, 64), rate(s4, 64))
        printf "- step 5 at 64 connections (Connection: close): %d" \
            " req/s, %.2f× step 4's %d (target: at least 0.85×):" \
            " %s\n", rate(s5, 64), r, rate(s4, 64), verdict(r >= 0.85)
    } else
        print "- step 5 vs step 4 at 64 connections: not measured"
}

# The round whose requests/s is the median of the rounds at key.
function median_round(key,    n, i, j, t, order) {
    n = runs[key]
    for (i = 1; i <= n; i++) order[i] = i
    for (i = 2; i <= n; i++)
        for (j = i; j > 1 && rps[key, order[j]] + 0 < \
                 rps[key, order[j - 1]] + 0; j--) {
            t = order[j]; order[j] = order[j - 1]; order[j - 1] = t
        }
    return order[int((n + 1) / 2)]
}

function rate(name, conns,    key) {
    key = name SUBSEP conns
    return (key in runs) ? rps[key, median_round(key)] : ""
}

function latency(name, conns,    key, r) {
    key = name SUBSEP conns
    if (!(key in runs)) return "-"
    r = median_round(key)
    return sprintf("%.2f / %.2f", p50[key, r], p99[key, r])
}

function label(name) {
    return name == "nginx" ? "nginx (1 worker)" : name
}

# The name of step n in this run ("step3-thread-pool"), or "".
function step(n,    i) {
    for (i = 1; i <= count; i++)
        if (index(names[i], "step" n "-") == 1) return names[i]
    return ""
}

function memory(name) {
    if (no_proc[name]) return "n/a"
    return (name in rss) ? sprintf("%.1f MiB", rss[name] / 1024) : "-"
}

# Processor time the server spent per request at 64 connections, over
# every round: unlike requests/s, hardly moved by other work on the
# machine, which takes the processor away but does not add to this.
function cost(name) {
    if (no_proc[name] || requests[name] + 0 == 0) return "n/a"
    return sprintf("%.0f", cpu_ms[name] * 1000 / requests[name])
}

function ms(v) {
    return v == "never" ? "never" : v == "" ? "-" : v " ms"
}

function makespan(name, scenario) {
    return name == "nginx" ? "n/a" : ms(span[name, scenario])
}

# slow-mix: the makespan is the slow request's; the median shows
# whether the six fast ones had to wait for it.
function slow_mix(name) {
    if (name == "nginx") return "n/a"
    return ms(span[name, "slow-mix"]) " / " ms(median[name, "slow-mix"])
}

function ratio(a, b) {
    return (a == "" || b == "" || b + 0 == 0) ? "" : a / b
}

# The processor time per request first: the steadiest figure.
function table(    i, name, ref) {
    ref = ("nginx" in seen)
    printf "| server | server CPU µs/req, 64 conn "
    if (ref) printf "| CPU vs nginx "
    printf "| req/s, 1 conn | p50 / p99 ms, 1 conn "
    printf "| req/s, 64 conn | p50 / p99 ms, 64 conn "
    if (ref) printf "| 64 conn vs nginx "
    printf "| wrk errors | peak threads | peak RSS "
    printf "| slow-mix makespan / median | sleepers makespan |\n"
    printf "|---|--:|%s--:|--:|--:|--:|%s--:|--:|--:|--:|--:|\n", \
        ref ? "--:|" : "", ref ? "--:|" : ""
    for (i = 1; i <= count; i++) {
        name = names[i]
        printf "| %s | %s ", label(name), cost(name)
        if (ref) printf "| %s ", times(cost(name), cost("nginx"))
        printf "| %s | %s | %s | %s ", rate(name, 1), latency(name, 1), \
            rate(name, 64), latency(name, 64)
        if (ref)
            printf "| %s ", times(rate(name, 64), rate("nginx", 64))
        printf "| %d | %s | %s | %s | %s |\n", errors[name], \
            no_proc[name] ? "n/a" : threads[name], memory(name), \
            slow_mix(name), makespan(name, "sleepers")
    }
}

# a / b as "1.23×", or "n/a" when either is missing.
function times(a, b) {
    if (a == "" || a == "n/a" || b == "" || b == "n/a" || b + 0 == 0)
        return "n/a"
    return sprintf("%.2f×", a / b)
}

# A ratio without its "×", which awk may count as two characters.
function bare(v) {
    sub(/×$/, "", v)
    return v
}

# The largest size of kind measured ("200" of "0 50 200"), or "".
function largest(kind,    n) {
    n = sorted_sizes(kind)
    return n ? ord[n] : ""
}

# make bench's table for the terminal: one line per server, the
# processor time per request first.
function quick(    i, name, ref, sl, sb, id, key, s, d) {
    ref = ("nginx" in seen)
    sl = largest("slowloris"); sb = largest("slowbody")
    id = largest("idle")
    printf "%-21s %10s %7s %7s %7s", "server", "CPU us/req", \
        "x nginx", "req/s", "x nginx"
    if (sl != "") printf " %13s", "slowloris p99"
    if (sb != "") printf " %13s", "slow body p99"
    if (id != "") printf " %15s", "idle held, p99"
    printf "\n%-21s %10s %7s %7s %7s", "", "64 conn", "", "64 conn", ""
    if (sl != "") printf " %13s", sl " trickling"
    if (sb != "") printf " %13s", sb " trickling"
    if (id != "") printf " %15s", id " idle"
    printf "\n"
    for (i = 1; i <= count; i++) {
        name = names[i]
        printf "%-21s %10s %7s %7s %7s", label(name), cost(name), \
            ref ? bare(times(cost(name), cost("nginx"))) : "n/a", \
            rate(name, 64) == "" ? "-" : rate(name, 64), \
            ref ? bare(times(rate(name, 64), rate("nginx", 64))) : "n/a"
        key = "slowloris" SUBSEP name SUBSEP sl
        s = (key in nround) ? lat(med(key, 6)) " ms" : "-"
        if (sl != "") printf " %13s", s
        key = "slowbody" SUBSEP name SUBSEP sb
        s = (key in nround) ? lat(med(key, 6)) " ms" : "-"
        if (sb != "") printf " %13s", s
        key = "idle" SUBSEP name SUBSEP id
        d = (key in nround) ? med(key, 5) ", " lat(med(key, 6)) " ms" : "-"
        if (id != "") printf " %15s", d
        printf "\n"
    }
}

function verdict(ok) {
    return ok ? "**met**" : "**missed**"
}

function target_nginx(n,    s, r) {
    s = step(n)
    if (s == "") return
    if (!("nginx" in seen)) {
        printf "- step %d vs nginx: not measured (make bench REF=nginx)\n", n
        return
    }
    r = ratio(rate(s, 64), rate("nginx", 64))
    printf "- step %d at 64 connections: %.2f× nginx, %d wrk errors" \
        " (target: at least 0.95×, no errors): %s; processor time" \
        " per request %s µs, nginx %s µs\n", n, r, errors[s], \
        verdict(r >= 0.95 && errors[s] == 0), cost(s), cost("nginx")
}

function target_step1(    r) {
    if (step(1) == "" || step(3) == "") return
    r = ratio(rate(step(1), 64), rate(step(3), 64))
    printf "- step 1 at 64 connections: %.2f× step 3" \
        " (target: at least 0.95×): %s\n", r, verdict(r >= 0.95)
}

function target_cost(n,    s, why) {
    s = step(n)
    if (s == "") return
    if (no_proc[s]) {
        printf "- step %d peak RSS and threads: n/a (no /proc)\n", n
        return
    }
    # Step 4 waits for signals in a thread of its own, on purpose.
    if (n >= 4 && threads[s] == workers + 2)
        why = " (the one more is the signal-handling thread)"
    printf "- step %d peak RSS %s (target: at most 2 MiB): %s;" \
        " peak threads %d (target: %d workers + 1 = %d): %s%s\n", n, \
        memory(s), verdict(rss[s] <= 2048), threads[s], workers, \
        workers + 1, verdict(threads[s] == workers + 1), why
}

function target_sleepers(n, ideal,    s, v) {
    s = step(n)
    if (s == "") return
    v = span[s, "sleepers"]
    printf "- step %d sleepers makespan %s (target: %d ms ± 10%%): %s\n", \
        n, makespan(s, "sleepers"), ideal, \
        verdict(v != "never" && v != "" && v >= ideal * 0.9 && \
                v <= ideal * 1.1)
}

function targets() {
    print "Targets of issue 5, measured in this run (never asserted):"
    print ""
    target_nginx(3); target_nginx(4); target_step1()
    target_cost(3); target_cost(4)
    target_sleepers(1, 8000); target_sleepers(2, 1000)
    waves = int((8 + workers - 1) / workers) # 8 sleepers, in waves
    target_sleepers(3, waves * 1000)
    target_sleepers(4, waves * 1000)
}

# Requests/s of every round, to show how much they vary.
function spread(    i, name, c, key, r, line) {
    print "| server | req/s in each round, 1 conn | same, 64 conn |"
    print "|---|--:|--:|"
    for (i = 1; i <= count; i++) {
        name = names[i]
        line = "| " label(name) " |"
        for (c = 1; c <= 64; c += 63) {
            key = name SUBSEP c
            line = line " "
            for (r = 1; r <= runs[key]; r++)
                line = line (r > 1 ? ", " : "") rps[key, r]
            line = line " |"
        }
        print line
    }
}

END {
    if (what == "table") table()
    else if (what == "slowloris") slowloris_table("slowloris")
    else if (what == "slowloris-rounds") slowloris_rounds("slowloris")
    else if (what == "slowbody") slowloris_table("slowbody")
    else if (what == "slowbody-rounds") slowloris_rounds("slowbody")
    else if (what == "idle") idle_table()
    else if (what == "idle-rounds") idle_rounds()
    else if (what == "targets12") targets12()
    else if (what == "name") print step(stepn)
    else if (what == "slowloris-round") print median_p99_round("slowloris")
    else if (what == "slowbody-round") print median_p99_round("slowbody")
    else if (what == "idle-round") print median_p99_round("idle")
    else if (what == "spread") spread()
    else if (what == "quick") quick()
    else if (what == "targets") targets()
    else if (what == "throughput") {
        print "server\t1 connection\t64 connections"
        for (i = 1; i <= count; i++)
            print label(names[i]) "\t" rate(names[i], 1) "\t" \
                rate(names[i], 64)
    } else if (what == "makespans") {
        print "step\tslow-mix makespan\tslow-mix median" \
            "\tsleepers makespan"
        for (i = 1; i <= count; i++)
            if (names[i] != "nginx")
                print names[i] "\t" span[names[i], "slow-mix"] "\t" \
                    median[names[i], "slow-mix"] "\t" \
                    span[names[i], "sleepers"]
    }
}
