#!/usr/bin/env bash
# tests/stress/run.sh - the driver behind `make stress` (Linux: /proc).
#
#   tests/stress/run.sh STEP_DIR...      (from the repository root)
#
# For each step it starts the step's server on a free loopback port,
# runs the scenarios of tests/stress/stress.c against it one after the
# other, and after each checks from /proc that the server is healthy:
# it answers GET / within 1 s, uses almost no CPU, and is back to the
# threads and descriptors it had before the scenario. One table row
# per scenario and step; the table is printed and written to
# tests/stress/logs/table.md (ignored by git). With STRESS_REPORT=1
# (make stress-report) it is also written into tests/README.md between
# the "stress table" markers.
#
# Steps 1-3 are expected to give way somewhere: that is the lesson.
# The run fails only if a step with deadlines and graceful shutdown
# (step 4 on) loses a request, ends unhealthy, or does not exit 0 on
# SIGTERM. Every server started here is killed on the way out.
set -u

client=tests/stress/stress
readme=tests/README.md
logs=tests/stress/logs
clk_tck=$(getconf CLK_TCK)
start_time=$(date +%s)
failed=0
rows=()
live="" # the pid of the server running now, killed on exit

# shellcheck disable=SC2317 # called by the trap
cleanup() {
    [ -n "$live" ] && kill -9 "$live" 2>/dev/null && wait "$live"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$logs"
# Descriptors this script inherited (from make, a terminal, a CI runner)
# would be inherited by the servers too, and count against their
# `ulimit -n 64`. 255 is bash's own hold on this script.
for f in "/proc/$$/fd"/*; do
    fd=${f##*/}
    [ "$fd" -gt 2 ] && [ "$fd" -ne 255 ] && eval "exec $fd>&-"
done

# ---- The server and its numbers in /proc ----

step_number() { # step3-thread-pool -> 3
    local n=${1#step}
    echo "${n%%-*}"
}

# Options per step: 16 workers from step 3 on, and from step 4 a 2 s
# deadline for the request head (step 5 counts it from accept()).
options_for() {
    local n
    n=$(step_number "$1")
    if [ "$n" -ge 4 ]; then
        echo "-t 16 -T 2"
    elif [ "$n" -ge 3 ]; then
        echo "-t 16"
    fi
}

# start_server STEP_DIR LOG [FD_LIMIT]: sets pid and port.
start_server() {
    local dir=$1 log=$2 limit=${3:-} out=$logs/listen.out
    : >"$out"
    # shellcheck disable=SC2046 # the options are meant to split
    if [ -n "$limit" ]; then
        (ulimit -n "$limit" && exec "$dir/server" -p 0 -q \
            $(options_for "$dir")) >"$out" 2>"$log" &
    else
        "$dir/server" -p 0 -q $(options_for "$dir") >"$out" 2>"$log" &
    fi
    pid=$!
    live=$pid
    port=""
    for _ in $(seq 50); do
        port=$(sed -n 's|^listening on http://127.0.0.1:||p' "$out")
        [ -n "$port" ] && return 0
        sleep 0.1
    done
    echo "stress: $dir did not start; see $log" >&2
    exit 1
}

stop_server() {
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    live=""
}

threads_of() { awk '/^Threads:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
fds_of() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
# utime + stime, in clock ticks (fields 14 and 15 of /proc/PID/stat)
ticks_of() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null; }

# value KEY LINE: the value of KEY=... in the client's result line.
value() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }

baseline() {
    "$client" probe "$port" >/dev/null
    sleep 0.2
    base_threads=$(threads_of "$pid")
    base_fds=$(fds_of "$pid")
}

