/*
 * repl_ckpt.h - the two replication checkpoint files, in Kafka's formats.
 *
 *   <data-dir>/<topic>-<p>/leader-epoch-checkpoint     <data-dir>/replication-offset-checkpoint
 *   +--------------------------+                      +-------------------------------+
 *   | 0                        |  version             | 0                             |  version
 *   | 3                        |  entries             | 2                             |  entries
 *   | 0 0                      |  epoch startOffset   | payments 0 1200               |  topic
 * partition | 2 3                      |                      | payments 1 877                |
 * high watermark | 3 5                      | +-------------------------------+
 *   +--------------------------+
 *        one per partition                                 one per data directory
 *
 * Lines end with '\n', fields are separated by one space, numbers are decimal without
 * signs or leading zeros. Reading is strict: a wrong version, a count that does not match
 * the lines, a missing final newline (a torn file), a malformed or out-of-range number,
 * epochs out of order, a bad topic name or a partition listed twice is KC_EMALFORMED,
 * never a silent zero. Every truncated prefix of a valid file is therefore malformed.
 * (Kafka writes the same bytes; it is more lenient reading them.)
 *
 * Writing is atomic and durable (kc_atomic_replace: temp file, fsync, rename, fsync of
 * the directory): a crash leaves the old file or the new one.
 *
 * Return values: 0, KC_EMALFORMED, KC_ETOOLARGE (larger than REPL_CKPT_MAX_BYTES),
 * -ENOENT (no file: the caller decides what that means), other -errno, -ENOMEM.
 */
#ifndef REPL_CKPT_H
#define REPL_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "kc_buf.h"
#include "repl_epoch.h"

#define REPL_EPOCH_CHECKPOINT "leader-epoch-checkpoint"
#define REPL_HW_CHECKPOINT    "replication-offset-checkpoint"

/* One line of replication-offset-checkpoint. */
struct repl_offset_entry {
    char topic[250];
    int32_t partition;
    int64_t offset;
};

/* Encode into a writer (errors are the writer's, sticky: check kc_writer_error). */
void repl_ckpt_epochs_encode(struct kc_writer *w, const struct repl_epoch_entry *v, size_t n);
void repl_ckpt_offsets_encode(struct kc_writer *w, const struct repl_offset_entry *v, size_t n);

/* Decode a whole file's bytes. Epochs go into an initialised (emptied) cache; offsets
 * into a malloc'ed array (*v, *n; free it), written only on success. */
int repl_ckpt_epochs_decode(const char *p, size_t len, struct repl_epoch_cache *out);
int repl_ckpt_offsets_decode(const char *p, size_t len, struct repl_offset_entry **v, size_t *n);

/* The files: dir/leader-epoch-checkpoint, and any offsets file by path. */
int repl_ckpt_epochs_write(const char *dir, const struct repl_epoch_cache *c);
int repl_ckpt_epochs_read(const char *dir, struct repl_epoch_cache *out);
int repl_ckpt_offsets_write(const char *path, const struct repl_offset_entry *v, size_t n);
int repl_ckpt_offsets_read(const char *path, struct repl_offset_entry **v, size_t *n);

#endif
