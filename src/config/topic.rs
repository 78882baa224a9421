//! The typed topic-config model: Kafka's topic config names, their broker-level
//! defaults (synonyms), validation, and the effective value with its source as
//! DescribeConfigs reports it.
//!
//! A [`TopicConfig`] holds only the per-topic overrides; everything else falls
//! back to the broker setting named in [`TopicKeyDef::broker_key`] (the
//! effective one: static, or dynamic, see [`super::dynamic`]), else Kafka's
//! default. The keys are Kafka 4.4's ([`TOPIC_KEYS`], generated into
//! [`super::kafka_topic_keys`]; regenerate rather than edit) plus the 3.x keys
//! of [`LEGACY_TOPIC_KEYS`]; values are checked by [`super::kafka_value`].

use super::broker::{Settings, Source};
use super::kafka_value::{self, ValueError};
use std::collections::BTreeMap;
use weir_storage::compression::CompressOptions;
use weir_storage::{
    CleanerConfig, Compression, FlushPolicy, LogConfig, RetentionPolicy, TimestampType,
};

pub use super::kafka_value::{TopicKeyDef, Validator};

pub const BOOLEAN: i8 = 1;
pub const STRING: i8 = 2;
pub const INT: i8 = 3;
pub const LONG: i8 = 5;
pub const DOUBLE: i8 = 6;
pub const LIST: i8 = 7;

/// Every topic config of Kafka 4.4 (generated from its `LogConfig`).
pub use super::kafka_topic_keys::KAFKA_TOPIC_KEYS as TOPIC_KEYS;

/// Topic configs Kafka 3.x accepted and 4.x removed (issue 17): accepted and
/// stored so tools written for 3.x keep working, with no effect, and described
/// only when set or named (the default listing stays Kafka 4.x's). Defaults as
/// Kafka 3.9's; their broker synonyms are gone from 4.x, so none are listed.
pub const LEGACY_TOPIC_KEYS: &[TopicKeyDef] = &[
    TopicKeyDef {
        name: "message.downconversion.enable",
        broker_key: None,
        config_type: BOOLEAN,
        default: "true",
        validator: Validator::None,
        documentation: "",
    },
    TopicKeyDef {
        name: "message.format.version",
        broker_key: None,
        config_type: STRING,
        default: "3.0-IV1",
        validator: Validator::Version,
        documentation: "",
    },
    TopicKeyDef {
        name: "message.timestamp.difference.max.ms",
        broker_key: None,
        config_type: LONG,
        default: "9223372036854775807",
        validator: Validator::AtLeast(0),
        documentation: "",
    },
];

/// Where weir knowingly differs from Kafka's checks: `segment.bytes` may be as
/// small as 14 bytes (Kafka 4.x wants 1 MiB and keeps `internal.segment.bytes`
/// for tests; weir's retention tests use small segments through the public key).
const SEGMENT_BYTES_MIN: i64 = 14;

/// A Kafka 4.4 topic key or a legacy 3.x one.
pub fn topic_key_def(name: &str) -> Option<&'static TopicKeyDef> {
    TOPIC_KEYS
        .binary_search_by(|k| k.name.cmp(name))
        .ok()
        .map(|i| &TOPIC_KEYS[i])
        .or_else(|| LEGACY_TOPIC_KEYS.iter().find(|k| k.name == name))
}

/// Whether `name` is one of [`LEGACY_TOPIC_KEYS`].
pub fn is_legacy(name: &str) -> bool {
    LEGACY_TOPIC_KEYS.iter().any(|k| k.name == name)
}

/// A rejected topic config (Kafka answers INVALID_CONFIG); the texts are
/// Kafka's (`ConfigException`, `LogConfig.validateNames`).
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum TopicConfigError {
    #[error("Unknown topic config name: {0}")]
    UnknownKey(String),
    /// `value` as Kafka renders it (the parsed value for validator failures).
    #[error("Invalid value {value} for configuration {key}: {reason}")]
    BadValue {
        key: String,
        value: String,
        reason: String,
    },
    /// A check whose message names no value (`ValidList`, cross-key checks).
    #[error("{0}")]
    Rejected(String),
}

