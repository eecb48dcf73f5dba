/*
 * bench_disk.c - the disk's ceiling for durable appends: what N writers, each appending to
 * a file of its own and fdatasyncing after every chunk, get from one file system at once.
 *
 *   bench_disk --dir D [--writers 1] [--chunk 1048576] [--ms 2000] [--size 100]
 *              [--name NAME] [--ring MIB | --ahead MIB]
 *
 * Why it exists: an acks=all record of replication factor 3 is written and fsynced by three
 * brokers - on this project's test machines, three processes on ONE disk. Each broker's log
 * takes every byte the producers send, so the cluster's produce rate can be no more than
 * what one of three concurrent fsyncing writers gets, while replication factor 1 has the
 * disk to itself. `bench/cluster.sh` runs this with 3 writers and with 1 in the same
 * rounds as its RF 3 / RF 1 produce, in the cluster's own data directory, so that the
 * ratio of the two is the ceiling the hardware puts on RF 3 / RF 1 (a journaling file
 * system commits its journal for every fdatasync that grows a file, and those commits are
 * one queue for every writer of the file system).
 *
 *   writer thread i:  open D/bench-disk-<pid>-<i>  (O_TRUNC)
 *                     until --ms ends: write(chunk); fdatasync   (each timed)
 *                     unlink
 *
 * One RESULT line (bench.h): per writer - bytes = the mean bytes one writer made durable,
 * records = those bytes in --size byte records (the produce rate one broker's share of the
 * disk could take), p50/p99 = the fdatasync times of all writers.
 *
 * Two other layouts answer "would preallocating the segments help?" (bench/README.md):
 *   --ring MIB   each file is first written whole with zeros and fsynced (not timed); the
 *                writes then go round inside it: overwrites, no block to allocate and no
 *                size to change, so an fdatasync flushes data only - the best case, what
 *                recycling old segments would give
 *   --ahead MIB  zeros are kept MIB ahead of the writes, written and fdatasynced half a
 *                window at a time inside the timed loop: what preallocating new segments
 *                would cost, paid as it goes
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "kc_common.h"
#include "kc_err.h"

#define MAX_WRITERS 16
#define MAX_SYNCS   (1 << 20) /* per writer: fdatasync times kept */

enum layout { APPEND, RING, AHEAD };

struct writer {
    pthread_t thread;
    const char *dir;
    size_t chunk;
    enum layout layout;
    off_t window;      /* --ring / --ahead, bytes */
    int64_t start_ns;  /* the timed loop starts here (--ring fills its file before) */
    int64_t deadline_ns;
    int index;
    int64_t bytes;
    int64_t *lat_ns;
    size_t nlat;
    int err; /* 0 or -errno */
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int pwrite_all(int fd, const uint8_t *p, size_t n, off_t at)
{
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, at);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? -errno : -EIO;
        p += w;
        n -= (size_t)w;
        at += w;
    }
    return 0;
}

/* Zeros over [from, to), in 1 MiB writes. */
static int zero_fill(int fd, off_t from, off_t to)
{
    static const uint8_t zeros[1 << 20];
    int rc = 0;
    for (off_t at = from; at < to && rc == 0; at += (off_t)sizeof(zeros))
        rc = pwrite_all(fd, zeros, (size_t)KC_MIN((off_t)sizeof(zeros), to - at), at);
    return rc;
}

