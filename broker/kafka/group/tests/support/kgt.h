/*
 * kgt.h - a harness for the coordinator's tests of static members and persistence: a fake
 * clock, slots that record each JoinGroup/SyncGroup answer (and fail the test if a waiter
 * is answered twice), and a fake server that keeps every record the coordinator asks it
 * to store until the test says the store is durable (kgt_stored) or failed.
 */
#ifndef KGT_H
#define KGT_H

#include <stdbool.h>
#include <stdint.h>

#include "kg.h"

struct kgt_slot {
    int calls;
    int16_t error;
    int32_t generation;
    char protocol[64], leader[128], member_id[128];
    int32_t nmembers;
    char members[8][128];
    char instances[8][64]; /* "" for a dynamic member */
    bool skip;
    char assignment[64];
};

struct kgt_store {
    uint64_t seq;
    char group[64];
    bool tombstone;
    uint8_t *value; /* the encoded GroupMetadataValue (malloc'ed) */
    size_t len;
};

#define KGT_STORES 64

struct kgt_env {
    struct kg_groups *gs;
    int64_t now;
    bool keep_empty;    /* what the fake server says about committed offsets */
    int nstores;        /* how many stores were asked for; the latest KGT_STORES are kept */
    struct kgt_store stores[KGT_STORES];
};

/* cmocka setup/teardown: a coordinator with a store callback (or, kgt_setup_plain, none),
 * initial delay 0, seed fixed. */
int kgt_setup(void **state);
int kgt_setup_plain(void **state);
int kgt_teardown(void **state);

struct kgt_join {
    const char *group, *member, *instance, *client;
    const char *protos[4];
    const char *meta[4];   /* NULL: "<protocol>@<client>" */
    size_t meta_len[4];    /* 0: strlen */
    int16_t version;       /* 0: 5 */
    int32_t session;       /* 0: 10 s */
};

void kgt_join(struct kgt_env *e, struct kgt_slot *s, const struct kgt_join *j);
/* SyncGroup of group "g"; the leader passes n assignments. */
void kgt_sync(struct kgt_env *e, struct kgt_slot *s, const char *member, const char *instance,
              int32_t gen, int n, const char *const *ids, const char *const *assigns);
int16_t kgt_hb(struct kgt_env *e, const char *member, const char *instance, int32_t gen);
int16_t kgt_commit(struct kgt_env *e, const char *member, const char *instance, int32_t gen);
int16_t kgt_leave(struct kgt_env *e, const char *member, const char *instance);
struct kg_group_info kgt_info(struct kgt_env *e, const char *group);

/* The latest store asked for (fails the test if there is none). */
struct kgt_store *kgt_last_store(struct kgt_env *e);
/* Answer the store with seq. */
void kgt_stored(struct kgt_env *e, uint64_t seq, int16_t error);
/* Decode a store's value (kg_record_fini it). */
void kgt_record(const struct kgt_store *st, struct kg_record *rec);

#endif
