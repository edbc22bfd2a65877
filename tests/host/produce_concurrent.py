#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Many clients at once on the same partitions.

Four idempotent producers and two acks=1 producers, each on its own thread
and connection, write numbered messages to the same three partitions
while two consumers tail them.  Every message is stored exactly once, each
producer's messages keep their order in every partition, offsets are
dense, and the tailing consumers saw exactly what is in the log.
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kb import Broker, Tap  # noqa: E402

from confluent_kafka import (Consumer, KafkaError, Producer,  # noqa: E402
                             TopicPartition, OFFSET_BEGINNING)

T = Tap()
TOPIC = "conc"
NPARTS = 3
PER = 3000
PRODUCERS = [("idem%d" % i, {"enable.idempotence": True}) for i in range(4)] \
    + [("plain%d" % i, {"acks": "1"}) for i in range(2)]


def producer(bs, name, conf, out):
    cfg = {"bootstrap.servers": bs, "linger.ms": 2,
           "message.timeout.ms": 60000}
    cfg.update(conf)
    p = Producer(cfg)
    res = out[name] = {"ok": 0, "failed": []}

    def dr(err, m):
        if err is None:
            res["ok"] += 1
        else:
            res["failed"].append(str(err))

    for i in range(PER):
        v = ("%s %d " % (name, i)).encode() + b"c" * (i % 200)
        while True:
            try:
                p.produce(TOPIC, value=v, partition=i % NPARTS,
                          on_delivery=dr)
                break
            except BufferError:
                p.poll(0.05)
        if i % 100 == 0:
            p.poll(0.001)
    p.flush(60)


def consume(bs, total, stop_at, out, key):
    c = Consumer({"bootstrap.servers": bs,
                  "group.id": "conc-%s-%d" % (key, os.getpid()),
                  "enable.auto.commit": False,
                  "fetch.wait.max.ms": 50})
    c.assign([TopicPartition(TOPIC, p, OFFSET_BEGINNING)
              for p in range(NPARTS)])
    got = out[key] = []
    while len(got) < total and time.time() < stop_at:
        m = c.poll(0.2)
        if m is None or m.error():
            if m is not None and \
                    m.error().code() != KafkaError._PARTITION_EOF:
                T.diag("%s: %s" % (key, m.error()))
            continue
        got.append((m.partition(), m.offset(), m.value()))
    c.close()


def main():
    total = PER * len(PRODUCERS)
    with Broker(extra=["num.partitions=%d" % NPARTS]) as b:
        if not T.ok(b.start(), "kbrokerd starts"):
            return T.done()
        bs = b.bootstrap
        # create the topic first so the tailing consumers find it
        Producer({"bootstrap.servers": bs}).list_topics(TOPIC, timeout=30)
        results, seen = {}, {}
        stop_at = time.time() + 90
        threads = [threading.Thread(target=consume,
                                    args=(bs, total, stop_at, seen, k))
                   for k in ("tail1", "tail2")]
        threads += [threading.Thread(target=producer,
                                     args=(bs, n, c, results))
                    for n, c in PRODUCERS]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        failed = sum(len(r["failed"]) for r in results.values())
        acked = sum(r["ok"] for r in results.values())
        T.ok(acked == total and not failed,
             "%d producers: %d of %d messages acknowledged (%d failed%s)"
             % (len(PRODUCERS), acked, total, failed,
                ": " + "; ".join(sorted(set(sum(
                    (r["failed"] for r in results.values()), [])))[:3])
                if failed else ""))

        log = {}
        for key in ("tail1", "tail2"):
            log[key] = sorted(seen.get(key, []))
        consume(bs, total, time.time() + 60, seen, "final")
        final = sorted(seen["final"])
        T.ok(len(final) == total, "the log holds %d messages (%d)"
             % (total, len(final)))
        dense = all([o for p, o, _ in final if p == q] ==
                    list(range(sum(1 for x in final if x[0] == q)))
                    for q in range(NPARTS))
        T.ok(dense, "offsets dense from 0 in every partition")
        where = {}
        bad = 0
        for p, o, v in final:
            try:
                name, i = v.split(b" ")[:2]
                where.setdefault((name.decode(), int(i)), []).append((p, o))
            except ValueError:
                bad += 1
        dups = sum(1 for locs in where.values() if len(locs) > 1)
        missing = sum(1 for n, _ in PRODUCERS for i in range(PER)
                      if (n, i) not in where)
        T.ok(not bad and not dups and not missing,
             "every message stored exactly once (%d missing, %d twice, "
             "%d unreadable)" % (missing, dups, bad))
        disorder = 0
        for n, _ in PRODUCERS:
            for q in range(NPARTS):
                offs = [where[(n, i)][0][1] for i in range(q, PER, NPARTS)
                        if (n, i) in where]
                disorder += offs != sorted(offs)
        T.ok(disorder == 0, "each producer's messages in order in every "
             "partition (%d out of order)" % disorder)
        for key in ("tail1", "tail2"):
            T.ok(log[key] == final, "tailing consumer %s saw exactly the "
                 "log (%d of %d)" % (key, len(log[key]), len(final)))
        T.ok(b.alive(), "kbrokerd still running")
        T.ok(b.stop() == 0, "kbrokerd exits 0 on SIGTERM")
        if T.failed:
            T.diag(b.log_tail(30))
    return T.done()


if __name__ == "__main__":
    sys.exit(main())
