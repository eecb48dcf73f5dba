/*
 * brk_http.h - the HTTP door: what an operator sees of the broker. Two resources, on a
 * listener of its own (metrics.port, default 9644, on metrics.bind, default 127.0.0.1):
 *
 *   GET /metrics   every metric the core counts (brk_metrics.h), in Prometheus' text
 *                  exposition format 0.0.4
 *   GET /health    200 {"status":"serving",...} when the broker serves; 503 with
 *                  "starting" while it opens its storage (this door is up before the
 *                  others, so a long recovery is visible) or "draining" while it stops
 *
 * With metrics.basic.auth=true, /metrics wants "Authorization: Basic" with the name and
 * password of a SASL user (the broker's credential store, checked as PLAIN checks them);
 * /health stays open for probes that carry no credentials (src/auth.c).
 *
 * It is the third adapter, and the smallest: a lesson in how little HTTP/1.1 a scrape
 * needs (broker/http/codec/README.md) and proof that the core's seam is real - it uses
 * brk_adapter.h and brk_metrics.h and nothing of the other doors.
 */
#ifndef BRK_HTTP_H
#define BRK_HTTP_H

struct brk_server;

/* Register the HTTP adapter with srv and listen on host:port (0: ephemeral). *bound gets
 * the real port. Before brk_server_start. 0 or -errno (-EADDRINUSE ...). */
int brk_http_attach(struct brk_server *srv, const char *host, int port, int *bound);

#endif
