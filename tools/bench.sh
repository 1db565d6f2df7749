#!/bin/sh
# bench.sh STEP_DIR... - measure every step the same way.
#
# Two modes, chosen by BENCH_MODE:
#   quick (make bench): a few minutes; wrk at 1 and 64 connections, one
#     round of 200 trickling clients, one of 10,000 idle; prints a
#     compact table and writes only under bench/out/ (ignored by git);
#   report (make bench-report): the full run, about 40 minutes; it
#     rewrites the checked-in report bench/README.md, its pictures and
#     the top-level README between its bench markers.
# REF=nginx adds nginx as a reference. All servers run side by side,
# started with -q, and are measured in rounds that take turns between
# them, so that a noisy moment on the machine hurts them all alike:
#   - wrk at 1 and at 64 connections, every request on a new connection
#     (Connection: close), BENCH_SECONDS each, BENCH_ROUNDS rounds; the
#     round with the median requests/s is reported;
#   - the most threads and memory each server used in its 64-connection
#     runs, and the processor time it spent per request (tools/peak,
#     from /proc; n/a where there is no /proc);
# then, once per step, the slow-mix and sleepers scenarios with the
# timeline client; then two scenarios in BENCH_ROUNDS interleaved
# rounds, each run against a server started afresh for it:
#   - slowloris: K trickling clients (BENCH_TRICKLERS) for
#     BENCH_SLOWLORIS_SECONDS while the timeline client sends GET /
#     every 10 ms; p50 and p99 of those requests; then the same with
#     K clients that send a whole head and trickle its body (a slow
#     POST);
#   - idle: N idle connections held (BENCH_IDLE), the servers started
#     with -T 600, then GET / every 10 ms for 1 s; the server's
#     threads, memory and descriptors, the kernel's TCP memory, and the
#     p99 of the requests.
# BENCH_PARTS picks what to measure; in report mode the figures of the
# parts not measured are kept from the last run's bench/raw.tsv, so one
# part can be measured again alone. The defaults of each mode are
# below; seconds are whole numbers. Every server runs under the same
# `ulimit -n 11000`. Nothing is asserted: the figures are printed and
# written. Progress (part, server, round, time left) goes to stderr.
# Every process it starts is stopped when it exits, Ctrl-C included.

cd "$(dirname "$0")/.." || exit 1
THREADS=4       # -t for step 3 and later
HEAD_DEADLINE=2 # -T for step 4 and later: the idle picture shows it
SHORT_DEADLINE=$HEAD_DEADLINE
MODE=${BENCH_MODE:-quick}
case $MODE in
quick)
    SECONDS_EACH=${BENCH_SECONDS:-3}
    ROUNDS=${BENCH_ROUNDS:-1}
    OUT=${BENCH_OUT:-bench/out}
    PARTS=${BENCH_PARTS:-wrk idle slowloris}
    SLOWLORIS_SECONDS=${BENCH_SLOWLORIS_SECONDS:-5}
    TRICKLERS=${BENCH_TRICKLERS:-200}
    IDLE=${BENCH_IDLE:-10000}
    ;;
report)
    SECONDS_EACH=${BENCH_SECONDS:-3}
    ROUNDS=${BENCH_ROUNDS:-5}
    OUT=${BENCH_OUT:-bench} # BENCH_OUT: write elsewhere, for experiments
    PARTS=${BENCH_PARTS:-wrk scenarios idle slowloris}
    SLOWLORIS_SECONDS=${BENCH_SLOWLORIS_SECONDS:-20}
    TRICKLERS=${BENCH_TRICKLERS:-0 50 200}
    IDLE=${BENCH_IDLE:-1000 5000 10000}
    ;;
*)
    echo "bench: BENCH_MODE is quick or report, not '$MODE'" >&2
    exit 2
    ;;
esac
FD_LIMIT=11000   # ulimit -n of every server: room for 10,000 idle
EVERY_MS=10      # the timeline client's GET / comes this often
PATIENCE_S=2     # and counts as unanswered after this long
IDLE_DEADLINE=600 # -T while idle connections are held
. tools/lib.sh

# The same descriptor limit for every server (and wrk): a step that
# wants more must raise its own soft limit, as step 5 does.
# shellcheck disable=SC3045 # ulimit -n: not POSIX, but in every sh
ulimit -n $FD_LIMIT || {
    echo "bench: cannot set ulimit -n $FD_LIMIT (hard limit" \
        "$(ulimit -Hn))" >&2
    exit 1
}

# part NAME: is NAME among the parts to measure?
part() {
    case " $PARTS " in *" $1 "*) return 0 ;; esac
    return 1
}

# need COMMAND PACKAGE WHAT: stop, saying so, when COMMAND is missing.
need() {
    command -v "$1" >/dev/null 2>&1 && return 0
    [ -x "/usr/sbin/$1" ] && return 0
    echo "bench: $1 is not installed, and $3 needs it. Install it" \
        "(Debian, Ubuntu: apt-get install $2; macOS: brew install $1)" \
        "and run again." >&2
    exit 1
}

