// SPDX-License-Identifier: GPL-2.0
//
// kafkajs end-to-end test, run by tests/host/clients_kafkajs.sh against a fresh
// kbrokerd: node e2e.js BOOTSTRAP.  Prints TAP.  kafkajs is unmodified,
// installed by npm ci from tests/host/js/package-lock.json.
'use strict'

const { Kafka, logLevel } = require('kafkajs')

const bootstrap = process.argv[2]
const TOPIC = 'js-e2e'
const GROUP = 'js-e2e-group'
const PARTS = 3
const N1 = 30
const N2 = 15
const WAIT_MS = 40000

let n = 0
let failed = 0
function ok (cond, desc) {
  n++
  if (cond) {
    console.log(`ok ${n} - ${desc}`)
  } else {
    failed++
    console.log(`not ok ${n} - ${desc}`)
  }
  return !!cond
}
function diag (msg) {
  for (const l of String(msg).split('\n')) console.log('# ' + l)
}

const kafka = new Kafka({
  clientId: 'kbroker-js-e2e',
  brokers: [bootstrap],
  connectionTimeout: 10000,
  requestTimeout: 30000,
  retry: { retries: 8 },
  logLevel: logLevel.ERROR,
  logCreator: () => ({ namespace, level, log }) => {
    if (level <= logLevel.ERROR) {
      diag(`kafkajs ${namespace}: ${log.message} ${log.error || ''}`)
    }
  }
})

// Run a consumer in GROUP until want(seen) holds or WAIT_MS passes;
// commits each message's offset explicitly.  Returns the values seen in
// order (duplicates kept) and whether commits succeeded.
async function consume (want) {
  const consumer = kafka.consumer({
    groupId: GROUP,
    sessionTimeout: 30000,
    rebalanceTimeout: 30000,
    heartbeatInterval: 1000,
    maxWaitTimeInMs: 500
  })
  const seen = []
  let commitErr = null
  await consumer.connect()
  await consumer.subscribe({ topics: [TOPIC], fromBeginning: true })
  let resolveDone
  const done = new Promise(resolve => { resolveDone = resolve })
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ topic, partition, message }) => {
      seen.push(message.value.toString())
      try {
        await consumer.commitOffsets([{
          topic,
          partition,
          offset: (BigInt(message.offset) + 1n).toString()
        }])
      } catch (e) {
        commitErr = e
      }
      if (want(seen)) resolveDone(true)
    }
  })
  const timer = setTimeout(() => resolveDone(false), WAIT_MS)
  const reached = await done
  clearTimeout(timer)
  await consumer.disconnect()
  return { seen, reached, commitErr }
}

async function committedTotal (admin) {
  const res = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] })
  let sum = 0
  for (const t of res) {
    for (const p of t.partitions) sum += Number(p.offset)
  }
  return sum
}

async function main () {
  const admin = kafka.admin()
  await admin.connect()

  const created = await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic: TOPIC, numPartitions: PARTS, replicationFactor: 1 }]
  })
  ok(created === true, `admin.createTopics ${TOPIC} with ${PARTS} partitions`)

  const md = await admin.fetchTopicMetadata({ topics: [TOPIC] })
  const t = md.topics.find(x => x.name === TOPIC)
  ok(t && t.partitions.length === PARTS &&
     t.partitions.every(p => p.leader === 0),
  `admin.fetchTopicMetadata: ${PARTS} partitions, leader 0`)

  let topics = await admin.listTopics()
  ok(topics.includes(TOPIC), 'admin.listTopics lists the topic')

  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  const first = []
  for (let i = 0; i < N1; i++) first.push(`m1-${i}`)
  const res = await producer.send({
    topic: TOPIC,
    acks: -1,
    messages: first.map((v, i) => ({ key: `k${i}`, value: v }))
  })
  const used = new Set(res.map(r => r.partition))
  ok(res.length > 0 && res.every(r => r.errorCode === 0),
    `idempotent producer send of ${N1} messages with acks -1`)
  diag(`produced to partitions ${[...used].sort().join(',')}`)

  const r1 = await consume(seen => new Set(seen).size >= N1)
  ok(r1.reached, `group consumer (fromBeginning) receives all ${N1} messages`)
  const set1 = new Set(r1.seen)
  ok(r1.seen.length === N1 && first.every(v => set1.has(v)),
    `each message exactly once (got ${r1.seen.length}, ${set1.size} distinct)`)
  ok(r1.commitErr === null, 'consumer.commitOffsets succeeds' +
     (r1.commitErr ? `: ${r1.commitErr}` : ''))
  ok(await committedTotal(admin) === N1,
    `admin.fetchOffsets: committed offsets add up to ${N1}`)

  const second = []
  for (let i = 0; i < N2; i++) second.push(`m2-${i}`)
  await producer.send({
    topic: TOPIC,
    acks: -1,
    messages: second.map((v, i) => ({ key: `j${i}`, value: v }))
  })
  await producer.disconnect()

  const r2 = await consume(seen =>
    new Set(seen.filter(v => v.startsWith('m2-'))).size >= N2)
  ok(r2.reached, `second consumer in the group receives the ${N2} new messages`)
  const old = r2.seen.filter(v => v.startsWith('m1-'))
  ok(old.length === 0 && r2.seen.length === N2,
    `it resumes after the committed offsets (${old.length} old, ` +
    `${r2.seen.length} total)`)
  ok(await committedTotal(admin) === N1 + N2,
    `committed offsets add up to ${N1 + N2}`)

  await admin.deleteTopics({ topics: [TOPIC], timeout: 30000 })
  topics = await admin.listTopics()
  ok(!topics.includes(TOPIC), 'admin.deleteTopics removes the topic')
  await admin.disconnect()
}

const hard = setTimeout(() => {
  ok(false, 'test finished within 150 s')
  console.log(`1..${n}`)
  process.exit(1)
}, 150000)

main().catch(e => {
  ok(false, `no exception: ${e && e.stack ? e.stack : e}`)
}).finally(() => {
  clearTimeout(hard)
  console.log(`1..${n}`)
  process.exit(failed ? 1 : 0)
})
