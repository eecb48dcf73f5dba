/*
 * cli_kerr.c - Kafka's error codes as kafka_cli prints them, which of them mean "ask
 * again", and two small conversions every verb uses.
 *
 * libbrk_kp names the codes this project's broker answers with (kp_errors.h). A client
 * meets more: an admin tool talks to any Kafka-compatible broker, so every code Kafka's
 * Errors enum has up to Kafka 3.9 is named; the ones libbrk_kp knows come from there.
 */
#include <stdio.h>
#include <string.h>

#include "cli_int.h"
#include "cli_kafka.h"
#include "kc_common.h"

/* The codes kp_error_name does not name (Kafka's org.apache.kafka.common.protocol.Errors). */
static const struct {
    int16_t code;
    const char *name;
} more_errors[] = {
    {4, "INVALID_FETCH_SIZE"},
    {8, "BROKER_NOT_AVAILABLE"},
    {9, "REPLICA_NOT_AVAILABLE"},
    {11, "STALE_CONTROLLER_EPOCH"},
    {13, "NETWORK_EXCEPTION"},
    {14, "COORDINATOR_LOAD_IN_PROGRESS"},
    {20, "NOT_ENOUGH_REPLICAS_AFTER_APPEND"},
    {29, "TOPIC_AUTHORIZATION_FAILED"},
    {30, "GROUP_AUTHORIZATION_FAILED"},
    {31, "CLUSTER_AUTHORIZATION_FAILED"},
    {32, "INVALID_TIMESTAMP"},
    {33, "UNSUPPORTED_SASL_MECHANISM"},
    {34, "ILLEGAL_SASL_STATE"},
    {38, "INVALID_REPLICATION_FACTOR"},
    {39, "INVALID_REPLICA_ASSIGNMENT"},
    {40, "INVALID_CONFIG"},
    {41, "NOT_CONTROLLER"},
    {44, "POLICY_VIOLATION"},
    {45, "OUT_OF_ORDER_SEQUENCE_NUMBER"},
    {46, "DUPLICATE_SEQUENCE_NUMBER"},
    {47, "INVALID_PRODUCER_EPOCH"},
    {48, "INVALID_TXN_STATE"},
    {49, "INVALID_PRODUCER_ID_MAPPING"},
    {50, "INVALID_TRANSACTION_TIMEOUT"},
    {51, "CONCURRENT_TRANSACTIONS"},
    {52, "TRANSACTION_COORDINATOR_FENCED"},
    {53, "TRANSACTIONAL_ID_AUTHORIZATION_FAILED"},
    {54, "SECURITY_DISABLED"},
    {55, "OPERATION_NOT_ATTEMPTED"},
    {57, "LOG_DIR_NOT_FOUND"},
    {58, "SASL_AUTHENTICATION_FAILED"},
    {59, "UNKNOWN_PRODUCER_ID"},
    {60, "REASSIGNMENT_IN_PROGRESS"},
    {61, "DELEGATION_TOKEN_AUTH_DISABLED"},
    {62, "DELEGATION_TOKEN_NOT_FOUND"},
    {63, "DELEGATION_TOKEN_OWNER_MISMATCH"},
    {64, "DELEGATION_TOKEN_REQUEST_NOT_ALLOWED"},
    {65, "DELEGATION_TOKEN_AUTHORIZATION_FAILED"},
    {66, "DELEGATION_TOKEN_EXPIRED"},
    {67, "INVALID_PRINCIPAL_TYPE"},
    {68, "NON_EMPTY_GROUP"},
    {69, "GROUP_ID_NOT_FOUND"},
    {71, "INVALID_FETCH_SESSION_EPOCH"},
    {72, "LISTENER_NOT_FOUND"},
    {73, "TOPIC_DELETION_DISABLED"},
    {74, "FENCED_LEADER_EPOCH"},
    {75, "UNKNOWN_LEADER_EPOCH"},
    {77, "STALE_BROKER_EPOCH"},
    {78, "OFFSET_NOT_AVAILABLE"},
    {80, "PREFERRED_LEADER_NOT_AVAILABLE"},
    {82, "FENCED_INSTANCE_ID"},
    {83, "ELIGIBLE_LEADERS_NOT_AVAILABLE"},
    {84, "ELECTION_NOT_NEEDED"},
    {85, "NO_REASSIGNMENT_IN_PROGRESS"},
    {86, "GROUP_SUBSCRIBED_TO_TOPIC"},
    {88, "UNSTABLE_OFFSET_COMMIT"},
    {89, "THROTTLING_QUOTA_EXCEEDED"},
    {90, "PRODUCER_FENCED"},
    {91, "RESOURCE_NOT_FOUND"},
    {92, "DUPLICATE_RESOURCE"},
    {93, "UNACCEPTABLE_CREDENTIAL"},
    {94, "INCONSISTENT_VOTER_SET"},
    {95, "INVALID_UPDATE_VERSION"},
    {96, "FEATURE_UPDATE_FAILED"},
    {97, "PRINCIPAL_DESERIALIZATION_FAILURE"},
    {98, "SNAPSHOT_NOT_FOUND"},
    {99, "POSITION_OUT_OF_RANGE"},
    {101, "DUPLICATE_BROKER_REGISTRATION"},
    {102, "BROKER_ID_NOT_REGISTERED"},
    {103, "INCONSISTENT_TOPIC_ID"},
    {104, "INCONSISTENT_CLUSTER_ID"},
    {105, "TRANSACTIONAL_ID_NOT_FOUND"},
    {106, "FETCH_SESSION_TOPIC_ID_ERROR"},
    {107, "INELIGIBLE_REPLICA"},
    {108, "NEW_LEADER_ELECTED"},
    {109, "OFFSET_MOVED_TO_TIERED_STORAGE"},
    {110, "FENCED_MEMBER_EPOCH"},
    {111, "UNRELEASED_INSTANCE_ID"},
    {112, "UNSUPPORTED_ASSIGNOR"},
    {113, "STALE_MEMBER_EPOCH"},
    {114, "MISMATCHED_ENDPOINT_TYPE"},
    {115, "UNSUPPORTED_ENDPOINT_TYPE"},
    {116, "UNKNOWN_CONTROLLER_ID"},
    {117, "UNKNOWN_SUBSCRIPTION_ID"},
    {118, "TELEMETRY_TOO_LARGE"},
    {119, "INVALID_REGISTRATION"},
    {120, "TRANSACTION_ABORTABLE"},
};

