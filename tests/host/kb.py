# SPDX-License-Identifier: GPL-2.0
"""Shared helpers for the python host end-to-end tests.

    from kb import Broker, Tap
    t = Tap()
    with Broker(extra=["num.partitions=3"]) as b:
        b.start()
        ... b.bootstrap, b.proc ...
    sys.exit(t.done())

A Broker owns a temp dir (config, log dirs, daemon log) that is removed,
and a kbrokerd that is killed, when the with-block ends or the process
exits.  Restarts reuse the same port and log dirs.
"""

import atexit
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
KBROKERD = os.environ.get("KBROKERD",
                          os.path.join(ROOT, "build", "daemon", "kbrokerd"))
START_TIMEOUT = float(os.environ.get("KB_START_TIMEOUT", "30"))

_live = []


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def produce_v3_body(topic, partition, records, acks, timeout_ms=30000):
    """A Produce v3 request body: no transactional id, one topic, one
    partition holding @records (bytes)."""
    t = topic.encode()
    return (struct.pack(">hhi", -1, acks, timeout_ms) +
            struct.pack(">ih", 1, len(t)) + t +
            struct.pack(">iii", 1, partition, len(records)) + records)


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, desc):
        self.n += 1
        if cond:
            print("ok %d - %s" % (self.n, desc), flush=True)
        else:
            self.failed += 1
            print("not ok %d - %s" % (self.n, desc), flush=True)
        return bool(cond)

    def diag(self, msg):
        for line in str(msg).splitlines() or [""]:
            print("# " + line, flush=True)

    def done(self):
        print("1..%d" % self.n, flush=True)
        return 1 if self.failed else 0


class Reader:
    """A Kafka response read field by field; a short one raises ValueError.
    flex: the flexible encoding (compact strings and arrays, tagged fields)."""

    def __init__(self, b, flex=False):
        self.b, self.pos, self.flex = b, 0, flex

    def take(self, n):
        if n < 0 or self.pos + n > len(self.b):
            raise ValueError("short response")
        v = self.b[self.pos:self.pos + n]
        self.pos += n
        return v

    def i8(self):
        return struct.unpack(">b", self.take(1))[0]

    def i16(self):
        return struct.unpack(">h", self.take(2))[0]

    def i32(self):
        return struct.unpack(">i", self.take(4))[0]

    def i64(self):
        return struct.unpack(">q", self.take(8))[0]

    def uvarint(self):
        n = shift = 0
        while True:
            c = self.take(1)[0]
            n |= (c & 0x7f) << shift
            shift += 7
            if not c & 0x80:
                return n

    def string(self):
        """Nullable string: None for null."""
        n = self.uvarint() - 1 if self.flex else self.i16()
        return None if n < 0 else self.take(n).decode()

    def blob(self):
        """Nullable bytes: None for null."""
        n = self.uvarint() - 1 if self.flex else self.i32()
        return None if n < 0 else self.take(n)

    def array(self):
        """An array's length (-1 for null)."""
        return self.uvarint() - 1 if self.flex else self.i32()

    def tags(self):
        """Skips a tagged-field section (flexible versions only)."""
        if self.flex:
            for _ in range(self.uvarint()):
                self.uvarint()
                self.take(self.uvarint())


class Broker:
    def __init__(self, extra=(), port=None, ndirs=2):
        self.tmp = tempfile.mkdtemp(prefix="kbhost.",
                                    dir=os.environ.get("KB_TMPDIR", "/tmp"))
        self.port = port or free_port()
        self.bootstrap = "127.0.0.1:%d" % self.port
        self.dirs = [os.path.join(self.tmp, "logs-%c" % c)
                     for c in "abcdefgh"[:ndirs]]
        self.conf = os.path.join(self.tmp, "server.properties")
        self.logpath = os.path.join(self.tmp, "kbrokerd.log")
        self.proc = None
        self.write_config(extra)
        _live.append(self)

    def write_config(self, extra=()):
        lines = [
            "# written by tests/host/kb.py",
            "broker.id=0",
            "listeners=PLAINTEXT://%s" % self.bootstrap,
            "log.dirs=%s" % ",".join(self.dirs),
            "num.partitions=1",
            "auto.create.topics.enable=true",
            "at.rest.encryption=off",
        ] + list(extra)
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    def log_tail(self, n=30):
        try:
            with open(self.logpath, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def start(self, timeout=START_TIMEOUT):
        """Start kbrokerd; True once it logged "listening on"."""
        if not os.access(KBROKERD, os.X_OK):
            print("# %s missing (run make daemon)" % KBROKERD, flush=True)
            return False
        with open(self.logpath, "a") as f:
            f.write("# --- kbrokerd start %s\n" % time.strftime("%T"))
            start = f.tell()
        logf = open(self.logpath, "a")
        self.proc = subprocess.Popen([KBROKERD, "--config", self.conf],
                                     stdout=logf, stderr=logf,
                                     stdin=subprocess.DEVNULL, cwd=ROOT)
        logf.close()
        deadline = time.time() + timeout
        while time.time() < deadline:
            with open(self.logpath, errors="replace") as f:
                f.seek(start)
                if "listening on" in f.read():
                    return True
            if self.proc.poll() is not None:
                print("# kbrokerd exited with status %d before listening"
                      % self.proc.returncode, flush=True)
                for line in self.log_tail(20).splitlines():
                    print("#   " + line, flush=True)
                self.proc = None
                return False
            time.sleep(0.1)
        print("# kbrokerd not listening after %ds" % timeout, flush=True)
        for line in self.log_tail(20).splitlines():
            print("#   " + line, flush=True)
        return False

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=30):
        """SIGTERM; returns the exit status (None if it had to be killed)."""
        if self.proc is None:
            return None
        p = self.proc
        self.proc = None
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
        try:
            return p.wait(timeout)
        except subprocess.TimeoutExpired:
            print("# kbrokerd ignored SIGTERM for %ds, killing" % timeout,
                  flush=True)
            p.kill()
            p.wait()
            return None

    def kill9(self):
        if self.proc is None:
            return
        self.proc.kill()
        self.proc.wait()
        self.proc = None

    def cleanup(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        if os.environ.get("KB_KEEP_TMP"):
            print("# kept %s" % self.tmp, flush=True)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        if self in _live:
            _live.remove(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()
        return False


@atexit.register
def _cleanup_all():
    for b in list(_live):
        b.cleanup()


def _sig_exit(signum, frame):
    sys.exit(128 + signum)


signal.signal(signal.SIGTERM, _sig_exit)
