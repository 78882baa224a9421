//! KIP-1071 streams groups over real sockets with raw StreamsGroupHeartbeat,
//! StreamsGroupDescribe and StreamsGroupTopologyDescriptionUpdate frames
//! (kafka-protocol has no such messages: the requests are laid out here field
//! by field, in Kafka 4.4's layouts): ApiVersions advertises them as Kafka 4.4
//! does, the broker creates the internal topics, waits out the initial
//! rebalance delay, assigns tasks (revocation before reassignment, standbys on
//! another process), keeps a member that joins again with epoch 0, reports
//! missing source topics, shows reported task offsets, answers v1 as Kafka 4.4,
//! counts the APIs under their own names in /metrics, checks member epochs on
//! OffsetCommit, and keeps the group across a restart; the assignment interval
//! (broker setting and group config), the endpoint-information epoch and
//! MISSING_CLIENT_TAGS as Kafka 4.4.
//!
//! Kafka Streams itself with `group.protocol=streams` is the conformance
//! scenario `streams_group_protocol` (conformance/java, StreamsScenarios).

#[path = "support/acl.rs"]
mod acl_support;
mod support;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, GroupId, ListGroupsRequest, OffsetCommitRequest, RequestKind,
    ResponseKind, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use std::collections::{BTreeMap, BTreeSet};
use support::*;
use weir::codec::flex::{Reader, Writer};

const HEARTBEAT: i16 = 88;
const DESCRIBE: i16 = 89;
const TOPOLOGY_UPDATE: i16 = 93;

/// Tasks by subtopology.
type TaskMap = BTreeMap<String, BTreeSet<i32>>;

#[derive(Debug, Default, Clone)]
struct Hb {
    member: String,
    epoch: i32,
    instance: Option<String>,
    process: Option<String>,
    /// Send the topology (joining).
    topology: bool,
    owned_active: Option<TaskMap>,
    /// Task offsets and end offsets to report.
    task_offsets: Option<(Vec<TaskOffset>, Vec<TaskOffset>)>,
    /// The endpoint information epoch the member knows (`None`: -1).
    endpoint_epoch: Option<i32>,
    /// The member's `application.server` port (on localhost).
    endpoint: Option<u16>,
    /// Client tags (`None`: empty when joining, else unchanged).
    client_tags: Option<Vec<(String, String)>>,
    /// The request's version (0 or 1).
    version: i16,
}

#[derive(Debug)]
struct HbResp {
    error: i16,
    message: Option<String>,
    epoch: i32,
    status: Vec<(i8, String)>,
    active: Option<TaskMap>,
    standby: Option<TaskMap>,
    endpoint_epoch: i32,
    /// The ports of the partitions-by-endpoint entries (`None`: unchanged).
    endpoint_ports: Option<Vec<u16>>,
}

/// The test application's topology: subtopology "0" reads `input` and writes
/// `<app>-rep-repartition`; subtopology "1" reads it into a store with
/// changelog `<app>-store-changelog`.
fn write_topology(w: &mut Writer, app: &str, input: &str) {
    let rep = format!("{app}-rep-repartition");
    let chg = format!("{app}-store-changelog");
    w.i8(1); // present
    w.i32(0); // epoch
    w.len(Some(2));
    // subtopology 0
    w.string("0");
    w.array(&[input], |w, t| w.string(t));
    w.len(Some(0)); // regex
    w.len(Some(0)); // changelogs
    w.array(&[rep.as_str()], |w, t| w.string(t)); // repartition sinks
    w.len(Some(0)); // repartition sources
    w.len(Some(0)); // copartition groups
    w.tagged_fields();
    // subtopology 1
    w.string("1");
    w.len(Some(0));
    w.len(Some(0));
    let topic_info = |w: &mut Writer, name: &str, configs: &[(&str, &str)]| {
        w.string(name);
        w.i32(0);
        w.i16(0);
        w.array(configs, |w, (k, v)| {
            w.string(k);
            w.string(v);
            w.tagged_fields();
        });
        w.tagged_fields();
    };
    w.len(Some(1));
    topic_info(w, &chg, &[("message.timestamp.type", "CreateTime")]);
    w.len(Some(0));
    w.len(Some(1));
    topic_info(
        w,
        &rep,
        &[("cleanup.policy", "delete"), ("retention.ms", "-1")],
    );
    w.len(Some(0));
    w.tagged_fields();
    w.tagged_fields(); // topology
}

fn write_tasks(w: &mut Writer, t: Option<&TaskMap>) {
    match t {
        None => w.len(None),
        Some(t) => {
            w.len(Some(t.len()));
            for (s, ps) in t {
                w.string(s);
                let ps: Vec<i32> = ps.iter().copied().collect();
                w.array(&ps, |w, p| w.i32(*p));
                w.tagged_fields();
            }
        }
    }
}

fn heartbeat_body(app: &str, input: &str, hb: &Hb) -> Bytes {
    let mut w = Writer::default();
    w.string(app);
    w.string(&hb.member);
    w.i32(hb.epoch);
    w.i32(hb.endpoint_epoch.unwrap_or(-1));
    w.nullable_string(hb.instance.as_deref());
    w.nullable_string(None); // rack
    w.i32(if hb.epoch == 0 { 30_000 } else { -1 });
    if hb.topology {
        write_topology(&mut w, app, input);
    } else {
        w.i8(-1);
    }
    let empty = TaskMap::new();
    let owned = hb
        .owned_active
        .as_ref()
        .or((hb.epoch == 0).then_some(&empty));
    write_tasks(&mut w, owned);
    write_tasks(&mut w, owned.map(|_| &empty));
    write_tasks(&mut w, owned.map(|_| &empty));
    w.nullable_string(hb.process.as_deref());
    match hb.endpoint {
        Some(port) => {
            w.i8(1);
            w.string("localhost");
            w.u16(port);
            w.tagged_fields();
        }
        None => w.i8(-1),
    }
    match &hb.client_tags {
        Some(tags) => w.array(tags, |w, (k, v)| {
            w.string(k);
            w.string(v);
            w.tagged_fields();
        }),
        None => w.len(if hb.epoch == 0 { Some(0) } else { None }),
    }
    let offsets = hb.task_offsets.as_ref();
    for xs in [offsets.map(|o| &o.0), offsets.map(|o| &o.1)] {
        w.nullable_array(xs.map(|v| v.as_slice()), |w, (sub, p, o)| {
            w.string(sub);
            w.i32(*p);
            w.i64(*o);
            w.tagged_fields();
        });
    }
    w.bool(false); // shutdown
    w.tagged_fields();
    w.finish()
}

