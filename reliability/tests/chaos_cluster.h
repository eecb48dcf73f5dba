/*
 * chaos_cluster.h - a cluster to break, for test_chaos_cluster.c: ZooKeeper and three
 * kafka_broker processes on 127.0.0.1, each under the fault shim, and the faults.
 *
 *   cluster_up       ZooKeeper (clu_zks: Debian's, an ephemeral port, chroot /chaos),
 *                    brokers 1..3 (ports fixed after their first start, so a restart comes
 *                    back where the clients look), the topic (auto-created through the
 *                    controller: 4 partitions, replication factor 3, min.insync.replicas 2)
 *                    settled; is replication in this broker? (ApiVersions has key 23)
 *   cluster_fault    one cycle: some load, then one fault chosen at random (below)
 *   cluster_heal     SIGCONT, disarm, ZooKeeper back, every broker running
 *   cluster_settle   every partition led, with all three in its ISR (bounded)
 *   cluster_stop_all SIGTERM to every broker at once (controlled shutdowns), reaped
 *   cluster_start_alone / _stop_alone   one broker on its data directory, no ZooKeeper:
 *                    its own logs, as they are on its disk, readable by any client
 *   cluster_down     everything stopped by PID, the control blocks closed
 *
 * Who leads what, and who is controller, comes from Metadata (an idle librdkafka handle);
 * a broker that is down or frozen is never chosen as a target.
 */
#ifndef CHAOS_CLUSTER_H
#define CHAOS_CLUSTER_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>

#include "clu_zks.h"
#include "flt.h"
#include "kc_netns.h"
#include "rel_crash.h"

#define BROKERS    3
#define SESSION_MS 2000 /* zookeeper.session.timeout.ms: a zombie outlives it */
#define START_MS   30000
#define SETTLE_MS  60000

enum cf {
    CF_KILL_LEADER,     /* kill -9 of a partition's leader, restarted after a pause */
    CF_KILL_FOLLOWER,   /* ... of one of its followers */
    CF_KILL_CONTROLLER, /* ... of the controller */
    CF_DOUBLE_FAILOVER, /* the leader, then the leader that replaced it */
    CF_ZOMBIE,          /* SIGSTOP of a leader past the session timeout, then SIGCONT */
    CF_ZK_PAUSE,        /* ZooKeeper SIGSTOPped for 0.3-3.5 s */
    CF_ZK_RESTART,      /* ZooKeeper stopped and started on the same port and data */
    CF_POWERCUT,        /* kill -9, and what the broker never fsynced is taken */
    CF_DISK,            /* fsync EIO or write ENOSPC on one broker's logs for a while */
    CF_COMBINED,        /* a broker killed, and another fault while it is down */
    CF_PARTITION,       /* a leader cut off from its followers (not from ZooKeeper or the
                         * clients) for 1-6 s: kc_netns, only in a namespace of our own */
    CF_N
};

CH_FN const char *cf_name(int f)
{
    static const char *const names[CF_N] = {
        "kill-leader", "kill-follower", "kill-controller", "double-failover", "zombie",
        "zk-pause", "zk-restart", "power-cut", "disk-fault", "combined", "partition"};
    return names[f];
}

struct cluster {
    struct chaos c;
    struct clu_zks zk;
    bool zk_paused, zk_down;
    char zk_connect[160];
    char bin[REL_PATH_MAX], shim[REL_PATH_MAX];
    struct rel_broker b[BROKERS + 1]; /* by broker id */
    struct flt_ctl *ctl[BROKERS + 1];
    int port[BROKERS + 1];
    bool frozen[BROKERS + 1];
    rd_kafka_t *obs; /* Metadata: leaders, ISR, the controller */
    struct client obs_c; /* its opaque (it never produces) */
    rd_kafka_topic_t *obs_t;
    bool replicated;       /* ApiVersions lists OffsetForLeaderEpoch */
    bool expect_anomalies; /* the test's verdict: some must be found */
    uint64_t rnd;
    int cycles;
    long faults[CF_N];
    long exits; /* brokers found exited on their own */
    struct rel_cut cut;
    bool netns; /* in a network namespace of our own: broker id on 127.0.0.<id + 1> */
    int fetchers; /* num.replica.fetchers every broker gets; 0: the broker's default */
};

