/*
 * main.c - the suite's entry point: Criterion's runner, with defaults.
 *
 * When a test fails, crashes or times out, the logs of the servers it
 * started are printed under it. (Each Test() sets its own timeout:
 * TEST_TIMEOUT_S in harness.h.)
 */
#include "expect.h"
#include "harness.h"

#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

ReportHook(POST_TEST)(struct criterion_test_stats *stats)
{
    if (stats->test_status == CR_STATUS_FAILED || stats->timed_out)
        print_logs_of(stats->test->category, stats->test->name);
}

ReportHook(TEST_CRASH)(struct criterion_test_stats *stats)
{
    print_logs_of(stats->test->category, stats->test->name);
}

/* Logs from an earlier run would be printed with this run's. */
static void remove_old_logs(void)
{
    char path[800];
    DIR *d = opendir(log_dir());

    if (d == NULL)
        return;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t n = strlen(e->d_name);
        if (n > 4 && strcmp(e->d_name + n - 4, ".log") == 0) {
            snprintf(path, sizeof path, "%s/%s", log_dir(), e->d_name);
            unlink(path);
        }
    }
    closedir(d);
}

int main(int argc, char **argv)
{
    struct criterion_test_set *tests = criterion_initialize();
    int result = 0;

    if (expect_this_step() == NULL) {
        fprintf(stderr, "suite: no row for step %d in expect.c\n",
                STEP);
        return 2;
    }
    /* A client writing to a connection the server has closed gets
     * EPIPE, which a test can assert on, instead of dying. */
    signal(SIGPIPE, SIG_IGN);
    remove_old_logs();
    if (criterion_handle_args(argc, argv, true))
        result = !criterion_run_all_tests(tests);
    criterion_finalize(tests);
    return result;
}
