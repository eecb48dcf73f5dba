// kafkajs_sec.js - kafkajs 2.2.4 behind TLS and SASL (run by
// broker/tests/test_0114_kafka_sasl.c, NODE_PATH at the build directory's kafkajs).
//
//   node kafkajs_sec.js roundtrip <host:port> <topic> <count>
//   node kafkajs_sec.js refused <host:port>
//   node kafkajs_sec.js acls <host:port>
//
// roundtrip: a producer sends <count> records (acks -1), a consumer group reads them all
// back; refused: connecting must fail, and the error is printed; acls: kafkajs's admin
// creates, describes and deletes an ACL binding. Security from the environment, never argv:
// KT_MECHANISM (scram-sha-256, scram-sha-512, plain), KT_USERNAME, KT_PASSWORD, KT_CA
// (TLS when set). Prints "key=value" lines and "ok"; exits 1 with the reason otherwise.
'use strict';

const fs = require('fs');
const { Kafka, logLevel, AclResourceTypes, AclOperationTypes, AclPermissionTypes,
        ResourcePatternTypes } = require('kafkajs');

const [mode, broker, topic, countArg] = process.argv.slice(2);
const deadline = setTimeout(() => fail('timed out', 2), 60000);

function fail(why, code = 1) {
  console.log(`error=${why}`);
  process.exit(code);
}

function client() {
  const env = process.env;
  const cfg = { clientId: 'kafkajs-sec', brokers: [broker], logLevel: logLevel.NOTHING,
                retry: { retries: 1 }, connectionTimeout: 5000 };
  if (env.KT_CA)
    cfg.ssl = { ca: [fs.readFileSync(env.KT_CA)], servername: 'localhost' };
  if (env.KT_MECHANISM)
    cfg.sasl = { mechanism: env.KT_MECHANISM, username: env.KT_USERNAME,
                 password: env.KT_PASSWORD };
  return new Kafka(cfg);
}

async function roundtrip() {
  const count = parseInt(countArg, 10);
  const kafka = client();
  const producer = kafka.producer();
  await producer.connect();
  const messages = [];
  for (let i = 0; i < count; i++) messages.push({ value: `secure ${i}`, partition: 0 });
  const meta = await producer.send({ topic, messages, acks: -1 });
  if (meta.some((m) => m.errorCode !== 0)) fail('a produce was refused');
  await producer.disconnect();
  console.log(`produced=${count}`);
  const consumer = kafka.consumer({ groupId: `js-${topic}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen = [];
  await consumer.run({ eachMessage: async ({ message }) => { seen.push(message.value.toString()); } });
  const t0 = Date.now();
  while (seen.length < count && Date.now() - t0 < 30000)
    await new Promise((r) => setTimeout(r, 50));
  await consumer.disconnect();
  for (let i = 0; i < count; i++)
    if (seen[i] !== `secure ${i}`) fail(`record ${i} is ${seen[i]}`);
  console.log(`consumed=${seen.length}`);
}

async function refused() {
  const admin = client().admin();
  try {
    await admin.connect();
    await admin.listTopics();
  } catch (e) {
    console.log(`refused=${e.name}: ${e.message}`);
    return;
  }
  fail('the client was let in');
}

async function acls() {
  const admin = client().admin();
  await admin.connect();
  const binding = { resourceType: AclResourceTypes.TOPIC, resourceName: 'js-',
                    resourcePatternType: ResourcePatternTypes.PREFIXED,
                    principal: 'User:bob', host: '*', operation: AclOperationTypes.WRITE,
                    permissionType: AclPermissionTypes.ALLOW };
  await admin.createAcls({ acl: [binding] });
  console.log('created=1');
  const filter = { resourceType: AclResourceTypes.TOPIC, resourceName: 'js-',
                   resourcePatternType: ResourcePatternTypes.PREFIXED,
                   principal: 'User:bob', host: '*', operation: AclOperationTypes.ANY,
                   permissionType: AclPermissionTypes.ANY };
  const found = await admin.describeAcls(filter);
  for (const r of found.resources)
    for (const a of r.acls)
      console.log(`described=${a.principal} ${a.operation} ${r.resourcePatternType} ${r.resourceName}`);
  const deleted = await admin.deleteAcls({ filters: [filter] });
  console.log(`deleted=${deleted.filterResponses[0].matchingAcls.length}`);
  await admin.disconnect();
}

const modes = { roundtrip, refused, acls };
if (!modes[mode]) fail(`no mode ${mode}`);
modes[mode]()
  .then(() => { clearTimeout(deadline); console.log('ok'); process.exit(0); })
  .catch((e) => fail(`${e.name}: ${e.message}`));
