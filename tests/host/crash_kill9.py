#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Crash safety: kill -9 kbrokerd mid-stream, three times.

With log.flush.interval.messages=1 an acknowledged message is durable.  Two
producers stream numbered messages while the broker is killed with SIGKILL
and restarted on the same log dirs and port, three times (before the last
restart, a torn partial batch is appended to one segment, as a crash in
the middle of a write would leave it):

  idem:   enable.idempotence=true (acks=all); its retries across a restart
          must not duplicate anything, so every message must end up
          delivered, exactly once, in order;
  single: acks=all, one request in flight, no retries; messages caught by
          a crash may fail, but each one acknowledged must be there.

Afterwards every acknowledged message is present exactly once, in
production order per partition, at the offset its delivery report gave.
"""

import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kb import Broker, Tap  # noqa: E402

from confluent_kafka import (Consumer, KafkaError, Producer,  # noqa: E402
                             TopicPartition, OFFSET_BEGINNING)

T = Tap()
NPARTS = 3
KILLS = 3
RUN_S = 3.0          # streaming time between kills
DOWN_S = 0.5         # producing while the broker is dead


class Stream:
    def __init__(self, name, bootstrap, conf):
        self.name = name
        self.topic = "crash-" + name
        self.n = 0
        self.acked = {}      # seq -> (partition, offset)
        self.failed = {}     # seq -> error
        self.fatal = []
        cfg = {"bootstrap.servers": bootstrap,
               "linger.ms": 2,
               "retry.backoff.ms": 100,
               "reconnect.backoff.ms": 100,
               "reconnect.backoff.max.ms": 500,
               "socket.timeout.ms": 10000,
               "error_cb": self.on_error}
        cfg.update(conf)
        self.p = Producer(cfg)

    def on_error(self, err):
        if err.fatal():
            self.fatal.append(str(err))

    def on_dr(self, err, msg):
        seq = int(msg.value().split(b"=")[1])
        if err is None:
            self.acked[seq] = (msg.partition(), msg.offset())
        else:
            self.failed[seq] = err

    def send(self):
        seq = self.n
        try:
            self.p.produce(self.topic, key=b"k%d" % (seq % NPARTS),
                           value=b"seq=%d" % seq, partition=seq % NPARTS,
                           on_delivery=self.on_dr)
        except BufferError:
            return
        self.n += 1


def stream_for(streams, secs):
    end = time.time() + secs
    while time.time() < end:
        for s in streams:
            # keep the one-in-flight producer's queue short
            if s.name != "single" or len(s.p) < 5:
                s.send()
            s.p.poll(0)
        time.sleep(0.002)


def read_all(bootstrap, topic, timeout=60):
    c = Consumer({"bootstrap.servers": bootstrap,
                  "group.id": "crash-%d" % os.getpid(),
                  "enable.auto.commit": False,
                  "enable.partition.eof": True})
    c.assign([TopicPartition(topic, p, OFFSET_BEGINNING)
              for p in range(NPARTS)])
    out, eof = [], set()
    end = time.time() + timeout
    while time.time() < end and len(eof) < NPARTS:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                eof.add(m.partition())
            else:
                T.diag("consume %s: %s" % (topic, m.error()))
            continue
        eof.discard(m.partition())
        out.append((m.partition(), m.offset(), m.value()))
    if len(eof) < NPARTS:
        T.diag("consume %s: timed out, %d EOF" % (topic, len(eof)))
    c.close()
    return out


def check(s, msgs, must_deliver_all):
    name = s.name
    T.ok(not s.fatal, "%s: no fatal producer error %s" % (name, s.fatal))
    if must_deliver_all:
        T.ok(not s.failed and len(s.acked) == s.n,
             "%s: all %d messages acknowledged (%d failed: %s)"
             % (name, s.n, len(s.failed),
                sorted(set(str(e) for e in s.failed.values()))[:3]))
    else:
        T.diag("%s: %d produced, %d acknowledged, %d failed"
               % (name, s.n, len(s.acked), len(s.failed)))
        T.ok(len(s.acked) > s.n // 2,
             "%s: most messages acknowledged (%d of %d)"
             % (name, len(s.acked), s.n))
    where = {}
    junk = 0
    for part, off, val in msgs:
        try:
            seq = int(val.split(b"=")[1])
        except (ValueError, IndexError, AttributeError):
            junk += 1
            continue
        where.setdefault(seq, []).append((part, off))
    T.ok(junk == 0, "%s: no unreadable message in the log (%d)"
         % (name, junk))
    missing = [q for q in s.acked if q not in where]
    dups = [q for q in s.acked if len(where.get(q, [])) > 1]
    T.ok(not missing, "%s: every acknowledged message survived the kills "
         "(%d of %d missing, e.g. %s)"
         % (name, len(missing), len(s.acked), sorted(missing)[:5]))
    T.ok(not dups, "%s: no acknowledged message stored twice (%d, e.g. %s)"
         % (name, len(dups), [(q, where[q]) for q in sorted(dups)[:3]]))
    # Order: per partition, acknowledged seqs in offset order increase.
    disorder = 0
    for p in range(NPARTS):
        seqs = [q for q, _ in sorted(
            ((q, off) for q, locs in where.items() if q in s.acked
             for part, off in locs if part == p), key=lambda x: x[1])]
        for a, b in zip(seqs, seqs[1:]):
            if b <= a:
                if disorder < 3:
                    T.diag("%s: partition %d: seq %d after %d"
                           % (name, p, b, a))
                disorder += 1
    T.ok(disorder == 0, "%s: acknowledged messages in production order "
         "in each partition" % name)
    wrong = [(q, s.acked[q], where[q]) for q in s.acked
             if q in where and s.acked[q][1] >= 0
             and s.acked[q] not in where[q]]
    T.ok(not wrong, "%s: each acknowledged message at the offset its "
         "delivery report gave (%d wrong, e.g. %s)"
         % (name, len(wrong), sorted(wrong)[:3]))
    offs = {}
    for part, off, _ in msgs:
        offs.setdefault(part, []).append(off)
    T.ok(all(o == list(range(len(o))) for o in offs.values()),
         "%s: log offsets dense from 0 after recovery" % name)
    other_dups = [q for q, locs in where.items()
                  if len(locs) > 1 and q not in s.acked]
    if other_dups:
        T.diag("%s: %d unacknowledged messages stored twice"
               % (name, len(other_dups)))
    if must_deliver_all:
        T.ok(not other_dups and len(msgs) == s.n,
             "%s: the log holds exactly the %d messages produced (%d)"
             % (name, s.n, len(msgs)))


def tear_tail(b, pdir):
    """Appends a partial record batch to the newest segment of partition
    dir pdir, as a crash in the middle of a write would leave it."""
    for d in b.dirs:
        path = os.path.join(d, pdir)
        if not os.path.isdir(path):
            continue
        logs = sorted(f for f in os.listdir(path) if f.endswith(".log"))
        if not logs:
            return False
        seg = os.path.join(path, logs[-1])
        with open(seg, "ab") as f:
            # base offset far ahead, batch length 400, then 40 of the bytes
            f.write(struct.pack(">qi", 1 << 40, 400) + b"\x00\x02" * 20)
        T.diag("tore %s (%d bytes)" % (seg, os.path.getsize(seg)))
        return True
    return False


def main():
    with Broker(extra=["num.partitions=%d" % NPARTS,
                       "log.flush.interval.messages=1",
                       "log.segment.bytes=16384"]) as b:
        if not T.ok(b.start(), "kbrokerd starts"):
            return T.done()
        idem = Stream("idem", b.bootstrap,
                      {"enable.idempotence": True,
                       "message.timeout.ms": 120000})
        single = Stream("single", b.bootstrap,
                        {"acks": "all",
                         "max.in.flight.requests.per.connection": 1,
                         "message.send.max.retries": 0,
                         "message.timeout.ms": 30000})
        streams = [idem, single]
        stream_for(streams, RUN_S)
        for k in range(1, KILLS + 1):
            T.ok(b.alive(), "kill %d: kbrokerd alive before SIGKILL" % k)
            before = (len(idem.acked), len(single.acked))
            b.kill9()
            stream_for(streams, DOWN_S)
            if k == KILLS:
                T.ok(tear_tail(b, idem.topic + "-0"),
                     "kill %d: a torn batch appended to the tail of %s-0"
                     % (k, idem.topic))
            ok = b.start()
            T.ok(ok, "kill %d: kbrokerd restarts on the same log dirs"
                 " and port" % k)
            if not ok:
                break
            stream_for(streams, RUN_S)
            T.diag("kill %d: acked idem %d->%d, single %d->%d"
                   % (k, before[0], len(idem.acked), before[1],
                      len(single.acked)))
        for s in streams:
            left = s.p.flush(150 if s is idem else 60)
            if left:
                T.diag("%s: %d messages still queued" % (s.name, left))
        T.ok(len(idem.acked) > 0 and len(idem.acked) > idem.n // 2,
             "producers made progress (idem %d acked, single %d)"
             % (len(idem.acked), len(single.acked)))
        if not b.alive():
            b.start()
        check(idem, read_all(b.bootstrap, idem.topic), True)
        check(single, read_all(b.bootstrap, single.topic), False)
        T.ok(b.alive(), "kbrokerd still running")
        T.ok(b.stop() == 0, "kbrokerd exits 0 on SIGTERM")
        if T.failed:
            T.diag(b.log_tail(40))
    return T.done()


if __name__ == "__main__":
    sys.exit(main())
