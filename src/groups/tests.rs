//! Unit tests of the coordinator: the classic state machine driven with explicit
//! time, KIP-848 reconciliation, offsets, and persistence across a reopen.

use super::classic::*;
use super::consumer::{HeartbeatRequest, TopicCatalog};
use super::log::MemoryGroupLog;
use super::*;
use bytes::Bytes;
use kafka_protocol::ResponseError as E;
use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;

fn cfg(delay: u64) -> GroupConfig {
    GroupConfig {
        initial_rebalance_delay_ms: delay,
        ..GroupConfig::default()
    }
}

fn join_req(member_id: &str, instance: Option<&str>, version: i16) -> JoinRequest {
    JoinRequest {
        api_version: version,
        group_id: "g".into(),
        member_id: member_id.into(),
        group_instance_id: instance.map(Into::into),
        client_id: "client".into(),
        client_host: "/127.0.0.1".into(),
        protocol_type: "consumer".into(),
        protocols: vec![("range".into(), Bytes::from_static(b"meta"))],
        session_timeout_ms: 10_000,
        rebalance_timeout_ms: 30_000,
    }
}

fn now_reply<T>(r: Reply<T>) -> T {
    match r {
        Reply::Now(t) => t,
        Reply::Wait(_) => panic!("expected an immediate answer"),
    }
}

fn wait_rx<T>(r: Reply<T>) -> tokio::sync::oneshot::Receiver<T> {
    match r {
        Reply::Wait(rx) => rx,
        Reply::Now(_) => panic!("expected to wait"),
    }
}

/// Join with the v4+ handshake; returns the receiver of the real join.
fn join_v5(
    g: &mut ClassicGroup,
    now: u64,
    c: &GroupConfig,
) -> (String, tokio::sync::oneshot::Receiver<JoinResponse>) {
    let first = now_reply(g.join(join_req("", None, 5), now, c));
    assert_eq!(first.error, E::MemberIdRequired.code());
    assert!(!first.member_id.is_empty());
    let rx = wait_rx(g.join(join_req(&first.member_id, None, 5), now, c));
    (first.member_id, rx)
}

fn sync_req(member: &str, generation: i32, assignments: Vec<(String, Bytes)>) -> SyncRequest {
    SyncRequest {
        group_id: "g".into(),
        generation_id: generation,
        member_id: member.into(),
        group_instance_id: None,
        protocol_type: Some("consumer".into()),
        protocol_name: Some("range".into()),
        assignments,
    }
}

#[test]
fn three_members_join_one_leader_and_every_member_gets_its_assignment() {
    let c = cfg(0);
    let mut g = ClassicGroup::new("g");
    let (a, mut rxa) = join_v5(&mut g, 0, &c);
    // The first member completes its join at once: nobody else is known.
    let ja = rxa.try_recv().unwrap();
    assert_eq!(
        (ja.error, ja.generation_id, ja.leader.as_str()),
        (0, 1, a.as_str())
    );
    // Two more join: the group rebalances; a must rejoin (heartbeat says so).
    let (b, mut rxb) = join_v5(&mut g, 10, &c);
    assert_eq!(g.heartbeat(&a, None, 1, 11), E::RebalanceInProgress.code());
    let (d, mut rxd) = join_v5(&mut g, 12, &c);
    assert!(rxb.try_recv().is_err(), "b must wait for a to rejoin");
    let mut rxa = wait_rx(g.join(join_req(&a, None, 5), 13, &c));
    // Everyone is in: the join completes right away (no fixed stall).
    let (ja, jb, jd) = (
        rxa.try_recv().unwrap(),
        rxb.try_recv().unwrap(),
        rxd.try_recv().unwrap(),
    );
    for j in [&ja, &jb, &jd] {
        assert_eq!((j.error, j.generation_id), (0, 2));
        assert_eq!(j.leader, a);
        assert_eq!(j.protocol_name.as_deref(), Some("range"));
    }
    assert_eq!(ja.members.len(), 3);
    assert!(jb.members.is_empty() && jd.members.is_empty());
    // Followers wait for the leader's sync; d gets no partitions but still an answer.
    let mut rxb = wait_rx(g.sync(sync_req(&b, 2, vec![]), 14));
    assert!(rxb.try_recv().is_err());
    let mut rxa = wait_rx(g.sync(
        sync_req(
            &a,
            2,
            vec![
                (a.clone(), Bytes::from_static(b"A")),
                (b.clone(), Bytes::from_static(b"B")),
            ],
        ),
        15,
    ));
    assert_eq!(rxa.try_recv().unwrap().assignment, Bytes::from_static(b"A"));
    assert_eq!(rxb.try_recv().unwrap().assignment, Bytes::from_static(b"B"));
    let sd = now_reply(g.sync(sync_req(&d, 2, vec![]), 16));
    assert_eq!((sd.error, sd.assignment.len()), (0, 0));
    assert_eq!(g.state, ClassicState::Stable);
    assert_eq!(g.heartbeat(&b, None, 2, 17), 0);
    assert_eq!(g.heartbeat(&b, None, 1, 17), E::IllegalGeneration.code());
    assert_eq!(
        g.heartbeat("nobody", None, 2, 17),
        E::UnknownMemberId.code()
    );
}

#[test]
fn initial_rebalance_delay_holds_the_first_join_until_it_expires() {
    let c = cfg(100);
    let mut g = ClassicGroup::new("g");
    let (_a, mut rxa) = join_v5(&mut g, 0, &c);
    assert!(rxa.try_recv().is_err());
    let (_b, mut rxb) = join_v5(&mut g, 50, &c);
    // b extended the delay to 150.
    assert_eq!(g.next_deadline(), Some(150));
    g.expire(149, &c);
    assert!(rxa.try_recv().is_err());
    g.expire(150, &c);
    let (ja, jb) = (rxa.try_recv().unwrap(), rxb.try_recv().unwrap());
    assert_eq!((ja.generation_id, jb.generation_id), (1, 1));
}

