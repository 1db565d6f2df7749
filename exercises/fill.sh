#!/bin/sh
# exercises/fill.sh - build a FILL=1 variant from the reference step,
# so that it cannot drift from it: the spec (exercises/steps/stepN.fill)
# names one file and some of its functions, and gives each function's
# TODO body; everything else is the reference's, byte for byte.
#
#   exercises/fill.sh SPEC REFDIR DESTDIR   write DESTDIR/FILE
#   exercises/fill.sh --text SPEC           the text for TASK.md
#   exercises/fill.sh --what SPEC           "FILE: NAME NAME"
#
# A spec: "#" comment lines first; "file NAME"; then for each function
# "body NAME" and its body's lines (indented, as in C); last "text"
# and the Markdown that opens TASK.md. A function is found by its
# definition: a line that starts with a name, holds "NAME(" and does
# not end with ";", then a line "{" ... a line "}" (.clang-format puts
# them there). Exit status 1 when a function is not found exactly once.

set -u
spec_awk='
    /^#/ && !started { next }
    { started = 1 }
    /^file / { file = $2; next }
    /^body / { part = "body"; name = $2; names = names " " name; next }
    /^text$/ { part = "text"; next }
    part == "body" { body[name] = body[name] $0 "\n" }
    part == "text" { text = text $0 "\n" }'

case ${1:-} in
--text)
    awk "$spec_awk"' END { printf "%s", text }' "$2"
    exit ;;
--what)
    awk "$spec_awk"' END { print file ":" names }' "$2"
    exit ;;
esac
[ $# -eq 3 ] || { echo "usage: fill.sh SPEC REFDIR DESTDIR" >&2; exit 2; }
spec=$1 ref=$2 dest=$3
file=$(awk "$spec_awk"' END { print file }' "$spec")
[ -f "$ref/$file" ] || { echo "fill.sh: no $ref/$file" >&2; exit 1; }
awk "$spec_awk"'
    FNR == 1 && FILENAME != ARGV[1] { ref = 1 }
    !ref { next }
    /^[A-Za-z_].*\(/ && !/;[ \t]*$/ {
        s = $0
        sub(/\(.*/, "", s)
        n = split(s, w, /[ *]+/)
        cut = (w[n] in body) ? w[n] : ""
    }
    cut != "" && /^\{$/ {
        print
        printf "%s", body[cut]
        found[cut]++
        inside = 1
        next
    }
    inside && /^\}$/ { inside = 0; cut = "" }
    !inside { print }
    END {
        for (f in body)
            if (found[f] != 1) {
                printf "fill.sh: %s: %s() is defined %d times, not once\n",
                    file, f, found[f] > "/dev/stderr"
                bad = 1
            }
        exit bad
    }' "$spec" "$ref/$file" >"$dest/$file.fill" &&
    mv "$dest/$file.fill" "$dest/$file" || {
    rm -f "$dest/$file.fill"
    exit 1
}
