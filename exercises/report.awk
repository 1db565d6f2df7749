# exercises/report.awk - the grader's report: Criterion's JSON joined to
# a hints table.
#
#   awk -f report.awk -v dir=... -v suite=... -v logs=... \
#       -v skips=FILE -v white=REGEX -v next_text="..." \
#       TABLE JSON...
#
# TABLE: the expanded hints table (tab-separated: suite/test,
# expectation, hint, try). JSON: Criterion's --json reports. Prints one
# line per expectation in the table's order, marked ✔, ✘ or – (skipped,
# with the reason); under each failure the lines expected:, got:, hint:
# and try:; then, when all are met, next_text; last "k of m
# expectations met". Tests that Criterion left
# out because of a --filter are not expectations of this run and are
# not printed. Exit status 0 when nothing failed, 1 otherwise.

BEGIN {
    FS = "\t"
    rows = 0
    # skips: suite<TAB>why, for the white-box suites left out
    while (skips != "" && (getline l < skips) > 0) {
        split(l, f, "\t")
        skip_why[f[1]] = f[2]
    }
}

# The table comes first: one row per expectation.
FNR == NR {
    if ($0 ~ /^#/ || $0 ~ /^[ \t]*$/)
        next
    rows++
    test[rows] = $1
    text[rows] = $2
    hint[rows] = $3
    try[rows] = $4
    next
}

# Criterion's JSON, one field per line. Messages may hold unescaped
# quotes, so values are taken between the first and the last quote.
{
    line = $0
}
line ~ /^      "name": "/ {
    group = value(line)
    next
}
line ~ /^          "name": "/ {
    current = group "/" value(line)
    in_messages = ignore = 0
    next
}
# A test run in one report is left out (SKIPPED) in the others.
line ~ /^          "status": "/ {
    ignore = value(line) == "SKIPPED" && (current in status)
    if (!ignore)
        status[current] = value(line)
    next
}
line ~ /^          "messages": \[".*"\],?$/ {
    sub(/^          "messages": \[/, "", line)
    sub(/\],?$/, "", line)
    add_message(current, line)
    next
}
line ~ /^          "messages": \[$/ {
    in_messages = 1
    next
}
in_messages && line ~ /^          \]/ {
    in_messages = 0
    next
}
in_messages {
    sub(/^ +/, "", line)
    sub(/,$/, "", line)
    add_message(current, line)
    next
}

function value(s) {
    sub(/^[^:]*: "/, "", s)
    sub(/",?$/, "", s)
    return s
}

# Criterion lists a test's messages last one first: the first failed
# assertion, the one to explain, is the one stored last.
function add_message(t, m) {
    if (ignore)
        return
    sub(/^"/, "", m)
    sub(/"$/, "", m)
    sub(/^[^ :]+:[0-9]+: /, "", m) # tests/harness.c:352:
    sub(/; its log is below$/, "", m)
    sub(/ \(log below\)/, "", m)
    first_message[t] = m
    message_count[t]++
}

# "X should be Y, but it is Z" -> expected X should be Y; got it is Z.
function split_message(m, row,    seps, n, i, at) {
    n = split(", but |; but |; got |, got |; they took |, has ", seps,
              "|")
    for (i = 1; i <= n; i++) {
        at = index(m, seps[i])
        if (at > 0) {
            want = substr(m, 1, at - 1)
            got = substr(m, at + length(seps[i]))
            sub(/^(it |they |got )/, "", got)
            return
        }
    }
    want = text[row]
    got = m
}

function log_of(t,    name, path, cmd) {
    name = t
    sub(/\//, ".", name)
    path = ""
    cmd = "ls " logs "/" name ".*.log 2>/dev/null"
    while ((cmd | getline path) > 0)
        break
    close(cmd)
    return path
}

function fill(s) {
    gsub(/\{DIR\}/, dir, s)
    gsub(/\{SUITE\}/, suite, s)
    return s
}

END {
    met = failed = skipped = notrun = notmet = 0
    for (i = 1; i <= rows; i++) {
        t = test[i]
        split(t, parts, "/")
        st = (t in status) ? status[t] : "MISSING"
        if (parts[1] in skip_why) {
            printf "– %s\n", text[i]
            if (!said[skip_why[parts[1]]]++)
                printf "    (skipped: %s)\n", skip_why[parts[1]]
            skipped++
            continue
        }
        if (rest_why != "" && t !~ white &&
            (st == "MISSING" || st == "SKIPPED")) {
            printf "– %s\n", text[i]
            if (!rest_count++)
                printf "    (%s)\n", rest_why
            notmet++
            continue
        }
        if (st == "SKIPPED" && first_message[t] == "The test was skipped.") {
            notrun++ # left out by --filter: not asked for in this run
            continue
        }
        if (st == "PASSED") {
            printf "✔ %s\n", text[i]
            met++
            continue
        }
        if (st == "SKIPPED") {
            printf "– %s\n    (skipped: %s)\n", text[i], first_message[t]
            skipped++
            continue
        }
        failed++
        printf "✘ %s\n", text[i]
        if (st == "MISSING") {
            want = text[i]
            got = "the test " t " was not run: it is not in this " \
                  "build of the suite (run make exercises-check)"
        } else if (first_message[t] == "The test timed out.") {
            want = text[i]
            got = "no result within " timeout " s: the test timed out " \
                  "(is something waiting for ever?)"
        } else if (first_message[t] == "The test crashed.") {
            want = text[i]
            got = "the test itself crashed (it links your " \
                  "pool.c/http.c: a crash there?)"
        } else
            split_message(first_message[t], i)
        if (message_count[t] > 1)
            got = got " (and " message_count[t] - 1 " more)"
        # the server refused its options: say that, not the test's hint
        if (usage_hint != "" && (got ~ /usage: exit status 2/ ||
            (got ~ /listening on/ && got ~ /exited with status 2/)))
            hint[i] = usage_hint
        path = log_of(t)
        if (path != "")
            got = got "; server log: " path
        printf "    expected: %s\n", want
        printf "    got: %s\n", got
        printf "    hint: %s\n", hint[i]
        printf "    try: %s\n", fill(try[i])
    }
    total = met + failed + notmet
    line = met " of " total " expectations met"
    if (notmet > 0)
        line = line " (" notmet " not run yet)"
    if (skipped > 0)
        line = line ", " skipped " skipped"
    if (notrun > 0)
        line = line " (" notrun " more not run: FILTER)"
    print ""
    if (failed + notmet == 0 && total > 0 && next_text != "")
        print next_text
    print line
    exit failed + notmet > 0 || total == 0
}