#[test]
fn session_timeout_expels_a_silent_member_and_the_rest_rebalance() {
    let c = cfg(0);
    let mut g = ClassicGroup::new("g");
    let (a, mut rxa) = join_v5(&mut g, 0, &c);
    rxa.try_recv().unwrap();
    let (b, mut rxb) = join_v5(&mut g, 1, &c);
    let mut rxa = wait_rx(g.join(join_req(&a, None, 5), 2, &c));
    let _ = (rxa.try_recv().unwrap(), rxb.try_recv().unwrap());
    let _ = g.sync(sync_req(&a, 2, vec![]), 3);
    let _ = g.sync(sync_req(&b, 2, vec![]), 3);
    assert_eq!(g.state, ClassicState::Stable);
    // a heartbeats, b goes silent for its 10 s session.
    assert_eq!(g.heartbeat(&a, None, 2, 9000), 0);
    g.expire(10_002, &c);
    assert!(g.members.contains_key(&b), "b's session runs to 10 003");
    g.expire(10_003, &c);
    assert!(!g.members.contains_key(&b), "b is expelled");
    assert_eq!(g.state, ClassicState::PreparingRebalance);
    assert_eq!(
        g.heartbeat(&a, None, 2, 10_003),
        E::RebalanceInProgress.code()
    );
    let mut rxa = wait_rx(g.join(join_req(&a, None, 5), 10_004, &c));
    let ja = rxa.try_recv().unwrap();
    assert_eq!((ja.generation_id, ja.members.len()), (3, 1));
}

#[test]
fn rebalance_timeout_drops_members_that_do_not_rejoin() {
    let c = cfg(0);
    let mut g = ClassicGroup::new("g");
    let (a, mut rxa) = join_v5(&mut g, 0, &c);
    rxa.try_recv().unwrap();
    let (b, mut rxb) = join_v5(&mut g, 1, &c);
    // a keeps heartbeating but never rejoins: after the 30 s rebalance timeout b goes on alone.
    for t in (1000..31_000).step_by(1000) {
        g.heartbeat(&a, None, 1, t);
        g.expire(t, &c);
    }
    assert!(rxb.try_recv().is_err());
    g.heartbeat(&a, None, 1, 30_001);
    g.expire(30_001, &c);
    let jb = rxb.try_recv().unwrap();
    assert_eq!(
        (jb.error, jb.leader.as_str(), jb.members.len()),
        (0, b.as_str(), 1)
    );
    assert!(!g.members.contains_key(&a));
}

#[test]
fn leave_group_rebalances_the_rest_and_unknown_members_get_errors() {
    let c = cfg(0);
    let mut g = ClassicGroup::new("g");
    let (a, mut rxa) = join_v5(&mut g, 0, &c);
    rxa.try_recv().unwrap();
    let (b, mut rxb) = join_v5(&mut g, 1, &c);
    let mut rxa = wait_rx(g.join(join_req(&a, None, 5), 2, &c));
    let _ = (rxa.try_recv().unwrap(), rxb.try_recv().unwrap());
    let _ = g.sync(sync_req(&a, 2, vec![]), 3);
    assert_eq!(g.leave(&a, None, 4, &c), 0);
    assert_eq!(g.leave(&a, None, 4, &c), E::UnknownMemberId.code());
    // The leader left: b takes over once it rejoins.
    assert_eq!(g.heartbeat(&b, None, 2, 5), E::RebalanceInProgress.code());
    let mut rxb = wait_rx(g.join(join_req(&b, None, 5), 6, &c));
    let jb = rxb.try_recv().unwrap();
    assert_eq!((jb.generation_id, jb.leader.as_str()), (3, b.as_str()));
}

#[test]
fn static_member_restart_in_a_stable_group_does_not_rebalance() {
    let c = cfg(0);
    let mut g = ClassicGroup::new("g");
    let mut rx = wait_rx(g.join(join_req("", Some("i1"), 5), 0, &c));
    let j1 = rx.try_recv().unwrap();
    let mut rx2 = wait_rx(g.join(join_req("", Some("i2"), 5), 1, &c));
    let mut rx1 = wait_rx(g.join(join_req(&j1.member_id, Some("i1"), 5), 2, &c));
    let (j1, j2) = (rx1.try_recv().unwrap(), rx2.try_recv().unwrap());
    assert_eq!(j1.generation_id, 2);
    let mut s2 = wait_rx(g.sync(
        SyncRequest {
            group_instance_id: Some("i2".into()),
            ..sync_req(&j2.member_id, 2, vec![])
        },
        3,
    ));
    let _ = g.sync(
        SyncRequest {
            group_instance_id: Some("i1".into()),
            ..sync_req(
                &j1.member_id,
                2,
                vec![
                    (j1.member_id.clone(), Bytes::from_static(b"P1")),
                    (j2.member_id.clone(), Bytes::from_static(b"P2")),
                ],
            )
        },
        3,
    );
    assert_eq!(s2.try_recv().unwrap().assignment, Bytes::from_static(b"P2"));
    // i2 restarts: empty member id, same instance id.
    let r = now_reply(g.join(join_req("", Some("i2"), 5), 100, &c));
    assert_eq!(
        (r.error, r.generation_id),
        (0, 2),
        "same generation: no rebalance"
    );
    assert_ne!(r.member_id, j2.member_id);
    assert_eq!(r.leader, j1.member_id);
    assert_eq!(g.state, ClassicState::Stable);
    let s = now_reply(g.sync(
        SyncRequest {
            group_instance_id: Some("i2".into()),
            ..sync_req(&r.member_id, 2, vec![])
        },
        101,
    ));
    assert_eq!(s.assignment, Bytes::from_static(b"P2"));
    // The old incarnation is fenced.
    assert_eq!(
        g.heartbeat(&j2.member_id, Some("i2"), 2, 102),
        E::FencedInstanceId.code()
    );
    assert_eq!(g.heartbeat(&j1.member_id, Some("i1"), 2, 102), 0);
}

#[test]
fn incompatible_protocols_are_refused() {
    let c = cfg(0);
    let mut g = ClassicGroup::new("g");
    let (_a, mut rxa) = join_v5(&mut g, 0, &c);
    rxa.try_recv().unwrap();
    let mut other = join_req("", None, 5);
    other.protocols = vec![("roundrobin".into(), Bytes::new())];
    assert_eq!(
        now_reply(g.join(other, 1, &c)).error,
        E::InconsistentGroupProtocol.code()
    );
}

