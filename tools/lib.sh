# shellcheck shell=sh disable=SC2034 # variables set for the caller
# lib.sh - starting and stopping servers, for demo.sh and bench.sh.
#
# Sourced, not run. Every server started here is written down in
# $tmp/pids and killed when the script exits, however it exits: an
# error, Ctrl-C, or kill. POSIX sh.

tmp=$(mktemp -d "${TMPDIR:-/tmp}/workshop.XXXXXX") || exit 1
: >"$tmp/pids"

# wait_exit PID SECONDS: waits for PID, one of ours, to exit, and
# kills it after SECONDS. Sets exit_status (137: it had to be killed).
# The watchdog kills only while $tmp/waiting.PID exists, so that it can
# never hit the process after it exited; we stop its sleep when done.
wait_exit() {
    : >"$tmp/waiting.$1"
    (
        sleep "$2" &
        echo $! >"$tmp/sleeper.$1"
        wait
        [ -e "$tmp/waiting.$1" ] && kill -9 "$1"
    ) 2>/dev/null &
    wait "$1"
    exit_status=$?
    rm -f "$tmp/waiting.$1"
    [ -s "$tmp/sleeper.$1" ] && kill "$(cat "$tmp/sleeper.$1")" 2>/dev/null
    grep -vx "$1" "$tmp/pids" >"$tmp/pids.left"
    mv "$tmp/pids.left" "$tmp/pids"
}

# Stops every process we started: SIGTERM, up to 2 s to go, then
# SIGKILL. Only the process ids written in $tmp/pids, nothing else.
stop_all() {
    for pid in $(cat "$tmp/pids"); do
        kill "$pid" 2>/dev/null
    done
    # 2>/dev/null: the shell would say "Terminated" for each server
    # that dies of the signal, as steps 1 to 3 do.
    for pid in $(cat "$tmp/pids"); do
        wait_exit "$pid" 2 2>/dev/null
    done
}

cleanup() {
    stop_all
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo; echo "interrupted"; exit 130' INT
trap 'exit 143' TERM

# start_server NAME COMMAND...: starts COMMAND in the background,
# stdout to $tmp/NAME.out and stderr to $tmp/NAME.err, and waits up to
# 5 s for its "listening on http://127.0.0.1:PORT" line. Sets
# server_pid and server_port; returns 1 if the server did not start.
start_server() {
    name=$1
    shift
    "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    server_pid=$!
    echo "$server_pid" >>"$tmp/pids"
    i=0
    while [ $i -lt 50 ]; do
        server_port=$(sed -n \
            's|^listening on http://127\.0\.0\.1:\([0-9][0-9]*\)$|\1|p' \
            "$tmp/$name.out")
        [ -n "$server_port" ] && return 0
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
        i=$((i + 1))
    done
    echo "$name: '$*' did not start:" >&2
    cat "$tmp/$name.err" >&2
    return 1
}

# figure NAME FILE: the milliseconds of "NAME 12.3 ms" in a timeline
# summary, as written; nothing if it says ">10000 ms" or is missing.
figure() {
    sed -n "s/.*$1 \\([0-9][0-9.]*\\) ms.*/\\1/p" "$2" | head -1
}

# whole_figure NAME FILE: the same, rounded to whole milliseconds.
whole_figure() {
    figure "$1" "$2" | awk '{ printf "%d\n", $1 + 0.5 }'
}

# step_number DIR: 3 for step3-thread-pool.
step_number() {
    basename "$1" | sed -n 's/^step\([0-9][0-9]*\)-.*/\1/p'
}

# server_command DIR: how demo and bench start a step's server. Steps 3
# and up take -t, step 4 and up -T: their options grew with them.
server_command() {
    n=$(step_number "$1")
    cmd="$1/server -p 0"
    [ "$n" -ge 3 ] && cmd="$cmd -t $THREADS"
    [ "$n" -ge 4 ] && cmd="$cmd -T $HEAD_DEADLINE"
    echo "$cmd"
}
