//! Unit tests of the streams group state machine.

use super::*;

struct Topics(Vec<(&'static str, i32)>);

/// `input` with `n` partitions and the topology's internal topics (as the
/// broker creates them before the heartbeat).
fn with_internal(n: i32) -> Topics {
    Topics(vec![
        ("input", n),
        ("app-repartition", n),
        ("app-store-changelog", n),
    ])
}

impl TopicCatalog for Topics {
    fn topic(&self, name: &str) -> Option<(u128, i32)> {
        self.0
            .iter()
            .position(|(n, _)| *n == name)
            .map(|i| (i as u128 + 1, self.0[i].1))
    }
    fn topic_name(&self, id: u128) -> Option<String> {
        self.0.get(id as usize - 1).map(|(n, _)| n.to_string())
    }
    fn topic_names(&self) -> Vec<String> {
        self.0.iter().map(|(n, _)| n.to_string()).collect()
    }
}

/// Subtopology 0 reads `input` and writes `app-repartition`; subtopology 1
/// reads it and keeps a store with changelog `app-store-changelog`.
fn topology() -> Topology {
    Topology {
        epoch: 0,
        subtopologies: vec![
            Subtopology {
                id: "0".into(),
                source_topics: vec!["input".into()],
                repartition_sink_topics: vec!["app-repartition".into()],
                ..Default::default()
            },
            Subtopology {
                id: "1".into(),
                repartition_source_topics: vec![TopicInfo {
                    name: "app-repartition".into(),
                    ..Default::default()
                }],
                changelog_topics: vec![TopicInfo {
                    name: "app-store-changelog".into(),
                    ..Default::default()
                }],
                ..Default::default()
            },
        ],
    }
}

fn join(member: &str, process: &str) -> HeartbeatRequest {
    HeartbeatRequest {
        group_id: "app".into(),
        member_id: member.into(),
        member_epoch: 0,
        rebalance_timeout_ms: 300_000,
        topology: Some(topology()),
        owned: Some(Tasks::default()),
        process_id: Some(process.into()),
        ..Default::default()
    }
}

fn beat(member: &str, epoch: i32, owned: Option<Tasks>) -> HeartbeatRequest {
    HeartbeatRequest {
        group_id: "app".into(),
        member_id: member.into(),
        member_epoch: epoch,
        owned,
        ..Default::default()
    }
}

fn count(s: &TaskSet) -> usize {
    s.values().map(|p| p.len()).sum()
}

#[test]
fn configure_derives_repartition_and_changelog_partitions() {
    let c = configure(&topology(), &with_internal(3));
    assert!(c.is_ready());
    assert_eq!(c.tasks, [("0".into(), 3), ("1".into(), 3)].into());
    let names: Vec<(&str, i32)> = c
        .internal_topics
        .iter()
        .map(|t| (t.name.as_str(), t.partitions))
        .collect();
    assert_eq!(
        names,
        vec![("app-repartition", 3), ("app-store-changelog", 3)]
    );
    let changelog = &c.internal_topics[1];
    assert!(changelog
        .configs
        .contains(&("cleanup.policy".into(), "compact".into())));
}

#[test]
fn missing_source_topic_leaves_the_group_not_ready_with_its_status() {
    let mut g = StreamsGroup::new("app");
    let cfg = no_delay();
    let r = g.heartbeat(join("m1", "p1"), 0, &cfg, &Topics(vec![]));
    assert_eq!(r.error, 0);
    assert_eq!(g.state_name(), "NotReady");
    let st = r.status.unwrap();
    assert_eq!(st[0].code, status::MISSING_SOURCE_TOPICS);
    assert_eq!(st[0].detail, "Source topics input are missing.");
    assert_eq!(r.assignment, Some(Tasks::default()));
    // The topic appears: the next heartbeat gets tasks.
    let r = g.heartbeat(beat("m1", r.member_epoch, None), 1, &cfg, &with_internal(2));
    assert_eq!(r.status, Some(vec![]));
    assert_eq!(count(&r.assignment.unwrap().active), 4);
}

#[test]
fn two_members_split_the_tasks_after_the_first_revokes() {
    let mut g = StreamsGroup::new("app");
    let cfg = no_delay();
    let topics = with_internal(2);
    let r1 = g.heartbeat(join("m1", "p1"), 0, &cfg, &topics);
    let all = r1.assignment.clone().unwrap();
    assert_eq!(count(&all.active), 4);
    let e1 = r1.member_epoch;
    let r2 = g.heartbeat(join("m2", "p2"), 0, &cfg, &topics);
    // m2 gets nothing m1 still holds.
    assert!(r2.assignment.unwrap().is_empty());
    // m1 is asked to revoke half, at its old epoch.
    let r1 = g.heartbeat(beat("m1", e1, None), 1, &cfg, &topics);
    assert_eq!(r1.member_epoch, e1);
    let kept = r1.assignment.unwrap();
    assert_eq!(count(&kept.active), 2);
    assert_eq!(g.members["m1"].state, MemberState::UnrevokedTasks);
    // m1 confirms: it gets the new epoch.
    let r1 = g.heartbeat(beat("m1", e1, Some(kept.clone())), 2, &cfg, &topics);
    assert!(r1.member_epoch > e1);
    // m2 now gets the released half.
    let r2 = g.heartbeat(beat("m2", r2.member_epoch, None), 3, &cfg, &topics);
    let got = r2.assignment.unwrap();
    assert_eq!(count(&got.active), 2);
    assert!(!got.intersects(&kept));
    assert_eq!(g.state_name(), "Stable");
}

#[test]
fn standby_replicas_go_to_the_other_process() {
    let mut g = StreamsGroup::new("app");
    let cfg = StreamsConfig {
        num_standby_replicas: 1,
        ..no_delay()
    };
    let topics = with_internal(1);
    g.heartbeat(join("a", "p1"), 0, &cfg, &topics);
    g.heartbeat(join("b", "p2"), 0, &cfg, &topics);
    let ta = &g.target["a"];
    let tb = &g.target["b"];
    assert_eq!(count(&ta.active) + count(&tb.active), 2);
    assert_eq!(count(&ta.standby) + count(&tb.standby), 2);
    for (s, ps) in &ta.active {
        for p in ps {
            assert!(tb.standby[s].contains(p));
        }
    }
}

#[test]
fn a_leaving_member_hands_its_tasks_over() {
    let mut g = StreamsGroup::new("app");
    let cfg = no_delay();
    let topics = with_internal(2);
    let e1 = g.heartbeat(join("m1", "p1"), 0, &cfg, &topics).member_epoch;
    let e2 = g.heartbeat(join("m2", "p2"), 0, &cfg, &topics).member_epoch;
    let r = g.heartbeat(beat("m2", -1, None), 1, &cfg, &topics);
    assert_eq!((r.error, r.member_epoch), (0, -1));
    let r = g.heartbeat(
        beat("m1", e1, Some(g.members["m1"].assigned.clone())),
        2,
        &cfg,
        &topics,
    );
    assert!(r.member_epoch > e2);
    assert_eq!(count(&g.members["m1"].assigned.active), 4);
    // A session timeout does the same.
    g.expire(2 + cfg.session_timeout_ms, &cfg);
    assert!(g.members.is_empty());
    assert_eq!(g.state_name(), "Empty");
}

#[test]
fn fenced_and_unknown_members() {
    let mut g = StreamsGroup::new("app");
    let cfg = no_delay();
    let topics = with_internal(1);
    let e = g.heartbeat(join("m1", "p1"), 0, &cfg, &topics).member_epoch;
    let r = g.heartbeat(beat("m1", e + 5, None), 1, &cfg, &topics);
    assert_eq!(r.error, E::FencedMemberEpoch.code());
    let r = g.heartbeat(beat("nobody", 1, None), 1, &cfg, &topics);
    assert_eq!(r.error, E::UnknownMemberId.code());
    let mut no_topology = join("m2", "p2");
    no_topology.topology = None;
    let r = g.heartbeat(no_topology, 1, &cfg, &topics);
    assert_eq!(r.error, E::InvalidRequest.code());
}

#[test]
fn a_static_member_gets_its_tasks_back() {
    let mut g = StreamsGroup::new("app");
    let cfg = no_delay();
    let topics = with_internal(2);
    let mut a = join("a1", "p1");
    a.instance_id = Some("inst-a".into());
    g.heartbeat(a, 0, &cfg, &topics);
    let e = g.heartbeat(join("b", "p2"), 0, &cfg, &topics).member_epoch;
    let owned = g.members["a1"].assigned.clone();
    g.heartbeat(
        beat("a1", g.members["a1"].member_epoch, Some(owned)),
        1,
        &cfg,
        &topics,
    );
    let before = g.members["a1"].assigned.clone();
    let epoch_before = g.group_epoch;
    assert_eq!(
        g.heartbeat(beat("a1", -2, None), 2, &cfg, &topics)
            .member_epoch,
        -2
    );
    // Another instance may not take the id while it is away.
    let mut a2 = join("a2", "p1");
    a2.instance_id = Some("inst-a".into());
    let r = g.heartbeat(a2, 3, &cfg, &topics);
    assert_eq!(r.error, 0);
    assert_eq!(g.members["a2"].assigned, before);
    assert_eq!(
        g.group_epoch, epoch_before,
        "no rebalance for a static bounce"
    );
    // While a2 holds it, a third cannot.
    let mut a3 = join("a3", "p1");
    a3.instance_id = Some("inst-a".into());
    assert_eq!(
        g.heartbeat(a3, 4, &cfg, &topics).error,
        E::UnreleasedInstanceId.code()
    );
    let _ = e;
}

#[test]
fn shutdown_request_reaches_every_member() {
    let mut g = StreamsGroup::new("app");
    let cfg = no_delay();
    let topics = with_internal(1);
    let e1 = g.heartbeat(join("m1", "p1"), 0, &cfg, &topics).member_epoch;
    g.heartbeat(join("m2", "p2"), 0, &cfg, &topics);
    let mut r = beat("m1", e1, None);
    r.shutdown_application = true;
    g.heartbeat(r, 1, &cfg, &topics);
    let e2 = g.members["m2"].member_epoch;
    let st = g
        .heartbeat(beat("m2", e2, None), 2, &cfg, &topics)
        .status
        .unwrap();
    assert_eq!(st[0].code, status::SHUTDOWN_APPLICATION);
    assert!(st[0].detail.contains("m1"));
}

#[test]
fn snapshot_round_trips() {
    let mut g = StreamsGroup::new("app");
    let cfg = no_delay();
    let topics = with_internal(2);
    let mut j = join("m1", "p1");
    j.user_endpoint = Some(Endpoint {
        host: "h".into(),
        port: 8080,
    });
    j.client_tags = Some(vec![("zone".into(), "a".into())]);
    g.heartbeat(j, 0, &cfg, &topics);
    g.heartbeat(join("m2", "p2"), 0, &cfg, &topics);
    let d = StreamsGroup::decode("app", &g.encode(), 0, 45_000).unwrap();
    assert_eq!(d.group_epoch, g.group_epoch);
    assert_eq!(d.assignment_epoch, g.assignment_epoch);
    assert_eq!(d.topology, g.topology);
    assert_eq!(d.target, g.target);
    for (id, m) in &g.members {
        let n = &d.members[id];
        assert_eq!(
            (&n.assigned, &n.pending_revocation, n.member_epoch, n.state),
            (&m.assigned, &m.pending_revocation, m.member_epoch, m.state)
        );
        assert_eq!(
            (&n.user_endpoint, &n.client_tags),
            (&m.user_endpoint, &m.client_tags)
        );
    }
    // Regression: the first heartbeat after a restart recomputed the
    // configured topology and rebalanced the whole group.
    let mut d = d;
    let epoch = d.group_epoch;
    let m1 = d.members["m1"].member_epoch;
    let r = d.heartbeat(beat("m1", m1, None), 1, &cfg, &topics);
    assert_eq!((r.error, d.group_epoch), (0, epoch));
    // A partition count that changed while it was down does rebalance.
    let m1 = d.members["m1"].member_epoch;
    d.heartbeat(beat("m1", m1, None), 2, &cfg, &with_internal(3));
    assert!(d.group_epoch > epoch);
}

#[test]
fn a_member_that_does_not_revoke_within_its_rebalance_timeout_is_expelled() {
    let mut g = StreamsGroup::new("app");
    let cfg = StreamsConfig {
        session_timeout_ms: 1_000_000,
        ..no_delay()
    };
    let topics = with_internal(2);
    let e1 = g.heartbeat(join("m1", "p1"), 0, &cfg, &topics).member_epoch;
    g.heartbeat(join("m2", "p2"), 0, &cfg, &topics);
    // m1 is told to revoke (rebalance timeout 300 s in `join`) and keeps heartbeating
    // without giving anything up.
    let all = g.members["m1"].assigned.clone();
    g.heartbeat(beat("m1", e1, Some(all.clone())), 1_000, &cfg, &topics);
    assert_eq!(g.members["m1"].state, MemberState::UnrevokedTasks);
    assert_eq!(g.members["m1"].revocation_deadline, Some(1_000 + 300_000));
    assert_eq!(g.next_deadline(), Some(1_000 + 300_000));
    g.heartbeat(beat("m1", e1, None), 200_000, &cfg, &topics);
    g.heartbeat(
        beat("m2", g.members["m2"].member_epoch, None),
        200_000,
        &cfg,
        &topics,
    );
    g.expire(301_000, &cfg);
    assert!(!g.members.contains_key("m1"));
    assert!(g.members.contains_key("m2"));
}

#[test]
fn missing_internal_topics_leave_the_group_without_tasks() {
    let c = configure(&topology(), &Topics(vec![("input", 3)]));
    assert!(!c.is_ready());
    assert_eq!(
        c.missing_internal_topics,
        vec!["app-repartition", "app-store-changelog"]
    );
    let mut g = StreamsGroup::new("app");
    let cfg = no_delay();
    let r = g.heartbeat(join("m1", "p1"), 0, &cfg, &Topics(vec![("input", 3)]));
    assert_eq!(g.state_name(), "NotReady");
    assert_eq!(
        r.status.unwrap(),
        vec![Status {
            code: status::MISSING_INTERNAL_TOPICS,
            detail: "Internal topics are missing: app-repartition, app-store-changelog".into()
        }]
    );
    assert_eq!(r.assignment, Some(Tasks::default()));
    // Once they exist: tasks.
    let r = g.heartbeat(beat("m1", r.member_epoch, None), 1, &cfg, &with_internal(3));
    assert_eq!(count(&r.assignment.unwrap().active), 6);
}

/// Kafka's defaults but no initial rebalance delay and no assignment interval.
fn no_delay() -> StreamsConfig {
    StreamsConfig {
        initial_rebalance_delay_ms: 0,
        assignment_interval_ms: 0,
        ..Default::default()
    }
}

#[test]
fn a_live_member_joining_again_with_epoch_0_keeps_its_epoch_and_tasks() {
    let mut g = StreamsGroup::new("app");
    let cfg = no_delay();
    let topics = with_internal(2);
    let r = g.heartbeat(join("m1", "p1"), 0, &cfg, &topics);
    let (epoch, tasks) = (r.member_epoch, r.assignment.unwrap());
    let group_epoch = g.group_epoch;
    // As Kafka: the member is not restarted, the group epoch does not move,
    // and the answer carries the full assignment again.
    let r = g.heartbeat(join("m1", "p1"), 1, &cfg, &topics);
    assert_eq!((r.error, r.member_epoch), (0, epoch));
    assert_eq!(r.assignment, Some(tasks));
    assert_eq!(g.group_epoch, group_epoch);
    assert_eq!(g.state_name(), "Stable");
}

#[test]
fn the_first_member_of_an_empty_group_waits_for_the_initial_rebalance_delay() {
    let mut g = StreamsGroup::new("app");
    let cfg = StreamsConfig::default();
    assert_eq!(cfg.initial_rebalance_delay_ms, 3_000, "Kafka 4.4's default");
    let topics = with_internal(2);
    let r = g.heartbeat(join("m1", "p1"), 1_000, &cfg, &topics);
    // As a Kafka 4.4 broker answers: epoch 1 without tasks, group epoch 2.
    assert_eq!((r.error, r.member_epoch), (0, 1));
    assert_eq!((g.group_epoch, g.assignment_epoch), (2, 1));
    assert_eq!(r.assignment, Some(Tasks::default()));
    let st = r.status.unwrap();
    assert_eq!(st.len(), 1, "{st:?}");
    assert_eq!(st[0].code, status::ASSIGNMENT_DELAYED);
    assert_eq!(
        st[0].detail,
        "Assignment delayed due to the configured initial rebalance delay."
    );
    assert_eq!(g.state_name(), "Assigning");
    // A second member joins within the delay: still nothing, and the delay
    // does not start over.
    let r2 = g.heartbeat(join("m2", "p2"), 2_000, &cfg, &topics);
    assert_eq!(r2.status.unwrap()[0].code, status::ASSIGNMENT_DELAYED);
    assert_eq!(g.next_deadline(), Some(4_000));
    // The delay ends: the timer computes the target for both members.
    assert_eq!(r2.member_epoch, 1);
    g.expire(4_000, &cfg);
    assert_eq!((g.group_epoch, g.assignment_epoch), (3, 3));
    let r1 = g.heartbeat(join("m1", "p1"), 4_100, &cfg, &topics);
    assert_eq!(r1.status, Some(vec![]));
    assert_eq!(r1.member_epoch, g.assignment_epoch);
    let r2 = g.heartbeat(join("m2", "p2"), 4_200, &cfg, &topics);
    let a1 = r1.assignment.unwrap();
    let a2 = r2.assignment.unwrap();
    assert_eq!(count(&a1.active) + count(&a2.active), 4, "{a1:?} {a2:?}");
    assert!(count(&a1.active) > 0 && count(&a2.active) > 0);
    // A non-empty group gets no delay for a new member.
    let r3 = g.heartbeat(join("m3", "p3"), 5_000, &cfg, &topics);
    assert!(r3
        .status
        .unwrap()
        .iter()
        .all(|s| s.code != status::ASSIGNMENT_DELAYED));
}

#[test]
fn a_new_target_waits_for_the_assignment_interval() {
    let mut g = StreamsGroup::new("app");
    let cfg = StreamsConfig {
        assignment_interval_ms: 1_000,
        ..no_delay()
    };
    let topics = with_internal(2);
    let r1 = g.heartbeat(join("m1", "p1"), 100, &cfg, &topics);
    assert_eq!(
        r1.status,
        Some(Vec::new()),
        "the first target is not delayed"
    );
    assert_eq!(count(&r1.assignment.unwrap().active), 4);
    // A second member 500 ms later: the group epoch moves, the target does not.
    let r2 = g.heartbeat(join("m2", "p2"), 600, &cfg, &topics);
    let delayed = Status {
        code: status::ASSIGNMENT_DELAYED,
        detail: "Assignment delayed due to the configured assignment interval.".into(),
    };
    assert_eq!(r2.status, Some(vec![delayed.clone()]));
    assert!(g.group_epoch > g.assignment_epoch);
    assert!(!g.target.contains_key("m2"));
    assert_eq!(g.state_name(), "Assigning");
    // Still delayed just before the interval is over.
    let r2 = g.heartbeat(beat("m2", r2.member_epoch, None), 1_099, &cfg, &topics);
    assert_eq!(r2.status, Some(vec![delayed]));
    // At 1 s after the last computation the next heartbeat computes it.
    let r2 = g.heartbeat(beat("m2", r2.member_epoch, None), 1_100, &cfg, &topics);
    assert_eq!(r2.status, Some(Vec::new()));
    assert_eq!(g.group_epoch, g.assignment_epoch);
    assert_eq!(count(&g.target["m2"].active), 2);
    // Interval 0: never delayed.
    let mut g = StreamsGroup::new("app");
    g.heartbeat(join("m1", "p1"), 100, &no_delay(), &topics);
    let r2 = g.heartbeat(join("m2", "p2"), 101, &no_delay(), &topics);
    assert_eq!(r2.status, Some(Vec::new()));
    assert_eq!(count(&g.target["m2"].active), 2);
}

#[test]
fn a_change_of_the_standby_count_recomputes_the_assignment() {
    let mut g = StreamsGroup::new("app");
    let topics = with_internal(2);
    let e1 = g
        .heartbeat(join("m1", "p1"), 0, &no_delay(), &topics)
        .member_epoch;
    g.heartbeat(join("m2", "p2"), 0, &no_delay(), &topics);
    let before = g.group_epoch;
    // Unchanged configs: no new epoch.
    g.heartbeat(beat("m1", e1, None), 0, &no_delay(), &topics);
    assert_eq!(g.group_epoch, before);
    let cfg = StreamsConfig {
        num_standby_replicas: 1,
        ..no_delay()
    };
    g.heartbeat(beat("m1", e1, None), 0, &cfg, &topics);
    assert_eq!(g.group_epoch, before + 1);
    assert_eq!(g.assignment_epoch, g.group_epoch);
    assert_eq!(count(&g.target["m1"].standby), 2, "{:?}", g.target);
}

fn with_endpoint(mut r: HeartbeatRequest, port: u16, epoch: i32) -> HeartbeatRequest {
    r.user_endpoint = Some(Endpoint {
        host: "localhost".into(),
        port,
    });
    r.endpoint_information_epoch = epoch;
    r
}

#[test]
fn partitions_by_endpoint_come_only_with_a_new_endpoint_information_epoch() {
    let mut g = StreamsGroup::new("app");
    let cfg = no_delay();
    let topics = with_internal(2);
    // A member without an endpoint moves no endpoint epoch.
    let r = g.heartbeat(join("plain", "p0"), 0, &cfg, &topics);
    assert_eq!(r.endpoint_information_epoch, 0);
    assert_eq!(r.partitions_by_endpoint, None);
    g.heartbeat(beat("plain", -1, None), 0, &cfg, &topics);
    // Its endpoint (and its first tasks) move it.
    let r1 = g.heartbeat(with_endpoint(join("m1", "p1"), 8080, 0), 0, &cfg, &topics);
    let e = r1.endpoint_information_epoch;
    assert!(e > 0);
    let eps = r1.partitions_by_endpoint.expect("the client knows epoch 0");
    assert_eq!(eps.len(), 1);
    assert_eq!(eps[0].endpoint.port, 8080);
    // A heartbeat at the current epoch gets none, and the epoch stays.
    let r1 = g.heartbeat(
        with_endpoint(beat("m1", r1.member_epoch, None), 8080, e),
        0,
        &cfg,
        &topics,
    );
    assert_eq!(r1.endpoint_information_epoch, e);
    assert_eq!(r1.partitions_by_endpoint, None);
    // The group epoch moves (a member without an endpoint joins) but the
    // endpoint information does not.
    let g_epoch = g.group_epoch;
    let mut j3 = join("m3", "p3");
    j3.endpoint_information_epoch = e;
    let r3 = g.heartbeat(j3, 0, &cfg, &topics);
    assert!(g.group_epoch > g_epoch);
    assert_eq!(r3.endpoint_information_epoch, e);
    assert_eq!(r3.partitions_by_endpoint, None);
    // m1 gives tasks up: its tasks change, so the epoch moves and a member
    // that knew the old one gets the new partitions.
    let r1 = g.heartbeat(
        with_endpoint(beat("m1", r1.member_epoch, None), 8080, e),
        0,
        &cfg,
        &topics,
    );
    let e2 = r1.endpoint_information_epoch;
    assert!(e2 > e, "tasks of a member with an endpoint changed");
    assert!(r1.partitions_by_endpoint.is_some());
    let r3 = g.heartbeat(
        with_endpoint(beat("m3", r3.member_epoch, None), 9090, e),
        0,
        &cfg,
        &topics,
    );
    assert!(
        r3.endpoint_information_epoch > e2,
        "a new endpoint moves it"
    );
    let eps = r3.partitions_by_endpoint.unwrap();
    let ports: BTreeSet<u16> = eps.iter().map(|p| p.endpoint.port).collect();
    assert_eq!(ports, [8080, 9090].into());
}

#[test]
fn a_member_without_the_rack_aware_tags_is_told_missing_client_tags() {
    let topics = with_internal(2);
    let cfg = StreamsConfig {
        num_standby_replicas: 1,
        rack_aware_assignment_tags: vec!["zone".into(), "rack".into()],
        ..no_delay()
    };
    let v1 = |mut r: HeartbeatRequest, tags: &[(&str, &str)]| {
        r.version = 1;
        r.client_tags = Some(
            tags.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        r
    };
    let mut g = StreamsGroup::new("app");
    let r = g.heartbeat(v1(join("m1", "p1"), &[("zone", "a")]), 0, &cfg, &topics);
    assert_eq!(r.error, 0);
    assert_eq!(
        r.status,
        Some(vec![Status {
            code: status::MISSING_CLIENT_TAGS,
            detail: "Missing required client tags for rack-aware standby assignment: [rack]. \
                     Configure them via 'client.tag.<tagKey>' in your Streams config."
                .into(),
        }])
    );
    assert_eq!(
        count(&r.assignment.unwrap().active),
        4,
        "it still gets tasks"
    );
    // With both tags: no status.
    let r = g.heartbeat(
        v1(join("m2", "p2"), &[("zone", "b"), ("rack", "r1")]),
        0,
        &cfg,
        &topics,
    );
    assert_eq!(r.status, Some(Vec::new()));
    // v0, or no standbys: no status.
    let mut r0 = join("m3", "p3");
    r0.client_tags = Some(Vec::new());
    assert_eq!(g.heartbeat(r0, 0, &cfg, &topics).status, Some(Vec::new()));
    let no_standby = StreamsConfig {
        num_standby_replicas: 0,
        ..cfg.clone()
    };
    let r = g.heartbeat(v1(join("m4", "p4"), &[]), 0, &no_standby, &topics);
    assert_eq!(r.status, Some(Vec::new()));
}
