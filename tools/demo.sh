#!/bin/sh
# demo.sh STEP_DIR - watch one step serve the standard scenarios.
#
# Run by `make demo STEP=n`. Starts the step's server on a free port,
# fires the scenarios at it with the timeline client, shows each
# timeline and what the server logged, and stops the server. Exits 1
# when the step clearly misbehaves: it does not start, a request goes
# unanswered, the timings do not have the step's shape, or (step 4 on)
# the idle connection is not cut off or SIGTERM does not stop it
# cleanly. Step 5 also holds HOLD idle connections on a server of its
# own (-T 60, so that they stay) while GET / comes every 10 ms, and
# must answer each at once with its usual threads. The bounds are
# loose: they catch a broken step, not a slow machine.

cd "$(dirname "$0")/.." || exit 1
THREADS=4        # -t for step 3 and later: sleepers run in waves of 4
HEAD_DEADLINE=2  # -T for step 4 and later: idle cut off after 2 s
IDLE_S=3         # the client closes its idle connection after 3 s
DEADLINE_S=12    # and gives up on any request after 12 s
HOLD=1000        # step 5: idle connections held at once
. tools/lib.sh

dir=${1%/}
n=$(step_number "$dir")
failures=0

if [ -z "$n" ] || [ ! -x "$dir/server" ]; then
    echo "demo: no server built in '$dir'" >&2
    exit 2
fi

explain() {
    case $n in
    1) echo "Step 1 serves one connection at a time: each request waits" \
        "for the one before it, and a connection that sends nothing" \
        "blocks everyone until the client gives up on it." ;;
    2) echo "Step 2 starts a thread per connection: everything runs at" \
        "once, and the idle connection only costs a thread." ;;
    3) echo "Step 3 has $THREADS workers: requests run in waves of" \
        "$THREADS, and an idle connection holds a worker until the" \
        "client gives up (the log shows which worker it took):" \
        "$THREADS of them stop the server." ;;
    4) echo "Step $n: waves of $THREADS like step 3, but the server" \
        "cuts idle connections off after -T $HEAD_DEADLINE s, and" \
        "SIGTERM drains and stops it cleanly." ;;
    *) echo "Step $n: the same $THREADS workers, but one thread polls" \
        "every connection until its request head is complete, and a" \
        "worker is taken only then: idle connections wait in the poll" \
        "set, not in a worker, and cost no thread. Last, $HOLD idle" \
        "connections at once, and GET / among them." ;;
    esac
}

# at_least VALUE LIMIT, at_most VALUE LIMIT: false when VALUE is empty.
at_least() { [ -n "$1" ] && [ "$1" -ge "$2" ]; }
at_most() { [ -n "$1" ] && [ "$1" -le "$2" ]; }

# check WHAT VALUE -ge|-le LIMIT: one expectation, such as
# check "sleepers" 2003 -le 3000.
check() {
    if { [ "$3" = -ge ] && at_least "$2" "$4"; } ||
        { [ "$3" = -le ] && at_most "$2" "$4"; }; then
        echo "  ok: $1 ($2 ms)"
    else
        echo "  NOT OK: $1: ${2:-no figure} ms, expected $3 $4 ms"
        failures=$((failures + 1))
    fi
}

# run NAME TITLE SCALE_MS REQUESTS...: one timeline (a scenario, or a
# list of paths) into $tmp/NAME.txt, then what the server logged.
run() {
    name=$1 title=$2 scale=$3
    shift 3
    echo
    tools/timeline -p "$server_port" -d $DEADLINE_S -i $IDLE_S \
        --scale "$scale" --title "step $n, $title" "$@" >"$tmp/$name.txt"
    status=$?
    cat "$tmp/$name.txt"
    sleep 0.2 # the server logs a connection just after closing it
    echo "server log:"
    sed -n "$((logged + 1)),\$p" "$tmp/server.err" | sed 's/^/  | /'
    logged=$(wc -l <"$tmp/server.err")
    [ "$status" -eq 0 ] || {
        echo "  NOT OK: some request was not answered"
        failures=$((failures + 1))
    }
}

# What each step must show; see explain() for why.
check_shape() {
    slow=$(whole_figure median "$tmp/slow-mix.txt")
    sleepers=$(whole_figure makespan "$tmp/sleepers.txt")
    stall=$(whole_figure median "$tmp/idle.txt")
    starved=$(whole_figure median "$tmp/crowd.txt")
    case $n in
    1) check "fast requests wait behind the slow one" "$slow" -ge 1800
       check "sleepers one after another, 8 x 1000 ms" "$sleepers" -ge 7900
       check "everyone waits behind the idle connection" "$stall" -ge 2500
       check "/ waits behind the idle connections" "$starved" -ge 2500 ;;
    2) check "fast requests overtake the slow one" "$slow" -le 500
       check "sleepers all at once, 1000 ms" "$sleepers" -le 1500
       check "nobody waits for the idle connection" "$stall" -le 500
       check "/ does not wait for idle connections" "$starved" -le 500 ;;
    3) check_pool
       check "/ waits until the client drops the idle ones" "$starved" -ge 2500 ;;
    4) check_pool
       check "/ waits until -T cuts the idle ones off" "$starved" -ge 1500
       check "/ waits no longer than -T" "$starved" -le 2900 ;;
    *) check_pool
       check "/ does not wait for idle connections" "$starved" -le 500 ;;
    esac
}

