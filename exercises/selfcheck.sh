#!/bin/sh
# exercises/selfcheck.sh - `make exercises-check`: the grader is right.
#
#  1. tables: every row of a hints table names a real test, and every
#     test a step's expectations need has a row;
#  2. every FILL=1 spec names functions of its step, and builds;
#  3. make exercise: every TASK.md renders; an existing folder is never
#     touched; FRESH=1 moves it aside first;
#  4. for every step N: the unmodified step N-1 fails the lesson's
#     tests with at least one hint:, the reference step N passes every
#     expectation, the FILL=1 variant builds and fails;
#  5. for every extension: its base fails its tests, the base with
#     solution.patch passes (its own tests and its base step's), and
#     each wrong-*.patch fails in each of WRONG_RUNS (10) runs;
#  6. a server that does not compile, crashes on start or never prints
#     `listening on` gets the build-failure report, not test failures;
#  7. the corpus of learner bugs (exercises/bugs/*.patch): each, applied
#     to its step, fails in each of BUG_RUNS (10) runs, and the first
#     hint of every run names the planted cause;
#  8. no try: command names a fixed port, /proc, pgrep or kill %.
# Runs that must fail use the lesson's tests only and a short timeout.
# Run from the repository root. Exit status 0 when all of it holds.

set -u
root=$(pwd)
scratch=$(mktemp -d "${TMPDIR:-/tmp}/exercises-check.XXXXXX") || exit 1
trap 'rm -rf "$scratch"' EXIT
trap 'exit 130' INT TERM
failures=0
FAIL_TIMEOUT=10 # seconds per test in runs that must fail
cc=${CC:-cc}
cc_name=$(basename "${cc%% *}") # tests.mk's CC_NAME: where suites go

# SECTIONS="1 4": run only those sections (all by default).
want() { case " ${SECTIONS:-1 2 3 4 5 6 7 8} " in *" $1 "*) return 0 ;; esac; return 1; }
now() { date +%s; }
start=$(now)
ok() { echo "  ok    $*"; }
bad() {
    echo "  FAIL  $*"
    failures=$((failures + 1))
}
show() { sed 's/^/        | /' "$1" | head -n "${2:-40}"; }
step_dir() { ls -d step"$1"-* 2>/dev/null | head -n 1; }

# grade OUTFILE ARGS...: runs the grader; returns its exit status.
grade() {
    out=$1
    shift
    sh exercises/grade.sh "$@" >"$out" 2>&1
}

steps=$(ls exercises/steps | sed -n 's/^step\([0-9]*\)\.tsv$/\1/p' |
    sort -n)
extensions=$(for d in exercises/*/BASE; do
    [ -f "$d" ] && basename "$(dirname "$d")"
done)

# The rows of a table, #include lines expanded: suite/test, one a line.
rows() {
    awk -v here="$(dirname "$1")" -f exercises/table.awk "$1" | awk -F'\t' '!/^#/ && NF >= 1 && $1 != "" {
            if (NF != 4) print "BADROW " $1; else print $1 }'
}

if want 1; then
    echo "== 1. hints tables against the suite"
    # Tests of the HTTP layer and io.c alone (the same in every step; no
    # learner changes them in a step exercise) are not a step's
    # expectations.
    NOT_EXPECTATIONS='^(parser|router|regressions|conformance|io)/'
    for n in $steps; do
        table=exercises/steps/step$n.tsv
        ref=$(step_dir "$n")
        if [ -z "$ref" ]; then
            ok "step $n: no step$n-* folder yet; its table waits for it"
            continue
        fi
        if ! make -s test-build STEP="$n" >"$scratch/build" 2>&1; then
            bad "step $n: the suite does not build"
            show "$scratch/build"
            continue
        fi
        "tests/build/$cc_name/$ref/suite" --list 2>/dev/null | awk '
            /^[a-z_0-9]+: [0-9]+ tests?$/ { s = $1; sub(/:$/, "", s); next }
            /── / { t = $0; sub(/^.*── /, "", t); print s "/" t }' |
            sort >"$scratch/suite"
        grep -Ev "$NOT_EXPECTATIONS" "$scratch/suite" >"$scratch/needed"
        rows "$table" >"$scratch/rows"
        sort "$scratch/rows" >"$scratch/rows.sorted"
        problems=$(
            grep '^BADROW ' "$scratch/rows" | sed 's/^BADROW \(.*\)/row \1 does not have 4 tab-separated columns/'
            comm -23 "$scratch/rows.sorted" "$scratch/suite" | grep -v '^BADROW' |
                sed 's/^/no such test in the suite: /'
            comm -13 "$scratch/rows.sorted" "$scratch/needed" |
                sed "s|^|no row in $table for the test |"
            sort "$scratch/rows" | uniq -d | sed 's/^/two rows for /'
        )
        if [ -z "$problems" ]; then
            ok "step $n: $(wc -l <"$scratch/rows") rows, one for each test of the step"
        else
            bad "step $n: $table and the suite disagree:"
            echo "$problems" | sed 's/^/        /'
        fi
    done
    for name in $extensions; do
        table=exercises/$name/hints.tsv
        rows "$table" >"$scratch/rows"
        problems=$(
            grep '^BADROW ' "$scratch/rows"
            while read -r row; do
                case $row in
                BADROW*) ;;
                "$name"/*)
                    grep -Eq "Test\\($name, *${row#*/}[,)]" \
                        "exercises/$name/tests.c" ||
                        echo "no test $row in exercises/$name/tests.c" ;;
                *) echo "row $row is not in suite $name" ;;
                esac
            done <"$scratch/rows"
            sed -n "s/^Test($name, *\\([a-z_0-9]*\\).*/$name\\/\\1/p" \
                "exercises/$name/tests.c" | while read -r t; do
                grep -qx "$t" "$scratch/rows" || echo "no row for the test $t"
            done
        )
        if [ -z "$problems" ]; then
            ok "$name: $(wc -l <"$scratch/rows") rows, one for each test"
        else
            bad "$name: $table and tests.c disagree:"
            echo "$problems" | sed 's/^/        /'
        fi
    done
