/*
 * chaos_faults.h - the faults of the cluster harness (included by chaos_cluster.h), one
 * a cycle, chosen at random, each printed as it happens ("# cycle 7: kill-leader ...").
 *
 *   cycle:  0.3-1.5 s of load  ->  a fault  ->  (the broker it downed restarted after a
 *           random 0.2-3 s pause: a restart is part of the fault)
 *
 * Targets come from Metadata at that moment: "the leader of partition k" is whoever the
 * cluster says leads it now. Every wait is bounded; a fault whose target cannot be found
 * (no live leader within 10 s) falls back to a random live broker and says so.
 */
#ifndef CHAOS_FAULTS_H
#define CHAOS_FAULTS_H

CH_FN void nap(struct cluster *cl, int lo_ms, int hi_ms)
{
    usleep((useconds_t)rel_rand_range(&cl->rnd, lo_ms, hi_ms) * 1000);
}

/* The leader of a random partition (or a random live broker); *k gets the partition. */
CH_FN int pick_leader(struct cluster *cl, int32_t *k, int *fol, int *nfol)
{
    *k = (int32_t)rel_rand_range(&cl->rnd, 0, PARTS - 1);
    int id = leader_of(cl, *k, fol, nfol);
    if (id < 0) {
        printf("#   (no live leader of partition %d in sight: a random broker instead)\n", *k);
        *nfol = 0;
        id = random_up(cl);
    }
    return id;
}

CH_FN void kill9(struct cluster *cl, int id)
{
    if (cl->frozen[id])
        kill(cl->b[id].pid, SIGCONT);
    cl->frozen[id] = false;
    rel_broker_kill9(&cl->b[id]);
}

CH_FN void restart_after_pause(struct cluster *cl, int id)
{
    nap(cl, 200, 3000);
    broker_start(cl, id);
}

/* kill -9 of the leader of a partition, one of its followers, or the controller. */
CH_FN void f_kill(struct cluster *cl, enum cf kind)
{
    int fol[BROKERS], nfol = 0, ctl = -1;
    int32_t k;
    int id = pick_leader(cl, &k, fol, &nfol);
    if (kind == CF_KILL_FOLLOWER && nfol > 0)
        id = fol[rel_rand(&cl->rnd) % (uint64_t)nfol];
    if (kind == CF_KILL_CONTROLLER) {
        struct pinfo p[PARTS];
        if (cluster_meta(cl, p, &ctl) == 0 && ctl >= 1 && ctl <= BROKERS && up(cl, ctl))
            id = ctl;
        else
            printf("#   (no live controller in sight: the leader of %d instead)\n", k);
    }
    if (id < 0)
        return;
    if (id == ctl)
        printf("#   kill -9 of broker %d (the controller)\n", id);
    else
        printf("#   kill -9 of broker %d (%s of partition %d)\n", id,
               kind == CF_KILL_FOLLOWER && nfol > 0 ? "a follower" : "the leader", k);
    kill9(cl, id);
    restart_after_pause(cl, id);
}

/* The leader, and then, once the partition has another, that one too. */
CH_FN void f_double(struct cluster *cl)
{
    int fol[BROKERS], nfol;
    int32_t k;
    int first = pick_leader(cl, &k, fol, &nfol), second = -1;
    if (first < 0)
        return;
    kill9(cl, first);
    for (int64_t t0 = kc_mono_ms(); kc_mono_ms() - t0 < 10000 && second < 0;
         usleep(100 * 1000)) {
        int id = leader_of(cl, k, fol, &nfol);
        if (id > 0 && id != first)
            second = id;
    }
    if (second > 0)
        printf("#   kill -9 of broker %d (leader of partition %d), then of %d (its successor)\n",
               first, k, second);
    else
        printf("#   kill -9 of broker %d (leader of partition %d); no live successor within "
               "10 s (the partition offline: no other replica in its ISR?)\n", first, k);
    if (second > 0)
        kill9(cl, second);
    restart_after_pause(cl, first);
    if (second > 0)
        restart_after_pause(cl, second);
}

/* SIGSTOP of a leader past the session timeout: ZooKeeper forgets it, the controller
 * moves its partitions; SIGCONT brings back a broker that still thinks it leads.
 * CHAOS_ZOMBIE_MS=lo-hi draws the freeze from [lo, hi] ms instead (e.g. 4000-4600: just
 * past the producers' 4 s message timeout, where a parked produce is answered before
 * librdkafka times its request out). */