#[test]
fn protocol_selection_takes_the_most_voted_common_protocol() {
    let c = cfg(0);
    let mut g = ClassicGroup::new("g");
    let mut r1 = join_req("", None, 0);
    r1.protocols = vec![
        ("cooperative-sticky".into(), Bytes::new()),
        ("range".into(), Bytes::new()),
    ];
    let mut rx1 = wait_rx(g.join(r1.clone(), 0, &c));
    let j1 = rx1.try_recv().unwrap();
    assert_eq!(j1.protocol_name.as_deref(), Some("cooperative-sticky"));
    let mut r2 = join_req("", None, 0);
    r2.protocols = vec![
        ("range".into(), Bytes::new()),
        ("cooperative-sticky".into(), Bytes::new()),
    ];
    let mut rx2 = wait_rx(g.join(r2, 1, &c));
    let mut r3 = join_req("", None, 0);
    r3.protocols = vec![("range".into(), Bytes::new())];
    let mut rx3 = wait_rx(g.join(r3, 2, &c));
    r1.member_id = j1.member_id.clone();
    let mut rx1 = wait_rx(g.join(r1, 3, &c));
    let names: Vec<Option<String>> = [
        rx1.try_recv().unwrap(),
        rx2.try_recv().unwrap(),
        rx3.try_recv().unwrap(),
    ]
    .into_iter()
    .map(|j| j.protocol_name)
    .collect();
    assert!(
        names.iter().all(|n| n.as_deref() == Some("range")),
        "{names:?}"
    );
}

// ------------------------------------------------------------------ coordinator

struct Topics(Vec<(&'static str, u128, i32)>);

/// For requests that look no topic up.
static NO_TOPICS: Topics = Topics(Vec::new());

impl TopicCatalog for Topics {
    fn topic(&self, name: &str) -> Option<(u128, i32)> {
        self.0.iter().find(|t| t.0 == name).map(|t| (t.1, t.2))
    }
    fn topic_name(&self, id: u128) -> Option<String> {
        self.0.iter().find(|t| t.1 == id).map(|t| t.0.to_string())
    }
    fn topic_names(&self) -> Vec<String> {
        self.0.iter().map(|t| t.0.to_string()).collect()
    }
}

fn commit(group: &str, gen: i32, member: &str, topic: &str, parts: &[(i32, i64)]) -> CommitRequest {
    CommitRequest {
        api_version: 8,
        group_id: group.into(),
        generation_id_or_member_epoch: gen,
        member_id: member.into(),
        group_instance_id: None,
        topics: vec![(
            topic.into(),
            parts
                .iter()
                .map(|(p, o)| (*p, *o, -1, Some(format!("meta-{o}"))))
                .collect(),
        )],
        commit_timestamps: Default::default(),
    }
}

fn all_exist(_: &str, p: i32) -> bool {
    p < 6
}

#[tokio::test]
async fn standalone_commits_survive_a_reopen_with_metadata_verbatim() {
    let log = MemoryGroupLog::new();
    let c = Coordinator::open(cfg(0), log.clone()).unwrap();
    let res = c
        .commit_offsets(
            commit("batch", -1, "", "t", &[(0, 10), (1, 20), (9, 1)]),
            &all_exist,
        )
        .await;
    assert_eq!(
        res,
        vec![
            ("t".into(), 0, 0),
            ("t".into(), 1, 0),
            ("t".into(), 9, E::UnknownTopicOrPartition.code())
        ]
    );
    let res = c
        .commit_offsets(commit("batch", -1, "", "t", &[(0, 15)]), &all_exist)
        .await;
    assert_eq!(res[0].2, 0);
    drop(c);
    let c = Coordinator::open(cfg(0), log).unwrap();
    let got = c
        .fetch_offsets("batch", Some(&[("t".into(), vec![0, 1, 2])]), None)
        .unwrap();
    assert_eq!(
        got.iter().map(|f| f.offset).collect::<Vec<_>>(),
        vec![15, 20, -1]
    );
    assert_eq!(got[0].metadata.as_deref(), Some("meta-15"));
    let all = c.fetch_offsets("batch", None, None).unwrap();
    assert_eq!(all.len(), 2);
    assert!(c.fetch_offsets("nobody", None, None).unwrap().is_empty());
    let lag = c.lag("batch", &|_, p| Some(100 + p as i64));
    assert_eq!(lag.iter().map(|l| l.lag).collect::<Vec<_>>(), vec![85, 81]);
}

#[tokio::test]
async fn commit_checks_generation_member_and_metadata_size() {
    let c = Coordinator::open(cfg(0), MemoryGroupLog::new()).unwrap();
    let j = c.join_group(join_req("", None, 3), &NO_TOPICS).await;
    assert_eq!((j.error, j.generation_id), (0, 1));
    let s = c
        .sync_group(sync_req(&j.member_id, 1, vec![]), &NO_TOPICS)
        .await;
    assert_eq!(s.error, 0);
    assert_eq!(
        c.commit_offsets(commit("g", 1, &j.member_id, "t", &[(0, 5)]), &all_exist)
            .await[0]
            .2,
        0
    );
    assert_eq!(
        c.commit_offsets(commit("g", 7, &j.member_id, "t", &[(0, 5)]), &all_exist)
            .await[0]
            .2,
        E::IllegalGeneration.code()
    );
    assert_eq!(
        c.commit_offsets(commit("g", 1, "ghost", "t", &[(0, 5)]), &all_exist)
            .await[0]
            .2,
        E::UnknownMemberId.code()
    );
    assert_eq!(
        c.commit_offsets(commit("g", -1, "", "t", &[(0, 5)]), &all_exist)
            .await[0]
            .2,
        E::UnknownMemberId.code()
    );
    let mut big = commit("g", 1, &j.member_id, "t", &[(0, 5)]);
    big.topics[0].1[0].3 = Some("x".repeat(5000));
    assert_eq!(
        c.commit_offsets(big, &all_exist).await[0].2,
        E::OffsetMetadataTooLarge.code()
    );
    assert_eq!(
        c.commit_offsets(commit("nogroup", 3, "m", "t", &[(0, 5)]), &all_exist)
            .await[0]
            .2,
        E::IllegalGeneration.code()
    );
}

#[tokio::test]
async fn a_stable_group_survives_a_reopen_and_its_members_keep_heartbeating() {
    let log = MemoryGroupLog::new();
    let c = Coordinator::open(cfg(0), log.clone()).unwrap();
    let j = c.join_group(join_req("", None, 3), &NO_TOPICS).await;
    let s = c
        .sync_group(
            sync_req(
                &j.member_id,
                1,
                vec![(j.member_id.clone(), Bytes::from_static(b"all"))],
            ),
            &NO_TOPICS,
        )
        .await;
    assert_eq!(s.assignment, Bytes::from_static(b"all"));
    drop(c);
    let c = Coordinator::open(cfg(0), log).unwrap();
    assert_eq!(c.heartbeat("g", &j.member_id, None, 1), 0);
    let d = c.describe_group("g").unwrap().unwrap();
    assert_eq!(
        (d.state.as_str(), d.protocol.as_str(), d.members.len()),
        ("Stable", "range", 1)
    );
    assert_eq!(d.members[0].assignment, Bytes::from_static(b"all"));
    let listed = c.list_groups(&["stable".into()], &["classic".into()]);
    assert_eq!(listed.len(), 1);
    assert!(c.list_groups(&["Empty".into()], &[]).is_empty());
}

#[tokio::test]
async fn delete_groups_refuses_live_groups_and_forgets_empty_ones_durably() {
    let log = MemoryGroupLog::new();
    let c = Coordinator::open(cfg(0), log.clone()).unwrap();
    let j = c.join_group(join_req("", None, 3), &NO_TOPICS).await;
    c.commit_offsets(commit("solo", -1, "", "t", &[(0, 1)]), &all_exist)
        .await;
    let codes = c
        .delete_groups(&["g".into(), "solo".into(), "none".into()])
        .await;
    assert_eq!(
        codes,
        vec![E::NonEmptyGroup.code(), 0, E::GroupIdNotFound.code()]
    );
    assert_eq!(
        c.leave_group("g", &[(j.member_id.clone(), None)]).unwrap(),
        vec![0]
    );
    assert_eq!(c.describe_group("g").unwrap().unwrap().state, "Empty");
    drop(c);
    let c = Coordinator::open(cfg(0), log).unwrap();
    assert!(c.describe_group("solo").is_none());
    assert!(c.fetch_offsets("solo", None, None).unwrap().is_empty());
}

#[tokio::test]
async fn join_waits_only_as_long_as_the_members_take() {
    // Two joins arriving together complete as soon as both are in.
    let c = Coordinator::open(cfg(0), MemoryGroupLog::new()).unwrap();
    tokio::spawn(c.clone().run_timers());
    let first = c.join_group(join_req("", None, 3), &NO_TOPICS).await;
    assert_eq!(
        c.sync_group(sync_req(&first.member_id, 1, vec![]), &NO_TOPICS)
            .await
            .error,
        0
    );
    let c2 = c.clone();
    let b = tokio::spawn(async move { c2.join_group(join_req("", None, 3), &NO_TOPICS).await });
    // a learns of the rebalance from its heartbeat and rejoins; nobody waits for a timeout.
    let rebalancing = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        loop {
            let code = c.heartbeat("g", &first.member_id, None, 1);
            if code == E::RebalanceInProgress.code() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    });
    rebalancing.await.expect("b's join started a rebalance");
    let (a, b) = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        let a = c
            .join_group(join_req(&first.member_id, None, 3), &NO_TOPICS)
            .await;
        (a, b.await.unwrap())
    })
    .await
    .expect("join completed");
    assert_eq!((a.generation_id, b.generation_id), (2, 2));
    c.shutdown();
}

