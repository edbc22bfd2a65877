#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Sends flexible-version requests (Metadata v12, Produce v9, Fetch v12,
ListOffsets v7, CreateTopics v7, DescribeConfigs v4, InitProducerId v4,
DescribeCluster v1, CreatePartitions v3, DeleteTopics v6) to a kbrokerd on
127.0.0.1:PORT and checks each response parses to its last byte.  Run
against a kbrokerd built with `make -C daemon O=../build/capture CAPTURE=1`
and started with KBROKER_CAPTURE_DIR set to make fuzz seeds (the librdkafka
2.0.2 clients here never use these versions); no other build captures.
Usage: flex_requests.py PORT"""
import socket, struct, sys
def uvar(n):
    out=b''
    while n>=0x80: out+=bytes([(n&0x7f)|0x80]); n>>=7
    return out+bytes([n])
def cstr(s): return uvar(len(s)+1)+s
def req(sock, key, ver, corr, body):
    hdr=struct.pack('>hhi',key,ver,corr)+struct.pack('>h',3)+b'cli'+b'\x00'
    f=hdr+body
    sock.sendall(struct.pack('>i',len(f))+f)
    n=struct.unpack('>i',recvn(sock,4))[0]
    return recvn(sock,n)
def recvn(s,n):
    b=b''
    while len(b)<n:
        c=s.recv(n-len(b))
        if not c: raise Exception('closed')
        b+=c
    return b
class R:
    def __init__(s,b): s.b=b; s.p=0
    def take(s,n): v=s.b[s.p:s.p+n]; s.p+=n; assert len(v)==n, 'short'; return v
    def i8(s): return struct.unpack('>b',s.take(1))[0]
    def i16(s): return struct.unpack('>h',s.take(2))[0]
    def i32(s): return struct.unpack('>i',s.take(4))[0]
    def i64(s): return struct.unpack('>q',s.take(8))[0]
    def uv(s):
        v=0;sh=0
        while True:
            c=s.take(1)[0]; v|=(c&0x7f)<<sh; sh+=7
            if not c&0x80: return v
    def cstr(s): n=s.uv()-1; return None if n<0 else s.take(n).decode()
    def tags(s):
        for _ in range(s.uv()): s.uv(); s.take(s.uv())
    def end(s): assert s.p==len(s.b), 'trailing %d'%(len(s.b)-s.p)
s=socket.create_connection(('127.0.0.1',int(sys.argv[1]) if len(sys.argv)>1 else 9092))
# Metadata v12: topics [ {id zero, name 'flex1'} ], allow auto, incl topic ops, tags
body=uvar(2)+b'\0'*16+cstr(b'flex1')+b'\x00'+b'\x01'+b'\x00'+b'\x00'
r=R(req(s,3,12,1,body)); assert r.i32()==1; r.tags()
r.i32(); nb=r.uv()-1
for _ in range(nb): r.i32(); r.cstr(); r.i32(); r.cstr(); r.tags()
cid=r.cstr(); ctl=r.i32(); nt=r.uv()-1
for _ in range(nt):
    err=r.i16(); name=r.cstr(); tid=r.take(16); r.i8(); np=r.uv()-1
    for _ in range(np):
        r.i16(); r.i32(); r.i32(); r.i32(); [r.i32() for _ in range(r.uv()-1)]; [r.i32() for _ in range(r.uv()-1)]; [r.i32() for _ in range(r.uv()-1)]; r.tags()
    r.i32(); r.tags()
    print('metadata v12 topic', name, err, np)
r.tags(); r.end()
def crc32c(data):
    crc=0xffffffff
    for b in data:
        crc^=b
        for _ in range(8): crc=(crc>>1)^(0x82F63B78 if crc&1 else 0)
    return crc^0xffffffff
def varint(n): return uvar((n<<1)^(n>>63))
rec=b'\x00'+varint(0)+varint(0)+varint(-1)+varint(5)+b'hello'+uvar(0)
rec=varint(len(rec))+rec
after=struct.pack('>hiqqqhii',0,0,1000,1000,-1,-1,-1,1)+rec
crc=crc32c(after)
batch=struct.pack('>qiib',0,len(after)+9,0,2)+struct.pack('>I',crc)+after
body=b'\x00'+struct.pack('>hi',1,5000)+uvar(2)+cstr(b'flex1')+uvar(2)+struct.pack('>i',0)+uvar(len(batch)+1)+batch+b'\x00'+b'\x00'+b'\x00'
r=R(req(s,0,9,2,body)); r.i32(); r.tags()
nt=r.uv()-1
for _ in range(nt):
    name=r.cstr(); np=r.uv()-1
    for _ in range(np):
        idx=r.i32(); err=r.i16(); base=r.i64(); r.i64(); r.i64(); ne=r.uv()-1; msg=r.cstr(); r.tags()
        print('produce v9', name, idx, err, base, msg)
    r.tags()
r.i32(); r.tags(); r.end()
# Fetch v12
body=struct.pack('>iiiib',-1,100,1,1<<20,0)+struct.pack('>ii',0,-1)+uvar(2)+cstr(b'flex1')+uvar(2)+struct.pack('>iiqiqi',0,-1,0,-1,-1,1<<20)+b'\x00'+b'\x00'+uvar(1)+cstr(b'')+b'\x00'
r=R(req(s,1,12,3,body)); r.i32(); r.tags()
r.i32(); print('fetch err', r.i16(), 'session', r.i32())
nt=r.uv()-1
for _ in range(nt):
    name=r.cstr(); np=r.uv()-1
    for _ in range(np):
        idx=r.i32(); err=r.i16(); hw=r.i64(); lso=r.i64(); ls=r.i64(); na=r.uv()-1; prr=r.i32(); n=r.uv()-1; recs=r.take(n); r.tags()
        print('fetch v12', name, idx, err, hw, lso, ls, na, prr, len(recs), b'hello' in recs)
    r.tags()
r.tags(); r.end()
# ListOffsets v7
body=struct.pack('>ib',-1,0)+uvar(2)+cstr(b'flex1')+uvar(2)+struct.pack('>iiq',0,-1,-3)+b'\x00'+b'\x00'+b'\x00'
r=R(req(s,2,7,4,body)); r.i32(); r.tags(); r.i32()
for _ in range(r.uv()-1):
    n=r.cstr()
    for _ in range(r.uv()-1):
        print('listoffsets v7', n, r.i32(), r.i16(), r.i64(), r.i64(), r.i32()); r.tags()
    r.tags()
r.tags(); r.end()
# CreateTopics v7
body=uvar(2)+cstr(b'flex2')+struct.pack('>ih',2,-1)+uvar(1)+uvar(1)+b'\x00'+struct.pack('>i',1000)+b'\x00'+b'\x00'
r=R(req(s,19,7,5,body)); r.i32(); r.tags(); r.i32()
for _ in range(r.uv()-1):
    n=r.cstr(); r.take(16); e=r.i16(); m=r.cstr(); np=r.i32(); rf=r.i16(); nc=r.uv()-1
    for _ in range(nc): r.cstr(); r.cstr(); r.i8(); r.i8(); r.i8(); r.tags()
    r.tags(); print('createtopics v7', n, e, m, np, rf, nc)
r.tags(); r.end()
# DescribeConfigs v4
body=uvar(2)+b'\x02'+cstr(b'flex2')+uvar(0)+b'\x00'+b'\x01\x01'+b'\x00'
r=R(req(s,32,4,6,body)); r.i32(); r.tags(); r.i32()
for _ in range(r.uv()-1):
    e=r.i16(); r.cstr(); r.i8(); n=r.cstr(); nc=r.uv()-1
    for _ in range(nc):
        r.cstr(); r.cstr(); r.i8(); r.i8(); r.i8()
        for _ in range(r.uv()-1): r.cstr(); r.cstr(); r.i8(); r.tags()
        r.i8(); r.cstr(); r.tags()
    r.tags(); print('describeconfigs v4', n, e, nc)
r.tags(); r.end()
# InitProducerId v4, DescribeCluster v1, CreatePartitions v3, DeleteTopics v6
r=R(req(s,22,4,7,uvar(0)+struct.pack('>iqh',1000,-1,-1)+b'\x00')); r.i32(); r.tags(); print('initpid v4', r.i32(), r.i16(), r.i64(), r.i16()); r.tags(); r.end()
r=R(req(s,60,1,8,b'\x00\x01\x00')); r.i32(); r.tags(); r.i32(); e=r.i16(); r.cstr(); et=r.i8(); c=r.cstr(); r.i32()
for _ in range(r.uv()-1): r.i32(); r.cstr(); r.i32(); r.cstr(); r.tags()
r.i32(); r.tags(); r.end(); print('describecluster v1', e, et, c)
r=R(req(s,37,3,9,uvar(2)+cstr(b'flex2')+struct.pack('>i',4)+uvar(0)+b'\x00'+struct.pack('>i',1000)+b'\x00\x00')); r.i32(); r.tags(); r.i32()
for _ in range(r.uv()-1): print('createpartitions v3', r.cstr(), r.i16(), r.cstr()); r.tags()
r.tags(); r.end()
r=R(req(s,20,6,10,uvar(2)+cstr(b'flex2')+b'\0'*16+b'\x00'+struct.pack('>i',1000)+b'\x00')); r.i32(); r.tags(); r.i32()
for _ in range(r.uv()-1): print('deletetopics v6', r.cstr(), r.take(16).hex()[:8], r.i16(), r.cstr()); r.tags()
r.tags(); r.end()
