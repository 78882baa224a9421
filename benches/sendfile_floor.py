#!/usr/bin/env python3
"""The kernel's floor for serving a consumer: CPU seconds per GB to move a
page-cached file over loopback TCP to a reading process, with no broker logic.

A sender process sends a file that is in the page cache into a connected
loopback socket, either with sendfile(2) in chunks of a given size or with
write(2)/send(2) of 1 MiB slices of an mmap of it (one copy through the
socket, as a broker that copies from its mapping does); a receiver process
reads in 1 MiB. Each side's utime + stime (wait4's rusage of that process
alone) is divided by the GB moved. On loopback the receive path (TCP input,
the wake-up of the reader) mostly runs in the sender's context, inside its
send call, so the sender's figure includes most of the receive side's
kernel work; the receiver's figure is its copy out of the socket.

    python3 benches/sendfile_floor.py [--gb 2] [--rounds 3] [--file-mb 1024]

The file goes in a temporary directory (TMPDIR) and is deleted at the end.
weir's broker CPU per GB consumed (benches/targets.py throughput) compares
against the sender's figure: what a broker that only moves bytes would cost.
"""

import argparse
import mmap
import os
import socket
import statistics
import tempfile
import time

RECV_CHUNK = 1 << 20


def rusage_secs(ru):
    return ru.ru_utime + ru.ru_stime


def receiver(sock, total):
    buf = bytearray(RECV_CHUNK)
    view = memoryview(buf)
    got = 0
    while got < total:
        n = sock.recv_into(view, RECV_CHUNK)
        if n == 0:
            break
        got += n
    os._exit(0 if got == total else 1)


def sender(sock, path, size, total, mode, chunk):
    fd = os.open(path, os.O_RDONLY)
    sent = 0
    if mode == "sendfile":
        while sent < total:
            off = sent % size
            n = os.sendfile(sock.fileno(), fd, off, min(chunk, size - off, total - sent))
            if n == 0:
                os._exit(2)
            sent += n
    else:
        m = mmap.mmap(fd, size, prot=mmap.PROT_READ)
        view = memoryview(m)
        while sent < total:
            off = sent % size
            sent += sock.send(view[off:off + min(chunk, size - off, total - sent)])
    os._exit(0)


def one(path, size, total, mode, chunk):
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(1)
    addr = lst.getsockname()
    rpid = os.fork()
    if rpid == 0:
        lst.close()
        c = socket.create_connection(addr)
        receiver(c, total)
    conn, _ = lst.accept()
    lst.close()
    t0 = time.monotonic()
    spid = os.fork()
    if spid == 0:
        sender(conn, path, size, total, mode, chunk)
    conn.close()
    _, sst, sru = os.wait4(spid, 0)
    _, rst, rru = os.wait4(rpid, 0)
    wall = time.monotonic() - t0
    if sst != 0 or rst != 0:
        raise SystemExit(f"{mode} {chunk}: sender {sst} receiver {rst}")
    gb = total / 1e9
    return rusage_secs(sru) / gb, rusage_secs(rru) / gb, gb / wall


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gb", type=float, default=2.0, help="GB moved per run")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--file-mb", type=int, default=1024)
    args = ap.parse_args()
    size = args.file_mb << 20
    total = int(args.gb * 1e9)
    cases = [("sendfile", 256 << 10), ("sendfile", 1 << 20), ("sendfile", 8 << 20),
             ("mmap+send", 1 << 20)]
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "data")
        with open(path, "wb") as f:
            block = os.urandom(1 << 20)
            for _ in range(args.file_mb):
                f.write(block)
        with open(path, "rb") as f:  # warm: read it all once
            while f.read(8 << 20):
                pass
        print(f"{args.gb} GB per run over loopback, file {args.file_mb} MiB page-cached, "
              f"receiver reads {RECV_CHUNK >> 20} MiB; medians of {args.rounds} rounds "
              "(cases alternate)")
        results = {c: [] for c in cases}
        for _ in range(args.rounds):
            for c in cases:
                results[c].append(one(path, size, total, *c))
        print(f"{'mode':<10} {'chunk':>8} {'sender CPU-s/GB':>16} {'receiver CPU-s/GB':>18} "
              f"{'GB/s':>6}")
        for (mode, chunk), rs in results.items():
            s = statistics.median(r[0] for r in rs)
            r = statistics.median(r[1] for r in rs)
            g = statistics.median(r[2] for r in rs)
            print(f"{mode:<10} {chunk >> 10:>6}Ki {s:>16.3f} {r:>18.3f} {g:>6.2f}")


if __name__ == "__main__":
    main()
