# exercises/report.awk - the grader's report: Criterion's JSON joined to
# a hints table.
#
#   awk -f report.awk -v dir=... -v suite=... -v logs=... \
#       -v skips=FILE -v white=REGEX -v next_text="..." \
#       -v causes=FILE -v crashes=FILE -v title=... \
#       [-v ended_why="..."] TABLE JSON...
#
# TABLE: the expanded hints table (tab-separated: suite/test,
# expectation, hint, try). JSON: Criterion's --json reports. Prints one
# line per expectation in the table's order, marked ✔, ✘ or – (skipped,
# with the reason); under each failure the lines expected: (when it
# says more than the title), got:, hint: and try:; then, when all are
# met, next_text; last "k of m expectations met" (title: whose).
# A failure message may name what the test observed, "[cause: NAME]":
# then the hint is the one causes (NAME<TAB>hint) gives that cause,
# not the row's. The same hint is printed once, and later misses point
# to it. crashes: suite/test<TAB>what the crash was<TAB>cause, found by
# grade.sh rerunning a crashed test. When most misses share one reason
# (nothing answered, the server ended), a note says so first; with
# ended_why (grade.sh saw the server end by itself right after it
# started) the note says that, with the table's "# silent: HINT". Tests
# that Criterion left out because of a --filter are not expectations
# of this run and are not printed. Exit status 0 when nothing failed,
# 1 otherwise.

BEGIN {
    FS = "\t"
    rows = 0
    # skips: suite/test<TAB>why, for the white-box tests left out
    while (skips != "" && (getline l < skips) > 0) {
        split(l, f, "\t")
        skip_why[f[1]] = f[2]
    }
    while (causes != "" && (getline l < causes) > 0) {
        if (l ~ /^#/ || split(l, f, "\t") < 2)
            continue
        cause_hint[f[1]] = f[2]
    }
    while (crashes != "" && (getline l < crashes) > 0) {
        split(l, f, "\t")
        crash_what[f[1]] = f[2]
        crash_cause[f[1]] = f[3]
    }
}

# The table comes first: one row per expectation.
FNR == NR {
    # "# silent: HINT": what to look at first when nothing answered
    if ($0 ~ /^# silent: /)
        silent_hint = substr($0, 11)
    if ($0 ~ /^#/ || $0 ~ /^[ \t]*$/)
        next
    rows++
    test[rows] = $1
    text[rows] = $2
    hint[rows] = $3
    try[rows] = $4
    next
}

# Criterion's JSON, one field per line. Messages may hold unescaped
# quotes, so values are taken between the first and the last quote.
{
    line = $0
}
line ~ /^      "name": "/ {
    group = value(line)
    next
}
line ~ /^          "name": "/ {
    current = group "/" value(line)
    in_messages = ignore = 0
    next
}
# A test run in one report is left out (SKIPPED) in the others.
line ~ /^          "status": "/ {
    ignore = value(line) == "SKIPPED" && (current in status)
    if (!ignore)
        status[current] = value(line)
    next
}
line ~ /^          "messages": \[".*"\],?$/ {
    sub(/^          "messages": \[/, "", line)
    sub(/\],?$/, "", line)
    add_message(current, line)
    next
}
line ~ /^          "messages": \[$/ {
    in_messages = 1
    next
}
in_messages && line ~ /^          \]/ {
    in_messages = 0
    next
}
in_messages {
    sub(/^ +/, "", line)
    sub(/,$/, "", line)
    add_message(current, line)
    next
}

