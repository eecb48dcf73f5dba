#!/usr/bin/python3
"""admin_e2e.py - the admin clients of confluent-kafka 1.7.0 (librdkafka 2.0.2) and
kafka-python 2.0.2 against the broker, for broker/tests/test_0111_kafka_admin.c.

    admin_e2e.py confluent ADDR PREFIX     AdminClient: create (with configs, and every
                                           refusal), partitions, describe (synonyms),
                                           alter, delete, create again
    admin_e2e.py kafkapython ADDR PREFIX   KafkaAdminClient: the same calls, its versions
    admin_e2e.py produce ADDR TOPIC SIZE   one record of SIZE bytes (acks=all): prints
                                           "delivered OFFSET" or "refused CODE"
    admin_e2e.py assign ADDR PREFIX        AdminClient with explicit replica assignments,
                                           against a cluster of brokers 1, 2, 3 (for
                                           test_0302_cluster_topics.c): create and grow
                                           PREFIX+'placed', and each refusal (39)

Every call's outcome is checked here (the error code Kafka answers with, the values it
describes); each step prints one line the C test checks too. Exits 1 with the reason on
stderr at the first surprise.
"""
import sys
import time


def fail(why):
    print(why, file=sys.stderr)
    sys.exit(1)


def expect(what, got, want):
    if got != want:
        fail('%s: got %r, want %r' % (what, got, want))
    print('%s %s' % (what, got))


# ---- confluent-kafka ------------------------------------------------------------------------

def cf_results(fs):
    """{key: None or the KafkaError code} for a dict of futures."""
    out = {}
    for k, f in fs.items():
        try:
            f.result(20)
            out[k] = 0
        except Exception as e:  # KafkaException wraps a KafkaError
            err = e.args[0] if e.args else e
            out[k] = err.code() if hasattr(err, 'code') else str(e)
    return out


