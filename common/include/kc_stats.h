/*
 * kc_stats.h - the arithmetic every demo and benchmark needs: medians, percentiles, and
 * human-readable figures.
 *
 * This machine is shared and noisy, so no figure in this project is a single run: a
 * benchmark repeats, and reports the median (and the spread). Latency is reported as
 * percentiles of every sample, not as an average, because the tail is what users feel.
 */
#ifndef KC_STATS_H
#define KC_STATS_H

#include <stddef.h>
#include <stdint.h>

/* Median of v[0..n) (sorts v in place); 0 for n == 0. */
double kc_median(double *v, size_t n);
/* p-th percentile (0..100) of v[0..n), nearest-rank (sorts v in place); 0 for n == 0. */
int64_t kc_percentile_i64(int64_t *v, size_t n, double p);
double kc_min(const double *v, size_t n);
double kc_max(const double *v, size_t n);

/* "12.3 MiB", "512 B"; writes into buf and returns it. */
const char *kc_fmt_bytes(double bytes, char *buf, size_t cap);
/* "1.23 M", "45.6 k", "789"; for rates and counts. */
const char *kc_fmt_si(double v, char *buf, size_t cap);
/* "812 ns", "14.2 us", "3.1 ms", "2.50 s". */
const char *kc_fmt_ns(double ns, char *buf, size_t cap);

#endif
