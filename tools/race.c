/*
 * race.c - two threads add to one counter: with a mutex, and without.
 *
 * The demo before step 3's mutex (make race). `counter++` is a load, an
 * add and a store: two threads that interleave them lose updates, and
 * the total comes out short. It is also a data race, which C11 leaves
 * undefined and ThreadSanitizer reports. With -l each increment holds
 * a mutex, and the total is exact. The counter is volatile only so that
 * the compiler keeps one load and one store per increment, as a real
 * shared variable would get; volatile makes nothing atomic.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define ADDS 1000000L /* increments per thread */

static volatile long counter; /* guarded by lock, when use_lock */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static bool use_lock;

static void *adder(void *arg)
{
    (void)arg;
    for (long i = 0; i < ADDS; i++) {
        if (use_lock)
            pthread_mutex_lock(&lock);
        counter++;
        if (use_lock)
            pthread_mutex_unlock(&lock);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_t t[2];

    use_lock = argc > 1 && strcmp(argv[1], "-l") == 0;
    for (int i = 0; i < 2; i++) {
        int err = pthread_create(&t[i], NULL, adder, NULL);
        if (err != 0) {
            fprintf(stderr, "race: pthread_create: %s\n",
                    strerror(err));
            return 1;
        }
    }
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    long want = 2 * ADDS;
    printf("%s: 2 threads x %ld adds: counter = %ld, %ld lost\n",
           use_lock ? "with the mutex" : "without a mutex", ADDS,
           counter, want - counter);
    return 0;
}
