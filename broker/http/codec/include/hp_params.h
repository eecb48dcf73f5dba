/*
 * hp_params.h - the HTTP door's tunables, in one place.
 *
 * A scrape request is about 200 bytes: "GET /metrics HTTP/1.1", a Host, an Accept, a
 * User-Agent, maybe an Authorization. The defaults leave a wide margin over that and
 * still bound what one connection can make the server hold before it answers.
 */
#ifndef HP_PARAMS_H
#define HP_PARAMS_H

/* Longest request line (method SP target SP version, without CRLF): longer -> 414. */
#define HP_MAX_LINE_DEFAULT 4096
/* Most header fields in one request: more -> 431. */
#define HP_MAX_HEADERS_DEFAULT 32
/* Most bytes in all header lines together (each with its CRLF): more -> 431. */
#define HP_MAX_HEADER_BYTES_DEFAULT 8192

/* Room for header slices in struct hp_request: the hard ceiling on any max_headers. */
#define HP_HEADERS_MAX 100

/* The Content-Type of the Prometheus text exposition format, version 0.0.4. */
#define HP_EXPO_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
