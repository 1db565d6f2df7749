#!/bin/sh
# snippets.sh - keep the code on the slides identical to the sources.
#
#   sh slides/snippets.sh check [DECK.md ...]   (make slides-check)
#   sh slides/snippets.sh sync  [DECK.md ...]   (make slides-sync)
#
# Marp cannot include files, and the C sources carry no markers (learners
# diff one step against the next, and markers would clutter the diff).
# So each code block on a slide names its region of a source file in an
# HTML comment on the line just above the block:
#
#   <!-- code: step3-thread-pool/pool.c from="^    for \(;;\) \{" to="^    }$" -->
#   ```c
#   ...the lines of the region, byte for byte...
#   ```
#
# - The path is relative to the repository root.
# - from= and to= are POSIX extended regular expressions (awk's dialect:
#   write \( \) \{ \} \* \. \[ for the literal characters). They may not
#   contain a double quote.
# - The region starts at the only line of the file that matches from=
#   (a from= that matches no line, or more than one, is an error: make
#   it more specific) and ends at the first line, from there on, that
#   matches to= (the same line counts). Both lines are included.
# - An optional after="ERE" (before from=) names an anchor line that
#   must match exactly once; the region then starts at the first line
#   past the anchor that matches from=, which may match elsewhere too:
#     <!-- code: step4-shutdown/server.c after="^static void \*signal_main"
#          from="^    if \(sigwait" to="perror" -->   (on one line)
# - The region is compared, and written by sync, without the
#   indentation that all its non-blank lines share: an excerpt from
#   inside a function starts at column 0 on the slide (a checked
#   dedent; the source keeps its indentation).
# - A region holds at most MAX_LINES (12) lines, and a slide shows at
#   most MAX_SLIDE_LINES (12) lines of code, all its blocks together
#   (sh and console blocks included): what a projector shows legibly
#   under a title, with a sentence below.
# - Two regions on one slide need a line "…" (alone on its line)
#   between them: the reader must see that source lines were left out.
# - `<!-- code: illustration -->` marks a block that is on purpose not in
#   the sources (say, the bug the real code avoids). Every ```c block
#   needs one comment or the other.
#
# check: exit 1, naming deck, line, slide and source, when a block
# differs from its (dedented) region, a pattern no longer matches, a
# region or a slide has too many code lines, two regions have no "…"
# between them, or a C block has no marker. Changes nothing.
# sync: rewrites each block from its source (a marker followed by no
# block gets one), and writes the deck only if something changed and
# no error was found. Shell and awk only: it must run wherever make does.
set -eu

MAX_LINES=${MAX_LINES:-12}
MAX_SLIDE_LINES=${MAX_SLIDE_LINES:-12}

usage() {
    echo "usage: sh slides/snippets.sh check|sync [DECK.md ...]" >&2
    exit 2
}
[ $# -ge 1 ] || usage
mode=$1
shift
case $mode in check | sync) ;; *) usage ;; esac

# Paths in markers are relative to the repository root.
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [ $# -eq 0 ]; then
    set -- $(ls slides/*.md | grep -v '/README\.md$')
fi

status=0
for deck in "$@"; do
    [ -f "$deck" ] || { echo "snippets: no such deck: $deck" >&2; exit 2; }
    tmp="$deck.sync.$$"
    rc=0
    awk -v mode="$mode" -v deck="$deck" -v max="$MAX_LINES" \
        -v maxslide="$MAX_SLIDE_LINES" '
function err(line, msg) {
    printf "%s:%d: slide %d: %s\n", deck, line, slide, msg | "cat 1>&2"
    errors++
}
# The value of name="..." in the marker s, or "" when absent.
function attr(s, name,    i, rest) {
    i = index(s, " " name "=\"")
    if (i == 0)
        return ""
    rest = substr(s, i + length(name) + 3)
    i = index(rest, "\"")
    return i == 0 ? "" : substr(rest, 1, i - 1)
}
# Loads the region of file into reg[1..nreg]. Returns "" or a problem.
function load(file, after, from, to,    line, r, n, nafter, anchor, \
              nfrom, state, first) {
    nreg = 0; nfrom = 0; nafter = 0; state = 0; n = 0; anchor = 0
    while ((r = (getline line < file)) > 0) {
        n++
        if (after != "" && line ~ after) {
            nafter++
            if (nafter == 1) anchor = n
            else if (nafter == 2) dup = n
        }
        # With after=, from= is the first match past the anchor line.
        if (after != "" && (anchor == 0 || n == anchor || nfrom > 0)) {
            # not looking for from= here
        } else if (line ~ from) {
            nfrom++
            if (nfrom == 1) { state = 1; first = n }
            else if (nfrom == 2) dup2 = n
        }
        if (state == 1) {
            reg[++nreg] = line
            if (line ~ to) { state = 2; reg_to = n }
        }
    }
    close(file)
    dedent()
    if (r < 0)
        return "cannot read " file
    if (after != "" && nafter == 0)
        return file ": after=\"" after "\" matches no line"
    if (after != "" && nafter > 1)
        return file ": after=\"" after "\" matches lines " anchor " and " \
            dup ": make it match one"
    if (nfrom == 0)
        return file ": from=\"" from "\" matches no line" \
            (after != "" ? " after line " anchor : "")
    if (nfrom > 1)
        return file ": from=\"" from "\" matches lines " first " and " \
            dup2 " (and " nfrom - 2 " more): make it match one, or" \
            " add after=\"...\""
    if (state != 2)
        return file ": to=\"" to "\" matches no line after line " first
    reg_from = first
    if (nreg > max)
        return file ": region is " nreg " lines (" first "-" reg_to \
            "), more than " max ": choose a smaller one"
    return ""
}
# Removes the indentation that every non-blank line of the region has:
# an excerpt from inside a function starts at column 0 on the slide.
function dedent(    i, w, min) {
    min = -1
    for (i = 1; i <= nreg; i++) {
        if (reg[i] ~ /^[ ]*$/)
            continue
        match(reg[i], /^ */)
        if (min < 0 || RLENGTH < min)
            min = RLENGTH
    }
    if (min <= 0)
        return
    for (i = 1; i <= nreg; i++)
        reg[i] = reg[i] ~ /^[ ]*$/ ? "" : substr(reg[i], min + 1)
}
# Called at the end of each slide: the code lines it shows, all blocks.
function end_slide() {
    if (codelines > maxslide)
        err(slide_line, "the slide shows " codelines " lines of code," \
            " more than " maxslide ": split it, or show less")
    codelines = 0; regions = 0; ellipsis = 0; slide_line = NR + 1
}
function lang_of(file) {
    if (file ~ /\.[ch]$/) return "c"
    if (file ~ /Makefile$|\.mk$/) return "makefile"
    return "text"
}
function emit(s) { if (mode == "sync") print s }

