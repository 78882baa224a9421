//! Wire-protocol behaviour over real sockets with a raw client: ApiVersions,
//! Metadata at every version, topic auto-creation, and that broken framing closes
//! only the offending connection.

mod support;

use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, MetadataRequest, RequestKind, ResponseKind, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use support::*;

fn metadata_for(names: &[&str], auto: bool) -> RequestKind {
    let mut req = MetadataRequest::default().with_topics(Some(
        names
            .iter()
            .map(|n| {
                MetadataRequestTopic::default()
                    .with_name(Some(TopicName(StrBytes::from_string(n.to_string()))))
            })
            .collect(),
    ));
    req.allow_auto_topic_creation = auto;
    RequestKind::Metadata(req)
}

#[tokio::test]
async fn api_versions_lists_exactly_the_dispatch_table() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    for version in 0..=4 {
        let ResponseKind::ApiVersions(resp) = c
            .call(
                RequestKind::ApiVersions(ApiVersionsRequest::default()),
                ApiKey::ApiVersions,
                version,
            )
            .await
        else {
            panic!("wrong response kind")
        };
        assert_eq!(resp.error_code, 0);
        let listed: Vec<(i16, i16, i16)> = resp
            .api_keys
            .iter()
            .map(|k| (k.api_key, k.min_version, k.max_version))
            .collect();
        let mut expected: Vec<(i16, i16, i16)> = weir::dispatch::API_TABLE
            .iter()
            .map(|s| (s.key as i16, s.min_version, s.max_version))
            .chain(weir::dispatch::RAW_APIS.iter().copied())
            .collect();
        expected.sort();
        assert_eq!(listed, expected, "v{version}");
        assert!(listed.contains(&(ApiKey::Metadata as i16, 0, 13)));
    }
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn unsupported_api_versions_version_gets_error_35_with_v0_body() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    // ApiVersions v9 (a future version): header v2, body unknown to us.
    let mut payload = Vec::new();
    payload.extend_from_slice(&(ApiKey::ApiVersions as i16).to_be_bytes());
    payload.extend_from_slice(&9i16.to_be_bytes());
    payload.extend_from_slice(&77i32.to_be_bytes());
    payload.extend_from_slice(&[0xff, 0xff, 0, 0, 0]);
    c.send_raw(&payload).await;
    let (corr, resp) = c.recv(ApiKey::ApiVersions, 0).await;
    assert_eq!(corr, 77);
    let ResponseKind::ApiVersions(resp) = resp else {
        panic!()
    };
    assert_eq!(resp.error_code, ResponseError::UnsupportedVersion.code());
    assert!(!resp.api_keys.is_empty());
    // The connection stays usable for the retry.
    let ResponseKind::ApiVersions(resp) = c
        .call(
            RequestKind::ApiVersions(ApiVersionsRequest::default()),
            ApiKey::ApiVersions,
            3,
        )
        .await
    else {
        panic!()
    };
    assert_eq!(resp.error_code, 0);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn metadata_answers_every_version_with_broker_and_auto_created_topic() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[("num.partitions", "3")]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    let ResponseKind::Metadata(first) = c
        .call(metadata_for(&["auto-made"], true), ApiKey::Metadata, 12)
        .await
    else {
        panic!()
    };
    assert_eq!(first.topics[0].error_code, 0);
    assert_eq!(first.topics[0].partitions.len(), 3);
    let topic_id = first.topics[0].topic_id;
    assert!(!topic_id.is_nil());
    for version in 0..=13 {
        let ResponseKind::Metadata(resp) = c
            .call(
                metadata_for(&["auto-made"], true),
                ApiKey::Metadata,
                version,
            )
            .await
        else {
            panic!()
        };
        assert_eq!(resp.brokers.len(), 1, "v{version}");
        assert_eq!(resp.brokers[0].node_id.0, 1);
        assert_eq!(resp.brokers[0].port, broker.addr().port() as i32);
        assert_eq!(resp.brokers[0].host.as_str(), "127.0.0.1");
        let t = &resp.topics[0];
        assert_eq!(t.error_code, 0, "v{version}");
        assert_eq!(t.partitions.len(), 3);
        for (i, p) in t.partitions.iter().enumerate() {
            assert_eq!(p.partition_index, i as i32);
            assert_eq!(p.leader_id.0, 1);
        }
        if version >= 1 {
            assert_eq!(resp.controller_id.0, 1);
        }
        if version >= 2 {
            assert!(resp.cluster_id.is_some());
        }
        if version >= 10 {
            assert_eq!(t.topic_id, topic_id);
        }
    }
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn metadata_reports_unknown_invalid_and_unknown_id() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[("auto.create.topics.enable", "false")]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    let ResponseKind::Metadata(resp) = c
        .call(
            metadata_for(&["nope", "bad name!"], true),
            ApiKey::Metadata,
            12,
        )
        .await
    else {
        panic!()
    };
    assert_eq!(
        resp.topics[0].error_code,
        ResponseError::UnknownTopicOrPartition.code()
    );
    assert_eq!(
        resp.topics[1].error_code,
        ResponseError::InvalidTopicException.code()
    );
    let req = MetadataRequest::default().with_topics(Some(vec![
        MetadataRequestTopic::default().with_topic_id(weir::ids::random_uuid())
    ]));
    let ResponseKind::Metadata(resp) = c
        .call(RequestKind::Metadata(req), ApiKey::Metadata, 12)
        .await
    else {
        panic!()
    };
    assert_eq!(
        resp.topics[0].error_code,
        ResponseError::UnknownTopicId.code()
    );
    // Nothing was created.
    let ResponseKind::Metadata(all) = c
        .call(
            RequestKind::Metadata(MetadataRequest::default().with_topics(None)),
            ApiKey::Metadata,
            12,
        )
        .await
    else {
        panic!()
    };
    // Nothing was created (internal topics, e.g. the group coordinator's, aside).
    assert!(all.topics.iter().all(|t| t.is_internal), "{:?}", all.topics);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn garbage_and_oversized_frames_close_only_their_own_connection() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[("socket.request.max.bytes", "1024")]).await;
    let mut good = RawClient::connect(broker.addr()).await;
    good.call(
        RequestKind::ApiVersions(ApiVersionsRequest::default()),
        ApiKey::ApiVersions,
        3,
    )
    .await;

    let mut garbage = RawClient::connect(broker.addr()).await;
    garbage
        .send_raw(&[0x7f, 0x7f, 0, 1, 0, 0, 0, 1, 9, 9, 9])
        .await; // unknown api key
    assert!(garbage.is_closed().await);

    let mut truncated_body = RawClient::connect(broker.addr()).await;
    // A Metadata v12 header followed by a body that ends early.
    truncated_body
        .send_raw(&[0, 3, 0, 12, 0, 0, 0, 1, 0, 0, 0, 5])
        .await;
    assert!(truncated_body.is_closed().await);

    let mut oversized = RawClient::connect(broker.addr()).await;
    oversized.send_raw(&vec![0u8; 2048]).await;
    assert!(oversized.is_closed().await);

    let ResponseKind::ApiVersions(resp) = good
        .call(
            RequestKind::ApiVersions(ApiVersionsRequest::default()),
            ApiKey::ApiVersions,
            3,
        )
        .await
    else {
        panic!()
    };
    assert_eq!(resp.error_code, 0);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    let mut sent = Vec::new();
    for i in 0..20 {
        let corr = if i % 2 == 0 {
            c.send(
                RequestKind::ApiVersions(ApiVersionsRequest::default()),
                ApiKey::ApiVersions,
                3,
            )
            .await
        } else {
            c.send(
                metadata_for(&[&format!("pipe-{i}")], true),
                ApiKey::Metadata,
                12,
            )
            .await
        };
        sent.push((corr, i % 2 == 0));
    }
    for (corr, is_api_versions) in sent {
        let (got, _) = if is_api_versions {
            c.recv(ApiKey::ApiVersions, 3).await
        } else {
            c.recv(ApiKey::Metadata, 12).await
        };
        assert_eq!(got, corr);
    }
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn http_endpoint_answers_health_and_topics() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = weir::BrokerConfig::ephemeral(dir.path());
    cfg.http = Some("127.0.0.1:0".into());
    let broker = bounded("start", weir::Broker::start(cfg)).await.unwrap();
    let http = broker.http_addr().expect("http bound");
    let get = |path: &'static str| async move {
        let mut s = tokio::net::TcpStream::connect(http).await.unwrap();
        s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    };
    let health = bounded("health", get("/health")).await;
    assert!(
        health.starts_with("HTTP/1.1 200") && health.ends_with("ok\n"),
        "{health}"
    );
    let mut c = RawClient::connect(broker.addr()).await;
    c.call(metadata_for(&["web"], true), ApiKey::Metadata, 12)
        .await;
    let topics = bounded("topics", get("/topics")).await;
    assert!(topics.ends_with("web 1\n"), "{topics}");
    assert!(bounded("404", get("/nope"))
        .await
        .starts_with("HTTP/1.1 404"));
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn metadata_advertises_the_configured_address() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = weir::BrokerConfig::ephemeral(dir.path());
    cfg.advertise = Some("kafka.example.internal:19092".into());
    let broker = bounded("start", weir::Broker::start(cfg)).await.unwrap();
    let mut c = RawClient::connect(broker.addr()).await;
    let ResponseKind::Metadata(resp) = c
        .call(
            RequestKind::Metadata(MetadataRequest::default().with_topics(None)),
            ApiKey::Metadata,
            12,
        )
        .await
    else {
        panic!()
    };
    assert_eq!(resp.brokers[0].host.as_str(), "kafka.example.internal");
    assert_eq!(resp.brokers[0].port, 19092);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn absurd_array_length_closes_only_that_connection() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut good = RawClient::connect(broker.addr()).await;
    let mut evil = RawClient::connect(broker.addr()).await;
    // Metadata v4 claiming 2^31-1 topics in a 16-byte request (v12 flexible: 2^32-2 via varint).
    let mut payload = vec![0, 3, 0, 4, 0, 0, 0, 1, 0xff, 0xff];
    payload.extend_from_slice(&0x7fff_ffffi32.to_be_bytes());
    payload.extend_from_slice(&[0, 1]);
    evil.send_raw(&payload).await;
    assert!(evil.is_closed().await);
    let mut evil2 = RawClient::connect(broker.addr()).await;
    evil2
        .send_raw(&[
            0, 3, 0, 12, 0, 0, 0, 2, 0xff, 0xff, 0, 0xff, 0xff, 0xff, 0xff, 0x0f, 0,
        ])
        .await;
    assert!(evil2.is_closed().await);
    let ResponseKind::ApiVersions(resp) = good
        .call(
            RequestKind::ApiVersions(ApiVersionsRequest::default()),
            ApiKey::ApiVersions,
            3,
        )
        .await
    else {
        panic!()
    };
    assert_eq!(resp.error_code, 0);
    broker.shutdown().await.unwrap();
}
