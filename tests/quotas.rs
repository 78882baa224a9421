//! Client quotas over real sockets with raw requests: AlterClientQuotas /
//! DescribeClientQuotas (defaults, filters, validate_only, Kafka's errors,
//! persistence), and enforcement: `throttle_time_ms` in Produce, Fetch and
//! CreateTopics responses, the connection muted for that long (KIP-219) or
//! the response delayed for clients too old to throttle themselves, the
//! consumer quota's empty answer and bounded reads, THROTTLING_QUOTA_EXCEEDED
//! from the controller-mutation quota, and the request-time quota.

mod support;

use bytes::Bytes;
use kafka_protocol::messages::alter_client_quotas_request::{EntityData, EntryData, OpData};
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::describe_client_quotas_request::ComponentData;
use kafka_protocol::messages::{
    AlterClientQuotasRequest, AlterClientQuotasResponse, ApiKey, ApiVersionsRequest,
    CreateTopicsRequest, CreateTopicsResponse, DescribeClientQuotasRequest,
    DescribeClientQuotasResponse, RequestHeader, RequestKind, ResponseKind,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use std::time::{Duration, Instant};
use support::raw::*;
use support::*;
use weir_storage::{BatchBuilder, Record};

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// One AlterClientQuotas entry: `entity` = (type, name or default), `ops` =
/// (key, value or remove).
fn entry(entity: &[(&str, Option<&str>)], ops: &[(&str, Option<f64>)]) -> EntryData {
    EntryData::default()
        .with_entity(
            entity
                .iter()
                .map(|(t, n)| {
                    EntityData::default()
                        .with_entity_type(s(t))
                        .with_entity_name(n.map(s))
                })
                .collect(),
        )
        .with_ops(
            ops.iter()
                .map(|(k, v)| {
                    OpData::default()
                        .with_key(s(k))
                        .with_value(v.unwrap_or(0.0))
                        .with_remove(v.is_none())
                })
                .collect(),
        )
}

async fn alter(
    c: &mut RawClient,
    entries: Vec<EntryData>,
    validate_only: bool,
) -> AlterClientQuotasResponse {
    let req = AlterClientQuotasRequest::default()
        .with_entries(entries)
        .with_validate_only(validate_only);
    let ResponseKind::AlterClientQuotas(resp) = c
        .call(
            RequestKind::AlterClientQuotas(req),
            ApiKey::AlterClientQuotas,
            1,
        )
        .await
    else {
        panic!()
    };
    resp
}

/// Set quotas, asserting success.
async fn set(c: &mut RawClient, entity: &[(&str, Option<&str>)], ops: &[(&str, Option<f64>)]) {
    let resp = alter(c, vec![entry(entity, ops)], false).await;
    assert_eq!(
        resp.entries[0].error_code, 0,
        "{:?}",
        resp.entries[0].error_message
    );
}

/// (type, match type, match): 0 exact, 1 default, 2 specified.
async fn describe(
    c: &mut RawClient,
    components: &[(&str, i8, Option<&str>)],
    strict: bool,
) -> DescribeClientQuotasResponse {
    let req = DescribeClientQuotasRequest::default()
        .with_components(
            components
                .iter()
                .map(|(t, m, n)| {
                    ComponentData::default()
                        .with_entity_type(s(t))
                        .with_match_type(*m)
                        .with_match(n.map(s))
                })
                .collect(),
        )
        .with_strict(strict);
    let ResponseKind::DescribeClientQuotas(resp) = c
        .call(
            RequestKind::DescribeClientQuotas(req),
            ApiKey::DescribeClientQuotas,
            1,
        )
        .await
    else {
        panic!()
    };
    resp
}

/// The described entries as sorted text: `client-id=<default>,user=alice: key=value ...`.
fn shown(resp: &DescribeClientQuotasResponse) -> Vec<String> {
    let mut out: Vec<String> = resp
        .entries
        .as_ref()
        .expect("entries")
        .iter()
        .map(|e| {
            let mut entity: Vec<String> = e
                .entity
                .iter()
                .map(|c| {
                    format!(
                        "{}={}",
                        c.entity_type,
                        c.entity_name.as_deref().unwrap_or("<default>")
                    )
                })
                .collect();
            entity.sort();
            let values: Vec<String> = e
                .values
                .iter()
                .map(|v| format!("{}={}", v.key, v.value))
                .collect();
            format!("{}: {}", entity.join(","), values.join(" "))
        })
        .collect();
    out.sort();
    out
}

/// Send `body` with this client id in the header.
async fn send_as(c: &mut RawClient, client_id: &str, body: RequestKind, key: ApiKey, version: i16) {
    let header = RequestHeader::default()
        .with_request_api_key(key as i16)
        .with_request_api_version(version)
        .with_correlation_id(7)
        .with_client_id(Some(s(client_id)));
    let buf = weir::codec::encode_request(&header, &body, version).expect("encode request");
    c.send_raw(&buf).await;
}

/// A batch of one record of `size` bytes.
fn big_batch(size: usize) -> Vec<u8> {
    let mut b = BatchBuilder::new();
    b.push(Record {
        offset: 0,
        timestamp: 1_700_000_000_000,
        key: None,
        value: Some(Bytes::from(vec![b'x'; size])),
        headers: vec![],
    });
    b.build().expect("build batch")
}

fn produce_req(topic: &str, records: Vec<u8>) -> RequestKind {
    use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
    RequestKind::Produce(
        kafka_protocol::messages::ProduceRequest::default()
            .with_acks(-1)
            .with_timeout_ms(10_000)
            .with_topic_data(vec![TopicProduceData::default()
                .with_name(tname(topic))
                .with_partition_data(vec![PartitionProduceData::default()
                    .with_index(0)
                    .with_records(Some(Bytes::from(records)))])]),
    )
}

async fn api_versions(c: &mut RawClient) {
    let resp = c
        .call(
            RequestKind::ApiVersions(ApiVersionsRequest::default()),
            ApiKey::ApiVersions,
            3,
        )
        .await;
    assert!(matches!(resp, ResponseKind::ApiVersions(_)));
}

#[tokio::test]
async fn alter_then_describe_with_defaults_filters_and_validate_only() {
    let b = TestBroker::start(&[]).await;
    let mut c = RawClient::connect(b.addr()).await;
    assert!(shown(&describe(&mut c, &[], false).await).is_empty());

    set(
        &mut c,
        &[("user", Some("alice"))],
        &[("producer_byte_rate", Some(1024.0))],
    )
    .await;
    set(
        &mut c,
        &[("user", None)],
        &[("consumer_byte_rate", Some(2048.0))],
    )
    .await;
    set(
        &mut c,
        &[("user", Some("alice")), ("client-id", None)],
        &[
            ("request_percentage", Some(50.5)),
            ("controller_mutation_rate", Some(3.0)),
        ],
    )
    .await;
    set(
        &mut c,
        &[("client-id", Some("app"))],
        &[("producer_byte_rate", Some(10.0))],
    )
    .await;

    // no components, not strict: everything
    assert_eq!(
        shown(&describe(&mut c, &[], false).await),
        [
            "client-id=<default>,user=alice: controller_mutation_rate=3 request_percentage=50.5",
            "client-id=app: producer_byte_rate=10",
            "user=<default>: consumer_byte_rate=2048",
            "user=alice: producer_byte_rate=1024",
        ]
    );
    assert!(shown(&describe(&mut c, &[], true).await).is_empty());
    // exact name: every entity with that user; strict: only the user alone
    assert_eq!(
        shown(&describe(&mut c, &[("user", 0, Some("alice"))], false).await).len(),
        2
    );
    assert_eq!(
        shown(&describe(&mut c, &[("user", 0, Some("alice"))], true).await),
        ["user=alice: producer_byte_rate=1024"]
    );
    // default name
    assert_eq!(
        shown(&describe(&mut c, &[("user", 1, None)], false).await),
        ["user=<default>: consumer_byte_rate=2048"]
    );
    assert_eq!(
        shown(&describe(&mut c, &[("client-id", 1, None)], false).await),
        ["client-id=<default>,user=alice: controller_mutation_rate=3 request_percentage=50.5"]
    );
    // any user (default or named), strict
    assert_eq!(
        shown(&describe(&mut c, &[("user", 2, None)], true).await),
        [
            "user=<default>: consumer_byte_rate=2048",
            "user=alice: producer_byte_rate=1024",
        ]
    );

    // validate_only checks and changes nothing
    let r = alter(
        &mut c,
        vec![entry(
            &[("user", Some("bob"))],
            &[("producer_byte_rate", Some(5.0))],
        )],
        true,
    )
    .await;
    assert_eq!(r.entries[0].error_code, 0);
    assert!(shown(&describe(&mut c, &[("user", 0, Some("bob"))], false).await).is_empty());

    // removing the last key removes the entity
    set(
        &mut c,
        &[("client-id", Some("app"))],
        &[("producer_byte_rate", None)],
    )
    .await;
    assert!(shown(&describe(&mut c, &[("client-id", 0, Some("app"))], true).await).is_empty());
    // changing one key keeps the others
    set(
        &mut c,
        &[("user", Some("alice")), ("client-id", None)],
        &[("request_percentage", Some(7.0))],
    )
    .await;
    assert_eq!(
        shown(
            &describe(
                &mut c,
                &[("user", 0, Some("alice")), ("client-id", 1, None)],
                true
            )
            .await
        ),
        ["client-id=<default>,user=alice: controller_mutation_rate=3 request_percentage=7"]
    );
    b.stop().await;
}

#[tokio::test]
async fn bad_alterations_and_filters_get_kafkas_errors() {
    let b = TestBroker::start(&[]).await;
    let mut c = RawClient::connect(b.addr()).await;
    let r = alter(
        &mut c,
        vec![
            entry(&[("user", Some("a"))], &[("producer_byte_rate", Some(1.5))]),
            entry(
                &[("user", Some("b"))],
                &[("producer_byte_rate", Some(-1.0))],
            ),
            entry(&[("user", Some("c"))], &[("bogus_rate", Some(1.0))]),
            entry(
                &[("group", Some("g"))],
                &[("producer_byte_rate", Some(1.0))],
            ),
            entry(&[], &[("producer_byte_rate", Some(1.0))]),
            entry(&[("user", Some(""))], &[("producer_byte_rate", Some(1.0))]),
            entry(
                &[("ip", Some("10.0.0.1")), ("user", None)],
                &[("producer_byte_rate", Some(1.0))],
            ),
            entry(
                &[("ip", Some("10.0.0.1"))],
                &[("connection_creation_rate", Some(5.0))],
            ),
            entry(
                &[("ip", Some("10.0.0.2"))],
                &[("producer_byte_rate", Some(5.0))],
            ),
            // one bad key: the entity's good key is not applied either
            entry(
                &[("user", Some("d"))],
                &[("consumer_byte_rate", Some(100.0)), ("nope", Some(1.0))],
            ),
        ],
        false,
    )
    .await;
    let got: Vec<(i16, String)> = r
        .entries
        .iter()
        .map(|e| {
            (
                e.error_code,
                e.error_message.as_deref().unwrap_or("").to_string(),
            )
        })
        .collect();
    let invalid = ResponseError::InvalidRequest.code();
    assert_eq!(
        got,
        [
            (invalid, "producer_byte_rate cannot be a fractional value.".into()),
            (invalid, "Quota producer_byte_rate must be greater than 0".into()),
            (invalid, "Invalid configuration key bogus_rate".into()),
            (invalid, "Unhandled client quota entity type: group".into()),
            (invalid, "Invalid empty client quota entity".into()),
            (invalid, "Empty user not supported".into()),
            (
                invalid,
                "Invalid quota entity combination, IP entity shouldnot be combined with User or ClientId"
                    .into()
            ),
            (0, "".into()),
            (invalid, "Invalid configuration key producer_byte_rate".into()),
            (invalid, "Invalid configuration key nope".into()),
        ]
    );
    assert_eq!(
        shown(&describe(&mut c, &[], false).await),
        ["ip=10.0.0.1: connection_creation_rate=5"]
    );

    let bad = describe(&mut c, &[("user", 0, None)], false).await;
    assert_eq!(bad.error_code, invalid);
    assert_eq!(
        bad.error_message.as_deref(),
        Some("Request specified MATCH_TYPE_EXACT, but set match string to null.")
    );
    assert!(bad.entries.is_none());
    let bad = describe(&mut c, &[("user", 2, None), ("user", 1, None)], false).await;
    assert_eq!(
        bad.error_message.as_deref(),
        Some("Entity type user cannot appear more than once in the filter.")
    );
    let bad = describe(&mut c, &[("topic", 2, None)], false).await;
    assert_eq!(bad.error_code, ResponseError::UnsupportedVersion.code());
    assert_eq!(
        bad.error_message.as_deref(),
        Some("Unsupported entity type topic")
    );
    b.stop().await;
}

#[tokio::test]
async fn quotas_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = TestBroker::in_dir(dir.path(), &[]).await;
    let mut c = RawClient::connect(b.addr()).await;
    set(
        &mut c,
        &[("user", None), ("client-id", Some("x y"))],
        &[("consumer_byte_rate", Some(4096.0))],
    )
    .await;
    drop(c);
    b.restart().await;
    let mut c = RawClient::connect(b.addr()).await;
    assert_eq!(
        shown(&describe(&mut c, &[], false).await),
        ["client-id=x y,user=<default>: consumer_byte_rate=4096"]
    );
    b.stop().await;
}

