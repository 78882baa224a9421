//! StreamsGroupDescribe (key 89), v0: state, epochs, topology and members
//! (process, endpoint, current and target tasks) of streams groups, as
//! `Admin.describeStreamsGroups` and `kafka-streams-groups --describe` read them.
//!
//! Hand-written body codec ([`crate::codec::flex`]): `kafka-protocol` 0.18 has
//! no StreamsGroup messages. v1 (Kafka 4.4) adds `IncludeTopologyDescription`
//! and, per group, the topology description with its status and the assignor
//! name: as a Kafka 4.4 broker without a topology description plugin answers,
//! no description (status NOT_STORED when asked for, NOT_REQUESTED else) and
//! the assignor `sticky`; an error entry has status 0 and no assignor.

use crate::acl::{AclOperation, ResourceType};
use crate::codec::flex::{FlexError, Reader, Writer};
use crate::groups::streams::{TaskSet, Tasks, TopicInfo};
use crate::groups::StreamsGroupDescription;
use crate::handler::{HandlerError, RawContext};
use crate::state::BrokerState;
use bytes::Bytes;
use kafka_protocol::ResponseError;
use std::sync::Arc;

pub const KEY: i16 = 89;
pub const VERSIONS: (i16, i16) = (0, 1);

/// The group operations StreamsGroupDescribe reports (READ, DELETE, DESCRIBE).
const GROUP_OPS: i32 = (1 << 3) | (1 << 6) | (1 << 8);
/// `authorized_operations` when not asked for (Kafka's `Integer.MIN_VALUE`).
const OPS_NOT_ASKED: i32 = i32::MIN;

/// v1's `TopologyDescriptionStatus` values weir answers.
const TOPOLOGY_NOT_REQUESTED: i8 = 0;
const TOPOLOGY_NOT_STORED: i8 = 1;
/// The broker-side assignor of every streams group (Kafka's default `sticky`).
const ASSIGNOR: &str = "sticky";

/// The request: group ids, whether to include authorized operations, and
/// (v1) whether to include the topology description.
pub fn decode(body: &[u8], version: i16) -> Result<(Vec<String>, bool, bool), FlexError> {
    let mut r = Reader::new(body);
    let ids = r.array(|r| r.string())?;
    let ops = r.bool()?;
    let topology = if version >= 1 { r.bool()? } else { false };
    r.tagged_fields()?;
    Ok((ids, ops, topology))
}

pub async fn handle(
    state: Arc<BrokerState>,
    ctx: RawContext,
    body: Bytes,
) -> Result<Bytes, HandlerError> {
    let rctx = &ctx.ctx;
    let version = rctx.api_version;
    let (ids, include_ops, include_topology) =
        decode(&body, version).map_err(|e| HandlerError::Internal(e.to_string()))?;
    let v1 = (version >= 1).then_some(if include_topology {
        TOPOLOGY_NOT_STORED
    } else {
        TOPOLOGY_NOT_REQUESTED
    });
    let mut w = Writer::default();
    w.i32(0);
    w.len(Some(ids.len()));
    for id in &ids {
        let allowed = state
            .pipeline
            .allows_group(rctx, AclOperation::Describe, id);
        let ops = if include_ops && allowed {
            state
                .pipeline
                .authorized_operations(rctx, ResourceType::Group, id, GROUP_OPS)
        } else {
            OPS_NOT_ASKED
        };
        let described = if !allowed {
            Err((ResponseError::GroupAuthorizationFailed.code(), None))
        } else if id.is_empty() {
            Err((ResponseError::InvalidGroupId.code(), None))
        } else {
            state
                .groups
                .streams_describe(id)
                .map_err(|code| (code, Some(format!("Group {id} not found."))))
        };
        write_group(&mut w, id, described, ops, v1);
    }
    w.tagged_fields();
    Ok(w.finish())
}

fn write_task_set(w: &mut Writer, s: &TaskSet) {
    let xs: Vec<(&String, Vec<i32>)> = s
        .iter()
        .map(|(k, v)| (k, v.iter().copied().collect()))
        .collect();
    w.array(&xs, |w, (sub, ps)| {
        w.string(sub);
        w.array(ps, |w, p| w.i32(*p));
        w.tagged_fields();
    });
}

fn write_tasks(w: &mut Writer, t: &Tasks) {
    write_task_set(w, &t.active);
    write_task_set(w, &t.standby);
    write_task_set(w, &t.warmup);
    w.tagged_fields();
}

fn write_topic_infos(w: &mut Writer, ts: &[TopicInfo]) {
    w.array(ts, |w, t| {
        w.string(&t.name);
        w.i32(t.partitions);
        w.i16(t.replication_factor);
        w.array(&t.configs, |w, (k, v)| {
            w.string(k);
            w.string(v);
            w.tagged_fields();
        });
        w.tagged_fields();
    });
}

fn write_group(
    w: &mut Writer,
    id: &str,
    described: Result<StreamsGroupDescription, (i16, Option<String>)>,
    ops: i32,
    v1_topology_status: Option<i8>,
) {
    let d = match described {
        Err((code, message)) => {
            w.i16(code);
            w.nullable_string(message.as_deref());
            // As Kafka 4.4: every other field at its default.
            w.string(id);
            w.string("");
            w.i32(0);
            w.i32(0);
            w.i8(-1); // no topology
            w.len(Some(0));
            w.i32(ops);
            if v1_topology_status.is_some() {
                w.i8(-1); // no topology description
                w.i8(TOPOLOGY_NOT_REQUESTED);
                w.nullable_string(None); // no assignor
            }
            w.tagged_fields();
            return;
        }
        Ok(d) => d,
    };
    w.i16(0);
    w.nullable_string(None);
    w.string(id);
    w.string(&d.state);
    w.i32(d.group_epoch);
    w.i32(d.assignment_epoch);
    match &d.topology {
        None => w.i8(-1),
        Some(t) => {
            w.i8(1);
            w.i32(t.epoch);
            w.array(&t.subtopologies, |w, s| {
                w.string(&s.id);
                w.array(&s.source_topics, |w, t| w.string(t));
                w.array(&s.repartition_sink_topics, |w, t| w.string(t));
                write_topic_infos(w, &s.changelog_topics);
                write_topic_infos(w, &s.repartition_source_topics);
                w.tagged_fields();
            });
            w.tagged_fields();
        }
    }
    w.array(&d.members, |w, m| {
        w.string(&m.member_id);
        w.i32(m.member_epoch);
        w.nullable_string(m.instance_id.as_deref());
        w.nullable_string(m.rack_id.as_deref());
        w.string(&m.client_id);
        w.string(&m.client_host);
        w.i32(m.topology_epoch);
        w.string(&m.process_id);
        match &m.user_endpoint {
            None => w.i8(-1),
            Some(e) => {
                w.i8(1);
                w.string(&e.host);
                w.u16(e.port);
                w.tagged_fields();
            }
        }
        w.array(&m.client_tags, |w, (k, v)| {
            w.string(k);
            w.string(v);
            w.tagged_fields();
        });
        for offsets in [&m.task_offsets, &m.task_end_offsets] {
            w.array(offsets, |w, (sub, p, o)| {
                w.string(sub);
                w.i32(*p);
                w.i64(*o);
                w.tagged_fields();
            });
        }
        write_tasks(w, &m.assignment);
        write_tasks(w, &m.target_assignment);
        w.bool(false);
        w.tagged_fields();
    });
    w.i32(ops);
    if let Some(status) = v1_topology_status {
        w.i8(-1); // no topology description
        w.i8(status);
        w.nullable_string(Some(ASSIGNOR));
    }
    w.tagged_fields();
}
