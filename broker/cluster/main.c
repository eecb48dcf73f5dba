/*
 * kafka_cluster_zk - three brokers' metadata on a real ZooKeeper, in one process.
 *
 * It starts a local ZooKeeper (or uses --zookeeper), opens three cluster members (what
 * each broker of a cluster runs), creates a topic with replication factor 3, has a leader
 * change its ISR, then kills the controller's session several times - a real session
 * expiry, as when a broker hangs - and prints what each broker was told and when: the new
 * controller, the new leaders, the victim told to stop leading, then back with a new
 * broker epoch. Last, a controlled shutdown. Figures: medians and maxima over the rounds.
 *
 *   usage: kafka_cluster_zk [--zookeeper host:port[/chroot]] [--rounds N] [--session-ms N]
 *                           [--verbose]    (the module's own log: every controller decision)
 *
 * Times are milliseconds since the kill ("+12 ms"). The znode bodies are printed as a
 * ZooKeeper client reads them: exactly what a Kafka broker of the ZooKeeper era wrote.
 */
#define THREADED
#include <zookeeper/zookeeper.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clu.h"
#include "clu_zks.h"
#include "kc_common.h"

#define TOPIC    "payments"
#define NPART    3
#define NBROKERS 3
#define WAIT_MS  30000

struct demo;

struct broker {
    struct demo *d;
    int32_t id;
    struct clu *cl;
    int64_t epoch; /* from its last on_session(up) */
    int ups, downs;
    struct repl_pstate ps[NPART];
};

struct demo {
    char connect[300];
    int session_ms;
    struct broker b[NBROKERS + 1]; /* by id */
    int64_t t0;                    /* printed times are relative to it */
    bool narrate;                  /* print every note */
};

static int64_t since(const struct demo *d)
{
    return kc_mono_ms() - d->t0;
}

static const char *isr_str(const struct repl_pstate *ps, char *buf, size_t cap)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int i = 0; i < ps->nisr && at < cap; i++)
        at += (size_t)snprintf(buf + at, cap - at, "%s%d", i ? "," : "", (int)ps->isr[i]);
    return buf;
}

/* ---- what each broker is told ---- */

static void on_session(void *arg, bool up, int64_t epoch)
{
    struct broker *b = arg;
    if (up) {
        b->ups++;
        b->epoch = epoch;
    } else {
        b->downs++;
    }
    if (b->d->narrate)
        printf("  %+6" PRId64 " ms  broker %d: %s\n", since(b->d), (int)b->id,
               up ? "registered (a new broker epoch) - back in the cluster"
                  : "session lost: STOP LEADING everything");
}

static void on_controller(void *arg, int32_t id, int32_t epoch, bool self)
{
    struct broker *b = arg;
    if (b->d->narrate && id >= 0)
        printf("  %+6" PRId64
               " ms  broker %d: the controller is broker %d, controller epoch %d%s\n",
               since(b->d), (int)b->id, (int)id, (int)epoch, self ? " - it is me" : "");
}

static void on_partition(void *arg, const struct clu_partition_note *n)
{
    struct broker *b = arg;
    char isr[64];
    if (strcmp(n->topic, TOPIC) != 0 || n->partition >= NPART)
        return;
    b->ps[n->partition] = *n->ps;
    if (b->d->narrate)
        printf("  %+6" PRId64 " ms  broker %d: %s-%d leader %d, leader epoch %d, ISR [%s]: %s\n",
               since(b->d), (int)b->id, n->topic, (int)n->partition, (int)n->ps->leader,
               (int)n->ps->leader_epoch, isr_str(n->ps, isr, sizeof(isr)),
               n->role == CLU_ROLE_LEADER ? "I LEAD" : clu_role_name(n->role));
}

static const struct clu_callbacks callbacks = {
    .on_session = on_session,
    .on_controller = on_controller,
    .on_partition = on_partition,
};

static void poll_all(struct demo *d)
{
    for (int32_t id = 1; id <= NBROKERS; id++)
        if (d->b[id].cl)
            clu_poll(d->b[id].cl, &callbacks, &d->b[id]);
}

static int32_t controller(struct demo *d)
{
    for (int32_t id = 1; id <= NBROKERS; id++) {
        struct clu_status st;
        clu_status(d->b[id].cl, &st);
        if (st.is_controller)
            return id;
    }
    return -1;
}

