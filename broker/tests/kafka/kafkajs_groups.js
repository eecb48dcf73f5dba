// kafkajs_groups.js - kafkajs 2.2.4's admin client on consumer groups (run by
// broker/tests/test_0112_kafka_groups_admin.c, with NODE_PATH pointing at the kafkajs the
// test installed): listGroups (ListGroups v2), describeGroups (DescribeGroups v2),
// deleteGroups (DeleteGroups v1).
//
//   node kafkajs_groups.js <host:port> <live group> <empty group>
//
// Prints one line per fact the test checks; exits 1 with the reason on an unexpected
// failure, 2 if it does not finish within 60 s.
'use strict';

const { Kafka, logLevel } = require('kafkajs');

const [broker, live, empty] = process.argv.slice(2);
const deadline = setTimeout(() => { console.log('error=timed out'); process.exit(2); }, 60000);

(async () => {
  const kafka = new Kafka({ clientId: 'js-admin', brokers: [broker], logLevel: logLevel.NOTHING,
                            retry: { retries: 2 } });
  const admin = kafka.admin();
  await admin.connect();
  const { groups } = await admin.listGroups();
  for (const g of groups.sort((a, b) => a.groupId.localeCompare(b.groupId)))
    console.log(`listed ${g.groupId} ${g.protocolType || '-'}`);
  const described = await admin.describeGroups([live, empty]);
  for (const g of described.groups) {
    console.log(`described ${g.groupId} ${g.state} ${g.protocolType || '-'} ${g.protocol || '-'}` +
                ` members ${g.members.length}`);
    for (const m of g.members)
      console.log(`  member ${m.memberId} client ${m.clientId} host ${m.clientHost}`);
  }
  try {
    await admin.deleteGroups([live]);
    console.log(`deleted ${live} ok`);
  } catch (e) { // KafkaJSDeleteGroupsError: one entry per group that failed
    for (const g of e.groups || [])
      console.log(`deleted ${g.groupId} ${g.error ? g.error.type : 'ok'}`);
  }
  const res = await admin.deleteGroups([empty]);
  for (const g of res)
    console.log(`deleted ${g.groupId} ${g.errorCode === 0 ? 'ok' : g.errorCode}`);
  await admin.disconnect();
  clearTimeout(deadline);
  console.log('ok');
})().catch((e) => { console.log(`error=${e.message}`); process.exit(1); });