/// 110 kB against 10 kB/s over the 10 s minimum window: 11 kB/s, throttled
/// for (11 - 10) / 10 * 10 s = 1 s.
const QUOTA: f64 = 10_000.0;
const OVER: usize = 110_000;

#[tokio::test]
async fn produce_over_the_quota_is_answered_at_once_then_the_connection_is_muted() {
    let b = TestBroker::start(&[]).await;
    b.create_topic("t", 1);
    let mut admin = RawClient::connect(b.addr()).await;
    set(
        &mut admin,
        &[("client-id", Some("weir-test"))],
        &[("producer_byte_rate", Some(QUOTA))],
    )
    .await;

    let mut c = RawClient::connect(b.addr()).await;
    let ResponseKind::Produce(resp) = c
        .call(produce_req("t", big_batch(OVER)), ApiKey::Produce, 9)
        .await
    else {
        panic!()
    };
    assert_eq!(resp.responses[0].partition_responses[0].error_code, 0);
    let throttle = resp.throttle_time_ms;
    eprintln!("produce throttle_time_ms = {throttle}");
    assert!((900..=1300).contains(&throttle), "{throttle}");
    // muted: the next request on this connection waits out the throttle time
    let t0 = Instant::now();
    api_versions(&mut c).await;
    let waited = t0.elapsed();
    assert!(
        waited >= Duration::from_millis(throttle as u64 - 50),
        "{waited:?}"
    );

    // another client id has no quota
    let mut other = RawClient::connect(b.addr()).await;
    send_as(
        &mut other,
        "other",
        produce_req("t", big_batch(OVER)),
        ApiKey::Produce,
        9,
    )
    .await;
    let (_, ResponseKind::Produce(resp)) = other.recv(ApiKey::Produce, 9).await else {
        panic!()
    };
    assert_eq!(resp.throttle_time_ms, 0);
    b.stop().await;
}

