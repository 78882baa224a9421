//! PKCS12 keystores and truststores (`ssl.keystore.type=PKCS12`,
//! `ssl.keystore.password`, `ssl.truststore.type=PKCS12`) over real sockets:
//! files made by keytool (Java) and by openssl, mutual TLS with kcat; a wrong
//! password and a JKS file stop the start with one clear line (the JKS line
//! names the keytool command that converts it). keytool, openssl and kcat are
//! needed; without them the tests say so and pass.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;
use support::security::*;

const KCAT_LIMIT: Duration = Duration::from_secs(30);

fn run(dir: &Path, cmd: &str, args: &[&str]) {
    let out = Command::new(cmd)
        .args(args)
        .current_dir(dir)
        .env("JAVA_TOOL_OPTIONS", "-Xmx256m")
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `server.p12` by openssl (password `ossl-secret`), `keytool.p12` converted by
/// keytool (`kt-secret`), `trust.p12` by keytool -importcert (`tr-secret`),
/// `server.jks` (`kt-secret`).
fn stores(pki: &Pki) {
    let d = pki.dir.path();
    run(
        d,
        "openssl",
        &[
            "pkcs12",
            "-export",
            "-inkey",
            "server.key",
            "-in",
            "server.crt",
            "-certfile",
            "ca.pem",
            "-name",
            "broker",
            "-passout",
            "pass:ossl-secret",
            "-out",
            "server.p12",
        ],
    );
    for (kind, file) in [("PKCS12", "keytool.p12"), ("JKS", "server.jks")] {
        run(
            d,
            "keytool",
            &[
                "-importkeystore",
                "-noprompt",
                "-srckeystore",
                "server.p12",
                "-srcstoretype",
                "PKCS12",
                "-srcstorepass",
                "ossl-secret",
                "-destkeystore",
                file,
                "-deststoretype",
                kind,
                "-deststorepass",
                "kt-secret",
                "-destkeypass",
                "kt-secret",
            ],
        );
    }
    run(
        d,
        "keytool",
        &[
            "-importcert",
            "-noprompt",
            "-alias",
            "ca",
            "-file",
            "ca.pem",
            "-keystore",
            "trust.p12",
            "-storetype",
            "PKCS12",
            "-storepass",
            "tr-secret",
        ],
    );
}

fn settings(pki: &Pki, keystore: &str, password: &str) -> Vec<(String, String)> {
    [
        ("listeners", "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0"),
        ("ssl.client.auth", "required"),
        ("ssl.keystore.type", "PKCS12"),
        ("ssl.keystore.location", &pki.path(keystore)),
        ("ssl.keystore.password", password),
        ("ssl.key.password", password),
        ("ssl.truststore.type", "PKCS12"),
        ("ssl.truststore.location", &pki.path("trust.p12")),
        ("ssl.truststore.password", "tr-secret"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn tools() -> bool {
    let ok = have("kcat") && have("openssl") && have("keytool");
    if !ok {
        eprintln!("kcat, openssl or keytool not installed: skipped");
    }
    ok
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pkcs12_stores_from_keytool_and_openssl_serve_mutual_tls() {
    if !tools() {
        return;
    }
    let pki = Pki::new();
    stores(&pki);
    for (keystore, password) in [("keytool.p12", "kt-secret"), ("server.p12", "ossl-secret")] {
        let dir = tempfile::tempdir().unwrap();
        let (broker, rec) = start_recorded(dir.path(), &settings(&pki, keystore, password)).await;
        let props = vec![
            (
                "bootstrap.servers",
                broker.listener_addr("SSL").unwrap().to_string(),
            ),
            ("security.protocol", "SSL".to_string()),
            ("ssl.ca.location", pki.path("ca.pem")),
            ("ssl.certificate.location", pki.path("client.crt")),
            ("ssl.key.location", pki.path("client.key")),
        ];
        let rogue = {
            let mut p = props.clone();
            p[3].1 = pki.path("rogue-client.crt");
            p[4].1 = pki.path("rogue-client.key");
            p
        };
        let (good, bad) = tokio::task::spawn_blocking(move || {
            (
                kcat(&props, &["-L", "-m", "5"], None, KCAT_LIMIT),
                kcat(&rogue, &["-L", "-m", "3"], None, KCAT_LIMIT),
            )
        })
        .await
        .unwrap();
        assert!(good.ok, "{keystore}: {}", good.stderr);
        assert!(
            !bad.ok,
            "{keystore}: a certificate of another CA was let in"
        );
        assert!(
            rec.seen("SSL User:CN=alice,OU=eng,O=acme,C=US"),
            "{keystore}: {:?}",
            rec.all()
        );
        broker.shutdown().await.unwrap();
    }
}

async fn start_error(sets: Vec<(String, String)>) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = weir::BrokerConfig::ephemeral(dir.path());
    for (k, v) in sets {
        cfg.settings.set(&k, &v, weir::config::Source::Cli).unwrap();
    }
    match support::bounded("broker start", weir::Broker::start(cfg)).await {
        Ok(_) => panic!("the broker started"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_and_jks_stop_the_start_with_one_line() {
    if !tools() {
        return;
    }
    let pki = Pki::new();
    stores(&pki);
    let err = start_error(settings(&pki, "keytool.p12", "not-it")).await;
    assert!(
        err.contains("cannot read the PKCS12 store (wrong ssl.keystore.password?)"),
        "{err}"
    );
    let mut s = settings(&pki, "keytool.p12", "kt-secret");
    s.retain(|(k, _)| k != "ssl.truststore.password");
    s.push(("ssl.truststore.password".into(), "nope".into()));
    let err = start_error(s).await;
    assert!(err.contains("wrong ssl.truststore.password?"), "{err}");

    // JKS, as Kafka's default type or named explicitly: refused with the conversion command.
    for t in ["JKS", "PKCS12"] {
        let mut s = settings(&pki, "server.jks", "kt-secret");
        s.retain(|(k, _)| k != "ssl.keystore.type");
        s.push(("ssl.keystore.type".into(), t.into()));
        let err = start_error(s).await;
        assert!(
            err.contains("is a JKS store, which weir does not read")
                && err.contains("keytool -importkeystore")
                && err.contains("-deststoretype PKCS12"),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    // A PKCS12 file under Kafka's default type (JKS) is read, as Java's JKS type does.
    let mut s = settings(&pki, "keytool.p12", "kt-secret");
    s.retain(|(k, _)| k != "ssl.keystore.type" && k != "ssl.truststore.type");
    let dir = tempfile::tempdir().unwrap();
    let (broker, _rec) = start_recorded(dir.path(), &s).await;
    broker.shutdown().await.unwrap();
}
