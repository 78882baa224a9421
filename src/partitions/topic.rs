//! A topic (name, id, its partitions and config overrides) and Kafka's topic-name rules.

use super::error::TopicError;
use super::partition::Partition;
use crate::config::topic::{ResolvedTopicConfig, TopicConfig};
use arc_swap::{ArcSwap, Guard};
use parking_lot::RwLock;
use std::sync::Arc;
use uuid::Uuid;

/// Kafka's internal topics (reported with `is_internal`).
pub const INTERNAL_TOPICS: &[&str] = &["__consumer_offsets", "__transaction_state"];
/// Kafka's maximum topic name length.
pub const MAX_TOPIC_NAME_LEN: usize = 249;

/// Check a topic name as Kafka does: 1-249 chars of `[a-zA-Z0-9._-]`, not `.` or `..`;
/// the texts are Kafka's (`org.apache.kafka.common.internals.Topic.validate`).
pub fn validate_topic_name(name: &str) -> Result<(), TopicError> {
    let bad = |why: String| Err(TopicError::InvalidName(name.to_string(), why));
    if name.is_empty() {
        return bad("the empty string is not allowed".into());
    }
    if name == "." || name == ".." {
        return bad(format!("'{name}' is not allowed"));
    }
    if name.len() > MAX_TOPIC_NAME_LEN {
        return bad(format!(
            "the length of '{name}' is longer than the max allowed length {MAX_TOPIC_NAME_LEN}"
        ));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
    {
        return bad(format!(
            "'{name}' contains one or more characters other than ASCII alphanumerics, \
             '.', '_' and '-'"
        ));
    }
    Ok(())
}

/// A topic.
pub struct Topic {
    pub name: String,
    pub id: Uuid,
    pub internal: bool,
    pub(super) partitions: RwLock<Vec<Arc<Partition>>>,
    /// The config, resolved; replaced whole when it changes, read lock-free.
    pub(super) config: ArcSwap<ResolvedTopicConfig>,
}

impl Topic {
    pub fn partitions(&self) -> Vec<Arc<Partition>> {
        self.partitions.read().clone()
    }
    pub fn partition(&self, index: i32) -> Option<Arc<Partition>> {
        let parts = self.partitions.read();
        usize::try_from(index)
            .ok()
            .and_then(|i| parts.get(i).cloned())
    }
    pub fn partition_count(&self) -> i32 {
        self.partitions.read().len() as i32
    }
    /// A copy of the config overrides (DescribeConfigs, AlterConfigs).
    pub fn config(&self) -> TopicConfig {
        self.config.load().overrides.clone()
    }
    /// The resolved config, lock-free (the produce path reads it per request).
    pub fn resolved(&self) -> Guard<Arc<ResolvedTopicConfig>> {
        self.config.load()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_follow_kafka_rules() {
        for ok in ["a", "my-topic", "A.b_c-9", &"x".repeat(249)] {
            assert!(validate_topic_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "has space", "slash/", "ü", &"x".repeat(250)] {
            assert!(validate_topic_name(bad).is_err(), "{bad}");
        }
    }
}
