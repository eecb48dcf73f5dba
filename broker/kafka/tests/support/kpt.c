/*
 * kpt.c - response decoders and fixture helpers for the tests (contract in kpt.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc_err.h"
#include "kc_test.h"
#include "kpt.h"

#define FIXTURES "broker/kafka/tests/fixtures"

uint8_t *kpt_fixture(const char *rel, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), FIXTURES "/%s", rel);
    return kc_test_load(path, len);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names in dir (relative to the source root) that end in suffix ("" = any). */
static int list_dir(const char *dir, const char *suffix, char **names, int max)
{
    char path[512];
    const char *root = getenv("KC_SRC_DIR");
    snprintf(path, sizeof(path), "%s/%s", root ? root : ".", dir);
    DIR *dh = opendir(path);
    if (!dh)
        fail_msg("cannot open %s", path);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(dh)) && n < max) {
        size_t l = strlen(de->d_name), sl = strlen(suffix);
        if (de->d_name[0] == '.' || l < sl || strcmp(de->d_name + l - sl, suffix))
            continue;
        names[n++] = strdup(de->d_name);
    }
    (void)closedir(dh); /* read-only directory: nothing to lose */
    qsort(names, (size_t)n, sizeof(*names), cmp_str);
    return n;
}

void kpt_each_request(void (*fn)(const char *rel, void *arg), void *arg)
{
    char *scen[32], *reqs[128];
    int ns = list_dir(FIXTURES, "", scen, 32), total = 0;
    for (int i = 0; i < ns; i++) {
        char dir[256];
        snprintf(dir, sizeof(dir), FIXTURES "/%s", scen[i]);
        int nr = list_dir(dir, ".req", reqs, 128);
        for (int j = 0; j < nr; j++) {
            char rel[512];
            snprintf(rel, sizeof(rel), "%s/%s", scen[i], reqs[j]);
            fn(rel, arg);
            free(reqs[j]);
            total++;
        }
        free(scen[i]);
    }
    assert_true(total > 50); /* the fixtures are all there */
}

void kpt_decode_request(const uint8_t *frame, size_t len, struct kp_request *req)
{
    size_t flen = 0;
    assert_int_equal(kp_frame_check(frame, len, KP_FRAME_MAX_DEFAULT, &flen), 0);
    assert_int_equal(flen, len);
    int rc = kp_request_decode(frame + 4, len - 4, req);
    if (rc)
        fail_msg("decode: %s", kc_strerror(rc));
}

void kpt_free(struct kp__chunk **mem)
{
    kp__arena_free(mem);
}

int32_t kpt_resp_corr(const uint8_t *f)
{
    return (int32_t)kc_load_be32(f + 4);
}

/* Open a response frame: check the size, skip size and correlation id. */
static void open_frame(struct kp__dec *d, const uint8_t *f, size_t n, int16_t version,
                       struct kp__chunk **mem)
{
    memset(d, 0, sizeof(*d));
    d->mem = mem;
    d->version = version;
    kc_reader_init(&d->r, f, n);
    if (n < 8 || kc_load_be32(f) != n - 4)
        kp__dec_fail(d, KC_EMALFORMED);
    else
        d->r.pos = 8;
}

static int close_frame(struct kp__dec *d)
{
    if (!d->err && kc_reader_left(&d->r) != 0)
        kp__dec_fail(d, KC_EMALFORMED);
    return d->err;
}

int kpt_resp_api_versions(const uint8_t *f, size_t n, int16_t version, int16_t *error,
                          int32_t *nkeys, struct kp_api *keys, int32_t max_keys)
{
    struct kp__dec d;
    struct kp__chunk *mem = NULL;
    open_frame(&d, f, n, version, &mem);
    *error = kp__rd_i16(&d);
    *nkeys = kp__rd_i32(&d);
    if (*nkeys < 0 || *nkeys > max_keys)
        kp__dec_fail(&d, KC_EMALFORMED);
    for (int32_t i = 0; i < *nkeys && !d.err; i++) {
        keys[i].key = kp__rd_i16(&d);
        keys[i].min = kp__rd_i16(&d);
        keys[i].max = kp__rd_i16(&d);
    }
    if (version >= 1 && *error != KP_ERR_UNSUPPORTED_VERSION)
        (void)kp__rd_i32(&d);
    return close_frame(&d);
}

