#!/bin/sh
# exercises/grade.sh - `make check`: grade a learner's folder.
#
#   exercises/grade.sh STEP=3 [DIR=path] [WORKBENCH=workbench]
#   exercises/grade.sh EXERCISE=stats [DIR=path]
#
# Run from the repository root (the Makefile does). In order:
#  1. builds the folder with its own Makefile;
#  2. starts its server once, to see it print `listening on` (and
#     once more, to see that it does not end by itself at once);
#  3. builds the shared suite against the folder's sources, for the
#     step's expectations (-DSTEP=N), with a short test timeout; each
#     of the pool's white-box tests (tests/test_pool*.c) only if the
#     folder's pool.h declares what it calls;
#  4. runs the pool tests, then (if they pass) the server tests, with
#     Criterion's JSON report, and joins it to the hints table
#     (report.awk).
# A failure in 1-3 is reported as such, with the command to run by
# hand, never as a list of failed tests. Exit status: 0 when every
# expectation is met, 1 when not, 2 for a wrong command line.
#
# An extension is graded on its own tests, then on its base step's
# expectations, reported apart. A test that crashes is run once more,
# alone (under AddressSanitizer when the compiler has it), to name the
# signal, the function and the cause.
#
# For exercises-check: FILTER=pattern runs only those tests (Criterion
# --filter), TIMEOUT=s sets each test's timeout (default 20), OUT=dir
# where the build goes (default tests/build/grade/NAME), BASE=0 leaves
# an extension's base step out, RUNS=n runs each test n times (a miss
# in any run is a miss).

set -u
STEP= EXERCISE= DIR= WORKBENCH=workbench FILTER= TIMEOUT=20 OUT= BASE= RUNS=1
CC=${CC:-cc}
JOBS=${TEST_JOBS:-8}
for arg in "$@"; do
    case $arg in
    STEP=*) STEP=${arg#*=} ;;
    EXERCISE=*) EXERCISE=${arg#*=} ;;
    DIR=*) DIR=${arg#*=} ;;
    WORKBENCH=*) WORKBENCH=${arg#*=} ;;
    FILTER=*) FILTER=${arg#*=} ;;
    TIMEOUT=*) TIMEOUT=${arg#*=} ;;
    OUT=*) OUT=${arg#*=} ;;
    BASE=*) BASE=${arg#*=} ;;
    RUNS=*) RUNS=${arg#*=} ;;
    CC=*) CC=${arg#*=} ;;
    *) echo "grade.sh: unknown argument $arg" >&2; exit 2 ;;
    esac
done
[ -n "$WORKBENCH" ] || WORKBENCH=workbench

usage() {
    echo "usage: make check STEP=N | EXERCISE=NAME [DIR=path]"
    echo "  STEP: one of $(ls exercises/steps | sed -n 's/^step\([0-9]*\)\.tsv$/\1/p' | tr '\n' ' ')"
    echo "  EXERCISE: one of $(for d in exercises/*/BASE; do [ -f "$d" ] && basename "$(dirname "$d")"; done | tr '\n' ' ')"
    exit 2
}

# ---- What is graded, against what ----

if [ -n "$STEP" ] && [ -z "$EXERCISE" ]; then
    name=step$STEP
    table=exercises/steps/step$STEP.tsv
    [ -f "$table" ] || usage
    suite_step=$STEP
    extra=
    ref=$(ls -d step"$STEP"-* 2>/dev/null | head -n 1)
    cmd="make check STEP=$STEP"
elif [ -n "$EXERCISE" ] && [ -z "$STEP" ]; then
    name=$EXERCISE
    table=exercises/$EXERCISE/hints.tsv
    [ -f "exercises/$EXERCISE/BASE" ] && [ -f "$table" ] || usage
    suite_step=$(tr -cd 0-9 <"exercises/$EXERCISE/BASE")
    extra=exercises/$EXERCISE/tests.c
    ref=
    cmd="make check EXERCISE=$EXERCISE"
else
    usage
