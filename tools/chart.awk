# chart.awk - a horizontal bar chart as a standalone SVG picture.
#
#   awk -f tools/chart.awk -v title="..." -v subtitle="..." data.tsv
#
# data.tsv is tab-separated: a heading line "label SERIES1 SERIES2 ...",
# then one line per group of bars, "NAME VALUE1 VALUE2 ...". An empty
# value draws no bar; "never" draws the word instead of a bar.

BEGIN {
    FS = "\t"
    WIDTH = 900; LEFT = 210; RIGHT = 100; TOP = 84
    BAR = 16; GAP = 3; GROUP_GAP = 14
    split("#2b6cb0 #dd6b20 #38a169 #805ad5", colour, " ")
}

NR == 1 { nseries = NF - 1; for (i = 2; i <= NF; i++) series[i - 1] = $i; next }

{
    rows++
    name[rows] = $1
    for (i = 2; i <= NF; i++) {
        value[rows, i - 1] = $i
        if ($i != "" && $i != "never" && $i + 0 > max) max = $i + 0
    }
}

function escape(s) {
    gsub(/&/, "\\&amp;", s); gsub(/</, "\\&lt;", s); gsub(/>/, "\\&gt;", s)
    return s
}

# A round step for grid lines: 1, 2 or 5 times a power of ten, so that
# there are at most eight of them.
function tick(max,    unit, i, steps) {
    split("1 2 5", steps, " ")
    for (unit = 1; unit < 1e12; unit *= 10)
        for (i = 1; i <= 3; i++)
            if (max / (steps[i] * unit) <= 8) return steps[i] * unit
    return unit
}

# 0.4, 12, 8004: a decimal only where it means something.
function number(v) {
    return v < 10 ? sprintf("%.1f", v) : sprintf("%d", v + 0.5)
}

function x_of(v) {
    return LEFT + v * (WIDTH - LEFT - RIGHT) / axis
}

function legend(    i, x) {
    x = LEFT
    for (i = 1; i <= nseries; i++) {
        printf "<rect x=\"%d\" y=\"54\" width=\"12\" height=\"12\"" \
            " fill=\"%s\"/>\n", x, colour[i]
        printf "<text x=\"%d\" y=\"64\">%s</text>\n", x + 16, \
            escape(series[i])
        x += 30 + 8 * length(series[i])
    }
}

function grid(bottom,    t, step) {
    step = tick(max)
    for (t = 0; t <= axis; t += step) {
        printf "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"" \
            " stroke=\"#ddd\"/>\n", x_of(t), TOP - 6, x_of(t), bottom
        printf "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\"" \
            " fill=\"#555\">%d</text>\n", x_of(t), bottom + 14, t
    }
}

function bars(r, y,    i, v, yy) {
    printf "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", \
        LEFT - 10, y + nseries * (BAR + GAP) / 2 + 4, escape(name[r])
    for (i = 1; i <= nseries; i++) {
        v = value[r, i]
        yy = y + (i - 1) * (BAR + GAP)
        if (v == "never") {
            printf "<text x=\"%d\" y=\"%d\" fill=\"#c0392b\">never" \
                " answered</text>\n", LEFT + 4, yy + 12
        } else if (v != "") {
            printf "<rect x=\"%d\" y=\"%d\" width=\"%.1f\"" \
                " height=\"%d\" fill=\"%s\"/>\n", LEFT, yy, \
                x_of(v) - LEFT < 1 ? 1 : x_of(v) - LEFT, BAR, colour[i]
            printf "<text x=\"%.1f\" y=\"%d\">%s</text>\n", \
                x_of(v) + 5, yy + 12, number(v)
        }
    }
}

END {
    step = tick(max > 0 ? max : 1)
    axis = step * int((max + step - 1) / step)
    if (axis <= 0) axis = 1
    group = nseries * (BAR + GAP) + GROUP_GAP
    height = TOP + rows * group + 30
    printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\"" \
        " height=\"%d\" viewBox=\"0 0 %d %d\">\n", WIDTH, height, \
        WIDTH, height
    print "<g font-family=\"DejaVu Sans Mono, Menlo, Consolas," \
        " monospace\" font-size=\"12\">"
    printf "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n", \
        WIDTH, height
    printf "<text x=\"16\" y=\"22\" font-size=\"15\"" \
        " font-weight=\"bold\">%s</text>\n", escape(title)
    printf "<text x=\"16\" y=\"40\" fill=\"#555\">%s</text>\n", \
        escape(subtitle)
    legend()
    grid(TOP + rows * group - GROUP_GAP / 2)
    for (r = 1; r <= rows; r++) bars(r, TOP + (r - 1) * group)
    print "</g>"
    print "</svg>"
}