BEGIN {
    slide = 1; fence = ""; front = 0; errors = 0; blocks = illus = 0
    codelines = 0; regions = 0; ellipsis = 0; slide_line = 1
}

# Front matter: from a first line "---" to the next "---".
NR == 1 && $0 == "---" { front = 1; emit($0); next }
front == 1 { if ($0 == "---") front = 2; emit($0); next }

# Inside a fenced block that no marker owns: copy, and find its end.
fence != "" {
    if ($0 == fence) fence = ""
    else codelines++
    emit($0)
    next
}

/^<!-- code: / {
    emit($0)
    mline = NR
    spec = substr($0, 12)
    if (spec !~ / -->$/) {
        err(NR, "a code marker must end with \" -->\" on the same line")
        next
    }
    sub(/ -->$/, "", spec)
    if (spec == "illustration") {
        pending = "illustration"
        next
    }
    file = spec; sub(/ .*/, "", file)
    from = attr(spec, "from"); to = attr(spec, "to")
    after = attr(spec, "after")
    if (from == "" || to == "") {
        err(NR, "a code marker needs from=\"...\" and to=\"...\"")
        next
    }
    # Two regions on one slide: a line "…" between them says that
    # source lines were left out.
    if (regions > 0 && !ellipsis)
        err(NR, "a second region on this slide: put a line \"…\"" \
            " between the blocks")
    regions++; ellipsis = 0
    problem = load(file, after, from, to)
    if (problem != "") {
        err(NR, problem)
        pending = "broken"
        next
    }
    pending = "region"
    next
}

# The line after a marker: the block it owns, if any.
pending != "" {
    kind = pending; pending = ""
    if ($0 !~ /^```/) {
        if (kind == "region" && mode == "sync") {
            print "```" lang_of(file)
            for (i = 1; i <= nreg; i++) print reg[i]
            print "```"
            changed++
            blocks++
        } else if (kind != "broken") {
            err(mline, "the marker is not followed by a code block")
        }
        # fall through: this line is ordinary Markdown
    } else {
        open = $0
        n = 0
        while ((r = (getline line)) > 0 && line != "```")
            blk[++n] = line
        if (r <= 0) {
            err(mline, "the code block after the marker never ends")
            exit
        }
        codelines += n
        if (kind == "illustration")
            illus++
        else
            blocks++
        if (kind != "region") {
            emit(open)
            for (i = 1; i <= n; i++) emit(blk[i])
            emit("```")
            next
        }
        diffat = 0
        for (i = 1; !diffat && i <= n && i <= nreg; i++)
            if (blk[i] != reg[i]) diffat = i
        if (!diffat && n != nreg)
            diffat = (n < nreg ? n : nreg) + 1
        same = !diffat
        if (mode == "check" && !same)
            err(mline + diffat + 1, file ": block differs from lines " \
                reg_from "-" reg_to " (first at block line " diffat \
                ", source line " reg_from + diffat - 1 \
                "); run make slides-sync")
        if (mode == "sync") {
            print open
            for (i = 1; i <= nreg; i++) print reg[i]
            print "```"
            if (!same) changed++
        }
        next
    }
}

/^```/ {
    if ($0 ~ /^```[ \t]*(c|C|h)[ \t]*$/)
        err(NR, "a C block without a <!-- code: ... --> marker above it")
    fence = "```"
    emit($0)
    next
}

$0 == "…" { ellipsis = 1 }
$0 == "---" { end_slide(); slide++ }
{ emit($0) }

END {
    end_slide()
    close("cat 1>&2")
    if (errors > 0)
        exit 1
    if (mode == "check")
        printf "slides-check: %s: %d code blocks match their sources" \
            " (and %d marked illustration)\n", deck, blocks, illus
    else
        printf "slides-sync: %s: %d of %d code blocks rewritten\n", \
            deck, changed, blocks | "cat 1>&2"
    close("cat 1>&2")
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
if [ $status -ne 0 ]; then
    echo "snippets: $mode failed; see the lines above" >&2
fi
exit $status
