#!/bin/sh
# exercises/try.sh - the grader's `try:` commands: see a failure by
# hand, on a server of its own, on a free port, anywhere POSIX runs.
#
#   sh exercises/try.sh DIR [-w] [OPTION...] -- 'COMMAND'
#       starts DIR/server -p 0 OPTION..., reads the port it prints,
#       runs COMMAND (sh) with $PORT and $PID (the server's) set, then
#       stops the server. -w: wait for the server to end by itself
#       instead (up to 30 s, for a COMMAND that signals it), and say
#       how it ended.
#   sh exercises/try.sh --test SUITE DIR suite/test
#       runs that one test of the grader's suite against DIR/server,
#       verbose, without the lines of the tests it leaves out.
# Run from the repository root; needs only curl and tools/timeline
# (built here when COMMAND names it).

set -u
if [ "${1:-}" = --test ]; then
    [ $# -eq 4 ] || { echo "usage: try.sh --test SUITE DIR suite/test"; exit 2; }
    TEST_SERVER=$3/server "$2" --filter "$4" --verbose 2>&1 |
        grep -v 'Test is disabled'
    exit 0
fi
[ $# -ge 3 ] || { echo "usage: try.sh DIR [-w] [OPTION...] -- 'COMMAND'"; exit 2; }
dir=$1
shift
wait_end=
[ "$1" = -w ] && { wait_end=1; shift; }
opts=
while [ $# -gt 0 ] && [ "$1" != -- ]; do
    opts="$opts $1"
    shift
done
[ "${1:-}" = -- ] && [ $# -eq 2 ] || { echo "try.sh: -- 'COMMAND' missing"; exit 2; }
command=$2
case $command in
*tools/timeline*) make -s timeline || exit 1 ;;
esac

out=$(mktemp "${TMPDIR:-/tmp}/try.XXXXXX") || exit 1
trap 'rm -f "$out"' EXIT
# shellcheck disable=SC2086
"$dir/server" -p 0 $opts >"$out" &
PID=$!
PORT=
i=0
while [ -z "$PORT" ] && [ $i -lt 50 ] && kill -0 $PID 2>/dev/null; do
    sleep 0.1
    PORT=$(sed -n 's|^listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$out")
    i=$((i + 1))
done
if [ -z "$PORT" ]; then
    echo "try: $dir/server -p 0$opts printed no \`listening on\` line"
    kill -KILL $PID 2>/dev/null
    exit 1
fi
echo "try: $dir/server -p 0$opts is on port $PORT (pid $PID)"
export PORT PID
sh -c "$command"
if [ -n "$wait_end" ]; then
    i=0
    while kill -0 $PID 2>/dev/null && [ $i -lt 300 ]; do
        sleep 0.1
        i=$((i + 1))
    done
fi
if kill -0 $PID 2>/dev/null; then
    [ -n "$wait_end" ] && echo "try: the server was still running after 30 s"
    kill -TERM $PID 2>/dev/null
    sleep 1
    kill -KILL $PID 2>/dev/null
    wait $PID 2>/dev/null
    [ -n "$wait_end" ] || echo "try: server stopped"
else
    wait $PID
    st=$?
    if [ $st -gt 128 ]; then
        echo "try: the server was ended by signal $((st - 128))"
    else
        echo "try: the server exited with status $st"
    fi
fi
sed -n '/^listening on/!p' "$out" | head -n 20
