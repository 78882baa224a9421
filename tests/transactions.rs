//! Transactions end to end over real sockets: librdkafka (the rdkafka crate)
//! transactional producers and read_committed / read_uncommitted consumers
//! against an in-process broker, plus the protocol-level refusals checked with
//! a raw client (produce outside the transaction, fenced epochs).

mod support;

use bytes::Bytes;
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use support::*;
use weir_storage::{BatchBuilder, Record};

type TxnProducer = ThreadedProducer<DefaultProducerContext>;

const T: Duration = Duration::from_secs(20);

fn config(addr: SocketAddr) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", addr.to_string());
    if let Ok(debug) = std::env::var("WEIR_TEST_RDKAFKA_DEBUG") {
        c.set("debug", debug);
    }
    c
}

fn txn_producer(addr: SocketAddr, tid: &str, extra: &[(&str, &str)]) -> TxnProducer {
    let mut c = config(addr);
    c.set("transactional.id", tid).set("linger.ms", "1");
    for (k, v) in extra {
        c.set(*k, *v);
    }
    let p: TxnProducer = c.create().expect("producer");
    p.init_transactions(T).expect("init_transactions");
    p
}

fn send(p: &TxnProducer, topic: &str, values: &[&str]) {
    for v in values {
        p.send(BaseRecord::<(), str>::to(topic).payload(*v).partition(0))
            .map_err(|(e, _)| e)
            .expect("enqueue");
    }
}

fn create_topic(addr: SocketAddr, topic: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut c = RawClient::connect(addr).await;
        create_topic_raw(&mut c, topic, 1).await;
    });
}

/// Read partition 0 of `topic` from the beginning with `isolation`, until
/// `expected` records arrived, then one more second to see that no more come.
/// Returns (offset, value) pairs.
fn read(addr: SocketAddr, topic: &str, isolation: &str, expected: usize) -> Vec<(i64, String)> {
    let consumer: BaseConsumer = config(addr)
        .set("group.id", "weir-txn-reader")
        .set("enable.auto.commit", "false")
        .set("isolation.level", isolation)
        .set("fetch.wait.max.ms", "100")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&tpl).expect("assign");
    let mut out = Vec::new();
    let deadline = Instant::now() + T;
    let mut settle: Option<Instant> = None;
    while Instant::now() < deadline && settle.is_none_or(|s| Instant::now() < s) {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => out.push((
                m.offset(),
                String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned(),
            )),
            Some(Err(e)) => panic!("consume error: {e}"),
            None => {}
        }
        if out.len() >= expected && settle.is_none() {
            settle = Some(Instant::now() + Duration::from_secs(1));
        }
    }
    out
}

fn values(recs: &[(i64, String)]) -> Vec<&str> {
    recs.iter().map(|(_, v)| v.as_str()).collect()
}

fn offsets(recs: &[(i64, String)]) -> Vec<i64> {
    recs.iter().map(|(o, _)| *o).collect()
}

