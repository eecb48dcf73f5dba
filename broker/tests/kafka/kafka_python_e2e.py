#!/usr/bin/python3
"""kafka_python_e2e.py - kafka-python (Debian's python3-kafka 2.0.2) against the broker, for
broker/tests/test_0108_kafka_python.c. kafka-python speaks its own versions (it infers the
broker's from ApiVersions and then uses fixed ones: Metadata v1, Produce v7, Fetch v4,
JoinGroup v2, SyncGroup v1, OffsetCommit v2, OffsetFetch v1, FindCoordinator v0...).

    kafka_python_e2e.py produce ADDR TOPIC COUNT     keyed and keyless records, acks=all
    kafka_python_e2e.py group ADDR TOPIC GROUP COUNT two consumers in one group read every
                                                     record once and commit, synchronously

Prints result lines the test checks; exits 1 (with the reason on stderr) if anything the
client saw is wrong: an error, a gap in a partition's offsets, a record twice or missing.
"""
import sys
import threading
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition


def fail(why):
    print(why, file=sys.stderr)
    sys.exit(1)


def produce(addr, topic, count):
    p = KafkaProducer(bootstrap_servers=addr, acks='all', linger_ms=5,
                      request_timeout_ms=20000)
    futures = []
    for i in range(count):
        key = ('k%d' % (i % 17)).encode() if i % 2 == 0 else None
        futures.append(p.send(topic, key=key, value=('v%d' % i).encode()))
    p.flush(timeout=30)
    offsets = {}
    for f in futures:
        md = f.get(timeout=30)  # raises on a delivery error
        offsets.setdefault(md.partition, []).append(md.offset)
    p.close(timeout=10)
    for part, offs in offsets.items():
        if sorted(offs) != list(range(len(offs))):
            fail('partition %d: offsets are not 0..%d without a gap' % (part, len(offs) - 1))
    print('produced %d' % sum(len(o) for o in offsets.values()))
    for part in sorted(offsets):
        print('partition %d end %d' % (part, len(offsets[part])))


def member(addr, topic, group, seen, lock, done, errors):
    try:
        c = KafkaConsumer(topic, bootstrap_servers=addr, group_id=group,
                          auto_offset_reset='earliest', enable_auto_commit=False,
                          session_timeout_ms=10000, heartbeat_interval_ms=500,
                          max_poll_records=100)
        while not done.is_set():
            batch = c.poll(timeout_ms=300)
            for tp, msgs in batch.items():
                with lock:
                    for m in msgs:
                        seen.setdefault((tp.partition, m.offset), m.value)
            if batch:
                c.commit()  # synchronous: OffsetCommit, answered once durable
        c.commit()
        c.close(autocommit=False)
    except Exception as e:  # reported by the main thread
        errors.append(repr(e))
        done.set()


def group(addr, topic, group_id, count):
    seen, lock, done, errors = {}, threading.Lock(), threading.Event(), []
    members = [threading.Thread(target=member, args=(addr, topic, group_id, seen, lock, done,
                                                     errors)) for _ in range(2)]
    for m in members:
        m.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not done.is_set():
        with lock:
            if len(seen) >= count:
                break
        time.sleep(0.2)
    time.sleep(1.0)  # a last poll and commit each
    done.set()
    for m in members:
        m.join(timeout=30)
    if errors:
        fail('a member failed: ' + errors[0])
    values = set(seen.values())
    if len(seen) != count or len(values) != count:
        fail('read %d records (%d distinct values), wanted %d' % (len(seen), len(values), count))
    print('consumed %d' % len(seen))
    c = KafkaConsumer(bootstrap_servers=addr, group_id=group_id, enable_auto_commit=False)
    for part in sorted(c.partitions_for_topic(topic)):
        print('partition %d committed %s' % (part, c.committed(TopicPartition(topic, part))))
    c.close(autocommit=False)


def main():
    if len(sys.argv) == 5 and sys.argv[1] == 'produce':
        produce(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif len(sys.argv) == 6 and sys.argv[1] == 'group':
        group(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    else:
        fail(__doc__)


if __name__ == '__main__':
    main()