/// Where an effective topic config value comes from (DescribeConfigs `config_source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    /// A per-topic override (`DYNAMIC_TOPIC_CONFIG` = 1).
    Topic,
    /// A dynamic config of this broker (`DYNAMIC_BROKER_CONFIG` = 2).
    DynamicBroker,
    /// A cluster-wide dynamic default (`DYNAMIC_DEFAULT_BROKER_CONFIG` = 3).
    DynamicDefaultBroker,
    /// A broker setting given on the command line, env or file (`STATIC_BROKER_CONFIG` = 4).
    StaticBroker,
    /// Kafka's default (`DEFAULT_CONFIG` = 5).
    Default,
}

impl ConfigSource {
    /// The DescribeConfigs wire value.
    pub fn code(self) -> i8 {
        match self {
            ConfigSource::Topic => 1,
            ConfigSource::DynamicBroker => 2,
            ConfigSource::DynamicDefaultBroker => 3,
            ConfigSource::StaticBroker => 4,
            ConfigSource::Default => 5,
        }
    }
    pub fn from_broker(source: Source) -> ConfigSource {
        match source {
            Source::Default => ConfigSource::Default,
            Source::DynamicBroker => ConfigSource::DynamicBroker,
            Source::DynamicDefault => ConfigSource::DynamicDefaultBroker,
            Source::File | Source::Env | Source::Cli => ConfigSource::StaticBroker,
        }
    }
}

/// One effective config entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    pub name: &'static str,
    pub value: String,
    pub source: ConfigSource,
}

/// A topic's config overrides (validated).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicConfig {
    overrides: BTreeMap<String, String>,
}

fn check(name: &str, value: &str) -> Result<(&'static TopicKeyDef, String), TopicConfigError> {
    let def = topic_key_def(name).ok_or_else(|| TopicConfigError::UnknownKey(name.to_string()))?;
    let validator = match (def.name, def.validator) {
        ("segment.bytes", Validator::AtLeast(_)) => Validator::AtLeast(SEGMENT_BYTES_MIN),
        (_, v) => v,
    };
    let normal = kafka_value::check(def.name, value, def.config_type, validator)?;
    Ok((def, normal))
}

impl From<ValueError> for TopicConfigError {
    fn from(e: ValueError) -> Self {
        match e {
            ValueError::BadValue { key, value, reason } => {
                TopicConfigError::BadValue { key, value, reason }
            }
            ValueError::Rejected(m) => TopicConfigError::Rejected(m),
        }
    }
}

impl TopicConfig {
    /// Validate and collect overrides (later pairs replace earlier ones).
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, TopicConfigError> {
        let mut cfg = TopicConfig::default();
        for (k, v) in pairs {
            cfg.set(k, v)?;
        }
        Ok(cfg)
    }

