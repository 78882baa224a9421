//! DescribeConfigs (key 32), v0-4 (v0: `is_default` instead of a source, no synonyms), as Kafka 4.x's `ConfigHelper`: topic configs
//! (effective value from the typed model in `config::topic`) and the broker
//! resource (every key of Kafka's `KafkaConfig`, from
//! `config::kafka_broker_keys`, valued from this broker's settings), each with
//! Kafka's synonym list (`configSynonyms`: the static settings of the key's
//! broker synonyms, then their non-null defaults, from the first one named like
//! the key) and the source that list implies.

use super::sb;
use crate::acl::AclOperation;
use crate::config::broker::{Kind, Settings, Source};
use crate::config::kafka_broker_keys::{kafka_broker_key, KAFKA_BROKER_KEYS};
use crate::config::topic::{topic_key_def, ConfigSource, TopicConfig};
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
                            out.configs =
                                topic_entries(&t.config(), &statics, synonyms, version, &wanted);
                        }
                    },
                    RESOURCE_BROKER if name.is_empty() => {} // no dynamic cluster-wide defaults
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
                    other => {
                        out.error_code = ResponseError::InvalidRequest.code();
                        out.error_message = Some(sb(format!("unsupported resource type {other}")));
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
}

impl<'a> StaticValues<'a> {
    fn of(state: &'a BrokerState) -> Self {
        let dir = state.store.dir();
        let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        StaticValues {
            settings: &state.settings,
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
    let mut all: Vec<DescribeConfigsSynonym> = names
        .iter()
        .filter_map(|n| {
            let v = statics.get(n)?;
            Some(synonym(n, value(v), ConfigSource::StaticBroker.code()))
        })
        .collect();
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

fn topic_entries(
    cfg: &TopicConfig,
    statics: &StaticValues,
    synonyms: bool,
    version: i16,
    wanted: &dyn Fn(&str) -> bool,
) -> Vec<DescribeConfigsResourceResult> {
    cfg.entries(statics.settings)
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
            all.extend(broker_synonyms(def.broker_key, statics, false));
            let mut r = DescribeConfigsResourceResult::default()
                .with_name(sb(e.name))
                .with_value(Some(sb(e.value.clone())))
                .with_read_only(false)
                .with_config_source(source_of(&all))
                .with_is_sensitive(false)
                .with_documentation(None);
            if version >= 3 {
                r.config_type = config_type(def.kind);
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
                    .get(k.name)
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
        .map(|s| {
            let all = vec![synonym(s.def.name, None, ConfigSource::StaticBroker.code())];
            let mut r = DescribeConfigsResourceResult::default()
                .with_name(sb(s.def.name))
                .with_value(None)
                .with_read_only(true)
                .with_config_source(ConfigSource::StaticBroker.code())
                .with_is_sensitive(true)
                .with_documentation(None);
            if synonyms {
                r.synonyms = all;
            }
            r
        });
    known.chain(unknown).collect()
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
