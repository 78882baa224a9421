//! The coordinator's broker settings ([`GroupConfig`]): Kafka's property
//! names, their defaults and validation.

/// Broker settings of the coordinator (Kafka's property names in [`GroupConfig::KEYS`]).
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
}

impl Default for GroupConfig {
    fn default() -> Self {
        GroupConfig {
            initial_rebalance_delay_ms: 3000,
            min_session_timeout_ms: 6000,
            max_session_timeout_ms: 1_800_000,
            max_size: i32::MAX as usize,
            consumer_session_timeout_ms: 45_000,
            consumer_heartbeat_interval_ms: 5000,
            consumer_max_size: i32::MAX as usize,
            offset_metadata_max_bytes: 4096,
            offsets_retention_ms: 10080 * 60_000,
            offsets_retention_check_interval_ms: 600_000,
        }
    }
}

impl GroupConfig {
    /// The broker property names this module reads.
    pub const KEYS: [&'static str; 10] = [
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
    ];

    /// Build from broker settings; `get` returns the configured value of a key.
    /// An unparsable value is an error naming the key.
    pub fn from_settings(get: impl Fn(&str) -> Option<String>) -> Result<GroupConfig, String> {
        fn parse<T: std::str::FromStr>(
            key: &str,
            v: Option<String>,
            default: T,
        ) -> Result<T, String> {
            match v {
                None => Ok(default),
                Some(s) => s
                    .trim()
                    .parse()
                    .map_err(|_| format!("invalid value {s:?} for {key}")),
            }
        }
        let d = GroupConfig::default();
        let k = Self::KEYS;
        let cfg = GroupConfig {
            initial_rebalance_delay_ms: parse(k[0], get(k[0]), d.initial_rebalance_delay_ms)?,
            min_session_timeout_ms: parse(k[1], get(k[1]), d.min_session_timeout_ms)?,
            max_session_timeout_ms: parse(k[2], get(k[2]), d.max_session_timeout_ms)?,
            max_size: parse(k[3], get(k[3]), d.max_size)?,
            consumer_session_timeout_ms: parse(k[4], get(k[4]), d.consumer_session_timeout_ms)?,
            consumer_heartbeat_interval_ms: parse(
                k[5],
                get(k[5]),
                d.consumer_heartbeat_interval_ms,
            )?,
            consumer_max_size: parse(k[6], get(k[6]), d.consumer_max_size)?,
            offset_metadata_max_bytes: parse(k[7], get(k[7]), d.offset_metadata_max_bytes)?,
            offsets_retention_ms: parse::<i64>(k[8], get(k[8]), 10080)?.saturating_mul(60_000),
            offsets_retention_check_interval_ms: parse(
                k[9],
                get(k[9]),
                d.offsets_retention_check_interval_ms,
            )?,
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