#[tokio::test]
async fn produce_of_a_version_without_client_throttling_is_delayed() {
    let b = TestBroker::start(&[]).await;
    b.create_topic("t", 1);
    let mut admin = RawClient::connect(b.addr()).await;
    set(
        &mut admin,
        &[("user", Some("ANONYMOUS"))],
        &[("producer_byte_rate", Some(QUOTA))],
    )
    .await;
    let mut c = RawClient::connect(b.addr()).await;
    let t0 = Instant::now();
    // Produce v5: the client does not back off itself, so the answer waits
    let ResponseKind::Produce(resp) = c
        .call(produce_req("t", big_batch(OVER)), ApiKey::Produce, 5)
        .await
    else {
        panic!()
    };
    let waited = t0.elapsed();
    let throttle = resp.throttle_time_ms;
    assert!(throttle >= 900, "{throttle}");
    assert!(
        waited >= Duration::from_millis(throttle as u64 - 50),
        "{waited:?} for {throttle} ms"
    );
    // and is not muted again afterwards
    let t0 = Instant::now();
    api_versions(&mut c).await;
    assert!(
        t0.elapsed() < Duration::from_millis(500),
        "{:?}",
        t0.elapsed()
    );
    b.stop().await;
}

#[tokio::test]
async fn fetch_over_the_consumer_quota_gets_an_empty_throttled_answer() {
    let b = TestBroker::start(&[]).await;
    b.create_topic("t", 1);
    let mut c = RawClient::connect(b.addr()).await;
    // 20 batches of ~1 kB, then one big one
    for _ in 0..20 {
        let r = produce_raw(&mut c, "t", 0, big_batch(1000), 9).await;
        assert_eq!(r.error_code, 0);
    }
    let r = produce_raw(&mut c, "t", 0, big_batch(OVER), 9).await;
    assert_eq!(r.error_code, 0);
    set(
        &mut c,
        &[("client-id", Some("weir-test"))],
        &[("consumer_byte_rate", Some(1000.0))],
    )
    .await;

    // one fetch reads at most quota * (11 - 1) windows = 10 kB
    let mut f = RawClient::connect(b.addr()).await;
    let ResponseKind::Fetch(resp) = f
        .call(fetch_req("t", 0, 0, 1, 100), ApiKey::Fetch, 12)
        .await
    else {
        panic!()
    };
    let got = resp.responses[0].partitions[0]
        .records
        .as_ref()
        .map_or(0, Bytes::len);
    assert!(got > 0 && got <= 10_000, "{got} bytes");
    assert_eq!(resp.throttle_time_ms, 0);

    // the big batch alone is over the quota: no data, the throttle time
    let mut f = RawClient::connect(b.addr()).await;
    let ResponseKind::Fetch(resp) = f
        .call(fetch_req("t", 0, 20, 1, 100), ApiKey::Fetch, 12)
        .await
    else {
        panic!()
    };
    assert!(resp.responses.is_empty(), "{:?}", resp.responses.len());
    assert!(resp.throttle_time_ms > 0);
    eprintln!("fetch throttle_time_ms = {}", resp.throttle_time_ms);
    b.stop().await;
}

