/*
 * zk.c - the ZooKeeper handle: the watcher that feeds the inbox, sessions, the broker's
 * registration, and the small read/write helpers the rest of the module uses.
 *
 * The watcher runs on libzookeeper_mt's completion thread. It must not call ZooKeeper's
 * synchronous API there (a synchronous call waits for a completion that this very thread
 * would have to deliver: a deadlock), and it must not take long. So it copies the event
 * into the inbox and returns:
 *
 *   completion thread: watcher(type, state, path) -> clu_in{gen, type, state, path} -> inbox
 *   cluster thread:    inbox -> dirty flags, session state -> synchronous reads/writes
 *
 * Each handle has a generation number. After a session expires the handle is closed and
 * a new one opened; events still queued from the old one carry the old generation and
 * are dropped, so nothing from a dead session is ever mistaken for news about the new one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clu_int.h"
#include "kc_common.h"

void clu__in_push(struct clu *cl, struct clu_in *in)
{
    pthread_mutex_lock(&cl->in_lock);
    in->next = NULL;
    *cl->in_tail = in;
    cl->in_tail = &in->next;
    pthread_cond_signal(&cl->in_cond);
    pthread_mutex_unlock(&cl->in_lock);
}

static void watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
    (void)zh;
    struct clu_zctx *z = ctx;
    size_t n = path ? strlen(path) : 0;
    struct clu_in *in = calloc(1, sizeof(*in) + n + 1);
    if (!in) {
        kc_log_error("cluster: out of memory: a ZooKeeper event is lost");
        return;
    }
    in->type = type == ZOO_SESSION_EVENT ? CLU_IN_SESSION : CLU_IN_WATCH;
    in->gen = z->gen;
    in->zk_type = type;
    in->zk_state = state;
    if (n)
        memcpy(in->path, path, n);
    clu__in_push(z->cl, in);
}

/* The client library's own log lines (connection attempts, ...): debug level here, the
 * module logs what they mean for the cluster itself. */
static void zk_log(const char *message)
{
    kc_log_debug("zookeeper: %s", message);
}

/* For the short chroot-making session: it watches nothing. */
static void quiet_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
    (void)zh, (void)type, (void)state, (void)path, (void)ctx;
}

static zhandle_t *open_handle(const char *hosts, int timeout_ms, void *ctx)
{
    return zookeeper_init2(hosts, watcher, timeout_ms, NULL, ctx, 0, zk_log);
}

int clu__zk_start(struct clu *cl)
{
    char hosts[sizeof(cl->conn.hosts) + sizeof(cl->conn.chroot)];
    snprintf(hosts, sizeof(hosts), "%s%s", cl->conn.hosts, cl->conn.chroot);
    struct clu_zctx *z = malloc(sizeof(*z));
    if (!z)
        return -ENOMEM;
    z->cl = cl;
    z->gen = ++cl->gen;
    cl->zh = open_handle(hosts, cl->cfg.session_timeout_ms, z);
    if (!cl->zh) {
        int err = errno ? -errno : -EIO;
        free(z);
        return err;
    }
    cl->zctx = z;
    cl->connected = cl->expired = cl->registered = false;
    cl->session_id = 0;
    return 0;
}

void clu__zk_stop(struct clu *cl)
{
    if (cl->zh) {
        /* Joins the library's threads: no watcher runs after this. */
        int rc = zookeeper_close(cl->zh);
        if (rc != ZOK && rc != ZINVALIDSTATE)
            kc_log_debug("cluster: closing the ZooKeeper session: %s", zerror(rc));
    }
    cl->zh = NULL;
    free(cl->zctx);
    cl->zctx = NULL;
    cl->connected = cl->registered = false;
}

static int wait_handle(zhandle_t *zh, int timeout_ms)
{
    int64_t end = kc_mono_ms() + timeout_ms;
    for (;;) {
        int st = zoo_state(zh);
        if (st == ZOO_CONNECTED_STATE)
            return 0;
        if (st == ZOO_EXPIRED_SESSION_STATE || st == ZOO_AUTH_FAILED_STATE)
            return -ECONNRESET;
        if (kc_mono_ms() >= end)
            return -ETIMEDOUT;
        kc_sleep_ms(5);
    }
}