fi
dir=${DIR:-$WORKBENCH/$name}
dir=${dir%/}
[ -n "$DIR" ] && cmd="$cmd DIR=$DIR"
if [ ! -d "$dir" ]; then
    echo "$cmd: there is no folder $dir."
    if [ -z "$DIR" ]; then
        what="STEP=$STEP"
        [ -n "$EXERCISE" ] && what="EXERCISE=$EXERCISE"
        [ "$WORKBENCH" = workbench ] || what="$what WORKBENCH=$WORKBENCH"
        echo "Create it first: make exercise $what"
    fi
    exit 2
fi
out=${OUT:-tests/build/grade/$name}
rm -rf "$out" && mkdir -p "$out/logs" || exit 2
echo "$cmd: grading $dir against $(
    [ -n "$EXERCISE" ] && echo "exercise $EXERCISE (step $suite_step)" ||
        echo "step $STEP's expectations")"
echo

# The table, with "#include FILE" lines replaced by FILE (beside it).
expand_table() {
    awk -v here="$(dirname "$1")" -f exercises/table.awk "$1"
}
expand_table "$table" >"$out/table.tsv"
# An extension is graded on its base step's expectations too, after
# its own (BASE=0 leaves them out: exercises-check does, for speed).
: >"$out/base.tsv"
# "# base-skip: suite/test ..." lines name the base step's expectations
# that the exercise changes on purpose ("*": all of them).
base_skip=$(sed -n 's/^# base-skip: *//p' "$out/table.tsv" | tr '\n' ' ')
if [ -n "$EXERCISE" ] && [ "$BASE" != 0 ] && [ "$base_skip" != "* " ]; then
    expand_table "exercises/steps/step$suite_step.tsv" |
        awk -F'\t' -v skip=" $base_skip " '
            !/^#/ && index(skip, " " $1 " ") { left++; next }
            { print }
            END { if (left) print "# left out: " left > "/dev/stderr" }' \
        >"$out/base.tsv" 2>"$out/base-left"
fi
tests=$(awk -F'\t' '!/^#/ && NF >= 4 { print $1 }' "$out/table.tsv")
base_tests=$(awk -F'\t' '!/^#/ && NF >= 4 { print $1 }' "$out/base.tsv")
total=$(echo "$tests" | grep -c .)

# A build failure: what went wrong, the command to run by hand.
build_failure() { # title, log file, by-hand command
    echo "✘ $1"
    if [ -s "$2" ]; then
        grep -E 'error|Error|warning: implicit' "$2" | head -n 12 |
            sed 's/^/    /'
        grep -qE 'error|Error' "$2" || tail -n 12 "$2" | sed 's/^/    /'
    fi
    echo "    run it by hand: $3"
    echo
    echo "0 of $total expectations met: fix this first, then $cmd again"
    exit 1
}

# ---- 1. Build the folder with its own Makefile ----

if ! make -C "$dir" >"$out/build.log" 2>&1; then
    build_failure "build: \`make -C $dir\` failed:" "$out/build.log" \
        "make -C $dir"
fi
if [ ! -x "$dir/server" ]; then
    build_failure "build: \`make -C $dir\` made no ./server" \
        "$out/build.log" "make -C $dir && ls $dir"
fi

# ---- 2. Start the server once ----

# probe ARGS: starts the server with ARGS, waits up to 5 s for its
# `listening on` line. Sets probe_result (ok, exit, signal, silent)
# and probe_status.
probe() {
    "$dir/server" "$@" >"$out/probe.out" 2>"$out/probe.err" </dev/null &
    pid=$!
    probe_result=silent
    probe_status=
    i=0
    while [ $i -lt 50 ]; do
        # (the file may not be there yet: the server's shell makes it)
        if grep -q '^listening on http://127.0.0.1:[0-9]' \
            "$out/probe.out" 2>/dev/null; then
            probe_result=ok
            break
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            break
        fi
        sleep 0.1
        i=$((i + 1))
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    status=$?
    if [ "$probe_result" != ok ] && [ $i -lt 50 ]; then
        if [ "$status" -gt 128 ]; then
            probe_result=signal
            probe_status=$((status - 128))
        else
            probe_result=exit
            probe_status=$status
        fi
    fi
}

