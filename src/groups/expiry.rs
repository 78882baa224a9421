//! Committed-offset expiry (`offsets.retention.minutes`, KIP-211), as Apache
//! Kafka 4.x's group coordinator does it: every
//! `offsets.retention.check.interval.ms` each group's offsets are checked
//! against the group's expiration condition (Kafka's
//! `Group.offsetExpirationCondition` + `OffsetMetadataManager.cleanupExpiredOffsets`),
//! expired ones are tombstoned in `__consumer_offsets`, and an empty group left
//! with no offsets is tombstoned too (`GroupMetadataManager.maybeDeleteGroup`).
//!
//! The condition, per group:
//! - classic group without a protocol type (standalone commits, manual
//!   assignment): each offset expires retention after its commit timestamp;
//! - classic group with a protocol type, Empty: every offset expires retention
//!   after the group became Empty (its current state timestamp; an old record
//!   without one falls back to each commit timestamp);
//! - classic `consumer` group, Stable, subscriptions known: offsets of topics
//!   no member subscribes to expire retention after their commit timestamp;
//! - any other classic group (rebalancing, non-consumer protocol): nothing;
//! - KIP-848 consumer group: offsets of topics no member subscribes to expire
//!   retention after their commit timestamp (all of them once it is empty).
//!
//! Offsets of subscribed topics never expire.

use super::classic::{ClassicGroup, ClassicState};
use super::coordinator::{Group, GroupKind};
use super::log::LogRecord;
use super::protocol::parse_subscription_topics;
use super::records::RecordKey;
use super::Coordinator;
use std::collections::BTreeSet;

/// What one offset expiry pass removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpiryOutcome {
    /// (group, topic, partition) of every committed offset removed.
    pub offsets: Vec<(String, String, i32)>,
    /// Empty groups removed because none of their offsets remained.
    pub groups: Vec<String>,
}

/// How a group's offsets may expire now (Kafka's `OffsetExpirationCondition`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Condition {
    /// The base time of every offset; `None`: each offset's commit timestamp.
    base: Option<i64>,
    /// Topics whose offsets never expire (a member subscribes to them).
    subscribed: BTreeSet<String>,
}

/// The group's condition, or `None` when none of its offsets may expire now.
fn condition(g: &Group) -> Option<Condition> {
    match &g.kind {
        GroupKind::Classic(c) => match &c.protocol_type {
            None => Some(Condition {
                base: None,
                subscribed: BTreeSet::new(),
            }),
            Some(_) if c.state == ClassicState::Empty => Some(Condition {
                base: c.state_timestamp,
                subscribed: BTreeSet::new(),
            }),
            Some(p) if p == "consumer" && c.state == ClassicState::Stable => known_subscriptions(c)
                .map(|subscribed| Condition {
                    base: None,
                    subscribed,
                }),
            Some(_) => None,
        },
        GroupKind::Consumer(cg) => Some(Condition {
            base: None,
            // The subscription metadata may outlive the last member.
            subscribed: if cg.members.is_empty() {
                BTreeSet::new()
            } else {
                cg.subscribed_topics()
            },
        }),
        GroupKind::Streams(sg) => Some(Condition {
            base: None,
            subscribed: if sg.members.is_empty() {
                BTreeSet::new()
            } else {
                sg.source_topics()
            },
        }),
    }
}

/// The topics a classic `consumer` group's members subscribe to; `None` when
/// any member's metadata does not parse (Kafka's `computeSubscribedTopics`).
fn known_subscriptions(c: &ClassicGroup) -> Option<BTreeSet<String>> {
    let protocol = c.protocol_name.as_deref()?;
    let mut topics = BTreeSet::new();
    for m in c.members.values() {
        topics.extend(parse_subscription_topics(&m.metadata(protocol))?);
    }
    Some(topics)
}

/// Whether the group may be removed (Kafka's `Group.isEmpty`).
fn is_empty(g: &Group) -> bool {
    match &g.kind {
        GroupKind::Classic(c) => c.state == ClassicState::Empty && c.is_empty(),
        GroupKind::Consumer(cg) => cg.members.is_empty(),
        GroupKind::Streams(sg) => sg.members.is_empty(),
    }
}

/// The offsets of `g` expired at wall-clock `now`, and whether the group goes
/// with them (it is empty and no offset is left).
fn expired(g: &Group, now: i64, retention_ms: i64) -> (Vec<(String, i32)>, bool) {
    let Some(cond) = condition(g) else {
        return (Vec::new(), false);
    };
    let mut out = Vec::new();
    let mut all = true;
    for ((topic, partition), v) in &g.offsets {
        let base = cond.base.unwrap_or(v.commit_timestamp);
        if !cond.subscribed.contains(topic) && now >= base.saturating_add(retention_ms) {
            out.push((topic.clone(), *partition));
        } else {
            all = false;
        }
    }
    (out, all && is_empty(g))
}

fn tombstone(key: RecordKey) -> LogRecord {
    LogRecord {
        key: key.encode(),
        value: None,
    }
}

impl Coordinator {
    /// One expiry pass (Kafka's `cleanupGroupMetadata`): removes expired offsets
    /// and the empty groups left without offsets, durably (tombstones in the
    /// internal log, synced). Returns what was removed; nothing when the log
    /// is missing or the append fails (retried at the next pass).
    pub async fn expire_offsets(&self) -> ExpiryOutcome {
        let (outcome, last) = {
            let now = self.wall();
            let retention = self.inner.cfg.offsets_retention_ms;
            let mut groups = self.lock();
            let mut records = Vec::new();
            let mut outcome = ExpiryOutcome::default();
            for (id, g) in groups.iter() {
                let (offsets, delete_group) = expired(g, now, retention);
                for (topic, partition) in offsets {
                    records.push(tombstone(RecordKey::Offset {
                        group: id.clone(),
                        topic: topic.clone(),
                        partition,
                    }));
                    outcome.offsets.push((id.clone(), topic, partition));
                }
                if delete_group {
                    records.push(tombstone(match g.kind {
                        GroupKind::Classic(_) => RecordKey::ClassicGroup { group: id.clone() },
                        GroupKind::Consumer(_) => RecordKey::ConsumerGroup { group: id.clone() },
                        GroupKind::Streams(_) => RecordKey::StreamsGroup { group: id.clone() },
                    }));
                    outcome.groups.push(id.clone());
                }
            }
            if records.is_empty() {
                return outcome;
            }
            let last = match self.log().and_then(|l| l.append(&records)) {
                Ok(last) => last,
                Err(e) => {
                    tracing::error!("offset expiry failed: {e}");
                    return ExpiryOutcome::default();
                }
            };
            for (group, topic, partition) in &outcome.offsets {
                if let Some(g) = groups.get_mut(group) {
                    g.offsets.remove(&(topic.clone(), *partition));
                }
            }
            for id in &outcome.groups {
                if let Some(mut g) = groups.remove(id) {
                    if let GroupKind::Classic(c) = &mut g.kind {
                        c.mark_dead();
                    }
                }
            }
            (outcome, last)
        };
        self.sync(last).await;
        outcome
    }
}
