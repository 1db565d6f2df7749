#!/bin/sh
# exercises/exercise.sh - `make exercise`: a learner's starting point.
#
#   exercises/exercise.sh STEP=3 [FILL=1] [FRESH=1] [WORKBENCH=workbench]
#   exercises/exercise.sh EXERCISE=stats [FRESH=1] [WORKBENCH=...]
#
# Copies the step before (or the exercise's base step) to
# WORKBENCH/step3 (or WORKBENCH/stats) and writes TASK.md into it from
# the exercise's template, and a Makefile that runs the repository's
# `make check` from inside the folder. FILL=1 copies step N itself
# instead, with some function bodies replaced by TODOs: fill.sh builds
# that file from the reference and exercises/steps/stepN.fill, whose
# text opens TASK.md, before the template's contract and hints. Work
# is never lost: an existing folder is left alone, and FRESH=1 first
# moves it to a dated folder beside it.
# Run from the repository root (the Makefile does).
#
# Templates (exercises/steps/stepN.md, exercises/NAME/TASK.md) may use:
#   {{DIR}} the new folder      {{BASE}} the folder it copies
#   {{REF}} the reference step  {{CHECK}} the make check command
#   {{EXERCISE}} the make exercise command (without FRESH)
#   {{CONTRACT}} (a line of its own) the hints table's expectations, as
#       a numbered list, in the order make check prints them
#   {{FILE:path}} (a line of its own) that file, verbatim
#   {{slide:Title}} the number of the slide titled "# Title" in
#       slides/workshop.md

set -u
STEP= EXERCISE= FILL= FRESH= WORKBENCH=
for arg in "$@"; do
    case $arg in
    STEP=*) STEP=${arg#*=} ;;
    EXERCISE=*) EXERCISE=${arg#*=} ;;
    FILL=*) FILL=${arg#*=} ;;
    FRESH=*) FRESH=${arg#*=} ;;
    WORKBENCH=*) WORKBENCH=${arg#*=} ;;
    *) echo "exercise.sh: unknown argument $arg" >&2; exit 2 ;;
    esac
done
[ -n "$WORKBENCH" ] || WORKBENCH=workbench
WORKBENCH=${WORKBENCH%/}

step_dir() { ls -d step"$1"-* 2>/dev/null | head -n 1; }

usage() {
    echo "usage: make exercise STEP=N [FILL=1] | EXERCISE=NAME  [FRESH=1] [WORKBENCH=path]"
    echo "  STEP: one of $(ls exercises/steps | sed -n 's/^step\([0-9]*\)\.md$/\1/p' | tr '\n' ' ')"
    echo "  EXERCISE: one of $(for d in exercises/*/BASE; do [ -f "$d" ] && basename "$(dirname "$d")"; done | tr '\n' ' ')"
    exit 2
}

wb_opt=
[ "$WORKBENCH" = workbench ] || wb_opt=" WORKBENCH=$WORKBENCH"
if [ -n "$STEP" ] && [ -z "$EXERCISE" ]; then
    name=step$STEP
    template=exercises/steps/step$STEP.md
    table=exercises/steps/step$STEP.tsv
    [ -f "$template" ] || usage
    ref=$(step_dir "$STEP")
    base=$(step_dir $((STEP - 1)))
    if [ -z "$ref" ] || [ -z "$base" ]; then
        echo "make exercise: step $STEP is not in this repository yet"
        exit 2
    fi
    fill=exercises/steps/step$STEP.fill
    check="make check STEP=$STEP$wb_opt"
    again="make exercise STEP=$STEP${FILL:+ FILL=$FILL}$wb_opt"
elif [ -n "$EXERCISE" ] && [ -z "$STEP" ]; then
    name=$EXERCISE
    template=exercises/$EXERCISE/TASK.md
    table=exercises/$EXERCISE/hints.tsv
    [ -f "exercises/$EXERCISE/BASE" ] && [ -f "$template" ] || usage
    base=$(step_dir "$(tr -cd 0-9 <"exercises/$EXERCISE/BASE")")
    ref=$base
    [ -n "$base" ] || { echo "make exercise: no base step for $EXERCISE"; exit 2; }
    fill=
    [ -z "$FILL" ] || { echo "make exercise: FILL=1 is for steps only"; exit 2; }
    check="make check EXERCISE=$EXERCISE$wb_opt"
    again="make exercise EXERCISE=$EXERCISE$wb_opt"
else
    usage
fi
if [ -n "$FILL" ]; then
    if [ ! -f "$fill" ]; then
        echo "make exercise: step $STEP has no FILL=1 variant; these do:" \
            "$(ls exercises/steps/step*.fill 2>/dev/null |
                sed 's|.*/step\([0-9]*\)\.fill|\1|' | tr '\n' ' ')"
        exit 2
    fi
    base=$ref # with the bodies named in $fill taken out
fi

dest=$WORKBENCH/$name
if [ -e "$dest" ]; then
    if [ -z "$FRESH" ]; then
        echo "$dest exists already: your work is there, and nothing was changed."
        echo "Go on with it and grade it:  $check"
        echo "Or start over:               $again FRESH=1"
        echo "  (which first moves $dest to $dest.<date and time>)"
        exit 0
    fi
    old=$dest.$(date +%Y-%m-%d-%H%M%S)
    mv "$dest" "$old" || exit 1
    echo "Moved your earlier copy to $old"
fi

