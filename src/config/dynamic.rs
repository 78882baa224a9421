//! Dynamic broker configs, as Kafka's `DynamicBrokerConfig` keeps them: the
//! per-broker set (BROKER resource `"<node id>"`, DescribeConfigs source
//! DYNAMIC_BROKER_CONFIG) and the cluster-wide default set (BROKER resource
//! `""`, DYNAMIC_DEFAULT_BROKER_CONFIG), set by IncrementalAlterConfigs and
//! AlterConfigs. Which keys are dynamic, and their types, come from Kafka's
//! table ([`super::kafka_broker_keys`]); values are checked with Kafka's
//! texts, and keys Kafka's broker does not know are refused. The sets persist in the data dir ([`DYNAMIC_CONFIGS_CHECKPOINT`],
//! atomic rewrite) and overlay the static settings (per-broker over cluster
//! default over static), giving the effective [`Settings`] the broker runs on.

use super::broker::{key_def, Settings, Source};
use super::kafka_broker_keys::kafka_broker_key;
use super::kafka_value::{self, Validator, ValueError};
use super::topic::TOPIC_KEYS;
use std::collections::BTreeMap;

/// The data-dir file holding both sets (`broker KEY=VALUE` and `default
/// KEY=VALUE` lines, then a CRC line).
pub const DYNAMIC_CONFIGS_CHECKPOINT: &str = "weir-dynamic-configs.checkpoint";

/// Which set a BROKER resource names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `"<node id>"`: this broker.
    Broker,
    /// `""`: the cluster-wide default.
    ClusterDefault,
}

/// Both sets of dynamic values, by key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DynamicConfigs {
    pub broker: BTreeMap<String, String>,
    pub cluster_default: BTreeMap<String, String>,
    /// Group configs by group id (GROUP resources, [`super::group`]).
    pub groups: BTreeMap<String, BTreeMap<String, String>>,
}

/// A refused change (Kafka answers INVALID_REQUEST with the text).
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("{0}")]
pub struct DynamicConfigError(pub String);

impl From<ValueError> for DynamicConfigError {
    fn from(e: ValueError) -> Self {
        DynamicConfigError(e.to_string())
    }
}

/// The validator Kafka applies to a broker key: that of the topic key it is
/// the synonym of (`log.segment.bytes` at least 1 MiB), else none.
fn validator_of(key: &str) -> Validator {
    TOPIC_KEYS
        .iter()
        .find(|t| t.broker_key == Some(key))
        .map_or(Validator::None, |t| t.validator)
}

/// Check one value for `key` as Kafka's `DynamicBrokerConfig.validate` does:
/// read-only keys refused, the value parsed by its Kafka type; a key weir has
/// must also be a valid weir setting. Returns the value as Kafka renders it.
/// A key Kafka does not know is stored as given, as Kafka 4.4 stores it on a
/// SET (AlterConfigs or IncrementalAlterConfigs; APPEND/SUBTRACT refuse it,
/// see the handler); it has no effect and is described as an unknown, so
/// sensitive, config.
pub fn check(key: &str, value: &str) -> Result<String, DynamicConfigError> {
    let Some(k) = kafka_broker_key(key) else {
        return Ok(value.to_string());
    };
    if !k.dynamic {
        return Err(read_only(&[key]));
    }
    if let Some(e) = listener_only(&[key]) {
        return Err(e);
    }
    let normal = kafka_value::check(key, value, k.config_type, validator_of(key))?;
    if key_def(key).is_some() {
        let mut probe = Settings::default();
        probe.set(key, &normal, Source::Cli).map_err(|e| match e {
            super::ConfigError::BadValue { reason, .. } => DynamicConfigError(format!(
                "Invalid value {normal} for configuration {key}: {reason}"
            )),
            other => DynamicConfigError(other.to_string()),
        })?;
    }
    Ok(normal)
}

/// SSL keys Kafka reconfigures only per listener
/// (`SslConfigs.RECONFIGURABLE_CONFIGS`, `DYNAMIC_SECURITY_CONFIGS`).
const LISTENER_ONLY: &[&str] = &[
    "ssl.key.password",
    "ssl.keystore.certificate.chain",
    "ssl.keystore.key",
    "ssl.keystore.location",
    "ssl.keystore.password",
    "ssl.keystore.type",
    "ssl.truststore.certificates",
    "ssl.truststore.location",
    "ssl.truststore.password",
    "ssl.truststore.type",
];

