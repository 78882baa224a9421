//! The group coordinator: consumer groups and their committed offsets.
//!
//! The broker is coordinator for every group (one node). This module owns the
//! group state (classic protocol and KIP-848), the committed offsets, and their
//! durability in an internal compacted log like Kafka's `__consumer_offsets`,
//! replayed at start-up so that a restart loses no commit and no group.
//!
//! # Layout
//! - [`classic`]: the classic protocol's state machine (JoinGroup, SyncGroup,
//!   Heartbeat, LeaveGroup; static membership; rebalance/session/sync timeouts).
//! - [`consumer`]: KIP-848 consumer groups (ConsumerGroupHeartbeat: member
//!   epochs, broker-side assignment, incremental revocation, regex subscriptions).
//! - [`migration`]: KIP-848 online migration: a live classic group upgraded
//!   by a consumer-protocol member, classic members served inside a consumer
//!   group, the downgrade when the last consumer-protocol member leaves.
//! - [`assignor`]: the broker-side assignors (`uniform`, `range`).
//! - [`streams`]: KIP-1071 streams groups (StreamsGroupHeartbeat: topology,
//!   task assignment with standbys, internal topics).
//! - [`expiry`]: committed-offset expiry (`offsets.retention.minutes`).
//! - [`protocol`]: reading the classic `consumer` embedded protocol metadata.
//! - [`records`]: keys and values of the internal log.
//! - [`log`]: the [`log::GroupLog`] seam: in memory, or a storage partition log.
//! - [`wiring`]: the coordinator inside the broker (internal topic, settings, topics).
//! - `config`: [`GroupConfig`], the broker settings the coordinator reads.
//! - `coordinator`: [`Coordinator`], the thread-safe front the handlers call,
//!   and the group state it guards (one mutex).
//! - `membership`: JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
//!   ConsumerGroupHeartbeat: validated and routed to the group.
//! - `offsets`: OffsetCommit / OffsetFetch / OffsetDelete and transactional
//!   offsets.
//! - `streams_membership`: StreamsGroupHeartbeat and StreamsGroupDescribe
//!   entry points of [`streams`] groups (validation, kind switches, persistence).
//! - `admin`: ListGroups, DescribeGroups, ConsumerGroupDescribe, DeleteGroups, lag.
//! - `persist`: replay of the internal log; persisting a group that changed.
//! - `timers`: the one background task driving every deadline (no polling).
//! - `member_epochs`: what consumer and streams groups do alike with members
//!   (reconciliation halves, static leave, deadlines).
//!
//! Time inside the state machines is milliseconds since the coordinator
//! started (monotonic); commit and state timestamps, and offset expiry, use the
//! (injectable) wall clock.

mod admin;
pub mod assignor;
pub mod classic;
mod config;
pub mod consumer;
mod coordinator;
pub mod expiry;
pub mod group_configs;
pub mod log;
mod member_epochs;
mod membership;
pub mod migration;
mod offsets;
mod persist;
pub mod protocol;
pub mod records;
pub mod streams;
mod streams_membership;
mod timers;
pub mod wiring;

pub use self::admin::{
    ConsumerGroupDescription, ConsumerMemberDescription, GroupDescription, GroupListing,
    MemberDescription, PartitionLag,
};
pub use self::assignor::Assignment;
pub use self::config::{GroupConfig, MigrationPolicy};
pub use self::coordinator::{new_member_id, Coordinator, CoordinatorError, GroupKind, WallClock};
pub use self::expiry::ExpiryOutcome;
pub use self::offsets::{CommitPartition, CommitRequest, FetchedOffset};
pub use self::streams_membership::{StreamsGroupDescription, StreamsMemberDescription};

#[cfg(test)]
mod tests;
