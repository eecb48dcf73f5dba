/*
 * cli_http.h - the CLI's tiny HTTP/1.1 client (for `kafka_cli top`) and the pure half of
 * `top`: a view computed from two scrapes of /metrics, and its two renderings.
 *
 * The client does one GET per connection ("Connection: close"), blocking but bounded: one
 * deadline covers connecting, sending and reading the whole answer. Bodies are read by
 * Content-Length (or to EOF when there is none) up to a size limit. Nothing is global.
 */
#ifndef CLI_HTTP_H
#define CLI_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hp_expo.h"

#define CLI_HTTP_MAX_BODY  (64u << 20) /* a /metrics answer larger than this is refused */
#define CLI_METRICS_PORT   "9644"      /* the broker's metrics.port default */

struct cli_http_resp {
    int status;
    uint8_t *buf;         /* the whole answer (head + body), malloc'ed */
    const uint8_t *body;  /* inside buf */
    size_t body_len;
};

/*
 * GET path from addr ("host:port", "[v6]:port"; no port: 9644) within timeout_ms, with
 * "Authorization: Basic" for user/password when user is not NULL (metrics.basic.auth).
 * Returns 0 with *resp filled (free with cli__http_resp_free) whatever the status;
 * -errno for the network (-ECONNREFUSED, -ETIMEDOUT, -ECONNRESET), -EINVAL for a bad
 * address or credentials too long, KC_EMALFORMED for an answer that is not HTTP,
 * KC_ETOOLARGE past max_body. The request's copy of the credentials is wiped.
 */
int cli__http_get(const char *addr, const char *path, int timeout_ms, size_t max_body,
                  const char *user, const char *password, struct cli_http_resp *resp);
void cli__http_resp_free(struct cli_http_resp *resp);

/* ---- top: the view -------------------------------------------------------------------- */

struct top_opts {
    bool partitions; /* a row per partition, not per topic */
    bool json;
};

/* One row of a table: up to three key labels, numbers, and whether each is known. */
struct top_row {
    const char *key[3];
    double v[4];
    bool known[4];
};

struct top_table {
    struct top_row *rows;
    size_t n, cap;
};

/*
 * What one interval showed. Rows of topics: key topic[, partition]; v records/s,
 * bytes/s, log end offset (summed over partitions for a topic), log start offset.
 * Groups: key group, topic[, partition]; v lag, committed offset. Requests: key protocol,
 * api; v requests/s, p50 s, p99 s. Network: key protocol; v received B/s, sent B/s,
 * connections open. Strings point into the newer scrape.
 */
struct top_view {
    double seconds;       /* between the two scrapes */
    const char *version;  /* kafka_broker_build_info's, or NULL */
    double uptime;        /* s; NAN when unknown */
    double backlog;       /* flusher backlog bytes; NAN when unknown */
    double fsync_p99;     /* s over the interval; NAN when no fsync happened */
    struct top_table topics, groups, requests, network;
};

/*
 * Build the view of the interval from prev to cur (seconds apart). Counters that went
 * down (a restarted broker) count from zero; a series new in cur counts from zero.
 * Returns 0 or -ENOMEM. Free with cli__top_view_fini.
 */
int cli__top_view(const struct hp_scrape *prev, const struct hp_scrape *cur, double seconds,
                  const struct top_opts *o, struct top_view *v);
void cli__top_view_fini(struct top_view *v);

/*
 * The q-quantile (0..1) of the observations a histogram series gained between two scrapes,
 * estimated as Prometheus' histogram_quantile does: linear inside the bucket that holds
 * the rank, the highest finite bound when the rank falls in +Inf. bounds and deltas are
 * n entries, ascending, the last bound +Inf. NAN when nothing was observed.
 */
double cli__hist_quantile(const double *bounds, const double *cum_deltas, size_t n, double q);

/* Render the view as text (the tty and the log form) or as one JSON line. */
void cli__top_print(FILE *f, const char *addr, const struct top_view *v,
                    const struct top_opts *o);
void cli__top_print_json(FILE *f, const char *addr, const struct top_view *v,
                         const struct top_opts *o);

#endif