async fn blocking<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    bounded("client work", tokio::task::spawn_blocking(f))
        .await
        .expect("client task")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_is_visible_to_both_isolation_levels_and_abort_only_to_read_uncommitted() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let addr = broker.addr();
    blocking(move || {
        create_topic(addr, "t");
        let p = txn_producer(addr, "tx-basic", &[]);
        p.begin_transaction().unwrap();
        send(&p, "t", &["c0", "c1", "c2", "c3", "c4"]);
        p.commit_transaction(T).expect("commit");
        p.begin_transaction().unwrap();
        send(&p, "t", &["a0", "a1", "a2", "a3", "a4"]);
        p.flush(T).unwrap();
        p.abort_transaction(T).expect("abort");
        p.begin_transaction().unwrap();
        send(&p, "t", &["last"]);
        p.commit_transaction(T).expect("commit");
    })
    .await;
    // Offsets: c0-c4 0..=4, COMMIT 5, a0-a4 6..=10, ABORT 11, last 12, COMMIT 13.
    let p0 = broker.state().partitions.partition("t", 0).unwrap();
    assert_eq!(p0.high_watermark(), 14);
    assert_eq!(p0.last_stable_offset(), 14);
    let committed = blocking(move || read(addr, "t", "read_committed", 6)).await;
    assert_eq!(values(&committed), ["c0", "c1", "c2", "c3", "c4", "last"]);
    assert_eq!(offsets(&committed), [0, 1, 2, 3, 4, 12]);
    let all = blocking(move || read(addr, "t", "read_uncommitted", 11)).await;
    assert_eq!(
        values(&all),
        ["c0", "c1", "c2", "c3", "c4", "a0", "a1", "a2", "a3", "a4", "last"]
    );
    // The markers take offsets 5, 11 and 13: the consumer skips them.
    assert_eq!(offsets(&all), [0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 12]);
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_transaction_holds_back_the_last_stable_offset() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let addr = broker.addr();
    let p = blocking(move || {
        create_topic(addr, "lso");
        let plain: ThreadedProducer<DefaultProducerContext> = config(addr).create().unwrap();
        plain
            .send(
                BaseRecord::<(), str>::to("lso")
                    .payload("before")
                    .partition(0),
            )
            .map_err(|(e, _)| e)
            .unwrap();
        plain.flush(T).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        let between = now_ms();
        std::thread::sleep(Duration::from_millis(20));
        let p = txn_producer(addr, "tx-lso", &[]);
        p.begin_transaction().unwrap();
        send(&p, "lso", &["pending"]);
        p.flush(T).unwrap();
        (p, between)
    })
    .await;
    let (p, between) = p;
    let part = broker.state().partitions.partition("lso", 0).unwrap();
    assert_eq!(part.high_watermark(), 2);
    assert_eq!(
        part.last_stable_offset(),
        1,
        "the open transaction starts at 1"
    );
    // ListOffsets LATEST: the high watermark, or the LSO for read_committed.
    let mut c = RawClient::connect(addr).await;
    // By timestamp (a time between the two records): nothing at or past the LSO.
    let cases = [
        (0i8, -1, 2i64),
        (1, -1, 1),
        (0, between, 1),
        (1, between, -1),
    ];
    for (isolation, timestamp, want) in cases {
        let req = ListOffsetsRequest::default()
            .with_isolation_level(isolation)
            .with_topics(vec![ListOffsetsTopic::default()
                .with_name(tname("lso"))
                .with_partitions(vec![
                    ListOffsetsPartition::default().with_timestamp(timestamp)
                ])]);
        let ResponseKind::ListOffsets(r) = c
            .call(RequestKind::ListOffsets(req), ApiKey::ListOffsets, 7)
            .await
        else {
            panic!()
        };
        assert_eq!(
            r.topics[0].partitions[0].offset, want,
            "isolation {isolation} timestamp {timestamp}"
        );
    }
    let seen = blocking(move || read(addr, "lso", "read_committed", 1)).await;
    assert_eq!(values(&seen), ["before"], "nothing at or past the LSO");
    let p = blocking(move || {
        p.commit_transaction(T).unwrap();
        p
    })
    .await;
    assert_eq!(part.last_stable_offset(), 3);
    let seen = blocking(move || read(addr, "lso", "read_committed", 2)).await;
    assert_eq!(values(&seen), ["before", "pending"]);
    drop(p);
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_producer_with_the_same_transactional_id_fences_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let addr = broker.addr();
    let (first_err, p2) = blocking(move || {
        create_topic(addr, "fence");
        let p1 = txn_producer(addr, "tx-fence", &[]);
        p1.begin_transaction().unwrap();
        send(&p1, "fence", &["zombie"]);
        p1.flush(T).unwrap();
        // The new instance aborts the old one's transaction and fences it.
        let p2 = txn_producer(addr, "tx-fence", &[]);
        let err = p1
            .commit_transaction(T)
            .expect_err("the zombie cannot commit");
        p2.begin_transaction().unwrap();
        send(&p2, "fence", &["fresh"]);
        p2.commit_transaction(T).expect("the new instance commits");
        (err, p2)
    })
    .await;
    match &first_err {
        KafkaError::Transaction(e) => assert!(e.is_fatal(), "fencing is fatal: {e}"),
        e => panic!("unexpected error {e:?}"),
    }
    let committed = blocking(move || read(addr, "fence", "read_committed", 1)).await;
    assert_eq!(values(&committed), ["fresh"]);
    let all = blocking(move || read(addr, "fence", "read_uncommitted", 2)).await;
    // zombie 0, its ABORT marker 1, fresh 2, COMMIT 3.
    assert_eq!(all, [(0, "zombie".to_string()), (2, "fresh".to_string())]);
    let m = broker.state().txn.describe("tx-fence").unwrap();
    assert_eq!(
        m.producer_epoch, 2,
        "fenced at 1 (the abort), then 2 for the new instance"
    );
    drop(p2);
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consume_transform_produce_commits_offsets_only_with_the_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[("group.initial.rebalance.delay.ms", "0")]).await;
    let addr = broker.addr();
    let state = broker.state().clone();
    blocking(move || {
        create_topic(addr, "in");
        create_topic(addr, "out");
        let plain: ThreadedProducer<DefaultProducerContext> = config(addr).create().unwrap();
        for i in 0..10 {
            plain
                .send(
                    BaseRecord::<(), str>::to("in")
                        .payload(&format!("in-{i}"))
                        .partition(0),
                )
                .map_err(|(e, _)| e)
                .unwrap();
        }
        plain.flush(T).unwrap();

        let consumer: BaseConsumer = config(addr)
            .set("group.id", "ctp")
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .set("isolation.level", "read_committed")
            .create()
            .unwrap();
        consumer.subscribe(&["in"]).unwrap();
        let mut got = Vec::new();
        let deadline = Instant::now() + T;
        while got.len() < 5 && Instant::now() < deadline {
            if let Some(m) = consumer.poll(Duration::from_millis(100)) {
                let m = m.expect("consume");
                got.push(String::from_utf8_lossy(m.payload().unwrap()).into_owned());
            }
        }
        assert_eq!(got.len(), 5);
        let cgm = consumer.group_metadata().expect("group metadata");
        let p = txn_producer(addr, "tx-ctp", &[]);
        let mut offsets = TopicPartitionList::new();
        offsets
            .add_partition_offset("in", 0, Offset::Offset(5))
            .unwrap();

        // Aborted: neither the output nor the offsets count.
        p.begin_transaction().unwrap();
        for v in &got {
            send(&p, "out", &[&format!("aborted-{v}")]);
        }
        p.send_offsets_to_transaction(&offsets, &cgm, T)
            .expect("send offsets");
        p.abort_transaction(T).unwrap();
        assert_eq!(state.groups.committed("ctp", "in", 0), None);

        // Committed: both do.
        p.begin_transaction().unwrap();
        for v in &got {
            send(&p, "out", &[&format!("out-{v}")]);
        }
        p.send_offsets_to_transaction(&offsets, &cgm, T)
            .expect("send offsets");
        assert_eq!(
            state.groups.committed("ctp", "in", 0),
            None,
            "pending until the commit"
        );
        p.commit_transaction(T).unwrap();
        assert_eq!(state.groups.committed("ctp", "in", 0), Some(5));
        consumer.unsubscribe();
    })
    .await;
    let out = blocking(move || read(addr, "out", "read_committed", 5)).await;
    assert_eq!(
        values(&out),
        ["out-in-0", "out-in-1", "out-in-2", "out-in-3", "out-in-4"]
    );
    // The committed offset survives a restart like an ordinary commit.
    broker.shutdown().await.unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    assert_eq!(broker.state().groups.committed("ctp", "in", 0), Some(5));
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_past_its_timeout_is_aborted_by_the_broker() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let addr = broker.addr();
    let p = blocking(move || {
        create_topic(addr, "slow");
        let p = txn_producer(
            addr,
            "tx-slow",
            &[
                ("transaction.timeout.ms", "1500"),
                ("message.timeout.ms", "1500"),
            ],
        );
        p.begin_transaction().unwrap();
        send(&p, "slow", &["late"]);
        p.flush(T).unwrap();
        p
    })
    .await;
    let part = broker.state().partitions.partition("slow", 0).unwrap();
    assert_eq!(part.last_stable_offset(), 0);
    // The coordinator aborts it (ABORT marker at offset 1) once the timeout expires, and
    // moves the transaction to CompleteAbort just after the marker is written: wait for both.
    let deadline = Instant::now() + T;
    let aborted = || {
        part.last_stable_offset() == 2
            && broker.state().txn.describe("tx-slow").map(|m| m.state)
                == Some(weir::txn::TxnState::CompleteAbort)
    };
    while !aborted() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(part.last_stable_offset(), 2);
    assert_eq!(part.high_watermark(), 2);
    let m = broker.state().txn.describe("tx-slow").unwrap();
    assert_eq!(m.state, weir::txn::TxnState::CompleteAbort);
    let commit = blocking(move || p.commit_transaction(T)).await;
    assert!(commit.is_err(), "the timed-out transaction cannot commit");
    let committed = blocking(move || read(addr, "slow", "read_committed", 0)).await;
    assert!(committed.is_empty(), "{committed:?}");
    let all = blocking(move || read(addr, "slow", "read_uncommitted", 1)).await;
    assert_eq!(all, [(0, "late".to_string())]);
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_committed_outcomes_and_aborts_the_open_transaction_at_its_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let addr = broker.addr();
    let old = blocking(move || {
        create_topic(addr, "r");
        let p = txn_producer(addr, "tx-restart", &[("transaction.timeout.ms", "4000")]);
        p.begin_transaction().unwrap();
        send(&p, "r", &["kept-0", "kept-1"]);
        p.commit_transaction(T).unwrap();
        p.begin_transaction().unwrap();
        send(&p, "r", &["open"]);
        p.flush(T).unwrap();
        p
    })
    .await;
    let before = broker.state().txn.describe("tx-restart").unwrap();
    assert_eq!(before.state, weir::txn::TxnState::Ongoing);
    // The broker stops with the transaction open; its producer goes away.
    broker.shutdown().await.unwrap();
    blocking(move || drop(old)).await;

    let broker = start_broker(dir.path(), &[]).await;
    let addr = broker.addr();
    let after = broker.state().txn.describe("tx-restart").unwrap();
    assert_eq!(after, before, "the transaction state is replayed");
    let part = broker.state().partitions.partition("r", 0).unwrap();
    // kept-0 0, kept-1 1, COMMIT 2, open 3: the LSO waits for the open transaction.
    assert_eq!(part.last_stable_offset(), 3);
    let committed = blocking(move || read(addr, "r", "read_committed", 2)).await;
    assert_eq!(values(&committed), ["kept-0", "kept-1"]);
    let deadline = Instant::now() + T;
    while part.last_stable_offset() != 5 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(part.last_stable_offset(), 5, "aborted: ABORT marker at 4");
    let all = blocking(move || read(addr, "r", "read_uncommitted", 3)).await;
    assert_eq!(values(&all), ["kept-0", "kept-1", "open"]);
    let committed = blocking(move || read(addr, "r", "read_committed", 2)).await;
    assert_eq!(values(&committed), ["kept-0", "kept-1"]);
    // A new instance keeps the producer id, past the fencing epoch.
    let (pid, epoch) = (before.producer_id, before.producer_epoch);
    blocking(move || {
        let p = txn_producer(addr, "tx-restart", &[]);
        p.begin_transaction().unwrap();
        send(&p, "r", &["again"]);
        p.commit_transaction(T).unwrap();
    })
    .await;
    let now = broker.state().txn.describe("tx-restart").unwrap();
    assert_eq!((now.producer_id, now.producer_epoch), (pid, epoch + 2));
    broker.shutdown().await.unwrap();
}

