/*
 * client.c - the blocking native-protocol client (contract in np_client.h).
 *
 * The socket is non-blocking and every wait goes through poll() with the client's timeout,
 * so "blocking" means "waits, but never forever". Received bytes accumulate in one buffer
 * that frames are parsed from in place; it is compacted (the parsed prefix dropped) only
 * when a frame is incomplete and more must be read, so a burst of pipelined responses costs
 * one read(2) and no copying.
 *
 * Bytes go through c->tr: the plain socket below, or TLS (client_tls.c). The loops here
 * only ever ask the transport what to wait for, so the same code drives both; TLS adds one
 * rule the loops already follow: read until the transport says "nothing yet" before
 * waiting, because decrypted bytes can wait inside the session with the socket empty.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kc_err.h"
#include "kc_time.h"
#include "np_client.h"

#define NP_CLIENT_IN_MIN (64u << 10)

int np_client_parse_addr(const char *addr, char *host, size_t hcap, char *port, size_t pcap)
{
    const char *h = addr, *colon;
    size_t hlen;
    if (!addr || !*addr)
        return -EINVAL;
    if (*addr == '[') { /* [v6]:port */
        const char *end = strchr(addr, ']');
        if (!end)
            return -EINVAL;
        h = addr + 1;
        hlen = (size_t)(end - h);
        colon = end[1] == ':' ? end + 1 : (end[1] ? NULL : end + 1);
        if (!colon)
            return -EINVAL;
    } else {
        colon = strrchr(addr, ':');
        hlen = colon ? (size_t)(colon - addr) : strlen(addr);
    }
    const char *p = colon && *colon == ':' ? colon + 1 : "9092";
    if (hlen == 0 || hlen >= hcap || !*p || strlen(p) >= pcap || strspn(p, "0123456789") != strlen(p))
        return -EINVAL;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    strcpy(port, p); /* length checked above */
    return 0;
}

/* Wait until fd is ready for events or the deadline (ms, monotonic; -1 = none) passes. */
static int np_wait(int fd, short events, int64_t deadline, short *revents)
{
    for (;;) {
        int timeout = -1;
        if (deadline >= 0) {
            int64_t left = deadline - kc_mono_ms();
            if (left <= 0)
                return -ETIMEDOUT;
            timeout = left > INT32_MAX ? INT32_MAX : (int)left;
        }
        struct pollfd pfd = {.fd = fd, .events = events};
        int n = poll(&pfd, 1, timeout);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -ETIMEDOUT;
        *revents = pfd.revents;
        return 0;
    }
}

static int64_t np_deadline(const struct np_client *c)
{
    return c->timeout_ms < 0 ? -1 : kc_mono_ms() + c->timeout_ms;
}

/* ---- the plain transport: the socket itself ------------------------------------------ */

static ssize_t tcp_recv(struct np_client *c, void *buf, size_t len)
{
    ssize_t n = recv(c->fd, buf, len, 0);
    if (n >= 0)
        return n;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -EAGAIN : -errno;
}

static ssize_t tcp_send(struct np_client *c, const void *buf, size_t len)
{
    ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
    if (n >= 0)
        return n;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -EAGAIN : -errno;
}

static int tcp_flush(struct np_client *c)
{
    (void)c;
    return 1; /* send(2) put every byte it took on the socket */
}

static short tcp_events(const struct np_client *c, short wanted)
{
    (void)c;
    return wanted;
}

static void tcp_close(struct np_client *c)
{
    (void)c;
}

static const struct np_transport np_tcp = {"tcp", tcp_recv, tcp_send, tcp_flush, tcp_events,
                                           tcp_close};

static int np_connect_one(const struct addrinfo *ai, int timeout_ms)
{
    short rev;
    int err = 0;
    socklen_t elen = sizeof(err);
    int one = 1;
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        goto connected;
    if (errno != EINPROGRESS) {
        err = -errno;
        goto fail;
    }
    err = np_wait(fd, POLLOUT, timeout_ms < 0 ? -1 : kc_mono_ms() + timeout_ms, &rev);
    if (err)
        goto fail;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
        err = errno;
    if (err) {
        err = -err;
        goto fail;
    }
connected:
    /* Requests are small and latency matters: no Nagle. Failure only costs latency. */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
fail:
    close(fd);
    return err;
}