function value(s) {
    sub(/^[^:]*: "/, "", s)
    sub(/",?$/, "", s)
    return s
}

# Criterion lists a test's messages last one first: the first failed
# assertion, the one to explain, is the one stored last.
function add_message(t, m) {
    if (ignore)
        return
    sub(/^"/, "", m)
    sub(/"$/, "", m)
    sub(/^[^ :]+:[0-9]+: /, "", m) # tests/harness.c:352:
    sub(/; its log is below$/, "", m)
    sub(/ \(log below\)/, "", m)
    first_message[t] = m
    message_count[t]++
}

# "X should be Y, but it is Z" -> expected X should be Y; got it is Z.
function split_message(m, row,    seps, n, i, at) {
    n = split(", but |; but |; got |, got |; they took |, has ", seps,
              "|")
    for (i = 1; i <= n; i++) {
        at = index(m, seps[i])
        if (at > 0) {
            want = substr(m, 1, at - 1)
            got = substr(m, at + length(seps[i]))
            sub(/^(it |they |got )/, "", got)
            return
        }
    }
    want = text[row]
    got = m
}

function log_of(t,    name, path, cmd) {
    name = t
    sub(/\//, ".", name)
    path = ""
    cmd = "ls " logs "/" name ".*.log 2>/dev/null"
    while ((cmd | getline path) > 0)
        break
    close(cmd)
    return path
}

function fill(s, t) {
    gsub(/\{TRY\}/, "sh exercises/try.sh {DIR}", s)
    gsub(/\{TEST\}/, "sh exercises/try.sh --test {SUITE} {DIR} " t, s)
    gsub(/\{DIR\}/, dir, s)
    gsub(/\{SUITE\}/, suite, s)
    return s
}

# The reason shared by many misses, for the note on top.
function reason_of(got) {
    if (got ~ /usage: exit status 2|refused its command line/)
        return "option"
    if (got ~ /[Cc]onnection (refused|reset|timed out)|status 0,? \(?0 bytes|no complete 200|did not answer|no response|nothing came back|could not connect/)
        return "silent"
    if (got ~ /exited with status|killed by signal|was not running|died/)
        return "ended"
    return ""
}

function out(s) { report[++lines] = s }

END {
    met = failed = skipped = notrun = notmet = 0
    for (i = 1; i <= rows; i++) {
        t = test[i]
        split(t, parts, "/")
        st = (t in status) ? status[t] : "MISSING"
        if (t in skip_why) {
            out("– " text[i])
            if (!said[skip_why[t]]++)
                out("    (skipped: " skip_why[t] ")")
            skipped++
            continue
        }
        if (rest_why != "" && t !~ white &&
            (st == "MISSING" || st == "SKIPPED")) {
            out("– " text[i])
            if (!rest_count++) {
                out("    (" rest_why ")")
                if (ended_why != "")
                    out("    hint: " (silent_hint != "" ? silent_hint : \
                        "The accept loop must run until the server " \
                        "is stopped: does it return at once, or is " \
                        "it never called?"))
            }
            notmet++
            continue
        }
        if (st == "SKIPPED" && first_message[t] == "The test was skipped.") {
            notrun++ # left out by --filter: not asked for in this run
            continue
        }
        if (st == "PASSED") {
            out("✔ " text[i])
            met++
            continue
        }
        if (st == "SKIPPED") {
            out("– " text[i])
            out("    (skipped: " first_message[t] ")")
            skipped++
            continue
        }
        failed++
        out("✘ " text[i])
        cause = ""
        if (st == "MISSING") {
            want = text[i]
            got = "the test " t " was not run: it is not in this " \
                  "build of the suite (run make exercises-check)"
        } else if (first_message[t] == "The test timed out.") {
            want = text[i]
            got = "no result within " timeout " s: the test timed out " \
                  "(is something waiting for ever?)"
        } else if (first_message[t] == "The test crashed.") {
            want = text[i]
            got = (t in crash_what) ? crash_what[t] : \
                  "the test crashed: a crash in your code under the " \
                  "test (it calls your pool.c, http.c)"
            cause = (t in crash_cause) ? crash_cause[t] : ""
        } else
            split_message(first_message[t], i)
        if (cause == "" && match(got, /\[cause: [a-z_0-9]+\]/))
            cause = substr(got, RSTART + 8, RLENGTH - 9)
        gsub(/ ?\[cause: [a-z_0-9]+\]/, "", got)
        gsub(/ ?\[cause: [a-z_0-9]+\]/, "", want)
        if (message_count[t] > 1)
            got = got " (and " message_count[t] - 1 " more failed " \
                  "check" (message_count[t] > 2 ? "s" : "") \
                  " in this test: its try: line shows them all)"
        h = hint[i]
        if (cause != "" && (cause in cause_hint))
            h = cause_hint[cause]
        # The pool's unit tests see one bug from several sides: once one
        # has named the cause, the others' misses are its consequences.
        if (white != "" && t ~ white) {
            if (lead == "" && cause != "")
                lead = cause
            else if (lead != "" && cause != lead)
                h = "most likely the same bug as in the first miss " \
                    "above, seen from another side: fix that one first"
        }
        # the server refused its options: say that, not the test's hint
        if (usage_hint != "" && (got ~ /usage: exit status 2/ ||
            (got ~ /listening on/ && got ~ /exited with status 2/)))
            h = usage_hint
        r = reason_of(got)
        if (r != "")
            reasons[r]++
        path = log_of(t)
        if (path != "")
            got = got "; server log: " path
        # expected: only when it says more than the title
        if (want != "" && !index(text[i], want) && !index(want, text[i]))
            out("    expected: " want)
        out("    got: " got)
        if (h in hint_first) {
            first = hint_first[h]
            if (length(first) > 50)
                first = substr(first, 1, 47) "..."
            out("    hint: the same as for \"" first "\" above")
            hint_seen[h]++
        } else {
            hint_first[h] = text[i]
            hint_at[h] = lines + 1
            hint_seen[h] = 1
            out("    hint: " h)
        }
        tried = fill(try[i], t)
        if (!(tried in try_seen)) {
            try_seen[tried] = 1
            out("    try: " tried)
        }
    }
    # The first of a repeated hint says how many misses it explains.
    for (h in hint_at)
        if (hint_seen[h] > 1)
            report[hint_at[h]] = report[hint_at[h]] " (the hint for " \
                hint_seen[h] " of these misses)"
    note = ""
    for (r in reasons)
        if (failed >= 3 && reasons[r] * 2 > failed)
            note = r
    # nothing answered, seen as refused, reset or timed-out connections
    # by some tests and as a server that ended by others: one reason
    if (note == "" && failed >= 3 &&
        (reasons["silent"] + reasons["ended"]) * 2 > failed)
        note = "silent"
    if (ended_why != "")
        print "note: nothing was answered: " ended_why \
              (silent_hint != "" ? ". " silent_hint : "") "\n"
    else if (note == "option")
        print "note: " reasons[note] " of the " failed " misses below " \
              "are that one: the server refused the option\n"
    else if (note == "silent")
        print "note: most misses are one: nothing answered. " \
              (silent_hint != "" ? silent_hint : "Does the server " \
              "accept connections and hand each one to http_serve()?") \
              " Its stderr's first line: " \
              (first_err != "" ? first_err : "(empty)") "\n"
    else if (note == "ended")
        print "note: most misses are one: the server ended under the " \
              "tests. Its stderr's first line: " \
              (first_err != "" ? first_err : "(empty)") "\n"
    for (k = 1; k <= lines; k++)
        print report[k]
    total = met + failed + notmet
    line = met " of " total " expectations met"
    if (title != "")
        line = title ": " line
    if (notmet > 0)
        line = line " (" notmet " not run yet)"
    if (skipped > 0)
        line = line ", " skipped " skipped"
    if (notrun > 0)
        line = line " (" notrun " more not run: FILTER)"
    print ""
    if (failed + notmet == 0 && total > 0 && next_text != "")
        print next_text
    print line
    exit failed + notmet > 0 || total == 0
}
