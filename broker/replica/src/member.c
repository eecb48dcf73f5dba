/*
 * member.c - the member's life: join (clu_open with the real endpoints), the member
 * thread, leave.
 *
 * Which thread drains the notes: a thread of the member's own. The notes' consequences
 * block - creating a topic's logs is mkdir and fsync, deleting one waits for the core's
 * grace period - so they must not run on a network loop (every connection of that loop
 * would wait) nor on the main thread (its poll is the core's: signals, retention, the
 * reaper). The member thread waits on clu_fd() and its own eventfd, and is the only
 * caller of clu_poll; the loops see its work only through the published view.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "brep_int.h"

static void on_session(void *arg, bool up, int64_t epoch)
{
    struct brep *m = arg;
    m->session_up = up;
    m->dirty = true;
    if (up)
        kc_log_info("cluster: broker %d registered (broker epoch %lld)", (int)m->self,
                    (long long)epoch);
    else
        kc_log_warn("cluster: session with ZooKeeper lost or in doubt: leading nothing "
                    "until it is back");
}

static void on_controller(void *arg, int32_t id, int32_t epoch, bool self)
{
    struct brep *m = arg;
    m->controller = id;
    m->dirty = true;
    kc_log_info("cluster: the controller is broker %d (controller epoch %d)%s", (int)id,
                (int)epoch, self ? ": this broker" : "");
}

static const struct clu_callbacks callbacks = {
    .on_session = on_session,
    .on_controller = on_controller,
    .on_broker = brep__on_broker,
    .on_topic = brep__on_topic,
    .on_partition = brep__on_partition,
    .on_answer = brep__on_answer,
};

/* One batch of notes: tables, then logs, then the view, then the waiters it satisfies. */
static void drain(struct brep *m)
{
    int n = 0, got;
    while ((got = clu_poll(m->cl, &callbacks, m)) > 0)
        n += got;
    bool synced = m->dirty || m->resync;
    if (synced) {
        brep__replicas_release_deleted(m);
        brep__sync_logs(m);
        brep__replicas_sync(m); /* every state to its replica, now that the logs exist */
        if (brep__publish(m) != 0)
            kc_log_error("cluster: out of memory publishing the view (the last one stays)");
    }
    if (m->loads) { /* the view above said "loading"; the one after the load says "led" */
        brep__load_offsets(m);
        if (brep__publish(m) != 0)
            kc_log_error("cluster: out of memory publishing the view (the last one stays)");
    }
    /* an answer may come after the notes it waits for, and the local logs a waiter needs
     * may be made by a later resync (a deleted topic's directories still going): check
     * after either */
    if (n > 0 || synced)
        brep__waiters_settle(m);
}

static void *member_main(void *arg)
{
    struct brep *m = arg;
    (void)pthread_setname_np(pthread_self(), "brk-member"); /* top -H, logs; cosmetic */
    for (;;) {
        pthread_mutex_lock(&m->mu);
        bool stop = m->stopping;
        pthread_mutex_unlock(&m->mu);
        if (stop)
            break;
        int wait_ms = brep__shutdown_step(m);
        int repl_ms = brep__replicas_step(m);
        wait_ms = wait_ms > 0 ? KC_MIN(wait_ms, repl_ms) : repl_ms;
        struct pollfd pfd[2] = {{.fd = clu_fd(m->cl), .events = POLLIN},
                                {.fd = m->wakefd, .events = POLLIN}};
        if (poll(pfd, 2, wait_ms > 0 ? wait_ms : 1000) < 0 && errno != EINTR)
            kc_log_warn("cluster: poll: %s", strerror(errno));
        if (pfd[1].revents & POLLIN) {
            uint64_t n;
            (void)!read(m->wakefd, &n, sizeof(n));
        }
        drain(m);
    }
    return NULL;
}

/* "PLAINTEXT://host:port,NAME://host:port": every listener, at its real port. */
static void endpoints(struct brk_server *srv, char *buf, size_t cap)
{
    const struct brk_config *cfg = brk_server_config(srv);
    size_t off = 0;
    buf[0] = '\0';
    for (int i = 0; i < brk_server_nlisteners(srv) && off < cap; i++) {
        const char *name;
        enum brk_secproto proto;
        int port;
        brk_server_listener(srv, i, &name, &proto, &port);
        const struct brk_listener_config *lc = &cfg->sec.listeners[i];
        if (i == 0)
            port = brk_server_port(srv); /* advertised.listeners' port, or the bound one */
        else if (lc->adv_port)
            port = lc->adv_port;
        const char *host = lc->adv_host[0] ? lc->adv_host : brk_server_host(srv);
        int n = snprintf(buf + off, cap - off, "%s%s://%s:%d", i ? "," : "", name, host, port);
        off += n > 0 ? (size_t)n : 0;
    }
}

