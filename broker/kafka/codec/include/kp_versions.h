/*
 * kp_versions.h - which versions real Kafka brokers serve, per API: the highest version
 * Kafka 3.9 serves and the lowest Kafka 4.0 still serves.
 *
 * The codec implements every version in Kafka's JSON (kp_api.min..max, the 4.0
 * development line). A broker does not have to *advertise* all of them. These two
 * columns are what a broker compatible with both Kafka 3.9 clients and Kafka 4.0's
 * cleanup would choose between:
 *
 *   kafka39_max  validVersions' upper bound in clients/src/main/resources/common/message/
 *                <Api>Request.json at tag 3.9.0: what a 3.9 broker answers in ApiVersions.
 *   kafka40_min  KIP-896 ("Remove old client protocol API versions in Kafka 4.0"): Kafka
 *                3.7 marked the versions to go as "deprecatedVersions" in the JSON (our copy
 *                at ../shared/reference/kafka-messages still carries the marks) and 4.0.0
 *                removed them from validVersions. One exception to "deprecated = removed":
 *                Produce v3-v6 are deprecated but still served; 4.0 removed only v0-v2
 *                (ProduceRequest.json at 4.0.0: "Versions 0-2 were removed in Apache Kafka
 *                4.0, version 3 is the new baseline"; it also keeps advertising 0-2 in
 *                ApiVersions because librdkafka checks for them, KAFKA-18659). JoinGroup
 *                v0-v1 were removed in 4.0.0 and restored in 4.0.1 (KAFKA-19444, apache/kafka
 *                PR #20116: older librdkafka with Kerberos keys SASL_GSSAPI on JoinGroup v0).
 *
 * How each number was found. kafka40_min: the "deprecatedVersions" of our JSON copy
 * (1eb7644, the 4.0 line), which are KIP-896's removals, with the Produce and JoinGroup
 * notes above; checked against KIP-896's final list and the 4.0.0 ProduceRequest.json
 * comment. kafka39_max: no copy of the JSON at the 3.9.0 tag was reachable from here, so
 * it is our copy's validVersions minus the versions its own comments attribute to work
 * that shipped after 3.9 (ListOffsets v10, KIP-1075; Produce v12 is not in our copy
 * either); each line names the KIP of the top version and the release that shipped it.
 * The two least certain: FindCoordinator v6 (KIP-932's share groups; the version was in
 * 3.9's JSON, share groups themselves were early access in 4.0) and ListOffsets v9
 * (KIP-1005). A broker that must match 3.9 exactly should check those two against a 3.9
 * ApiVersions answer.
 *
 * Format: X(api_key, kafka39_max, kafka40_min). Read by the generator (gen/kpgen.py copies
 * both numbers into the API table, kp_api.kafka39_max / kafka40_min) and by the tests.
 */
#ifndef KP_VERSIONS_H
#define KP_VERSIONS_H

