/*
 * server.c - the broker process: open storage, listen, run the loops, stop cleanly.
 *
 *   brk_server_create   recover every partition, replay group offsets, bind
 *   brk_server_run      start the network loops, then wait on the main thread:
 *                         SIGINT/SIGTERM (signalfd) or brk_server_stop (eventfd) -> stop
 *                         every log.retention.check.interval.ms -> delete old segments
 *                         every second (backing off) -> alog_recover logs whose fsync
 *                         failed, once the disk lets them
 *                       then drain: stop accepting, answer long-polls now, let parked
 *                       produces get their fsync, send what is queued, close - bounded by
 *                       shutdown.timeout.ms - and stop the loops
 *   brk_server_destroy  close every log cleanly (flush, checkpoints, clean-shutdown marker)
 *
 * The main thread does only slow, rare things (retention unlinks files); the loops never
 * block on the disk except for the appends themselves, which go to the page cache.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "brk_int.h"

/*
 * The Kafka seam, wired at compile time: once broker/src/kafka_seam.h exists (the Kafka
 * handler's, see brk_service.h), it declares
 *
 *   int  brk_kafka_open(struct brk_server *srv, const struct brk_proto **proto, void **state);
 *   void brk_kafka_close(struct brk_server *srv, void *state);
 *
 * and the broker calls them: open after storage is up (the handler may create its state,
 * a group coordinator), close after every connection is gone and before the logs close.
 * Without it, Kafka clients are closed with a log line (conn.c).
 */
#if defined(__has_include)
#if __has_include("kafka_seam.h")
#include "kafka_seam.h"
#define BRK_HAVE_KAFKA 1
#endif
#endif

int brk_signals_block(void)
{
    sigset_t set;
    struct sigaction ign = {.sa_handler = SIG_IGN};
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int rc = pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (rc)
        return -rc;
    /* A client that hangs up mid-answer must cost us an EPIPE, not the process. */
    return sigaction(SIGPIPE, &ign, NULL) == 0 ? 0 : -errno;
}

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

static int listen_on(struct brk_server *srv)
{
    char port[16];
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res;
    struct sockaddr_storage ss;
    socklen_t slen = sizeof(ss);
    int one = 1, rc;
    snprintf(port, sizeof(port), "%d", srv->cfg.port);
    if ((rc = getaddrinfo(srv->cfg.bind, port, &hints, &res)) != 0) {
        kc_log_error("cannot resolve %s: %s", srv->cfg.bind, gai_strerror(rc));
        return -EADDRNOTAVAIL;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    rc = fd < 0 ? -errno : 0;
    /* Restart without waiting for TIME_WAIT; failing only delays a restart. */
    if (rc == 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (rc == 0 && (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 1024) != 0 ||
                    getsockname(fd, (struct sockaddr *)&ss, &slen) != 0))
        rc = -errno;
    freeaddrinfo(res);
    if (rc) {
        if (fd >= 0)
            close(fd);
        return rc;
    }
    srv->lfd = fd;
    srv->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                               : ((struct sockaddr_in *)&ss)->sin_port);
    return 0;
}

/*
 * What Kafka clients are told to connect to: advertised.listeners when set, else the bound
 * address, or this host's name when bound to every interface (0.0.0.0 is not an address a
 * client can reach).
 */
static void advertised_host(struct brk_server *srv)
{
    const char *b = srv->cfg.bind;
    srv->adv_port = srv->cfg.advertised_port ? srv->cfg.advertised_port : srv->port;
    if (srv->cfg.advertised_host[0]) {
        strlcpy(srv->host, srv->cfg.advertised_host, sizeof(srv->host));
        return;
    }
    if (strcmp(b, "0.0.0.0") != 0 && strcmp(b, "::") != 0 && *b) {
        strlcpy(srv->host, b, sizeof(srv->host));
        return;
    }
    if (gethostname(srv->host, sizeof(srv->host)) != 0)
        strlcpy(srv->host, "127.0.0.1", sizeof(srv->host));
}

static void count_partitions(struct brk_server *srv)
{
    size_t n = part_topic_list(srv->reg, NULL, 0);
    struct part_topic **ts = calloc(n ? n : 1, sizeof(*ts));
    struct alog_info ai;
    if (!ts)
        return;
    size_t listed = part_topic_list(srv->reg, ts, n); /* topics made meanwhile: not in ts */
    n = KC_MIN(n, listed);
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
    rc = part_registry_open(&srv->reg, srv->cfg.data_dir, &pc);
    if (rc) {
        kc_log_error("cannot open the data directory %s: %s", srv->cfg.data_dir, kc_strerror(rc));
        return rc;
    }
    rc = brk__offsets_open(&srv->offsets, srv, &srv->info.offsets);
    if (rc == 0)
        count_partitions(srv);
    return rc;
}

