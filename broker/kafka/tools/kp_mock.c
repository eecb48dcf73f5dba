/*
 * kp_mock.c - librdkafka's mock cluster as a stand-alone broker, for capturing fixtures.
 *
 * librdkafka ships a small in-process Kafka "mock cluster" (rdkafka_mock.h). This program
 * starts one with a single broker, narrows the APIs and versions it advertises to the
 * table below, creates the topics named on the command line, prints the bootstrap address
 * on stdout and serves until its stdin closes or it gets SIGTERM/SIGINT.
 *
 * The table is the one the broker advertised when the kcat_* and kafkajs fixtures were
 * captured (the hand-written codec's: no flexible version). The broker now serves far
 * more (broker/kafka/serve/src/versions.c), and librdkafka 2.0.2 would pick OffsetFetch
 * and OffsetCommit v7 from it; the fixtures for those come from ../tools/kp_capsrv.c,
 * which answers every version through the schema-driven codec.
 *
 * Why narrow the versions: a client picks the highest version both sides support, so a
 * client talking to the stock mock (which advertises newer, flexible versions) sends
 * different bytes than it will send to our broker. With the same table, kcat and kafkajs
 * send here exactly what they will send to libbrk_kafka, and the mock's answers are a
 * second implementation to cross-check our encoders against.
 *
 *   cc -o kp_mock kp_mock.c -lrdkafka
 *   ./kp_mock topic:partitions...        e.g. ./kp_mock fx:1 grp:2
 *
 * tools/kp-capture.py builds and drives it; nothing in the library depends on it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

/* The broker's table when the fixtures were captured (see above). */
static const struct {
    int16_t key, min, max;
} advertised[] = {
    {0, 0, 7},  /* Produce */
    {1, 0, 11}, /* Fetch */
    {2, 0, 2},  /* ListOffsets */
    {3, 0, 4},  /* Metadata */
    {8, 0, 5},  /* OffsetCommit */
    {9, 0, 4},  /* OffsetFetch */
    {10, 0, 2}, /* FindCoordinator */
    {11, 0, 5}, /* JoinGroup */
    {12, 0, 3}, /* Heartbeat */
    {13, 0, 1}, /* LeaveGroup */
    {14, 0, 3}, /* SyncGroup */
    {18, 0, 2}, /* ApiVersions: v3 above max -> the fallback */
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int is_advertised(int16_t key)
{
    for (size_t i = 0; i < sizeof(advertised) / sizeof(advertised[0]); i++)
        if (advertised[i].key == key)
            return 1;
    return 0;
}

static void narrow_versions(rd_kafka_mock_cluster_t *mc)
{
    /* Disable everything else the mock knows (it ignores keys it does not know). */
    for (int16_t key = 0; key < 100; key++)
        if (!is_advertised(key))
            (void)rd_kafka_mock_set_apiversion(mc, key, -1, -1); /* unknown keys: no-op */
    for (size_t i = 0; i < sizeof(advertised) / sizeof(advertised[0]); i++) {
        rd_kafka_resp_err_t err = rd_kafka_mock_set_apiversion(
            mc, advertised[i].key, advertised[i].min, advertised[i].max);
        if (err)
            fprintf(stderr, "kp_mock: api %d: %s\n", advertised[i].key, rd_kafka_err2str(err));
    }
}

static int create_topics(rd_kafka_mock_cluster_t *mc, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        char name[256];
        int parts = 1;
        if (sscanf(argv[i], "%255[^:]:%d", name, &parts) < 1 || parts < 1) {
            fprintf(stderr, "kp_mock: bad topic spec '%s' (want name:partitions)\n", argv[i]);
            return -1;
        }
        rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mc, name, parts, 1);
        if (err) {
            fprintf(stderr, "kp_mock: create %s: %s\n", name, rd_kafka_err2str(err));
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "kp_mock: rd_kafka_new: %s\n", errstr);
        return 1;
    }
    int rc = 1;
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, 1);
    if (!mc) {
        fprintf(stderr, "kp_mock: cannot create the mock cluster\n");
        goto out;
    }
    narrow_versions(mc);
    if (create_topics(mc, argc, argv))
        goto out;

    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) || sigaction(SIGINT, &sa, NULL)) {
        perror("kp_mock: sigaction");
        goto out;
    }
    printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);

    /* Serve until stdin reaches EOF (the capture script closes it) or a signal arrives. */
    char buf[64];
    while (!stop) {
        ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
        if (n == 0 || (n < 0 && errno != EINTR))
            break;
    }
    rc = 0;
out:
    if (mc)
        rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return rc;
}