static int32_t *rd_i32_array(struct kp__dec *d, int32_t *n)
{
    int32_t *v;
    *n = kp__rd_array(d, 4, false, (void **)&v, sizeof(*v));
    for (int32_t i = 0; i < *n && !d->err; i++)
        v[i] = kp__rd_i32(d);
    return v;
}

static void rd_metadata_topic(struct kp__dec *d, struct kp_metadata_topic *t)
{
    struct kp_metadata_part *parts;
    t->error = kp__rd_i16(d);
    t->name = kp__rd_str(d);
    t->is_internal = d->version >= 1 ? kp__rd_bool(d) : false;
    t->nparts = kp__rd_array(d, 18, false, (void **)&parts, sizeof(*parts));
    for (int32_t j = 0; j < t->nparts && !d->err; j++) {
        parts[j].error = kp__rd_i16(d);
        parts[j].index = kp__rd_i32(d);
        parts[j].leader = kp__rd_i32(d);
        parts[j].replicas = rd_i32_array(d, &parts[j].nreplicas);
        parts[j].isr = rd_i32_array(d, &parts[j].nisr);
    }
    t->parts = parts;
}

int kpt_resp_metadata(const uint8_t *f, size_t n, int16_t version, struct kp__chunk **mem,
                      struct kp_metadata_resp *out)
{
    struct kp__dec d;
    struct kp_metadata_broker *b;
    struct kp_metadata_topic *t;
    open_frame(&d, f, n, version, mem);
    memset(out, 0, sizeof(*out));
    if (version >= 3)
        (void)kp__rd_i32(&d);
    out->nbrokers = kp__rd_array(&d, 10, false, (void **)&b, sizeof(*b));
    for (int32_t i = 0; i < out->nbrokers && !d.err; i++) {
        b[i].node_id = kp__rd_i32(&d);
        b[i].host = kp__rd_str(&d);
        b[i].port = kp__rd_i32(&d);
        b[i].rack = version >= 1 ? kp__rd_nstr(&d) : (struct kc_slice){NULL, -1};
    }
    out->brokers = b;
    out->cluster_id = version >= 2 ? kp__rd_nstr(&d) : (struct kc_slice){NULL, -1};
    out->controller_id = version >= 1 ? kp__rd_i32(&d) : -1;
    out->ntopics = kp__rd_array(&d, 8, false, (void **)&t, sizeof(*t));
    for (int32_t i = 0; i < out->ntopics && !d.err; i++)
        rd_metadata_topic(&d, &t[i]);
    out->topics = t;
    return close_frame(&d);
}

int kpt_resp_produce(const uint8_t *f, size_t n, int16_t version, struct kp__chunk **mem,
                     struct kp_produce_req *out)
{
    struct kp__dec d;
    open_frame(&d, f, n, version, mem);
    memset(out, 0, sizeof(*out));
    out->ntopics = kp__rd_array(&d, 6, false, (void **)&out->topics, sizeof(*out->topics));
    for (int32_t i = 0; i < out->ntopics && !d.err; i++) {
        struct kp_produce_topic *t = &out->topics[i];
        t->name = kp__rd_str(&d);
        t->nparts = kp__rd_array(&d, 22, false, (void **)&t->parts, sizeof(*t->parts));
        for (int32_t j = 0; j < t->nparts && !d.err; j++) {
            struct kp_produce_part *p = &t->parts[j];
            p->index = kp__rd_i32(&d);
            p->error = kp__rd_i16(&d);
            p->base_offset = kp__rd_i64(&d);
            p->log_append_time = kp__rd_i64(&d);
            p->log_start_offset = version >= 5 ? kp__rd_i64(&d) : -1;
        }
    }
    (void)kp__rd_i32(&d); /* throttle, last */
    return close_frame(&d);
}

