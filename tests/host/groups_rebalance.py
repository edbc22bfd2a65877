#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Consumer groups with librdkafka (confluent-kafka) consumers, each in its
own process: 3 consumers split 6 partitions with no partition owned twice;
one leaves (close: LeaveGroup) and its partitions move; one is killed
(kill -9) and its partitions move after session.timeout.ms.  Before
that, one consumer stops polling for 8 s while a fourth joins: the others'
JoinGroup waits for it (the rebalance timeout is max.poll.interval.ms)
and no consumer sees an error."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kb import Broker, Tap  # noqa: E402

from confluent_kafka import Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

CHILD = r'''
import json, sys
from confluent_kafka import Consumer
bs, group, topic, name = sys.argv[1:5]
def on_error(err):
    print("error " + str(err), flush=True)
c = Consumer({"bootstrap.servers": bs, "group.id": group,
              "session.timeout.ms": 6000, "heartbeat.interval.ms": 1000,
              "max.poll.interval.ms": 20000,
              "auto.offset.reset": "earliest", "enable.auto.commit": False,
              "client.id": name, "error_cb": on_error})
def report(cons, parts):
    print(json.dumps(sorted(p.partition for p in cons.assignment())),
          flush=True)
def on_assign(cons, parts):
    cons.assign(parts)
    report(cons, parts)
def on_revoke(cons, parts):
    cons.unassign()
    # Also runs inside close(), when assignment() would raise: after
    # unassign() the assignment is empty anyway.
    print(json.dumps([]), flush=True)
c.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
import select
import time
while True:
    m = c.poll(0.2)
    if m is not None and m.error():
        print("error " + str(m.error()), flush=True)
    r, _, _ = select.select([sys.stdin], [], [], 0)
    cmd = sys.stdin.readline().strip() if r else ""
    if cmd == "leave":
        c.close()
        print("closed", flush=True)
        break
    if cmd.startswith("sleep "):
        # No poll: rebalance callbacks wait, the member is slow to rejoin.
        time.sleep(float(cmd.split()[1]))
'''

TOPIC = "grp6"
GROUP = "g-split"


class Child:
    def __init__(self, bs, name):
        self.name = name
        self.assign = None
        self.closed = False
        self.errors = []
        self.p = subprocess.Popen(["/usr/bin/python3", "-c", CHILD, bs,
                                   GROUP, TOPIC, name],
                                  stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        self.th = threading.Thread(target=self.reader, daemon=True)
        self.th.start()

    def reader(self):
        for line in self.p.stdout:
            line = line.strip()
            if line == "closed":
                self.closed = True
            elif line.startswith("["):
                self.assign = json.loads(line)
            elif line.startswith("error "):
                self.errors.append(line[6:])


def settled(children, want):
    """True when the live children own every partition exactly once."""
    owned = []
    for c in children:
        if c.assign is None:
            return False
        owned += c.assign
    return sorted(owned) == sorted(want)


def wait_settled(children, want, timeout=45):
    deadline = time.time() + timeout
    stable_since = None
    while time.time() < deadline:
        if settled(children, want):
            # Must hold for a moment: no rebalance half-way.
            stable_since = stable_since or time.time()
            if time.time() - stable_since > 1.5:
                return True
        else:
            stable_since = None
        time.sleep(0.2)
    return False


def main():
    t = Tap()
    with Broker(extra=["num.partitions=1"]) as b:
        if not t.ok(b.start(), "kbrokerd starts"):
            return t.done()
        a = AdminClient({"bootstrap.servers": b.bootstrap})
        f = a.create_topics([NewTopic(TOPIC, 6, 1)], request_timeout=30)
        f[TOPIC].result(30)
        p = Producer({"bootstrap.servers": b.bootstrap})
        for i in range(60):
            p.produce(TOPIC, ("m%d" % i).encode(), partition=i % 6)
        p.flush(30)
        kids = [Child(b.bootstrap, "c%d" % i) for i in range(3)]
        all6 = list(range(6))
        ok = wait_settled(kids, all6)
        t.ok(ok, "3 consumers own the 6 partitions once each")
        t.ok(ok and all(len(k.assign) == 2 for k in kids),
             "each consumer owns 2 partitions")
        t.diag("assignment: %s" % [k.assign for k in kids])

        # c2 stops polling; a fourth member joins meanwhile.
        kids[2].p.stdin.write("sleep 8\n")
        kids[2].p.stdin.flush()
        time.sleep(0.5)
        start = time.time()
        kids.append(Child(b.bootstrap, "c3"))
        ok = wait_settled(kids, all6, timeout=60)
        t.ok(ok, "a fourth consumer joins while one is slow to rejoin")
        t.diag("settled after %.1fs: %s" % (time.time() - start,
                                             [k.assign for k in kids]))
        t.ok(ok and sum(len(k.assign) > 0 for k in kids) == 4,
             "the slow consumer is still a member with partitions")
        errs = [(k.name, e) for k in kids for e in k.errors]
        t.ok(not errs, "no consumer sees an error (JoinGroup waits)")
        if errs:
            t.diag("errors: %s" % errs)
        fourth = kids.pop()
        fourth.p.stdin.write("leave\n")
        fourth.p.stdin.flush()
        fourth.p.wait(30)
        ok = wait_settled(kids, all6)
        t.ok(ok, "back to three consumers when the fourth leaves")

        leaver = kids.pop()
        leaver.p.stdin.write("leave\n")
        leaver.p.stdin.flush()
        leaver.p.wait(30)
        leaver.th.join(10)      # the pipe may still hold "closed"
        t.ok(leaver.closed, "a consumer closes (LeaveGroup)")
        ok = wait_settled(kids, all6)
        t.ok(ok, "its partitions move to the other two")
        t.diag("assignment: %s" % [k.assign for k in kids])

        victim = kids.pop()
        start = time.time()
        victim.p.send_signal(signal.SIGKILL)
        victim.p.wait()
        ok = wait_settled(kids, all6, timeout=50)
        t.ok(ok, "after kill -9 the survivor owns all 6 partitions")
        t.diag("moved after %.1fs: %s" % (time.time() - start,
                                           [k.assign for k in kids]))
        for k in kids:
            k.p.stdin.write("leave\n")
            k.p.stdin.flush()
            k.p.wait(30)
        t.ok(b.alive(), "kbrokerd still running")
        if t.failed:
            t.diag(b.log_tail(40))
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