# ---- the plan: how long each run takes, from the knobs ----
#
# Seconds per run, as measured on 2 busy cores: a wrk run takes its
# BENCH_SECONDS; a slowloris run 2 s more (a server started, and the
# last requests' patience); an idle run of N connections about
# 4 + N / 5000 s (opening them, 1 s of requests, the patience); the
# scenarios about 12 s per step.
SCENARIOS_S=12
wrk_cost() { echo "$SECONDS_EACH"; }
slowloris_cost() { echo $((SLOWLORIS_SECONDS + 2)); }
idle_cost() { echo $((4 + $1 / 5000)); }

count_words() {
    # shellcheck disable=SC2086 # the words are counted
    set -- $1
    echo $#
}

# duration SECONDS: "3 min 5 s", "40 s".
duration() {
    if [ "$1" -ge 60 ]; then
        echo "$(($1 / 60)) min $(($1 % 60)) s"
    else
        echo "$1 s"
    fi
}

# plan STEPS SERVERS: prints the estimate of each part on stderr and
# sets left, the seconds of the whole run.
plan() {
    steps=$1 servers=$2 left=0
    if part wrk; then
        t=$((ROUNDS * 2 * servers * $(wrk_cost)))
        echo "bench: wrk: $ROUNDS round(s) x 2 levels x $servers" \
            "servers x $SECONDS_EACH s = $(duration $t)" >&2
        left=$((left + t))
    fi
    if part scenarios; then
        t=$((steps * SCENARIOS_S))
        echo "bench: scenarios: $steps steps x $SCENARIOS_S s" \
            "= $(duration $t)" >&2
        left=$((left + t))
    fi
    if part idle; then
        t=0
        for n in $IDLE; do
            t=$((t + ROUNDS * steps * $(idle_cost "$n")))
        done
        echo "bench: idle: $ROUNDS round(s) x $steps steps x" \
            "($IDLE connections: 4 s + 1 s per 5000) = $(duration $t)" >&2
        left=$((left + t))
    fi
    if part slowloris; then
        t=$((ROUNDS * $(count_words "$TRICKLERS") * 2 * steps * \
            $(slowloris_cost)))
        echo "bench: slowloris: $ROUNDS round(s) x $(count_words \
            "$TRICKLERS") size(s) x 2 (head, body) x $steps steps x" \
            "($SLOWLORIS_SECONDS + 2) s = $(duration $t)" >&2
        left=$((left + t))
    fi
    echo "bench: about $(duration $left) in all" >&2
}

# progress WHAT SERVER ROUND COST: one line on stderr as a run starts,
# with the time the plan leaves; then COST seconds off the plan. ROUND
# is empty for a part without rounds.
progress() {
    printf 'bench: %s, %s%s; about %s left\n' "$1" "$2" \
        "${3:+, round $3 of $ROUNDS}" "$(duration "$left")" >&2
    left=$((left - $4))
    [ "$left" -ge 0 ] || left=0
}

raw=$tmp/raw.tsv # every figure measured, one per line
: >"$raw"
: >"$tmp/servers"

# forget PID: a process of ours that has exited and been waited for.
forget() {
    grep -vx "$1" "$tmp/pids" >"$tmp/pids.left"
    mv "$tmp/pids.left" "$tmp/pids"
}

cores() {
    getconf _NPROCESSORS_ONLN
}

load() {
    cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo n/a
}

cpu() {
    model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo \
        2>/dev/null | head -1)
    [ -n "$model" ] ||
        model=$(sysctl -n machdep.cpu.brand_string 2>/dev/null)
    echo "${model:-CPU unknown}"
}

machine() {
    echo "$(cores) cores (nproc), $(cpu)," \
        "$(uname -sr); $(${CC:-cc} --version | head -1);" \
        "$(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
}

start_steps() {
    for dir in "$@"; do
        dir=${dir%/}
        # shellcheck disable=SC2046 # the command is split into words
        start_server "$(basename "$dir")" $(server_command "$dir") -q ||
            exit 1
        echo "$(basename "$dir") $server_port $server_pid" >>"$tmp/servers"
        echo "started $(server_command "$dir") -q: port $server_port"
    done
}

nginx_config() {
    cat <<CONF
# Generated by tools/bench.sh for one run; deleted after it.
daemon off;
worker_processes 1;
pid $1/nginx.pid;
error_log $1/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $1/tmp;
    proxy_temp_path $1/tmp;
    fastcgi_temp_path $1/tmp;
    uwsgi_temp_path $1/tmp;
    scgi_temp_path $1/tmp;
    server {
        listen 127.0.0.1:$2;
        location / {
            default_type "text/plain; charset=utf-8";
            return 200 "Hello, World!";
        }
    }
}
CONF
}

