/*
 * draw.c - draw a run: bars in the terminal, or an SVG picture.
 *
 * One row per connection, in the order they were opened. A bar starts
 * when the request was sent and ends when its response was complete,
 * on a time axis that spans the whole run, so bars that line up ran at
 * the same time and bars that follow each other waited in turn. A
 * request that got no answer is drawn to the moment the client gave
 * up, in a different style, and said so in words.
 *
 * Layer 3 of the timeline client (drawing): it reads what fire.c
 * recorded and changes nothing.
 */
#include "draw.h"
#include "summary.h"
#include "svg.h"

#include <string.h>

#define BAR_COLUMNS 40  /* terminal: characters for the time axis */
#define PATH_COLUMNS 14 /* terminal: characters for the path */

#define SVG_WIDTH 900
#define SVG_TOP 74        /* below the title and column headings */
#define SVG_ROW 22        /* height of one row */
#define SVG_PLOT_X 320    /* where the time axis starts */
#define SVG_PLOT_W 520    /* and its length in pixels */
#define SVG_CHAR_W 7.3    /* width of a character at font-size 12 */
#define SVG_PATH_CHARS 22 /* longer paths are cut */

/* Characters for bars: Unicode blocks, or ASCII. */
struct glyphs {
    const char *full;      /* a whole column of an answered bar */
    const char *eighth[8]; /* a column filled 0/8 .. 7/8 from the left;
                              NULL: whole columns only */
    const char *shade;     /* a column of an unanswered bar */
};

static const struct glyphs unicode = {
    .full = "\u2588",
    .eighth = {"", "\u258f", "\u258e", "\u258d", "\u258c", "\u258b",
               "\u258a", "\u2589"},
    .shade = "\u2591",
};
static const struct glyphs ascii = {.full = "#", .shade = "."};

/* The length of the time axis: the whole run, or --scale if longer. */
static long long axis_span(const struct run *run)
{
    long long span = run->scale > 0 ? run->scale : 1;

    for (int i = 0; i < run->count; i++)
        if (run->req[i].finished > span)
            span = run->req[i].finished;
    return span;
}

/* A bar starts when the request was sent; one that was never sent
 * (an idle connection) starts when it connected. */
static long long bar_start(const struct request *r)
{
    if (r->sent != NEVER)
        return r->sent;
    return r->connected != NEVER ? r->connected : 0;
}

static bool answered(const struct request *r)
{
    return r->outcome == OUTCOME_ANSWERED;
}

static bool idle(const struct request *r)
{
    return r->path == NULL;
}

/* What the status column says; legend() explains the words. */
static const char *status_text(const struct request *r, char *buf,
                               size_t size)
{
    switch (r->outcome) {
    case OUTCOME_ANSWERED:
        snprintf(buf, size, "%d", r->status);
        return buf;
    case OUTCOME_NO_CONNECTION:
        return "-";
    case OUTCOME_CUT_OFF:
        return "cut";
    case OUTCOME_IDLE_CLOSED:
    case OUTCOME_IDLE_DROPPED:
        return "idle";
    default:
        return "none";
    }
}

/* Words after the bar in the picture, for anything but an answer. */
static const char *note(const struct request *r)
{
    switch (r->outcome) {
    case OUTCOME_NO_CONNECTION:
        return "could not connect";
    case OUTCOME_CUT_OFF:
        return "closed without an answer";
    case OUTCOME_NO_ANSWER:
        return "no answer before the deadline";
    case OUTCOME_IDLE_CLOSED:
        return "sent nothing: closed by the server";
    case OUTCOME_IDLE_DROPPED:
        return "sent nothing: still open, the client closed it";
    default:
        return "";
    }
}

/* 0.4 ms, 12.3 ms, 2003 ms: one decimal while it means something. */
static const char *format_ms(char *buf, size_t size, long long us)
{
    if (us < 10000)
        snprintf(buf, size, "%.1f ms", (double)us / 1000);
    else
        snprintf(buf, size, "%lld ms", (us + 500) / 1000);
    return buf;
}

/* The total column: the answer's time, or how long the connection
 * was open; ">" when the request would have taken longer. */
static const char *total_text(const struct request *r, char *buf,
                              size_t size)
{
    char ms[24];

    if (r->outcome == OUTCOME_NO_CONNECTION)
        return "-";
    format_ms(ms, sizeof ms, r->finished - bar_start(r));
    snprintf(buf, size, "%s%s", answered(r) || idle(r) ? "" : ">", ms);
    return buf;
}