static int open_fail(struct brep *m, int rc, char *err, size_t cap)
{
    const struct brk_cluster_config *cc = &brk_server_config(m->srv)->cluster;
    if (rc == -EEXIST)
        snprintf(err, cap, "broker id %d already registered: another live broker of the "
                           "cluster at %s uses broker.id=%d", (int)cc->broker_id,
                 cc->zk_connect, (int)cc->broker_id);
    else if (rc == -ETIMEDOUT)
        snprintf(err, cap, "no ZooKeeper answered at %s within %lld ms "
                           "(zookeeper.connection.timeout.ms)", cc->zk_connect,
                 (long long)(cc->zk_connection_timeout_ms ? cc->zk_connection_timeout_ms
                                                           : cc->zk_session_timeout_ms));
    else
        snprintf(err, cap, "cannot join the cluster at %s: %s", cc->zk_connect,
                 kc_strerror(rc));
    if (m->wakefd >= 0)
        close(m->wakefd);
    pthread_mutex_destroy(&m->mu);
    pthread_cond_destroy(&m->cond);
    free(m);
    return rc;
}

int brep_open(struct brk_server *srv, struct brep **out, char *err, size_t cap)
{
    const struct brk_config *cfg = brk_server_config(srv);
    const struct brk_cluster_config *cc = &cfg->cluster;
    struct brep *m = calloc(1, sizeof(*m));
    char eps[1024];
    if (!m)
        return -ENOMEM;
    m->srv = srv;
    m->self = cc->broker_id;
    m->controller = -1;
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cond, NULL);
    m->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (m->wakefd < 0)
        return open_fail(m, -errno, err, cap);
    endpoints(srv, eps, sizeof(eps));
    struct clu_config c = {
        .broker_id = cc->broker_id,
        .zk_connect = cc->zk_connect,
        .session_timeout_ms = (int)cc->zk_session_timeout_ms,
        .connect_timeout_ms = (int)cc->zk_connection_timeout_ms,
        .listeners = eps,
        .protocol_map = cfg->sec.protocol_map[0] ? cfg->sec.protocol_map : NULL,
        .rack = cc->rack[0] ? cc->rack : NULL,
        .unclean_leader_election = cc->unclean_leader_election,
        .leader_rebalance_ms = cc->auto_leader_rebalance ? cc->leader_imbalance_check_s * 1000
                                                         : 0,
    };
    int rc = brep__replicas_open(m);
    if (rc)
        return open_fail(m, rc, err, cap);
    rc = clu_open(&c, &m->cl);
    if (rc) {
        brep__replicas_close(m);
        return open_fail(m, rc, err, cap);
    }
    kc_log_info("cluster: joined %s as broker %d, advertising %s", cc->zk_connect,
                (int)m->self, eps);
    rc = brep__publish(m); /* an empty view: no topic is served until the notes come */
    if (rc == 0) /* after clu_open: the chroot exists */
        rc = clu_pids_open(cc->zk_connect, c.session_timeout_ms, m->self, &m->pids);
    if (rc) {
        clu_close(m->cl);
        brep__replicas_close(m);
        brep__tables_free(m);
        return open_fail(m, rc, err, cap);
    }
    brk_cluster_attach(srv, &brep__ops, m);
    brk_server_on_stop(srv, brep__on_stop, m);
    *out = m;
    return 0;
}

int brep_start(struct brep *m)
{
    int rc = pthread_create(&m->thread, NULL, member_main, m);
    if (rc)
        return -rc;
    m->started = true;
    return 0;
}

void brep_close(struct brep *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    m->stopping = true;
    pthread_mutex_unlock(&m->mu);
    uint64_t one = 1;
    (void)!write(m->wakefd, &one, sizeof(one));
    if (m->started)
        pthread_join(m->thread, NULL);
    brk_server_on_stop(m->srv, NULL, NULL);
    brk_cluster_attach(m->srv, NULL, NULL); /* alone again: the doors stop asking us */
    brep__waiters_drop(m);
    clu_pids_close(m->pids); /* detached: no loop asks it any more */
    brep__replicas_close(m); /* fetchers stopped, parked produces answered, logs unpinned */
    clu_close(m->cl); /* the registration goes now, not a session timeout later */
    brep__tables_free(m);
    close(m->wakefd);
    pthread_mutex_destroy(&m->mu);
    pthread_cond_destroy(&m->cond);
    free(m);
}
