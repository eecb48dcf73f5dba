/*
 * test_0118_kafka_cli_admin.c - kafka_cli's admin verbs against a real broker, over Kafka's
 * protocol: topics list/describe in both output forms (the JSON parsed by python3),
 * --replica-assignment on one broker, the exit statuses of its errors, --bootstrap-server
 * beside -b, TLS, the group verbs (lag, reset-offsets' dry run and --execute,
 * delete-offsets, delete), acls and scram as an admin over SASL_SSL with the authorizer
 * on, and every verb whose API the broker may not serve yet.
 *
 * Which APIs a broker serves changes as the project grows (CreateTopics, DescribeGroups,
 * DescribeAcls, ... arrive on their own branches). So a verb is checked against what this
 * broker says in ApiVersions: an API it does not offer must give kafka_cli's clear refusal
 * ("does not offer <Name> (Kafka API <key>)", exit 1, nothing on stdout), one it offers
 * must work. Either way the test checks something, and says which on its output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka/kt.h"
#include "kp_msgs.h"

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

static uint8_t buf[1 << 16];

/* Run kafka_cli with -b the broker; check the status and that stdout/stderr contain the
 * given strings (NULL: anything; "" for out: nothing at all). */
static void cli(const struct kb_broker *b, int status, const char *out, const char *err,
                const char *const *args)
{
    char *o, *e;
    int rc = kb_cli(b, NULL, &o, &e, args);
    bool out_ok = !out || (out[0] ? strstr(o, out) != NULL : o[0] == '\0');
    if (rc != status || !out_ok || (err && !strstr(e, err)))
        fail_msg("kafka_cli %s %s: status %d (want %d)\nstdout: [%s]\nstderr: [%s]", args[0],
                 args[1] ? args[1] : "", rc, status, o, e);
    free(o);
    free(e);
}

/* The broker's ApiVersions table: max version per key, -1 when not offered. */
static void offered(const struct kb_broker *b, int16_t max[100])
{
    struct kp_response resp;
    struct kp_api_versions_req req;
    int fd = kb_connect(b);
    kp_init(&kp_api_versions_req_schema, &req);
    req.client_software_name = kp_slice_str("kt");
    req.client_software_version = kp_slice_str("1");
    const struct kp_api_versions_resp *r =
        kt_call(fd, KP_API_API_VERSIONS, 3, &req, buf, sizeof(buf), &resp);
    for (int k = 0; k < 100; k++)
        max[k] = -1;
    for (int32_t i = 0; i < r->api_keys.n; i++)
        if (r->api_keys.v[i].api_key >= 0 && r->api_keys.v[i].api_key < 100)
            max[r->api_keys.v[i].api_key] = r->api_keys.v[i].max_version;
    kp_response_fini(&resp);
    close(fd);
}

/* A topic "payments" of 3 partitions, 5 records in partition 0, group "app" committed at 2. */
static void fill(const struct kb_broker *b)
{
    cli(b, 0, NULL, NULL, ARGS("create", "payments", "3"));
    cli(b, 0, NULL, NULL, ARGS("produce-batch", "payments", "a,b,c,d,e", "--partition", "0"));
    cli(b, 0, NULL, NULL, ARGS("commit", "app", "payments", "0", "2"));
}

/* python3 checks a JSON document: `check` is a Python expression over d; exit 0 if true. */
static void json_check(const struct kb_broker *b, const char *doc, const char *check)
{
    char prog[1024], *o, *e;
    snprintf(prog, sizeof(prog),
             "import json,sys\nd=json.load(sys.stdin)\nsys.exit(0 if (%s) else 1)", check);
    kt_require("python3", "python3");
    int rc = kt_run(b, ARGS("python3", "-c", prog), doc, strlen(doc), KB_WAIT_MS, &o, NULL, &e);
    if (rc != 0)
        fail_msg("JSON check '%s' failed (%d) on:\n%s\n%s", check, rc, doc, e);
    free(o);
    free(e);
}

