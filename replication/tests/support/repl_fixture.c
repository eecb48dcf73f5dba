/* repl_fixture.c - see repl_fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "repl_fixture.h"

struct repl_pstate fx_pstate(int32_t leader, int32_t leader_epoch, int32_t partition_epoch,
                             int nreplicas, const int32_t *isr)
{
    struct repl_pstate ps = {.controller_epoch = 1,
                             .leader = leader,
                             .leader_epoch = leader_epoch,
                             .partition_epoch = partition_epoch,
                             .nreplicas = nreplicas};
    for (int i = 0; i < nreplicas; i++)
        ps.replicas[i] = i + 1;
    while (isr[ps.nisr] >= 0)
        ps.isr[ps.nisr] = isr[ps.nisr], ps.nisr++;
    return ps;
}

void fx_leader(struct repl_replica *rp, int32_t self, int n, const int32_t *isr, int32_t epoch,
               int min_isr)
{
    struct repl_config cfg = {.lag_time_max_ms = 100, .min_insync = min_isr};
    repl_replica_init(rp, self, &cfg);
    struct repl_pstate ps = fx_pstate(self, epoch, 0, n, isr);
    assert_int_equal(repl_replica_apply(rp, &ps, 0), 0);
    assert_int_equal(rp->role, REPL_ROLE_LEADER);
    (void)repl_replica_fx(rp);
}

void fx_append(struct repl_replica *rp, int32_t count, int sync)
{
    struct repl_batch b;
    assert_int_equal(repl_leader_prepare(rp, 1, count, &b), 0);
    assert_int_equal(repl_replica_appended(rp, &b), 0);
    if (sync)
        repl_replica_durable(rp, rp->leo);
}

struct repl_fetch_req fx_fetch(int32_t id, int32_t epoch, int32_t last_epoch, int64_t offset,
                               int64_t durable)
{
    return (struct repl_fetch_req){.replica_id = id,
                                   .current_leader_epoch = epoch,
                                   .last_fetched_epoch = last_epoch,
                                   .fetch_offset = offset,
                                   .durable_offset = durable};
}