# Steps 3 and 4: a pool of $THREADS workers.
check_pool() {
    check "fast requests overtake the slow one" "$slow" -le 500
    check "sleepers in two waves, at least 2 x 1000 ms" "$sleepers" -ge 1950
    check "sleepers in two waves, not more" "$sleepers" -le 3000
    check "nobody waits for one idle connection" "$stall" -le 500
}

# check_count WHAT VALUE -ge|-le LIMIT: as check, for a count.
check_count() {
    if { [ "$3" = -ge ] && at_least "$2" "$4"; } ||
        { [ "$3" = -le ] && at_most "$2" "$4"; }; then
        echo "  ok: $1 ($2)"
    else
        echo "  NOT OK: $1: ${2:-no figure}, expected $3 $4"
        failures=$((failures + 1))
    fi
}

# Step 5: HOLD idle connections on a server of its own with -T 60,
# GET / every 10 ms for 1 s among them, the server's threads sampled.
hold_idle() {
    command="$dir/server -p 0 -t $THREADS -T 60"
    echo
    echo "== $HOLD idle connections at once: $command =="
    # shellcheck disable=SC2086 # the command is split into words
    start_server held $command || exit 1
    tools/peak -d 60000 "$server_pid" >"$tmp/held.peak" &
    sampler=$!
    echo "$sampler" >>"$tmp/pids"
    tools/timeline -p "$server_port" --hold $HOLD --every 10 --for 1 \
        -d 2 --title "step $n, $HOLD idle connections, then GET /" \
        >"$tmp/held.txt"
    kill "$sampler"
    wait_exit "$sampler" 2
    cat "$tmp/held.txt"
    echo "server: $(cat "$tmp/held.peak")"
    kill -TERM "$server_pid"
    wait_exit "$server_pid" 5
    held=$(sed -n 's/^held: \([0-9]*\) of.*/\1/p' "$tmp/held.txt")
    p99=$(whole_figure p99 "$tmp/held.txt")
    threads=$(sed -n 's/^threads \([0-9]*\) .*/\1/p' "$tmp/held.peak")
    echo
    echo "checks:"
    check_count "all $HOLD idle connections held" "$held" -ge $HOLD
    check "GET / answered among them, p99" "$p99" -le 500
    [ -z "$threads" ] && return # no /proc: threads are n/a
    check_count "threads: $THREADS workers + 2, however many wait" \
        "$threads" -le $((THREADS + 2))
}

# Step 4 and later: the idle connection is cut off by the server, and
# SIGTERM stops the server with status 0 and a last "stopped:" line.
check_shutdown() {
    if grep -q "closed by the server" "$tmp/idle.txt"; then
        echo "  ok: the server cut the idle connection off"
    else
        echo "  NOT OK: the idle connection was not cut off by the server"
        failures=$((failures + 1))
    fi
    kill -TERM "$server_pid"
    wait_exit "$server_pid" 5
    echo "server log after SIGTERM:"
    sed -n "$((logged + 1)),\$p" "$tmp/server.err" | sed 's/^/  | /'
    if [ "$exit_status" -eq 0 ] && grep -q '^stopped:' "$tmp/server.err"
    then
        echo "  ok: SIGTERM stopped the server, exit status 0"
    else
        echo "  NOT OK: after SIGTERM: exit status $exit_status"
        failures=$((failures + 1))
    fi
}

command=$(server_command "$dir")
echo "== demo of $dir: $command =="
explain | fold -s -w 72
# shellcheck disable=SC2086 # the command is split into words
start_server server $command || exit 1
echo "listening on port $server_port"
logged=0
run slow-mix slow-mix 2000 slow-mix
run sleepers sleepers 8000 sleepers
run idle idle 3000 idle
# As many idle connections as step 3 has workers, then one request.
set -- /
while [ $# -le $THREADS ]; do
    set -- idle "$@"
done
run crowd "$THREADS idle connections, then /" 3000 "$@"
echo
echo "checks:"
check_shape
if [ "$n" -ge 4 ]; then
    check_shutdown
elif ! kill -0 "$server_pid" 2>/dev/null; then
    echo "  NOT OK: the server died"
    failures=$((failures + 1))
fi
[ "$n" -ge 5 ] && hold_idle
if [ $failures -gt 0 ]; then
    echo "demo: step $n: $failures check(s) failed"
    exit 1
fi
echo "demo: step $n behaved as expected"
