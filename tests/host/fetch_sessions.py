#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Incremental fetch sessions (KIP-227) over raw Fetch v11 requests.

A full fetch with epoch 0 opens a session; an incremental fetch names no
partition and is answered with only the partitions that changed; new
partitions and forgotten topics change what the session covers; a wrong
epoch answers INVALID_FETCH_SESSION_EPOCH; an evicted session answers
FETCH_SESSION_ID_NOT_FOUND and the client recovers with a new full fetch.
Eviction follows Kafka's rules on a broker with one slot and a 1.5 s
eviction time: a fresh consumer session is not evicted by another
consumer, a follower evicts it, an idle one is evicted by anyone.  Epoch -1
closes a session.  Then librdkafka (confluent-kafka) consumes 1,000
partitions.
"""

import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kb import Broker, Tap  # noqa: E402
from protocol_fetch_txn_idle import (Conn, create_topic, produce,  # noqa: E402
                                     s16)

T = Tap()
SESSION_NOT_FOUND = 70
INVALID_EPOCH = 71


def fetch(c, session, epoch, parts, forget=(), replica=-1, max_wait=0):
    """Fetch v11; @parts [(topic, part, offset)], @forget [(topic, part)].
    Returns (error, session_id, {(topic, part): (err, hw, nbytes)}, order)."""
    body = struct.pack(">iiiib", replica, max_wait, 1, 1 << 20, 0)
    body += struct.pack(">ii", session, epoch)
    topics = {}
    for t, p, off in parts:
        topics.setdefault(t, []).append((p, off))
    body += struct.pack(">i", len(topics))
    for t, ps in topics.items():
        body += s16(t) + struct.pack(">i", len(ps))
        for p, off in ps:
            body += struct.pack(">iiqqi", p, -1, off, -1, 1 << 20)
    ft = {}
    for t, p in forget:
        ft.setdefault(t, []).append(p)
    body += struct.pack(">i", len(ft))
    for t, ps in ft.items():
        body += s16(t) + struct.pack(">i", len(ps))
        for p in ps:
            body += struct.pack(">i", p)
    body += s16("")
    r = c.call(1, 11, body)
    r.i32()
    err, sid = r.i16(), r.i32()
    out, order = {}, []
    for _ in range(r.i32()):
        t = r.string()
        for _ in range(r.i32()):
            p, e, hw = r.i32(), r.i16(), r.i64()
            r.i64()
            r.i64()
            n = r.i32()
            for _ in range(max(n, 0)):
                r.i64()
                r.i64()
            r.i32()
            nb = r.i32()
            if nb > 0:
                r.take(nb)
            out[(t, p)] = (e, hw, max(nb, 0))
            order.append((t, p))
    return err, sid, out, order


def session_logic(b):
    c = Conn(b.port)
    T.ok(create_topic(c, "fs", 4) == 0, "topic fs with 4 partitions")
    T.ok(create_topic(c, "fs2", 1) == 0, "topic fs2")
    for p in range(4):
        produce(c, "fs", p, [b"v%d" % p])
    parts = [("fs", p, 0) for p in range(4)]
    err, sid, out, _ = fetch(c, 0, 0, parts)
    T.ok(err == 0 and sid > 0 and len(out) == 4 and
         all(v[2] > 0 for v in out.values()),
         "full fetch with epoch 0 opens session %d, all 4 partitions" % sid)
    # The client moves on to offset 1 for each: an incremental fetch
    # with the new offsets, nothing new to read.
    err, sid2, out, _ = fetch(c, sid, 1, [("fs", p, 1) for p in range(4)])
    T.ok(err == 0 and sid2 == sid and len(out) == 0,
         "incremental fetch, nothing changed: no partitions (%r)" % out)
    err, _, out, _ = fetch(c, sid, 2, [])
    T.ok(err == 0 and len(out) == 0, "empty incremental fetch: no partitions")
    produce(c, "fs", 2, [b"new"])
    err, _, out, _ = fetch(c, sid, 3, [])
    T.ok(err == 0 and list(out) == [("fs", 2)] and out[("fs", 2)][2] > 0 and
         out[("fs", 2)][1] == 2,
         "after a produce to fs[2]: only fs[2], with its record (%r)" % out)
    # The session still fetches fs[2] from offset 1 until told otherwise.
    err, _, out, _ = fetch(c, sid, 4, [("fs", 2, 2)])
    T.ok(err == 0 and len(out) == 0,
         "fs[2] moved to offset 2: nothing to send")
    err, _, out, _ = fetch(c, sid, 5, [("fs2", 0, 0)])
    T.ok(err == 0 and list(out) == [("fs2", 0)],
         "a partition added to the session is answered (%r)" % out)
    err, _, out, _ = fetch(c, sid, 6, [], forget=[("fs", 0), ("fs", 1)])
    T.ok(err == 0 and len(out) == 0, "forgetting fs[0] and fs[1]")
    produce(c, "fs", 0, [b"unseen"])
    produce(c, "fs", 3, [b"seen"])
    err, _, out, _ = fetch(c, sid, 7, [])
    T.ok(err == 0 and list(out) == [("fs", 3)],
         "forgotten fs[0] is not fetched any more, fs[3] is (%r)" % out)
    err, sid3, out, _ = fetch(c, sid, 7, [])
    T.ok(err == INVALID_EPOCH and sid3 == 0 and not out,
         "a repeated epoch: INVALID_FETCH_SESSION_EPOCH")
    err, _, out, _ = fetch(c, sid, 8, [])
    T.ok(err == 0, "the session survives a bad epoch")
    err, _, _, _ = fetch(c, 12345, 1, [])
    T.ok(err == SESSION_NOT_FOUND, "an unknown session: FETCH_SESSION_ID_NOT_FOUND")
    err, sid4, out, _ = fetch(c, sid, -1, parts)
    T.ok(err == 0 and sid4 == 0 and len(out) == 4,
         "epoch -1: a sessionless full fetch, the session closed")
    err, _, _, _ = fetch(c, sid, 9, [])
    T.ok(err == SESSION_NOT_FOUND, "the closed session is gone")
    # Fairness: partitions that returned records go last next time.
    create_topic(c, "fr", 4)
    err, sid, out, order = fetch(c, 0, 0, [("fr", p, 0) for p in range(4)])
    produce(c, "fr", 0, [b"a"])
    err, _, out, order = fetch(c, sid, 1, [])
    T.ok(err == 0 and order == [("fr", 0)], "fr[0] returns its record")
    produce(c, "fr", 0, [b"b"])
    produce(c, "fr", 3, [b"c"])
    err, _, out, order = fetch(c, sid, 2, [("fr", 0, 1)])
    T.ok(err == 0 and order == [("fr", 3), ("fr", 0)],
         "fr[0] returned records last time: it comes after fr[3] (%r)"
         % order)
    c.close()


def eviction():
    with Broker(extra=["max.incremental.fetch.session.cache.slots=1",
                       "min.incremental.fetch.session.eviction.ms=1500"]) as b:
        b.start()
        c = Conn(b.port)
        create_topic(c, "ev", 3)
        produce(c, "ev", 0, [b"x"])
        big = [("ev", p, 0) for p in range(3)]
        _, a, _, _ = fetch(c, 0, 0, big)
        T.ok(a > 0, "one slot: session A opened")
        _, bb, _, _ = fetch(c, 0, 0, [("ev", 0, 0)])
        T.ok(bb == 0,
             "a consumer cannot evict a fresh session: sessionless answer")
        err, _, _, _ = fetch(c, a, 1, [])
        T.ok(err == 0, "session A still serves")
        _, f, _, _ = fetch(c, 0, 0, [("ev", 0, 0)], replica=1)
        T.ok(f > 0, "a follower (replica id 1) evicts the consumer's session")
        err, sid, _, _ = fetch(c, a, 2, [])
        T.ok(err == SESSION_NOT_FOUND and sid == 0,
             "the evicted session answers FETCH_SESSION_ID_NOT_FOUND")
        err, a2, out, _ = fetch(c, 0, 0, big)
        T.ok(err == 0 and a2 == 0 and len(out) == 3,
             "recovery: the full fetch is answered (sessionless while the "
             "follower's fresh session holds the slot)")
        time.sleep(2)
        err, a3, out, _ = fetch(c, 0, 0, big)
        T.ok(err == 0 and a3 > 0 and len(out) == 3,
             "the follower's session idle past the eviction time: a new "
             "consumer session %d takes its place" % a3)
        err, _, _, _ = fetch(c, f, 1, [], replica=1)
        T.ok(err == SESSION_NOT_FOUND, "the idle follower session is gone")
        c.close()
        T.ok(b.alive(), "broker alive")


def many_partitions(b):
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic

    n = 1000
    a = AdminClient({"bootstrap.servers": b.bootstrap})
    fs = a.create_topics([NewTopic("many", n, 1)])
    fs["many"].result(30)
    p = Producer({"bootstrap.servers": b.bootstrap, "linger.ms": 5})
    for i in range(n):
        p.produce("many", b"m%d" % i, partition=i)
    T.ok(p.flush(30) == 0, "one message into each of 1,000 partitions")
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "many",
                  "enable.auto.commit": False})
    c.assign([TopicPartition("many", i, 0) for i in range(n)])
    seen = set()
    t0 = time.time()
    while len(seen) < n and time.time() - t0 < 40:
        for m in c.consume(1000, 0.5):
            if not m.error():
                seen.add((m.partition(), m.value()))
    c.close()
    T.ok(len(seen) == n and all((i, b"m%d" % i) in seen for i in range(n)),
         "confluent-kafka consumer of 1,000 partitions read all %d in %.1f s"
         % (len(seen), time.time() - t0))


def main():
    with Broker() as b:
        b.start()
        session_logic(b)
        many_partitions(b)
        T.ok(b.alive(), "broker alive")
    eviction()
    return T.done()


if __name__ == "__main__":
    sys.exit(main())
