/* tls_fixture.c - see tls_fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kc_common.h"
#include "kc_test.h"
#include "tls_fixture.h"

char *tls_fx_certs(void)
{
    char *dir = kc_test_tmpdir(), cmd[8192];
    const char *src = getenv("KC_SRC_DIR");
    snprintf(cmd, sizeof(cmd), "%s/zeroCopy/tests/support/mkcerts.sh '%s'", src ? src : ".", dir);
    int status = system(cmd);
    if (status != 0)
        fail_msg("mkcerts.sh failed (%d): the TLS tests need the openssl CLI (scripts/deps.sh "
                 "test)",
                 status);
    return dir;
}

const char *tls_fx_path(const char *dir, const char *name)
{
    static char bufs[4][4200];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof(bufs[0]), "%s/%s", dir, name);
    return b;
}

struct zc_tls_ctx *tls_fx_server(const char *dir, const char *client_auth)
{
    struct zc_tls_config cfg = {.keystore_location = tls_fx_path(dir, "server.pem"),
                                .truststore_location = tls_fx_path(dir, "ca.pem"),
                                .client_auth = client_auth};
    struct zc_tls_ctx *ctx;
    char err[256];
    if (zc_tls_ctx_new(&cfg, true, &ctx, err, sizeof(err)) != 0)
        fail_msg("server context: %s", err);
    return ctx;
}

struct zc_tls_ctx *tls_fx_client(const char *dir, const char *cert)
{
    struct zc_tls_config cfg = {.truststore_location = tls_fx_path(dir, "ca.pem"),
                                .keystore_location = cert ? tls_fx_path(dir, cert) : NULL};
    struct zc_tls_ctx *ctx;
    char err[256];
    if (zc_tls_ctx_new(&cfg, false, &ctx, err, sizeof(err)) != 0)
        fail_msg("client context: %s", err);
    return ctx;
}

void tls_fx_pair(int *a, int *b, int sndbuf, int rcvbuf)
{
    kc_test_tcp_pair(a, b, sndbuf, rcvbuf);
    assert_int_equal(fcntl(*a, F_SETFL, fcntl(*a, F_GETFL) | O_NONBLOCK), 0);
    assert_int_equal(fcntl(*b, F_SETFL, fcntl(*b, F_GETFL) | O_NONBLOCK), 0);
}

void tls_fx_handshake(struct zc_tls *server, struct zc_tls *client, int *server_rc, int *client_rc)
{
    int64_t deadline = kc_mono_ms() + 5000;
    *server_rc = *client_rc = 0;
    while (kc_mono_ms() < deadline && (*server_rc == 0 || *client_rc == 0)) {
        if (*server_rc == 0)
            *server_rc = zc_tls_handshake(server);
        if (*client_rc == 0)
            *client_rc = zc_tls_handshake(client);
        if (*server_rc != 0 && *client_rc != 0)
            break;
        /* nothing to do until either socket is ready: a short nap, not a busy loop */
        (void)poll(NULL, 0, 1);
    }
}

void tls_fx_wait(int fd, const struct zc_tls *t)
{
    struct pollfd p = {.fd = fd, .events = zc_tls_events(t)};
    int n = poll(&p, 1, 5000);
    if (n <= 0)
        fail_msg("TLS session still waiting for %s after 5 s",
                 p.events & POLLIN ? "POLLIN" : "POLLOUT");
}
