/*
 * kc_time.h - clocks.
 *
 * Durations and timeouts use the monotonic clock (it never jumps when NTP or a user sets
 * the time); record timestamps and retention use the wall clock, as Kafka does (ms since
 * the Unix epoch).
 */
#ifndef KC_TIME_H
#define KC_TIME_H

#include <stdint.h>

int64_t kc_mono_ns(void);
int64_t kc_mono_ms(void);
int64_t kc_wall_ms(void);
/* Sleep for ms milliseconds, resuming after signals. */
void kc_sleep_ms(int64_t ms);

#endif