/// One raw request of a flexible-only API: header v2, then `body`.
async fn call_raw(c: &mut RawClient, key: i16, body: &[u8]) -> Bytes {
    call_raw_v(c, key, 0, body).await
}

/// [`call_raw`] at `version`.
async fn call_raw_v(c: &mut RawClient, key: i16, version: i16, body: &[u8]) -> Bytes {
    let mut f = BytesMut::new();
    f.put_i16(key);
    f.put_i16(version);
    f.put_i32(77);
    f.put_i16(9);
    f.put_slice(b"weir-test");
    f.put_u8(0); // header tagged fields
    f.put_slice(body);
    c.send_raw(&f).await;
    let frame = c.recv_frame().await.expect("a response");
    assert_eq!(&frame[..4], &77i32.to_be_bytes(), "correlation id");
    assert_eq!(frame[4], 0, "header v1: empty tagged fields");
    frame.slice(5..)
}

fn read_tasks(r: &mut Reader) -> Option<TaskMap> {
    r.nullable_array(|r| {
        let s = r.string()?;
        let ps = r.array(|r| r.i32())?;
        r.tagged_fields()?;
        Ok((s, ps))
    })
    .unwrap()
    .map(|xs| {
        xs.into_iter()
            .map(|(s, ps)| (s, ps.into_iter().collect()))
            .collect()
    })
}

/// Skip an array of (topic, partitions).
fn partitions(r: &mut Reader) -> Result<(), weir::codec::flex::FlexError> {
    r.array(|r| {
        r.string()?;
        r.array(|r| r.i32())?;
        r.tagged_fields()
    })?;
    Ok(())
}

async fn heartbeat(c: &mut RawClient, app: &str, input: &str, hb: &Hb) -> HbResp {
    let body = call_raw_v(c, HEARTBEAT, hb.version, &heartbeat_body(app, input, hb)).await;
    let mut r = Reader::new(&body);
    assert_eq!(r.i32().unwrap(), 0, "throttle");
    let error = r.i16().unwrap();
    let message = r.nullable_string().unwrap();
    let member = r.string().unwrap();
    let epoch = r.i32().unwrap();
    let _interval = r.i32().unwrap();
    if hb.version == 0 {
        let _lag = r.i32().unwrap();
    }
    let _offset_interval = r.i32().unwrap();
    if hb.version >= 1 {
        let _lag = r.i64().unwrap();
    }
    let status = r
        .nullable_array(|r| {
            let s = (r.i8()?, r.string()?);
            r.tagged_fields()?;
            Ok(s)
        })
        .unwrap()
        .unwrap_or_default();
    let active = read_tasks(&mut r);
    let standby = read_tasks(&mut r);
    let _warmup = read_tasks(&mut r);
    if hb.version >= 1 {
        let _description_required = r.bool().unwrap();
    }
    let endpoint_epoch = r.i32().unwrap();
    let endpoint_ports = r
        .nullable_array(|r| {
            r.string()?;
            let port = r.u16()?;
            r.tagged_fields()?;
            partitions(r)?;
            partitions(r)?;
            r.tagged_fields()?;
            Ok(port)
        })
        .unwrap();
    r.tagged_fields().unwrap();
    assert!(r.i8().is_err(), "trailing bytes in the response");
    if error == 0 {
        assert_eq!(member, hb.member);
    }
    HbResp {
        error,
        message,
        epoch,
        status,
        active,
        standby,
        endpoint_epoch,
        endpoint_ports,
    }
}

fn join(member: &str, process: &str) -> Hb {
    Hb {
        member: member.into(),
        epoch: 0,
        process: Some(process.into()),
        topology: true,
        ..Default::default()
    }
}

fn beat(member: &str, epoch: i32, owned: Option<TaskMap>) -> Hb {
    Hb {
        member: member.into(),
        epoch,
        owned_active: owned,
        ..Default::default()
    }
}

fn count(t: &TaskMap) -> usize {
    t.values().map(|p| p.len()).sum()
}

fn disjoint(a: &TaskMap, b: &TaskMap) -> bool {
    a.iter()
        .all(|(s, ps)| b.get(s).is_none_or(|o| ps.is_disjoint(o)))
}

/// StreamsGroupDescribe of one group: (error, state, [(member, active, target active)]).
async fn describe(c: &mut RawClient, app: &str) -> (i16, String, Vec<(String, usize, usize)>) {
    let (error, state, members) = describe_members(c, app).await;
    let members = members
        .into_iter()
        .map(|m| (m.id, m.active, m.target))
        .collect();
    (error, state, members)
}

/// A (subtopology, partition, offset) of a member's reported task offsets.
type TaskOffset = (String, i32, i64);

/// One member as StreamsGroupDescribe shows it (what the tests look at).
struct MemberDesc {
    id: String,
    active: usize,
    target: usize,
    task_offsets: Vec<TaskOffset>,
    task_end_offsets: Vec<TaskOffset>,
}

