//! DescribeConfigs (key 32), v0-4 (v0: `is_default` instead of a source, no synonyms), as Kafka 4.x's `ConfigHelper`: topic configs
//! (effective value from the typed model in `config::topic`) and the broker
//! resource (every key of Kafka's `KafkaConfig`, from
//! `config::kafka_broker_keys`, valued from this broker's settings), each with
//! Kafka's synonym list (`configSynonyms`: the dynamic per-broker, then
//! dynamic cluster-default, then static settings of the key's broker synonyms,
//! then their non-null defaults, from the first one named like the key) and
//! the source that list implies. The BROKER resource `""` lists the dynamic
//! cluster defaults; a topic lists Kafka 4.4's keys (documentation when asked)
//! and a Kafka 3.x key only when set or named.

use super::sb;
use crate::acl::AclOperation;
use crate::config::broker::{Kind, Settings, Source};
use crate::config::dynamic::DynamicConfigs;
use crate::config::kafka_broker_keys::{kafka_broker_key, KAFKA_BROKER_KEYS};
use crate::config::topic::{topic_key_def, ConfigSource, TopicConfig, LEGACY_TOPIC_KEYS};
use crate::handler::{Handler, HandlerResult, RequestContext};
use crate::partitions::validate_topic_name;
use crate::state::BrokerState;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{ApiKey, DescribeConfigsRequest, DescribeConfigsResponse};
use kafka_protocol::ResponseError;
use std::sync::Arc;

/// The DescribeConfigs handler.
pub struct Api;

pub const RESOURCE_TOPIC: i8 = 2;
pub const RESOURCE_BROKER: i8 = 4;
pub const RESOURCE_BROKER_LOGGER: i8 = 8;

/// `Errors.INVALID_REQUEST`'s default message, which Kafka sends for an
/// unknown resource type.
const INVALID_REQUEST_DEFAULT: &str = "This most likely occurs because of a request being \
    malformed by the client library or the message was sent to an incompatible broker. See the \
    broker logs for more details.";
/// `resource_type` of client-metrics subscriptions and of groups (KIP-848).
pub const RESOURCE_CLIENT_METRICS: i8 = 16;
pub const RESOURCE_GROUP: i8 = 32;

/// Kafka's default message of an authorization error (`Errors.message()`).
pub fn authorization_message(err: ResponseError) -> &'static str {
    match err {
        ResponseError::TopicAuthorizationFailed => "Topic authorization failed.",
        ResponseError::GroupAuthorizationFailed => "Group authorization failed.",
        ResponseError::ClusterAuthorizationFailed => "Cluster authorization failed.",
        ResponseError::TransactionalIdAuthorizationFailed => {
            "Transactional Id authorization failed."
        }
        _ => "",
    }
}

/// As Kafka's `KafkaApis`: the error for a config resource on which the
/// principal may not do `op` (DESCRIBE_CONFIGS or ALTER_CONFIGS), if any.
pub fn config_authorization_error(
    state: &BrokerState,
    ctx: &RequestContext,
    op: AclOperation,
    resource_type: i8,
    name: &str,
) -> Option<ResponseError> {
    let p = &state.pipeline;
    match resource_type {
        RESOURCE_TOPIC => {
            (!p.allows_topic(ctx, op, name)).then_some(ResponseError::TopicAuthorizationFailed)
        }
        RESOURCE_GROUP => {
            (!p.allows_group(ctx, op, name)).then_some(ResponseError::GroupAuthorizationFailed)
        }
        RESOURCE_BROKER | RESOURCE_BROKER_LOGGER | RESOURCE_CLIENT_METRICS => {
            (!p.allows_cluster(ctx, op)).then_some(ResponseError::ClusterAuthorizationFailed)
        }
        _ => None,
    }
}

/// DescribeConfigs `config_type` for a value kind.
pub fn config_type(kind: Kind) -> i8 {
    match kind {
        Kind::Bool => 1,
        Kind::Str(_) => 2,
        Kind::Int { max, .. } if max <= i32::MAX as i64 => 3,
        Kind::Int { .. } => 5,
        Kind::Double { .. } => 6,
        Kind::List(_) => 7,
    }
}