fi

if want 2; then
    echo "== 2. FILL=1 specs against the reference"
    if sh exercises/fill-check.sh >"$scratch/fill" 2>&1; then
        ok "$(grep -c 'built from the reference' "$scratch/fill") FILL specs: their functions exist, and the variants build$(
            grep -q ' waits for step' "$scratch/fill" && echo " ($(grep -c ' waits for step' "$scratch/fill") waiting for its step)")"
    else
        bad "fill-check:"
        show "$scratch/fill"
fi

fi
if want 3; then
    echo "== 3. make exercise"
    wb=$scratch/wb
    for n in $steps; do
        [ -n "$(step_dir "$n")" ] || continue
        if sh exercises/exercise.sh STEP="$n" WORKBENCH="$wb" >"$scratch/ex" 2>&1; then
            ok "STEP=$n: $wb/step$n and its TASK.md"
        else
            bad "make exercise STEP=$n:"
            show "$scratch/ex"
        fi
    done
    for name in $extensions; do
        if sh exercises/exercise.sh EXERCISE="$name" WORKBENCH="$wb" >"$scratch/ex" 2>&1; then
            ok "EXERCISE=$name: $wb/$name"
        else
            bad "make exercise EXERCISE=$name:"
            show "$scratch/ex"
        fi
    done
    first=$(echo "$steps" | head -n 1)
    if [ -n "$first" ] && [ -d "$wb/step$first" ]; then
        if make -n -C "$wb/step$first" check 2>&1 |
            grep -q "check STEP=$first" &&
            make -s -C "$wb/step$first" >/dev/null 2>&1 &&
            [ -x "$wb/step$first/server" ]; then
            ok "inside $wb/step$first, make builds and make check grades it"
        else
            bad "the workbench GNUmakefile does not work:"
            make -n -C "$wb/step$first" check 2>&1 | show /dev/stdin
        fi
        echo "my work" >"$wb/step$first/mine.txt"
        sh exercises/exercise.sh STEP="$first" WORKBENCH="$wb" >"$scratch/ex" 2>&1
        if [ "$(cat "$wb/step$first/mine.txt")" = "my work" ] &&
            grep -q "exists already" "$scratch/ex"; then
            ok "an existing folder is left alone, and the learner told where it is"
        else
            bad "make exercise touched an existing folder:"
            show "$scratch/ex"
        fi
        sh exercises/exercise.sh STEP="$first" FRESH=1 WORKBENCH="$wb" >"$scratch/ex" 2>&1
        moved=$(ls -d "$wb/step$first".20* 2>/dev/null | head -n 1)
        if [ -n "$moved" ] && [ -f "$moved/mine.txt" ] &&
            [ ! -f "$wb/step$first/mine.txt" ] && [ -f "$wb/step$first/TASK.md" ]; then
            ok "FRESH=1 moved the old copy to $(basename "$moved") first"
        else
            bad "FRESH=1 did not keep the old copy:"
            show "$scratch/ex"
        fi
fi