// ------------------------------------------------------------ raw protocol

fn txn_batch(pid: i64, epoch: i16, seq: i32, transactional: bool) -> Bytes {
    let mut b = BatchBuilder::new();
    b.producer_id = pid;
    b.producer_epoch = epoch;
    b.base_sequence = seq;
    b.transactional = transactional;
    b.push(Record {
        offset: 0,
        timestamp: 1_700_000_000_000,
        key: None,
        value: Some(Bytes::from_static(b"v")),
        headers: vec![],
    });
    Bytes::from(b.build().unwrap())
}

async fn produce(c: &mut RawClient, tid: Option<&str>, records: Bytes) -> i16 {
    let req = ProduceRequest::default()
        .with_transactional_id(tid.map(|t| TransactionalId(StrBytes::from_string(t.into()))))
        .with_acks(-1)
        .with_timeout_ms(10_000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(tname("raw"))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(records))])]);
    let ResponseKind::Produce(r) = c.call(RequestKind::Produce(req), ApiKey::Produce, 9).await
    else {
        panic!()
    };
    r.responses[0].partition_responses[0].error_code
}

fn tid(s: &str) -> TransactionalId {
    TransactionalId(StrBytes::from_string(s.into()))
}

async fn add_partitions(c: &mut RawClient, pid: i64, epoch: i16, parts: &[i32]) -> Vec<i16> {
    add_partitions_for(c, "raw-tx", pid, epoch, parts).await
}