static void rd_fetch_part(struct kp__dec *d, struct kp_fetch_req *out, struct kp_fetch_part *p,
                          bool *first)
{
    p->index = kp__rd_i32(d);
    p->error = kp__rd_i16(d);
    p->high_watermark = kp__rd_i64(d);
    p->last_stable_offset = kp__rd_i64(d);
    p->log_start_offset = d->version >= 5 ? kp__rd_i64(d) : -1;
    int32_t aborted = kp__rd_i32(d);
    if (aborted > 0 || aborted < -1 || (!*first && out->isolation_level != (aborted == 0)))
        kp__dec_fail(d, KC_EMALFORMED); /* our encoder writes none */
    out->isolation_level = aborted == 0;
    *first = false;
    if (d->version >= 11 && kp__rd_i32(d) != -1)
        kp__dec_fail(d, KC_EMALFORMED);
    struct kc_slice rec = kp__rd_bytes(d);
    p->records = rec.p;
    p->records_len = rec.len;
}

int kpt_resp_fetch(const uint8_t *f, size_t n, int16_t version, struct kp__chunk **mem,
                   struct kp_fetch_req *out)
{
    struct kp__dec d;
    bool first = true;
    open_frame(&d, f, n, version, mem);
    memset(out, 0, sizeof(*out));
    (void)kp__rd_i32(&d); /* throttle */
    if (version >= 7) {
        out->error = kp__rd_i16(&d);
        out->session_id = kp__rd_i32(&d);
    }
    out->ntopics = kp__rd_array(&d, 6, false, (void **)&out->topics, sizeof(*out->topics));
    for (int32_t i = 0; i < out->ntopics && !d.err; i++) {
        struct kp_fetch_topic *t = &out->topics[i];
        t->name = kp__rd_str(&d);
        t->nparts = kp__rd_array(&d, 30, false, (void **)&t->parts, sizeof(*t->parts));
        for (int32_t j = 0; j < t->nparts && !d.err; j++)
            rd_fetch_part(&d, out, &t->parts[j], &first);
        out->nparts_total += t->nparts;
    }
    return close_frame(&d);
}

int kpt_resp_list_offsets(const uint8_t *f, size_t n, int16_t version, struct kp__chunk **mem,
                          struct kp_list_offsets_req *out)
{
    struct kp__dec d;
    open_frame(&d, f, n, version, mem);
    memset(out, 0, sizeof(*out));
    if (version >= 2)
        (void)kp__rd_i32(&d);
    out->ntopics = kp__rd_array(&d, 6, false, (void **)&out->topics, sizeof(*out->topics));
    for (int32_t i = 0; i < out->ntopics && !d.err; i++) {
        struct kp_list_offsets_topic *t = &out->topics[i];
        t->name = kp__rd_str(&d);
        t->nparts = kp__rd_array(&d, 22, false, (void **)&t->parts, sizeof(*t->parts));
        for (int32_t j = 0; j < t->nparts && !d.err; j++) {
            t->parts[j].index = kp__rd_i32(&d);
            t->parts[j].error = kp__rd_i16(&d);
            t->parts[j].found_timestamp = kp__rd_i64(&d);
            t->parts[j].offset = kp__rd_i64(&d);
        }
    }
    return close_frame(&d);
}

int kpt_resp_find_coordinator(const uint8_t *f, size_t n, int16_t version,
                              struct kp_find_coordinator_resp *out)
{
    struct kp__dec d;
    struct kp__chunk *mem = NULL;
    open_frame(&d, f, n, version, &mem);
    memset(out, 0, sizeof(*out));
    if (version >= 1)
        (void)kp__rd_i32(&d);
    out->error = kp__rd_i16(&d);
    out->error_message = version >= 1 ? kp__rd_nstr(&d) : (struct kc_slice){NULL, -1};
    out->node_id = kp__rd_i32(&d);
    out->host = kp__rd_str(&d);
    out->port = kp__rd_i32(&d);
    return close_frame(&d);
}