static void test_0118_topics_list_and_describe_human_and_json(void **state)
{
    struct kb_broker *b = *state;
    char *o, *e;
    fill(b);
    cli(b, 0, "payments\n", "", ARGS("topics", "list"));
    cli(b, 0, "Topic: payments\tTopicId: ", "", ARGS("topics", "describe", "payments"));
    cli(b, 0, "\tTopic: payments\tPartition: 2\tLeader: 0\tReplicas: 0\tIsr: 0\n", "",
        ARGS("topics", "describe", "payments"));
    assert_int_equal(kb_cli(b, NULL, &o, &e, ARGS("topics", "describe", "payments", "--json")), 0);
    json_check(b, o,
               "[t['name'] for t in d['topics']] == ['payments'] and "
               "d['topics'][0]['partition_count'] == 3 and "
               "[p['partition'] for p in d['topics'][0]['partitions']] == [0, 1, 2] and "
               "len(d['topics'][0]['topic_id']) == 22");
    free(o);
    free(e);
    assert_int_equal(kb_cli(b, NULL, &o, &e, ARGS("topics", "list", "--json")), 0);
    json_check(b, o, "'payments' in d['topics']");
    free(o);
    free(e);
}

static void test_0118_errors_have_their_exit_status(void **state)
{
    struct kb_broker *b = *state;
    char addr[64];
    cli(b, 1, "", "UNKNOWN_TOPIC_OR_PARTITION", ARGS("topics", "describe", "nope"));
    cli(b, 2, "", "usage", ARGS("topics", "create"));
    cli(b, 2, "", "--partitions", ARGS("topics", "create", "t", "--partitions", "zero"));
    cli(b, 2, "", NULL, ARGS("groups", "fly"));
    /* `topics <name>` stays the native listing it always was */
    cli(b, 1, "", "UNKNOWN_TOPIC", ARGS("topics", "fly"));
    cli(b, 3, "", "cannot reach the broker at 127.0.0.1:1",
        ARGS("topics", "list", "--bootstrap-server", "127.0.0.1:1"));
    cli(b, 0, "topics list", "", ARGS("topics", "--help"));
    cli(b, 0, "kafka-consumer-groups.sh", "", ARGS("groups", "--help"));
    /* --bootstrap-server is the Kafka verbs' own: -b elsewhere does not matter */
    snprintf(addr, sizeof(addr), "%s", b->addr);
    char *o, *e;
    const char *argv[] = {"-b", "127.0.0.1:1", "topics", "list", "--bootstrap-server", addr, NULL};
    assert_int_equal(kb_exec(b, "kafka_cli", NULL, &o, &e, argv), 0);
    free(o);
    free(e);
}

/* --replica-assignment alone: the one broker (id 0) is the only one a list may name, once;
 * add-partitions takes every partition's list or only the new ones'. */
