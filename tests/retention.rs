//! Topic configs, retention and DeleteRecords through real clients: the rdkafka
//! AdminClient (CreateTopics, DescribeConfigs, AlterConfigs, DeleteRecords),
//! librdkafka producers and consumers, plus raw IncrementalAlterConfigs, against
//! an in-process broker over real sockets.

mod support;

use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::{
    alter_configs_request, AlterConfigsRequest, ApiKey, IncrementalAlterConfigsRequest,
    RequestKind, ResponseKind,
};
use kafka_protocol::protocol::StrBytes;
use rdkafka::admin::{
    AdminClient, AdminOptions, AlterConfig, ConfigSource, NewTopic, ResourceSpecifier,
    TopicReplication,
};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};
use support::{bounded, start_broker, RawClient};

fn admin(addr: SocketAddr) -> AdminClient<DefaultClientContext> {
    ClientConfig::new()
        .set("bootstrap.servers", addr.to_string())
        .create()
        .expect("admin client")
}

async fn create(addr: SocketAddr, name: &str, configs: &[(&str, &str)]) {
    let mut t = NewTopic::new(name, 1, TopicReplication::Fixed(1));
    for (k, v) in configs {
        t = t.set(k, v);
    }
    let res = bounded(
        "create",
        admin(addr).create_topics([&t], &AdminOptions::new()),
    )
    .await
    .expect("create topics");
    for r in res {
        r.expect("topic created");
    }
}

async fn describe(addr: SocketAddr, name: &str) -> Vec<rdkafka::admin::ConfigEntry> {
    let res = bounded(
        "describe",
        admin(addr).describe_configs([&ResourceSpecifier::Topic(name)], &AdminOptions::new()),
    )
    .await
    .expect("describe configs");
    res.into_iter().next().unwrap().expect("resource").entries
}

fn entry<'a>(
    entries: &'a [rdkafka::admin::ConfigEntry],
    name: &str,
) -> &'a rdkafka::admin::ConfigEntry {
    entries
        .iter()
        .find(|e| e.name == name)
        .unwrap_or_else(|| panic!("no entry {name}"))
}

async fn produce(addr: SocketAddr, topic: &str, n: usize, size: usize) -> Vec<i64> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", addr.to_string())
        .set("linger.ms", "2")
        .set("batch.size", "2000")
        .set("message.timeout.ms", "15000")
        .create()
        .expect("producer");
    let value = "v".repeat(size);
    let mut futs = Vec::new();
    for i in 0..n {
        let key = format!("key-{i}");
        futs.push(
            producer
                .send_result(FutureRecord::to(topic).key(&key).payload(&value))
                .map_err(|(e, _)| e)
                .expect("enqueue"),
        );
    }
    let mut offsets = Vec::new();
    for f in futs {
        let d = bounded("delivery", f)
            .await
            .unwrap()
            .map_err(|(e, _)| e)
            .expect("delivered");
        offsets.push(d.offset);
    }
    offsets
}

fn log_files(dir: &Path, topic: &str, suffix: &str) -> usize {
    std::fs::read_dir(dir.join(format!("{topic}-0")))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(suffix)
        })
        .count()
}

fn dir_bytes(dir: &Path, topic: &str) -> u64 {
    std::fs::read_dir(dir.join(format!("{topic}-0")))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
        .map(|e| e.metadata().unwrap().len())
        .sum()
}

fn watermarks(addr: SocketAddr, topic: &str) -> (i64, i64) {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", addr.to_string())
        .set("group.id", "weir-watermarks")
        .create()
        .unwrap();
    c.fetch_watermarks(topic, 0, Duration::from_secs(10))
        .expect("watermarks")
}