#[tokio::test]
async fn offset_delete_refuses_subscribed_topics() {
    use kafka_protocol::messages::ConsumerProtocolSubscription;
    use kafka_protocol::protocol::{Encodable, StrBytes};
    let c = Coordinator::open(cfg(0), MemoryGroupLog::new()).unwrap();
    let mut meta = bytes::BytesMut::new();
    bytes::BufMut::put_i16(&mut meta, 0);
    ConsumerProtocolSubscription::default()
        .with_topics(vec![StrBytes::from_static_str("t")])
        .encode(&mut meta, 0)
        .unwrap();
    let mut req = join_req("", None, 3);
    req.protocols = vec![("range".into(), meta.freeze())];
    let j = c.join_group(req, &NO_TOPICS).await;
    c.sync_group(sync_req(&j.member_id, 1, vec![]), &NO_TOPICS)
        .await;
    c.commit_offsets(commit("g", 1, &j.member_id, "t", &[(0, 1)]), &all_exist)
        .await;
    c.commit_offsets(commit("g", 1, &j.member_id, "u", &[(0, 1)]), &all_exist)
        .await;
    let r = c
        .delete_offsets("g", &[("t".into(), vec![0]), ("u".into(), vec![0])])
        .await
        .unwrap();
    assert_eq!(
        r,
        vec![
            ("t".into(), 0, E::GroupSubscribedToTopic.code()),
            ("u".into(), 0, 0)
        ]
    );
    assert_eq!(c.committed("g", "u", 0), None);
    assert_eq!(
        c.delete_offsets("none", &[]).await,
        Err(E::GroupIdNotFound.code())
    );
}

// ------------------------------------------------------------------ KIP-848

fn hb(member: &str, epoch: i32, owned: Option<Vec<(u128, Vec<i32>)>>) -> HeartbeatRequest {
    HeartbeatRequest {
        group_id: "cg".into(),
        member_id: member.into(),
        member_epoch: epoch,
        rebalance_timeout_ms: 30_000,
        subscribed_topic_names: (epoch == 0).then(|| vec!["t".into()]),
        owned: owned.or_else(|| (epoch == 0).then(Vec::new)),
        ..Default::default()
    }
}

fn parts(a: &Assignment) -> BTreeSet<i32> {
    a.get(&1).cloned().unwrap_or_default()
}

fn owned(a: &Assignment) -> Option<Vec<(u128, Vec<i32>)>> {
    Some(
        a.iter()
            .map(|(t, ps)| (*t, ps.iter().copied().collect()))
            .collect(),
    )
}

