//! The group APIs at every advertised version, over a raw socket with
//! kafka-protocol's client encoding: each response decodes in full, and the
//! error codes are the ones Kafka returns (MEMBER_ID_REQUIRED handshake,
//! unknown members and groups, batched FindCoordinator keys, several groups
//! in one OffsetFetch, -1 for no commit).

mod support;

use bytes::Bytes;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError as E;
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
    b.state()
        .partitions
        .create_topic("t", 3, Default::default(), false)
        .unwrap();
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

#[tokio::test]
async fn join_sync_heartbeat_leave_at_every_version() {
    let (b, _dir) = broker().await;
    let mut c = RawClient::connect(b.addr()).await;
    for v in 0..=9i16 {
        let group = format!("g-v{v}");
        let mut join = JoinGroupRequest::default()
            .with_group_id(gid(&group))
            .with_session_timeout_ms(10_000)
            .with_protocol_type(s("consumer"))
            .with_protocols(vec![join_group_request::JoinGroupRequestProtocol::default(
            )
            .with_name(s("range"))
            .with_metadata(Bytes::from_static(b"sub"))]);
        if v >= 1 {
            join.rebalance_timeout_ms = 10_000;
        }
        let mut r = call!(c, JoinGroup, join.clone(), v);
        if v >= 4 {
            assert_eq!(r.error_code, E::MemberIdRequired.code(), "v{v}");
            assert!(!r.member_id.is_empty());
            join.member_id = r.member_id.clone();
            r = call!(c, JoinGroup, join.clone(), v);
        }
        assert_eq!((r.error_code, r.generation_id), (0, 1), "join v{v}");
        assert_eq!(r.leader, r.member_id);
        assert_eq!(r.members.len(), 1);
        assert_eq!(r.protocol_name.as_ref().map(|p| p.as_str()), Some("range"));
        let me = r.member_id.clone();

        let sv = v.min(5);
        let mut sync = SyncGroupRequest::default()
            .with_group_id(gid(&group))
            .with_generation_id(1)
            .with_member_id(me.clone())
            .with_assignments(vec![
                sync_group_request::SyncGroupRequestAssignment::default()
                    .with_member_id(me.clone())
                    .with_assignment(Bytes::from_static(b"mine")),
            ]);
        if sv >= 5 {
            sync.protocol_type = Some(s("consumer"));
            sync.protocol_name = Some(s("range"));
        }
        let r = call!(c, SyncGroup, sync, sv);
        assert_eq!(
            (r.error_code, &r.assignment[..]),
            (0, &b"mine"[..]),
            "sync v{sv}"
        );

        let hv = v.min(4);
        let hb = HeartbeatRequest::default()
            .with_group_id(gid(&group))
            .with_generation_id(1)
            .with_member_id(me.clone());
        assert_eq!(
            call!(c, Heartbeat, hb.clone(), hv).error_code,
            0,
            "heartbeat v{hv}"
        );
        let stale = hb.clone().with_generation_id(0);
        assert_eq!(
            call!(c, Heartbeat, stale, hv).error_code,
            E::IllegalGeneration.code()
        );

        let lv = v.min(5);
        let leave = if lv >= 3 {
            LeaveGroupRequest::default()
                .with_group_id(gid(&group))
                .with_members(vec![
                    leave_group_request::MemberIdentity::default().with_member_id(me.clone()),
                    leave_group_request::MemberIdentity::default().with_member_id(s("ghost")),
                ])
        } else {
            LeaveGroupRequest::default()
                .with_group_id(gid(&group))
                .with_member_id(me.clone())
        };
        let r = call!(c, LeaveGroup, leave, lv);
        assert_eq!(r.error_code, 0, "leave v{lv}");
        if lv >= 3 {
            let codes: Vec<i16> = r.members.iter().map(|m| m.error_code).collect();
            assert_eq!(codes, vec![0, E::UnknownMemberId.code()]);
        }
        assert_eq!(
            call!(c, Heartbeat, hb, hv).error_code,
            E::UnknownMemberId.code(),
            "after leave"
        );
    }
    b.shutdown().await.unwrap();
}

