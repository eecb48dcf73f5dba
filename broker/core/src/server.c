/*
 * server.c - the broker process, assembled: storage, the main listener, the loops, the
 * adapters; and taken apart again in the right order.
 *
 *   brk_server_create   raise the fd limit, bind the main listener, create the loops
 *   brk_server_add_adapter / brk_server_listen   main.c plugs the doors in
 *   brk_server_open     open the flusher and every topic (recovering after a crash),
 *                       replay __consumer_offsets, start the adapters, serve the main
 *                       listener (run.c starts the loops before, so that a door that
 *                       serves while starting - HTTP's /health - answers meanwhile)
 *   brk_server_destroy  the order matters, because parked requests reach into storage
 *                       (watches on logs) and into adapters (a coordinator's waiters):
 *                         1. close every connection: their parks end (CLOSED), as tasks
 *                            posted to the (stopped) loops
 *                         2. run those tasks here: parks withdraw their watches while the
 *                            logs still exist; those waiting for an fsync stay held
 *                         3. close storage cleanly (flush: the held parks settle, checkpoints,
 *                            clean-shutdown markers), and run the tasks that posted
 *                         4. only now stop the adapters (nothing refers to them any more)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "brk_int.h"

/* A thousand connections need a thousand descriptors: take the hard limit. */
static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
        return;
    rlim_t was = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
        kc_log_info("open file limit raised from %llu to %llu", (unsigned long long)was,
                    (unsigned long long)rl.rlim_max);
    else
        kc_log_warn("cannot raise the open file limit above %llu: %s", (unsigned long long)was,
                    strerror(errno));
}

/*
 * What Kafka clients are told to connect to, per listener (a client is told the address of
 * the listener it came in on): advertised.listeners' entry for it when there is one, else
 * the bound address, or this host's name when bound to every interface (0.0.0.0 is not an
 * address a client can reach).
 */
static void advertise(struct brk_server *srv)
{
    for (int i = 0; i < srv->cfg.sec.nlisteners; i++) {
        const struct brk_listener_config *lc = &srv->cfg.sec.listeners[i];
        struct brk_listener *lst = &srv->listeners[i];
        const char *b = lc->host;
        lst->adv_port = lc->adv_port ? lc->adv_port : lst->port;
        if (lc->adv_host[0])
            strlcpy(lst->adv_host, lc->adv_host, sizeof(lst->adv_host));
        else if (strcmp(b, "0.0.0.0") != 0 && strcmp(b, "::") != 0 && *b)
            strlcpy(lst->adv_host, b, sizeof(lst->adv_host));
        else if (gethostname(lst->adv_host, sizeof(lst->adv_host)) != 0)
            strlcpy(lst->adv_host, "127.0.0.1", sizeof(lst->adv_host));
    }
    strlcpy(srv->host, srv->listeners[0].adv_host, sizeof(srv->host));
    srv->adv_port = srv->listeners[0].adv_port;
}

static void count_partitions(struct brk_server *srv)
{
    size_t n = part_topic_list(srv->reg, NULL, 0);
    struct part_topic **ts = calloc(n ? n : 1, sizeof(*ts));
    struct alog_info ai;
    if (!ts)
        return;
    n = KC_MIN(n, part_topic_list(srv->reg, ts, n)); /* topics made meanwhile: not in ts */
    srv->info.topics = (int)n;
    for (size_t i = 0; i < n; i++) {
        for (int32_t p = 0; p < part_topic_partitions(ts[i]); p++) {
            alog_info(part_topic_log(ts[i], p), &ai);
            srv->info.partitions++;
            srv->info.recovered += ai.recovered;
        }
    }
    free(ts);
}

static int open_storage(struct brk_server *srv)
{
    struct part_config pc;
    int rc = alog_flusher_create(&srv->flusher);
    if (rc)
        return rc;
    part_config_init(&pc);
    pc.log = srv->cfg.log;
    pc.flusher = srv->flusher;
    pc.max_partitions = srv->cfg.max_partitions_per_topic;
    pc.store = srv->cfg.store;
    if (!srv->cfg.cleaner_enable)
        pc.store.cleaner_threads = 0;
    /* In a cluster retention stops at each partition's HW (replica.c), known only once its
     * replica is loaded: until then it deletes nothing. */
    pc.store.retain_held = srv->cfg.cluster.zk_connect[0] != '\0';
    rc = part_registry_open(&srv->reg, srv->cfg.data_dir, &pc);
    if (rc) {
        kc_log_error("cannot open the data directory %s: %s", srv->cfg.data_dir, kc_strerror(rc));
        return rc;
    }
    rc = brk__offsets_open(&srv->offsets, srv, &srv->info.offsets);
    if (rc == 0)
        rc = brk__topics_apply_configs(srv); /* each topic's overrides, before serving */
    if (rc == 0)
        count_partitions(srv);
    return rc;
}

