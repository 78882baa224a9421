//! A tail-fetching client for `benches/callgrind_fetch.sh`: creates topic `cf`
//! with PARTITIONS partitions, then ROUNDS times produces one record to the next
//! partition and fetches (max wait 0) the way a consumer at the log end does:
//! `sessionless` sends every partition at epoch -1 (librdkafka, and weir before
//! sessions); `session` opens a session with one full fetch, then sends only the
//! partition whose offset moved (the Java consumer's incremental fetches).
//!
//!   cargo run --example fetch_driver -- ADDR sessionless|session PARTITIONS ROUNDS

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    ApiKey, CreateTopicsRequest, FetchRequest, ProduceRequest, RequestHeader, RequestKind,
    ResponseHeader, ResponseKind, TopicName,
};
use kafka_protocol::protocol::{Decodable, StrBytes};
use std::io::{Read, Write};
use std::net::TcpStream;
use weir_storage::{BatchBuilder, Record};

struct Conn {
    s: TcpStream,
    corr: i32,
}

impl Conn {
    fn call(&mut self, body: RequestKind, key: ApiKey, version: i16) -> ResponseKind {
        self.corr += 1;
        let header = RequestHeader::default()
            .with_request_api_key(key as i16)
            .with_request_api_version(version)
            .with_correlation_id(self.corr)
            .with_client_id(Some(StrBytes::from_static_str("fetch-driver")));
        let buf = weir::codec::encode_request(&header, &body, version).expect("encode");
        let mut frame = BytesMut::with_capacity(buf.len() + 4);
        frame.put_i32(buf.len() as i32);
        frame.put_slice(&buf);
        self.s.write_all(&frame).expect("write");
        let mut len = [0u8; 4];
        self.s.read_exact(&mut len).expect("read");
        let mut body = vec![0u8; i32::from_be_bytes(len) as usize];
        self.s.read_exact(&mut body).expect("read");
        let mut body = Bytes::from(body);
        ResponseHeader::decode(&mut body, key.response_header_version(version)).expect("header");
        let r = ResponseKind::decode(key, &mut body, version).expect("decode");
        assert!(!body.has_remaining());
        r
    }
}

fn name() -> TopicName {
    TopicName(StrBytes::from_static_str("cf"))
}

fn fetch(session: i32, epoch: i32, parts: &[(i32, i64)]) -> RequestKind {
    let topics = match parts.is_empty() {
        true => vec![],
        false => vec![FetchTopic::default().with_topic(name()).with_partitions(
            parts
                .iter()
                .map(|&(p, o)| {
                    FetchPartition::default()
                        .with_partition(p)
                        .with_fetch_offset(o)
                        .with_partition_max_bytes(1 << 20)
                })
                .collect(),
        )],
    };
    RequestKind::Fetch(
        FetchRequest::default()
            .with_max_wait_ms(0)
            .with_min_bytes(0)
            .with_max_bytes(50 << 20)
            .with_session_id(session)
            .with_session_epoch(epoch)
            .with_topics(topics),
    )
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (addr, mode) = (&args[1], args[2].as_str());
    let partitions: i32 = args[3].parse().unwrap();
    let rounds: usize = args[4].parse().unwrap();
    let mut c = Conn {
        s: TcpStream::connect(addr).expect("connect"),
        corr: 0,
    };
    c.call(
        RequestKind::CreateTopics(CreateTopicsRequest::default().with_topics(vec![
                CreatableTopic::default()
                    .with_name(name())
                    .with_num_partitions(partitions)
                    .with_replication_factor(1),
            ])),
        ApiKey::CreateTopics,
        7,
    );
    let mut offsets: Vec<(i32, i64)> = (0..partitions).map(|p| (p, 0)).collect();
    let (mut session, mut epoch) = (0, -1);
    if mode == "session" {
        let ResponseKind::Fetch(r) = c.call(fetch(0, 0, &offsets), ApiKey::Fetch, 12) else {
            panic!()
        };
        assert!(r.session_id > 0);
        (session, epoch) = (r.session_id, 1);
    }
    let mut moved: Option<usize> = None;
    for i in 0..rounds {
        let p = i % partitions as usize;
        let mut b = BatchBuilder::new();
        b.push(Record {
            offset: 0,
            timestamp: 1_700_000_000_000,
            key: None,
            value: Some(Bytes::from_static(&[7u8; 100])),
            headers: vec![],
        });
        let produce = ProduceRequest::default()
            .with_acks(1)
            .with_timeout_ms(10_000)
            .with_topic_data(vec![TopicProduceData::default()
                .with_name(name())
                .with_partition_data(vec![PartitionProduceData::default()
                    .with_index(p as i32)
                    .with_records(Some(Bytes::from(b.build().unwrap())))])]);
        c.call(RequestKind::Produce(produce), ApiKey::Produce, 9);
        let req = match mode {
            "session" => {
                let changed: Vec<_> = moved.iter().map(|&m| offsets[m]).collect();
                fetch(session, epoch, &changed)
            }
            _ => fetch(0, -1, &offsets),
        };
        let ResponseKind::Fetch(r) = c.call(req, ApiKey::Fetch, 12) else {
            panic!()
        };
        assert_eq!(r.error_code, 0);
        moved = None;
        for t in &r.responses {
            for d in &t.partitions {
                if d.records.as_ref().is_some_and(|r| !r.is_empty()) {
                    let at = d.partition_index as usize;
                    offsets[at].1 = d.high_watermark;
                    moved = Some(at);
                }
            }
        }
        if mode == "session" {
            epoch += 1;
        }
    }
    println!("{mode}: {rounds} rounds over {partitions} partitions");
}