    /// Set one override after validating it.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), TopicConfigError> {
        let (def, normal) = check(name, value)?;
        self.overrides.insert(def.name.to_string(), normal);
        Ok(())
    }

    /// Remove an override (back to the broker default).
    pub fn remove(&mut self, name: &str) -> Option<String> {
        self.overrides.remove(name)
    }

    pub fn overrides(&self) -> &BTreeMap<String, String> {
        &self.overrides
    }

    /// The effective value and source of one key; `None` for unknown keys.
    pub fn effective(&self, name: &str, broker: &Settings) -> Option<ConfigEntry> {
        let def = topic_key_def(name)?;
        if let Some(v) = self.overrides.get(def.name) {
            return Some(ConfigEntry {
                name: def.name,
                value: v.clone(),
                source: ConfigSource::Topic,
            });
        }
        let (value, source) = broker_default(def, broker);
        Some(ConfigEntry {
            name: def.name,
            value,
            source: ConfigSource::from_broker(source),
        })
    }

    /// Every Kafka 4.x key's effective value, in name order, then the legacy
    /// (3.x) keys that are set.
    pub fn entries(&self, broker: &Settings) -> Vec<ConfigEntry> {
        TOPIC_KEYS
            .iter()
            .chain(
                LEGACY_TOPIC_KEYS
                    .iter()
                    .filter(|d| self.overrides.contains_key(d.name)),
            )
            .filter_map(|d| self.effective(d.name, broker))
            .collect()
    }

    fn int(&self, name: &str, broker: &Settings) -> i64 {
        self.effective(name, broker)
            .and_then(|e| e.value.parse().ok())
            .unwrap_or_else(|| panic!("topic config {name} is a validated integer"))
    }

    pub fn max_message_bytes(&self, broker: &Settings) -> i64 {
        self.int("max.message.bytes", broker)
    }
    pub fn retention_ms(&self, broker: &Settings) -> i64 {
        self.int("retention.ms", broker)
    }
    pub fn retention_bytes(&self, broker: &Settings) -> i64 {
        self.int("retention.bytes", broker)
    }
    pub fn segment_bytes(&self, broker: &Settings) -> i64 {
        self.int("segment.bytes", broker)
    }
    pub fn segment_ms(&self, broker: &Settings) -> i64 {
        self.int("segment.ms", broker)
    }
    /// `flush.messages`, `None` when never.
    pub fn flush_messages(&self, broker: &Settings) -> Option<u64> {
        let v = self.int("flush.messages", broker);
        (v != i64::MAX).then_some(v as u64)
    }
    /// `flush.ms`, `None` when never.
    pub fn flush_ms(&self, broker: &Settings) -> Option<u64> {
        let v = self.int("flush.ms", broker);
        (v != i64::MAX).then_some(v as u64)
    }
    pub fn timestamp_type(&self, broker: &Settings) -> TimestampType {
        match self
            .effective("message.timestamp.type", broker)
            .map(|e| e.value)
            .as_deref()
        {
            Some("LogAppendTime") => TimestampType::LogAppendTime,
            _ => TimestampType::CreateTime,
        }
    }
    /// `compression.type` (`producer` = keep what the producer sent).
    pub fn compression_type(&self, broker: &Settings) -> String {
        self.effective("compression.type", broker)
            .map(|e| e.value)
            .unwrap_or_else(|| "producer".into())
    }
    /// `cleanup.policy` as its list items.
    pub fn cleanup_policy(&self, broker: &Settings) -> Vec<String> {
        self.effective("cleanup.policy", broker)
            .map(|e| e.value.split(',').map(str::to_string).collect())
            .unwrap_or_default()
    }

    /// Whether `cleanup.policy` includes `compact`.
    pub fn is_compacted(&self, broker: &Settings) -> bool {
        self.cleanup_policy(broker).iter().any(|p| p == "compact")
    }
    /// Whether `cleanup.policy` includes `delete` (time/size retention applies).
    pub fn is_delete(&self, broker: &Settings) -> bool {
        self.cleanup_policy(broker).iter().any(|p| p == "delete")
    }

    /// Time/size retention for this topic's logs: `retention.ms` and
    /// `retention.bytes` when `cleanup.policy` includes `delete`, else none.
    pub fn retention_policy(&self, broker: &Settings) -> RetentionPolicy {
        if self.is_delete(broker) {
            RetentionPolicy::from_kafka(self.retention_ms(broker), self.retention_bytes(broker))
        } else {
            RetentionPolicy::default()
        }
    }

    /// The log cleaner's settings for this topic's logs.
    pub fn cleaner_config(&self, broker: &Settings) -> CleanerConfig {
        let ratio = self
            .effective("min.cleanable.dirty.ratio", broker)
            .and_then(|e| e.value.parse().ok())
            .unwrap_or(0.5);
        let io = broker.f64("log.cleaner.io.max.bytes.per.second");
        // Kafka's map holds 24 bytes per entry (16-byte hash + offset).
        let entries = (broker.i64("log.cleaner.dedupe.buffer.size") / 24).max(1);
        CleanerConfig {
            min_compaction_lag_ms: self.int("min.compaction.lag.ms", broker),
            max_compaction_lag_ms: self.int("max.compaction.lag.ms", broker),
            delete_retention_ms: self.int("delete.retention.ms", broker),
            min_cleanable_dirty_ratio: ratio,
            segment_bytes: self.segment_bytes(broker).max(1) as u64,
            max_map_entries: entries.min(usize::MAX as i64) as usize,
            io_max_bytes_per_sec: (io.is_finite() && io < 1e18).then_some(io as u64),
        }
    }

    /// Checks across keys that Kafka makes (`LogConfig.validate`).
    pub fn validate_combination(&self, broker: &Settings) -> Result<(), TopicConfigError> {
        let min = self.int("min.compaction.lag.ms", broker);
        let max = self.int("max.compaction.lag.ms", broker);
        if min > max {
            return Err(TopicConfigError::Rejected(format!(
                "conflict topic config setting min.compaction.lag.ms ({min}) > max.compaction.lag.ms ({max})"
            )));
        }
        Ok(())
    }

    /// The storage engine's settings for this topic's partition logs.
    pub fn log_config(&self, broker: &Settings) -> LogConfig {
        LogConfig {
            segment_bytes: self.segment_bytes(broker).max(1) as u64,
            segment_ms: self.segment_ms(broker).max(1) as u64,
            index_interval_bytes: self
                .int("index.interval.bytes", broker)
                .clamp(0, u32::MAX as i64) as u32,
            max_index_bytes: self
                .int("segment.index.bytes", broker)
                .clamp(4, u32::MAX as i64) as u32,
            flush: FlushPolicy {
                messages: self.flush_messages(broker),
                interval_ms: self.flush_ms(broker),
            },
            timestamp_type: self.timestamp_type(broker),
            file_delete_delay_ms: self.int("file.delete.delay.ms", broker).max(0) as u64,
        }
    }

    /// Serialise the overrides as `key=value` lines (for the topic registry checkpoint).
    pub fn to_lines(&self) -> Vec<String> {
        self.overrides
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect()
    }
}

