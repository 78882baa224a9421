#!/usr/bin/env python3
"""Share-group throughput (issue 18): 4 share consumers on 1 partition vs 1 classic consumer.

  benches/share_throughput.py [--rounds 3] [--warmup 1] [--records 50000] [--size 100] [--consumers 4]
                              [--data-dir-parent DIR] [--set KEY=VALUE ...] [WEIR]

Starts `WEIR serve` (default target/debug/weir) on a free loopback port with a fresh data dir
(under --data-dir-parent, default the system temp dir; /dev/shm takes the disk out), compiles
benches/share/ShareBench.java against the Java driver's classpath
(conformance/java/target/4.4/classpath.txt, written by conformance/java/build) and runs it:
per round RECORDS records of SIZE bytes are produced to one 1-partition topic, then read by
CONSUMERS KafkaShareConsumers of a fresh share group (implicit acknowledgement) and by one
KafkaConsumer (assign + seek, no group), in alternating order. Each rate is the records over
the time from creating the consumers to the last record delivered (joins included: counting
from the first record instead makes the classic figure a few fetches long and very noisy).
The first --warmup rounds (JIT warm-up: the first classic run is several times slower) are
printed but not counted. Prints every run, the medians and the ratio
share / classic. Needs java and javac; the JVM gets -Xmx512m.
"""
import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, limit=30.0):
    deadline = time.time() + limit
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"weir exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    sys.exit("weir did not listen in time")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("weir", nargs="?", default=os.path.join(ROOT, "target/debug/weir"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--records", type=int, default=50000)
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--consumers", type=int, default=4)
    ap.add_argument("--data-dir-parent", default=None)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--classpath", default=os.path.join(ROOT, "conformance/java/target/4.4/classpath.txt"))
    args = ap.parse_args()

    if not os.path.exists(args.classpath):
        sys.exit(f"{args.classpath} missing: run conformance/java/build first")
    with open(args.classpath) as f:
        cp = f.read().strip()
    work = tempfile.mkdtemp(prefix="share-bench-", dir=args.data_dir_parent)
    classes = os.path.join(work, "classes")
    data = os.path.join(work, "data")
    os.makedirs(classes)
    subprocess.run(
        ["javac", "-nowarn", "-cp", cp, "-d", classes, os.path.join(ROOT, "benches/share/ShareBench.java")],
        check=True,
    )
    port = free_port()
    cmd = [args.weir, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", data]
    for kv in args.set:
        cmd += ["--set", kv]
    log = open(os.path.join(work, "weir.log"), "w")
    broker = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    rates = {"classic": [], "share": []}
    try:
        wait_port(port, broker)
        java = subprocess.Popen(
            ["java", "-Xmx512m", "-cp", f"{classes}:{cp}", "ShareBench", f"127.0.0.1:{port}",
             str(args.rounds + args.warmup), str(args.records), str(args.size), str(args.consumers)],
            stdout=subprocess.PIPE, text=True,
        )
        for line in java.stdout:
            parts = line.split()
            if len(parts) == 4 and parts[0] == "round":
                warm = int(parts[1]) < args.warmup
                if not warm:
                    rates[parts[2]].append(float(parts[3]))
                note = " (warm-up)" if warm else ""
                print(f"round {parts[1]}: {parts[2]:7} {float(parts[3]):10.0f} rec/s{note}", flush=True)
        if java.wait() != 0:
            sys.exit(f"ShareBench failed ({java.returncode}); broker log in {work}")
    finally:
        broker.terminate()
        try:
            broker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            broker.kill()
            broker.wait()
        log.close()
    c = statistics.median(rates["classic"])
    s = statistics.median(rates["share"])
    print(f"records {args.records} x {args.size} B, 1 partition, {args.rounds} rounds after {args.warmup} warm-up ({args.weir})")
    print(f"1 classic consumer:        {c:10.0f} rec/s (median)")
    print(f"{args.consumers} share consumers:         {s:10.0f} rec/s (median)")
    print(f"ratio share / classic:     {s / c:10.2f}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