impl Handler for Api {
    const KEY: ApiKey = ApiKey::DescribeConfigs;
    const VERSIONS: (i16, i16) = (0, 4);
    type Request = DescribeConfigsRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: DescribeConfigsRequest,
    ) -> HandlerResult<DescribeConfigsResponse> {
        let version = ctx.api_version;
        let synonyms = req.include_synonyms;
        let documentation = req.include_documentation;
        // As Kafka: the resources the principal may not describe are answered
        // after the others, with the authorization error and no configs.
        let (resources, denied): (Vec<_>, Vec<_>) = req
            .resources
            .into_iter()
            .map(|res| {
                let name = res.resource_name.as_str();
                let op = AclOperation::DescribeConfigs;
                let err = config_authorization_error(&state, &ctx, op, res.resource_type, name);
                (res, err)
            })
            .partition(|(_, err)| err.is_none());
        let denied = denied.into_iter().map(|(res, err)| {
            let err = err.expect("partitioned on it");
            DescribeConfigsResult::default()
                .with_resource_type(res.resource_type)
                .with_resource_name(res.resource_name)
                .with_error_code(err.code())
                .with_error_message(Some(sb(authorization_message(err))))
        });
        let results = resources
            .into_iter()
            .map(|(res, _)| res)
            .map(|res| {
                let keys: Option<Vec<String>> = res
                    .configuration_keys
                    .as_ref()
                    .filter(|k| !k.is_empty())
                    .map(|k| k.iter().map(|s| s.to_string()).collect());
                let wanted = |name: &str| keys.as_ref().is_none_or(|k| k.iter().any(|x| x == name));
                let mut out = DescribeConfigsResult::default()
                    .with_resource_type(res.resource_type)
                    .with_resource_name(res.resource_name.clone())
                    .with_error_code(0);
                let name = res.resource_name.as_str();
                match res.resource_type {
                    RESOURCE_TOPIC if validate_topic_name(name).is_err() => {
                        let e = validate_topic_name(name).unwrap_err();
                        out.error_code = ResponseError::InvalidTopicException.code();
                        out.error_message = Some(sb(e.to_string()));
                    }
                    RESOURCE_TOPIC => match state.partitions.topic(name) {
                        // Kafka's ConfigHelper sets no message here (the default "").
                        None => out.error_code = ResponseError::UnknownTopicOrPartition.code(),
                        Some(t) => {
                            let statics = StaticValues::of(&state);
                            out.configs = topic_entries(
                                &t.config(),
                                &statics,
                                synonyms,
                                documentation,
                                version,
                                keys.as_deref(),
                            );
                        }
                    },
                    RESOURCE_BROKER if name.is_empty() => {
                        let statics = StaticValues::of(&state);
                        out.configs = cluster_default_entries(&statics, synonyms, version, &wanted);
                    }
                    RESOURCE_BROKER | RESOURCE_BROKER_LOGGER => {
                        match check_broker_id(res.resource_type, name, state.node_id) {
                            Err(msg) => {
                                out.error_code = ResponseError::InvalidRequest.code();
                                out.error_message = Some(sb(msg));
                            }
                            Ok(()) if res.resource_type == RESOURCE_BROKER => {
                                let statics = StaticValues::of(&state);
                                out.configs = broker_entries(&statics, synonyms, version, &wanted);
                            }
                            // No log4j loggers here: an empty list.
                            Ok(()) => {}
                        }
                    }
                    RESOURCE_GROUP => {
                        match super::group_configs::describe(
                            &state, name, synonyms, version, &wanted,
                        ) {
                            Ok(c) => out.configs = c,
                            Err((e, msg)) => {
                                out.error_code = e.code();
                                out.error_message = Some(sb(msg));
                            }
                        }
                    }
                    _ => {
                        out.error_code = ResponseError::InvalidRequest.code();
                        // Kafka answers INVALID_REQUEST's default message.
                        out.error_message = Some(sb(INVALID_REQUEST_DEFAULT));
                    }
                }
                out
            })
            .chain(denied)
            .collect();
        Ok(Some(
            DescribeConfigsResponse::default().with_results(results),
        ))
    }
}