# The slides' titles and numbers: the front matter is not a slide, and
# every --- line outside a code block starts the next one.
slides=slides/workshop.md
slide_titles() {
    awk '
        NR == 1 && /^---$/ { front = 1; next }
        front { if (/^---$/) { front = 0; n = 1 }; next }
        /^```/ { code = !code }
        !code && /^---$/ { n++ }
        !code && /^# / { sub(/^# /, ""); print n "\t" $0 }' "$slides"
}

# render TEMPLATE: the template with its placeholders replaced.
render() {
    slide_titles >"$tmp/slides"
    # #include lines of a step table (see grade.sh)
    awk -v here="$(dirname "$table")" -f exercises/table.awk "$table" |
        awk -F'\t' '!/^#/ && NF >= 4 { print $2 }' >"$tmp/contract"
    awk -v dir="$dest" -v base="$base" -v ref="$ref" -v check="$check" \
        -v again="$again" -v slides="$tmp/slides" \
        -v contract="$tmp/contract" '
        BEGIN {
            while ((getline l < slides) > 0) {
                split(l, f, "\t")
                number[f[2]] = f[1]
            }
        }
        $0 == "{{CONTRACT}}" {
            n = 0
            while ((getline l < contract) > 0)
                print ++n ". " l
            next
        }
        /^\{\{FILE:[^}]*\}\}$/ {
            path = substr($0, 8, length($0) - 9)
            if ((getline l < path) <= 0) {
                print "exercise.sh: no file " path > "/dev/stderr"
                bad = 1
            } else {
                print l
                while ((getline l < path) > 0) print l
            }
            close(path)
            next
        }
        {
            line = $0
            out = ""
            while (match(line, /\{\{[^}]*\}\}/)) {
                key = substr(line, RSTART + 2, RLENGTH - 4)
                out = out substr(line, 1, RSTART - 1) value(key)
                line = substr(line, RSTART + RLENGTH)
            }
            print out line
        }
        function value(key, title) {
            if (key == "DIR") return dir
            if (key == "BASE") return base
            if (key == "REF") return ref
            if (key == "CHECK") return check
            if (key == "EXERCISE") return again
            if (key ~ /^slide:/) {
                title = substr(key, 7)
                if (title in number) return number[title]
                print "exercise.sh: no slide titled \"" title "\"" \
                    > "/dev/stderr"
                bad = 1
                return "?"
            }
            print "exercise.sh: unknown {{" key "}}" > "/dev/stderr"
            bad = 1
            return "{{" key "}}"
        }
        END { exit bad }' "$1"
}

# workbench_makefile: a GNUmakefile for the new folder (GNU make reads
# it before Makefile): the folder's own Makefile for `make`, and `make
# check`, `make diff` run from inside it, by absolute paths, so that
# they work wherever WORKBENCH put the folder.
workbench_makefile() {
    what="STEP=$STEP"
    [ -n "$EXERCISE" ] && what="EXERCISE=$EXERCISE"
    cat <<EOF
# GNUmakefile - written by \`make exercise $what\`. \`make\` builds
# the server with ./Makefile; \`make check\` grades this folder;
# \`make diff\` shows what you changed in $base.
REPO := $(pwd)
include Makefile

check:
	@\$(MAKE) -s --no-print-directory -C \$(REPO) check $what \\
	    DIR="\$(CURDIR)"

diff:
	@diff -ru -x server -x 'server-*' -x '*.o' -x '*.dSYM' \\
	    -x TASK.md -x GNUmakefile \$(REPO)/$base . || true

help:
	@echo "make          build ./server (this folder's Makefile)"
	@echo "make check    grade this folder ($what)"
	@echo "make diff     what you changed in $base"

.PHONY: check diff help
EOF
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/exercise.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
render "$template" >"$tmp/TASK.md"
rendered=$?
# FILL=1: TASK.md opens with the functions to write, in place of the
# template's opening (which is for starting from the step before); the
# contract and the hints follow.
if [ -n "$FILL" ]; then
    sh exercises/fill.sh --text "$fill" >"$tmp/FILL.md" &&
        render "$tmp/FILL.md" >"$tmp/FILL.rendered" || rendered=1
    awk -v fill="$tmp/FILL.rendered" '
        NR == 1 { print; while ((getline l < fill) > 0) print l; next }
        /^## / { body = 1 }
        body && !printed++ { print "" }
        body' "$tmp/TASK.md" >"$tmp/TASK.fill" &&
        mv "$tmp/TASK.fill" "$tmp/TASK.md" || rendered=1
fi

mkdir -p "$dest" || exit 1
(cd "$base" && tar -cf - --exclude=server --exclude='server-*' \
    --exclude='*.o' --exclude='*.dSYM' .) | (cd "$dest" && tar -xf -) ||
    exit 1
if [ -n "$FILL" ]; then
    sh exercises/fill.sh "$fill" "$ref" "$dest" || exit 1
fi
cp "$tmp/TASK.md" "$dest/TASK.md" || exit 1
workbench_makefile >"$dest/GNUmakefile" || exit 1

if [ -n "$FILL" ]; then
    echo "Created $dest: a copy of $base with TODOs to fill in:" \
        "$(sh exercises/fill.sh --what "$fill" | sed 's/:/: the bodies of/')"
else
    echo "Created $dest: a copy of $base."
fi
echo "Read $dest/TASK.md, change the files it names, and grade your work:"
echo "  $check    (or: cd $dest && make check)"
[ "$rendered" = 0 ] || { echo "(TASK.md has an unresolved reference: see above)"; exit 1; }
exit 0
