/* ctl.c - the test side of fault injection: create, map and arm the control block. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "flt.h"
#include "kc_fs.h"

struct flt_ctl *flt_ctl_open(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return NULL;
    struct flt_ctl *ctl = MAP_FAILED;
    if (ftruncate(fd, sizeof(*ctl)) == 0)
        ctl = mmap(NULL, sizeof(*ctl), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    (void)close(fd); /* the mapping keeps the file; nothing buffered to lose */
    if (ctl == MAP_FAILED)
        return NULL;
    memset(ctl, 0, sizeof(*ctl));
    ctl->magic = FLT_MAGIC;
    return ctl;
}

void flt_ctl_close(struct flt_ctl *ctl)
{
    if (ctl)
        (void)munmap(ctl, sizeof(*ctl)); /* test teardown: the mapping simply goes away */
}

void flt_arm(struct flt_ctl *ctl, uint32_t ops, int err, const char *match, int count, int partial)
{
    atomic_store(&ctl->ops, 0); /* disarm while the match string changes */
    strncpy(ctl->match, match ? match : "", sizeof(ctl->match) - 1);
    atomic_store(&ctl->err, err);
    atomic_store(&ctl->remaining, count);
    atomic_store(&ctl->partial, partial);
    atomic_store(&ctl->delay_ms, 0);
    atomic_store(&ctl->ops, ops); /* publish last: the shim reads ops first */
}

void flt_slow(struct flt_ctl *ctl, uint32_t ops, const char *match, int delay_ms)
{
    flt_arm(ctl, 0, 0, match, -1, 0);
    atomic_store(&ctl->delay_ms, delay_ms);
    atomic_store(&ctl->ops, ops); /* err 0: nothing fails, armed calls are slowed */
}

void flt_disarm(struct flt_ctl *ctl)
{
    atomic_store(&ctl->ops, 0);
}

uint64_t flt_hits(const struct flt_ctl *ctl)
{
    return atomic_load(&((struct flt_ctl *)ctl)->hits);
}

void flt_track_syncs(struct flt_ctl *ctl, int on)
{
    atomic_store(&ctl->track_sync, on ? 1u : 0u);
}

/* No process under the shim runs (the contract of the two functions below), but one may
 * have been killed holding the table's spin lock: nobody else can release it. */
static void sync_unlock_dead(struct flt_ctl *ctl)
{
    atomic_store(&ctl->sync_lock, 0);
}

struct flt_sync *flt_sync_find(struct flt_ctl *ctl, const char *path, uint64_t ino)
{
    sync_unlock_dead(ctl);
    return flt__sync_slot(ctl, path, ino, 0);
}

int flt_sync_set(struct flt_ctl *ctl, const char *path, uint64_t ino, uint64_t synced)
{
    sync_unlock_dead(ctl);
    struct flt_sync *s = flt__sync_slot(ctl, path, ino, 1);
    if (!s)
        return -ENOSPC;
    atomic_store(&s->synced, synced);
    atomic_store(&s->dirent, 1);
    return 0;
}