/* ---- Terminal ---- */

/* One bar from `from` to `to`, in eighths of a column when the
 * glyphs allow, and never less than one mark so that it shows. */
static void print_bar(FILE *out, long long from, long long to,
                      long long span, const struct glyphs *g,
                      bool solid)
{
    /* Positions in eighths of a column; bars start on a whole one. */
    long long first = from * BAR_COLUMNS / span;
    long long end = to * BAR_COLUMNS * 8 / span;
    long long len = end - first * 8 < 1 ? 1 : end - first * 8;

    for (long long col = 0; col < first; col++)
        fputc(' ', out);
    if (!solid || g->eighth[0] == NULL) {
        long long cells = (len + 4) / 8 < 1 ? 1 : (len + 4) / 8;
        for (long long col = 0; col < cells; col++)
            fputs(solid ? g->full : g->shade, out);
        return;
    }
    for (long long col = 0; col < len / 8; col++)
        fputs(g->full, out);
    fputs(g->eighth[len % 8], out);
}

static void print_row(FILE *out, const struct request *r,
                      long long span, const struct glyphs *g)
{
    char status[16], total[32];

    fprintf(out, "  %-*.*s %6s %8s  ", PATH_COLUMNS, PATH_COLUMNS,
            idle(r) ? "(idle)" : r->path,
            status_text(r, status, sizeof status),
            total_text(r, total, sizeof total));
    if (r->outcome != OUTCOME_NO_CONNECTION)
        print_bar(out, bar_start(r), r->finished, span, g, answered(r));
    fputc('\n', out);
}

/* Under the rows, the meaning of the words in the status column that
 * appear in them. */
static void print_legend(FILE *out, const struct run *run,
                         const struct glyphs *g)
{
    static const char *const meaning[] = {
        [OUTCOME_NO_CONNECTION] = "- could not connect",
        [OUTCOME_CUT_OFF] = "cut: closed without an answer",
        [OUTCOME_NO_ANSWER] = "none: no answer before the deadline",
        [OUTCOME_IDLE_CLOSED] = "idle: a connection that sent nothing",
        [OUTCOME_IDLE_DROPPED] = "idle: a connection that sent nothing",
    };
    bool seen[OUTCOME_IDLE_DROPPED + 1] = {false}, any = false;

    for (int i = 0; i < run->count; i++)
        seen[run->req[i].outcome] = true;
    seen[OUTCOME_IDLE_CLOSED] |= seen[OUTCOME_IDLE_DROPPED];
    seen[OUTCOME_IDLE_DROPPED] = false; /* same words: say them once */
    for (int k = OUTCOME_NO_CONNECTION; k <= OUTCOME_IDLE_DROPPED;
         k++) {
        if (!seen[k])
            continue;
        if (!any)
            fprintf(out, "  %s no answer", g->shade);
        fprintf(out, "; %s", meaning[k]);
        any = true;
    }
    if (any)
        fputc('\n', out);
}

void draw_terminal(FILE *out, const struct run *run, bool utf8)
{
    const struct glyphs *g = utf8 ? &unicode : &ascii;
    long long span = axis_span(run);
    char right[32];

    fprintf(out, "%s: %d connections to %s:%d, all opened first\n",
            run->title ? run->title : run->name, run->count, run->host,
            run->port);
    fprintf(out, "  %-*s %6s %8s  0%*s\n", PATH_COLUMNS, "path",
            "status", "total", BAR_COLUMNS - 1,
            format_ms(right, sizeof right, span));
    for (int i = 0; i < run->count; i++)
        print_row(out, &run->req[i], span, g);
    print_legend(out, run, g);
}

/* "2003 ms", or for a request never answered ">10000 ms": longer
 * than the client waited. */
static const char *figure(char *buf, size_t size, long long us,
                          const struct run *run)
{
    char ms[24]; /* a shorter buffer, so that ">" fits before it */

    if (us != NEVER)
        return format_ms(buf, size, us);
    snprintf(buf, size, ">%s", format_ms(ms, sizeof ms, run->deadline));
    return buf;
}

/* The summary line, also used by scripts: "makespan 2003 ms, ...". */
static void summary_line(char *buf, size_t size, const struct run *run)
{
    struct summary s;
    char a[32], b[32], c[32];

    summarize(run, &s);
    int n = snprintf(buf, size,
                     "makespan %s, median %s, max %s; %d of %d"
                     " answered",
                     figure(a, sizeof a, s.makespan, run),
                     figure(b, sizeof b, s.median, run),
                     figure(c, sizeof c, s.max, run), s.answered,
                     s.requests);
    if (s.failed > 0 && n > 0 && (size_t)n < size)
        snprintf(buf + n, size - (size_t)n,
                 ", %d with status 400 or above", s.failed);
}

