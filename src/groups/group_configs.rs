//! Per-group overrides of the coordinator's timeouts (Kafka 4.4's group
//! configs `consumer.session.timeout.ms`, `consumer.heartbeat.interval.ms`,
//! `streams.session.timeout.ms`, `streams.heartbeat.interval.ms`,
//! `streams.num.standby.replicas`; set on GROUP config resources, see
//! [`crate::config::group`]). A heartbeat of a group with overrides runs on
//! the broker's [`GroupConfig`] with them laid over.

use super::config::GroupConfig;
pub use super::config::{tag_list, GroupOverrides};
use super::coordinator::Coordinator;
use std::borrow::Cow;

impl Coordinator {
    /// Set (or with `None` clear) the overrides of `group_id`; the next
    /// heartbeat of its members uses them.
    pub fn set_group_overrides(&self, group_id: &str, o: Option<GroupOverrides>) {
        let mut map = self.inner.overrides.write();
        match o {
            Some(o) if o != GroupOverrides::default() => map.insert(group_id.to_string(), o),
            _ => map.remove(group_id),
        };
    }

    /// The config a heartbeat of `group_id` runs on.
    pub(super) fn config_of(&self, group_id: &str) -> Cow<'_, GroupConfig> {
        match self.inner.overrides.read().get(group_id) {
            Some(o) => Cow::Owned(o.apply(&self.inner.cfg)),
            None => Cow::Borrowed(&self.inner.cfg),
        }
    }
}
