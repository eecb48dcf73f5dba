/*
 * http_int.h - what the HTTP door's files share.
 *
 *   serve.c        frames, routing, /health, the adapter table
 *   exposition.c   /metrics: the core's metrics visitor writing Prometheus text
 */
#ifndef HTTP_INT_H
#define HTTP_INT_H

#include "kc_buf.h"

struct brk_server;

/* Every metric of srv, as Prometheus text 0.0.4, appended to w. 0 or the error. */
int brk__http_exposition(struct brk_server *srv, struct kc_writer *w);

#endif
