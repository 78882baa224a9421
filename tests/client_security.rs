//! weir's own tools (the admin commands and `weir bench`) on secured listeners, over real
//! sockets with the real binary: SASL_SSL + SCRAM-SHA-512 from a `--command-config` file
//! with Kafka's property names, SASL_PLAINTEXT + PLAIN from `-X` with librdkafka's
//! shorthand, and mTLS with a PEM keystore (the principal is the certificate's DN). A wrong
//! password or an untrusted client certificate is one line on stderr and exit code 1.
//! openssl is needed for the certificates; without it the TLS tests say so and pass.

mod support;

use kafka_protocol::messages::{
    AlterUserScramCredentialsResponse, ApiKey, RequestKind, ResponseKind,
};
use std::io::Write;
use std::process::{Command, Output, Stdio};
use support::security::*;
use support::*;

const PLAIN_JAAS: &str = r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";"#;

fn sets(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `weir ARGS...` with `stdin`, bounded by a watchdog.
fn weir(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_weir"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run weir");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if rx
            .recv_timeout(std::time::Duration::from_secs(120))
            .is_err()
        {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
    });
    let out = child.wait_with_output().unwrap();
    drop(tx);
    watchdog.join().unwrap();
    out
}

fn ok(args: &[&str], stdin: &str) -> String {
    let out = weir(args, stdin);
    assert!(
        out.status.success(),
        "weir {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs and expects exit code 1 with exactly one line on stderr; that line.
fn fails(args: &[&str]) -> String {
    let out = weir(args, "");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "weir {args:?}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "not one line: {stderr:?}");
    stderr
}

/// topic create, produce, consume, topic list and `weir bench produce` with `security`
/// arguments (appended to every command) against `addr`.
fn exercise(addr: &str, security: &[&str], topic: &str) {
    let with = |args: &[&str]| -> Vec<String> {
        args.iter()
            .chain(["-b", addr].iter())
            .chain(security.iter())
            .map(|s| s.to_string())
            .collect()
    };
    let run = |args: &[&str], stdin: &str| {
        let a = with(args);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        ok(&a, stdin)
    };
    assert_eq!(
        run(&["topic", "create", topic, "-p", "2"], ""),
        format!("created topic {topic} with 2 partition(s)\n")
    );
    run(&["produce", topic], "one\ntwo\nthree\n");
    let mut got: Vec<String> = run(&["consume", topic, "-c", "3"], "")
        .lines()
        .map(str::to_string)
        .collect();
    got.sort();
    assert_eq!(got, ["one", "three", "two"]);
    assert!(run(&["topic", "list"], "").contains(topic));

    // weir bench takes the same properties (it wants --bootstrap, not -b).
    let bench_topic = format!("{topic}-bench");
    let mut args: Vec<&str> = vec![
        "bench",
        "produce",
        "--bootstrap",
        addr,
        "--topic",
        &bench_topic,
        "--create",
        "--partitions",
        "2",
        "--records",
        "2000",
        "--record-size",
        "100",
        "--quiet",
        "--json",
    ];
    args.extend(security);
    let report: serde_json::Value = serde_json::from_str(&ok(&args, "")).expect("JSON report");
    let text = report.to_string();
    assert!(
        text.contains("2000"),
        "2000 records not in the report: {text}"
    );
    // And they are all there, read back with the admin command.
    let consumed = run(
        &["consume", &bench_topic, "-c", "2000", "--format", "x\\n"],
        "",
    );
    assert_eq!(consumed.lines().count(), 2000);
}

async fn alter_scram(addr: std::net::SocketAddr, user: &str, mechanism: i8, password: &str) {
    let mut c = RawClient::connect(addr).await;
    let resp = c
        .call(
            RequestKind::AlterUserScramCredentials(scram_upsert(user, mechanism, password, 4096)),
            ApiKey::AlterUserScramCredentials,
            0,
        )
        .await;
    let ResponseKind::AlterUserScramCredentials(AlterUserScramCredentialsResponse {
        results, ..
    }) = resp
    else {
        panic!("{resp:?}")
    };
    assert_eq!(results[0].error_code, 0, "{results:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sasl_ssl_scram_sha_512_from_a_command_config_file() {
    if !have("openssl") {
        eprintln!("openssl not installed: skipped");
        return;
    }
    let pki = Pki::new();
    let mut settings = sets(&[
        (
            "listeners",
            "PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0",
        ),
        ("sasl.enabled.mechanisms", "SCRAM-SHA-512"),
        ("connection.failed.authentication.delay.ms", "10"),
    ]);
    settings.extend(pki.broker_settings());
    let dir = tempfile::tempdir().unwrap();
    let (broker, rec) = start_recorded(dir.path(), &settings).await;
    alter_scram(
        broker.listener_addr("PLAINTEXT").unwrap(),
        "bob",
        2,
        "bob-secret",
    )
    .await;
    let addr = broker.listener_addr("SASL_SSL").unwrap().to_string();
    let config = pki.path("client.properties");
    std::fs::write(
        &config,
        format!(
            "# as for kafka-topics.sh --command-config\n\
             security.protocol=SASL_SSL\n\
             sasl.mechanism=SCRAM-SHA-512\n\
             sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"bob\" password=\"bob-secret\";\n\
             ssl.truststore.type=PEM\n\
             ssl.truststore.location={}\n",
            pki.path("ca.pem")
        ),
    )
    .unwrap();
    let (a, c) = (addr.clone(), config.clone());
    let rogue_ca = format!("ssl.truststore.location={}", pki.path("rogue-ca.pem"));
    tokio::task::spawn_blocking(move || {
        exercise(&a, &["--command-config", &c], "scram-topic");
        // -X wins over the file: a wrong password is one line and exit code 1.
        let wrong = r#"sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="bob" password="wrong";"#;
        let line = fails(&["topic", "list", "-b", &a, "--command-config", &c, "-X", wrong]);
        assert!(
            line.contains("SASL authentication failed")
                && line.contains("invalid credentials with SASL mechanism SCRAM-SHA-512"),
            "{line}"
        );
        let line = fails(&[
            "bench", "produce", "--bootstrap", &a, "--records", "10", "--command-config", &c,
            "-X", wrong,
        ]);
        assert!(line.contains("SASL authentication failed"), "{line}");
        // A truststore without the broker's CA: the handshake fails, exit code 1.
        let line = fails(&[
            "topic", "list", "-b", &a, "--command-config", &c, "-X", &rogue_ca,
        ]);
        assert!(line.contains("TLS handshake failed"), "{line}");
    })
    .await
    .unwrap();
    assert!(rec.seen("SASL_SSL User:bob"), "{:?}", rec.all());
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sasl_plaintext_plain_from_x_properties() {
    let settings = sets(&[
        (
            "listeners",
            "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
        ),
        ("sasl.enabled.mechanisms", "PLAIN"),
        (
            "listener.name.sasl_plaintext.plain.sasl.jaas.config",
            PLAIN_JAAS,
        ),
        ("connection.failed.authentication.delay.ms", "10"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let (broker, rec) = start_recorded(dir.path(), &settings).await;
    let addr = broker.listener_addr("SASL_PLAINTEXT").unwrap().to_string();
    let plain_addr = broker.listener_addr("PLAINTEXT").unwrap().to_string();
    tokio::task::spawn_blocking(move || {
        exercise(
            &addr,
            &[
                "-X",
                "security.protocol=SASL_PLAINTEXT",
                "-X",
                "sasl.mechanism=PLAIN",
                "-X",
                "sasl.username=alice",
                "-X",
                "sasl.password=alice-secret",
            ],
            "plain-topic",
        );
        let line = fails(&[
            "topic",
            "list",
            "-b",
            &addr,
            "-X",
            "security.protocol=SASL_PLAINTEXT",
            "-X",
            "sasl.mechanism=PLAIN",
            "-X",
            "sasl.username=alice",
            "-X",
            "sasl.password=nope",
        ]);
        assert!(
            line.contains("SASL authentication failed")
                && line.contains("Invalid username or password"),
            "{line}"
        );
        // A mechanism the listener does not enable names the ones it does.
        let line = fails(&[
            "topic",
            "list",
            "-b",
            &addr,
            "-X",
            "security.protocol=SASL_PLAINTEXT",
            "-X",
            "sasl.mechanism=SCRAM-SHA-256",
            "-X",
            "sasl.username=alice",
            "-X",
            "sasl.password=alice-secret",
        ]);
        assert!(line.contains("enabled: PLAIN"), "{line}");

        // PLAINTEXT (A) against SASL_PLAINTEXT (B) of the same broker, alternating rounds:
        // the ratio the lead measures on a release build (benches/README.md).
        let cfg_dir = tempfile::tempdir().unwrap();
        let sasl_file = cfg_dir.path().join("sasl.properties");
        std::fs::write(
            &sasl_file,
            "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.username=alice\nsasl.password=alice-secret\n",
        )
        .unwrap();
        let out = ok(
            &[
                "bench",
                "produce",
                "--bootstrap",
                &plain_addr,
                "--compare",
                &addr,
                "--compare-command-config",
                sasl_file.to_str().unwrap(),
                "--topic",
                "compare-topic",
                "--create",
                "--records",
                "500",
                "--record-size",
                "100",
                "--rounds",
                "1",
                "--quiet",
                "--json",
            ],
            "",
        );
        let v: serde_json::Value = serde_json::from_str(&out).expect("JSON comparison");
        assert_eq!(v["a_rounds"].as_array().unwrap().len(), 1, "{v}");
        assert_eq!(v["b_rounds"].as_array().unwrap().len(), 1, "{v}");
        let medians = v["medians"].as_object().unwrap();
        assert!(
            medians
                .values()
                .any(|m| m["ratio_b_over_a"].as_f64().is_some_and(|r| r > 0.0)),
            "{v}"
        );
    })
    .await
    .unwrap();
    assert!(rec.seen("SASL_PLAINTEXT User:alice"), "{:?}", rec.all());
    assert!(rec.seen("PLAINTEXT User:ANONYMOUS"), "{:?}", rec.all());
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtls_with_a_pem_keystore_is_the_certificates_principal() {
    if !have("openssl") {
        eprintln!("openssl not installed: skipped");
        return;
    }
    let pki = Pki::new();
    for name in ["client", "rogue-client"] {
        let key = std::fs::read_to_string(pki.path(&format!("{name}.key"))).unwrap();
        let crt = std::fs::read_to_string(pki.path(&format!("{name}.crt"))).unwrap();
        std::fs::write(pki.path(&format!("{name}.pem")), format!("{key}{crt}")).unwrap();
    }
    let mut settings = sets(&[
        ("listeners", "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0"),
        ("ssl.client.auth", "required"),
    ]);
    settings.extend(pki.broker_settings());
    let dir = tempfile::tempdir().unwrap();
    let (broker, rec) = start_recorded(dir.path(), &settings).await;
    let addr = broker.listener_addr("SSL").unwrap().to_string();
    let trust = format!("ssl.truststore.location={}", pki.path("ca.pem"));
    let keystore = format!("ssl.keystore.location={}", pki.path("client.pem"));
    let rogue = format!("ssl.keystore.location={}", pki.path("rogue-client.pem"));
    tokio::task::spawn_blocking(move || {
        exercise(
            &addr,
            &[
                "-X",
                "security.protocol=SSL",
                "-X",
                &trust,
                "-X",
                "ssl.keystore.type=PEM",
                "-X",
                &keystore,
            ],
            "mtls-topic",
        );
        // A certificate from another CA: the broker refuses it; one line, exit code 1.
        fails(&[
            "topic",
            "list",
            "-b",
            &addr,
            "-X",
            "security.protocol=SSL",
            "-X",
            &trust,
            "-X",
            &rogue,
        ]);
    })
    .await
    .unwrap();
    assert!(
        rec.seen("SSL User:CN=alice,OU=eng,O=acme,C=US"),
        "{:?}",
        rec.all()
    );
    broker.shutdown().await.unwrap();
}