def confluent(addr, p):
    from confluent_kafka.admin import AdminClient, NewTopic, NewPartitions, ConfigResource
    a = AdminClient({'bootstrap.servers': addr})
    key = lambda fs: {getattr(k, 'name', k): v for k, v in cf_results(fs).items()}
    r = key(a.create_topics([
        NewTopic(p + 'plain', 3, 1),
        NewTopic(p + 'cfg', 1, 1, config={'cleanup.policy': 'compact', 'retention.ms': '60000'}),
        NewTopic(p + 'rf3', 1, 3),
        NewTopic(p + 'badcfg', 1, 1, config={'retention.ms': 'soon'}),
        NewTopic(p + 'unknowncfg', 1, 1, config={'no.such.config': '1'}),
        NewTopic('bad/name', 1, 1),
    ]))
    expect('create plain', r[p + 'plain'], 0)
    expect('create cfg', r[p + 'cfg'], 0)
    expect('create rf3', r[p + 'rf3'], 38)
    expect('create badcfg', r[p + 'badcfg'], 40)
    expect('create unknowncfg', r[p + 'unknowncfg'], 40)
    expect('create badname', r['bad/name'], 17)
    expect('create again', key(a.create_topics([NewTopic(p + 'plain', 3, 1)]))[p + 'plain'], 36)
    expect('validate only', key(a.create_topics([NewTopic(p + 'dry', 2, 1)],
                                                validate_only=True))[p + 'dry'], 0)
    md = a.list_topics(timeout=10)
    expect('dry not made', p + 'dry' in md.topics, False)
    expect('plain partitions', len(md.topics[p + 'plain'].partitions), 3)
    expect('grow', key(a.create_partitions([NewPartitions(p + 'plain', 5)]))[p + 'plain'], 0)
    expect('shrink', key(a.create_partitions([NewPartitions(p + 'plain', 2)]))[p + 'plain'], 37)
    expect('grow unknown', key(a.create_partitions([NewPartitions(p + 'nope', 2)]))[p + 'nope'], 3)
    md = a.list_topics(timeout=10)
    expect('plain partitions now', len(md.topics[p + 'plain'].partitions), 5)
    fs = a.describe_configs([ConfigResource('topic', p + 'cfg'), ConfigResource('broker', '0')])
    got = {}
    for res, f in fs.items():
        got[res.name] = f.result(20)
    cfg = got[p + 'cfg']
    expect('cfg cleanup.policy', (cfg['cleanup.policy'].value, cfg['cleanup.policy'].source), ('compact', 1))
    expect('cfg retention.ms', cfg['retention.ms'].value, '60000')
    syn = [(s.name, s.value, s.source) for s in cfg['retention.ms'].synonyms.values()]
    expect('cfg retention.ms synonyms', syn,
           [('retention.ms', '60000', 1), ('log.retention.hours', '168', 5)])
    expect('cfg segment.ms default', (cfg['segment.ms'].value, cfg['segment.ms'].source), ('604800000', 5))
    expect('broker num.partitions read-only', got['0']['num.partitions'].is_read_only, True)
    r = cf_results(a.alter_configs([ConfigResource('topic', p + 'cfg',
                                                    set_config={'retention.ms': '120000'})]))
    expect('alter', list(r.values())[0], 0)
    r = cf_results(a.alter_configs([ConfigResource('topic', p + 'cfg',
                                                    set_config={'retention.ms': '-7'})]))
    expect('alter bad', list(r.values())[0], 40)
    cfg = list(a.describe_configs([ConfigResource('topic', p + 'cfg')]).values())[0].result(20)
    # AlterConfigs replaces the whole set: cleanup.policy is back to its default.
    expect('altered', (cfg['retention.ms'].value, cfg['cleanup.policy'].value), ('120000', 'delete'))
    r = cf_results(a.alter_configs([ConfigResource('broker', '0',
                                                    set_config={'num.partitions': '7'})]))
    expect('alter broker', list(r.values())[0], 42)
    r = key(a.delete_topics([p + 'plain', p + 'nope'], operation_timeout=20))
    expect('delete', r[p + 'plain'], 0)
    expect('delete unknown', r[p + 'nope'], 3)
    expect('gone', p + 'plain' in a.list_topics(timeout=10).topics, False)
    expect('create after delete', key(a.create_topics([NewTopic(p + 'plain', 1, 1)]))[p + 'plain'], 0)
    expect('new partitions', len(a.list_topics(timeout=10).topics[p + 'plain'].partitions), 1)
    print('ok')


# ---- kafka-python ---------------------------------------------------------------------------

def kp_code(fn):
    from kafka.errors import KafkaError
    try:
        fn()
        return 0
    except KafkaError as e:
        return getattr(e, 'errno', str(e))


def kafkapython(addr, p):
    from kafka.admin import (KafkaAdminClient, NewTopic, NewPartitions, ConfigResource,
                             ConfigResourceType)
    a = KafkaAdminClient(bootstrap_servers=addr, client_id='admin-e2e')
    T = ConfigResourceType.TOPIC
    expect('create', kp_code(lambda: a.create_topics(
        [NewTopic(p + 'kp', 2, 1, topic_configs={'retention.ms': '5000'})])), 0)
    expect('create again', kp_code(lambda: a.create_topics([NewTopic(p + 'kp', 2, 1)])), 36)
    expect('create rf2', kp_code(lambda: a.create_topics([NewTopic(p + 'rf', 1, 2)])), 38)
    expect('create partitions 0', kp_code(lambda: a.create_topics([NewTopic(p + 'z', 0, 1)])), 37)
    expect('create badcfg', kp_code(lambda: a.create_topics(
        [NewTopic(p + 'b', 1, 1, topic_configs={'cleanup.policy': 'shred'})])), 40)
    expect('grow', kp_code(lambda: a.create_partitions({p + 'kp': NewPartitions(3)})), 0)
    expect('grow same', kp_code(lambda: a.create_partitions({p + 'kp': NewPartitions(3)})), 37)
    res = a.describe_configs([ConfigResource(T, p + 'kp')])[0].resources[0]
    configs = {c[0]: c[1] for c in res[4]}
    expect('describe error', res[0], 0)
    expect('describe retention.ms', configs['retention.ms'], '5000')
    expect('describe max.message.bytes', configs['max.message.bytes'], '1048588')
    r = a.alter_configs([ConfigResource(T, p + 'kp', configs={'cleanup.policy': 'compact,delete'})])
    expect('alter', r.resources[0][0], 0)
    r = a.alter_configs([ConfigResource(T, p + 'kp', configs={'segment.bytes': '10'})])
    expect('alter too small', r.resources[0][0], 40)
    res = a.describe_configs([ConfigResource(T, p + 'kp')])[0].resources[0]
    configs = {c[0]: c[1] for c in res[4]}
    expect('described', (configs['cleanup.policy'], configs['retention.ms']),
           ('compact,delete', '604800000'))
    cl = a.describe_cluster()
    expect('cluster', (cl['controller_id'], len(cl['brokers'])), (0, 1))
    expect('delete', kp_code(lambda: a.delete_topics([p + 'kp'], timeout_ms=20000)), 0)
    expect('delete again', kp_code(lambda: a.delete_topics([p + 'kp'], timeout_ms=20000)), 3)
    expect('gone', p + 'kp' in a.list_topics(), False)
    print('ok')