static int make_loops(struct brk_server *srv)
{
    srv->nloops = srv->cfg.num_network_threads ? srv->cfg.num_network_threads
                                               : tcore_cpu_count();
    brk__inbudget_init(srv);
    srv->loops = calloc((size_t)srv->nloops, sizeof(*srv->loops));
    if (!srv->loops)
        return -ENOMEM;
    for (int i = 0; i < srv->nloops; i++) {
        struct brk_loop *bl = &srv->loops[i];
        bl->srv = srv;
        bl->index = i;
        LIST_INIT(&bl->conns);
        brk__inbudget_loop_init(bl);
        tcore_timer_init(&bl->sweep, brk__loop_sweep, bl); /* disarmed even if never run */
        tcore_timer_init(&bl->accept_pause, brk__accept_resume, bl);
        int rc = tcore_loop_create(&bl->loop);
        if (rc)
            return rc;
    }
    srv->info.loops = srv->nloops;
    return 0;
}

/* Every configured listener (listeners=): the first is the one --port and --bind change,
 * and the one Kafka's Metadata advertises unless advertised.listeners says otherwise. */
static int listen_configured(struct brk_server *srv)
{
    const struct brk_security_config *sec = &srv->cfg.sec;
    for (int i = 0; i < sec->nlisteners; i++) {
        const struct brk_listener_config *lc = &sec->listeners[i];
        struct brk_listener *lst = &srv->listeners[srv->nlisteners];
        *lst = (struct brk_listener){.srv = srv, .name = lc->name, .proto = lc->proto, .fd = -1,
                                     .adapter = -1};
        int rc = brk__listen(lc->host, lc->port, &lst->fd, &lst->port);
        if (rc) {
            kc_log_error("cannot listen on %s://%s:%d: %s", lc->name, lc->host, lc->port,
                         kc_strerror(rc));
            return rc;
        }
        srv->nlisteners++;
    }
    return 0;
}

int brk_server_create(struct brk_server **out, const struct brk_config *cfg)
{
    struct brk_server *srv = calloc(1, sizeof(*srv));
    int rc;
    if (!srv)
        return -ENOMEM;
    srv->info.started_ms = kc_wall_ms();
    srv->cfg = *cfg;
    srv->stopfd = srv->sigfd = srv->reap_fd = -1;
    pthread_mutex_init(&srv->cview_mu, NULL);
    atomic_init(&srv->phase, BRK_STARTING);
    raise_nofile();
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    srv->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    srv->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    rc = srv->stopfd < 0 || srv->sigfd < 0 ? -errno : 0;
    if (rc == 0)
        rc = brk__reaper_init(srv); /* topic_admin.c: deleted topics, reaped by main */
    if (rc == 0)
        rc = brk__security_create(srv); /* the TLS context: a bad keystore stops us here */
    if (rc == 0)
        rc = listen_configured(srv);
    if (rc == 0)
        rc = make_loops(srv);
    if (rc) {
        brk_server_destroy(srv);
        return rc;
    }
    advertise(srv);
    *out = srv;
    return 0;
}

int brk_server_open(struct brk_server *srv)
{
    int rc = open_storage(srv);
    if (rc == 0)
        rc = brk__security_open(srv); /* credentials and ACLs live in the data directory */
    for (int i = 0; rc == 0 && i < srv->nadapters; i++) {
        const struct brk_adapter *a = srv->adapters[i].a;
        if (a->start && (rc = a->start(srv->adapters[i].state)) != 0)
            kc_log_error("the %s adapter failed to start: %s", a->name, kc_strerror(rc));
    }
    if (rc)
        return rc;
    atomic_store(&srv->phase, BRK_SERVING);
    brk__listeners_serve(srv); /* the main listener too, from now on */
    return 0;
}

int brk_server_add_adapter(struct brk_server *srv, const struct brk_adapter *a, void *state)
{
    if (!a || !a->frame || !a->serve)
        return -EINVAL;
    if (srv->nadapters == BRK_ADAPTERS_MAX)
        return -ENOSPC;
    srv->adapters[srv->nadapters++] = (struct brk_adapter_reg){a, state};
    return 0;
}

int brk_server_listen(struct brk_server *srv, const struct brk_adapter *a, const char *host,
                      int port, int *bound)
{
    int i = 0;
    while (i < srv->nadapters && srv->adapters[i].a != a)
        i++;
    if (i == srv->nadapters)
        return -EINVAL;
    if (srv->nlisteners == BRK_LISTENERS_MAX)
        return -ENOSPC;
    struct brk_listener *lst = &srv->listeners[srv->nlisteners];
    *lst = (struct brk_listener){.srv = srv, .name = a->name, .proto = BRK_PLAINTEXT, .fd = -1,
                                 .adapter = i};
    int rc = brk__listen(host, port, &lst->fd, &lst->port);
    if (rc)
        return rc;
    srv->nlisteners++;
    *bound = lst->port;
    return 0;
}