int np_client_connect(struct np_client *c, const char *addr, int timeout_ms)
{
    char host[256], port[16];
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *ai;
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    c->tr = &np_tcp;
    c->timeout_ms = timeout_ms;
    c->max_frame = NP_CLIENT_MAX_FRAME_DEFAULT;
    c->next_corr = 1;
    kc_writer_init(&c->out, 0);
    int rc = np_client_parse_addr(addr, host, sizeof(host), port, sizeof(port));
    if (rc)
        return rc;
    strlcpy(c->host, host, sizeof(c->host));
    rc = getaddrinfo(host, port, &hints, &res);
    if (rc)
        return rc == EAI_SYSTEM ? -errno : -EHOSTUNREACH;
    rc = -ECONNREFUSED;
    for (ai = res; ai && c->fd < 0; ai = ai->ai_next) {
        int fd = np_connect_one(ai, timeout_ms);
        if (fd >= 0)
            c->fd = fd;
        else
            rc = fd;
    }
    freeaddrinfo(res);
    return c->fd >= 0 ? 0 : rc;
}

void np_client_close(struct np_client *c)
{
    if (c->tr)
        c->tr->close(c); /* TLS: one try at a close_notify, then the session is freed */
    c->tr = NULL;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    kc_writer_fini(&c->out);
    free(c->in);
    c->in = NULL;
    c->in_len = c->in_pos = c->in_cap = 0;
}

/* Make room for at least `want` more bytes after in_len (compacting, then growing). */
static int np_in_reserve(struct np_client *c, size_t want)
{
    if (c->in_pos > 0) {
        memmove(c->in, c->in + c->in_pos, c->in_len - c->in_pos);
        c->in_len -= c->in_pos;
        c->in_pos = 0;
    }
    if (c->in_cap - c->in_len >= want)
        return 0;
    size_t cap = c->in_cap ? c->in_cap : NP_CLIENT_IN_MIN;
    while (cap - c->in_len < want)
        cap *= 2;
    uint8_t *p = realloc(c->in, cap);
    if (!p)
        return -ENOMEM;
    c->in = p;
    c->in_cap = cap;
    return 0;
}

/* One read(2) of whatever is there: > 0 bytes, 0 would block, < 0 error/closed. */
static int np_read_some(struct np_client *c, size_t want)
{
    int rc = np_in_reserve(c, want > NP_CLIENT_IN_MIN ? want : NP_CLIENT_IN_MIN);
    if (rc)
        return rc;
    ssize_t n = c->tr->recv(c, c->in + c->in_len, c->in_cap - c->in_len);
    if (n > 0) {
        c->in_len += (size_t)n;
        return (int)(n > INT32_MAX ? INT32_MAX : n);
    }
    if (n == 0)
        return -ECONNRESET;
    return n == -EAGAIN ? 0 : (int)n;
}

/* Hand the transport what is left of out[off..len), then have it flush: 1 done, 0 wait
 * for *want, < 0 error. */
static int np_push(struct np_client *c, size_t *off, size_t len, short *want)
{
    while (*off < len) {
        ssize_t n = c->tr->send(c, kc_writer_data(&c->out) + *off, len - *off);
        if (n < 0 && n != -EAGAIN)
            return (int)n;
        if (n < 0) {
            *want = c->tr->events(c, POLLOUT);
            return 0;
        }
        *off += (size_t)n;
    }
    int rc = c->tr->flush(c);
    if (rc == 0)
        *want = c->tr->events(c, POLLOUT);
    return rc;
}

int np_client_flush(struct np_client *c)
{
    size_t off = 0, len = kc_writer_len(&c->out);
    int64_t deadline = np_deadline(c);
    int rc = kc_writer_error(&c->out);
    while (rc == 0) {
        short want = 0, rev = 0;
        int done = np_push(c, &off, len, &want);
        if (done != 0) {
            rc = done < 0 ? done : 0;
            break;
        }
        rc = np_wait(c->fd, (short)(want | POLLIN), deadline, &rev);
        /* Read answers while we wait to write: the broker stops reading when we do not. */
        if (rc == 0 && (rev & (POLLIN | POLLHUP | POLLERR))) {
            int got = np_read_some(c, 0);
            rc = got < 0 ? got : 0;
        }
    }
    kc_writer_reset(&c->out);
    return rc;
}