/// StreamsGroupDescribe of one group: (error, state, members).
async fn describe_members(c: &mut RawClient, app: &str) -> (i16, String, Vec<MemberDesc>) {
    let mut w = Writer::default();
    w.array(&[app], |w, g| w.string(g));
    w.bool(false);
    w.tagged_fields();
    let body = call_raw(c, DESCRIBE, &w.finish()).await;
    let mut r = Reader::new(&body);
    r.i32().unwrap();
    let mut groups = r
        .array(|r| {
            let error = r.i16()?;
            r.nullable_string()?;
            let _id = r.string()?;
            let state = r.string()?;
            r.i32()?;
            r.i32()?;
            if r.present()? {
                r.i32()?;
                r.nullable_array(|r| {
                    r.string()?;
                    r.array(|r| r.string())?;
                    r.array(|r| r.string())?;
                    for _ in 0..2 {
                        r.array(|r| {
                            r.string()?;
                            r.i32()?;
                            r.i16()?;
                            r.array(|r| {
                                r.string()?;
                                r.string()?;
                                r.tagged_fields()
                            })?;
                            r.tagged_fields()
                        })?;
                    }
                    r.tagged_fields()
                })?;
                r.tagged_fields()?;
            }
            let members = r.array(|r| {
                let id = r.string()?;
                r.i32()?;
                r.nullable_string()?;
                r.nullable_string()?;
                r.string()?;
                r.string()?;
                r.i32()?;
                r.string()?;
                if r.present()? {
                    r.string()?;
                    r.u16()?;
                    r.tagged_fields()?;
                }
                r.array(|r| {
                    r.string()?;
                    r.string()?;
                    r.tagged_fields()
                })?;
                let mut offsets = Vec::new();
                for _ in 0..2 {
                    offsets.push(r.array(|r| {
                        let t = (r.string()?, r.i32()?, r.i64()?);
                        r.tagged_fields()?;
                        Ok(t)
                    })?);
                }
                let mut counts = Vec::new();
                for _ in 0..2 {
                    let mut active = 0;
                    for kind in 0..3 {
                        let ts = r.array(|r| {
                            r.string()?;
                            let n = r.array(|r| r.i32())?.len();
                            r.tagged_fields()?;
                            Ok(n)
                        })?;
                        if kind == 0 {
                            active = ts.iter().sum();
                        }
                    }
                    r.tagged_fields()?;
                    counts.push(active);
                }
                r.bool()?;
                r.tagged_fields()?;
                let task_end_offsets = offsets.pop().unwrap();
                Ok(MemberDesc {
                    id,
                    active: counts[0],
                    target: counts[1],
                    task_offsets: offsets.pop().unwrap(),
                    task_end_offsets,
                })
            })?;
            r.i32()?;
            r.tagged_fields()?;
            Ok((error, state, members))
        })
        .unwrap();
    r.tagged_fields().unwrap();
    assert_eq!(groups.len(), 1);
    groups.pop().unwrap()
}

#[tokio::test]
async fn api_versions_advertises_the_streams_group_apis_as_kafka_4_4() {
    let b = TestBroker::start(&[]).await;
    let mut c = RawClient::connect(b.addr()).await;
    let ResponseKind::ApiVersions(r) = c
        .call(
            RequestKind::ApiVersions(ApiVersionsRequest::default()),
            ApiKey::ApiVersions,
            3,
        )
        .await
    else {
        panic!()
    };
    for (key, max) in [(HEARTBEAT, 1), (DESCRIBE, 1), (TOPOLOGY_UPDATE, 0)] {
        let k = r
            .api_keys
            .iter()
            .find(|k| k.api_key == key)
            .unwrap_or_else(|| panic!("api key {key} not advertised"));
        assert_eq!((k.min_version, k.max_version), (0, max), "api key {key}");
    }
    // A version beyond the advertised one closes the connection, as for any API.
    let mut f = BytesMut::new();
    f.put_i16(HEARTBEAT);
    f.put_i16(2);
    f.put_i32(1);
    f.put_i16(-1);
    f.put_u8(0);
    c.send_raw(&f).await;
    assert!(c.is_closed().await);
    b.stop().await;
}