int clu__zk_wait_connected(struct clu *cl, int timeout_ms)
{
    int rc = wait_handle(cl->zh, timeout_ms);
    if (rc == 0) {
        const clientid_t *id = zoo_client_id(cl->zh);
        cl->connected = true;
        cl->session_id = id->client_id;
        memcpy(cl->session_passwd, id->passwd, sizeof(cl->session_passwd));
    }
    return rc;
}

bool clu__zk_retryable(int zrc)
{
    return zrc == ZCONNECTIONLOSS || zrc == ZOPERATIONTIMEOUT;
}

int clu__zerr(int zrc)
{
    switch (zrc) {
    case ZOK:
        return 0;
    case ZNONODE:
        return -ENOENT;
    case ZNODEEXISTS:
        return -EEXIST;
    case ZCONNECTIONLOSS:
    case ZOPERATIONTIMEOUT:
        return -ETIMEDOUT;
    case ZSESSIONEXPIRED:
    case ZINVALIDSTATE:
        return -ECONNRESET;
    default:
        return -EIO;
    }
}

int clu__zk_get(struct clu *cl, const char *path, bool watch, int *len, struct Stat *st)
{
    int n = CLU_ZNODE_MAX - 1;
    int rc = zoo_get(cl->zh, path, watch, cl->buf, &n, st);
    if (rc != ZOK)
        return rc;
    if (st->dataLength > CLU_ZNODE_MAX - 1)
        return ZMARSHALLINGERROR; /* larger than any znode ZooKeeper accepts by default */
    if (n < 0)
        n = 0; /* a node created with NULL data */
    cl->buf[n] = '\0';
    *len = n;
    return ZOK;
}

int clu__zk_children(struct clu *cl, const char *path, bool watch, struct String_vector *out)
{
    memset(out, 0, sizeof(*out));
    int rc = zoo_get_children(cl->zh, path, watch, out);
    cl->vectors += rc == ZOK && out->data != NULL; /* what clu__zk_children_free frees */
    return rc;
}

void clu__zk_children_free(struct clu *cl, struct String_vector *v)
{
    if (v->data) {
        deallocate_String_vector(v);
        cl->vectors--;
    }
    memset(v, 0, sizeof(*v));
}

/* Create every missing node of path (persistent, empty), as Kafka's createRecursive. */
static int ensure_on(zhandle_t *zh, const char *path)
{
    char tmp[CLU_PATH_MAX];
    if (strlcpy(tmp, path, sizeof(tmp)) >= sizeof(tmp))
        return ZBADARGUMENTS;
    for (char *p = tmp + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        int rc = zoo_create(zh, tmp, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0);
        if (rc != ZOK && rc != ZNODEEXISTS)
            return rc;
        *p = c;
        if (c == '\0')
            return ZOK;
    }
}

int clu__zk_ensure(struct clu *cl, const char *path)
{
    return ensure_on(cl->zh, path);
}

/* zookeeper.connect's chroot, created when missing (with a short session of its own: a
 * handle inside the chroot cannot create the chroot). */
static int make_chroot(struct clu *cl)
{
    struct Stat st;
    int rc = zoo_exists(cl->zh, "/", 0, &st);
    if (rc != ZNONODE)
        return rc;
    zhandle_t *zh = zookeeper_init2(cl->conn.hosts, quiet_watcher, cl->cfg.session_timeout_ms, NULL,
                                    NULL, 0, zk_log);
    if (!zh)
        return ZSYSTEMERROR;
    rc = wait_handle(zh, cl->cfg.connect_timeout_ms) == 0 ? ensure_on(zh, cl->conn.chroot)
                                                          : ZCONNECTIONLOSS;
    (void)zookeeper_close(zh); /* a session that owned nothing: how it ends does not matter */
    if (rc == ZOK)
        kc_log_info("cluster: created the chroot %s", cl->conn.chroot);
    return rc;
}