describe_probe() { # the options given
    case $probe_result in
    signal)
        sig=$(kill -l "$probe_status" 2>/dev/null)
        echo "start: \`$dir/server $*\` was killed by signal" \
            "$probe_status${sig:+ (SIG$sig)} before printing" \
            "\`listening on http://127.0.0.1:PORT\`; its output:" ;;
    exit)
        echo "start: \`$dir/server $*\` exited with status" \
            "$probe_status before printing" \
            "\`listening on http://127.0.0.1:PORT\`; its output:" ;;
    silent)
        echo "start: \`$dir/server $*\` did not print" \
            "\`listening on http://127.0.0.1:PORT\` within 5 s" \
            "(is stdout flushed? is it waiting for something?); its" \
            "output:" ;;
    esac
}

# stays_up: after probe ok, whether the server is still running 1 s
# later. A server that ends by itself right after `listening on` (a
# loop that returns at once) answers nothing: its tests are not run,
# and ended_why says why, with the last line it wrote.
stays_up() {
    "$dir/server" -p 0 -q >"$out/stay.out" 2>"$out/stay.err" </dev/null &
    pid=$!
    i=0
    while [ $i -lt 60 ] && kill -0 "$pid" 2>/dev/null; do
        grep -q '^listening on' "$out/stay.out" && break
        sleep 0.1
        i=$((i + 1))
    done
    i=0
    while [ $i -lt 5 ] && kill -0 "$pid" 2>/dev/null; do
        sleep 0.1
        i=$((i + 1))
    done
    if [ $i -ge 5 ]; then
        kill -KILL "$pid" 2>/dev/null
        wait "$pid"
        return 0
    fi
    wait "$pid"
    st=$?
    last=$(tail -n 1 "$out/stay.err")
    ended_why="the server ended by itself, with status $st, less than"
    ended_why="$ended_why a second after \`listening on\`, before any"
    ended_why="$ended_why request${last:+; its last line: \"$last\"}"
    return 1
}

probe -p 0 -q
if [ "$probe_result" != ok ]; then
    cat "$out/probe.out" "$out/probe.err" >"$out/probe.log" 2>/dev/null
    build_failure "$(describe_probe -p 0 -q)" "$out/probe.log" \
        "$dir/server -p 8080"
fi
ended_why=
stays_up 2>/dev/null || :
# The options of the step's expectations: -t from step 3, -T from 4.
opts=
usage_hint=
[ "$suite_step" -ge 3 ] && opts="-t 2"
[ "$suite_step" -ge 4 ] && opts="$opts -T 1"
if [ -n "$opts" ]; then
    # shellcheck disable=SC2086
    probe -p 0 -q $opts
    case $probe_result in
    ok) ;;
    exit)
        usage_hint="your server refused its command line \`$opts\` (exit status $probe_status): step $suite_step's main.c takes $(echo "$opts" | sed 's/-t 2/-t THREADS/; s/-T 1/and -T SECONDS/'); run $dir/server -h"
        echo "note: your server refused \`$opts\` (exit status" \
            "$probe_status); step $suite_step's server takes" \
            "$(echo "$opts" | sed 's/-t 2/-t THREADS/; s/-T 1/and -T SECONDS/')" \
            "(main.c); the tests that need it fail below."
        echo ;;
    *)
        cat "$out/probe.out" "$out/probe.err" >"$out/probe.log" 2>/dev/null
        # shellcheck disable=SC2086
        build_failure "$(describe_probe -p 0 -q $opts)" "$out/probe.log" \
            "$dir/server -p 8080 $opts" ;;
    esac
fi

# ---- 3. Build the suite against the folder ----

