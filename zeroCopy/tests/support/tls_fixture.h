/* tls_fixture.h - what the TLS tests share: certificates made by the openssl CLI
 * (support/mkcerts.sh), contexts, and a handshake driven on both ends in one thread. */
#ifndef TLS_FIXTURE_H
#define TLS_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>

#include "zc_tls.h"

/* A fresh temp dir with mkcerts.sh's certificates in it (remove with kc_test_rmdir). Fails
 * the test if the openssl CLI is missing. */
char *tls_fx_certs(void);
/* dir "/" name into a static buffer (one of four, rotating). */
const char *tls_fx_path(const char *dir, const char *name);

/* A server context on dir's server.pem; client_auth NULL for none. Fails on error. */
struct zc_tls_ctx *tls_fx_server(const char *dir, const char *client_auth);
/* A client context trusting dir's ca.pem, with cert (e.g. "client.pem") or NULL. */
struct zc_tls_ctx *tls_fx_client(const char *dir, const char *cert);

/* A connected loopback pair, both non-blocking; sndbuf/rcvbuf 0 = the kernel's. The first
 * socket (`a`) has sndbuf, the second (`b`) rcvbuf. */
void tls_fx_pair(int *a, int *b, int sndbuf, int rcvbuf);

/* Run both handshakes until each has succeeded or failed (or 5 s passed: 0). */
void tls_fx_handshake(struct zc_tls *server, struct zc_tls *client, int *server_rc, int *client_rc);

/* Wait (poll, up to 5 s) for what the session waits for; fails the test on timeout. */
void tls_fx_wait(int fd, const struct zc_tls *t);

#endif
