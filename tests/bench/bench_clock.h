/*
 * bench_clock.h - wall and CPU time of this process, for the bench tools'
 * phase lines (header-only: each bench tool is its own program).
 */
#ifndef A0SNAP_BENCH_CLOCK_H
#define A0SNAP_BENCH_CLOCK_H

#include <sys/resource.h>
#include <time.h>

struct clock_mark {
    double wall, cpu;
};

static inline struct clock_mark mark(void)
{
    struct timespec ts;
    struct rusage ru;
    struct clock_mark m;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    getrusage(RUSAGE_SELF, &ru);
    m.wall = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    m.cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
            (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    return m;
}

#endif