static int make_loops(struct brk_server *srv)
{
    srv->nloops = srv->cfg.num_network_threads ? srv->cfg.num_network_threads
                                               : tcore_cpu_count();
    srv->loops = calloc((size_t)srv->nloops, sizeof(*srv->loops));
    if (!srv->loops)
        return -ENOMEM;
    for (int i = 0; i < srv->nloops; i++) {
        struct brk_loop *bl = &srv->loops[i];
        bl->srv = srv;
        bl->index = i;
        LIST_INIT(&bl->conns);
        int rc = tcore_loop_create(&bl->loop);
        if (rc)
            return rc;
    }
    srv->info.loops = srv->nloops;
    return 0;
}

static int kafka_attach(struct brk_server *srv)
{
#ifdef BRK_HAVE_KAFKA
    int rc = brk_kafka_open(srv, &srv->kafka_proto, &srv->kafka);
    if (rc)
        kc_log_error("the Kafka protocol handler failed to start: %s", kc_strerror(rc));
    return rc;
#else
    (void)srv;
    return 0;
#endif
}

static void kafka_detach(struct brk_server *srv)
{
#ifdef BRK_HAVE_KAFKA
    if (srv->kafka_proto)
        brk_kafka_close(srv, srv->kafka);
#endif
    srv->kafka_proto = NULL;
    srv->kafka = NULL;
}

