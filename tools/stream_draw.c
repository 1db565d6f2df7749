/*
 * stream_draw.c - the stream mode's report: what was run, the requests
 * in slices of the run, the summary line; and the SVG picture, a dot
 * per request (when it was sent, how long it took, on a log scale).
 *
 * Layer 3 of the timeline client (drawing): it reads what the
 * measuring layer recorded and changes nothing.
 */
#include "stream_draw.h"
#include "figures.h"
#include "svg.h"

#include <limits.h>
#include <math.h>

#define SLICES 20 /* rows of the terminal picture */

#define SVG_W 450 /* one picture: half of the bench's 900 */
#define SVG_H 300
#define PLOT_X 64 /* the plot area inside it */
#define PLOT_W 370
#define PLOT_TOP 78
#define PLOT_H 170

/* "0.4 ms", "12 ms", or ">5000 ms" for an unanswered request. */
static const char *ms_text(char *buf, size_t size, long long us,
                           long long patience)
{
    if (us == LLONG_MAX)
        snprintf(buf, size, ">%lld ms", patience / 1000);
    else if (us < 10000)
        snprintf(buf, size, "%.1f ms", (double)us / 1000);
    else
        snprintf(buf, size, "%lld ms", (us + 500) / 1000);
    return buf;
}

/* "requests 2000, answered 2000, p50 0.2 ms, p99 1.1 ms, max 4 ms" */
static void summary(char *buf, size_t size, const struct stream *s,
                    const struct figures *f)
{
    char a[24], b[24], c[24];

    int n = snprintf(buf, size,
                     "requests %d, answered %d, p50 %s, p99 %s, max %s",
                     s->count, f->answered,
                     ms_text(a, sizeof a, f->p50, s->patience),
                     ms_text(b, sizeof b, f->p99, s->patience),
                     ms_text(c, sizeof c, f->max, s->patience));
    if (f->failed > 0 && n > 0 && (size_t)n < size)
        snprintf(buf + n, size - (size_t)n, " (%d with status >= 400)",
                 f->failed);
}

/* "GET / every 10 ms for 20 s; 200 trickling" */
static void setting(char *buf, size_t size, const struct stream *s)
{
    int n = snprintf(buf, size, "GET / every %ld ms for %ld s",
                     s->every_ms, s->for_s);

    if (s->trickle > 0 && n > 0 && (size_t)n < size)
        n += snprintf(buf + n, size - (size_t)n, "; %ld trickling%s",
                      s->trickle, s->trickle_body ? " a body" : "");
    if (s->hold > 0 && n > 0 && (size_t)n < size)
        snprintf(buf + n, size - (size_t)n, "; %ld of %ld idle held",
                 s->held_open, s->hold);
}

/* Rows per slice of the stream: sent when, answered how fast. */
static void draw_slices(FILE *out, const struct stream *s,
                        long long *sorted)
{
    int per = (s->count + SLICES - 1) / SLICES;
    char a[24], b[24];

    fprintf(out, "  %-15s %5s %8s %10s %10s\n", "sent at", "sent",
            "answered", "p50", "max");
    for (int from = 0; from < s->count; from += per) {
        int to = from + per < s->count ? from + per : s->count, ok = 0;
        for (int i = from; i < to; i++)
            ok += s->calls[i].outcome == OUTCOME_ANSWERED;
        fprintf(
            out, "  %6lld-%6lld ms %5d %8d %10s %10s\n",
            (long long)from * s->every_ms, (long long)to * s->every_ms,
            to - from, ok,
            ms_text(a, sizeof a,
                    figures_percentile(s->calls, from, to, 0.5, sorted),
                    s->patience),
            ms_text(b, sizeof b,
                    figures_percentile(s->calls, from, to, 1.0, sorted),
                    s->patience));
    }
}

void stream_draw_report(FILE *out, const struct stream *s, bool quiet,
                        long long *sorted)
{
    char line[256];
    struct figures f;

    setting(line, sizeof line, s);
    fprintf(out, "%s: %s to %s:%d\n", s->title ? s->title : "stream",
            line, s->host, s->port);
    if (s->hold > 0)
        fprintf(out,
                "held: %ld of %ld idle connections open after %lld ms;"
                " %ld closed by the server by the end\n",
                s->held_open, s->hold, s->hold_ms, s->held_closed);
    if (s->trickle > 0)
        fprintf(out,
                "tricklers: %ld, one byte%s every %d ms; thrown out and"
                " back %ld times\n",
                s->trickle, s->trickle_body ? " of a body" : "",
                TRICKLE_MS, s->reopened);
    if (!quiet)
        draw_slices(out, s, sorted);
    figures_of(s, &f, sorted);
    summary(line, sizeof line, s, &f);
    fprintf(out, "%s\n", line);
}