fi
if want 4; then
    echo "== 4. step exercises"
    for n in $steps; do
        ref=$(step_dir "$n")
        prev=$(step_dir $((n - 1)))
        [ -n "$ref" ] && [ -n "$prev" ] || continue
        lesson=$(sed -n 's/^# lesson: //p' "exercises/steps/step$n.tsv")
        t0=$(now)
        grade "$scratch/prev" STEP="$n" DIR="$prev" FILTER="$lesson" \
            TIMEOUT=$FAIL_TIMEOUT OUT="$scratch/g-prev"
        rc=$?
        if [ $rc = 1 ] && grep -q '^    hint: ' "$scratch/prev"; then
            ok "STEP=$n on $prev fails $lesson, with hints ($(($(now) - t0)) s)"
        else
            bad "STEP=$n on the unmodified $prev should fail with a hint (status $rc):"
            show "$scratch/prev"
        fi
        t0=$(now)
        grade "$scratch/ref" STEP="$n" DIR="$ref" OUT="$scratch/g-ref"
        rc=$?
        if [ $rc = 0 ]; then
            ok "STEP=$n on $ref: $(tail -n 1 "$scratch/ref") ($(($(now) - t0)) s)"
        else
            bad "STEP=$n on the reference $ref should pass (status $rc):"
            grep -v '^✔' "$scratch/ref" | show /dev/stdin 60
        fi
        if [ -f "exercises/steps/step$n.fill" ]; then
            t0=$(now)
            fwb=$scratch/fill$n
            sh exercises/exercise.sh STEP="$n" FILL=1 WORKBENCH="$fwb" \
                >"$scratch/ex" 2>&1
            if ! make -s -C "$fwb/step$n" >"$scratch/fillbuild" 2>&1; then
                bad "STEP=$n FILL=1 does not build:"
                show "$scratch/fillbuild"
                continue
            fi
            grade "$scratch/fill" STEP="$n" DIR="$fwb/step$n" \
                FILTER="$lesson" TIMEOUT=$FAIL_TIMEOUT OUT="$scratch/g-fill"
            rc=$?
            if [ $rc = 1 ] && grep -q '^    hint: ' "$scratch/fill" &&
                ! grep -Eq '^✘ (build|start|the tests could not)' "$scratch/fill"; then
                ok "STEP=$n FILL=1 builds, and fails with hints ($(($(now) - t0)) s)"
            else
                bad "STEP=$n FILL=1 should build and fail with a hint (status $rc):"
                show "$scratch/fill"
            fi
        fi
    done
fi

if want 5; then
    echo "== 5. extension exercises"
    command -v patch >/dev/null || bad "patch(1) is missing: apt-get install patch"
    for name in $extensions; do
        base=$(step_dir "$(tr -cd 0-9 <"exercises/$name/BASE")")
        t0=$(now)
        rm -rf "$scratch/base" && cp -R "$base" "$scratch/base"
        grade "$scratch/ext" EXERCISE="$name" DIR="$scratch/base" \
            TIMEOUT=$FAIL_TIMEOUT OUT="$scratch/g-base" BASE=0
        rc=$?
        if [ $rc = 1 ] && grep -q '^    hint: ' "$scratch/ext"; then
            ok "$name on the unmodified $base fails, with hints ($(($(now) - t0)) s)"
        else
            bad "$name on the unmodified $base should fail with a hint (status $rc):"
            show "$scratch/ext"
        fi
        t0=$(now)
        rm -rf "$scratch/sol" && cp -R "$base" "$scratch/sol"
        if ! (cd "$scratch/sol" && patch -s -p1 <"$root/exercises/$name/solution.patch") \
            >"$scratch/patch" 2>&1; then
            bad "$name: solution.patch does not apply to $base:"
            show "$scratch/patch"
            continue
        fi
        # its own expectations, then its base step's
        grade "$scratch/ext" EXERCISE="$name" DIR="$scratch/sol" \
            OUT="$scratch/g-sol"
        rc=$?
        if [ $rc = 0 ]; then
            ok "$name with solution.patch: $(tail -n 1 "$scratch/ext") ($(($(now) - t0)) s)"
        else
            bad "$name with solution.patch should pass (status $rc):"
            show "$scratch/ext"
        fi
    done
fi

if want 5; then
    runs=${WRONG_RUNS:-10}
    if sh exercises/prove --wrong --runs "$runs" >"$scratch/wrong" 2>&1; then
        grep ' caught in ' "$scratch/wrong" | while read -r l; do
            ok "$l" | cut -c 1-100
        done
    else
        bad "a wrong solution passes (exercises/prove --wrong --runs $runs):"
        show "$scratch/wrong"
    fi
fi