const char *cli__kerr_name(int16_t code)
{
    const char *name = kp_error_name(code);
    if (strcmp(name, "UNKNOWN") != 0)
        return name;
    for (size_t i = 0; i < KC_ARRAY_SIZE(more_errors); i++)
        if (more_errors[i].code == code)
            return more_errors[i].name;
    return "UNKNOWN";
}

bool cli__kerr_retriable(int16_t code)
{
    switch (code) {
    case KP_ERR_LEADER_NOT_AVAILABLE:
    case KP_ERR_NOT_LEADER_OR_FOLLOWER:
    case KP_ERR_COORDINATOR_NOT_AVAILABLE:
    case KP_ERR_NOT_COORDINATOR:
    case CLI_KERR_COORDINATOR_LOAD_IN_PROGRESS:
    case CLI_KERR_NOT_CONTROLLER:
        return true;
    default:
        return false;
    }
}

/* What kafka_cli can add to a refusal, or "". */
static const char *kerr_hint(int16_t code)
{
    switch (code) {
    case CLI_KERR_TOPIC_AUTHORIZATION_FAILED:
    case CLI_KERR_GROUP_AUTHORIZATION_FAILED:
    case CLI_KERR_CLUSTER_AUTHORIZATION_FAILED:
        return " (the principal lacks an ACL for this; see kafka_cli acls list)";
    case CLI_KERR_SECURITY_DISABLED:
        return " (the broker has no authorizer, or no SASL/SCRAM set up)";
    default:
        return "";
    }
}

int cli__kerr(struct cli_kafka *k, const char *what, int16_t code, struct kc_slice message)
{
    fprintf(k->cli->err, "error: %s%s%s", what ? what : "", what ? ": " : "", cli__kerr_name(code));
    if (message.len > 0) {
        fputs(": ", k->cli->err);
        cli_escape(k->cli->err, message.p, message.len);
    }
    fprintf(k->cli->err, "%s\n", kerr_hint(code));
    return CLI_EBROKER;
}

/* ---- conversions --------------------------------------------------------------------------- */

void cli__kuuid_str(const struct kp_uuid *id, char buf[23])
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint32_t acc = 0;
    int bits = 0, n = 0;
    for (int i = 0; i < 16; i++) {
        acc = acc << 8 | id->b[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            buf[n++] = b64[(acc >> bits) & 63];
        }
    }
    buf[n++] = b64[(acc << (6 - bits)) & 63]; /* 128 = 21 * 6 + 2: two bits left */
    buf[n] = '\0';
}

char *cli__kstr(struct kc_slice s, char *buf, size_t cap)
{
    size_t n = s.len > 0 ? KC_MIN((size_t)s.len, cap - 1) : 0;
    if (n)
        memcpy(buf, s.p, n);
    buf[n] = '\0';
    return buf;
}

char *cli__kstr_dup(struct kp_arena *arena, struct kc_slice s)
{
    size_t n = s.len > 0 ? (size_t)s.len : 0;
    char *p = kp_arena_alloc(arena, n + 1); /* zeroed: the NUL is there */
    if (p && n)
        memcpy(p, s.p, n);
    return p;
}