#define KP_KAFKA_VERSIONS(X)                                                                  \
    X(0, 11, 3)  /* Produce: 3.9 JSON 0-11 (v11 KIP-890, 3.8; v12 is 4.0); 4.0: 3 (0-2 gone) */ \
    X(1, 17, 4)  /* Fetch: 3.9 JSON 0-17 (v17 KIP-853, 3.9); KIP-896 removed 0-3 */         \
    X(2, 9, 1)   /* ListOffsets: 3.9 JSON 0-9 (v9 KIP-1005, 3.9; v10 KIP-1075 is 4.0); 0 gone */ \
    X(3, 12, 4)  /* Metadata: 3.9 JSON 0-12 (v12 KIP-516, 3.1); KIP-896 removed 0-3 */       \
    X(8, 9, 2)   /* OffsetCommit: 3.9 JSON 0-9 (v9 KIP-848, 3.7); KIP-896 removed 0-1 */     \
    X(9, 9, 1)   /* OffsetFetch: 3.9 JSON 0-9 (v9 KIP-848, 3.7); KIP-896 removed 0 */         \
    X(10, 6, 1)  /* FindCoordinator: 3.9 JSON 0-6 (v6 KIP-932, 3.9); KIP-896 removed 0 */    \
    X(11, 9, 2)  /* JoinGroup: 3.9 JSON 0-9 (v8 KIP-800, 3.2); 4.0.0 removed 0-1, 4.0.1 back */ \
    X(12, 4, 0)  /* Heartbeat: 3.9 JSON 0-4 (v4 KIP-482, 2.4); nothing removed */           \
    X(13, 5, 0)  /* LeaveGroup: 3.9 JSON 0-5 (v5 KIP-800, 3.2); nothing removed */          \
    X(14, 5, 0)  /* SyncGroup: 3.9 JSON 0-5 (v5 KIP-559, 2.5); nothing removed */           \
    X(15, 5, 0)  /* DescribeGroups: 3.9 JSON 0-5 (v5 KIP-482, 2.4); nothing removed */      \
    X(16, 5, 0)  /* ListGroups: 3.9 JSON 0-5 (v5 KIP-848, 3.8); nothing removed */          \
    X(17, 1, 1)  /* SaslHandshake: 3.9 JSON 0-1; KIP-896 removed 0 */                       \
    X(18, 4, 0)  /* ApiVersions: 3.9 JSON 0-4 (v4 KAFKA-17011, 3.9); nothing removed */     \
    X(19, 7, 2)  /* CreateTopics: 3.9 JSON 0-7 (v7 KIP-516, 2.8); KIP-896 removed 0-1 */     \
    X(20, 6, 1)  /* DeleteTopics: 3.9 JSON 0-6 (v6 KIP-516, 2.8); KIP-896 removed 0 */       \
    X(21, 2, 0)  /* DeleteRecords: 3.9 JSON 0-2 (v2 KIP-482, 2.4); nothing removed */       \
    X(22, 5, 0)  /* InitProducerId: 3.9 JSON 0-5 (v5 KIP-890, 3.8); nothing removed */      \
    X(23, 4, 2)  /* OffsetForLeaderEpoch: 3.9 JSON 0-4 (v4 KIP-482, 2.4); 0-1 removed */    \
    X(29, 3, 1)  /* DescribeAcls: 3.9 JSON 0-3 (v3 KIP-679, 3.0); KIP-896 removed 0 */       \
    X(30, 3, 1)  /* CreateAcls: 3.9 JSON 0-3 (v3 KIP-679, 3.0); KIP-896 removed 0 */         \
    X(31, 3, 1)  /* DeleteAcls: 3.9 JSON 0-3 (v3 KIP-679, 3.0); KIP-896 removed 0 */         \
    X(32, 4, 1)  /* DescribeConfigs: 3.9 JSON 0-4 (v4 KIP-482, 2.6); KIP-896 removed 0 */    \
    X(33, 2, 0)  /* AlterConfigs: 3.9 JSON 0-2 (v2 KIP-482, 2.4); nothing removed */        \
    X(35, 4, 1)  /* DescribeLogDirs: 3.9 JSON 0-4 (v4 KIP-827, 3.3); KIP-896 removed 0 */    \
    X(36, 2, 0)  /* SaslAuthenticate: 3.9 JSON 0-2 (v2 KIP-482, 2.4); nothing removed */    \
    X(37, 3, 0)  /* CreatePartitions: 3.9 JSON 0-3 (v3 KIP-482, 2.4); nothing removed */    \
    X(42, 2, 1)  /* DeleteGroups: 3.9 JSON 0-2 (v2 KIP-482, 2.4); KIP-896 removed 0 */       \
    X(43, 2, 0)  /* ElectLeaders: 3.9 JSON 0-2 (v2 KIP-482, 2.4); nothing removed */        \
    X(44, 1, 0)  /* IncrementalAlterConfigs: 3.9 JSON 0-1 (v1 KIP-482, 2.4); none removed */ \
    X(45, 0, 0)  /* AlterPartitionReassignments: 3.9 JSON 0 (KIP-455, 2.4) */               \
    X(46, 0, 0)  /* ListPartitionReassignments: 3.9 JSON 0 (KIP-455, 2.4) */                \
    X(47, 0, 0)  /* OffsetDelete: 3.9 JSON 0 (KIP-496, 2.4) */                              \
    X(50, 0, 0)  /* DescribeUserScramCredentials: 3.9 JSON 0 (KIP-554, 2.7) */              \
    X(51, 0, 0)  /* AlterUserScramCredentials: 3.9 JSON 0 (KIP-554, 2.7) */                 \
    X(60, 1, 0)  /* DescribeCluster: 3.9 JSON 0-1 (v1 KIP-919, 3.7); nothing removed */     \
    X(61, 0, 0)  /* DescribeProducers: 3.9 JSON 0 (KIP-664, 2.8) */

#endif
