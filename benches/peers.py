#!/usr/bin/env python3
"""weir side by side with its peers (issue 13): Apache Kafka, franz-go's kfake and Tansu.

    benches/peers.py [--peers kafka,kfake,tansu] [--rounds N] [--records N] [--e2e-seconds S]
                     [--bench PATH] [--perf-test] WEIR

For each peer in turn: a fresh `weir serve` (its own data dir) and the peer (benches/peers/NAME,
its own temp dir) run side by side, and every figure comes from one run that alternates the two
(A = weir, B = the peer):

- start: spawn to the first ApiVersions answer, then VmRSS after 1 s idle (the peer's time
  includes its launcher script, ~40 ms of Python before the broker process exists, and for
  Kafka the `kafka-storage format` JVM run of a fresh data dir); --start-rounds alternating
  starts of each from a fresh data dir, the median and the first start (possibly from a cold
  page cache) reported;
- produce and consume: `weir bench produce|consume --compare` (1 KiB records, acks=all, 1 and
  16 partitions), medians of the alternating rounds; broker CPU seconds per GB of payload (the
  broker process's utime+stime from /proc over the run, divided by what was produced to it);
- e2e at 50k msg/s (OMB's 1-topic-1-partition-1kb: acks=all, linger 1 ms), p50/p99/p99.9;
- loaded RSS: VmHWM at the end (for weir it counts the mapped segment pages it touched) and
  RssAnon (heap and other anonymous memory);
- with --perf-test, Kafka's own kafka-producer-perf-test / kafka-consumer-perf-test
  (org.apache.kafka.tools.ProducerPerformance / ConsumerPerformance, jars through the kafka
  peer's pom) against each of the two, as an independent client.

Durability is each broker's default: neither Kafka nor weir fsyncs per message (the OS
flushes); kfake and Tansu (the PyPI wheel's in-memory engine) keep data in memory. The steal
time (CPU the hypervisor gave other guests) is printed per phase: figures from a phase with
steal above 1% are not worth quoting. Prints one markdown table per peer. Standard library only.
"""
import argparse
import importlib.machinery
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, HERE)
import targets  # noqa: E402  (free_port, cpu_times, steal_since, api_versions_frame)

CLK_TCK = os.sysconf("SC_CLK_TCK")
RECORD = 1024


def answers_api_versions(port):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=1)
    except OSError:
        return False
    try:
        s.sendall(targets.api_versions_frame())
        head = s.recv(4)
        return len(head) == 4
    except OSError:
        return False
    finally:
        s.close()


def wait_ready(port, proc, timeout, t0):
    """Milliseconds from t0 until the port answers ApiVersions."""
    while time.perf_counter() < t0 + timeout:
        if answers_api_versions(port):
            return (time.perf_counter() - t0) * 1000
        if proc.poll() is not None:
            sys.exit(f"broker exited with {proc.returncode} before answering")
        time.sleep(0.0005)
    sys.exit(f"no ApiVersions answer on port {port} within {timeout} s")


def listening_pid(port):
    """The pid of the process listening on 127.0.0.1:port (from /proc/net/tcp)."""
    inode = None
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):  # the JVM listens on tcp6 sockets
        with open(table) as f:
            for line in f.readlines()[1:]:
                cols = line.split()
                local, state = cols[1], cols[3]
                if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                    inode = cols[9]
                    break
        if inode is not None:
            break
    if inode is None:
        return None
    want = f"socket:[{inode}]"
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") == want:
                    return int(pid)
        except OSError:
            continue
    return None


def proc_status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024  # MB
    return float("nan")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


class Running:
    """A started broker: its launcher process, its port, the pid of the broker itself."""

    def __init__(self, name, argv, port, timeout):
        self.name = name
        self.port = port
        self.addr = f"127.0.0.1:{port}"
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        self.start_ms = wait_ready(port, self.proc, timeout, t0)
        self.pid = listening_pid(port) or self.proc.pid
        time.sleep(1.0)
        self.idle_rss_mb = proc_status(self.pid, "VmRSS")

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(90)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


