// kafkajs_admin_e2e.js - kafkajs 2.2.4's admin client against the broker (run by
// broker/tests/test_0111_kafka_admin.c, with NODE_PATH at the kafkajs the tests install).
//
//   node kafkajs_admin_e2e.js <host:port> <prefix>
//
// createTopics (configs, a refused replication factor, an existing name), createPartitions,
// describeConfigs (with synonyms), alterConfigs, a producer's 10 records, deleteTopicRecords
// (the low watermark moves; a consumer from the beginning starts there), describeCluster,
// deleteTopics. Prints "step value" lines, ends with "ok"; exits 1 with the reason.
'use strict';

const { Kafka, logLevel, ConfigResourceTypes } = require('kafkajs');

const [broker, prefix] = process.argv.slice(2);
const deadline = setTimeout(() => fail('timed out', 2), 90000);

function fail(why, code = 1) {
  console.log(`error=${why}`);
  process.exit(code);
}

function expect(what, got, want) {
  if (JSON.stringify(got) !== JSON.stringify(want))
    fail(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  console.log(`${what} ${JSON.stringify(got)}`);
}

async function code(p) {
  try {
    await p;
    return 'ok';
  } catch (e) {
    const inner = e.errors && e.errors.length ? e.errors[0] : e;
    return inner.type || e.type || String(e);
  }
}

async function main() {
  const kafka = new Kafka({ clientId: 'admin-e2e', brokers: [broker], logLevel: logLevel.NOTHING,
                            retry: { retries: 0 } });
  const admin = kafka.admin();
  await admin.connect();
  const t = `${prefix}js`;
  expect('create', await admin.createTopics({
    topics: [{ topic: t, numPartitions: 2, replicationFactor: 1,
               configEntries: [{ name: 'retention.ms', value: '86400000' }] }] }), true);
  // kafkajs answers an existing topic (36) with false, not an error.
  expect('create again', await admin.createTopics({ topics: [{ topic: t, numPartitions: 2 }] }),
         false);
  expect('create rf2', await code(admin.createTopics({
    topics: [{ topic: `${prefix}rf`, numPartitions: 1, replicationFactor: 2 }] })),
         'INVALID_REPLICATION_FACTOR');
  expect('grow', await code(admin.createPartitions({ topicPartitions: [{ topic: t, count: 4 }] })),
         'ok');
  expect('shrink', await code(admin.createPartitions({ topicPartitions: [{ topic: t, count: 1 }] })),
         'INVALID_PARTITIONS');
  const d = await admin.describeConfigs({
    includeSynonyms: true,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: t, configNames: ['retention.ms'] }] });
  const e = d.resources[0].configEntries;
  expect('describe', e.map((c) => [c.configName, c.configValue, c.configSource]),
         [['retention.ms', '86400000', 1]]);
  expect('synonyms', e[0].configSynonyms.map((s) => [s.configName, s.configValue]),
         [['retention.ms', '86400000'], ['log.retention.hours', '168']]);
  const a = await admin.alterConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: t,
    configEntries: [{ name: 'max.message.bytes', value: '2000000' }] }] });
  expect('alter', a.resources[0].errorCode, 0);
  expect('alter bad', await code(admin.alterConfigs({ resources: [{
    type: ConfigResourceTypes.TOPIC, name: t, configEntries: [{ name: 'min.insync.replicas',
                                                                 value: '0' }] }] })),
         'INVALID_CONFIG');
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: t, acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({
    partition: 0, value: `r${i}` })) });
  await producer.disconnect();
  await admin.deleteTopicRecords({ topic: t, partitions: [{ partition: 0, offset: '6' }] });
  const offs = await admin.fetchTopicOffsets(t);
  const p0 = offs.find((o) => o.partition === 0);
  expect('after deleteRecords', [p0.low, p0.high], ['6', '10']);
  const cl = await admin.describeCluster();
  expect('cluster', [cl.controller, cl.brokers.length], [0, 1]);
  await admin.deleteTopics({ topics: [t], timeout: 20000 });
  expect('gone', (await admin.listTopics()).includes(t), false);
  await admin.disconnect();
  clearTimeout(deadline);
  console.log('ok');
}

main().catch((e) => fail(`${e.name}: ${e.message}`));
