/*
 * run.c - the running broker: start the loops, wait for a reason to stop, drain, stop.
 *
 *   brk_server_start
 *     start one thread per loop (pinned by threadCore); loop 0 watches the listeners it
 *     may serve yet (brk_server_open adds the main one once storage is up)
 *   brk_server_run
 *     main thread: wait on the signalfd and the stop eventfd, running upkeep when due
 *   then drain, bounded by shutdown.timeout.ms:
 *     1. stop accepting (loop 0 closes the listeners)
 *     2. on every loop: parked requests end now (SHUTDOWN: long-polls answer with what
 *        there is; fsync waits still get their fsync), buffered requests are answered
 *        (adapters refuse new work: SHUTTING_DOWN), nothing more is read
 *     3. each connection closes once everything it was owed is sent
 *     4. stragglers past the timeout are left to brk_server_destroy, which closes them
 *   and stop the loops.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "brk_int.h"

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

static void *loop_main(void *arg)
{
    struct brk_loop *bl = arg;
    int64_t idle = bl->srv->cfg.connections_max_idle_ms;
    if (tcore_timer_arm(bl->loop, &bl->sweep, KC_MIN(BRK_SWEEP_MAX_MS, KC_MAX(idle / 4, 10))))
        kc_log_warn("loop %d: cannot arm the idle sweep", bl->index);
    if (bl->index == 0)
        brk__listeners_watch(bl);
    int rc = tcore_loop_run(bl->loop);
    if (rc)
        kc_log_error("network loop %d stopped: %s", bl->index, kc_strerror(rc));
    return NULL;
}

/* Wait for a signal or brk_server_stop, running retention and healing failed logs when
 * they are due. */
static int wait_for_stop(struct brk_server *srv)
{
    int64_t next = kc_mono_ms() + srv->cfg.retention_check_interval_ms;
    int64_t heal_every = BRK_HEAL_MS, heal_at = kc_mono_ms() + heal_every;
    for (;;) {
        struct pollfd pfd[3] = {{.fd = srv->sigfd, .events = POLLIN},
                                {.fd = srv->stopfd, .events = POLLIN},
                                {.fd = srv->reap_fd, .events = POLLIN}};
        int64_t left = KC_MAX(KC_MIN(next, heal_at) - kc_mono_ms(), 0);
        int n = poll(pfd, 3, (int)KC_MIN(left, INT32_MAX));
        if (n < 0 && errno != EINTR)
            return -errno;
        if (n > 0 && (pfd[0].revents & POLLIN)) {
            struct signalfd_siginfo si;
            if (read(srv->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
                kc_log_info("received %s: shutting down", strsignal((int)si.ssi_signo));
            return 0;
        }
        if (n > 0 && (pfd[1].revents & POLLIN))
            return 0;
        if (n > 0 && (pfd[2].revents & POLLIN))
            brk__reap_topics(srv); /* deleted topics (topic_admin.c) */
        if (kc_mono_ms() >= next) {
            brk__run_retention(srv);
            next = kc_mono_ms() + srv->cfg.retention_check_interval_ms;
        }
        if (kc_mono_ms() >= heal_at) {
            heal_every = brk__heal_logs(srv) ? KC_MIN(heal_every * 2, BRK_HEAL_MAX_MS)
                                             : BRK_HEAL_MS;
            heal_at = kc_mono_ms() + heal_every;
        }
    }
}

static void loop_drain(struct tcore_loop *loop, struct tcore_task *task)
{
    struct brk_loop *bl = task->arg;
    (void)loop;
    if (bl->index == 0)
        brk__listeners_close(bl);
    brk__loop_drain(bl);
}

/* Stop accepting, finish what is in flight (bounded), stop the loops. */
static void drain(struct brk_server *srv)
{
    atomic_store(&srv->phase, BRK_DRAINING);
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

int brk_server_start(struct brk_server *srv)
{
    int rc = brk__stats_init(srv);
    for (int i = srv->nstarted; i < srv->nloops && rc == 0; i++) {
        char name[16];
        snprintf(name, sizeof(name), "brk-net-%d", i % 1000000);
        rc = tcore_thread_start(&srv->loops[i].thread, name, i, loop_main, &srv->loops[i]);
        srv->nstarted += rc == 0;
    }
    return rc;
}

void brk__stop_loops(struct brk_server *srv)
{
    if (srv->nstarted == 0)
        return;
    drain(srv);
    for (int i = 0; i < srv->nstarted; i++) {
        if (tcore_thread_join(srv->loops[i].thread, NULL) != 0)
            kc_log_warn("cannot join network loop %d", i);
        srv->loops[i].thread = NULL;
    }
    srv->nstarted = 0;
    atomic_store(&srv->phase, BRK_STOPPED);
}

int brk_server_run(struct brk_server *srv)
{
    int rc = 0;
    if (srv->nstarted == 0)
        rc = brk_server_start(srv);
    if (rc == 0 && atomic_load(&srv->phase) == BRK_STARTING)
        rc = brk_server_open(srv);
    if (rc == 0)
        rc = wait_for_stop(srv);
    if (srv->on_stop && atomic_load(&srv->phase) == BRK_SERVING)
        srv->on_stop(srv->on_stop_arg); /* a member's controlled shutdown, still serving */
    brk__stop_loops(srv);
    return rc;
}

void brk_server_stop(struct brk_server *srv)
{
    uint64_t one = 1;
    /* Async-signal-safe; EAGAIN only if the counter is saturated, i.e. already signalled. */
    (void)!write(srv->stopfd, &one, sizeof(one));
}

enum brk_phase brk_server_phase(const struct brk_server *srv)
{
    return (enum brk_phase)atomic_load(&srv->phase);
}
