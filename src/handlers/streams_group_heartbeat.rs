//! StreamsGroupHeartbeat (key 88), v0: the KIP-1071 streams rebalance protocol.
//! Joins (epoch 0, with the topology), heartbeats, and leaves (epoch -1,
//! static -2) a streams group; the broker creates the internal topics the
//! topology declares, assigns tasks and returns them by subtopology.
//!
//! The `kafka-protocol` crate has no StreamsGroup messages (0.18), so the body
//! is read and written here field by field ([`crate::codec::flex`]), with
//! Kafka 4.4's layouts: v1 (what a 4.4 Streams client sends to a 4.4 broker)
//! has the request of v0; its response carries `AcceptableRecoveryLag` as an
//! int64 and `TopologyDescriptionRequired` (KIP-1331), always false here: weir,
//! like a Kafka broker without `group.streams.topology.description.plugin.class`,
//! stores no topology descriptions.

use super::join_group::client_host;
use crate::acl::AclOperation;
use crate::codec::flex::{FlexError, Reader, Writer};
use crate::config::topic::TopicConfig;
use crate::groups::streams::{
    status, CopartitionGroup, Endpoint, HeartbeatRequest, HeartbeatResponse, Status, Subtopology,
    TaskOffset, TaskSet, Tasks, TopicInfo, Topology,
};
use crate::groups::wiring::RegistryCatalog;
use crate::handler::{blocking, HandlerError, RawContext};
use crate::partitions::{NewTopic, TopicError};
use crate::state::BrokerState;
use bytes::Bytes;
use kafka_protocol::ResponseError;
use std::sync::Arc;

pub const KEY: i16 = 88;
pub const VERSIONS: (i16, i16) = (0, 1);

/// v0's `AcceptableRecoveryLagLegacy`: Kafka 4.4 answers 0 (warm-up tasks
/// are not used with the streams protocol).
const ACCEPTABLE_RECOVERY_LAG_LEGACY: i32 = 0;
/// v1's `AcceptableRecoveryLag`: Kafka 4.4's `group.streams.acceptable.recovery.lag`
/// default (-1, the field's default, in error and leave answers).
const ACCEPTABLE_RECOVERY_LAG: i64 = 10_000;
/// How often members report task offsets (Kafka's default, 1 minute).
const TASK_OFFSET_INTERVAL_MS: i32 = 60_000;

pub async fn handle(
    state: Arc<BrokerState>,
    ctx: RawContext,
    body: Bytes,
) -> Result<Bytes, HandlerError> {
    let mut req = decode(&body).map_err(|e| HandlerError::Internal(e.to_string()))?;
    let rctx = &ctx.ctx;
    let version = rctx.api_version;
    req.client_id = rctx.client_id.clone().unwrap_or_default();
    req.client_host = client_host(rctx);
    req.version = version;
    // As Kafka: READ on the group, DESCRIBE on the source topics.
    let p = &state.pipeline;
    let denied = if !p.allows_group(rctx, AclOperation::Read, &req.group_id) {
        Some(ResponseError::GroupAuthorizationFailed)
    } else if req.topology.as_ref().is_some_and(|t| {
        t.subtopologies
            .iter()
            .flat_map(|s| &s.source_topics)
            .any(|t| !p.allows_topic(rctx, AclOperation::Describe, t))
    }) {
        Some(ResponseError::TopicAuthorizationFailed)
    } else {
        None
    };
    if let Some(e) = denied {
        let mut r = HeartbeatResponse::error(e, "");
        r.error_message = None;
        return Ok(encode(&r, version));
    }
    state.ensure_group_log().await;
    // As Kafka's KafkaApis: internal topics are created for a principal
    // allowed to CREATE on the cluster or on each topic.
    let may_create_all = p.allows_cluster(rctx, AclOperation::Create);
    let may_create: Vec<String> = if may_create_all {
        Vec::new()
    } else {
        state
            .groups
            .streams_internal_topics(
                &req.group_id,
                req.topology.as_ref(),
                &RegistryCatalog(&state.partitions),
            )
            .into_iter()
            .map(|t| t.name)
            .filter(|t| p.allows_topic(rctx, AclOperation::Create, t))
            .collect()
    };
    let st = state.clone();
    let resp = blocking(move || {
        let status = create_internal_topics(&st, &req, |t| {
            may_create_all || may_create.iter().any(|n| n == t)
        });
        let mut resp = st
            .groups
            .streams_heartbeat(req, &RegistryCatalog(&st.partitions));
        if resp.error == 0 {
            if let Some(s) = status {
                resp.status.get_or_insert_with(Vec::new).push(s);
            }
        }
        resp
    })
    .await?;
    Ok(encode(&resp, version))
}