#[tokio::test]
async fn join_group_rejects_bad_requests_with_kafkas_codes() {
    let (b, _dir) = broker().await;
    let mut c = RawClient::connect(b.addr()).await;
    let base = JoinGroupRequest::default()
        .with_group_id(gid("bad"))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(10_000)
        .with_protocol_type(s("consumer"))
        .with_protocols(vec![join_group_request::JoinGroupRequestProtocol::default(
        )
        .with_name(s("range"))]);
    let r = call!(c, JoinGroup, base.clone().with_group_id(gid("")), 5);
    assert_eq!(r.error_code, E::InvalidGroupId.code());
    let r = call!(c, JoinGroup, base.clone().with_session_timeout_ms(10), 5);
    assert_eq!(r.error_code, E::InvalidSessionTimeout.code());
    let r = call!(c, JoinGroup, base.clone().with_protocols(vec![]), 5);
    assert_eq!(r.error_code, E::InconsistentGroupProtocol.code());
    let r = call!(c, JoinGroup, base.clone().with_member_id(s("made-up")), 5);
    assert_eq!(r.error_code, E::UnknownMemberId.code());
    let sync = SyncGroupRequest::default()
        .with_group_id(gid("nope"))
        .with_member_id(s("m"));
    assert_eq!(
        call!(c, SyncGroup, sync, 3).error_code,
        E::UnknownMemberId.code()
    );
    b.shutdown().await.unwrap();
}

#[tokio::test]
async fn find_coordinator_at_every_version_names_this_broker() {
    let (b, _dir) = broker().await;
    let mut c = RawClient::connect(b.addr()).await;
    for v in 0..=6i16 {
        if v < 4 {
            let mut req = FindCoordinatorRequest::default().with_key(s("grp"));
            if v >= 1 {
                req.key_type = 1; // a transactional id
            }
            let r = call!(c, FindCoordinator, req, v);
            assert_eq!(
                (r.error_code, r.node_id.0, r.port),
                (0, 1, b.addr().port() as i32),
                "v{v}"
            );
            assert_eq!(r.host.as_str(), "127.0.0.1");
        } else {
            let req = FindCoordinatorRequest::default().with_coordinator_keys(vec![
                s("a"),
                s(""),
                s("b"),
            ]);
            let r = call!(c, FindCoordinator, req, v);
            let got: Vec<(String, i16, i32)> = r
                .coordinators
                .iter()
                .map(|c| (c.key.to_string(), c.error_code, c.node_id.0))
                .collect();
            // Kafka 4.4 finds a coordinator for the empty key too (checked against
            // a real Kafka 4.4); an unknown key type is INVALID_REQUEST per key,
            // with Kafka's empty message.
            assert_eq!(
                got,
                vec![("a".into(), 0, 1), ("".into(), 0, 1), ("b".into(), 0, 1)],
                "v{v}"
            );
            let bad = FindCoordinatorRequest::default()
                .with_key_type(2)
                .with_coordinator_keys(vec![s("a"), s("")]);
            let r = call!(c, FindCoordinator, bad, v);
            let got: Vec<(i16, i32, i32, Option<&str>)> = r
                .coordinators
                .iter()
                .map(|c| {
                    (
                        c.error_code,
                        c.node_id.0,
                        c.port,
                        c.error_message.as_deref(),
                    )
                })
                .collect();
            assert_eq!(
                got,
                vec![(E::InvalidRequest.code(), -1, -1, Some("")); 2],
                "v{v}"
            );
        }
    }
    // v1-3: the empty key of either type is found; another type is refused
    // with Kafka's text for INVALID_REQUEST.
    for v in 1..=3i16 {
        for key_type in [0i8, 1] {
            let req = FindCoordinatorRequest::default()
                .with_key(s(""))
                .with_key_type(key_type);
            let r = call!(c, FindCoordinator, req, v);
            assert_eq!(
                (r.error_code, r.node_id.0, r.error_message.as_deref()),
                (0, 1, Some("NONE")),
                "v{v} key type {key_type}"
            );
        }
        let req = FindCoordinatorRequest::default()
            .with_key(s("g"))
            .with_key_type(2);
        let r = call!(c, FindCoordinator, req, v);
        assert_eq!(
            (r.error_code, r.node_id.0, r.host.as_str(), r.port),
            (E::InvalidRequest.code(), -1, "", -1)
        );
        assert_eq!(
            r.error_message.as_deref(),
            Some(
                "This most likely occurs because of a request being malformed by the client \
                 library or the message was sent to an incompatible broker. See the broker \
                 logs for more details."
            )
        );
    }
    b.shutdown().await.unwrap();
}