#[tokio::test]
async fn two_members_share_the_tasks_after_the_first_revokes_and_internal_topics_are_created() {
    let b = TestBroker::start(GROUP_SETTINGS).await;
    b.create_topic("sg-in", 3);
    let mut c = RawClient::connect(b.addr()).await;
    let app = "sg-app";

    let r1 = heartbeat(&mut c, app, "sg-in", &join("m1", "p1")).await;
    assert_eq!(r1.error, 0, "{:?}", r1.message);
    assert!(r1.status.is_empty(), "{:?}", r1.status);
    let all = r1.active.unwrap();
    assert_eq!(count(&all), 6, "3 partitions x 2 subtopologies: {all:?}");
    let e1 = r1.epoch;
    assert!(e1 > 0);

    // The broker created the internal topics from the topology.
    let rep = b
        .state()
        .partitions
        .topic("sg-app-rep-repartition")
        .expect("repartition topic");
    assert_eq!(
        rep.partition_count(),
        3,
        "as many partitions as the writing subtopology's tasks"
    );
    let chg = b
        .state()
        .partitions
        .topic("sg-app-store-changelog")
        .expect("changelog topic");
    assert_eq!(chg.partition_count(), 3);
    let broker = b.state().partitions.settings();
    assert!(
        chg.config().is_compacted(&broker),
        "changelog not compacted"
    );
    assert!(
        !rep.config().is_compacted(&broker),
        "repartition topic compacted"
    );

    // A second member: it gets nothing m1 still holds.
    let r2 = heartbeat(&mut c, app, "sg-in", &join("m2", "p2")).await;
    assert_eq!(r2.error, 0, "{:?}", r2.message);
    assert_eq!(r2.active.as_ref().map(count), Some(0));
    let e2 = r2.epoch;

    // m1 must give up half at its old epoch first.
    let r1 = heartbeat(&mut c, app, "sg-in", &beat("m1", e1, None)).await;
    assert_eq!(r1.epoch, e1, "epoch unchanged while revoking");
    let kept = r1.active.unwrap();
    assert_eq!(count(&kept), 3);
    // m2 still gets nothing: m1 has not confirmed.
    let r2 = heartbeat(&mut c, app, "sg-in", &beat("m2", e2, None)).await;
    assert_eq!(r2.active.as_ref().map_or(0, count), 0);
    // m1 confirms (owned = kept) and gets the new epoch.
    let r1 = heartbeat(&mut c, app, "sg-in", &beat("m1", e1, Some(kept.clone()))).await;
    assert!(r1.epoch > e1);
    // Now m2 gets the released half.
    let r2 = heartbeat(&mut c, app, "sg-in", &beat("m2", r2.epoch, None)).await;
    let got = r2.active.unwrap();
    assert_eq!(count(&got), 3);
    assert!(disjoint(&got, &kept), "{got:?} vs {kept:?}");

    let (err, state, members) = describe(&mut c, app).await;
    assert_eq!((err, state.as_str()), (0, "Stable"));
    assert_eq!(members.len(), 2);
    assert!(
        members.iter().all(|(_, a, t)| (*a, *t) == (3, 3)),
        "{members:?}"
    );

    // ListGroups: type "streams".
    let ResponseKind::ListGroups(l) = c
        .call(
            RequestKind::ListGroups(
                ListGroupsRequest::default()
                    .with_types_filter(vec![StrBytes::from_static_str("streams")]),
            ),
            ApiKey::ListGroups,
            5,
        )
        .await
    else {
        panic!()
    };
    let listed: Vec<(String, String, String)> = l
        .groups
        .iter()
        .map(|g| {
            (
                g.group_id.to_string(),
                g.group_type.to_string(),
                g.protocol_type.to_string(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        vec![(app.to_string(), "streams".into(), "streams".into())]
    );

    // A leave hands m2's tasks back to m1 (after m1 heartbeats).
    let r = heartbeat(&mut c, app, "sg-in", &beat("m2", -1, None)).await;
    assert_eq!((r.error, r.epoch), (0, -1));
    let r1 = heartbeat(&mut c, app, "sg-in", &beat("m1", r1.epoch, None)).await;
    assert_eq!(r1.active.map(|a| count(&a)), Some(6));
    b.stop().await;
}

#[tokio::test]
async fn a_missing_source_topic_is_reported_until_it_exists() {
    let b = TestBroker::start(GROUP_SETTINGS).await;
    let mut c = RawClient::connect(b.addr()).await;
    let r = heartbeat(&mut c, "sg-missing", "sg-nowhere", &join("m1", "p1")).await;
    assert_eq!(r.error, 0);
    assert_eq!(
        r.status,
        vec![(1, "Source topics sg-nowhere are missing.".to_string())]
    );
    assert_eq!(r.active.map(|a| count(&a)), Some(0));
    assert!(b
        .state()
        .partitions
        .topic("sg-missing-rep-repartition")
        .is_none());
    let (_, state, _) = describe(&mut c, "sg-missing").await;
    assert_eq!(state, "NotReady");
    b.create_topic("sg-nowhere", 2);
    let r = heartbeat(
        &mut c,
        "sg-missing",
        "sg-nowhere",
        &beat("m1", r.epoch, None),
    )
    .await;
    assert!(r.status.is_empty(), "{:?}", r.status);
    assert_eq!(r.active.map(|a| count(&a)), Some(4));
    assert!(b
        .state()
        .partitions
        .topic("sg-missing-rep-repartition")
        .is_some());
    b.stop().await;
}

#[tokio::test]
async fn standby_replicas_go_to_the_other_process() {
    let mut sets = GROUP_SETTINGS.to_vec();
    sets.push(("group.streams.num.standby.replicas", "1"));
    let b = TestBroker::start(&sets).await;
    b.create_topic("sb-in", 2);
    let mut c = RawClient::connect(b.addr()).await;
    let app = "sb-app";
    let r1 = heartbeat(&mut c, app, "sb-in", &join("a", "p1")).await;
    // Alone: no other process, so no standby.
    assert_eq!(r1.standby.as_ref().map(count), Some(0));
    let r2 = heartbeat(&mut c, app, "sb-in", &join("b", "p2")).await;
    let r1 = heartbeat(&mut c, app, "sb-in", &beat("a", r1.epoch, None)).await;
    let kept = r1.active.clone().unwrap();
    let r1 = heartbeat(&mut c, app, "sb-in", &beat("a", r1.epoch, Some(kept))).await;
    let r2 = heartbeat(&mut c, app, "sb-in", &beat("b", r2.epoch, None)).await;
    let (a_act, a_sb) = (r1.active.unwrap(), r1.standby.unwrap());
    let (b_act, b_sb) = (r2.active.unwrap(), r2.standby.unwrap());
    assert_eq!(count(&a_act) + count(&b_act), 4);
    // Every task has its standby on the other process.
    assert_eq!(a_sb, b_act);
    assert_eq!(b_sb, a_act);
    b.stop().await;
}

#[tokio::test]
async fn offset_commit_checks_the_member_epoch_and_the_group_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = start_broker(dir.path(), GROUP_SETTINGS).await;
    b.create_topic("rs-in", 1);
    let mut c = RawClient::connect(b.addr()).await;
    let app = "rs-app";
    let r = heartbeat(&mut c, app, "rs-in", &join("m1", "p1")).await;
    assert_eq!(r.error, 0);
    let epoch = r.epoch;
    let commit = |epoch: i32, offset: i64| {
        RequestKind::OffsetCommit(
            OffsetCommitRequest::default()
                .with_group_id(GroupId(StrBytes::from_static_str(app)))
                .with_generation_id_or_member_epoch(epoch)
                .with_member_id(StrBytes::from_static_str("m1"))
                .with_topics(vec![OffsetCommitRequestTopic::default()
                    .with_name(TopicName(StrBytes::from_static_str("rs-in")))
                    .with_partitions(vec![OffsetCommitRequestPartition::default()
                        .with_partition_index(0)
                        .with_committed_offset(offset)])]),
        )
    };
    let code = |r: ResponseKind| match r {
        ResponseKind::OffsetCommit(r) => r.topics[0].partitions[0].error_code,
        _ => panic!(),
    };
    assert_eq!(
        code(c.call(commit(epoch + 1, 5), ApiKey::OffsetCommit, 9).await),
        110,
        "FENCED_MEMBER_EPOCH"
    );
    assert_eq!(
        code(c.call(commit(epoch, 42), ApiKey::OffsetCommit, 9).await),
        0
    );

    b.restart().await;
    let mut c = RawClient::connect(b.addr()).await;
    // The member and its epoch survived: a heartbeat at that epoch is accepted.
    let r = heartbeat(&mut c, app, "rs-in", &beat("m1", epoch, None)).await;
    assert_eq!((r.error, r.epoch), (0, epoch), "{:?}", r.message);
    let (_, state, members) = describe(&mut c, app).await;
    assert_eq!(state, "Stable");
    assert_eq!(members.len(), 1);
    // And so did the committed offset.
    let bs = b.bootstrap();
    let got = tokio::task::spawn_blocking(move || committed(&bs, app, "rs-in", 1))
        .await
        .unwrap();
    assert_eq!(got, vec![42]);
    b.stop().await;
}

/// As Kafka: READ on the group, DESCRIBE on the source topics, and CREATE (on
/// the cluster or each topic) for the broker to create the internal topics;
/// without CREATE the member is told MISSING_INTERNAL_TOPICS with Kafka's text.
#[tokio::test]
async fn the_heartbeat_needs_read_on_the_group_and_create_for_internal_topics() {
    use weir::acl::{AclBinding, AclOperation, PatternType, PermissionType, ResourceType};
    use weir::config::Source;
    let dir = tempfile::tempdir().unwrap();
    let mut config = weir::BrokerConfig::ephemeral(dir.path());
    config
        .settings
        .set(
            "authorizer.class.name",
            "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            Source::Cli,
        )
        .unwrap();
    config
        .settings
        .set("group.streams.initial.rebalance.delay.ms", "0", Source::Cli)
        .unwrap();
    let pipeline = acl_support::ByClientId::pipeline("User:admin");
    let broker = weir::Broker::start_with_pipeline(config, pipeline)
        .await
        .unwrap();
    broker
        .state()
        .partitions
        .create_topic("acl-in", 1, Default::default(), false)
        .unwrap();
    let mut c = RawClient::connect(broker.addr()).await;
    let app = "acl-app";
    // No ACL: GROUP_AUTHORIZATION_FAILED (30).
    let r = heartbeat(&mut c, app, "acl-in", &join("m1", "p1")).await;
    assert_eq!(r.error, 30);
    let acls = broker.state().pipeline.authorizer().acls().unwrap();
    let allow = |rt, name: &str, op| AclBinding {
        resource_type: rt,
        name: name.into(),
        pattern_type: PatternType::Literal,
        principal: "User:weir-test".into(),
        host: "*".into(),
        operation: op,
        permission: PermissionType::Allow,
    };
    acls.create(&[allow(ResourceType::Group, app, AclOperation::Read)])
        .unwrap();
    // READ on the group but not DESCRIBE on the source topic: TOPIC_AUTHORIZATION_FAILED (29).
    let r = heartbeat(&mut c, app, "acl-in", &join("m1", "p1")).await;
    assert_eq!(r.error, 29);
    acls.create(&[allow(ResourceType::Topic, "acl-in", AclOperation::Describe)])
        .unwrap();
    let r = heartbeat(&mut c, app, "acl-in", &join("m1", "p1")).await;
    assert_eq!(r.error, 0, "{:?}", r.message);
    assert!(
        r.status.contains(&(
            3,
            "Unauthorized to CREATE on topics acl-app-rep-repartition, acl-app-store-changelog."
                .to_string()
        )),
        "{:?}",
        r.status
    );
    assert!(broker
        .state()
        .partitions
        .topic("acl-app-rep-repartition")
        .is_none());
    // CREATE on the cluster: the broker creates them.
    acls.create(&[allow(
        ResourceType::Cluster,
        "kafka-cluster",
        AclOperation::Create,
    )])
    .unwrap();
    let r = heartbeat(&mut c, app, "acl-in", &beat("m1", r.epoch, None)).await;
    assert_eq!(r.error, 0);
    assert!(
        r.status.iter().all(|(code, _)| *code != 3),
        "{:?}",
        r.status
    );
    assert!(broker
        .state()
        .partitions
        .topic("acl-app-rep-repartition")
        .is_some());
    assert!(broker
        .state()
        .partitions
        .topic("acl-app-store-changelog")
        .is_some());
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_first_assignment_waits_for_the_initial_rebalance_delay() {
    let mut sets = GROUP_SETTINGS.to_vec();
    sets.retain(|(k, _)| *k != "group.streams.initial.rebalance.delay.ms");
    sets.push(("group.streams.initial.rebalance.delay.ms", "1500"));
    let b = TestBroker::start(&sets).await;
    b.create_topic("dl-in", 2);
    let mut c = RawClient::connect(b.addr()).await;
    let app = "dl-app";
    let started = std::time::Instant::now();
    let r1 = heartbeat(&mut c, app, "dl-in", &join("a", "p1")).await;
    // What a Kafka 4.4 broker answers: epoch 1, no tasks, ASSIGNMENT_DELAYED.
    assert_eq!((r1.error, r1.epoch), (0, 1), "{:?}", r1.message);
    assert_eq!(r1.active.as_ref().map(count), Some(0));
    assert_eq!(
        r1.status,
        vec![(
            5,
            "Assignment delayed due to the configured initial rebalance delay.".to_string()
        )]
    );
    // A second member within the delay: delayed too.
    let r2 = heartbeat(&mut c, app, "dl-in", &join("b", "p2")).await;
    assert_eq!((r2.error, r2.epoch), (0, 1));
    assert_eq!(r2.status[0].0, 5);
    assert_eq!(describe(&mut c, app).await.1, "Assigning");
    // Both keep heartbeating until the delay is over; then both get their
    // share at a new epoch.
    let (mut a, mut bb) = (r1, r2);
    let has = |r: &HbResp| r.active.as_ref().is_some_and(|t| count(t) > 0);
    for _ in 0..60 {
        if has(&a) && has(&bb) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        a = heartbeat(&mut c, app, "dl-in", &beat("a", a.epoch, None)).await;
        bb = heartbeat(&mut c, app, "dl-in", &beat("b", bb.epoch, None)).await;
    }
    assert!(has(&a) && has(&bb), "{a:?} {bb:?}");
    assert!(a.epoch > 1 && a.epoch == bb.epoch, "{a:?} {bb:?}");
    assert!(started.elapsed() >= std::time::Duration::from_millis(1500));
    assert!(a.status.is_empty() && bb.status.is_empty());
    let (ta, tb) = (a.active.unwrap(), bb.active.unwrap());
    assert_eq!(count(&ta) + count(&tb), 4, "{ta:?} {tb:?}");
    assert!(
        count(&ta) == 2 && disjoint(&ta, &tb),
        "balanced from the start"
    );
    b.stop().await;
}

#[tokio::test]
async fn a_live_member_joining_again_with_epoch_0_keeps_its_epoch_and_tasks() {
    let b = TestBroker::start(GROUP_SETTINGS).await;
    b.create_topic("rj-in", 2);
    let mut c = RawClient::connect(b.addr()).await;
    let app = "rj-app";
    let r = heartbeat(&mut c, app, "rj-in", &join("m1", "p1")).await;
    assert_eq!(r.error, 0);
    let (epoch, tasks) = (r.epoch, r.active.unwrap());
    assert_eq!(count(&tasks), 4);
    let r = heartbeat(&mut c, app, "rj-in", &join("m1", "p1")).await;
    assert_eq!((r.error, r.epoch), (0, epoch), "not restarted");
    assert_eq!(r.active, Some(tasks), "the full assignment again");
    assert_eq!(describe(&mut c, app).await.1, "Stable");
    b.stop().await;
}

#[tokio::test]
async fn v1_answers_have_kafka_4_4s_layout_and_the_topology_description_rpc_has_no_plugin() {
    let b = TestBroker::start(GROUP_SETTINGS).await;
    b.create_topic("v1-in", 2);
    let mut c = RawClient::connect(b.addr()).await;
    let app = "v1-app";
    // StreamsGroupHeartbeat v1: the v0 request; the answer has
    // AcceptableRecoveryLag as an int64 (Kafka's default 10000) in place of
    // the legacy int32, and TopologyDescriptionRequired (false) after the tasks.
    let body = call_raw_v(
        &mut c,
        HEARTBEAT,
        1,
        &heartbeat_body(app, "v1-in", &join("m1", "p1")),
    )
    .await;
    let mut r = Reader::new(&body);
    assert_eq!(r.i32().unwrap(), 0);
    assert_eq!(r.i16().unwrap(), 0, "error");
    assert_eq!(r.nullable_string().unwrap(), None);
    assert_eq!(r.string().unwrap(), "m1");
    assert!(r.i32().unwrap() > 0, "epoch");
    assert_eq!(r.i32().unwrap(), 5_000, "heartbeat interval");
    assert_eq!(r.i32().unwrap(), 60_000, "task offset interval");
    assert_eq!(r.i64().unwrap(), 10_000, "acceptable recovery lag");
    assert_eq!(
        r.nullable_array(|_| Ok(())).unwrap().map(|v| v.len()),
        Some(0)
    );
    let active = read_tasks(&mut r).unwrap();
    assert_eq!(count(&active), 4);
    read_tasks(&mut r);
    read_tasks(&mut r);
    assert!(!r.bool().unwrap(), "TopologyDescriptionRequired");
    r.i32().unwrap();
    r.nullable_array(|_| Ok(())).unwrap();
    r.tagged_fields().unwrap();
    assert!(r.i8().is_err(), "trailing bytes");

    // An error answer at v1: AcceptableRecoveryLag at its default, -1.
    let mut unknown = beat("nobody", 3, None);
    unknown.member = "nobody".into();
    let body = call_raw_v(
        &mut c,
        HEARTBEAT,
        1,
        &heartbeat_body(app, "v1-in", &unknown),
    )
    .await;
    let mut r = Reader::new(&body);
    r.i32().unwrap();
    assert_eq!(r.i16().unwrap(), 25, "UNKNOWN_MEMBER_ID");
    r.nullable_string().unwrap();
    r.string().unwrap();
    assert_eq!(
        (r.i32().unwrap(), r.i32().unwrap(), r.i32().unwrap()),
        (0, 0, 0)
    );
    assert_eq!(r.i64().unwrap(), -1);

    // StreamsGroupDescribe v1: IncludeTopologyDescription; each group ends with
    // the (null) description, its status (1 = NOT_STORED when asked, 0 when
    // not) and the assignor; an unknown group has status 0 and no assignor.
    for (include, status) in [(true, 1i8), (false, 0)] {
        let mut w = Writer::default();
        w.array(&[app, "v1-nope"], |w, g| w.string(g));
        w.bool(false);
        w.bool(include);
        w.tagged_fields();
        let body = call_raw_v(&mut c, DESCRIBE, 1, &w.finish()).await;
        // The known group: ops not asked (i32::MIN), no description, the
        // status, the assignor, its tagged fields.
        let known_tail: Vec<u8> = [
            &[0x80u8, 0, 0, 0, 0xff, status as u8, 7][..],
            b"sticky",
            &[0],
        ]
        .concat();
        assert!(
            body.windows(known_tail.len())
                .any(|x| x == known_tail.as_slice()),
            "no v1 fields for {app} in {body:?}"
        );
        // The unknown group: no description, status 0, no assignor; then the
        // top-level tagged fields.
        assert_eq!(&body[body.len() - 9..], &[0x80, 0, 0, 0, 0xff, 0, 0, 0, 0]);
    }

    // StreamsGroupTopologyDescriptionUpdate: no plugin, as a default Kafka 4.4 answers.
    let mut w = Writer::default();
    w.string(app);
    w.string("m1");
    w.i32(0);
    w.len(Some(0)); // subtopologies
    w.len(Some(0)); // global stores
    w.tagged_fields();
    w.tagged_fields();
    let body = call_raw_v(&mut c, TOPOLOGY_UPDATE, 0, &w.finish()).await;
    let mut r = Reader::new(&body);
    assert_eq!(r.i32().unwrap(), 0);
    assert_eq!(r.i16().unwrap(), 35, "UNSUPPORTED_VERSION");
    assert_eq!(
        r.nullable_string().unwrap().as_deref(),
        Some("The broker has no streams group topology description plugin configured.")
    );
    r.tagged_fields().unwrap();
    b.stop().await;
}

#[tokio::test]
async fn task_offsets_of_the_heartbeat_are_shown_by_describe() {
    let b = TestBroker::start(GROUP_SETTINGS).await;
    b.create_topic("to-in", 2);
    let mut c = RawClient::connect(b.addr()).await;
    let app = "to-app";
    let r = heartbeat(&mut c, app, "to-in", &join("m1", "p1")).await;
    assert_eq!(r.error, 0);
    let (_, _, members) = describe_members(&mut c, app).await;
    assert!(members[0].task_offsets.is_empty() && members[0].task_end_offsets.is_empty());
    let offsets = vec![("1".to_string(), 0, 40i64), ("0".to_string(), 1, 7)];
    let ends = vec![("1".to_string(), 0, 50i64)];
    let mut hb = beat("m1", r.epoch, None);
    hb.task_offsets = Some((offsets, ends.clone()));
    assert_eq!(heartbeat(&mut c, app, "to-in", &hb).await.error, 0);
    let (_, _, members) = describe_members(&mut c, app).await;
    let m = &members[0];
    assert_eq!(
        m.task_offsets,
        vec![("0".to_string(), 1, 7), ("1".to_string(), 0, 40)],
        "by subtopology and partition"
    );
    assert_eq!(m.task_end_offsets, ends);
    // Null lists leave them as they are; an empty list clears.
    let mut hb = beat("m1", r.epoch, None);
    assert_eq!(heartbeat(&mut c, app, "to-in", &hb).await.error, 0);
    assert_eq!(
        describe_members(&mut c, app).await.2[0].task_end_offsets,
        ends
    );
    hb.task_offsets = Some((vec![], vec![]));
    assert_eq!(heartbeat(&mut c, app, "to-in", &hb).await.error, 0);
    let (_, _, members) = describe_members(&mut c, app).await;
    assert!(members[0].task_offsets.is_empty() && members[0].task_end_offsets.is_empty());
    b.stop().await;
}

#[tokio::test]
async fn metrics_count_the_streams_group_apis_under_their_own_names() {
    use std::io::{Read, Write};
    use weir::config::Source;
    let dir = tempfile::tempdir().unwrap();
    let mut config = weir::BrokerConfig::ephemeral(dir.path());
    config.http = Some("127.0.0.1:0".into());
    config
        .settings
        .set("group.streams.initial.rebalance.delay.ms", "0", Source::Cli)
        .unwrap();
    let broker = weir::Broker::start(config).await.unwrap();
    broker
        .state()
        .partitions
        .create_topic("mx-in", 1, Default::default(), false)
        .unwrap();
    let mut c = RawClient::connect(broker.addr()).await;
    let r = heartbeat(&mut c, "mx-app", "mx-in", &join("m1", "p1")).await;
    heartbeat(&mut c, "mx-app", "mx-in", &beat("m1", r.epoch, None)).await;
    describe(&mut c, "mx-app").await;
    let mut w = Writer::default();
    w.string("mx-app");
    w.string("m1");
    w.i32(0);
    w.len(Some(0));
    w.len(Some(0));
    w.tagged_fields();
    w.tagged_fields();
    call_raw(&mut c, TOPOLOGY_UPDATE, &w.finish()).await;

    let http = broker.http_addr().unwrap();
    let text = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(http).unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: weir\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut raw = String::new();
        s.read_to_string(&mut raw).unwrap();
        raw
    })
    .await
    .unwrap();
    let count = |api: &str| -> Option<f64> {
        let prefix = format!("weir_requests_total{{api=\"{api}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .map(|v| v.parse().unwrap())
    };
    assert_eq!(count("StreamsGroupHeartbeat"), Some(2.0), "{text}");
    assert_eq!(count("StreamsGroupDescribe"), Some(1.0));
    assert_eq!(count("StreamsGroupTopologyDescriptionUpdate"), Some(1.0));
    // Not under the stand-ins the quota and ACL stages see.
    assert_eq!(count("ConsumerGroupHeartbeat"), None);
    assert_eq!(count("ConsumerGroupDescribe"), None);
    let durations =
        "weir_request_duration_seconds_count{api=\"StreamsGroupHeartbeat\",phase=\"handled\"} 2";
    assert!(text.lines().any(|l| l == durations), "{text}");
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn assignment_interval_endpoint_epoch_and_client_tags_as_kafka_4_4() {
    let mut sets = GROUP_SETTINGS.to_vec();
    sets.retain(|(k, _)| *k != "group.streams.assignment.interval.ms");
    sets.push(("group.streams.assignment.interval.ms", "1500"));
    sets.push(("group.streams.num.standby.replicas", "1"));
    sets.push(("group.streams.rack.aware.assignment.tags", "zone, rack"));
    let b = TestBroker::start(&sets).await;
    b.create_topic("ai-in", 2);
    let mut c = RawClient::connect(b.addr()).await;
    let app = "ai-app";

    // m1 (v1, endpoint 8081, tag zone only): tasks, MISSING_CLIENT_TAGS for
    // rack, and the partitions of its endpoint at a new endpoint epoch.
    let mut j1 = join("m1", "p1");
    j1.version = 1;
    j1.endpoint = Some(8081);
    j1.client_tags = Some(vec![("zone".into(), "z1".into())]);
    let r1 = heartbeat(&mut c, app, "ai-in", &j1).await;
    assert_eq!(r1.error, 0, "{:?}", r1.message);
    assert_eq!(
        r1.status,
        vec![(
            6,
            "Missing required client tags for rack-aware standby assignment: [rack]. Configure \
             them via 'client.tag.<tagKey>' in your Streams config."
                .to_string()
        )]
    );
    assert_eq!(r1.active.as_ref().map(count), Some(4));
    let e = r1.endpoint_epoch;
    assert!(e > 0);
    assert_eq!(r1.endpoint_ports, Some(vec![8081]));
    // At the epoch it knows: no partitions by endpoint; v0: no tag status.
    let mut b1 = beat("m1", r1.epoch, None);
    b1.endpoint_epoch = Some(e);
    let r = heartbeat(&mut c, app, "ai-in", &b1).await;
    assert_eq!((r.endpoint_epoch, r.endpoint_ports), (e, None));
    assert!(r.status.is_empty(), "{:?}", r.status);

    // m2 joins right after the first assignment: within the interval the
    // target is not recomputed (ASSIGNMENT_DELAYED) ...
    let mut j2 = join("m2", "p2");
    j2.endpoint = Some(8082);
    j2.endpoint_epoch = Some(e);
    let r2 = heartbeat(&mut c, app, "ai-in", &j2).await;
    assert_eq!(r2.error, 0, "{:?}", r2.message);
    assert_eq!(
        r2.status,
        vec![(
            5,
            "Assignment delayed due to the configured assignment interval.".to_string()
        )]
    );
    assert_eq!(r2.active.as_ref().map(count), Some(0));
    let e2 = r2.endpoint_epoch;
    assert!(e2 > e, "a new endpoint moves the endpoint epoch");
    let mut ports = r2.endpoint_ports.clone().unwrap();
    ports.sort();
    assert_eq!(ports, vec![8081, 8082]);
    let (_, state, _) = describe(&mut c, app).await;
    assert_eq!(state, "Assigning");
    // ... and after it, the next heartbeat computes it: m1 gives up half.
    tokio::time::sleep(std::time::Duration::from_millis(1600)).await;
    let r = heartbeat(&mut c, app, "ai-in", &b1).await;
    assert!(r.status.is_empty(), "{:?}", r.status);
    assert_eq!(r.active.as_ref().map(count), Some(2));
    assert!(r.endpoint_epoch > e2, "m1's tasks changed");
    let (_, state, members) = describe(&mut c, app).await;
    assert_eq!(state, "Reconciling");
    assert!(
        members.iter().all(|(_, _, target)| *target == 2),
        "{members:?}"
    );
    b.stop().await;
}

#[tokio::test]
async fn the_group_config_streams_assignment_interval_ms_delays_the_next_target() {
    let b = TestBroker::start(GROUP_SETTINGS).await;
    b.create_topic("gi-in", 2);
    let mut c = RawClient::connect(b.addr()).await;
    let app = "gi-app";
    // The broker's interval is 0 here; the group's own is 10 s (Kafka allows up to
    // group.streams.max.assignment.interval.ms, 15 s).
    async fn alter(c: &mut RawClient, value: &'static str) -> (i16, Option<String>) {
        let ops = [("streams.assignment.interval.ms", Some(value), 0)];
        c.incremental_alter_configs(32, "gi-app", &ops, false).await // 32: GROUP
    }
    assert_eq!(
        alter(&mut c, "15001").await,
        (
            40,
            Some(
                "streams.assignment.interval.ms must be in the range 0 to 15000 inclusive.".into()
            )
        )
    );
    assert_eq!(alter(&mut c, "10000").await, (0, None));
    let r1 = heartbeat(&mut c, app, "gi-in", &join("m1", "p1")).await;
    assert_eq!(r1.active.as_ref().map(count), Some(4));
    let r2 = heartbeat(&mut c, app, "gi-in", &join("m2", "p2")).await;
    assert_eq!(
        r2.status,
        vec![(
            5,
            "Assignment delayed due to the configured assignment interval.".to_string()
        )]
    );
    // Another group, without the override: no delay.
    let r1 = heartbeat(&mut c, "gi-other", "gi-in", &join("m1", "p1")).await;
    assert_eq!(r1.active.as_ref().map(count), Some(4));
    let r2 = heartbeat(&mut c, "gi-other", "gi-in", &join("m2", "p2")).await;
    assert!(r2.status.is_empty(), "{:?}", r2.status);
    b.stop().await;
}