async fn add_partitions_for(
    c: &mut RawClient,
    id: &str,
    pid: i64,
    epoch: i16,
    parts: &[i32],
) -> Vec<i16> {
    let req = AddPartitionsToTxnRequest::default()
        .with_v3_and_below_transactional_id(tid(id))
        .with_v3_and_below_producer_id(ProducerId(pid))
        .with_v3_and_below_producer_epoch(epoch)
        .with_v3_and_below_topics(vec![AddPartitionsToTxnTopic::default()
            .with_name(tname("raw"))
            .with_partitions(parts.to_vec())]);
    let ResponseKind::AddPartitionsToTxn(r) = c
        .call(
            RequestKind::AddPartitionsToTxn(req),
            ApiKey::AddPartitionsToTxn,
            3,
        )
        .await
    else {
        panic!()
    };
    r.results_by_topic_v3_and_below[0]
        .results_by_partition
        .iter()
        .map(|p| p.partition_error_code)
        .collect()
}

async fn end_txn(c: &mut RawClient, pid: i64, epoch: i16, commit: bool, version: i16) -> i16 {
    end_txn_for(c, "raw-tx", pid, epoch, commit, version).await
}

async fn end_txn_for(
    c: &mut RawClient,
    id: &str,
    pid: i64,
    epoch: i16,
    commit: bool,
    version: i16,
) -> i16 {
    let req = EndTxnRequest::default()
        .with_transactional_id(tid(id))
        .with_producer_id(ProducerId(pid))
        .with_producer_epoch(epoch)
        .with_committed(commit);
    let ResponseKind::EndTxn(r) = c
        .call(RequestKind::EndTxn(req), ApiKey::EndTxn, version)
        .await
    else {
        panic!()
    };
    r.error_code
}

