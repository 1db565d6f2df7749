#!/bin/sh
# figures.sh - keep the measured numbers on the slides equal to the
# reports they come from (bench/README.md, tests/README.md).
#
#   sh slides/figures.sh check [DECK.md ...]   (make slides-check)
#   sh slides/figures.sh sync  [DECK.md ...]   (make slides-sync)
#
# Two kinds of marker, each an HTML comment on a line of its own:
#
#   <!-- bench: table [SERVER ...] -->
#   | server | req/s, 1 conn | ... |       (generated: never edit by hand)
#   ...
#   <!-- bench: end -->
#
# The lines between are generated from the first table of
# bench/README.md (the one `make bench-report` writes from
# bench/raw.tsv) that has a "req/s, 1 conn" column: one row per server
# (or only the servers named, as the report names them), the columns
# the deck discusses, found by their names in the table's head, so the
# report may order its columns as it likes (BENCH_REPORT=FILE reads
# another report: a scratch one, say).
#
#   <!-- figures: bench/README.md "11647" "28" -->
#
# Every quoted string must occur in the named file (a report) and in
# the text of the slide that holds the marker. A slide quoting a figure
# the report no longer holds fails the check, and so does a slide whose
# figure was edited without the marker.
#
# check: exit 1, naming the deck, line and slide, when a generated
# table differs from the report or a figure is missing from either
# side. sync: rewrites the generated tables; figures are only checked.
# Shell and awk only, like snippets.sh.
set -eu

