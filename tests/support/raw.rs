//! A raw Kafka-protocol client over a real socket (kafka-protocol's client-side
//! encoding) and the requests and record batches the protocol tests build with it.
//! Every await is bounded ([`super::bounded`]).

use super::bounded;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind, ResponseHeader, ResponseKind};
use kafka_protocol::protocol::{Decodable, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, ToSocketAddrs};

/// A raw protocol client on one connection.
pub struct RawClient {
    pub stream: TcpStream,
    next_correlation: i32,
}

impl RawClient {
    /// Start a transaction for `transactional_id` on `partitions` of `topic`:
    /// InitProducerId v4 (60 s timeout), then AddPartitionsToTxn v3, each
    /// asserted to succeed. Returns (producer id, epoch).
    pub async fn begin_txn(
        &mut self,
        transactional_id: &str,
        topic: &str,
        partitions: &[i32],
    ) -> (i64, i16) {
        use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
        use kafka_protocol::messages::{
            AddPartitionsToTxnRequest, InitProducerIdRequest, ProducerId, TransactionalId,
        };
        let tid = || TransactionalId(StrBytes::from_string(transactional_id.to_string()));
        let init = InitProducerIdRequest::default()
            .with_transactional_id(Some(tid()))
            .with_transaction_timeout_ms(60_000);
        let ResponseKind::InitProducerId(init) = self
            .call(RequestKind::InitProducerId(init), ApiKey::InitProducerId, 4)
            .await
        else {
            panic!("InitProducerId answered with another response")
        };
        assert_eq!(init.error_code, 0, "InitProducerId");
        let (pid, epoch) = (init.producer_id.0, init.producer_epoch);
        let add = AddPartitionsToTxnRequest::default()
            .with_v3_and_below_transactional_id(tid())
            .with_v3_and_below_producer_id(ProducerId(pid))
            .with_v3_and_below_producer_epoch(epoch)
            .with_v3_and_below_topics(vec![AddPartitionsToTxnTopic::default()
                .with_name(tname(topic))
                .with_partitions(partitions.to_vec())]);
        let ResponseKind::AddPartitionsToTxn(r) = self
            .call(
                RequestKind::AddPartitionsToTxn(add),
                ApiKey::AddPartitionsToTxn,
                3,
            )
            .await
        else {
            panic!("AddPartitionsToTxn answered with another response")
        };
        for p in &r.results_by_topic_v3_and_below[0].results_by_partition {
            assert_eq!(p.partition_error_code, 0, "AddPartitionsToTxn {topic}");
        }
        (pid, epoch)
    }

    /// IncrementalAlterConfigs v1 (what Kafka 4.4's Admin sends) on one resource,
    /// `ops` as (name, value, operation): its (error code, error message).
    pub async fn incremental_alter_configs(
        &mut self,
        resource_type: i8,
        name: &str,
        ops: &[(&str, Option<&str>, i8)],
        validate_only: bool,
    ) -> (i16, Option<String>) {
        use kafka_protocol::messages::incremental_alter_configs_request::{
            AlterConfigsResource, AlterableConfig,
        };
        use kafka_protocol::messages::IncrementalAlterConfigsRequest;
        let s = |v: &str| StrBytes::from_string(v.to_string());
        let req = IncrementalAlterConfigsRequest::default()
            .with_resources(vec![AlterConfigsResource::default()
                .with_resource_type(resource_type)
                .with_resource_name(s(name))
                .with_configs(
                    ops.iter()
                        .map(|(k, v, op)| {
                            AlterableConfig::default()
                                .with_name(s(k))
                                .with_value(v.map(s))
                                .with_config_operation(*op)
                        })
                        .collect(),
                )])
            .with_validate_only(validate_only);
        let ResponseKind::IncrementalAlterConfigs(r) = self
            .call(
                RequestKind::IncrementalAlterConfigs(req),
                ApiKey::IncrementalAlterConfigs,
                1,
            )
            .await
        else {
            panic!("IncrementalAlterConfigs answered with another response")
        };
        let r = &r.responses[0];
        (
            r.error_code,
            r.error_message.as_ref().map(|m| m.to_string()),
        )
    }

    pub async fn connect(addr: impl ToSocketAddrs) -> RawClient {
        let stream = bounded("connect", TcpStream::connect(addr))
            .await
            .expect("connect");
        RawClient {
            stream,
            next_correlation: 1,
        }
    }

    /// Encode and send a request; returns its correlation id.
    pub async fn send(&mut self, body: RequestKind, key: ApiKey, version: i16) -> i32 {
        let correlation = self.next_correlation;
        self.next_correlation += 1;
        let header = RequestHeader::default()
            .with_request_api_key(key as i16)
            .with_request_api_version(version)
            .with_correlation_id(correlation)
            .with_client_id(Some(StrBytes::from_static_str("weir-test")));
        let buf = weir::codec::encode_request(&header, &body, version).expect("encode request");
        self.send_raw(&buf).await;
        correlation
    }