static void test_0118_replica_assignment_on_one_broker(void **state)
{
    struct kb_broker *b = *state;
    cli(b, 0, "Created topic placed.", "", ARGS("topics", "create", "placed",
                                                "--replica-assignment", "0,0"));
    cli(b, 0, "PartitionCount: 2\tReplicationFactor: 1", "",
        ARGS("topics", "describe", "placed"));
    cli(b, 1, "", "INVALID_REPLICA_ASSIGNMENT: Unknown broker(s) in replica assignment: 1",
        ARGS("topics", "create", "elsewhere", "--replica-assignment", "1"));
    cli(b, 1, "", "INVALID_REPLICA_ASSIGNMENT",
        ARGS("topics", "create", "elsewhere", "--replica-assignment", "0:1"));
    cli(b, 2, "", "no broker twice", ARGS("topics", "create", "elsewhere",
                                          "--replica-assignment", "0:0"));
    cli(b, 2, "", "without --partitions", ARGS("topics", "create", "elsewhere", "--partitions",
                                               "2", "--replica-assignment", "0,0"));
    cli(b, 1, "", "UNKNOWN_TOPIC_OR_PARTITION", ARGS("topics", "describe", "elsewhere"));
    cli(b, 0, "Topic placed now has 3 partitions.", "",
        ARGS("topics", "add-partitions", "placed", "--partitions", "3", "--replica-assignment",
             "0"));
    cli(b, 0, "Topic placed now has 5 partitions.", "",
        ARGS("topics", "add-partitions", "placed", "--partitions", "5", "--replica-assignment",
             "0,0,0,0,0"));
    cli(b, 2, "", "lists 2 partitions: topic placed has 5 and grows to 8",
        ARGS("topics", "add-partitions", "placed", "--partitions", "8", "--replica-assignment",
             "0,0"));
    cli(b, 1, "", "INVALID_REPLICA_ASSIGNMENT",
        ARGS("topics", "add-partitions", "placed", "--partitions", "6", "--replica-assignment",
             "1"));
    cli(b, 0, "PartitionCount: 5", "", ARGS("topics", "describe", "placed"));
    /* alone, this broker leads everything: no election is ever needed */
    cli(b, 0, "Valid replica already elected for partition placed-4", "",
        ARGS("elect-leaders", "--election-type", "unclean", "--topic", "placed", "--partition",
             "4"));
    cli(b, 0, "No partition needed a leader election (PREFERRED)", "",
        ARGS("elect-leaders", "--election-type", "preferred", "--all-topic-partitions"));
    cli(b, 1, "", "UNKNOWN_TOPIC_OR_PARTITION",
        ARGS("elect-leaders", "--election-type", "preferred", "--topic", "placed",
             "--partition", "5"));
}

/* Each verb with the API it needs first: refused clearly when the broker lacks it, done
 * when it has it. */
static void test_0118_each_verb_works_or_names_the_missing_api(void **state)
{
    struct kb_broker *b = *state;
    const struct {
        int16_t key;
        const char *name;
        const char *const *args;
        bool must_work; /* when offered: exit 0 (acls/scram may need an authorizer first) */
    } cases[] = {
        {KP_API_CREATE_TOPICS, "CreateTopics",
         ARGS("topics", "create", "x", "--partitions", "2", "--replication-factor", "1"), true},
        {KP_API_LIST_GROUPS, "ListGroups", ARGS("groups", "list"), true},
        {KP_API_DESCRIBE_GROUPS, "DescribeGroups", ARGS("groups", "describe", "app"), true},
        {KP_API_DESCRIBE_CONFIGS, "DescribeConfigs",
         ARGS("configs", "describe", "--topic", "payments"), true},
        {KP_API_DELETE_RECORDS, "DeleteRecords",
         ARGS("delete-records", "--topic", "payments", "--partition", "0", "--offset", "1"), true},
        {KP_API_ELECT_LEADERS, "ElectLeaders",
         ARGS("elect-leaders", "--election-type", "preferred", "--all-topic-partitions"), true},
        {KP_API_DESCRIBE_ACLS, "DescribeAcls", ARGS("acls", "list"), false},
        {KP_API_DESCRIBE_USER_SCRAM_CREDENTIALS, "DescribeUserScramCredentials",
         ARGS("scram", "describe"), false},
    };
    int16_t max[100];
    fill(b);
    offered(b, max);
    for (size_t i = 0; i < KC_ARRAY_SIZE(cases); i++) {
        char want[160], *o, *e;
        int rc = kb_cli(b, NULL, &o, &e, cases[i].args);
        snprintf(want, sizeof(want), "does not offer %s (Kafka API %d)", cases[i].name,
                 cases[i].key);
        if (max[cases[i].key] < 0) {
            print_message("  %s: the broker does not offer %s: kafka_cli must say so\n",
                          cases[i].args[0], cases[i].name);
            if (rc != 1 || !strstr(e, want) || o[0])
                fail_msg("%s %s: status %d, stdout [%s], stderr [%s] (want 1 and '%s')",
                         cases[i].args[0], cases[i].args[1], rc, o, e, want);
        } else {
            print_message("  %s: the broker offers %s v%d: the verb must run\n", cases[i].args[0],
                          cases[i].name, max[cases[i].key]);
            if (strstr(e, "does not offer") || (cases[i].must_work ? rc != 0 : rc > 1))
                fail_msg("%s %s: status %d, stdout [%s], stderr [%s]", cases[i].args[0],
                         cases[i].args[1], rc, o, e);
        }
        free(o);
        free(e);
    }
}