/* The first bytes a plaintext client gets from a TLS listener are a TLS record (an alert:
 * content type 21, or a handshake: 22, then version 3.x), never a native frame. */
static bool np_looks_like_tls(const uint8_t *p, size_t len)
{
    return len >= 3 && (p[0] == 0x15 || p[0] == 0x16) && p[1] == 0x03 && p[2] <= 0x04;
}

/* A whole frame at in_pos? 1 and *f; 0 need more (*need = bytes missing); < 0 error. */
static int np_parse(struct np_client *c, struct np_frame *f, size_t *need)
{
    size_t flen;
    if (!c->in) { /* nothing received yet */
        *need = NP_LENGTH_SIZE;
        return 0;
    }
    const uint8_t *p = c->in + c->in_pos;
    size_t avail = c->in_len - c->in_pos;
    int rc = np_frame_peek(p, avail, c->max_frame, true, &f->h, &flen);
    if (rc == KC_ENEEDMORE) {
        *need = avail >= NP_LENGTH_SIZE ? kc_load_be32(p) + NP_LENGTH_SIZE - avail : 1;
        return 0;
    }
    if (rc && !c->got_frame && !c->tls && np_looks_like_tls(p, avail)) {
        snprintf(c->errmsg, sizeof(c->errmsg),
                 "the broker answered with TLS: this listener wants a TLS client (--tls-ca)");
        return -EPROTO;
    }
    if (rc)
        return rc == KC_ETOOLARGE ? KC_ETOOLARGE : KC_EMALFORMED;
    f->body = p + NP_RESP_HEADER_SIZE;
    f->body_len = flen - NP_RESP_HEADER_SIZE;
    c->in_pos += flen;
    c->got_frame = true;
    return 1;
}

int np_client_buffered(struct np_client *c)
{
    size_t flen;
    struct np_header h;
    if (!c->in)
        return 0;
    return np_frame_peek(c->in + c->in_pos, c->in_len - c->in_pos, c->max_frame, true, &h,
                         &flen) == 0;
}

/* Read what is there, or wait (until the deadline) for the transport to have more: 0 when
 * something may have arrived, < 0 an error. need: the bytes still missing, a hint. */
static int np_read_or_wait(struct np_client *c, size_t need, int64_t deadline)
{
    short rev;
    int rc = np_read_some(c, need);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    return np_wait(c->fd, c->tr->events(c, POLLIN), deadline, &rev);
}

int np_client_recv(struct np_client *c, struct np_frame *f)
{
    int64_t deadline = np_deadline(c);
    for (;;) {
        size_t need = 0;
        int rc = np_parse(c, f, &need);
        if (rc != 0)
            return rc < 0 ? rc : 0;
        if ((rc = np_read_or_wait(c, need, deadline)) != 0)
            return rc;
    }
}

int np_client_peek_raw(struct np_client *c, size_t n, const uint8_t **p)
{
    int64_t deadline = np_deadline(c);
    for (;;) {
        size_t have = c->in ? c->in_len - c->in_pos : 0;
        if (have >= n && c->in) {
            *p = c->in + c->in_pos;
            return 0;
        }
        if (n - have > c->max_frame)
            return KC_ETOOLARGE;
        int rc = np_read_or_wait(c, n - have, deadline);
        if (rc)
            return rc;
    }
}

void np_client_skip_raw(struct np_client *c, size_t n)
{
    size_t have = c->in ? c->in_len - c->in_pos : 0;
    c->in_pos += n < have ? n : have;
    if (c->in_pos == c->in_len)
        c->in_pos = c->in_len = 0; /* empty: the next read starts at the front */
}