    /// Send one frame with these bytes as its payload.
    pub async fn send_raw(&mut self, payload: &[u8]) {
        let mut frame = BytesMut::with_capacity(payload.len() + 4);
        frame.put_i32(payload.len() as i32);
        frame.put_slice(payload);
        bounded("write", self.stream.write_all(&frame))
            .await
            .expect("write");
    }

    /// Read one response frame; `None` if the broker closed the connection.
    pub async fn recv_frame(&mut self) -> Option<Bytes> {
        let mut len = [0u8; 4];
        match bounded("read size", self.stream.read_exact(&mut len)).await {
            Ok(_) => {}
            Err(_) => return None,
        }
        let len = i32::from_be_bytes(len) as usize;
        let mut buf = vec![0u8; len];
        bounded("read body", self.stream.read_exact(&mut buf))
            .await
            .ok()?;
        Some(Bytes::from(buf))
    }

    /// Read and decode the response to a request of `key`/`version`.
    pub async fn recv(&mut self, key: ApiKey, version: i16) -> (i32, ResponseKind) {
        let mut frame = self.recv_frame().await.expect("connection open");
        let header = ResponseHeader::decode(&mut frame, key.response_header_version(version))
            .expect("header");
        let body = ResponseKind::decode(key, &mut frame, version).expect("decode response");
        assert!(
            !frame.has_remaining(),
            "trailing bytes in {key:?} v{version} response"
        );
        (header.correlation_id, body)
    }

    /// Send and wait for the response.
    pub async fn call(&mut self, body: RequestKind, key: ApiKey, version: i16) -> ResponseKind {
        let corr = self.send(body, key, version).await;
        let (got, resp) = self.recv(key, version).await;
        assert_eq!(got, corr, "correlation id");
        resp
    }

    /// True if the broker closed the connection (reads EOF / reset within the bound).
    pub async fn is_closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(
            bounded("read eof", self.stream.read(&mut b)).await,
            Ok(0) | Err(_)
        )
    }
}

use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::produce_response::PartitionProduceResponse;
use kafka_protocol::messages::{CreateTopicsRequest, FetchRequest, ProduceRequest, TopicName};
use weir_storage::{BatchBuilder, Record};

pub fn tname(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

/// A v2 batch of `n` records ("v0", "v1", ...) with the given producer id/epoch/sequence.
pub fn batch(n: usize, producer_id: i64, epoch: i16, base_sequence: i32) -> Vec<u8> {
    let mut b = BatchBuilder::new();
    b.producer_id = producer_id;
    b.producer_epoch = epoch;
    b.base_sequence = base_sequence;
    for i in 0..n {
        b.push(Record {
            offset: i as i64,
            timestamp: 1_700_000_000_000 + i as i64,
            key: None,
            value: Some(Bytes::from(format!("v{i}"))),
            headers: vec![],
        });
    }
    b.build().expect("build batch")
}

pub async fn create_topic_raw(c: &mut RawClient, name: &str, partitions: i32) {
    let req = CreateTopicsRequest::default().with_topics(vec![CreatableTopic::default()
        .with_name(tname(name))
        .with_num_partitions(partitions)
        .with_replication_factor(1)]);
    let ResponseKind::CreateTopics(resp) = c
        .call(RequestKind::CreateTopics(req), ApiKey::CreateTopics, 7)
        .await
    else {
        panic!()
    };
    assert_eq!(
        resp.topics[0].error_code, 0,
        "{:?}",
        resp.topics[0].error_message
    );
}

/// Produce `records` to one partition (acks=-1) and return that partition's response.
pub async fn produce_raw(
    c: &mut RawClient,
    topic: &str,
    partition: i32,
    records: Vec<u8>,
    version: i16,
) -> PartitionProduceResponse {
    let req = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(10_000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(tname(topic))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(partition)
                .with_records(Some(Bytes::from(records)))])]);
    let ResponseKind::Produce(resp) = c
        .call(RequestKind::Produce(req), ApiKey::Produce, version)
        .await
    else {
        panic!()
    };
    resp.responses[0].partition_responses[0].clone()
}

/// A Fetch v12 request for one partition.
pub fn fetch_req(
    topic: &str,
    partition: i32,
    offset: i64,
    min_bytes: i32,
    max_wait_ms: i32,
) -> RequestKind {
    RequestKind::Fetch(
        FetchRequest::default()
            .with_max_wait_ms(max_wait_ms)
            .with_min_bytes(min_bytes)
            .with_max_bytes(10 << 20)
            .with_session_epoch(-1)
            .with_topics(vec![FetchTopic::default()
                .with_topic(tname(topic))
                .with_partitions(vec![FetchPartition::default()
                    .with_partition(partition)
                    .with_fetch_offset(offset)
                    .with_partition_max_bytes(1 << 20)])]),
    )
}
