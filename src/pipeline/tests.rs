//! One test per stage seam: a broker started with an injected stage, spoken to
//! over a real socket.

use super::*;
use crate::codec;
use crate::server::{Broker, BrokerConfig};
use bytes::Bytes;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    ApiVersionsRequest, MetadataRequest, RequestHeader, RequestKind, ResponseHeader, ResponseKind,
    TopicName,
};
use kafka_protocol::protocol::{Decodable, StrBytes};
use parking_lot::Mutex;
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Requests over a raw socket, one at a time.
struct Client {
    stream: TcpStream,
    correlation_id: i32,
}

impl Client {
    async fn connect(broker: &Broker) -> Client {
        Client {
            stream: TcpStream::connect(broker.addr()).await.unwrap(),
            correlation_id: 0,
        }
    }

    /// The response, or `None` when the broker closed the connection instead.
    async fn call(&mut self, body: RequestKind, key: ApiKey, version: i16) -> Option<ResponseKind> {
        self.correlation_id += 1;
        let header = RequestHeader::default()
            .with_request_api_key(key as i16)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation_id)
            .with_client_id(Some(StrBytes::from_static_str("pipeline-test")));
        let req = codec::encode_request(&header, &body, version).unwrap();
        self.stream
            .write_all(&(req.len() as i32).to_be_bytes())
            .await
            .unwrap();
        self.stream.write_all(&req).await.unwrap();
        let read = async {
            let mut len = [0u8; 4];
            self.stream.read_exact(&mut len).await.ok()?;
            let mut data = vec![0u8; i32::from_be_bytes(len) as usize];
            self.stream.read_exact(&mut data).await.ok()?;
            Some(Bytes::from(data))
        };
        let mut data = tokio::time::timeout(Duration::from_secs(10), read)
            .await
            .expect("no answer within 10 s")?;
        let header =
            ResponseHeader::decode(&mut data, key.response_header_version(version)).unwrap();
        assert_eq!(header.correlation_id, self.correlation_id);
        Some(ResponseKind::decode(key, &mut data, version).unwrap())
    }

    async fn metadata(&mut self, topic: &str) -> Option<ResponseKind> {
        let req = MetadataRequest::default()
            .with_topics(Some(vec![MetadataRequestTopic::default()
                .with_name(Some(TopicName(StrBytes::from_string(topic.into()))))]))
            .with_allow_auto_topic_creation(true);
        self.call(RequestKind::Metadata(req), ApiKey::Metadata, 9)
            .await
    }

    async fn api_versions(&mut self) -> Option<ResponseKind> {
        let req = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("t"))
            .with_client_software_version(StrBytes::from_static_str("1"));
        self.call(RequestKind::ApiVersions(req), ApiKey::ApiVersions, 3)
            .await
    }
}

async fn start(dir: &tempfile::TempDir, pipeline: Pipeline) -> Broker {
    Broker::start_with_pipeline(BrokerConfig::ephemeral(dir.path()), pipeline)
        .await
        .unwrap()
}

/// Refuses every request but ApiVersions (as SASL does before the handshake).
struct OnlyApiVersions;