fn commit_req(group: &str, offsets: &[(i32, i64)]) -> OffsetCommitRequest {
    OffsetCommitRequest::default()
        .with_group_id(gid(group))
        .with_generation_id_or_member_epoch(-1)
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
                                .with_committed_metadata(Some(s(&format!("m{o}"))))
                        })
                        .collect(),
                ),
        ])
}

#[tokio::test]
async fn offset_commit_and_fetch_at_every_version() {
    let (b, _dir) = broker().await;
    let mut c = RawClient::connect(b.addr()).await;
    for v in 2..=9i16 {
        let r = call!(
            c,
            OffsetCommit,
            commit_req(&format!("o{v}"), &[(0, v as i64), (7, 1)]),
            v
        );
        let codes: Vec<i16> = r.topics[0]
            .partitions
            .iter()
            .map(|p| p.error_code)
            .collect();
        assert_eq!(
            codes,
            vec![0, E::UnknownTopicOrPartition.code()],
            "commit v{v}"
        );
    }
    for v in 1..=7i16 {
        let group = format!("o{}", v.max(2));
        let req = OffsetFetchRequest::default()
            .with_group_id(gid(&group))
            .with_topics(Some(vec![
                offset_fetch_request::OffsetFetchRequestTopic::default()
                    .with_name(TopicName(s("t")))
                    .with_partition_indexes(vec![0, 1]),
            ]));
        let r = call!(c, OffsetFetch, req, v);
        let got: Vec<(i64, String)> = r.topics[0]
            .partitions
            .iter()
            .map(|p| {
                (
                    p.committed_offset,
                    p.metadata
                        .as_ref()
                        .map(|m| m.to_string())
                        .unwrap_or_default(),
                )
            })
            .collect();
        let o = v.max(2) as i64;
        assert_eq!(
            got,
            vec![(o, format!("m{o}")), (-1, String::new())],
            "fetch v{v}"
        );
        if v >= 2 {
            // null topics: everything committed.
            let all = call!(
                c,
                OffsetFetch,
                OffsetFetchRequest::default()
                    .with_group_id(gid(&group))
                    .with_topics(None),
                v
            );
            assert_eq!(
                all.topics.iter().map(|t| t.partitions.len()).sum::<usize>(),
                1
            );
        }
    }
    for v in 8..=9i16 {
        let req = OffsetFetchRequest::default().with_groups(vec![
            offset_fetch_request::OffsetFetchRequestGroup::default()
                .with_group_id(gid("o8"))
                .with_topics(None),
            offset_fetch_request::OffsetFetchRequestGroup::default()
                .with_group_id(gid("o9"))
                .with_topics(Some(vec![
                    offset_fetch_request::OffsetFetchRequestTopics::default()
                        .with_name(TopicName(s("t")))
                        .with_partition_indexes(vec![0, 2]),
                ])),
            offset_fetch_request::OffsetFetchRequestGroup::default()
                .with_group_id(gid("never"))
                .with_topics(None),
        ]);
        let r = call!(c, OffsetFetch, req, v);
        let got: Vec<Vec<i64>> = r
            .groups
            .iter()
            .map(|g| {
                g.topics
                    .iter()
                    .flat_map(|t| t.partitions.iter().map(|p| p.committed_offset))
                    .collect()
            })
            .collect();
        assert_eq!(got, vec![vec![8], vec![9, -1], vec![]], "fetch v{v}");
    }
    // OffsetDelete: the group has no members, so its offsets can go.
    let req = OffsetDeleteRequest::default()
        .with_group_id(gid("o9"))
        .with_topics(vec![
            offset_delete_request::OffsetDeleteRequestTopic::default()
                .with_name(TopicName(s("t")))
                .with_partitions(vec![
                    offset_delete_request::OffsetDeleteRequestPartition::default()
                        .with_partition_index(0),
                ]),
        ]);
    let r = call!(c, OffsetDelete, req.clone(), 0);
    assert_eq!((r.error_code, r.topics[0].partitions[0].error_code), (0, 0));
    let r = call!(c, OffsetDelete, req.with_group_id(gid("never")), 0);
    assert_eq!(r.error_code, E::GroupIdNotFound.code());
    assert_eq!(b.state().groups.committed("o9", "t", 0), None);
    b.shutdown().await.unwrap();
}

