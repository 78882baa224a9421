//! The read side's limits over real sockets against the real `weir` binary:
//! requests announcing huge arrays, strings or tagged-field counts close the
//! connection without the broker allocating what they announce;
//! `connections.max.idle.ms` closes a slowloris; `max.connections`,
//! `max.connections.per.ip` (+ overrides) and `queued.max.request.bytes` hold as
//! Kafka holds them; memory stays flat under garbage clients (VmRSS of the
//! broker process, sampled).

mod support;

use std::time::{Duration, Instant};
use support::TestBroker;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The broker's resident memory (VmRSS), in bytes.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/PID/status");
    kb * 1024
}

fn spawn(sets: &[&str]) -> (tempfile::TempDir, TestBroker) {
    let dir = tempfile::tempdir().unwrap();
    let mut args = Vec::new();
    for s in sets {
        args.push("--set");
        args.push(s);
    }
    let b = TestBroker::spawn(dir.path(), &args);
    (dir, b)
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut f = (body.len() as i32).to_be_bytes().to_vec();
    f.extend_from_slice(body);
    f
}

fn uvarint(mut v: u32, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Request header v1 (non-flexible): key, version, correlation id, client id "t".
fn header_v1(key: i16, version: i16) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&key.to_be_bytes());
    h.extend_from_slice(&version.to_be_bytes());
    h.extend_from_slice(&7i32.to_be_bytes());
    h.extend_from_slice(&1i16.to_be_bytes());
    h.push(b't');
    h
}

/// Request header v2 (flexible): header v1 then its tagged fields (none).
fn header_v2(key: i16, version: i16) -> Vec<u8> {
    let mut h = header_v1(key, version);
    h.push(0);
    h
}

/// An ApiVersions v0 request (any broker state answers it).
fn api_versions() -> Vec<u8> {
    frame(&header_v1(18, 0))
}

/// Requests whose counts or lengths announce far more than the frame holds.
fn hostile_requests() -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    // Produce v3: two billion topics in a 12-byte body.
    let mut b = header_v1(0, 3);
    b.extend_from_slice(&[0xff, 0xff, 0, 1, 0, 0, 0x75, 0x30]);
    b.extend_from_slice(&i32::MAX.to_be_bytes());
    out.push(("produce v3 array of 2^31-1 topics", frame(&b)));
    // Metadata v12: a compact array of 2^32-2 topics.
    let mut b = header_v2(3, 12);
    uvarint(u32::MAX, &mut b);
    out.push(("metadata v12 compact array of 2^32-2 topics", frame(&b)));
    // Metadata v12: a million and one topics with the bytes to match (over Kafka's limit).
    let mut b = header_v2(3, 12);
    uvarint(1_000_002, &mut b);
    b.resize(b.len() + 1_100_000, 0);
    out.push(("metadata v12 array of 1,000,001 topics", frame(&b)));
    // ApiVersions v3: a client software name of 2^31 bytes.
    let mut b = header_v2(18, 3);
    uvarint(i32::MAX as u32, &mut b);
    out.push(("api_versions v3 string of 2^31 bytes", frame(&b)));
    // ApiVersions v3: two empty names, then 2^31-1 tagged fields.
    let mut b = header_v2(18, 3);
    b.extend_from_slice(&[1, 1]);
    uvarint(i32::MAX as u32, &mut b);
    out.push(("api_versions v3 2^31-1 tagged fields", frame(&b)));
    // A header whose tagged-field count is 10,001 (Kafka's limit is 10,000).
    let mut b = header_v1(18, 3);
    uvarint(10_001, &mut b);
    for tag in 0..10_001u32 {
        uvarint(tag, &mut b);
        b.push(0);
    }
    out.push(("request header of 10,001 tagged fields", frame(&b)));
    out
}

