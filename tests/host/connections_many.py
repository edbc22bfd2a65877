#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Thousands of connections at once.

3000 raw connections are opened and held.  Each sends a Metadata request
and an ApiVersions request back to back, and every connection gets both
answers, in order and with its own correlation ids.  While they are all
open, a confluent-kafka producer and consumer work normally.  Then half
of the connections are closed and the other half are reset (RST), and
the broker still serves a new client.
"""
import os
import resource
import select
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kb import Broker, Tap  # noqa: E402
from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402

T = Tap()
N = 3000


def request(api_key, ver, corr, body=b""):
    cid = b"manyconn"
    hdr = struct.pack(">hhih", api_key, ver, corr, len(cid)) + cid
    msg = hdr + body
    return struct.pack(">i", len(msg)) + msg


def pipelined(i):
    """Metadata v1 for all topics (null array), then ApiVersions v0."""
    return (request(3, 1, 2 * i, struct.pack(">i", -1)) +
            request(18, 0, 2 * i + 1))


def read_answers(conns, deadline):
    """Reads two framed answers per connection; returns their corr ids."""
    bufs = {s.fileno(): b"" for s in conns}
    got = {s.fileno(): [] for s in conns}
    by_fd = {s.fileno(): s for s in conns}
    poller = select.poll()
    for s in conns:
        poller.register(s, select.POLLIN)
    pending = len(conns)
    while pending and time.time() < deadline:
        for fd, _ in poller.poll(1000):
            try:
                data = by_fd[fd].recv(65536)
            except OSError:
                data = b""
            if not data:
                poller.unregister(fd)
                pending -= 1
                continue
            bufs[fd] += data
            while len(bufs[fd]) >= 8:
                size = struct.unpack(">i", bufs[fd][:4])[0]
                if len(bufs[fd]) < 4 + size:
                    break
                got[fd].append(struct.unpack(">i", bufs[fd][4:8])[0])
                bufs[fd] = bufs[fd][4 + size:]
            if len(got[fd]) >= 2:
                poller.unregister(fd)
                pending -= 1
    return [got[s.fileno()] for s in conns]


def produce_consume(b, topic, n):
    p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all",
                  "socket.timeout.ms": 30000})
    for i in range(n):
        p.produce(topic, ("m%d" % i).encode(), partition=0)
    left = p.flush(60)
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "mc",
                  "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, 0)])
    seen = []
    deadline = time.time() + 60
    while len(seen) < n and time.time() < deadline:
        m = c.poll(1)
        if m is not None and not m.error():
            seen.append(m.value().decode())
    c.close()
    return left == 0 and seen == ["m%d" % i for i in range(n)]


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = N + 200
    if soft < want and hard >= want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    with Broker(extra=["connections.max.idle.ms=600000"]) as b:
        if not b.start():
            T.ok(False, "broker started")
            return T.done()
        addr = ("127.0.0.1", b.port)
        conns = []
        t0 = time.time()
        try:
            for i in range(N):
                s = socket.create_connection(addr, timeout=30)
                conns.append(s)
        except OSError as e:
            T.diag("connection %d: %s" % (len(conns), e))
        T.ok(len(conns) == N, "%d connections open at once (%.1f s)"
             % (len(conns), time.time() - t0))
        for i, s in enumerate(conns):
            s.sendall(pipelined(i))
        answers = read_answers(conns, time.time() + 120)
        good = sum(1 for i, a in enumerate(answers)
                   if a[:2] == [2 * i, 2 * i + 1])
        T.ok(good == len(conns), "every connection got its two pipelined "
             "answers in order (%d of %d)" % (good, len(conns)))
        T.ok(produce_consume(b, "manyconn", 200),
             "a real producer and consumer work while they are all open")
        for i, s in enumerate(conns):
            if i % 2:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             struct.pack("ii", 1, 0))
            s.close()
        time.sleep(1)
        T.ok(b.alive(), "half closed, half reset: broker alive")
        T.ok(produce_consume(b, "manyconn2", 50),
             "a new client is served afterwards")
        T.ok(b.stop() == 0, "clean shutdown (exit status 0)")
    return T.done()


if __name__ == "__main__":
    sys.exit(main())