/* "idle connection: closed by the server after 2001 ms", or "". */
static void idle_line(char *buf, size_t size, const struct run *run)
{
    struct summary s;
    char who[32], ms[32];

    summarize(run, &s);
    buf[0] = '\0';
    if (s.idle == 0)
        return;
    if (s.idle == 1)
        snprintf(who, sizeof who, "idle connection");
    else
        snprintf(who, sizeof who, "%d idle connections", s.idle);
    format_ms(ms, sizeof ms, s.idle_longest);
    if (s.idle_closed == s.idle)
        snprintf(buf, size, "%s: closed by the server after %s", who,
                 ms);
    else if (s.idle_closed == 0)
        snprintf(buf, size,
                 "%s: still open after %s, closed by the client", who,
                 ms);
    else
        snprintf(buf, size,
                 "%s: %d closed by the server, %d by the client;"
                 " open up to %s",
                 who, s.idle_closed, s.idle - s.idle_closed, ms);
}

void draw_summary(FILE *out, const struct run *run)
{
    char line[256];

    summary_line(line, sizeof line, run);
    fprintf(out, "%s\n", line);
    idle_line(line, sizeof line, run);
    if (line[0] != '\0')
        fprintf(out, "%s\n", line);
}

/* ---- SVG ---- */

static void svg_text(FILE *out, double x, double y, const char *attrs,
                     const char *text)
{
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\"%s%s>", x, y,
            *attrs ? " " : "", attrs);
    svg_put_text(out, text);
    fputs("</text>\n", out);
}

static double x_of(long long t, long long span)
{
    return SVG_PLOT_X + (double)t * SVG_PLOT_W / (double)span;
}

/* Grid lines every 1, 2 or 5 units: at most eight of them. */
static long long tick_step(long long span)
{
    static const long long steps[] = {1, 2, 5};
    long long unit = 1000; /* 1 ms */

    for (int decade = 0; decade < 7; decade++, unit *= 10)
        for (int i = 0; i < 3; i++)
            if (span / (steps[i] * unit) <= 8)
                return steps[i] * unit;
    return unit;
}

static void svg_axis(FILE *out, long long span, int rows)
{
    long long step = tick_step(span);
    double bottom = SVG_TOP + rows * SVG_ROW + 4;
    char label[32];

    for (long long t = 0; t <= span; t += step) {
        double x = x_of(t, span);
        if (span >= 2000000)
            snprintf(label, sizeof label, "%g s", (double)t / 1e6);
        else
            snprintf(label, sizeof label, "%lld ms", t / 1000);
        fprintf(out,
                "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\""
                " stroke=\"#ddd\"/>\n",
                x, SVG_TOP - 4, x, bottom);
        svg_text(out, x, bottom + 14, "text-anchor=\"middle\"", label);
    }
}

/* The bar's style: answered, answered with an error, or not. */
static const char *bar_style(const struct request *r)
{
    if (idle(r))
        return "fill=\"#e8e8e8\" stroke=\"#888\""
               " stroke-dasharray=\"4 3\"";
    if (!answered(r))
        return "fill=\"#fbe3e1\" stroke=\"#c0392b\""
               " stroke-dasharray=\"4 3\"";
    return r->status >= 400 ? "fill=\"#dd6b20\"" : "fill=\"#2b6cb0\"";
}

/* The note goes after the bar, or inside its end when it would run
 * off the picture. */
static void svg_note(FILE *out, const struct request *r, double end,
                     double y)
{
    const char *text = note(r);
    double width = (double)strlen(text) * SVG_CHAR_W;

    if (*text == '\0')
        return;
    if (end + 6 + width < SVG_WIDTH - 8)
        svg_text(out, end + 6, y, "fill=\"#444\"", text);
    else
        svg_text(out, end - 6, y, "text-anchor=\"end\" fill=\"#222\"",
                 text);
}

/* The path, cut with "..." where it would run into the status. */
static const char *row_label(const struct request *r, char *buf,
                             size_t size)
{
    if (idle(r))
        return "(idle)";
    if (strlen(r->path) <= SVG_PATH_CHARS)
        return r->path;
    snprintf(buf, size, "%.*s...", SVG_PATH_CHARS - 3, r->path);
    return buf;
}

