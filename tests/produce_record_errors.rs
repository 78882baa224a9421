//! Records at fault are named as Kafka names them (KIP-467): a batch with
//! keyless records sent to a compacted topic fails as a whole, the keyless
//! records with INVALID_RECORD and their batch-mates with librdkafka's
//! "invalid different record"; Produce v8+ carries `record_errors` (each bad
//! record's index in its batch and message) and the partition's
//! `error_message`, worded as Kafka 4.x words them. Real sockets throughout.

mod support;

use bytes::Bytes;
use kafka_protocol::ResponseError;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::ClientConfig;
use std::time::Duration;
use support::{bounded, create_topic_raw, produce_raw, RawClient, TestBroker};
use weir_storage::{BatchBuilder, Record};

/// A batch of `n` records; those at `keyless` have no key.
fn batch(n: usize, keyless: &[usize]) -> Vec<u8> {
    let mut b = BatchBuilder::new();
    for i in 0..n {
        b.push(Record {
            offset: i as i64,
            timestamp: 1_700_000_000_000 + i as i64,
            key: (!keyless.contains(&i)).then(|| Bytes::from(format!("k{i}"))),
            value: Some(Bytes::from(format!("v{i}"))),
            headers: vec![],
        });
    }
    b.build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_v8_names_the_keyless_records_of_a_batch_on_a_compacted_topic() {
    let broker = TestBroker::start(&[("log.cleanup.policy", "compact")]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "keys", 1).await;

    let why = "Compacted topic cannot accept message without key in topic partition keys-0";
    let r = produce_raw(&mut c, "keys", 0, batch(6, &[1, 3, 4, 5]), 8).await;
    assert_eq!(r.error_code, ResponseError::InvalidRecord.code());
    assert_eq!((r.base_offset, r.log_start_offset), (-1, 0));
    let named: Vec<_> = r
        .record_errors
        .iter()
        .map(|e| {
            (
                e.batch_index,
                e.batch_index_error_message.as_ref().map(|m| m.to_string()),
            )
        })
        .collect();
    assert_eq!(
        named,
        [1, 3, 4, 5].map(|i| (i, Some(why.to_string()))).to_vec()
    );
    // Kafka 4.x (LogValidator.processRecordErrors): the count, then at most three.
    let shown = [1, 3, 4]
        .map(|i| format!("RecordError(batchIndex={i}, message='{why}')"))
        .join(", ");
    assert_eq!(
        r.error_message.as_deref().map(|m| m.to_string()),
        Some(format!(
            "One or more records have been rejected due to 4 record errors in total, \
             and only showing the first three errors at most: [{shown}]"
        ))
    );

    // Before v8 there is no room for them: the partition error only.
    let r = produce_raw(&mut c, "keys", 0, batch(3, &[0]), 7).await;
    assert_eq!(r.error_code, ResponseError::InvalidRecord.code());
    assert!(r.record_errors.is_empty() && r.error_message.is_none());

    // Nothing of the refused batches was stored.
    let r = produce_raw(&mut c, "keys", 0, batch(3, &[]), 8).await;
    assert_eq!((r.error_code, r.base_offset), (0, 0));
    assert!(r.record_errors.is_empty() && r.error_message.is_none());
    bounded("shutdown", broker.shutdown()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn librdkafka_sees_only_the_keyless_records_as_invalid() {
    let broker = TestBroker::start(&[("log.cleanup.policy", "compact")]).await;
    let addr = broker.addr();
    let mut c = RawClient::connect(addr).await;
    create_topic_raw(&mut c, "mixed", 1).await;

    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", addr.to_string())
        .set("message.timeout.ms", "15000")
        // One batch for all 100 records.
        .set("linger.ms", "500")
        .set("batch.num.messages", "1000")
        .create()
        .unwrap();
    // Know the partition's leader first, so the 100 records queue up together.
    let client = producer.clone();
    bounded(
        "metadata",
        tokio::task::spawn_blocking(move || {
            client
                .client()
                .fetch_metadata(Some("mixed"), Duration::from_secs(10))
                .map(|_| ())
        }),
    )
    .await
    .unwrap()
    .expect("metadata");
    let keyless = |i: usize| i % 10 == 3;
    let mut deliveries = Vec::new();
    for i in 0..100usize {
        let value = format!("v{i}");
        let key = format!("k{i}");
        let record = FutureRecord::<String, String>::to("mixed").payload(&value);
        let record = if keyless(i) { record } else { record.key(&key) };
        deliveries.push(producer.send_result(record).map_err(|(e, _)| e).unwrap());
    }
    let mut invalid = Vec::new();
    let mut different = 0;
    for (i, d) in deliveries.into_iter().enumerate() {
        let res = bounded("delivery", d).await.expect("delivery reported");
        match res {
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::InvalidRecord), _)) => {
                invalid.push(i)
            }
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::InvalidDifferentRecord), _)) => {
                assert!(!keyless(i), "record {i} has no key");
                different += 1;
            }
            other => panic!("record {i}: {other:?}"),
        }
    }
    assert_eq!(
        invalid,
        (0..100).filter(|&i| keyless(i)).collect::<Vec<_>>()
    );
    assert_eq!(different, 90);

    // The batch was refused whole: a keyed record afterwards is the first stored.
    let ok = bounded(
        "keyed",
        producer.send(
            FutureRecord::to("mixed").key("k").payload("v"),
            Duration::from_secs(10),
        ),
    )
    .await;
    assert_eq!(ok.map(|d| d.offset).ok(), Some(0));
    bounded("shutdown", broker.shutdown()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn altered_topic_configs_apply_to_the_next_produce() {
    use rdkafka::admin::{AdminClient, AdminOptions, AlterConfig, ResourceSpecifier};
    use rdkafka::client::DefaultClientContext;
    let broker = TestBroker::start(&[]).await;
    let addr = broker.addr();
    let mut c = RawClient::connect(addr).await;
    create_topic_raw(&mut c, "alt", 1).await;
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", addr.to_string())
        .create()
        .unwrap();
    let alter = |pairs: &'static [(&'static str, &'static str)]| {
        let admin = &admin;
        async move {
            let mut a = AlterConfig::new(ResourceSpecifier::Topic("alt"));
            for (k, v) in pairs {
                a = a.set(k, v);
            }
            let res = bounded("alter", admin.alter_configs([&a], &AdminOptions::new()))
                .await
                .expect("alter configs");
            for r in res {
                r.expect("altered");
            }
        }
    };

    let r = produce_raw(&mut c, "alt", 0, batch(3, &[0]), 8).await;
    assert_eq!((r.error_code, r.base_offset), (0, 0));
    alter(&[("cleanup.policy", "compact")]).await;
    let r = produce_raw(&mut c, "alt", 0, batch(3, &[0]), 8).await;
    assert_eq!(r.error_code, ResponseError::InvalidRecord.code());
    assert_eq!(r.record_errors.len(), 1);
    alter(&[("cleanup.policy", "compact"), ("max.message.bytes", "80")]).await;
    let r = produce_raw(&mut c, "alt", 0, batch(3, &[]), 8).await;
    assert_eq!(r.error_code, ResponseError::MessageTooLarge.code());
    alter(&[]).await;
    let r = produce_raw(&mut c, "alt", 0, batch(3, &[0]), 8).await;
    assert_eq!((r.error_code, r.base_offset), (0, 3));
    bounded("shutdown", broker.shutdown()).await.unwrap();
}
