#!/usr/bin/env python3
"""weir's performance targets (issue 7), measured with the weir bench harness.

Each check starts a fresh `weir serve` (own data dir, free port) per run, runs the load,
stops it. Given two weir binaries (A and B) the runs alternate A B A B ..., so a shared,
noisy machine hits both alike; the medians and the B/A ratio are what count. Every run
also reports the host's steal time (CPU time the hypervisor gave to other guests while
this guest wanted to run), which is what bounds the latency tail on a shared VM.

  benches/targets.py startup  [--rounds N] WEIR [WEIR_B]
  benches/targets.py e2e      [--rounds N] [--seconds S] [--linger MS] WEIR [WEIR_B]
  benches/targets.py catchup  [--rounds N] [--records N] [--warm] [--consumers N] WEIR [WEIR_B]
  benches/targets.py throughput [--rounds N] [--records N] WEIR [WEIR_B]
  benches/targets.py minbytes [--rounds N] [--fetches N] WEIR [WEIR_B]

Options: --bench PATH (default: target/release/weir-bench), --dir PATH (data dirs; default
a temporary dir under /tmp; catchup needs records x 1 KiB of free space there).

startup: spawn to first ApiVersions answer (ms), then VmRSS after 300 ms idle (MB).
e2e: 1 partition, 1 KiB records at 50k/s, linger 1 ms, acks=all, one tailing consumer.
catchup: RECORDS x 1 KiB written to 4 partitions, broker restarted, the segment files
  dropped from the page cache (posix_fadvise DONTNEED, checked with fincore; --warm keeps
  them), then the e2e tail of `e2e` runs while a second process reads all RECORDS from the
  earliest offset. Reports the tail's p99 over the seconds the catch-up ran (the worst
  one-second p99 of that window) and the catch-up rate, next to the disk's own sequential
  read rate measured in the same run (`dd iflag=direct` over the largest cold segment, so
  the page cache is not involved; none on a filesystem without O_DIRECT such as tmpfs)
  and the steal time. --consumers N: N batch consumers side by side, each catching up on
  its own topic of RECORDS (the rate is their sum). --elsewhere: the batch consumers read
  the same cold data from a second broker (same binary, its own data dir, also dropped
  from the page cache) while the tail runs against the first, which serves the tail only:
  the same load on the machine (clients, disk, CPU) without the broker's own share; the
  tail's figures against a normal run tell the machine's part from the broker's.
  --svg PATH: the tail's latency over time (weir bench --svg), of the last run.
throughput: RECORDS x 1 KiB produced to 8 partitions unpaced, then consumed from earliest
  (warm: the data was just written), with the broker's CPU seconds (utime + stime from
  /proc) per GB produced and per GB consumed.
minbytes: fetch.min.bytes timing over a raw socket. FETCHES times each: a batch consumer's
  fetch (min 1 MiB, max wait 500 ms, the Java consumer's limits: 1 MiB per partition, 50 MiB
  per response) parked at the log end while 64 KiB batches are
  produced (acks=1) until 1 MiB is there; and a tailing fetch (min 1 byte) answered by
  one 1 KiB append. Reports p50/p99 of the answer's arrival (its first bytes) after the
  ack of the produce that crossed the threshold (negative: the answer came first) and
  after that produce was sent (an upper bound on the broker's delay), and how many
  answers came only at the max wait.
Standard library only.
"""
import argparse
import glob
import json
import os
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cpu_times():
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:9]]
    return fields[7], sum(fields)  # steal, total


def steal_since(before):
    s0, t0 = before
    s1, t1 = cpu_times()
    return 100.0 * (s1 - s0) / max(1, t1 - t0)


class Broker:
    """A `weir serve` on a free port with the given data dir."""

    def __init__(self, weir, data_dir):
        self.port = free_port()
        self.addr = f"127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [weir, "serve", "--listen", self.addr, "--data-dir", data_dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    sys.exit(f"weir exited with {self.proc.returncode} at start")
                time.sleep(0.01)
        sys.exit("weir did not start listening within 30 s")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(60)


def bench(args, *argv):
    out = subprocess.run([args.bench, *argv, "--quiet", "--json"], check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out)


def fig(report, name):
    return report["figures"][name]


