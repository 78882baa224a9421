//! Criterion micro-benchmarks of the broker's per-request hot paths: frame
//! reading (connection.rs), Produce request decode + the produce-side batch
//! validation (codec.rs + weir-storage's checks, as handlers/produce.rs runs
//! them), and Fetch response encoding with record data spliced (codec.rs).
//!
//! Run: `cargo bench -p weir --bench hot_paths` (add `-- --quick` on a busy box).
use bytes::Bytes;
use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    ApiKey, FetchResponse, ProduceRequest, RequestHeader, RequestKind, ResponseKind, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use weir::codec;
use weir::connection::FrameReader;
use weir_storage::batch::{iter_batches, validate_record_set};
use weir_storage::{BatchBuilder, Record};

/// One uncompressed v2 batch of `n` records with `size`-byte values.
fn batch(n: usize, size: usize) -> Bytes {
    let mut b = BatchBuilder::new();
    let value = Bytes::from(vec![0x5a; size]);
    for i in 0..n {
        b.push(Record {
            offset: i as i64,
            timestamp: 1_700_000_000_000 + i as i64,
            key: None,
            value: Some(value.clone()),
            headers: Vec::new(),
        });
    }
    Bytes::from(b.build().expect("batch builds"))
}

/// A framed Produce v9 request (without the size prefix) carrying `records`.
fn produce_frame(records: &Bytes) -> Bytes {
    let header = RequestHeader::default()
        .with_request_api_key(ApiKey::Produce as i16)
        .with_request_api_version(9)
        .with_correlation_id(7)
        .with_client_id(Some(StrBytes::from_static_str("bench")));
    let body = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(30_000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_static_str("t")))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(records.clone()))])]);
    codec::encode_request(&header, &RequestKind::Produce(body), 9)
        .expect("request encodes")
        .freeze()
}

fn frame_decode(c: &mut Criterion) {
    // 1,000 pipelined 1 KiB frames in one stream, as a producer connection sends them.
    let payload = vec![0xab; 1024];
    let mut stream = Vec::new();
    for _ in 0..1000 {
        stream.extend_from_slice(&(payload.len() as i32).to_be_bytes());
        stream.extend_from_slice(&payload);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let mut g = c.benchmark_group("frame_decode");
    g.throughput(Throughput::Bytes(stream.len() as u64));
    g.bench_function("1000x1KiB", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut r = FrameReader::new(&stream[..], 100 << 20);
                let mut n = 0;
                while let Some(f) = r.read_frame().await.expect("frame") {
                    n += f.len();
                }
                black_box(n)
            })
        })
    });
    g.finish();
}

fn produce_decode_validate(c: &mut Criterion) {
    let mut g = c.benchmark_group("produce_decode_validate");
    for (n, size) in [(1000usize, 1024usize), (16, 1024)] {
        let records = batch(n, size);
        let frame = produce_frame(&records);
        g.throughput(Throughput::Bytes(frame.len() as u64));
        g.bench_function(format!("{n}x{size}B"), |b| {
            b.iter_batched(
                || frame.clone(),
                |frame| {
                    let prefix = codec::peek_header(&frame).expect("header");
                    let (_, body) =
                        codec::decode_request(frame, ApiKey::Produce, prefix.api_version)
                            .expect("decodes");
                    let RequestKind::Produce(req) = body else {
                        panic!("not a produce request")
                    };
                    for td in &req.topic_data {
                        for pd in &td.partition_data {
                            let recs = pd.records.as_deref().unwrap_or_default();
                            // handlers/produce.rs on the plain path: a structure
                            // pass, then the storage append's full validation.
                            for b in iter_batches(recs) {
                                black_box(b.expect("batch").producer_id());
                            }
                            validate_record_set(recs).expect("valid");
                        }
                    }
                },
                BatchSize::SmallInput,
            )
        });
    }
    let records = batch(1000, 1024);
    g.throughput(Throughput::Bytes(records.len() as u64));
    g.bench_function("crc_pass_only_1000x1024B", |b| {
        b.iter(|| {
            for b in iter_batches(&records) {
                b.and_then(|b| b.validate_crc()).expect("crc");
            }
        })
    });
    g.finish();
}

fn fetch_encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("fetch_encode");
    for parts in [1usize, 16] {
        // 1 MiB of record data per partition, as a catching-up consumer gets.
        let records = batch(1000, 1024);
        let resp = FetchResponse::default().with_responses(vec![FetchableTopicResponse::default()
            .with_topic(TopicName(StrBytes::from_static_str("t")))
            .with_partitions(
                (0..parts as i32)
                    .map(|i| {
                        PartitionData::default()
                            .with_partition_index(i)
                            .with_high_watermark(1000)
                            .with_records(Some(records.clone()))
                    })
                    .collect(),
            )]);
        let resp = ResponseKind::Fetch(resp);
        g.throughput(Throughput::Bytes((records.len() * parts) as u64));
        g.bench_function(format!("{parts}x1MiB"), |b| {
            b.iter(|| {
                let out = codec::encode_response(9, ApiKey::Fetch, 12, &resp).expect("encodes");
                black_box(out.iter().map(Bytes::len).sum::<usize>())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, frame_decode, produce_decode_validate, fetch_encode);
criterion_main!(benches);