#[tokio::test]
async fn consumer_group_revokes_before_reassigning_and_ends_disjoint() {
    let topics = Topics(vec![("t", 1, 6)]);
    let c = Coordinator::open(cfg(0), MemoryGroupLog::new()).unwrap();
    let a = c.consumer_heartbeat(hb("a", 0, None), &topics);
    // As Kafka 4.4: the first member subscribing in a new group takes it to epoch 2.
    assert_eq!((a.error, a.member_epoch), (0, 2));
    assert_eq!(parts(a.assignment.as_ref().unwrap()).len(), 6);
    // b joins: the group epoch moves to 3; b gets nothing a still holds.
    let b = c.consumer_heartbeat(hb("b", 0, None), &topics);
    assert_eq!(b.member_epoch, 3);
    assert!(parts(b.assignment.as_ref().unwrap()).is_empty());
    // a is told to keep only half (revocation), its epoch stays 2 until it acks.
    let a2 = c.consumer_heartbeat(hb("a", 2, owned(a.assignment.as_ref().unwrap())), &topics);
    assert_eq!(a2.member_epoch, 2);
    let kept = a2.assignment.clone().unwrap();
    assert_eq!(parts(&kept).len(), 3);
    // a acks by reporting only what it kept: it moves to epoch 3.
    let a3 = c.consumer_heartbeat(hb("a", 2, owned(&kept)), &topics);
    assert_eq!(a3.member_epoch, 3);
    // b now receives the released partitions.
    let b2 = c.consumer_heartbeat(hb("b", 3, Some(vec![])), &topics);
    let bp = parts(b2.assignment.as_ref().unwrap());
    assert_eq!(bp.len(), 3);
    assert!(bp.is_disjoint(&parts(&kept)));
    let d = c.consumer_describe("cg").unwrap();
    assert_eq!(
        (d.state.as_str(), d.group_epoch, d.assignment_epoch),
        ("Stable", 3, 3)
    );
    // Wrong epochs are fenced; unknown members are told so.
    assert_eq!(
        c.consumer_heartbeat(hb("b", 7, None), &topics).error,
        E::FencedMemberEpoch.code()
    );
    assert_eq!(
        c.consumer_heartbeat(hb("zz", 3, None), &topics).error,
        E::UnknownMemberId.code()
    );
    // Commits are checked against the member epoch.
    let mut req = commit("cg", 3, "b", "t", &[(0, 3)]);
    req.api_version = 9;
    assert_eq!(c.commit_offsets(req.clone(), &all_exist).await[0].2, 0);
    req.generation_id_or_member_epoch = 2;
    assert_eq!(
        c.commit_offsets(req, &all_exist).await[0].2,
        E::StaleMemberEpoch.code()
    );
    // b leaves: a gets everything back.
    let l = c.consumer_heartbeat(hb("b", -1, None), &topics);
    assert_eq!((l.error, l.member_epoch), (0, -1));
    let a4 = c.consumer_heartbeat(hb("a", 3, None), &topics);
    assert_eq!(
        (
            a4.member_epoch,
            parts(a4.assignment.as_ref().unwrap()).len()
        ),
        (4, 6)
    );
}

#[tokio::test]
async fn consumer_group_survives_a_reopen() {
    let topics = Topics(vec![("t", 1, 4)]);
    let log = MemoryGroupLog::new();
    let c = Coordinator::open(cfg(0), log.clone()).unwrap();
    let a = c.consumer_heartbeat(hb("a", 0, None), &topics);
    drop(c);
    let c = Coordinator::open(cfg(0), log).unwrap();
    let a2 = c.consumer_heartbeat(
        hb("a", a.member_epoch, owned(a.assignment.as_ref().unwrap())),
        &topics,
    );
    assert_eq!((a2.error, a2.member_epoch), (0, a.member_epoch));
    assert_eq!(a2.assignment, a.assignment);
    assert_eq!(c.list_groups(&[], &["consumer".into()]).len(), 1);
}

#[tokio::test]
async fn consumer_static_member_rejoins_into_its_old_assignment() {
    let topics = Topics(vec![("t", 1, 4)]);
    let c = Coordinator::open(cfg(0), MemoryGroupLog::new()).unwrap();
    let mut j = hb("a", 0, None);
    j.instance_id = Some("inst".into());
    let a = c.consumer_heartbeat(j.clone(), &topics);
    let mut b = hb("b", 0, None);
    b.instance_id = Some("inst".into());
    assert_eq!(
        c.consumer_heartbeat(b.clone(), &topics).error,
        E::UnreleasedInstanceId.code()
    );
    let mut leave = hb("a", -2, None);
    leave.instance_id = Some("inst".into());
    assert_eq!(c.consumer_heartbeat(leave, &topics).member_epoch, -2);
    let r = c.consumer_heartbeat(b, &topics);
    assert_eq!((r.error, r.member_epoch), (0, a.member_epoch));
    assert_eq!(r.assignment, a.assignment);
    assert_eq!(
        c.consumer_describe("cg").unwrap().group_epoch,
        a.member_epoch,
        "no new epoch"
    );
}

#[test]
fn consumer_group_assigns_topics_created_after_subscribing() {
    let c = Coordinator::open(cfg(0), MemoryGroupLog::new()).unwrap();
    let a = c.consumer_heartbeat(hb("a", 0, None), &Topics(vec![]));
    assert!(a.assignment.unwrap().is_empty());
    let a2 = c.consumer_heartbeat(
        hb("a", a.member_epoch, Some(vec![])),
        &Topics(vec![("t", 1, 2)]),
    );
    assert!(a2.member_epoch > a.member_epoch);
    assert_eq!(parts(a2.assignment.as_ref().unwrap()).len(), 2);
}