def api_versions_frame():
    body = struct.pack(">hhi", 18, 0, 1) + struct.pack(">h", 1) + b"x"
    return struct.pack(">i", len(body)) + body


def run_startup(args, weir, data_dir):
    port = free_port()
    t0 = time.perf_counter()
    p = subprocess.Popen([weir, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", data_dir],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ms = None
    while time.perf_counter() < t0 + 10:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=1)
        except OSError:
            time.sleep(0.0002)
            continue
        s.sendall(api_versions_frame())
        head = s.recv(4)
        if len(head) == 4:
            n = struct.unpack(">i", head)[0]
            got = b""
            while len(got) < n:
                chunk = s.recv(n - len(got))
                if not chunk:
                    break
                got += chunk
            if got[:4] == struct.pack(">i", 1):
                ms = (time.perf_counter() - t0) * 1000
        s.close()
        break
    time.sleep(0.3)
    with open(f"/proc/{p.pid}/status") as f:
        rss_kb = int(next(line for line in f if line.startswith("VmRSS")).split()[1])
    p.terminate()
    p.wait(10)
    if ms is None:
        sys.exit("no ApiVersions answer")
    return {"start_ms": ms, "idle_rss_mb": rss_kb / 1024}


def e2e_argv(addr, seconds, linger_ms, create):
    argv = ["e2e", "--bootstrap", addr, "--topic", "tail", "--partitions", "1",
            "--record-size", "1024", "--rate", "50k", "--linger", f"{linger_ms}ms",
            "--acks", "all", "--duration", f"{seconds}s"]
    return argv + (["--create"] if create else [])


def run_e2e(args, weir, data_dir):
    b = Broker(weir, data_dir)
    try:
        before = cpu_times()
        r = bench(args, *e2e_argv(b.addr, args.seconds, args.linger, True))
        steal = steal_since(before)
    finally:
        b.stop()
    return {"e2e_p50_ms": fig(r, "e2e_p50_ms"), "e2e_p99_ms": fig(r, "e2e_p99_ms"),
            "e2e_p999_ms": fig(r, "e2e_p999_ms"), "e2e_max_ms": fig(r, "e2e_max_ms"),
            "consumed_per_s": fig(r, "consume_records_per_s"), "steal_pct": steal}


def resident_mb(files):
    if not files:
        return 0.0
    out = subprocess.run(["fincore", "-b", "-n", "-o", "RES", *files], check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    return sum(int(x) for x in out.split()) / 1e6


def run_catchup(args, weir, data_dir):
    # --elsewhere: the cold topics live on a second broker's data dir, the tail on this one.
    cold_dir = data_dir + "-elsewhere" if args.elsewhere else data_dir
    try:
        return catchup(args, weir, data_dir, cold_dir)
    finally:
        if args.elsewhere:
            shutil.rmtree(cold_dir, ignore_errors=True)


def catchup(args, weir, data_dir, cold_dir):
    b = Broker(weir, cold_dir)
    topics = ["cold"] + [f"cold{i}" for i in range(2, args.consumers + 1)]
    try:
        for topic in topics:
            bench(args, "produce", "--bootstrap", b.addr, "--topic", topic, "--create",
                  "--partitions", "4", "--records", str(args.records), "--record-size", "1024")
        if not args.elsewhere:
            bench(args, "produce", "--bootstrap", b.addr, "--topic", "tail", "--create",
                  "--partitions", "1", "--records", "10")
    finally:
        b.stop()
    second = None
    if args.elsewhere:
        b = Broker(weir, data_dir)
        try:
            bench(args, "produce", "--bootstrap", b.addr, "--topic", "tail", "--create",
                  "--partitions", "1", "--records", "10")
        finally:
            b.stop()
        second = Broker(weir, cold_dir)
    b = Broker(weir, data_dir)  # nothing of the old segments is mapped by this process yet
    cold_addr = second.addr if second else b.addr
    try:
        files = sorted(f for t in topics for f in glob.glob(os.path.join(cold_dir, f"{t}-*", "*")))
        if not args.warm:
            for path in files:
                fd = os.open(path, os.O_RDONLY)
                try:
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                finally:
                    os.close(fd)
        logs = [f for f in files if f.endswith(".log")]
        cached = resident_mb(logs)
        size = sum(os.path.getsize(f) for f in logs) / 1e6
        disk = disk_read_mb_per_s(max(logs, key=os.path.getsize)) if logs else None
        delay = 2.0
        svg = ["--svg", args.svg] if args.svg else []
        tail = subprocess.Popen(
            [args.bench, *e2e_argv(b.addr, args.seconds, args.linger, False), *svg, "--quiet",
             "--json"],
            stdout=subprocess.PIPE, text=True)
        before = cpu_times()
        time.sleep(delay)
        t0 = time.monotonic()
        consumers = [subprocess.Popen(
            [args.bench, "consume", "--bootstrap", cold_addr, "--topic", t, "--from", "earliest",
             "--records", str(args.records), "--quiet", "--json"],
            stdout=subprocess.PIPE, text=True) for t in topics]
        outs = [json.loads(c.communicate(timeout=600)[0]) for c in consumers]
        catchup_s = time.monotonic() - t0
        if any(c.returncode != 0 for c in consumers):
            sys.exit("a catch-up consumer failed")
        out, _ = tail.communicate(timeout=args.seconds + 120)
        steal = steal_since(before)
        if tail.returncode != 0:
            sys.exit(f"the e2e tail failed with exit code {tail.returncode}")
        r = json.loads(out)
    finally:
        b.stop()
        if second:
            second.stop()
    # Seconds of the tail's timeline that overlap the catch-up (the tail started ~delay s
    # before it; its timeline is stamped in seconds since its own start).
    window = [s for s in r["timeline"]
              if s.get("e2e_ms") and delay < s["t"] + 1 and s["t"] - 1 < delay + catchup_s + 0.5]
    worst = max((s["e2e_ms"]["p99"] for s in window), default=None)
    worst_max = max((s["e2e_ms"]["max"] for s in window), default=None)
    # The consumers run side by side: their rates add up.
    rate = sum(fig(c, "consume_payload_mb_per_s") for c in outs)
    return {"cached_mb_at_start": cached, "cold_mb": size,
            "catchup_mb_per_s": rate, "disk_direct_mb_per_s": disk,
            "catchup_vs_disk": rate / disk if disk else None, "catchup_s": catchup_s,
            "tail_p99_during_catchup_ms": worst, "tail_max_during_catchup_ms": worst_max,
            "tail_p99_whole_run_ms": fig(r, "e2e_p99_ms"), "steal_pct": steal}


def disk_read_mb_per_s(path):
    """The disk's sequential read rate on `path` bypassing the page cache, or None."""
    size = os.path.getsize(path)
    if size < (64 << 20):
        return None
    t0 = time.monotonic()
    r = subprocess.run(["dd", f"if={path}", "of=/dev/null", "bs=4M", "iflag=direct"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    secs = time.monotonic() - t0
    return size / 1e6 / secs if r.returncode == 0 else None


# ---- minbytes: a raw Kafka client (Produce v3, Fetch v4; record batch v2 with CRC-32C)

def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


CRC32C = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = CRC32C[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def varint(n):
    n = (n << 1) ^ (n >> 63)  # zigzag
    out = bytearray()
    while True:
        if n < 0x80:
            out.append(n)
            return bytes(out)
        out.append((n & 0x7F) | 0x80)
        n >>= 7


def record_batch(count, value_size):
    """A v2 batch of `count` records (no key, `value_size` bytes each), base offset 0:
    the broker assigns offsets, and the CRC does not cover the base offset, so one
    batch is produced many times."""
    ts = int(time.time() * 1000)
    recs = bytearray()
    for i in range(count):
        body = b"\x00" + varint(0) + varint(i) + varint(-1) + varint(value_size) \
            + os.urandom(value_size) + varint(0)
        recs += varint(len(body)) + body
    after_crc = struct.pack(">hiqqqhii", 0, count - 1, ts, ts, -1, -1, -1, count) + recs
    crc = crc32c(after_crc)
    rest = struct.pack(">ibI", -1, 2, crc) + after_crc  # leader epoch, magic, crc
    return struct.pack(">qi", 0, len(rest)) + rest


def kstr(s):
    b = s.encode()
    return struct.pack(">h", len(b)) + b


class Conn:
    """One connection; requests with header v1 (non-flexible versions)."""

    def __init__(self, addr):
        host, port = addr.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.corr = 0

    def send(self, key, version, body):
        self.corr += 1
        payload = struct.pack(">hhi", key, version, self.corr) + kstr("targets") + body
        self.sock.sendall(struct.pack(">i", len(payload)) + payload)

    def recv_exact(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(min(n - len(buf), 1 << 20))
            if not chunk:
                raise ConnectionError("broker closed the connection")
            buf += chunk
        return bytes(buf)

    def recv(self):
        """(time the size prefix arrived, response body after the correlation id)."""
        head = self.recv_exact(4)
        t = time.perf_counter()
        (n,) = struct.unpack(">i", head)
        return t, self.recv_exact(n)[4:]


def produce(conn, topic, batch):
    """Produce v3, acks=1; returns the base offset."""
    body = (struct.pack(">hhi", -1, 1, 10_000) + struct.pack(">i", 1) + kstr(topic)
            + struct.pack(">iii", 1, 0, len(batch)) + batch)
    conn.send(0, 3, body)
    _, r = conn.recv()
    pos = 4 + 2 + len(topic) + 4  # topics count, name, partitions count
    _, err, base = struct.unpack_from(">ihq", r, pos)
    if err:
        sys.exit(f"produce failed with error {err}")
    return base


def fetch_request(topic, offset, min_bytes, max_wait_ms):
    """Fetch v4 with the Java consumer's default limits: fetch.max.bytes 50 MiB,
    max.partition.fetch.bytes 1 MiB (so a 1 MiB min_bytes equals the partition limit)."""
    return (struct.pack(">iiiib", -1, max_wait_ms, min_bytes, 50 << 20, 0) + struct.pack(">i", 1)
            + kstr(topic) + struct.pack(">iiqi", 1, 0, offset, 1 << 20))


def percentile(vals, q):
    vals = sorted(vals)
    return vals[min(len(vals) - 1, int(round(q / 100 * (len(vals) - 1))))] if vals else None


def run_minbytes(args, weir, data_dir):
    import threading
    b = Broker(weir, data_dir)
    try:
        bench(args, "produce", "--bootstrap", b.addr, "--topic", "mb", "--create",
              "--partitions", "1", "--records", "1", "--record-size", "100")
        prod, cons = Conn(b.addr), Conn(b.addr)
        chunk, tail_rec = record_batch(64, 1024), record_batch(1, 1024)
        offset = produce(prod, "mb", tail_rec) + 1
        max_wait = 500
        out = {}
        for mode, min_bytes, batch, per in (("batch", 1 << 20, chunk, 64),
                                            ("tail", 1, tail_rec, 1)):
            after_ack, after_send, at_max_wait = [], [], 0
            for _ in range(args.fetches):
                answer = {}

                def wait_answer():
                    answer["t"], answer["body"] = cons.recv()

                cons.send(1, 4, fetch_request("mb", offset, min_bytes, max_wait))
                reader = threading.Thread(target=wait_answer)
                reader.start()
                time.sleep(0.02)  # the fetch is parked at the log end
                t_start = time.perf_counter()
                have = 0
                while True:
                    t_sent = time.perf_counter()
                    produce(prod, "mb", batch)
                    t_ack = time.perf_counter()
                    offset += per
                    have += len(batch)
                    if have >= min_bytes:
                        break
                reader.join(max_wait / 1000 + 10)
                if "t" not in answer:
                    sys.exit("no fetch answer")
                if answer["t"] - t_start >= max_wait / 1000:
                    at_max_wait += 1
                after_ack.append((answer["t"] - t_ack) * 1000)
                after_send.append((answer["t"] - t_sent) * 1000)
            for name, vals in (("after_ack", after_ack), ("after_send", after_send)):
                out[f"{mode}_{name}_p50_ms"] = percentile(vals, 50)
                out[f"{mode}_{name}_p99_ms"] = percentile(vals, 99)
            out[f"{mode}_at_max_wait"] = at_max_wait
        return out
    finally:
        b.stop()


def proc_cpu_secs(pid):
    """utime + stime of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_throughput(args, weir, data_dir):
    b = Broker(weir, data_dir)
    gb = args.records * 1024 / 1e9
    try:
        c0 = proc_cpu_secs(b.proc.pid)
        p = bench(args, "produce", "--bootstrap", b.addr, "--topic", "t", "--create",
                  "--partitions", "8", "--records", str(args.records), "--record-size", "1024")
        c1 = proc_cpu_secs(b.proc.pid)
        c = bench(args, "consume", "--bootstrap", b.addr, "--topic", "t", "--from", "earliest",
                  "--records", str(args.records))
        c2 = proc_cpu_secs(b.proc.pid)
    finally:
        b.stop()
    return {"produce_mb_per_s": fig(p, "produce_payload_mb_per_s"),
            "consume_mb_per_s": fig(c, "consume_payload_mb_per_s"),
            "broker_cpu_s_per_gb_produced": (c1 - c0) / gb,
            "broker_cpu_s_per_gb_consumed": (c2 - c1) / gb}


CHECKS = {"startup": run_startup, "e2e": run_e2e, "catchup": run_catchup,
          "throughput": run_throughput, "minbytes": run_minbytes}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("check", choices=sorted(CHECKS))
    ap.add_argument("weir", nargs="+", help="one or two weir binaries (A [B])")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--linger", type=int, default=1, help="producer linger in ms")
    ap.add_argument("--records", type=int, default=None)
    ap.add_argument("--warm", action="store_true")
    ap.add_argument("--consumers", type=int, default=1,
                    help="catchup: batch consumers, each on its own topic of RECORDS")
    ap.add_argument("--elsewhere", action="store_true",
                    help="catchup: the batch consumers read from a second broker (machine share)")
    ap.add_argument("--svg", default=None, help="catchup: the tail's latency over time (SVG)")
    ap.add_argument("--fetches", type=int, default=100, help="minbytes: fetches per mode")
    ap.add_argument("--bench", default="target/release/weir-bench")
    ap.add_argument("--dir", default=None)
    args = ap.parse_args()
    if len(args.weir) > 2:
        ap.error("at most two weir binaries")
    if args.records is None:
        args.records = 2_000_000 if args.check == "catchup" else 500_000
    if args.check == "catchup":
        args.seconds = max(args.seconds, 12)
    for path in [args.bench, *args.weir]:
        if not os.access(path, os.X_OK):
            ap.error(f"{path}: not an executable (build with cargo build --release)")
    labels = ["A", "B"][:len(args.weir)]
    results = {label: [] for label in labels}
    for rnd in range(args.rounds):
        order = list(zip(labels, args.weir))
        if rnd % 2 == 1:
            order.reverse()
        for label, weir in order:
            d = tempfile.mkdtemp(prefix="weir-target-", dir=args.dir)
            try:
                r = CHECKS[args.check](args, weir, d)
            finally:
                shutil.rmtree(d, ignore_errors=True)
            results[label].append(r)
            line = " ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}"
                            for k, v in r.items())
            print(f"round {rnd + 1} {label}: {line}", flush=True)
    summarize(f"medians of {args.rounds} rounds", labels, results)
    if "steal_pct" in results["A"][0]:
        quiet = {lab: [r for r in rs if r["steal_pct"] < QUIET_STEAL_PCT]
                 for lab, rs in results.items()}
        counts = ", ".join(f"{lab} {len(rs)}" for lab, rs in quiet.items())
        summarize(f"medians of the rounds with steal < {QUIET_STEAL_PCT}% ({counts})",
                  labels, quiet)


# Rounds during which the hypervisor took less than this share of CPU time from the guest.
QUIET_STEAL_PCT = 1.0


def summarize(title, labels, results):
    if any(not results[lab] for lab in labels):
        print(f"{title}: none")
        return
    print(title + (" (ratio B/A)" if len(labels) == 2 else ""))
    for key in results[labels[0]][0]:
        meds = []
        for label in labels:
            vals = [r[key] for r in results[label] if r[key] is not None]
            meds.append(statistics.median(vals) if vals else None)
        text = " ".join(f"{lab}={m:.3f}" for lab, m in zip(labels, meds) if m is not None)
        if len(meds) == 2 and meds[0] and meds[1] is not None:
            text += f" ratio={meds[1] / meds[0]:.2f}"
        print(f"  {key}: {text}")


if __name__ == "__main__":
    main()