/* Poll until pred(d, arg) holds: its time since d->t0 (after WAIT_MS: the demo fails). */
#define until(d, pred, arg) until_(d, pred, arg, #pred)
static int64_t until_(struct demo *d, bool (*pred)(struct demo *, const void *), const void *arg,
                      const char *what)
{
    int64_t end = kc_mono_ms() + WAIT_MS;
    while (kc_mono_ms() < end) {
        poll_all(d);
        if (pred(d, arg))
            return since(d);
        kc_sleep_ms(1);
    }
    fprintf(stderr, "kafka_cluster_zk: %s: still false after %d ms\n", what, WAIT_MS);
    exit(1);
}

static struct clu_answer await(struct demo *d, int32_t who, int64_t id)
{
    struct clu_answer a;
    if (id < 0 || clu_await(d->b[who].cl, id, WAIT_MS, &callbacks, &d->b[who], &a) != 0) {
        fprintf(stderr, "kafka_cluster_zk: broker %d: no answer\n", (int)who);
        exit(1);
    }
    return a;
}

/* ---- scene 1: the cluster forms ---- */

static bool everyone_agrees(struct demo *d, const void *arg)
{
    (void)arg;
    for (int p = 0; p < NPART; p++)
        for (int32_t id = 1; id <= NBROKERS; id++) {
            const struct repl_pstate *ps = &d->b[id].ps[p];
            if (ps->leader < 0 || ps->leader != d->b[1].ps[p].leader ||
                ps->partition_epoch != d->b[1].ps[p].partition_epoch || ps->nreplicas == 0)
                return false;
        }
    return controller(d) > 0;
}

static void join(struct demo *d)
{
    printf("\n1. Three brokers register; one wins the election\n\n");
    for (int32_t id = 1; id <= NBROKERS; id++) {
        char listeners[64];
        snprintf(listeners, sizeof(listeners), "PLAINTEXT://127.0.0.1:%d", 9091 + id);
        struct clu_config cfg = {.broker_id = id,
                                 .zk_connect = d->connect,
                                 .session_timeout_ms = d->session_ms,
                                 .listeners = listeners,
                                 .leader_rebalance_ms = 1000};
        struct broker *b = &d->b[id];
        *b = (struct broker){.d = d, .id = id};
        for (int p = 0; p < NPART; p++)
            b->ps[p].leader = -1;
        int rc = clu_open(&cfg, &b->cl);
        if (rc != 0) {
            fprintf(stderr, "kafka_cluster_zk: broker %d: %s\n", (int)id, kc_strerror(rc));
            exit(1);
        }
        struct clu_status st;
        clu_status(b->cl, &st);
        printf("  broker %d registered: /brokers/ids/%d, broker epoch (its czxid) %" PRId64
               ", session 0x%" PRIx64 "\n",
               (int)id, (int)id, st.broker_epoch, (uint64_t)st.session_id);
    }
    struct clu_kv cfg[] = {{"min.insync.replicas", "2"}};
    int64_t id = clu_topic_create(d->b[1].cl, TOPIC, NPART, 3, cfg, 1);
    struct clu_answer a = await(d, 1, id);
    printf("  broker 1 asks the controller (broker %d) for topic %s, %d partitions x 3 "
           "replicas: %s\n",
           (int)controller(d), TOPIC, NPART, a.error ? repl_kerr_name(a.error) : "created");
    until(d, everyone_agrees, NULL);
    for (int p = 0; p < NPART; p++) {
        char isr[64];
        const struct repl_pstate *ps = &d->b[1].ps[p];
        printf("  %s-%d: replicas [%d,%d,%d], leader %d (the first replica), ISR [%s]\n", TOPIC, p,
               (int)ps->replicas[0], (int)ps->replicas[1], (int)ps->replicas[2], (int)ps->leader,
               isr_str(ps, isr, sizeof(isr)));
    }
}

/* The bodies as any ZooKeeper client (Kafka's own tools included) reads them. */
static void show_znodes(struct demo *d)
{
    static const char *const paths[] = {"/brokers/ids/1",
                                        "/controller",
                                        "/controller_epoch",
                                        "/brokers/topics/" TOPIC,
                                        "/brokers/topics/" TOPIC "/partitions/0/state",
                                        "/config/topics/" TOPIC,
                                        "/cluster/id"};
    zoo_set_debug_level((ZooLogLevel)0);
    zhandle_t *zh = zookeeper_init(d->connect, NULL, 10000, NULL, NULL, 0);
    for (int i = 0; zh && i < 2000 && zoo_state(zh) != ZOO_CONNECTED_STATE; i++)
        kc_sleep_ms(5);
    printf("\n2. The znodes, as Kafka writes them\n\n");
    for (size_t i = 0; zh && i < KC_ARRAY_SIZE(paths); i++) {
        char buf[1024];
        int len = sizeof(buf) - 1;
        struct Stat st;
        if (zoo_get(zh, paths[i], 0, buf, &len, &st) != ZOK)
            continue;
        buf[len < 0 ? 0 : len] = '\0';
        printf("  %-42s v%-2d %s%s\n", paths[i], (int)st.version,
               st.ephemeralOwner ? "EPHEMERAL " : "", buf);
    }
    if (zh)
        zookeeper_close(zh);
}

