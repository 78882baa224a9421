//! The coordinator's broker settings ([`GroupConfig`]): Kafka's property
//! names, read from the broker's settings and checked. The defaults are not
//! repeated here: they are the broker key table's
//! ([`BROKER_KEYS`](crate::config::broker::BROKER_KEYS)), the one source of
//! truth.

use super::streams::StreamsConfig;
use crate::config::broker::key_def;

/// Broker settings of the coordinator (Kafka's property names in
/// [`GroupConfig::KEYS`]; the defaults in brackets come from the broker key table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupConfig {
    /// `group.initial.rebalance.delay.ms` (3000).
    pub initial_rebalance_delay_ms: u64,
    /// `group.min.session.timeout.ms` (6000).
    pub min_session_timeout_ms: i32,
    /// `group.max.session.timeout.ms` (1800000).
    pub max_session_timeout_ms: i32,
    /// `group.max.size` (unbounded).
    pub max_size: usize,
    /// `group.consumer.session.timeout.ms` (45000).
    pub consumer_session_timeout_ms: u64,
    /// `group.consumer.heartbeat.interval.ms` (5000).
    pub consumer_heartbeat_interval_ms: u64,
    /// `group.consumer.max.size` (unbounded).
    pub consumer_max_size: usize,
    /// `offset.metadata.max.bytes` (4096).
    pub offset_metadata_max_bytes: usize,
    /// `offsets.retention.minutes` (10080), in milliseconds.
    pub offsets_retention_ms: i64,
    /// `offsets.retention.check.interval.ms` (600000).
    pub offsets_retention_check_interval_ms: u64,
    /// `group.consumer.migration.policy` (bidirectional).
    pub migration_policy: MigrationPolicy,
    /// `group.streams.*`: session timeout, heartbeat interval, standby
    /// replicas, maximum size of streams groups ([`GroupConfig::STREAMS_KEYS`]).
    pub streams: StreamsConfig,
}

/// `group.consumer.migration.policy`: which KIP-848 online migrations of a live
/// group are allowed (Kafka's `ConsumerGroupMigrationPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrationPolicy {
    Disabled,
    Upgrade,
    Downgrade,
    Bidirectional,
}

impl MigrationPolicy {
    /// Kafka's values, case-insensitively.
    pub fn parse(raw: &str) -> Option<MigrationPolicy> {
        Some(match raw.trim().to_ascii_lowercase().as_str() {
            "disabled" => MigrationPolicy::Disabled,
            "upgrade" => MigrationPolicy::Upgrade,
            "downgrade" => MigrationPolicy::Downgrade,
            "bidirectional" => MigrationPolicy::Bidirectional,
            _ => return None,
        })
    }

    /// A classic group may become a consumer group.
    pub fn upgrade(self) -> bool {
        matches!(
            self,
            MigrationPolicy::Upgrade | MigrationPolicy::Bidirectional
        )
    }

    /// A consumer group may become a classic group.
    pub fn downgrade(self) -> bool {
        matches!(
            self,
            MigrationPolicy::Downgrade | MigrationPolicy::Bidirectional
        )
    }
}

impl Default for GroupConfig {
    /// Every key at its default in the broker key table.
    fn default() -> Self {
        GroupConfig::from_settings(|_| None).expect("the broker key table's defaults are valid")
    }
}

impl GroupConfig {
    /// The broker property names this module reads.
    pub const KEYS: [&'static str; 11] = [
        "group.initial.rebalance.delay.ms",
        "group.min.session.timeout.ms",
        "group.max.session.timeout.ms",
        "group.max.size",
        "group.consumer.session.timeout.ms",
        "group.consumer.heartbeat.interval.ms",
        "group.consumer.max.size",
        "offset.metadata.max.bytes",
        "offsets.retention.minutes",
        "offsets.retention.check.interval.ms",
        "group.consumer.migration.policy",
    ];

    /// The `group.streams.*` keys this module reads.
    pub const STREAMS_KEYS: [&'static str; 7] = [
        "group.streams.session.timeout.ms",
        "group.streams.heartbeat.interval.ms",
        "group.streams.num.standby.replicas",
        "group.streams.max.size",
        "group.streams.initial.rebalance.delay.ms",
        "group.streams.assignment.interval.ms",
        "group.streams.rack.aware.assignment.tags",
    ];

    /// Build from broker settings; `get` returns the configured value of a key,
    /// `None` for the key's default in the broker key table. An unparsable
    /// value is an error naming the key.
    pub fn from_settings(get: impl Fn(&str) -> Option<String>) -> Result<GroupConfig, String> {
        fn value<T: std::str::FromStr>(
            get: &dyn Fn(&str) -> Option<String>,
            key: &str,
        ) -> Result<T, String> {
            let raw = match get(key) {
                Some(raw) => raw,
                None => key_def(key)
                    .ok_or_else(|| format!("{key} is not a broker setting"))?
                    .default
                    .to_string(),
            };
            raw.trim()
                .parse()
                .map_err(|_| format!("invalid value {raw:?} for {key}"))
        }
        let (k, g) = (Self::KEYS, &get);
        let cfg = GroupConfig {
            initial_rebalance_delay_ms: value(g, k[0])?,
            min_session_timeout_ms: value(g, k[1])?,
            max_session_timeout_ms: value(g, k[2])?,
            max_size: value(g, k[3])?,
            consumer_session_timeout_ms: value(g, k[4])?,
            consumer_heartbeat_interval_ms: value(g, k[5])?,
            consumer_max_size: value(g, k[6])?,
            offset_metadata_max_bytes: value(g, k[7])?,
            offsets_retention_ms: value::<i64>(g, k[8])?.saturating_mul(60_000),
            offsets_retention_check_interval_ms: value(g, k[9])?,
            streams: {
                let sk = Self::STREAMS_KEYS;
                StreamsConfig {
                    session_timeout_ms: value(g, sk[0])?,
                    heartbeat_interval_ms: value(g, sk[1])?,
                    num_standby_replicas: value(g, sk[2])?,
                    max_size: value(g, sk[3])?,
                    initial_rebalance_delay_ms: value(g, sk[4])?,
                    assignment_interval_ms: value(g, sk[5])?,
                    rack_aware_assignment_tags: tag_list(&value::<String>(g, sk[6])?),
                }
            },
            migration_policy: {
                let raw: String = value(g, k[10])?;
                MigrationPolicy::parse(&raw).ok_or_else(|| {
                    format!(
                        "invalid value {raw:?} for {}: one of disabled, upgrade, downgrade, \
                         bidirectional",
                        k[10]
                    )
                })?
            },
        };
        if cfg.offsets_retention_ms < 60_000 {
            return Err("offsets.retention.minutes must be at least 1".into());
        }
        if cfg.offsets_retention_check_interval_ms == 0 {
            return Err("offsets.retention.check.interval.ms must be at least 1".into());
        }
        if cfg.min_session_timeout_ms > cfg.max_session_timeout_ms {
            return Err(
                "group.min.session.timeout.ms is above group.max.session.timeout.ms".into(),
            );
        }
        Ok(cfg)
    }
}

