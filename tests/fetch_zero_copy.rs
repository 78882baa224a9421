//! Fetch responses sent from the segment files (sendfile on plaintext, the
//! copying path on TLS) over real sockets: a large catch-up across many
//! segments byte-exact against what was produced, on both kinds of listener;
//! segments deleted (DeleteRecords) while a response from them is still being
//! sent; read_committed over an aborted transaction; Fetch v3 still
//! down-converted; fetch.min.bytes answered once enough bytes are appended
//! across partitions, and min_bytes = 1 right after an append (timings bounded
//! loosely: seconds, never tighter).

mod support;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::delete_records_request::{
    DeleteRecordsPartition, DeleteRecordsTopic,
};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, StrBytes};
use std::time::{Duration, Instant};
use support::*;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use weir_storage::batch::iter_batches_lenient;
use weir_storage::legacy::decode_message_set;
use weir_storage::{BatchBuilder, Record};

/// Records per produced batch and their value size: 64 KiB batches, well above
/// the size from which record blocks are sent with sendfile.
const PER_BATCH: usize = 16;
const VALUE: usize = 4096;

/// A batch of `PER_BATCH` records whose values are derived from `seed`
/// (incompressible enough, and different in every batch).
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn big_batch(seed: u64, pid: i64, epoch: i16, seq: i32, transactional: bool) -> Vec<u8> {
    let mut b = BatchBuilder::new();
    b.producer_id = pid;
    b.producer_epoch = epoch;
    b.base_sequence = seq;
    b.transactional = transactional;
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    for i in 0..PER_BATCH {
        let mut value = Vec::with_capacity(VALUE);
        while value.len() < VALUE {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            value.extend_from_slice(&x.to_le_bytes());
        }
        b.push(Record {
            offset: i as i64,
            // Current time: a batch stamped long ago followed by a marker stamped
            // now would roll the segment (segment.ms goes by record time, as in
            // Kafka), and a fetch reads from one segment.
            timestamp: now_ms() + i as i64,
            key: None,
            value: Some(Bytes::from(value)),
            headers: vec![],
        });
    }
    b.build().expect("build batch")
}

fn produce_req(topic: &str, partition: i32, records: Vec<u8>, tid: Option<&str>) -> RequestKind {
    RequestKind::Produce(
        ProduceRequest::default()
            .with_transactional_id(tid.map(|t| TransactionalId(StrBytes::from_string(t.into()))))
            .with_acks(-1)
            .with_timeout_ms(10_000)
            .with_topic_data(vec![TopicProduceData::default()
                .with_name(tname(topic))
                .with_partition_data(vec![PartitionProduceData::default()
                    .with_index(partition)
                    .with_records(Some(Bytes::from(records)))])]),
    )
}

/// Produce `count` big batches to one partition; returns them as sent.
async fn produce_batches(
    c: &mut RawClient,
    topic: &str,
    partition: i32,
    first_seed: u64,
    count: usize,
) -> Vec<Vec<u8>> {
    let mut sent = Vec::with_capacity(count);
    for i in 0..count {
        let batch = big_batch(first_seed + i as u64, -1, -1, -1, false);
        let resp = produce_raw(c, topic, partition, batch.clone(), 9).await;
        assert_eq!(resp.error_code, 0, "produce batch {i}");
        sent.push(batch);
    }
    sent
}

/// A Fetch request (v12 shape) for partitions of one topic from the given offsets.
fn fetch(
    topic: &str,
    parts: &[(i32, i64)],
    min_bytes: i32,
    max_wait_ms: i32,
    max_bytes: i32,
    isolation: i8,
) -> RequestKind {
    RequestKind::Fetch(
        FetchRequest::default()
            .with_max_wait_ms(max_wait_ms)
            .with_min_bytes(min_bytes)
            .with_max_bytes(max_bytes)
            .with_isolation_level(isolation)
            .with_session_epoch(-1)
            .with_topics(vec![FetchTopic::default()
                .with_topic(tname(topic))
                .with_partitions(
                    parts
                        .iter()
                        .map(|&(p, o)| {
                            FetchPartition::default()
                                .with_partition(p)
                                .with_fetch_offset(o)
                                .with_partition_max_bytes(max_bytes)
                        })
                        .collect(),
                )]),
    )
}