/* The group verbs, whose APIs (ListGroups, DescribeGroups, OffsetDelete, DeleteGroups) the
 * broker serves: lag per partition, Kafka's reset rules, offsets deleted, the group deleted. */
static void test_0118_groups_describe_reset_and_delete(void **state)
{
    struct kb_broker *b = *state;
    char *o, *e;
    fill(b);
    cli(b, 0, NULL, NULL, ARGS("produce-batch", "payments", "x,y", "--partition", "1"));
    cli(b, 0, NULL, NULL, ARGS("commit", "app", "payments", "1", "1"));
    cli(b, 0, "app\n", "", ARGS("groups", "list"));
    cli(b, 0, "app    payments  0          2               5               3    -", NULL,
        ARGS("groups", "describe", "app"));
    assert_int_equal(kb_cli(b, NULL, &o, &e, ARGS("groups", "describe", "app", "--json")), 0);
    json_check(b, o,
               "d['groups'][0]['state'] == 'Empty' and "
               "[(x['partition'], x['current_offset'], x['log_end_offset'], x['lag']) "
               "for x in d['groups'][0]['offsets']] == [(0, 2, 5, 3), (1, 1, 2, 1)]");
    free(o);
    free(e);
    cli(b, 1, "", "'nope' does not exist", ARGS("groups", "describe", "nope"));
    /* a dry run by default, and says so; nothing moves */
    cli(b, 0, "app    payments  0          0", "Dry run",
        ARGS("groups", "reset-offsets", "app", "--topic", "payments", "--to-earliest"));
    cli(b, 0, "2\n", "", ARGS("offset", "app", "payments", "0"));
    cli(b, 0, NULL, NULL,
        ARGS("groups", "reset-offsets", "app", "--topic", "payments:0", "--to-offset", "4",
             "--execute"));
    cli(b, 0, "4\n", "", ARGS("offset", "app", "payments", "0"));
    /* by time: every record is after 1970 (offset 0); none is after 2999 (the log end) */
    cli(b, 0, "app    payments  0          0", "Dry run",
        ARGS("groups", "reset-offsets", "app", "--topic", "payments:0", "--to-datetime",
             "1970-01-01T00:00:00.000Z"));
    cli(b, 0, "app    payments  0          5", "Dry run",
        ARGS("groups", "reset-offsets", "app", "--topic", "payments:0", "--to-datetime",
             "2999-01-01T00:00:00+02:00"));
    assert_int_equal(kb_cli(b, NULL, &o, &e,
                            ARGS("groups", "reset-offsets", "app", "--all-topics", "--to-latest",
                                 "--execute", "--json")),
                     0);
    json_check(b, o,
               "d['executed'] and [(x['partition'], x['new_offset']) for x in d['partitions']] "
               "== [(0, 5), (1, 2)]");
    free(o);
    free(e);
    cli(b, 0, "5\n", "", ARGS("offset", "app", "payments", "0"));
    cli(b, 0, "payments  1          Successful", "",
        ARGS("groups", "delete-offsets", "app", "--topic", "payments:1"));
    cli(b, 0, "-1\n", "", ARGS("offset", "app", "payments", "1"));
    cli(b, 0, "Deleted group 'app'.", "", ARGS("groups", "delete", "app"));
    cli(b, 0, "", "", ARGS("groups", "list"));
}

