//! A failing disk over real sockets: once an I/O error (EIO) takes the data dir
//! offline, Produce and Fetch of its partitions answer KAFKA_STORAGE_ERROR (as
//! Kafka's offline log dir) and nothing pretends otherwise, while the broker
//! keeps answering the APIs that do not touch the logs. (The EIO itself is
//! injected through the storage crate's `Fs` seam in its crash tests; here it
//! is reported through the same health check.)

mod support;

use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, DescribeLogDirsRequest, MetadataRequest, RequestKind, ResponseKind,
};
use kafka_protocol::ResponseError;
use support::raw::*;
use support::*;

#[tokio::test]
async fn after_an_eio_the_partitions_answer_kafka_storage_error_and_the_broker_stays_up() {
    let b = TestBroker::start(&[]).await;
    b.create_topic("t", 1);
    let mut c = RawClient::connect(b.addr()).await;
    let r = produce_raw(&mut c, "t", 0, batch(3, -1, -1, -1), 9).await;
    assert_eq!(r.error_code, 0);

    let dir = b.data_dir().join("t-0");
    b.state().store.health().report_io_error(
        &dir.join("00000000000000000000.log"),
        std::io::Error::from_raw_os_error(libc::EIO),
    );

    let r = produce_raw(&mut c, "t", 0, batch(3, -1, -1, -1), 9).await;
    assert_eq!(r.error_code, ResponseError::KafkaStorageError.code());
    let ResponseKind::Fetch(f) = c
        .call(fetch_req("t", 0, 0, 1, 100), ApiKey::Fetch, 12)
        .await
    else {
        panic!()
    };
    let p = &f.responses[0].partitions[0];
    assert_eq!(p.error_code, ResponseError::KafkaStorageError.code());
    assert!(
        p.records.as_ref().is_none_or(|r| r.is_empty()),
        "nothing served"
    );

    // the broker stays up for everything else
    let resp = c
        .call(
            RequestKind::ApiVersions(ApiVersionsRequest::default()),
            ApiKey::ApiVersions,
            3,
        )
        .await;
    assert!(matches!(resp, ResponseKind::ApiVersions(_)));
    let ResponseKind::Metadata(m) = c
        .call(
            RequestKind::Metadata(MetadataRequest::default().with_topics(None)),
            ApiKey::Metadata,
            12,
        )
        .await
    else {
        panic!()
    };
    assert!(m
        .topics
        .iter()
        .any(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == "t")));
    // DescribeLogDirs shows the dir offline
    let ResponseKind::DescribeLogDirs(d) = c
        .call(
            RequestKind::DescribeLogDirs(DescribeLogDirsRequest::default().with_topics(None)),
            ApiKey::DescribeLogDirs,
            4,
        )
        .await
    else {
        panic!()
    };
    assert_eq!(
        d.results[0].error_code,
        ResponseError::KafkaStorageError.code()
    );
    // no pretending at shutdown either: no clean-shutdown marker on an offline
    // dir (the next start recovers every log)
    assert!(b.shutdown().await.is_err());
}
