//! The request versions Kafka 4.0 removed (KIP-896) and message formats v0/v1
//! (KIP-724), over a real socket, written byte by byte as clients of Kafka
//! 0.10-2.0 send them: each old version's edge cases, and message sets of
//! each magic and codec round-tripping through weir to a v2 reader and back
//! to a v0/v1 reader.

mod support;

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, RequestKind, ResponseKind};
use support::wire::*;
use support::*;
use weir_storage::batch::iter_batches;
use weir_storage::compression::Compression;
use weir_storage::legacy::{decode_message_set, encode_message_set, LegacyRecord, PlainRecord};

const CODECS: [Compression; 4] = [
    Compression::None,
    Compression::Gzip,
    Compression::Snappy,
    Compression::Lz4,
];

fn three() -> Vec<PlainRecord<'static>> {
    vec![
        (1_700_000_000_001, Some(b"k0"), Some(b"v0")),
        (1_700_000_000_002, None, Some(b"v1")),
        (1_700_000_000_003, Some(b"k2"), None),
    ]
}

/// Every v2 record of a v12 fetch from `offset`: (offset, timestamp, key, value).
#[allow(clippy::type_complexity)]
async fn v2_records(
    c: &mut RawClient,
    topic: &str,
    offset: i64,
) -> Vec<(i64, i64, Option<Bytes>, Option<Bytes>)> {
    let ResponseKind::Fetch(f) = c
        .call(
            support::raw::fetch_req(topic, 0, offset, 1, 0),
            ApiKey::Fetch,
            12,
        )
        .await
    else {
        panic!()
    };
    let records = f.responses[0].partitions[0]
        .records
        .clone()
        .unwrap_or_default();
    let mut out = Vec::new();
    for b in iter_batches(&records) {
        for r in b.unwrap().records().unwrap() {
            if r.offset >= offset {
                out.push((r.offset, r.timestamp, r.key, r.value));
            }
        }
    }
    out
}

async fn fetch_old(c: &mut RawClient, topic: &str, offset: i64, version: i16) -> Vec<LegacyRecord> {
    let r = c
        .call_raw(
            1,
            version,
            &wire::fetch_req(topic, 0, offset, version, 1 << 20),
        )
        .await;
    let (err, _hw, set) = fetch_resp(r, version);
    assert_eq!(err, 0, "fetch v{version}");
    decode_message_set(&set).unwrap()
}