if want 6; then
    echo "== 6. a server that cannot start gets the build-failure report"
    n3=$(step_dir 3)
    # broken NAME SED-SCRIPT FILE WORDS: a copy of step 3 broken by the sed
    # script; its report must say WORDS and list no expectation.
    broken() {
        rm -rf "$scratch/broken" && cp -R "$n3" "$scratch/broken"
        rm -f "$scratch/broken/server"
        sed -i.orig "$2" "$scratch/broken/$3" && rm -f "$scratch/broken/$3.orig"
        if cmp -s "$n3/$3" "$scratch/broken/$3"; then
            bad "$1: the sed script did not change $3"
            return
        fi
        grade "$scratch/report" STEP=3 DIR="$scratch/broken" \
            TIMEOUT=$FAIL_TIMEOUT OUT="$scratch/g-broken"
        rc=$?
        if [ $rc = 1 ] && grep -q "$4" "$scratch/report" &&
            grep -q 'by hand' "$scratch/report" &&
            ! grep -q '^    expected: ' "$scratch/report"; then
            ok "$1: \"$(grep '^✘' "$scratch/report" | head -n 1 | cut -c 1-70)...\""
        else
            bad "$1 should get the build-failure report (status $rc):"
            show "$scratch/report"
        fi
    }
    broken "a compile error" '$a\
    this is not C' server.c 'build: `make -C'
    broken "a crash on start" '/^int main(/,/^{/s/^{/{ abort();/' main.c \
        'killed by signal'
    broken "no listening line" 's/"listening on /"ready on /' main.c \
        'did not print'
fi

if want 7; then
    echo "== 7. learner bugs: failed every time, and the first hint names the cause"
    runs=${BUG_RUNS:-10}
    for bug in exercises/bugs/*.patch; do
        [ -f "$bug" ] || continue
        name=$(basename "$bug" .patch)
        n=$(sed -n 's/^# step: *//p' "$bug")
        filter=$(sed -n 's/^# filter: *//p' "$bug")
        words=$(sed -n 's/^# hint: *//p' "$bug")
        ref=$(step_dir "$n")
        if [ -z "$ref" ] || [ -z "$words" ]; then
            bad "$name: needs # step: (a step that exists) and # hint:"
            continue
        fi
        t0=$(now)
        rm -rf "$scratch/bug" && cp -R "$ref" "$scratch/bug" &&
            rm -f "$scratch/bug/server"
        if ! patch -s -p1 -d "$scratch/bug" <"$bug" >"$scratch/patch" 2>&1; then
            bad "$name: does not apply to $ref:"
            show "$scratch/patch"
            continue
        fi
        grade "$scratch/bugreport" STEP="$n" DIR="$scratch/bug" \
            ${filter:+FILTER="$filter"} RUNS="$runs" \
            TIMEOUT=$FAIL_TIMEOUT OUT="$scratch/g-bug"
        failed=0 named=0 first=
        for r in "$scratch"/g-bug/main.*.report; do
            grep -q '^✘' "$r" && failed=$((failed + 1))
            h=$(grep -m 1 '^    hint: ' "$r")
            [ -n "$first" ] || first=$h
            case $h in *"$words"*) named=$((named + 1)) ;; esac
        done
        if [ "$failed" = "$runs" ] && [ "$named" = "$runs" ]; then
            ok "$name: failed $failed of $runs, first hint names it in $named ($(($(now) - t0)) s)"
        else
            bad "$name: failed $failed of $runs runs, first hint says \"$words\" in $named; the first:"
            echo "        $first"
            grep -l "$words" /dev/null "$scratch"/g-bug/main.*.report >/dev/null
            for r in "$scratch"/g-bug/main.*.report; do
                case $(grep -m 1 '^    hint: ' "$r") in
                *"$words"*) ;;
                *) show "$r" 30; break ;;
                esac
            done
        fi
    done
fi

if want 8; then
    echo "== 8. try: commands are portable"
    found=$(awk -F'\t' '!/^#/ && NF >= 4 && $4 ~ /8080|\/proc|pgrep|kill %/ {
            print FILENAME ": " $1 }' exercises/steps/*.tsv exercises/*/hints.tsv)
    if [ -z "$found" ]; then
        ok "no try: names a fixed port, /proc, pgrep or kill %"
    else
        bad "try: commands that are not portable (use {TRY} or {TEST}):"
        echo "$found" | sed 's/^/        /'
    fi
fi

echo
took=$(($(now) - start))
if [ $failures = 0 ]; then
    echo "exercises-check: all good ($took s)"
else
    echo "exercises-check: $failures failed ($took s)"
    exit 1
fi