#[tokio::test]
async fn list_describe_delete_at_every_version() {
    let (b, _dir) = broker().await;
    let mut c = RawClient::connect(b.addr()).await;
    call!(c, OffsetCommit, commit_req("solo", &[(0, 1)]), 8);
    for v in 0..=5i16 {
        let mut req = ListGroupsRequest::default();
        if v >= 4 {
            req.states_filter = vec![s("empty")];
        }
        if v >= 5 {
            req.types_filter = vec![s("classic")];
        }
        let r = call!(c, ListGroups, req, v);
        assert_eq!(r.groups.len(), 1, "v{v}");
        assert_eq!(r.groups[0].group_id.as_str(), "solo");
        if v >= 4 {
            assert_eq!(r.groups[0].group_state.as_str(), "Empty");
        }
        if v >= 5 {
            let none = call!(
                c,
                ListGroups,
                ListGroupsRequest::default().with_types_filter(vec![s("consumer")]),
                v
            );
            assert!(none.groups.is_empty());
        }
    }
    for v in 0..=6i16 {
        let r = call!(
            c,
            DescribeGroups,
            DescribeGroupsRequest::default().with_groups(vec![gid("solo"), gid("ghost")]),
            v
        );
        assert_eq!(
            (r.groups[0].error_code, r.groups[0].group_state.as_str()),
            (0, "Empty"),
            "v{v}"
        );
        let ghost = &r.groups[1];
        if v >= 6 {
            assert_eq!(ghost.error_code, E::GroupIdNotFound.code());
        } else {
            assert_eq!((ghost.error_code, ghost.group_state.as_str()), (0, "Dead"));
        }
    }
    for v in 0..=2i16 {
        let name = format!("del{v}");
        call!(c, OffsetCommit, commit_req(&name, &[(0, 1)]), 8);
        let r = call!(
            c,
            DeleteGroups,
            DeleteGroupsRequest::default().with_groups_names(vec![gid(&name), gid(&name)]),
            v
        );
        let codes: Vec<i16> = r.results.iter().map(|r| r.error_code).collect();
        assert_eq!(codes, vec![0, E::GroupIdNotFound.code()], "v{v}");
    }
    b.shutdown().await.unwrap();
}

#[tokio::test]
async fn consumer_group_heartbeat_and_describe_at_every_version() {
    let (b, _dir) = broker().await;
    let mut c = RawClient::connect(b.addr()).await;
    for v in 0..=1i16 {
        let group = format!("cg-v{v}");
        let join = ConsumerGroupHeartbeatRequest::default()
            .with_group_id(gid(&group))
            .with_member_id(s(if v >= 1 { "client-made-id" } else { "" }))
            .with_member_epoch(0)
            .with_rebalance_timeout_ms(30_000)
            .with_subscribed_topic_names(Some(vec![TopicName(s("t"))]))
            .with_topic_partitions(Some(vec![]));
        let r = call!(c, ConsumerGroupHeartbeat, join, v);
        // As Kafka 4.4: the first member subscribing in a new group gets epoch 2.
        assert_eq!((r.error_code, r.member_epoch), (0, 2), "v{v}");
        let member = r.member_id.clone().unwrap();
        if v >= 1 {
            assert_eq!(member.as_str(), "client-made-id");
        }
        let parts: usize = r
            .assignment
            .unwrap()
            .topic_partitions
            .iter()
            .map(|t| t.partitions.len())
            .sum();
        assert_eq!(parts, 3);
        let d = call!(
            c,
            ConsumerGroupDescribe,
            ConsumerGroupDescribeRequest::default().with_group_ids(vec![gid(&group), gid("none")]),
            v
        );
        assert_eq!(d.groups[0].members.len(), 1);
        assert_eq!(
            d.groups[0].members[0].assignment.topic_partitions[0]
                .topic_name
                .as_str(),
            "t"
        );
        assert_eq!(d.groups[1].error_code, E::GroupIdNotFound.code());
        let leave = ConsumerGroupHeartbeatRequest::default()
            .with_group_id(gid(&group))
            .with_member_id(member)
            .with_member_epoch(-1);
        let r = call!(c, ConsumerGroupHeartbeat, leave, v);
        assert_eq!((r.error_code, r.member_epoch), (0, -1));
        // A classic JoinGroup may now take over the empty group.
        let join = JoinGroupRequest::default()
            .with_group_id(gid(&group))
            .with_session_timeout_ms(10_000)
            .with_rebalance_timeout_ms(10_000)
            .with_protocol_type(s("consumer"))
            .with_protocols(vec![join_group_request::JoinGroupRequestProtocol::default(
            )
            .with_name(s("range"))]);
        assert_eq!(call!(c, JoinGroup, join, 3).error_code, 0);
    }
    b.shutdown().await.unwrap();
}
