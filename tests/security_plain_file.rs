//! PLAIN users from a weir file of salted PBKDF2 hashes
//! (`weir.sasl.plain.users.file`) over real sockets: entries made by
//! `weir plain-user`, no plaintext password in the file, Kafka's answers to a
//! wrong password and an unknown user, users added and removed while the
//! broker runs (the file is re-read), a file that turns bad keeps the previous
//! users, and kcat (librdkafka) producing and consuming as a file user.

mod support;

use kafka_protocol::messages::{
    ApiKey, MetadataRequest, RequestKind, ResponseKind, SaslAuthenticateRequest,
    SaslHandshakeRequest,
};
use kafka_protocol::protocol::StrBytes;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::security::*;
use support::*;

/// `weir plain-user FILE USER [extra]` with `password` on stdin.
fn plain_user(file: &Path, user: &str, password: &str, extra: &[&str]) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_weir"))
        .arg("plain-user")
        .arg(file)
        .arg(user)
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("weir runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Write `file` whole, by renaming a temporary file over it.
fn replace_file(file: &Path, content: &str) {
    let tmp = file.with_extension("tmp");
    std::fs::write(&tmp, content).unwrap();
    std::fs::rename(&tmp, file).unwrap();
}

fn add_user(file: &Path, user: &str, password: &str) {
    let out = plain_user(file, user, password, &[]);
    assert!(
        out.status.success(),
        "weir plain-user failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn settings(file: &Path) -> Vec<(String, String)> {
    [
        (
            "listeners",
            "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
        ),
        ("sasl.enabled.mechanisms", "PLAIN"),
        (
            "listener.name.sasl_plaintext.weir.sasl.plain.users.file",
            file.to_str().unwrap(),
        ),
        ("weir.ssl.reload.interval.ms", "50"),
        ("connection.failed.authentication.delay.ms", "10"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// SaslHandshake v1 PLAIN + SaslAuthenticate v2 on a fresh connection.
async fn login(addr: std::net::SocketAddr, user: &str, password: &str) -> (i16, Option<String>) {
    let mut c = RawClient::connect(addr).await;
    let resp = c
        .call(
            RequestKind::SaslHandshake(
                SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str("PLAIN")),
            ),
            ApiKey::SaslHandshake,
            1,
        )
        .await;
    let ResponseKind::SaslHandshake(h) = resp else {
        panic!("{resp:?}")
    };
    assert_eq!(h.error_code, 0);
    let token = format!("\0{user}\0{password}");
    let resp = c
        .call(
            RequestKind::SaslAuthenticate(
                SaslAuthenticateRequest::default().with_auth_bytes(token.into_bytes().into()),
            ),
            ApiKey::SaslAuthenticate,
            2,
        )
        .await;
    let ResponseKind::SaslAuthenticate(r) = resp else {
        panic!("{resp:?}")
    };
    if r.error_code == 0 {
        let resp = c
            .call(
                RequestKind::Metadata(MetadataRequest::default()),
                ApiKey::Metadata,
                12,
            )
            .await;
        assert!(matches!(resp, ResponseKind::Metadata(_)));
    } else {
        assert!(c.is_closed().await, "a failed login keeps the connection");
    }
    (r.error_code, r.error_message.map(|m| m.to_string()))
}

const BAD: (i16, Option<&str>) = (
    58,
    Some("Authentication failed: Invalid username or password"),
);

async fn wait_for(addr: std::net::SocketAddr, user: &str, password: &str, want_ok: bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (code, _) = login(addr, user, password).await;
        if (code == 0) == want_ok {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{user}: the users file change was not picked up (code {code})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_users_authenticate_and_changes_apply_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-users.txt");
    add_user(&file, "alice", "alice-secret");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains("alice-secret"), "plaintext stored: {text}");
    assert!(text.contains("alice pbkdf2-sha512 4096 "), "{text}");

    let data = dir.path().join("data");
    let (broker, rec) = start_recorded(&data, &settings(&file)).await;
    let addr = broker.listener_addr("SASL_PLAINTEXT").unwrap();
    assert_eq!(login(addr, "alice", "alice-secret").await.0, 0);
    assert!(rec.seen("SASL_PLAINTEXT User:alice"), "{:?}", rec.all());
    let bad = (BAD.0, BAD.1.map(String::from));
    assert_eq!(login(addr, "alice", "wrong").await, bad);
    assert_eq!(login(addr, "bob", "bob-secret").await, bad);

    // bob added while the broker runs; alice's password changed.
    add_user(&file, "bob", "bob-secret");
    wait_for(addr, "bob", "bob-secret", true).await;
    add_user(&file, "alice", "alice-new");
    wait_for(addr, "alice", "alice-secret", false).await;
    assert_eq!(login(addr, "alice", "alice-new").await.0, 0);

    // A file that turns bad keeps the previous users. (Replaced whole, as
    // `weir plain-user` does: an in-place write can be read half-way, e.g.
    // empty, which is a valid file of no users.)
    let good = std::fs::read_to_string(&file).unwrap();
    replace_file(&file, &format!("{good}garbage line\n"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(login(addr, "bob", "bob-secret").await.0, 0);

    // Deleted: refused.
    replace_file(&file, &good);
    let out = plain_user(&file, "bob", "", &["--delete"]);
    assert!(out.status.success(), "{out:?}");
    wait_for(addr, "bob", "bob-secret", false).await;
    assert_eq!(login(addr, "bob", "bob-secret").await, bad);
    assert_eq!(login(addr, "alice", "alice-new").await.0, 0);
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_users_file_stops_the_start_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-users.txt");
    std::fs::write(&file, "# users\nalice plain alice-secret\n").unwrap();
    let mut cfg = weir::BrokerConfig::ephemeral(dir.path().join("data"));
    for (k, v) in settings(&file) {
        cfg.settings.set(&k, &v, weir::config::Source::Cli).unwrap();
    }
    let err = match bounded("broker start", weir::Broker::start(cfg)).await {
        Ok(_) => panic!("a broker started with a bad users file"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("weir.sasl.plain.users.file") && err.contains("line 2"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kcat_produces_and_consumes_as_a_file_user() {
    if !have("kcat") {
        eprintln!("kcat not installed: skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-users.txt");
    add_user(&file, "carol", "carol secret");
    let (broker, rec) = start_recorded(&dir.path().join("data"), &settings(&file)).await;
    let addr = broker.listener_addr("SASL_PLAINTEXT").unwrap();
    let props = move |pw: &str| {
        vec![
            ("bootstrap.servers", addr.to_string()),
            ("security.protocol", "SASL_PLAINTEXT".into()),
            ("sasl.mechanisms", "PLAIN".into()),
            ("sasl.username", "carol".into()),
            ("sasl.password", pw.to_string()),
        ]
    };
    let (good, wrong) = (props("carol secret"), props("nope"));
    tokio::task::spawn_blocking(move || {
        let limit = Duration::from_secs(30);
        let run = kcat(
            &good,
            &["-P", "-t", "file-users"],
            Some("one\ntwo\n"),
            limit,
        );
        assert!(run.ok, "produce failed:\n{}", run.stderr);
        let run = kcat(
            &good,
            &["-C", "-t", "file-users", "-o", "beginning", "-c", "2", "-e"],
            None,
            limit,
        );
        assert!(run.ok, "consume failed:\n{}", run.stderr);
        assert_eq!(run.stdout, "one\ntwo\n");
        let run = kcat(&wrong, &["-L", "-m", "3"], None, limit);
        assert!(!run.ok);
        assert!(
            run.stderr
                .contains("Authentication failed: Invalid username or password"),
            "{}",
            run.stderr
        );
    })
    .await
    .unwrap();
    assert!(rec.seen("SASL_PLAINTEXT User:carol"), "{:?}", rec.all());
    broker.shutdown().await.unwrap();
}