/// A group's overrides (`None`: the broker's setting).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupOverrides {
    pub consumer_session_timeout_ms: Option<u64>,
    pub consumer_heartbeat_interval_ms: Option<u64>,
    pub streams_session_timeout_ms: Option<u64>,
    pub streams_heartbeat_interval_ms: Option<i32>,
    pub streams_num_standby_replicas: Option<usize>,
    pub streams_initial_rebalance_delay_ms: Option<u64>,
    pub streams_assignment_interval_ms: Option<u64>,
    pub streams_rack_aware_assignment_tags: Option<Vec<String>>,
}

impl GroupOverrides {
    /// `cfg` with these overrides laid over.
    pub fn apply(&self, cfg: &GroupConfig) -> GroupConfig {
        let mut c = cfg.clone();
        if let Some(v) = self.consumer_session_timeout_ms {
            c.consumer_session_timeout_ms = v;
        }
        if let Some(v) = self.consumer_heartbeat_interval_ms {
            c.consumer_heartbeat_interval_ms = v;
        }
        if let Some(v) = self.streams_session_timeout_ms {
            c.streams.session_timeout_ms = v;
        }
        if let Some(v) = self.streams_heartbeat_interval_ms {
            c.streams.heartbeat_interval_ms = v;
        }
        if let Some(v) = self.streams_num_standby_replicas {
            c.streams.num_standby_replicas = v;
        }
        if let Some(v) = self.streams_initial_rebalance_delay_ms {
            c.streams.initial_rebalance_delay_ms = v;
        }
        if let Some(v) = self.streams_assignment_interval_ms {
            c.streams.assignment_interval_ms = v;
        }
        if let Some(v) = &self.streams_rack_aware_assignment_tags {
            c.streams.rack_aware_assignment_tags = v.clone();
        }
        c
    }
}

/// A comma-separated list of tag keys (Kafka's `\s*,\s*` split; empty: none).
pub fn tag_list(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(String::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    #[test]
    fn every_key_is_a_broker_key_and_the_defaults_are_the_key_tables() {
        for key in GroupConfig::KEYS.iter().chain(&GroupConfig::STREAMS_KEYS) {
            assert!(key_def(key).is_some(), "{key} missing from BROKER_KEYS");
        }
        let settings = Settings::default();
        let from_broker =
            GroupConfig::from_settings(|k| settings.get(k).map(|s| s.raw.clone())).unwrap();
        assert_eq!(GroupConfig::default(), from_broker);
        // Kafka 4.x's defaults, as the key table gives them.
        let d = GroupConfig::default();
        assert_eq!(d.initial_rebalance_delay_ms, 3000);
        assert_eq!(
            (d.min_session_timeout_ms, d.max_session_timeout_ms),
            (6000, 1_800_000)
        );
        assert_eq!(d.max_size, i32::MAX as usize);
        assert_eq!(d.offsets_retention_ms, 10080 * 60_000);
        assert_eq!(d.offsets_retention_check_interval_ms, 600_000);
        assert_eq!(d.migration_policy, MigrationPolicy::Bidirectional);
        assert_eq!(d.streams, StreamsConfig::default());
        let with = |v: &str| {
            GroupConfig::from_settings(|k| {
                (k == "group.consumer.migration.policy").then(|| v.to_string())
            })
        };
        assert_eq!(
            with("UpGrade").unwrap().migration_policy,
            MigrationPolicy::Upgrade
        );
        assert!(with("sideways").is_err());
    }

    #[test]
    fn streams_overrides_lay_over_the_broker_settings() {
        let cfg = GroupConfig::default();
        let o = GroupOverrides {
            streams_initial_rebalance_delay_ms: Some(0),
            streams_assignment_interval_ms: Some(250),
            streams_rack_aware_assignment_tags: Some(tag_list(" zone , rack,")),
            ..Default::default()
        };
        let c = o.apply(&cfg);
        assert_eq!(c.streams.initial_rebalance_delay_ms, 0);
        assert_eq!(c.streams.assignment_interval_ms, 250);
        assert_eq!(
            c.streams.rack_aware_assignment_tags,
            vec!["zone".to_string(), "rack".to_string()]
        );
        assert_eq!(cfg.streams.assignment_interval_ms, 1_000, "Kafka's default");
        assert!(cfg.streams.rack_aware_assignment_tags.is_empty());
    }
}