usage() {
    echo "usage: sh slides/figures.sh check|sync [DECK.md ...]" >&2
    exit 2
}
[ $# -ge 1 ] || usage
mode=$1
shift
case $mode in check | sync) ;; *) usage ;; esac

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [ $# -eq 0 ]; then
    set -- $(ls slides/*.md | grep -v '/README\.md$')
fi
report=${BENCH_REPORT:-bench/README.md}
[ -f "$report" ] || { echo "figures: no $report" >&2; exit 2; }

status=0
for deck in "$@"; do
    tmp="$deck.figures.$$"
    rc=0
    awk -v mode="$mode" -v deck="$deck" -v report="$report" '
function err(line, msg) {
    printf "%s:%d: slide %d: %s\n", deck, line, slide, msg | "cat 1>&2"
    errors++
}
function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
# The generated table, from the report, into gen[1..ngen].
function generate(only,    line, n, i, f, col, inside, name, mix, rss,
                  want) {
    split(only, f, " ")
    for (i in f) want[f[i]] = 1
    ngen = 0; inside = 0
    while ((getline line < report) > 0) {
        if (!inside) {
            # The first table with a req/s, 1 conn column, wherever
            # the report puts it: columns are found by their names.
            if (line !~ /^\| server \|/ ||
                index(line, "| req/s, 1 conn |") == 0)
                continue
            inside = 1
            n = split(line, f, "|")
            for (i = 2; i < n; i++)
                col[trim(f[i])] = i
            for (i = 1; i <= nneed; i++)
                if (!(need[i] in col)) {
                    close(report)
                    return report ": its first table has no column \"" \
                        need[i] "\""
                }
            gen[++ngen] = "| server | req/s, 1 | req/s, 64 |" \
                " µs CPU | threads | RSS | slow-mix | sleepers |"
            gen[++ngen] = "|---|--:|--:|--:|--:|--:|--:|--:|"
            continue
        }
        if (line ~ /^\|---/)
            continue
        if (line !~ /^\|/)
            break
        split(line, f, "|")
        name = trim(f[2])
        if (only != "" && !(name in want))
            continue
        if (name ~ /^step[0-9]/)
            name = "step " substr(name, 5, 1)
        sub(/ \(.*\)$/, "", name)
        mix = trim(f[col["slow-mix makespan / median"]])
        sub(/^.* \/ /, "", mix)
        rss = trim(f[col["peak RSS"]])
        gsub(/ /, "\302\240", rss) # a no-break space: 1.7 MiB stays whole
        gen[++ngen] = "| " name \
            " | " trim(f[col["req/s, 1 conn"]]) \
            " | " trim(f[col["req/s, 64 conn"]]) \
            " | " trim(f[col["server CPU µs/req, 64 conn"]]) \
            " | " trim(f[col["peak threads"]]) \
            " | " rss \
            " | " mix \
            " | " trim(f[col["sleepers makespan"]]) " |"
    }
    close(report)
    if (ngen == 0)
        return report ": no table headed \"| server |\" with a column" \
            " \"req/s, 1 conn\""
    return ""
}
# The slide ends: every figure named on it must be in its text.
function end_slide(    i) {
    for (i = 1; i <= nfig; i++)
        if (index(text, fig[i]) == 0)
            err(figline[i], "the slide does not show \"" fig[i] \
                "\", which its figures: marker names")
    nfig = 0; text = ""
}
function emit(s) { if (mode == "sync") print s }

BEGIN {
    slide = 1; errors = 0; tables = 0; figures = 0; nfig = 0
    # The report columns the generated table shows.
    nneed = split("req/s, 1 conn|req/s, 64 conn|" \
        "server CPU µs/req, 64 conn|peak threads|peak RSS|" \
        "slow-mix makespan / median|sleepers makespan", need, "|")
}

# Front matter: from a first line "---" to the next "---".
NR == 1 && $0 == "---" { front = 1; emit($0); next }
front == 1 { if ($0 == "---") front = 2; emit($0); next }

# Code blocks are not searched for markers; their lines are text.
/^```/ { fence = !fence; text = text $0 "\n"; emit($0); next }
fence { text = text $0 "\n"; emit($0); next }

$0 == "---" { end_slide(); slide++; emit($0); next }

/^<!-- bench: table( [a-z0-9 -]+)? -->$/ {
    emit($0)
    only = $0
    sub(/^<!-- bench: table ?/, "", only); sub(/ ?-->$/, "", only)
    problem = generate(only)
    if (problem != "") { err(NR, problem); next }
    tables++
    n = 0; start = NR
    while ((r = (getline line)) > 0 && line != "<!-- bench: end -->")
        blk[++n] = line
    if (r <= 0) { err(start, "no <!-- bench: end --> after the table"); exit }
    same = n == ngen
    for (i = 1; same && i <= n; i++)
        if (blk[i] != gen[i]) { same = 0; at = i }
    if (mode == "check" && !same)
        err(start + (at ? at : 1), "the bench table differs from " \
            report "; run make slides-sync")
    for (i = 1; i <= ngen; i++) { emit(gen[i]); text = text gen[i] "\n" }
    emit("<!-- bench: end -->")
    next
}

/^<!-- figures: / {
    emit($0)
    spec = $0
    sub(/^<!-- figures: /, "", spec); sub(/ -->$/, "", spec)
    file = spec; sub(/ .*/, "", file)
    rest = substr(spec, length(file) + 1)
    whole = ""
    while ((r = (getline line < file)) > 0)
        whole = whole line "\n"
    close(file)
    if (whole == "") { err(NR, "cannot read " file); next }
    while (match(rest, /"[^"]*"/)) {
        s = substr(rest, RSTART + 1, RLENGTH - 2)
        rest = substr(rest, RSTART + RLENGTH)
        figures++
        if (index(whole, s) == 0)
            err(NR, file " no longer holds \"" s "\": the report" \
                " changed; change the slide to match")
        fig[++nfig] = s; figline[nfig] = NR
    }
    next
}

# Markers and comments are not what the slide shows, notes neither.
/^<!--/ { incomment = 1 }
incomment { if ($0 ~ /-->/) incomment = 0; emit($0); next }
{ text = text $0 "\n"; emit($0) }

END {
    end_slide()
    close("cat 1>&2")
    if (errors > 0)
        exit 1
    if (mode == "check")
        printf "slides-check: %s: %d bench tables and %d figures match" \
            " their reports\n", deck, tables, figures
}
' "$deck" >"$tmp" || rc=$?
    if [ "$mode" = sync ] && [ $rc -eq 0 ]; then
        if cmp -s "$tmp" "$deck"; then rm -f "$tmp"; else mv "$tmp" "$deck"; fi
    else
        if [ "$mode" = check ]; then cat "$tmp"; fi
        rm -f "$tmp"
    fi
    [ $rc -eq 0 ] || status=1
done
[ $status -eq 0 ] || echo "figures: $mode failed; see the lines above" >&2
exit $status