async fn init(c: &mut RawClient, timeout_ms: i32) -> (i16, i64, i16) {
    init_for(c, "raw-tx", timeout_ms).await
}

async fn init_for(c: &mut RawClient, id: &str, timeout_ms: i32) -> (i16, i64, i16) {
    let req = InitProducerIdRequest::default()
        .with_transactional_id(Some(tid(id)))
        .with_transaction_timeout_ms(timeout_ms);
    let ResponseKind::InitProducerId(r) = c
        .call(RequestKind::InitProducerId(req), ApiKey::InitProducerId, 4)
        .await
    else {
        panic!()
    };
    (r.error_code, r.producer_id.0, r.producer_epoch)
}

#[tokio::test]
async fn the_broker_refuses_what_kafka_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "raw", 1).await;
    let code = |e: ResponseError| e.code();

    let (err, _, _) = init(&mut c, 900_001).await;
    assert_eq!(err, code(ResponseError::InvalidTransactionTimeout));
    let (err, pid, epoch) = init(&mut c, 60_000).await;
    assert_eq!(err, 0);

    // Transactional records need a transactional id, and their partition in the transaction.
    assert_eq!(
        produce(&mut c, None, txn_batch(pid, epoch, 0, true)).await,
        code(ResponseError::TransactionalIdAuthorizationFailed)
    );
    assert_eq!(
        produce(&mut c, Some("raw-tx"), txn_batch(pid, epoch, 0, true)).await,
        code(ResponseError::InvalidTxnState)
    );
    // An unknown partition fails the whole request; the others are not attempted.
    assert_eq!(
        add_partitions(&mut c, pid, epoch, &[0, 9]).await,
        [
            code(ResponseError::OperationNotAttempted),
            code(ResponseError::UnknownTopicOrPartition)
        ]
    );
    assert_eq!(
        add_partitions(&mut c, pid + 1, epoch, &[0]).await,
        [code(ResponseError::InvalidProducerIdMapping)]
    );
    assert_eq!(add_partitions(&mut c, pid, epoch, &[0]).await, [0]);
    assert_eq!(
        produce(&mut c, Some("raw-tx"), txn_batch(pid, epoch, 0, true)).await,
        0
    );
    // Not a transactional batch while the producer's transaction is ongoing there.
    assert_eq!(
        produce(&mut c, Some("raw-tx"), txn_batch(pid, epoch, 1, false)).await,
        code(ResponseError::InvalidTxnState)
    );
    assert_eq!(
        produce(&mut c, Some("raw-tx"), txn_batch(pid, epoch, 1, true)).await,
        0
    );
    // A new instance fences this one: its EndTxn is PRODUCER_FENCED (v2+) or
    // INVALID_PRODUCER_EPOCH (v0-1), and its records at the old epoch are refused.
    let (err, pid2, epoch2) = init(&mut c, 60_000).await;
    assert_eq!((err, pid2, epoch2), (0, pid, epoch + 2));
    assert_eq!(
        end_txn(&mut c, pid, epoch, true, 3).await,
        code(ResponseError::ProducerFenced)
    );
    assert_eq!(
        end_txn(&mut c, pid, epoch, true, 1).await,
        code(ResponseError::InvalidProducerEpoch)
    );
    assert_eq!(
        produce(&mut c, Some("raw-tx"), txn_batch(pid, epoch, 2, true)).await,
        code(ResponseError::InvalidProducerEpoch)
    );
    // Ending a transaction that never began is INVALID_TXN_STATE.
    assert_eq!(
        end_txn(&mut c, pid2, epoch2, true, 3).await,
        code(ResponseError::InvalidTxnState)
    );
    let part = broker.state().partitions.partition("raw", 0).unwrap();
    // Two records of the aborted transaction, then its ABORT marker.
    assert_eq!((part.high_watermark(), part.last_stable_offset()), (3, 3));
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn every_version_of_the_transaction_apis_answers_cleanly_and_describe_lists_state() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "raw", 1).await;
    let (err, pid, epoch) = init(&mut c, 60_000).await;
    assert_eq!(err, 0);
    for v in 0..=5 {
        let mut req = AddPartitionsToTxnRequest::default();
        let topics = vec![AddPartitionsToTxnTopic::default()
            .with_name(tname("raw"))
            .with_partitions(vec![0])];
        if v >= 4 {
            req = req.with_transactions(vec![
                add_partitions_to_txn_request::AddPartitionsToTxnTransaction::default()
                    .with_transactional_id(tid("raw-tx"))
                    .with_producer_id(ProducerId(pid))
                    .with_producer_epoch(epoch)
                    .with_verify_only(v == 5)
                    .with_topics(topics),
            ]);
        } else {
            req = req
                .with_v3_and_below_transactional_id(tid("raw-tx"))
                .with_v3_and_below_producer_id(ProducerId(pid))
                .with_v3_and_below_producer_epoch(epoch)
                .with_v3_and_below_topics(topics);
        }
        let ResponseKind::AddPartitionsToTxn(r) = c
            .call(
                RequestKind::AddPartitionsToTxn(req),
                ApiKey::AddPartitionsToTxn,
                v,
            )
            .await
        else {
            panic!()
        };
        let code = if v >= 4 {
            r.results_by_transaction[0].topic_results[0].results_by_partition[0]
                .partition_error_code
        } else {
            r.results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code
        };
        assert_eq!(code, 0, "AddPartitionsToTxn v{v}");
    }
    for v in 0..=4 {
        let req = AddOffsetsToTxnRequest::default()
            .with_transactional_id(tid("raw-tx"))
            .with_producer_id(ProducerId(pid))
            .with_producer_epoch(epoch)
            .with_group_id(GroupId(StrBytes::from_static_str("g")));
        let ResponseKind::AddOffsetsToTxn(r) = c
            .call(
                RequestKind::AddOffsetsToTxn(req),
                ApiKey::AddOffsetsToTxn,
                v,
            )
            .await
        else {
            panic!()
        };
        assert_eq!(r.error_code, 0, "AddOffsetsToTxn v{v}");
    }
    for v in 0..=4 {
        let req = TxnOffsetCommitRequest::default()
            .with_transactional_id(tid("raw-tx"))
            .with_group_id(GroupId(StrBytes::from_static_str("g")))
            .with_producer_id(ProducerId(pid))
            .with_producer_epoch(epoch)
            .with_generation_id(-1)
            .with_topics(vec![
                txn_offset_commit_request::TxnOffsetCommitRequestTopic::default()
                    .with_name(tname("raw"))
                    .with_partitions(vec![
                        txn_offset_commit_request::TxnOffsetCommitRequestPartition::default()
                            .with_partition_index(0)
                            .with_committed_offset(10 + v as i64),
                        txn_offset_commit_request::TxnOffsetCommitRequestPartition::default()
                            .with_partition_index(7)
                            .with_committed_offset(1),
                    ]),
            ]);
        let ResponseKind::TxnOffsetCommit(r) = c
            .call(
                RequestKind::TxnOffsetCommit(req),
                ApiKey::TxnOffsetCommit,
                v,
            )
            .await
        else {
            panic!()
        };
        let codes: Vec<i16> = r.topics[0]
            .partitions
            .iter()
            .map(|p| p.error_code)
            .collect();
        assert_eq!(
            codes,
            [0, ResponseError::UnknownTopicOrPartition.code()],
            "TxnOffsetCommit v{v}"
        );
    }
    let req = DescribeTransactionsRequest::default()
        .with_transactional_ids(vec![tid("raw-tx"), tid("nobody")]);
    let ResponseKind::DescribeTransactions(r) = c
        .call(
            RequestKind::DescribeTransactions(req),
            ApiKey::DescribeTransactions,
            0,
        )
        .await
    else {
        panic!()
    };
    let s = &r.transaction_states[0];
    assert_eq!(
        (s.error_code, s.transaction_state.as_str(), s.producer_id.0),
        (0, "Ongoing", pid)
    );
    assert_eq!(s.topics[0].partitions, [0]);
    assert_eq!(
        r.transaction_states[1].error_code,
        ResponseError::TransactionalIdNotFound.code()
    );
    for v in 0..=2 {
        let mut req = ListTransactionsRequest::default()
            .with_state_filters(vec![
                StrBytes::from_static_str("Ongoing"),
                StrBytes::from_static_str("Bogus"),
            ])
            .with_duration_filter(-1);
        if v >= 2 {
            req = req.with_transactional_id_pattern(Some(StrBytes::from_static_str("raw-.*")));
        }
        let ResponseKind::ListTransactions(r) = c
            .call(
                RequestKind::ListTransactions(req),
                ApiKey::ListTransactions,
                v,
            )
            .await
        else {
            panic!()
        };
        assert_eq!(r.error_code, 0);
        assert_eq!(
            r.unknown_state_filters,
            [StrBytes::from_static_str("Bogus")]
        );
        assert_eq!(r.transaction_states.len(), 1, "ListTransactions v{v}");
        assert_eq!(r.transaction_states[0].producer_id.0, pid);
    }
    // Pending offsets are unstable for a read_committed consumer (require_stable).
    assert_eq!(
        offset_fetch(&mut c, true).await,
        (-1, ResponseError::UnstableOffsetCommit.code())
    );
    assert_eq!(offset_fetch(&mut c, false).await, (-1, 0));
    // Commit: the latest pending offset reaches the group.
    assert_eq!(end_txn(&mut c, pid, epoch, true, 4).await, 0);
    assert_eq!(broker.state().groups.committed("g", "raw", 0), Some(14));
    assert_eq!(offset_fetch(&mut c, true).await, (14, 0));
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_cleaner_stops_before_an_aborted_transaction_whose_marker_is_past_the_lso() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "raw", 1).await;
    let (_, pa, ea) = init_for(&mut c, "tx-a", 60_000).await;
    let (_, pb, eb) = init_for(&mut c, "tx-b", 60_000).await;
    assert_eq!(add_partitions_for(&mut c, "tx-a", pa, ea, &[0]).await, [0]);
    assert_eq!(add_partitions_for(&mut c, "tx-b", pb, eb, &[0]).await, [0]);
    assert_eq!(
        produce(&mut c, Some("tx-a"), txn_batch(pa, ea, 0, true)).await,
        0
    );
    assert_eq!(
        produce(&mut c, Some("tx-b"), txn_batch(pb, eb, 0, true)).await,
        0
    );
    let part = broker.state().partitions.partition("raw", 0).unwrap();
    assert_eq!(
        (part.last_stable_offset(), part.cleaner_upper_bound()),
        (0, 0)
    );
    // A aborts (marker at 2) while B, begun at 1, is still open: the LSO is 1, but
    // A's record at 0 must not be compacted without its marker in view.
    assert_eq!(end_txn_for(&mut c, "tx-a", pa, ea, false, 3).await, 0);
    assert_eq!(part.last_stable_offset(), 1);
    assert_eq!(part.cleaner_upper_bound(), 0);
    assert_eq!(part.aborted_transactions(0, 10), [(pa, 0)]);
    assert_eq!(end_txn_for(&mut c, "tx-b", pb, eb, true, 3).await, 0);
    assert_eq!(
        (part.last_stable_offset(), part.cleaner_upper_bound()),
        (4, 4)
    );
    broker.shutdown().await.unwrap();
}