/// Check the batches in `records` against `sent` (the batch produced at
/// offset `i * PER_BATCH` is `sent[i]`): each byte-exact except the base
/// offset and leader epoch the broker assigned (which the CRC does not cover),
/// every CRC valid.
/// Control batches (transaction markers) are skipped. Returns the offset after
/// the last batch seen.
fn check_exact(records: &[u8], sent: &[Vec<u8>], mut next: i64) -> i64 {
    let mut seen = 0usize;
    for b in iter_batches_lenient(records) {
        seen += b.total_len();
        b.validate_crc().expect("CRC-32C of a fetched batch");
        if b.is_control() {
            next = b.last_offset() + 1;
            continue;
        }
        let i = (b.base_offset() / PER_BATCH as i64) as usize;
        assert_eq!(b.base_offset(), (i * PER_BATCH) as i64, "batch alignment");
        assert!(b.base_offset() >= next, "batches in order");
        let want = &sent[i];
        assert_eq!(b.bytes().len(), want.len(), "batch at {}", b.base_offset());
        // Base offset (0..8) and partition leader epoch (12..16) are the broker's.
        assert!(
            b.bytes()[8..12] == want[8..12] && b.bytes()[16..] == want[16..],
            "batch at {} differs from what was produced",
            b.base_offset()
        );
        next = b.last_offset() + 1;
    }
    assert_eq!(
        seen,
        records.len(),
        "trailing bytes after the last whole batch"
    );
    next
}

/// One request/response on any stream (plaintext or TLS).
async fn call_on<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    correlation: i32,
    body: RequestKind,
    key: ApiKey,
    version: i16,
) -> ResponseKind {
    send_on(s, correlation, body, key, version).await;
    recv_on(s, correlation, key, version).await
}

async fn send_on<S: AsyncWrite + Unpin>(
    s: &mut S,
    correlation: i32,
    body: RequestKind,
    key: ApiKey,
    version: i16,
) {
    let header = RequestHeader::default()
        .with_request_api_key(key as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation)
        .with_client_id(Some(StrBytes::from_static_str("weir-test")));
    let buf = weir::codec::encode_request(&header, &body, version).expect("encode");
    let mut frame = BytesMut::with_capacity(buf.len() + 4);
    frame.put_i32(buf.len() as i32);
    frame.put_slice(&buf);
    bounded("write", s.write_all(&frame)).await.expect("write");
}

async fn recv_on<S: AsyncRead + Unpin>(
    s: &mut S,
    correlation: i32,
    key: ApiKey,
    version: i16,
) -> ResponseKind {
    let mut len = [0u8; 4];
    bounded("read size", s.read_exact(&mut len))
        .await
        .expect("read size");
    let mut buf = vec![0u8; i32::from_be_bytes(len) as usize];
    bounded("read body", s.read_exact(&mut buf))
        .await
        .expect("read body");
    let mut frame = Bytes::from(buf);
    let header = ResponseHeader::decode(&mut frame, key.response_header_version(version))
        .expect("response header");
    assert_eq!(header.correlation_id, correlation);
    let body = ResponseKind::decode(key, &mut frame, version).expect("decode response");
    assert!(!frame.has_remaining(), "trailing bytes in the response");
    body
}

