//! Produce / Fetch / ListOffsets semantics over a raw socket: idempotent
//! duplicates stored once with the original offsets, out-of-order sequences and
//! fenced epochs rejected, corrupt and oversized batches rejected per partition,
//! long-poll fetches woken by the append, offsets by time and position.

mod support;

use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{
    ApiKey, InitProducerIdRequest, ListOffsetsRequest, RequestKind, ResponseKind,
};
use kafka_protocol::ResponseError;
use std::time::{Duration, Instant};
use support::*;
use weir_storage::batch::iter_batches_lenient;

async fn init_producer_id(c: &mut RawClient) -> (i64, i16) {
    // No transactional id (null): kafka-protocol's default is "", which Kafka refuses.
    let req = InitProducerIdRequest::default()
        .with_transactional_id(None)
        .with_transaction_timeout_ms(60_000);
    let ResponseKind::InitProducerId(r) = c
        .call(RequestKind::InitProducerId(req), ApiKey::InitProducerId, 4)
        .await
    else {
        panic!()
    };
    assert_eq!(r.error_code, 0);
    (r.producer_id.0, r.producer_epoch)
}

async fn fetch_all(c: &mut RawClient, topic: &str, partition: i32) -> (Vec<(i64, i64)>, i64) {
    let ResponseKind::Fetch(resp) = c
        .call(fetch_req(topic, partition, 0, 1, 0), ApiKey::Fetch, 12)
        .await
    else {
        panic!()
    };
    let p = &resp.responses[0].partitions[0];
    assert_eq!(p.error_code, 0);
    let records = p.records.clone().unwrap_or_default();
    let batches = iter_batches_lenient(&records)
        .map(|b| (b.base_offset(), b.last_offset()))
        .collect();
    (batches, p.high_watermark)
}