/// OffsetFetch v7 of group "g", topic "raw" partition 0: (offset, partition error).
async fn offset_fetch(c: &mut RawClient, require_stable: bool) -> (i64, i16) {
    let req = OffsetFetchRequest::default()
        .with_group_id(GroupId(StrBytes::from_static_str("g")))
        .with_require_stable(require_stable)
        .with_topics(Some(vec![
            offset_fetch_request::OffsetFetchRequestTopic::default()
                .with_name(tname("raw"))
                .with_partition_indexes(vec![0]),
        ]));
    let ResponseKind::OffsetFetch(r) = c
        .call(RequestKind::OffsetFetch(req), ApiKey::OffsetFetch, 7)
        .await
    else {
        panic!()
    };
    let p = &r.topics[0].partitions[0];
    (p.committed_offset, p.error_code)
}

async fn describe_producer(c: &mut RawClient) -> describe_producers_response::ProducerState {
    let req = DescribeProducersRequest::default().with_topics(vec![
        describe_producers_request::TopicRequest::default()
            .with_name(tname("raw"))
            .with_partition_indexes(vec![0]),
    ]);
    let ResponseKind::DescribeProducers(r) = c
        .call(
            RequestKind::DescribeProducers(req),
            ApiKey::DescribeProducers,
            0,
        )
        .await
    else {
        panic!()
    };
    let p = &r.topics[0].partitions[0];
    assert_eq!(p.error_code, 0);
    assert_eq!(p.active_producers.len(), 1, "{:?}", p.active_producers);
    p.active_producers[0].clone()
}