/// Read the whole partition 0 of `topic` from offset 0 up to `end` with
/// fetches of at most `max_bytes`, checking every batch against `sent`.
async fn catch_up_on<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    topic: &str,
    sent: &[Vec<u8>],
    end: i64,
    max_bytes: i32,
) -> usize {
    let mut next = 0i64;
    let mut fetched = 0usize;
    let mut corr = 100;
    while next < end {
        corr += 1;
        let req = fetch(topic, &[(0, next)], 1, 100, max_bytes, 0);
        let ResponseKind::Fetch(resp) = call_on(s, corr, req, ApiKey::Fetch, 12).await else {
            panic!()
        };
        let p = &resp.responses[0].partitions[0];
        assert_eq!(p.error_code, 0);
        let records = p.records.clone().unwrap_or_default();
        assert!(!records.is_empty(), "no progress at offset {next}");
        fetched += records.len();
        next = check_exact(&records, sent, next);
    }
    fetched
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_catch_up_across_segments_is_byte_exact_and_sent_from_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[("log.segment.bytes", "1048576")]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "catchup", 1).await;
    // 320 batches of 64 KiB: 20 MiB over ~21 segments; the first fetches are
    // far enough behind (>= 4096 records) to be read on the blocking pool.
    let sent = produce_batches(&mut c, "catchup", 0, 1, 320).await;
    let end = (sent.len() * PER_BATCH) as i64;
    let before = weir::connection::sendfile_bytes();
    let fetched = catch_up_on(&mut c.stream, "catchup", &sent, end, 4 << 20).await;
    assert!(fetched >= 20 << 20, "fetched {fetched} bytes");
    let by_sendfile = weir::connection::sendfile_bytes() - before;
    // Other tests of this file may add to the counter, never take from it.
    assert!(
        by_sendfile >= fetched as u64 * 9 / 10,
        "only {by_sendfile} of {fetched} bytes went out with sendfile"
    );
    broker.shutdown().await.unwrap();
}

