#!/bin/sh
# exercises/fill-check.sh - every FILL=1 spec still fits its step.
#
# The FILL=1 files are built from the reference (fill.sh), so they
# cannot drift from it; what can go wrong is that a function the spec
# names was renamed or moved, or that a TODO body no longer compiles
# against the file around it. For each exercises/steps/stepN.fill:
# builds the variant in a scratch copy of stepN-* and compiles it with
# -Werror. Run from the repository root. Exit status 0 when all fit.

set -u
fail=0
scratch=$(mktemp -d "${TMPDIR:-/tmp}/fill-check.XXXXXX") || exit 1
trap 'rm -rf "$scratch"' EXIT

for spec in exercises/steps/step*.fill; do
    [ -f "$spec" ] || continue
    n=$(echo "$spec" | sed 's|^exercises/steps/step\([0-9]*\)\.fill$|\1|')
    refdir=$(ls -d step"$n"-* 2>/dev/null | head -n 1)
    what=$(sh exercises/fill.sh --what "$spec")
    if [ -z "$refdir" ]; then
        echo "fill-check: $spec waits for step $n, not here yet"
        continue
    fi
    rm -rf "$scratch/s" && cp -R "$refdir" "$scratch/s" &&
        rm -f "$scratch/s/server" || exit 1
    if ! sh exercises/fill.sh "$spec" "$refdir" "$scratch/s" \
        >"$scratch/log" 2>&1; then
        echo "fill-check: $spec does not fit $refdir:"
        sed 's/^/    /' "$scratch/log"
        fail=1
    elif ! make -s -C "$scratch/s" WERROR=1 >"$scratch/log" 2>&1; then
        echo "fill-check: $spec: the variant does not compile:"
        sed 's/^/    /' "$scratch/log"
        fail=1
    else
        echo "fill-check: $spec: $refdir/$what, built from the reference"
    fi
done
exit $fail
