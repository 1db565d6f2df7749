#!/bin/sh
# tests/macos-check.sh - `make macos-check`: everything a learner
# compiles, cross-compiled for macOS, warnings as errors.
#
# Apple's headers hide every name POSIX does not define when
# _POSIX_C_SOURCE is set (INADDR_LOOPBACK is one), while glibc and
# musl show them anyway: only a macOS build catches such a name. Zig
# carries Apple's libc headers, so `zig cc -target aarch64-macos`
# builds a Mac program here. Nothing is run; what cannot be seen by
# compiling is in tests/README.md, "Platforms".
#
# For each target, one line per group:
#   every step, built by its own Makefile;
#   the tools, built by tools/tools.mk in a copy of tools/;
#   every test source, compiled to objects (-c) for every step's
#       -DSTEP=N, against a copy of Criterion's headers;
#   each extension's base step + solution.patch, and its tests.c;
#   each FILL=1 variant, made by `make exercise`.
# Everything goes under MACOS_OUT (tests/build/macos), nothing else is
# touched. Called by tests/macos.mk, which sets the environment:
#   ZIG MACOS_TARGETS MACOS_OUT MACOS_INCLUDE MACOS_WARN TOOLS
#   MACOS_TESTS ("step file file ...;" for every step) MAKE
# Arguments: the step folders. Exit status 0 when everything compiled.

set -u
steps=$*
root=$(pwd)
out=$root/$MACOS_OUT
start=$(date +%s)
groups=0 units=0 failed=0

# unit TARGET NAME LOG COMMAND...: runs COMMAND, prints one line.
unit() {
    u_target=$1 u_name=$2 u_log=$3
    shift 3
    if "$@" >"$u_log" 2>&1; then
        printf 'macos-check: %-14s %s: ok\n' "$u_target" "$u_name"
    else
        printf 'macos-check: %-14s %s: FAILED\n' "$u_target" "$u_name"
        sed 's/^/    /' "$u_log"
        failed=$((failed + 1))
    fi
    groups=$((groups + 1))
}

# build_dir DIR OUT: a step's folder, built by its own Makefile into
# OUT (an absolute path: never the Linux ./server).
build_dir() {
    $MAKE -s -B -C "$1" CC="$cc" WERROR=1 OUT="$2"
}

# copy_step STEP DEST: a clean copy of a step folder.
copy_step() {
    rm -rf "$2" && mkdir -p "$2" &&
        (cd "$1" && tar -cf - --exclude=server --exclude='server-*' \
            --exclude='*.o' --exclude='*.dSYM' .) | tar -C "$2" -xf -
}

# objects STEP_NUMBER INCLUDE_DIR OBJ_DIR SOURCE...: each source to an
# object, as the suite is built.
objects() {
    n=$1 inc=$2 obj=$3
    shift 3
    mkdir -p "$obj" || return 1
    for src in "$@"; do
        $cc $MACOS_WARN -O1 -g -DSTEP="$n" -Itests -I"$inc" \
            -I"$MACOS_INCLUDE" -c -o "$obj/$(basename "$src" .c).o" \
            "$src" || return 1
    done
}

# tools: tools/tools.mk's own rules, in a copy of tools/.
tools() {
    rm -rf "$1" && mkdir -p "$1" && cp -R tools "$1/" &&
        (cd "$1" && rm -f $TOOLS &&
            $MAKE -s -B -f tools/tools.mk CC="$cc" WERROR=1 $TOOLS)
}

# exercise DIR BASE DEST: an extension's solution, and its tests.c.
exercise() {
    copy_step "$(ls -d step"$2"-* | head -n 1)" "$3" &&
        patch -s -p1 -d "$3" <"$1/solution.patch" &&
        build_dir "$3" "$3/server-macos" &&
        objects "$2" "$3" "$3/tests" "$1/tests.c"
}

# fill N DEST: `make exercise STEP=N FILL=1` into DEST, then its build.
# Returns 3 when step N has no FILL=1 variant.
fill() {
    rm -rf "$2"
    $MAKE -s exercise STEP="$1" FILL=1 WORKBENCH="$2" >"$2.log" 2>&1
    rc=$?
    # no exercise for step N, or none with FILL=1
    grep -q -e 'no FILL=1 variant' -e '^usage:' "$2.log" && return 3
    [ $rc -eq 0 ] || { cat "$2.log"; return 1; }
    build_dir "$2/step$1" "$2/step$1/server-macos"
}

# test_group STEP SOURCE...: a step's test sources, to objects.
test_group() {
    [ $# -gt 0 ] || return 0
    d=$1
    shift
    n=$(echo "$d" | sed 's/^step\([0-9]*\).*/\1/')
    unit "$t" "tests -DSTEP=$n: $# objects" "$o/logs/tests-$d" \
        objects "$n" "$d" "$o/tests/$d" "$@"
    units=$((units + $#))
}

for t in $MACOS_TARGETS; do
    cc="$ZIG cc -target $t"
    o=$out/$t
    mkdir -p "$o/logs"
    for d in $steps; do
        mkdir -p "$o/$d"
        unit "$t" "$d: server" "$o/logs/$d" build_dir "$d" "$o/$d/server"
        units=$((units + $(ls "$d"/*.c | wc -l)))
    done

    unit "$t" "tools: $TOOLS" "$o/logs/tools" tools "$o/tools"
    units=$((units + $(ls "$o"/tools/tools/*.c | wc -l)))

    old_ifs=$IFS
    IFS=';'
    set -f
    for line in $MACOS_TESTS; do
        IFS=$old_ifs
        test_group $line
    done
    IFS=$old_ifs
    set +f

    for ex in exercises/*/BASE; do
        [ -f "$ex" ] || continue
        e=$(dirname "$ex")
        name=$(basename "$e")
        base=$(tr -cd 0-9 <"$ex")
        unit "$t" "exercise $name: step $base + solution.patch, tests.c" \
            "$o/logs/exercise-$name" exercise "$e" "$base" \
            "$o/exercise/$name"
        units=$((units + $(ls "$o/exercise/$name"/*.c | wc -l) + 1))
    done

    for n in $(echo "$steps" | tr ' ' '\n' | sed 's/^step\([0-9]*\).*/\1/'); do
        dir=$o/fill
        mkdir -p "$dir"
        fill "$n" "$dir" >"$o/logs/fill-$n" 2>&1
        case $? in
        3) continue ;;
        0) printf 'macos-check: %-14s %s: ok\n' "$t" \
            "make exercise STEP=$n FILL=1: server" ;;
        *) printf 'macos-check: %-14s %s: FAILED\n' "$t" \
            "make exercise STEP=$n FILL=1: server"
            sed 's/^/    /' "$o/logs/fill-$n"
            failed=$((failed + 1)) ;;
        esac
        groups=$((groups + 1))
        units=$((units + $(ls "$dir/step$n"/*.c | wc -l)))
    done
done

took=$(($(date +%s) - start))
echo "macos-check: $groups groups, $units C files compiled for" \
    "$MACOS_TARGETS, -Werror: $failed failed ($took s)"
[ "$failed" -eq 0 ]
