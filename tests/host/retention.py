#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""log.retention.ms: old segments go, recent data stays.

Messages with CreateTime an hour old fill several 16 KiB segments, then
fresh ones follow; with log.retention.ms=10 min the broker must delete the
old segments (the log start offset moves up) but keep every fresh message,
serve the rest intact from the new start, keep the start across a restart
and go on appending at the old end.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kb import Broker, Tap  # noqa: E402

from confluent_kafka import (Consumer, KafkaError, Producer,  # noqa: E402
                             TopicPartition, OFFSET_BEGINNING)

T = Tap()
TOPIC = "ret"
OLD, FRESH = 200, 50


def val(i):
    return b"%05d " % i + b"r" * 500


def watermarks(bs):
    c = Consumer({"bootstrap.servers": bs, "group.id": "ret-wm"})
    try:
        return c.get_watermark_offsets(TopicPartition(TOPIC, 0), timeout=30)
    except Exception as e:
        T.diag("watermarks: %s" % e)
        return (None, None)
    finally:
        c.close()


def read_all(bs):
    c = Consumer({"bootstrap.servers": bs, "group.id": "ret-read",
                  "enable.auto.commit": False,
                  "enable.partition.eof": True})
    c.assign([TopicPartition(TOPIC, 0, OFFSET_BEGINNING)])
    out = []
    end = time.time() + 60
    while time.time() < end:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                break
            T.diag("consume: %s" % m.error())
            continue
        out.append((m.offset(), m.value()))
    c.close()
    return out


def produce(bs, first, n, ts):
    p = Producer({"bootstrap.servers": bs, "acks": "all", "linger.ms": 1,
                  "batch.num.messages": 5})
    res = []
    for i in range(first, first + n):
        p.produce(TOPIC, value=val(i), partition=0, timestamp=ts,
                  on_delivery=lambda e, m: res.append(e))
        p.poll(0)
    p.flush(60)
    return len(res) == n and all(e is None for e in res)


def main():
    with Broker(extra=["log.retention.ms=600000",
                       "log.segment.bytes=16384"]) as b:
        if not T.ok(b.start(), "kbrokerd starts"):
            return T.done()
        bs = b.bootstrap
        old_ts = int(time.time() * 1000) - 3600 * 1000
        T.ok(produce(bs, 0, OLD, old_ts),
             "%d messages an hour old produced" % OLD)
        T.ok(produce(bs, OLD, FRESH, int(time.time() * 1000)),
             "%d fresh messages produced" % FRESH)
        # Retention may run while the old messages are still arriving and
        # delete in several passes: wait until the log start has moved and
        # then held still for three seconds.
        lo = hi = None
        last, still = None, 0
        end = time.time() + 45
        while time.time() < end:
            lo, hi = watermarks(bs)
            still = still + 1 if lo and lo == last else 0
            last = lo
            if still >= 3:
                break
            time.sleep(1)
        T.ok(lo is not None and lo > 0,
             "the log start moves past expired segments (low %s)" % lo)
        T.ok(lo is not None and lo <= OLD and hi == OLD + FRESH,
             "no fresh message deleted, end unchanged (%s, %s)" % (lo, hi))
        got = read_all(bs)
        want = [(i, val(i)) for i in range(lo or 0, OLD + FRESH)]
        T.ok(got == want, "reading from the beginning serves offsets "
             "%s..%d intact (%d messages)" % (lo, OLD + FRESH - 1, len(got)))

        T.ok(b.stop() == 0, "kbrokerd exits 0 on SIGTERM")
        if not T.ok(b.start(), "kbrokerd restarts"):
            return T.done()
        lo2, hi2 = watermarks(bs)
        T.ok(lo2 is not None and lo is not None and lo2 >= lo and
             hi2 == OLD + FRESH,
             "after restart the log start stays (%s -> %s), end %s"
             % (lo, lo2, hi2))
        T.ok(produce(bs, OLD + FRESH, 10, int(time.time() * 1000)),
             "produce after restart")
        got = read_all(bs)
        T.ok(got and got[-1] == (OLD + FRESH + 9, val(OLD + FRESH + 9))
             and got[0][0] == lo2 and
             [o for o, _ in got] == list(range(lo2, OLD + FRESH + 10)),
             "offsets continue at %d after the restart" % (OLD + FRESH))
        T.ok(b.stop() == 0, "kbrokerd exits 0 on SIGTERM")
        if T.failed:
            T.diag(b.log_tail(30))
    return T.done()


if __name__ == "__main__":
    sys.exit(main())
