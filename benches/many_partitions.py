#!/usr/bin/env python3
"""Many partitions on one node (issue 20): the figures of the issue's table.

  benches/many_partitions.py [--partitions N[,N...]] [--batch TOPICS] [--dir PATH] WEIR
  benches/many_partitions.py --hot [--partitions N] [--duration SECS] WEIR
  benches/many_partitions.py --scaling [--partitions N[,N...]] WEIR

For each N (default 1000,10000; 100000 by hand on a quiet machine): a fresh data dir, a
`weir serve` on a free port, then
  - create N/5 topics of 5 partitions with CreateTopics, --batch topics per request
    (default 200, as the issue's user did); --batch 0 = all in one request;
  - write one record to every partition (Produce v7, 1,000 partitions per request);
  - read every partition back (Fetch v11, 1,000 partitions per request);
  - Metadata v1 for all topics;
  - open files and memory maps of the process (/proc/PID/fd, /proc/PID/maps), RSS;
  - SIGTERM, restart (retention and the cleaner every second, their pass
    times read from weir's debug log): time to the first ApiVersions answer,
    RSS after 1 s idle, the first retention pass (every log unopened) and a
    later one, the cleaner's pass, CPU over 2 s idle after two passes,
    Metadata for all topics again, a produce + fetch over every partition
    again (logs reopen on first use);
  - SIGKILL, restart: time to the first ApiVersions answer, then every partition read
    back (each log recovers before it is served);
and prints one table row per figure.

With --hot: for each N, `weir bench` (the WEIR binary's own load generator)
on a topic of 4 hot partitions, once on a broker with an empty data dir and
once after a clean restart of a broker holding N idle partitions (created,
one record each): produce throughput (acks=all, 10 s by default), consume
throughput of what was produced, and produce->consume latency at a fixed
rate (e2e, 2,000 records/s); prints each figure with and without the idle
partitions and their ratio (throughput with / without; latency without /
with; issue 20's target: >= 0.95).

With --scaling: for each N, the costs that must follow the work done, not N
(issue 20): a broker with retention and the cleaner every second, N
partitions created and written as above, then (medians of 5) Metadata for
all topics, and a KIP-227 fetch session (Fetch v11) over min(N, 10,000)
partitions read to their end: an incremental fetch after one record was
written to one of them (answers 1 partition) and one with nothing new
(answers none); the latest retention and cleaner pass times; then a clean
restart and the first retention pass over the never-opened logs. Standard
library only.
"""
import json
import argparse
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

# ---------------------------------------------------------------- wire helpers


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
    n = (n << 1) ^ (n >> 63)
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def record_batch(value):
    ts = int(time.time() * 1000)
    body = b"\x00" + varint(0) + varint(0) + varint(-1) + varint(len(value)) + value + varint(0)
    rec = varint(len(body)) + body
    after_crc = (struct.pack(">hiqqqhii", 0, 0, ts, ts, -1, -1, -1, 1) + rec)
    crc = crc32c(after_crc)
    tail = struct.pack(">ibI", -1, 2, crc) + after_crc
    return struct.pack(">qi", 0, len(tail)) + tail


def string(s):
    b = s.encode()
    return struct.pack(">h", len(b)) + b


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=120)
        self.corr = 0

    def call(self, key, version, body):
        self.corr += 1
        head = struct.pack(">hhi", key, version, self.corr) + string("many-partitions")
        msg = head + body
        self.s.sendall(struct.pack(">i", len(msg)) + msg)
        n = struct.unpack(">i", self._read(4))[0]
        data = self._read(n)
        assert struct.unpack(">i", data[:4])[0] == self.corr
        return data[4:]

    def _read(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise EOFError("connection closed")
            buf += chunk
        return bytes(buf)

    def close(self):
        self.s.close()


class Reader:
    def __init__(self, data):
        self.d, self.p = data, 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.d, self.p)
        self.p += struct.calcsize(fmt)
        return v if len(v) > 1 else v[0]

    def string(self):
        n = self.take(">h")
        if n < 0:
            return None
        s = self.d[self.p:self.p + n].decode()
        self.p += n
        return s

    def bytes(self):
        n = self.take(">i")
        if n < 0:
            return None
        b = self.d[self.p:self.p + n]
        self.p += n
        return b