# Sets health to "yes: ..." or "NO: ..." for the running server.
check_health() {
    local t f probe ms c0 c1 cpu problems=""
    if ! kill -0 "$pid" 2>/dev/null; then
        health="NO: server died"
        return
    fi
    # Threads end and lingering closes finish within about a second.
    for _ in $(seq 30); do
        t=$(threads_of "$pid")
        f=$(fds_of "$pid")
        [ "$t" = "$base_threads" ] && [ "$f" = "$base_fds" ] && break
        sleep 0.1
    done
    probe=$("$client" probe "$port")
    ms=$(value measured_worst_ms "$probe")
    c0=$(ticks_of "$pid")
    sleep 0.5
    c1=$(ticks_of "$pid")
    cpu=$(((c1 - c0) * 100 * 2 / clk_tck))
    [ "$(value statuses "$probe")" = "200:1" ] ||
        problems="$problems, GET / failed"
    [ "$t" = "$base_threads" ] ||
        problems="$problems, threads $t (was $base_threads)"
    [ "$f" = "$base_fds" ] || problems="$problems, fds $f (was $base_fds)"
    [ "$cpu" -le 5 ] || problems="$problems, cpu $cpu%"
    if [ -n "$problems" ]; then
        health="NO: ${problems#, }"
    else
        health="yes: GET / ${ms} ms, cpu ${cpu}%, $t thr, $f fd"
    fi
}

# ---- Rows of the table ----

# 7 ms, 6.1 s
seconds() {
    awk -v ms="$1" 'BEGIN {
        if (ms < 1000) printf "%d ms", ms; else printf "%.1f s", ms / 1000 }'
}

# add_row SCENARIO STEP SENT RESULT NOTES HEALTH
add_row() {
    local r=$4 lost notes=$5 row
    lost=$(value lost "$r")
    # How most of the lost and refused connections ended.
    [ "$lost" -gt 0 ] &&
        notes="$notes; lost: $(value lost_why "$r" | tr _ ' ')"
    [ "$(value refused "$r")" -gt 0 ] &&
        notes="$notes; refused: $(value refused_why "$r" | tr _ ' ')"
    row="| $1 | $2 | $3 | $(value complete "$r") | $(value refused "$r")"
    row="$row | $lost | $(value aborted "$r") | $notes | $6 |"
    rows+=("$row")
    echo "$row"
    if [ "$graceful" = 1 ] && { [ "$lost" -gt 0 ] || [ "${6%%:*}" != yes ]; }; then
        failed=1
    fi
}

# "20/20 answered, worst 6.1 s": the normal clients of a result line.
measured_note() {
    local r=$1 worst
    worst=$(value measured_worst_ms "$r")
    printf '%s/%s answered' "$(value measured_complete "$r")" \
        "$(value measured "$r")"
    [ "$worst" -ge 0 ] && printf ', worst %s' "$(seconds "$worst")"
}

# ---- Scenarios ----

run_slowloris() {
    local r note
    r=$("$client" slowloris "$port")
    note="normal clients $(measured_note "$r")"
    # Step 4, with -t 16 -T 2, throws the 50 attackers out in at most
    # ceil(50/16) waves of 2 s: no normal client should wait longer.
    # Step 5 never gives an attacker a worker, so a normal client
    # waits for none of them: it is answered well before the first
    # attacker's -T of 2 s runs out (bound: 1 s).
    local bound=8000 bound_text="ceil(50/16)×2 s = 8.0 s"
    if [ "$(step_number "$step")" -ge 5 ]; then
        bound=1000
        bound_text="1 s, under -T: no wait on an attacker"
    fi
    if [ "$graceful" = 1 ]; then
        note="$note (bound: $bound_text)"
        if [ "$(value measured_worst_ms "$r")" -gt "$bound" ] ||
            [ "$(value measured_worst_ms "$r")" -lt 0 ]; then
            note="$note OVER THE BOUND"
            failed=1
        fi
    fi
    check_health
    add_row slowloris "$step" "50 trickling + 20 normal" "$r" "$note" \
        "$health"
}

run_burst() {
    local r
    r=$("$client" burst "$port")
    check_health
    add_row burst "$step" "2000 × GET / at once" "$r" \
        "median $(seconds "$(value measured_p50_ms "$r")"), $(measured_note "$r")" \
        "$health"
}

run_resets() {
    local r
    r=$("$client" resets "$port")
    check_health
    add_row resets "$step" "300 resets + 120 normal" "$r" \
        "normal clients $(measured_note "$r")" "$health"
}

run_garbage() {
    local r
    r=$("$client" garbage "$port")
    check_health
    add_row garbage "$step" "90 hostile + 20 normal" "$r" \
        "statuses $(value statuses "$r" | tr / ' ')" "$health"
}

