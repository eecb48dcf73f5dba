/*
 * kgt.c - the coordinator tests' harness (kgt.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc_common.h"
#include "kgt.h"
#include "kp_codec.h"

static void copy_str(char *dst, size_t cap, struct kc_slice s)
{
    size_t n = s.len > 0 ? (size_t)s.len : 0;
    assert_true(n < cap);
    if (n)
        memcpy(dst, s.p, n);
    dst[n] = 0;
}

static void on_join(void *ctx, void *waiter, const struct kg_join_result *r)
{
    struct kgt_slot *s = waiter;
    (void)ctx;
    assert_int_equal(s->calls, 0); /* exactly one answer per waiter */
    s->calls++;
    s->error = r->error;
    s->generation = r->generation_id;
    s->skip = r->skip_assignment;
    copy_str(s->protocol, sizeof(s->protocol), r->protocol_name);
    copy_str(s->leader, sizeof(s->leader), r->leader);
    copy_str(s->member_id, sizeof(s->member_id), r->member_id);
    s->nmembers = r->nmembers;
    for (int32_t i = 0; i < r->nmembers && i < 8; i++) {
        copy_str(s->members[i], sizeof(s->members[i]), r->members[i].member_id);
        copy_str(s->instances[i], sizeof(s->instances[i]), r->members[i].group_instance_id);
    }
}

static void on_sync(void *ctx, void *waiter, const struct kg_sync_result *r)
{
    struct kgt_slot *s = waiter;
    (void)ctx;
    assert_int_equal(s->calls, 0);
    s->calls++;
    s->error = r->error;
    assert_true(r->assignment.len >= 0);
    copy_str(s->assignment, sizeof(s->assignment), r->assignment);
}

static void on_store(void *ctx, struct kc_slice group, const struct kg_record *rec, uint64_t seq)
{
    struct kgt_env *e = ctx;
    struct kgt_store *st = &e->stores[e->nstores++ % KGT_STORES];
    free(st->value); /* the ring keeps the latest KGT_STORES */
    st->seq = seq;
    copy_str(st->group, sizeof(st->group), group);
    st->tombstone = rec == NULL;
    st->value = NULL;
    st->len = 0;
    if (rec) {
        struct kc_writer w;
        kc_writer_init(&w, 0);
        assert_int_equal(rec->current_state_timestamp, -1); /* the server's to fill */
        assert_int_equal(kg_record_encode(&w, rec), 0);
        st->len = kc_writer_len(&w);
        st->value = malloc(st->len);
        memcpy(st->value, kc_writer_data(&w), st->len);
        kc_writer_fini(&w);
    }
}

static bool on_keep(void *ctx, struct kc_slice group)
{
    struct kgt_env *e = ctx;
    (void)group;
    return e->keep_empty;
}

static int setup_with(void **state, bool store)
{
    struct kgt_env *e = calloc(1, sizeof(*e));
    struct kg_group_opts o;
    kg_group_opts_default(&o);
    o.initial_rebalance_delay_ms = 0;
    o.seed = 7;
    struct kg_group_cbs cbs = {on_join, on_sync, e, store ? on_store : NULL, on_keep};
    assert_int_equal(kg_groups_create(&o, &cbs, &e->gs), 0);
    e->now = 1000000;
    *state = e;
    return 0;
}

int kgt_setup(void **state)
{
    return setup_with(state, true);
}

int kgt_setup_plain(void **state)
{
    return setup_with(state, false);
}

int kgt_teardown(void **state)
{
    struct kgt_env *e = *state;
    kg_groups_destroy(e->gs);
    for (int i = 0; i < KGT_STORES; i++)
        free(e->stores[i].value);
    free(e);
    return 0;
}

void kgt_join(struct kgt_env *e, struct kgt_slot *s, const struct kgt_join *j)
{
    struct kg_protocol protos[4];
    char meta[4][64];
    const char *client = j->client ? j->client : "client";
    int n = 0;
    for (; n < 4 && j->protos[n]; n++) {
        protos[n].name = kp_slice_str(j->protos[n]);
        if (j->meta[n]) {
            size_t len = j->meta_len[n] ? j->meta_len[n] : strlen(j->meta[n]);
            protos[n].metadata = (struct kc_slice){(const uint8_t *)j->meta[n], (int32_t)len};
        } else {
            snprintf(meta[n], sizeof(meta[n]), "%s@%s", j->protos[n], client);
            protos[n].metadata = kp_slice_str(meta[n]);
        }
    }
    struct kg_join req = {
        .group_id = kp_slice_str(j->group ? j->group : "g"),
        .session_timeout_ms = j->session ? j->session : 10000,
        .rebalance_timeout_ms = 20000,
        .member_id = kp_slice_str(j->member ? j->member : ""),
        .group_instance_id = kp_slice_str(j->instance),
        .protocol_type = kp_slice_str("consumer"),
        .nprotocols = n,
        .protocols = protos,
        .client_host = kp_slice_str("/127.0.0.1"),
    };
    memset(s, 0, sizeof(*s));
    kg_group_join(e->gs, j->version ? j->version : 5, kp_slice_str(client), &req, s, e->now);
}

void kgt_sync(struct kgt_env *e, struct kgt_slot *s, const char *member, const char *instance,
              int32_t gen, int n, const char *const *ids, const char *const *assigns)
{
    struct kg_assignment as[8];
    for (int i = 0; i < n; i++)
        as[i] = (struct kg_assignment){kp_slice_str(ids[i]), kp_slice_str(assigns[i])};
    struct kg_sync req = {kp_slice_str("g"), gen, kp_slice_str(member), kp_slice_str(instance),
                          {NULL, -1}, {NULL, -1}, n, as};
    memset(s, 0, sizeof(*s));
    kg_group_sync(e->gs, &req, s, e->now);
}

int16_t kgt_hb(struct kgt_env *e, const char *member, const char *instance, int32_t gen)
{
    struct kg_member_ref r = {kp_slice_str("g"), gen, kp_slice_str(member), kp_slice_str(instance)};
    return kg_group_heartbeat(e->gs, &r, e->now);
}

int16_t kgt_commit(struct kgt_env *e, const char *member, const char *instance, int32_t gen)
{
    struct kg_member_ref r = {kp_slice_str("g"), gen, kp_slice_str(member), kp_slice_str(instance)};
    return kg_group_commit_check(e->gs, &r, e->now);
}

int16_t kgt_leave(struct kgt_env *e, const char *member, const char *instance)
{
    return kg_group_leave(e->gs, kp_slice_str("g"), kp_slice_str(member), kp_slice_str(instance),
                          e->now);
}

struct kg_group_info kgt_info(struct kgt_env *e, const char *group)
{
    struct kg_group_info gi;
    assert_int_equal(kg_group_describe(e->gs, kp_slice_str(group), &gi), 0);
    return gi;
}

struct kgt_store *kgt_last_store(struct kgt_env *e)
{
    assert_true(e->nstores > 0);
    return &e->stores[(e->nstores - 1) % KGT_STORES];
}

void kgt_stored(struct kgt_env *e, uint64_t seq, int16_t error)
{
    for (int i = 0; i < KGT_STORES && i < e->nstores; i++) {
        if (e->stores[i].seq == seq) {
            kg_group_stored(e->gs, kp_slice_str(e->stores[i].group), seq, error, e->now);
            return;
        }
    }
    fail_msg("no store with seq %llu", (unsigned long long)seq);
}

void kgt_record(const struct kgt_store *st, struct kg_record *rec)
{
    assert_false(st->tombstone);
    assert_int_equal(kg_record_decode(st->value, st->len, rec), 0);
}
