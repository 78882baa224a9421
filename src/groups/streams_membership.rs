//! The coordinator's entry points for streams groups: StreamsGroupHeartbeat
//! (validated, routed to the group, the group persisted), the internal topics
//! a group's topology needs, and StreamsGroupDescribe.

use super::consumer::TopicCatalog;
use super::coordinator::{Group, GroupKind};
use super::streams::{
    configure, Endpoint, HeartbeatRequest, HeartbeatResponse, StreamsGroup, TaskOffset, Tasks,
    TopicInfo, Topology,
};
use super::Coordinator;
use kafka_protocol::ResponseError as E;
use std::collections::BTreeMap;

/// One member as StreamsGroupDescribe shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamsMemberDescription {
    pub member_id: String,
    pub member_epoch: i32,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub topology_epoch: i32,
    pub process_id: String,
    pub user_endpoint: Option<Endpoint>,
    pub client_tags: Vec<(String, String)>,
    pub assignment: Tasks,
    pub target_assignment: Tasks,
    /// The task offsets and end offsets the member last reported.
    pub task_offsets: Vec<TaskOffset>,
    pub task_end_offsets: Vec<TaskOffset>,
}

/// A streams group as StreamsGroupDescribe shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamsGroupDescription {
    pub state: String,
    pub group_epoch: i32,
    pub assignment_epoch: i32,
    pub topology: Option<Topology>,
    pub members: Vec<StreamsMemberDescription>,
}

impl Coordinator {
    /// StreamsGroupHeartbeat.
    pub fn streams_heartbeat(
        &self,
        req: HeartbeatRequest,
        catalog: &dyn TopicCatalog,
    ) -> HeartbeatResponse {
        let invalid = |m: &str| HeartbeatResponse::error(E::InvalidRequest, m);
        if req.group_id.is_empty() {
            return invalid("GroupId can't be empty.");
        }
        if req.member_id.is_empty() {
            return invalid("MemberId can't be empty.");
        }
        if req.instance_id.as_deref() == Some("") {
            return invalid("InstanceId can't be empty.");
        }
        if req.rack_id.as_deref() == Some("") {
            return invalid("RackId can't be empty.");
        }
        if req.member_epoch < -2 {
            return invalid(&format!("MemberEpoch {} is invalid.", req.member_epoch));
        }
        // (Kafka 4.4 accepts a join without a process id or rebalance timeout.)
        if req.member_epoch == 0 && req.topology.is_none() {
            return invalid("Topology must be non-null when (re-)joining.");
        }
        let now = self.now();
        let mut groups = self.lock();
        let group_id = req.group_id.clone();
        if !groups.contains_key(&group_id) {
            if req.member_epoch != 0 {
                return HeartbeatResponse::error(
                    E::GroupIdNotFound,
                    &format!("Streams group {group_id} not found."),
                );
            }
            groups.insert(
                group_id.clone(),
                Group {
                    kind: GroupKind::Streams(StreamsGroup::new(&group_id)),
                    offsets: BTreeMap::new(),
                },
            );
        }
        let g = groups.get_mut(&group_id).unwrap();
        if !matches!(g.kind, GroupKind::Streams(_)) {
            // An empty group of another kind becomes a streams group (its
            // offsets stay); a live one is not a streams group.
            if g.has_members() || req.member_epoch != 0 {
                return HeartbeatResponse::error(
                    E::GroupIdNotFound,
                    &format!("Group {group_id} is not a streams group."),
                );
            }
            self.replace_kind(
                &group_id,
                g,
                GroupKind::Streams(StreamsGroup::new(&group_id)),
            );
        }
        let GroupKind::Streams(sg) = &mut g.kind else {
            unreachable!()
        };
        let cfg = self.config_of(&group_id);
        let resp = sg.heartbeat(req, now, &cfg.streams, catalog);
        self.persist(&group_id, g);
        self.touched();
        resp
    }

    /// The internal topics (repartition, then changelog) that `topology`, or
    /// else the group's own, needs against the topics of `catalog`; empty while
    /// a source topic is missing. The broker creates those that do not exist.
    pub fn streams_internal_topics(
        &self,
        group_id: &str,
        topology: Option<&Topology>,
        catalog: &dyn TopicCatalog,
    ) -> Vec<TopicInfo> {
        let own;
        let topology = match topology {
            Some(t) => t,
            None => {
                let groups = self.lock();
                let Some(GroupKind::Streams(sg)) = groups.get(group_id).map(|g| &g.kind) else {
                    return Vec::new();
                };
                let Some(t) = sg.topology.clone() else {
                    return Vec::new();
                };
                own = t;
                &own
            }
        };
        configure(topology, catalog).internal_topics
    }

    /// StreamsGroupDescribe of one group; `Err` is the error code (GROUP_ID_NOT_FOUND).
    pub fn streams_describe(&self, group_id: &str) -> Result<StreamsGroupDescription, i16> {
        let groups = self.lock();
        let Some(GroupKind::Streams(sg)) = groups.get(group_id).map(|g| &g.kind) else {
            return Err(E::GroupIdNotFound.code());
        };
        Ok(StreamsGroupDescription {
            state: sg.state_name().to_string(),
            group_epoch: sg.group_epoch,
            assignment_epoch: sg.assignment_epoch,
            topology: sg.topology.clone(),
            members: sg
                .members
                .values()
                .map(|m| StreamsMemberDescription {
                    member_id: m.member_id.clone(),
                    member_epoch: m.member_epoch,
                    instance_id: m.instance_id.clone(),
                    rack_id: m.rack_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    topology_epoch: m.topology_epoch,
                    process_id: m.process_id.clone(),
                    user_endpoint: m.user_endpoint.clone(),
                    client_tags: m.client_tags.clone(),
                    assignment: m.assigned.clone(),
                    target_assignment: sg.target.get(&m.member_id).cloned().unwrap_or_default(),
                    task_offsets: flat_offsets(&m.task_offsets),
                    task_end_offsets: flat_offsets(&m.task_end_offsets),
                })
                .collect(),
        })
    }
}

fn flat_offsets(m: &BTreeMap<(String, i32), i64>) -> Vec<TaskOffset> {
    m.iter().map(|((s, p), o)| (s.clone(), *p, *o)).collect()
}