/* /cluster/id: read it, or create it once (the first broker to start wins the race). */
static int cluster_id(struct clu *cl)
{
    struct Stat st;
    int len;
    for (int tries = 0; tries < 3; tries++) {
        int rc = clu__zk_get(cl, CLU_ZK_CLUSTER_ID, false, &len, &st);
        if (rc == ZOK)
            return clu_cluster_id_decode(cl->buf, (size_t)len, cl->cluster_id) == 0 ? ZOK
                                                                                    : ZBADARGUMENTS;
        if (rc != ZNONODE)
            return rc;
        char id[CLU_UUID_LEN + 1];
        struct kc_writer w;
        kc_writer_init_fixed(&w, cl->buf, CLU_ZNODE_MAX);
        if (clu_uuid_new(id) != 0 || clu_cluster_id_encode(id, &w) != 0)
            return ZSYSTEMERROR;
        rc = zoo_create(cl->zh, CLU_ZK_CLUSTER_ID, cl->buf, (int)kc_writer_len(&w),
                        &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0);
        if (rc == ZOK)
            kc_log_info("cluster: new cluster id %s", id);
        if (rc != ZOK && rc != ZNODEEXISTS)
            return rc;
    }
    return ZSYSTEMERROR;
}

int clu__zk_prepare(struct clu *cl)
{
    static const char *const top[] = {CLU_ZK_BROKER_IDS,    CLU_ZK_TOPICS,   CLU_ZK_TOPIC_CONFIGS,
                                      CLU_ZK_DELETE_TOPICS, CLU_ZK_REQUESTS, "/cluster"};
    int rc = cl->conn.chroot[0] ? make_chroot(cl) : ZOK;
    for (size_t i = 0; rc == ZOK && i < KC_ARRAY_SIZE(top); i++)
        rc = clu__zk_ensure(cl, top[i]);
    if (rc == ZOK)
        rc = cluster_id(cl);
    if (rc != ZOK)
        kc_log_error("cluster: preparing %s%s: %s", cl->conn.hosts, cl->conn.chroot, zerror(rc));
    return clu__zerr(rc);
}

/*
 * Register this broker: the ephemeral /brokers/ids/<id>. Its czxid is the broker epoch.
 * NODEEXISTS is ours when its owner is our session (a retry after a lost answer, as
 * Kafka's checkedEphemeralCreate); anyone else's is a live broker with our id: -EEXIST.
 */
int clu__zk_register(struct clu *cl)
{
    struct clu_broker_reg reg;
    struct kc_writer w;
    struct Stat st;
    char path[CLU_PATH_MAX];
    clu_path_broker(path, sizeof(path), cl->cfg.broker_id);
    if (clu_broker_reg_init(&reg, cl->cfg.listeners, cl->cfg.protocol_map, cl->cfg.rack,
                            kc_wall_ms()) != 0)
        return -EINVAL;
    kc_writer_init_fixed(&w, cl->buf, CLU_ZNODE_MAX);
    if (clu_broker_reg_encode(&reg, &w) != 0 || kc_writer_error(&w))
        return -EINVAL;
    int rc = zoo_create2(cl->zh, path, cl->buf, (int)kc_writer_len(&w), &ZOO_OPEN_ACL_UNSAFE,
                         ZOO_EPHEMERAL, NULL, 0, &st);
    if (rc == ZNODEEXISTS) {
        rc = zoo_exists(cl->zh, path, 0, &st);
        if (rc == ZOK && st.ephemeralOwner != cl->session_id) {
            kc_log_error("cluster: broker id %d already registered (by session 0x%llx)",
                         (int)cl->cfg.broker_id, (unsigned long long)st.ephemeralOwner);
            return -EEXIST;
        }
    }
    if (rc != ZOK)
        return clu__zerr(rc);
    cl->registered = true;
    cl->broker_epoch = st.czxid;
    kc_log_info("cluster: broker %d registered, broker epoch (czxid) %lld, session 0x%llx",
                (int)cl->cfg.broker_id, (long long)st.czxid, (unsigned long long)cl->session_id);
    return 0;
}
