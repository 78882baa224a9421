//! A share group's membership (KIP-932's ShareGroupHeartbeat): members join
//! with epoch 0, heartbeat with their epoch, leave with -1, and are dropped when
//! they miss `group.share.session.timeout.ms`. The broker assigns: every member
//! gets every partition of the topics it subscribes to (share groups deliver
//! each record to one member whatever the number of members per partition, so
//! there is nothing to balance with one broker). Share groups have no
//! revocation step: a member moves to the new group epoch at once.
//!
//! Pure state (callers pass `now_ms` and the topic catalog).

use std::collections::BTreeMap;

/// Topic name -> (topic id, partition count), as the heartbeat resolves subscriptions.
pub trait Catalog {
    fn topic(&self, name: &str) -> Option<(u128, i32)>;
}

/// An assignment: topic id -> partitions (sorted).
pub type Assignment = BTreeMap<u128, Vec<i32>>;

/// One member.
#[derive(Clone, Debug)]
pub struct Member {
    pub member_id: String,
    pub member_epoch: i32,
    pub rack_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub subscribed: Vec<String>,
    pub assignment: Assignment,
    pub last_heartbeat_ms: u64,
}

/// One share group.
#[derive(Clone, Debug, Default)]
pub struct ShareGroup {
    pub group_id: String,
    pub group_epoch: i32,
    pub members: BTreeMap<String, Member>,
}

/// A heartbeat as the handler decoded it.
#[derive(Clone, Debug)]
pub struct Heartbeat {
    pub member_id: String,
    pub member_epoch: i32,
    pub rack_id: Option<String>,
    pub subscribed: Option<Vec<String>>,
    pub client_id: String,
    pub client_host: String,
}

/// Why a heartbeat was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeartbeatError {
    #[error("UNKNOWN_MEMBER_ID")]
    UnknownMemberId,
    #[error("FENCED_MEMBER_EPOCH")]
    FencedMemberEpoch,
    #[error("INVALID_REQUEST")]
    InvalidRequest,
}

/// The answer to an accepted heartbeat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeartbeatOk {
    pub member_id: String,
    pub member_epoch: i32,
    /// Sent when the member's assignment or epoch changed (null otherwise, as Kafka).
    pub assignment: Option<Assignment>,
}

impl ShareGroup {
    pub fn new(group_id: &str) -> ShareGroup {
        ShareGroup {
            group_id: group_id.to_string(),
            ..ShareGroup::default()
        }
    }

    /// "Empty" or "Stable" (Kafka's `ShareGroupState`).
    pub fn state(&self) -> &'static str {
        if self.members.is_empty() {
            "Empty"
        } else {
            "Stable"
        }
    }

    /// Handle a heartbeat (not a leave: see [`ShareGroup::leave`]).
    pub fn heartbeat(
        &mut self,
        hb: Heartbeat,
        catalog: &dyn Catalog,
        now_ms: u64,
    ) -> Result<HeartbeatOk, HeartbeatError> {
        if hb.member_id.is_empty() {
            return Err(HeartbeatError::InvalidRequest);
        }
        let joining = hb.member_epoch == 0;
        match self.members.get(&hb.member_id) {
            None if !joining => return Err(HeartbeatError::UnknownMemberId),
            None => {
                // As Kafka: the first heartbeat must name the subscription.
                if hb.subscribed.as_ref().is_none_or(|s| s.is_empty()) {
                    return Err(HeartbeatError::InvalidRequest);
                }
            }
            Some(m) if !joining && m.member_epoch != hb.member_epoch => {
                return Err(HeartbeatError::FencedMemberEpoch)
            }
            Some(_) => {}
        }
        let m = self
            .members
            .entry(hb.member_id.clone())
            .or_insert_with(|| Member {
                member_id: hb.member_id.clone(),
                member_epoch: 0,
                rack_id: None,
                client_id: String::new(),
                client_host: String::new(),
                subscribed: Vec::new(),
                assignment: Assignment::new(),
                last_heartbeat_ms: now_ms,
            });
        m.last_heartbeat_ms = now_ms;
        m.client_id = hb.client_id;
        m.client_host = hb.client_host;
        if hb.rack_id.is_some() {
            m.rack_id = hb.rack_id;
        }
        if let Some(mut s) = hb.subscribed {
            s.sort();
            s.dedup();
            m.subscribed = s;
        }
        let target = assign(&m.subscribed, catalog);
        let changed = target != m.assignment || m.member_epoch == 0;
        if changed {
            self.group_epoch += 1;
            let m = self.members.get_mut(&hb.member_id).expect("inserted");
            m.assignment = target;
            m.member_epoch = self.group_epoch;
        }
        let m = &self.members[&hb.member_id];
        Ok(HeartbeatOk {
            member_id: m.member_id.clone(),
            member_epoch: m.member_epoch,
            assignment: (changed || hb.member_epoch != m.member_epoch)
                .then(|| m.assignment.clone()),
        })
    }

    /// A member leaves (epoch -1) or is dropped; `false` when it was not a member.
    pub fn leave(&mut self, member_id: &str) -> bool {
        let gone = self.members.remove(member_id).is_some();
        if gone {
            self.group_epoch += 1;
        }
        gone
    }

    /// Members that missed their session timeout by `now_ms` (to be dropped).
    pub fn expired(&self, now_ms: u64, session_timeout_ms: u64) -> Vec<String> {
        self.members
            .values()
            .filter(|m| m.last_heartbeat_ms + session_timeout_ms <= now_ms)
            .map(|m| m.member_id.clone())
            .collect()
    }

    /// Every (topic id, partition) assigned to some member.
    pub fn assigned_partitions(&self) -> Vec<(u128, i32)> {
        let mut all: Vec<(u128, i32)> = self
            .members
            .values()
            .flat_map(|m| {
                m.assignment
                    .iter()
                    .flat_map(|(t, ps)| ps.iter().map(move |p| (*t, *p)))
            })
            .collect();
        all.sort();
        all.dedup();
        all
    }
}

