/*
 * http_int.h - what the HTTP door's files share.
 *
 *   serve.c        frames, routing, /health, the adapter table
 *   exposition.c   /metrics: the core's metrics visitor writing Prometheus text
 *   auth.c         metrics.basic.auth: /metrics for SASL users only
 */
#ifndef HTTP_INT_H
#define HTTP_INT_H

#include <stdbool.h>

#include "kc_buf.h"

struct brk_server;
struct brk_conn;
struct hp_request;

enum http_auth {
    HTTP_AUTH_OK,          /* let it through (or metrics.basic.auth is off) */
    HTTP_AUTH_MISSING,     /* no Basic credentials: 401 and the challenge */
    HTTP_AUTH_WRONG,       /* credentials that do not check out: 401, closed after a delay */
    HTTP_AUTH_UNAVAILABLE, /* the broker is starting: the credentials are not loaded (503) */
};

/* May req see /metrics? Never logs the header or what it decodes to. Loop thread. */
enum http_auth brk__http_authenticate(struct brk_conn *c, const struct hp_request *req);
/* The answer to anything but HTTP_AUTH_OK. */
void brk__http_unauthorized(struct brk_conn *c, const struct hp_request *req, enum http_auth a,
                            bool close);

/* Every metric of srv, as Prometheus text 0.0.4, appended to w. 0 or the error. */
int brk__http_exposition(struct brk_server *srv, struct kc_writer *w);

#endif
