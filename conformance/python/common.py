"""Shared plumbing for the Python scenario drivers.

A driver registers scenario functions with `@scenario` and calls `main()`.
Protocol with conformance/run:
  DRIVER list                       -> `name<TAB>ok` or `name<TAB>unsupported<TAB>why` lines
  DRIVER run NAME HOST:PORT         -> exit 0 pass, 1 fail (last line = reason), 2 not supported
"""
import os
import sys
import threading
import time
import traceback
import uuid

_SCENARIOS = {}
_UNSUPPORTED = {}


class Fail(Exception):
    """A scenario assertion failed."""


class NotSupported(Exception):
    """The client cannot express this scenario."""


def scenario(fn):
    _SCENARIOS[fn.__name__] = fn
    return fn


def unsupported(name, why):
    _UNSUPPORTED[name] = why


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def eq(actual, expected, what):
    if actual != expected:
        a, e = repr(actual), repr(expected)
        if len(a) > 200:
            a = a[:200] + "..."
        if len(e) > 200:
            e = e[:200] + "..."
        raise Fail(f"{what}: expected {e}, got {a}")


def topic(tag):
    client = os.environ.get("CONFORMANCE_CLIENT", "py")
    return f"cf-{client}-{tag}-{uuid.uuid4().hex[:8]}"


def group(tag):
    return "g-" + topic(tag)


def wait_until(fn, timeout, what, interval=0.2):
    """Poll fn() until it returns a truthy value; Fail with `what` after timeout."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            v = fn()
            if v:
                return v
            last = v
        except Fail as e:
            last = e
        time.sleep(interval)
    raise Fail(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def sample_records(n=40):
    """Records exercising keys, null keys, null values, empty values, binary,
    unicode and headers (repeated keys, empty and null header values)."""
    out = []
    for i in range(n):
        key = None if (i % 7 == 3 and i % 9 != 4) else f"key-{i % 5}".encode()
        if i % 9 == 4:
            value = None
        elif i % 11 == 5:
            value = b""
        elif i % 2:
            value = bytes((i * j) % 256 for j in range(100 + i))
        else:
            value = f"value-{i}-ünïcødé-".encode() * (1 + i % 4)
        headers = []
        if i % 3 == 0:
            headers = [("h1", f"v{i}".encode()), ("h1", b"dup"), ("empty", b"")]
        elif i % 3 == 1:
            headers = [("only", f"{i}".encode())]
        out.append((key, value, headers))
    return out


# Secured listeners (sec_* scenarios): conformance/run starts weir with them and passes
# WEIR_SEC_* (see SECURITY in conformance/run).
SEC_KINDS = {
    # kind: (listener env, security.protocol, mechanism, user, password)
    "scram": ("WEIR_SEC_SASL_SSL", "SASL_SSL", "SCRAM-SHA-512", "bob", "bob-secret"),
    "plain": ("WEIR_SEC_SASL_PLAINTEXT", "SASL_PLAINTEXT", "PLAIN", "alice", "alice-secret"),
    "mtls": ("WEIR_SEC_SSL", "SSL", None, None, None),
    "oauth": ("WEIR_SEC_SASL_PLAINTEXT", "SASL_PLAINTEXT", "OAUTHBEARER", "carol", None),
}


def sec(kind, wrong_password=False):
    """(bootstrap, settings) of a secured listener: protocol, mechanism, user, password,
    ca (PEM file), cert, key (client certificate PEM files)."""
    env, protocol, mechanism, user, password = SEC_KINDS[kind]
    if env not in os.environ or "WEIR_SEC_DIR" not in os.environ:
        raise Fail(f"{env}/WEIR_SEC_DIR not set: the sec_* scenarios need the secured listeners "
                   "conformance/run starts weir with (not available with --bootstrap)")
    d = os.environ["WEIR_SEC_DIR"]
    if wrong_password:
        password = "not-" + password
    return os.environ[env], dict(
        protocol=protocol, mechanism=mechanism, user=user, password=password,
        ca=os.path.join(d, "ca.pem"), cert=os.path.join(d, "client.crt"),
        key=os.path.join(d, "client.key"))


def unsecured_jws(sub, lifetime_s=3600):
    """An unsecured JWS (alg none) as Kafka's OAuthBearerUnsecuredLoginCallbackHandler makes."""
    import base64
    import json

    def b64(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    now = int(time.time())  # whole seconds: a fractional iat can be after the broker's now
    return b64({"alg": "none"}) + "." + b64({"sub": sub, "iat": now, "exp": now + lifetime_s}) + "."


SEC_RECORDS = [f"sec-{i}".encode() for i in range(10)]


def _watchdog(name):
    """Shortly before conformance/run's budget kills us, say where the scenario is stuck."""
    budget = float(os.environ.get("CONFORMANCE_BUDGET", "0") or 0)
    if budget <= 3:
        return
    main_id = threading.main_thread().ident

    def fire():
        frame = sys._current_frames().get(main_id)
        where = "unknown"
        drivers = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # conformance/
        for fs in reversed(traceback.extract_stack(frame) if frame else []):
            if fs.filename.startswith(drivers):
                where = f"{os.path.basename(fs.filename)}:{fs.lineno} `{fs.line}`"
                break
        print(f"FAIL: {name} did not finish within {budget - 2:.0f}s; stuck at {where}", flush=True)
        os._exit(1)

    t = threading.Timer(budget - 2, fire)
    t.daemon = True
    t.start()


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "list":
        for name in _SCENARIOS:
            print(f"{name}\tok")
        for name, why in _UNSUPPORTED.items():
            print(f"{name}\tunsupported\t{why}")
        return
    if len(sys.argv) != 4 or sys.argv[1] != "run":
        sys.exit(f"usage: {sys.argv[0]} list | run SCENARIO HOST:PORT")
    name, bootstrap = sys.argv[2], sys.argv[3]
    if name in _UNSUPPORTED:
        print(f"not supported: {_UNSUPPORTED[name]}")
        sys.exit(2)
    fn = _SCENARIOS.get(name)
    if fn is None:
        print(f"not supported: no scenario {name}")
        sys.exit(2)
    _watchdog(name)
    try:
        fn(bootstrap)
    except NotSupported as e:
        print(f"not supported: {e}")
        sys.exit(2)
    except Fail as e:
        print(f"FAIL: {e}".replace("\n", " | "), flush=True)
        os._exit(1)
    except Exception as e:  # a client exception is a failure too; show where
        traceback.print_exc()
        print(f"FAIL: {type(e).__name__}: {e}".replace("\n", " | "), flush=True)
        os._exit(1)
    print("PASS", flush=True)
    os._exit(0)
