#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Log compaction with real clients.

confluent-kafka's admin API creates a compacted topic with small segments;
a producer writes 100,000 records over 1,000 keys, the last round with
tombstones for 50 keys.  Once the cleaner has run, a consumer reading from
the beginning gets exactly the latest record of each key (the tombstones
included); after delete.retention.ms the tombstoned keys are gone too.  A
key-less record is refused with INVALID_RECORD.  kill -9 while 20 more
rounds are being cleaned, then a restart: still exactly the latest record
of each key.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kb import Broker, Tap  # noqa: E402

from confluent_kafka import (Consumer, KafkaError, Producer,  # noqa: E402
                             TopicPartition, OFFSET_BEGINNING)
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

T = Tap()
TOPIC = "cmp"
KEYS, ROUNDS = 1000, 100
TOMB = set(range(0, KEYS, 20))
DELETE_RETENTION_MS = 4000


def read_all(bs):
    c = Consumer({"bootstrap.servers": bs, "group.id": "cmp-read",
                  "enable.auto.commit": False,
                  "enable.partition.eof": True})
    c.assign([TopicPartition(TOPIC, 0, OFFSET_BEGINNING)])
    out = []
    end = time.time() + 30
    while time.time() < end:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                break
            T.diag("consume: %s" % m.error())
            continue
        out.append((m.offset(), m.key(), m.value()))
    c.close()
    return out


def expected(with_tombs):
    want = {}
    for k in range(KEYS):
        key = b"k%d" % k
        if k in TOMB:
            if with_tombs:
                want[key] = None
        else:
            want[key] = b"v%d-%d" % (k, ROUNDS - 1)
    return want


def wait_for(bs, want, secs):
    """Reads until the log holds exactly @want (one record per key)."""
    got = []
    end = time.time() + secs
    while time.time() < end:
        got = read_all(bs)
        if len(got) == len(want) and \
                {k: v for _, k, v in got} == want:
            return True, got
        time.sleep(1)
    return False, got


def main():
    with Broker(extra=["log.cleaner.backoff.ms=200",
                       "log.cleaner.threads=1"]) as b:
        if not T.ok(b.start(), "kbrokerd starts"):
            return T.done()
        bs = b.bootstrap
        admin = AdminClient({"bootstrap.servers": bs})
        fs = admin.create_topics([NewTopic(TOPIC, 1, 1, config={
            "cleanup.policy": "compact",
            "segment.bytes": "65536",
            "segment.ms": "1000",
            "min.cleanable.dirty.ratio": "0.1",
            "delete.retention.ms": str(DELETE_RETENTION_MS)})])
        try:
            fs[TOPIC].result(30)
            T.ok(True, "compacted topic created through the admin API")
        except Exception as e:
            T.ok(False, "compacted topic created: %s" % e)
            return T.done()

        p = Producer({"bootstrap.servers": bs, "linger.ms": 5,
                      "enable.idempotence": True})
        errs = []
        t0 = time.time()
        for r in range(ROUNDS):
            for k in range(KEYS):
                v = None if r == ROUNDS - 1 and k in TOMB else \
                    b"v%d-%d" % (k, r)
                p.produce(TOPIC, key=b"k%d" % k, value=v, partition=0,
                          on_delivery=lambda e, m: e and errs.append(e))
                if k % 500 == 0:
                    p.poll(0)
        p.flush(60)
        T.ok(not errs, "%d records over %d keys produced in %.1f s (%s)"
             % (KEYS * ROUNDS, KEYS, time.time() - t0, errs[:1]))

        done, got = wait_for(bs, expected(True), 40)
        T.ok(done, "after cleaning, exactly the latest record of each key "
             "(%d records read, tombstones included)" % len(got))
        offs = [o for o, _, _ in got]
        T.ok(offs == sorted(offs) and (not offs or
                                       offs[-1] == KEYS * ROUNDS - 1),
             "offsets kept, increasing, the last one %s"
             % (offs[-1] if offs else None))

        done, got = wait_for(bs, expected(False), 30)
        T.ok(done, "after delete.retention.ms the tombstoned keys are gone "
             "(%d records)" % len(got))

        res = []
        p.produce(TOPIC, value=b"no key", partition=0,
                  on_delivery=lambda e, m: res.append(e))
        p.flush(30)
        T.ok(res and res[0] is not None and
             res[0].code() == KafkaError.INVALID_RECORD,
             "a key-less record is refused with INVALID_RECORD (%s)"
             % (res[:1],))
        T.ok("cleaned up to offset" in b.log_tail(400),
             "the cleaner logged its passes")
        # kill -9 while the cleaner works on 20 more rounds: the restarted
        # broker finishes or drops the cleaning cut short, and serves the
        # latest record of every key.
        for r in range(ROUNDS, ROUNDS + 20):
            for k in range(KEYS):
                p.produce(TOPIC, key=b"k%d" % k, value=b"v%d-%d" % (k, r),
                          partition=0,
                          on_delivery=lambda e, m: e and errs.append(e))
                if k % 500 == 0:
                    p.poll(0)
        p.flush(60)
        T.ok(not errs, "20 more rounds produced")
        time.sleep(1.5)
        b.kill9()
        if not T.ok(b.start(), "kbrokerd restarts after kill -9"):
            return T.done()
        want = {b"k%d" % k: b"v%d-%d" % (k, ROUNDS + 19)
                for k in range(KEYS)}
        done, got = wait_for(bs, want, 30)
        T.ok(done, "after kill -9 and restart: exactly the latest record "
             "of each key (%d records)" % len(got))
        tail = b.log_tail(60)
        T.diag("the kill found %s" % (
            "a cleaning in progress" if "cut short" in tail else
            "no cleaning in progress"))
        rc = b.stop()
        T.ok(rc == 0, "kbrokerd exits 0 on SIGTERM (%s)" % rc)
        if T.failed:
            T.diag(b.log_tail(40))
    return T.done()


if __name__ == "__main__":
    sys.exit(main())
