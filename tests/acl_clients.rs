//! ACLs with a real client: confluent-kafka-python's AdminClient creates,
//! describes and deletes ACLs, and its producer and consumer are denied with
//! Kafka's errors (see `acl_confluent.py`). Needs a Python with
//! confluent-kafka, hence ignored by plain `cargo test`:
//! `WEIR_TEST_PYTHON=conformance/.venv/bin/python cargo test --test
//! acl_clients -- --ignored` (default interpreter: `python3`).

#[path = "support/acl.rs"]
mod acl_support;
mod support;

use acl_support::ByClientId;
use weir::config::Source;
use weir::{Broker, BrokerConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs python3 with confluent-kafka"]
async fn confluent_admin_client_manages_acls_and_clients_are_denied() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = BrokerConfig::ephemeral(dir.path());
    let s = &mut config.settings;
    let class = "kafka.security.authorizer.AclAuthorizer";
    s.set("authorizer.class.name", class, Source::Cli).unwrap();
    s.set("super.users", "User:admin", Source::Cli).unwrap();
    s.set("group.initial.rebalance.delay.ms", "0", Source::Cli)
        .unwrap();
    let broker = Broker::start_with_pipeline(config, ByClientId::pipeline("User:admin"))
        .await
        .unwrap();
    let addr = broker.addr().to_string();
    let out = tokio::task::spawn_blocking(move || {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/acl_confluent.py");
        let python = std::env::var("WEIR_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let mut child = std::process::Command::new(&python)
            .args([script, &addr])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
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
        "confluent-kafka failed:\n{stdout}\n{stderr}"
    );
    broker.shutdown().await.unwrap();
}
