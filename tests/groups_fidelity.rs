//! Group-protocol answers pinned to what Apache Kafka 4.4 answers (each checked
//! against a real Kafka 4.4 broker, `benches/peers/kafka`, with the same raw
//! requests), over a real socket with kafka-protocol's client encoding.
//!
//! - The sync timeout (Kafka's pending-sync members): after the join phase,
//!   every member must send its SyncGroup within the group's rebalance timeout,
//!   even once the leader's sync made the group Stable; members that did not are
//!   removed and the rest rebalance. With a rebalance timeout of 0 that is at
//!   once: the SyncGroup that follows the JoinGroup gets UNKNOWN_MEMBER_ID.

mod support;

use bytes::Bytes;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError as E;
use std::time::{Duration, Instant};
use support::{start_broker, RawClient, TestBroker};

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn gid(v: &str) -> GroupId {
    GroupId(s(v))
}

const SETTINGS: &[(&str, &str)] = &[("group.initial.rebalance.delay.ms", "0")];

async fn broker() -> (TestBroker, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let b = start_broker(dir.path(), SETTINGS).await;
    (b, dir)
}

macro_rules! call {
    ($c:expr, $kind:ident, $req:expr, $v:expr) => {
        match $c.call(RequestKind::$kind($req), ApiKey::$kind, $v).await {
            ResponseKind::$kind(r) => r,
            other => panic!("unexpected response {other:?}"),
        }
    };
}

fn join_req(group: &str, member: &str, rebalance_timeout_ms: i32) -> JoinGroupRequest {
    JoinGroupRequest::default()
        .with_group_id(gid(group))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(rebalance_timeout_ms)
        .with_member_id(s(member))
        .with_protocol_type(s("consumer"))
        .with_protocols(vec![join_group_request::JoinGroupRequestProtocol::default(
        )
        .with_name(s("range"))
        .with_metadata(Bytes::from_static(b"sub"))])
}

/// JoinGroup v5 with the MEMBER_ID_REQUIRED handshake; `member` empty for a new member.
async fn join(
    c: &mut RawClient,
    group: &str,
    member: &str,
    rebalance_timeout_ms: i32,
) -> JoinGroupResponse {
    let mut r = call!(
        c,
        JoinGroup,
        join_req(group, member, rebalance_timeout_ms),
        5
    );
    if r.error_code == E::MemberIdRequired.code() {
        let id = r.member_id.to_string();
        r = call!(c, JoinGroup, join_req(group, &id, rebalance_timeout_ms), 5);
    }
    r
}