def bench_compare(args, a, b, mode, extra):
    """One `weir bench MODE --compare` run: medians, steal, CPU-s per broker."""
    # Every phase starts with no dirty page-cache backlog from the earlier ones: past
    # vm.dirty_ratio the kernel throttles writers to the disk's rate and bills them the
    # writeback, so the later phases (16 partitions) would measure the disk.
    os.sync()
    cpu0 = {r.name: cpu_seconds(r.pid) for r in (a, b)}
    st = targets.cpu_times()
    argv = [args.bench, mode, "--bootstrap", a.addr, "--compare", b.addr,
            "--rounds", str(args.rounds), "--quiet", "--json", *extra]
    out = subprocess.run(argv, check=True, stdout=subprocess.PIPE, text=True).stdout
    steal = targets.steal_since(st)
    cpu = {r.name: cpu_seconds(r.pid) - cpu0[r.name] for r in (a, b)}
    return json.loads(out)["medians"], steal, cpu


def warm_up(args, addr, topic, partitions):
    """Create `topic` and write a few records until every partition accepts them."""
    for _ in range(30):
        r = subprocess.run([args.bench, "produce", "--bootstrap", addr, "--topic", topic,
                            "--create", "--partitions", str(partitions), "--records", "100",
                            "--keys", f"sequential:{partitions}", "--quiet"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if r.returncode == 0:
            return
        time.sleep(1)
    sys.exit(f"{addr}: topic {topic} never accepted writes")


def perf_test(cp, addr, topic, records):
    """Kafka's own perf tools: produce then consume; MB/s of payload for each."""
    java = shutil.which("java") or "java"
    base = [java, "-Xmx512m", "-cp", cp]
    out = subprocess.run(base + ["org.apache.kafka.tools.ProducerPerformance", "--topic", topic,
                                 "--num-records", str(records), "--record-size", str(RECORD),
                                 "--throughput", "-1", "--producer-props",
                                 f"bootstrap.servers={addr}", "acks=all"],
                         check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True).stdout
    m = re.findall(r"records sent, [\d.]+ records/sec \(([\d.]+) MB/sec\)", out)
    prod = float(m[-1]) * 1.048576 if m else float("nan")  # the tool's MB is 2^20
    out = subprocess.run(base + ["org.apache.kafka.tools.ConsumerPerformance",
                                 "--bootstrap-server", addr, "--topic", topic,
                                 "--messages", str(records), "--timeout", "60000"],
                         check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True).stdout
    # start.time, end.time, data.consumed.in.MB, MB.sec, ...
    rows = [line.split(", ") for line in out.splitlines() if re.match(r"^\d{4}-", line)]
    cons = float(rows[-1][3]) * 1.048576 if rows else float("nan")
    return prod, cons


def kafka_classpath():
    path = os.path.join(HERE, "peers", "kafka")
    loader = importlib.machinery.SourceFileLoader("kafka_peer", path)
    spec = importlib.util.spec_from_loader("kafka_peer", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod.classpath()


def fmt(v, digits=1):
    return "n/a" if v is None or v != v else f"{v:,.{digits}f}"


def side_by_side(args, weir, peer):
    tmp = tempfile.mkdtemp(prefix="weir-peers-")
    a = b = None
    rows = []
    try:
        # Start both brokers --start-rounds times, alternating, each from a fresh data dir; the
        # last pair stays up for the benchmarks. The first start of each reads its program from
        # disk if an earlier job pushed it out of the page cache (weir's binary, Kafka's jars),
        # so it is reported apart from the median.
        starts = {"weir": [], peer: []}
        rss = {"weir": [], peer: []}
        for i in range(args.start_rounds):
            last = i == args.start_rounds - 1
            wport, pport = targets.free_port(), targets.free_port()
            # The same group settings as the Kafka peer's (benches/peers/kafka): without it the
            # Java consumer of --perf-test waits out weir's 3 s initial rebalance delay (Kafka's
            # default, which weir keeps) and the delay is counted as consume time.
            a = Running("weir", [weir, "serve", "--listen", f"127.0.0.1:{wport}",
                                 "--data-dir", os.path.join(tmp, f"weir{i}"),
                                 "--set", "group.initial.rebalance.delay.ms=0"], wport, 30)
            if not last:
                a.stop()
            b = Running(peer, [os.path.join(HERE, "peers", peer), "--port", str(pport)],
                        pport, 300)
            if not last:
                b.stop()
            for r in (a, b):
                starts[r.name].append(r.start_ms)
                rss[r.name].append(r.idle_rss_mb)
        n = args.start_rounds
        rows.append((f"start to first ApiVersions (ms), median of {n}",
                     statistics.median(starts["weir"]), statistics.median(starts[peer]), False))
        if n > 1:
            rows.append(("start to first ApiVersions (ms), first start",
                         starts["weir"][0], starts[peer][0], False))
        rows.append((f"idle RSS (MB), median of {n}",
                     statistics.median(rss["weir"]), statistics.median(rss[peer]), False))
        steals = []
        for parts in (1, 16):
            n = args.records
            common = ["--records", str(n), "--record-size", str(RECORD), "--acks", "all",
                      "--create", "--partitions", str(parts)]
            # Create the topics first: Kafka answers NOT_LEADER_OR_FOLLOWER for a while after
            # CreateTopics, until its controller has elected the new partitions' leaders.
            for r in (a, b):
                for t in (f"p{parts}", f"c{parts}"):
                    warm_up(args, r.addr, t, parts)
            med, steal, cpu = bench_compare(args, a, b, "produce", common + ["--topic", f"p{parts}"])
            steals.append(steal)
            key = "produce_payload_mb_per_s"
            rows.append((f"produce MB/s, {parts} partition(s)", med[key]["a"], med[key]["b"], True))
            gb = n * RECORD * args.rounds / 1e9
            rows.append((f"broker CPU-s per GB produced, {parts} partition(s)",
                         cpu["weir"] / gb, cpu[peer] / gb, False))
            med, steal, cpu = bench_compare(args, a, b, "consume",
                                            common + ["--topic", f"c{parts}", "--prefill", str(n)])
            steals.append(steal)
            key = "consume_payload_mb_per_s"
            rows.append((f"consume MB/s, {parts} partition(s)", med[key]["a"], med[key]["b"], True))
        # The e2e workload's own topic too (Kafka: NOT_LEADER_OR_FOLLOWER until it has a leader).
        for r in (a, b):
            warm_up(args, r.addr, "weir-bench-1-topic-1-partition-1kb", 1)
        med, steal, _ = bench_compare(args, a, b, "e2e", ["--workload", "1-topic-1-partition-1kb",
                                                          "--duration", f"{args.e2e_seconds}s"])
        steals.append(steal)
        for q in ("p50", "p99", "p99.9"):
            key = f"e2e_{q.replace('.', '')}_ms"
            if key in med:
                rows.append((f"e2e {q} at 50k msg/s (ms)", med[key]["a"], med[key]["b"], False))
        if args.perf_test:
            cp = kafka_classpath()
            os.sync()
            wp = perf_test(cp, a.addr, "perf", args.records)
            os.sync()
            pp = perf_test(cp, b.addr, "perf", args.records)
            rows.append(("kafka-producer-perf-test MB/s", wp[0], pp[0], True))
            rows.append(("kafka-consumer-perf-test MB/s", wp[1], pp[1], True))
        rows.append(("loaded RSS, VmHWM (MB; counts mapped segment pages)",
                     proc_status(a.pid, "VmHWM"), proc_status(b.pid, "VmHWM"), False))
        rows.append(("anonymous memory at the end, RssAnon (MB)", proc_status(a.pid, "RssAnon"),
                     proc_status(b.pid, "RssAnon"), False))
    finally:
        for r in (b, a):
            if r is not None:
                r.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n### weir vs {peer} ({args.rounds} alternating rounds, {args.records} records of "
          f"1 KiB per round; steal per phase: {', '.join(f'{s:.2f}%' for s in steals)})\n")
    print(f"| figure | weir | {peer} | {peer} / weir |")
    print("| --- | ---: | ---: | ---: |")
    for name, wa, pb, higher in rows:
        ratio = pb / wa if wa and wa == wa and pb == pb else float("nan")
        print(f"| {name} | {fmt(wa, 3 if wa < 10 else 1)} | {fmt(pb, 3 if pb < 10 else 1)} | "
              f"{fmt(ratio, 2)} |")
    sys.stdout.flush()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("weir", help="the weir binary (a release build)")
    p.add_argument("--peers", default="kafka,kfake,tansu")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--records", type=int, default=200_000)
    p.add_argument("--e2e-seconds", type=int, default=20)
    p.add_argument("--start-rounds", type=int, default=3,
                   help="starts of each broker, alternating (median and first reported)")
    p.add_argument("--bench", default=os.path.join(HERE, "..", "target", "release", "weir-bench"))
    p.add_argument("--perf-test", action="store_true",
                   help="also run Kafka's kafka-producer/consumer-perf-test against both")
    args = p.parse_args()
    for peer in args.peers.split(","):
        if not os.access(os.path.join(HERE, "peers", peer), os.X_OK):
            sys.exit(f"unknown peer {peer!r} (benches/peers/{peer})")
        side_by_side(args, os.path.abspath(args.weir), peer)


if __name__ == "__main__":
    main()
