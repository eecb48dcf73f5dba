/*
 * serve.c - the HTTP door: request heads in (the codec's hp_parse_request), one of two
 * resources out, or a clear refusal.
 *
 *   frame   hp_parse_request: need more | a whole head (its length: there is never a
 *           body) | refused -> the canned status (400, 413, 414, 431, 501, 505) with
 *           Connection: close, then a lingering close
 *   serve   route: GET/HEAD /metrics (with metrics.basic.auth, only for a SASL user:
 *           auth.c), GET/HEAD /health (always open); another path 404; another method
 *           405 (Allow: GET, HEAD); keep-alive as the request asks (HTTP/1.1: yes unless
 *           "Connection: close"; 1.0: no unless "keep-alive")
 *
 * Limits: a head larger than the codec's limits is refused; a head that trickles in for
 * longer than HTTP_REQUEST_TIMEOUT_MS closes the connection (the core's request timeout);
 * an idle keep-alive connection is closed after connections.max.idle.ms.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "brk.h"
#include "brk_http.h"
#include "brk_metrics.h"
#include "brk_service.h"
#include "hp.h"
#include "hp_expo.h"
#include "http_int.h"
#include "kc_common.h"

/* A head that has begun to arrive must be whole within this long (a scrape sends ~200
 * bytes at once; a client trickling bytes is holding the connection, not asking). */
#define HTTP_REQUEST_TIMEOUT_MS 10000

enum http_api { HTTP_API_METRICS, HTTP_API_HEALTH, HTTP_API_OTHER, HTTP_NAPIS };

static const char *http_api_name(int api)
{
    static const char *const names[] = {"metrics", "health", "other"};
    return api >= 0 && api < HTTP_NAPIS ? names[api] : NULL;
}

static int http_frame(struct brk_conn *c, const uint8_t *p, size_t len, size_t *frame_len)
{
    struct hp_request req;
    int n = hp_parse_request(p, len, NULL, &req);
    if (n == KC_ENEEDMORE)
        return n;
    int status = n > 0 ? hp_request_refusal(&req) : hp_status_for(n);
    if (status == 0) {
        *frame_len = (size_t)n; /* a head and nothing else: this door takes no bodies */
        return 0;
    }
    kc_log_info("%s: HTTP request refused with %d: %s", brk_conn_peer(c), status,
                n > 0 ? "it has a body" : kc_strerror(n));
    hp_write_canned(brk_resp_writer(c), status, true, false, -1);
    return n > 0 ? KC_EMALFORMED : n; /* the answer goes out, then a lingering close */
}

/* GET /health: a one-line JSON body; 503 unless serving. */
static void health(struct brk_conn *c, const struct hp_request *req, bool close)
{
    static const char *const phases[] = {"starting", "serving", "draining", "stopped"};
    struct brk_server *srv = brk_conn_server(c);
    struct brk_server_info info;
    enum brk_phase ph = brk_conn_draining(c) ? BRK_DRAINING : brk_server_phase(srv);
    char body[192];
    brk_server_info(srv, &info);
    int n = snprintf(body, sizeof(body),
                     "{\"status\":\"%s\",\"version\":\"%s\",\"uptime_seconds\":%.3f}\n",
                     phases[ph], BRK_VERSION, (double)(kc_wall_ms() - info.started_ms) / 1e3);
    n = KC_MAX(KC_MIN(n, (int)sizeof(body) - 1), 0); /* only bytes snprintf wrote go out */
    struct hp_response resp = {.status = ph == BRK_SERVING ? 200 : 503,
                               .content_type = "application/json",
                               .body = body,
                               .body_len = (size_t)n,
                               .close = close,
                               .head_only = req->method == HP_METHOD_HEAD,
                               .date = -1};
    hp_write_response(brk_resp_writer(c), &resp);
}

/* GET /metrics: the exposition is built whole, then sent with its length. */
static void metrics(struct brk_conn *c, const struct hp_request *req, bool close)
{
    struct kc_writer body;
    kc_writer_init(&body, 0);
    int rc = brk__http_exposition(brk_conn_server(c), &body);
    if (rc) {
        kc_log_warn("%s: /metrics could not be written: %s", brk_conn_peer(c), kc_strerror(rc));
        hp_write_canned(brk_resp_writer(c), 503, close, req->method == HP_METHOD_HEAD, -1);
    } else {
        struct hp_response resp = {.status = 200,
                                   .content_type = HP_EXPO_CONTENT_TYPE,
                                   .body = kc_writer_data(&body),
                                   .body_len = kc_writer_len(&body),
                                   .close = close,
                                   .head_only = req->method == HP_METHOD_HEAD,
                                   .date = -1};
        hp_write_response(brk_resp_writer(c), &resp);
    }
    kc_writer_fini(&body);
}

static bool path_is(const struct hp_request *req, const char *path)
{
    size_t n = strlen(path);
    return req->path.len == (int32_t)n && memcmp(req->path.p, path, n) == 0;
}

static int http_serve(struct brk_conn *c, uint8_t *p, size_t len)
{
    struct hp_request req;
    if (hp_parse_request(p, len, NULL, &req) <= 0)
        return KC_EMALFORMED; /* frame parsed it whole a moment ago: cannot happen */
    bool close = !req.keep_alive || brk_conn_draining(c);
    bool get = req.method == HP_METHOD_GET || req.method == HP_METHOD_HEAD;
    bool head = req.method == HP_METHOD_HEAD;
    if (get && path_is(&req, "/metrics")) {
        brk_conn_set_api(c, HTTP_API_METRICS);
        enum http_auth a = brk__http_authenticate(c, &req);
        if (a != HTTP_AUTH_OK) {
            brk__http_unauthorized(c, &req, a, close);
            return a == HTTP_AUTH_WRONG || !close ? 0 : -ECONNABORTED; /* WRONG: delayed */
        }
        metrics(c, &req, close);
    } else if (get && path_is(&req, "/health")) {
        brk_conn_set_api(c, HTTP_API_HEALTH);
        health(c, &req, close);
    } else {
        brk_conn_set_api(c, HTTP_API_OTHER);
        bool known = path_is(&req, "/metrics") || path_is(&req, "/health");
        hp_write_canned(brk_resp_writer(c), known ? 405 : 404, close, head, -1);
    }
    return close ? -ECONNABORTED : 0; /* negative: close once the answer is sent */
}

static const struct brk_adapter http_adapter = {
    .name = "http",
    .frame = http_frame,
    .serve = http_serve,
    .napis = HTTP_NAPIS,
    .api_name = http_api_name,
    .serves_while_starting = true,
    .request_timeout_ms = HTTP_REQUEST_TIMEOUT_MS,
};

int brk_http_attach(struct brk_server *srv, const char *host, int port, int *bound)
{
    int rc = brk_server_add_adapter(srv, &http_adapter, NULL);
    return rc ? rc : brk_server_listen(srv, &http_adapter, host, port, bound);
}