#[test]
fn regex_subscription_picks_matching_topics_and_bad_patterns_are_refused() {
    let c = Coordinator::open(cfg(0), MemoryGroupLog::new()).unwrap();
    let topics = Topics(vec![("logs-a", 1, 1), ("logs-b", 2, 1), ("other", 3, 1)]);
    let mut r = hb("a", 0, None);
    r.subscribed_topic_names = None;
    r.subscribed_topic_regex = Some("logs-.*".into());
    let a = c.consumer_heartbeat(r.clone(), &topics);
    let got: Vec<u128> = a.assignment.unwrap().keys().copied().collect();
    assert_eq!(got, vec![1, 2]);
    r.member_id = "b".into();
    r.subscribed_topic_regex = Some("logs-(".into());
    assert_eq!(
        c.consumer_heartbeat(r, &topics).error,
        E::InvalidRegularExpression.code()
    );
}

#[test]
fn unsupported_assignor_and_missing_subscription_are_refused() {
    let c = Coordinator::open(cfg(0), MemoryGroupLog::new()).unwrap();
    let mut r = hb("a", 0, None);
    r.server_assignor = Some("magic".into());
    assert_eq!(
        c.consumer_heartbeat(r, &Topics(vec![])).error,
        E::UnsupportedAssignor.code()
    );
    let mut r = hb("a", 0, None);
    r.subscribed_topic_names = None;
    assert_eq!(
        c.consumer_heartbeat(r, &Topics(vec![])).error,
        E::InvalidRequest.code()
    );
}

#[test]
fn regex_subscriptions_match_whole_names() {
    use super::consumer::regex_matches;
    assert!(regex_matches("^orders.*", "orders-eu"));
    assert!(regex_matches("orders\\..+", "orders.x"));
    assert!(!regex_matches("orders\\..+", "orders."));
    assert!(!regex_matches("orders", "orders-eu"));
    assert!(regex_matches("a|b.c", "bxc"));
    assert!(regex_matches("ab?c", "ac"));
    assert!(regex_matches("t-[0-9]+", "t-42"));
    assert!(!regex_matches("t-[0-9]+", "t-x"));
}

#[test]
fn config_reads_kafka_keys_and_rejects_bad_values() {
    let c = GroupConfig::from_settings(|k| {
        (k == "group.initial.rebalance.delay.ms").then(|| "0".to_string())
    })
    .unwrap();
    assert_eq!(c.initial_rebalance_delay_ms, 0);
    assert!(
        GroupConfig::from_settings(|k| (k == "group.max.size").then(|| "lots".to_string()))
            .is_err()
    );
}

#[tokio::test]
async fn commits_and_groups_survive_a_store_reopen() {
    use super::log::PartitionGroupLog;
    use weir_storage::Store;
    let dir = tempfile::tempdir().unwrap();
    let member = {
        let store = Store::open(dir.path()).unwrap();
        let c =
            Coordinator::open(cfg(0), Arc::new(PartitionGroupLog::open(&store).unwrap())).unwrap();
        let j = c.join_group(join_req("", None, 3), &NO_TOPICS).await;
        c.sync_group(
            sync_req(
                &j.member_id,
                1,
                vec![(j.member_id.clone(), Bytes::from_static(b"A"))],
            ),
            &NO_TOPICS,
        )
        .await;
        let r = c
            .commit_offsets(
                commit("g", 1, &j.member_id, "t", &[(0, 41), (1, 42)]),
                &all_exist,
            )
            .await;
        assert!(r.iter().all(|r| r.2 == 0));
        store.close().unwrap();
        j.member_id
    };
    let store = Store::open(dir.path()).unwrap();
    let c = Coordinator::open(cfg(0), Arc::new(PartitionGroupLog::open(&store).unwrap())).unwrap();
    assert_eq!(
        (c.committed("g", "t", 0), c.committed("g", "t", 1)),
        (Some(41), Some(42))
    );
    assert_eq!(c.heartbeat("g", &member, None, 1), 0);
    store.close().unwrap();
}

#[tokio::test]
async fn without_its_log_the_coordinator_refuses_writes_until_attached() {
    let c = Coordinator::open_lazy(cfg(0));
    let r = c
        .commit_offsets(commit("g", -1, "", "t", &[(0, 1)]), &all_exist)
        .await;
    assert_eq!(r[0].2, E::CoordinatorNotAvailable.code());
    assert_eq!(c.committed("g", "t", 0), None);
    let log = MemoryGroupLog::new();
    c.attach_log(log.clone()).unwrap();
    let r = c
        .commit_offsets(commit("g", -1, "", "t", &[(0, 1)]), &all_exist)
        .await;
    assert_eq!(r[0].2, 0);
    assert_eq!(log.len(), 1);
}

// ------------------------------------------------------------ offset expiry

const T0: i64 = 1_700_000_000_000;
const RETENTION: i64 = 60_000;

/// A wall clock the test moves by hand.
fn manual_clock() -> (Arc<std::sync::atomic::AtomicI64>, WallClock) {
    let t = Arc::new(std::sync::atomic::AtomicI64::new(T0));
    let read = t.clone();
    (t, Arc::new(move || read.load(Ordering::SeqCst)))
}

fn retention_cfg() -> GroupConfig {
    GroupConfig {
        initial_rebalance_delay_ms: 0,
        offsets_retention_ms: RETENTION,
        ..GroupConfig::default()
    }
}