/// A topic's config resolved against the broker settings, typed: built once
/// when the topic is created or opened and again when its overrides change
/// (broker settings are fixed while the broker runs), so the produce path and
/// the log manager read plain fields instead of re-parsing strings.
#[derive(Debug, Clone)]
pub struct ResolvedTopicConfig {
    /// The overrides it was resolved from (DescribeConfigs, the checkpoint).
    pub overrides: TopicConfig,
    /// `max.message.bytes`.
    pub max_message_bytes: i64,
    /// `compression.type` as a codec; `None` keeps the producer's (`producer`).
    pub compression: Option<Compression>,
    /// `message.timestamp.type`.
    pub timestamp_type: TimestampType,
    /// `cleanup.policy` includes `compact` (records need keys; the cleaner runs).
    pub compacted: bool,
    /// Time/size retention ([`TopicConfig::retention_policy`]).
    pub retention: RetentionPolicy,
    /// The cleaner's settings ([`TopicConfig::cleaner_config`]).
    pub cleaner: CleanerConfig,
    /// The partition logs' settings ([`TopicConfig::log_config`]).
    pub log: LogConfig,
    /// KIP-937's `message.timestamp.before.max.ms` and
    /// `message.timestamp.after.max.ms`.
    pub timestamp_before_max_ms: i64,
    pub timestamp_after_max_ms: i64,
    /// `min.insync.replicas`: above 1, acks=all cannot be met by this node's one
    /// replica (Kafka answers NOT_ENOUGH_REPLICAS).
    pub min_insync_replicas: i64,
    /// `compression.gzip.level` and `compression.zstd.level`: how a batch is
    /// encoded when `compression.type` makes the broker recompress it
    /// (`compression.lz4.level` is stored and described but has no effect:
    /// lz4_flex has only LZ4's fast mode, Kafka's level 1).
    pub compress_options: CompressOptions,
}

impl ResolvedTopicConfig {
    pub fn resolve(overrides: TopicConfig, broker: &Settings) -> Self {
        ResolvedTopicConfig {
            max_message_bytes: overrides.max_message_bytes(broker),
            compression: codec(&overrides.compression_type(broker)),
            timestamp_type: overrides.timestamp_type(broker),
            compacted: overrides.is_compacted(broker),
            retention: overrides.retention_policy(broker),
            cleaner: overrides.cleaner_config(broker),
            log: overrides.log_config(broker),
            timestamp_before_max_ms: overrides.int("message.timestamp.before.max.ms", broker),
            timestamp_after_max_ms: overrides.int("message.timestamp.after.max.ms", broker),
            min_insync_replicas: overrides.int("min.insync.replicas", broker),
            compress_options: CompressOptions {
                // Kafka's -1 is java.util.zip.Deflater.DEFAULT_COMPRESSION (zlib's 6).
                gzip_level: match overrides.int("compression.gzip.level", broker) {
                    l @ 1..=9 => l as u32,
                    _ => CompressOptions::KAFKA.gzip_level,
                },
                zstd_level: overrides.int("compression.zstd.level", broker) as i32,
                ..CompressOptions::KAFKA
            },
            overrides,
        }
    }
}

