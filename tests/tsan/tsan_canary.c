/*
 * tsan_canary.c - two threads that write one counter without a lock: a
 * data race ThreadSanitizer must report. Built only with A0SNAP_TSAN; its
 * CTest entry passes only when the race is reported, so the 'threads' run
 * of `make check` fails if the sanitizer stops reporting races (a run that
 * cannot fail would prove nothing).
 */
#include <pthread.h>
#include <stdio.h>

static long counter;

static void *bump(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100000; i++)
        counter++;
    return NULL;
}

int main(void)
{
    pthread_t a, b;

    if (pthread_create(&a, NULL, bump, NULL) != 0 || pthread_create(&b, NULL, bump, NULL) != 0)
        return 2;
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("counter %ld\n", counter);
    return 0;
}
