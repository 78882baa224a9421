//! Dynamic broker configs (issue 21) over a real socket with raw requests:
//! IncrementalAlterConfigs and AlterConfigs on a BROKER resource (this
//! broker's id, and `""` for the cluster default) accept Kafka's dynamic
//! keys, refuse read-only ones with Kafka's texts, persist across a restart,
//! take effect without one, and DescribeConfigs shows them with Kafka's
//! sources and synonyms. Every expected answer is what a Kafka 4.4.0 broker
//! (benches/peers/kafka) answered to the same requests.

mod support;

use kafka_protocol::messages::alter_configs_request::{
    AlterConfigsResource as LegacyResource, AlterableConfig as LegacyConfig,
};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_configs_response::DescribeConfigsResult;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use support::*;

const TOPIC_RESOURCE: i8 = 2;
const BROKER_RESOURCE: i8 = 4;
const SET: i8 = 0;
const DELETE: i8 = 1;
const APPEND: i8 = 2;
const SUBTRACT: i8 = 3;
const DYNAMIC_BROKER: i8 = 2;
const DYNAMIC_DEFAULT: i8 = 3;
const DEFAULT: i8 = 5;

fn s(x: &str) -> StrBytes {
    StrBytes::from_string(x.to_string())
}

type Syn = (String, Option<String>, i8);

fn syn(name: &str, value: &str, source: i8) -> Syn {
    (name.to_string(), Some(value.to_string()), source)
}

async fn incremental(
    c: &mut RawClient,
    resource_type: i8,
    name: &str,
    ops: &[(&str, Option<&str>, i8)],
) -> (i16, Option<String>) {
    c.incremental_alter_configs(resource_type, name, ops, false)
        .await
}

async fn legacy_alter(
    c: &mut RawClient,
    name: &str,
    configs: &[(&str, &str)],
) -> (i16, Option<String>) {
    let req = AlterConfigsRequest::default().with_resources(vec![LegacyResource::default()
        .with_resource_type(BROKER_RESOURCE)
        .with_resource_name(s(name))
        .with_configs(
            configs
                .iter()
                .map(|(k, v)| {
                    LegacyConfig::default()
                        .with_name(s(k))
                        .with_value(Some(s(v)))
                })
                .collect(),
        )]);
    let ResponseKind::AlterConfigs(r) = c
        .call(RequestKind::AlterConfigs(req), ApiKey::AlterConfigs, 2)
        .await
    else {
        panic!()
    };
    let res = &r.responses[0];
    (
        res.error_code,
        res.error_message.as_ref().map(|m| m.to_string()),
    )
}

async fn describe(
    c: &mut RawClient,
    resource_type: i8,
    name: &str,
    keys: &[&str],
) -> DescribeConfigsResult {
    let req = DescribeConfigsRequest::default()
        .with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(resource_type)
            .with_resource_name(s(name))
            .with_configuration_keys(
                (!keys.is_empty()).then(|| keys.iter().map(|k| s(k)).collect()),
            )])
        .with_include_synonyms(true);
    let ResponseKind::DescribeConfigs(mut r) = c
        .call(
            RequestKind::DescribeConfigs(req),
            ApiKey::DescribeConfigs,
            4,
        )
        .await
    else {
        panic!()
    };
    r.results.remove(0)
}

/// (value, source, synonyms) of one described key.
fn described(r: &DescribeConfigsResult, name: &str) -> (Option<String>, i8, Vec<Syn>) {
    let e = r
        .configs
        .iter()
        .find(|e| e.name.as_str() == name)
        .unwrap_or_else(|| panic!("{name} not described"));
    let syns = e
        .synonyms
        .iter()
        .map(|s| {
            (
                s.name.to_string(),
                s.value.as_ref().map(|v| v.to_string()),
                s.source,
            )
        })
        .collect();
    (
        e.value.as_ref().map(|v| v.to_string()),
        e.config_source,
        syns,
    )
}