struct pinfo {
    int leader, nisr;
    int rep[BROKERS];
    int nrep;
};

/* ---- brokers ---------------------------------------------------------------------------- */

CH_FN bool up(const struct cluster *cl, int id)
{
    return cl->b[id].pid > 0 && !cl->frozen[id];
}

/* "127.0.0.1", or broker id's own address in a namespace of our own. */
CH_FN const char *broker_host(const struct cluster *cl, int id, char *buf, size_t cap)
{
    return cl->netns ? kc_netns_host(id, buf, cap) : strcpy(buf, "127.0.0.1");
}

/* CHAOS_BROKER_OVERRIDE="k=v[,k=v...]": settings every broker gets on top of the harness's
 * (e.g. num.replica.fetchers=3), at most 4; into ov[nov..], returning the new count. */
CH_FN int extra_settings(char ov[][200], int nov, int cap)
{
    const char *env = getenv("CHAOS_BROKER_OVERRIDE");
    while (env && *env && nov < cap) {
        size_t n = strcspn(env, ",");
        if (n > 0 && n < 200) {
            memcpy(ov[nov], env, n);
            ov[nov++][n] = '\0';
        }
        env += n + (env[n] == ',');
    }
    return nov;
}

CH_FN void broker_start(struct cluster *cl, int id)
{
    char ov[14][200], port[16], host[20];
    const char *args[4 + 2 * 14 + 1];
    int n = 0, nov = 7;
    snprintf(port, sizeof(port), "%d", cl->port[id]);
    snprintf(ov[0], sizeof(ov[0]), "zookeeper.connect=%s", cl->zk_connect);
    snprintf(ov[1], sizeof(ov[1]), "broker.id=%d", id);
    snprintf(ov[2], sizeof(ov[2]), "zookeeper.session.timeout.ms=%d", SESSION_MS);
    snprintf(ov[3], sizeof(ov[3]), "num.partitions=%d", PARTS);
    strlcpy(ov[4], "default.replication.factor=3", sizeof(ov[4]));
    strlcpy(ov[5], "min.insync.replicas=2", sizeof(ov[5]));
    strlcpy(ov[6], "offsets.topic.replication.factor=3", sizeof(ov[6]));
    if (cl->port[id]) {
        args[n++] = "--port";
        args[n++] = port;
    }
    if (cl->netns) { /* a partition may be cut: make it outlast the lag limit at times */
        args[n++] = "--bind";
        args[n++] = broker_host(cl, id, host, sizeof(host));
        strlcpy(ov[nov++], "replica.lag.time.max.ms=3000", sizeof(ov[0]));
    }
    if (cl->fetchers > 0)
        snprintf(ov[nov++], sizeof(ov[0]), "num.replica.fetchers=%d", cl->fetchers);
    nov = extra_settings(ov, nov, 14);
    for (int i = 0; i < nov; i++) {
        args[n++] = "--override";
        args[n++] = ov[i];
    }
    args[n] = NULL;
    /* Restarted before ZooKeeper expired the session of the broker it replaces, it finds
     * its id registered and exits (as Kafka's does): again, until that session is gone. */
    int rc = rel_broker_start(&cl->b[id], args, START_MS);
    for (int64_t t0 = kc_mono_ms(); rc == -ECHILD && kc_mono_ms() - t0 < SESSION_MS + 8000;
         rc = rel_broker_start(&cl->b[id], args, START_MS)) {
        printf("#   broker %d exited at start (its old session still holds its id?): again "
               "in 300 ms\n", id);
        usleep(300 * 1000);
    }
    if (rc)
        fail_msg("broker %d did not start: %s (log %s)", id, kc_strerror(rc), cl->b[id].log);
    cl->port[id] = cl->b[id].port;
    cl->frozen[id] = false;
}

