#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Bad input on raw TCP connections while a real client works.

Garbage, truncated frames, oversized, zero and negative lengths, unknown
ApiKeys, unsupported versions and huge array counts with no data behind
them are sent on raw connections (plus one connection left hanging in the
middle of a frame), while a confluent-kafka producer and an assign()ed
consumer keep working on another topic.  The broker must never die or
hang, must close (or answer) the bad connections, and the client's log
must read back intact.
"""

import os
import random
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kb import Broker, Tap  # noqa: E402

from confluent_kafka import (Consumer, KafkaError, Producer,  # noqa: E402
                             TopicPartition, OFFSET_BEGINNING)

T = Tap()
MAX_REQ = 1048576        # socket.request.max.bytes
TOPIC = "bad-bg"


def frame(payload):
    return struct.pack(">i", len(payload)) + payload


def request(api_key, ver, corr, body=b"", client_id=b"badinput"):
    """Request with header v1 (non-flexible versions only)."""
    return frame(struct.pack(">hhih", api_key, ver, corr, len(client_id))
                 + client_id + body)


def connect(b):
    s = socket.create_connection(("127.0.0.1", b.port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        d = s.recv(n - len(buf))
        if not d:
            return None
        buf += d
    return buf


def outcome(s, timeout=15):
    """'closed', ('resp', body) or 'timeout' for what the broker does
    next on s."""
    s.settimeout(timeout)
    try:
        hdr = recv_exact(s, 4)
        if hdr is None:
            return "closed"
        n = struct.unpack(">i", hdr)[0]
        body = recv_exact(s, n) if 0 <= n <= 64 << 20 else None
        if body is None:
            return "closed"
        return ("resp", body)
    except (ConnectionResetError, BrokenPipeError):
        return "closed"
    except socket.timeout:
        return "timeout"


def closed_next(s, timeout=15):
    """Broker closes s (after possibly answering earlier requests)."""
    while True:
        o = outcome(s, timeout)
        if o != "closed" and o != "timeout":
            continue
        return o == "closed"


def send(s, data):
    try:
        s.sendall(data)
        return True
    except (ConnectionResetError, BrokenPipeError):
        return False   # the broker already closed: fine


def apiversions_ok(body, corr):
    """ApiVersions v0 response: correlation id, error 0, a list of apis."""
    if len(body) < 10:
        return False
    c, err, n = struct.unpack(">ihi", body[:10])
    return c == corr and err == 0 and n > 0 and len(body) >= 10 + 6 * n


class Background:
    """A producer and a consumer that keep working during the abuse."""

    def __init__(self, bootstrap):
        self.bs = bootstrap
        self.stop = threading.Event()
        self.sent = 0
        self.acked = {}
        self.failed = []
        self.consumed = []
        self.errors = []
        self.tp = threading.Thread(target=self.produce)
        self.tc = threading.Thread(target=self.consume)

    def start(self):
        self.tp.start()
        self.tc.start()

    def dr(self, err, m):
        if err is None:
            self.acked[int(m.value().split(b" ")[0])] = m.offset()
        else:
            self.failed.append(str(err))

    def produce(self):
        p = Producer({"bootstrap.servers": self.bs, "acks": "all",
                      "linger.ms": 1, "message.timeout.ms": 30000})
        while not self.stop.is_set():
            v = b"%d " % self.sent + b"payload-" * (1 + self.sent % 40)
            p.produce(TOPIC, value=v, partition=0, on_delivery=self.dr)
            self.sent += 1
            p.poll(0.005)
        left = p.flush(60)
        if left:
            self.errors.append("producer: %d left after flush" % left)

    def consume(self):
        c = Consumer({"bootstrap.servers": self.bs,
                      "group.id": "bad-bg-%d" % os.getpid(),
                      "enable.auto.commit": False,
                      "fetch.wait.max.ms": 100})
        c.assign([TopicPartition(TOPIC, 0, OFFSET_BEGINNING)])
        drain_until = None
        while True:
            if self.stop.is_set() and drain_until is None:
                drain_until = time.time() + 60
            if drain_until is not None and (
                    time.time() > drain_until or
                    (not self.tp.is_alive() and
                     len(self.consumed) >= len(self.acked))):
                break
            m = c.poll(0.2)
            if m is None:
                continue
            if m.error():
                if m.error().code() != KafkaError._PARTITION_EOF:
                    self.errors.append("consumer: %s" % m.error())
                continue
            self.consumed.append((m.offset(), m.value()))
        c.close()


def reread(bootstrap, timeout=60):
    c = Consumer({"bootstrap.servers": bootstrap,
                  "group.id": "bad-reread-%d" % os.getpid(),
                  "enable.auto.commit": False,
                  "enable.partition.eof": True})
    c.assign([TopicPartition(TOPIC, 0, OFFSET_BEGINNING)])
    out = []
    end = time.time() + timeout
    while time.time() < end:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                break
            continue
        out.append((m.offset(), m.value()))
    c.close()
    return out


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def abuse(b):
    rnd = random.Random(1234)

    # Sanity of the raw encoder: ApiVersions v0 works.
    s = connect(b)
    send(s, request(18, 0, 7))
    o = outcome(s)
    T.ok(o not in ("closed", "timeout") and apiversions_ok(o[1], 7),
         "raw ApiVersions v0 gets a well-formed answer")
    # Same request split into single bytes with pauses.
    data = request(18, 0, 8)
    for i in range(len(data)):
        send(s, data[i:i + 1])
        time.sleep(0.01)
    o = outcome(s)
    T.ok(o not in ("closed", "timeout") and apiversions_ok(o[1], 8),
         "ApiVersions sent one byte at a time gets its answer")
    # Pipelined: answers come in request order.
    send(s, b"".join(request(18, 0, 100 + i) for i in range(10)))
    corrs = []
    for i in range(10):
        o = outcome(s)
        if o in ("closed", "timeout"):
            break
        corrs.append(struct.unpack(">i", o[1][:4])[0])
    T.ok(corrs == list(range(100, 110)),
         "10 pipelined requests answered in order (%s)" % corrs)
    s.close()

    # A connection left hanging in the middle of a frame for the whole
    # test, and one in the middle of the length prefix.
    hang1 = connect(b)
    send(hang1, struct.pack(">i", 200) + b"\x00\x12\x00\x00" + b"x" * 20)
    hang2 = connect(b)
    send(hang2, b"\x00\x00")

    # Unsupported ApiVersions version: error 35 and the version list (v0).
    s = connect(b)
    send(s, request(18, 99, 9))
    o = outcome(s)
    ok = (o not in ("closed", "timeout") and len(o[1]) >= 6 and
          struct.unpack(">ih", o[1][:6]) == (9, 35))
    T.ok(ok, "ApiVersions v99 answered with UNSUPPORTED_VERSION (35): %s"
         % (o if not isinstance(o, tuple) else o[1][:12].hex()))
    s.close()

    cases = [
        ("HTTP request (length 0x47455420)",
         b"GET / HTTP/1.1\r\nHost: kbroker\r\n\r\n", True),
        ("oversized length socket.request.max.bytes+1",
         struct.pack(">i", MAX_REQ + 1) + b"\x00\x03\x00\x01" + b"z" * 1000,
         True),
        ("length 0x7fffffff", struct.pack(">i", 0x7fffffff) + b"q" * 100,
         True),
        ("negative length", struct.pack(">i", -1) + b"q" * 100, True),
        ("zero length", struct.pack(">i", 0) + request(18, 0, 1), True),
        ("frame shorter than a request header",
         frame(b"\x00\x12\x00"), True),
        ("client_id longer than the frame",
         frame(struct.pack(">hhih", 18, 0, 5, 3000) + b"abc"), True),
    ]
    for desc, data, must_close in cases:
        s = connect(b)
        send(s, data)
        T.ok(closed_next(s), "%s: broker closes the connection" % desc)
        s.close()

    # Truncated frame then EOF from the client.
    s = connect(b)
    send(s, struct.pack(">i", 100) + request(3, 1, 11)[4:20])
    s.shutdown(socket.SHUT_WR)
    T.ok(closed_next(s), "truncated frame then client EOF: broker closes")
    s.close()

    # Framed garbage with random headers: closed or answered, never a hang.
    hung = 0
    for i in range(30):
        s = connect(b)
        n = rnd.randint(1, 300)
        send(s, frame(bytes(rnd.getrandbits(8) for _ in range(n))))
        while True:
            o = outcome(s, 15)
            if o == "timeout":
                # a valid-looking but incomplete body may wait for more:
                # that is fine as long as EOF then closes it
                s.shutdown(socket.SHUT_WR)
                if outcome(s, 15) == "timeout":
                    hung += 1
                break
            if o == "closed":
                break
        s.close()
    T.ok(hung == 0, "30 framed random payloads: every connection closed "
         "or answered (%d hung)" % hung)

    # Unknown ApiKeys with a valid header.
    for key in (9999, -1, 32767):
        s = connect(b)
        send(s, request(key, 0, 21))
        o = outcome(s)
        T.ok(o != "timeout" and (o == "closed" or
                                 struct.unpack(">i", o[1][:4])[0] == 21),
             "unknown ApiKey %d: connection closed or error answer (%s)"
             % (key, o if not isinstance(o, tuple) else "answered"))
        s.close()

    # Huge array counts with no data behind them.
    huge = struct.pack(">i", 0x7fffffff)
    bodies = [
        ("Metadata v1 topics[2^31-1]", 3, 1, huge),
        ("Produce v3 topic_data[2^31-1]", 0, 3,
         struct.pack(">hhi", -1, -1, 30000) + huge),
        ("Fetch v4 topics[2^31-1]", 1, 4,
         struct.pack(">iiiib", -1, 100, 1, 1 << 20, 0) + huge),
        ("ListOffsets v1 topics[2^31-1]", 2, 1,
         struct.pack(">i", -1) + huge),
        ("CreateTopics v2 topics[2^31-1]", 19, 2, huge),
        ("DeleteTopics v1 names[2^31-1]", 20, 1, huge),
        ("Produce v3 records length 2^31-1", 0, 3,
         struct.pack(">hhi", -1, -1, 30000) + struct.pack(">i", 1) +
         struct.pack(">h", 6) + TOPIC.encode() + struct.pack(">i", 1) +
         struct.pack(">i", 0) + huge),
        ("Metadata v1 topic name length 30000",
         3, 1, struct.pack(">ih", 1, 30000) + b"abc"),
    ]
    for desc, key, ver, body in bodies:
        s = connect(b)
        send(s, request(key, ver, 31, body))
        o = outcome(s)
        T.ok(o != "timeout" and (o == "closed" or
                                 struct.unpack(">i", o[1][:4])[0] == 31),
             "%s with no data: closed or error answer (%s)"
             % (desc, o if not isinstance(o, tuple) else "answered"))
        s.close()

    # Many connections reset abruptly (SO_LINGER 0 -> RST).
    for i in range(100):
        s = connect(b)
        if i % 2:
            send(s, request(3, 1, i, struct.pack(">i", -1))[:10])
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     struct.pack("ii", 1, 0))
        s.close()
    T.ok(b.alive(), "100 connections reset mid-request: broker alive")

    # The hanging connections did not block anyone; close them now.
    hang1.close()
    hang2.close()


def main():
    with Broker(extra=["num.partitions=1",
                       "socket.request.max.bytes=%d" % MAX_REQ]) as b:
        if not T.ok(b.start(), "kbrokerd starts"):
            return T.done()
        bg = Background(b.bootstrap)
        bg.start()
        time.sleep(1)
        try:
            abuse(b)
        except Exception as e:  # a test bug or an unexpected socket error
            T.ok(False, "abuse sequence ran to the end: %r" % e)
        time.sleep(1)
        bg.stop.set()
        bg.tp.join(90)
        bg.tc.join(90)
        pid = b.proc.pid if b.proc else -1
        T.ok(b.alive(), "kbrokerd never died")
        rss = rss_kb(pid)
        T.ok(0 < rss < 512 * 1024, "kbrokerd RSS %d KiB (< 512 MiB)" % rss)
        for e in bg.errors[:5]:
            T.diag(e)
        T.ok(bg.sent > 50 and not bg.failed and len(bg.acked) == bg.sent,
             "background producer: all %d messages acknowledged (%d failed)"
             % (bg.sent, len(bg.failed)))
        want = sorted((off, seq) for seq, off in bg.acked.items())
        got = [(off, int(v.split(b" ")[0])) for off, v in bg.consumed]
        T.ok(got == want,
             "background consumer read each acknowledged message in order "
             "(%d of %d)" % (len(got), len(want)))
        log = reread(b.bootstrap)
        intact = all(v == b"%d " % i + b"payload-" * (1 + i % 40)
                     for i, (off, v) in enumerate(log)) and \
            [off for off, _ in log] == list(range(len(log)))
        T.ok(intact and len(log) == bg.sent,
             "the log reads back intact afterwards (%d of %d)"
             % (len(log), bg.sent))
        T.ok(b.stop() == 0, "kbrokerd exits 0 on SIGTERM")
        if T.failed:
            T.diag(b.log_tail(40))
    return T.done()


if __name__ == "__main__":
    sys.exit(main())
