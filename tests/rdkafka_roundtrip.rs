//! librdkafka (the rdkafka crate) against an in-process broker over real
//! sockets: create topics, produce records with keys, headers and null values
//! with every codec, consume them back; restart the broker and read everything
//! again; an idempotent producer round trip.

mod support;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use support::*;

/// Print librdkafka's log lines (set WEIR_TEST_RDKAFKA_DEBUG=broker,protocol,... to see more).
struct LogToStderr;
impl ClientContext for LogToStderr {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, msg: &str) {
        eprintln!("rdkafka {level:?} {fac}: {msg}");
    }
}
impl rdkafka::consumer::ConsumerContext for LogToStderr {}
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Client settings shared by every client here; WEIR_TEST_RDKAFKA_DEBUG turns on librdkafka debug contexts.
fn client_config(addr: SocketAddr) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", addr.to_string());
    if let Ok(debug) = std::env::var("WEIR_TEST_RDKAFKA_DEBUG") {
        c.set("debug", debug).set_log_level(RDKafkaLogLevel::Debug);
    }
    c
}

/// What a record looked like: (key, value, headers).
type Rec = (
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Vec<(String, Option<Vec<u8>>)>,
);

#[allow(clippy::manual_is_multiple_of)] // is_multiple_of is newer than the MSRV (1.85)
fn record(i: usize) -> Rec {
    let key = (i % 5 != 0).then(|| format!("key-{i}").into_bytes());
    let value = (i % 7 != 3).then(|| format!("value-{i}-{}", "x".repeat(i % 50)).into_bytes());
    let mut headers = vec![("seq".to_string(), Some(i.to_string().into_bytes()))];
    if i % 4 == 0 {
        headers.push(("empty".to_string(), None));
    }
    (key, value, headers)
}

async fn create_topic(addr: SocketAddr, name: &str, partitions: i32) {
    let admin: AdminClient<LogToStderr> = client_config(addr)
        .create_with_context(LogToStderr)
        .expect("admin client");
    let topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
    let res = bounded(
        "create topic",
        admin.create_topics([&topic], &AdminOptions::new()),
    )
    .await
    .expect("create");
    for r in res {
        r.expect("topic created");
    }
}

/// Produce records 0..n; returns per partition the offsets in send order.
async fn produce(
    addr: SocketAddr,
    topic: &str,
    codec: &str,
    idempotent: bool,
    n: usize,
) -> BTreeMap<i32, Vec<(i64, usize)>> {
    let producer: FutureProducer<LogToStderr> = client_config(addr)
        .set("compression.type", codec)
        .set(
            "enable.idempotence",
            if idempotent { "true" } else { "false" },
        )
        .set("linger.ms", "5")
        .set("message.timeout.ms", "15000")
        .create_with_context(LogToStderr)
        .expect("producer");
    let mut futures = Vec::new();
    for i in 0..n {
        let (key, value, headers) = record(i);
        let mut h = OwnedHeaders::new();
        for (k, v) in &headers {
            h = h.insert(Header {
                key: k,
                value: v.as_deref(),
            });
        }
        let mut rec: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(topic).headers(h);
        if let Some(k) = &key {
            rec = rec.key(k.as_slice());
        } else {
            rec = rec.partition((i % 3) as i32);
        }
        if let Some(v) = &value {
            rec = rec.payload(v.as_slice());
        }
        futures.push((
            i,
            producer
                .send_result(rec)
                .map_err(|(e, _)| e)
                .expect("enqueue"),
        ));
    }
    let mut out: BTreeMap<i32, Vec<(i64, usize)>> = BTreeMap::new();
    for (i, f) in futures {
        let d = bounded("delivery", f)
            .await
            .expect("delivery channel")
            .map_err(|(e, _)| e)
            .expect("delivered");
        out.entry(d.partition).or_default().push((d.offset, i));
    }
    out
}

/// Consume `expected` records from all `partitions` from the beginning (no group).
fn consume(
    addr: SocketAddr,
    topic: &str,
    partitions: i32,
    expected: usize,
) -> BTreeMap<i32, Vec<(i64, Rec)>> {
    let consumer: BaseConsumer<LogToStderr> = client_config(addr)
        // librdkafka wants a group id even for assign(); no group protocol is used.
        .set("group.id", "weir-assign-only")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("fetch.wait.max.ms", "100")
        .create_with_context(LogToStderr)
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&tpl).expect("assign");
    let mut out: BTreeMap<i32, Vec<(i64, Rec)>> = BTreeMap::new();
    let mut got = 0;
    let deadline = Instant::now() + Duration::from_secs(30);
    while got < expected && Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                let headers = m
                    .headers()
                    .map(|h| {
                        h.iter()
                            .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
                            .collect()
                    })
                    .unwrap_or_default();
                let rec = (
                    m.key().map(<[u8]>::to_vec),
                    m.payload().map(<[u8]>::to_vec),
                    headers,
                );
                out.entry(m.partition())
                    .or_default()
                    .push((m.offset(), rec));
                got += 1;
            }
            Some(Err(e)) => panic!("consume error: {e}"),
            None => {}
        }
    }
    assert_eq!(got, expected, "consumed only {got} of {expected}");
    out
}

/// Every produced record comes back at its acknowledged offset, unchanged.
fn assert_matches(
    produced: &BTreeMap<i32, Vec<(i64, usize)>>,
    consumed: &BTreeMap<i32, Vec<(i64, Rec)>>,
) {
    for (p, sent) in produced {
        let got = consumed.get(p).expect("partition consumed");
        assert_eq!(got.len(), sent.len(), "partition {p}");
        for ((off, i), (got_off, rec)) in sent.iter().zip(got) {
            assert_eq!(off, got_off, "offset in partition {p}");
            assert_eq!(rec, &record(*i), "record {i}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_codec_round_trips_keys_headers_and_null_values() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let addr = broker.addr();
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
        let topic = format!("codec-{codec}");
        create_topic(addr, &topic, 3).await;
        let produced = produce(addr, &topic, codec, false, 300).await;
        let t = topic.clone();
        let consumed = tokio::task::spawn_blocking(move || consume(addr, &t, 3, 300))
            .await
            .unwrap();
        assert_matches(&produced, &consumed);
    }
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_broker_serves_everything_back() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[("num.partitions", "3")]).await;
    let addr = broker.addr();
    // Auto-created by the producer's metadata request.
    let produced = produce(addr, "restart-me", "lz4", false, 500).await;
    broker.shutdown().await.unwrap();

    let broker = start_broker(dir.path(), &[]).await;
    let addr = broker.addr();
    let consumed = tokio::task::spawn_blocking(move || consume(addr, "restart-me", 3, 500))
        .await
        .unwrap();
    assert_matches(&produced, &consumed);
    // New appends continue after the recovered log end.
    let more = produce(addr, "restart-me", "none", false, 30).await;
    for (p, sent) in &more {
        let before = produced.get(p).map_or(0, |v| v.len()) as i64;
        assert_eq!(sent[0].0, before, "partition {p} continues at its old end");
    }
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotent_producer_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let addr = broker.addr();
    create_topic(addr, "idem", 3).await;
    let produced = produce(addr, "idem", "snappy", true, 400).await;
    let consumed = tokio::task::spawn_blocking(move || consume(addr, "idem", 3, 400))
        .await
        .unwrap();
    assert_matches(&produced, &consumed);
    // Every batch carried a producer id: the partitions know it.
    let p0 = broker.state().partitions.partition("idem", 0).unwrap();
    assert_eq!(p0.producer_state().len(), 1);
    broker.shutdown().await.unwrap();
}
