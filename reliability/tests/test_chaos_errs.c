/*
 * test_chaos_errs.c - chaos_errs.h, how a chaos producer learns which error a broker last
 * refused each record's batch with: librdkafka's "msg" debug lines (copied from a real run,
 * librdkafka 2.0.2) applied to the records queued per partition, by message id.
 *
 *   queued to partition 1: values 100, 101, 102, 103 (message ids 1..4)
 *   "chaos [1]: MessageSet with 2 message(s) (MsgId 2, ...) encountered error: Broker:
 *    Not leader for partition (...)"   ->  101 and 102: NOT_LEADER_OR_FOLLOWER (6)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "chaos_errs.h"

/* librdkafka's table, the few rows the lines below name (rd_kafka_get_err_descs). */
static const struct rd_kafka_err_desc descs[] = {
    {RD_KAFKA_RESP_ERR__TIMED_OUT, "_TIMED_OUT", "Local: Timed out"},
    {RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, "NOT_LEADER_FOR_PARTITION",
     "Broker: Not leader for partition"},
    {RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR, "KAFKA_STORAGE_ERROR",
     "Broker: Disk error when trying to access log file on disk"},
    {0, NULL, NULL}, /* librdkafka's table has holes */
};

#define LINE(part, n, id, text)                                                               \
    "[thrd:127.0.0.1:34137/bootstrap]: 127.0.0.1:34137/2: chaos [" part "]: MessageSet "      \
    "with " n " message(s) (MsgId " id ", BaseSeq 8116) encountered error: " text             \
    " (actions Refresh,MsgNotPersisted)"

static void setup(struct chaos_errs *e)
{
    ce_init(e, descs, sizeof(descs) / sizeof(descs[0]));
    for (uint64_t v = 100; v < 104; v++)
        assert_int_equal(ce_queued(e, 1, v), 0);
    assert_int_equal(ce_queued(e, 0, 100), 0); /* another partition: ids of its own */
}

static void test_chaos_errs_refused_batch_named_on_its_records(void **state)
{
    (void)state;
    struct chaos_errs e;
    setup(&e);
    ce_log_line(&e, "chaos", LINE("1", "2", "2", "Broker: Not leader for partition"));
    assert_int_equal(ce_last_error(&e, 1, 100), 0);
    assert_int_equal(ce_last_error(&e, 1, 101), RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
    assert_int_equal(ce_last_error(&e, 1, 102), RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
    assert_int_equal(ce_last_error(&e, 1, 103), 0);
    assert_int_equal(ce_last_error(&e, 0, 100), 0); /* partition 0's id 1 untouched */
    /* a later refusal of the same records replaces the earlier one */
    ce_log_line(&e, "chaos", LINE("1", "1", "3",
                                  "Broker: Disk error when trying to access log file on disk"));
    assert_int_equal(ce_last_error(&e, 1, 102), RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR);
    assert_int_equal(ce_last_error(&e, 1, 999), 0); /* a value never queued */
    ce_fini(&e);
}

/* Lines that must change nothing: librdkafka's own errors (the delivery report has them),
 * an unknown text, another topic, ids past what was queued, garbage, a partition out of
 * range; and a new producer instance forgets the old one's ids. */
static void test_chaos_errs_other_lines_ignored(void **state)
{
    (void)state;
    static const char *lines[] = {
        LINE("1", "2", "1", "Local: Timed out"),
        LINE("1", "2", "1", "Broker: Something new"),
        LINE("1", "0", "1", "Broker: Not leader for partition"),
        LINE("1", "2", "0", "Broker: Not leader for partition"),
        LINE("-1", "2", "1", "Broker: Not leader for partition"),
        LINE("64", "2", "1", "Broker: Not leader for partition"),
        LINE("x", "2", "1", "Broker: Not leader for partition"),
        "chaos [1]: MessageSet with 2 message(s) (MsgId 1 encountered error: Broker: Not leader",
        "",
    };
    struct chaos_errs e;
    setup(&e);
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        ce_log_line(&e, "chaos", lines[i]);
    ce_log_line(&e, "other", LINE("1", "2", "1", "Broker: Not leader for partition"));
    ce_log_line(&e, "chaos", LINE("1", "9", "4", "Broker: Not leader for partition"));
    for (uint64_t v = 100; v < 103; v++)
        assert_int_equal(ce_last_error(&e, 1, v), 0);
    assert_int_equal(ce_last_error(&e, 1, 103), RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
    ce_unqueue(&e, 1); /* 103 was refused before librdkafka queued it: no id */
    assert_int_equal(ce_last_error(&e, 1, 103), 0);
    ce_reset(&e);
    assert_int_equal(ce_last_error(&e, 1, 100), 0);
    assert_int_equal(ce_last_error(&e, 70, 100), 0);
    assert_int_equal(ce_queued(&e, 70, 100), 0); /* beyond CE_PARTS: not followed */
    ce_fini(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chaos_errs_refused_batch_named_on_its_records),
        cmocka_unit_test(test_chaos_errs_other_lines_ignored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