/// Poll `cond` every 100 ms for up to 30 s.
async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cond() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topic_configs_are_created_altered_described_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[("log.retention.bytes", "123456789")]).await;
    let addr = broker.addr();
    create(
        addr,
        "cfg",
        &[
            ("cleanup.policy", "compact,delete"),
            ("retention.ms", "3600000"),
            ("segment.bytes", "1048576"),
            ("min.compaction.lag.ms", "10"),
            ("max.compaction.lag.ms", "60000"),
            ("message.timestamp.type", "LogAppendTime"),
            ("compression.type", "zstd"),
        ],
    )
    .await;
    let e = describe(addr, "cfg").await;
    assert_eq!(
        entry(&e, "cleanup.policy").value.as_deref(),
        Some("compact,delete")
    );
    assert_eq!(
        entry(&e, "cleanup.policy").source,
        ConfigSource::DynamicTopic
    );
    assert_eq!(
        entry(&e, "max.compaction.lag.ms").value.as_deref(),
        Some("60000")
    );
    assert_eq!(
        entry(&e, "retention.bytes").value.as_deref(),
        Some("123456789")
    );
    assert_eq!(
        entry(&e, "retention.bytes").source,
        ConfigSource::StaticBroker
    );
    assert_eq!(
        entry(&e, "delete.retention.ms").source,
        ConfigSource::Default
    );
    assert_eq!(
        entry(&e, "delete.retention.ms").value.as_deref(),
        Some("86400000")
    );

    // AlterConfigs replaces the whole override set.
    let alter = AlterConfig::new(ResourceSpecifier::Topic("cfg"))
        .set("retention.ms", "7200000")
        .set("cleanup.policy", "delete");
    let res = bounded(
        "alter",
        admin(addr).alter_configs([&alter], &AdminOptions::new()),
    )
    .await
    .unwrap();
    res.into_iter().next().unwrap().expect("altered");
    let e = describe(addr, "cfg").await;
    assert_eq!(entry(&e, "retention.ms").value.as_deref(), Some("7200000"));
    assert_eq!(entry(&e, "cleanup.policy").value.as_deref(), Some("delete"));
    assert_eq!(entry(&e, "compression.type").source, ConfigSource::Default);
    assert_eq!(
        entry(&e, "compression.type").value.as_deref(),
        Some("producer")
    );

    // Invalid values are rejected with INVALID_CONFIG naming the key, and
    // nothing changes. (The rdkafka crate drops per-resource AlterConfigs
    // errors, so this goes over a raw socket.)
    let mut raw = RawClient::connect(addr).await;
    for (k, v) in [
        ("retention.ms", "soon"),
        ("cleanup.policy", "shred"),
        ("min.cleanable.dirty.ratio", "1.5"),
        ("no.such.config", "1"),
    ] {
        let req = RequestKind::AlterConfigs(AlterConfigsRequest::default().with_resources(vec![
            alter_configs_request::AlterConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(StrBytes::from_static_str("cfg"))
                .with_configs(vec![alter_configs_request::AlterableConfig::default()
                    .with_name(StrBytes::from_string(k.into()))
                    .with_value(Some(StrBytes::from_string(v.into())))]),
        ]));
        for version in [0, 2] {
            let ResponseKind::AlterConfigs(r) =
                raw.call(req.clone(), ApiKey::AlterConfigs, version).await
            else {
                panic!()
            };
            assert_eq!(r.responses[0].error_code, 40, "{k}={v} is INVALID_CONFIG");
            let msg = r.responses[0].error_message.as_ref().unwrap().to_string();
            assert!(msg.contains(k), "{msg}");
        }
    }
    let e = describe(addr, "cfg").await;
    assert_eq!(entry(&e, "retention.ms").value.as_deref(), Some("7200000"));

    // IncrementalAlterConfigs: APPEND to a list, SET, DELETE; messages name the key.
    let op = |name: &str, op: i8, value: Option<&str>| {
        AlterableConfig::default()
            .with_name(StrBytes::from_string(name.into()))
            .with_config_operation(op)
            .with_value(value.map(|v| StrBytes::from_string(v.into())))
    };
    let req = |configs: Vec<AlterableConfig>| {
        RequestKind::IncrementalAlterConfigs(
            IncrementalAlterConfigsRequest::default().with_resources(vec![
                AlterConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(StrBytes::from_static_str("cfg"))
                    .with_configs(configs),
            ]),
        )
    };
    let resp = raw
        .call(
            req(vec![
                op("cleanup.policy", 2, Some("compact")),
                op("segment.ms", 0, Some("600000")),
                op("retention.ms", 1, None),
            ]),
            ApiKey::IncrementalAlterConfigs,
            1,
        )
        .await;
    let ResponseKind::IncrementalAlterConfigs(r) = resp else {
        panic!()
    };
    assert_eq!(
        r.responses[0].error_code, 0,
        "{:?}",
        r.responses[0].error_message
    );
    let resp = raw
        .call(
            req(vec![op("segment.ms", 2, Some("5"))]),
            ApiKey::IncrementalAlterConfigs,
            0,
        )
        .await;
    let ResponseKind::IncrementalAlterConfigs(r) = resp else {
        panic!()
    };
    assert_eq!(
        r.responses[0].error_code, 40,
        "APPEND to a non-list is INVALID_CONFIG"
    );
    assert!(r.responses[0]
        .error_message
        .as_ref()
        .unwrap()
        .contains("segment.ms"));

    // Both APIs refuse a key named twice with INVALID_REQUEST (42), and leave
    // the topic as it was; a topic key on a broker resource is, to Kafka 4.4, a
    // broker key it does not know, which it stores (no effect on the topic).
    let resp = raw
        .call(
            req(vec![
                op("segment.ms", 0, Some("700000")),
                op("segment.ms", 0, Some("800000")),
            ]),
            ApiKey::IncrementalAlterConfigs,
            1,
        )
        .await;
    let ResponseKind::IncrementalAlterConfigs(r) = resp else {
        panic!()
    };
    assert_eq!(r.responses[0].error_code, 42, "duplicate key");
    let dup = alter_configs_request::AlterableConfig::default()
        .with_name(StrBytes::from_static_str("segment.ms"))
        .with_value(Some(StrBytes::from_static_str("900000")));
    for (resource_type, name) in [(2i8, "cfg"), (4, "1")] {
        let configs = if resource_type == 2 {
            vec![dup.clone(), dup.clone()]
        } else {
            vec![dup.clone()]
        };
        let req = RequestKind::AlterConfigs(AlterConfigsRequest::default().with_resources(vec![
            alter_configs_request::AlterConfigsResource::default()
                .with_resource_type(resource_type)
                .with_resource_name(StrBytes::from_string(name.into()))
                .with_configs(configs),
        ]));
        let ResponseKind::AlterConfigs(r) = raw.call(req, ApiKey::AlterConfigs, 2).await else {
            panic!()
        };
        let want = if resource_type == 2 { 42 } else { 0 };
        assert_eq!(
            r.responses[0].error_code, want,
            "resource type {resource_type}"
        );
    }
    let e = describe(addr, "cfg").await;
    assert_eq!(entry(&e, "segment.ms").value.as_deref(), Some("600000"));
    let e = describe(addr, "cfg").await;
    assert_eq!(
        entry(&e, "cleanup.policy").value.as_deref(),
        Some("delete,compact")
    );
    assert_eq!(entry(&e, "segment.ms").value.as_deref(), Some("600000"));
    assert_eq!(entry(&e, "retention.ms").source, ConfigSource::Default);

    // Persisted across a restart.
    bounded("shutdown", broker.shutdown()).await.unwrap();
    let broker = start_broker(dir.path(), &[("log.retention.bytes", "123456789")]).await;
    let e = describe(broker.addr(), "cfg").await;
    assert_eq!(
        entry(&e, "cleanup.policy").value.as_deref(),
        Some("delete,compact")
    );
    assert_eq!(entry(&e, "segment.ms").value.as_deref(), Some("600000"));
    assert_eq!(
        entry(&e, "cleanup.policy").source,
        ConfigSource::DynamicTopic
    );
    bounded("shutdown", broker.shutdown()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_segments_with_short_retention_lose_old_segments_and_consumers_reset() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[("log.retention.check.interval.ms", "100")]).await;
    let addr = broker.addr();
    create(
        addr,
        "short",
        &[("segment.bytes", "2048"), ("retention.ms", "1500")],
    )
    .await;
    let offsets = produce(addr, "short", 300, 50).await;
    assert_eq!(offsets.len(), 300);
    let segments = log_files(dir.path(), "short", ".log");
    assert!(segments > 5, "{segments} segments");
    // After retention.ms every segment goes, the active one too (as Kafka:
    // it rolls an empty one at the log end first): ListOffsets earliest ==
    // latest == 300.
    eventually("every segment deleted", || {
        watermarks(addr, "short") == (300, 300)
    })
    .await;
    assert_eq!(log_files(dir.path(), "short", ".log"), 1);
    assert_eq!(log_files(dir.path(), "short", ".index"), 1);
    assert_eq!(log_files(dir.path(), "short", ".timeindex"), 1);
    let low = 300;
    // The next record gets the next offset.
    assert_eq!(produce(addr, "short", 1, 50).await, vec![300]);

    // A consumer positioned below the log start gets OFFSET_OUT_OF_RANGE and
    // resets per auto.offset.reset=earliest.
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", addr.to_string())
        .set("group.id", "weir-reset")
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("short", 0, Offset::Offset(0))
        .unwrap();
    c.assign(&tpl).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let first = loop {
        assert!(Instant::now() < deadline, "no record after reset");
        if let Some(m) = c.poll(Duration::from_millis(200)) {
            break m.expect("record").offset();
        }
    };
    assert_eq!(first, low);
    bounded("shutdown", broker.shutdown()).await.unwrap();
}