CH_FN void f_zombie(struct cluster *cl)
{
    int fol[BROKERS], nfol;
    int32_t k;
    int id = pick_leader(cl, &k, fol, &nfol);
    if (id < 0)
        return;
    int64_t ms = SESSION_MS + rel_rand_range(&cl->rnd, 500, 2500);
    const char *env = getenv("CHAOS_ZOMBIE_MS");
    long lo, hi;
    if (env && sscanf(env, "%ld-%ld", &lo, &hi) == 2 && lo > 0 && hi >= lo)
        ms = rel_rand_range(&cl->rnd, lo, hi);
    printf("#   SIGSTOP of broker %d (leader of partition %d) for %lld ms\n", id, k,
           (long long)ms);
    assert_int_equal(kill(cl->b[id].pid, SIGSTOP), 0);
    cl->frozen[id] = true;
    usleep((useconds_t)ms * 1000);
    assert_int_equal(kill(cl->b[id].pid, SIGCONT), 0);
    cl->frozen[id] = false;
}

CH_FN void f_zk_pause(struct cluster *cl)
{
    int64_t ms = rel_rand_range(&cl->rnd, 300, 3500);
    printf("#   ZooKeeper SIGSTOPped for %lld ms\n", (long long)ms);
    clu_zks_pause(&cl->zk, true);
    cl->zk_paused = true;
    usleep((useconds_t)ms * 1000);
    clu_zks_pause(&cl->zk, false);
    cl->zk_paused = false;
}

/* ZooKeeper stopped (SIGTERM, or kill -9 half the time) and started on its port and data. */
CH_FN void f_zk_restart(struct cluster *cl)
{
    bool kill9 = rel_rand(&cl->rnd) % 2;
    if (kill9 && cl->zk.pid > 0) {
        kill(cl->zk.pid, SIGKILL);
        waitpid(cl->zk.pid, NULL, 0);
        cl->zk.pid = 0;
    }
    clu_zks_stop(&cl->zk); /* a no-op after the kill */
    cl->zk_down = true;
    nap(cl, 0, 1500);
    int rc = clu_zks_start(&cl->zk);
    if (rc)
        fail_msg("ZooKeeper did not restart: %s", kc_strerror(rc));
    cl->zk_down = false;
    printf("#   ZooKeeper %s and started (up again in %lld ms)\n",
           kill9 ? "killed (-9)" : "stopped", (long long)cl->zk.last_start_ms);
}

/* kill -9, then the power cut of flt.h's model on its data directory: what it never
 * fsynced may be gone (a leader half the time, else any broker). */
CH_FN void f_powercut(struct cluster *cl)
{
    int fol[BROKERS], nfol;
    int32_t k;
    int id = rel_rand(&cl->rnd) % 2 ? pick_leader(cl, &k, fol, &nfol) : random_up(cl);
    if (id < 0)
        return;
    kill9(cl, id);
    struct rel_cut before = cl->cut;
    int rc = rel_powercut(cl->ctl[id], cl->b[id].data, &cl->rnd, &cl->cut);
    if (rc)
        fail_msg("the power cut of broker %d: %s", id, kc_strerror(rc));
    printf("#   power cut of broker %d: %llu bytes and %d files not fsynced taken\n", id,
           (unsigned long long)(cl->cut.bytes - before.bytes), cl->cut.files - before.files);
    restart_after_pause(cl, id);
}

/* One broker's disk fails for a while: every fsync of a .log EIO, or every write ENOSPC.
 * Half the fsync failures also lose what was never synced (flt_lose: the disk kept none of
 * it, after a wait of up to 100 ms in which a leader's followers may copy it): the broker's
 * heal then cuts records - on a leader, records its followers may hold (finding 8). */
CH_FN void f_disk(struct cluster *cl, int id)
{
    bool fsync_eio = rel_rand(&cl->rnd) % 2;
    bool lose = fsync_eio && rel_rand(&cl->rnd) % 2;
    int64_t ms = rel_rand_range(&cl->rnd, 500, 2500);
    printf("#   broker %d: %s on its .log files for %lld ms\n", id,
           !fsync_eio ? "write ENOSPC" : lose ? "fsync EIO, unsynced bytes lost," : "fsync EIO",
           (long long)ms);
    if (lose)
        flt_lose(cl->ctl[id], 1, (int)rel_rand_range(&cl->rnd, 0, 100));
    flt_arm(cl->ctl[id], fsync_eio ? FLT_FSYNC : FLT_WRITE, fsync_eio ? EIO : ENOSPC, ".log", -1,
            0);
    usleep((useconds_t)ms * 1000);
    flt_disarm(cl->ctl[id]);
    flt_lose(cl->ctl[id], 0, 0);
}

/* A random broker down, and while it is: ZooKeeper paused, a zombie, or a disk fault. */
CH_FN void f_combined(struct cluster *cl)
{
    int id = random_up(cl);
    if (id < 0)
        return;
    printf("#   kill -9 of broker %d, and while it is down:\n", id);
    kill9(cl, id);
    switch (rel_rand(&cl->rnd) % 3) {
    case 0:
        cl->faults[CF_ZK_PAUSE]++;
        f_zk_pause(cl);
        break;
    case 1:
        cl->faults[CF_ZOMBIE]++;
        f_zombie(cl);
        break;
    default: {
        int other = random_up(cl);
        if (other > 0) {
            cl->faults[CF_DISK]++;
            f_disk(cl, other);
        }
    }
    }
    restart_after_pause(cl, id);
}