# try_nginx PORT: nginx in the foreground, one worker, on PORT, from a
# config written into $tmp. Ready when the timeline client gets a 200;
# returns 1, with nginx stopped, if that does not happen within 5 s.
try_nginx() {
    nginx=$(command -v nginx || echo /usr/sbin/nginx)
    mkdir -p "$tmp/nginx/tmp"
    nginx_config "$tmp/nginx" "$1" >"$tmp/nginx/nginx.conf"
    "$nginx" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" \
        -e "$tmp/nginx/error.log" >"$tmp/nginx.out" 2>&1 &
    pid=$!
    echo "$pid" >>"$tmp/pids"
    i=0
    while [ $i -lt 50 ]; do
        tools/timeline -q -p "$1" / >/dev/null 2>&1 && return 0
        sleep 0.1
        i=$((i + 1))
    done
    kill "$pid" 2>/dev/null
    wait_exit "$pid" 2
    return 1
}

# nginx on a loopback port that was free a moment ago: another program
# may take it first, so try three ports.
start_nginx() {
    for attempt in 1 2 3; do
        port=$(tools/freeport) || exit 1
        if try_nginx "$port"; then
            echo "nginx $port $pid" >>"$tmp/servers"
            echo "started nginx (1 worker): port $port"
            return 0
        fi
        echo "bench: nginx did not start on port $port (try $attempt)"
    done
    cat "$tmp/nginx.out" "$tmp/nginx/error.log" >&2 2>/dev/null
    exit 1
}

# wrk's report -> "requests/s p50_ms p99_ms errors requests"; errors
# are socket errors of every kind plus responses not 2xx or 3xx.
parse_wrk() {
    awk 'function ms(v, n) {
            n = v; sub(/[a-z]+$/, "", n)
            if (v ~ /us$/) return n / 1000
            if (v ~ /ms$/) return n
            if (v ~ /m$/) return n * 60000
            return n * 1000
         }
         $1 == "50%" { p50 = ms($2) }
         $1 == "99%" { p99 = ms($2) }
         /^Requests\/sec:/ { rps = $2 }
         / requests in / { total = $1 }
         /Socket errors:/ { gsub(/,/, ""); err += $4 + $6 + $8 + $10 }
         /Non-2xx or 3xx responses:/ { err += $NF }
         END { printf "%.0f\t%.3f\t%.3f\t%d\t%d\n", rps, p50, p99,
                       err, total }' "$1"
}

# measure NAME PORT PID CONNECTIONS ROUND: one wrk run, and at 64
# connections the server's peak threads and memory, and the processor
# time it used, meanwhile.
measure() {
    file=$tmp/wrk-$1-$4-$5.txt
    threads=1
    [ "$4" -gt 1 ] && threads=2
    sampler=
    if [ "$4" -gt 1 ]; then
        tools/peak -d $((SECONDS_EACH * 1000)) "$3" >"$tmp/peak.txt" &
        sampler=$!
        echo "$sampler" >>"$tmp/pids"
    fi
    wrk -t$threads -c"$4" -d"${SECONDS_EACH}s" --latency \
        -H 'Connection: close' "http://127.0.0.1:$2/" >"$file" 2>&1 \
        </dev/null
    printf 'wrk\t%s\t%s\t%s\t%s\n' "$1" "$4" "$5" \
        "$(parse_wrk "$file")" >>"$raw"
    if [ -n "$sampler" ]; then
        wait "$sampler"
        forget "$sampler"
        awk -v name="$1" -v round="$5" \
            '{ printf "peak\t%s\t%s\t%s\t%s\t%s\n", name, round,
                   $2, $4, $6 }' \
            "$tmp/peak.txt" >>"$raw"
    fi
}

rounds() {
    round=1
    while [ $round -le "$ROUNDS" ]; do
        for conns in 1 64; do
            while read -r name port pid; do
                progress "wrk, $conns conn" "$name" $round \
                    "$(wrk_cost)"
                printf '  round %d, %2d connections: %s\n' \
                    $round "$conns" "$name"
                measure "$name" "$port" "$pid" "$conns" $round
            done <"$tmp/servers"
        done
        round=$((round + 1))
    done
}

# scenario NAME PORT KEY TITLE SCALE_MS REQUESTS...: one timeline,
# its SVG kept for the stacked picture, its makespan and median
# recorded under KEY.
scenario() {
    name=$1 port=$2 key=$3 title=$4 scale=$5
    shift 5
    tools/timeline -q -p "$port" -d 15 --scale "$scale" \
        --title "$name: $title" --svg "$tmp/$key-$name.svg" "$@" \
        >"$tmp/$key-$name.txt" </dev/null
    span=$(figure makespan "$tmp/$key-$name.txt")
    median=$(figure median "$tmp/$key-$name.txt")
    printf 'span\t%s\t%s\t%s\t%s\n' "$name" "$key" "${span:-never}" \
        "${median:-never}" >>"$raw"
    printf '  %-22s %-9s %s\n' "$name" "$key" \
        "$(head -1 "$tmp/$key-$name.txt")"
}