impl Authentication for OnlyApiVersions {
    fn check(&self, ctx: &RequestContext) -> Result<(), Rejection> {
        if ctx.api_key == ApiKey::ApiVersions {
            Ok(())
        } else {
            Err(Rejection::new(
                Stage::Authentication,
                ctx,
                ResponseError::IllegalSaslState,
            ))
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authentication_refusal_closes_the_connection_before_the_handler() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start(
        &dir,
        Pipeline::default().with_authentication(Arc::new(OnlyApiVersions)),
    )
    .await;
    let mut c = Client::connect(&broker).await;
    assert!(matches!(
        c.api_versions().await,
        Some(ResponseKind::ApiVersions(_))
    ));
    assert!(c.metadata("auto").await.is_none(), "connection stays open");
    // The handler did not run: Metadata would have auto-created the topic.
    assert!(broker.state().partitions.topic("auto").is_none());
    broker.shutdown().await.unwrap();
}

/// Denies Metadata; remembers who asked.
#[derive(Default)]
struct DenyMetadata {
    seen: Mutex<Vec<(String, String, Option<String>)>>,
}

impl Authorizer for DenyMetadata {
    fn authorize(&self, ctx: &RequestContext) -> Result<(), Rejection> {
        self.seen.lock().push((
            ctx.principal.to_string(),
            ctx.listener.to_string(),
            ctx.client_id.clone(),
        ));
        if ctx.api_key == ApiKey::Metadata {
            Err(Rejection::new(
                Stage::Authorization,
                ctx,
                ResponseError::TopicAuthorizationFailed,
            ))
        } else {
            Ok(())
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorizer_refusal_is_the_apis_error_response_and_skips_the_handler() {
    let dir = tempfile::tempdir().unwrap();
    let authorizer = Arc::new(DenyMetadata::default());
    let broker = start(
        &dir,
        Pipeline::default().with_authorizer(authorizer.clone()),
    )
    .await;
    let mut c = Client::connect(&broker).await;
    let Some(ResponseKind::Metadata(resp)) = c.metadata("auto").await else {
        panic!("no Metadata answer")
    };
    assert_eq!(resp.topics.len(), 1);
    assert_eq!(resp.topics[0].name.as_ref().unwrap().0.as_str(), "auto");
    assert_eq!(
        resp.topics[0].error_code,
        ResponseError::TopicAuthorizationFailed.code()
    );
    assert!(resp.brokers.is_empty());
    assert!(broker.state().partitions.topic("auto").is_none());
    // The connection stays usable, and other APIs pass.
    assert!(matches!(
        c.api_versions().await,
        Some(ResponseKind::ApiVersions(_))
    ));
    let seen = authorizer.seen.lock().clone();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        seen[0],
        (
            "User:ANONYMOUS".to_string(),
            "PLAINTEXT".to_string(),
            Some("pipeline-test".to_string())
        )
    );
    broker.shutdown().await.unwrap();
}

/// Throttles every request by 1234 ms; remembers request sizes.
#[derive(Default)]
struct Throttle {
    sizes: Mutex<Vec<usize>>,
}

impl Quotas for Throttle {
    fn throttle_time_ms(&self, _ctx: &RequestContext, request_bytes: usize) -> i32 {
        self.sizes.lock().push(request_bytes);
        1234
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_throttle_time_reaches_the_response() {
    let dir = tempfile::tempdir().unwrap();
    let quotas = Arc::new(Throttle::default());
    let broker = start(&dir, Pipeline::default().with_quotas(quotas.clone())).await;
    let mut c = Client::connect(&broker).await;
    let Some(ResponseKind::Metadata(resp)) = c.metadata("t").await else {
        panic!("no Metadata answer")
    };
    assert_eq!(resp.throttle_time_ms, 1234);
    assert_eq!(resp.topics[0].error_code, 0, "the handler still ran");
    let Some(ResponseKind::ApiVersions(resp)) = c.api_versions().await else {
        panic!("no ApiVersions answer")
    };
    assert_eq!(resp.throttle_time_ms, 1234);
    let sizes = quotas.sizes.lock().clone();
    assert_eq!(sizes.len(), 2);
    assert!(sizes.iter().all(|&n| n > 8), "{sizes:?}");
    broker.shutdown().await.unwrap();
}

/// Keeps every record.
#[derive(Default)]
struct Recorder {
    records: Mutex<Vec<RequestRecord>>,
}

impl RequestObserver for Recorder {
    fn observe(&self, record: &RequestRecord) {
        self.records.lock().push(*record);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observer_sees_api_key_version_outcome_and_timings() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = Arc::new(Recorder::default());
    let broker = start(&dir, Pipeline::default().with_observer(recorder.clone())).await;
    let mut c = Client::connect(&broker).await;
    assert!(c.metadata("t").await.is_some());
    assert!(c.api_versions().await.is_some());
    // The observer runs after the response is written: wait for it.
    let deadline = Instant::now() + Duration::from_secs(10);
    let records = loop {
        let r = recorder.records.lock().clone();
        if r.len() >= 2 || Instant::now() > deadline {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let seen: Vec<_> = records
        .iter()
        .map(|r| (r.api_key, r.api_version, r.outcome))
        .collect();
    assert_eq!(
        seen,
        vec![
            (ApiKey::Metadata, 9, RequestOutcome::Ok),
            (ApiKey::ApiVersions, 3, RequestOutcome::Ok),
        ]
    );
    // Metadata created a topic (a file-system round trip): its handler time shows.
    let t = records[0].timings;
    assert!(t.handled > Duration::ZERO, "{t:?}");
    assert!(
        t.queued + t.handled + t.sent < Duration::from_secs(10),
        "{t:?}"
    );
    broker.shutdown().await.unwrap();
}
