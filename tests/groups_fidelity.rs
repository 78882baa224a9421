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