/// Kafka's checks of a broker resource name (`ConfigHelper.describeConfigs`).
fn check_broker_id(resource_type: i8, name: &str, node_id: i32) -> Result<(), String> {
    if name.is_empty() {
        return Err("Broker id must not be empty".into());
    }
    let id: i32 = name
        .parse()
        .map_err(|_| format!("Broker id must be an integer, but it is: {name}"))?;
    if id == node_id {
        Ok(())
    } else if resource_type == RESOURCE_BROKER {
        Err(format!(
            "Unexpected broker id, expected {node_id} or empty string, but received {name}"
        ))
    } else {
        Err(format!(
            "Unexpected broker id, expected {node_id} but received {name}"
        ))
    }
}

/// What Kafka would hold as this broker's static configs (its server.properties):
/// the settings given on the command line, in the environment or in the config
/// file, and the facts of this broker a Kafka operator must set.
struct StaticValues<'a> {
    settings: &'a Settings,
    facts: Vec<(&'static str, String)>,
    /// The dynamic broker configs (per broker, cluster default).
    dynamic: DynamicConfigs,
    /// The settings in effect (static with the dynamic ones laid over).
    effective: Arc<Settings>,
}

impl<'a> StaticValues<'a> {
    fn of(state: &'a BrokerState) -> Self {
        let dir = state.store.dir();
        let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        StaticValues {
            settings: &state.settings,
            dynamic: state.dynamic_configs.lock().clone(),
            effective: state.partitions.settings(),
            facts: vec![
                (
                    "advertised.listeners",
                    format!(
                        "PLAINTEXT://{}:{}",
                        state.advertised_host, state.advertised_port
                    ),
                ),
                ("broker.id", state.node_id.to_string()),
                ("log.dirs", dir.to_string_lossy().into_owned()),
                ("node.id", state.node_id.to_string()),
                ("process.roles", "broker,controller".into()),
            ],
        }
    }

    /// The static value of `name`, if it has one.
    fn get(&self, name: &str) -> Option<String> {
        if let Some((_, v)) = self.facts.iter().find(|(k, _)| *k == name) {
            return Some(v.clone());
        }
        self.settings
            .get(name)
            .filter(|s| s.source != Source::Default)
            .map(|s| s.raw.clone())
    }
}

/// The default Kafka renders for broker key `name` (`None` = null): Kafka's
/// table, else weir's own default for a key Kafka does not have.
fn default_of(name: &str, settings: &Settings) -> Option<String> {
    match kafka_broker_key(name) {
        Some(k) => k.default.map(str::to_string),
        None => settings.get(name).map(|s| s.def.default.to_string()),
    }
}

/// Kafka's `ConfigHelper.configSynonyms(name, brokerConfigSynonyms(name), _)`
/// for one broker: the synonyms' static values (STATIC_BROKER_CONFIG), then
/// their non-null defaults (DEFAULT_CONFIG), dropping those before the first
/// entry named `name` (so `log.retention.ms` unset has none, although
/// `log.retention.hours` has a default).
fn broker_synonyms(
    name: &str,
    statics: &StaticValues,
    sensitive: bool,
) -> Vec<DescribeConfigsSynonym> {
    let own = [name];
    let names: &[&str] = match kafka_broker_key(name) {
        Some(k) => k.synonym_names(),
        None => &own,
    };
    let value = |v: String| (!sensitive).then_some(v);
    let mut all: Vec<DescribeConfigsSynonym> = Vec::new();
    for (map, source) in [
        (&statics.dynamic.broker, ConfigSource::DynamicBroker),
        (
            &statics.dynamic.cluster_default,
            ConfigSource::DynamicDefaultBroker,
        ),
    ] {
        all.extend(names.iter().filter_map(|n| {
            let v = map.get(*n)?;
            Some(synonym(n, value(v.clone()), source.code()))
        }));
    }
    all.extend(names.iter().filter_map(|n| {
        let v = statics.get(n)?;
        Some(synonym(n, value(v), ConfigSource::StaticBroker.code()))
    }));
    all.extend(names.iter().filter_map(|n| {
        let v = default_of(n, statics.settings)?;
        Some(synonym(n, value(v), ConfigSource::Default.code()))
    }));
    let first = all
        .iter()
        .position(|s| s.name.as_str() == name)
        .unwrap_or(all.len());
    all.split_off(first)
}