#[tokio::test]
async fn dynamic_broker_configs_are_set_described_applied_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = start_broker(dir.path(), &[]).await;
    let id = broker.state().node_id.to_string();
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "t", 1).await;

    let ok = (0, None);
    let set = |k: &'static str, v: &'static str| (k, Some(v), SET);
    assert_eq!(
        incremental(
            &mut c,
            BROKER_RESOURCE,
            &id,
            &[set("log.cleaner.backoff.ms", "20000")]
        )
        .await,
        ok
    );
    assert_eq!(
        incremental(
            &mut c,
            BROKER_RESOURCE,
            "",
            &[set("message.max.bytes", "2000000")]
        )
        .await,
        ok
    );
    assert_eq!(
        incremental(
            &mut c,
            BROKER_RESOURCE,
            "",
            &[set("log.retention.ms", "7200000")]
        )
        .await,
        ok
    );
    // APPEND to an unset list starts from Kafka's default ("delete").
    let append = [("log.cleanup.policy", Some("compact"), APPEND)];
    assert_eq!(incremental(&mut c, BROKER_RESOURCE, &id, &append).await, ok);
    let subtract = [("log.cleanup.policy", Some("delete"), SUBTRACT)];
    assert_eq!(
        incremental(&mut c, BROKER_RESOURCE, &id, &subtract).await,
        ok
    );

    let check = |r: &DescribeConfigsResult| {
        assert_eq!(
            described(r, "log.cleaner.backoff.ms"),
            (
                Some("20000".into()),
                DYNAMIC_BROKER,
                vec![
                    syn("log.cleaner.backoff.ms", "20000", DYNAMIC_BROKER),
                    syn("log.cleaner.backoff.ms", "15000", DEFAULT)
                ]
            )
        );
        assert_eq!(
            described(r, "log.retention.ms"),
            (
                Some("7200000".into()),
                DYNAMIC_DEFAULT,
                vec![
                    syn("log.retention.ms", "7200000", DYNAMIC_DEFAULT),
                    syn("log.retention.hours", "168", DEFAULT)
                ]
            )
        );
        assert_eq!(
            described(r, "message.max.bytes"),
            (
                Some("2000000".into()),
                DYNAMIC_DEFAULT,
                vec![
                    syn("message.max.bytes", "2000000", DYNAMIC_DEFAULT),
                    syn("message.max.bytes", "1048588", DEFAULT)
                ]
            )
        );
        assert_eq!(
            described(r, "log.cleanup.policy"),
            (
                Some("compact".into()),
                DYNAMIC_BROKER,
                vec![
                    syn("log.cleanup.policy", "compact", DYNAMIC_BROKER),
                    syn("log.cleanup.policy", "delete", DEFAULT)
                ]
            )
        );
    };
    check(&describe(&mut c, BROKER_RESOURCE, &id, &[]).await);
    let d = describe(&mut c, BROKER_RESOURCE, "", &[]).await;
    assert_eq!(d.error_code, 0);
    // With min.insync.replicas, which a fresh Kafka 4.4 cluster keeps there.
    assert_eq!(d.configs.len(), 3);
    assert_eq!(
        described(&d, "min.insync.replicas"),
        (
            Some("1".into()),
            DYNAMIC_DEFAULT,
            vec![syn("min.insync.replicas", "1", DYNAMIC_DEFAULT)]
        )
    );
    assert_eq!(
        described(&d, "log.retention.ms"),
        (
            Some("7200000".into()),
            DYNAMIC_DEFAULT,
            vec![syn("log.retention.ms", "7200000", DYNAMIC_DEFAULT)]
        )
    );
    // Topics fall back to the dynamic values.
    let t = describe(
        &mut c,
        TOPIC_RESOURCE,
        "t",
        &["max.message.bytes", "retention.ms", "cleanup.policy"],
    )
    .await;
    assert_eq!(
        described(&t, "max.message.bytes"),
        (
            Some("2000000".into()),
            DYNAMIC_DEFAULT,
            vec![
                syn("message.max.bytes", "2000000", DYNAMIC_DEFAULT),
                syn("message.max.bytes", "1048588", DEFAULT)
            ]
        )
    );
    assert_eq!(described(&t, "retention.ms").0.as_deref(), Some("7200000"));
    assert_eq!(described(&t, "cleanup.policy").1, DYNAMIC_BROKER);

    // Kept across a restart (the data dir's weir-dynamic-configs.checkpoint).
    assert!(dir.path().join("weir-dynamic-configs.checkpoint").exists());
    broker.restart().await;
    let mut c = RawClient::connect(broker.addr()).await;
    check(&describe(&mut c, BROKER_RESOURCE, &id, &[]).await);

    // DELETE goes back to the default; DELETE of an unset key succeeds.
    let del = [("log.cleaner.backoff.ms", None, DELETE)];
    assert_eq!(incremental(&mut c, BROKER_RESOURCE, &id, &del).await, ok);
    assert_eq!(incremental(&mut c, BROKER_RESOURCE, &id, &del).await, ok);
    let r = describe(&mut c, BROKER_RESOURCE, &id, &["log.cleaner.backoff.ms"]).await;
    assert_eq!(
        described(&r, "log.cleaner.backoff.ms"),
        (
            Some("15000".into()),
            DEFAULT,
            vec![syn("log.cleaner.backoff.ms", "15000", DEFAULT)]
        )
    );

    // AlterConfigs replaces the whole per-broker set.
    assert_eq!(
        legacy_alter(&mut c, &id, &[("log.cleaner.backoff.ms", "30000")]).await,
        ok
    );
    let r = describe(
        &mut c,
        BROKER_RESOURCE,
        &id,
        &["log.cleaner.backoff.ms", "log.cleanup.policy"],
    )
    .await;
    assert_eq!(
        described(&r, "log.cleaner.backoff.ms").0.as_deref(),
        Some("30000")
    );
    assert_eq!(described(&r, "log.cleanup.policy").1, DEFAULT);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_dynamic_message_max_bytes_applies_to_the_next_produce() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let id = broker.state().node_id.to_string();
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "small", 1).await;
    let ops = [("message.max.bytes", Some("100"), SET)];
    assert_eq!(
        incremental(&mut c, BROKER_RESOURCE, &id, &ops).await,
        (0, None)
    );
    let p = produce_raw(&mut c, "small", 0, batch(10, -1, -1, -1), 9).await;
    assert_eq!(p.error_code, ResponseError::MessageTooLarge.code());
    let ops = [("message.max.bytes", None, DELETE)];
    assert_eq!(
        incremental(&mut c, BROKER_RESOURCE, &id, &ops).await,
        (0, None)
    );
    let p = produce_raw(&mut c, "small", 0, batch(10, -1, -1, -1), 9).await;
    assert_eq!(p.error_code, 0);
    broker.shutdown().await.unwrap();
}

