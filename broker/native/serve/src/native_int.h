/*
 * native_int.h - what the native adapter's files share, and nobody else sees.
 *
 *   serve.c     frames, dispatch, per-connection state, error answers, the adapter table
 *   produce.c   1 produce, 5 produce-batch (acks=all parks until the fsync)
 *   consume.c   2 consume, 6 consume-batch (a long-poll parks until data or its time)
 *   offsets.c   3 commit (parks until the fsync), 4 fetch-offset
 *   admin.c     0 create-topic, 7 metadata, 8 ping, 9 info
 *   auth.c      10 sasl-handshake, 11 sasl-authenticate, the refusal before them, ACLs
 *
 * Every command is a thin layer: decode (np.h), authorize (the ACLs, auth.c), judge
 * (names, partitions, acks, ranges: each with its own error code and a message that says
 * what was wrong), call a core service, answer. An answer goes straight into the connection's queue, or, for a parked
 * request, into its park once it ends (struct native_out says which).
 */
#ifndef NATIVE_INT_H
#define NATIVE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "brk_service.h"
#include "kc_common.h"
#include "np.h"

/* Per connection: scratch space reused by every request. */
struct native_conn {
    struct kc_batch_builder builder; /* command 1 wraps its record in a batch */
    struct kc_writer scratch;        /* command 2 copies the record's batch here */
};

/* Where an answer goes: straight into the queue, or into a park that ended. */
struct native_out {
    struct brk_conn *c;
    struct brk_park *park;
};

struct kc_writer *native__w(const struct native_out *o);
int native__file(const struct native_out *o, struct alog_slice *slice);

/* An error answer with a message (printf-style), and the log range when it helps. */
void native__error(const struct native_out *o, int cmd, uint32_t corr, int code,
                   int64_t log_start, int64_t log_end, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
/* An error from a core service, in the native protocol's words. */
void native__error_kc(const struct native_out *o, int cmd, uint32_t corr, int err,
                      const char *what);
/* The connection's scratch state (made on first use); NULL on -ENOMEM. */
struct native_conn *native__conn(struct brk_conn *c);

/* The topic a request names, for op (enum sec_acl_op: READ, DESCRIBE, or WRITE). First
 * the ACL for op (TOPIC_AUTHORIZATION_FAILED), then the lookup: reading never creates and
 * may read the internal topic; WRITE refuses the internal topic and creates a missing one
 * if auto.create.topics.enable and the principal may create it (Kafka's rule). 0, or -1
 * once answered. */
int native__topic(const struct native_out *o, int cmd, uint32_t corr, struct kc_slice name,
                  int op, struct part_topic **t);
/* Partition p of t, or NULL once answered UNKNOWN_PARTITION. */
struct alog *native__partition(const struct native_out *o, int cmd, uint32_t corr,
                               struct part_topic *t, int32_t p);
/* Is log open (brk_logs_ready)? true: go on, pinned until serve returns. false: answered
 * with a retriable STORAGE error (it could not be opened), or the request waits for the
 * open and will be served again: either way, return at once. */
bool native__ready(const struct native_out *o, int cmd, uint32_t corr, struct alog *log);
/* "holds offsets 3 to 9" or "is empty (its next offset is 3)", for range errors. */
const char *native__range_text(int64_t ls, int64_t le, char *buf, size_t cap);

/* ---- who is asking (auth.c) ---- */

/* A command other than 10/11 on a SASL listener before the exchange succeeded: answered
 * ILLEGAL_SASL_STATE; true means the caller must close the connection. */
bool native__refused_before_auth(const struct native_out *o, int cmd, uint32_t corr);
/* The ACL checks, each answering with Kafka's error when it denies: 0, or -1 once answered. */
int native__allow_topic(const struct native_out *o, int cmd, uint32_t corr, int op,
                        struct kc_slice name);
int native__allow_group(const struct native_out *o, int cmd, uint32_t corr, int op,
                        struct kc_slice name);
/* CREATE on the cluster, else on the topic. */
int native__allow_create(const struct native_out *o, int cmd, uint32_t corr,
                         struct kc_slice name);
/* May the connection see this topic (DESCRIBE)? Quiet: for hiding topics from a list. */
bool native__may_describe(const struct native_out *o, const char *topic);

/* The commands: body b[0..n) after the request header. */
void native__create(const struct native_out *o, uint32_t corr, const uint8_t *b, size_t n);
void native__produce(const struct native_out *o, uint32_t corr, const uint8_t *b, size_t n);
void native__produce_batch(const struct native_out *o, uint32_t corr, uint8_t *b, size_t n);
void native__consume(const struct native_out *o, uint32_t corr, const uint8_t *b, size_t n);
void native__consume_batch(const struct native_out *o, uint32_t corr, const uint8_t *b,
                           size_t n);
void native__commit(const struct native_out *o, uint32_t corr, const uint8_t *b, size_t n);
void native__fetch_offset(const struct native_out *o, uint32_t corr, const uint8_t *b,
                          size_t n);
void native__metadata(const struct native_out *o, uint32_t corr, const uint8_t *b, size_t n);
void native__ping(const struct native_out *o, uint32_t corr, const uint8_t *b, size_t n);
void native__info(const struct native_out *o, uint32_t corr, const uint8_t *b, size_t n);
void native__sasl_handshake(const struct native_out *o, uint32_t corr, const uint8_t *b,
                            size_t n);
void native__sasl_authenticate(const struct native_out *o, uint32_t corr, const uint8_t *b,
                               size_t n);

#endif
