/*
 * fake_kafka.c - in-process fake Kafka brokers for kafka_cli's tests (fake_kafka.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.h"
#include "fake_kafka.h"
#include "kc_buf.h"
#include "kc_common.h"

#define FK_CONNS 16

/* ---- answers ------------------------------------------------------------------------------- */

static void default_metadata(struct fk_world *w, const struct kp_request *req,
                             struct kp_metadata_resp *r, struct kp_arena *a)
{
    const struct kp_metadata_req *q = req->msg;
    struct kp_metadata_resp_broker *br = kp_new(a, &kp_metadata_resp_broker_schema, w->nb);
    struct kp_metadata_resp_topic *t = kp_new(a, &kp_metadata_resp_topic_schema, FK_TOPICS);
    int nt = 0;
    for (int i = 0; i < w->nb; i++) {
        br[i].node_id = w->b[i].id;
        br[i].host = kp_slice_str("127.0.0.1");
        br[i].port = w->b[i].port;
    }
    KP_SET(r->brokers, w->nb, br);
    r->controller_id = w->controller;
    for (int i = 0; i < w->ntopics; i++) {
        bool asked = q->topics.n < 0;
        for (int32_t j = 0; j < q->topics.n && !asked; j++)
            asked = kp_slice_eq(q->topics.v[j].name, w->topics[i].name);
        if (!asked)
            continue;
        struct kp_metadata_resp_partition *p =
            kp_new(a, &kp_metadata_resp_partition_schema, w->topics[i].npartitions);
        for (int j = 0; j < w->topics[i].npartitions; j++) {
            p[j].partition_index = j;
            p[j].leader_id = w->topics[i].leader[j];
        }
        t[nt].name = kp_slice_str(w->topics[i].name);
        KP_SET(t[nt].partitions, w->topics[i].npartitions, p);
        nt++;
    }
    for (int32_t j = 0; j < q->topics.n && nt < FK_TOPICS; j++) { /* the unknown ones */
        bool known = false;
        for (int i = 0; i < w->ntopics; i++)
            known = known || kp_slice_eq(q->topics.v[j].name, w->topics[i].name);
        if (!known) {
            t[nt].name = q->topics.v[j].name;
            t[nt++].error_code = KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        }
    }
    KP_SET(r->topics, nt, t);
}

static void default_find_coordinator(struct fk_world *w, const struct kp_request *req,
                                     struct kp_find_coordinator_resp *r, struct kp_arena *a)
{
    struct fk_broker *c = &w->b[w->coordinator - 1];
    if (req->hdr.request_api_version < 4) {
        r->node_id = c->id;
        r->host = kp_slice_str("127.0.0.1");
        r->port = c->port;
        return;
    }
    const struct kp_find_coordinator_req *q = req->msg;
    struct kp_find_coordinator_resp_coordinator *x =
        kp_new(a, &kp_find_coordinator_resp_coordinator_schema, 1);
    x->key = q->coordinator_keys.n ? q->coordinator_keys.v[0] : kp_slice_str("");
    x->node_id = c->id;
    x->host = kp_slice_str("127.0.0.1");
    x->port = c->port;
    KP_SET(r->coordinators, 1, x);
}

/* Every topic created as asked. */
static void default_create_topics(const struct kp_request *req, struct kp_create_topics_resp *r,
                                  struct kp_arena *a)
{
    const struct kp_create_topics_req *q = req->msg;
    struct kp_create_topics_resp_creatable_topic_result *t =
        kp_new(a, &kp_create_topics_resp_creatable_topic_result_schema, q->topics.n);
    for (int32_t i = 0; i < q->topics.n; i++) {
        t[i].name = q->topics.v[i].name;
        t[i].num_partitions = q->topics.v[i].num_partitions;
        t[i].replication_factor = q->topics.v[i].replication_factor;
    }
    KP_SET(r->topics, q->topics.n, t);
}