# The pool's white-box tests (tests/test_pool*.c) call the folder's
# pool.h directly: each file is built in only if that pool.h declares
# what it calls. The others' suites are reported skipped, with why.
# tests_of FILE...: the tests the files define, as suite/test.
tests_of() {
    sed -n 's/^ *Test(\([a-z_0-9]*\), *\([A-Za-z_0-9]*\).*/\1\/\2/p' "$@"
}
: >"$out/skips"
white_box=
for f in tests/test_pool*.c; do
    [ -f "$f" ] && [ "$f" != tests/test_pool_stress.c ] || continue
    # only a file with tests in the table
    tests_of "$f" | grep -qxF "$tests
$base_tests" || continue
    why=
    if [ ! -f "$dir/pool.h" ]; then
        why="there is no pool.h in $dir, so the pool's unit tests cannot call it; TASK.md gives the API they need"
    elif ! $CC -std=c11 -D_POSIX_C_SOURCE=200809L -fsyntax-only \
        -Werror=implicit-function-declaration \
        -Werror=incompatible-pointer-types \
        -DSTEP="$suite_step" -Itests -I"$dir" \
        $(pkg-config --cflags criterion) "$f" \
        >"$out/pool-api.log" 2>&1; then
        why="$dir/pool.h does not declare the API that $f calls (see TASK.md): $(grep error "$out/pool-api.log" | head -n 1 | sed 's/^[^ ]* //; s/ \[-W.*//')"
    elif [ ! -f "$dir/pool.c" ]; then
        why="there is no pool.c in $dir"
    fi
    if [ -z "$why" ]; then
        white_box="$white_box $f"
    else
        tests_of "$f" | while read -r t; do
            printf '%s\t%s\n' "$t" "$why"
        done >>"$out/skips"
    fi
done
build_suite() {
    make -s --no-print-directory grade-suite GRADE_DIR="$dir" \
        GRADE_STEP="$suite_step" GRADE_WHITE_BOX="$white_box" \
        GRADE_EXTRA="$extra" GRADE_SUITE="$out/suite" \
        GRADE_TIMEOUT="$TIMEOUT" CC="$CC" WERROR= >"$out/suite.log" 2>&1
}
if ! build_suite; then
    built=
    if [ -n "$white_box" ]; then # without them, then
        cp "$out/suite.log" "$out/suite-white-box.log"
        why="your pool.c did not build with the tests: $(grep -E 'error|undefined' "$out/suite.log" | head -n 1)"
        white_box=
        if build_suite; then
            built=1
            tests_of tests/test_pool*.c | while read -r t; do
                printf '%s\t%s\n' "$t" "$why"
            done >>"$out/skips"
        fi
    fi
    [ -n "$built" ] || build_failure \
        "the tests could not be built against $dir (does it have every file of the HTTP layer? did an interface in a .h change?):" \
        "$out/suite.log" \
        "make grade-suite GRADE_DIR=$dir GRADE_STEP=$suite_step"
fi

# ---- 4. Run: the pool's unit tests first, then the server ----

run_suite() { # json file, filter
    TEST_PRELOAD=
    [ -f "$out/suite-preload.so" ] && TEST_PRELOAD=$out/suite-preload.so
    TEST_PRELOAD=$TEST_PRELOAD TEST_SERVER=$dir/server \
        TEST_LOG_DIR=$out/logs \
        "$out/suite" -j"$JOBS" --filter "$2" --json="$1" \
        >>"$out/run.out" 2>&1 </dev/null
    [ -s "$1" ] || {
        echo "✘ the test runner failed; its output: $out/run.out"
        tail -n 20 "$out/run.out" | sed 's/^/    /'
        exit 1
    }
}
# keep PATTERN: the tests on stdin that match a Criterion filter such as
# @(pool/*|concurrency/*), as a|b|c.
keep() {
    awk -v f="$1" 'BEGIN {
            gsub(/^@\(|\)$/, "", f); n = split(f, p, "|")
            for (i = 1; i <= n; i++) {
                gsub(/\*/, ".*", p[i]); p[i] = "^" p[i] "$"
            }
        }
        { for (i = 1; i <= n; i++) if ($0 ~ p[i]) { print; break } }' |
        tr '\n' '|' | sed 's/|$//'
}
# The white-box suites (from test_pool*.c, even those skipped) run first.
white_re="^($(for f in tests/test_pool*.c; do
    sed -n 's/^Test(\([a-z_0-9]*\),.*/\1/p' "$f"; done | sort -u |
    tr '\n' '|' | sed 's/|$//'))/"