fn create_req(name: &str, partitions: i32) -> RequestKind {
    RequestKind::CreateTopics(
        CreateTopicsRequest::default()
            .with_timeout_ms(10_000)
            .with_topics(vec![CreatableTopic::default()
                .with_name(tname(name))
                .with_num_partitions(partitions)
                .with_replication_factor(1)]),
    )
}

async fn create(b: &TestBroker, name: &str, partitions: i32, version: i16) -> CreateTopicsResponse {
    // a fresh connection each time: the previous one may be muted
    let mut c = RawClient::connect(b.addr()).await;
    let ResponseKind::CreateTopics(resp) = c
        .call(create_req(name, partitions), ApiKey::CreateTopics, version)
        .await
    else {
        panic!()
    };
    resp
}

#[tokio::test]
async fn topic_creation_over_the_controller_mutation_quota_is_refused_from_v6() {
    let b = TestBroker::start(&[]).await;
    let mut admin = RawClient::connect(b.addr()).await;
    set(
        &mut admin,
        &[("client-id", Some("weir-test"))],
        &[("controller_mutation_rate", Some(1.0))],
    )
    .await;
    // a burst of 11 partitions; the first request may overdraw it
    let r = create(&b, "a", 20, 7).await;
    assert_eq!(r.topics[0].error_code, 0);
    assert!(r.throttle_time_ms >= 8_000, "{}", r.throttle_time_ms);
    let r = create(&b, "b", 1, 7).await;
    assert_eq!(
        r.topics[0].error_code,
        ResponseError::ThrottlingQuotaExceeded.code()
    );
    assert_eq!(
        r.topics[0].error_message.as_deref(),
        Some("The throttling quota has been exceeded.")
    );
    assert!(r.throttle_time_ms >= 8_000, "{}", r.throttle_time_ms);
    // v5 is permissive: created, and throttled
    let r = create(&b, "c", 1, 5).await;
    assert_eq!(r.topics[0].error_code, 0);
    assert!(r.throttle_time_ms >= 8_000, "{}", r.throttle_time_ms);
    assert!(b.state().partitions.topic("b").is_none());
    assert!(b.state().partitions.topic("c").is_some());
    b.stop().await;
}

#[tokio::test]
async fn request_time_over_request_percentage_is_throttled_for_at_most_one_window() {
    let b = TestBroker::start(&[]).await;
    let mut admin = RawClient::connect(b.addr()).await;
    // 0.001 % of a core: 0.1 ms of handler time over the 10 s window
    set(
        &mut admin,
        &[("user", None)],
        &[("request_percentage", Some(0.001))],
    )
    .await;
    let r = create(&b, "busy", 8, 7).await;
    assert_eq!(r.topics[0].error_code, 0);
    let t = r.throttle_time_ms;
    assert!(t > 0 && t <= 1000, "{t}");
    b.stop().await;
}