/// WriteTxnMarkers v1 for one marker on `raw`'s given partitions: the codes.
async fn write_marker(
    c: &mut RawClient,
    topic: &str,
    partitions: &[i32],
    pid: i64,
    epoch: i16,
    commit: bool,
    coordinator_epoch: i32,
) -> Vec<i16> {
    let req = WriteTxnMarkersRequest::default().with_markers(vec![
        write_txn_markers_request::WritableTxnMarker::default()
            .with_producer_id(ProducerId(pid))
            .with_producer_epoch(epoch)
            .with_transaction_result(commit)
            .with_coordinator_epoch(coordinator_epoch)
            .with_topics(vec![
                write_txn_markers_request::WritableTxnMarkerTopic::default()
                    .with_name(tname(topic))
                    .with_partition_indexes(partitions.to_vec()),
            ]),
    ]);
    let ResponseKind::WriteTxnMarkers(r) = c
        .call(
            RequestKind::WriteTxnMarkers(req),
            ApiKey::WriteTxnMarkers,
            1,
        )
        .await
    else {
        panic!()
    };
    assert_eq!(r.markers[0].producer_id.0, pid);
    r.markers[0].topics[0]
        .partitions
        .iter()
        .map(|p| p.error_code)
        .collect()
}

/// What `kafka-transactions abort` (Admin.abortTransaction) does to a hanging
/// transaction, as a one-node Kafka 4.x answers it: DescribeProducers shows the
/// open transaction (its start offset, the batch's timestamp, no coordinator
/// epoch yet), WriteTxnMarkers writes the ABORT marker to the leader, after
/// which the producer shows the marker's timestamp and coordinator epoch and no
/// open transaction, and the last stable offset moves past the marker. Stale
/// markers get Kafka's errors.
#[tokio::test]
async fn admin_abort_of_a_hanging_transaction_writes_the_marker_and_describe_producers_follows() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "raw", 1).await;
    let (err, pid, epoch) = init(&mut c, 60_000).await;
    assert_eq!(err, 0);
    assert_eq!(add_partitions(&mut c, pid, epoch, &[0]).await, [0]);
    assert_eq!(
        produce(&mut c, Some("raw-tx"), txn_batch(pid, epoch, 0, true)).await,
        0
    );
    let st = describe_producer(&mut c).await;
    assert_eq!(
        (
            st.producer_id.0,
            st.producer_epoch,
            st.last_sequence,
            st.last_timestamp,
            st.coordinator_epoch,
            st.current_txn_start_offset
        ),
        (pid, epoch as i32, 0, 1_700_000_000_000, -1, 0)
    );

    let before = now_ms();
    assert_eq!(
        write_marker(&mut c, "raw", &[0, 7], pid, epoch, false, 0).await,
        [0, ResponseError::UnknownTopicOrPartition.code()]
    );
    assert_eq!(
        write_marker(&mut c, "nope", &[0], pid, epoch, false, 0).await,
        [ResponseError::UnknownTopicOrPartition.code()]
    );
    let st = describe_producer(&mut c).await;
    assert_eq!(
        (
            st.coordinator_epoch,
            st.current_txn_start_offset,
            st.last_sequence
        ),
        (0, -1, 0)
    );
    assert!(
        st.last_timestamp >= before && st.last_timestamp <= now_ms(),
        "last timestamp {} is the marker's",
        st.last_timestamp
    );
    // The record and the marker: the last stable offset is past both.
    let p = broker.state().partitions.partition("raw", 0).unwrap();
    assert_eq!(p.last_stable_offset(), 2);

    // A marker from an older epoch, or from an older coordinator, is refused.
    assert_eq!(
        write_marker(&mut c, "raw", &[0], pid, epoch - 1, false, 0).await,
        [ResponseError::InvalidProducerEpoch.code()]
    );
    assert_eq!(
        write_marker(&mut c, "raw", &[0], pid, epoch, false, 5).await,
        [0]
    );
    assert_eq!(
        write_marker(&mut c, "raw", &[0], pid, epoch, false, 4).await,
        [ResponseError::TransactionCoordinatorFenced.code()]
    );
    assert_eq!(describe_producer(&mut c).await.coordinator_epoch, 5);
    broker.shutdown().await.unwrap();
}

