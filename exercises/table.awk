# exercises/table.awk - a hints table with its "#include FILE" lines
# replaced by FILE (a path beside the table: -v here=DIR).
#
#   awk -v here=DIR -f exercises/table.awk TABLE
#
# A row of the table that names a test of an included file is the
# step's own version of that row: it takes the included row's place
# (so the order of TASK.md stays the included file's), and is not
# printed where it stands. That is how a step says a common
# expectation differently: its hint is wrong for that step.

function test_of(l, f) {
    if (l ~ /^#/ || split(l, f, "\t") < 2)
        return ""
    return f[1]
}

{
    line[++n] = $0
    t = test_of($0)
    if (t != "")
        own[t] = $0
    if ($0 ~ /^#include /) {
        file[n] = here "/" $2
        while ((getline r < file[n]) > 0) {
            t = test_of(r)
            if (t != "")
                included[t] = 1
        }
        close(file[n])
    }
}

END {
    for (i = 1; i <= n; i++) {
        if (i in file) {
            while ((getline r < file[i]) > 0) {
                t = test_of(r)
                print (t != "" && (t in own)) ? own[t] : r
            }
            close(file[i])
            continue
        }
        t = test_of(line[i])
        if (t == "" || !(t in included))
            print line[i]
    }
}
