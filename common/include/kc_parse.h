/*
 * kc_parse.h - strict parsing of numbers, sizes and durations from command lines and
 * config files. Strict means the whole string must be consumed: "12x", "", " 5" and
 * out-of-range values are errors, never silently 0 or clamped.
 */
#ifndef KC_PARSE_H
#define KC_PARSE_H

#include <stdbool.h>
#include <stdint.h>

/* Decimal integer in [min, max]: 0, -EINVAL (not a number) or -ERANGE. */
int kc_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
/* Byte size with an optional unit: 4096, 64k, 64KiB, 1m, 1MiB, 2g (powers of 1024). */
int kc_parse_size(const char *s, uint64_t max, uint64_t *out);
/* true/false, yes/no, on/off, 1/0. */
int kc_parse_bool(const char *s, bool *out);

#endif
