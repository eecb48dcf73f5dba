/*
 * kpt.h - test support for libbrk_kafka: the client's side of the codec.
 *
 * The library only decodes requests and encodes responses, as a broker does. To prove
 * the encoders right, the tests need the other direction too: these decoders read
 * responses (with the same sticky reader the library uses) into the library's own
 * structs, so a response can be decoded and encoded again and compared byte for byte,
 * and a response captured from librdkafka's mock broker can be decoded and re-encoded by
 * our encoder into exactly the bytes the mock sent.
 *
 * Every decoder takes a whole frame (size prefix included), requires the size to match
 * and every byte to be consumed, and returns 0 or KC_EMALFORMED. Arrays live in *mem,
 * freed with kpt_free(&mem); slices point into the frame.
 */
#ifndef KPT_H
#define KPT_H

#include <stddef.h>
#include <stdint.h>

#include "kp.h"
#include "kp_int.h"

/* A fixture file's bytes (malloc'ed) relative to broker/kafka/tests/fixtures/. */
uint8_t *kpt_fixture(const char *rel, size_t *len);

/* Call fn for every "<scenario>/<name>.req" under the fixtures directory (sorted). */
void kpt_each_request(void (*fn)(const char *rel, void *arg), void *arg);

/* Decode a whole request frame (size prefix included); fails the test on error. */
void kpt_decode_request(const uint8_t *frame, size_t len, struct kp_request *req);

void kpt_free(struct kp__chunk **mem);

int kpt_resp_api_versions(const uint8_t *f, size_t n, int16_t version, int16_t *error,
                          int32_t *nkeys, struct kp_api *keys, int32_t max_keys);
int kpt_resp_metadata(const uint8_t *f, size_t n, int16_t version, struct kp__chunk **mem,
                      struct kp_metadata_resp *out);
int kpt_resp_produce(const uint8_t *f, size_t n, int16_t version, struct kp__chunk **mem,
                     struct kp_produce_req *out);
/* isolation: the request's isolation level (decides how aborted_transactions must read). */
int kpt_resp_fetch(const uint8_t *f, size_t n, int16_t version, struct kp__chunk **mem,
                   struct kp_fetch_req *out);
int kpt_resp_list_offsets(const uint8_t *f, size_t n, int16_t version, struct kp__chunk **mem,
                          struct kp_list_offsets_req *out);
int kpt_resp_find_coordinator(const uint8_t *f, size_t n, int16_t version,
                              struct kp_find_coordinator_resp *out);
int kpt_resp_join_group(const uint8_t *f, size_t n, int16_t version, struct kp__chunk **mem,
                        struct kp_join_group_resp *out);
int kpt_resp_sync_group(const uint8_t *f, size_t n, int16_t version,
                        struct kp_sync_group_resp *out);
/* Heartbeat and LeaveGroup v0-1 (error only). */
int kpt_resp_error_only(const uint8_t *f, size_t n, int16_t version, int16_t *error);
int kpt_resp_offset_commit(const uint8_t *f, size_t n, int16_t version, struct kp__chunk **mem,
                           struct kp_offset_commit_req *out);
int kpt_resp_offset_fetch(const uint8_t *f, size_t n, int16_t version, struct kp__chunk **mem,
                          struct kp_offset_fetch_resp *out);

/* The correlation id of a response frame. */
int32_t kpt_resp_corr(const uint8_t *f);

#endif
