/*
 * http_client.c - one HTTP/1.1 GET, blocking with a deadline (contract in cli_http.h).
 *
 *   connect (non-blocking, poll for POLLOUT) -> write the request -> read until the head
 *   parses (hp_parse_response_head) -> read Content-Length more bytes, or to EOF
 *
 * Every wait is a poll() bounded by what is left of one deadline, so a metrics port that
 * accepts and then says nothing costs the caller timeout_ms, never a hang.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.h"
#include "cli_http.h"
#include "hp.h"
#include "kc_common.h"

/* Wait for events on fd until deadline (kc_mono_ms). 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - kc_mono_ms();
        if (left <= 0)
            return -ETIMEDOUT;
        struct pollfd pfd = {.fd = fd, .events = events};
        int n = poll(&pfd, 1, (int)KC_MIN(left, INT32_MAX));
        if (n > 0)
            return 0;
        if (n == 0)
            return -ETIMEDOUT;
        if (errno != EINTR)
            return -errno;
    }
}

static int connect_one(const struct addrinfo *ai, int64_t deadline)
{
    int err = 0;
    socklen_t elen = sizeof(err);
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        if (errno != EINPROGRESS)
            err = -errno;
        else if ((err = wait_fd(fd, POLLOUT, deadline)) == 0 &&
                 getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0)
            err = -err;
        else if (err == 0)
            err = -errno;
    }
    if (err) {
        close(fd);
        return err;
    }
    return fd;
}

static int connect_to(const char *host, const char *port, int64_t deadline)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc)
        return rc == EAI_SYSTEM ? -errno : -EHOSTUNREACH;
    int fd = -ECONNREFUSED;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
        if ((fd = connect_one(ai, deadline)) >= 0)
            break;
    freeaddrinfo(res);
    return fd;
}

static int send_all(int fd, const char *p, size_t n, int64_t deadline)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
            int rc = wait_fd(fd, POLLOUT, deadline);
            if (rc)
                return rc;
            continue;
        }
        if (k < 0)
            return -errno;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Read what arrives into *buf (growing it up to cap); the bytes read, 0 at EOF, or < 0. */
static ssize_t recv_some(int fd, uint8_t **buf, size_t *len, size_t *bcap, size_t cap,
                         int64_t deadline)
{
    if (*len == *bcap) {
        if (*bcap >= cap)
            return KC_ETOOLARGE;
        size_t ncap = KC_MIN(KC_MAX(*bcap * 2, (size_t)16384), cap);
        uint8_t *p = realloc(*buf, ncap);
        if (!p)
            return -ENOMEM;
        *buf = p;
        *bcap = ncap;
    }
    for (;;) {
        ssize_t k = recv(fd, *buf + *len, *bcap - *len, 0);
        if (k >= 0) {
            *len += (size_t)k;
            return k;
        }
        if (errno != EAGAIN && errno != EINTR)
            return -errno;
        int rc = wait_fd(fd, POLLIN, deadline);
        if (rc)
            return rc;
    }
}

/* Read the answer: the head, then the body by its length or to EOF. */
static int read_answer(int fd, size_t max_body, int64_t deadline, struct cli_http_resp *r)
{
    struct hp_response_head h;
    uint8_t *buf = NULL;
    size_t len = 0, bcap = 0, cap = max_body + HP_MAX_HEADER_BYTES_DEFAULT + HP_MAX_LINE_DEFAULT;
    int head = KC_ENEEDMORE;
    ssize_t k = 1;
    while (head == KC_ENEEDMORE && k > 0)
        if ((k = recv_some(fd, &buf, &len, &bcap, cap, deadline)) > 0)
            head = hp_parse_response_head(buf, len, NULL, &h);
    if (head == KC_ENEEDMORE)
        head = k < 0 ? (int)k : -ECONNRESET; /* closed before the head ended */
    size_t want = head > 0 && h.content_length >= 0 ? (size_t)head + (size_t)h.content_length
                                                    : SIZE_MAX;
    if (head > 0 && h.content_length > (int64_t)max_body)
        head = KC_ETOOLARGE;
    while (head > 0 && len < want && (k = recv_some(fd, &buf, &len, &bcap, cap, deadline)) > 0)
        ;
    if (head > 0 && k < 0)
        head = (int)k;
    else if (head > 0 && want != SIZE_MAX && len < want)
        head = -ECONNRESET; /* EOF inside the body */
    if (head < 0) {
        free(buf);
        return head;
    }
    *r = (struct cli_http_resp){h.status, buf, buf + head, KC_MIN(len, want) - (size_t)head};
    return 0;
}

/* "Authorization: Basic <base64(user:password)>\r\n" into out[cap] (or "" without a
 * user): 0, or -EINVAL when it does not fit. */
static int basic_auth_header(const char *user, const char *password, char *out, size_t cap)
{
    char plain[1024];
    out[0] = '\0';
    if (!user)
        return 0;
    int n = snprintf(plain, sizeof(plain), "%s:%s", user, password ? password : "");
    int rc = -EINVAL;
    if (n > 0 && (size_t)n < sizeof(plain) && 4 * (((size_t)n + 2) / 3) + 40 < cap) {
        size_t at = (size_t)snprintf(out, cap, "Authorization: Basic ");
        at += hp_base64_encode((const uint8_t *)plain, (size_t)n, out + at);
        snprintf(out + at, cap - at, "\r\n");
        rc = 0;
    }
    explicit_bzero(plain, sizeof(plain));
    return rc;
}

int cli__http_get(const char *addr, const char *path, int timeout_ms, size_t max_body,
                  const char *user, const char *password, struct cli_http_resp *resp)
{
    char host[256], port[16], req[4096], hostport[300], auth[1600];
    int64_t deadline = kc_mono_ms() + timeout_ms;
    int rc = np_client_parse_addr(addr, host, sizeof(host), port, sizeof(port));
    if (rc)
        return rc;
    if (!strchr(addr[0] == '[' ? strchr(addr, ']') : addr, ':'))
        snprintf(port, sizeof(port), "%s", CLI_METRICS_PORT); /* not the native 9092 */
    snprintf(hostport, sizeof(hostport), strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port);
    if ((rc = basic_auth_header(user, password, auth, sizeof(auth))) != 0)
        return rc;
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: kafka_cli/%s\r\n%s"
                     "Accept: text/plain;version=0.0.4\r\nConnection: close\r\n\r\n",
                     path, hostport, CLI_VERSION, auth);
    explicit_bzero(auth, sizeof(auth));
    int fd = n < 0 || (size_t)n >= sizeof(req) ? -EINVAL : connect_to(host, port, deadline);
    if (fd >= 0) {
        rc = send_all(fd, req, (size_t)n, deadline);
        if (rc == 0)
            rc = read_answer(fd, max_body, deadline, resp);
        close(fd);
    }
    explicit_bzero(req, sizeof(req));
    return fd < 0 ? fd : rc;
}

void cli__http_resp_free(struct cli_http_resp *resp)
{
    free(resp->buf);
    resp->buf = NULL;
    resp->body = NULL;
    resp->body_len = 0;
}