/// The source Kafka reports: the first synonym's, else DEFAULT_CONFIG.
fn source_of(synonyms: &[DescribeConfigsSynonym]) -> i8 {
    synonyms
        .first()
        .map_or(ConfigSource::Default.code(), |s| s.source)
}

/// Kafka's createTopicConfigEntry for every topic key (Kafka 4.x's, then a
/// legacy 3.x key when it is set, or named in the request: issue 17).
fn topic_entries(
    cfg: &TopicConfig,
    statics: &StaticValues,
    synonyms: bool,
    documentation: bool,
    version: i16,
    named: Option<&[String]>,
) -> Vec<DescribeConfigsResourceResult> {
    let wanted = |name: &str| named.is_none_or(|k| k.iter().any(|x| x == name));
    let mut entries = cfg.entries(&statics.effective);
    for legacy in LEGACY_TOPIC_KEYS {
        let asked = named.is_some_and(|k| k.iter().any(|x| x == legacy.name));
        if asked && !entries.iter().any(|e| e.name == legacy.name) {
            entries.extend(cfg.effective(legacy.name, &statics.effective));
        }
    }
    entries
        .into_iter()
        .filter(|e| wanted(e.name))
        .map(|e| {
            let def = topic_key_def(e.name).expect("entries come from the key table");
            // Kafka's createTopicConfigEntry: the topic override, then the
            // broker synonyms of its broker key.
            let mut all = Vec::new();
            if let Some(v) = cfg.overrides().get(e.name) {
                all.push(synonym(e.name, Some(v.clone()), ConfigSource::Topic.code()));
            }
            if let Some(broker_key) = def.broker_key {
                all.extend(broker_synonyms(broker_key, statics, false));
            }
            let doc =
                (documentation && !def.documentation.is_empty()).then(|| sb(def.documentation));
            let mut r = DescribeConfigsResourceResult::default()
                .with_name(sb(e.name))
                .with_value(Some(sb(e.value.clone())))
                .with_read_only(false)
                .with_config_source(source_of(&all))
                .with_is_sensitive(false)
                .with_documentation(doc);
            if version >= 3 {
                r.config_type = def.config_type;
            }
            if synonyms {
                r.synonyms = all;
            }
            r
        })
        .collect()
}

