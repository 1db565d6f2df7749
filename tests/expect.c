/*
 * expect.c - the table: one row per step, read by every test.
 *
 * Adding a step means adding a row here; a test that needs a new kind
 * of expectation gets a new column, never an "if (step == 4)".
 */
#include "expect.h"

#include <stddef.h>

#ifndef STEP
#error "build with -DSTEP=N (tests/tests.mk does)"
#endif

static const struct expect table[] = {
    {
        .step = 1,
        .dir = "step1-single-thread",
        .model = MODEL_SERIAL,
    },
    {
        .step = 2,
        .dir = "step2-thread-per-conn",
        .model = MODEL_THREAD_PER,
    },
    {
        .step = 3,
        .dir = "step3-thread-pool",
        .model = MODEL_POOL,
        .threads_option = true,
        .threads_besides_workers = 1,
    },
    {
        .step = 4,
        .dir = "step4-shutdown",
        .model = MODEL_POOL,
        .threads_option = true,
        .deadline_option = true,
        .graceful_stop = true,
        .grace_option = true,
        .frees_everything = true,
        .threads_besides_workers = 2,
    },
    {
        .step = 5,
        .dir = "step5-event-loop",
        .model = MODEL_POOL,
        .threads_option = true,
        .deadline_option = true,
        .graceful_stop = true,
        .frees_everything = true,
        .threads_besides_workers = 2,
        .waiting_in_loop = true,
        .bodies_in_loop = true,
        .grace_option = true,
    },
};

const struct expect *expect_this_step(void)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].step == STEP)
            return &table[i];
    return NULL;
}
