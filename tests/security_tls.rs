//! TLS listeners over real sockets: kcat (librdkafka) over SSL with a PEM
//! keystore, mutual TLS with the client certificate's DN as the principal
//! (Kafka's RFC 2253 form, and `ssl.principal.mapping.rules`), an untrusted
//! client certificate refused, plaintext to a TLS port and TLS to a plaintext
//! port closed (broker up), an encrypted key with `ssl.key.password`, and the
//! keystore reloaded when its file changes. Per-listener advertised addresses
//! in Metadata. The broker's own cipher-suite preference (AES-128-GCM first, or
//! `ssl.cipher.suites` in order) wins over the client's. kcat and openssl are
//! needed; without them those tests say so and pass.

mod support;

use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, MetadataRequest, RequestKind, ResponseKind,
};
use std::time::Duration;
use support::security::*;
use support::*;

const KCAT_LIMIT: Duration = Duration::from_secs(30);

fn sets(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn mtls_settings(pki: &Pki, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut s = sets(&[
        ("listeners", "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0"),
        ("ssl.client.auth", "required"),
    ]);
    s.extend(pki.broker_settings());
    s.extend(sets(extra));
    s
}

fn ssl_props(
    addr: std::net::SocketAddr,
    pki: &Pki,
    client: Option<&str>,
) -> Vec<(&'static str, String)> {
    let mut p = vec![
        ("bootstrap.servers", addr.to_string()),
        ("security.protocol", "SSL".to_string()),
        ("ssl.ca.location", pki.path("ca.pem")),
    ];
    if let Some(c) = client {
        p.push(("ssl.certificate.location", pki.path(&format!("{c}.crt"))));
        p.push(("ssl.key.location", pki.path(&format!("{c}.key"))));
    }
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtls_principal_is_the_client_certificates_full_dn() {
    if !have("kcat") || !have("openssl") {
        eprintln!("kcat or openssl not installed: skipped");
        return;
    }
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let (broker, rec) = start_recorded(dir.path(), &mtls_settings(&pki, &[])).await;
    let props = ssl_props(broker.listener_addr("SSL").unwrap(), &pki, Some("client"));
    let run = tokio::task::spawn_blocking(move || {
        let run = kcat(
            &props,
            &["-P", "-t", "tls-topic"],
            Some("a\nb\n"),
            KCAT_LIMIT,
        );
        assert!(run.ok, "produce over mTLS failed:\n{}", run.stderr);
        kcat(
            &props,
            &[
                "-C",
                "-t",
                "tls-topic",
                "-o",
                "beginning",
                "-e",
                "-c",
                "2",
                "-q",
            ],
            None,
            KCAT_LIMIT,
        )
    })
    .await
    .unwrap();
    assert!(run.ok, "{}", run.stderr);
    assert_eq!(run.stdout, "a\nb\n");
    assert!(
        rec.seen("SSL User:CN=alice,OU=eng,O=acme,C=US"),
        "principal not the RFC 2253 DN: {:?}",
        rec.all()
    );
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn principal_mapping_rules_shorten_the_dn() {
    if !have("kcat") || !have("openssl") {
        eprintln!("kcat or openssl not installed: skipped");
        return;
    }
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let settings = mtls_settings(
        &pki,
        &[(
            "ssl.principal.mapping.rules",
            "RULE:^CN=(.*?),OU=(.*?),.*$/$1@$2/U,DEFAULT",
        )],
    );
    let (broker, rec) = start_recorded(dir.path(), &settings).await;
    let props = ssl_props(broker.listener_addr("SSL").unwrap(), &pki, Some("client"));
    let run =
        tokio::task::spawn_blocking(move || kcat(&props, &["-L", "-m", "5"], None, KCAT_LIMIT))
            .await
            .unwrap();
    assert!(run.ok, "{}", run.stderr);
    assert!(rec.seen("SSL User:ALICE@ENG"), "{:?}", rec.all());
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_or_missing_client_certificate_is_refused() {
    if !have("kcat") || !have("openssl") {
        eprintln!("kcat or openssl not installed: skipped");
        return;
    }
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let (broker, rec) = start_recorded(dir.path(), &mtls_settings(&pki, &[])).await;
    let addr = broker.listener_addr("SSL").unwrap();
    for client in [Some("rogue-client"), None] {
        let props = ssl_props(addr, &pki, client);
        let run =
            tokio::task::spawn_blocking(move || kcat(&props, &["-L", "-m", "3"], None, KCAT_LIMIT))
                .await
                .unwrap();
        assert!(!run.ok, "{client:?} was let in");
        assert!(
            run.stderr.contains("SSL") || run.stderr.contains("ssl"),
            "{}",
            run.stderr
        );
    }
    assert!(
        !rec.all().iter().any(|s| s.starts_with("SSL ")),
        "{:?}",
        rec.all()
    );
    // Both refusals count as failed authentications (weir_authentication_failures_total);
    // kcat may retry a refused handshake.
    let failures = broker.state().telemetry.auth_failures();
    assert!(
        matches!(&failures[..], [(l, m, n)] if l == "SSL" && m == "SSL" && *n >= 2),
        "{failures:?}"
    );
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_to_tls_port_and_tls_to_plaintext_port_are_closed() {
    if !have("openssl") {
        eprintln!("openssl not installed: skipped");
        return;
    }
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let mut settings = sets(&[("listeners", "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0")]);
    settings.extend(pki.broker_settings());
    let (broker, _rec) = start_recorded(dir.path(), &settings).await;
    // A Kafka request in plaintext on the TLS port.
    let mut c = RawClient::connect(broker.listener_addr("SSL").unwrap()).await;
    c.send(
        RequestKind::ApiVersions(ApiVersionsRequest::default()),
        ApiKey::ApiVersions,
        0,
    )
    .await;
    assert!(c.is_closed().await, "plaintext served on the TLS port");
    // A TLS ClientHello on the plaintext port (openssl s_client).
    let plain = broker.listener_addr("PLAINTEXT").unwrap();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("timeout")
            .args(["10", "openssl", "s_client", "-connect", &plain.to_string()])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(!text.contains("BEGIN CERTIFICATE"), "{text}");
    // Both listeners still serve.
    let mut c = RawClient::connect(plain).await;
    let resp = c
        .call(
            RequestKind::ApiVersions(ApiVersionsRequest::default()),
            ApiKey::ApiVersions,
            0,
        )
        .await;
    assert!(matches!(resp, ResponseKind::ApiVersions(_)));
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encrypted_key_needs_ssl_key_password() {
    if !have("openssl") {
        eprintln!("openssl not installed: skipped");
        return;
    }
    let pki = Pki::new();
    let d = pki.dir.path();
    let st = std::process::Command::new("openssl")
        .args([
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-in",
            "server.key",
            "-out",
            "server.enc.key",
            "-passout",
            "pass:k3y",
        ])
        .current_dir(d)
        .status()
        .unwrap();
    assert!(st.success());
    let key = std::fs::read_to_string(d.join("server.enc.key")).unwrap();
    let crt = std::fs::read_to_string(d.join("server.crt")).unwrap();
    std::fs::write(d.join("enc.pem"), format!("{key}{crt}")).unwrap();
    let base = sets(&[
        ("listeners", "SSL://127.0.0.1:0"),
        ("ssl.keystore.type", "PEM"),
        ("ssl.keystore.location", &pki.path("enc.pem")),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = weir::BrokerConfig::ephemeral(dir.path());
    for (k, v) in &base {
        cfg.settings.set(k, v, weir::config::Source::Cli).unwrap();
    }
    let err = weir::Broker::start(cfg.clone())
        .await
        .err()
        .expect("starts without the password");
    assert!(err.to_string().contains("ssl.key.password"), "{err}");
    cfg.settings
        .set("ssl.key.password", "k3y", weir::config::Source::Cli)
        .unwrap();
    let broker = weir::Broker::start(cfg)
        .await
        .expect("starts with the password");
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_answers_each_client_with_its_own_listener() {
    let dir = tempfile::tempdir().unwrap();
    let settings = sets(&[
        (
            "listeners",
            "PLAINTEXT://127.0.0.1:0,INTERNAL://127.0.0.1:0",
        ),
        (
            "listener.security.protocol.map",
            "PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT",
        ),
        ("advertised.listeners", "INTERNAL://internal.example:19092"),
    ]);
    let (broker, rec) = start_recorded(dir.path(), &settings).await;
    let plain = broker.listener_addr("PLAINTEXT").unwrap();
    for (addr, host, port) in [
        (plain, "127.0.0.1".to_string(), plain.port() as i32),
        (
            broker.listener_addr("INTERNAL").unwrap(),
            "internal.example".to_string(),
            19092,
        ),
    ] {
        let mut c = RawClient::connect(addr).await;
        let resp = c
            .call(
                RequestKind::Metadata(MetadataRequest::default()),
                ApiKey::Metadata,
                12,
            )
            .await;
        let ResponseKind::Metadata(m) = resp else {
            panic!()
        };
        assert_eq!(m.brokers.len(), 1);
        assert_eq!(
            (m.brokers[0].host.to_string(), m.brokers[0].port),
            (host, port)
        );
    }
    assert!(rec.seen("INTERNAL User:ANONYMOUS"), "{:?}", rec.all());
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keystore_is_reloaded_when_its_file_changes() {
    if !have("openssl") {
        eprintln!("openssl not installed: skipped");
        return;
    }
    let pki = Pki::new();
    let d = pki.dir.path();
    std::fs::copy(d.join("server.pem"), d.join("live.pem")).unwrap();
    let settings = sets(&[
        ("listeners", "SSL://127.0.0.1:0"),
        ("ssl.keystore.type", "PEM"),
        ("ssl.keystore.location", &pki.path("live.pem")),
        ("weir.ssl.reload.interval.ms", "100"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let (broker, _rec) = start_recorded(dir.path(), &settings).await;
    let addr = broker.listener_addr("SSL").unwrap().to_string();
    let subject = |addr: String| {
        let out = std::process::Command::new("timeout")
            .args(["10", "openssl", "s_client", "-connect", &addr, "-showcerts"])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let a = addr.clone();
    let before = tokio::task::spawn_blocking(move || subject(a))
        .await
        .unwrap();
    assert!(
        before.contains("CN=localhost") || before.contains("CN = localhost"),
        "{before}"
    );
    // Replace the keystore with a certificate for another name.
    let st = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "new.key",
            "-out",
            "new.crt",
            "-days",
            "1",
            "-subj",
            "/CN=reloaded",
        ])
        .current_dir(d)
        .status()
        .unwrap();
    assert!(st.success());
    let key = std::fs::read_to_string(d.join("new.key")).unwrap();
    let crt = std::fs::read_to_string(d.join("new.crt")).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(d.join("live.pem.tmp"), format!("{key}{crt}")).unwrap();
    std::fs::rename(d.join("live.pem.tmp"), d.join("live.pem")).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let a = addr.clone();
        let now = tokio::task::spawn_blocking(move || subject(a))
            .await
            .unwrap();
        if now.contains("CN=reloaded") || now.contains("CN = reloaded") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not reloaded:\n{now}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_tls_makes_a_ca_and_serves_ssl_that_kcat_trusts() {
    if !have("kcat") {
        eprintln!("kcat not installed: skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (broker, rec) = start_recorded(dir.path(), &sets(&[("weir.dev.tls", "true")])).await;
    let ca = dir.path().join("dev-tls/ca.pem");
    assert!(ca.exists());
    let addr = broker
        .listener_addr("SSL")
        .expect("the --listen listener is SSL");
    let props = vec![
        ("bootstrap.servers", addr.to_string()),
        ("security.protocol", "SSL".to_string()),
        ("ssl.ca.location", ca.to_string_lossy().into_owned()),
    ];
    let run =
        tokio::task::spawn_blocking(move || kcat(&props, &["-L", "-m", "5"], None, KCAT_LIMIT))
            .await
            .unwrap();
    assert!(run.ok, "{}", run.stderr);
    assert!(rec.seen("SSL User:ANONYMOUS"), "{:?}", rec.all());
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requested_client_auth_without_a_certificate_is_anonymous() {
    if !have("kcat") || !have("openssl") {
        eprintln!("kcat or openssl not installed: skipped");
        return;
    }
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let settings = mtls_settings(&pki, &[("ssl.client.auth", "requested")]);
    let (broker, rec) = start_recorded(dir.path(), &settings).await;
    let props = ssl_props(broker.listener_addr("SSL").unwrap(), &pki, None);
    let run =
        tokio::task::spawn_blocking(move || kcat(&props, &["-L", "-m", "5"], None, KCAT_LIMIT))
            .await
            .unwrap();
    assert!(run.ok, "{}", run.stderr);
    assert!(rec.seen("SSL User:ANONYMOUS"), "{:?}", rec.all());
    broker.shutdown().await.unwrap();
}

/// The suite `openssl s_client` negotiates with `addr` when it offers `offered`
/// (TLS 1.3 names, most preferred first).
fn negotiated_suite(addr: &str, offered: &str) -> String {
    let out = std::process::Command::new("timeout")
        .args([
            "10",
            "openssl",
            "s_client",
            "-connect",
            addr,
            "-tls1_3",
            "-ciphersuites",
            offered,
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    stdout
        .lines()
        .find_map(|l| {
            l.split_once("Cipher is ")
                .map(|(_, c)| c.trim().to_string())
        })
        .unwrap_or_else(|| panic!("no cipher in s_client's output:\n{stdout}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_picks_the_cipher_suite_by_its_own_preference() {
    if !have("openssl") {
        eprintln!("openssl not installed: skipped");
        return;
    }
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let mut settings = sets(&[("listeners", "SSL://127.0.0.1:0")]);
    settings.extend(pki.broker_settings());
    let (broker, _rec) = start_recorded(dir.path(), &settings).await;
    let addr = broker.listener_addr("SSL").unwrap().to_string();
    // By default AES-128-GCM, even when the client lists AES-256 first.
    let suite = tokio::task::spawn_blocking(move || {
        negotiated_suite(&addr, "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256")
    })
    .await
    .unwrap();
    assert_eq!(suite, "TLS_AES_128_GCM_SHA256");

    // ssl.cipher.suites is the preference in its own order.
    let dir = tempfile::tempdir().unwrap();
    settings.push((
        "ssl.cipher.suites".to_string(),
        "TLS_AES_256_GCM_SHA384,TLS_AES_128_GCM_SHA256".to_string(),
    ));
    let (broker, _rec) = start_recorded(dir.path(), &settings).await;
    let addr = broker.listener_addr("SSL").unwrap().to_string();
    let suite = tokio::task::spawn_blocking(move || {
        negotiated_suite(&addr, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384")
    })
    .await
    .unwrap();
    assert_eq!(suite, "TLS_AES_256_GCM_SHA384");
}