int np_client_check(struct np_client *c, const struct np_frame *f)
{
    struct np_error_resp er;
    c->errmsg[0] = '\0';
    c->err_log_start = c->err_log_end = -1;
    if (f->h.error == NP_E_NONE)
        return 0;
    if (np_decode_error_resp(f->body, f->body_len, f->h.cmd, &er) != 0)
        return KC_EMALFORMED;
    if (er.message.len > 0)
        snprintf(c->errmsg, sizeof(c->errmsg), "%.*s", (int)er.message.len, er.message.p);
    c->err_log_start = er.log_start;
    c->err_log_end = er.log_end;
    return NP_ERR(f->h.error);
}

/* An answer to something we did not wait for: an acks=0 produce that failed. */
static int np_stray(struct np_client *c, const struct np_frame *f)
{
    if (f->h.cmd != NP_PRODUCE || f->h.error == NP_E_NONE)
        return KC_EMALFORMED; /* nothing else is ever unanswered: the stream is confused */
    int rc = np_client_check(c, f);
    if (rc == KC_EMALFORMED)
        return rc;
    if (c->async_err == 0) {
        c->async_err = rc;
        snprintf(c->async_errmsg, sizeof(c->async_errmsg), "acks=0 produce (request %u): %.256s",
                 f->h.corr, c->errmsg[0] ? c->errmsg : np_strerror(rc));
    }
    return 0;
}

/*
 * Send what is encoded, then wait for the response to corr and check its error. A broker
 * that refuses a request (one too large, say) answers and then closes: when sending fails
 * that way, the answer may already be buffered, and it says more than "connection reset".
 */
static int np_call(struct np_client *c, uint32_t corr, int cmd, struct np_frame *f)
{
    int sent = np_client_flush(c);
    if (sent != 0 && sent != -EPIPE && sent != -ECONNRESET)
        return sent;
    for (;;) {
        int rc = sent ? (np_client_buffered(c) ? np_client_recv(c, f) : sent)
                      : np_client_recv(c, f);
        if (rc)
            return rc;
        if (f->h.corr == corr)
            return f->h.cmd == cmd ? np_client_check(c, f) : KC_EMALFORMED;
        rc = np_stray(c, f);
        if (rc)
            return rc;
    }
}

int np_client_create_topic(struct np_client *c, const char *topic, int32_t partitions,
                           struct np_create_topic_resp *resp)
{
    struct np_frame f;
    uint32_t corr = np_client_next_corr(c);
    struct np_create_topic_req req = {np_str(topic), partitions};
    np_encode_create_topic(&c->out, corr, &req);
    int rc = np_call(c, corr, NP_CREATE_TOPIC, &f);
    return rc ? rc : np_decode_create_topic_resp(f.body, f.body_len, resp);
}

int np_client_produce(struct np_client *c, const struct np_produce_req *req,
                      struct np_produce_resp *resp)
{
    struct np_frame f;
    uint32_t corr = np_client_next_corr(c);
    np_encode_produce(&c->out, corr, req);
    if (req->acks == NP_ACKS_NONE)
        return np_client_flush(c);
    int rc = np_call(c, corr, NP_PRODUCE, &f);
    return rc ? rc : np_decode_produce_resp(f.body, f.body_len, resp);
}

int np_client_consume(struct np_client *c, const struct np_consume_req *req,
                      struct np_consume_resp *resp)
{
    struct np_frame f;
    uint32_t corr = np_client_next_corr(c);
    np_encode_consume(&c->out, corr, req);
    int rc = np_call(c, corr, NP_CONSUME, &f);
    return rc ? rc : np_decode_consume_resp(f.body, f.body_len, resp);
}

int np_client_commit(struct np_client *c, const struct np_commit_req *req)
{
    struct np_frame f;
    uint32_t corr = np_client_next_corr(c);
    np_encode_commit(&c->out, corr, req);
    int rc = np_call(c, corr, NP_COMMIT, &f);
    return rc ? rc : np_decode_commit_resp(f.body, f.body_len);
}

int np_client_fetch_offset(struct np_client *c, const struct np_fetch_offset_req *req,
                           struct np_fetch_offset_resp *resp)
{
    struct np_frame f;
    uint32_t corr = np_client_next_corr(c);
    np_encode_fetch_offset(&c->out, corr, req);
    int rc = np_call(c, corr, NP_FETCH_OFFSET, &f);
    return rc ? rc : np_decode_fetch_offset_resp(f.body, f.body_len, resp);
}

