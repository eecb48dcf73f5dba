/*
 * znode_pids.c - /latest_producer_id_block (clu_pids.h): its body, and the conditional
 * write that claims the next block.
 *
 *   {"version":1,"broker":2,"block_start":"3000","block_end":"3999"}
 *
 * The numbers are decimal STRINGS, as Kafka writes them (a JSON number is a double to
 * many readers, and ids reach 2^63). The end is inclusive. Claiming:
 *
 *   broker 1                         ZooKeeper                     broker 2
 *   get  -> ..."block_end":"3999", version 7                       get -> same, version 7
 *   set  4000..4999 if version 7 ->  ok, version 8
 *                                    BADVERSION  <- set 4000..4999 if version 7
 *                                                   get -> "block_end":"4999", version 8
 *                                    ok, version 9 <- set 5000..5999 if version 8
 *
 * Two brokers can never both succeed from the same version, so no block is handed to
 * two brokers; a broker that loses the race reads again.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#ifndef THREADED
#define THREADED /* zookeeper.h declares the synchronous API only for the _mt library */
#endif
#include <zookeeper/zookeeper.h>

#include "clu_jw.h"
#include "clu_pids.h"
#include "kc_err.h"
#include "kc_log.h"
#include "kc_parse.h"

#define CLAIM_TRIES 16 /* lost races in a row before giving up for now (-EAGAIN) */

int clu_pids_block_encode(const struct clu_pids_block *b, char *buf, size_t cap)
{
    if (b->broker < 0 || b->start < 0 || b->end < b->start)
        return -EINVAL;
    int n = snprintf(buf, cap,
                     "{\"version\":1,\"broker\":%" PRId32 ",\"block_start\":\"%" PRId64
                     "\",\"block_end\":\"%" PRId64 "\"}",
                     b->broker, b->start, b->end);
    return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

/* A member that is a decimal string of a non-negative int64, no sign, no leading zero. */
static int id_member(const struct clu_json *j, const char *key, int64_t *out)
{
    char s[24];
    int rc = clu__jr_str(j, 0, key, s, sizeof(s));
    if (rc != 0)
        return KC_EMALFORMED; /* absent, not a string, or too long for an int64 */
    size_t n = strlen(s);
    if (n == 0 || (n > 1 && s[0] == '0'))
        return KC_EMALFORMED;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return KC_EMALFORMED;
    return kc_parse_i64(s, 0, INT64_MAX, out) == 0 ? 0 : KC_EMALFORMED;
}

int clu_pids_block_decode(const char *buf, size_t len, struct clu_pids_block *b)
{
    struct clu_json j;
    int rc = clu__jr_object(&j, buf, len);
    if (rc != 0)
        return rc == -ENOMEM ? rc : KC_EMALFORMED;
    int32_t version;
    if (clu__jr_i32(&j, 0, "version", 1, 1, &version) != 0 ||
        clu__jr_i32(&j, 0, "broker", 0, INT32_MAX, &b->broker) != 0 ||
        id_member(&j, "block_start", &b->start) != 0 || id_member(&j, "block_end", &b->end) != 0 ||
        b->end < b->start)
        rc = KC_EMALFORMED;
    clu_json_fini(&j);
    return rc;
}

int clu_pids_block_after(const struct clu_pids_block *prev, int32_t broker,
                         struct clu_pids_block *next)
{
    if (prev->end > INT64_MAX - CLU_PIDS_BLOCK_SIZE)
        return -EOVERFLOW; /* Kafka's "exhausted all producerIds" */
    next->broker = broker;
    next->start = prev->end + 1;
    next->end = prev->end + CLU_PIDS_BLOCK_SIZE;
    return 0;
}

static int zk_errno(int zrc)
{
    return zrc == ZCONNECTIONLOSS || zrc == ZOPERATIONTIMEOUT || zrc == ZSESSIONEXPIRED ||
                   zrc == ZINVALIDSTATE || zrc == ZCLOSING
               ? -EAGAIN
               : -EIO;
}

/* One attempt: 0 and *out; 1 to try again (a race lost); < 0 an error. */
static int claim_once(zhandle_t *zh, int32_t broker, struct clu_pids_block *out)
{
    char body[CLU_PIDS_BODY_MAX * 4];
    int len = (int)sizeof(body);
    struct Stat st;
    struct clu_pids_block prev, next = {broker, 0, CLU_PIDS_BLOCK_SIZE - 1};
    int zrc = zoo_get(zh, CLU_PIDS_PATH, 0, body, &len, &st);
    if (zrc == ZNONODE) { /* the cluster's first block: whoever creates the node has it */
        char text[CLU_PIDS_BODY_MAX];
        int n = clu_pids_block_encode(&next, text, sizeof(text));
        zrc = zoo_create(zh, CLU_PIDS_PATH, text, n, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0);
        if (zrc == ZNODEEXISTS)
            return 1;
        if (zrc != ZOK)
            return zk_errno(zrc);
        *out = next;
        return 0;
    }
    if (zrc != ZOK)
        return zk_errno(zrc);
    if (len < 0 || len >= (int)sizeof(body) || clu_pids_block_decode(body, (size_t)len, &prev))
        return KC_EMALFORMED; /* never guess where the used ids end */
    int rc = clu_pids_block_after(&prev, broker, &next);
    if (rc != 0)
        return rc;
    char text[CLU_PIDS_BODY_MAX];
    int n = clu_pids_block_encode(&next, text, sizeof(text));
    zrc = zoo_set(zh, CLU_PIDS_PATH, text, n, st.version);
    if (zrc == ZBADVERSION || zrc == ZNONODE)
        return 1;
    if (zrc != ZOK)
        return zk_errno(zrc);
    *out = next;
    return 0;
}

int clu_pids_claim(void *handle, int32_t broker, struct clu_pids_block *out)
{
    for (int i = 0; i < CLAIM_TRIES; i++) {
        int rc = claim_once(handle, broker, out);
        if (rc <= 0)
            return rc;
    }
    kc_log_warn("producer ids: lost the race for %s %d times in a row; trying later", CLU_PIDS_PATH,
                CLAIM_TRIES);
    return -EAGAIN;
}
