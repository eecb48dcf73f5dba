#!/usr/bin/env python3
"""Capture what real clients send for admin, idempotence and SASL, answered by libbrk_kp.

    broker/kafka/tools/kp-capture-admin.py [--out DIR] [--kafkajs NODE_MODULES_DIR]
                                           [--only SCENARIO]

The sibling of kp-capture.py. There the answers came from librdkafka's mock cluster,
which speaks few admin APIs; here they come from kp_capsrv (build/bin/kp_capsrv, built by
`make`), a capture server that answers with frames encoded by our codec and logs every
request/response pair itself (no strace needed). It advertises every version the codec
implements, so each client uses the highest version it knows: flexible versions
wherever the client has them.

Scenarios (the clients are Debian 12's, run with /usr/bin/python3; kafkajs from npm):
  confluent_admin     python3-confluent-kafka 1.7.0 on librdkafka 2.0.2: AdminClient
                      create_topics, list_topics, create_partitions, describe_configs,
                      alter_configs, list_groups (ListGroups + DescribeGroups), delete_topics
  confluent_idem      an idempotent producer (enable.idempotence): InitProducerId, Produce
  confluent_sasl      a producer over SASL_PLAINTEXT/PLAIN: SaslHandshake, SaslAuthenticate
  kafka_python_admin  python3-kafka 2.0.2's KafkaAdminClient: topics, partitions, configs,
                      groups (list, describe, offsets, delete), ACLs (create, describe,
                      delete), cluster
  kafkajs_admin       kafkajs 2.2.4's admin client: the same families plus DeleteRecords,
                      ListOffsets, partition reassignments (alter, list), DeleteGroups
  rdkafka_groups      librdkafka 2.0.2's own admin API (through ctypes: Debian's
                      python3-confluent-kafka 1.7.0 does not expose it):
                      ListConsumerGroups (with and without a states filter),
                      DescribeConsumerGroups, DeleteGroups, DeleteConsumerGroupOffsets

Each scenario gets a folder under broker/kafka/tests/fixtures/ with <Api>_v<N>_<k>.req and
.resp (whole frames, size prefix included) and an INDEX, named and deduplicated as
kp-capture.py does. kafkajs must be installed outside the repository, e.g.
    mkdir -p /tmp/kp-kafkajs && (cd /tmp/kp-kafkajs && npm install kafkajs@2.2.4)
"""
import argparse, os, struct, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
MAX_PER_API = 4
API_NAMES = {0: 'Produce', 1: 'Fetch', 2: 'ListOffsets', 3: 'Metadata', 8: 'OffsetCommit',
             9: 'OffsetFetch', 10: 'FindCoordinator', 11: 'JoinGroup', 12: 'Heartbeat',
             13: 'LeaveGroup', 14: 'SyncGroup', 15: 'DescribeGroups', 16: 'ListGroups',
             17: 'SaslHandshake', 18: 'ApiVersions', 19: 'CreateTopics', 20: 'DeleteTopics',
             21: 'DeleteRecords', 22: 'InitProducerId', 23: 'OffsetForLeaderEpoch',
             29: 'DescribeAcls', 30: 'CreateAcls', 31: 'DeleteAcls', 32: 'DescribeConfigs',
             33: 'AlterConfigs', 35: 'DescribeLogDirs', 36: 'SaslAuthenticate',
             37: 'CreatePartitions', 42: 'DeleteGroups', 43: 'ElectLeaders',
             44: 'IncrementalAlterConfigs', 45: 'AlterPartitionReassignments',
             46: 'ListPartitionReassignments', 47: 'OffsetDelete',
             50: 'DescribeUserScramCredentials', 51: 'AlterUserScramCredentials',
             60: 'DescribeCluster', 61: 'DescribeProducers'}