def produce(addr, topic, size):
    from confluent_kafka import Producer
    out = []
    pr = Producer({'bootstrap.servers': addr, 'acks': 'all', 'message.max.bytes': 10000000,
                   'retries': 0})
    pr.produce(topic, b'x' * size, partition=0,
               on_delivery=lambda err, m: out.append(('refused', err.code()) if err
                                                     else ('delivered', m.offset())))
    pr.flush(20)
    if not out:
        fail('no delivery report')
    print('%s %d' % out[0])


def assign(addr, p):
    """Replica assignments through confluent-kafka: librdkafka sends them as given (with
    num_partitions and replication_factor -1) and checks none of them itself, so every
    refusal below is the broker's. PREFIX+'placed' is left at 5 partitions on
    [3,1] [2,3] [1,2] [2,1] [3,2], which the C test then reads from every broker."""
    from confluent_kafka.admin import AdminClient, NewTopic, NewPartitions
    a = AdminClient({'bootstrap.servers': addr})

    def code(fs):  # the one future's code; the broker's message on stderr, for a failure
        try:
            list(fs.values())[0].result(20)
            return 0
        except Exception as e:
            print(e, file=sys.stderr)
            err = e.args[0] if e.args else e
            return err.code() if hasattr(err, 'code') else str(e)

    def create(name, lists):  # 1.7.0 wants num_partitions even with an assignment
        return code(a.create_topics([NewTopic(p + name, len(lists), replica_assignment=lists)]))

    def grow(name, count, lists):
        return code(a.create_partitions([NewPartitions(p + name, count,
                                                       replica_assignment=lists)]))

    expect('create placed', create('placed', [[3, 1], [2, 3], [1, 2]]), 0)
    expect('grow placed', grow('placed', 5, [[2, 1], [3, 2]]), 0)
    expect('create unknown broker', create('nine', [[1, 9], [2, 3]]), 39)
    expect('create duplicate broker', create('twice', [[1, 1]]), 39)
    expect('create unequal lists', create('unequal', [[1, 2], [3]]), 39)
    expect('grow short list', grow('placed', 6, [[1]]), 39)
    expect('grow unknown broker', grow('placed', 6, [[1, 9]]), 39)
    # (where 'placed' landed is the C test's to read: the broker that answers this
    # Metadata may not have caught up with the controller yet)
    md = a.list_topics(timeout=10)
    expect('refused not made', [t for t in md.topics if t.startswith(p) and t != p + 'placed'], [])
    print('ok')


if __name__ == '__main__':
    cmd = sys.argv[1]
    if cmd == 'confluent':
        confluent(sys.argv[2], sys.argv[3])
    elif cmd == 'kafkapython':
        kafkapython(sys.argv[2], sys.argv[3])
    elif cmd == 'assign':
        assign(sys.argv[2], sys.argv[3])
    elif cmd == 'produce':
        produce(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        fail('unknown command ' + cmd)
