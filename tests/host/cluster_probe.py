#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Client-side helpers for cluster_e2e.sh.

    cluster_probe.py PORT TOPIC PARTITION [EPOCH]
        the error code of a raw ListOffsets v4 (latest offset) for the
        partition, with current_leader_epoch EPOCH (-1, unchecked, default)
    cluster_probe.py md PORT
        confluent-kafka's Metadata, one line per partition:
        TOPIC PARTITION LEADER REPLICAS ISR ERROR (lists comma-joined)
    cluster_probe.py create PORT
        creates t3 (6 partitions, replication factor 3,
        min.insync.replicas=2), tx (explicit assignment [[1,2],[3,1]]) and
        bad (replication factor 4); prints "NAME ok|ERRORNAME"
    cluster_probe.py delete PORT TOPIC...
        DeleteTopics; prints "NAME ok|ERRORNAME"
    cluster_probe.py create1 PORT TOPIC PARTITIONS RF
        CreateTopics of one topic; prints "NAME ok|ERRORNAME"
    cluster_probe.py grow PORT TOPIC COUNT [ASSIGNMENT]
        CreatePartitions (ASSIGNMENT as JSON, e.g. [[1,2]]); prints
        "NAME ok|ERRORNAME"
"""

import socket
import struct
import sys


def call(port, key, ver, body, corr=7):
    hdr = struct.pack(">hhih", key, ver, corr, 5) + b"probe"
    msg = hdr + body
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    s.sendall(struct.pack(">i", len(msg)) + msg)
    buf = b""
    while len(buf) < 4 or len(buf) < 4 + struct.unpack(">i", buf[:4])[0]:
        d = s.recv(65536)
        if not d:
            raise SystemExit("connection closed")
        buf += d
    s.close()
    return buf[8:]              # size and correlation id


def list_offsets(port, topic, part, epoch):
    t = topic.encode()
    body = (struct.pack(">ib", -1, 0) + struct.pack(">ih", 1, len(t)) + t +
            struct.pack(">iiiq", 1, part, epoch, -1))
    r = call(port, 2, 4, body)
    # throttle, topics[1]: name, partitions[1]: index, error, ...
    off = 4 + 4
    (nl,) = struct.unpack_from(">h", r, off)
    off += 2 + nl + 4
    _, err = struct.unpack_from(">ih", r, off)
    return err


def admin(port):
    from confluent_kafka.admin import AdminClient
    return AdminClient({"bootstrap.servers": "127.0.0.1:%d" % port})


def results(fs):
    for name, f in sorted(fs.items()):
        try:
            f.result()
            print(name, "ok")
        except Exception as e:   # KafkaException carrying a KafkaError
            print(name, e.args[0].name())


def main():
    if sys.argv[1] == "md":
        md = admin(int(sys.argv[2])).list_topics(timeout=15)
        for t in sorted(md.topics.values(), key=lambda t: t.topic):
            for p in sorted(t.partitions.values(), key=lambda p: p.id):
                print(t.topic, p.id, p.leader,
                      ",".join(map(str, p.replicas)),
                      ",".join(map(str, p.isrs)),
                      p.error.name() if p.error else "-")
        return
    if sys.argv[1] == "create":
        from confluent_kafka.admin import NewTopic
        a = admin(int(sys.argv[2]))   # kept alive until the futures end
        results(a.create_topics([
            NewTopic("t3", 6, 3, config={"min.insync.replicas": "2"}),
            NewTopic("tx", 2, replica_assignment=[[1, 2], [3, 1]]),
            NewTopic("bad", 2, 4)], operation_timeout=15))
        return
    if sys.argv[1] == "delete":
        a = admin(int(sys.argv[2]))
        results(a.delete_topics(sys.argv[3:], operation_timeout=15))
        return
    if sys.argv[1] == "create1":
        from confluent_kafka.admin import NewTopic
        a = admin(int(sys.argv[2]))
        results(a.create_topics([NewTopic(sys.argv[3], int(sys.argv[4]),
                                          int(sys.argv[5]))],
                                operation_timeout=15))
        return
    if sys.argv[1] == "grow":
        import json
        from confluent_kafka.admin import NewPartitions
        a = admin(int(sys.argv[2]))
        np = NewPartitions(sys.argv[3], int(sys.argv[4]))
        if len(sys.argv) > 5:
            np = NewPartitions(sys.argv[3], int(sys.argv[4]),
                               json.loads(sys.argv[5]))
        results(a.create_partitions([np], operation_timeout=15))
        return
    port, topic, part = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    epoch = int(sys.argv[4]) if len(sys.argv) > 4 else -1
    print(list_offsets(port, topic, part, epoch))


if __name__ == "__main__":
    main()
