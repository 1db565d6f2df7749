#!/bin/sh
# tests/check-scripts.sh - `make check-scripts`: what a learner runs
# also runs on a Mac, whose /bin/sh, sed and awk are BSD's and whose
# make is GNU make 3.81.
#
# Learner-facing: every #!/bin/sh script under exercises/, tools/,
# slides/ and tests/ (and tools/lib.sh, which they source), every
# Makefile and *.mk. Not checked: .ci/run and tests/stress/run.sh,
# bash scripts that only CI runs.
#   1. each script parses under dash (dash -n), and passes
#      checkbashisms where it is installed (Debian: devscripts);
#   2. no GNU-only utility option in scripts or Makefiles: sed -i with
#      no suffix, readlink -f, stat -c, date -d, timeout, grep -P;
#   3. no make feature newer than 3.81 in the Makefiles.
# Run from the repository root. Exit status 0 when all is portable.

set -u
scripts=
for f in exercises/* tools/* slides/* tests/* tests/*/*; do
    [ -f "$f" ] || continue
    case $f in tests/stress/run.sh) continue ;; esac
    [ "$(head -n 1 "$f")" = "#!/bin/sh" ] && scripts="$scripts $f"
done
scripts="$scripts tools/lib.sh"
makefiles=$(ls Makefile */Makefile */*.mk 2>/dev/null)
fail=0

for f in $scripts; do
    dash -n "$f" || { echo "check-scripts: $f: not POSIX sh"; fail=1; }
done
if command -v checkbashisms >/dev/null 2>&1; then
    checkbashisms $scripts || fail=1
    bashisms="checkbashisms"
else
    bashisms="no checkbashisms (devscripts)"
fi
# The commonest bashisms, which dash -n parses without complaint. (The
# function keyword is not among them: dash -n refuses it, and the same
# words open an awk function inside a script's awk program.)
bash='[[][[] |<<[<]|[&]>|^ *local '
if grep -nE "$bash" $scripts; then
    echo "check-scripts: bash-only syntax above; use POSIX sh"
    fail=1
fi

# The options as a command line uses them (each pattern is written so
# that it does not match its own line).
gnu='sed( +-[a-zA-Z]+)* +-[a-zA-Z]*i([ '\''"]|$)|readlink +-f|stat +-c'
gnu="$gnu"'|date +-d|(^|[;&|({ ])timeout +[0-9-]'
gnu="$gnu"'|grep( +-[a-zA-Z]+)* +-[a-zA-Z]*P'
if grep -nE "$gnu" $scripts $makefiles | grep -vE ':[0-9]+: *#'; then
    echo "check-scripts: a GNU-only option above; macOS has BSD tools"
    fail=1
fi

# Make 3.82 and later: .ONESHELL, .RECIPEPREFIX, undefine, private,
# define NAME =; 4.0 and later: != and ::= assignments, $(file ...).
new='^\.ONESHELL|^\.RECIPEPREFIX|^ *undefine |(^|[ :;])private +[A-Za-z_]'
new="$new"'|^define +[A-Za-z_0-9]+ +[:+?!]?=|^[^#=]*[^:]:[:]='
new="$new"'|^[A-Za-z_0-9]+ *!='
new="$new"'|[$][(]file '
if grep -nE "$new" $makefiles | grep -vE ':[0-9]+: *#'; then
    echo "check-scripts: a make feature newer than 3.81 above (macOS)"
    fail=1
fi

[ $fail = 0 ] && echo "check-scripts: $(echo $scripts | wc -w) scripts" \
    "pass dash -n ($bashisms), $(echo $makefiles | wc -w) Makefiles:" \
    "POSIX options, make 3.81"
exit $fail
