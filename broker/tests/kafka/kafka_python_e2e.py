#!/usr/bin/python3
"""kafka_python_e2e.py - kafka-python (Debian's python3-kafka 2.0.2) against the broker, for
broker/tests/test_0108_kafka_python.c. kafka-python speaks its own versions (it infers the
broker's from ApiVersions and then uses fixed ones: Metadata v1, Produce v7, Fetch v4,
JoinGroup v2, SyncGroup v1, OffsetCommit v2, OffsetFetch v1, FindCoordinator v0...).

    kafka_python_e2e.py produce ADDR TOPIC COUNT     keyed and keyless records, acks=all
    kafka_python_e2e.py group ADDR TOPIC GROUP COUNT two consumers in one group read every
                                                     record once and commit, synchronously
    kafka_python_e2e.py restart ADDR TOPIC GROUP DIR PHASES
                                                     two consumers keep polling while the
                                                     test restarts the broker: phase 0
                                                     produces 300 records; each later phase
                                                     starts when DIR/go<N> exists and
                                                     produces 300 more; "ready N" once all
                                                     are read and committed; at the end
                                                     what each consumer saw (rebalances,
                                                     commit errors, records read twice)
    kafka_python_e2e.py admin ADDR LIVE EMPTY        KafkaAdminClient: list, describe and
                                                     delete groups (LIVE has a member, EMPTY
                                                     only offsets)

Prints result lines the test checks; exits 1 (with the reason on stderr) if anything the
client saw is wrong: an error, a gap in a partition's offsets, a record twice or missing.
"""
import os
import sys
import threading
import time

from kafka import ConsumerRebalanceListener, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import CommitFailedError, KafkaError


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


class Counter(ConsumerRebalanceListener):
    def __init__(self):
        self.assigned = 0
        self.revoked = 0

    def on_partitions_revoked(self, revoked):
        self.revoked += 1

    def on_partitions_assigned(self, assigned):
        self.assigned += 1


class Member(threading.Thread):
    """One consumer of the restart scenario: reads, counts, commits after every batch."""

    def __init__(self, addr, topic, group_id, stop):
        super().__init__()
        self.addr, self.topic, self.group_id, self.stop = addr, topic, group_id, stop
        self.seen = {}                 # (partition, offset) -> times read
        self.counter = Counter()
        self.commit_errors = []        # what synchronous commits raised
        self.failure = None
        self.lock = threading.Lock()

    def run(self):
        try:
            c = KafkaConsumer(bootstrap_servers=self.addr, group_id=self.group_id,
                              auto_offset_reset='earliest', enable_auto_commit=False,
                              session_timeout_ms=10000, heartbeat_interval_ms=500,
                              max_poll_records=50, request_timeout_ms=15000,
                              reconnect_backoff_max_ms=500)
            c.subscribe([self.topic], listener=self.counter)
            while not self.stop.is_set():
                batch = c.poll(timeout_ms=200)
                with self.lock:
                    for msgs in batch.values():
                        for m in msgs:
                            key = (m.partition, m.offset)
                            self.seen[key] = self.seen.get(key, 0) + 1
                if batch:
                    self.commit(c)
            c.close(autocommit=False)
        except Exception as e:  # reported by the main thread
            self.failure = repr(e)

    def commit(self, c):
        while not self.stop.is_set():
            try:
                c.commit()  # retries by itself while the broker is away
                return
            except CommitFailedError as e:  # ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, ...
                self.commit_errors.append(repr(e))
                return
            except KafkaError as e:
                self.commit_errors.append(repr(e))
                time.sleep(0.2)


def restart(addr, topic, group_id, ctl, phases):
    stop = threading.Event()
    members = [Member(addr, topic, group_id, stop) for _ in range(2)]
    for m in members:
        m.start()
    total = 0
    for phase in range(phases):
        go = os.path.join(ctl, 'go%d' % phase)
        deadline = time.monotonic() + 90
        while phase > 0 and not os.path.exists(go) and time.monotonic() < deadline:
            time.sleep(0.05)
        p = KafkaProducer(bootstrap_servers=addr, acks='all', retries=10,
                          request_timeout_ms=15000)
        for i in range(300):
            p.send(topic, value=('phase %d record %d' % (phase, i)).encode())
        p.flush(timeout=60)
        p.close(timeout=10)
        total += 300
        while time.monotonic() < deadline:
            with members[0].lock, members[1].lock:
                read = len(set(members[0].seen) | set(members[1].seen))
            if read >= total or any(m.failure for m in members):
                break
            time.sleep(0.1)
        time.sleep(1.0)  # the last batches' commits
        print('ready %d read %d assigned %s' % (phase, read, ','.join(
            str(m.counter.assigned) for m in members)), flush=True)
    stop.set()
    for m in members:
        m.join(timeout=30)
    seen = {}
    for m in members:
        for key, times in m.seen.items():
            seen[key] = seen.get(key, 0) + times
    twice = sum(1 for t in seen.values() if t > 1)
    errors = [e for m in members for e in m.commit_errors]
    illegal = sum('IllegalGeneration' in e or 'CommitFailed' in e for e in errors)
    print('read %d distinct %d twice %d' % (sum(seen.values()), len(seen), twice))
    print('rebalances %s' % ','.join('%d/%d' % (m.counter.assigned, m.counter.revoked)
                                      for m in members))
    print('commit errors %d illegal generation %d' % (len(errors), illegal))
    for e in errors[:5]:
        print('  ' + e)
    for m in members:
        if m.failure:
            fail('a member failed: ' + m.failure)


def admin(addr, live, empty):
    from kafka.admin import KafkaAdminClient
    a = KafkaAdminClient(bootstrap_servers=addr, client_id='py-admin')
    for gid, ptype in sorted(a.list_consumer_groups()):
        print('listed %s %s' % (gid, ptype or '-'))
    for g in a.describe_consumer_groups([live, empty, 'no-such-group']):
        print('described %s %s %s %s members %d' % (g.group, g.state, g.protocol_type or '-',
                                                      g.protocol or '-', len(g.members)))
        for m in g.members:
            print('  member %s client %s host %s topics %s' % (
                m.member_id, m.client_id, m.client_host,
                ','.join(m.member_metadata.subscription)))
    for gid, err in a.delete_consumer_groups([live, empty, 'no-such-group']):
        print('deleted %s %s' % (gid, err.__name__))
    a.close()


def main():
    if len(sys.argv) == 5 and sys.argv[1] == 'produce':
        produce(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif len(sys.argv) == 6 and sys.argv[1] == 'group':
        group(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    elif len(sys.argv) == 7 and sys.argv[1] == 'restart':
        restart(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6]))
    elif len(sys.argv) == 5 and sys.argv[1] == 'admin':
        admin(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        fail(__doc__)


if __name__ == '__main__':
    main()