/// Read until the broker closes the connection (true) or `limit` passes (false).
async fn closed_within(s: &mut TcpStream, limit: Duration) -> bool {
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

/// Whether an ApiVersions request on `s` is answered within `limit`.
async fn answers(s: &mut TcpStream, limit: Duration) -> bool {
    if s.write_all(&api_versions()).await.is_err() {
        return false;
    }
    let mut size = [0u8; 4];
    match tokio::time::timeout(limit, s.read_exact(&mut size)).await {
        Ok(Ok(_)) => {
            let mut body = vec![0u8; i32::from_be_bytes(size) as usize];
            s.read_exact(&mut body).await.is_ok()
        }
        _ => false,
    }
}

async fn connect(addr: std::net::SocketAddr) -> TcpStream {
    support::bounded("connect", TcpStream::connect(addr))
        .await
        .unwrap()
}

#[tokio::test]
async fn requests_announcing_more_than_their_frame_close_the_connection_in_flat_memory() {
    let (_dir, mut weir) = spawn(&[]);
    let addr = weir.addr();
    let pid = weir.child().id();
    let mut warm = connect(addr).await;
    assert!(answers(&mut warm, Duration::from_secs(10)).await);
    let before = rss(pid);
    for round in 0..20 {
        for (what, req) in hostile_requests() {
            let mut s = connect(addr).await;
            s.write_all(&req).await.unwrap();
            assert!(
                closed_within(&mut s, Duration::from_secs(10)).await,
                "{what}: connection not closed (round {round})"
            );
        }
    }
    let after = rss(pid);
    assert!(
        answers(&mut warm, Duration::from_secs(10)).await,
        "broker still serves"
    );
    eprintln!(
        "VmRSS {} kB before, {} kB after",
        before / 1024,
        after / 1024
    );
    assert!(
        after < before + 32 * 1024 * 1024,
        "RSS grew from {before} to {after} bytes"
    );
}

#[tokio::test]
async fn a_slowloris_partial_frame_is_closed_after_connections_max_idle_ms() {
    let (_dir, weir) = spawn(&["connections.max.idle.ms=1000"]);
    let addr = weir.addr();
    // Half a size prefix, then silence.
    let mut slow = connect(addr).await;
    slow.write_all(&[0, 0]).await.unwrap();
    // A frame's size and part of its body, then silence.
    let mut partial = connect(addr).await;
    let req = api_versions();
    partial.write_all(&req[..req.len() - 2]).await.unwrap();
    // Connected, nothing sent.
    let mut idle = connect(addr).await;
    let start = Instant::now();
    for (what, s) in [
        ("partial size", &mut slow),
        ("partial body", &mut partial),
        ("idle", &mut idle),
    ] {
        assert!(
            closed_within(s, Duration::from_secs(10)).await,
            "{what}: still open after 10 s"
        );
    }
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(900),
        "closed before the idle time: {took:?}"
    );
    // A connection that keeps talking is not idle.
    let mut busy = connect(addr).await;
    for _ in 0..6 {
        assert!(answers(&mut busy, Duration::from_secs(5)).await);
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
}

#[tokio::test]
async fn max_connections_per_ip_closes_the_extra_connection_and_overrides_apply() {
    let (_dir, weir) = spawn(&[
        "max.connections.per.ip=3",
        "max.connections.per.ip.overrides=127.0.0.2:1",
    ]);
    let addr = weir.addr();
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut s = connect(addr).await;
        assert!(answers(&mut s, Duration::from_secs(10)).await);
        held.push(s);
    }
    let mut extra = connect(addr).await;
    assert!(
        closed_within(&mut extra, Duration::from_secs(10)).await,
        "a 4th connection from 127.0.0.1 was kept"
    );
    drop(held.pop());
    // The freed slot is usable (the close is seen by the broker shortly after).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut s = connect(addr).await;
        if answers(&mut s, Duration::from_secs(2)).await {
            break;
        }
        assert!(Instant::now() < deadline, "the freed slot was never reused");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Connections from 127.0.0.2 (the client binds it) have a limit of 1.
    let from2 = || async {
        let sock = tokio::net::TcpSocket::new_v4().unwrap();
        sock.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        sock.connect(addr).await.unwrap()
    };
    let mut first = from2().await;
    assert!(answers(&mut first, Duration::from_secs(10)).await);
    let mut second = from2().await;
    assert!(
        closed_within(&mut second, Duration::from_secs(10)).await,
        "the override of 1 for 127.0.0.2 was not applied"
    );
}

#[tokio::test]
async fn max_connections_stops_accepting_until_a_connection_closes() {
    let (_dir, weir) = spawn(&["max.connections=2"]);
    let addr = weir.addr();
    let mut a = connect(addr).await;
    let mut b = connect(addr).await;
    assert!(answers(&mut a, Duration::from_secs(10)).await);
    assert!(answers(&mut b, Duration::from_secs(10)).await);
    // The third connects (the kernel's backlog) but is not served...
    let mut c = connect(addr).await;
    c.write_all(&api_versions()).await.unwrap();
    let mut size = [0u8; 4];
    assert!(
        tokio::time::timeout(Duration::from_secs(1), c.read_exact(&mut size))
            .await
            .is_err(),
        "a third connection was served with max.connections=2"
    );
    // ... until one of the two closes.
    drop(a);
    support::bounded("served after a slot freed", c.read_exact(&mut size))
        .await
        .unwrap();
    assert!(answers(&mut b, Duration::from_secs(10)).await);
}

