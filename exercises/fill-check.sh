#!/bin/sh
# exercises/fill-check.sh - the FILL=1 files are the reference with
# only some function bodies taken out.
#
# Every exercises/steps/stepN-fill/F.[ch] is compared with stepN-*/F:
# the bodies of the functions whose FILL body holds a TODO are cut out
# of both, and what is left must be identical, byte for byte. A FILL
# file with no TODO must be identical to the reference. Run from the
# repository root. Exit status 0 when every file matches.

set -u
fail=0

# todo_functions FILE: the names of the top-level functions whose body
# holds "TODO".
todo_functions() {
    awk '
        /^[A-Za-z_].*\(/ && !/;[ \t]*$/ {
            s = $0
            sub(/\(.*/, "", s)
            n = split(s, w, /[ *]+/)
            name = w[n]
        }
        /^\{$/ { body = 1; next }
        /^\}$/ { body = 0; next }
        body && /TODO/ { print name }' "$1" | sort -u
}

# skeleton FILE NAMES: FILE with the bodies of the functions NAMES
# replaced by one line.
skeleton() {
    awk -v names=" $2 " '
        /^[A-Za-z_].*\(/ && !/;[ \t]*$/ {
            s = $0
            sub(/\(.*/, "", s)
            n = split(s, w, /[ *]+/)
            cut = index(names, " " w[n] " ") > 0
        }
        cut && /^\{$/ { print "{ (body cut) }"; body = 1; next }
        body && /^\}$/ { body = cut = 0; next }
        !body { print }' "$1"
}

for fill in exercises/steps/step*-fill/*.[ch]; do
    [ -f "$fill" ] || continue
    n=$(echo "$fill" | sed 's|^exercises/steps/step\([0-9]*\)-fill/.*|\1|')
    ref=$(ls -d step"$n"-* 2>/dev/null | head -n 1)/$(basename "$fill")
    if [ ! -f "$ref" ]; then
        echo "fill-check: $fill: there is no $ref to compare it with"
        fail=1
        continue
    fi
    names=$(todo_functions "$fill" | tr '\n' ' ')
    if [ -z "$names" ]; then
        echo "fill-check: $fill has no TODO; it should not be there"
        fail=1
        continue
    fi
    skeleton "$ref" "$names" >"${TMPDIR:-/tmp}/fill-check.ref.$$"
    skeleton "$fill" "$names" >"${TMPDIR:-/tmp}/fill-check.fill.$$"
    if diff -u "${TMPDIR:-/tmp}/fill-check.ref.$$" \
        "${TMPDIR:-/tmp}/fill-check.fill.$$" >"${TMPDIR:-/tmp}/fill-check.diff.$$"; then
        echo "fill-check: $fill is $ref with the bodies of: $names"
    else
        echo "fill-check: $fill differs from $ref outside the bodies of" \
            "$names:"
        sed 's/^/    /' "${TMPDIR:-/tmp}/fill-check.diff.$$"
        fail=1
    fi
    rm -f "${TMPDIR:-/tmp}"/fill-check.*."$$"
done
exit $fail