/* A partition's leader cut off from the other brokers (nftables in our namespace), for
 * 1-6 s; it keeps ZooKeeper and its clients, so nobody replaces it: its acks=all produces
 * wait, and fail (or, healed before they time out, succeed once the followers have the
 * records). Past replica.lag.time.max.ms (3 s here) its ISR shrinks to itself, and acks=all
 * is refused (NOT_ENOUGH_REPLICAS) until the heal. */
CH_FN void f_partition(struct cluster *cl)
{
    int fol[BROKERS], nfol, others[BROKERS], n = 0;
    int32_t k;
    int id = pick_leader(cl, &k, fol, &nfol);
    if (id < 0)
        return;
    for (int o = 1; o <= BROKERS; o++)
        if (o != id)
            others[n++] = o;
    int64_t ms = rel_rand_range(&cl->rnd, 1000, 6000);
    printf("#   broker %d (the leader of partition %d) cut off from the other brokers for "
           "%lld ms\n", id, k, (long long)ms);
    if (kc_netns_cut(&id, 1, others, n) != 0)
        fail_msg("nft could not cut broker %d off", id);
    usleep((useconds_t)ms * 1000);
    if (kc_netns_heal() != 0)
        fail_msg("nft could not heal the partition");
}

/* `make test`'s short form (neither CHAOS_FAULTS nor CHAOS_EXPECT set) leaves out only the
 * partition fault: it needs a network namespace of the test's own, which changes where
 * every process listens (`make chaos-cluster` runs it). Disk faults and the combinations
 * are in since finding 3 (reliability/README, "What it found") closed: a record whose
 * fsync failed after the append is answered REQUEST_TIMED_OUT, an open outcome, and
 * KAFKA_STORAGE_ERROR means nothing was written. Zombies are in: the records a woken
 * ex-leader refuses after its followers kept them are Kafka's own open outcome (6.), which
 * the checker counts apart. */
#define CF_SHORT_FORM_LEFT_OUT (1u << CF_PARTITION)

/* The faults to choose from: CHAOS_FAULTS="zombie,disk-fault" (names as cf_name), or all. */
CH_FN unsigned faults_allowed(void)
{
    if (!getenv("CHAOS_FAULTS") && !getenv("CHAOS_EXPECT"))
        return ((1u << CF_N) - 1) & ~CF_SHORT_FORM_LEFT_OUT;
    const char *env = getenv("CHAOS_FAULTS");
    unsigned mask = 0;
    for (int f = 0; env && *env && f < CF_N; f++) {
        const char *at = strstr(env, cf_name(f));
        size_t n = strlen(cf_name(f));
        if (at && (at == env || at[-1] == ',') && (at[n] == '\0' || at[n] == ','))
            mask |= 1u << f;
    }
    return mask ? mask : (1u << CF_N) - 1;
}

/* One cycle: load, then a fault chosen at random (among CHAOS_FAULTS'). */
CH_FN void cluster_fault(struct cluster *cl)
{
    unsigned allowed = faults_allowed() & ~(cl->netns ? 0u : 1u << CF_PARTITION);
    enum cf f;
    do
        f = (enum cf)rel_rand_range(&cl->rnd, 0, CF_N - 1);
    while (!(allowed & (1u << f)));
    nap(cl, 300, 1500);
    check_exits(cl);
    for (int id = 1; id <= BROKERS; id++)
        if (cl->b[id].pid <= 0) /* it exited: back before the next fault */
            broker_start(cl, id);
    printf("# cycle %d: %s\n", ++cl->cycles, cf_name(f));
    cl->faults[f]++;
    switch (f) {
    case CF_KILL_LEADER:
    case CF_KILL_FOLLOWER:
    case CF_KILL_CONTROLLER:
        f_kill(cl, f);
        break;
    case CF_DOUBLE_FAILOVER:
        f_double(cl);
        break;
    case CF_ZOMBIE:
        f_zombie(cl);
        break;
    case CF_ZK_PAUSE:
        f_zk_pause(cl);
        break;
    case CF_ZK_RESTART:
        f_zk_restart(cl);
        break;
    case CF_POWERCUT:
        f_powercut(cl);
        break;
    case CF_DISK: {
        int id = random_up(cl);
        if (id > 0)
            f_disk(cl, id);
        break;
    }
    case CF_PARTITION:
        f_partition(cl);
        break;
    default:
        f_combined(cl);
        break;
    }
}

#endif
