/*
 * kflt.h - the fault shim (reliability/include/flt.h) for the broker's end-to-end tests:
 * a control block in the broker's directory, and the environment that loads
 * libkc_fault.so into the broker started next.
 *
 *   struct kflt f;
 *   kflt_map(&f, b->dir);          the control file, mapped (nothing armed)
 *   kflt_env(&f, true);            LD_PRELOAD + KC_FAULT_CTL for the next start
 *   kb_start(b, args);  (or kcl_start_at)
 *   kflt_env(&f, false);           later starts run without it
 *   f.ctl->... / flt_lose(f.ctl)   arm it while the broker runs
 *   kflt_unmap(&f);
 */
#ifndef KFLT_H
#define KFLT_H

#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../../reliability/include/flt.h"
#include "kt.h"

struct kflt {
    struct flt_ctl *ctl;
    char path[600];
    char *saved_asan; /* ASAN_OPTIONS before kflt_env(true) */
};

/* dir/fault.ctl, created zeroed (nothing armed) and mapped shared. */
KT_FN void kflt_map(struct kflt *f, const char *dir)
{
    snprintf(f->path, sizeof(f->path), "%s/fault.ctl", dir);
    int fd = open(f->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, sizeof(struct flt_ctl)), 0);
    f->ctl = mmap(NULL, sizeof(struct flt_ctl), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    assert_true(f->ctl != MAP_FAILED);
    f->ctl->magic = FLT_MAGIC;
    f->saved_asan = NULL;
}

/* on: the next broker started loads the shim with this block (libkc_fault.so from
 * KC_LIB_DIR, scripts/run-tests.sh, or beside bin/); off: as before. ASan must be told
 * that a library comes before it. */
KT_FN void kflt_env(struct kflt *f, bool on)
{
    if (!on) {
        unsetenv("LD_PRELOAD");
        unsetenv("KC_FAULT_CTL");
        if (f->saved_asan)
            setenv("ASAN_OPTIONS", f->saved_asan, 1);
        else
            unsetenv("ASAN_OPTIONS");
        free(f->saved_asan);
        f->saved_asan = NULL;
        return;
    }
    char lib[600], opts[1024];
    const char *libdir = getenv("KC_LIB_DIR");
    if (libdir) {
        snprintf(lib, sizeof(lib), "%s/libkc_fault.so", libdir);
    } else {
        snprintf(lib, sizeof(lib), "%s", kb_bin("kafka_broker"));
        char *slash = strrchr(lib, '/');
        assert_non_null(slash);
        snprintf(slash, sizeof(lib) - (size_t)(slash - lib), "/../lib/libkc_fault.so");
    }
    assert_int_equal(access(lib, R_OK), 0); /* built with the tests (TEST_EXTRAS) */
    const char *asan = getenv("ASAN_OPTIONS");
    free(f->saved_asan);
    f->saved_asan = asan ? strdup(asan) : NULL;
    snprintf(opts, sizeof(opts), "%s%sverify_asan_link_order=0", asan ? asan : "",
             asan && *asan ? ":" : "");
    setenv("LD_PRELOAD", lib, 1);
    setenv("KC_FAULT_CTL", f->path, 1);
    setenv("ASAN_OPTIONS", opts, 1);
}

/* Fail `ops` calls on files whose path contains match with errno err, count times (-1:
 * until disarmed): flt_arm's stores, in the order the shim reads them. */
KT_FN void kflt_fail(struct kflt *f, uint32_t ops, int err, const char *match, int count)
{
    atomic_store(&f->ctl->ops, 0);
    snprintf(f->ctl->match, sizeof(f->ctl->match), "%s", match);
    atomic_store(&f->ctl->err, err);
    atomic_store(&f->ctl->remaining, count);
    atomic_store(&f->ctl->partial, 0);
    atomic_store(&f->ctl->delay_ms, 0);
    atomic_store(&f->ctl->ops, ops);
}

KT_FN void kflt_unmap(struct kflt *f)
{
    atomic_store(&f->ctl->ops, 0);
    munmap(f->ctl, sizeof(struct flt_ctl));
    f->ctl = NULL;
}

#endif