static void test_0118_topics_over_tls(void **state)
{
    struct kb_broker *b = *state;
    char ks[700], ts[700], ca[700], *o, *e;
    kb_certs(b);
    snprintf(ks, sizeof(ks), "ssl.keystore.location=%s", kb_cert(b, "server.pem"));
    snprintf(ts, sizeof(ts), "ssl.truststore.location=%s", kb_cert(b, "ca.pem"));
    snprintf(ca, sizeof(ca), "%s", kb_cert(b, "ca.pem"));
    kb_start(b,
             ARGS("--override", "listeners=SSL://127.0.0.1:0", "--override", ks, "--override", ts));
    const char *argv[] = {"-b", b->addr, "--tls-ca", ca, "create", "secure", "2", NULL};
    assert_int_equal(kb_exec(b, "kafka_cli", NULL, &o, &e, argv), 0);
    free(o);
    free(e);
    const char *list[] = {"-b", b->addr, "--tls-ca", ca, "topics", "describe", "secure", NULL};
    int rc = kb_exec(b, "kafka_cli", NULL, &o, &e, list);
    if (rc != 0 || !strstr(o, "Topic: secure\tPartition: 1"))
        fail_msg("over TLS: status %d\n%s\n%s", rc, o, e);
    free(o);
    free(e);
    /* a plaintext Kafka client on the TLS port: refused, not hung */
    const char *plain[] = {"-b", b->addr, "topics", "list", NULL};
    rc = kb_exec(b, "kafka_cli", NULL, &o, &e, plain);
    if (rc != 3 || o[0])
        fail_msg("plaintext on TLS: status %d (want 3)\n%s\n%s", rc, o, e);
    free(o);
    free(e);
}

/* kafka_cli as admin over SASL_SSL (the Kafka door's SaslHandshake v1 + SaslAuthenticate,
 * SCRAM-SHA-256, behind TLS) with the authorizer on: ACLs added, listed, removed; a SCRAM
 * credential made on the client (PBKDF2) and used to log in; refusals with exit 4. */
struct secure {
    const struct kb_broker *b;
    char ca[700];
};