async fn sync(
    c: &mut RawClient,
    group: &str,
    generation: i32,
    member: &str,
    assignments: &[(&str, &'static [u8])],
) -> SyncGroupResponse {
    let req = SyncGroupRequest::default()
        .with_group_id(gid(group))
        .with_generation_id(generation)
        .with_member_id(s(member))
        .with_assignments(
            assignments
                .iter()
                .map(|(m, a)| {
                    sync_group_request::SyncGroupRequestAssignment::default()
                        .with_member_id(s(m))
                        .with_assignment(Bytes::from_static(a))
                })
                .collect(),
        );
    call!(c, SyncGroup, req, 3)
}

async fn heartbeat(c: &mut RawClient, group: &str, generation: i32, member: &str) -> i16 {
    let req = HeartbeatRequest::default()
        .with_group_id(gid(group))
        .with_generation_id(generation)
        .with_member_id(s(member));
    call!(c, Heartbeat, req, 3).error_code
}

/// Kafka 4.4 (JoinGroup v5 with rebalance timeout 0, then SyncGroup v3 at once):
/// the join completes with generation 1, the sync timeout (0 ms) removes the
/// member before its SyncGroup is handled: UNKNOWN_MEMBER_ID, and so is every
/// heartbeat after.
#[tokio::test]
async fn sync_group_after_a_join_with_rebalance_timeout_zero_is_unknown_member_as_in_kafka() {
    let (b, _dir) = broker().await;
    let mut c = RawClient::connect(b.addr()).await;
    let j = join(&mut c, "rto0", "", 0).await;
    assert_eq!((j.error_code, j.generation_id), (0, 1));
    assert_eq!(j.leader, j.member_id);
    let me = j.member_id.to_string();
    let r = sync(&mut c, "rto0", 1, &me, &[(&me, b"mine")]).await;
    assert_eq!(r.error_code, E::UnknownMemberId.code(), "sync");
    assert!(r.assignment.is_empty());
    assert_eq!(
        heartbeat(&mut c, "rto0", 1, &me).await,
        E::UnknownMemberId.code()
    );
    // A fresh join gets generation 3 as in Kafka: the timeout's rebalance of the
    // emptied group completed generation 2 (Empty).
    let j = join(&mut c, "rto0", "", 0).await;
    assert_eq!((j.error_code, j.generation_id), (0, 3));
    b.shutdown().await.unwrap();
}

/// Kafka 4.4, two members with rebalance timeout 1500 ms: the leader syncs (the
/// group is Stable), the follower heartbeats but never syncs. Until the timeout
/// both heartbeats succeed; then the follower is removed (UNKNOWN_MEMBER_ID) and
/// the leader is told to rejoin (REBALANCE_IN_PROGRESS); the leader not rejoining
/// within the rebalance timeout is removed too.
#[tokio::test]
async fn a_member_that_never_syncs_is_removed_after_the_rebalance_timeout_even_when_stable() {
    const RTO: i32 = 1500;
    let (b, _dir) = broker().await;
    let g = "pending-sync";
    let mut ca = RawClient::connect(b.addr()).await;
    let mut cb = RawClient::connect(b.addr()).await;
    let mut hb_a = RawClient::connect(b.addr()).await;
    let a = join(&mut ca, g, "", RTO).await;
    assert_eq!((a.error_code, a.generation_id), (0, 1));
    let a_id = a.member_id.to_string();
    assert_eq!(
        sync(&mut ca, g, 1, &a_id, &[(&a_id, b"A")])
            .await
            .error_code,
        0
    );

    // b joins: a learns of the rebalance from its heartbeat and rejoins.
    let b_join = tokio::spawn(async move {
        let r = join(&mut cb, g, "", RTO).await;
        (cb, r)
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while heartbeat(&mut hb_a, g, 1, &a_id).await != E::RebalanceInProgress.code() {
        assert!(Instant::now() < deadline, "no rebalance after b joined");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let a = join(&mut ca, g, &a_id, RTO).await;
    let (mut cb, bj) = b_join.await.unwrap();
    assert_eq!((a.error_code, a.generation_id), (0, 2));
    assert_eq!((bj.error_code, bj.generation_id), (0, 2));
    assert_eq!(a.leader, a.member_id, "the first member stays leader");
    let b_id = bj.member_id.to_string();
    let synced = Instant::now();
    let r = sync(&mut ca, g, 2, &a_id, &[(&a_id, b"A"), (&b_id, b"B")]).await;
    assert_eq!((r.error_code, &r.assignment[..]), (0, &b"A"[..]));

    // Stable; b heartbeats (which does not count as a sync).
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(heartbeat(&mut cb, g, 2, &b_id).await, 0);
    assert_eq!(heartbeat(&mut hb_a, g, 2, &a_id).await, 0);
    assert!(
        synced.elapsed() < Duration::from_millis(RTO as u64),
        "too slow to test"
    );

    tokio::time::sleep(Duration::from_millis(RTO as u64 + 300).saturating_sub(synced.elapsed()))
        .await;
    assert_eq!(
        heartbeat(&mut cb, g, 2, &b_id).await,
        E::UnknownMemberId.code(),
        "b never synced"
    );
    assert_eq!(
        heartbeat(&mut hb_a, g, 2, &a_id).await,
        E::RebalanceInProgress.code(),
        "a must rejoin"
    );
    tokio::time::sleep(Duration::from_millis(RTO as u64 + 300)).await;
    assert_eq!(
        heartbeat(&mut hb_a, g, 2, &a_id).await,
        E::UnknownMemberId.code(),
        "a did not rejoin in time"
    );
    b.shutdown().await.unwrap();
}

/// The follower that does sync in time stays: nobody is removed once every
/// member of the generation has sent its SyncGroup.
#[tokio::test]
async fn members_that_all_sync_are_not_removed_by_the_sync_timeout() {
    const RTO: i32 = 800;
    let (b, _dir) = broker().await;
    let g = "all-sync";
    let mut ca = RawClient::connect(b.addr()).await;
    let mut cb = RawClient::connect(b.addr()).await;
    let a = join(&mut ca, g, "", RTO).await;
    let a_id = a.member_id.to_string();
    assert_eq!(
        sync(&mut ca, g, 1, &a_id, &[(&a_id, b"A")])
            .await
            .error_code,
        0
    );
    tokio::time::sleep(Duration::from_millis(RTO as u64 + 300)).await;
    assert_eq!(heartbeat(&mut ca, g, 1, &a_id).await, 0);
    // A follower's sync that arrives before the leader's waits for it, and counts.
    let b_join = tokio::spawn(async move {
        let r = join(&mut cb, g, "", RTO).await;
        (cb, r)
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while heartbeat(&mut ca, g, 1, &a_id).await != E::RebalanceInProgress.code() {
        assert!(Instant::now() < deadline, "no rebalance after b joined");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let a = join(&mut ca, g, &a_id, RTO).await;
    let (mut cb, bj) = b_join.await.unwrap();
    let b_id = bj.member_id.to_string();
    assert_eq!((a.generation_id, bj.generation_id), (2, 2));
    let b_sync = tokio::spawn(async move {
        let r = sync(&mut cb, g, 2, &b_id, &[]).await;
        (cb, b_id, r)
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let r = sync(&mut ca, g, 2, &a_id, &[(&a_id, b"A")]).await;
    assert_eq!(r.error_code, 0);
    let (mut cb, b_id, rb) = b_sync.await.unwrap();
    assert_eq!(rb.error_code, 0);
    tokio::time::sleep(Duration::from_millis(RTO as u64 + 300)).await;
    assert_eq!(heartbeat(&mut ca, g, 2, &a_id).await, 0);
    assert_eq!(heartbeat(&mut cb, g, 2, &b_id).await, 0);
    b.shutdown().await.unwrap();
}

/// Kafka 4.4 (its GroupCoordinatorService checks only for a null group id in
/// OffsetCommit / OffsetFetch, and none in DescribeGroups / DeleteGroups): the
/// group "" takes standalone commits, fetches them, is described and deleted
/// like any group; the membership APIs refuse it with INVALID_GROUP_ID. Each
/// answer checked against a real Kafka 4.4 with the same request versions.
#[tokio::test]
async fn the_empty_group_id_commits_fetches_describes_and_deletes_as_in_kafka() {
    let (b, _dir) = broker().await;
    b.create_topic("t", 1);
    let mut c = RawClient::connect(b.addr()).await;

    let commit = OffsetCommitRequest::default()
        .with_group_id(gid(""))
        .with_generation_id_or_member_epoch(-1)
        .with_member_id(s(""))
        .with_topics(vec![
            offset_commit_request::OffsetCommitRequestTopic::default()
                .with_name(TopicName(s("t")))
                .with_partitions(vec![
                    offset_commit_request::OffsetCommitRequestPartition::default()
                        .with_partition_index(0)
                        .with_committed_offset(5)
                        .with_committed_metadata(Some(s(""))),
                ]),
        ]);
    let r = call!(c, OffsetCommit, commit, 7);
    assert_eq!(r.topics[0].partitions[0].error_code, 0, "commit");

    let fetch = OffsetFetchRequest::default()
        .with_group_id(gid(""))
        .with_topics(Some(vec![
            offset_fetch_request::OffsetFetchRequestTopic::default()
                .with_name(TopicName(s("t")))
                .with_partition_indexes(vec![0]),
        ]));
    let r = call!(c, OffsetFetch, fetch, 5);
    assert_eq!(r.error_code, 0);
    let p = &r.topics[0].partitions[0];
    assert_eq!((p.error_code, p.committed_offset), (0, 5), "fetch");

    let describe = DescribeGroupsRequest::default().with_groups(vec![gid("")]);
    let r = call!(c, DescribeGroups, describe.clone(), 3);
    let d = &r.groups[0];
    assert_eq!((d.error_code, d.group_state.as_str()), (0, "Empty"));

    let hb = HeartbeatRequest::default()
        .with_group_id(gid(""))
        .with_generation_id(1)
        .with_member_id(s("m"));
    assert_eq!(
        call!(c, Heartbeat, hb, 3).error_code,
        E::InvalidGroupId.code()
    );

    let delete = DeleteGroupsRequest::default().with_groups_names(vec![gid("")]);
    let r = call!(c, DeleteGroups, delete, 1);
    assert_eq!(r.results[0].error_code, 0, "delete");
    let r = call!(c, DescribeGroups, describe, 3);
    assert_eq!(r.groups[0].group_state.as_str(), "Dead");
    b.shutdown().await.unwrap();
}

/// A ConsumerProtocolSubscription (v1: with owned partitions) of topic `t`.
fn subscription(owned: &[i32]) -> Bytes {
    use bytes::BufMut;
    use kafka_protocol::protocol::Encodable;
    let sub = ConsumerProtocolSubscription::default()
        .with_topics(vec![s("t")])
        .with_owned_partitions(vec![
            consumer_protocol_subscription::TopicPartition::default()
                .with_topic(TopicName(s("t")))
                .with_partitions(owned.to_vec()),
        ]);
    let mut out = bytes::BytesMut::new();
    out.put_i16(1);
    sub.encode(&mut out, 1).unwrap();
    out.freeze()
}

/// Partitions of topic `t` in a ConsumerProtocolAssignment.
fn assigned(bytes: &Bytes) -> Vec<i32> {
    use bytes::Buf;
    use kafka_protocol::protocol::Decodable;
    let mut buf = bytes.clone();
    let v = buf.get_i16();
    let a = ConsumerProtocolAssignment::decode(&mut buf, v).unwrap();
    a.assigned_partitions
        .iter()
        .filter(|tp| tp.topic.as_str() == "t")
        .flat_map(|tp| tp.partitions.clone())
        .collect()
}

fn classic_join_req(member: &str, owned: &[i32]) -> JoinGroupRequest {
    JoinGroupRequest::default()
        .with_group_id(gid("live"))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(10_000)
        .with_member_id(s(member))
        .with_protocol_type(s("consumer"))
        .with_protocols(vec![join_group_request::JoinGroupRequestProtocol::default(
        )
        .with_name(s("range"))
        .with_metadata(subscription(owned))])
}

/// KIP-848 online upgrade over raw requests: a ConsumerGroupHeartbeat joining a
/// live classic group converts it (Kafka's default migration policy,
/// `bidirectional`); the classic member is told to rejoin by its heartbeat, its
/// JoinGroup is answered at once (generation = its member epoch, its preferred
/// protocol, no leader, no member list), it gives up the partition the new
/// member is to get before that member gets it, and then both are stable with
/// disjoint partitions. A classic group of another protocol type is refused with
/// Kafka's text.
#[tokio::test]
async fn a_consumer_protocol_member_upgrades_a_live_classic_group_over_raw_requests() {
    let (b, _dir) = broker().await;
    b.create_topic("t", 2);
    let mut c = RawClient::connect(b.addr()).await;

    // Another protocol type: no upgrade.
    let other = join_req("connectish", "", 10_000).with_protocol_type(s("connect"));
    let mut r = call!(c, JoinGroup, other.clone(), 5);
    r = call!(c, JoinGroup, other.with_member_id(r.member_id), 5);
    assert_eq!(r.error_code, 0);
    let hb = ConsumerGroupHeartbeatRequest::default()
        .with_group_id(gid("connectish"))
        .with_member_epoch(0)
        .with_rebalance_timeout_ms(10_000)
        .with_subscribed_topic_names(Some(vec![TopicName(s("t"))]))
        .with_topic_partitions(Some(vec![]));
    let r = call!(c, ConsumerGroupHeartbeat, hb, 0);
    assert_eq!(r.error_code, E::GroupIdNotFound.code());
    assert_eq!(
        r.error_message.as_deref(),
        Some(
            "Cannot upgrade classic group connectish to consumer group because the group \
             does not use the consumer embedded protocol."
        )
    );

    // A classic member owning both partitions (generation 1).
    let r = call!(c, JoinGroup, classic_join_req("", &[]), 5);
    let me = r.member_id.to_string();
    let r = call!(c, JoinGroup, classic_join_req(&me, &[]), 5);
    assert_eq!((r.error_code, r.generation_id), (0, 1));
    let assignment = {
        use bytes::BufMut;
        use kafka_protocol::protocol::Encodable;
        let mut out = bytes::BytesMut::new();
        out.put_i16(0);
        ConsumerProtocolAssignment::default()
            .with_assigned_partitions(vec![consumer_protocol_assignment::TopicPartition::default(
            )
            .with_topic(TopicName(s("t")))
            .with_partitions(vec![0, 1])])
            .encode(&mut out, 0)
            .unwrap();
        out.freeze()
    };
    let sync_req = |generation: i32, assignments: Vec<(String, Bytes)>| {
        SyncGroupRequest::default()
            .with_group_id(gid("live"))
            .with_generation_id(generation)
            .with_member_id(s(&me))
            .with_assignments(
                assignments
                    .into_iter()
                    .map(|(m, a)| {
                        sync_group_request::SyncGroupRequestAssignment::default()
                            .with_member_id(s(&m))
                            .with_assignment(a)
                    })
                    .collect(),
            )
    };
    let r = call!(c, SyncGroup, sync_req(1, vec![(me.clone(), assignment)]), 3);
    assert_eq!((r.error_code, assigned(&r.assignment)), (0, vec![0, 1]));

    // The consumer-protocol member joins: the group is upgraded; it gets nothing
    // the classic member still holds.
    let mut c2 = RawClient::connect(b.addr()).await;
    let hb = ConsumerGroupHeartbeatRequest::default()
        .with_group_id(gid("live"))
        .with_member_epoch(0)
        .with_rebalance_timeout_ms(10_000)
        .with_subscribed_topic_names(Some(vec![TopicName(s("t"))]))
        .with_topic_partitions(Some(vec![]));
    let r = call!(c2, ConsumerGroupHeartbeat, hb, 0);
    assert_eq!(r.error_code, 0, "{:?}", r.error_message);
    let d = b.state().groups.consumer_describe("live");
    assert_eq!(
        r.member_epoch, 2,
        "the group epoch after the generation 1: {d:?}"
    );
    let new_id = r.member_id.clone().unwrap();
    let held = |r: &ConsumerGroupHeartbeatResponse| -> Vec<i32> {
        r.assignment
            .as_ref()
            .map(|a| {
                a.topic_partitions
                    .iter()
                    .flat_map(|t| t.partitions.clone())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert!(held(&r).is_empty());
    assert!(b.state().groups.consumer_describe("live").is_ok());
    // DescribeGroups (classic) no longer describes it, with Kafka's text.
    let describe = DescribeGroupsRequest::default().with_groups(vec![gid("live")]);
    let d = call!(c2, DescribeGroups, describe, 6);
    assert_eq!(
        (
            d.groups[0].error_code,
            d.groups[0].group_state.as_str(),
            d.groups[0].error_message.as_deref()
        ),
        (
            E::GroupIdNotFound.code(),
            "Dead",
            Some("Group live is not a classic group.")
        )
    );

    // The classic member: rejoin, give one partition up, then stable at epoch 2.
    let hb_classic = |generation: i32| {
        HeartbeatRequest::default()
            .with_group_id(gid("live"))
            .with_generation_id(generation)
            .with_member_id(s(&me))
    };
    assert_eq!(
        call!(c, Heartbeat, hb_classic(1), 3).error_code,
        E::RebalanceInProgress.code()
    );
    let r = call!(c, JoinGroup, classic_join_req(&me, &[0, 1]), 5);
    assert_eq!(r.error_code, 0);
    assert_eq!(
        (
            r.protocol_name.as_ref().map(|p| p.as_str()),
            r.leader.as_str(),
            r.members.len()
        ),
        (Some("range"), "", 0)
    );
    let generation = r.generation_id;
    let r = call!(c, SyncGroup, sync_req(generation, vec![]), 3);
    assert_eq!(r.error_code, 0);
    let kept = assigned(&r.assignment);
    assert_eq!(kept.len(), 1, "one partition given up: {kept:?}");
    // Until the revocation is acknowledged by a rejoin, the heartbeat says so.
    assert_eq!(
        call!(c, Heartbeat, hb_classic(generation), 3).error_code,
        E::RebalanceInProgress.code()
    );
    let r = call!(c, JoinGroup, classic_join_req(&me, &kept), 5);
    assert_eq!((r.error_code, r.generation_id), (0, 2));
    let r = call!(c, SyncGroup, sync_req(2, vec![]), 3);
    assert_eq!(assigned(&r.assignment), kept);
    assert_eq!(call!(c, Heartbeat, hb_classic(2), 3).error_code, 0);
    // Its commits are checked against its epoch, in the classic protocol's terms.
    let commit = |generation: i32| {
        OffsetCommitRequest::default()
            .with_group_id(gid("live"))
            .with_generation_id_or_member_epoch(generation)
            .with_member_id(s(&me))
            .with_topics(vec![
                offset_commit_request::OffsetCommitRequestTopic::default()
                    .with_name(TopicName(s("t")))
                    .with_partitions(vec![
                        offset_commit_request::OffsetCommitRequestPartition::default()
                            .with_partition_index(kept[0])
                            .with_committed_offset(0),
                    ]),
            ])
    };
    let r = call!(c, OffsetCommit, commit(2), 7);
    assert_eq!(r.topics[0].partitions[0].error_code, 0);
    let r = call!(c, OffsetCommit, commit(3), 7);
    assert_eq!(
        r.topics[0].partitions[0].error_code,
        E::IllegalGeneration.code()
    );

    // The consumer-protocol member now gets the released partition.
    let hb = ConsumerGroupHeartbeatRequest::default()
        .with_group_id(gid("live"))
        .with_member_id(new_id)
        .with_member_epoch(2);
    let r = call!(c2, ConsumerGroupHeartbeat, hb, 0);
    assert_eq!(r.error_code, 0);
    let mut got = held(&r);
    got.extend(kept);
    got.sort();
    assert_eq!(got, vec![0, 1]);
    b.shutdown().await.unwrap();
}

/// `group.consumer.migration.policy=disabled` (Kafka's words, case-insensitive):
/// no upgrade of a live classic group (GROUP_ID_NOT_FOUND with Kafka's text), and
/// a classic member cannot join a live consumer group (INCONSISTENT_GROUP_PROTOCOL,
/// as Kafka's throwIfClassicMemberCannotJoinConsumerGroup).
#[tokio::test]
async fn migration_policy_disabled_refuses_both_ways_as_kafka_does() {
    let dir = tempfile::tempdir().unwrap();
    let b = start_broker(
        dir.path(),
        &[
            ("group.initial.rebalance.delay.ms", "0"),
            ("group.consumer.migration.policy", "Disabled"),
        ],
    )
    .await;
    b.create_topic("t", 2);
    let mut c = RawClient::connect(b.addr()).await;
    let r = call!(c, JoinGroup, classic_join_req("", &[]), 5);
    let me = r.member_id.to_string();
    assert_eq!(
        call!(c, JoinGroup, classic_join_req(&me, &[]), 5).error_code,
        0
    );
    let hb = |group: &str| {
        ConsumerGroupHeartbeatRequest::default()
            .with_group_id(gid(group))
            .with_member_epoch(0)
            .with_rebalance_timeout_ms(10_000)
            .with_subscribed_topic_names(Some(vec![TopicName(s("t"))]))
            .with_topic_partitions(Some(vec![]))
    };
    let r = call!(c, ConsumerGroupHeartbeat, hb("live"), 0);
    assert_eq!(r.error_code, E::GroupIdNotFound.code());
    assert_eq!(
        r.error_message.as_deref(),
        Some(
            "Cannot upgrade classic group live to consumer group because online upgrade is \
             disabled."
        )
    );

    let r = call!(c, ConsumerGroupHeartbeat, hb("modern"), 0);
    assert_eq!(r.error_code, 0);
    let join = classic_join_req("", &[]).with_group_id(gid("modern"));
    assert_eq!(
        call!(c, JoinGroup, join, 5).error_code,
        E::InconsistentGroupProtocol.code()
    );
    b.shutdown().await.unwrap();
}