run_fdexhaust() {
    local r c0 c1 t0 t1 cpu reports
    start_server "$step" "$logs/$step-fdexhaust.log" 64
    baseline
    c0=$(ticks_of "$pid")
    t0=$(date +%s%N)
    r=$("$client" fdexhaust "$port")
    t1=$(date +%s%N)
    c1=$(ticks_of "$pid")
    cpu=$(((c1 - c0) * 100 * 1000000000 / clk_tck / (t1 - t0)))
    reports=$(grep -c 'accept:' "$logs/$step-fdexhaust.log")
    check_health
    add_row fdexhaust "$step" "500 × (hold 300 ms, GET /), ulimit -n 64" \
        "$r" "EMFILE reports: $reports, cpu during: ${cpu}%, $(measured_note "$r")" \
        "$health"
    stop_server
}

run_sigterm() {
    local r status=running log=$logs/$step-sigterm.log how notes
    start_server "$step" "$log"
    r=$("$client" sigterm "$port" "$pid")
    for _ in $(seq 100); do # the drain has at most 10 s more
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        how="still running 10 s after the load"
        stop_server
    else
        wait "$pid"
        status=$?
        live=""
        if [ "$status" -gt 128 ]; then
            how="killed by signal $((status - 128))"
        else
            how="exit $status"
        fi
    fi
    health="NO: $how"
    if [ "$status" = 0 ] && grep -q '^stopped: ' "$log"; then
        health="yes: $how"
    fi
    # Step 4's own account of the drain, or how the process ended.
    notes=$(grep -E '^(shutting down|stopped): ' "$log" | paste -sd ';' - | sed 's/;/; /g')
    add_row sigterm "$step" "150 GET / or /sleep, SIGTERM at 1.5 s" \
        "$r" "${notes:-$how}" "$health"
}

# ---- Main ----

[ -x "$client" ] || {
    echo "stress: build $client first (make stress)" >&2
    exit 2
}
[ -r /proc/self/status ] || {
    echo "stress: the health checks read /proc: Linux only" >&2
    exit 2
}
step_s=26 # a step's scenarios take about this long on 2 busy cores
done_steps=0
for step in "$@"; do
    echo "stress: $step, step $((done_steps + 1)) of $#;" \
        "about $((($# - done_steps) * step_s)) s left" >&2
    done_steps=$((done_steps + 1))
    graceful=0
    [ "$(step_number "$step")" -ge 4 ] && graceful=1
    echo "== $step ($step/server $(options_for "$step"))"
    start_server "$step" "$logs/$step.log"
    baseline
    run_slowloris
    run_burst
    run_resets
    run_garbage
    stop_server
    run_fdexhaust
    run_sigterm
done

elapsed=$(($(date +%s) - start_time))
echo "stress: $# steps in ${elapsed} s"

# The table: printed, kept in $logs, and for make stress-report
# written into tests/README.md between its markers.
table=$(
    echo "| scenario | step | sent | complete | refused | lost | aborted | notes | healthy after |"
    echo "|---|---|---|---:|---:|---:|---:|---|---|"
    printf '%s\n' "${rows[@]}"
    echo
    echo "Measured by \`make stress-report\` on $(date -u +%Y-%m-%d), $(nproc) cores, in ${elapsed} s."
)
mkdir -p "$logs" && printf '%s\n' "$table" >"$logs/table.md"
echo
printf '%s\n' "$table"
echo "stress: table written to $logs/table.md"
if [ "${STRESS_REPORT:-0}" = 1 ] &&
    grep -q '<!-- stress table: begin -->' "$readme" 2>/dev/null; then
    awk -v table="$table" '
        /<!-- stress table: begin -->/ { print; print table; skip = 1; next }
        /<!-- stress table: end -->/ { skip = 0 }
        !skip' "$readme" >"$readme.new" && mv "$readme.new" "$readme"
    echo "stress: table written to $readme"
fi
if [ "$failed" = 1 ]; then
    echo "stress: FAILED: a graceful step lost requests or ended unhealthy"
fi
exit "$failed"
