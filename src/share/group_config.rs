//! A share group's effective settings: its group configs
//! ([`crate::config::group`], `share.*` keys) over the broker's
//! `group.share.*` settings. The coordinator keeps one per group that has
//! overrides; share-partitions take their [`Limits`] from it.

use super::partition::Limits;
use super::ShareConfig;
use crate::config::broker::Settings;
use crate::config::group::{self, AutoOffsetResetStrategy};
use std::collections::BTreeMap;

/// What a share group runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupShareSettings {
    pub limits: Limits,
    pub heartbeat_interval_ms: i32,
    pub session_timeout_ms: u64,
    /// `share.auto.offset.reset`: where a new share-partition starts.
    pub auto_offset_reset: AutoOffsetResetStrategy,
    /// `share.isolation.level=read_committed`.
    pub read_committed: bool,
}

impl GroupShareSettings {
    /// The broker's settings (a group without overrides).
    pub fn broker(base: &ShareConfig) -> GroupShareSettings {
        GroupShareSettings {
            limits: base.limits,
            heartbeat_interval_ms: base.heartbeat_interval_ms,
            session_timeout_ms: base.session_timeout_ms,
            auto_offset_reset: AutoOffsetResetStrategy::Latest,
            read_committed: false,
        }
    }

    /// A group's settings from its group configs over the broker's (`settings`
    /// are the effective broker settings).
    pub fn of(overrides: &BTreeMap<String, String>, settings: &Settings) -> GroupShareSettings {
        let o = Some(overrides);
        let int = |k: &str| group::effective_int(o, k, settings);
        let base = ShareConfig::from_settings(settings);
        GroupShareSettings {
            limits: Limits {
                delivery_count_limit: int("share.delivery.count.limit") as i16,
                lock_duration_ms: int("share.record.lock.duration.ms") as u64,
                max_in_flight: int("share.partition.max.record.locks") as usize,
                // Kafka 4.4's default, true (what DescribeConfigs shows): only an
                // explicit `false` disables RENEW.
                renew_enabled: overrides
                    .get("share.renew.acknowledge.enable")
                    .is_none_or(|v| v.trim().eq_ignore_ascii_case("true")),
            },
            heartbeat_interval_ms: int("share.heartbeat.interval.ms") as i32,
            session_timeout_ms: int("share.session.timeout.ms") as u64,
            auto_offset_reset: AutoOffsetResetStrategy::parse(&group::effective(
                o,
                "share.auto.offset.reset",
                settings,
            ))
            .unwrap_or_default(),
            read_committed: group::effective(o, "share.isolation.level", settings)
                == "read_committed",
        }
        .or_base(&base)
    }

    /// Zeros (keys weir's settings lack) fall back to the broker's values.
    fn or_base(mut self, base: &ShareConfig) -> GroupShareSettings {
        if self.limits.delivery_count_limit <= 0 {
            self.limits.delivery_count_limit = base.limits.delivery_count_limit;
        }
        if self.limits.lock_duration_ms == 0 {
            self.limits.lock_duration_ms = base.limits.lock_duration_ms;
        }
        if self.limits.max_in_flight == 0 {
            self.limits.max_in_flight = base.limits.max_in_flight;
        }
        self
    }
}
