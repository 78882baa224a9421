//! KIP-227 incremental fetch sessions over a real socket (kafka-protocol's
//! client side): a full fetch creates a session, incremental fetches answer
//! only partitions with news, forgotten topics leave the session, every
//! session error Kafka answers, eviction from a full cache, sessions outliving
//! their connection, and a 10,000-partition session whose incremental fetch
//! with one changed partition returns just that one.

mod support;

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic, ForgottenTopic};
use kafka_protocol::messages::fetch_response::FetchResponse;
use kafka_protocol::messages::{ApiKey, FetchRequest, RequestKind, ResponseKind};
use kafka_protocol::ResponseError;
use std::time::Instant;
use support::*;
use uuid::Uuid;

/// A fetch that never waits: (topic, partition, offset) per partition, in order.
fn request(session_id: i32, epoch: i32, parts: &[(&str, i32, i64)]) -> FetchRequest {
    let mut topics: Vec<FetchTopic> = Vec::new();
    for &(t, p, offset) in parts {
        if topics.last().is_none_or(|last| last.topic.0.as_str() != t) {
            topics.push(FetchTopic::default().with_topic(tname(t)));
        }
        topics.last_mut().unwrap().partitions.push(
            FetchPartition::default()
                .with_partition(p)
                .with_fetch_offset(offset)
                .with_partition_max_bytes(1 << 20),
        );
    }
    FetchRequest::default()
        .with_max_wait_ms(0)
        .with_min_bytes(0)
        .with_max_bytes(50 << 20)
        .with_session_id(session_id)
        .with_session_epoch(epoch)
        .with_topics(topics)
}

fn forget(mut req: FetchRequest, topic: &str, partitions: &[i32]) -> FetchRequest {
    req.forgotten_topics_data.push(
        ForgottenTopic::default()
            .with_topic(tname(topic))
            .with_partitions(partitions.to_vec()),
    );
    req
}

async fn fetch(c: &mut RawClient, req: FetchRequest, version: i16) -> FetchResponse {
    let ResponseKind::Fetch(r) = c
        .call(RequestKind::Fetch(req), ApiKey::Fetch, version)
        .await
    else {
        panic!("not a fetch response")
    };
    r
}

/// (partition, error, high watermark, record bytes) of every answered partition,
/// with its topic name, in response order.
fn answered(r: &FetchResponse) -> Vec<(String, i32, i16, i64, usize)> {
    r.responses
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(move |p| {
                (
                    t.topic.0.to_string(),
                    p.partition_index,
                    p.error_code,
                    p.high_watermark,
                    p.records.as_ref().map_or(0, |b| b.len()),
                )
            })
        })
        .collect()
}

async fn produce(c: &mut RawClient, topic: &str, partition: i32, n: usize) {
    let r = produce_raw(c, topic, partition, batch(n, -1, -1, -1), 9).await;
    assert_eq!(r.error_code, 0);
}

#[tokio::test]
async fn incremental_fetches_answer_only_partitions_with_news() {
    let broker = TestBroker::start(&[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "s", 3).await;
    produce(&mut c, "s", 0, 3).await;

    // Full fetch, epoch 0: every partition, and a session.
    let full = fetch(
        &mut c,
        request(0, 0, &[("s", 0, 0), ("s", 1, 0), ("s", 2, 0)]),
        12,
    )
    .await;
    assert_eq!(full.error_code, 0);
    assert!(
        full.session_id > 0,
        "a full fetch with room creates a session"
    );
    let got = answered(&full);
    assert_eq!(got.len(), 3);
    assert_eq!((got[0].1, got[0].3), (0, 3));
    assert!(got[0].4 > 0);
    let id = full.session_id;
    assert_eq!(broker.state().fetch_sessions.figures(), (1, 3));

    // Incremental, epoch 1: partition 0 moves on to offset 3; nothing is new.
    let r = fetch(&mut c, request(id, 1, &[("s", 0, 3)]), 12).await;
    assert_eq!((r.error_code, r.session_id), (0, id));
    assert!(answered(&r).is_empty(), "{:?}", answered(&r));

    // Data for partition 1 only: only partition 1 comes back.
    produce(&mut c, "s", 1, 2).await;
    let r = fetch(&mut c, request(id, 2, &[]), 12).await;
    let got = answered(&r);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!((got[0].1, got[0].2, got[0].3), (1, 0, 2));
    assert!(got[0].4 > 0);

    // The client did not move partition 1's offset on: its records again (no
    // high watermark change needed); partition 0 and 2 stay quiet.
    let r = fetch(&mut c, request(id, 3, &[]), 12).await;
    let got = answered(&r);
    assert_eq!(got.iter().map(|p| p.1).collect::<Vec<_>>(), [1]);

    // Offset moved on: nothing; then a DeleteRecords-free change of the high
    // watermark alone (an empty read at the old offset of a partition that
    // got data) is news too.
    let r = fetch(&mut c, request(id, 4, &[("s", 1, 2)]), 12).await;
    assert!(answered(&r).is_empty());
    produce(&mut c, "s", 2, 1).await;
    let r = fetch(&mut c, request(id, 5, &[("s", 2, 1)]), 12).await;
    let got = answered(&r);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!((got[0].1, got[0].3, got[0].4), (2, 1, 0));
    let r = fetch(&mut c, request(id, 6, &[]), 12).await;
    assert!(answered(&r).is_empty());

    // Adding a partition that is not in the session yet answers it once.
    create_topic_raw(&mut c, "s2", 1).await;
    let r = fetch(&mut c, request(id, 7, &[("s2", 0, 0)]), 12).await;
    let got = answered(&r);
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].0.as_str(), got[0].1, got[0].3), ("s2", 0, 0));
    assert_eq!(broker.state().fetch_sessions.figures(), (1, 4));
    assert!(broker.state().fetch_sessions.incremental_fetches() >= 7);
}

