//! ACLs with real clients: confluent-kafka-python's AdminClient creates,
//! describes and deletes ACLs, and its producer and consumer are denied with
//! Kafka's errors (see `acl_confluent.py`); Kafka's own `kafka-acls`
//! (`org.apache.kafka.tools.AclCommand`) adds, lists and removes ACLs on the
//! `weir` binary. They need a Python with confluent-kafka and Kafka's tools
//! jars, hence are ignored by plain `cargo test`:
//! `WEIR_TEST_PYTHON=conformance/.venv/bin/python
//! WEIR_TEST_KAFKA_CLI_CLASSPATH=conformance/java/target/cli-4.4/classpath.txt
//! cargo test --test acl_clients -- --ignored` (defaults: `python3`, that
//! classpath file as `conformance/java/build` writes it).

#[path = "support/acl.rs"]
mod acl_support;
mod support;

use acl_support::ByClientId;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::TestBroker;
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

/// Run `cmd`, killed after `secs`.
fn run_bounded(cmd: &mut Command, secs: u64) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let deadline = Instant::now() + Duration::from_secs(secs);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.wait_with_output().unwrap()
}

#[test]
#[ignore = "needs java and Kafka's tools jars (conformance/java/build)"]
fn kafka_acls_tool_adds_lists_and_removes_acls() {
    let classpath_file = std::env::var("WEIR_TEST_KAFKA_CLI_CLASSPATH").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/conformance/java/target/cli-4.4/classpath.txt"
        )
        .into()
    });
    let classpath = std::fs::read_to_string(&classpath_file)
        .unwrap_or_else(|e| panic!("{classpath_file}: {e}"));
    let dir = tempfile::tempdir().unwrap();
    let class = "org.apache.kafka.metadata.authorizer.StandardAuthorizer";
    let authorizer = format!("authorizer.class.name={class}");
    // PLAINTEXT: the tool is User:ANONYMOUS, made a super user here.
    let extra = ["--set", &authorizer, "--set", "super.users=User:ANONYMOUS"];
    let mut broker = TestBroker::spawn(dir.path(), &extra);
    let bootstrap = broker.bootstrap();
    let acls = |args: &[&str]| {
        let out = run_bounded(
            Command::new("java")
                .args(["-Xmx256m", "-cp", classpath.trim()])
                .arg("org.apache.kafka.tools.AclCommand")
                .args(["--bootstrap-server", &bootstrap])
                .args(args),
            90,
        );
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "kafka-acls {args:?}:\n{stdout}\n{stderr}"
        );
        stdout
    };
    acls(&[
        "--add",
        "--allow-principal",
        "User:alice",
        "--operation",
        "Read",
        "--operation",
        "Write",
        "--topic",
        "orders",
        "--resource-pattern-type",
        "prefixed",
    ]);
    acls(&[
        "--add",
        "--deny-principal",
        "User:bob",
        "--operation",
        "All",
        "--group",
        "g",
    ]);
    let listed = acls(&["--list"]);
    for line in [
        "resourceType=TOPIC, name=orders, patternType=PREFIXED",
        "(principal=User:alice, host=*, operation=READ, permissionType=ALLOW)",
        "(principal=User:alice, host=*, operation=WRITE, permissionType=ALLOW)",
        "resourceType=GROUP, name=g, patternType=LITERAL",
        "(principal=User:bob, host=*, operation=ALL, permissionType=DENY)",
    ] {
        assert!(listed.contains(line), "missing {line} in:\n{listed}");
    }
    acls(&["--remove", "--force", "--group", "g"]);
    let listed = acls(&["--list"]);
    assert!(!listed.contains("User:bob"), "{listed}");
    assert!(listed.contains("User:alice"), "{listed}");
    assert!(dir.path().join("weir-acls.checkpoint").exists());
    broker.kill();
}