CONFLUENT_ADMIN = r'''
import sys
from confluent_kafka.admin import AdminClient, NewTopic, NewPartitions, ConfigResource
a = AdminClient({'bootstrap.servers': sys.argv[1], 'client.id': 'kp-capture'})
def wait(fs):
    for k, f in fs.items():
        try:
            print(k, f.result(10))
        except Exception as e:
            print(k, 'error', e)
wait(a.create_topics([NewTopic('capt', 2, 1),
                      NewTopic('capt2', 1, 1, config={'cleanup.policy': 'compact'})]))
print(sorted(a.list_topics(timeout=10).topics))
wait(a.create_partitions([NewPartitions('capt', 4)]))
wait(a.describe_configs([ConfigResource('topic', 'capt'), ConfigResource('broker', '1')]))
wait(a.alter_configs([ConfigResource('topic', 'capt', set_config={'retention.ms': '1000'})]))
print(a.list_groups(timeout=10))
wait(a.delete_topics(['capt2'], operation_timeout=5))
'''

CONFLUENT_IDEM = r'''
import sys
from confluent_kafka import Producer
p = Producer({'bootstrap.servers': sys.argv[1], 'client.id': 'kp-capture',
              'enable.idempotence': True, 'linger.ms': 5})
for i in range(3):
    p.produce('capt', key=b'k%d' % i, value=b'idempotent %d' % i, partition=0)
print('unflushed', p.flush(15))
'''

CONFLUENT_SASL = r'''
import sys
from confluent_kafka import Producer
p = Producer({'bootstrap.servers': sys.argv[1], 'client.id': 'kp-capture',
              'security.protocol': 'SASL_PLAINTEXT', 'sasl.mechanism': 'PLAIN',
              'sasl.username': 'alice', 'sasl.password': 'alice-secret'})
p.produce('capt', value=b'over sasl', partition=0)
print('unflushed', p.flush(15))
'''

KAFKA_PYTHON_ADMIN = r'''
import sys
from kafka import TopicPartition
from kafka.admin import (KafkaAdminClient, NewTopic, NewPartitions, ConfigResource,
    ConfigResourceType, ACL, ACLFilter, ResourcePattern, ResourcePatternFilter, ACLOperation,
    ACLPermissionType, ResourceType, ACLResourcePatternType)
a = KafkaAdminClient(bootstrap_servers=sys.argv[1], client_id='kp-capture')
def step(name, fn):
    try:
        print(name, fn())
    except Exception as e:
        print(name, 'error', repr(e))
step('create', lambda: a.create_topics([NewTopic('kpy', 2, 1)]))
step('partitions', lambda: a.create_partitions({'kpy': NewPartitions(3)}))
step('describe_configs', lambda: a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, 'kpy')]))
step('alter_configs', lambda: a.alter_configs(
    [ConfigResource(ConfigResourceType.TOPIC, 'kpy', configs={'retention.ms': '1000'})]))
step('list_groups', lambda: a.list_consumer_groups())
step('describe_groups', lambda: a.describe_consumer_groups(['capgroup']))
step('group_offsets', lambda: a.list_consumer_group_offsets(
    'capgroup', partitions=[TopicPartition('kpy', 0)]))
acl = ACL(principal='User:bob', host='*', operation=ACLOperation.READ,
          permission_type=ACLPermissionType.ALLOW,
          resource_pattern=ResourcePattern(ResourceType.TOPIC, 'kpy', ACLResourcePatternType.LITERAL))
flt = ACLFilter(principal='User:bob', host='*', operation=ACLOperation.ANY,
                permission_type=ACLPermissionType.ANY,
                resource_pattern=ResourcePatternFilter(ResourceType.TOPIC, 'kpy',
                                                       ACLResourcePatternType.LITERAL))
step('create_acls', lambda: a.create_acls([acl]))
step('describe_acls', lambda: a.describe_acls(flt))
step('delete_acls', lambda: a.delete_acls([flt]))
step('cluster', lambda: a.describe_cluster())
step('delete_groups', lambda: a.delete_consumer_groups(['capgroup']))
step('delete', lambda: a.delete_topics(['kpy']))
a.close()
'''

