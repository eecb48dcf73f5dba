/*
 * kp_errors.h - Kafka's own error codes: the int16 error_code fields inside responses.
 *
 * These are data on the wire, never a function's return value (functions return 0,
 * -errno or kc_err.h's codes, as everywhere in the project), except where a comment says
 * "returns a Kafka error code". The numbers are Kafka's (org.apache.kafka.common.protocol.
 * Errors); only the ones this project answers with, or names in its logs, are listed.
 *
 *   0     NONE                        the answer is good
 *   < 0   UNKNOWN_SERVER_ERROR (-1)   Kafka's "something unexpected": never sent here
 *   > 0   a reason: clients act on it (retry, refresh metadata, rejoin the group, stop)
 */
#ifndef KP_ERRORS_H
#define KP_ERRORS_H

#include <stdint.h>

#define KP_ERRORS(X)                                                                          \
    X(KP_ERR_UNKNOWN_SERVER_ERROR, -1)                                                        \
    X(KP_ERR_NONE, 0)                                                                         \
    X(KP_ERR_OFFSET_OUT_OF_RANGE, 1)                                                          \
    X(KP_ERR_CORRUPT_MESSAGE, 2)                                                              \
    X(KP_ERR_UNKNOWN_TOPIC_OR_PARTITION, 3)                                                   \
    X(KP_ERR_LEADER_NOT_AVAILABLE, 5)                                                         \
    X(KP_ERR_NOT_LEADER_OR_FOLLOWER, 6)                                                       \
    X(KP_ERR_REQUEST_TIMED_OUT, 7)                                                            \
    X(KP_ERR_MESSAGE_TOO_LARGE, 10)                                                           \
    X(KP_ERR_OFFSET_METADATA_TOO_LARGE, 12)                                                   \
    X(KP_ERR_COORDINATOR_LOAD_IN_PROGRESS, 14)                                                \
    X(KP_ERR_COORDINATOR_NOT_AVAILABLE, 15)                                                   \
    X(KP_ERR_NOT_COORDINATOR, 16)                                                             \
    X(KP_ERR_INVALID_TOPIC_EXCEPTION, 17)                                                     \
    X(KP_ERR_RECORD_LIST_TOO_LARGE, 18)                                                       \
    X(KP_ERR_NOT_ENOUGH_REPLICAS, 19)                                                         \
    X(KP_ERR_INVALID_REQUIRED_ACKS, 21)                                                       \
    X(KP_ERR_ILLEGAL_GENERATION, 22)                                                          \
    X(KP_ERR_INCONSISTENT_GROUP_PROTOCOL, 23)                                                 \
    X(KP_ERR_INVALID_GROUP_ID, 24)                                                            \
    X(KP_ERR_UNKNOWN_MEMBER_ID, 25)                                                           \
    X(KP_ERR_INVALID_SESSION_TIMEOUT, 26)                                                     \
    X(KP_ERR_REBALANCE_IN_PROGRESS, 27)                                                       \
    X(KP_ERR_INVALID_COMMIT_OFFSET_SIZE, 28)                                                  \
    X(KP_ERR_TOPIC_AUTHORIZATION_FAILED, 29)                                                  \
    X(KP_ERR_GROUP_AUTHORIZATION_FAILED, 30)                                                  \
    X(KP_ERR_CLUSTER_AUTHORIZATION_FAILED, 31)                                                \
    X(KP_ERR_UNSUPPORTED_SASL_MECHANISM, 33)                                                  \
    X(KP_ERR_ILLEGAL_SASL_STATE, 34)                                                          \
    X(KP_ERR_UNSUPPORTED_VERSION, 35)                                                         \
    X(KP_ERR_TOPIC_ALREADY_EXISTS, 36)                                                        \
    X(KP_ERR_INVALID_PARTITIONS, 37)                                                          \
    X(KP_ERR_INVALID_REPLICATION_FACTOR, 38)                                                  \
    X(KP_ERR_INVALID_REPLICA_ASSIGNMENT, 39)                                                  \
    X(KP_ERR_INVALID_CONFIG, 40)                                                              \
    X(KP_ERR_INVALID_REQUEST, 42)                                                             \
    X(KP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT, 43)                                              \
    X(KP_ERR_POLICY_VIOLATION, 44)                                                            \
    X(KP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, 45)                                                \
    X(KP_ERR_INVALID_PRODUCER_EPOCH, 47)                                                      \
    X(KP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED, 53)                                       \
    X(KP_ERR_SECURITY_DISABLED, 54)                                                           \
    X(KP_ERR_KAFKA_STORAGE_ERROR, 56)                                                         \
    X(KP_ERR_SASL_AUTHENTICATION_FAILED, 58)                                                  \
    X(KP_ERR_NON_EMPTY_GROUP, 68)                                                             \
    X(KP_ERR_GROUP_ID_NOT_FOUND, 69)                                                          \
    X(KP_ERR_FETCH_SESSION_ID_NOT_FOUND, 70)                                                  \
    X(KP_ERR_INVALID_FETCH_SESSION_EPOCH, 71)                                                 \
    X(KP_ERR_FENCED_LEADER_EPOCH, 74)                                                         \
    X(KP_ERR_UNKNOWN_LEADER_EPOCH, 75)                                                        \
    X(KP_ERR_UNSUPPORTED_COMPRESSION_TYPE, 76)                                                \
    X(KP_ERR_MEMBER_ID_REQUIRED, 79)                                                          \
    X(KP_ERR_PREFERRED_LEADER_NOT_AVAILABLE, 80)                                              \
    X(KP_ERR_GROUP_MAX_SIZE_REACHED, 81)                                                      \
    X(KP_ERR_FENCED_INSTANCE_ID, 82)                                                          \
    X(KP_ERR_ELIGIBLE_LEADERS_NOT_AVAILABLE, 83)                                              \
    X(KP_ERR_ELECTION_NOT_NEEDED, 84)                                                         \
    X(KP_ERR_GROUP_SUBSCRIBED_TO_TOPIC, 86)                                                   \
    X(KP_ERR_INVALID_RECORD, 87)                                                              \
    X(KP_ERR_RESOURCE_NOT_FOUND, 91)                                                          \
    X(KP_ERR_DUPLICATE_RESOURCE, 92)                                                          \
    X(KP_ERR_UNACCEPTABLE_CREDENTIAL, 93)                                                     \
    X(KP_ERR_UNKNOWN_TOPIC_ID, 100)                                                           \
    X(KP_ERR_FETCH_SESSION_TOPIC_ID_ERROR, 106)                                               \
    X(KP_ERR_UNSUPPORTED_ENDPOINT_TYPE, 119)

enum kp_error {
#define KP_ERROR_ENUM(name, value) name = value,
    KP_ERRORS(KP_ERROR_ENUM)
#undef KP_ERROR_ENUM
};

/* Kafka's name for an error code ("REBALANCE_IN_PROGRESS"); "UNKNOWN" if not listed here.
 * Static strings; any thread. */
const char *kp_error_name(int16_t code);

#endif
