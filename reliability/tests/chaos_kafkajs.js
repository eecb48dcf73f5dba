// chaos_kafkajs.js - a kafkajs idempotent producer for the chaos test (test_chaos.c): it
// sends unique values to random partitions until SIGTERM and writes its history in the
// checker's format (reliability/include/rel_history.h).
//
//   node chaos_kafkajs.js <host:port[,host:port...]> <topic> <partitions> <process-id> <history-file>
//
// kafkajs allows one request in flight for an idempotent producer; each send waits for
// acks=all. An error after kafkajs' own retries leaves the outcome unknown ("info"): the
// record may or may not be in the log. The producer is then replaced (a new producer id),
// as an application would, so one stuck sequence cannot stop the workload.
'use strict';

const fs = require('fs');
const { Kafka, logLevel } = require('kafkajs');

const [broker, topic, partsArg, procArg, file] = process.argv.slice(2);
const parts = parseInt(partsArg, 10);
const proc = BigInt(parseInt(procArg, 10));
const fd = fs.openSync(file, 'w');
const line = (s) => fs.writeSync(fd, s + '\n');

let stopping = false;
process.on('SIGTERM', () => { stopping = true; });

const kafka = new Kafka({
  clientId: `chaos-${procArg}`,
  brokers: broker.split(','),
  logLevel: logLevel.NOTHING,
  connectionTimeout: 1000,
  requestTimeout: 4000,
  retry: { initialRetryTime: 50, maxRetryTime: 500, retries: 8 },
});

// The error's name for the history (its last word): the broker's error type kafkajs gave up
// on (e.g. NOT_LEADER_FOR_PARTITION), else kafkajs' own error class.
function errName(e) {
  const cause = e.cause || e;
  const name = String(cause.type || cause.name || e.name || 'ERROR');
  return name.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 47) || 'ERROR';
}

async function connect() {
  for (;;) {
    const p = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    try {
      await p.connect();
      return p;
    } catch (e) {
      line(`# connect: ${e.message}`);
      if (stopping) return null;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

async function main() {
  let producer = await connect();
  let seq = 0n, acked = 0, unknown = 0;
  while (!stopping && producer) {
    const k = Math.floor(Math.random() * parts);
    const value = (proc << 32n) | ++seq;
    line(`send ${procArg} ${k} ${value}`);
    try {
      const [r] = await producer.send({
        topic, acks: -1, messages: [{ partition: k, value: value.toString() }],
      });
      if (r.errorCode !== 0 || r.partition !== k) throw new Error(`answer ${JSON.stringify(r)}`);
      line(`ok ${procArg} ${k} ${value} ${r.baseOffset}`);
      acked++;
    } catch (e) {
      line(`info ${procArg} ${k} ${value} ${errName(e)}`);
      line(`# ${e.name}: ${e.message}`);
      unknown++;
      await producer.disconnect().catch(() => {});
      producer = stopping ? null : await connect();
    }
  }
  if (producer) await producer.disconnect().catch(() => {});
  fs.closeSync(fd);
  console.log(`acked=${acked} unknown=${unknown}`);
  process.exit(0);
}

main().catch((e) => { console.log(`error=${e.stack}`); process.exit(1); });