def create_topics(conn, names, partitions):
    body = struct.pack(">i", len(names))
    for n in names:
        body += string(n) + struct.pack(">ihii", partitions, 1, 0, 0)
    body += struct.pack(">ib", 600_000, 0)
    r = Reader(conn.call(19, 4, body))
    r.take(">i")
    for _ in range(r.take(">i")):
        name = r.string()
        code = r.take(">h")
        msg = r.string()
        if code != 0:
            sys.exit(f"CreateTopics {name}: error {code} {msg}")


def produce(conn, parts, batch):
    """parts: [(topic, partition)] -> number of partitions with errors."""
    by_topic = {}
    for t, p in parts:
        by_topic.setdefault(t, []).append(p)
    body = struct.pack(">hhii", -1, -1, 60_000, len(by_topic))
    for t, ps in by_topic.items():
        body += string(t) + struct.pack(">i", len(ps))
        for p in ps:
            body += struct.pack(">ii", p, len(batch)) + batch
    r = Reader(conn.call(0, 7, body))
    errors = 0
    for _ in range(r.take(">i")):
        r.string()
        for _ in range(r.take(">i")):
            _, code, _, _, _ = r.take(">ihqqq")
            errors += code != 0
    return errors


def fetch(conn, parts):
    """parts: [(topic, partition)] fetched from offset 0 -> partitions with data."""
    by_topic = {}
    for t, p in parts:
        by_topic.setdefault(t, []).append(p)
    body = struct.pack(">iiiibiii", -1, 0, 0, 64 << 20, 0, 0, -1, len(by_topic))
    for t, ps in by_topic.items():
        body += string(t) + struct.pack(">i", len(ps))
        for p in ps:
            body += struct.pack(">iiqqi", p, -1, 0, -1, 1 << 20)
    body += struct.pack(">i", 0) + string("")
    r = Reader(conn.call(1, 11, body))
    r.take(">ihi")
    with_data = 0
    for _ in range(r.take(">i")):
        r.string()
        for _ in range(r.take(">i")):
            _, code, hw, _, _ = r.take(">ihqqq")
            n = r.take(">i")
            for _ in range(max(n, 0)):
                r.take(">qq")
            r.take(">i")
            recs = r.bytes()
            with_data += code == 0 and hw >= 1 and bool(recs)
    return with_data


def fetch_session(conn, session_id, epoch, parts):
    """Fetch v11 in a session, max wait 0: parts [(topic, partition, offset)] ->
    (error, session id, partitions answered)."""
    by_topic = {}
    for t, p, o in parts:
        by_topic.setdefault(t, []).append((p, o))
    body = struct.pack(">iiiibiii", -1, 0, 0, 64 << 20, 0, session_id, epoch, len(by_topic))
    for t, ps in by_topic.items():
        body += string(t) + struct.pack(">i", len(ps))
        for p, o in ps:
            body += struct.pack(">iiqqi", p, -1, o, -1, 1 << 20)
    body += struct.pack(">i", 0) + string("")
    r = Reader(conn.call(1, 11, body))
    _, error, sid = r.take(">ihi")
    answered = 0
    for _ in range(r.take(">i")):
        r.string()
        for _ in range(r.take(">i")):
            r.take(">ihqqq")
            n = r.take(">i")
            for _ in range(max(n, 0)):
                r.take(">qq")
            r.take(">i")
            r.bytes()
            answered += 1
    return error, sid, answered


def metadata_all(conn):
    return len(conn.call(3, 1, struct.pack(">i", -1)))


API_VERSIONS = struct.pack(">hhi", 18, 0, 1) + string("x")