# The standard scenarios, and as many idle connections as a pool has
# workers followed by one request: what -T is for.
slow_scenarios() {
    crowd="$THREADS idle connections, then /"
    set -- /
    while [ $# -le $THREADS ]; do
        set -- idle "$@"
    done
    while read -r name port pid; do
        [ "$name" = nginx ] && continue # no /sleep route
        progress scenarios "$name" "" $SCENARIOS_S
        scenario "$name" "$port" slow-mix slow-mix 2000 slow-mix
        scenario "$name" "$port" sleepers sleepers 8000 sleepers
        scenario "$name" "$port" idle idle 3000 idle
        scenario "$name" "$port" crowd "$crowd" 3000 "$@"
    done <"$tmp/servers"
}

# fresh_server DIR: a server of its own for one run, under the same
# limit; sets server_pid and server_port.
fresh_server() {
    # shellcheck disable=SC2046 # the command is split into words
    start_server fresh $(server_command "$1") -q || exit 1
}

# stop_fresh: SIGTERM, and SIGKILL after 5 s. (Steps 1 to 3 die of
# the signal, and the shell would say "Terminated" each time.)
stop_fresh() {
    kill "$server_pid" 2>/dev/null
    wait_exit "$server_pid" 5 2>/dev/null
}

# answered FILE, requested FILE: from the timeline client's last line,
# "requests 2000, answered 1990, p50 ...".
answered() {
    tail -1 "$1" | sed -n 's/.*answered \([0-9]*\),.*/\1/p'
}
requested() {
    tail -1 "$1" | sed -n 's/^requests \([0-9]*\),.*/\1/p'
}

# slowloris_run DIR K ROUND KIND: one run of the slowloris scenario;
# KIND slowloris trickles heads, slowbody bodies.
slowloris_run() {
    step=$(basename "$1")
    key=$4-$2-$step-$3
    what=trickling
    option=--trickle
    if [ "$4" = slowbody ]; then
        what="trickling a body"
        option=--trickle-body
    fi
    progress "slowloris, $2 $what" "$step" "$3" "$(slowloris_cost)"
    fresh_server "$1"
    tools/timeline -q -p "$server_port" --every $EVERY_MS \
        --for "$SLOWLORIS_SECONDS" -d $PATIENCE_S $option "$2" \
        --title "$step, $2 $what" --svg "$tmp/$key.svg" \
        >"$tmp/$key.txt" </dev/null
    stop_fresh
    p50=$(figure p50 "$tmp/$key.txt")
    p99=$(figure p99 "$tmp/$key.txt")
    back=$(sed -n 's/.* back \([0-9]*\) times.*/\1/p' "$tmp/$key.txt")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$4" "$step" "$2" \
        "$3" "${p50:-never}" "${p99:-never}" "$(answered "$tmp/$key.txt")" \
        "$(requested "$tmp/$key.txt")" "${back:-0}" >>"$raw"
    printf '  round %d, %3d %-16s %-22s %s\n' "$3" "$2" "$what:" \
        "$step" "$(tail -1 "$tmp/$key.txt")"
}

slowloris_part() {
    echo "slowloris: $TRICKLERS trickling clients, $SLOWLORIS_SECONDS s" \
        "each; GET / every $EVERY_MS ms"
    round=1
    while [ $round -le "$ROUNDS" ]; do
        for kind in slowloris slowbody; do
            for k in $TRICKLERS; do
                for dir in "$@"; do
                    slowloris_run "${dir%/}" "$k" $round $kind
                done
            done
        done
        round=$((round + 1))
    done
}

# idle_run DIR N ROUND: one run of the idle scenario, with the server's
# threads, memory and descriptors sampled meanwhile.
idle_run() {
    step=$(basename "$1")
    key=idle-$2-$step-$3
    progress "idle, $2 connections" "$step" "$3" "$(idle_cost "$2")"
    HEAD_DEADLINE=$IDLE_DEADLINE
    fresh_server "$1"
    HEAD_DEADLINE=$SHORT_DEADLINE
    tools/peak -d 600000 "$server_pid" >"$tmp/$key.peak" &
    sampler=$!
    echo "$sampler" >>"$tmp/pids"
    sleep 0.1 # the first sample: the idle server
    tools/timeline -q -p "$server_port" --hold "$2" --every $EVERY_MS \
        --for 1 -d $PATIENCE_S --title "$step, $2 idle" \
        --svg "$tmp/$key.svg" >"$tmp/$key.txt" </dev/null
    kill "$sampler"
    wait "$sampler"
    forget "$sampler"
    stop_fresh
    held=$(sed -n 's/^held: \([0-9]*\) of.*/\1/p' "$tmp/$key.txt")
    p99=$(figure p99 "$tmp/$key.txt")
    # peak: threads T rss_kb R cpu_ms C fds F rss_start_kb S tcp_mem_kb M
    awk -v name="$step" -v n="$2" -v round="$3" -v held="${held:-0}" \
        -v p99="${p99:-never}" -v ok="$(answered "$tmp/$key.txt")" \
        -v asked="$(requested "$tmp/$key.txt")" \
        '{ printf "idle\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s" \
                  "\t%s\t%s\n", name, n, round, held, p99, ok, asked,
                  $2, $4, $10, $12, $8 }' \
        "$tmp/$key.peak" >>"$raw"
    printf '  round %d, %5d idle: %-22s held %s; %s\n    %s\n' "$3" \
        "$2" "$step" "${held:-0}" "$(cat "$tmp/$key.peak")" \
        "$(tail -1 "$tmp/$key.txt")"
}