/// Consumer protocol metadata subscribing to `topics`.
fn subscription(topics: &[&'static str]) -> Bytes {
    use kafka_protocol::messages::ConsumerProtocolSubscription;
    use kafka_protocol::protocol::{Encodable, StrBytes};
    let mut meta = bytes::BytesMut::new();
    bytes::BufMut::put_i16(&mut meta, 0);
    ConsumerProtocolSubscription::default()
        .with_topics(
            topics
                .iter()
                .map(|t| StrBytes::from_static_str(t))
                .collect(),
        )
        .encode(&mut meta, 0)
        .unwrap();
    meta.freeze()
}

/// One classic member joins group "g" subscribed to `topics` and syncs: Stable.
async fn stable_member(c: &Coordinator, topics: &[&'static str]) -> String {
    let mut req = join_req("", None, 3);
    req.protocols = vec![("range".into(), subscription(topics))];
    let j = c.join_group(req, &NO_TOPICS).await;
    assert_eq!(j.error, 0);
    let s = c
        .sync_group(sync_req(&j.member_id, j.generation_id, vec![]), &NO_TOPICS)
        .await;
    assert_eq!(s.error, 0);
    j.member_id
}

fn removed(group: &str, topic: &str, partition: i32) -> (String, String, i32) {
    (group.into(), topic.into(), partition)
}

#[tokio::test]
async fn standalone_offsets_expire_by_commit_time_and_the_group_goes_with_the_last() {
    let log = MemoryGroupLog::new();
    let (t, clock) = manual_clock();
    let c = Coordinator::open_with_clock(retention_cfg(), log.clone(), clock.clone()).unwrap();
    let r = c
        .commit_offsets(commit("s", -1, "", "t", &[(0, 5)]), &all_exist)
        .await;
    assert_eq!(r[0].2, 0);
    t.store(T0 + 30_000, Ordering::SeqCst);
    c.commit_offsets(commit("s", -1, "", "t", &[(1, 7)]), &all_exist)
        .await;
    t.store(T0 + RETENTION - 1, Ordering::SeqCst);
    assert_eq!(c.expire_offsets().await, ExpiryOutcome::default());
    t.store(T0 + RETENTION, Ordering::SeqCst);
    let out = c.expire_offsets().await;
    assert_eq!(out.offsets, vec![removed("s", "t", 0)]);
    assert!(out.groups.is_empty());
    assert_eq!(
        (c.committed("s", "t", 0), c.committed("s", "t", 1)),
        (None, Some(7))
    );
    assert_eq!(c.list_groups(&[], &[]).len(), 1);
    t.store(T0 + 30_000 + RETENTION, Ordering::SeqCst);
    let out = c.expire_offsets().await;
    assert_eq!(out.offsets, vec![removed("s", "t", 1)]);
    assert_eq!(out.groups, vec!["s".to_string()]);
    assert!(c.list_groups(&[], &[]).is_empty());
    // Durable: a reopen over the same log finds neither offsets nor the group.
    let c = Coordinator::open_with_clock(retention_cfg(), log, clock).unwrap();
    assert_eq!(c.committed("s", "t", 1), None);
    assert!(c.group_ids().is_empty());
}

#[tokio::test]
async fn a_live_group_keeps_subscribed_offsets_and_an_empty_one_counts_from_when_it_emptied() {
    let log = MemoryGroupLog::new();
    let (t, clock) = manual_clock();
    let c = Coordinator::open_with_clock(retention_cfg(), log.clone(), clock).unwrap();
    let member = stable_member(&c, &["t"]).await;
    for topic in ["t", "u"] {
        let r = c
            .commit_offsets(commit("g", 1, &member, topic, &[(0, 9)]), &all_exist)
            .await;
        assert_eq!(r[0].2, 0);
    }
    // Stable: only the topic no member subscribes to expires (by commit time).
    t.store(T0 + 10 * RETENTION, Ordering::SeqCst);
    let out = c.expire_offsets().await;
    assert_eq!(out.offsets, vec![removed("g", "u", 0)]);
    assert!(out.groups.is_empty());
    assert_eq!(c.committed("g", "t", 0), Some(9));
    // The member leaves: the group is Empty from now on.
    let left = T0 + 10 * RETENTION;
    assert_eq!(c.leave_group("g", &[(member, None)]).unwrap(), vec![0]);
    assert_eq!(c.list_groups(&[], &[])[0].state, "Empty");
    // Its commit is ten retentions old, but the clock runs from the emptying.
    t.store(left + RETENTION - 1, Ordering::SeqCst);
    assert_eq!(c.expire_offsets().await, ExpiryOutcome::default());
    assert_eq!(c.committed("g", "t", 0), Some(9));
    t.store(left + RETENTION, Ordering::SeqCst);
    let out = c.expire_offsets().await;
    assert_eq!(out.offsets, vec![removed("g", "t", 0)]);
    assert_eq!(out.groups, vec!["g".to_string()]);
    assert!(c.list_groups(&[], &[]).is_empty());
    let c = Coordinator::open(retention_cfg(), log).unwrap();
    assert!(c.group_ids().is_empty());
}

#[tokio::test]
async fn a_rebalancing_group_or_one_with_unreadable_subscriptions_expires_nothing() {
    let (t, clock) = manual_clock();
    let c = Coordinator::open_with_clock(retention_cfg(), MemoryGroupLog::new(), clock).unwrap();
    // join_req's metadata is not a consumer subscription: subscriptions unknown.
    let j = c.join_group(join_req("", None, 3), &NO_TOPICS).await;
    c.sync_group(sync_req(&j.member_id, 1, vec![]), &NO_TOPICS)
        .await;
    c.commit_offsets(commit("g", 1, &j.member_id, "u", &[(0, 1)]), &all_exist)
        .await;
    t.store(T0 + 100 * RETENTION, Ordering::SeqCst);
    assert_eq!(c.expire_offsets().await, ExpiryOutcome::default());
    assert_eq!(c.committed("g", "u", 0), Some(1));
}

#[tokio::test]
async fn expiry_timestamps_survive_a_reopen() {
    let log = MemoryGroupLog::new();
    let (t, clock) = manual_clock();
    let left = T0 + 5 * RETENTION;
    {
        let c = Coordinator::open_with_clock(retention_cfg(), log.clone(), clock.clone()).unwrap();
        let member = stable_member(&c, &["t"]).await;
        c.commit_offsets(commit("g", 1, &member, "t", &[(0, 3)]), &all_exist)
            .await;
        t.store(left, Ordering::SeqCst);
        c.leave_group("g", &[(member, None)]).unwrap();
        c.commit_offsets(commit("s", -1, "", "t", &[(0, 4)]), &all_exist)
            .await;
    }
    // Reopened just before the retention ends: the Empty group's state
    // timestamp (not its old commit) and the standalone commit time hold.
    let c = Coordinator::open_with_clock(retention_cfg(), log.clone(), clock.clone()).unwrap();
    t.store(left + RETENTION - 1, Ordering::SeqCst);
    assert_eq!(c.expire_offsets().await, ExpiryOutcome::default());
    assert_eq!(
        (c.committed("g", "t", 0), c.committed("s", "t", 0)),
        (Some(3), Some(4))
    );
    let c = Coordinator::open_with_clock(retention_cfg(), log, clock).unwrap();
    t.store(left + RETENTION, Ordering::SeqCst);
    let out = c.expire_offsets().await;
    assert_eq!(
        out.offsets,
        vec![removed("g", "t", 0), removed("s", "t", 0)]
    );
    assert_eq!(out.groups, vec!["g".to_string(), "s".to_string()]);
}

#[test]
fn a_version_0_group_record_without_state_timestamp_still_decodes() {
    use super::records::Writer;
    // The layouts weir wrote before Kafka's: v0 (no state timestamp) and v1 (the
    // timestamp after the members); members carry a group instance id.
    for version in [0i16, 1] {
        let mut w = Writer::default();
        w.i16(version);
        w.opt_string(Some("consumer"));
        w.i32(4);
        w.opt_string(Some("range"));
        w.opt_string(Some("m1"));
        w.i32(1);
        w.string("m1");
        w.opt_string(Some("static-1"));
        w.string("client");
        w.string("/127.0.0.1");
        w.i32(30_000);
        w.i32(10_000);
        w.bytes(b"sub");
        w.bytes(b"assign");
        if version == 1 {
            w.i64(T0);
        }
        let old = GroupSnapshot::decode("g", &w.finish()).unwrap();
        let ts = (version == 1).then_some(T0);
        assert_eq!(old.current_state_timestamp, ts, "v{version}");
        assert_eq!(old.protocol_type.as_deref(), Some("consumer"));
        assert_eq!(old.generation, 4);
        assert_eq!(
            old.members[0].group_instance_id.as_deref(),
            Some("static-1")
        );
        assert_eq!(&old.members[0].assignment[..], b"assign");
        // Re-encoded (the next write) in Kafka's layout, it reads back the same.
        assert_eq!(GroupSnapshot::decode("g", &old.encode()).unwrap(), old);
    }
    let mut g = ClassicGroup::new("g");
    g.protocol_type = Some("consumer".into());
    g.state_timestamp = Some(T0);
    let decoded = GroupSnapshot::decode("g", &g.snapshot().encode()).unwrap();
    assert_eq!(decoded.current_state_timestamp, Some(T0));
}

#[test]
fn group_records_are_kafkas_group_metadata_value_v3() {
    let snap = GroupSnapshot {
        group_id: "g".into(),
        generation: 7,
        protocol_type: Some("consumer".into()),
        protocol_name: Some("range".into()),
        leader: Some("m1".into()),
        members: vec![MemberSnapshot {
            member_id: "m1".into(),
            group_instance_id: None,
            client_id: "c".into(),
            client_host: "/h".into(),
            session_timeout_ms: 10_000,
            rebalance_timeout_ms: 30_000,
            metadata: Bytes::from_static(b"\x00\x01sub"),
            assignment: Bytes::from_static(b"\x00\x01asg"),
        }],
        current_state_timestamp: Some(1234),
    };
    // Kafka's GroupMetadataValue.json, version 3, field by field.
    let mut want = Vec::new();
    want.extend_from_slice(&3i16.to_be_bytes());
    want.extend_from_slice(&8i16.to_be_bytes());
    want.extend_from_slice(b"consumer");
    want.extend_from_slice(&7i32.to_be_bytes());
    for s in ["range", "m1"] {
        want.extend_from_slice(&(s.len() as i16).to_be_bytes());
        want.extend_from_slice(s.as_bytes());
    }
    want.extend_from_slice(&1234i64.to_be_bytes());
    want.extend_from_slice(&1i32.to_be_bytes());
    want.extend_from_slice(&2i16.to_be_bytes());
    want.extend_from_slice(b"m1");
    want.extend_from_slice(&(-1i16).to_be_bytes());
    for s in ["c", "/h"] {
        want.extend_from_slice(&(s.len() as i16).to_be_bytes());
        want.extend_from_slice(s.as_bytes());
    }
    want.extend_from_slice(&30_000i32.to_be_bytes());
    want.extend_from_slice(&10_000i32.to_be_bytes());
    for b in [&b"\x00\x01sub"[..], &b"\x00\x01asg"[..]] {
        want.extend_from_slice(&(b.len() as i32).to_be_bytes());
        want.extend_from_slice(b);
    }
    assert_eq!(&snap.encode()[..], &want[..]);
    assert_eq!(GroupSnapshot::decode("g", &want).unwrap(), snap);
}

#[tokio::test]
async fn consumer_group_offsets_expire_unless_subscribed_and_the_empty_group_goes() {
    let topics = Topics(vec![("t", 1, 2), ("u", 2, 1)]);
    let (t, clock) = manual_clock();
    let c = Coordinator::open_with_clock(retention_cfg(), MemoryGroupLog::new(), clock).unwrap();
    let a = c.consumer_heartbeat(hb("a", 0, None), &topics);
    assert_eq!(a.error, 0);
    for topic in ["t", "u"] {
        let mut req = commit("cg", a.member_epoch, "a", topic, &[(0, 2)]);
        req.api_version = 9;
        assert_eq!(c.commit_offsets(req, &all_exist).await[0].2, 0);
    }
    t.store(T0 + RETENTION, Ordering::SeqCst);
    let out = c.expire_offsets().await;
    assert_eq!(out.offsets, vec![removed("cg", "u", 0)]);
    assert!(out.groups.is_empty());
    assert_eq!(c.committed("cg", "t", 0), Some(2));
    let l = c.consumer_heartbeat(hb("a", -1, None), &topics);
    assert_eq!(l.error, 0);
    let out = c.expire_offsets().await;
    assert_eq!(out.offsets, vec![removed("cg", "t", 0)]);
    assert_eq!(out.groups, vec!["cg".to_string()]);
    assert!(c.consumer_describe("cg").is_err());
}

#[test]
fn config_reads_offset_retention_in_minutes() {
    let c = GroupConfig::from_settings(|k| match k {
        "offsets.retention.minutes" => Some("2".into()),
        "offsets.retention.check.interval.ms" => Some("100".into()),
        _ => None,
    })
    .unwrap();
    assert_eq!(
        (
            c.offsets_retention_ms,
            c.offsets_retention_check_interval_ms
        ),
        (120_000, 100)
    );
    assert!(GroupConfig::from_settings(
        |k| (k == "offsets.retention.minutes").then(|| "0".to_string())
    )
    .is_err());
}
