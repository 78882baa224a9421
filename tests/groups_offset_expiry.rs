//! Committed-offset expiry over a real socket: with the retention check
//! running every 100 ms (`offsets.retention.check.interval.ms=100`) and the
//! shortest retention Kafka allows (one minute, the default here being a
//! week), nothing expires early: the offsets of an Empty classic group and of
//! a standalone committer are still fetched after many check passes, and after
//! a restart; both groups are still listed. The expiry itself (the clock
//! passing the retention) is covered by the coordinator's unit tests with an
//! injected clock.

mod support;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Encodable, StrBytes};
use std::time::Duration;
use support::{start_broker, RawClient};

const SETTINGS: &[(&str, &str)] = &[
    ("group.initial.rebalance.delay.ms", "0"),
    ("offsets.retention.check.interval.ms", "100"),
    ("offsets.retention.minutes", "1"),
];

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn gid(v: &str) -> GroupId {
    GroupId(s(v))
}

macro_rules! call {
    ($c:expr, $kind:ident, $req:expr, $v:expr) => {
        match $c.call(RequestKind::$kind($req), ApiKey::$kind, $v).await {
            ResponseKind::$kind(r) => r,
            other => panic!("unexpected response {other:?}"),
        }
    };
}

fn subscription(topic: &str) -> Bytes {
    let mut out = BytesMut::new();
    out.put_i16(0);
    ConsumerProtocolSubscription::default()
        .with_topics(vec![s(topic)])
        .encode(&mut out, 0)
        .unwrap();
    out.freeze()
}

fn commit_req(
    group: &str,
    generation: i32,
    member: &str,
    offsets: &[(i32, i64)],
) -> OffsetCommitRequest {
    OffsetCommitRequest::default()
        .with_group_id(gid(group))
        .with_generation_id_or_member_epoch(generation)
        .with_member_id(s(member))
        .with_topics(vec![
            offset_commit_request::OffsetCommitRequestTopic::default()
                .with_name(TopicName(s("t")))
                .with_partitions(
                    offsets
                        .iter()
                        .map(|(p, o)| {
                            offset_commit_request::OffsetCommitRequestPartition::default()
                                .with_partition_index(*p)
                                .with_committed_offset(*o)
                        })
                        .collect(),
                ),
        ])
}

/// The committed offsets of partitions 0 and 1 of `t`.
async fn fetched(c: &mut RawClient, group: &str) -> Vec<i64> {
    let req = OffsetFetchRequest::default()
        .with_group_id(gid(group))
        .with_topics(Some(vec![
            offset_fetch_request::OffsetFetchRequestTopic::default()
                .with_name(TopicName(s("t")))
                .with_partition_indexes(vec![0, 1]),
        ]));
    let r = call!(c, OffsetFetch, req, 7);
    assert_eq!(r.error_code, 0);
    r.topics[0]
        .partitions
        .iter()
        .map(|p| {
            assert_eq!(p.error_code, 0);
            p.committed_offset
        })
        .collect()
}

/// (group, state) of every group listed.
async fn listed(c: &mut RawClient) -> Vec<(String, String)> {
    let r = call!(c, ListGroups, ListGroupsRequest::default(), 4);
    assert_eq!(r.error_code, 0);
    let mut out: Vec<(String, String)> = r
        .groups
        .iter()
        .map(|g| (g.group_id.to_string(), g.group_state.to_string()))
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn offsets_of_an_empty_group_and_a_standalone_committer_do_not_expire_early() {
    let dir = tempfile::tempdir().unwrap();
    let b = start_broker(dir.path(), SETTINGS).await;
    b.state()
        .partitions
        .create_topic("t", 2, Default::default(), false)
        .unwrap();
    let mut c = RawClient::connect(b.addr()).await;

    // A classic consumer group: one member joins, syncs, commits, leaves.
    let mut join = JoinGroupRequest::default()
        .with_group_id(gid("g"))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(10_000)
        .with_protocol_type(s("consumer"))
        .with_protocols(vec![join_group_request::JoinGroupRequestProtocol::default(
        )
        .with_name(s("range"))
        .with_metadata(subscription("t"))]);
    let first = call!(c, JoinGroup, join.clone(), 5);
    join.member_id = first.member_id.clone();
    let j = call!(c, JoinGroup, join, 5);
    assert_eq!((j.error_code, j.generation_id), (0, 1));
    let sync = SyncGroupRequest::default()
        .with_group_id(gid("g"))
        .with_generation_id(1)
        .with_member_id(j.member_id.clone());
    assert_eq!(call!(c, SyncGroup, sync, 4).error_code, 0);
    let r = call!(
        c,
        OffsetCommit,
        commit_req("g", 1, &j.member_id, &[(0, 10), (1, 11)]),
        8
    );
    assert!(r.topics[0].partitions.iter().all(|p| p.error_code == 0));
    let leave = LeaveGroupRequest::default()
        .with_group_id(gid("g"))
        .with_member_id(j.member_id.clone());
    assert_eq!(call!(c, LeaveGroup, leave, 2).error_code, 0);

    // A standalone committer (manual assignment): generation -1, no member.
    let r = call!(
        c,
        OffsetCommit,
        commit_req("solo", -1, "", &[(0, 20), (1, 21)]),
        8
    );
    assert!(r.topics[0].partitions.iter().all(|p| p.error_code == 0));

    let want = vec![
        ("g".to_string(), "Empty".to_string()),
        ("solo".to_string(), "Empty".to_string()),
    ];
    // Twenty check intervals: nothing is a minute old yet.
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    assert_eq!(fetched(&mut c, "g").await, vec![10, 11]);
    assert_eq!(fetched(&mut c, "solo").await, vec![20, 21]);
    assert_eq!(listed(&mut c).await, want);

    // After a restart (replay of __consumer_offsets) and more check passes.
    drop(c);
    b.shutdown().await.unwrap();
    let b = start_broker(dir.path(), SETTINGS).await;
    let mut c = RawClient::connect(b.addr()).await;
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    assert_eq!(fetched(&mut c, "g").await, vec![10, 11]);
    assert_eq!(fetched(&mut c, "solo").await, vec![20, 21]);
    assert_eq!(listed(&mut c).await, want);
    drop(c);
    b.shutdown().await.unwrap();
}