/// Bytes of `path`'s mappings that this process has in its page tables (the
/// `Rss` of each of them in `/proc/self/smaps`).
fn mapped_bytes(path: &std::path::Path) -> u64 {
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
    let name = path.to_str().unwrap();
    let mut ours = false;
    let mut kib = 0;
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let first = fields.next().unwrap_or("");
        if first.contains('-') && first.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            ours = line.contains(name);
        } else if ours && first == "Rss:" {
            kib += fields.next().unwrap().parse::<u64>().unwrap();
        }
    }
    kib * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_tailing_fetch_of_data_in_memory_is_not_touched_through_the_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "inmem", 1).await;
    // 3 batches of 800 KiB (600 records: a tailing read, read in place), far
    // above the size from which a read is pre-faulted when not in memory.
    let mut sent = 0;
    for n in 0..3u64 {
        let mut b = BatchBuilder::new();
        for i in 0..200u64 {
            let x = (n * 200 + i).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            b.push(Record {
                offset: i as i64,
                timestamp: now_ms(),
                key: None,
                value: Some(Bytes::from(x.to_le_bytes().repeat(512))),
                headers: vec![],
            });
        }
        let batch = b.build().unwrap();
        sent += batch.len();
        let resp = produce_raw(&mut c, "inmem", 0, batch, 9).await;
        assert_eq!(resp.error_code, 0, "produce batch {n}");
    }
    let before = weir::connection::sendfile_bytes();
    let req = fetch("inmem", &[(0, 0)], 1, 100, 8 << 20, 0);
    let ResponseKind::Fetch(resp) = c.call(req, ApiKey::Fetch, 12).await else {
        panic!()
    };
    let p = &resp.responses[0].partitions[0];
    assert_eq!((p.error_code, p.high_watermark), (0, 600));
    let records = p.records.clone().unwrap_or_default();
    assert_eq!(records.len(), sent, "every batch in one response");
    assert_eq!(iter_batches_lenient(&records).count(), 3);
    assert!(weir::connection::sendfile_bytes() - before >= sent as u64);
    // Sent from the page cache: only the batch walk's reads of the three
    // headers (and what the kernel maps around them) went through the
    // broker's mapping; a pre-fault of the read would have mapped all of it.
    let log = dir.path().join("inmem-0").join("00000000000000000000.log");
    let mapped = mapped_bytes(&log);
    assert!(
        mapped < (sent / 3) as u64,
        "{mapped} of {sent} bytes mapped"
    );
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_catch_up_is_byte_exact_through_the_copying_path() {
    if !security::have("openssl") {
        eprintln!("openssl not installed: skipped");
        return;
    }
    let pki = security::Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let mut sets: Vec<(String, String)> = vec![
        (
            "listeners".into(),
            "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0".into(),
        ),
        ("log.segment.bytes".into(), "1048576".into()),
    ];
    sets.extend(pki.broker_settings());
    let sets: Vec<(&str, &str)> = sets.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let broker = start_broker(dir.path(), &sets).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "tls", 1).await;
    let sent = produce_batches(&mut c, "tls", 0, 1000, 80).await;
    let end = (sent.len() * PER_BATCH) as i64;

    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(pki.path("ca.pem")).expect("ca.pem"))
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let addr = broker.broker().listener_addr("SSL").expect("SSL listener");
    let tcp = bounded("connect", tokio::net::TcpStream::connect(addr))
        .await
        .unwrap();
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let mut tls = bounded("tls handshake", connector.connect(name, tcp))
        .await
        .expect("TLS handshake");
    let fetched = catch_up_on(&mut tls, "tls", &sent, end, 2 << 20).await;
    assert!(fetched >= 5 << 20, "fetched {fetched} bytes");
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segments_deleted_while_their_bytes_are_in_flight_still_arrive_whole() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[("log.segment.bytes", "8388608")]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "gone", 1).await;
    let sent = produce_batches(&mut c, "gone", 0, 5000, 160).await;
    let end = (sent.len() * PER_BATCH) as i64;
    let first_segment = broker
        .data_dir()
        .join("gone-0")
        .join("00000000000000000000.log");
    assert!(first_segment.exists(), "{first_segment:?}");

    // A reader with a small receive buffer asks for 8 MiB (about all of the
    // first segment) and does not read: the broker's send stalls with most of
    // the response still in the file.
    let before = weir::connection::sendfile_bytes();
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.set_recv_buffer_size(16 * 1024).unwrap();
    let mut slow = bounded("connect", sock.connect(broker.addr()))
        .await
        .unwrap();
    send_on(
        &mut slow,
        7,
        fetch("gone", &[(0, 0)], 1, 0, 8 << 20, 0),
        ApiKey::Fetch,
        12,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Meanwhile every segment but the active one is deleted.
    let req = DeleteRecordsRequest::default()
        .with_timeout_ms(10_000)
        .with_topics(vec![DeleteRecordsTopic::default()
            .with_name(tname("gone"))
            .with_partitions(vec![DeleteRecordsPartition::default()
                .with_partition_index(0)
                .with_offset(end - PER_BATCH as i64)])]);
    let ResponseKind::DeleteRecords(r) = c
        .call(RequestKind::DeleteRecords(req), ApiKey::DeleteRecords, 2)
        .await
    else {
        panic!()
    };
    assert_eq!(r.topics[0].partitions[0].error_code, 0);
    assert!(
        !first_segment.exists(),
        "the first segment should be deleted by now"
    );

    let ResponseKind::Fetch(resp) = recv_on(&mut slow, 7, ApiKey::Fetch, 12).await else {
        panic!()
    };
    let p = &resp.responses[0].partitions[0];
    assert_eq!(p.error_code, 0);
    let records = p.records.clone().unwrap_or_default();
    assert!(records.len() >= 7 << 20, "got {} bytes", records.len());
    check_exact(&records, &sent, 0);
    assert!(
        weir::connection::sendfile_bytes() - before >= records.len() as u64,
        "the response did not go out with sendfile"
    );

    // The next fetch from the deleted range is out of range, as Kafka answers.
    let ResponseKind::Fetch(resp) = c
        .call(
            fetch("gone", &[(0, 0)], 1, 0, 1 << 20, 0),
            ApiKey::Fetch,
            12,
        )
        .await
    else {
        panic!()
    };
    assert_eq!(
        resp.responses[0].partitions[0].error_code,
        kafka_protocol::ResponseError::OffsetOutOfRange.code()
    );
    broker.shutdown().await.unwrap();
}