#[tokio::test]
async fn duplicate_idempotent_batch_is_stored_once_with_original_offset() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "idem", 1).await;
    let (pid, epoch) = init_producer_id(&mut c).await;
    let first = produce_raw(&mut c, "idem", 0, batch(3, pid, epoch, 0), 9).await;
    assert_eq!((first.error_code, first.base_offset), (0, 0));
    let second = produce_raw(&mut c, "idem", 0, batch(2, pid, epoch, 3), 9).await;
    assert_eq!((second.error_code, second.base_offset), (0, 3));
    // The retry of the first batch: same producer, epoch and sequence.
    let retry = produce_raw(&mut c, "idem", 0, batch(3, pid, epoch, 0), 9).await;
    assert_eq!((retry.error_code, retry.base_offset), (0, 0));
    let (batches, hw) = fetch_all(&mut c, "idem", 0).await;
    assert_eq!(batches, vec![(0, 2), (3, 4)]);
    assert_eq!(hw, 5);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn sequence_gap_is_out_of_order_and_old_epoch_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "seq", 1).await;
    let (pid, _) = init_producer_id(&mut c).await;
    assert_eq!(
        produce_raw(&mut c, "seq", 0, batch(1, pid, 5, 0), 9)
            .await
            .error_code,
        0
    );
    let gap = produce_raw(&mut c, "seq", 0, batch(1, pid, 5, 7), 9).await;
    assert_eq!(
        gap.error_code,
        ResponseError::OutOfOrderSequenceNumber.code()
    );
    let old = produce_raw(&mut c, "seq", 0, batch(1, pid, 4, 1), 9).await;
    assert_eq!(old.error_code, ResponseError::InvalidProducerEpoch.code());
    let (batches, _) = fetch_all(&mut c, "seq", 0).await;
    assert_eq!(batches, vec![(0, 0)], "rejected batches are not stored");
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn producer_state_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "idem-restart", 1).await;
    let (pid, epoch) = init_producer_id(&mut c).await;
    assert_eq!(
        produce_raw(&mut c, "idem-restart", 0, batch(4, pid, epoch, 0), 9)
            .await
            .base_offset,
        0
    );
    drop(c);
    broker.shutdown().await.unwrap();

    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    let retry = produce_raw(&mut c, "idem-restart", 0, batch(4, pid, epoch, 0), 9).await;
    assert_eq!(
        (retry.error_code, retry.base_offset),
        (0, 0),
        "duplicate after restart"
    );
    let gap = produce_raw(&mut c, "idem-restart", 0, batch(1, pid, epoch, 9), 9).await;
    assert_eq!(
        gap.error_code,
        ResponseError::OutOfOrderSequenceNumber.code()
    );
    let next = produce_raw(&mut c, "idem-restart", 0, batch(1, pid, epoch, 4), 9).await;
    assert_eq!((next.error_code, next.base_offset), (0, 4));
    // New producer ids never repeat across restarts.
    let (pid2, _) = init_producer_id(&mut c).await;
    assert_ne!(pid2, pid);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn corrupt_oversized_and_unknown_partitions_get_their_own_errors() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[("message.max.bytes", "2000")]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "errs", 1).await;
    let mut bad = batch(2, -1, -1, -1);
    let last = bad.len() - 1;
    bad[last] ^= 0xff; // breaks the CRC
    assert_eq!(
        produce_raw(&mut c, "errs", 0, bad, 9).await.error_code,
        ResponseError::CorruptMessage.code()
    );
    let big = {
        let mut b = weir_storage::BatchBuilder::new();
        b.push(weir_storage::Record {
            offset: 0,
            timestamp: 1,
            key: None,
            value: Some(bytes::Bytes::from(vec![7u8; 5000])),
            headers: vec![],
        });
        b.build().unwrap()
    };
    assert_eq!(
        produce_raw(&mut c, "errs", 0, big, 9).await.error_code,
        ResponseError::MessageTooLarge.code()
    );
    assert_eq!(
        produce_raw(&mut c, "no-such-topic", 0, batch(1, -1, -1, -1), 9)
            .await
            .error_code,
        ResponseError::UnknownTopicOrPartition.code()
    );
    assert_eq!(
        produce_raw(&mut c, "errs", 5, batch(1, -1, -1, -1), 9)
            .await
            .error_code,
        ResponseError::UnknownTopicOrPartition.code()
    );
    assert_eq!(
        produce_raw(&mut c, "errs", 0, vec![1, 2, 3], 9)
            .await
            .error_code,
        ResponseError::CorruptMessage.code()
    );
    // The partition is still fine and empty.
    let ok = produce_raw(&mut c, "errs", 0, batch(1, -1, -1, -1), 9).await;
    assert_eq!((ok.error_code, ok.base_offset), (0, 0));
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn waiting_fetch_returns_when_an_append_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut consumer = RawClient::connect(broker.addr()).await;
    let mut producer = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut producer, "tail", 1).await;
    // Long poll: up to 20 s for 1 byte.
    let started = Instant::now();
    consumer
        .send(fetch_req("tail", 0, 0, 1, 20_000), ApiKey::Fetch, 12)
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        produce_raw(&mut producer, "tail", 0, batch(2, -1, -1, -1), 9)
            .await
            .error_code,
        0
    );
    let (_, resp) = consumer.recv(ApiKey::Fetch, 12).await;
    let ResponseKind::Fetch(resp) = resp else {
        panic!()
    };
    let p = &resp.responses[0].partitions[0];
    assert_eq!(p.high_watermark, 2);
    assert!(!p.records.as_ref().unwrap().is_empty());
    // Woken by the append, not by the 20 s max wait.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "fetch took {:?}",
        started.elapsed()
    );
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn fetch_times_out_empty_and_reports_out_of_range() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "quiet", 1).await;
    let started = Instant::now();
    let ResponseKind::Fetch(resp) = c
        .call(fetch_req("quiet", 0, 0, 1, 300), ApiKey::Fetch, 12)
        .await
    else {
        panic!()
    };
    assert!(started.elapsed() >= Duration::from_millis(250));
    assert!(resp.responses[0].partitions[0]
        .records
        .as_ref()
        .unwrap()
        .is_empty());
    let ResponseKind::Fetch(resp) = c
        .call(fetch_req("quiet", 0, 42, 1, 0), ApiKey::Fetch, 12)
        .await
    else {
        panic!()
    };
    assert_eq!(
        resp.responses[0].partitions[0].error_code,
        ResponseError::OffsetOutOfRange.code()
    );
    let ResponseKind::Fetch(resp) = c
        .call(fetch_req("nope", 0, 0, 1, 0), ApiKey::Fetch, 12)
        .await
    else {
        panic!()
    };
    assert_eq!(
        resp.responses[0].partitions[0].error_code,
        ResponseError::UnknownTopicOrPartition.code()
    );
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn list_offsets_earliest_latest_by_time_and_max_timestamp() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "times", 1).await;
    // Records 0..5 at 1_700_000_000_000 + i.
    assert_eq!(
        produce_raw(&mut c, "times", 0, batch(5, -1, -1, -1), 9)
            .await
            .error_code,
        0
    );
    let query = |ts: i64| {
        RequestKind::ListOffsets(ListOffsetsRequest::default().with_topics(
            vec![ListOffsetsTopic::default()
                .with_name(tname("times"))
                .with_partitions(vec![ListOffsetsPartition::default()
                    .with_partition_index(0)
                    .with_timestamp(ts)])],
        ))
    };
    let mut ask = async |ts: i64| {
        let ResponseKind::ListOffsets(r) = c.call(query(ts), ApiKey::ListOffsets, 9).await else {
            panic!()
        };
        let p = &r.topics[0].partitions[0];
        assert_eq!(p.error_code, 0, "ts {ts}");
        (p.offset, p.timestamp)
    };
    assert_eq!(ask(-2).await.0, 0);
    assert_eq!(ask(-1).await.0, 5);
    // latest-tiered without tiered storage: none (Kafka 4.4's UnifiedLog answers -1, -1)
    assert_eq!(ask(-5).await, (-1, -1));
    assert_eq!(ask(-4).await.0, 0);
    assert_eq!(ask(1_700_000_000_002).await, (2, 1_700_000_000_002));
    assert_eq!(ask(1_800_000_000_000).await.0, -1);
    assert_eq!(ask(-3).await, (4, 1_700_000_000_004));
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn topic_compression_type_recompresses_producer_batches() {
    use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
    use kafka_protocol::messages::CreateTopicsRequest;
    use kafka_protocol::protocol::StrBytes;
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    let req = CreateTopicsRequest::default().with_topics(vec![CreatableTopic::default()
        .with_name(tname("zipped"))
        .with_num_partitions(1)
        .with_replication_factor(1)
        .with_configs(vec![CreatableTopicConfig::default()
            .with_name(StrBytes::from_static_str("compression.type"))
            .with_value(Some(StrBytes::from_static_str("zstd")))])]);
    let ResponseKind::CreateTopics(r) = c
        .call(RequestKind::CreateTopics(req), ApiKey::CreateTopics, 7)
        .await
    else {
        panic!()
    };
    assert_eq!(r.topics[0].error_code, 0);
    let sent = batch(20, -1, -1, -1);
    assert_eq!(
        produce_raw(&mut c, "zipped", 0, sent.clone(), 9)
            .await
            .error_code,
        0
    );
    let ResponseKind::Fetch(resp) = c
        .call(fetch_req("zipped", 0, 0, 1, 0), ApiKey::Fetch, 12)
        .await
    else {
        panic!()
    };
    let records = resp.responses[0].partitions[0].records.clone().unwrap();
    let stored: Vec<_> = iter_batches_lenient(&records).collect();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].compression().unwrap(),
        weir_storage::Compression::Zstd
    );
    stored[0].validate_crc().unwrap();
    let original = weir_storage::BatchHeader::parse(&sent)
        .unwrap()
        .records()
        .unwrap();
    assert_eq!(stored[0].records().unwrap(), original);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn acks_zero_gets_no_response_and_later_requests_stay_in_order() {
    use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
    use kafka_protocol::messages::ProduceRequest;
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "fire", 1).await;
    for _ in 0..3 {
        let req = ProduceRequest::default()
            .with_acks(0)
            .with_timeout_ms(1000)
            .with_topic_data(vec![TopicProduceData::default()
                .with_name(tname("fire"))
                .with_partition_data(vec![PartitionProduceData::default()
                    .with_index(0)
                    .with_records(Some(bytes::Bytes::from(batch(1, -1, -1, -1))))])]);
        c.send(RequestKind::Produce(req), ApiKey::Produce, 9).await;
    }
    // The next response on the wire answers this fetch: acks=0 produced nothing.
    let corr = c
        .send(fetch_req("fire", 0, 0, 1, 0), ApiKey::Fetch, 12)
        .await;
    let (got, resp) = c.recv(ApiKey::Fetch, 12).await;
    assert_eq!(got, corr);
    let ResponseKind::Fetch(resp) = resp else {
        panic!()
    };
    assert_eq!(resp.responses[0].partitions[0].high_watermark, 3);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn shutdown_cuts_long_polls_short() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "idle", 1).await;
    c.send(fetch_req("idle", 0, 0, 1, 60_000), ApiKey::Fetch, 12)
        .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    bounded("shutdown", broker.shutdown()).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "shutdown took {:?}",
        started.elapsed()
    );
    // The waiting fetch was answered (empty) before the connection closed.
    let (_, resp) = c.recv(ApiKey::Fetch, 12).await;
    let ResponseKind::Fetch(resp) = resp else {
        panic!()
    };
    assert!(resp.responses[0].partitions[0]
        .records
        .as_ref()
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn large_fetch_goes_through_the_prefault_path_intact() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "big", 1).await;
    let mut sent = Vec::new();
    for i in 0..6u8 {
        let mut b = weir_storage::BatchBuilder::new();
        b.push(weir_storage::Record {
            offset: 0,
            timestamp: 1,
            key: None,
            value: Some(bytes::Bytes::from(vec![i; 100_000])),
            headers: vec![],
        });
        let b = b.build().unwrap();
        assert_eq!(
            produce_raw(&mut c, "big", 0, b.clone(), 9).await.error_code,
            0
        );
        sent.push(b);
    }
    let ResponseKind::Fetch(resp) = c
        .call(fetch_req("big", 0, 0, 1, 0), ApiKey::Fetch, 12)
        .await
    else {
        panic!()
    };
    let records = resp.responses[0].partitions[0].records.clone().unwrap();
    assert!(records.len() > 256 * 1024);
    let got: Vec<_> = iter_batches_lenient(&records).collect();
    assert_eq!(got.len(), 6);
    for (i, b) in got.iter().enumerate() {
        b.validate_crc().unwrap();
        assert_eq!(b.base_offset(), i as i64);
        assert_eq!(
            b.records().unwrap()[0].value.as_deref(),
            Some(&vec![i as u8; 100_000][..])
        );
    }
    broker.shutdown().await.unwrap();
}

