"""The contract shared by every peer script in benches/peers/ (kafka, kfake, tansu).

A peer script starts one broker on a loopback port in a fresh temp dir, waits until it
answers (ApiVersions, then a Metadata that lists at least one broker), prints its bootstrap
`127.0.0.1:PORT` on a line of its own on stdout (everything else goes to stderr), and stays
in the foreground until SIGTERM, SIGINT or SIGHUP. Then it stops the broker (SIGTERM to the
broker's process group, SIGKILL after a grace period) and removes the temp dir. If the broker
dies or never gets ready, the tail of its log goes to stderr, the temp dir is removed and the
exit code is 1.

Downloads and builds are cached outside the clone, under ~/.cache/weir-peers (plus ~/.m2 for
Maven and ~/go/pkg/mod for Go modules), keyed by a hash of the committed files that pin them,
so a second start on the same machine touches no network.
"""

import argparse
import hashlib
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.realpath(__file__))
CACHE = os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
    "weir-peers",
)


def log(name, msg):
    print(f"{name}: {msg}", file=sys.stderr, flush=True)


def files_key(*paths):
    """A short hash of the given committed files: the cache key of what they pin."""
    h = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as f:
            h.update(f.read())
        h.update(b"\0")
    return h.hexdigest()[:12]


def check_port_free(port):
    """Fail early if something already listens on the port: the readiness probe would
    otherwise get its answer from that other broker."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind
        try:
            s.bind(("127.0.0.1", port))
        except OSError as e:
            raise RuntimeError(f"127.0.0.1:{port} is not free: {e}") from None


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_args(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--port", type=int, default=0, help="loopback port (default: a free one)")
    p.add_argument(
        "--ready-timeout",
        type=float,
        default=120.0,
        help="seconds to wait for the started broker to answer (default 120)",
    )
    return p


# --- readiness probe: a few hand-encoded Kafka requests -------------------------------------


def _request(sock, api_key, version, corr, body):
    client_id = b"weir-peer-probe"
    header = struct.pack(">hhih", api_key, version, corr, len(client_id)) + client_id
    frame = header + body
    sock.sendall(struct.pack(">i", len(frame)) + frame)
    size = struct.unpack(">i", _read_exact(sock, 4))[0]
    resp = _read_exact(sock, size)
    if struct.unpack(">i", resp[:4])[0] != corr:
        raise OSError("correlation id mismatch")
    return resp[4:]


def _read_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise OSError("connection closed")
        buf += chunk
    return buf


def probe(port, timeout=2.0):
    """True when 127.0.0.1:port answers ApiVersions v0 without error and a Metadata v4 for
    no topics that lists at least one broker (Kafka 4 removed Metadata v0-3)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.settimeout(timeout)
            r = _request(s, 18, 0, 1, b"")
            if struct.unpack(">h", r[:2])[0] != 0:
                return False
            # topics: empty array (not null = all topics); allow_auto_topic_creation: false
            r = _request(s, 3, 4, 2, struct.pack(">ib", 0, 0))
            _throttle, brokers = struct.unpack(">ii", r[:8])
            return brokers >= 1
    except (OSError, struct.error):
        return False


# --- the foreground lifecycle -----------------------------------------------------------------


class _Stop(Exception):
    pass


_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
_stopping = False


def _raise_stop(signum, _frame):
    # Only the first signal stops; later ones must not interrupt the cleanup.
    global _stopping
    if not _stopping:
        _stopping = True
        raise _Stop(signum)


def _spawn(into, argv, **kw):
    """Popen with the stop signals blocked until the child is in `into`, so a signal can never
    arrive between fork and bookkeeping and leak the child. The child gets the old mask back."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        into.append(
            subprocess.Popen(
                argv, preexec_fn=lambda: signal.pthread_sigmask(signal.SIG_SETMASK, old), **kw
            )
        )
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def install_signals():
    """Turn SIGTERM/SIGINT/SIGHUP into _Stop from the start, so a signal during a long first
    start (downloads, builds, format) still cleans up."""
    for s in _SIGNALS:
        signal.signal(s, _raise_stop)


def _tail(path, lines=40):
    try:
        with open(path, "rb") as f:
            data = f.read()[-16384:]
        return "\n".join(data.decode(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop_child(name, child, grace):
    if child.poll() is not None:
        return
    try:
        os.killpg(child.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        child.wait(grace)
    except subprocess.TimeoutExpired:
        log(name, f"broker still running {grace:.0f} s after SIGTERM: SIGKILL")
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        child.wait()


def run(name, prepare, ready_timeout, stop_grace=30.0):
    """Run one peer start to finish.

    `prepare(tmp)` runs inside the temp dir's lifetime: it does any per-start setup (config
    files, storage format) and returns (argv, port, env or None). The broker runs with cwd
    `tmp`, stdout+stderr to `tmp/broker.log`, in its own session (so a terminal's Ctrl-C
    reaches only this script, which stops the broker in order)."""
    t0 = time.monotonic()
    install_signals()
    tmp = tempfile.mkdtemp(prefix=f"weir-peer-{name}-")
    children = []
    logpath = os.path.join(tmp, "broker.log")
    code = 0
    try:
        argv, port, env = prepare(tmp)
        check_port_free(port)
        with open(logpath, "ab") as logf:
            _spawn(
                children,
                argv,
                cwd=tmp,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=logf,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        child = children[0]
        launched = time.monotonic()
        deadline = launched + ready_timeout
        while not probe(port):
            if child.poll() is not None:
                raise RuntimeError(f"broker exited with code {child.returncode} before it was ready")
            if time.monotonic() > deadline:
                raise RuntimeError(f"broker not ready after {ready_timeout:.0f} s")
            time.sleep(0.05)
        now = time.monotonic()
        log(
            name,
            f"ready in {now - t0:.2f} s ({now - launched:.2f} s from launch), pid {child.pid}, "
            f"temp dir {tmp}",
        )
        print(f"127.0.0.1:{port}", flush=True)
        while True:
            rc = child.wait()
            raise RuntimeError(f"broker exited with code {rc} while serving")
    except _Stop as e:
        log(name, f"{signal.Signals(e.args[0]).name}: stopping")
    except (RuntimeError, OSError, subprocess.CalledProcessError) as e:
        code = 1
        log(name, f"error: {e}")
        if os.path.exists(logpath):
            log(name, "last lines of the broker log:\n" + _tail(logpath))
    finally:
        # A second signal while stopping must not skip the cleanup.
        for s in _SIGNALS:
            signal.signal(s, signal.SIG_IGN)
        if children:
            _stop_child(name, children[0], stop_grace)
        shutil.rmtree(tmp, ignore_errors=True)
        if code == 0:
            log(name, f"stopped, removed {tmp}")
    sys.exit(code)


def check_call(name, argv, **kw):
    """Run a setup command (download, build, format); its output goes to stderr."""
    shown = [("<classpath>" if i > 0 and argv[i - 1] == "-cp" else a) for i, a in enumerate(argv)]
    log(name, "$ " + " ".join(shown))
    procs = []
    try:
        _spawn(procs, argv, stdout=sys.stderr, **kw)
        rc = procs[0].wait()
    finally:
        if procs and procs[0].poll() is None:
            procs[0].kill()
            procs[0].wait()
    if rc != 0:
        raise RuntimeError(f"{os.path.basename(argv[0])} (the command above) exited with code {rc}")