# ---------------------------------------------------------------- the broker


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Weir:
    def __init__(self, binary, data_dir, log, extra=()):
        self.port = free_port()
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [binary, "serve", "--listen", f"127.0.0.1:{self.port}", "--data-dir", data_dir,
             *extra],
            stdout=subprocess.DEVNULL, stderr=log)
        self.start_ms = self._first_api_versions()

    def _first_api_versions(self):
        deadline = self.t0 + 120
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                sys.exit(f"weir exited with {self.proc.returncode} at start")
            try:
                s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            except OSError:
                time.sleep(0.0002)
                continue
            # (The port may accept before start-up ends: wait for the answer.)
            s.settimeout(max(1.0, deadline - time.perf_counter()))
            s.sendall(struct.pack(">i", len(API_VERSIONS)) + API_VERSIONS)
            head = s.recv(4)
            s.close()
            if len(head) == 4:
                return (time.perf_counter() - self.t0) * 1000
        sys.exit("no ApiVersions answer within 120 s")

    def rss_mb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            kb = int(next(line for line in f if line.startswith("VmRSS")).split()[1])
        return kb / 1024

    def cpu_secs(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def open_files(self):
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def maps(self):
        with open(f"/proc/{self.proc.pid}/maps") as f:
            return sum(1 for _ in f)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(120)

    def kill(self):
        self.proc.kill()
        self.proc.wait(30)


# ---------------------------------------------------------------- the run


def chunks(xs, n):
    for i in range(0, len(xs), n):
        yield xs[i:i + n]


def timed(f):
    t0 = time.perf_counter()
    v = f()
    return v, time.perf_counter() - t0


def run(binary, n, batch_topics, base_dir, log):
    topics = [f"mp{i:06d}" for i in range(n // 5)]
    parts = [(t, p) for t in topics for p in range(5)]
    data_dir = tempfile.mkdtemp(prefix=f"many-{n}-", dir=base_dir)
    out = {}
    batch = record_batch(b"x" * 100)
    try:
        w = Weir(binary, data_dir, log)
        c = Conn(w.port)
        per = batch_topics or len(topics)
        _, secs = timed(lambda: [create_topics(c, ts, 5) for ts in chunks(topics, per)])
        out["create s"] = secs
        out["create partitions/s"] = n / secs
        out["RSS after create MB"] = w.rss_mb()
        errs, secs = timed(lambda: sum(produce(c, ps, batch) for ps in chunks(parts, 1000)))
        assert errs == 0, f"{errs} produce errors"
        out["produce 1 record each s"] = secs
        got, secs = timed(lambda: sum(fetch(c, ps) for ps in chunks(parts, 1000)))
        assert got == n, f"read {got} of {n} partitions"
        out["fetch all s"] = secs
        _, secs = timed(lambda: metadata_all(c))
        out["metadata all topics ms"] = secs * 1000
        out["open files per partition"] = w.open_files() / n
        out["memory maps per partition"] = w.maps() / n
        out["RSS after writing MB"] = w.rss_mb()
        c.close()
        w.stop()

        passes_log = data_dir + ".passes.log"
        with open(passes_log, "w") as plog:
            w = Weir(binary, data_dir, plog, PASSES)
        out["clean restart to ApiVersions ms"] = w.start_ms
        time.sleep(1)
        out["idle RSS after clean restart MB"] = w.rss_mb()
        deadline = time.perf_counter() + 120
        while len(passes(passes_log)[0]) < 2 and time.perf_counter() < deadline:
            time.sleep(0.1)
        cpu0 = w.cpu_secs()
        time.sleep(2)
        out["idle CPU ms/s (retention + cleaner every 1 s)"] = (w.cpu_secs() - cpu0) / 2 * 1000
        retention, cleaner = passes(passes_log)
        nan = float("nan")
        out["first retention pass over idle partitions ms"] = (retention or [nan])[0]
        out["later retention passes ms"] = (retention or [nan])[-1]
        out["cleaner pass ms"] = (cleaner or [nan])[-1]
        c = Conn(w.port)
        _, secs = timed(lambda: metadata_all(c))
        out["metadata all topics after restart ms"] = secs * 1000
        errs, secs = timed(lambda: sum(produce(c, ps, batch) for ps in chunks(parts, 1000)))
        assert errs == 0, f"{errs} produce errors after restart"
        out["produce after clean restart s"] = secs
        got, secs = timed(lambda: sum(fetch(c, ps) for ps in chunks(parts, 1000)))
        assert got == n, f"read {got} of {n} partitions after restart"
        out["fetch all after clean restart s"] = secs
        out["open files per partition after restart"] = w.open_files() / n
        c.close()
        w.kill()

        w = Weir(binary, data_dir, log)
        out["SIGKILL restart to ApiVersions ms"] = w.start_ms
        c = Conn(w.port)
        got, secs = timed(lambda: sum(fetch(c, ps) for ps in chunks(parts, 1000)))
        assert got == n, f"read {got} of {n} partitions after SIGKILL"
        out["fetch all after SIGKILL s"] = secs
        out["RSS after SIGKILL restart MB"] = w.rss_mb()
        c.close()
        w.stop()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
        if os.path.exists(data_dir + ".passes.log"):
            os.remove(data_dir + ".passes.log")
    return out


# Retention and the cleaner every second, their pass times in the log.
PASSES = ["--set", "log.retention.check.interval.ms=1000", "--set", "log.cleaner.backoff.ms=1000",
          "--log-level", "info,weir::log_manager=debug"]


def passes(path):
    """The retention and the cleaner pass times (ms) in weir's log so far."""
    retention, cleaner = [], []
    with open(path, errors="replace") as f:
        for line in f:
            if "retention pass:" in line:
                retention.append(float(line.rsplit(",", 1)[1].split()[0]))
            elif "cleaner pass:" in line:
                cleaner.append(float(line.rsplit(",", 1)[1].split()[0]))
    return retention, cleaner


# ---------------------------------------------------------------- costs that must not follow N


def median_of(k, f):
    times = sorted(timed(f)[1] for _ in range(k))
    return times[len(times) // 2]


def run_scaling(binary, n, base_dir):
    topics = [f"mp{i:06d}" for i in range(n // 5)]
    parts = [(t, p) for t in topics for p in range(5)]
    data_dir = tempfile.mkdtemp(prefix=f"scaling-{n}-", dir=base_dir)
    passes_log = data_dir + ".passes.log"
    out = {}
    batch = record_batch(b"x" * 100)
    try:
        with open(passes_log, "w") as plog:
            w = Weir(binary, data_dir, plog, PASSES)
        c = Conn(w.port)
        for ts in chunks(topics, 200):
            create_topics(c, ts, 5)
        errs = sum(produce(c, ps, batch) for ps in chunks(parts, 1000))
        assert errs == 0, f"{errs} produce errors"
        out["metadata all topics ms"] = median_of(5, lambda: metadata_all(c)) * 1000

        session = parts[:10_000]
        ends = {tp: 1 for tp in session}
        err, sid, got = fetch_session(c, 0, 0, [(t, p, 1) for t, p in session])
        assert err == 0 and sid > 0 and got == len(session), (err, sid, got)
        epoch = 1
        changed, idle = [], []
        for i in range(6):
            tp = session[(i * 7919 + 1) % len(session)]
            assert produce(c, [tp], batch) == 0
            t0 = time.perf_counter()
            err, _, got = fetch_session(c, sid, epoch, [])
            changed.append(time.perf_counter() - t0)
            epoch += 1
            assert err == 0 and got == 1, (err, got)
            ends[tp] += 1
            # The client moves past the new record (as a consumer does), untimed.
            err, _, got = fetch_session(c, sid, epoch, [(tp[0], tp[1], ends[tp])])
            assert err == 0, err
            epoch += 1
            t0 = time.perf_counter()
            err, _, got = fetch_session(c, sid, epoch, [])
            idle.append(time.perf_counter() - t0)
            epoch += 1
            assert err == 0 and got == 0, (err, got)
        # (The first round is a warm-up.)
        changed, idle = sorted(changed[1:]), sorted(idle[1:])
        out["incremental fetch, min(N, 10,000)-partition session, 1 changed ms"] = changed[2] * 1000
        out["incremental fetch, min(N, 10,000)-partition session, none changed ms"] = idle[2] * 1000
        deadline = time.perf_counter() + 300
        while len(passes(passes_log)[0]) < 3 and time.perf_counter() < deadline:
            time.sleep(0.1)
        retention, cleaner = passes(passes_log)
        nan = float("nan")
        out["retention pass ms"] = (retention or [nan])[-1]
        out["cleaner pass ms"] = (cleaner or [nan])[-1]
        c.close()
        w.stop()

        with open(passes_log, "w") as plog:
            w = Weir(binary, data_dir, plog, PASSES)
        while len(passes(passes_log)[0]) < 2 and time.perf_counter() < deadline + 300:
            time.sleep(0.1)
        retention, _ = passes(passes_log)
        out["first retention pass after a clean restart ms"] = (retention or [nan])[0]
        out["later retention pass after restart ms"] = (retention or [nan])[-1]
        w.stop()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
        if os.path.exists(passes_log):
            os.remove(passes_log)
    return out


# ---------------------------------------------------------------- hot partitions among idle ones


def bench(binary, port, mode, *args):
    cmd = [binary, "bench", mode, "-b", f"127.0.0.1:{port}", "--topic", "hot", "--json",
           "--quiet", *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr[-2000:]}")
    return json.loads(r.stdout)


def hot_figures(binary, port, duration):
    p = bench(binary, port, "produce", "--create", "--partitions", "4", "--duration",
              f"{duration}s")
    c = bench(binary, port, "consume", "--records", str(p["acked_records"]))
    e = bench(binary, port, "e2e", "--rate", "2000", "--duration", f"{duration}s")
    return {
        "produce records/s": p["figures"]["produce_records_per_s"],
        "produce ack p99 ms": p["figures"]["ack_p99_ms"],
        "consume records/s": c["figures"]["consume_records_per_s"],
        "e2e p50 ms (2,000 records/s)": e["e2e_latency_ms"]["p50"],
        "e2e p99 ms (2,000 records/s)": e["e2e_latency_ms"]["p99"],
    }


def run_hot(binary, n, duration, base_dir, log):
    figures = {}
    for idle in (0, n):
        data_dir = tempfile.mkdtemp(prefix=f"hot-{idle}-", dir=base_dir)
        try:
            if idle:
                w = Weir(binary, data_dir, log)
                c = Conn(w.port)
                topics = [f"mp{i:06d}" for i in range(idle // 5)]
                for ts in chunks(topics, 200):
                    create_topics(c, ts, 5)
                batch = record_batch(b"x" * 100)
                parts = [(t, p) for t in topics for p in range(5)]
                errs = sum(produce(c, ps, batch) for ps in chunks(parts, 1000))
                assert errs == 0, f"{errs} produce errors"
                c.close()
                w.stop()
            w = Weir(binary, data_dir, log)
            print(f"... hot partitions beside {idle:,} idle ones", file=sys.stderr, flush=True)
            figures[idle] = hot_figures(binary, w.port, duration)
            w.stop()
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)
    print(f"| figure (4 hot partitions) | no idle partitions | {n:,} idle partitions | ratio |")
    print("| --- | ---: | ---: | ---: |")
    for name, without in figures[0].items():
        with_ = figures[n][name]
        ratio = without / with_ if name.endswith("ms") or " ms " in name else with_ / without
        print(f"| {name} | {without:,.1f} | {with_:,.1f} | {ratio:.3f} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--partitions", default="1000,10000")
    ap.add_argument("--batch", type=int, default=200, help="topics per CreateTopics (0: all)")
    ap.add_argument("--dir", default=None, help="where the data dirs go (default: /tmp)")
    ap.add_argument("--log", default=None, help="weir's stderr goes here (default: discarded)")
    ap.add_argument("--hot", action="store_true",
                    help="hot partitions with and without N idle ones (N: --partitions)")
    ap.add_argument("--duration", type=int, default=10, help="--hot: seconds per bench run")
    ap.add_argument("--scaling", action="store_true",
                    help="metadata, a fetch session, retention and cleaner passes at each N")
    ap.add_argument("weir")
    args = ap.parse_args()
    sizes = [int(x) for x in args.partitions.split(",")]
    log = open(args.log, "w") if args.log else subprocess.DEVNULL
    if args.hot:
        for n in sizes:
            run_hot(args.weir, n, args.duration, args.dir, log)
        return
    results = {}
    for n in sizes:
        print(f"... {n} partitions", file=sys.stderr, flush=True)
        if args.scaling:
            results[n] = run_scaling(args.weir, n, args.dir)
        else:
            results[n] = run(args.weir, n, args.batch, args.dir, log)
    names = list(next(iter(results.values())).keys())
    print("| figure | " + " | ".join(f"{n:,} partitions" for n in sizes) + " |")
    print("| --- |" + " --- |" * len(sizes))
    for name in names:
        cells = []
        for n in sizes:
            v = results[n][name]
            cells.append(f"{v:.3f}" if v < 10 else f"{v:,.0f}" if v >= 1000 else f"{v:.1f}")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