#[tokio::test]
async fn queued_max_request_bytes_stops_reading_sockets_instead_of_buffering() {
    const MB: usize = 1024 * 1024;
    let (_dir, mut weir) = spawn(&[
        "socket.request.max.bytes=8388608",
        "queued.max.request.bytes=8388608",
    ]);
    let addr = weir.addr();
    let pid = weir.child().id();
    let mut probe = connect(addr).await;
    assert!(answers(&mut probe, Duration::from_secs(10)).await);
    let before = rss(pid);
    // 40 clients each announce an 8 MB request and try to send 4 MB of it: the
    // first takes the whole pool; the others are not read at all.
    let mut hogs = Vec::new();
    for _ in 0..40 {
        let mut s = connect(addr).await;
        s.write_all(&(8 * MB as i32).to_be_bytes()).await.unwrap();
        hogs.push(s);
    }
    let chunk = vec![0x11u8; 64 * 1024];
    let mut sent = 0usize;
    for s in &mut hogs {
        for _ in 0..64 {
            match tokio::time::timeout(Duration::from_millis(50), s.write_all(&chunk)).await {
                Ok(Ok(())) => sent += chunk.len(),
                _ => break, // the broker does not read: the socket is full
            }
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let during = rss(pid);
    eprintln!(
        "sent {} MB in all; VmRSS {} kB before, {} kB with 40 x 8 MB requests announced",
        sent / MB,
        before / 1024,
        during / 1024
    );
    assert!(
        during < before + 24 * MB as u64,
        "the broker buffered {} MB of {} MB sent",
        (during - before) as usize / MB,
        sent / MB
    );
    // The pool is exhausted: a new request waits too (it is not read)...
    let mut waiting = connect(addr).await;
    waiting.write_all(&api_versions()).await.unwrap();
    let mut size = [0u8; 4];
    assert!(
        tokio::time::timeout(Duration::from_secs(1), waiting.read_exact(&mut size))
            .await
            .is_err(),
        "served while the request memory was exhausted"
    );
    // ... and is served once the hogs are gone.
    drop(hogs);
    support::bounded(
        "served once the memory was released",
        waiting.read_exact(&mut size),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn memory_stays_flat_under_a_thousand_garbage_clients() {
    let (_dir, mut weir) = spawn(&["connections.max.idle.ms=2000"]);
    let addr = weir.addr();
    let pid = weir.child().id();
    let mut probe = connect(addr).await;
    assert!(answers(&mut probe, Duration::from_secs(10)).await);
    let before = rss(pid);
    let mut samples = Vec::new();
    // A cheap deterministic generator (no rand dependency).
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _round in 0..5 {
        let mut clients = Vec::new();
        for _ in 0..200 {
            let mut s = connect(addr).await;
            let len = 1 + (next() % 300) as usize;
            let mut garbage: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if next() % 2 == 0 && garbage.len() >= 4 {
                // A plausible size prefix (up to 1 MB), then garbage: partial frames.
                let size = (next() % (1 << 20)) as i32;
                garbage[..4].copy_from_slice(&size.to_be_bytes());
            }
            let _ = s.write_all(&garbage).await;
            clients.push(s);
        }
        samples.push(rss(pid));
        drop(clients);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    samples.push(rss(pid));
    // (The first probe has been idle past connections.max.idle.ms: a new one.)
    let mut probe = connect(addr).await;
    assert!(
        answers(&mut probe, Duration::from_secs(10)).await,
        "broker still serves"
    );
    samples.sort();
    let max = *samples.last().unwrap();
    eprintln!(
        "VmRSS before {} kB; under 1,000 garbage clients min {} / median {} / max {} kB",
        before / 1024,
        samples[0] / 1024,
        samples[samples.len() / 2] / 1024,
        max / 1024
    );
    assert!(
        max < before + 48 * 1024 * 1024,
        "RSS grew from {before} to {max} bytes"
    );
}
