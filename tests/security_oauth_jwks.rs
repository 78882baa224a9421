//! OAUTHBEARER with signed JWTs against a JWKS file
//! (`sasl.oauthbearer.jwks.endpoint.url=file://...`,
//! `sasl.oauthbearer.expected.audience`, `expected.issuer`, `sub.claim.name`,
//! `clock.skew.seconds`) over real sockets with a raw SASL client: a token
//! signed by the key of the set authenticates as its subject; an expired
//! token, a wrong audience or issuer, a token signed by another key, an
//! unsecured (`alg: none`) token and one without `iat` get Kafka's
//! `invalid_token` challenge and then SASL_AUTHENTICATION_FAILED, and the
//! connection is closed.

mod support;

use base64::Engine;
use kafka_protocol::messages::{
    ApiKey, MetadataRequest, RequestKind, ResponseKind, SaslAuthenticateRequest,
    SaslHandshakeRequest,
};
use kafka_protocol::protocol::StrBytes;
use serde_json::json;
use support::security::*;
use support::*;

fn b64(d: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(d)
}

/// An Ed25519 key: (PKCS#8 DER, raw public key).
fn key() -> (Vec<u8>, Vec<u8>) {
    let k = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    (k.serialize_der(), k.public_key_raw().to_vec())
}

fn sign(pkcs8: &[u8], kid: &str, claims: &serde_json::Value) -> String {
    let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    h.kid = Some(kid.into());
    jsonwebtoken::encode(&h, claims, &jsonwebtoken::EncodingKey::from_ed_der(pkcs8)).unwrap()
}

