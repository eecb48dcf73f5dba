/* time.c - the monotonic clock for durations, the wall clock for timestamps. */
#include <errno.h>
#include <time.h>

#include "kc_time.h"

/* clock_gettime cannot fail for these clock ids on Linux; the results are not checked. */
int64_t kc_mono_ns(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t kc_mono_ms(void)
{
    return kc_mono_ns() / 1000000;
}

int64_t kc_wall_ms(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void kc_sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}
