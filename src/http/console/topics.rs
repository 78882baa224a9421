//! Topic administration for the console: create (`POST /api/topics`), delete
//! (`DELETE /api/topics/{name}`), describe and alter configs
//! (`GET|POST /api/topics/{name}/configs`), each through the Kafka API's own
//! handler (CreateTopics v7, DeleteTopics v5, DescribeConfigs v4,
//! IncrementalAlterConfigs v1), so validation and errors are Kafka's.

use super::{call, ApiError, Peer};
use crate::handlers::describe_configs::RESOURCE_TOPIC;
use crate::http::HttpState;
use axum::extract::{Path, State};
use axum::Json;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::{
    CreateTopicsRequest, DeleteTopicsRequest, DescribeConfigsRequest,
    IncrementalAlterConfigsRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

#[derive(Debug, Deserialize)]
pub struct NewTopic {
    name: String,
    /// -1 or absent: `num.partitions`.
    #[serde(default)]
    partitions: Option<i32>,
    #[serde(default)]
    configs: BTreeMap<String, String>,
    /// Check only (CreateTopics' `validate_only`).
    #[serde(default)]
    validate_only: bool,
}

#[derive(Debug, Serialize)]
pub struct Created {
    name: String,
    partitions: i32,
    validate_only: bool,
}

pub async fn create(
    State(s): State<HttpState>,
    Peer(peer): Peer,
    Json(t): Json<NewTopic>,
) -> Result<Json<Created>, ApiError> {
    let topic = CreatableTopic::default()
        .with_name(TopicName(sb(&t.name)))
        .with_num_partitions(t.partitions.unwrap_or(-1))
        .with_replication_factor(-1)
        .with_configs(
            t.configs
                .iter()
                .map(|(k, v)| {
                    CreatableTopicConfig::default()
                        .with_name(sb(k))
                        .with_value(Some(sb(v)))
                })
                .collect(),
        );
    let req = CreateTopicsRequest::default()
        .with_topics(vec![topic])
        .with_timeout_ms(30_000)
        .with_validate_only(t.validate_only);
    let resp = call::<crate::handlers::create_topics::Api>(&s, &peer, 7, req).await?;
    let r = resp
        .topics
        .first()
        .ok_or_else(|| ApiError::internal("no result"))?;
    if r.error_code != 0 {
        return Err(ApiError::kafka(r.error_code, r.error_message.as_deref()));
    }
    Ok(Json(Created {
        name: t.name,
        partitions: r.num_partitions,
        validate_only: t.validate_only,
    }))
}

#[derive(Debug, Serialize)]
pub struct Deleted {
    name: String,
}

pub async fn delete(
    State(s): State<HttpState>,
    Peer(peer): Peer,
    Path(name): Path<String>,
) -> Result<Json<Deleted>, ApiError> {
    let req = DeleteTopicsRequest::default()
        .with_topic_names(vec![TopicName(sb(&name))])
        .with_timeout_ms(30_000);
    let resp = call::<crate::handlers::delete_topics::Api>(&s, &peer, 5, req).await?;
    let r = resp
        .responses
        .first()
        .ok_or_else(|| ApiError::internal("no result"))?;
    if r.error_code != 0 {
        return Err(ApiError::kafka(r.error_code, r.error_message.as_deref()));
    }
    Ok(Json(Deleted { name }))
}

/// One config as DescribeConfigs shows it.
#[derive(Debug, Serialize)]
pub struct ConfigEntry {
    name: String,
    value: Option<String>,
    /// Kafka's `ConfigSource` name (`DYNAMIC_TOPIC_CONFIG` = set on the topic).
    source: &'static str,
    read_only: bool,
    sensitive: bool,
    documentation: Option<String>,
}

fn source_name(source: i8) -> &'static str {
    match source {
        1 => "DYNAMIC_TOPIC_CONFIG",
        2 => "DYNAMIC_BROKER_CONFIG",
        3 => "DYNAMIC_DEFAULT_BROKER_CONFIG",
        4 => "STATIC_BROKER_CONFIG",
        5 => "DEFAULT_CONFIG",
        6 => "DYNAMIC_BROKER_LOGGER_CONFIG",
        _ => "UNKNOWN",
    }
}

pub async fn configs(
    State(s): State<HttpState>,
    Peer(peer): Peer,
    Path(name): Path<String>,
) -> Result<Json<Vec<ConfigEntry>>, ApiError> {
    let req = DescribeConfigsRequest::default()
        .with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(RESOURCE_TOPIC)
            .with_resource_name(sb(&name))
            .with_configuration_keys(None)])
        .with_include_documentation(true);
    let resp = call::<crate::handlers::describe_configs::Api>(&s, &peer, 4, req).await?;
    let r = resp
        .results
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::internal("no result"))?;
    if r.error_code != 0 {
        return Err(ApiError::kafka(r.error_code, r.error_message.as_deref()));
    }
    let mut out: Vec<ConfigEntry> = r
        .configs
        .into_iter()
        .map(|c| ConfigEntry {
            name: c.name.to_string(),
            value: c.value.map(|v| v.to_string()),
            source: source_name(c.config_source),
            read_only: c.read_only,
            sensitive: c.is_sensitive,
            documentation: c.documentation.map(|d| d.to_string()),
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Json(out))
}

/// `set`: keys to set on the topic; `delete`: overrides to remove (back to
/// the broker's value).
#[derive(Debug, Deserialize)]
pub struct ConfigChange {
    #[serde(default)]
    set: BTreeMap<String, String>,
    #[serde(default)]
    delete: Vec<String>,
    #[serde(default)]
    validate_only: bool,
}

#[derive(Debug, Serialize)]
pub struct Altered {
    name: String,
    validate_only: bool,
}

pub async fn alter_configs(
    State(s): State<HttpState>,
    Peer(peer): Peer,
    Path(name): Path<String>,
    Json(change): Json<ConfigChange>,
) -> Result<Json<Altered>, ApiError> {
    const SET: i8 = 0;
    const DELETE: i8 = 1;
    let mut configs: Vec<AlterableConfig> = change
        .set
        .iter()
        .map(|(k, v)| {
            AlterableConfig::default()
                .with_name(sb(k))
                .with_config_operation(SET)
                .with_value(Some(sb(v)))
        })
        .collect();
    configs.extend(change.delete.iter().map(|k| {
        AlterableConfig::default()
            .with_name(sb(k))
            .with_config_operation(DELETE)
            .with_value(None)
    }));
    let req = IncrementalAlterConfigsRequest::default()
        .with_resources(vec![AlterConfigsResource::default()
            .with_resource_type(RESOURCE_TOPIC)
            .with_resource_name(sb(&name))
            .with_configs(configs)])
        .with_validate_only(change.validate_only);
    let resp = call::<crate::handlers::incremental_alter_configs::Api>(&s, &peer, 1, req).await?;
    let r = resp
        .responses
        .first()
        .ok_or_else(|| ApiError::internal("no result"))?;
    if r.error_code != 0 {
        return Err(ApiError::kafka(r.error_code, r.error_message.as_deref()));
    }
    Ok(Json(Altered {
        name,
        validate_only: change.validate_only,
    }))
}
