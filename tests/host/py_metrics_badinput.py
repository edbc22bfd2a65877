#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Bad scrapers against /metrics while a real Kafka client works.

1000 concurrent scrapes (three rounds), scrapers that send GET and never
read, malformed HTTP, a huge header, POST/PUT and unknown paths.  A
confluent-kafka producer keeps producing throughout and every message
must be delivered and read back; the endpoint must serve a normal scrape
after each round; kbrokerd's resident memory must stay bounded (no growth
from round two to round three).
"""

import os
import re
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kb import Broker, Tap  # noqa: E402

from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402

T = Tap()
TOPIC = "busy"


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def http(port, raw, timeout=15, read=True):
    """Sends raw bytes; returns the status code, 'closed' or 'timeout'."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        s.sendall(raw)
        if not read:
            return s
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
            if b"\r\n\r\n" in data and b"Connection: close" not in data:
                m = re.search(rb"Content-Length: (\d+)", data)
                head = data.index(b"\r\n\r\n") + 4
                if m and len(data) - head >= int(m.group(1)):
                    break
        s.close()
        m = re.match(rb"HTTP/1\.[01] (\d+)", data)
        return int(m.group(1)) if m else "closed"
    except socket.timeout:
        return "timeout"
    except OSError:
        return "closed"


def get(port, path="/metrics"):
    return http(port, ("GET %s HTTP/1.1\r\nHost: x\r\n"
                       "Connection: close\r\n\r\n" % path).encode())


def scrape_text(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=15)
    s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
    data = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
    s.close()
    return data.decode(errors="replace")


class Background(threading.Thread):
    """Produces one message every 5 ms until stopped."""

    def __init__(self, bootstrap):
        super().__init__(daemon=True)
        self.p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0,
                           "message.timeout.ms": 30000})
        self.stop = threading.Event()
        self.sent = 0
        self.failed = []

    def cb(self, err, msg):
        if err:
            self.failed.append(str(err))

    def run(self):
        while not self.stop.is_set():
            self.p.produce(TOPIC, b"m-%06d" % self.sent, on_delivery=self.cb)
            self.sent += 1
            self.p.poll(0)
            time.sleep(0.005)
        self.p.flush(30)


def concurrent_scrapes(port, n):
    res = [None] * n
    go = threading.Event()

    def one(i):
        go.wait()
        res[i] = get(port)

    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    go.set()
    for t in ts:
        t.join(60)
    return res


def main():
    b = Broker(["metrics.listener=http://127.0.0.1:0"])
    if not T.ok(b.start(), "kbrokerd starts"):
        return T.done()
    m = None
    for _ in range(50):
        m = re.search(r"metrics on http://127\.0\.0\.1:(\d+)/", b.log_tail(50))
        if m:
            break
        time.sleep(0.1)
    if not T.ok(m, "metrics URL logged"):
        return T.done()
    port = int(m.group(1))
    pid = b.proc.pid
    bg = Background(b.bootstrap)
    bg.start()
    for _ in range(20):
        get(port)
    time.sleep(0.5)
    base = rss_kb(pid)
    T.diag("kbrokerd RSS after warm-up: %d KiB" % base)

    rss = []
    for rnd in range(3):
        t0 = time.time()
        res = concurrent_scrapes(port, 1000)
        ok = sum(1 for r in res if r == 200)
        T.ok(ok > 0 and all(r in (200, "closed", "timeout", 503)
                            for r in res),
             "round %d: 1000 concurrent scrapes: %d answered 200, any "
             "other closed at the connection limit (%.1f s)"
             % (rnd + 1, ok, time.time() - t0))
        T.ok(get(port) == 200, "round %d: a scrape right after is served"
             % (rnd + 1))
        rss.append(rss_kb(pid))
    T.diag("RSS after each round: %s KiB (warm-up %d)" % (rss, base))
    T.ok(rss[2] - base < 32 * 1024,
         "RSS grew by %d KiB over three rounds (bound 32 MiB)"
         % (rss[2] - base))
    T.ok(rss[2] - rss[1] < 4 * 1024,
         "no growth from round two to three (%d KiB)" % (rss[2] - rss[1]))

    # Scrapers that never read: more than the connection limit.
    hang = []
    for _ in range(40):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        try:
            s.connect(("127.0.0.1", port))
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            hang.append(s)
        except OSError:
            s.close()
    time.sleep(12)     # past the 10 s connection timeout
    T.ok(get(port) == 200,
         "40 scrapers that never read are timed out; a new scrape is served")
    for s in hang:
        s.close()

    # Malformed and unwanted requests.
    bad = [
        (b"GARBAGE\r\n\r\n", "a garbage request line"),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(200),
         "a TLS ClientHello"),
        (b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 100000 +
         b"\r\n\r\n", "a 100 KB header"),
        (b"GET /metrics HTTP/9.9\r\n\r\n", "an unknown HTTP version"),
        (b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
         "a negative Content-Length"),
        (os.urandom(4096), "4 KB of random bytes"),
    ]
    for raw, what in bad:
        r = http(port, raw)
        T.ok(r == "closed" or (isinstance(r, int) and 400 <= r < 600),
             "%s: refused (%s)" % (what, r))
    r = http(port, b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5"
              b"\r\nConnection: close\r\n\r\nhello")
    T.ok(r == 405, "POST /metrics: 405 (%s)" % r)
    r = http(port, b"PUT /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0"
              b"\r\nConnection: close\r\n\r\n")
    T.ok(r == 405, "PUT /metrics: 405 (%s)" % r)
    T.ok(get(port, "/") == 404, "GET /: 404")
    T.ok(get(port, "/metrics/../etc/passwd") == 404, "GET /metrics/..: 404")
    T.ok(get(port) == 200, "after all that a scrape is still served")

    bg.stop.set()
    bg.join(60)
    T.ok(not bg.failed and bg.sent > 100,
         "the producer kept being served: %d messages, %d failed %s"
         % (bg.sent, len(bg.failed), bg.failed[:3]))
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "check",
                  "enable.auto.commit": False})
    c.assign([TopicPartition(TOPIC, 0, 0)])
    got = 0
    deadline = time.time() + 60
    while got < bg.sent and time.time() < deadline:
        msg = c.poll(5)
        if msg is not None and not msg.error():
            got += 1
    c.close()
    T.ok(got == bg.sent, "all %d read back (%d)" % (bg.sent, got))
    # A scrape may be served a snapshot up to 100 ms old.
    time.sleep(0.2)
    text = scrape_text(port)
    m = re.search(r'^kbroker_topic_messages_in_total\{topic="busy"\} (\d+)$',
                  text, re.M)
    T.ok(m and int(m.group(1)) == bg.sent,
         "kbroker_topic_messages_in_total{topic=\"busy\"} = %s (sent %d)"
         % (m.group(1) if m else None, bg.sent))
    T.ok(b.alive() and b.stop() == 0, "kbrokerd alive and stops cleanly")
    return T.done()


if __name__ == "__main__":
    sys.exit(main())