#[tokio::test]
async fn message_sets_of_each_magic_and_codec_round_trip_to_v2_and_old_readers() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    let mut base = 0;
    create_topic_raw(&mut c, "legacy", 1).await;
    for magic in [0u8, 1] {
        for codec in CODECS {
            let what = format!("magic {magic} {codec:?}");
            let set = encode_message_set(magic, codec, &three()).unwrap();
            // Kafka 0.9 producers send magic 0 on v0-1, 0.10 producers magic 1 on v2.
            for version in if magic == 0 { [0, 1] } else { [2, 2] } {
                let r = c
                    .call_raw(0, version, &produce_req("legacy", 0, &set))
                    .await;
                let (err, offset, _) = produce_resp(r, version);
                assert_eq!((err, offset), (0, base), "{what} v{version}");
                // A modern (v2) reader sees the records, timestamps kept (v0: none).
                let got = v2_records(&mut c, "legacy", base).await;
                assert_eq!(got.len(), 3, "{what}");
                for (i, (r, want)) in got.iter().zip(three()).enumerate() {
                    assert_eq!(r.0, base + i as i64);
                    assert_eq!(r.1, if magic == 0 { -1 } else { want.0 }, "{what}");
                    assert_eq!(r.2.as_deref(), want.1);
                    assert_eq!(r.3.as_deref(), want.2);
                }
                // Old readers: Fetch v0-1 get magic 0, v2-3 magic 1.
                for fv in 0..=3 {
                    let old = fetch_old(&mut c, "legacy", base, fv).await;
                    let want_magic = if fv <= 1 { 0 } else { 1 };
                    assert_eq!(old.len(), 3, "{what} fetch v{fv}");
                    for (i, (r, want)) in old.iter().zip(three()).enumerate() {
                        assert_eq!(r.offset, base + i as i64, "{what} fetch v{fv}");
                        assert_eq!(r.magic, want_magic);
                        let ts = match (want_magic, magic) {
                            (0, _) => None,
                            (_, 0) => Some(-1),
                            _ => Some(want.0),
                        };
                        assert_eq!(r.timestamp, ts, "{what} fetch v{fv}");
                        assert_eq!(r.key.as_deref(), want.1);
                        assert_eq!(r.value.as_deref(), want.2);
                    }
                }
                base += 3;
            }
        }
    }
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn produce_v2_answers_the_log_append_time_and_v0_has_no_throttle_field() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "lat", 1).await;
    let ResponseKind::AlterConfigs(_) = c
        .call(
            RequestKind::AlterConfigs(
                kafka_protocol::messages::AlterConfigsRequest::default().with_resources(vec![
                    kafka_protocol::messages::alter_configs_request::AlterConfigsResource::default(
                    )
                    .with_resource_type(2)
                    .with_resource_name("lat".into())
                    .with_configs(vec![
                        kafka_protocol::messages::alter_configs_request::AlterableConfig::default()
                            .with_name("message.timestamp.type".into())
                            .with_value(Some("LogAppendTime".into())),
                    ]),
                ]),
            ),
            ApiKey::AlterConfigs,
            0,
        )
        .await
    else {
        panic!()
    };
    let before = now_ms();
    let set = encode_message_set(1, Compression::Gzip, &three()).unwrap();
    let r = c.call_raw(0, 2, &produce_req("lat", 0, &set)).await;
    let (err, offset, lat) = produce_resp(r, 2);
    assert_eq!((err, offset), (0, 0));
    assert!(lat >= before, "log append time {lat} < {before}");
    // A magic 1 reader sees LogAppendTime on every message.
    let old = fetch_old(&mut c, "lat", 0, 2).await;
    assert!(old
        .iter()
        .all(|r| r.log_append_time && r.timestamp == Some(lat)));
    // v0: the body ends right after the partitions (produce_resp checks the end).
    let set = encode_message_set(0, Compression::None, &three()).unwrap();
    let r = c.call_raw(0, 0, &produce_req("lat", 0, &set)).await;
    assert_eq!(produce_resp(r, 0).0, 0);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_message_with_a_bad_crc_is_corrupt_message_and_nothing_is_appended() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "crc", 1).await;
    for magic in [0u8, 1] {
        let mut set = encode_message_set(magic, Compression::None, &three()).unwrap();
        let last = set.len() - 1;
        set[last] ^= 0x55;
        let r = c.call_raw(0, 1, &produce_req("crc", 0, &set)).await;
        assert_eq!(produce_resp(r, 1).0, 2, "CORRUPT_MESSAGE for magic {magic}");
        // A truncated message set is corrupt too.
        let set = encode_message_set(magic, Compression::Gzip, &three()).unwrap();
        let r = c
            .call_raw(0, 1, &produce_req("crc", 0, &set[..set.len() - 4]))
            .await;
        assert_eq!(produce_resp(r, 1).0, 2, "truncated magic {magic}");
    }
    // zstd cannot be named by message formats v0/v1.
    let mut set = encode_message_set(1, Compression::None, &three()[..1]).unwrap();
    set[17] = 4; // attributes: codec 4
    let crc = crc32fast::hash(&set[16..]);
    set[12..16].copy_from_slice(&crc.to_be_bytes());
    let r = c.call_raw(0, 2, &produce_req("crc", 0, &set)).await;
    assert_eq!(produce_resp(r, 2).0, 76, "UNSUPPORTED_COMPRESSION_TYPE");
    assert!(v2_records(&mut c, "crc", 0).await.is_empty());
    // The connection is still usable and v2 batches still go in on v2.
    let r = c
        .call_raw(0, 2, &produce_req("crc", 0, &batch(2, -1, -1, -1)))
        .await;
    assert_eq!(produce_resp(r, 2), (0, 0, -1));
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn old_fetches_down_convert_from_the_fetch_offset_in_a_compressed_batch() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "mid", 1).await;
    // A modern producer's compressed batch of 5 records.
    let mut b = weir_storage::BatchBuilder::new();
    b.compression = Compression::Snappy;
    for i in 0..5 {
        b.push(weir_storage::Record {
            offset: i,
            timestamp: 1000 + i,
            key: None,
            value: Some(Bytes::from(format!("r{i}"))),
            headers: vec![],
        });
    }
    assert_eq!(
        produce_raw(&mut c, "mid", 0, b.build().unwrap(), 9)
            .await
            .error_code,
        0
    );
    for v in 0..=3 {
        let old = fetch_old(&mut c, "mid", 2, v).await;
        let offsets: Vec<i64> = old.iter().map(|r| r.offset).collect();
        assert_eq!(offsets, [2, 3, 4], "fetch v{v}");
        assert_eq!(old[0].value.as_deref(), Some(&b"r2"[..]));
    }
    // At the log end: an empty message set, the high watermark.
    let r = c
        .call_raw(1, 0, &wire::fetch_req("mid", 0, 5, 0, 1 << 20))
        .await;
    let (err, hw, set) = fetch_resp(r, 0);
    assert_eq!((err, hw, set.len()), (0, 5, 0));
    // Unknown partition: UNKNOWN_TOPIC_OR_PARTITION.
    let r = c
        .call_raw(1, 3, &wire::fetch_req("nope", 0, 0, 3, 1 << 20))
        .await;
    assert_eq!(fetch_resp(r, 3).0, 3);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn zstd_data_is_unsupported_compression_type_for_old_fetches() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "z", 1).await;
    let mut b = weir_storage::BatchBuilder::new();
    b.compression = Compression::Zstd;
    b.push(weir_storage::Record {
        offset: 0,
        timestamp: 1,
        key: None,
        value: Some(Bytes::from_static(b"z")),
        headers: vec![],
    });
    assert_eq!(
        produce_raw(&mut c, "z", 0, b.build().unwrap(), 9)
            .await
            .error_code,
        0
    );
    let r = c
        .call_raw(1, 2, &wire::fetch_req("z", 0, 0, 2, 1 << 20))
        .await;
    let (err, _, set) = fetch_resp(r, 2);
    assert_eq!((err, set.len()), (76, 0));
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn list_offsets_v0_answers_at_most_max_num_offsets_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "lo", 1).await;
    // Empty log: latest is [0] (Kafka: the one segment's base offset).
    let r = c.call_raw(2, 0, &list_offsets_req("lo", 0, -1, 10)).await;
    assert_eq!(list_offsets_resp(r), (0, vec![0]));
    assert_eq!(
        produce_raw(&mut c, "lo", 0, batch(3, -1, -1, -1), 9)
            .await
            .error_code,
        0
    );
    let cases = [
        (-1, 1, vec![3]),
        (-1, 2, vec![3, 0]),
        (-1, 0, vec![]),
        (-2, 1, vec![0]),
        (-2, 5, vec![0]),
        (1_700_000_000_001, 1, vec![1]),
        (i64::MAX, 1, vec![]),
    ];
    for (ts, max, want) in cases {
        let r = c.call_raw(2, 0, &list_offsets_req("lo", 0, ts, max)).await;
        assert_eq!(list_offsets_resp(r), (0, want), "timestamp {ts} max {max}");
    }
    let r = c.call_raw(2, 0, &list_offsets_req("nope", 0, -1, 1)).await;
    assert_eq!(list_offsets_resp(r), (3, vec![]));
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn offset_commit_v0_v1_and_offset_fetch_v0_share_the_group_store() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "oc", 1).await;
    let r = c
        .call_raw(8, 0, &offset_commit_req("g0", 0, "oc", 0, 5, 0, "zk-era"))
        .await;
    assert_eq!(offset_commit_resp(r), [0]);
    for v in [0, 1] {
        let r = c.call_raw(9, v, &offset_fetch_req("g0", "oc", 0)).await;
        assert_eq!(offset_fetch_resp(r), (5, Some("zk-era".into()), 0), "v{v}");
    }
    let r = c
        .call_raw(8, 1, &offset_commit_req("g1", 1, "oc", 0, 7, -1, "m"))
        .await;
    assert_eq!(offset_commit_resp(r), [0]);
    let r = c.call_raw(9, 0, &offset_fetch_req("g1", "oc", 0)).await;
    assert_eq!(offset_fetch_resp(r), (7, Some("m".into()), 0));
    // Unknown partition, and nothing committed: -1.
    let r = c
        .call_raw(8, 1, &offset_commit_req("g1", 1, "oc", 9, 7, -1, "m"))
        .await;
    assert_eq!(offset_commit_resp(r), [3]);
    let r = c.call_raw(9, 0, &offset_fetch_req("g2", "oc", 0)).await;
    assert_eq!(offset_fetch_resp(r).0, -1);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn describe_configs_v0_says_is_default_instead_of_a_source() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "dc", 1).await;
    let r = c.call_raw(32, 0, &describe_configs_req(2, "dc")).await;
    let res = describe_configs_resp(r);
    assert_eq!(res.len(), 1);
    assert_eq!(res[0].0, 0);
    let retention = res[0]
        .1
        .iter()
        .find(|c| c.0 == "retention.ms")
        .expect("retention.ms listed");
    assert_eq!(retention.1.as_deref(), Some("604800000"));
    assert!(retention.3, "a default value is_default");
    let r = c.call_raw(32, 0, &describe_configs_req(2, "missing")).await;
    assert_eq!(describe_configs_resp(r)[0].0, 3);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn create_topics_v0_v1_and_delete_topics_v0() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    let r = c.call_raw(19, 0, &create_topics_req("ct", 2, 0)).await;
    assert_eq!(create_topics_resp(r, 0), [("ct".to_string(), 0, None)]);
    let r = c.call_raw(19, 1, &create_topics_req("ct", 2, 1)).await;
    let got = create_topics_resp(r, 1);
    assert_eq!(got[0].1, 36, "TOPIC_ALREADY_EXISTS");
    assert!(got[0].2.is_some(), "v1 carries the message");
    let r = c.call_raw(19, 0, &create_topics_req("ct", 2, 0)).await;
    assert_eq!(create_topics_resp(r, 0)[0].1, 36);
    assert_eq!(
        broker
            .state()
            .partitions
            .topic("ct")
            .unwrap()
            .partition_count(),
        2
    );
    let r = c.call_raw(20, 0, &delete_topics_req("ct")).await;
    assert_eq!(delete_topics_resp(r), [("ct".to_string(), 0)]);
    let r = c.call_raw(20, 0, &delete_topics_req("ct")).await;
    assert_eq!(delete_topics_resp(r), [("ct".to_string(), 3)]);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn offset_for_leader_epoch_v0_v1_and_describe_log_dirs_v0() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "ep", 1).await;
    assert_eq!(
        produce_raw(&mut c, "ep", 0, batch(4, -1, -1, -1), 9)
            .await
            .error_code,
        0
    );
    for v in [0, 1] {
        let r = c
            .call_raw(23, v, &offset_for_leader_epoch_req("ep", 0, 0))
            .await;
        let want_epoch = if v >= 1 { 0 } else { -1 };
        assert_eq!(
            offset_for_leader_epoch_resp(r, v),
            (0, want_epoch, 4),
            "v{v}"
        );
        let r = c
            .call_raw(23, v, &offset_for_leader_epoch_req("nope", 0, 0))
            .await;
        assert_eq!(offset_for_leader_epoch_resp(r, v).0, 3);
    }
    let r = c.call_raw(35, 0, &describe_log_dirs_req()).await;
    let dirs = describe_log_dirs_resp(r);
    assert_eq!(dirs.len(), 1);
    assert_eq!(dirs[0].0, 0);
    assert!(dirs[0].2.iter().any(|(t, _)| t == "ep"));
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn api_versions_advertises_every_version_since_kafka_0_10() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    let ResponseKind::ApiVersions(v) = c
        .call(
            RequestKind::ApiVersions(ApiVersionsRequest::default()),
            ApiKey::ApiVersions,
            0,
        )
        .await
    else {
        panic!()
    };
    for key in [
        ApiKey::Produce,
        ApiKey::Fetch,
        ApiKey::ListOffsets,
        ApiKey::Metadata,
        ApiKey::OffsetCommit,
        ApiKey::OffsetFetch,
        ApiKey::FindCoordinator,
        ApiKey::JoinGroup,
        ApiKey::CreateTopics,
        ApiKey::DeleteTopics,
        ApiKey::DescribeConfigs,
        ApiKey::OffsetForLeaderEpoch,
        ApiKey::DescribeLogDirs,
    ] {
        let k = v
            .api_keys
            .iter()
            .find(|k| k.api_key == key as i16)
            .unwrap_or_else(|| panic!("{key:?} advertised"));
        assert_eq!(k.min_version, 0, "{key:?}");
    }
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn offset_commit_v1_keeps_the_clients_commit_timestamp_for_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let sets = [
        ("offsets.retention.minutes", "1"),
        ("offsets.retention.check.interval.ms", "100"),
    ];
    let broker = start_broker(dir.path(), &sets).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "ts", 1).await;
    // Committed "ten minutes ago" by the client's clock: past the 1-minute retention.
    let old = now_ms() - 10 * 60_000;
    let r = c
        .call_raw(8, 1, &offset_commit_req("old", 1, "ts", 0, 3, old, ""))
        .await;
    assert_eq!(offset_commit_resp(r), [0]);
    // -1: the broker's time (Kafka's DEFAULT_TIMESTAMP).
    let r = c
        .call_raw(8, 1, &offset_commit_req("now", 1, "ts", 0, 3, -1, ""))
        .await;
    assert_eq!(offset_commit_resp(r), [0]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let r = c.call_raw(9, 0, &offset_fetch_req("old", "ts", 0)).await;
        if offset_fetch_resp(r).0 == -1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the offset committed with an old v1 timestamp did not expire"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let r = c.call_raw(9, 0, &offset_fetch_req("now", "ts", 0)).await;
    assert_eq!(
        offset_fetch_resp(r).0,
        3,
        "a commit at the broker's time stays"
    );
    broker.shutdown().await.unwrap();
}