/// Create the internal topics (repartition, changelog) of the group's topology
/// that do not exist yet and `allowed` lets the principal create; those that
/// are still missing give a MISSING_INTERNAL_TOPICS status (Kafka's texts).
fn create_internal_topics(
    state: &BrokerState,
    req: &HeartbeatRequest,
    allowed: impl Fn(&str) -> bool,
) -> Option<Status> {
    let catalog = RegistryCatalog(&state.partitions);
    let needed =
        state
            .groups
            .streams_internal_topics(&req.group_id, req.topology.as_ref(), &catalog);
    let missing: Vec<TopicInfo> = needed
        .into_iter()
        .filter(|t| state.partitions.topic(&t.name).is_none())
        .collect();
    if missing.is_empty() {
        return None;
    }
    let (create, unauthorized): (Vec<TopicInfo>, Vec<TopicInfo>) =
        missing.into_iter().partition(|t| allowed(&t.name));
    if !unauthorized.is_empty() {
        let names: Vec<&str> = unauthorized.iter().map(|t| t.name.as_str()).collect();
        return Some(Status {
            code: status::MISSING_INTERNAL_TOPICS,
            detail: format!("Unauthorized to CREATE on topics {}.", names.join(", ")),
        });
    }
    let names: Vec<String> = create.iter().map(|t| t.name.clone()).collect();
    let new: Vec<NewTopic> = create
        .into_iter()
        .map(|t| {
            let mut config = TopicConfig::default();
            for (k, v) in &t.configs {
                if let Err(e) = config.set(k, v) {
                    tracing::warn!("internal topic {}: config {k}={v} ignored: {e}", t.name);
                }
            }
            NewTopic {
                name: t.name,
                partitions: t.partitions,
                config,
            }
        })
        .collect();
    for r in state.partitions.create_topics(new, false) {
        match r {
            Ok(Some(t)) => tracing::info!(
                "created internal topic {} of streams group {}",
                t.name,
                req.group_id
            ),
            // Another member's heartbeat created it first.
            Ok(None) | Err(TopicError::AlreadyExists(_)) => {}
            Err(e) => tracing::warn!(
                "could not create an internal topic of streams group {}: {e}",
                req.group_id
            ),
        }
    }
    let still: Vec<String> = names
        .into_iter()
        .filter(|n| state.partitions.topic(n).is_none())
        .collect();
    (!still.is_empty()).then(|| Status {
        code: status::MISSING_INTERNAL_TOPICS,
        detail: format!("Internal topics are missing: {}", still.join(", ")),
    })
}

fn key_value(r: &mut Reader) -> Result<(String, String), FlexError> {
    let kv = (r.string()?, r.string()?);
    r.tagged_fields()?;
    Ok(kv)
}

fn topic_info(r: &mut Reader) -> Result<TopicInfo, FlexError> {
    let t = TopicInfo {
        name: r.string()?,
        partitions: r.i32()?,
        replication_factor: r.i16()?,
        configs: r.array(key_value)?,
    };
    r.tagged_fields()?;
    Ok(t)
}

fn task_ids(r: &mut Reader) -> Result<(String, Vec<i32>), FlexError> {
    let t = (r.string()?, r.array(|r| r.i32())?);
    r.tagged_fields()?;
    Ok(t)
}

fn task_set(xs: Option<Vec<(String, Vec<i32>)>>) -> TaskSet {
    let mut s = TaskSet::new();
    for (sub, ps) in xs.into_iter().flatten() {
        s.entry(sub).or_default().extend(ps);
    }
    s.retain(|_, ps| !ps.is_empty());
    s
}

fn subtopology(r: &mut Reader) -> Result<Subtopology, FlexError> {
    let s = Subtopology {
        id: r.string()?,
        source_topics: r.array(|r| r.string())?,
        source_topic_regex: r.array(|r| r.string())?,
        changelog_topics: r.array(topic_info)?,
        repartition_sink_topics: r.array(|r| r.string())?,
        repartition_source_topics: r.array(topic_info)?,
        copartition_groups: r.array(|r| {
            let g = CopartitionGroup {
                source_topics: r.array(|r| r.i16())?,
                source_topic_regex: r.array(|r| r.i16())?,
                repartition_source_topics: r.array(|r| r.i16())?,
            };
            r.tagged_fields()?;
            Ok(g)
        })?,
    };
    r.tagged_fields()?;
    Ok(s)
}

