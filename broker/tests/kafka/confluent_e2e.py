#!/usr/bin/python3
"""confluent_e2e.py - confluent-kafka (Debian's python3-confluent-kafka 1.7.0, on
librdkafka 2.0.2) against the broker, for broker/tests/test_0109_kafka_confluent.c. Through
the broker's new table librdkafka picks ApiVersions v3, Metadata v4, Produce v7, Fetch v11,
and the flexible OffsetCommit v7 and OffsetFetch v7.

    confluent_e2e.py topics ADDR                    list_topics: brokers and topics
    confluent_e2e.py produce ADDR TOPIC COUNT CODEC delivery reports, acks=all
    confluent_e2e.py group ADDR TOPIC GROUP COUNT   a group consumer reads every record
                                                    once and commits, synchronously
    confluent_e2e.py static ADDR TOPIC GROUP INSTANCE STOPFILE
                                                    a static member (group.instance.id):
                                                    prints every assignment and
                                                    revocation; reads and commits until
                                                    STOPFILE exists ("-": until its first
                                                    assignment is committed); closes
                                                    without leaving, as static members do
    confluent_e2e.py groups ADDR                    AdminClient.list_groups (the only group
                                                    call 1.7.0 has: ListGroups, then
                                                    DescribeGroups per group)

Prints result lines the test checks; exits 1 (with the reason on stderr) if anything the
client saw is wrong.
"""
import os
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition


def fail(why):
    print(why, file=sys.stderr)
    sys.exit(1)


def topics(addr):
    p = Producer({'bootstrap.servers': addr})
    md = p.list_topics(timeout=10)
    for b in md.brokers.values():
        print('broker %d %s:%d' % (b.id, b.host, b.port))
    for name in sorted(md.topics):
        t = md.topics[name]
        if t.error is not None:
            fail('topic %s: %s' % (name, t.error))
        print('topic %s partitions %d' % (name, len(t.partitions)))


def produce(addr, topic, count, codec):
    errors, delivered = [], {}

    def report(err, msg):
        if err is not None:
            errors.append(str(err))
        else:
            delivered.setdefault(msg.partition(), []).append(msg.offset())

    p = Producer({'bootstrap.servers': addr, 'acks': 'all', 'linger.ms': 5,
                  'compression.codec': codec, 'enable.idempotence': False})
    for i in range(count):
        key = ('k%d' % (i % 13)).encode() if i % 3 else None
        p.produce(topic, key=key, value=('c%d' % i).encode(), on_delivery=report)
        p.poll(0)
    if p.flush(30) != 0:
        fail('%d records never delivered' % len(p))
    if errors:
        fail('delivery failed: ' + errors[0])
    for part, offs in delivered.items():
        offs.sort()
        if offs != list(range(offs[0], offs[0] + len(offs))):
            fail('partition %d: offsets with a gap' % part)
    print('delivered %d' % sum(len(o) for o in delivered.values()))


def group(addr, topic, group_id, count):
    c = Consumer({'bootstrap.servers': addr, 'group.id': group_id,
                  'auto.offset.reset': 'earliest', 'enable.auto.commit': False,
                  'session.timeout.ms': 6000, 'heartbeat.interval.ms': 500})
    c.subscribe([topic])
    seen = set()
    deadline = time.monotonic() + 60
    while len(seen) < count and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error() is not None:
            fail('consume: %s' % m.error())
        seen.add((m.partition(), m.offset()))
    if len(seen) != count:
        fail('read %d records, wanted %d' % (len(seen), count))
    try:
        parts = c.commit(asynchronous=False)  # OffsetCommit, answered once durable
    except KafkaException as e:
        fail('commit: %s' % e)
    for tp in parts:
        if tp.error is not None:
            fail('commit of partition %d: %s' % (tp.partition, tp.error))
    print('consumed %d' % len(seen))
    committed = c.committed([TopicPartition(topic, tp.partition) for tp in parts], timeout=10)
    for tp in sorted(committed, key=lambda t: t.partition):
        print('partition %d committed %d' % (tp.partition, tp.offset))
    c.close()


def static(addr, topic, group_id, instance, stopfile):
    events = []

    def on_assign(c, parts):
        events.append('assigned')
        print('assigned %s' % ','.join(str(p.partition) for p in sorted(
            parts, key=lambda p: p.partition)), flush=True)

    def on_revoke(c, parts):
        events.append('revoked')
        print('revoked %s' % ','.join(str(p.partition) for p in parts), flush=True)

    c = Consumer({'bootstrap.servers': addr, 'group.id': group_id,
                  'group.instance.id': instance, 'auto.offset.reset': 'earliest',
                  'enable.auto.commit': False, 'session.timeout.ms': 30000,
                  'heartbeat.interval.ms': 500, 'partition.assignment.strategy': 'range'})
    c.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
    read = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        m = c.poll(0.2)
        if m is not None and m.error() is None:
            read += 1
        elif m is not None:
            print('error %s' % m.error(), flush=True)
        if events and (stopfile == '-' or os.path.exists(stopfile)):
            break
    if c.assignment():
        try:
            c.commit(asynchronous=False)
            print('committed', flush=True)
        except KafkaException as e:  # no offsets to commit is fine: nothing was read
            print('commit %s' % e.args[0].name(), flush=True)
    print('read %d events %d' % (read, len(events)), flush=True)
    c.close()


def groups(addr):
    from confluent_kafka.admin import AdminClient
    a = AdminClient({'bootstrap.servers': addr})
    for g in sorted(a.list_groups(timeout=10), key=lambda g: g.id):
        print('group %s state %s protocol_type %s protocol %s members %d' % (
            g.id, g.state, g.protocol_type or '-', g.protocol or '-', len(g.members)))
        for m in g.members:
            print('  member %s client %s host %s' % (m.id, m.client_id, m.client_host))


def main():
    a = sys.argv
    if len(a) == 3 and a[1] == 'topics':
        topics(a[2])
    elif len(a) == 6 and a[1] == 'produce':
        produce(a[2], a[3], int(a[4]), a[5])
    elif len(a) == 6 and a[1] == 'group':
        group(a[2], a[3], a[4], int(a[5]))
    elif len(a) == 7 and a[1] == 'static':
        static(a[2], a[3], a[4], a[5], a[6])
    elif len(a) == 3 and a[1] == 'groups':
        groups(a[2])
    else:
        fail(__doc__)


if __name__ == '__main__':
    main()