/// Kafka's createBrokerConfigEntry for every key of `KafkaConfig` (then any
/// weir-only setting given explicitly, which Kafka would describe as an
/// unknown, so sensitive, original).
fn broker_entries(
    statics: &StaticValues,
    synonyms: bool,
    version: i16,
    wanted: &dyn Fn(&str) -> bool,
) -> Vec<DescribeConfigsResourceResult> {
    let known = KAFKA_BROKER_KEYS
        .iter()
        .filter(|k| wanted(k.name))
        .map(|k| {
            let sensitive = k.sensitive();
            let all = broker_synonyms(k.name, statics, sensitive);
            let value = if sensitive {
                None
            } else {
                statics
                    .dynamic
                    .broker
                    .get(k.name)
                    .or_else(|| statics.dynamic.cluster_default.get(k.name))
                    .cloned()
                    .or_else(|| statics.get(k.name))
                    .or_else(|| k.default.map(str::to_string))
            };
            let mut r = DescribeConfigsResourceResult::default()
                .with_name(sb(k.name))
                .with_value(value.map(sb))
                .with_read_only(!k.dynamic)
                .with_config_source(source_of(&all))
                .with_is_sensitive(sensitive)
                .with_documentation(None);
            if version >= 3 {
                r.config_type = k.config_type;
            }
            if synonyms {
                r.synonyms = all;
            }
            r
        });
    let unknown = statics
        .settings
        .iter()
        .filter(|s| s.source != Source::Default && kafka_broker_key(s.def.name).is_none())
        .filter(|s| wanted(s.def.name))
        .map(|s| unknown_entry(s.def.name, ConfigSource::StaticBroker.code(), synonyms));
    // Keys Kafka does not know set dynamically (stored, no effect): this
    // broker's, then the cluster default's, as Kafka 4.4 lists them.
    let dynamic_unknown = [
        (&statics.dynamic.broker, ConfigSource::DynamicBroker),
        (
            &statics.dynamic.cluster_default,
            ConfigSource::DynamicDefaultBroker,
        ),
    ]
    .into_iter()
    .flat_map(|(set, source)| {
        set.keys()
            .filter(|k| kafka_broker_key(k).is_none() && wanted(k))
            .map(move |k| unknown_entry(k, source.code(), synonyms))
    });
    known.chain(unknown).chain(dynamic_unknown).collect()
}

/// A key Kafka does not know, as Kafka describes it: value null, read-only,
/// sensitive, type UNKNOWN (0), itself its one synonym.
fn unknown_entry(name: &str, source: i8, synonyms: bool) -> DescribeConfigsResourceResult {
    let mut r = DescribeConfigsResourceResult::default()
        .with_name(sb(name))
        .with_value(None)
        .with_read_only(true)
        .with_config_source(source)
        .with_is_sensitive(true)
        .with_config_type(0)
        .with_documentation(None);
    if synonyms {
        r.synonyms = vec![synonym(name, None, source)];
    }
    r
}

/// The cluster-wide dynamic defaults (BROKER resource `""`): only the keys
/// set, each with itself as its one synonym, as Kafka lists them.
fn cluster_default_entries(
    statics: &StaticValues,
    synonyms: bool,
    version: i16,
    wanted: &dyn Fn(&str) -> bool,
) -> Vec<DescribeConfigsResourceResult> {
    let code = ConfigSource::DynamicDefaultBroker.code();
    statics
        .dynamic
        .cluster_default
        .iter()
        .filter(|(k, _)| wanted(k))
        .map(|(k, v)| {
            let Some(known) = kafka_broker_key(k) else {
                return unknown_entry(k, code, synonyms);
            };
            let known = Some(known);
            let sensitive = known.is_some_and(|d| d.sensitive());
            let value = (!sensitive).then(|| v.clone());
            let mut r = DescribeConfigsResourceResult::default()
                .with_name(sb(k.clone()))
                .with_value(value.clone().map(sb))
                .with_read_only(false)
                .with_config_source(code)
                .with_is_sensitive(sensitive)
                .with_documentation(None);
            if version >= 3 {
                r.config_type = known.map_or(2, |d| d.config_type);
            }
            if synonyms {
                r.synonyms = vec![synonym(k, value, code)];
            }
            r
        })
        .collect()
}

fn synonym(name: &str, value: Option<String>, source: i8) -> DescribeConfigsSynonym {
    DescribeConfigsSynonym::default()
        .with_name(sb(name))
        .with_value(value.map(sb))
        .with_source(source)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::broker;

    #[test]
    fn config_types_follow_kafka() {
        assert_eq!(
            config_type(broker::key_def("auto.create.topics.enable").unwrap().kind),
            1
        );
        assert_eq!(
            config_type(broker::key_def("num.partitions").unwrap().kind),
            3
        );
        assert_eq!(
            config_type(broker::key_def("log.retention.ms").unwrap().kind),
            5
        );
        assert_eq!(
            config_type(broker::key_def("log.cleanup.policy").unwrap().kind),
            7
        );
    }
}
