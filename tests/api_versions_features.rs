//! ApiVersions' feature flags (v3+), over a real socket: what
//! `Admin.describeFeatures` and `kafka-features describe` read, in the shape a
//! one-node Kafka 4.4 answers (checked against `benches/peers/kafka` with the
//! same requests): v3 lists only the supported features whose minimum is above
//! 0, v4 all of them; finalized features are those at a level above 0, with an
//! epoch. `transaction.version` is not finalized at 2: a 4.x Java producer would
//! switch to KIP-890's transaction protocol, which weir does not run.

mod support;

use kafka_protocol::messages::*;
use support::{start_broker, RawClient};

async fn api_versions(c: &mut RawClient, version: i16) -> ApiVersionsResponse {
    let req = ApiVersionsRequest::default()
        .with_client_software_name(kafka_protocol::protocol::StrBytes::from_static_str("t"))
        .with_client_software_version(kafka_protocol::protocol::StrBytes::from_static_str("1"));
    match c
        .call(RequestKind::ApiVersions(req), ApiKey::ApiVersions, version)
        .await
    {
        ResponseKind::ApiVersions(r) => r,
        other => panic!("unexpected response {other:?}"),
    }
}

fn supported(r: &ApiVersionsResponse) -> Vec<(String, i16, i16)> {
    r.supported_features
        .iter()
        .map(|f| (f.name.to_string(), f.min_version, f.max_version))
        .collect()
}

fn finalized(r: &ApiVersionsResponse) -> Vec<(String, i16, i16)> {
    r.finalized_features
        .iter()
        .map(|f| (f.name.to_string(), f.min_version_level, f.max_version_level))
        .collect()
}

fn list(v: &[(&str, i16, i16)]) -> Vec<(String, i16, i16)> {
    v.iter().map(|(n, a, b)| (n.to_string(), *a, *b)).collect()
}

#[tokio::test]
async fn api_versions_lists_supported_and_finalized_features_as_kafka_4_4_does() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;

    let v4 = api_versions(&mut c, 4).await;
    assert_eq!(v4.error_code, 0);
    assert_eq!(
        supported(&v4),
        list(&[
            ("metadata.version", 7, 33),
            ("kraft.version", 0, 0),
            ("group.version", 0, 1),
            ("streams.version", 0, 1),
            ("transaction.version", 0, 0),
        ])
    );
    let fin = list(&[
        ("metadata.version", 33, 33),
        ("group.version", 1, 1),
        ("streams.version", 1, 1),
    ]);
    assert_eq!(finalized(&v4), fin);
    assert!(v4.finalized_features_epoch >= 0);

    // v3: a minimum of 0 is left out (older clients reject it), as Kafka does.
    let v3 = api_versions(&mut c, 3).await;
    assert_eq!(supported(&v3), list(&[("metadata.version", 7, 33)]));
    assert_eq!(finalized(&v3), fin);
    assert_eq!(v3.finalized_features_epoch, v4.finalized_features_epoch);

    // Before v3 there are no features in the protocol.
    for v in 0..3 {
        let r = api_versions(&mut c, v).await;
        assert!(r.supported_features.is_empty() && r.finalized_features.is_empty());
        assert!(!r.api_keys.is_empty());
    }
    broker.shutdown().await.unwrap();
}