KAFKAJS_ADMIN = r'''
const { Kafka, logLevel, ConfigResourceTypes, AclResourceTypes, AclOperationTypes,
        AclPermissionTypes, ResourcePatternTypes } = require('kafkajs');
const kafka = new Kafka({ clientId: 'kp-capture', brokers: [process.argv[process.argv.length - 1]],
                          logLevel: logLevel.NOTHING, retry: { retries: 0 } });
const acl = { resourceType: AclResourceTypes.TOPIC, resourceName: 'kjs',
              resourcePatternType: ResourcePatternTypes.LITERAL, principal: 'User:bob',
              host: '*', operation: AclOperationTypes.READ,
              permissionType: AclPermissionTypes.ALLOW };
async function step(name, fn) {
    try { console.log(name, JSON.stringify(await fn())); }
    catch (e) { console.log(name, 'error', e.message); }
}
(async () => {
    const a = kafka.admin();
    await a.connect();
    await step('create', () => a.createTopics({ topics: [{ topic: 'kjs', numPartitions: 2 }] }));
    await step('partitions', () => a.createPartitions({ topicPartitions: [{ topic: 'kjs', count: 3 }] }));
    await step('metadata', () => a.fetchTopicMetadata({ topics: ['kjs'] }));
    await step('describe_configs', () => a.describeConfigs({ includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: 'kjs' }] }));
    await step('alter_configs', () => a.alterConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC,
        name: 'kjs', configEntries: [{ name: 'retention.ms', value: '1000' }] }] }));
    await step('list_groups', () => a.listGroups());
    await step('describe_groups', () => a.describeGroups(['capgroup']));
    await step('fetch_offsets', () => a.fetchOffsets({ groupId: 'capgroup', topics: ['kjs'] }));
    await step('topic_offsets', () => a.fetchTopicOffsets('kjs'));
    await step('delete_records', () => a.deleteTopicRecords({ topic: 'kjs',
        partitions: [{ partition: 0, offset: '5' }] }));
    await step('create_acls', () => a.createAcls({ acl: [acl] }));
    await step('describe_acls', () => a.describeAcls({ ...acl, operation: AclOperationTypes.ANY,
        permissionType: AclPermissionTypes.ANY }));
    await step('delete_acls', () => a.deleteAcls({ filters: [acl] }));
    await step('reassign', () => a.alterPartitionReassignments({ topics: [{ topic: 'kjs',
        partitionAssignment: [{ partition: 0, replicas: [1] }] }] }));
    await step('list_reassign', () => a.listPartitionReassignments({}));
    await step('delete_groups', () => a.deleteGroups(['capgroup']));
    await step('cluster', () => a.describeCluster());
    await step('delete', () => a.deleteTopics({ topics: ['kjs'] }));
    await a.disconnect();
    process.exit(0);
})();
'''


