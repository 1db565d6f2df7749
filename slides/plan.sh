#!/bin/sh
# plan.sh - check that the class plans of exercises/README.md add up.
#
#   sh slides/plan.sh exercises/README.md slides/workshop.md
#
# (make slides-check.) A plan is a table under a heading "### ... (N
# hours)", whose rows read
#
#   | 0:15 | step 1 and its demo | 6–14 | 2 |
#
# the start time, what happens, the slides shown (ranges and single
# numbers, separated by commas), and the minutes spent besides the
# slides (demos, exercises, breaks). A slot lasts until the next row's
# time; the last row is "| H:MM | end | | |". A row whose time is
# "home" lists the slides a plan leaves for after the class. Each
# plan must
#   - give each slot exactly SLIDE_MINUTES (2) a slide plus its other
#     minutes,
#   - end at its N hours,
#   - name every slide of the deck exactly once (in a slot or at home).
# The sentence "(`slides/workshop.md`, N slides)" must give the deck's
# count. Prints the slides per section of the deck, and each plan's
# total. Exit 1 naming the plan and row when something does not add up.
set -eu
[ $# -eq 2 ] || { echo "usage: sh slides/plan.sh PLANS.md DECK.md" >&2; exit 2; }
plans=$1
deck=$2
SLIDE_MINUTES=${SLIDE_MINUTES:-2}

# The deck: "N SECTION" for each slide (its footer; the title slide has
# none), from the slide separators outside the front matter and code.
sections=$(awk '
NR == 1 && $0 == "---" { front = 1; next }
front { if ($0 == "---") { front = 0; n = 1 }; next }
/^```/ { fence = !fence }
!fence && $0 == "---" { n++ }
!fence && /^<!-- footer: / {
    f = $0; sub(/^<!-- footer: /, "", f); sub(/ -->$/, "", f)
    foot = f
    if (n in sec) sec[n] = foot
}
!fence { if (!(n in sec)) sec[n] = (foot == "" ? "(title)" : foot) }
END { for (i = 1; i <= n; i++) print i "\t" sec[i] }
' "$deck")

printf '%s\n' "$sections" | awk -F '\t' -v plans="$plans" \
    -v per="$SLIDE_MINUTES" -v deck="$deck" '
function err(msg) { printf "plan: %s: %s\n", plans, msg; errors++ }
function minutes(t,    p) {
    if (t !~ /^[0-9]+:[0-9][0-9]$/) return -1
    split(t, p, ":")
    return p[1] * 60 + p[2]
}
function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
# Marks the slides of list (e.g. "1–5, 7, 9-12") as used in plan;
# returns how many, or -1 when the list does not parse.
function take(list, plan, row,    n, items, i, a, b, r, c) {
    gsub(/–/, "-", list)
    c = 0
    n = split(list, items, ",")
    for (i = 1; i <= n; i++) {
        r = trim(items[i])
        if (r == "") continue
        if (r ~ /^[0-9]+$/) { a = b = r + 0 }
        else if (r ~ /^[0-9]+-[0-9]+$/) {
            split(r, ab, "-"); a = ab[1] + 0; b = ab[2] + 0
        } else return -1
        for (s = a; s <= b; s++) {
            if (s < 1 || s > count)
                err(plan ", row " row ": slide " s " is not in the deck" \
                    " (" count " slides)")
            else if ((plan, s) in used)
                err(plan ", row " row ": slide " s " is already in row " \
                    used[plan, s])
            else used[plan, s] = row
            c++
        }
    }
    return c
}
function finish(    s, missing) {
    if (plan == "") return
    if (last < 0)
        err(plan ": no \"end\" row")
    else if (last - first != hours * 60)
        err(plan ": runs " last - first " min, not " hours * 60)
    missing = ""
    for (s = 1; s <= count; s++)
        if (!((plan, s) in used)) missing = missing " " s
    if (missing != "")
        err(plan ": slides not in the plan:" missing)
    printf "plan: %s: %d min = %d slides x %d min + %d min of demos," \
        " exercises and breaks; %d slides after class\n", plan,
        last - first, shown, per, other, home
}
# The deck, from standard input.
{ section[$1] = $2; count = $1 }
END {
    for (s = 1; s <= count; s++) {
        if (s == 1 || section[s] != section[s - 1]) order[++nsec] = section[s]
        per_section[section[s]]++
    }
    line = "plan: " deck ": " count " slides:"
    for (i = 1; i <= nsec; i++)
        line = line (i > 1 ? ";" : "") " " order[i] " " per_section[order[i]]
    print line
    plan = ""; stated = 0
    while ((getline l < plans) > 0) {
        if (l ~ /\(`slides\/workshop\.md`,/) {
            t = l; sub(/.*\(`slides\/workshop\.md`, */, "", t)
            sub(/ .*/, "", t)
            stated = 1
            if (t + 0 != count)
                err("says the deck has " t " slides; it has " count)
        }
        if (l ~ /^### .*\([0-9.]+ hours?\)/) {
            finish()
            plan = l; sub(/^### /, "", plan)
            hours = l; sub(/.*\(/, "", hours); sub(/ hours?\).*/, "", hours)
            first = -1; last = -1; prev = -1; row = 0
            shown = 0; other = 0; home = 0
            continue
        }
        if (plan != "" && row > 0 && l !~ /^\|/) {
            finish(); plan = ""   # the table ended
        }
        if (plan == "" || l !~ /^\|/ || l ~ /^\|---/ || l ~ /^\| time /)
            continue
        n = split(l, f, "|")
        t = trim(f[2]); what = trim(f[3]); list = trim(f[4])
        extra = trim(f[5])
        row++
        if (t == "home") {
            c = take(list, plan, row)
            if (c < 0) err(plan ", row " row ": cannot read \"" list "\"")
            else home += c
            continue
        }
        m = minutes(t)
        if (m < 0) { err(plan ", row " row ": time \"" t "\""); continue }
        if (prev >= 0 && m - prev != want)
            err(plan ", row " row - 1 " (" pt "): " want " min planned (" \
                pc " slides x " per " + " pe "), but the next row starts" \
                " after " m - prev " min")
        if (first < 0) first = m
        if (what == "end") { last = m; prev = -1; continue }
        c = take(list, plan, row)
        if (c < 0) { err(plan ", row " row ": cannot read \"" list "\""); c = 0 }
        if (extra !~ /^[0-9]*$/) {
            err(plan ", row " row ": minutes \"" extra "\""); extra = 0 }
        shown += c; other += extra
        want = c * per + extra; prev = m; pt = t; pc = c; pe = extra + 0
    }
    finish()
    if (!stated)
        err("no sentence \"(`slides/workshop.md`, N slides)\"")
    exit errors > 0
}
'