idle_part() {
    echo "idle: $IDLE idle connections (-T $IDLE_DEADLINE), then GET /" \
        "every $EVERY_MS ms for 1 s"
    round=1
    while [ $round -le "$ROUNDS" ]; do
        for n in $IDLE; do
            for dir in "$@"; do
                idle_run "${dir%/}" "$n" $round
            done
        done
        round=$((round + 1))
    done
}

# side_svg OUT LEFT RIGHT: two pictures of 450 side by side.
side_svg() {
    h1=$(sed -n '1s/.* height="\([0-9]*\)".*/\1/p' "$2")
    h2=$(sed -n '1s/.* height="\([0-9]*\)".*/\1/p' "$3")
    h=$h1
    [ "$h2" -gt "$h" ] && h=$h2
    {
        printf '<svg xmlns="http://www.w3.org/2000/svg" width="900"'
        printf ' height="%d" viewBox="0 0 900 %d">\n' "$h" "$h"
        printf '<g>\n'
        sed '1d;$d' "$2"
        printf '</g>\n<g transform="translate(450,0)">\n'
        sed '1d;$d' "$3"
        printf '</g>\n</svg>\n'
    } >"$1"
}

# pair_file SCENARIO SIZE N: the picture of step N's run at SIZE in
# the round whose p99 was the median of its rounds.
pair_file() {
    round=$(awk -v what="$1-round" -v size="$2" -v n="$3" \
        -f tools/report.awk "$raw")
    name=$(awk -v what=name -v n="$3" -f tools/report.awk "$raw")
    echo "$tmp/$1-$2-$name-$round.svg"
}

# pair_svg SCENARIO SIZE OUT: steps 4 and 5 at SIZE, side by side.
pair_svg() {
    left=$(pair_file "$1" "$2" 4)
    right=$(pair_file "$1" "$2" 5)
    if [ -f "$left" ] && [ -f "$right" ]; then
        side_svg "$3" "$left" "$right"
    else
        echo "bench: no pictures of steps 4 and 5 for $1 at $2"
    fi
}

# stack_svg OUT IN...: the pictures one above the other, in one SVG.
# Each input has <svg ...> on its first line and </svg> on its last.
stack_svg() {
    out=$1
    shift
    height=0
    for f in "$@"; do
        h=$(sed -n '1s/.* height="\([0-9]*\)".*/\1/p' "$f")
        height=$((height + h))
    done
    {
        printf '<svg xmlns="http://www.w3.org/2000/svg" width="900"'
        printf ' height="%d" viewBox="0 0 900 %d">\n' $height $height
        y=0
        for f in "$@"; do
            printf '<g transform="translate(0,%d)">\n' $y
            sed '1d;$d' "$f"
            printf '</g>\n'
            h=$(sed -n '1s/.* height="\([0-9]*\)".*/\1/p' "$f")
            y=$((y + h))
        done
        printf '</svg>\n'
    } >"$out"
}

# tabulate WHAT: report.awk's WHAT (a table, the targets ...) of the
# figures measured so far.
tabulate() {
    awk -f tools/report.awk -v what="$1" -v workers=$THREADS \
        -v patience=$((PATIENCE_S * 1000)) "$raw"
}

# chart WHAT OUT TITLE SUBTITLE: a bar chart of report.awk's WHAT.
chart() {
    awk -f tools/report.awk -v what="$1" "$raw" |
        awk -f tools/chart.awk -v title="$3" -v subtitle="$4" >"$2"
}