RDKAFKA_GROUPS = r'''
import ctypes, sys
from ctypes import c_char_p, c_int, c_size_t, c_void_p
rd = ctypes.CDLL('librdkafka.so.1')
for name, res, args in [
        ('rd_kafka_conf_new', c_void_p, []),
        ('rd_kafka_conf_set', c_int, [c_void_p, c_char_p, c_char_p, c_char_p, c_size_t]),
        ('rd_kafka_new', c_void_p, [c_int, c_void_p, c_char_p, c_size_t]),
        ('rd_kafka_destroy', None, [c_void_p]),
        ('rd_kafka_queue_new', c_void_p, [c_void_p]),
        ('rd_kafka_queue_destroy', None, [c_void_p]),
        ('rd_kafka_queue_poll', c_void_p, [c_void_p, c_int]),
        ('rd_kafka_event_error', c_int, [c_void_p]),
        ('rd_kafka_event_name', c_char_p, [c_void_p]),
        ('rd_kafka_event_destroy', None, [c_void_p]),
        ('rd_kafka_AdminOptions_new', c_void_p, [c_void_p, c_int]),
        ('rd_kafka_AdminOptions_destroy', None, [c_void_p]),
        ('rd_kafka_AdminOptions_set_match_consumer_group_states', c_void_p,
         [c_void_p, c_void_p, c_size_t]),
        ('rd_kafka_ListConsumerGroups', None, [c_void_p, c_void_p, c_void_p]),
        ('rd_kafka_DescribeConsumerGroups', None,
         [c_void_p, c_void_p, c_size_t, c_void_p, c_void_p]),
        ('rd_kafka_DeleteGroup_new', c_void_p, [c_char_p]),
        ('rd_kafka_DeleteGroups', None, [c_void_p, c_void_p, c_size_t, c_void_p, c_void_p]),
        ('rd_kafka_topic_partition_list_new', c_void_p, [c_int]),
        ('rd_kafka_topic_partition_list_add', c_void_p, [c_void_p, c_char_p, c_int]),
        ('rd_kafka_DeleteConsumerGroupOffsets_new', c_void_p, [c_char_p, c_void_p]),
        ('rd_kafka_DeleteConsumerGroupOffsets', None,
         [c_void_p, c_void_p, c_size_t, c_void_p, c_void_p])]:
    getattr(rd, name).restype = res
    getattr(rd, name).argtypes = args
err = ctypes.create_string_buffer(512)
conf = rd.rd_kafka_conf_new()
for k, v in [(b'bootstrap.servers', sys.argv[1].encode()), (b'client.id', b'kp-capture')]:
    assert rd.rd_kafka_conf_set(conf, k, v, err, 512) == 0, err.value
rk = rd.rd_kafka_new(0, conf, err, 512)
q = rd.rd_kafka_queue_new(rk)
def wait(what):
    ev = rd.rd_kafka_queue_poll(q, 15000)
    print(what, rd.rd_kafka_event_name(ev), rd.rd_kafka_event_error(ev))
    rd.rd_kafka_event_destroy(ev)
rd.rd_kafka_ListConsumerGroups(rk, None, q)
wait('list')
opts = rd.rd_kafka_AdminOptions_new(rk, 12)  # RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS
states = (c_int * 2)(3, 5)                    # Stable, Empty
assert rd.rd_kafka_AdminOptions_set_match_consumer_group_states(opts, states, 2) is None
rd.rd_kafka_ListConsumerGroups(rk, opts, q)
wait('list_states')
rd.rd_kafka_AdminOptions_destroy(opts)
groups = (c_char_p * 2)(b'capgroup', b'other')
rd.rd_kafka_DescribeConsumerGroups(rk, groups, 2, None, q)
wait('describe')
parts = rd.rd_kafka_topic_partition_list_new(2)
rd.rd_kafka_topic_partition_list_add(parts, b'capt', 0)
rd.rd_kafka_topic_partition_list_add(parts, b'capt', 1)
dels = (c_void_p * 1)(rd.rd_kafka_DeleteConsumerGroupOffsets_new(b'capgroup', parts))
rd.rd_kafka_DeleteConsumerGroupOffsets(rk, dels, 1, None, q)
wait('delete_offsets')
dg = (c_void_p * 1)(rd.rd_kafka_DeleteGroup_new(b'capgroup'))
rd.rd_kafka_DeleteGroups(rk, dg, 1, None, q)
wait('delete_groups')
rd.rd_kafka_queue_destroy(q)
rd.rd_kafka_destroy(rk)
'''


def read_log(path):
    """The capture server's records: (conn, request frame, response frame or None)."""
    data = open(path, 'rb').read()
    off, out = 0, []
    while off + 8 <= len(data):
        conn, rlen = struct.unpack_from('>II', data, off)
        req = data[off + 8:off + 8 + rlen]
        off += 8 + rlen
        (plen,) = struct.unpack_from('>I', data, off)
        resp = data[off + 4:off + 4 + plen] if plen else None
        off += 4 + plen
        out.append((conn, req, resp))
    return out