/* ---- scene 3: an ISR change through the controller ---- */

static void isr_change(struct demo *d)
{
    printf("\n3. A leader changes its ISR, through the controller\n\n");
    struct repl_pstate ps = d->b[1].ps[0];
    int32_t L = ps.leader, keep = ps.isr[1], drop = ps.isr[2];
    struct repl_isr_change ch = {.leader = L,
                                 .leader_epoch = ps.leader_epoch,
                                 .partition_epoch = ps.partition_epoch,
                                 .nisr = 2,
                                 .isr = {L, keep}};
    struct clu_answer a = await(d, L, clu_propose_isr(d->b[L].cl, TOPIC, 0, &ch));
    printf("  broker %d (leader of %s-0) drops broker %d, which fell behind: %s, partition epoch "
           "%d -> %d\n",
           (int)L, TOPIC, (int)drop, a.error ? repl_kerr_name(a.error) : "accepted",
           (int)ps.partition_epoch, (int)a.state.partition_epoch);
    a = await(d, L, clu_propose_isr(d->b[L].cl, TOPIC, 0, &ch));
    printf("  the same proposal again (an answer lost, a retry): %s, still partition epoch %d\n",
           a.error ? repl_kerr_name(a.error) : "accepted", (int)a.state.partition_epoch);
    ch.nisr = 3;
    ch.isr[2] = drop;
    a = await(d, L, clu_propose_isr(d->b[L].cl, TOPIC, 0, &ch));
    printf("  adding broker %d back, based on partition epoch %d (stale): %s\n", (int)drop,
           (int)ps.partition_epoch, repl_kerr_name(a.error));
    ch.partition_epoch = ps.partition_epoch + 1;
    a = await(d, L, clu_propose_isr(d->b[L].cl, TOPIC, 0, &ch));
    printf("  again, based on partition epoch %d: %s, partition epoch %d\n",
           (int)ch.partition_epoch, a.error ? repl_kerr_name(a.error) : "accepted",
           (int)a.state.partition_epoch);
}

/* ---- scene 4: the controller's session dies ---- */

struct round {
    int32_t victim;
    bool led[NPART];
    int64_t elected, moved, told, back, rebalanced;
};

static bool other_controller(struct demo *d, const void *arg)
{
    const struct round *r = arg;
    for (int32_t id = 1; id <= NBROKERS; id++) {
        struct clu_status st;
        clu_status(d->b[id].cl, &st);
        if (id != r->victim && st.is_controller)
            return true;
    }
    return false;
}

static bool leaders_moved(struct demo *d, const void *arg)
{
    const struct round *r = arg;
    for (int p = 0; p < NPART; p++)
        for (int32_t id = 1; id <= NBROKERS; id++) {
            int32_t l = d->b[id].ps[p].leader;
            if (r->led[p] && id != r->victim && (l < 0 || l == r->victim))
                return false;
        }
    return true;
}

static bool victim_told(struct demo *d, const void *arg)
{
    const struct round *r = arg;
    return d->b[r->victim].downs > 0;
}

static bool victim_back(struct demo *d, const void *arg)
{
    const struct round *r = arg;
    struct clu_status st;
    clu_status(d->b[r->victim].cl, &st);
    return d->b[r->victim].ups > 1 && st.registered;
}

static bool preferred_lead(struct demo *d, const void *arg)
{
    (void)arg;
    for (int p = 0; p < NPART; p++)
        for (int32_t id = 1; id <= NBROKERS; id++)
            if (d->b[id].ps[p].leader != d->b[id].ps[p].replicas[0])
                return false;
    return true;
}

/* The victim is back but out of the ISRs: each leader adds it again, as its replica
 * fetcher would once the victim caught up (the broker integration's job: here, at once). */