int fk_default(struct fk_world *w, struct fk_broker *b, const struct kp_request *req, void *resp,
               struct kp_arena *arena)
{
    (void)b;
    switch (req->hdr.request_api_key) {
    case KP_API_METADATA:
        default_metadata(w, req, resp, arena);
        break;
    case KP_API_FIND_COORDINATOR:
        default_find_coordinator(w, req, resp, arena);
        break;
    case KP_API_CREATE_TOPICS:
        default_create_topics(req, resp, arena);
        break;
    case KP_API_SASL_HANDSHAKE: {
        const struct kp_sasl_handshake_req *q = req->msg;
        struct kp_sasl_handshake_resp *r = resp;
        struct kc_slice *m = kp_arena_alloc(arena, sizeof(*m));
        *m = kp_slice_str("PLAIN");
        KP_SET(r->mechanisms, 1, m);
        r->error_code = kp_slice_eq(q->mechanism, "PLAIN") ? 0 : 33;
        break;
    }
    case KP_API_SASL_AUTHENTICATE: {
        const struct kp_sasl_authenticate_req *q = req->msg;
        struct kp_sasl_authenticate_resp *r = resp;
        static const char good[] = "\0alice\0secret";
        bool ok = q->auth_bytes.len == (int32_t)sizeof(good) - 1 &&
                  memcmp(q->auth_bytes.p, good, sizeof(good) - 1) == 0;
        r->error_code = ok ? 0 : 58;
        r->error_message = kp_slice_str(ok ? NULL
                                           : "Authentication failed: Invalid username "
                                             "or password");
        r->auth_bytes = kp_slice_str("");
        break;
    }
    default:
        break; /* Kafka's defaults: error codes 0, arrays empty */
    }
    return 0;
}

/* ---- one request --------------------------------------------------------------------------- */

static void send_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n <= 0)
            return; /* the client went away: the test sees it on its side */
        p += n;
        len -= (size_t)n;
    }
}

static void api_versions(struct fk_broker *b, const struct kp_request *req, struct kc_writer *wr)
{
    struct kp_arena a;
    int16_t v = req->hdr.request_api_version;
    if (req->fallback || v > b->api_versions_max) {
        kp_api_versions_fallback(wr, req->hdr.correlation_id, 0, b->api_versions_max);
        return;
    }
    kp_arena_init(&a, 0);
    struct kp_api_versions_resp *r = kp_new(&a, &kp_api_versions_resp_schema, 1);
    struct kp_api_versions_resp_api_version *k =
        kp_new(&a, &kp_api_versions_resp_api_version_schema, 128);
    int n = 0;
    for (int key = 0; key < 128; key++)
        if (b->has[key])
            k[n++] =
                (struct kp_api_versions_resp_api_version){(int16_t)key, b->min[key], b->max[key]};
    KP_SET(r->api_keys, n, k);
    assert_int_equal(
        kp_response_encode(wr, KP_API_API_VERSIONS, v, req->hdr.correlation_id, r, NULL, NULL), 0);
    kp_arena_fini(&a);
}

/* Answer one request frame body; false: close the connection. */
static bool serve(struct fk_broker *b, const uint8_t *body, size_t len, int fd)
{
    struct fk_world *w = b->w;
    struct kp_request req;
    struct kc_writer wr;
    bool keep = true;
    assert_int_equal(kp_request_decode(body, len, 0, &req), 0); /* the client must be valid */
    kc_writer_init(&wr, 0);
    pthread_mutex_lock(&w->mu);
    if (w->nlog < FK_LOG)
        w->log[w->nlog++] =
            (struct fk_log){b->id, req.hdr.request_api_key, req.hdr.request_api_version};
    if (req.hdr.request_api_key == KP_API_API_VERSIONS) {
        api_versions(b, &req, &wr);
    } else if (b->mode != FK_ANSWER) {
        keep = b->mode == FK_STALL;
    } else {
        void *resp = kp_new(&req.arena, req.api->resp, 1);
        int h = w->handle ? w->handle(w, b, &req, resp, &req.arena) : 1;
        if (h == 1)
            h = fk_default(w, b, &req, resp, &req.arena);
        keep = h == 0;
        if (keep)
            assert_int_equal(kp_response_encode(&wr, req.hdr.request_api_key,
                                                req.hdr.request_api_version, req.hdr.correlation_id,
                                                resp, NULL, NULL),
                             0);
    }
    pthread_mutex_unlock(&w->mu);
    send_all(fd, kc_writer_data(&wr), kc_writer_len(&wr));
    kc_writer_fini(&wr);
    kp_request_fini(&req);
    return keep;
}

/* Read and answer one frame from fd; false when the connection is over. */
static bool serve_one(struct fk_broker *b, int fd)
{
    uint8_t size[4];
    if (kc_read_full(fd, size, 4) != 4)
        return false;
    size_t len = kc_load_be32(size);
    uint8_t *body = malloc(len ? len : 1);
    bool keep = body && kc_read_full(fd, body, len) == (ssize_t)len && serve(b, body, len, fd);
    free(body);
    return keep;
}

/* ---- the broker's thread -------------------------------------------------------------------- */