/* The bar of one row at height y: a dotted line while the connection
 * was open but its request not yet sent, the bar itself, and for an
 * answer that took a while to arrive, its receiving part darker.
 * Returns where the bar ends. */
static double svg_bar(FILE *out, const struct request *r, double y,
                      long long span)
{
    double x0 = x_of(bar_start(r), span), x1 = x_of(r->finished, span);

    if (r->connected != NEVER && x0 - x_of(r->connected, span) >= 1)
        fprintf(out,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\""
                " stroke=\"#999\" stroke-dasharray=\"1 2\"/>\n",
                x_of(r->connected, span), y + 11, x0, y + 11);
    if (x1 - x0 < 2)
        x1 = x0 + 2; /* so that a fast answer still shows */
    fprintf(out,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"14\""
            " rx=\"2\" %s/>\n",
            x0, y + 4, x1 - x0, bar_style(r));
    double first = x_of(r->first_byte, span);
    if (answered(r) && r->first_byte != NEVER && x1 - first >= 1)
        fprintf(out,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\""
                " height=\"14\" fill=\"#1a365d\"/>\n",
                first, y + 4, x1 - first);
    return x1;
}

static void svg_row(FILE *out, const struct request *r, int i,
                    long long span)
{
    double y = SVG_TOP + i * SVG_ROW;
    char status[16], total[32], label[SVG_PATH_CHARS + 4];

    svg_text(out, 16, y + 15, "", row_label(r, label, sizeof label));
    svg_text(out, 218, y + 15, "text-anchor=\"end\"",
             status_text(r, status, sizeof status));
    svg_text(out, 300, y + 15, "text-anchor=\"end\"",
             total_text(r, total, sizeof total));
    if (r->outcome == OUTCOME_NO_CONNECTION)
        svg_note(out, r, SVG_PLOT_X, y + 15);
    else
        svg_note(out, r, svg_bar(out, r, y, span), y + 15);
}

/* Does any bar have a receiving part wide enough to see? */
static bool shows_receiving(const struct run *run, long long span)
{
    for (int i = 0; i < run->count; i++) {
        const struct request *r = &run->req[i];
        if (answered(r) && r->first_byte != NEVER &&
            x_of(r->finished, span) - x_of(r->first_byte, span) >= 1)
            return true;
    }
    return false;
}

static void svg_heading(FILE *out, const struct run *run,
                        long long span)
{
    char line[200];

    svg_text(out, 16, 24, "font-size=\"16\" font-weight=\"bold\"",
             run->title ? run->title : run->name);
    snprintf(line, sizeof line,
             "%d connections, all opened before the first request was"
             " sent%s",
             run->count,
             shows_receiving(run, span)
                 ? "; darker: the answer arriving"
                 : "");
    svg_text(out, 16, 44, "fill=\"#555\"", line);
    svg_text(out, 16, SVG_TOP - 8, "fill=\"#555\"", "path");
    svg_text(out, 218, SVG_TOP - 8, "text-anchor=\"end\" fill=\"#555\"",
             "status");
    svg_text(out, 300, SVG_TOP - 8, "text-anchor=\"end\" fill=\"#555\"",
             "total");
}

/* The picture starts with <svg ...> on its first line and ends with
 * </svg> on its last, and everything between sits in one <g>, so that
 * scripts can stack several pictures in one. */
int draw_svg(FILE *out, const struct run *run)
{
    long long span = axis_span(run);
    char summary[256], idle_words[256];

    summary_line(summary, sizeof summary, run);
    idle_line(idle_words, sizeof idle_words, run);
    int bottom = SVG_TOP + run->count * SVG_ROW + 48;
    int height = bottom + (idle_words[0] != '\0' ? 36 : 18);
    fprintf(out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\""
            " height=\"%d\" viewBox=\"0 0 %d %d\">\n"
            "<g font-family=\"DejaVu Sans Mono, Menlo, Consolas,"
            " monospace\" font-size=\"12\">\n"
            "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n",
            SVG_WIDTH, height, SVG_WIDTH, height, SVG_WIDTH, height);
    svg_heading(out, run, span);
    svg_axis(out, span, run->count);
    for (int i = 0; i < run->count; i++)
        svg_row(out, &run->req[i], i, span);
    svg_text(out, 16, bottom, "font-weight=\"bold\"", summary);
    if (idle_words[0] != '\0')
        svg_text(out, 16, bottom + 18, "", idle_words);
    fputs("</g>\n</svg>\n", out);
    return ferror(out) ? -1 : 0;
}