/// The codec a `compression.type` value names; `None` for `producer`.
fn codec(compression_type: &str) -> Option<Compression> {
    match compression_type {
        "uncompressed" => Some(Compression::None),
        "gzip" => Some(Compression::Gzip),
        "snappy" => Some(Compression::Snappy),
        "lz4" => Some(Compression::Lz4),
        "zstd" => Some(Compression::Zstd),
        _ => None,
    }
}

/// The broker-level value (and its source) a topic key falls back to: the
/// weir broker setting named by its synonym, else Kafka's default.
fn broker_default(def: &TopicKeyDef, broker: &Settings) -> (String, Source) {
    match def.name {
        // Kafka derives these from several broker keys (ms > minutes > hours).
        "retention.ms" => {
            let src = [
                "log.retention.ms",
                "log.retention.minutes",
                "log.retention.hours",
            ]
            .iter()
            .map(|k| broker.source(k))
            .max()
            .unwrap_or(Source::Default);
            (broker.log_retention_ms().to_string(), src)
        }
        "segment.ms" => {
            let src = broker
                .source("log.roll.ms")
                .max(broker.source("log.roll.hours"));
            (broker.log_roll_ms().to_string(), src)
        }
        _ => match def.broker_key.and_then(|k| broker.get(k)) {
            Some(s) => (s.raw.clone(), s.source),
            None => (def.default.to_string(), Source::Default),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_topic_key_has_a_broker_synonym() {
        use crate::config::broker;
        use crate::config::kafka_broker_keys::kafka_broker_key;
        for def in TOPIC_KEYS {
            if let Some(k) = def.broker_key {
                assert!(kafka_broker_key(k).is_some(), "{} -> {k}", def.name);
            }
        }
        // The keys weir has always had fall back to weir's own settings.
        for name in [
            "cleanup.policy",
            "compression.type",
            "delete.retention.ms",
            "file.delete.delay.ms",
            "flush.messages",
            "flush.ms",
            "index.interval.bytes",
            "max.message.bytes",
            "message.timestamp.type",
            "message.timestamp.before.max.ms",
            "message.timestamp.after.max.ms",
            "min.cleanable.dirty.ratio",
            "min.compaction.lag.ms",
            "max.compaction.lag.ms",
            "min.insync.replicas",
            "retention.bytes",
            "retention.ms",
            "segment.bytes",
            "segment.index.bytes",
            "segment.ms",
            "unclean.leader.election.enable",
        ] {
            let def = topic_key_def(name).unwrap();
            let bk = def.broker_key.unwrap();
            assert!(broker::key_def(bk).is_some(), "{name} -> {bk}");
        }
    }

    #[test]
    fn the_key_table_is_kafkas_and_sorted() {
        assert_eq!(TOPIC_KEYS.len(), 37);
        assert!(TOPIC_KEYS.windows(2).all(|w| w[0].name < w[1].name));
        for name in [
            "file.delete.delay.ms",
            "message.timestamp.before.max.ms",
            "message.timestamp.after.max.ms",
            "message.format.version",
        ] {
            assert!(topic_key_def(name).is_some(), "{name}");
        }
        let e = TopicConfig::default().entries(&Settings::default());
        assert_eq!(e.len(), 37, "legacy keys are listed only when set");
        let cfg = TopicConfig::from_pairs([("message.format.version", "0.10.0")]).unwrap();
        assert_eq!(cfg.entries(&Settings::default()).len(), 38);
    }

    #[test]
    fn compacted_means_compact_in_the_cleanup_policy_list() {
        // The produce validator requires keys exactly on these topics.
        let s = Settings::default();
        let cfg = |p: &str| TopicConfig::from_pairs([("cleanup.policy", p)]).unwrap();
        for policy in ["compact", "compact,delete", "delete,compact"] {
            assert!(cfg(policy).is_compacted(&s), "{policy}");
        }
        assert!(!cfg("delete").is_compacted(&s));
        assert!(!TopicConfig::default().is_compacted(&s));
    }

    #[test]
    fn resolved_config_matches_the_string_lookups() {
        let mut broker = Settings::default();
        broker.set("compression.type", "lz4", Source::Cli).unwrap();
        let cfg = TopicConfig::from_pairs([
            ("max.message.bytes", "4321"),
            ("cleanup.policy", "compact,delete"),
            ("message.timestamp.type", "LogAppendTime"),
            ("retention.ms", "1000"),
        ])
        .unwrap();
        let r = ResolvedTopicConfig::resolve(cfg.clone(), &broker);
        assert_eq!(r.max_message_bytes, 4321);
        assert_eq!(r.compression, Some(Compression::Lz4));
        assert_eq!(r.timestamp_type, TimestampType::LogAppendTime);
        assert!(r.compacted);
        assert_eq!(r.retention, cfg.retention_policy(&broker));
        assert_eq!(r.cleaner, cfg.cleaner_config(&broker));
        assert_eq!(r.log, cfg.log_config(&broker));
        assert_eq!(r.overrides, cfg);
        let d = ResolvedTopicConfig::resolve(TopicConfig::default(), &Settings::default());
        assert_eq!(d.compression, None, "producer keeps the producer's codec");
        assert!(!d.compacted);
        for (name, c) in [
            ("uncompressed", Compression::None),
            ("gzip", Compression::Gzip),
            ("snappy", Compression::Snappy),
            ("zstd", Compression::Zstd),
        ] {
            let cfg = TopicConfig::from_pairs([("compression.type", name)]).unwrap();
            let r = ResolvedTopicConfig::resolve(cfg, &Settings::default());
            assert_eq!(r.compression, Some(c), "{name}");
        }
    }

    #[test]
    fn overrides_win_and_report_topic_source() {
        let mut broker = Settings::default();
        broker.set("log.retention.ms", "1000", Source::Cli).unwrap();
        let cfg = TopicConfig::from_pairs([("max.message.bytes", "500")]).unwrap();
        let e = cfg.effective("max.message.bytes", &broker).unwrap();
        assert_eq!((e.value.as_str(), e.source), ("500", ConfigSource::Topic));
        let e = cfg.effective("retention.ms", &broker).unwrap();
        assert_eq!(
            (e.value.as_str(), e.source),
            ("1000", ConfigSource::StaticBroker)
        );
        let e = cfg.effective("segment.bytes", &broker).unwrap();
        assert_eq!(
            (e.value.as_str(), e.source),
            ("1073741824", ConfigSource::Default)
        );
        assert_eq!(cfg.max_message_bytes(&broker), 500);
        // A broker key only Kafka's server.properties names (no weir flag) still sets the
        // topic default, as `log.segment.delete.delay.ms` does for `file.delete.delay.ms`.
        broker
            .set("log.segment.delete.delay.ms", "1000", Source::Cli)
            .unwrap();
        let e = cfg.effective("file.delete.delay.ms", &broker).unwrap();
        assert_eq!(
            (e.value.as_str(), e.source),
            ("1000", ConfigSource::StaticBroker)
        );
    }

    #[test]
    fn bad_topic_configs_are_rejected() {
        assert_eq!(
            TopicConfig::from_pairs([("no.such", "1")]),
            Err(TopicConfigError::UnknownKey("no.such".into()))
        );
        assert!(matches!(
            TopicConfig::from_pairs([("retention.ms", "soon")]),
            Err(TopicConfigError::BadValue { .. })
        ));
        assert!(matches!(
            TopicConfig::from_pairs([("cleanup.policy", "shred")]),
            Err(TopicConfigError::BadValue { .. })
        ));
        assert!(matches!(
            TopicConfig::from_pairs([("message.timestamp.type", "Now")]),
            Err(TopicConfigError::BadValue { .. })
        ));
    }

    #[test]
    fn log_config_follows_flush_and_timestamp_settings() {
        let mut broker = Settings::default();
        broker
            .set("log.flush.interval.messages", "1", Source::Cli)
            .unwrap();
        let cfg = TopicConfig::from_pairs([("message.timestamp.type", "LogAppendTime")]).unwrap();
        let lc = cfg.log_config(&broker);
        assert_eq!(lc.flush.messages, Some(1));
        assert_eq!(lc.flush.interval_ms, None);
        assert_eq!(lc.timestamp_type, TimestampType::LogAppendTime);
    }
}