# The files in bench/: the report (README.md), the part of it for the
# top-level README (README-snippet.md), the raw figures and pictures.
# Pictures are written only for the parts measured in this run.
write_outputs() {
    mkdir -p "$OUT"
    cp "$raw" "$OUT/raw.tsv"
    if part scenarios; then
        for s in slow-mix sleepers idle crowd; do
            set --
            for f in "$tmp/$s"-step*.svg; do
                [ -f "$f" ] && set -- "$@" "$f"
            done
            [ $# -gt 0 ] && stack_svg "$OUT/timeline-$s.svg" "$@"
        done
        chart makespans "$OUT/makespans.svg" \
            "Slow scenarios, in ms (less is better)" \
            "slow-mix: one 2 s request, then six fast; sleepers: eight of 1 s"
    fi
    part wrk && chart throughput "$OUT/throughput.svg" \
        "Requests/s, Hello World, Connection: close (more is better)" \
        "$(cores) cores, $(cpu); wrk, median of $ROUNDS rounds"
    part idle && pair_svg idle "$(largest "$IDLE")" \
        "$OUT/timeline-idle-4v5.svg"
    part slowloris && pair_svg slowloris "$(largest "$TRICKLERS")" \
        "$OUT/timeline-slowloris-4v5.svg"
    part slowloris && pair_svg slowbody "$(largest "$TRICKLERS")" \
        "$OUT/timeline-slowbody-4v5.svg"
    report >"$OUT/README.md"
    snippet >"$OUT/README-snippet.md"
    [ "$MODE" = report ] && [ "$OUT" = bench ] && update_readme
}

# largest "0 50 200": 200.
largest() {
    echo "$1" | tr ' ' '\n' | sort -n | tail -1
}

# The top-level README carries the snippet between its markers.
update_readme() {
    grep -q '^<!-- bench:begin -->$' README.md 2>/dev/null || return 0
    awk -v snippet="$OUT/README-snippet.md" '
        /^<!-- bench:end -->$/ { skip = 0 }
        !skip { print }
        /^<!-- bench:begin -->$/ {
            while ((getline line < snippet) > 0) print line
            skip = 1
        }' README.md >"$tmp/README.md" && cp "$tmp/README.md" README.md
}

# meta PART: when and how PART was measured, for the report.
# meta PART LOAD_BEFORE STARTED: STARTED in seconds since the epoch.
meta() {
    took=$(($(date +%s) - $3))
    printf 'meta\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" \
        "$(date -u '+%Y-%m-%d %H:%M UTC')" "$2" "$(load)" "$ROUNDS" \
        "$(machine)" "$took" >>"$raw"
    echo "bench: $1 took $((took / 60)) min $((took % 60)) s"
}

# The machine and the method of each part, from the meta lines.
measured() {
    awk -F '\t' -v part="$1" -v threads=$THREADS \
        -v deadline=$HEAD_DEADLINE -v each="$SECONDS_EACH" \
        -v slow_s="$SLOWLORIS_SECONDS" -v every=$EVERY_MS \
        -v patience=$PATIENCE_S -v idle_t=$IDLE_DEADLINE \
        -v limit=$FD_LIMIT '
        $1 == "meta" && $2 == part {
            took = $8 == "" ? "" : sprintf(" (this part took %d min" \
                " %d s)", $8 / 60, $8 % 60)
            printf "Measured %s%s on %s. Load average (1 min) %s" \
                " before, %s after: other work on the machine shows in" \
                " the figures. Every server runs under `ulimit -n" \
                " %s`.\n", $3, took, $7, $4, $5, limit
            if (part == "wrk")
                printf "wrk: %s interleaved rounds of %s s per server" \
                    " and level, every request on its own connection;" \
                    " the round with the median requests/s is shown." \
                    " Steps 3 and up run -t %s; step 4 and up also" \
                    " -T %s.\n", $6, each, threads, deadline
            if (part == "slowloris")
                printf "Slowloris: %s interleaved rounds, each run" \
                    " against a server started for it (-t %s from" \
                    " step 3, -T %s from step 4): the trickling" \
                    " clients connect, then for %s s the timeline" \
                    " client sends GET / every %s ms, each on a new" \
                    " connection, timed from connect() to the last" \
                    " byte; one unanswered after %s s counts as" \
                    " slower than any answer. Medians of the rounds.\n",
                    $6, threads, deadline, slow_s, every, patience
            if (part == "idle")
                printf "Idle: %s interleaved rounds, each against a" \
                    " server started for it (-t %s from step 3, -T %s" \
                    " from step 4), sampled every 5 ms by tools/peak:" \
                    " the connections are opened gradually, then for" \
                    " 1 s GET / every %s ms (unanswered after %s s:" \
                    " slower than any answer). Medians of the rounds.\n",
                    $6, threads, idle_t, every, patience
        }' "$raw"
}

# bench/README.md: everything measured.
report() {
    target=bench-report
    [ "$MODE" = quick ] && target=bench
    echo "<!-- generated by make $target${REF:+ REF=$REF};" \
        "do not edit -->"
    if grep -q '^wrk' "$raw"; then
        echo
        measured wrk
        echo
        cost_text
        echo
        tabulate table
        echo
        cat <<TEXT
Read it honestly. Every request here opens and closes a TCP connection
(\`Connection: close\`), and wrk shares the machine's $(cores) cores with
the server: the kernel's work on connections dominates, so every
competent server lands close to the others on the fast route, and the
rounds below show how far apart two runs of the same server can be.
Where the steps differ is the slow scenarios (makespan: from the first
request sent to the last answer; for slow-mix the median too, which
shows whether the six fast requests waited for the slow one): one
connection at a time (step 1) adds up the sleeps, a thread per
connection (step 2) overlaps them all, a pool of $THREADS (steps 3 to
5) runs them in waves of $THREADS. Peak threads and memory are sampled
every 5 ms during the 64-connection runs, and the processor time the
server used then is divided by the requests it answered: other work on
the machine moves that figure much less than requests/s (nginx: master
and worker together).
TEXT
        echo
        tabulate spread
        echo
        tabulate targets
    fi
    if grep -q '^slowloris' "$raw"; then
        echo
        echo "## Slowloris: normal requests among trickling clients"
        echo
        measured slowloris
        echo
        tabulate slowloris
        echo
        slowloris_text
        echo
        tabulate slowloris-rounds
        echo
        echo "![slowloris, steps 4 and 5](timeline-slowloris-4v5.svg)"
    fi
    if grep -q '^slowbody' "$raw"; then
        echo
        echo "## Slow bodies: normal requests among clients trickling a body"
        echo
        tabulate slowbody
        echo
        slowbody_text
        echo
        tabulate slowbody-rounds
        echo
        echo "![slow bodies, steps 4 and 5](timeline-slowbody-4v5.svg)"
    fi
    if grep -q '^idle' "$raw"; then
        echo
        echo "## Idle connections: what waiting costs"
        echo
        measured idle
        echo
        tabulate idle
        echo
        idle_text
        echo
        tabulate idle-rounds
        echo
        echo "![idle connections, steps 4 and 5](timeline-idle-4v5.svg)"
    fi
    echo
    tabulate targets12
    profile_section
    if grep -q '^wrk' "$raw"; then
        echo
        echo "![requests per second](throughput.svg)"
    fi
    if grep -q '^span' "$raw"; then
        echo "![slow scenarios](makespans.svg)"
        echo "![sleepers, step by step](timeline-sleepers.svg)"
        echo "![slow-mix, step by step](timeline-slow-mix.svg)"
        echo "![idle, step by step](timeline-idle.svg)"
        echo "![$THREADS idle connections, then /](timeline-crowd.svg)"
    fi
}

cost_text() {
    cat <<TEXT
The first figure is the processor time the server spent per request
(user and system, over its 64-connection runs, divided by the requests
it answered), and its ratio to nginx's: on a shared machine it is the
steadiest figure, since other work takes the processor away from the
server, which lowers its requests/s, but does not add to the time the
server itself spends on a request.
TEXT
}

# ---- "Where the time goes": filled from a checked-in file ----
# bench/profile.md, when present, is copied verbatim under its own
# heading: profiles (perf and the like) of where each server spends
# its processor time. It is written by hand, not by this script.
PROFILE=bench/profile.md
profile_section() {
    [ -f "$PROFILE" ] || return 0
    echo
    echo "## Where the time goes"
    echo
    cat "$PROFILE"
}

slowloris_text() {
    cat <<TEXT
Each cell is p50 / p99 in ms of every GET / sent during the run, the
waves of -T cut-offs included; ">$((PATIENCE_S * 1000))" means that more
than half (p50) or more than 1% (p99) of the requests had no answer
within $PATIENCE_S s. A trickling client sends one header byte every
500 ms and never finishes its head; when the server closes it, it
connects again at once. Step 1 reads the first trickler's head for
ever. Step 2 gives every trickler a thread of its own, so normal
requests pass. Step 3's $THREADS workers are all taken by tricklers that
never finish. Step 4 frees a worker every -T $HEAD_DEADLINE s, but the
tricklers come straight back into the same queue as the normal
requests, so each request waits for the waves ahead of it. Step 5 keeps
every trickler in its poll set and hands a worker only a whole request:
the tricklers cost it a pollfd each, not a worker; it still throws
each out after -T $HEAD_DEADLINE s (counted from accept()), and the
last column below shows them coming back. That column counts the
trickling connections that ended (closed by the server, or failed to
connect) and were opened anew.
TEXT
}

slowbody_text() {
    cat <<TEXT
The same method as the slowloris table, but each trickling client
sends a whole head, \`POST /echo\` with \`Content-Length: 65536\`, at
once, and then its body one byte every 500 ms (a slow POST). Steps 3
and 4 hand the connection to a worker as soon as it is accepted, and
the worker reads the body: the tricklers take every worker, as with
heads. Step 5's loop reads the body too before it takes a worker, so a
body trickler costs it a pollfd and a request buffer (and the body's
room from its first byte), never a worker; -T $HEAD_DEADLINE still
counts from accept() and covers the body.
TEXT
}

idle_text() {
    cat <<TEXT
"held": connections open from the client's side: the kernel completes
a connection in the backlog (128 here) before the server accepts it.
"fds": the most descriptors the server had open. Threads, RSS and fds
are the server's peak during the run; "RSS idle" is its RSS before the
first connection; "TCP mem" is how far the kernel's memory for TCP
buffers (/proc/net/sockstat, the whole machine, both ends of every
loopback connection) rose during the run. p99 is over the GET / requests
sent while the connections were held. None of the steps 1 to 4 raises
its descriptor limit, and here none needs to: the limit is $FD_LIMIT for
every server. Step 1 accepts one connection and reads it for ever; the
rest wait in the backlog and the normal requests behind them. Step 2
spends a thread (and its stack) per idle connection, and answers.
Steps 3 and 4 hand the first $THREADS idle connections to their
workers, queue 64 more, leave the backlog full, and answer nobody:
-T $IDLE_DEADLINE is far away. Step 5 keeps every idle connection in
its poll set: a pollfd and a small struct each.
TEXT
}

# bench/README-snippet.md: what the top-level README.md carries between
# its <!-- bench:begin --> and <!-- bench:end --> lines.
snippet() {
    if grep -q '^wrk' "$raw"; then
        measured wrk
        echo
        tabulate table
        echo
        echo "With \`Connection: close\` on $(cores) cores the kernel's TCP" \
            "work dominates, and competent servers land close together on" \
            "the fast route; the slow scenarios are where the steps" \
            "differ."
        echo
    fi
    if grep -q '^slowloris' "$raw"; then
        echo "Normal requests (GET / every $EVERY_MS ms) among trickling" \
            "clients, p50 / p99 in ms, median of $ROUNDS rounds:"
        echo
        tabulate slowloris
        echo
    fi
    if grep -q '^slowbody' "$raw"; then
        echo "The same with clients that trickle a body (a slow POST):"
        echo
        tabulate slowbody
        echo
    fi
    if grep -q '^idle' "$raw"; then
        echo "Idle connections held, then GET / every $EVERY_MS ms," \
            "median of $ROUNDS rounds:"
        echo
        tabulate idle
        echo
    fi
    echo "Every round, the targets and more pictures:" \
        "[bench/README.md](bench/README.md)."
}

# Figures kept from the last run for the parts not measured now.
keep_old_figures() {
    [ -f "$OUT/raw.tsv" ] || return 0
    for p in wrk scenarios idle slowloris; do
        part $p && continue
        case $p in
        wrk) types="wrk peak" ;;
        scenarios) types=span ;;
        slowloris) types="slowloris slowbody" ;;
        *) types=$p ;;
        esac
        for t in $types; do
            awk -F '\t' -v t="$t" '$1 == t' "$OUT/raw.tsv" >>"$raw"
        done
        awk -F '\t' -v p="$p" '$1 == "meta" && $2 == p' \
            "$OUT/raw.tsv" >>"$raw"
    done
}

# ---- the run ----

part wrk && need wrk wrk "the wrk part"
[ "$REF" = nginx ] && need nginx nginx-light \
    "REF=nginx (REF= leaves nginx out)"
mkdir -p "$OUT" || exit 1
servers=$#
[ "$REF" = nginx ] && servers=$((servers + 1))
began=$(date +%s)
echo "bench: $MODE: parts: $PARTS; rounds: $ROUNDS; writes $OUT/" >&2
plan $# $servers
# Quick: the terminal gets the table; every round's line goes to a log.
if [ "$MODE" = quick ]; then
    exec 3>&1 >"$OUT/log.txt"
else
    exec 3>&1
fi
echo "bench: parts: $PARTS; $ROUNDS rounds"
echo "machine: $(machine)"
echo "every server under ulimit -n $FD_LIMIT"
[ "$MODE" = report ] && keep_old_figures
if part wrk || part scenarios; then
    start_steps "$@"
    [ "$REF" = nginx ] && start_nginx
    if part wrk; then
        load_before=$(load) started=$(date +%s)
        echo "wrk (Connection: close), $SECONDS_EACH s per run:"
        rounds
        meta wrk "$load_before" "$started"
    fi
    if part scenarios; then
        load_before=$(load) started=$(date +%s)
        echo "slow scenarios (timeline client):"
        slow_scenarios
        meta scenarios "$load_before" "$started"
    fi
    stop_all
fi
if part idle; then
    load_before=$(load) started=$(date +%s)
    idle_part "$@"
    meta idle "$load_before" "$started"
fi
if part slowloris; then
    load_before=$(load) started=$(date +%s)
    slowloris_part "$@"
    meta slowloris "$load_before" "$started"
fi
write_outputs
took=$(($(date +%s) - began))
if [ "$MODE" = quick ]; then
    exec >&3 3>&-
    echo "bench (quick, $ROUNDS round): $(machine)"
    echo "load average (1 min) now $(load); took $(duration $took)"
    echo
    tabulate quick
    echo
    echo "The processor time per request is the steadiest figure on a" \
        "shared machine;"
    echo "requests/s moves with every other program. Every run:" \
        "$OUT/log.txt;"
    echo "this run's full report: $OUT/README.md." \
        "make bench-report: the full run."
else
    echo
    report | sed 1d
    echo
    echo "bench: took $(duration $took); wrote" "$OUT"/*
fi