fn task_offset(r: &mut Reader) -> Result<TaskOffset, FlexError> {
    let t = (r.string()?, r.i32()?, r.i64()?);
    r.tagged_fields()?;
    Ok(t)
}

/// Read a v0 request body.
pub fn decode(body: &[u8]) -> Result<HeartbeatRequest, FlexError> {
    let mut r = Reader::new(body);
    let mut req = HeartbeatRequest {
        group_id: r.string()?,
        member_id: r.string()?,
        member_epoch: r.i32()?,
        endpoint_information_epoch: r.i32()?,
        instance_id: r.nullable_string()?,
        rack_id: r.nullable_string()?,
        rebalance_timeout_ms: r.i32()?,
        ..Default::default()
    };
    if r.present()? {
        let epoch = r.i32()?;
        let subtopologies = r.array(subtopology)?;
        r.tagged_fields()?;
        req.topology = Some(Topology {
            epoch,
            subtopologies,
        });
    }
    let active = r.nullable_array(task_ids)?;
    let standby = r.nullable_array(task_ids)?;
    let warmup = r.nullable_array(task_ids)?;
    if active.is_some() || standby.is_some() || warmup.is_some() {
        req.owned = Some(Tasks {
            active: task_set(active),
            standby: task_set(standby),
            warmup: task_set(warmup),
        });
    }
    req.process_id = r.nullable_string()?;
    if r.present()? {
        req.user_endpoint = Some(Endpoint {
            host: r.string()?,
            port: r.u16()?,
        });
        r.tagged_fields()?;
    }
    req.client_tags = r.nullable_array(key_value)?;
    req.task_offsets = r.nullable_array(task_offset)?;
    req.task_end_offsets = r.nullable_array(task_offset)?;
    req.shutdown_application = r.bool()?;
    r.tagged_fields()?;
    Ok(req)
}

fn write_tasks(w: &mut Writer, s: Option<&TaskSet>) {
    let xs: Option<Vec<(&String, Vec<i32>)>> = s.map(|s| {
        s.iter()
            .map(|(k, v)| (k, v.iter().copied().collect()))
            .collect()
    });
    w.nullable_array(xs.as_deref(), |w, (sub, ps)| {
        w.string(sub);
        w.array(ps, |w, p| w.i32(*p));
        w.tagged_fields();
    });
}

fn write_topic_partitions(w: &mut Writer, tps: &[(String, Vec<i32>)]) {
    w.array(tps, |w, (t, ps)| {
        w.string(t);
        w.array(ps, |w, p| w.i32(*p));
        w.tagged_fields();
    });
}

/// Write a response body (v0 or v1).
pub fn encode(r: &HeartbeatResponse, version: i16) -> Bytes {
    let mut w = Writer::default();
    w.i32(0);
    w.i16(r.error);
    w.nullable_string(r.error_message.as_deref());
    w.string(&r.member_id);
    w.i32(r.member_epoch);
    w.i32(r.heartbeat_interval_ms);
    // Kafka leaves both at 0 in an error answer and in the answer to a leave.
    let ok = r.error == 0 && r.member_epoch >= 0;
    if version == 0 {
        w.i32(if ok {
            ACCEPTABLE_RECOVERY_LAG_LEGACY
        } else {
            0
        });
    }
    w.i32(if ok { TASK_OFFSET_INTERVAL_MS } else { 0 });
    if version >= 1 {
        w.i64(if ok { ACCEPTABLE_RECOVERY_LAG } else { -1 });
    }
    w.nullable_array(r.status.as_deref(), |w, s| {
        w.i8(s.code);
        w.string(&s.detail);
        w.tagged_fields();
    });
    let a = r.assignment.as_ref();
    write_tasks(&mut w, a.map(|a| &a.active));
    write_tasks(&mut w, a.map(|a| &a.standby));
    write_tasks(&mut w, a.map(|a| &a.warmup));
    if version >= 1 {
        w.bool(false); // TopologyDescriptionRequired: no description plugin
    }
    w.i32(r.endpoint_information_epoch);
    w.nullable_array(r.partitions_by_endpoint.as_deref(), |w, e| {
        w.string(&e.endpoint.host);
        w.u16(e.endpoint.port);
        w.tagged_fields();
        write_topic_partitions(w, &e.active);
        write_topic_partitions(w, &e.standby);
        w.tagged_fields();
    });
    w.tagged_fields();
    w.finish()
}
