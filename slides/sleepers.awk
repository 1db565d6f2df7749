# sleepers.awk - the "eight one-second sleeps" picture of the deck,
# drawn from bench/raw.tsv (the span lines that make bench writes).
#
#   awk -f slides/sleepers.awk bench/raw.tsv > slides/img/sleepers.svg
#
# One bar per step: the makespan of the sleepers scenario (eight
# /sleep?ms=1000 at once), from the first request sent to the last
# answer. make slides-sync writes the picture; make slides-check draws
# it again and fails when the file differs, so the figures on the slide
# are always the ones in the report.
BEGIN {
    FS = "\t"
    font = "DejaVu Sans, Liberation Sans, Arial, sans-serif"
    mono = "DejaVu Sans Mono, Liberation Mono, Menlo, monospace"
    what["step1-single-thread"] = "one at a time"
    what["step2-thread-per-conn"] = "a thread each"
    what["step3-thread-pool"] = "a pool, -t 4"
    what["step4-shutdown"] = "the pool that stops, -t 4"
    what["step5-event-loop"] = "loop + pool, -t 4"
}
$1 == "span" && $3 == "sleepers" { name[++n] = $2; span[n] = $4 }
function text(x, y, s, size, anchor, f, bold) {
    printf "<text x=\"%d\" y=\"%d\" font-family=\"%s\" font-size=\"%d\"" \
        " fill=\"#1f2630\" text-anchor=\"%s\"%s>%s</text>\n", x, y, f,
        size, anchor, bold ? " font-weight=\"bold\"" : "", s
}
END {
    if (n == 0) {
        print "sleepers.awk: no span ... sleepers lines" > "/dev/stderr"
        exit 1
    }
    left = 330; right = 1060; top = 30; bar = 56; gap = 20
    max = 8000
    for (i = 1; i <= n; i++) if (span[i] > max) max = span[i]
    max = int((max + 1999) / 2000) * 2000
    h = top + n * (bar + gap) + 60
    printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1100\"" \
        " height=\"%d\" viewBox=\"0 0 1100 %d\" role=\"img\"" \
        " aria-label=\"Makespan of eight one-second sleeps on each" \
        " step\">\n", h, h
    print "<title>Makespan of eight one-second sleeps on each step" \
        "</title>"
    printf "<rect x=\"0\" y=\"0\" width=\"1100\" height=\"%d\"" \
        " fill=\"#ffffff\"/>\n", h
    for (t = 0; t <= max; t += 2000) {
        x = left + (right - left) * t / max
        printf "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"" \
            " stroke=\"#c9c6bb\" stroke-width=\"3\"/>\n", x, top - 10, x,
            h - 48
        text(x, h - 20, t / 1000 " s", 19, "middle", font, 0)
    }
    for (i = 1; i <= n; i++) {
        y = top + (i - 1) * (bar + gap)
        w = (right - left) * span[i] / max
        label = name[i]
        sub(/-.*/, "", label)
        sub(/step/, "step ", label)
        text(16, y + 26, label, 21, "start", font, 1)
        text(16, y + 50, (name[i] in what) ? what[name[i]] : name[i],
            18, "start", font, 0)
        printf "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"" \
            " rx=\"4\" fill=\"#dbe8f5\" stroke=\"#1d5185\"" \
            " stroke-width=\"3\"/>\n", left, y + 4, w, bar - 8
        text(left + w + 12, y + 36, span[i] " ms", 20, "start", mono, 1)
    }
    print "</svg>"
}
