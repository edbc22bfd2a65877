#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""kbrokerd's CPU for a consumer of 1,000 partitions with about one message
per second each, with incremental fetch sessions (KIP-227) and without.

librdkafka 2.0.2 fetches sessionless, so the consumer here is a raw Fetch
v11 loop (max_wait 500 ms, min_bytes 1) that follows its offsets the way a
session client does: a full fetch opens the session, then each request
names only the partitions whose offset moved.  Sessionless, every request
names all 1,000.  A confluent-kafka producer writes one message to every
partition each second.  Each mode runs RUN_S seconds, ROUNDS times,
alternating; kbrokerd's CPU seconds per wall second come from
/proc/PID/stat.  Usage: fetch_session_bench.py (builds its own broker).
"""

import os
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "host"))
from kb import Broker  # noqa: E402
from protocol_fetch_txn_idle import Conn, s16  # noqa: E402

N = 1000
RUN_S = float(os.environ.get("FS_BENCH_SECS", "15"))
ROUNDS = int(os.environ.get("FS_BENCH_ROUNDS", "3"))


def cpu(pid):
    with open("/proc/%d/stat" % pid) as f:
        v = f.read().rsplit(")", 1)[1].split()
    return (int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK")


def next_offset(blob, off):
    pos = 0
    while pos + 27 <= len(blob):
        base, ln = struct.unpack_from(">qi", blob, pos)
        if pos + 12 + ln > len(blob):
            break
        lod = struct.unpack_from(">i", blob, pos + 23)[0]
        off = base + lod + 1
        pos += 12 + ln
    return off


def fetch(c, topic, session, epoch, parts):
    body = struct.pack(">iiiib", -1, 500, 1, 1 << 20, 0)
    body += struct.pack(">ii", session, epoch)
    if parts:
        body += struct.pack(">i", 1) + s16(topic) + struct.pack(">i",
                                                               len(parts))
        for p, off in parts:
            body += struct.pack(">iiqqi", p, -1, off, -1, 1 << 20)
    else:
        body += struct.pack(">i", 0)
    body += struct.pack(">i", 0) + s16("")
    r = c.call(1, 11, body)
    r.i32()
    err, sid = r.i16(), r.i32()
    got = {}
    for _ in range(r.i32()):
        r.string()
        for _ in range(r.i32()):
            p = r.i32()
            r.i16()
            r.i64()
            r.i64()
            r.i64()
            for _ in range(max(r.i32(), 0)):
                r.i64()
                r.i64()
            r.i32()
            nb = r.i32()
            got[p] = r.take(nb) if nb > 0 else b""
    return err, sid, got


def consume(b, topic, sessions, stop):
    c = Conn(b.port)
    offs = {p: 0 for p in range(N)}
    sid, epoch, n = 0, 0, 0
    changed = set(range(N))
    while not stop.is_set():
        if sessions and sid:
            parts = [(p, offs[p]) for p in sorted(changed)]
        else:
            parts = [(p, offs[p]) for p in range(N)]
        err, rsid, got = fetch(c, topic, sid if sessions else 0,
                               epoch if sessions else -1, parts)
        if err:
            sid, epoch = 0, 0
            continue
        if sessions:
            if not sid:
                sid = rsid
            epoch = epoch + 1 if sid else 0
        changed = set()
        for p, blob in got.items():
            if blob:
                o = next_offset(blob, offs[p])
                if o != offs[p]:
                    n += o - offs[p]
                    offs[p] = o
                    changed.add(p)
    c.close()
    return n


def produce(b, topic, stop):
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": b.bootstrap, "linger.ms": 20})
    while not stop.is_set():
        t0 = time.time()
        for i in range(N):
            p.produce(topic, b"x" * 100, partition=i)
            if i % 100 == 99:
                p.poll(0)
                stop.wait(0.1)
        p.flush(10)
        stop.wait(max(0, 1 - (time.time() - t0)))
    p.flush(10)


def run(b, topic, sessions):
    stop = threading.Event()
    res = {}
    pt = threading.Thread(target=produce, args=(b, topic, stop))
    ct = threading.Thread(target=lambda: res.update(
        n=consume(b, topic, sessions, stop)))
    pt.start()
    ct.start()
    time.sleep(2)	# both settled
    c0, t0 = cpu(b.proc.pid), time.time()
    time.sleep(RUN_S)
    c1, t1 = cpu(b.proc.pid), time.time()
    stop.set()
    pt.join()
    ct.join()
    return (c1 - c0) / (t1 - t0), res.get("n", 0)


def main():
    from confluent_kafka.admin import AdminClient, NewTopic

    out = {True: [], False: []}
    with Broker() as b:
        b.start()
        a = AdminClient({"bootstrap.servers": b.bootstrap})
        for k in range(ROUNDS):
            for sessions in ((True, False) if k % 2 == 0 else (False, True)):
                topic = "fsb-%d-%d" % (k, sessions)
                a.create_topics([NewTopic(topic, N, 1)])[topic].result(60)
                v, n = run(b, topic, sessions)
                out[sessions].append(v)
                print("round %d %-12s kbrokerd CPU %.3f s/s, %d messages read"
                      % (k + 1, "sessions" if sessions else "sessionless",
                         v, n), flush=True)
    med = {k: sorted(v)[len(v) // 2] for k, v in out.items()}
    print("consumer of %d partitions, ~1 msg/s each, median of %d: kbrokerd "
          "CPU %.3f s/s with sessions, %.3f s/s without (%.2fx less)"
          % (N, ROUNDS, med[True], med[False],
             med[False] / med[True] if med[True] else 0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
