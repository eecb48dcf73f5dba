// kafkajs_e2e.js - kafkajs 2.2.4 against the broker, end to end (run by
// broker/tests/test_0106_kafka_kafkajs.c, which installs kafkajs with `npm ci` into the
// build directory and points NODE_PATH at it).
//
//   node kafkajs_e2e.js <host:port> <topic> <group> <count>
//
// 1. A producer sends <count> keyed records with a header, half of them gzip-compressed
//    (kafkajs compresses gzip itself), acks=-1; every RecordMetadata must say error 0.
// 2. Two consumers join <group> with fromBeginning, split the topic's partitions between
//    them, and together read every record exactly as sent (key, value, header).
// 3. Both disconnect (committing); the C test then checks the commits with kafka_cli.
//
// Prints one "key=value" line per figure, ends with "ok"; exits 1 with the reason on any
// failure, and 2 if it does not finish within 90 s.
'use strict';

const { Kafka, logLevel, CompressionTypes } = require('kafkajs');

const [broker, topic, group, countArg] = process.argv.slice(2);
const count = parseInt(countArg, 10);
const deadline = setTimeout(() => fail('timed out', 2), 90000);

function fail(why, code = 1) {
  console.log(`error=${why}`);
  process.exit(code);
}

function waitFor(cond, ms, what) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = () => {
      if (cond()) return resolve(Date.now() - t0);
      if (Date.now() - t0 > ms) return reject(new Error(`waited ${ms} ms for ${what}`));
      setTimeout(tick, 50);
    };
    tick();
  });
}

async function produce(kafka) {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const t0 = Date.now();
  let acked = 0;
  for (let from = 0; from < count; from += 500) {
    const messages = [];
    for (let i = from; i < Math.min(from + 500, count); i++)
      messages.push({ key: `k${i}`, value: `value ${i} from kafkajs`, headers: { h: `x${i}` } });
    const compression = (from / 500) % 2 ? CompressionTypes.GZIP : CompressionTypes.None;
    const meta = await producer.send({ topic, messages, acks: -1, compression });
    for (const m of meta) {
      if (m.errorCode !== 0) fail(`produce error ${m.errorCode} on partition ${m.partition}`);
    }
    acked += messages.length;
  }
  console.log(`produced=${acked} ms=${Date.now() - t0}`);
  await producer.disconnect();
}

function consumer(kafka, name, state) {
  const c = kafka.consumer({
    groupId: group,
    sessionTimeout: 6000,
    rebalanceTimeout: 10000,
    heartbeatInterval: 500,
    maxWaitTimeInMs: 500,
  });
  state.assigned[name] = [];
  c.on(c.events.GROUP_JOIN, (e) => {
    state.assigned[name] = e.payload.memberAssignment[topic] || [];
    state.generations.add(`${name}:${e.payload.memberId}`);
  });
  return c;
}

async function consume(kafka) {
  const state = { assigned: {}, seen: new Set(), by: { c1: 0, c2: 0 }, generations: new Set() };
  const cs = { c1: consumer(kafka, 'c1', state), c2: consumer(kafka, 'c2', state) };
  const t0 = Date.now();
  for (const [name, c] of Object.entries(cs)) {
    await c.connect();
    await c.subscribe({ topic, fromBeginning: true });
    await c.run({
      eachMessage: async ({ partition, message }) => {
        const i = parseInt(message.key.toString().slice(1), 10);
        if (message.value.toString() !== `value ${i} from kafkajs`)
          fail(`record ${partition}/${message.offset}: value ${message.value}`);
        if (message.headers.h.toString() !== `x${i}`)
          fail(`record ${partition}/${message.offset}: header ${message.headers.h}`);
        const id = `${partition}/${message.offset}`;
        if (!state.seen.has(id)) state.by[name]++;
        state.seen.add(id);
      },
    });
  }
  const split = () => {
    const a = state.assigned.c1, b = state.assigned.c2;
    return a.length > 0 && b.length > 0 && a.every((p) => !b.includes(p));
  };
  await waitFor(() => state.seen.size >= count && split(), 60000, 'every record, split');
  console.log(`consumed=${state.seen.size} ms=${Date.now() - t0}`);
  console.log(`c1_partitions=${state.assigned.c1.join(',')} c1_records=${state.by.c1}`);
  console.log(`c2_partitions=${state.assigned.c2.join(',')} c2_records=${state.by.c2}`);
  await cs.c1.disconnect();
  await cs.c2.disconnect();
  if (state.seen.size !== count) fail(`consumed ${state.seen.size} of ${count}`);
}

(async () => {
  const kafka = new Kafka({
    clientId: 'kt-kafkajs',
    brokers: [broker],
    logLevel: logLevel.WARN,
    retry: { retries: 8 },
  });
  await produce(kafka);
  await consume(kafka);
  clearTimeout(deadline);
  console.log('ok');
})().catch((e) => fail(e.stack ? e.stack.replace(/\n/g, ' | ') : String(e)));