/* Run kafka_cli over SASL_SSL as user (its password in $KAFKA_CLI_SASL_PASSWORD). */
static int secure_cli(const struct secure *s, const char *mech, const char *user,
                      const char *password, char **o, char **e, const char *const *args)
{
    const char *argv[40] = {"-b", s->b->addr,        "--tls-ca", s->ca, "--sasl-mechanism",
                            mech, "--sasl-username", user};
    int n = 8;
    for (int i = 0; args[i] && n < 39; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    setenv("KAFKA_CLI_SASL_PASSWORD", password, 1);
    int rc = kb_exec(s->b, "kafka_cli", NULL, o, e, argv);
    unsetenv("KAFKA_CLI_SASL_PASSWORD");
    return rc;
}

static void as_admin(const struct secure *s, int status, const char *out, const char *const *args)
{
    char *o, *e;
    int rc = secure_cli(s, "SCRAM-SHA-256", "admin", "admin-pw", &o, &e, args);
    if (rc != status || (out && !strstr(o, out)))
        fail_msg("kafka_cli %s %s as admin: status %d (want %d)\nstdout: [%s]\nstderr: [%s]",
                 args[0], args[1], rc, status, o, e);
    free(o);
    free(e);
}

static void test_0118_acls_and_scram_over_sasl_ssl(void **state)
{
    struct kb_broker *b = *state;
    struct secure s = {.b = b};
    char ks[700], ts[700], *o, *e;
    kb_certs(b);
    snprintf(ks, sizeof(ks), "ssl.keystore.location=%s", kb_cert(b, "server.pem"));
    snprintf(ts, sizeof(ts), "ssl.truststore.location=%s", kb_cert(b, "ca.pem"));
    snprintf(s.ca, sizeof(s.ca), "%s", kb_cert(b, "ca.pem"));
    kb_add_scram(b, "SCRAM-SHA-256", "admin", "admin-pw");
    kb_start(b,
             ARGS("--override", "listeners=SASL_SSL://127.0.0.1:0", "--override", ks, "--override",
                  ts, "--override", "sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512",
                  "--override", "authorizer.class.name=kafka.security.authorizer.AclAuthorizer",
                  "--override", "super.users=User:admin"));
    as_admin(&s, 0, "__consumer_offsets", ARGS("topics", "list"));
    /* ACLs: every combination added, listed (human and JSON), one removed */
    as_admin(&s, 0, "operation=DESCRIBE, permissionType=ALLOW",
             ARGS("acls", "add", "--allow-principal", "User:bob", "--operation", "Read",
                  "--operation", "Describe", "--topic", "payments", "--group", "app"));
    as_admin(&s, 0, "name=app, patternType=LITERAL", ARGS("acls", "list"));
    assert_int_equal(secure_cli(&s, "SCRAM-SHA-256", "admin", "admin-pw", &o, &e,
                                ARGS("acls", "list", "--topic", "payments", "--json")),
                     0);
    json_check(b, o,
               "sorted(x['operation'] for x in d['acls']) == ['DESCRIBE', 'READ'] and "
               "all(x['principal'] == 'User:bob' for x in d['acls'])");
    free(o);
    free(e);
    as_admin(&s, 2, NULL, /* a script must say --force */
             ARGS("acls", "remove", "--allow-principal", "User:bob", "--operation", "Read",
                  "--topic", "payments"));
    as_admin(&s, 0, "Removed ACL",
             ARGS("acls", "remove", "--allow-principal", "User:bob", "--operation", "Read",
                  "--topic", "payments", "--force"));
    assert_int_equal(secure_cli(&s, "SCRAM-SHA-256", "admin", "admin-pw", &o, &e,
                                ARGS("acls", "list", "--topic", "payments", "--json")),
                     0);
    json_check(b, o, "[x['operation'] for x in d['acls']] == ['DESCRIBE']");
    free(o);
    free(e);
    /* SCRAM: bob's credential salted on the client; bob logs in with it */
    setenv("KAFKA_CLI_SCRAM_PASSWORD", "bob-pw", 1);
    as_admin(&s, 0, "Completed updating config for user bob.",
             ARGS("scram", "set", "bob", "--mechanism", "SCRAM-SHA-512", "--iterations", "8192"));
    unsetenv("KAFKA_CLI_SCRAM_PASSWORD");
    as_admin(&s, 0, "'bob' are SCRAM-SHA-512=iterations=8192", ARGS("scram", "describe"));
    assert_int_equal(secure_cli(&s, "SCRAM-SHA-512", "bob", "bob-pw", &o, &e,
                                ARGS("scram", "describe", "bob", "--json")),
                     1); /* bob may log in, but not describe credentials */
    free(o);
    free(e);
    assert_int_equal(
        secure_cli(&s, "SCRAM-SHA-512", "bob", "bob-pw", &o, &e, ARGS("groups", "list")), 0);
    free(o);
    free(e);
    assert_int_equal(
        secure_cli(&s, "SCRAM-SHA-512", "bob", "wrong", &o, &e, ARGS("topics", "list")), 4);
    assert_non_null(strstr(e, "SASL_AUTHENTICATION_FAILED"));
    free(o);
    free(e);
    as_admin(&s, 0, NULL, ARGS("scram", "delete", "bob", "--mechanism", "SCRAM-SHA-512"));
    assert_int_equal(
        secure_cli(&s, "SCRAM-SHA-512", "bob", "bob-pw", &o, &e, ARGS("topics", "list")),
        4); /* deleted: refused */
    free(o);
    free(e);
    assert_false(kb_log_has(b, "bob-pw"));
    assert_false(kb_log_has(b, "admin-pw"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_0118_topics_list_and_describe_human_and_json,
                                        kb_setup_started, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0118_replica_assignment_on_one_broker,
                                        kb_setup_started, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0118_errors_have_their_exit_status, kb_setup_started,
                                        kb_teardown),
        cmocka_unit_test_setup_teardown(test_0118_each_verb_works_or_names_the_missing_api,
                                        kb_setup_started, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0118_groups_describe_reset_and_delete,
                                        kb_setup_started, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0118_topics_over_tls, kb_setup, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0118_acls_and_scram_over_sasl_ssl, kb_setup,
                                        kb_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