#[tokio::test]
async fn session_errors_are_kafkas() {
    let broker = TestBroker::start(&[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "e", 1).await;

    // No such session.
    let r = fetch(&mut c, request(123_456, 1, &[("e", 0, 0)]), 12).await;
    assert_eq!(r.error_code, ResponseError::FetchSessionIdNotFound.code());
    assert_eq!(r.session_id, 0);
    assert!(r.responses.is_empty());

    let full = fetch(&mut c, request(0, 0, &[("e", 0, 0)]), 12).await;
    let id = full.session_id;
    assert!(id > 0);

    // Wrong epoch (the session expects 1), and the session stays.
    for epoch in [2, 5] {
        let r = fetch(&mut c, request(id, epoch, &[]), 12).await;
        assert_eq!(r.error_code, ResponseError::InvalidFetchSessionEpoch.code());
        assert_eq!(r.session_id, 0);
        assert!(r.responses.is_empty());
    }
    // A session made without topic ids (v12) named by a v13 request.
    let r = fetch(&mut c, request(id, 1, &[]), 13).await;
    assert_eq!(r.error_code, ResponseError::FetchSessionTopicIdError.code());
    // Still there at epoch 1.
    let r = fetch(&mut c, request(id, 1, &[]), 12).await;
    assert_eq!((r.error_code, r.session_id), (0, id));
    // A replayed epoch is an error.
    let r = fetch(&mut c, request(id, 1, &[]), 12).await;
    assert_eq!(r.error_code, ResponseError::InvalidFetchSessionEpoch.code());

    // Epoch -1 naming the session closes it and answers sessionless.
    let r = fetch(&mut c, request(id, -1, &[("e", 0, 0)]), 12).await;
    assert_eq!((r.error_code, r.session_id), (0, 0));
    assert_eq!(answered(&r).len(), 1);
    let r = fetch(&mut c, request(id, 2, &[]), 12).await;
    assert_eq!(r.error_code, ResponseError::FetchSessionIdNotFound.code());
    assert_eq!(broker.state().fetch_sessions.figures(), (0, 0));

    // Epoch 0 naming a session closes it and opens a new one.
    let a = fetch(&mut c, request(0, 0, &[("e", 0, 0)]), 12)
        .await
        .session_id;
    let b = fetch(&mut c, request(a, 0, &[("e", 0, 0)]), 12)
        .await
        .session_id;
    assert!(a > 0 && b > 0 && a != b);
    let r = fetch(&mut c, request(a, 1, &[]), 12).await;
    assert_eq!(r.error_code, ResponseError::FetchSessionIdNotFound.code());
    assert_eq!(broker.state().fetch_sessions.figures(), (1, 1));

    // Sessionless epoch -1 with no session, and Fetch v6: never a session.
    let r = fetch(&mut c, request(0, -1, &[("e", 0, 0)]), 12).await;
    assert_eq!(r.session_id, 0);
    let ResponseKind::Fetch(r) = c
        .call(
            RequestKind::Fetch(request(0, 0, &[("e", 0, 0)])),
            ApiKey::Fetch,
            6,
        )
        .await
    else {
        panic!()
    };
    assert_eq!(answered(&r).len(), 1);
    assert_eq!(broker.state().fetch_sessions.figures(), (1, 1));
}

#[tokio::test]
async fn forgotten_topics_leave_the_session_and_an_empty_session_closes() {
    let broker = TestBroker::start(&[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "fa", 2).await;
    create_topic_raw(&mut c, "fb", 1).await;
    let full = fetch(
        &mut c,
        request(0, 0, &[("fa", 0, 0), ("fa", 1, 0), ("fb", 0, 0)]),
        12,
    )
    .await;
    let id = full.session_id;
    assert_eq!(answered(&full).len(), 3);

    // Forget fb: its new data is not answered any more.
    let r = fetch(&mut c, forget(request(id, 1, &[]), "fb", &[0]), 12).await;
    assert!(answered(&r).is_empty());
    produce(&mut c, "fb", 0, 1).await;
    produce(&mut c, "fa", 1, 1).await;
    let r = fetch(&mut c, request(id, 2, &[]), 12).await;
    let got = answered(&r);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!((got[0].0.as_str(), got[0].1), ("fa", 1));
    assert_eq!(broker.state().fetch_sessions.figures(), (1, 2));

    // Forgetting the rest empties the session: answered sessionless, and gone.
    let r = fetch(&mut c, forget(request(id, 3, &[]), "fa", &[0, 1]), 12).await;
    assert_eq!((r.error_code, r.session_id), (0, 0));
    assert!(answered(&r).is_empty());
    let r = fetch(&mut c, request(id, 4, &[]), 12).await;
    assert_eq!(r.error_code, ResponseError::FetchSessionIdNotFound.code());
    assert_eq!(broker.state().fetch_sessions.figures(), (0, 0));
}

#[tokio::test]
async fn topic_id_sessions_and_unknown_topic_ids() {
    let broker = TestBroker::start(&[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "ti", 2).await;
    let id_of = |name: &str| broker.state().partitions.topic(name).unwrap().id;
    let tid = id_of("ti");
    let unknown = Uuid::from_u128(0x1234);
    let by_id = |session: i32, epoch: i32, parts: &[(Uuid, i32)]| {
        let mut req = request(session, epoch, &[]);
        for &(topic, p) in parts {
            if req.topics.last().is_none_or(|t| t.topic_id != topic) {
                req.topics.push(FetchTopic::default().with_topic_id(topic));
            }
            req.topics.last_mut().unwrap().partitions.push(
                FetchPartition::default()
                    .with_partition(p)
                    .with_partition_max_bytes(1 << 20),
            );
        }
        req
    };
    let full = fetch(&mut c, by_id(0, 0, &[(tid, 0), (tid, 1), (unknown, 0)]), 13).await;
    let id = full.session_id;
    assert!(id > 0);
    let codes: Vec<_> = full
        .responses
        .iter()
        .flat_map(|t| t.partitions.iter().map(move |p| (t.topic_id, p.error_code)))
        .collect();
    assert_eq!(
        codes,
        [
            (tid, 0),
            (tid, 0),
            (unknown, ResponseError::UnknownTopicId.code())
        ]
    );

    // A v12 request on a session made with topic ids.
    let r = fetch(&mut c, request(id, 1, &[]), 12).await;
    assert_eq!(r.error_code, ResponseError::FetchSessionTopicIdError.code());

    // Incremental v13: the unknown topic id answers its error every time;
    // new data on partition 1 shows under the topic id.
    produce(&mut c, "ti", 1, 2).await;
    let r = fetch(&mut c, by_id(id, 1, &[]), 13).await;
    let got: Vec<_> = r
        .responses
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(move |p| {
                (
                    t.topic_id,
                    p.partition_index,
                    p.error_code,
                    p.high_watermark,
                )
            })
        })
        .collect();
    assert_eq!(
        got,
        [
            (tid, 1, 0, 2),
            (unknown, 0, ResponseError::UnknownTopicId.code(), -1)
        ]
    );
    // Forgotten by topic id.
    let mut req = by_id(id, 2, &[]);
    req.forgotten_topics_data.push(
        ForgottenTopic::default()
            .with_topic_id(unknown)
            .with_partitions(vec![0]),
    );
    let r = fetch(&mut c, req, 13).await;
    let got: Vec<_> = answered(&r).into_iter().map(|p| p.1).collect();
    assert_eq!(
        got,
        [1],
        "partition 1's records at offset 0 again, nothing else"
    );
}

#[tokio::test]
async fn sessions_outlive_their_connection() {
    let broker = TestBroker::start(&[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "oc", 1).await;
    let id = fetch(&mut c, request(0, 0, &[("oc", 0, 0)]), 12)
        .await
        .session_id;
    drop(c);
    // Kafka's sessions are not tied to a connection: a reconnecting client
    // may carry on with its session.
    let mut c = RawClient::connect(broker.addr()).await;
    produce(&mut c, "oc", 0, 1).await;
    let r = fetch(&mut c, request(id, 1, &[]), 12).await;
    assert_eq!((r.error_code, r.session_id), (0, id));
    assert_eq!(answered(&r).len(), 1);
}

#[tokio::test]
async fn a_full_cache_evicts_by_kafkas_rules() {
    let broker = TestBroker::start(&[("max.incremental.fetch.session.cache.slots", "1")]).await;
    let sessions = &broker.state().fetch_sessions;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "ev", 4).await;
    let two = [("ev", 0, 0), ("ev", 1, 0)];
    let three = [("ev", 0, 0), ("ev", 1, 0), ("ev", 2, 0)];

    let a = fetch(&mut c, request(0, 0, &two), 12).await.session_id;
    assert!(a > 0);
    // Full, and the one session is fresh: a larger one is not cached (session 0).
    let r = fetch(&mut c, request(0, 0, &three), 12).await;
    assert_eq!((r.error_code, r.session_id), (0, 0));
    assert_eq!(answered(&r).len(), 3);
    assert_eq!(sessions.evictions(), 0);

    // Once `a` is older than 120 s and just used, a larger session takes its slot,
    // an equally large one does not.
    sessions.advance_clock(121_000);
    let r = fetch(&mut c, request(a, 1, &[]), 12).await;
    assert_eq!((r.error_code, r.session_id), (0, a));
    let r = fetch(&mut c, request(0, 0, &[("ev", 2, 0), ("ev", 3, 0)]), 12).await;
    assert_eq!(r.session_id, 0);
    let b = fetch(&mut c, request(0, 0, &three), 12).await.session_id;
    assert!(b > 0 && b != a);
    assert_eq!(sessions.evictions(), 1);
    let r = fetch(&mut c, request(a, 2, &[]), 12).await;
    assert_eq!(r.error_code, ResponseError::FetchSessionIdNotFound.code());

    // Idle longer than 120 s: any new session, however small, takes the slot.
    sessions.advance_clock(121_000);
    let d = fetch(&mut c, request(0, 0, &[("ev", 0, 0)]), 12)
        .await
        .session_id;
    assert!(d > 0);
    assert_eq!(sessions.evictions(), 2);
    assert_eq!(sessions.figures(), (1, 1));
    let r = fetch(&mut c, request(b, 1, &[]), 12).await;
    assert_eq!(r.error_code, ResponseError::FetchSessionIdNotFound.code());

    // The same figures in /metrics.
    let text = weir::metrics::render(
        broker.state(),
        &std::sync::Arc::new(weir::metrics::Metrics::default()),
        weir::metrics::Format::Text,
    );
    for line in [
        "weir_fetch_sessions 1",
        "weir_fetch_session_partitions 1",
        "weir_fetch_session_evictions_total 2",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in {text}");
    }
}

#[tokio::test]
async fn ten_thousand_partition_session_answers_just_the_changed_one() {
    const N: i32 = 10_000;
    let broker = TestBroker::start(&[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    let t = Instant::now();
    create_topic_raw(&mut c, "big", N).await;
    eprintln!("created {N} partitions in {:?}", t.elapsed());
    let all: Vec<(&str, i32, i64)> = (0..N).map(|p| ("big", p, 0)).collect();

    // The session is built in steps (a full fetch, then incremental ones adding
    // 1,000 partitions each), as the first read of each partition opens its log
    // and that takes longer than a test step for 10,000 at once in a debug build.
    let full = fetch(&mut c, request(0, 0, &all[..1000]), 12).await;
    assert_eq!(answered(&full).len(), 1000);
    let id = full.session_id;
    assert!(id > 0);
    let mut epoch = 1;
    for chunk in all[1000..].chunks(1000) {
        let r = fetch(&mut c, request(id, epoch, chunk), 12).await;
        assert_eq!((r.error_code, r.session_id), (0, id));
        assert_eq!(answered(&r).len(), 1000, "new partitions answer once");
        epoch += 1;
    }
    assert_eq!(broker.state().fetch_sessions.figures(), (1, N as usize));
    let r = fetch(&mut c, request(id, epoch, &[]), 12).await;
    assert!(answered(&r).is_empty());
    epoch += 1;

    // For comparison: a sessionless fetch of all 10,000.
    let t = Instant::now();
    let full = fetch(&mut c, request(0, -1, &all), 12).await;
    let full_took = t.elapsed();
    assert_eq!(answered(&full).len(), N as usize);
    assert_eq!(full.session_id, 0);

    produce(&mut c, "big", 4321, 5).await;
    let t = Instant::now();
    let r = fetch(&mut c, request(id, epoch, &[]), 12).await;
    let incremental_took = t.elapsed();
    let got = answered(&r);
    assert_eq!(got.len(), 1, "only the changed partition");
    assert_eq!((got[0].1, got[0].2, got[0].3), (4321, 0, 5));
    assert!(got[0].4 > 0);
    let r = fetch(&mut c, request(id, epoch + 1, &[("big", 4321, 5)]), 12).await;
    assert!(answered(&r).is_empty());
    // Printed, not asserted (timings belong to benchmarks).
    eprintln!(
        "10,000-partition fetch: sessionless {full_took:?}, incremental with 1 changed {incremental_took:?}"
    );
}

/// An incremental fetch skips the session partitions with nothing new (it does
/// not read them) but still waits on them: an append to one wakes a long poll
/// at once, and the answer carries it.
#[tokio::test]
async fn an_append_to_an_idle_session_partition_wakes_a_long_poll() {
    let broker = TestBroker::start(&[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "lp", 3).await;
    let all = [("lp", 0, 0), ("lp", 1, 0), ("lp", 2, 0)];
    let full = fetch(&mut c, request(0, 0, &all), 12).await;
    let id = full.session_id;
    assert!(id > 0);
    let r = fetch(&mut c, request(id, 1, &[]), 12).await;
    assert!(answered(&r).is_empty());

    let addr = broker.addr();
    let waiting = tokio::spawn(async move {
        let req = request(id, 2, &[])
            .with_max_wait_ms(20_000)
            .with_min_bytes(1);
        let t = Instant::now();
        let r = fetch(&mut c, req, 12).await;
        (r, t.elapsed())
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mut p = RawClient::connect(addr).await;
    produce(&mut p, "lp", 2, 3).await;
    let (r, took) = bounded("the long poll", waiting).await.unwrap();
    assert!(
        took < std::time::Duration::from_secs(10),
        "woken by the append: {took:?}"
    );
    let got = answered(&r);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!((got[0].1, got[0].2, got[0].3), (2, 0, 3));
    assert!(got[0].4 > 0);
}

/// A session partition the client has read to its end is answered again when
/// its log start offset moves (Kafka's maybeUpdateResponseData), though it is
/// skipped while nothing moves.
#[tokio::test]
async fn an_idle_session_partition_answers_when_its_log_start_moves() {
    let broker = TestBroker::start(&[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "ls", 2).await;
    produce(&mut c, "ls", 0, 5).await;
    let full = fetch(&mut c, request(0, 0, &[("ls", 0, 5), ("ls", 1, 0)]), 12).await;
    let id = full.session_id;
    assert!(id > 0);
    let r = fetch(&mut c, request(id, 1, &[]), 12).await;
    assert!(answered(&r).is_empty());
    let part = broker.state().partitions.partition("ls", 0).unwrap();
    assert_eq!(part.delete_records(3).unwrap(), 3);
    let r = fetch(&mut c, request(id, 2, &[]), 12).await;
    let got: Vec<_> = r
        .responses
        .iter()
        .flat_map(|t| t.partitions.iter())
        .map(|p| {
            (
                p.partition_index,
                p.error_code,
                p.high_watermark,
                p.log_start_offset,
            )
        })
        .collect();
    assert_eq!(got, [(0, 0, 5, 3)]);
    let r = fetch(&mut c, request(id, 3, &[]), 12).await;
    assert!(answered(&r).is_empty());
}

/// Under a consumer quota, an incremental answer counts only the partitions it
/// carries (Kafka's getResponseSize), not every partition of the session.
#[tokio::test]
async fn quota_counts_only_what_an_incremental_answer_carries() {
    use kafka_protocol::messages::alter_client_quotas_request::{EntityData, EntryData, OpData};
    use kafka_protocol::messages::AlterClientQuotasRequest;
    use kafka_protocol::protocol::StrBytes;
    const N: i32 = 500;
    let broker = TestBroker::start(&[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "qt", N).await;
    let all: Vec<(&str, i32, i64)> = (0..N).map(|p| ("qt", p, 0)).collect();
    let id = fetch(&mut c, request(0, 0, &all), 12).await.session_id;
    assert!(id > 0);
    // 1,000 bytes/s for the raw client's client id ("weir-test").
    let req = AlterClientQuotasRequest::default().with_entries(vec![EntryData::default()
        .with_entity(vec![EntityData::default()
            .with_entity_type(StrBytes::from_static_str("client-id"))
            .with_entity_name(Some(StrBytes::from_static_str("weir-test")))])
        .with_ops(vec![OpData::default()
            .with_key(StrBytes::from_static_str("consumer_byte_rate"))
            .with_value(1000.0)])]);
    let ResponseKind::AlterClientQuotas(r) = c
        .call(
            RequestKind::AlterClientQuotas(req),
            ApiKey::AlterClientQuotas,
            1,
        )
        .await
    else {
        panic!()
    };
    assert_eq!(r.entries[0].error_code, 0);
    for epoch in 1..=5 {
        let r = fetch(&mut c, request(id, epoch, &[]), 12).await;
        assert_eq!((r.error_code, r.session_id), (0, id));
        assert_eq!(
            r.throttle_time_ms, 0,
            "an empty incremental answer is not throttled"
        );
        assert!(answered(&r).is_empty());
    }
    // The same 500 partitions sessionless: tens of kB of partition headers.
    let mut other = RawClient::connect(broker.addr()).await;
    let r = fetch(&mut other, request(0, -1, &all), 12).await;
    assert!(r.throttle_time_ms > 0, "the quota is in force");
}

// ------------------------------------------------------------------ real clients
// Each reads 3 partitions x 200 records through a broker with sessions, and
// reports what the session cache saw.

const CLIENT_PARTITIONS: i32 = 3;
const CLIENT_PER_PARTITION: i32 = 200;

/// A broker with a topic of 3 partitions x 200 records (librdkafka producer).
async fn client_broker(topic: &str) -> TestBroker {
    let broker = TestBroker::start(&[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, topic, CLIENT_PARTITIONS).await;
    let addr = broker.bootstrap();
    let t = topic.to_string();
    tokio::task::spawn_blocking(move || {
        support::produce(&addr, &t, CLIENT_PARTITIONS, CLIENT_PER_PARTITION)
    })
    .await
    .unwrap();
    broker
}

/// Run a client program (bounded), which must print "read N" and exit 0.
fn run_client(mut cmd: std::process::Command) -> String {
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("client starts");
    let limit = std::time::Duration::from_secs(120);
    let status = wait_exit(&mut child, limit).unwrap_or_else(|| {
        let _ = child.kill();
        let _ = child.wait();
        panic!("client still running after {limit:?}")
    });
    let out = child.wait_with_output().expect("client output");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        status.success(),
        "client failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// librdkafka (the rdkafka crate) reads everything through a broker with sessions.
#[tokio::test]
async fn librdkafka_reads_through_a_broker_with_sessions() {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::{Offset, TopicPartitionList};
    let broker = client_broker("cr").await;
    let addr = broker.bootstrap();
    let read = tokio::task::spawn_blocking(move || {
        let c: BaseConsumer = client_config(&addr, "fs-rd", &[("fetch.wait.max.ms", "100")])
            .set("max.partition.fetch.bytes", "1024")
            .create()
            .unwrap();
        let mut tpl = TopicPartitionList::new();
        for p in 0..CLIENT_PARTITIONS {
            tpl.add_partition_offset("cr", p, Offset::Beginning)
                .unwrap();
        }
        c.assign(&tpl).unwrap();
        let want = (CLIENT_PARTITIONS * CLIENT_PER_PARTITION) as usize;
        let mut read = 0;
        let deadline = Instant::now() + std::time::Duration::from_secs(60);
        while read < want && Instant::now() < deadline {
            if let Some(Ok(_)) = c.poll(std::time::Duration::from_millis(200)) {
                read += 1;
            }
        }
        read
    })
    .await
    .unwrap();
    assert_eq!(read, (CLIENT_PARTITIONS * CLIENT_PER_PARTITION) as usize);
    let s = &broker.state().fetch_sessions;
    eprintln!(
        "librdkafka: sessions {:?}, incremental fetches {}",
        s.figures(),
        s.incremental_fetches()
    );
}

/// confluent-kafka-python (librdkafka) reads everything; needs WEIR_TEST_PYTHON
/// (a Python with confluent-kafka).
#[tokio::test]
#[ignore = "needs python3 with confluent-kafka (WEIR_TEST_PYTHON)"]
async fn confluent_kafka_reads_through_a_broker_with_sessions() {
    let broker = client_broker("cp").await;
    let python = std::env::var("WEIR_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fetch_sessions_clients/consume_confluent.py"
    );
    let mut cmd = std::process::Command::new(python);
    cmd.args([
        script,
        &broker.bootstrap(),
        "cp",
        &CLIENT_PARTITIONS.to_string(),
        &(CLIENT_PARTITIONS * CLIENT_PER_PARTITION).to_string(),
    ]);
    let out = tokio::task::spawn_blocking(move || run_client(cmd))
        .await
        .unwrap();
    assert!(out.contains("read 600"), "{out}");
    let s = &broker.state().fetch_sessions;
    eprintln!(
        "confluent-kafka: sessions {:?}, incremental fetches {}",
        s.figures(),
        s.incremental_fetches()
    );
}

/// The Java consumer (kafka-clients 4.4) reads everything, and does so through
/// an incremental session; needs `java` and WEIR_TEST_JAVA_CLASSPATH (or
/// conformance/java/build's target/4.4/classpath.txt).
#[tokio::test]
#[ignore = "needs java and the kafka-clients classpath (WEIR_TEST_JAVA_CLASSPATH)"]
async fn java_consumer_reads_through_an_incremental_session() {
    let broker = client_broker("cj").await;
    let cp_file = std::env::var("WEIR_TEST_JAVA_CLASSPATH").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/conformance/java/target/4.4/classpath.txt"
        )
        .into()
    });
    let cp = std::fs::read_to_string(&cp_file).expect("kafka-clients classpath file");
    let src = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fetch_sessions_clients/SessionConsumer.java"
    );
    let mut cmd = std::process::Command::new("java");
    cmd.args([
        "-Xmx256m",
        "-cp",
        cp.trim(),
        src,
        &broker.bootstrap(),
        "cj",
        &CLIENT_PARTITIONS.to_string(),
        &(CLIENT_PARTITIONS * CLIENT_PER_PARTITION).to_string(),
    ]);
    let out = tokio::task::spawn_blocking(move || run_client(cmd))
        .await
        .unwrap();
    assert!(out.contains("read 600"), "{out}");
    let s = &broker.state().fetch_sessions;
    eprintln!(
        "java: sessions {:?}, incremental fetches {}",
        s.figures(),
        s.incremental_fetches()
    );
    // Its first fetch (epoch 0) made a session; later ones were incremental.
    // (Closing the consumer closes the session: figures are (0, 0) by now.)
    assert!(
        s.incremental_fetches() >= 1,
        "the Java consumer fetched incrementally ({} times)",
        s.incremental_fetches()
    );
}

/// (partition, high watermark) of every answered partition with records, and
/// of every answered partition, in response order.
fn with_records(r: &FetchResponse) -> Vec<(i32, i64)> {
    answered(r)
        .into_iter()
        .filter(|a| a.4 > 0)
        .map(|a| (a.1, a.3))
        .collect()
}

/// A session over many partitions sees every append to any of them, once, with
/// the right high watermark, across forgets and re-adds and a long poll; an
/// incremental fetch looks only at the partitions with news and those the
/// request changed (the session's `partitions_looked` counter), never walks
/// the idle ones; and a partition leaves the session's watch when forgotten
/// and when the session goes.
#[tokio::test]
async fn a_many_partition_session_sees_every_append_and_looks_only_at_news() {
    const N: i32 = 300;
    let broker = TestBroker::start(&[("max.incremental.fetch.session.cache.slots", "1")]).await;
    let sessions = &broker.state().fetch_sessions;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "many", N).await;
    let all: Vec<(&str, i32, i64)> = (0..N).map(|p| ("many", p, 0)).collect();
    let full = fetch(&mut c, request(0, 0, &all), 12).await;
    let id = full.session_id;
    assert!(id > 0);
    // The first incremental fetch looks at every partition once (from then on
    // each watches its partition).
    let r = fetch(&mut c, request(id, 1, &[]), 12).await;
    assert!(answered(&r).is_empty());
    assert_eq!(sessions.partitions_looked(), N as u64);
    let part = |p: i32| broker.state().partitions.partition("many", p).unwrap();
    assert_eq!(part(7).watching_sessions(), 1);

    let mut offsets = vec![0i64; N as usize];
    let mut epoch = 2;
    let mut last_changed: Vec<i32> = Vec::new();
    for round in 0..40i32 {
        // A few partitions, some twice, spread over the session.
        let changed: Vec<i32> = (0..1 + round % 4)
            .map(|k| (round * 37 + k * 101) % N)
            .collect();
        for &p in &changed {
            produce(&mut c, "many", p, 1 + (round as usize % 3)).await;
            offsets[p as usize] += 1 + (round as i64 % 3);
        }
        let mut expect: Vec<i32> = changed.clone();
        expect.sort_unstable();
        expect.dedup();
        // The client names the partitions whose fetch offset moved (last answer).
        let updates: Vec<(&str, i32, i64)> = last_changed
            .iter()
            .map(|&p| ("many", p, offsets[p as usize]))
            .collect();
        let before = sessions.partitions_looked();
        // Every other round waits: an append made before the wait is seen at once.
        let req = request(id, epoch, &updates)
            .with_max_wait_ms(10_000)
            .with_min_bytes(if round % 2 == 0 { 1 } else { 0 });
        // Fetch offsets: the updated ones are at their ends; answer only the news.
        let r = fetch(&mut c, req, 12).await;
        epoch += 1;
        assert_eq!(r.error_code, 0);
        let mut got = with_records(&r);
        got.sort_unstable();
        let want: Vec<(i32, i64)> = expect.iter().map(|&p| (p, offsets[p as usize])).collect();
        assert_eq!(got, want, "round {round}");
        assert_eq!(
            answered(&r).len(),
            want.len(),
            "only the partitions with news"
        );
        let mut looked: Vec<i32> = expect.clone();
        looked.extend(&last_changed);
        looked.sort_unstable();
        looked.dedup();
        assert_eq!(
            sessions.partitions_looked() - before,
            looked.len() as u64,
            "round {round}: looked at the news and the changed partitions, not the other {}",
            N as usize - looked.len()
        );
        last_changed = expect;
    }
    let updates: Vec<(&str, i32, i64)> = last_changed
        .iter()
        .map(|&p| ("many", p, offsets[p as usize]))
        .collect();
    let r = fetch(&mut c, request(id, epoch, &updates), 12).await;
    epoch += 1;
    assert!(answered(&r).is_empty());

    // Forgotten: its appends are not answered, it watches no session; re-added
    // at its old offset: all of them are.
    let r = fetch(&mut c, forget(request(id, epoch, &[]), "many", &[5]), 12).await;
    epoch += 1;
    assert!(answered(&r).is_empty());
    assert_eq!(part(5).watching_sessions(), 0);
    produce(&mut c, "many", 5, 4).await;
    let r = fetch(&mut c, request(id, epoch, &[]), 12).await;
    epoch += 1;
    assert!(answered(&r).is_empty(), "forgotten");
    let r = fetch(&mut c, request(id, epoch, &[("many", 5, offsets[5])]), 12).await;
    epoch += 1;
    offsets[5] += 4;
    assert_eq!(with_records(&r), [(5, offsets[5])]);
    assert_eq!(part(5).watching_sessions(), 1);
    let r = fetch(&mut c, request(id, epoch, &[("many", 5, offsets[5])]), 12).await;
    assert!(answered(&r).is_empty());
    produce(&mut c, "many", 5, 1).await;
    let r = fetch(&mut c, request(id, epoch + 1, &[]), 12).await;
    assert_eq!(with_records(&r), [(5, offsets[5] + 1)]);

    // The session evicted (a larger one takes the slot once it is idle 120 s):
    // no partition watches it any more.
    sessions.advance_clock(121_000);
    let other = fetch(&mut c, request(0, 0, &all[..2]), 12).await;
    assert!(other.session_id > 0 && other.session_id != id);
    assert_eq!(sessions.evictions(), 1);
    assert_eq!(part(5).watching_sessions(), 0);
    assert_eq!(part(200).watching_sessions(), 0);
    let r = fetch(&mut c, request(id, epoch + 2, &[]), 12).await;
    assert_eq!(r.error_code, ResponseError::FetchSessionIdNotFound.code());
}

/// A session partition whose topic is deleted answers the error in every fetch,
/// and once the topic is created again its partitions answer from the new
/// logs: appends to them are seen (the session watches the new partitions).
#[tokio::test]
async fn a_deleted_and_recreated_topic_is_seen_by_the_session() {
    let broker = TestBroker::start(&[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "stay", 3).await;
    create_topic_raw(&mut c, "gone", 2).await;
    produce(&mut c, "gone", 1, 2).await;
    let parts = [
        ("stay", 0, 0),
        ("stay", 1, 0),
        ("stay", 2, 0),
        ("gone", 0, 0),
        ("gone", 1, 2),
    ];
    let id = fetch(&mut c, request(0, 0, &parts), 12).await.session_id;
    assert!(id > 0);
    let r = fetch(&mut c, request(id, 1, &[]), 12).await;
    assert!(answered(&r).is_empty());

    broker.state().partitions.delete_topic("gone").unwrap();
    let unknown = ResponseError::UnknownTopicOrPartition.code();
    for epoch in 2..4 {
        let r = fetch(&mut c, request(id, epoch, &[]), 12).await;
        let got: Vec<_> = answered(&r).into_iter().map(|a| (a.0, a.1, a.2)).collect();
        assert_eq!(
            got,
            [("gone".into(), 0, unknown), ("gone".into(), 1, unknown)],
            "fetch {epoch}: the error answers every time"
        );
    }
    create_topic_raw(&mut c, "gone", 2).await;
    let r = fetch(&mut c, request(id, 4, &[("gone", 1, 0)]), 12).await;
    let got: Vec<_> = answered(&r).into_iter().map(|a| (a.1, a.2, a.3)).collect();
    assert_eq!(got, [(0, 0, 0), (1, 0, 0)], "the new logs' high watermarks");
    let r = fetch(&mut c, request(id, 5, &[]), 12).await;
    assert!(answered(&r).is_empty());
    produce(&mut c, "gone", 0, 3).await;
    produce(&mut c, "stay", 2, 1).await;
    let r = fetch(&mut c, request(id, 6, &[]), 12).await;
    let mut got = with_records(&r);
    got.sort_unstable();
    assert_eq!(got, [(0, 3), (2, 1)]);
    let new = broker.state().partitions.partition("gone", 0).unwrap();
    assert_eq!(new.watching_sessions(), 1);
}

/// A partition the last answer cut short (the response's byte budget was spent
/// on another) has no new news but is looked at again and answered with its
/// records in the next incremental fetch.
#[tokio::test]
async fn a_partition_cut_short_by_max_bytes_is_answered_in_the_next_fetch() {
    let broker = TestBroker::start(&[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "cut", 2).await;
    let both = [("cut", 0, 0), ("cut", 1, 0)];
    let id = fetch(&mut c, request(0, 0, &both), 12).await.session_id;
    assert!(id > 0);
    let r = fetch(&mut c, request(id, 1, &[]), 12).await;
    assert!(answered(&r).is_empty());
    produce(&mut c, "cut", 0, 3).await;
    produce(&mut c, "cut", 1, 3).await;
    // A budget of 1 byte: the first partition's batch goes anyway, the second's not.
    let r = fetch(&mut c, request(id, 2, &[]).with_max_bytes(1), 12).await;
    let got: Vec<_> = answered(&r)
        .into_iter()
        .map(|a| (a.1, a.3, a.4 > 0))
        .collect();
    assert_eq!(got, [(0, 3, true), (1, 3, false)]);
    // No append since, and the client names only partition 0 (its offset moved).
    let r = fetch(&mut c, request(id, 3, &[("cut", 0, 3)]), 12).await;
    assert_eq!(with_records(&r), [(1, 3)], "the cut partition's records");
    let r = fetch(&mut c, request(id, 4, &[("cut", 1, 3)]), 12).await;
    assert!(answered(&r).is_empty());
}

/// read_committed over a session: a partition with an open transaction
/// answers its new high watermark but no records (the last stable offset holds
/// them back), is not answered again while nothing moves, and answers the
/// records as soon as the commit marker is written (the marker is news).
#[tokio::test]
async fn read_committed_session_answers_a_transaction_when_it_commits() {
    use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
    use kafka_protocol::messages::{EndTxnRequest, ProduceRequest, ProducerId, TransactionalId};
    use kafka_protocol::protocol::StrBytes;
    let tid = || TransactionalId(StrBytes::from_string("rc-tx".into()));
    let broker = TestBroker::start(&[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "rc", 3).await;
    let all = [("rc", 0, 0), ("rc", 1, 0), ("rc", 2, 0)];
    let committed = |r: FetchRequest| r.with_isolation_level(1);
    let id = fetch(&mut c, committed(request(0, 0, &all)), 12)
        .await
        .session_id;
    assert!(id > 0);
    let r = fetch(&mut c, committed(request(id, 1, &[])), 12).await;
    assert!(answered(&r).is_empty());

    let (pid, epoch) = c.begin_txn("rc-tx", "rc", &[1]).await;
    let mut b = weir_storage::BatchBuilder::new();
    b.producer_id = pid;
    b.producer_epoch = epoch;
    b.base_sequence = 0;
    b.transactional = true;
    for i in 0..2 {
        b.push(weir_storage::Record {
            offset: i,
            timestamp: 1_700_000_000_000,
            key: None,
            value: Some(bytes::Bytes::from_static(b"v")),
            headers: vec![],
        });
    }
    let records = bytes::Bytes::from(b.build().unwrap());
    let produce = ProduceRequest::default()
        .with_transactional_id(Some(tid()))
        .with_acks(-1)
        .with_timeout_ms(10_000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(tname("rc"))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(1)
                .with_records(Some(records))])]);
    let ResponseKind::Produce(p) = c
        .call(RequestKind::Produce(produce), ApiKey::Produce, 9)
        .await
    else {
        panic!()
    };
    assert_eq!(p.responses[0].partition_responses[0].error_code, 0);

    // Open: the new high watermark, no records; then nothing while nothing moves.
    let r = fetch(&mut c, committed(request(id, 2, &[])), 12).await;
    let got: Vec<_> = answered(&r).into_iter().map(|a| (a.1, a.3, a.4)).collect();
    assert_eq!(got, [(1, 2, 0)]);
    let r = fetch(&mut c, committed(request(id, 3, &[])), 12).await;
    assert!(answered(&r).is_empty());

    let end = EndTxnRequest::default()
        .with_transactional_id(tid())
        .with_producer_id(ProducerId(pid))
        .with_producer_epoch(epoch)
        .with_committed(true);
    let ResponseKind::EndTxn(e) = c.call(RequestKind::EndTxn(end), ApiKey::EndTxn, 3).await else {
        panic!()
    };
    assert_eq!(e.error_code, 0);
    let deadline = Instant::now() + std::time::Duration::from_secs(10);
    let mut epoch_n = 4;
    loop {
        let r = fetch(&mut c, committed(request(id, epoch_n, &[])), 12).await;
        epoch_n += 1;
        let got: Vec<_> = answered(&r)
            .into_iter()
            .map(|a| (a.1, a.3, a.4 > 0))
            .collect();
        if !got.is_empty() {
            // The marker is written (high watermark 3) and the records come.
            assert_eq!(got, [(1, 3, true)]);
            break;
        }
        assert!(Instant::now() < deadline, "the commit never answered");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