/// A fetch thousands of records behind the log end is read on the blocking pool (its data
/// may be cold); one near the end is read in place. Both must return the same records, and
/// a far-behind fetch that cannot yet meet min_bytes still waits and is then answered.
#[tokio::test]
async fn far_behind_and_tailing_fetches_return_the_same_records() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "behind", 1).await;
    let batches = 12;
    let per_batch = 500;
    for n in 0..batches {
        let mut b = weir_storage::BatchBuilder::new();
        for i in 0..per_batch {
            b.push(weir_storage::Record {
                offset: i,
                timestamp: 1,
                key: None,
                value: Some(bytes::Bytes::from(format!("{n}-{i}"))),
                headers: vec![],
            });
        }
        let b = b.build().unwrap();
        assert_eq!(produce_raw(&mut c, "behind", 0, b, 9).await.error_code, 0);
    }
    let end = batches * per_batch;
    let values_from = |records: bytes::Bytes| -> Vec<(i64, String)> {
        let mut out = Vec::new();
        for b in iter_batches_lenient(&records) {
            b.validate_crc().unwrap();
            for r in b.records().unwrap() {
                let v = r.value.unwrap();
                out.push((r.offset, String::from_utf8(v.to_vec()).unwrap()));
            }
        }
        out
    };
    // 6000 behind (off the workers) and 1000 behind (in place): same records where they overlap.
    let mut seen = std::collections::HashMap::new();
    for from in [0, end - 1000] {
        let ResponseKind::Fetch(resp) = c
            .call(fetch_req("behind", 0, from, 1, 0), ApiKey::Fetch, 12)
            .await
        else {
            panic!()
        };
        let p = &resp.responses[0].partitions[0];
        assert_eq!((p.error_code, p.high_watermark), (0, end));
        let got = values_from(p.records.clone().unwrap());
        assert_eq!(got.first().map(|r| r.0), Some(from - from % per_batch));
        assert_eq!(got.last().map(|r| r.0), Some(end - 1));
        for (off, v) in got {
            let (n, i) = (off / per_batch, off % per_batch);
            assert_eq!(v, format!("{n}-{i}"));
            assert!(seen.insert((from, off), v).is_none(), "offset {off} twice");
        }
    }
    // Far behind but min_bytes beyond what exists: waits max_wait, then answers with the data.
    let t0 = Instant::now();
    let ResponseKind::Fetch(resp) = c
        .call(fetch_req("behind", 0, 0, 64 << 20, 300), ApiKey::Fetch, 12)
        .await
    else {
        panic!()
    };
    assert!(t0.elapsed() >= Duration::from_millis(250), "did not wait");
    let got = values_from(resp.responses[0].partitions[0].records.clone().unwrap());
    assert_eq!(got.len() as i64, end);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn clients_cannot_produce_to_internal_topics() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let reg = &broker.state().partitions;
    if reg.topic("__transaction_state").is_none() {
        reg.create_topic("__transaction_state", 1, Default::default(), false)
            .unwrap();
    }
    let mut c = RawClient::connect(broker.addr()).await;
    let r = produce_raw(&mut c, "__transaction_state", 0, batch(1, -1, -1, -1), 9).await;
    assert_eq!(r.error_code, ResponseError::InvalidTopicException.code());
    // and no text, as Apache Kafka 4.4 (tests/differential, err/produce/internal-topic)
    assert_eq!(r.error_message, None);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn producer_state_is_rebuilt_from_the_log_when_the_snapshot_is_damaged() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "rebuild", 1).await;
    let (pid, epoch) = init_producer_id(&mut c).await;
    assert_eq!(
        produce_raw(&mut c, "rebuild", 0, batch(2, pid, epoch, 0), 9)
            .await
            .base_offset,
        0
    );
    assert_eq!(
        produce_raw(&mut c, "rebuild", 0, batch(2, pid, epoch, 2), 9)
            .await
            .base_offset,
        2
    );
    drop(c);
    broker.shutdown().await.unwrap();
    let snap = dir.path().join(weir::partitions::PRODUCER_SNAPSHOT);
    let mut bytes = std::fs::read(&snap).expect("snapshot written at shutdown");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(&snap, bytes).unwrap();

    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    let retry = produce_raw(&mut c, "rebuild", 0, batch(2, pid, epoch, 2), 9).await;
    assert_eq!(
        (retry.error_code, retry.base_offset),
        (0, 2),
        "duplicate found by scanning the log"
    );
    let next = produce_raw(&mut c, "rebuild", 0, batch(1, pid, epoch, 4), 9).await;
    assert_eq!((next.error_code, next.base_offset), (0, 4));
    broker.shutdown().await.unwrap();
}
