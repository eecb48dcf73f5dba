/*
 * kc_log.h - leveled logging to stderr.
 *
 *   2026-11-21T14:03:12.123Z INFO  [brk-net-0] listening on 127.0.0.1:9092
 *
 * Each line is formatted in a local buffer and written with one write(2), so lines from
 * different threads never interleave. The level is the one piece of process-wide mutable
 * state outside a signal handler: set it once at start-up (it is an atomic, so a later
 * change is safe, just not ordered with other threads' messages).
 */
#ifndef KC_LOG_H
#define KC_LOG_H

#include <stdbool.h>

enum kc_log_level {
    KC_LOG_ERROR = 0,
    KC_LOG_WARN = 1,
    KC_LOG_INFO = 2,
    KC_LOG_DEBUG = 3,
};

void kc_log_set_level(enum kc_log_level level);
bool kc_log_enabled(enum kc_log_level level);
/* "error", "warn", "info", "debug" -> 0 and *level; -EINVAL otherwise. */
int kc_log_level_parse(const char *s, enum kc_log_level *level);
void kc_log_write(enum kc_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define kc_log_error(...) kc_log_write(KC_LOG_ERROR, __VA_ARGS__)
#define kc_log_warn(...)  kc_log_write(KC_LOG_WARN, __VA_ARGS__)
#define kc_log_info(...)  kc_log_write(KC_LOG_INFO, __VA_ARGS__)
#define kc_log_debug(...)                                                                     \
    do {                                                                                      \
        if (kc_log_enabled(KC_LOG_DEBUG))                                                     \
            kc_log_write(KC_LOG_DEBUG, __VA_ARGS__);                                          \
    } while (0)

#endif
