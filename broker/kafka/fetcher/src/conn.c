/*
 * conn.c - the fetcher's one connection to its leader: blocking in spirit, bounded in
 * fact. Every wait is a poll() on two descriptors, the socket and the fetcher's wake
 * eventfd, with the time left to the caller's deadline:
 *
 *   poll({sock, wake}, deadline - now)
 *     sock ready   -> read/write what can be, loop
 *     wake ready   -> consumed and remembered (f->woken: the loop starts its next round
 *                     at once); if it was kfr_close, -ECANCELED. A wake cuts only a
 *                     Fetch still waiting for its answer, and only for a kfr_add
 *                     (KFR_CUT: the connection is dropped, so the stream never gets out
 *                     of step); any other request runs to its end
 *     timeout      -> -ETIMEDOUT: the leader is gone or frozen; the loop reconnects
 *
 * So kfr_close never waits for a leader that does not answer, and a frozen leader costs
 * a follower one socket timeout, not a stuck thread.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kc_codec.h"
#include "kc_common.h"
#include "kc_err.h"
#include "kc_time.h"
#include "kfr_int.h"

/* Take a pending wake, if any: remembered in f->woken. */
static int take_wake(struct kfr_fetcher *f)
{
    uint64_t v;
    if (read(f->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
        return -errno;
    f->woken = true;
    return 0;
}

/* A partition added since the round's copy of the set (kfr_add)? */
static bool added(struct kfr_fetcher *f)
{
    pthread_mutex_lock(&f->mu);
    bool a = f->added;
    pthread_mutex_unlock(&f->mu);
    return a;
}

/* Wait for events on the socket until deadline: 0 when it is ready; -ECANCELED (closing),
 * KFR_CUT (a long poll, and a partition was added), -ETIMEDOUT, -errno. */
static int wait_fd(struct kfr_fetcher *f, short events, int64_t deadline)
{
    for (;;) {
        if (atomic_load(&f->stop))
            return -ECANCELED;
        if (f->cuttable && added(f))
            return KFR_CUT;
        int64_t left = deadline - kc_mono_ms();
        if (left <= 0)
            return -ETIMEDOUT;
        struct pollfd p[2] = {{f->conn.fd, events, 0}, {f->wake_fd, POLLIN, 0}};
        int n = poll(p, 2, (int)KC_MIN(left, 1000));
        if (n < 0 && errno != EINTR)
            return -errno;
        if (n > 0 && (p[1].revents & POLLIN) && take_wake(f) != 0)
            return -errno;
        if (n > 0 && p[0].revents)
            return 0;
    }
}

int kfr__wait_wake(struct kfr_fetcher *f, int ms)
{
    struct pollfd p = {f->wake_fd, POLLIN, 0};
    if (!f->woken && poll(&p, 1, ms) > 0)
        (void)take_wake(f); /* an error here only costs the wait */
    bool woken = f->woken;
    f->woken = false;
    return woken ? 0 : -ETIMEDOUT;
}

/*
 * Bind the socket to cfg.source_host (any port) when it is an address of the leader's
 * family: a broker listening on 127.0.0.2 then fetches FROM 127.0.0.2, not from whatever
 * address the kernel would pick (127.0.0.1 for every 127/8 destination). What the leader
 * logs and what a firewall between brokers matches on is then the follower itself
 * (test_0317 cuts brokers apart by address). 0, or -errno (-EADDRNOTAVAIL: not ours).
 */
static int bind_source(struct kfr_fetcher *f, int family)
{
    struct addrinfo hints = {.ai_family = family, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICHOST | AI_PASSIVE}, *src = NULL;
    if (!f->cfg.source_host[0] || getaddrinfo(f->cfg.source_host, "0", &hints, &src) != 0)
        return 0; /* none, a name, or another family: the kernel chooses */
    int rc = bind(f->conn.fd, src->ai_addr, src->ai_addrlen) == 0 ? 0 : -errno;
    freeaddrinfo(src);
    return rc;
}

/* A non-blocking connect to host:port, finished within deadline. */
static int connect_to(struct kfr_fetcher *f, const struct addrinfo *ai, int64_t deadline)
{
    int one = 1, err = 0;
    socklen_t len = sizeof(err);
    f->conn.fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (f->conn.fd < 0)
        return -errno;
    (void)setsockopt(f->conn.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* a hint */
    int rc = bind_source(f, ai->ai_family);
    if (rc)
        return rc;
    if (connect(f->conn.fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return 0;
    if (errno != EINPROGRESS)
        return -errno;
    rc = wait_fd(f, POLLOUT, deadline);
    if (rc == 0 && getsockopt(f->conn.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        rc = -errno;
    return rc ? rc : -err;
}

int kfr__connect(struct kfr_fetcher *f, int64_t deadline)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    char port[16];
    snprintf(port, sizeof(port), "%d", f->cfg.port);
    int rc = getaddrinfo(f->cfg.host, port, &hints, &res);
    if (rc != 0)
        return rc == EAI_SYSTEM ? -errno : -EHOSTUNREACH;
    rc = -EHOSTUNREACH;
    for (const struct addrinfo *ai = res; ai && rc != 0; ai = ai->ai_next) {
        kfr__disconnect(f);
        rc = connect_to(f, ai, deadline);
    }
    freeaddrinfo(res);
    if (rc)
        kfr__disconnect(f);
    return rc;
}

void kfr__disconnect(struct kfr_fetcher *f)
{
    if (f->conn.fd >= 0)
        (void)close(f->conn.fd); /* a socket: nothing to flush, nothing to report */
    f->conn.fd = -1;
}

static int send_all(struct kfr_fetcher *f, const uint8_t *p, size_t len, int64_t deadline)
{
    while (len > 0) {
        ssize_t n = send(f->conn.fd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return -errno;
        int rc = wait_fd(f, POLLOUT, deadline);
        if (rc)
            return rc;
    }
    return 0;
}

/* Read exactly len bytes into p. */
static int recv_all(struct kfr_fetcher *f, uint8_t *p, size_t len, int64_t deadline)
{
    while (len > 0) {
        ssize_t n = recv(f->conn.fd, p, len, 0);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n == 0)
            return KC_ECLOSED;
        if (errno != EAGAIN && errno != EINTR)
            return -errno;
        int rc = wait_fd(f, POLLIN, deadline);
        if (rc)
            return rc;
    }
    return 0;
}

/* One answer frame's body into f->conn.in. A long poll (cuttable) may be cut until its
 * answer starts. */
static int recv_frame(struct kfr_fetcher *f, bool cuttable, int64_t deadline)
{
    uint8_t size[4];
    f->cuttable = cuttable;
    int rc = recv_all(f, size, sizeof(size), deadline);
    f->cuttable = false;
    if (rc)
        return rc;
    size_t len = kc_load_be32(size);
    if (len < 4 || len > KFR_FRAME_MAX)
        return KC_EMALFORMED;
    if (len > f->conn.in_cap) {
        uint8_t *p = realloc(f->conn.in, len);
        if (!p)
            return -ENOMEM;
        f->conn.in = p;
        f->conn.in_cap = len;
    }
    f->conn.in_len = len;
    return recv_all(f, f->conn.in, len, deadline);
}

int kfr__call(struct kfr_fetcher *f, int16_t key, int16_t version, const void *msg,
              struct kp_response *r, int64_t deadline)
{
    int32_t corr = f->conn.corr++;
    struct kp_request_header h = {key, version, corr, kp_slice_str(f->cfg.client_id)};
    kc_writer_reset(&f->conn.out);
    int rc = kp_request_encode(&f->conn.out, &h, msg);
    if (rc == 0)
        rc = send_all(f, kc_writer_data(&f->conn.out), kc_writer_len(&f->conn.out), deadline);
    if (rc == 0)
        rc = recv_frame(f, key == KP_API_FETCH, deadline);
    if (rc == 0)
        rc = kp_response_decode(f->conn.in, f->conn.in_len, key, version, KFR_FRAME_MAX, r);
    if (rc == 0 && r->correlation_id != corr) {
        kp_response_fini(r);
        rc = KC_EMALFORMED; /* answers come in order: anything else is a broken stream */
    }
    return rc;
}