int kpt_resp_join_group(const uint8_t *f, size_t n, int16_t version, struct kp__chunk **mem,
                        struct kp_join_group_resp *out)
{
    struct kp__dec d;
    struct kp_join_member *m;
    open_frame(&d, f, n, version, mem);
    memset(out, 0, sizeof(*out));
    if (version >= 2)
        (void)kp__rd_i32(&d);
    out->error = kp__rd_i16(&d);
    out->generation_id = kp__rd_i32(&d);
    out->protocol_name = kp__rd_str(&d);
    out->leader = kp__rd_str(&d);
    out->member_id = kp__rd_str(&d);
    out->nmembers = kp__rd_array(&d, 6, false, (void **)&m, sizeof(*m));
    for (int32_t i = 0; i < out->nmembers && !d.err; i++) {
        m[i].member_id = kp__rd_str(&d);
        m[i].group_instance_id = version >= 5 ? kp__rd_nstr(&d) : (struct kc_slice){NULL, -1};
        m[i].metadata = kp__rd_bytes(&d);
    }
    out->members = m;
    return close_frame(&d);
}

int kpt_resp_sync_group(const uint8_t *f, size_t n, int16_t version,
                        struct kp_sync_group_resp *out)
{
    struct kp__dec d;
    struct kp__chunk *mem = NULL;
    open_frame(&d, f, n, version, &mem);
    if (version >= 1)
        (void)kp__rd_i32(&d);
    out->error = kp__rd_i16(&d);
    out->assignment = kp__rd_bytes(&d);
    return close_frame(&d);
}

int kpt_resp_error_only(const uint8_t *f, size_t n, int16_t version, int16_t *error)
{
    struct kp__dec d;
    struct kp__chunk *mem = NULL;
    open_frame(&d, f, n, version, &mem);
    if (version >= 1)
        (void)kp__rd_i32(&d);
    *error = kp__rd_i16(&d);
    return close_frame(&d);
}

int kpt_resp_offset_commit(const uint8_t *f, size_t n, int16_t version, struct kp__chunk **mem,
                           struct kp_offset_commit_req *out)
{
    struct kp__dec d;
    open_frame(&d, f, n, version, mem);
    memset(out, 0, sizeof(*out));
    if (version >= 3)
        (void)kp__rd_i32(&d);
    out->ntopics = kp__rd_array(&d, 6, false, (void **)&out->topics, sizeof(*out->topics));
    for (int32_t i = 0; i < out->ntopics && !d.err; i++) {
        struct kp_offset_commit_topic *t = &out->topics[i];
        t->name = kp__rd_str(&d);
        t->nparts = kp__rd_array(&d, 6, false, (void **)&t->parts, sizeof(*t->parts));
        for (int32_t j = 0; j < t->nparts && !d.err; j++) {
            t->parts[j].index = kp__rd_i32(&d);
            t->parts[j].error = kp__rd_i16(&d);
        }
    }
    return close_frame(&d);
}

int kpt_resp_offset_fetch(const uint8_t *f, size_t n, int16_t version, struct kp__chunk **mem,
                          struct kp_offset_fetch_resp *out)
{
    struct kp__dec d;
    struct kp_offset_fetch_resp_topic *t;
    open_frame(&d, f, n, version, mem);
    memset(out, 0, sizeof(*out));
    if (version >= 3)
        (void)kp__rd_i32(&d);
    out->ntopics = kp__rd_array(&d, 6, false, (void **)&t, sizeof(*t));
    for (int32_t i = 0; i < out->ntopics && !d.err; i++) {
        struct kp_offset_fetch_part *p;
        t[i].name = kp__rd_str(&d);
        t[i].nparts = kp__rd_array(&d, 16, false, (void **)&p, sizeof(*p));
        for (int32_t j = 0; j < t[i].nparts && !d.err; j++) {
            p[j].index = kp__rd_i32(&d);
            p[j].offset = kp__rd_i64(&d);
            p[j].metadata = kp__rd_nstr(&d);
            p[j].error = kp__rd_i16(&d);
        }
        t[i].parts = p;
    }
    out->topics = t;
    if (version >= 2)
        out->error = kp__rd_i16(&d);
    return close_frame(&d);
}