/// Kafka's answer for security keys set without a listener prefix, if any
/// of `keys` is one.
pub fn listener_only(keys: &[&str]) -> Option<DynamicConfigError> {
    let found: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|k| LISTENER_ONLY.contains(k))
        .collect();
    (!found.is_empty()).then(|| {
        DynamicConfigError(format!(
            "These security configs can be dynamically updated only per-listener using the \
             listener prefix: [{}]",
            found.join(", ")
        ))
    })
}

/// Kafka 4.x with ELR (a fresh 4.4 cluster has it) keeps `min.insync.replicas`
/// as a cluster-level dynamic config, generated from the static value when
/// the cluster is formatted; weir does the same when it first opens a data
/// dir, and refuses what Kafka's controller refuses.
pub const ELR_KEY: &str = "min.insync.replicas";

/// Kafka's controller checks of a change of `scope` from `before` to `after`.
pub fn check_elr(
    scope: Scope,
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
) -> Result<(), DynamicConfigError> {
    match scope {
        Scope::Broker if before.get(ELR_KEY) != after.get(ELR_KEY) => Err(DynamicConfigError(
            "Broker-level min.insync.replicas cannot be altered while ELR is enabled.".into(),
        )),
        Scope::ClusterDefault if before.contains_key(ELR_KEY) && !after.contains_key(ELR_KEY) => {
            Err(DynamicConfigError(
                "Cluster-level min.insync.replicas cannot be removed while ELR is enabled.".into(),
            ))
        }
        _ => Ok(()),
    }
}

/// Kafka's answer for keys that cannot change at run time.
pub fn read_only(keys: &[&str]) -> DynamicConfigError {
    DynamicConfigError(format!(
        "Cannot update these configs dynamically: [{}]",
        keys.join(", ")
    ))
}

impl DynamicConfigs {
    pub fn set_of(&self, scope: Scope) -> &BTreeMap<String, String> {
        match scope {
            Scope::Broker => &self.broker,
            Scope::ClusterDefault => &self.cluster_default,
        }
    }

    pub fn set_of_mut(&mut self, scope: Scope) -> &mut BTreeMap<String, String> {
        match scope {
            Scope::Broker => &mut self.broker,
            Scope::ClusterDefault => &mut self.cluster_default,
        }
    }

    /// The static settings with the dynamic values of the keys weir has laid
    /// over them (cluster default, then this broker's).
    pub fn effective(&self, statics: &Settings) -> Settings {
        let mut s = statics.clone();
        for (map, source) in [
            (&self.cluster_default, Source::DynamicDefault),
            (&self.broker, Source::DynamicBroker),
        ] {
            for (k, v) in map {
                // Checked when set; a key weir lacks has no effect here.
                let _ = s.set(k, v, source);
            }
        }
        s
    }

    /// The checkpoint's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut s = String::from("weir-dynamic-configs 1\n");
        for (scope, map) in [("broker", &self.broker), ("default", &self.cluster_default)] {
            for (k, v) in map {
                s.push_str(&format!("{scope} {k}={}\n", escape(v)));
            }
        }
        // `group <length of the escaped id> <escaped id> KEY=VALUE`.
        for (g, map) in &self.groups {
            let id = escape(g);
            for (k, v) in map {
                s.push_str(&format!("group {} {id} {k}={}\n", id.len(), escape(v)));
            }
        }
        let crc = crc32fast::hash(s.as_bytes());
        s.push_str(&format!("crc {crc:08x}\n"));
        s.into_bytes()
    }

    /// Read a checkpoint written by [`DynamicConfigs::encode`].
    pub fn decode(data: &[u8]) -> Result<DynamicConfigs, String> {
        let text = std::str::from_utf8(data).map_err(|e| e.to_string())?;
        let crc_pos = text.rfind("crc ").ok_or("missing crc")?;
        let (body, crc_line) = text.split_at(crc_pos);
        let stored = u32::from_str_radix(crc_line.trim_start_matches("crc ").trim(), 16)
            .map_err(|e| e.to_string())?;
        if crc32fast::hash(body.as_bytes()) != stored {
            return Err("crc mismatch".into());
        }
        let mut lines = body.lines();
        if lines.next() != Some("weir-dynamic-configs 1") {
            return Err("unknown header".into());
        }
        let mut out = DynamicConfigs::default();
        for line in lines {
            let (scope, kv) = line.split_once(' ').ok_or(format!("bad line '{line}'"))?;
            if scope == "group" {
                let bad = || format!("bad line '{line}'");
                let (len, rest) = kv.split_once(' ').ok_or_else(bad)?;
                let len: usize = len.parse().map_err(|_| bad())?;
                let id = rest.get(..len).ok_or_else(bad)?;
                let kv = rest
                    .get(len..)
                    .and_then(|r| r.strip_prefix(' '))
                    .ok_or_else(bad)?;
                let (k, v) = kv.split_once('=').ok_or_else(bad)?;
                out.groups
                    .entry(unescape(id))
                    .or_default()
                    .insert(k.to_string(), unescape(v));
                continue;
            }
            let (k, v) = kv.split_once('=').ok_or(format!("bad line '{line}'"))?;
            let map = match scope {
                "broker" => &mut out.broker,
                "default" => &mut out.cluster_default,
                _ => return Err(format!("bad line '{line}'")),
            };
            map.insert(k.to_string(), unescape(v));
        }
        Ok(out)
    }
}

