//! Group configs on the GROUP config resource (type 32), shared by
//! DescribeConfigs and IncrementalAlterConfigs as Kafka 4.4 serves them:
//! describe lists every non-internal key of [`crate::config::group`] for any
//! group id (existing or not), the group's override first (source
//! GROUP_CONFIG = 8) then the default's synonym (the broker key, or the key
//! itself); alter checks the group's whole resulting set with Kafka's
//! `GroupConfig.validate`, persists it with the dynamic configs and hands it
//! to the share coordinator and the consumer / streams coordinator at once.

use super::sb;
use crate::config::dynamic;
use crate::config::group::{self, GroupKind, GROUP_KEYS};
use crate::state::BrokerState;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::incremental_alter_configs_request::AlterableConfig;
use kafka_protocol::ResponseError;
use std::collections::BTreeMap;

/// DescribeConfigs' source of a group config override (`GROUP_CONFIG`).
pub const SOURCE_GROUP_CONFIG: i8 = 8;

fn config_type(kind: GroupKind) -> i8 {
    match kind {
        GroupKind::Bool => 1,
        GroupKind::Str | GroupKind::AutoOffsetReset | GroupKind::Isolation => 2,
        GroupKind::Int(_) => 3,
        GroupKind::Long(_) => 5,
        GroupKind::List => 7,
    }
}

/// The entries of GROUP resource `name`, or Kafka's refusal.
pub fn describe(
    state: &BrokerState,
    name: &str,
    synonyms: bool,
    version: i16,
    wanted: &dyn Fn(&str) -> bool,
) -> Result<Vec<DescribeConfigsResourceResult>, (ResponseError, String)> {
    if name.is_empty() {
        return Err((
            ResponseError::InvalidRequest,
            "Group name must not be empty".into(),
        ));
    }
    let settings = state.partitions.settings();
    let overrides = state.dynamic_configs.lock().groups.get(name).cloned();
    Ok(GROUP_KEYS
        .iter()
        .filter(|k| !k.internal && wanted(k.name))
        .map(|k| {
            let (syn_name, default, default_source) = group::default_of(k, &settings);
            let mut all = Vec::new();
            let own = overrides.as_ref().and_then(|o| o.get(k.name));
            if let Some(v) = own {
                all.push(synonym(k.name, v, SOURCE_GROUP_CONFIG));
            }
            all.push(synonym(syn_name, &default, default_source));
            let value = own.cloned().unwrap_or(default);
            let mut r = DescribeConfigsResourceResult::default()
                .with_name(sb(k.name))
                .with_value(Some(sb(value)))
                .with_read_only(false)
                .with_config_source(all[0].source)
                .with_is_sensitive(false);
            if version >= 3 {
                r.config_type = config_type(k.kind);
            }
            if synonyms {
                r.synonyms = all;
            }
            r
        })
        .collect())
}

fn synonym(name: &str, value: &str, source: i8) -> DescribeConfigsSynonym {
    DescribeConfigsSynonym::default()
        .with_name(sb(name))
        .with_value(Some(sb(value)))
        .with_source(source)
}

/// IncrementalAlterConfigs on GROUP resource `name`.
pub fn alter(
    state: &BrokerState,
    name: &str,
    validate_only: bool,
    ops: &[AlterableConfig],
) -> Option<(ResponseError, String)> {
    if name.is_empty() {
        return Some((
            ResponseError::InvalidRequest,
            "Default group resources are not allowed.".into(),
        ));
    }
    let mut current = state.dynamic_configs.lock();
    let mut set: BTreeMap<String, String> = current.groups.get(name).cloned().unwrap_or_default();
    for op in ops {
        let key = op.name.to_string();
        match op.config_operation {
            0 => {
                set.insert(key, op.value.as_deref().unwrap_or("").to_string());
            }
            1 => {
                set.remove(&key);
            }
            o @ (2 | 3) => {
                // Kafka's controller finds no LIST type for group keys.
                let verb = if o == 2 { "APPEND" } else { "SUBTRACT" };
                return Some((
                    ResponseError::InvalidConfig,
                    format!("Can't {verb} to key {key} because its type is not LIST."),
                ));
            }
            other => {
                return Some((
                    ResponseError::InvalidRequest,
                    format!("Unknown operations type {other}"),
                ))
            }
        }
    }
    let settings = state.partitions.settings();
    if let Err(e) = group::validate(&set, &settings) {
        return Some((ResponseError::InvalidConfig, e.0));
    }
    if validate_only {
        return None;
    }
    let mut next = current.clone();
    if set.is_empty() {
        next.groups.remove(name);
    } else {
        next.groups.insert(name.to_string(), set.clone());
    }
    if let Err(e) = dynamic::save(&state.store, &next) {
        return Some((ResponseError::UnknownServerError, e));
    }
    *current = next;
    drop(current);
    apply(state, name, &set);
    None
}

/// Hand a group's configs to the coordinators (on change).
pub fn apply(state: &BrokerState, name: &str, set: &BTreeMap<String, String>) {
    state.apply_group_configs(name, set);
}