def keep(records, outdir, scenario):
    """Write the distinct requests (and their responses), as kp-capture.py names them."""
    d = os.path.join(outdir, scenario)
    os.makedirs(d, exist_ok=True)
    seen, count, index = set(), {}, []
    for conn, req, resp in records:
        key, ver, corr = struct.unpack_from('>hhi', req, 4)
        sig = (key, ver, req[:8] + req[12:], resp[8:] if resp else None)
        name = '%s_v%d' % (API_NAMES.get(key, 'Api%d' % key), ver)
        if sig in seen or count.get(name, 0) >= MAX_PER_API:
            continue
        seen.add(sig)
        count[name] = count.get(name, 0) + 1
        base = '%s_%d' % (name, count[name])
        open(os.path.join(d, base + '.req'), 'wb').write(req)
        if resp is not None:
            open(os.path.join(d, base + '.resp'), 'wb').write(resp)
        index.append('%-32s conn %d corr %-4d req %5d B  resp %s' % (
            base, conn, corr, len(req), '%d B' % len(resp) if resp else 'none (acks=0)'))
    with open(os.path.join(d, 'INDEX'), 'w') as f:
        f.write('# %s: kept requests in send order (tools/kp-capture-admin.py; answers\n'
                '# encoded by libbrk_kp in tools/kp_capsrv.c)\n' % scenario)
        f.write('\n'.join(index) + '\n')
    print('%-20s %3d requests logged, %2d kept' % (scenario, len(records), len(index)))


def run_scenario(capsrv, scenario, argv, outdir, env=None):
    with tempfile.TemporaryDirectory(prefix='kp-capadmin-') as tmp:
        log = os.path.join(tmp, 'frames.log')
        srv = subprocess.Popen([capsrv, log], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True)
        try:
            addr = srv.stdout.readline().strip()
            r = subprocess.run(argv + [addr], env=env, timeout=120, capture_output=True,
                               text=True)
            sys.stdout.write(''.join('  | %s\n' % l for l in r.stdout.splitlines()[:40]))
            if r.returncode != 0:
                sys.stdout.write(r.stderr[-2000:])
                sys.exit('%s: client exited %d' % (scenario, r.returncode))
        finally:
            srv.stdin.close()  # kp_capsrv stops when its stdin closes
            srv.wait(timeout=30)
        keep(read_log(log), outdir, scenario)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', default=os.path.join(HERE, '..', 'tests', 'fixtures'))
    ap.add_argument('--kafkajs', help='node_modules directory holding kafkajs 2.2.4')
    ap.add_argument('--only', help='run one scenario')
    args = ap.parse_args()
    capsrv = os.path.join(REPO, 'build', 'bin', 'kp_capsrv')
    if not os.access(capsrv, os.X_OK):
        sys.exit('build kp_capsrv first: make build/bin/kp_capsrv')
    py = ['/usr/bin/python3', '-c']
    scenarios = [('confluent_admin', py + [CONFLUENT_ADMIN], None),
                 ('confluent_idem', py + [CONFLUENT_IDEM], None),
                 ('confluent_sasl', py + [CONFLUENT_SASL], None),
                 ('kafka_python_admin', py + [KAFKA_PYTHON_ADMIN], None),
                 ('rdkafka_groups', py + [RDKAFKA_GROUPS], None)]
    if args.kafkajs:
        scenarios.append(('kafkajs_admin', ['node', '-e', KAFKAJS_ADMIN, '--'],
                          dict(os.environ, NODE_PATH=args.kafkajs)))
    for name, argv, env in scenarios:
        if not args.only or args.only == name:
            run_scenario(capsrv, name, argv, os.path.abspath(args.out), env)


if __name__ == '__main__':
    main()