/* One timed write of the chunk at *pos, as the layout places it (APPEND: at the end). */
static int place_chunk(struct writer *w, int fd, const uint8_t *buf, off_t *pos, off_t *filled)
{
    if (w->layout == RING && *pos + (off_t)w->chunk > w->window)
        *pos = 0;
    if (w->layout == AHEAD && *pos + (off_t)w->chunk > *filled - w->window / 2) {
        int rc = zero_fill(fd, *filled, *filled + w->window / 2);
        if (rc == 0 && fdatasync(fd) != 0)
            rc = -errno;
        if (rc)
            return rc;
        *filled += w->window / 2;
    }
    int rc = pwrite_all(fd, buf, w->chunk, *pos);
    *pos += (off_t)w->chunk;
    return rc;
}

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    char path[4096];
    snprintf(path, sizeof(path), "%s/bench-disk-%d-%d", w->dir, (int)getpid(), w->index);
    uint8_t *buf = malloc(w->chunk);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (!buf || fd < 0) {
        w->err = fd < 0 ? -errno : -ENOMEM;
        free(buf);
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    memset(buf, 'x' + w->index, w->chunk);
    off_t pos = 0, filled = 0;
    if (w->layout != APPEND) { /* RING: the whole file; AHEAD: the first window */
        filled = w->window;
        w->err = zero_fill(fd, 0, filled);
        if (w->err == 0 && fsync(fd) != 0)
            w->err = -errno;
    }
    while (now_ns() < w->start_ns) /* every writer's timed loop starts at once */
        usleep(1000);
    while (now_ns() < w->deadline_ns && w->err == 0) {
        w->err = place_chunk(w, fd, buf, &pos, &filled);
        int64_t t0 = now_ns();
        if (w->err == 0 && fdatasync(fd) != 0)
            w->err = -errno;
        if (w->err == 0) {
            if (w->nlat < MAX_SYNCS)
                w->lat_ns[w->nlat++] = now_ns() - t0;
            w->bytes += (int64_t)w->chunk;
        }
    }
    if (close(fd) != 0 && w->err == 0)
        w->err = -errno;
    if (unlink(path) != 0 && w->err == 0)
        w->err = -errno;
    free(buf);
    return NULL;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_disk --dir D [--writers 1] [--chunk 1048576] [--ms 2000] "
                    "[--size 100] [--name NAME] [--ring MIB | --ahead MIB]\n"
                    "  N writers, each appending --chunk bytes to a file of its own in D and\n"
                    "  fdatasyncing after each, for --ms: one RESULT line, per writer\n"
                    "  --ring MIB   overwrite a zero-filled, fsynced file of MIB instead\n"
                    "  --ahead MIB  keep zeros MIB ahead of the writes (paid in the loop)\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'},  {"writers", required_argument, NULL, 'w'},
        {"chunk", required_argument, NULL, 'c'}, {"ms", required_argument, NULL, 'm'},
        {"size", required_argument, NULL, 's'}, {"name", required_argument, NULL, 'n'},
        {"ring", required_argument, NULL, 'r'}, {"ahead", required_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0}};
    const char *dir = NULL, *name = NULL;
    long writers = 1, chunk = 1 << 20, ms = 2000, size = 100, window = 0;
    enum layout layout = APPEND;
    for (int o; (o = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        switch (o) {
        case 'd': dir = optarg; break;
        case 'w': writers = strtol(optarg, NULL, 10); break;
        case 'c': chunk = strtol(optarg, NULL, 10); break;
        case 'm': ms = strtol(optarg, NULL, 10); break;
        case 's': size = strtol(optarg, NULL, 10); break;
        case 'n': name = optarg; break;
        case 'r': layout = RING; window = strtol(optarg, NULL, 10); break;
        case 'a': layout = AHEAD; window = strtol(optarg, NULL, 10); break;
        case 'h': usage(); return 0;
        default: usage(); return 2;
        }
    }
    if (!dir || writers < 1 || writers > MAX_WRITERS || chunk < 512 || chunk > (64L << 20) ||
        ms < 100 || ms > 600000 || size < 1 || optind != argc ||
        (layout != APPEND && (window < 2 || window > 4096 || (window << 20) < 2 * chunk))) {
        usage();
        return 2;
    }
    static struct writer w[MAX_WRITERS];
    /* --ring fills its files first: the timed loops start once that is surely done */
    int64_t start = now_ns() + (layout == RING ? window * 20 * 1000000 : 0);
    int64_t deadline = start + ms * 1000000;
    int rc = 0, started = 0;
    for (int i = 0; i < writers && rc == 0; i++) {
        w[i] = (struct writer){.dir = dir, .chunk = (size_t)chunk, .layout = layout,
                               .window = (off_t)window << 20, .start_ns = start,
                               .deadline_ns = deadline, .index = i,
                               .lat_ns = malloc(MAX_SYNCS * sizeof(int64_t))};
        if (!w[i].lat_ns)
            rc = -ENOMEM;
        else if ((rc = -pthread_create(&w[i].thread, NULL, writer_main, &w[i])) == 0)
            started++;
    }
    int64_t bytes = 0;
    size_t nlat = 0;
    for (int i = 0; i < started; i++) {
        pthread_join(w[i].thread, NULL);
        if (w[i].err && rc == 0)
            rc = w[i].err;
        bytes += w[i].bytes;
        nlat += w[i].nlat;
    }
    int64_t elapsed = now_ns() - start;
    int64_t *lat = rc == 0 ? malloc((nlat ? nlat : 1) * sizeof(*lat)) : NULL;
    if (rc == 0 && !lat)
        rc = -ENOMEM;
    if (rc == 0) {
        size_t at = 0;
        for (int i = 0; i < started; i++) {
            memcpy(lat + at, w[i].lat_ns, w[i].nlat * sizeof(*lat));
            at += w[i].nlat;
        }
        char label[64];
        snprintf(label, sizeof(label), "disk_sync%s_w%ld",
                 layout == RING ? "_ring" : layout == AHEAD ? "_ahead" : "", writers);
        struct bench_result r = {name ? name : label, bytes / writers / size, bytes / writers,
                                 elapsed, lat, nlat};
        bench_result_print(stdout, &r);
    } else {
        fprintf(stderr, "bench_disk: %s: %s\n", dir, kc_strerror(rc));
    }
    free(lat);
    for (int i = 0; i < writers; i++)
        free(w[i].lat_ns);
    return rc == 0 ? 0 : 1;
}