/// Read the sets from the data dir; the first time, start them as a new
/// Kafka 4.4 cluster does (the cluster-level `min.insync.replicas`, see
/// [`ELR_KEY`]) and write them.
pub fn load(store: &weir_storage::Store, statics: &Settings) -> Result<DynamicConfigs, String> {
    match store
        .read_checkpoint(DYNAMIC_CONFIGS_CHECKPOINT)
        .map_err(|e| e.to_string())?
    {
        Some(data) => {
            DynamicConfigs::decode(&data).map_err(|e| format!("{DYNAMIC_CONFIGS_CHECKPOINT}: {e}"))
        }
        None => {
            let mut d = DynamicConfigs::default();
            d.cluster_default
                .insert(ELR_KEY.into(), statics.i64(ELR_KEY).to_string());
            save(store, &d)?;
            Ok(d)
        }
    }
}

/// Write the sets to the data dir (atomic rewrite).
pub fn save(store: &weir_storage::Store, configs: &DynamicConfigs) -> Result<(), String> {
    store
        .write_checkpoint(DYNAMIC_CONFIGS_CHECKPOINT, &configs.encode())
        .map_err(|e| e.to_string())
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

fn unescape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some(o) => out.push(o),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked_with_kafkas_texts() {
        assert_eq!(check("log.cleaner.backoff.ms", "16000").unwrap(), "16000");
        assert_eq!(
            check("log.retention.ms", "abc").unwrap_err().0,
            "Invalid value abc for configuration log.retention.ms: Not a number of type LONG"
        );
        assert_eq!(
            check("log.segment.bytes", "100").unwrap_err().0,
            "Invalid value 100 for configuration log.segment.bytes: Value must be at least 1048576"
        );
        assert_eq!(
            check("num.partitions", "3").unwrap_err().0,
            "Cannot update these configs dynamically: [num.partitions]"
        );
        // A key Kafka does not know is stored as given, as Kafka 4.4 does.
        assert_eq!(check("segment.ms", "1").unwrap(), "1");
    }

    #[test]
    fn dynamic_values_overlay_the_static_ones_and_round_trip() {
        let mut d = DynamicConfigs::default();
        d.cluster_default
            .insert("log.retention.ms".into(), "7200000".into());
        d.cluster_default
            .insert("message.max.bytes".into(), "2000000".into());
        d.broker
            .insert("message.max.bytes".into(), "3000000".into());
        d.broker.insert("log.cleaner.threads".into(), "2".into());
        let mut statics = Settings::default();
        statics
            .set("log.retention.ms", "1000", Source::Cli)
            .unwrap();
        let e = d.effective(&statics);
        assert_eq!(e.i64("log.retention.ms"), 7_200_000);
        assert_eq!(e.source("log.retention.ms"), Source::DynamicDefault);
        assert_eq!(e.i64("message.max.bytes"), 3_000_000);
        assert_eq!(e.source("message.max.bytes"), Source::DynamicBroker);
        d.groups
            .entry("g 1=x\ny".into())
            .or_default()
            .insert("share.auto.offset.reset".into(), "earliest".into());
        assert_eq!(DynamicConfigs::decode(&d.encode()).unwrap(), d);
        let mut bad = d.encode();
        bad[30] ^= 1;
        assert!(DynamicConfigs::decode(&bad).is_err());
    }
}