/* A broker that exited on its own is a finding: say so, and count it. */
CH_FN void check_exits(struct cluster *cl)
{
    for (int id = 1; id <= BROKERS; id++) {
        if (cl->b[id].pid <= 0 || cl->frozen[id])
            continue;
        int status = rel_broker_exited(&cl->b[id]);
        if (status >= 0) {
            printf("# broker %d exited on its own (wait status %d; see %s)\n", id, status,
                   cl->b[id].log);
            cl->exits++;
        }
    }
}

/* Does the broker on host:port list api `key` in ApiVersions v0? */
CH_FN bool broker_has_api(const char *host, int port, int16_t key)
{
    /* size 10 | api_key 18 | version 0 | correlation 1 | client id null */
    static const uint8_t req[] = {0, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0, 1, 0xff, 0xff};
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct timeval tv = {.tv_sec = 10};
    assert_int_equal(inet_pton(AF_INET, host, &a.sin_addr), 1);
    uint8_t buf[4096];
    size_t got = 0;
    bool found = false;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(write(fd, req, sizeof(req)), (ssize_t)sizeof(req));
    for (ssize_t r; got < sizeof(buf) && (r = read(fd, buf + got, sizeof(buf) - got)) > 0;)
        if ((got += (size_t)r) >= 4 && got >= 4 + kc_load_be32(buf))
            break;
    close(fd);
    /* size | correlation | error (2) | count (4) | count x (key, min, max) */
    assert_true(got >= 14 && got >= 4 + kc_load_be32(buf));
    uint32_t n = kc_load_be32(buf + 10);
    for (uint32_t i = 0; i < n && 14 + 6 * (i + 1) <= got; i++)
        found |= (int16_t)kc_load_be16(buf + 14 + 6 * i) == key;
    return found;
}

/* ---- what the cluster says -------------------------------------------------------------- */