# crash_info JSON...: for each test that crashed, runs it once more,
# alone, and writes suite/test<TAB>what happened<TAB>cause to
# $out/crashes. The cause is a [cause: NAME] the test wrote to stderr
# as it died; the function comes from AddressSanitizer's report when
# the suite can be built with it, else only the signal is known.
no_asan=${GRADE_NO_ASAN:-} # set: never build the ASan suite
crash_info() {
    crashed=$(awk '/^          "name": "/ { n = $0 }
        /^      "name": "/ { g = $0 }
        /The test crashed\./ {
            sub(/^[^:]*: "/, "", g); sub(/",?$/, "", g)
            sub(/^[^:]*: "/, "", n); sub(/",?$/, "", n)
            print g "/" n }' "$@" | sort -u | head -n 3)
    for t in $crashed; do
        if [ ! -x "$out/suite-asan" ] && [ -z "$no_asan" ]; then
            make -s --no-print-directory grade-suite GRADE_DIR="$dir" \
                GRADE_STEP="$suite_step" GRADE_WHITE_BOX="$white_box" \
                GRADE_EXTRA="$extra" GRADE_SUITE="$out/suite-asan" \
                GRADE_TIMEOUT="$TIMEOUT" CC="$CC" WERROR= \
                TEST_CFLAGS="-O1 -g -fsanitize=address -fno-omit-frame-pointer" \
                >"$out/asan.log" 2>&1 || no_asan=1
        fi
        suite_bin=$out/suite
        [ -x "$out/suite-asan" ] && suite_bin=$out/suite-asan
        TEST_SERVER=$dir/server TEST_LOG_DIR=$out/logs \
            ASAN_OPTIONS=detect_leaks=0 "$suite_bin" -j1 \
            --filter "$t" >"$out/crash.out" 2>&1
        awk -v t="$t" -v d="$dir/" '
            /\[cause: [a-z_0-9]+\]/ && cause == "" {
                match($0, /\[cause: [a-z_0-9]+\]/)
                cause = substr($0, RSTART + 8, RLENGTH - 9)
            }
            /ERROR: AddressSanitizer: / && what == "" {
                what = $0
                sub(/.*AddressSanitizer: /, "", what)
                sub(/ on (unknown )?address.*/, "", what)
            }
            / #[0-9]+ 0x[0-9a-f]+ in / && fn == "" {
                f = $0
                sub(/.* in /, "", f)
                if (index(f, d) || f ~ /(pool|http|server|io)\.c:/) {
                    fn = f
                    sub(/ .*\//, " ", fn)
                }
            }
            /\[signal [0-9]+\]/ && sig == "" {
                match($0, /\[signal [0-9]+\]/)
                sig = substr($0, RSTART + 1, RLENGTH - 2)
                sub(/signal 0/, "signal ", sig)
            }
            END {
                w = "the test crashed"
                if (what != "") w = w " (" what ")"
                else if (sig != "") w = w " (" sig ")"
                if (fn != "") w = w " in " fn
                else w = w ": a crash in your code under the test"
                printf "%s\t%s\t%s\n", t, w, cause
            }' "$out/crash.out" >>"$out/crashes"
    done
}

# grade_table TABLE TITLE NAME: runs the table's tests (the pool's
# first), RUNS times, and prints the report; returns its status.
grade_table() {
    gt_tests=$(awk -F'\t' '!/^#/ && NF >= 4 { print $1 }' "$1")
    pool_tests=$(echo "$gt_tests" | grep -E "$white_re" | keep "${FILTER:-*}")
    other_tests=$(echo "$gt_tests" | grep -vE "$white_re" | keep "${FILTER:-*}")
    if [ -n "$FILTER" ]; then # the table shrinks to the tests run
        awk -F'\t' -v keep="|$pool_tests|$other_tests|" \
            '/^#/ || index(keep, "|" $1 "|")' "$1" \
            >"$1.kept" && mv "$1.kept" "$1"
    fi
    run=1
    status=0
    while [ "$run" -le "${RUNS:-1}" ]; do
        reports=
        rest_why=
        j=$out/$3.$run
        if [ -n "$white_box" ] && [ -n "$pool_tests" ]; then
            run_suite "$j.pool.json" "@($pool_tests)"
            reports="$j.pool.json"
        fi
        # A server runs on its pool: while the pool's own tests fail,
        # the server's failures would only repeat them, slowly.
        if [ -n "$ended_why" ]; then
            rest_why="not run: the server ends by itself right after"
            rest_why="$rest_why it starts (the note above), so none of"
            rest_why="$rest_why these can pass yet"
        elif [ -n "$reports" ] &&
            grep -qE '"status": "(FAILED|ERRORED)"' "$j.pool.json"; then
            rest_why="these are not run while the pool's unit tests above fail: the server runs on the pool, so fix those first"
        elif [ -n "$other_tests" ]; then
            run_suite "$j.server.json" "@($other_tests)"
            reports="$reports $j.server.json"
        fi
        : >"$out/crashes"
        # shellcheck disable=SC2086
        grep -q 'The test crashed' $reports /dev/null && crash_info $reports
        # shellcheck disable=SC2086
        awk -f exercises/report.awk -v dir="$dir" -v suite="$out/suite" \
            -v logs="$out/logs" -v timeout="$TIMEOUT" \
            -v skips="$out/skips" -v white="$white_re" \
            -v causes=exercises/steps/causes.tsv \
            -v crashes="$out/crashes" -v title="$2" \
            -v first_err="$(head -n 1 "$out/probe.err" 2>/dev/null)" \
            -v next_text="$next" -v rest_why="$rest_why" \
            -v ended_why="$ended_why" \
            -v usage_hint="${usage_hint:-}" "$1" $reports \
            >"$j.report"
        st=$?
        [ $st = 0 ] || status=1
        run=$((run + 1))
    done
    cat "$out/$3.1.report"
    if [ "${RUNS:-1}" -gt 1 ]; then
        n=$(grep -l '^✘' "$out/$3".*.report | wc -l | tr -d ' ')
        echo "(RUNS=$RUNS: misses in $n of $RUNS runs)"
    fi
    return $status
}

if [ -n "$EXERCISE" ]; then
    next="All met. Compare with the reference solution: less exercises/$EXERCISE/solution.patch"
else
    next="All met. Compare with the reference: diff -ru $dir $ref"
    following=$(ls -d step$((STEP + 1))-* 2>/dev/null | head -n 1)
    if [ -n "$following" ]; then
        next="$next
Then go on: make exercise STEP=$((STEP + 1))"
    else
        next="$next
Then try an extension: see exercises/README.md"
    fi
fi
[ -n "$FILTER" ] && { echo "(FILTER=$FILTER: only the expectations it matches)"; echo; }
if [ -z "$EXERCISE" ]; then
    grade_table "$out/table.tsv" "" main
    exit
fi
ext_next=$next
[ -s "$out/base.tsv" ] && next=
grade_table "$out/table.tsv" "the extension" main
rc=$?
[ -s "$out/base.tsv" ] || exit $rc
echo
echo "the base step, step $suite_step, still$(
    n=$(sed -n 's/^# left out: //p' "$out/base-left")
    [ -n "$n" ] && echo " ($n of its expectations left out: this" \
        "exercise changes them on purpose)"):"
next=
[ $rc = 0 ] && next=$ext_next
grade_table "$out/base.tsv" "the base step still" base || rc=1
exit $rc
