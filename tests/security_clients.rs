//! SASL over real sockets with Python clients, run as a script against an
//! in-process broker (see `security_clients.py`): confluent-kafka (librdkafka
//! 2.6.1, the first librdkafka whose SCRAM final message Kafka 4.x accepts)
//! with SCRAM-SHA-512 and SCRAM-SHA-256 over SASL_SSL, kafka-python with PLAIN
//! over SASL_PLAINTEXT and SCRAM-SHA-512 over SASL_SSL. The SCRAM user is
//! created with AlterUserScramCredentials; every request is checked to carry
//! the SASL principal. Needs a Python with confluent-kafka and kafka-python
//! and `openssl`, hence ignored by plain `cargo test`:
//! `WEIR_TEST_PYTHON=conformance/.venv/bin/python cargo test --test
//! security_clients -- --ignored` (default interpreter: `python3`).

mod support;

use kafka_protocol::messages::{ApiKey, RequestKind, ResponseKind};
use support::security::*;
use support::*;

const JAAS: &str = r#"org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-secret";"#;

async fn run_python(mode: &str, bootstrap: String, topic: &str, ca: Option<String>) {
    let (mode, topic) = (mode.to_string(), topic.to_string());
    let out = tokio::task::spawn_blocking(move || {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/security_clients.py");
        let python = std::env::var("WEIR_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let mut args = vec![script.to_string(), mode, bootstrap, topic];
        args.extend(ca);
        let mut child = std::process::Command::new(&python)
            .args(&args)
            .env_remove("LD_LIBRARY_PATH")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
        while child.try_wait().unwrap().is_none() {
            if std::time::Instant::now() > deadline {
                child.kill().unwrap();
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("OK"),
        "python client failed:\n{stdout}\n{stderr}"
    );
}

async fn broker(pki: &Pki, dir: &std::path::Path) -> (weir::Broker, std::sync::Arc<Recorder>) {
    let mut settings: Vec<(String, String)> = [
        (
            "listeners",
            "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0",
        ),
        (
            "sasl.enabled.mechanisms",
            "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
        ),
        ("listener.name.sasl_plaintext.plain.sasl.jaas.config", JAAS),
        ("listener.name.sasl_ssl.plain.sasl.jaas.config", JAAS),
        ("group.initial.rebalance.delay.ms", "0"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    settings.extend(pki.broker_settings());
    let (b, rec) = start_recorded(dir, &settings).await;
    let mut c = RawClient::connect(b.listener_addr("PLAINTEXT").unwrap()).await;
    for mechanism in [1, 2] {
        let resp = c
            .call(
                RequestKind::AlterUserScramCredentials(scram_upsert(
                    "bob",
                    mechanism,
                    "bob-secret",
                    8192,
                )),
                ApiKey::AlterUserScramCredentials,
                0,
            )
            .await;
        let ResponseKind::AlterUserScramCredentials(r) = resp else {
            panic!()
        };
        assert_eq!(r.results[0].error_code, 0);
    }
    (b, rec)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs python3 with confluent-kafka and kafka-python, and openssl"]
async fn confluent_kafka_scram_over_sasl_ssl() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let (b, rec) = broker(&pki, dir.path()).await;
    let addr = b.listener_addr("SASL_SSL").unwrap().to_string();
    run_python(
        "scram512-ssl",
        addr.clone(),
        "ck-512",
        Some(pki.path("ca.pem")),
    )
    .await;
    run_python("scram256-ssl", addr, "ck-256", Some(pki.path("ca.pem"))).await;
    assert!(rec.seen("SASL_SSL User:bob"), "{:?}", rec.all());
    assert!(
        rec.all()
            .iter()
            .all(|s| !s.starts_with("SASL_SSL User:ANONYMOUS")),
        "{:?}",
        rec.all()
    );
    b.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs python3 with confluent-kafka and kafka-python, and openssl"]
async fn kafka_python_plain_and_scram() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let (b, rec) = broker(&pki, dir.path()).await;
    run_python(
        "kafka-python-plain",
        b.listener_addr("SASL_PLAINTEXT").unwrap().to_string(),
        "kp-plain",
        None,
    )
    .await;
    run_python(
        "kafka-python-scram",
        b.listener_addr("SASL_SSL").unwrap().to_string(),
        "kp-scram",
        Some(pki.path("ca.pem")),
    )
    .await;
    assert!(rec.seen("SASL_PLAINTEXT User:alice"), "{:?}", rec.all());
    assert!(rec.seen("SASL_SSL User:bob"), "{:?}", rec.all());
    b.shutdown().await.unwrap();
}