int brk_server_create(struct brk_server **out, const struct brk_config *cfg)
{
    struct brk_server *srv = calloc(1, sizeof(*srv));
    int rc;
    if (!srv)
        return -ENOMEM;
    srv->cfg = *cfg;
    srv->lfd = srv->stopfd = srv->sigfd = -1;
    raise_nofile();
    if ((rc = brk__pstates_init(&srv->pstates)) != 0) {
        free(srv);
        return rc;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    srv->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    srv->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    rc = srv->stopfd < 0 || srv->sigfd < 0 ? -errno : 0;
    if (rc == 0)
        rc = open_storage(srv);
    if (rc == 0)
        rc = kafka_attach(srv);
    if (rc == 0 && (rc = listen_on(srv)) != 0)
        kc_log_error("cannot listen on %s:%d: %s", cfg->bind, cfg->port, kc_strerror(rc));
    if (rc == 0)
        rc = make_loops(srv);
    if (rc) {
        brk_server_destroy(srv);
        return rc;
    }
    advertised_host(srv);
    *out = srv;
    return 0;
}

/* ---- accepting --------------------------------------------------------------------------- */

static void accept_resume(struct tcore_loop *loop, struct tcore_timer *t)
{
    struct brk_loop *bl = t->arg;
    if (bl->srv->lfd >= 0 && tcore_loop_mod(loop, bl->srv->lfd, TCORE_IN) != 0)
        kc_log_error("cannot watch the listening socket again");
}

static void on_accept(struct tcore_loop *loop, int fd, uint32_t events, void *arg)
{
    struct brk_loop *bl = arg;
    (void)events;
    for (int i = 0; i < BRK_ACCEPT_BURST; i++) {
        int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd >= 0) {
            brk__conn_accepted(bl->srv, bl, cfd);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return;
        /* EMFILE, ENFILE, ENOBUFS, ENOMEM: the pending connection stays queued and the
         * level-triggered listener would fire at once again. Look away for a moment. */
        kc_log_warn("accept failed: %s; pausing accepts for %d ms", strerror(errno),
                    BRK_ACCEPT_PAUSE_MS);
        if (tcore_loop_mod(loop, fd, 0) == 0)
            (void)tcore_timer_arm(loop, &bl->accept_pause, BRK_ACCEPT_PAUSE_MS);
        return;
    }
}

static void *loop_main(void *arg)
{
    struct brk_loop *bl = arg;
    struct brk_server *srv = bl->srv;
    int64_t idle = srv->cfg.connections_max_idle_ms;
    tcore_timer_init(&bl->sweep, brk__loop_sweep, bl);
    tcore_timer_init(&bl->accept_pause, accept_resume, bl);
    if (tcore_timer_arm(bl->loop, &bl->sweep, KC_MIN(BRK_SWEEP_MAX_MS, KC_MAX(idle / 4, 10))))
        kc_log_warn("loop %d: cannot arm the idle sweep", bl->index);
    if (bl->index == 0 && tcore_loop_add(bl->loop, srv->lfd, TCORE_IN, on_accept, bl) != 0)
        kc_log_error("cannot watch the listening socket");
    int rc = tcore_loop_run(bl->loop);
    if (rc)
        kc_log_error("network loop %d stopped: %s", bl->index, kc_strerror(rc));
    return NULL;
}

/* ---- retention ----------------------------------------------------------------------------- */

static void run_retention(struct brk_server *srv)
{
    size_t n = part_topic_list(srv->reg, NULL, 0);
    struct part_topic **ts = calloc(n ? n : 1, sizeof(*ts));
    if (!ts)
        return;
    size_t listed = part_topic_list(srv->reg, ts, n); /* topics made meanwhile: not in ts */
    n = KC_MIN(n, listed);
    for (size_t i = 0; i < n; i++) {
        const char *name = part_topic_name(ts[i]);
        if (brk_topic_internal(name, strlen(name)))
            continue; /* group offsets are kept until overwritten, never aged out */
        for (int32_t p = 0; p < part_topic_partitions(ts[i]); p++) {
            int deleted = 0;
            int rc = alog_retain(part_topic_log(ts[i], p), kc_wall_ms(), &deleted);
            if (rc)
                kc_log_warn("retention of %s-%d failed: %s", name, p, kc_strerror(rc));
            else if (deleted)
                kc_log_info("retention deleted %d segment%s of %s-%d", deleted,
                            deleted == 1 ? "" : "s", name, p);
        }
    }
    free(ts);
}

/* ---- storage faults ------------------------------------------------------------------------ */

/*
 * After an fsync fails, a log refuses appends (-EIO: producers get STORAGE) until
 * alog_recover has re-read what the disk really holds. The main thread calls it for every
 * log that has failed, on a timer (brk_params.h: BRK_HEAL_MS, backing off while the fault
 * lasts); on a healthy log it is one atomic load. The loops never block on it. Returns how
 * many logs are still failed.
 */
static int heal_logs(struct brk_server *srv)
{
    size_t n = part_topic_list(srv->reg, NULL, 0);
    struct part_topic **ts = calloc(n ? n : 1, sizeof(*ts));
    int still = 0;
    if (!ts)
        return 1; /* try again later */
    size_t listed = part_topic_list(srv->reg, ts, n); /* topics made meanwhile: not in ts */
    n = KC_MIN(n, listed);
    for (size_t i = 0; i < n; i++) {
        for (int32_t p = 0; p < part_topic_partitions(ts[i]); p++) {
            struct alog_info ai;
            struct alog *log = part_topic_log(ts[i], p);
            alog_info(log, &ai);
            if (!ai.failed)
                continue;
            int rc = alog_recover(log); /* logs what it did, or why it could not */
            still += rc != 0;
            if (rc == 0)
                kc_log_info("%s-%d is back in service after a storage failure",
                            part_topic_name(ts[i]), p);
        }
    }
    free(ts);
    return still;
}

/* ---- running and stopping ------------------------------------------------------------------ */

/* Wait for a signal or brk_server_stop, running retention and healing failed logs when
 * they are due. */
static int wait_for_stop(struct brk_server *srv, int sigfd)
{
    int64_t next = kc_mono_ms() + srv->cfg.retention_check_interval_ms;
    int64_t heal_every = BRK_HEAL_MS, heal_at = kc_mono_ms() + heal_every;
    for (;;) {
        struct pollfd pfd[2] = {{.fd = sigfd, .events = POLLIN}, {.fd = srv->stopfd, .events = POLLIN}};
        int64_t left = KC_MIN(next, heal_at) - kc_mono_ms();
        left = KC_MAX(left, 0);
        int n = poll(pfd, 2, (int)KC_MIN(left, INT32_MAX));
        if (n < 0 && errno != EINTR)
            return -errno;
        if (n > 0 && (pfd[0].revents & POLLIN)) {
            struct signalfd_siginfo si;
            if (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
                kc_log_info("received %s: shutting down", strsignal((int)si.ssi_signo));
            return 0;
        }
        if (n > 0 && (pfd[1].revents & POLLIN))
            return 0;
        if (kc_mono_ms() >= next) {
            run_retention(srv);
            next = kc_mono_ms() + srv->cfg.retention_check_interval_ms;
        }
        if (kc_mono_ms() >= heal_at) {
            heal_every = heal_logs(srv) ? KC_MIN(heal_every * 2, BRK_HEAL_MAX_MS) : BRK_HEAL_MS;
            heal_at = kc_mono_ms() + heal_every;
        }
    }
}

static void loop_drain(struct tcore_loop *loop, struct tcore_task *task)
{
    struct brk_loop *bl = task->arg;
    if (bl->index == 0 && bl->srv->lfd >= 0) {
        tcore_timer_disarm(loop, &bl->accept_pause);
        if (tcore_loop_del(loop, bl->srv->lfd) != 0)
            kc_log_warn("cannot unwatch the listening socket");
        (void)close(bl->srv->lfd); /* a listener: nothing buffered to lose */
        bl->srv->lfd = -1;
    }
    brk__loop_drain(loop, task);
}

/* Stop accepting, finish what is in flight (bounded), stop the loops. */
static void drain(struct brk_server *srv)
{
    atomic_store(&srv->draining, true);
    for (int i = 0; i < srv->nloops; i++) {
        tcore_task_init(&srv->loops[i].drain_task, loop_drain, &srv->loops[i]);
        tcore_loop_post(srv->loops[i].loop, &srv->loops[i].drain_task);
    }
    int64_t deadline = kc_mono_ms() + srv->cfg.shutdown_timeout_ms;
    while (atomic_load(&srv->nconns) > 0 && kc_mono_ms() < deadline)
        kc_sleep_ms(5);
    int left = atomic_load(&srv->nconns);
    if (left > 0)
        kc_log_warn("%d connection%s still busy after %lld ms; closing them", left,
                    left == 1 ? "" : "s", (long long)srv->cfg.shutdown_timeout_ms);
    for (int i = 0; i < srv->nloops; i++)
        tcore_loop_stop(srv->loops[i].loop);
}

int brk_server_run(struct brk_server *srv)
{
    int started = 0, rc = 0;
    for (int i = 0; i < srv->nloops && rc == 0; i++) {
        char name[16];
        snprintf(name, sizeof(name), "brk-net-%d", i % 1000000);
        rc = tcore_thread_start(&srv->loops[i].thread, name, i, loop_main, &srv->loops[i]);
        started += rc == 0;
    }
    if (rc == 0)
        rc = wait_for_stop(srv, srv->sigfd);
    drain(srv);
    for (int i = 0; i < started; i++) {
        if (tcore_thread_join(srv->loops[i].thread, NULL) != 0)
            kc_log_warn("cannot join network loop %d", i);
        srv->loops[i].thread = NULL;
    }
    return rc;
}

void brk_server_stop(struct brk_server *srv)
{
    uint64_t one = 1;
    /* Async-signal-safe; EAGAIN only if the counter is saturated, i.e. already signalled. */
    (void)!write(srv->stopfd, &one, sizeof(one));
}

static void stop_task(struct tcore_loop *loop, struct tcore_task *task)
{
    (void)task;
    tcore_loop_stop(loop);
}

/* Run what was posted to a stopped loop (completions of durability waits that the closing
 * logs answered), on this thread: the loop's own thread has been joined, so the loop is
 * ours. The stop task goes in last and ends the run once everything before it ran. */
static void loop_flush_tasks(struct brk_loop *bl)
{
    struct tcore_task stop;
    tcore_task_init(&stop, stop_task, NULL);
    tcore_loop_post(bl->loop, &stop);
    if (tcore_loop_run(bl->loop) != 0)
        kc_log_warn("loop %d: could not run its last tasks", bl->index);
}

int brk_server_destroy(struct brk_server *srv)
{
    int rc = 0;
    for (int i = 0; srv->loops && i < srv->nloops; i++)
        brk__loop_free_conns(&srv->loops[i]); /* releases file slices before logs close */
    kafka_detach(srv);
    if (srv->reg)
        rc = part_registry_close(srv->reg); /* flush, checkpoints, clean-shutdown markers */
    if (srv->flusher)
        alog_flusher_destroy(srv->flusher);
    for (int i = 0; srv->loops && i < srv->nloops; i++) {
        loop_flush_tasks(&srv->loops[i]);
        tcore_loop_destroy(srv->loops[i].loop);
    }
    brk__offsets_close(srv->offsets);
    brk__pstates_fini(&srv->pstates);
    free(srv->loops);
    if (srv->lfd >= 0)
        close(srv->lfd);
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
    return srv->port;
}

int brk_server_nloops(const struct brk_server *srv)
{
    return srv->nloops;
}

struct tcore_loop *brk_server_loop(const struct brk_server *srv, int i)
{
    return srv->loops[i % srv->nloops].loop;
}

void *brk_server_kafka(const struct brk_server *srv)
{
    return srv->kafka;
}

void brk_server_info(const struct brk_server *srv, struct brk_server_info *info)
{
    *info = srv->info;
}