/// Every partition of every subscribed topic that exists.
fn assign(subscribed: &[String], catalog: &dyn Catalog) -> Assignment {
    subscribed
        .iter()
        .filter_map(|t| catalog.topic(t))
        .filter(|(_, n)| *n > 0)
        .map(|(id, n)| (id, (0..n).collect()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Topics(Vec<(&'static str, u128, i32)>);
    impl Catalog for Topics {
        fn topic(&self, name: &str) -> Option<(u128, i32)> {
            self.0.iter().find(|t| t.0 == name).map(|t| (t.1, t.2))
        }
    }

    fn hb(member: &str, epoch: i32, topics: Option<&[&str]>) -> Heartbeat {
        Heartbeat {
            member_id: member.into(),
            member_epoch: epoch,
            rack_id: None,
            subscribed: topics.map(|t| t.iter().map(|s| s.to_string()).collect()),
            client_id: "c".into(),
            client_host: "/127.0.0.1".into(),
        }
    }

    #[test]
    fn every_member_gets_every_subscribed_partition() {
        let cat = Topics(vec![("t", 7, 2)]);
        let mut g = ShareGroup::new("g");
        let a = g.heartbeat(hb("a", 0, Some(&["t"])), &cat, 0).unwrap();
        assert_eq!(a.member_epoch, 1);
        assert_eq!(a.assignment.unwrap()[&7], vec![0, 1]);
        let b = g
            .heartbeat(hb("b", 0, Some(&["t", "missing"])), &cat, 0)
            .unwrap();
        assert_eq!(b.member_epoch, 2);
        assert_eq!(b.assignment.unwrap()[&7], vec![0, 1]);
        assert_eq!(g.state(), "Stable");
        // A steady heartbeat: same epoch, no assignment sent.
        let a2 = g.heartbeat(hb("a", 1, None), &cat, 1).unwrap();
        assert_eq!((a2.member_epoch, a2.assignment), (1, None));
    }

    #[test]
    fn a_topic_created_later_is_assigned_with_a_new_epoch() {
        let mut g = ShareGroup::new("g");
        let a = g
            .heartbeat(hb("a", 0, Some(&["t"])), &Topics(vec![]), 0)
            .unwrap();
        assert_eq!(a.assignment, Some(Assignment::new()));
        let a = g
            .heartbeat(hb("a", a.member_epoch, None), &Topics(vec![("t", 1, 1)]), 0)
            .unwrap();
        assert_eq!(a.member_epoch, 2);
        assert_eq!(a.assignment.unwrap()[&1], vec![0]);
    }

    #[test]
    fn unknown_members_and_stale_epochs_are_refused() {
        let cat = Topics(vec![("t", 7, 1)]);
        let mut g = ShareGroup::new("g");
        assert_eq!(
            g.heartbeat(hb("a", 3, None), &cat, 0),
            Err(HeartbeatError::UnknownMemberId)
        );
        assert_eq!(
            g.heartbeat(hb("a", 0, None), &cat, 0),
            Err(HeartbeatError::InvalidRequest)
        );
        g.heartbeat(hb("a", 0, Some(&["t"])), &cat, 0).unwrap();
        assert_eq!(
            g.heartbeat(hb("a", 5, None), &cat, 0),
            Err(HeartbeatError::FencedMemberEpoch)
        );
    }

    #[test]
    fn leaving_and_session_expiry() {
        let cat = Topics(vec![("t", 7, 1)]);
        let mut g = ShareGroup::new("g");
        g.heartbeat(hb("a", 0, Some(&["t"])), &cat, 0).unwrap();
        g.heartbeat(hb("b", 0, Some(&["t"])), &cat, 10_000).unwrap();
        assert_eq!(g.expired(45_000, 45_000), vec!["a".to_string()]);
        assert!(g.leave("a"));
        assert!(!g.leave("a"));
        assert_eq!(g.group_epoch, 3);
        assert_eq!(g.assigned_partitions(), vec![(7, 0)]);
        g.leave("b");
        assert_eq!(g.state(), "Empty");
    }
}
