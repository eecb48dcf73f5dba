/*
 * apiversions.c - the table this broker advertises, and ApiVersions itself.
 *
 * The table is the contract with every client (reference §1.1). Two rules shape it:
 *  - minimums are 0: librdkafka <= 2.11 checks that single old versions (ApiVersions 0,
 *    FindCoordinator 0, Produce 3, Fetch 4, Produce 7 + Fetch 10 for zstd) lie inside
 *    the advertised range, and turns features off otherwise;
 *  - maximums stop below each API's first flexible version (and OffsetFetch at 4, because
 *    librdkafka would pick its flexible 6-7), so both clients use one known version each.
 * Fetch goes up to 11 so that librdkafka (and kcat) will produce zstd.
 *
 * ApiVersions is the one API whose unknown versions are answered rather than refused:
 * the client cannot know our range before asking. Kafka answers a version above its
 * maximum without parsing the body, in the v0 layout (every client can read it), with
 * UNSUPPORTED_VERSION and the entry for key 18 so the client can retry in range:
 *
 *     size | correlation_id | error=35 i16 | count=1 i32 | 18 i16 | min i16 | max i16
 *
 * librdkafka 2.0.2 opens every connection with ApiVersions v3; with max 2 here it gets
 * this answer and retries with v0 (captured: tests/fixtures/kcat_*\/ApiVersions_v*).
 */
#include <errno.h>

#include "kp_int.h"

static const struct kp_api api_table[] = {
    /* key                      min max impl flex name */
    {KP_API_PRODUCE,            0,  7,  3,   9,   "Produce"},
    {KP_API_FETCH,              0,  11, 4,   12,  "Fetch"},
    {KP_API_LIST_OFFSETS,       0,  2,  1,   6,   "ListOffsets"},
    {KP_API_METADATA,           0,  4,  0,   9,   "Metadata"},
    {KP_API_OFFSET_COMMIT,      0,  5,  0,   8,   "OffsetCommit"},
    {KP_API_OFFSET_FETCH,       0,  4,  0,   6,   "OffsetFetch"},
    {KP_API_FIND_COORDINATOR,   0,  2,  0,   3,   "FindCoordinator"},
    {KP_API_JOIN_GROUP,         0,  5,  0,   6,   "JoinGroup"},
    {KP_API_HEARTBEAT,          0,  3,  0,   4,   "Heartbeat"},
    {KP_API_LEAVE_GROUP,        0,  1,  0,   4,   "LeaveGroup"},
    {KP_API_SYNC_GROUP,         0,  3,  0,   4,   "SyncGroup"},
    {KP_API_API_VERSIONS,       0,  2,  0,   3,   "ApiVersions"},
};

const struct kp_api *kp_api_table(size_t *n)
{
    *n = sizeof(api_table) / sizeof(api_table[0]);
    return api_table;
}

const struct kp_api *kp_api_find(int16_t key)
{
    for (size_t i = 0; i < sizeof(api_table) / sizeof(api_table[0]); i++)
        if (api_table[i].key == key)
            return &api_table[i];
    return NULL;
}

int kp_encode_api_versions(struct kc_writer *w, const struct kp_header *h,
                           const struct kp_api_versions_req *req)
{
    const struct kp_api *self = kp_api_find(KP_API_API_VERSIONS);
    size_t start = kp__resp_begin(w, h);
    if (req->fallback) {
        kc_write_i16(w, KP_ERR_UNSUPPORTED_VERSION);
        kc_write_i32(w, 1);
        kc_write_i16(w, self->key);
        kc_write_i16(w, self->min);
        kc_write_i16(w, self->max);
        return kp__resp_end(w, start, 0);
    }
    if (!kp__ver_in(h, 0, self->max))
        return -EINVAL;
    kc_write_i16(w, KP_ERR_NONE);
    kc_write_i32(w, (int32_t)(sizeof(api_table) / sizeof(api_table[0])));
    for (size_t i = 0; i < sizeof(api_table) / sizeof(api_table[0]); i++) {
        kc_write_i16(w, api_table[i].key);
        kc_write_i16(w, api_table[i].min);
        kc_write_i16(w, api_table[i].max);
    }
    if (h->api_version >= 1)
        kc_write_i32(w, 0); /* throttle_time_ms */
    return kp__resp_end(w, start, 0);
}