static void catch_up(struct demo *d, int32_t victim)
{
    int32_t survivor = victim == 1 ? 2 : 1;
    poll_all(d);
    for (int p = 0; p < NPART; p++) {
        int32_t L = d->b[survivor].ps[p].leader;
        struct repl_pstate ps = d->b[L].ps[p]; /* as the leader itself knows it */
        if (ps.leader < 0 || repl_pstate_in_isr(&ps, victim))
            continue;
        struct repl_isr_change ch = {.leader = ps.leader,
                                     .leader_epoch = ps.leader_epoch,
                                     .partition_epoch = ps.partition_epoch,
                                     .nisr = ps.nisr + 1};
        memcpy(ch.isr, ps.isr, (size_t)ps.nisr * sizeof(int32_t));
        ch.isr[ps.nisr] = victim;
        struct clu_answer a =
            await(d, ps.leader, clu_propose_isr(d->b[ps.leader].cl, TOPIC, p, &ch));
        if (d->narrate)
            printf("  %+6" PRId64 " ms  broker %d: adds broker %d back to the ISR of %s-%d: %s\n",
                   since(d), (int)ps.leader, (int)victim, TOPIC, p,
                   a.error ? repl_kerr_name(a.error) : "accepted");
    }
}

static void kill_controller(struct demo *d, struct clu_zks *zks, struct round *r)
{
    struct clu_status st;
    poll_all(d);
    r->victim = controller(d);
    for (int p = 0; p < NPART; p++)
        r->led[p] = d->b[1].ps[p].leader == r->victim;
    struct broker *v = &d->b[r->victim];
    v->ups = 1;
    v->downs = 0;
    clu_status(v->cl, &st);
    int64_t t = kc_mono_ms();
    int rc = clu_zks_expire(zks, st.session_id, st.session_passwd);
    if (rc != 0) {
        fprintf(stderr, "kafka_cluster_zk: expiring a session: %s\n", kc_strerror(rc));
        exit(1);
    }
    d->t0 = kc_mono_ms(); /* the session has ended on the server: time zero */
    if (d->narrate)
        printf("  %+6" PRId64 " ms  the controller, broker %d, has lost its session (a second "
               "client took it over and closed it, in %" PRId64 " ms)\n",
               since(d), (int)r->victim, d->t0 - t);
    r->elected = until(d, other_controller, r);
    r->moved = until(d, leaders_moved, r);
    r->told = until(d, victim_told, r);
    r->back = until(d, victim_back, r);
    catch_up(d, r->victim);
    r->rebalanced = until(d, preferred_lead, NULL);
}

/* Poll until nothing has been said for 100 ms. */
static void settle(struct demo *d)
{
    int64_t quiet = kc_mono_ms();
    while (kc_mono_ms() - quiet < 100) {
        int n = 0;
        for (int32_t id = 1; id <= NBROKERS; id++)
            n += clu_poll(d->b[id].cl, &callbacks, &d->b[id]);
        if (n)
            quiet = kc_mono_ms();
        kc_sleep_ms(5);
    }
}

static void failovers(struct demo *d, struct clu_zks *zks, int rounds)
{
    double elected[64], moved[64], told[64], back[64];
    printf("\n4. The controller's session expires, %d times (narrated once)\n\n", rounds);
    for (int i = 0; i < rounds; i++) {
        struct round r = {0};
        settle(d); /* what happened before this round is not news */
        d->narrate = i == 0;
        kill_controller(d, zks, &r);
        if (i == 0)
            printf("\n");
        printf("  round %d: broker %d killed; new controller elected %" PRId64 " ms, its "
               "partitions led again %" PRId64 " ms; it was told to stop leading at %" PRId64
               " ms, back with a new epoch at %" PRId64
               " ms; preferred leaders restored at %" PRId64 " ms\n",
               i + 1, (int)r.victim, r.elected, r.moved, r.told, r.back, r.rebalanced);
        elected[i] = (double)r.elected, moved[i] = (double)r.moved;
        told[i] = (double)r.told, back[i] = (double)r.back;
    }
    d->narrate = false;
    printf("\n  over %d rounds, milliseconds after the session expired:   median   max\n", rounds);
    printf("    another broker is the controller                    %6.0f %6.0f\n",
           kc_median(elected, (size_t)rounds), kc_max(elected, (size_t)rounds));
    printf("    every partition it led has a new leader, all agree  %6.0f %6.0f\n",
           kc_median(moved, (size_t)rounds), kc_max(moved, (size_t)rounds));
    printf("    the victim is told to stop leading                  %6.0f %6.0f\n",
           kc_median(told, (size_t)rounds), kc_max(told, (size_t)rounds));
    printf("    the victim is registered again (new broker epoch)   %6.0f %6.0f\n",
           kc_median(back, (size_t)rounds), kc_max(back, (size_t)rounds));
}