/* ---- taking it apart ------------------------------------------------------------------------- */

static void stop_task(struct tcore_loop *loop, struct tcore_task *task)
{
    (void)task;
    tcore_loop_stop(loop);
}

/* Run what was posted to a stopped loop (parks ending, fsync waits settling), on this
 * thread: the loop's own thread has been joined, so the loop is ours. The stop task goes
 * in last and ends the run once everything before it ran. */
static void loop_flush_tasks(struct brk_loop *bl)
{
    struct tcore_task stop;
    tcore_task_init(&stop, stop_task, NULL);
    tcore_loop_post(bl->loop, &stop);
    if (tcore_loop_run(bl->loop) != 0)
        kc_log_warn("loop %d: could not run its last tasks", bl->index);
}

static void loops_flush(struct brk_server *srv)
{
    for (int i = 0; srv->loops && i < srv->nloops; i++)
        if (srv->loops[i].loop)
            loop_flush_tasks(&srv->loops[i]);
}

int brk_server_destroy(struct brk_server *srv)
{
    int rc = 0;
    brk__stop_loops(srv); /* a start that failed half way: loops may run */
    for (int i = 0; srv->loops && i < srv->nloops; i++)
        brk__loop_free_conns(&srv->loops[i]); /* releases file slices before logs close */
    loops_flush(srv);
    if (srv->reg)
        rc = part_registry_close(srv->reg); /* flush, checkpoints, clean-shutdown markers */
    if (srv->flusher)
        alog_flusher_destroy(srv->flusher);
    loops_flush(srv);
    for (int i = srv->nadapters - 1; i >= 0; i--) /* nothing refers to them any more */
        if (srv->adapters[i].a->stop)
            srv->adapters[i].a->stop(srv->adapters[i].state);
    for (int i = 0; srv->loops && i < srv->nloops; i++)
        if (srv->loops[i].loop)
            tcore_loop_destroy(srv->loops[i].loop);
    brk__offsets_close(srv->offsets);
    brk__reaper_fini(srv);
    brk__security_close(srv);
    brk__stats_fini(srv);
    brk_cluster_publish(srv, NULL); /* the member detached before: the last view goes */
    pthread_mutex_destroy(&srv->cview_mu);
    free(srv->loops);
    for (int i = 0; i < srv->nlisteners; i++)
        if (srv->listeners[i].fd >= 0)
            close(srv->listeners[i].fd);
    if (srv->stopfd >= 0)
        close(srv->stopfd);
    if (srv->sigfd >= 0)
        close(srv->sigfd);
    free(srv);
    return rc;
}

/* ---- accessors ------------------------------------------------------------------------------ */

const struct brk_config *brk_server_config(const struct brk_server *srv)
{
    return &srv->cfg;
}

struct part_registry *brk_server_registry(const struct brk_server *srv)
{
    return srv->reg;
}

const char *brk_server_host(const struct brk_server *srv)
{
    return srv->host;
}

int brk_server_port(const struct brk_server *srv)
{
    return srv->adv_port;
}

int brk_server_bound_port(const struct brk_server *srv)
{
    return srv->listeners[0].port;
}

const char *brk_conn_advertised_host(const struct brk_conn *c)
{
    return c->lst->adv_host[0] ? c->lst->adv_host : c->srv->host;
}

int brk_conn_advertised_port(const struct brk_conn *c)
{
    return c->lst->adv_host[0] ? c->lst->adv_port : c->srv->adv_port;
}

int brk_server_nlisteners(const struct brk_server *srv)
{
    return srv->cfg.sec.nlisteners;
}

void brk_server_listener(const struct brk_server *srv, int i, const char **name,
                         enum brk_secproto *proto, int *port)
{
    *name = srv->listeners[i].name;
    *proto = srv->listeners[i].proto;
    *port = srv->listeners[i].port;
}

int brk_server_nloops(const struct brk_server *srv)
{
    return srv->nloops;
}

struct tcore_loop *brk_server_loop(const struct brk_server *srv, int i)
{
    return srv->loops[i % srv->nloops].loop;
}

void brk_server_info(const struct brk_server *srv, struct brk_server_info *info)
{
    /* While starting, the main thread is still filling srv->info (storage is opened after
     * the HTTP door is up, so that /health can say "starting"): only the start time, set
     * before any loop ran, is there to read. The phase's store publishes the rest. */
    if (brk_server_phase(srv) == BRK_STARTING) {
        *info = (struct brk_server_info){.started_ms = srv->info.started_ms};
        return;
    }
    *info = srv->info;
}
