/*
 * brep_ckpt.h - the replicas' two checkpoint files, as a broker of a cluster keeps them
 * (the format and its strict reader: replication/include/repl_ckpt.h; the lesson:
 * ../../README.md, "A cluster").
 *
 *   <data-dir>/
 *     replication-offset-checkpoint      every hosted partition's high watermark (so a
 *     payments-0/                        restarted leader serves consumers at once, not
 *       leader-epoch-checkpoint          after its followers confirmed the log again)
 *       00000000000000000000.log         the epoch cache: (epoch, start offset) lines
 *     payments-1/ ...                    (KIP-101: also an epoch with no batch in it)
 *
 *   when                               what                           thread
 *   ----                               ----                           ------
 *   brep__replicas_open                read the HW file once           main
 *   a replica's load (rp_load)         epochs: the file, else a        member
 *                                      scan of the batches; HW: the
 *                                      file's line, capped at the log
 *   REPL_FX_EPOCHS (any change:        rewrite the partition's file    whoever holds
 *   a new leader's epoch, a            (under rp->mu, so two writers   rp->mu
 *   follower's new epoch, truncation)  never race)
 *   every interval, and at close       rewrite the HW file             member / main
 *
 * A missing or unreadable file is never fatal: it is logged, and the replica falls back
 * to what it did without one (the batch scan; the HW at the log start).
 */
#ifndef BREP_CKPT_H
#define BREP_CKPT_H

#include <stdbool.h>
#include <stdint.h>

struct brep;
struct brep_rp;
struct alog;

/* Read <data-dir>/replication-offset-checkpoint into the table (rt must exist). Missing:
 * logged (info); corrupt: logged (warn) and ignored. Never fails: a start goes on. */
void brep__ckpt_open(struct brep *m);
/* The table's copy of the file read at open (brep__replicas_close frees it). */
void brep__ckpt_close(struct brep *m);

/*
 * Under rp->mu, loading: fill rp->r.epochs from the partition's leader-epoch-checkpoint
 * or, without a usable one (logged), from the batches of log [start, end). *hw gets the
 * HW file's line for the partition (used once: a re-created topic does not inherit it),
 * or start without one. *from_file says where the epochs came from. 0 or -errno (the scan
 * failed).
 */
int brep__ckpt_load(struct brep_rp *rp, struct alog *log, int64_t start, int64_t *hw,
                    bool *from_file);

/* Under rp->mu: write the partition's epoch cache to its leader-epoch-checkpoint now
 * (atomically). A failure is logged: the next change or load retries. */
void brep__ckpt_epochs_write(struct brep_rp *rp);

/* The member thread (or the closing one, threads stopped): write every loaded replica's
 * HW, and the lines of the file read at open still unused, if due (force: now). */
void brep__ckpt_hw_step(struct brep *m, int64_t now_ms, bool force);

#endif
