#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Committed offsets survive broker restarts: a group consumes part of a
topic, commits, consumes more without committing, the broker restarts
(clean, then kill -9) and a new consumer in the group resumes from the
committed offsets: nothing lost, duplicates only of uncommitted records."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kb import Broker, Tap  # noqa: E402

from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

TOPIC = "resume3"
GROUP = "g-resume"


def consumer(bs):
    c = Consumer({"bootstrap.servers": bs, "group.id": GROUP,
                  "session.timeout.ms": 6000,
                  "auto.offset.reset": "earliest",
                  "enable.auto.commit": False})
    c.subscribe([TOPIC])
    return c


def take(c, n, timeout=40):
    """Up to n records (values) within timeout."""
    import time
    got = []
    deadline = time.time() + timeout
    while len(got) < n and time.time() < deadline:
        m = c.poll(0.5)
        if m is None or m.error():
            continue
        got.append(m.value().decode())
    return got


def produce(bs, tag, n):
    p = Producer({"bootstrap.servers": bs})
    for i in range(n):
        p.produce(TOPIC, ("%s-%d" % (tag, i)).encode(), partition=i % 3)
    p.flush(30)
    return ["%s-%d" % (tag, i) for i in range(n)]


def main():
    t = Tap()
    with Broker() as b:
        if not t.ok(b.start(), "kbrokerd starts"):
            return t.done()
        a = AdminClient({"bootstrap.servers": b.bootstrap})
        a.create_topics([NewTopic(TOPIC, 3, 1)])[TOPIC].result(30)
        sent = produce(b.bootstrap, "a", 300)

        c = consumer(b.bootstrap)
        first = take(c, 120)
        t.ok(len(first) == 120, "first consumer reads 120 records")
        c.commit(asynchronous=False)
        committed = c.committed([TopicPartition(TOPIC, p) for p in range(3)],
                                timeout=20)
        ncommit = sum(max(tp.offset, 0) for tp in committed)
        t.ok(ncommit == 120, "committed offsets sum to 120 (%d)" % ncommit)
        extra = take(c, 30)
        t.ok(len(extra) == 30, "30 more read without committing")
        c.close()

        t.ok(b.stop() == 0, "clean stop")
        t.ok(b.start(), "restart")
        c = consumer(b.bootstrap)
        rest = take(c, 180 + 30, timeout=40)
        seen = first + rest
        t.ok(set(seen) == set(sent), "nothing lost across a clean restart")
        dups = [v for v in rest if v in first]
        t.ok(not dups, "no committed record read again (%d)" % len(dups))
        t.ok(set(rest) & set(extra) == set(extra) and
             len(rest) == 180,
             "uncommitted records read again, and only those")
        c.commit(asynchronous=False)
        c.close()

        b.kill9()
        t.ok(b.start(), "restart after kill -9")
        more = produce(b.bootstrap, "b", 60)
        c = consumer(b.bootstrap)
        after = take(c, 60, timeout=40)
        late = take(c, 1, timeout=3)
        t.ok(sorted(after) == sorted(more) and not late,
             "after kill -9 the group resumes exactly at its commits")
        c.close()
        t.ok(b.alive(), "kbrokerd still running")
        if t.failed:
            t.diag(b.log_tail(40))
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
