/*
 * kafka_broker - the broker, composed: the core (storage, loops, connections) and its
 * doors - the native protocol and Kafka's on one port, told apart by a connection's first
 * bytes.
 *
 *   kafka_broker [--port 9092] [--bind 127.0.0.1] [--data-dir ./kafka-data]
 *                [--config FILE] [--override key=value]... [--help] [--version]
 *
 * It prints two stable lines on stdout once it is ready (tests and scripts read them):
 *
 *   listening on 127.0.0.1:9092
 *   data in /home/me/kafka-data (3 topics, 7 partitions, 0 recovered, 12 group offsets)
 *
 * and stops cleanly (exit 0) on SIGINT or SIGTERM.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "brep.h"
#include "brk.h"
#include "brk_http.h"
#include "brk_kafka.h"
#include "brk_native.h"
#include "kc_common.h"
#include "sec_cred.h"

/*
 * kafka_broker --data-dir D --add-scram 'SCRAM-SHA-256=[name=alice,password=alice-secret]':
 * store the credentials (salted: never the password) in D and exit, as Kafka's
 * kafka-storage format --add-scram does before a first start. Nothing is printed that
 * holds a secret.
 */
static int add_scram(const struct brk_config *cfg)
{
    struct sec_cred_store *st = NULL;
    char err[512];
    int rc = kc_mkdir_p(cfg->data_dir, 0755);
    if (rc == 0 && (rc = sec_cred_store_open(cfg->data_dir, &st)) != 0)
        fprintf(stderr, "kafka_broker: cannot open the credentials in %s: %s\n",
                cfg->data_dir, kc_strerror(rc));
    for (int i = 0; rc == 0 && i < cfg->nadd_scram; i++) {
        struct sec_add_scram a;
        if ((rc = sec_add_scram_parse(cfg->add_scram[i], &a, err, sizeof(err))) == 0) {
            rc = sec_add_scram_apply(st, &a, err, sizeof(err));
            sec_add_scram_fini(&a);
        }
        if (rc)
            fprintf(stderr, "kafka_broker: --add-scram: %s\n", err);
        else
            printf("stored a SCRAM credential in %s\n", cfg->data_dir);
    }
    sec_cred_store_close(st); /* NULL is fine */
    return rc ? 1 : 0;
}

/* "listening on 127.0.0.1:9092" (the first listener: scripts read this line), then one
 * "listening on NAME://host:port" per further listener. */
static void print_listeners(struct brk_server *srv, const struct brk_config *cfg)
{
    printf("listening on %s:%d\n", cfg->bind, brk_server_bound_port(srv));
    for (int i = 1; i < brk_server_nlisteners(srv); i++) {
        const char *name;
        enum brk_secproto proto;
        int port;
        brk_server_listener(srv, i, &name, &proto, &port);
        printf("listening on %s://%s:%d (%s)\n", name, cfg->sec.listeners[i].host, port,
               brk_secproto_name(proto));
    }
}

/* The doors: native and Kafka share the main listener (asked in this order to claim a new
 * connection); HTTP has its own, metrics.port (-1: none). */
static int attach_adapters(struct brk_server *srv, const struct brk_config *cfg)
{
    int rc = brk_native_attach(srv), port;
    if (rc == 0)
        rc = brk_kafka_attach(srv);
    if (rc || cfg->metrics_port < 0)
        return rc;
    if ((rc = brk_http_attach(srv, cfg->metrics_bind, cfg->metrics_port, &port)) != 0) {
        fprintf(stderr, "kafka_broker: cannot listen on %s:%d for metrics (metrics.port): %s\n",
                cfg->metrics_bind, cfg->metrics_port, kc_strerror(rc));
        return rc;
    }
    printf("metrics on http://%s:%d/metrics\n", cfg->metrics_bind, port);
    fflush(stdout); /* now: /health answers while storage opens, which can take a while */
    return 0;
}

/* With zookeeper.connect: join the cluster, once the listeners are bound (the
 * registration carries the real ports). Without it: nothing, the broker runs alone. */
static int join_cluster(struct brk_server *srv, const struct brk_config *cfg, struct brep **m)
{
    char err[512];
    *m = NULL;
    if (!cfg->cluster.zk_connect[0])
        return 0;
    int rc = brep_open(srv, m, err, sizeof(err));
    if (rc)
        fprintf(stderr, "kafka_broker: %s\n", err);
    return rc;
}

int main(int argc, char **argv)
{
    struct brk_config cfg;
    struct brk_server *srv;
    struct brep *member = NULL;
    struct brk_server_info info;
    char err[512], abs[PATH_MAX];
    int rc = brk_config_from_args(&cfg, argc, argv, stdout, err, sizeof(err));
    if (rc > 0)
        return 0;
    if (rc < 0) {
        fprintf(stderr, "kafka_broker: %s\n", err);
        return 2;
    }
    kc_log_set_level(cfg.log_level);
    if (cfg.nadd_scram > 0)
        return add_scram(&cfg);
    if ((rc = brk_signals_block()) != 0) {
        fprintf(stderr, "kafka_broker: cannot set up signals: %s\n", kc_strerror(rc));
        return 1;
    }
    if ((rc = brk_server_create(&srv, &cfg)) != 0) {
        fprintf(stderr, "kafka_broker: cannot start: %s\n", kc_strerror(rc));
        return 1;
    }
    if ((rc = attach_adapters(srv, &cfg)) != 0 || (rc = brk_server_start(srv)) != 0) {
        fprintf(stderr, "kafka_broker: cannot start: %s\n", kc_strerror(rc));
        brk_server_destroy(srv); /* stops the loops it started */
        return 1;
    }
    if (join_cluster(srv, &cfg, &member) != 0) {
        brk_server_destroy(srv);
        return 1;
    }
    if ((rc = brk_server_open(srv)) != 0 || (member && (rc = brep_start(member)) != 0)) {
        fprintf(stderr, "kafka_broker: cannot start: %s\n", kc_strerror(rc));
        brep_close(member);
        brk_server_destroy(srv);
        return 1;
    }
    brk_server_info(srv, &info);
    print_listeners(srv, &cfg);
    printf("data in %s (%d topics, %d partitions, %d recovered, %lld group offsets)\n",
           realpath(cfg.data_dir, abs) ? abs : cfg.data_dir, info.topics, info.partitions,
           info.recovered, (long long)info.offsets);
    fflush(stdout);
    kc_log_info("kafka_broker %s: %d network thread%s; Ctrl-C to stop", BRK_VERSION, info.loops,
                info.loops == 1 ? "" : "s");
    rc = brk_server_run(srv); /* SIGTERM: a member's controlled shutdown, then the drain */
    brep_close(member);       /* leave the cluster before storage closes */
    int closed = brk_server_destroy(srv);
    if (rc == 0 && closed == 0)
        kc_log_info("stopped cleanly");
    else
        kc_log_error("stopped with errors: %s", kc_strerror(rc ? rc : closed));
    return rc || closed ? 1 : 0;
}