fn tid(s: &str) -> TransactionalId {
    TransactionalId(StrBytes::from_string(s.into()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_committed_lists_the_aborted_transaction_over_file_sent_batches() {
    let broker = TestBroker::start(&[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "txn", 1).await;
    let (pid, epoch) = c.begin_txn("zc-tx", "txn", &[0]).await;
    // Four transactional batches (offsets 0..64), then the abort marker (64).
    let mut sent = Vec::new();
    for i in 0..4 {
        let batch = big_batch(900 + i, pid, epoch, (i as i32) * PER_BATCH as i32, true);
        let ResponseKind::Produce(r) = c
            .call(
                produce_req("txn", 0, batch.clone(), Some("zc-tx")),
                ApiKey::Produce,
                9,
            )
            .await
        else {
            panic!()
        };
        assert_eq!(r.responses[0].partition_responses[0].error_code, 0);
        sent.push(batch);
    }
    let end_txn = EndTxnRequest::default()
        .with_transactional_id(tid("zc-tx"))
        .with_producer_id(ProducerId(pid))
        .with_producer_epoch(epoch)
        .with_committed(false);
    let ResponseKind::EndTxn(r) = c
        .call(RequestKind::EndTxn(end_txn), ApiKey::EndTxn, 3)
        .await
    else {
        panic!()
    };
    assert_eq!(r.error_code, 0);

    let ResponseKind::Fetch(resp) = c
        .call(fetch("txn", &[(0, 0)], 1, 0, 8 << 20, 1), ApiKey::Fetch, 12)
        .await
    else {
        panic!()
    };
    let p = &resp.responses[0].partitions[0];
    assert_eq!(p.error_code, 0);
    assert_eq!(p.last_stable_offset, 65, "LSO after the abort marker");
    let aborted: Vec<(i64, i64)> = p
        .aborted_transactions
        .as_ref()
        .expect("read_committed lists aborted transactions")
        .iter()
        .map(|a| (a.producer_id.0, a.first_offset))
        .collect();
    assert_eq!(aborted, vec![(pid, 0)]);
    let records = p.records.clone().unwrap_or_default();
    assert_eq!(check_exact(&records, &sent, 0), 65);
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_v0_to_v3_are_still_down_converted_to_message_sets() {
    let broker = TestBroker::start(&[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "old", 1).await;
    let sent = produce_batches(&mut c, "old", 0, 77, 4).await;
    for version in 0..=3 {
        let r = c
            .call_raw(1, version, &wire::fetch_req("old", 0, 0, version, 8 << 20))
            .await;
        let (err, _hw, set) = wire::fetch_resp(r, version);
        assert_eq!(err, 0, "fetch v{version}");
        let old = decode_message_set(&set).unwrap();
        assert_eq!(old.len(), 4 * PER_BATCH, "fetch v{version}");
        for (i, r) in old.iter().enumerate() {
            assert_eq!(r.offset, i as i64);
            assert_eq!(r.magic, if version <= 1 { 0 } else { 1 });
            // The value is the produced record's (the batch is uncompressed: its
            // records' values are in its bytes as they were produced).
            let value = r.value.as_deref().expect("value");
            assert_eq!(value.len(), VALUE);
            let batch = &sent[i / PER_BATCH];
            assert!(batch.windows(VALUE).any(|w| w == value), "record {i}");
        }
    }
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn min_bytes_across_partitions_answers_once_enough_is_appended() {
    let broker = TestBroker::start(&[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "mb", 2).await;
    let mut waiter = RawClient::connect(broker.addr()).await;

    // 150 KiB wanted over two partitions; each batch is ~64 KiB.
    let corr = waiter
        .send(
            fetch("mb", &[(0, 0), (1, 0)], 150 << 10, 20_000, 8 << 20, 0),
            ApiKey::Fetch,
            12,
        )
        .await;
    produce_batches(&mut c, "mb", 0, 1, 1).await;
    produce_batches(&mut c, "mb", 1, 2, 1).await;
    // 128 KiB is not enough: no answer yet.
    let mut probe = [0u8; 1];
    let early =
        tokio::time::timeout(Duration::from_millis(700), waiter.stream.peek(&mut probe)).await;
    assert!(early.is_err(), "answered before min_bytes was reached");
    let crossed = Instant::now();
    produce_batches(&mut c, "mb", 1, 3, 1).await;
    let (got, resp) = waiter.recv(ApiKey::Fetch, 12).await;
    let waited = crossed.elapsed();
    assert_eq!(got, corr);
    assert!(
        waited < Duration::from_secs(5),
        "answered {waited:?} after min_bytes was crossed (max wait 20 s)"
    );
    let ResponseKind::Fetch(resp) = resp else {
        panic!()
    };
    let total: usize = resp.responses[0]
        .partitions
        .iter()
        .map(|p| p.records.as_ref().map_or(0, Bytes::len))
        .sum();
    assert!(total >= 150 << 10, "answered with {total} bytes");

    // min_bytes = 1: answered by the next append, long before the wait ends.
    let corr = waiter
        .send(
            fetch("mb", &[(0, PER_BATCH as i64)], 1, 20_000, 8 << 20, 0),
            ApiKey::Fetch,
            12,
        )
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let appended = Instant::now();
    produce_raw(&mut c, "mb", 0, batch(1, -1, -1, -1), 9).await;
    let (got, _) = waiter.recv(ApiKey::Fetch, 12).await;
    assert_eq!(got, corr);
    assert!(
        appended.elapsed() < Duration::from_secs(5),
        "min_bytes=1 answered {:?} after the append",
        appended.elapsed()
    );
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn min_bytes_equal_to_the_partition_max_is_met_by_what_is_there_not_what_fits() {
    // A batch consumer with fetch.min.bytes = max.partition.fetch.bytes: whole
    // batches rarely add up to exactly the limit, so counting only what the
    // response can carry would hold every fetch for the whole max wait. Kafka
    // counts what is available up to the partition's max bytes.
    let broker = TestBroker::start(&[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "lake", 1).await;
    let mut waiter = RawClient::connect(broker.addr()).await;
    let want = 256 << 10;

    // Parked first, then ~330 KB appended in 64 KiB batches.
    let corr = waiter
        .send(
            fetch("lake", &[(0, 0)], want, 20_000, want, 0),
            ApiKey::Fetch,
            12,
        )
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    produce_batches(&mut c, "lake", 0, 1, 5).await;
    let appended = Instant::now();
    let (got, resp) = waiter.recv(ApiKey::Fetch, 12).await;
    assert_eq!(got, corr);
    assert!(
        appended.elapsed() < Duration::from_secs(5),
        "answered {:?} after the data was there (max wait 20 s)",
        appended.elapsed()
    );
    let ResponseKind::Fetch(resp) = resp else {
        panic!()
    };
    let records = resp.responses[0].partitions[0]
        .records
        .clone()
        .unwrap_or_default();
    // Whole batches within the partition's limit: three of the five.
    assert!(records.len() <= want as usize && records.len() >= 3 * 64 * 1024);

    // Already there: answered at once.
    let started = Instant::now();
    let ResponseKind::Fetch(resp) = waiter
        .call(
            fetch("lake", &[(0, 0)], want, 20_000, want, 0),
            ApiKey::Fetch,
            12,
        )
        .await
    else {
        panic!()
    };
    assert_eq!(resp.responses[0].partitions[0].error_code, 0);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answered after {:?}",
        started.elapsed()
    );
    broker.shutdown().await.unwrap();
}

/// Catching-up consumers' large responses that their consumers do not read
/// (sockets full) hold neither an async worker nor a cold pool thread: with
/// more such stalled responses than the cold pool has threads, a tailing
/// fetch on another connection is answered, and a reading catch-up consumer
/// gets all its data; the stalled responses then arrive whole and byte-exact
/// once read. Their record blocks went out from the cold pool.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_cold_responses_hold_no_worker_and_no_cold_pool_thread() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "cold", 1).await;
    create_topic_raw(&mut c, "tail", 1).await;
    // 320 batches of 64 KiB: 20 MiB, 5120 records: a fetch from 0 is catching up.
    let sent = produce_batches(&mut c, "cold", 0, 1, 320).await;
    let end = (sent.len() * PER_BATCH) as i64;
    let cold_before = weir::connection::cold_sendfile_bytes();

    // Each asks for 16 MiB and reads nothing: the send stalls once the
    // socket buffers are full.
    let stalls = weir::cold_io::THREADS + 1;
    let sent_before = weir::connection::sendfile_bytes();
    let mut stalled = Vec::new();
    for _ in 0..stalls {
        let mut s = bounded("connect", tokio::net::TcpStream::connect(broker.addr()))
            .await
            .unwrap();
        let req = fetch("cold", &[(0, 0)], 1, 100, 16 << 20, 0);
        send_on(&mut s, 1, req, ApiKey::Fetch, 12).await;
        stalled.push(s);
    }
    // Their sends are under way (bounded wait).
    let t0 = Instant::now();
    while weir::connection::sendfile_bytes() - sent_before < stalls as u64 * (64 << 10) {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "stalled catch-up responses never started"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // A tailing consumer: one small append, a fetch at it answered at once.
    let mut tail = RawClient::connect(broker.addr()).await;
    let batch = big_batch(9999, -1, -1, -1, false);
    assert_eq!(
        produce_raw(&mut tail, "tail", 0, batch, 9).await.error_code,
        0
    );
    let req = fetch("tail", &[(0, 0)], 1, 10_000, 1 << 20, 0);
    let asked = Instant::now();
    let ResponseKind::Fetch(resp) = call_on(&mut tail.stream, 7, req, ApiKey::Fetch, 12).await
    else {
        panic!()
    };
    assert!(!resp.responses[0].partitions[0]
        .records
        .as_ref()
        .unwrap()
        .is_empty());
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "tail fetch took {:?} behind stalled catch-up responses",
        asked.elapsed()
    );

    // Another catch-up consumer that reads: every cold pool thread being
    // free of the stalled sockets, it gets all of its data.
    let mut reader = RawClient::connect(broker.addr()).await;
    let fetched = catch_up_on(&mut reader.stream, "cold", &sent, end, 4 << 20).await;
    assert!(fetched >= 20 << 20, "fetched {fetched} bytes");

    // The stalled responses, read now, are whole and exact.
    for (i, s) in stalled.iter_mut().enumerate() {
        let ResponseKind::Fetch(resp) = recv_on(s, 1, ApiKey::Fetch, 12).await else {
            panic!()
        };
        let p = &resp.responses[0].partitions[0];
        assert_eq!(p.error_code, 0);
        let records = p.records.clone().unwrap_or_default();
        assert!(
            records.len() >= 15 << 20,
            "stalled response {i}: {} bytes",
            records.len()
        );
        check_exact(&records, &sent, 0);
    }
    let cold = weir::connection::cold_sendfile_bytes() - cold_before;
    assert!(
        cold >= stalls as u64 * (8 << 20),
        "only {cold} bytes of cold responses went out from the cold pool"
    );
    broker.shutdown().await.unwrap();
}