int np_client_produce_batch(struct np_client *c, const struct np_produce_batch_req *req,
                            struct np_produce_batch_resp *resp)
{
    struct np_frame f;
    uint32_t corr = np_client_next_corr(c);
    np_encode_produce_batch(&c->out, corr, req);
    if (req->acks == NP_ACKS_NONE)
        return np_client_flush(c);
    int rc = np_call(c, corr, NP_PRODUCE_BATCH, &f);
    return rc ? rc : np_decode_produce_batch_resp(f.body, f.body_len, resp);
}

int np_client_consume_batch(struct np_client *c, const struct np_consume_batch_req *req,
                            struct np_consume_batch_resp *resp)
{
    struct np_frame f;
    uint32_t corr = np_client_next_corr(c);
    np_encode_consume_batch(&c->out, corr, req);
    int rc = np_call(c, corr, NP_CONSUME_BATCH, &f);
    return rc ? rc : np_decode_consume_batch_resp(f.body, f.body_len, resp);
}

int np_client_metadata(struct np_client *c, const char *topic, struct np_metadata_resp *resp)
{
    struct np_frame f;
    uint32_t corr = np_client_next_corr(c);
    struct np_metadata_req req = {np_str(topic)};
    np_encode_metadata(&c->out, corr, &req);
    int rc = np_call(c, corr, NP_METADATA, &f);
    return rc ? rc : np_decode_metadata_resp(f.body, f.body_len, resp);
}

int np_client_ping(struct np_client *c, const void *payload, int32_t len)
{
    struct np_frame f;
    struct np_ping_resp resp;
    uint32_t corr = np_client_next_corr(c);
    struct np_ping_req req = {{payload, payload ? len : -1}};
    np_encode_ping(&c->out, corr, &req);
    int rc = np_call(c, corr, NP_PING, &f);
    if (rc == 0)
        rc = np_decode_ping_resp(f.body, f.body_len, &resp);
    if (rc == 0 && (resp.payload.len != req.payload.len ||
                    (len > 0 && memcmp(resp.payload.p, payload, (size_t)len) != 0)))
        rc = KC_EMALFORMED;
    return rc;
}

int np_client_info(struct np_client *c, struct np_info_resp *resp)
{
    struct np_frame f;
    uint32_t corr = np_client_next_corr(c);
    np_encode_info(&c->out, corr);
    int rc = np_call(c, corr, NP_INFO, &f);
    return rc ? rc : np_decode_info_resp(f.body, f.body_len, resp);
}

int np_client_sasl_handshake(struct np_client *c, const char *mechanism,
                             struct np_sasl_handshake_resp *resp)
{
    struct np_frame f;
    struct np_error_resp er;
    uint32_t corr = np_client_next_corr(c);
    np_encode_sasl_handshake(&c->out, corr, &(struct np_sasl_handshake_req){np_str(mechanism)});
    int rc = np_call(c, corr, NP_SASL_HANDSHAKE, &f);
    if (rc == NP_ERR(NP_E_UNSUPPORTED_SASL_MECHANISM) &&
        np_decode_error_resp(f.body, f.body_len, NP_SASL_HANDSHAKE, &er) == 0)
        resp->mechanisms = er.mechanisms; /* what the broker offers instead */
    return rc ? rc : np_decode_sasl_handshake_resp(f.body, f.body_len, resp);
}

int np_client_sasl_authenticate(struct np_client *c, const void *bytes, size_t len,
                                struct np_sasl_authenticate_resp *resp)
{
    struct np_frame f;
    uint32_t corr = np_client_next_corr(c);
    if (len > INT32_MAX)
        return -EINVAL;
    struct np_sasl_authenticate_req req = {{bytes, (int32_t)len}};
    np_encode_sasl_authenticate(&c->out, corr, &req);
    int rc = np_call(c, corr, NP_SASL_AUTHENTICATE, &f);
    return rc ? rc : np_decode_sasl_authenticate_resp(f.body, f.body_len, resp);
}