/* ---- scene 5: controlled shutdown ---- */

static bool away_from(struct demo *d, const void *arg)
{
    int32_t who = *(const int32_t *)arg;
    for (int p = 0; p < NPART; p++)
        for (int32_t id = 1; id <= NBROKERS; id++)
            if (d->b[id].ps[p].leader == who || d->b[id].ps[p].leader < 0)
                return false;
    return true;
}

static void controlled_shutdown(struct demo *d)
{
    int32_t who = d->b[1].ps[0].leader;
    int led = 0;
    for (int p = 0; p < NPART; p++)
        led += d->b[1].ps[p].leader == who;
    printf("\n5. Controlled shutdown of broker %d (it leads %d partition(s))\n\n", (int)who, led);
    d->t0 = kc_mono_ms();
    struct clu_answer a = await(d, who, clu_shutdown_begin(d->b[who].cl));
    int64_t answered = since(d), moved = until(d, away_from, &who);
    printf("  the controller's answer after %" PRId64 " ms: %s, %d partition(s) still led by it\n",
           answered, a.error ? repl_kerr_name(a.error) : "done", (int)a.remaining);
    printf("  every broker sees the new leaders %" PRId64 " ms after the request\n", moved);
    clu_close(d->b[who].cl);
    d->b[who].cl = NULL;
    printf("  broker %d closes its session: its registration goes at once\n", (int)who);
}

/* ---- main ---- */

static void parse_args(int argc, char **argv, const char **zk, int *rounds, int *session_ms)
{
    for (int i = 1; i < argc; i++) {
        int64_t v;
        if (strcmp(argv[i], "--verbose") == 0)
            kc_log_set_level(KC_LOG_INFO);
        else if (i + 1 < argc && strcmp(argv[i], "--zookeeper") == 0)
            *zk = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--rounds") == 0 &&
                 kc_parse_i64(argv[i + 1], 1, 64, &v) == 0)
            *rounds = (int)v, i++;
        else if (i + 1 < argc && strcmp(argv[i], "--session-ms") == 0 &&
                 kc_parse_i64(argv[i + 1], 1000, 60000, &v) == 0)
            *session_ms = (int)v, i++;
        else {
            fprintf(stderr, "usage: kafka_cluster_zk [--zookeeper host:port[/chroot]] "
                            "[--rounds 1..64] [--session-ms 1000..60000] [--verbose]\n");
            exit(2);
        }
    }
}

int main(int argc, char **argv)
{
    const char *zk = NULL;
    int rounds = 5;
    struct demo d = {.session_ms = 6000};
    struct clu_zks zks = {0};
    kc_log_set_level(KC_LOG_ERROR);
    parse_args(argc, argv, &zk, &rounds, &d.session_ms);
    zoo_set_debug_level((ZooLogLevel)0);
    if (!zk) {
        int rc = clu_zks_start(&zks);
        if (rc != 0) {
            fprintf(stderr,
                    "kafka_cluster_zk: starting ZooKeeper: %s (scripts/deps.sh test "
                    "installs it)\n",
                    kc_strerror(rc));
            return 1;
        }
        printf("ZooKeeper %s started in %" PRId64 " ms (data in %s)\n", zks.hosts,
               zks.last_start_ms, zks.dir);
        clu_zks_connect(&zks, "kafka_cluster_zk", d.connect, sizeof(d.connect));
    } else {
        snprintf(d.connect, sizeof(d.connect), "%s", zk);
        snprintf(zks.hosts, sizeof(zks.hosts), "%.*s", (int)strcspn(zk, "/"), zk);
    }
    printf("zookeeper.connect=%s, zookeeper.session.timeout.ms=%d\n", d.connect, d.session_ms);
    join(&d);
    show_znodes(&d);
    isr_change(&d);
    failovers(&d, &zks, rounds);
    controlled_shutdown(&d);
    for (int32_t id = 1; id <= NBROKERS; id++)
        clu_close(d.b[id].cl);
    clu_zks_destroy(&zks);
    double load[3];
    if (getloadavg(load, 3) == 3)
        printf("\nload average %.2f %.2f %.2f on %ld CPUs\n", load[0], load[1], load[2],
               sysconf(_SC_NPROCESSORS_ONLN));
    return 0;
}