static void *broker_main(void *arg)
{
    struct fk_broker *b = arg;
    struct pollfd p[FK_CONNS + 2] = {{.fd = b->stop[0], .events = POLLIN},
                                     {.fd = b->lfd, .events = POLLIN}};
    int n = 2;
    for (;;) {
        if (poll(p, (nfds_t)n, -1) < 0 && errno != EINTR)
            break;
        if (p[0].revents)
            break;
        if ((p[1].revents & POLLIN) && n < FK_CONNS + 2) {
            int fd = accept(b->lfd, NULL, NULL);
            if (fd >= 0)
                p[n++] = (struct pollfd){.fd = fd, .events = POLLIN};
        }
        for (int i = 2; i < n; i++) {
            if (!p[i].revents || serve_one(b, p[i].fd))
                continue;
            close(p[i].fd);
            p[i--] = p[--n];
        }
    }
    for (int i = 2; i < n; i++)
        close(p[i].fd);
    return NULL;
}

static void broker_start(struct fk_world *w, struct fk_broker *b, int id)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    size_t napis;
    const struct kp_api *apis = kp_api_table(&napis);
    b->w = w;
    b->id = id;
    b->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(b->lfd >= 0);
    assert_int_equal(bind(b->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(b->lfd, 16), 0);
    assert_int_equal(getsockname(b->lfd, (struct sockaddr *)&sa, &len), 0);
    b->port = ntohs(sa.sin_port);
    snprintf(b->addr, sizeof(b->addr), "127.0.0.1:%d", b->port);
    for (size_t i = 0; i < napis; i++) {
        b->has[apis[i].key] = true;
        b->min[apis[i].key] = apis[i].min;
        b->max[apis[i].key] = apis[i].max;
    }
    b->api_versions_max = kp_api_find(KP_API_API_VERSIONS)->max;
    assert_int_equal(pipe(b->stop), 0);
    assert_int_equal(pthread_create(&b->thread, NULL, broker_main, b), 0);
}

void fk_start(struct fk_world *w, int n)
{
    memset(w, 0, sizeof(*w));
    pthread_mutex_init(&w->mu, NULL);
    w->nb = n;
    w->controller = w->coordinator = 1;
    for (int i = 0; i < n; i++)
        broker_start(w, &w->b[i], i + 1);
}

void fk_stop(struct fk_world *w)
{
    for (int i = 0; i < w->nb; i++) {
        struct fk_broker *b = &w->b[i];
        assert_int_equal(write(b->stop[1], "x", 1), 1);
        assert_int_equal(pthread_join(b->thread, NULL), 0);
        close(b->stop[0]);
        close(b->stop[1]);
        close(b->lfd);
    }
    pthread_mutex_destroy(&w->mu);
}

void fk_versions(struct fk_world *w, int16_t key, int16_t min, int16_t max)
{
    pthread_mutex_lock(&w->mu);
    for (int i = 0; i < w->nb; i++) {
        w->b[i].has[key] = min <= max;
        w->b[i].min[key] = min;
        w->b[i].max[key] = max;
    }
    pthread_mutex_unlock(&w->mu);
}

int fk_count(struct fk_world *w, int id, int16_t key, int16_t *last_version)
{
    int n = 0;
    pthread_mutex_lock(&w->mu);
    for (int i = 0; i < w->nlog; i++)
        if (w->log[i].key == key && (id == 0 || w->log[i].broker == id)) {
            n++;
            if (last_version)
                *last_version = w->log[i].version;
        }
    pthread_mutex_unlock(&w->mu);
    return n;
}

/* ---- running kafka_cli ---------------------------------------------------------------------- */

struct fk_run fk_cli(struct fk_world *w, const char *line, int timeout_ms,
                     const char *sasl_password)
{
    struct fk_run r = {0};
    size_t olen, elen;
    struct cli cli;
    FILE *out = open_memstream(&r.out, &olen), *err = open_memstream(&r.err, &elen);
    assert_non_null(out);
    assert_non_null(err);
    cli_init(&cli, "127.0.0.1:1", out, err); /* -b's address: nothing listens there */
    cli.timeout_ms = timeout_ms;
    cli.bootstrap = w->b[0].addr;
    if (sasl_password) {
        setenv(CLI_PASSWORD_ENV, sasl_password, 1);
        cli.sec.sasl_mechanism = "PLAIN";
        cli.sec.sasl_username = "alice";
        assert_int_equal(cli_security_init(&cli), CLI_OK);
        unsetenv(CLI_PASSWORD_ENV);
    }
    int64_t t0 = kc_mono_ms();
    r.status = cli_run_line(&cli, line);
    r.ms = kc_mono_ms() - t0;
    cli_fini(&cli);
    fclose(out);
    fclose(err);
    return r;
}

void fk_run_free(struct fk_run *r)
{
    free(r->out);
    free(r->err);
}

void fk_expect_status(const struct fk_run *r, const char *line, int status)
{
    if (r->status != status)
        fail_msg("'%s': status %d (want %d)\nstdout: %s\nstderr: %s", line, r->status, status,
                 r->out, r->err);
}