/* y of a latency on a log axis from 0.1 ms up to the patience. */
static double y_of(long long us, long long patience)
{
    double lo = 100, hi = (double)patience, v = (double)us;

    v = v < lo ? lo : v > hi ? hi : v;
    return PLOT_TOP + PLOT_H - log10(v / lo) * PLOT_H / log10(hi / lo);
}

static void svg_axes(FILE *out, const struct stream *s)
{
    long long total_ms = (long long)s->count * s->every_ms;
    long long step = total_ms <= 2000    ? 250
                     : total_ms <= 10000 ? 1000
                                         : 5000;

    for (long long us = 100; us <= s->patience; us *= 10) {
        double y = y_of(us, s->patience);
        fprintf(out,
                "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\""
                " stroke=\"#ddd\"/>\n"
                "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\""
                " fill=\"#555\">%g ms</text>\n",
                PLOT_X, y, PLOT_X + PLOT_W, y, PLOT_X - 4, y + 4,
                (double)us / 1000);
    }
    for (long long t = 0; t <= total_ms; t += step)
        fprintf(out,
                "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\""
                " fill=\"#555\">%g s</text>\n",
                PLOT_X + (double)t * PLOT_W / (double)total_ms,
                PLOT_TOP + PLOT_H + 16, (double)t / 1000);
    fprintf(out,
            "<text x=\"%d\" y=\"%d\" text-anchor=\"end\""
            " fill=\"#c0392b\">none</text>\n",
            PLOT_X - 4, PLOT_TOP - 4);
}

/* The title, what was run, and how to read the dots. */
static void svg_heading(FILE *out, const struct stream *s)
{
    char line[256];

    fprintf(out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\""
            " height=\"%d\" viewBox=\"0 0 %d %d\">\n"
            "<g font-family=\"DejaVu Sans Mono, Menlo, Consolas,"
            " monospace\" font-size=\"11\">\n"
            "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n"
            "<text x=\"12\" y=\"20\" font-size=\"14\""
            " font-weight=\"bold\">",
            SVG_W, SVG_H, SVG_W, SVG_H, SVG_W, SVG_H);
    svg_put_text(out, s->title ? s->title : "stream");
    setting(line, sizeof line, s);
    fprintf(out,
            "</text>\n<text x=\"12\" y=\"38\" fill=\"#555\">%s"
            "</text>\n",
            line);
    fprintf(out,
            "<text x=\"12\" y=\"54\" fill=\"#555\">a dot per request:"
            " sent (x), took (y); none: not in %lld s</text>\n",
            s->patience / 1000000);
}

/* A dot per request: when it was sent (x), how long it took (y). */
static void svg_dots(FILE *out, const struct stream *s)
{
    long long total = (long long)s->count * s->every_ms * 1000;

    for (int i = 0; i < s->count; i++) {
        const struct call *c = &s->calls[i];
        double x = PLOT_X + (double)(c->start - s->calls[0].start) *
                                PLOT_W /
                                (double)(total > 0 ? total : 1);
        bool ok = c->outcome == OUTCOME_ANSWERED;
        fprintf(out,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"2\" height=\"2\""
                " fill=\"%s\"/>\n",
                x,
                ok ? y_of(c->end - c->start, s->patience) - 1
                   : (double)PLOT_TOP - 9,
                !ok                ? "#c0392b"
                : c->status >= 400 ? "#dd6b20"
                                   : "#2b6cb0");
    }
}

int stream_draw_svg(FILE *out, const struct stream *s,
                    long long *sorted)
{
    struct figures f;
    char a[24], b[24]; /* the summary, short enough for 450 pixels */

    svg_heading(out, s);
    svg_axes(out, s);
    svg_dots(out, s);
    figures_of(s, &f, sorted);
    fprintf(out,
            "<text x=\"12\" y=\"%d\" font-weight=\"bold\">%d of %d"
            " answered; p50 %s, p99 %s</text>\n</g>\n</svg>\n",
            SVG_H - 14, f.answered, s->count,
            ms_text(a, sizeof a, f.p50, s->patience),
            ms_text(b, sizeof b, f.p99, s->patience));
    return ferror(out) ? -1 : 0;
}