/* Metadata of the topic into p[PARTS] (and the controller id): 0, or -EAGAIN. */
CH_FN int cluster_meta(struct cluster *cl, struct pinfo *p, int *controller)
{
    const struct rd_kafka_metadata *md = NULL;
    if (rdk.rd_kafka_metadata(cl->obs, 0, cl->obs_t, &md, 2000) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return -EAGAIN;
    int rc = md->topic_cnt == 1 && md->topics[0].partition_cnt == PARTS &&
                     !md->topics[0].err
                 ? 0
                 : -EAGAIN;
    for (int i = 0; rc == 0 && i < PARTS; i++) {
        const rd_kafka_metadata_partition_t *mp = &md->topics[0].partitions[i];
        if (mp->id < 0 || mp->id >= PARTS) {
            rc = -EAGAIN;
            break;
        }
        struct pinfo *q = &p[mp->id];
        q->leader = mp->leader;
        q->nisr = mp->isr_cnt;
        q->nrep = KC_MIN(mp->replica_cnt, BROKERS);
        for (int r = 0; r < q->nrep; r++)
            q->rep[r] = mp->replicas[r];
    }
    rdk.rd_kafka_metadata_destroy(md);
    if (controller)
        *controller = rc == 0 ? rdk.rd_kafka_controllerid(cl->obs, 0) : -1;
    return rc;
}

/* Partition k's leader, if it is up (else -1); its followers into fol[] (*nfol). */
CH_FN int leader_of(struct cluster *cl, int32_t k, int *fol, int *nfol)
{
    struct pinfo p[PARTS];
    for (int64_t t0 = kc_mono_ms(); kc_mono_ms() - t0 < 10000; usleep(200 * 1000)) {
        if (cluster_meta(cl, p, NULL) != 0 || p[k].leader < 1 || p[k].leader > BROKERS ||
            !up(cl, p[k].leader))
            continue;
        *nfol = 0;
        for (int r = 0; r < p[k].nrep; r++)
            if (p[k].rep[r] != p[k].leader && p[k].rep[r] >= 1 && p[k].rep[r] <= BROKERS)
                fol[(*nfol)++] = p[k].rep[r];
        return p[k].leader;
    }
    return -1;
}

/* Every partition led, with ISR >= isr, within bound_ms: the time it took, or -1. */
CH_FN int64_t wait_settled(struct cluster *cl, int isr, int64_t bound_ms)
{
    struct pinfo p[PARTS];
    int64_t t0 = kc_mono_ms();
    while (kc_mono_ms() - t0 < bound_ms) {
        bool ok = cluster_meta(cl, p, NULL) == 0;
        for (int k = 0; ok && k < PARTS; k++)
            ok = p[k].leader >= 1 && p[k].nisr >= isr;
        if (ok)
            return kc_mono_ms() - t0;
        usleep(200 * 1000);
    }
    return -1;
}

CH_FN int random_up(struct cluster *cl)
{
    for (int tries = 0; tries < 32; tries++) {
        int id = (int)rel_rand_range(&cl->rnd, 1, BROKERS);
        if (up(cl, id))
            return id;
    }
    return -1;
}

#include "chaos_faults.h"

/* ---- the cluster's life ----------------------------------------------------------------- */

/* Broker id's directory <dir>/broker-<id>/ (data, broker.out, fault.ctl), under the shim
 * with its fsyncs recorded (the power cut's model). */
CH_FN void broker_init(struct cluster *cl, int id)
{
    char dir[600], ctl[700];
    snprintf(dir, sizeof(dir), "%s/broker-%d", cl->c.dir, id);
    assert_int_equal(mkdir(dir, 0755), 0);
    assert_int_equal(rel_broker_init(&cl->b[id], cl->bin, dir), 0);
    snprintf(ctl, sizeof(ctl), "%s/fault.ctl", dir);
    assert_non_null(cl->ctl[id] = flt_ctl_open(ctl));
    flt_track_syncs(cl->ctl[id], 1);
    strlcpy(cl->b[id].shim, cl->shim, sizeof(cl->b[id].shim));
    strlcpy(cl->b[id].ctl, ctl, sizeof(cl->b[id].ctl));
}

/* 0; -ENOENT without ZooKeeper. Fails the test on anything else. */
CH_FN int cluster_up(struct cluster *cl)
{
    const char *bin = getenv("CHAOS_BROKER_BIN_DIR"), *lib = getenv("KC_LIB_DIR");
    if (!bin || !*bin)
        bin = getenv("KC_BIN_DIR");
    strlcpy(cl->bin, bin && *bin ? bin : "build/bin", sizeof(cl->bin));
    snprintf(cl->shim, sizeof(cl->shim), "%s/libkc_fault.so", lib && *lib ? lib : "build/lib");
    rdk_load();
    int rc = clu_zks_start(&cl->zk);
    if (rc == -ENOENT)
        return rc;
    if (rc)
        fail_msg("ZooKeeper: %s", kc_strerror(rc));
    printf("# ZooKeeper on %s (started in %lld ms); brokers from %s\n", cl->zk.hosts,
           (long long)cl->zk.last_start_ms, cl->bin);
    clu_zks_connect(&cl->zk, "chaos", cl->zk_connect, sizeof(cl->zk_connect));
    for (int id = 1; id <= BROKERS; id++) {
        broker_init(cl, id);
        broker_start(cl, id);
    }
    int n = 0;
    char host[20];
    for (int id = 1; id <= BROKERS; id++)
        n += snprintf(cl->c.bootstrap + n, sizeof(cl->c.bootstrap) - (size_t)n, "%s%s:%d",
                      id > 1 ? "," : "", broker_host(cl, id, host, sizeof(host)), cl->port[id]);
    cl->replicated = broker_has_api(broker_host(cl, 1, host, sizeof(host)), cl->port[1],
                                    23 /* OffsetForLeaderEpoch */);
    printf("# brokers on %s; replication %s\n", cl->c.bootstrap,
           cl->replicated ? "in this broker" : "NOT in this broker (no OffsetForLeaderEpoch)");
    cl->obs_c = (struct client){.w = &cl->c};
    cl->obs = make_producer(&cl->obs_c); /* idle: it only asks for Metadata (and creates) */
    cl->obs_t = rdk.rd_kafka_topic_new(cl->obs, TOPIC, NULL);
    int64_t ms = wait_settled(cl, BROKERS, SETTLE_MS);
    if (ms < 0)
        fail_msg("topic %s never had %d partitions led with ISR %d", TOPIC, PARTS, BROKERS);
    printf("# topic %s: %d partitions, replication factor 3, min.insync.replicas 2, ready in "
           "%lld ms\n", TOPIC, PARTS, (long long)ms);
    return 0;
}

CH_FN void cluster_heal(struct cluster *cl)
{
    if (cl->zk_paused)
        clu_zks_pause(&cl->zk, false);
    if (cl->zk_down && clu_zks_start(&cl->zk) != 0)
        fail_msg("ZooKeeper did not come back");
    cl->zk_paused = cl->zk_down = false;
    if (cl->netns && kc_netns_heal() != 0)
        fail_msg("nft could not heal the partition");
    check_exits(cl);
    for (int id = 1; id <= BROKERS; id++) {
        flt_disarm(cl->ctl[id]);
        if (cl->frozen[id])
            kill(cl->b[id].pid, SIGCONT);
        cl->frozen[id] = false;
        if (cl->b[id].pid <= 0)
            broker_start(cl, id);
    }
}

/* Bounded by SETTLE_MS, or 10 s when anomalies are expected (without replication a
 * restarted replica may never catch up: not worth a minute). */
CH_FN void cluster_settle(struct cluster *cl)
{
    int64_t bound = cl->expect_anomalies ? 10000 : SETTLE_MS;
    int64_t ms = wait_settled(cl, BROKERS, bound);
    if (ms >= 0)
        printf("# healed: every partition led with ISR %d after %lld ms\n", BROKERS,
               (long long)ms);
    else
        printf("# healed, but not settled in %lld ms: some ISR is still short\n",
               (long long)bound);
}

/* SIGTERM to every broker at once, then reap each (bounded). */
CH_FN void cluster_stop_all(struct cluster *cl)
{
    if (cl->obs_t)
        rdk.rd_kafka_topic_destroy(cl->obs_t);
    if (cl->obs)
        rdk.rd_kafka_destroy(cl->obs);
    cl->obs = NULL;
    cl->obs_t = NULL;
    for (int id = 1; id <= BROKERS; id++)
        if (cl->b[id].pid > 0)
            kill(cl->b[id].pid, SIGTERM);
    for (int id = 1; id <= BROKERS; id++)
        printf("# broker %d stopped: wait status %d\n", id, rel_broker_stop(&cl->b[id], START_MS));
}

/* Broker id alone on its data directory (no ZooKeeper), its address in out. */
CH_FN int cluster_start_alone(struct cluster *cl, int id, char *out, size_t cap)
{
    const char *args[] = {"--override", "num.partitions=4" /* PARTS */, NULL};
    cl->b[id].shim[0] = cl->b[id].ctl[0] = '\0'; /* its disk as it is: no faults now */
    int rc = rel_broker_start(&cl->b[id], args, START_MS);
    if (rc == 0)
        snprintf(out, cap, "127.0.0.1:%d", cl->b[id].port);
    return rc;
}

CH_FN void cluster_stop_alone(struct cluster *cl, int id)
{
    assert_int_equal(rel_broker_stop(&cl->b[id], START_MS), 0);
}

CH_FN void cluster_down(struct cluster *cl)
{
    if (cl->obs)
        cluster_stop_all(cl);
    for (int id = 1; id <= BROKERS; id++) {
        rel_broker_kill9(&cl->b[id]);
        if (cl->ctl[id])
            flt_ctl_close(cl->ctl[id]);
    }
    clu_zks_destroy(&cl->zk);
}

#endif
