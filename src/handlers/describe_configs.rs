//! DescribeConfigs (key 32), v1-4: topic configs (effective value, source:
//! topic override / static broker setting / default, and synonyms when asked)
//! from the typed model in `config::topic`, and this broker's settings.

use super::sb;
use crate::config::broker::{Kind, Settings, Source};
use crate::config::topic::{topic_key_def, ConfigSource, TopicConfig};
use crate::handler::{Handler, HandlerResult, RequestContext};
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

fn source_code(s: Source) -> i8 {
    ConfigSource::from_broker(s).code()
}

impl Handler for Api {
    const KEY: ApiKey = ApiKey::DescribeConfigs;
    const VERSIONS: (i16, i16) = (1, 4);
    type Request = DescribeConfigsRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: DescribeConfigsRequest,
    ) -> HandlerResult<DescribeConfigsResponse> {
        let version = ctx.api_version;
        let synonyms = req.include_synonyms;
        let results = req
            .resources
            .into_iter()
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
                    RESOURCE_TOPIC => match state.partitions.topic(name) {
                        None => {
                            out.error_code = ResponseError::UnknownTopicOrPartition.code();
                            out.error_message = Some(sb(format!("unknown topic '{name}'")));
                        }
                        Some(t) => {
                            out.configs = topic_entries(
                                &t.config(),
                                &state.settings,
                                synonyms,
                                version,
                                &wanted,
                            );
                        }
                    },
                    RESOURCE_BROKER if name.is_empty() => {} // no dynamic cluster-wide defaults
                    RESOURCE_BROKER if name == state.node_id.to_string() => {
                        out.configs = broker_entries(&state.settings, synonyms, version, &wanted);
                    }
                    RESOURCE_BROKER | RESOURCE_BROKER_LOGGER => {
                        out.error_code = ResponseError::InvalidRequest.code();
                        out.error_message = Some(sb(format!(
                            "unexpected broker id '{name}', this is broker {}",
                            state.node_id
                        )));
                    }
                    other => {
                        out.error_code = ResponseError::InvalidRequest.code();
                        out.error_message = Some(sb(format!("unsupported resource type {other}")));
                    }
                }
                out
            })
            .collect();
        Ok(Some(
            DescribeConfigsResponse::default().with_results(results),
        ))
    }
}

fn topic_entries(
    cfg: &TopicConfig,
    settings: &Settings,
    synonyms: bool,
    version: i16,
    wanted: &dyn Fn(&str) -> bool,
) -> Vec<DescribeConfigsResourceResult> {
    cfg.entries(settings)
        .into_iter()
        .filter(|e| wanted(e.name))
        .map(|e| {
            let def = topic_key_def(e.name).expect("entries come from the key table");
            let mut r = DescribeConfigsResourceResult::default()
                .with_name(sb(e.name))
                .with_value(Some(sb(e.value.clone())))
                .with_read_only(false)
                .with_config_source(e.source.code())
                .with_is_sensitive(false);
            if version >= 3 {
                r.config_type = config_type(def.kind);
            }
            if synonyms {
                let mut syn = Vec::new();
                if let Some(v) = cfg.overrides().get(e.name) {
                    syn.push(synonym(e.name, v, ConfigSource::Topic.code()));
                }
                if let Some(s) = settings.get(def.broker_key) {
                    if s.source != Source::Default {
                        syn.push(synonym(def.broker_key, &s.raw, source_code(s.source)));
                    }
                    syn.push(synonym(
                        def.broker_key,
                        s.def.default,
                        ConfigSource::Default.code(),
                    ));
                }
                r.synonyms = syn;
            }
            r
        })
        .collect()
}

fn broker_entries(
    settings: &Settings,
    synonyms: bool,
    version: i16,
    wanted: &dyn Fn(&str) -> bool,
) -> Vec<DescribeConfigsResourceResult> {
    settings
        .iter()
        .filter(|s| wanted(s.def.name))
        .map(|s| {
            let mut r = DescribeConfigsResourceResult::default()
                .with_name(sb(s.def.name))
                .with_value(Some(sb(s.raw.clone())))
                .with_read_only(true)
                .with_config_source(source_code(s.source))
                .with_is_sensitive(false);
            if version >= 3 {
                r.config_type = config_type(s.def.kind);
            }
            if synonyms {
                let mut syn = Vec::new();
                if s.source != Source::Default {
                    syn.push(synonym(s.def.name, &s.raw, source_code(s.source)));
                }
                syn.push(synonym(
                    s.def.name,
                    s.def.default,
                    ConfigSource::Default.code(),
                ));
                r.synonyms = syn;
            }
            r
        })
        .collect()
}

fn synonym(name: &str, value: &str, source: i8) -> DescribeConfigsSynonym {
    DescribeConfigsSynonym::default()
        .with_name(sb(name))
        .with_value(Some(sb(value)))
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
