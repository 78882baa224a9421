//! ACLs and the authorizer built on them, with the semantics of Apache Kafka's
//! StandardAuthorizer: bindings of a resource pattern (topic, group, cluster,
//! transactional id, delegation token, user; LITERAL or PREFIXED; `*`) to an
//! entry (principal with `User:*`, host with `*`, operation, ALLOW/DENY);
//! deny beats allow; `super.users`; `allow.everyone.if.no.acl.found`. Turned on
//! by `authorizer.class.name` (Kafka's StandardAuthorizer or AclAuthorizer
//! class name). Persisted in the data dir, effective immediately.
//!
//! This module knows nothing of requests: the request pipeline
//! ([`crate::pipeline`]) adapts [`StandardAuthorizer`] to its `Authorizer`
//! stage, and the CreateAcls / DescribeAcls / DeleteAcls handlers manage it.
//!
//! # Layout
//! - [`model`]: the enums with Kafka's codes, bindings, filters, validation.
//! - [`index`]: the lock-free, allocation-free lookup structure.
//! - [`authorizer`]: [`StandardAuthorizer`] (decisions, changes, persistence).
//! - [`checkpoint`]: the on-disk format (`weir-acls.checkpoint`, CRC-checked).
//! - [`denials`]: the rate-limited denial log.

pub mod authorizer;
pub mod checkpoint;
pub mod denials;
pub mod index;
pub mod model;

pub use authorizer::{AclError, Caller, StandardAuthorizer, AUTHORIZER_CLASS_NAMES};
pub use model::{
    AclBinding, AclBindingFilter, AclOperation, PatternType, PermissionType, ResourceType,
    CLUSTER_NAME, WILDCARD,
};