/// Retention deleting an open transaction's records (the active segment
/// expired: the bound is the high watermark, not the LSO, as in Kafka) moves
/// the last stable offset up to the new log start, as Kafka's
/// `maybeIncrementFirstUnstableOffset` does; the commit then moves it on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_of_an_open_transaction_raises_the_lso_to_the_log_start() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let addr = broker.addr();
    let p = blocking(move || {
        create_topic(addr, "lso-ret");
        let p = txn_producer(addr, "tx-lso-ret", &[]);
        p.begin_transaction().unwrap();
        send(&p, "lso-ret", &["pending", "more"]);
        p.flush(T).unwrap();
        p
    })
    .await;
    let part = broker.state().partitions.partition("lso-ret", 0).unwrap();
    assert_eq!((part.high_watermark(), part.last_stable_offset()), (2, 0));
    let policy = weir_storage::RetentionPolicy::from_kafka(0, -1);
    let far = weir_storage::clock::now_ms() + 3_600_000;
    let _ = broker.state().partitions.snapshot_producer_state(false);
    assert!(!broker
        .state()
        .partitions
        .snapshot_producer_state(true)
        .unwrap());
    let out = part.apply_retention(&policy, far).unwrap();
    assert_eq!(out.deleted.len(), 1, "the active segment went");
    // The producer state is snapshotted again, at the log end (the open
    // transaction survives an unclean stop).
    assert!(broker
        .state()
        .partitions
        .snapshot_producer_state(true)
        .unwrap());
    assert_eq!(part.log_start_offset(), 2);
    assert_eq!(part.last_stable_offset(), 2, "raised to the log start");
    let p = blocking(move || {
        p.commit_transaction(T).unwrap();
        p
    })
    .await;
    assert_eq!((part.high_watermark(), part.last_stable_offset()), (3, 3));
    drop(p);
    broker.shutdown().await.unwrap();
}