/// The broker of the signed-JWT tests: (settings, trusted key's PKCS#8).
fn jwks_setup(dir: &std::path::Path) -> (Vec<(String, String)>, Vec<u8>) {
    let (trusted, public) = key();
    let jwks = dir.join("jwks.json");
    std::fs::write(
        &jwks,
        json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA",
                         "kid": "k1", "x": b64(&public)}]})
        .to_string(),
    )
    .unwrap();
    let url = format!("file://{}", jwks.display());
    let settings = [
        ("listeners", "SASL_PLAINTEXT://127.0.0.1:0"),
        ("sasl.enabled.mechanisms", "OAUTHBEARER"),
        ("sasl.oauthbearer.jwks.endpoint.url", &url),
        ("sasl.oauthbearer.expected.audience", "kafka,other"),
        ("sasl.oauthbearer.expected.issuer", "https://idp.test"),
        ("sasl.oauthbearer.sub.claim.name", "client_id"),
        ("sasl.oauthbearer.clock.skew.seconds", "5"),
        ("connection.failed.authentication.delay.ms", "10"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    (settings, trusted)
}

fn now() -> i64 {
    now_ms() / 1000
}

/// Handshake v1 + the client-first message: `Ok(())` authenticated (and a
/// request answered), `Err(challenge)` after the failure.
async fn oauth(addr: std::net::SocketAddr, token: &str) -> Result<(), String> {
    let mut c = RawClient::connect(addr).await;
    let resp = c
        .call(
            RequestKind::SaslHandshake(
                SaslHandshakeRequest::default()
                    .with_mechanism(StrBytes::from_static_str("OAUTHBEARER")),
            ),
            ApiKey::SaslHandshake,
            1,
        )
        .await;
    let ResponseKind::SaslHandshake(h) = resp else {
        panic!("{resp:?}")
    };
    assert_eq!(h.error_code, 0);
    let auth = |bytes: Vec<u8>| {
        RequestKind::SaslAuthenticate(
            SaslAuthenticateRequest::default().with_auth_bytes(bytes.into()),
        )
    };
    let first = format!("n,,\x01auth=Bearer {token}\x01\x01");
    let resp = c
        .call(auth(first.into_bytes()), ApiKey::SaslAuthenticate, 2)
        .await;
    let ResponseKind::SaslAuthenticate(r) = resp else {
        panic!("{resp:?}")
    };
    assert_eq!(r.error_code, 0, "{r:?}");
    if r.auth_bytes.is_empty() {
        let resp = c
            .call(
                RequestKind::Metadata(MetadataRequest::default()),
                ApiKey::Metadata,
                12,
            )
            .await;
        assert!(matches!(resp, ResponseKind::Metadata(_)));
        return Ok(());
    }
    let challenge = String::from_utf8(r.auth_bytes.to_vec()).unwrap();
    let resp = c
        .call(auth(b"\x01".to_vec()), ApiKey::SaslAuthenticate, 2)
        .await;
    let ResponseKind::SaslAuthenticate(r) = resp else {
        panic!("{resp:?}")
    };
    assert_eq!(r.error_code, 58, "SASL_AUTHENTICATION_FAILED");
    assert_eq!(r.error_message.as_deref(), Some(challenge.as_str()));
    assert!(c.is_closed().await);
    Err(challenge)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_jwts_are_checked_against_the_jwks_file() {
    let dir = tempfile::tempdir().unwrap();
    let (settings, trusted) = jwks_setup(dir.path());
    let (other, _) = key();
    let (broker, rec) = start_recorded(&dir.path().join("data"), &settings).await;
    let addr = broker.listener_addr("SASL_PLAINTEXT").unwrap();
    let t = now();
    let good = json!({"client_id": "svc-orders", "sub": "ignored", "aud": "kafka",
                      "iss": "https://idp.test", "iat": t, "exp": t + 600});
    assert_eq!(oauth(addr, &sign(&trusted, "k1", &good)).await, Ok(()));
    assert!(
        rec.seen("SASL_PLAINTEXT User:svc-orders"),
        "{:?}",
        rec.all()
    );

    let invalid = Err(r#"{"status":"invalid_token"}"#.to_string());
    let with = |k: &str, v: serde_json::Value| {
        let mut c = good.clone();
        c[k] = v;
        c
    };
    let mut no_iat = good.clone();
    no_iat.as_object_mut().unwrap().remove("iat");
    let bad_claims = [
        ("expired", with("exp", json!(t - 60))),
        ("wrong audience", with("aud", json!("somebody-else"))),
        ("wrong issuer", with("iss", json!("https://evil.test"))),
        ("no iat", no_iat),
        ("not yet valid", with("nbf", json!(t + 600))),
        ("no subject claim", with("client_id", json!(null))),
    ];
    for (what, claims) in bad_claims {
        assert_eq!(
            oauth(addr, &sign(&trusted, "k1", &claims)).await,
            invalid,
            "{what}"
        );
    }
    // Not yet valid by less than the clock skew: valid. (An expired token within
    // the skew would be valid too, but its session ends at once: KIP-368.)
    assert_eq!(
        oauth(addr, &sign(&trusted, "k1", &with("nbf", json!(t + 3)))).await,
        Ok(())
    );
    // Another key under the trusted kid, an unknown kid, an unsecured JWS.
    assert_eq!(oauth(addr, &sign(&other, "k1", &good)).await, invalid);
    assert_eq!(oauth(addr, &sign(&other, "k2", &good)).await, invalid);
    let unsecured = format!(
        "{}.{}.",
        b64(br#"{"alg":"none"}"#),
        b64(good.to_string().as_bytes())
    );
    assert_eq!(oauth(addr, &unsecured).await, invalid);
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_jwks_endpoint_or_a_missing_file_stops_the_start() {
    for (url, want) in [
        ("https://idp.test/jwks", "weir reads a JWKS file"),
        ("file:///nonexistent/jwks.json", "/nonexistent/jwks.json"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = weir::BrokerConfig::ephemeral(dir.path());
        for (k, v) in [
            ("listeners", "SASL_PLAINTEXT://127.0.0.1:0"),
            ("sasl.enabled.mechanisms", "OAUTHBEARER"),
            ("sasl.oauthbearer.jwks.endpoint.url", url),
        ] {
            cfg.settings.set(k, v, weir::config::Source::Cli).unwrap();
        }
        let err = match bounded("broker start", weir::Broker::start(cfg)).await {
            Ok(_) => panic!("started with {url}"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains(want), "{err}");
    }
}

/// confluent-kafka (librdkafka) with an `oauth_cb` handing it a signed JWT:
/// produces and consumes as the token's subject. Needs a Python with
/// confluent-kafka, hence ignored by plain `cargo test`:
/// `WEIR_TEST_PYTHON=conformance/.venv/bin/python cargo test --test
/// security_oauth_jwks -- --ignored` (default interpreter: `python3`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn confluent_kafka_with_a_signed_jwt() {
    let dir = tempfile::tempdir().unwrap();
    let (settings, trusted) = jwks_setup(dir.path());
    let (broker, rec) = start_recorded(&dir.path().join("data"), &settings).await;
    let addr = broker.listener_addr("SASL_PLAINTEXT").unwrap();
    let t = now();
    let token = sign(
        &trusted,
        "k1",
        &json!({"client_id": "svc-orders", "aud": "kafka", "iss": "https://idp.test",
                "iat": t, "exp": t + 600}),
    );
    let out = tokio::task::spawn_blocking(move || {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/security_clients.py");
        let python = std::env::var("WEIR_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let mut child = std::process::Command::new(&python)
            .args([script, "oauth-signed", &addr.to_string(), "jwt-topic"])
            .env("WEIR_TEST_TOKEN", token)
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
    assert!(
        out.status.success() && stdout.contains("OK"),
        "python client failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        rec.seen("SASL_PLAINTEXT User:svc-orders"),
        "{:?}",
        rec.all()
    );
    broker.shutdown().await.unwrap();
}
