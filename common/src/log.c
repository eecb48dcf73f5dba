/*
 * log.c - one line per message, one write(2) per line, so threads never interleave.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "kc_log.h"

static _Atomic int log_level = KC_LOG_INFO;

static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

void kc_log_set_level(enum kc_log_level level)
{
    atomic_store_explicit(&log_level, (int)level, memory_order_relaxed);
}

bool kc_log_enabled(enum kc_log_level level)
{
    return (int)level <= atomic_load_explicit(&log_level, memory_order_relaxed);
}

int kc_log_level_parse(const char *s, enum kc_log_level *level)
{
    static const char *const lower[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, lower[i]) == 0) {
            *level = (enum kc_log_level)i;
            return 0;
        }
    }
    return -EINVAL;
}

void kc_log_write(enum kc_log_level level, const char *fmt, ...)
{
    if (!kc_log_enabled(level))
        return;
    char line[1024], thread[16] = "?";
    struct timespec ts;
    struct tm tm;
    (void)clock_gettime(CLOCK_REALTIME, &ts); /* cannot fail with a valid clock id */
    gmtime_r(&ts.tv_sec, &tm);
    (void)pthread_getname_np(pthread_self(), thread, sizeof(thread)); /* "?" if it fails */

    int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s [%s] ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, level_names[level], thread);
    va_list ap;
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(line) - 2)
        n = (int)sizeof(line) - 2; /* truncated: keep the newline */
    line[n++] = '\n';
    /* A failed write to stderr has nowhere to be reported; dropping the line is all we can do. */
    ssize_t rc = write(STDERR_FILENO, line, (size_t)n);
    (void)rc;
}