/// (resource name, operation, expected error code, expected message).
type Refusal<'a> = (&'a str, (&'a str, Option<&'a str>, i8), i16, &'a str);

#[tokio::test]
async fn refused_broker_configs_answer_as_kafka() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let id = broker.state().node_id.to_string();
    let mut c = RawClient::connect(broker.addr()).await;
    let invalid_request = ResponseError::InvalidRequest.code();
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "1",
            "broker.id",
            "5",
            "Cannot update these configs dynamically: [broker.id]",
        ),
        (
            "",
            "num.partitions",
            "3",
            "Cannot update these configs dynamically: [num.partitions]",
        ),
        (
            "1",
            "advertised.listeners",
            "PLAINTEXT://x:1",
            "Cannot update these configs dynamically: [advertised.listeners]",
        ),
        (
            "",
            "log.roll.hours",
            "5",
            "Cannot update these configs dynamically: [log.roll.hours]",
        ),
        (
            "1",
            "log.retention.ms",
            "abc",
            "Invalid value abc for configuration log.retention.ms: Not a number of type LONG",
        ),
        (
            "1",
            "log.segment.bytes",
            "100",
            "Invalid value 100 for configuration log.segment.bytes: Value must be at least 1048576",
        ),
        (
            "1",
            "message.max.bytes",
            "-1",
            "Invalid value -1 for configuration message.max.bytes: Value must be at least 0",
        ),
        // A key Kafka does not know is stored, as Kafka 4.4 does: see
        // tests/fidelity_open.rs (unknown_broker_keys_are_stored_as_kafka).
    ];
    for (res, k, v, want) in cases {
        let name = if *res == "1" { id.as_str() } else { "" };
        let got = incremental(&mut c, BROKER_RESOURCE, name, &[(k, Some(v), SET)]).await;
        assert_eq!(got, (invalid_request, Some(want.to_string())), "{k}={v}");
    }
    let got = legacy_alter(
        &mut c,
        "",
        &[("log.retention.ms", "1000"), ("num.partitions", "2")],
    )
    .await;
    assert_eq!(
        got,
        (
            invalid_request,
            Some("Cannot update these configs dynamically: [num.partitions]".into())
        )
    );
    let other = (broker.state().node_id + 6).to_string();
    let got = incremental(
        &mut c,
        BROKER_RESOURCE,
        &other,
        &[("log.retention.ms", Some("5"), SET)],
    )
    .await;
    assert_eq!(
        got,
        (
            invalid_request,
            Some(format!(
                "Unexpected broker id, expected {id}, but received {other}"
            ))
        )
    );
    let invalid_config = ResponseError::InvalidConfig.code();
    let more: &[Refusal] = &[
        ("1", ("min.insync.replicas", Some("2"), SET), invalid_config, "Broker-level min.insync.replicas cannot be altered while ELR is enabled."),
        ("", ("min.insync.replicas", None, DELETE), invalid_config, "Cluster-level min.insync.replicas cannot be removed while ELR is enabled."),
        ("1", ("log.retention.ms", Some("5"), APPEND), invalid_config, "Config value append is not allowed for config key: log.retention.ms"),
        ("1", ("no.such.thing", Some("5"), APPEND), invalid_config, "Unknown config name: no.such.thing"),
        ("1", ("ssl.keystore.password", Some("x"), SET), invalid_request, "These security configs can be dynamically updated only per-listener using the listener prefix: [ssl.keystore.password]"),
    ];
    for (res, op, code, want) in more {
        let name = if *res == "1" { id.as_str() } else { "" };
        let got = incremental(&mut c, BROKER_RESOURCE, name, &[*op]).await;
        assert_eq!(got, (*code, Some(want.to_string())), "{op:?}");
    }
    // The cluster-level min.insync.replicas may be set; nothing else was applied.
    let ops = [("min.insync.replicas", Some("1"), SET)];
    assert_eq!(
        incremental(&mut c, BROKER_RESOURCE, "", &ops).await,
        (0, None)
    );
    let r = describe(&mut c, BROKER_RESOURCE, "", &[]).await;
    let names: Vec<&str> = r.configs.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, vec!["min.insync.replicas"]);
    broker.shutdown().await.unwrap();
}