/// The retention schedule puts a log's next look at when its oldest segment
/// expires (a week out at the default `retention.ms`); lowering
/// `retention.ms` with IncrementalAlterConfigs must take effect at the next
/// pass, not then.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lowering_retention_ms_at_run_time_deletes_at_the_next_pass() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[("log.retention.check.interval.ms", "100")]).await;
    let addr = broker.addr();
    create(addr, "later", &[("segment.bytes", "2048")]).await;
    produce(addr, "later", 300, 50).await;
    let segments = log_files(dir.path(), "later", ".log");
    assert!(segments > 5, "{segments} segments");
    // Passes go by (every 100 ms): nothing is due for a week.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(log_files(dir.path(), "later", ".log"), segments);
    let mut raw = RawClient::connect(addr).await;
    let (code, message) = raw
        .incremental_alter_configs(2, "later", &[("retention.ms", Some("1"), 0)], false)
        .await;
    assert_eq!(code, 0, "{message:?}");
    // Every segment goes, the active one too (Kafka's rule).
    eventually("every segment deleted after the change", || {
        watermarks(addr, "later") == (300, 300)
    })
    .await;
    assert_eq!(log_files(dir.path(), "later", ".log"), 1);
    bounded("shutdown", broker.shutdown()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_bytes_bounds_the_partition_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[("log.retention.check.interval.ms", "100")]).await;
    let addr = broker.addr();
    create(
        addr,
        "bounded",
        &[("segment.bytes", "4096"), ("retention.bytes", "16384")],
    )
    .await;
    produce(addr, "bounded", 2_000, 40).await;
    eventually("size within retention.bytes + one segment", || {
        dir_bytes(dir.path(), "bounded") <= 16384 + 4096
    })
    .await;
    let size = dir_bytes(dir.path(), "bounded");
    assert!(
        size >= 16384 - 4096,
        "not deleting more than needed: {size}"
    );
    let (low, high) = watermarks(addr, "bounded");
    assert_eq!(high, 2_000);
    assert!(low > 1_000, "{low}");
    bounded("shutdown", broker.shutdown()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_records_moves_the_low_watermark_and_rejects_offsets_past_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let addr = broker.addr();
    create(addr, "dr", &[("segment.bytes", "2048")]).await;
    produce(addr, "dr", 200, 40).await;
    let before = log_files(dir.path(), "dr", ".log");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("dr", 0, Offset::Offset(150))
        .unwrap();
    let res = bounded(
        "delete records",
        admin(addr).delete_records(&tpl, &AdminOptions::new()),
    )
    .await
    .expect("delete records");
    let p = res.find_partition("dr", 0).unwrap();
    assert!(p.error().is_ok(), "{:?}", p.error());
    assert_eq!(p.offset(), Offset::Offset(150));
    assert_eq!(watermarks(addr, "dr"), (150, 200));
    assert!(
        log_files(dir.path(), "dr", ".log") < before,
        "segments below 150 deleted"
    );

    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("dr", 0, Offset::Offset(500))
        .unwrap();
    let res = bounded(
        "delete past end",
        admin(addr).delete_records(&tpl, &AdminOptions::new()),
    )
    .await;
    let failed = match res {
        Ok(list) => list.find_partition("dr", 0).unwrap().error().is_err(),
        Err(_) => true,
    };
    assert!(failed, "offset past the high watermark is rejected");
    assert_eq!(watermarks(addr, "dr"), (150, 200));

    // The new log start survives a restart.
    bounded("shutdown", broker.shutdown()).await.unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    assert_eq!(watermarks(broker.addr(), "dr"), (150, 200));
    bounded("shutdown", broker.shutdown()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyless_records_on_a_compacted_topic_are_invalid_record() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let addr = broker.addr();
    create(addr, "keys", &[("cleanup.policy", "compact")]).await;
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", addr.to_string())
        .set("message.timeout.ms", "10000")
        .create()
        .unwrap();
    let res = bounded(
        "keyless",
        producer.send(
            FutureRecord::<str, str>::to("keys").payload("no key"),
            Duration::from_secs(10),
        ),
    )
    .await;
    let (err, _) = res.expect_err("keyless record rejected");
    assert_eq!(
        err.rdkafka_error_code(),
        Some(rdkafka::error::RDKafkaErrorCode::InvalidRecord),
        "{err}"
    );
    let ok = bounded(
        "keyed",
        producer.send(
            FutureRecord::to("keys").key("k").payload("v"),
            Duration::from_secs(10),
        ),
    )
    .await;
    assert!(ok.is_ok(), "{ok:?}");
    assert_eq!(watermarks(addr, "keys"), (0, 1));
    bounded("shutdown", broker.shutdown()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn min_compaction_lag_above_max_is_invalid_config_on_create_and_alter() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let addr = broker.addr();
    let t = NewTopic::new("lag", 1, TopicReplication::Fixed(1))
        .set("min.compaction.lag.ms", "5000")
        .set("max.compaction.lag.ms", "1000");
    let res = bounded(
        "create",
        admin(addr).create_topics([&t], &AdminOptions::new()),
    )
    .await
    .unwrap();
    let err = res.into_iter().next().unwrap().expect_err("rejected");
    assert_eq!(err.1, rdkafka::types::RDKafkaErrorCode::InvalidConfig);
    create(addr, "lag", &[("max.compaction.lag.ms", "1000")]).await;
    let mut raw = RawClient::connect(addr).await;
    let req = RequestKind::AlterConfigs(AlterConfigsRequest::default().with_resources(vec![
        alter_configs_request::AlterConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(StrBytes::from_static_str("lag"))
            .with_configs(vec![alter_configs_request::AlterableConfig::default()
                .with_name(StrBytes::from_static_str("min.compaction.lag.ms"))
                .with_value(Some(StrBytes::from_static_str("5000")))]),
    ]));
    let ResponseKind::AlterConfigs(r) = raw.call(req, ApiKey::AlterConfigs, 1).await else {
        panic!()
    };
    // Full replacement drops max.compaction.lag.ms back to its default (Long.MAX),
    // so this one is valid; now set both in an invalid combination.
    assert_eq!(r.responses[0].error_code, 0);
    let req = RequestKind::AlterConfigs(AlterConfigsRequest::default().with_resources(vec![
        alter_configs_request::AlterConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(StrBytes::from_static_str("lag"))
            .with_configs(vec![
                alter_configs_request::AlterableConfig::default()
                    .with_name(StrBytes::from_static_str("min.compaction.lag.ms"))
                    .with_value(Some(StrBytes::from_static_str("5000"))),
                alter_configs_request::AlterableConfig::default()
                    .with_name(StrBytes::from_static_str("max.compaction.lag.ms"))
                    .with_value(Some(StrBytes::from_static_str("10"))),
            ]),
    ]));
    let ResponseKind::AlterConfigs(r) = raw.call(req, ApiKey::AlterConfigs, 1).await else {
        panic!()
    };
    assert_eq!(r.responses[0].error_code, 40);
    assert!(r.responses[0]
        .error_message
        .as_ref()
        .unwrap()
        .contains("min.compaction.lag.ms"));
    bounded("shutdown", broker.shutdown()).await.unwrap();
}

/// As Kafka: a topic that got records and then nothing loses them all once
/// `retention.ms` has passed, the active segment too (weir used to keep the
/// active segment forever). ListOffsets earliest == latest == N afterwards,
/// the next record gets offset N, a fetch at 0 is OFFSET_OUT_OF_RANGE.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_topic_loses_its_expired_active_segment() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[("log.retention.check.interval.ms", "100")]).await;
    let addr = broker.addr();
    create(addr, "idle-expiry", &[("retention.ms", "1000")]).await;
    let offsets = produce(addr, "idle-expiry", 10, 20).await;
    assert_eq!(offsets, (0..10).collect::<Vec<i64>>());
    assert_eq!(log_files(dir.path(), "idle-expiry", ".log"), 1);
    eventually("the active segment expired", || {
        watermarks(addr, "idle-expiry") == (10, 10)
    })
    .await;
    assert_eq!(log_files(dir.path(), "idle-expiry", ".log"), 1);
    assert_eq!(produce(addr, "idle-expiry", 1, 20).await, vec![10]);
    assert_eq!(watermarks(addr, "idle-expiry"), (10, 11));
    let mut raw = RawClient::connect(addr).await;
    let ResponseKind::Fetch(r) = raw
        .call(
            support::fetch_req("idle-expiry", 0, 0, 1, 0),
            ApiKey::Fetch,
            12,
        )
        .await
    else {
        panic!("not a fetch response")
    };
    assert_eq!(
        r.responses[0].partitions[0].error_code, 1,
        "OFFSET_OUT_OF_RANGE"
    );
    bounded("shutdown", broker.shutdown()).await.unwrap();
}
