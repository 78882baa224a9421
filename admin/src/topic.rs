//! `weir topic create|list|describe|alter-config|add-partitions|delete`.

use crate::args::TopicCmd;
use crate::client::{check_msg, topic_name, Client};
use crate::output;
use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::{
    CreatePartitionsRequest, CreateTopicsRequest, DeleteTopicsRequest, DescribeConfigsRequest,
    IncrementalAlterConfigsRequest,
};
use kafka_protocol::protocol::StrBytes;
use serde::Serialize;
use weir_client::ClientError;

/// Kafka's ConfigResource type of a topic.
const TOPIC_RESOURCE: i8 = 2;
/// DescribeConfigs' config_source of a topic's own override (DYNAMIC_TOPIC_CONFIG):
/// describe lists these, as `kafka-topics --describe` does.
const TOPIC_CONFIG: i8 = 1;

fn key_value(kv: &str) -> Result<(String, String), ClientError> {
    kv.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .ok_or_else(|| ClientError::Usage(format!("{kv}: expected KEY=VALUE")))
}

pub async fn run(c: &mut Client, cmd: TopicCmd, json: bool) -> Result<(), ClientError> {
    match cmd {
        TopicCmd::Create {
            name,
            partitions,
            replication_factor,
            config,
        } => {
            let configs = config
                .iter()
                .map(|kv| {
                    let (k, v) = key_value(kv)?;
                    Ok(CreatableTopicConfig::default()
                        .with_name(StrBytes::from_string(k))
                        .with_value(Some(StrBytes::from_string(v))))
                })
                .collect::<Result<Vec<_>, ClientError>>()?;
            let req = CreateTopicsRequest::default()
                .with_topics(vec![CreatableTopic::default()
                    .with_name(topic_name(&name))
                    .with_num_partitions(partitions)
                    .with_replication_factor(replication_factor)
                    .with_configs(configs)])
                .with_timeout_ms(30_000);
            let resp = c.call(&req, 2, 7).await?;
            for t in &resp.topics {
                check_msg(
                    || format!("create topic {name}"),
                    t.error_code,
                    t.error_message.as_ref(),
                )?;
            }
            if json {
                output::json(&serde_json::json!({"created": name, "partitions": partitions}));
            } else {
                println!("created topic {name} with {partitions} partition(s)");
            }
            Ok(())
        }
        TopicCmd::List { internal } => {
            let md = c.metadata(None).await?;
            #[derive(Serialize)]
            struct Row {
                name: String,
                partitions: usize,
                internal: bool,
            }
            let mut rows: Vec<Row> = md
                .topics
                .iter()
                .filter(|t| internal || !t.is_internal)
                .filter_map(|t| {
                    Some(Row {
                        name: t.name.as_ref()?.to_string(),
                        partitions: t.partitions.len(),
                        internal: t.is_internal,
                    })
                })
                .collect();
            rows.sort_by(|a, b| a.name.cmp(&b.name));
            if json {
                output::json(&rows);
            } else {
                output::table(
                    &["TOPIC", "PARTITIONS"],
                    &rows
                        .iter()
                        .map(|r| vec![r.name.clone(), r.partitions.to_string()])
                        .collect::<Vec<_>>(),
                );
            }
            Ok(())
        }
        TopicCmd::Describe { name } => describe(c, &name, json).await,
        TopicCmd::AlterConfig { name, set, delete } => {
            if set.is_empty() && delete.is_empty() {
                return Err(ClientError::Usage(
                    "alter-config needs --set KEY=VALUE or --delete KEY".into(),
                ));
            }
            let mut configs = Vec::new();
            for kv in &set {
                let (k, v) = key_value(kv)?;
                configs.push(
                    AlterableConfig::default()
                        .with_name(StrBytes::from_string(k))
                        .with_config_operation(0)
                        .with_value(Some(StrBytes::from_string(v))),
                );
            }
            for k in &delete {
                configs.push(
                    AlterableConfig::default()
                        .with_name(StrBytes::from_string(k.clone()))
                        .with_config_operation(1),
                );
            }
            let req = IncrementalAlterConfigsRequest::default().with_resources(vec![
                AlterConfigsResource::default()
                    .with_resource_type(TOPIC_RESOURCE)
                    .with_resource_name(StrBytes::from_string(name.clone()))
                    .with_configs(configs),
            ]);
            let resp = c.call(&req, 0, 1).await?;
            for r in &resp.responses {
                check_msg(
                    || format!("alter configs of topic {name}"),
                    r.error_code,
                    r.error_message.as_ref(),
                )?;
            }
            if json {
                output::json(&serde_json::json!({"altered": name, "set": set, "deleted": delete}));
            } else {
                println!("altered configs of topic {name}");
            }
            Ok(())
        }
        TopicCmd::AddPartitions { name, total } => {
            let req = CreatePartitionsRequest::default()
                .with_topics(vec![CreatePartitionsTopic::default()
                    .with_name(topic_name(&name))
                    .with_count(total)
                    .with_assignments(None)])
                .with_timeout_ms(30_000);
            let resp = c.call(&req, 0, 3).await?;
            for r in &resp.results {
                check_msg(
                    || format!("add partitions to topic {name}"),
                    r.error_code,
                    r.error_message.as_ref(),
                )?;
            }
            if json {
                output::json(&serde_json::json!({"topic": name, "partitions": total}));
            } else {
                println!("topic {name} now has {total} partition(s)");
            }
            Ok(())
        }
        TopicCmd::Delete { names } => {
            let v = c.version::<DeleteTopicsRequest>(1, 6)?;
            let mut req = DeleteTopicsRequest::default().with_timeout_ms(30_000);
            if v >= 6 {
                req.topics = names
                    .iter()
                    .map(|n| DeleteTopicState::default().with_name(Some(topic_name(n))))
                    .collect();
            } else {
                req.topic_names = names.iter().map(|n| topic_name(n)).collect();
            }
            let resp = c.bootstrap.call(&req, v).await?;
            for r in &resp.responses {
                let n = r.name.as_ref().map(|n| n.to_string()).unwrap_or_default();
                check_msg(
                    || format!("delete topic {n}"),
                    r.error_code,
                    r.error_message.as_ref(),
                )?;
            }
            if json {
                output::json(&serde_json::json!({"deleted": names}));
            } else {
                for n in &names {
                    println!("deleted topic {n}");
                }
            }
            Ok(())
        }
    }
}

#[derive(Serialize)]
struct Description {
    name: String,
    partitions: Vec<PartitionRow>,
    configs: Vec<ConfigRow>,
}

#[derive(Serialize)]
struct PartitionRow {
    partition: i32,
    leader: i32,
    log_start_offset: i64,
    log_end_offset: i64,
}

#[derive(Serialize)]
struct ConfigRow {
    name: String,
    value: Option<String>,
    source: i8,
}

async fn describe(c: &mut Client, name: &str, json: bool) -> Result<(), ClientError> {
    let layout = c.layout(name).await?;
    let start = c.list_offsets(&layout, -2).await?;
    let end = c.list_offsets(&layout, -1).await?;
    let partitions: Vec<PartitionRow> = layout
        .partitions
        .iter()
        .map(|&(p, leader)| PartitionRow {
            partition: p,
            leader,
            log_start_offset: start.get(&p).copied().unwrap_or(-1),
            log_end_offset: end.get(&p).copied().unwrap_or(-1),
        })
        .collect();
    let req =
        DescribeConfigsRequest::default().with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(TOPIC_RESOURCE)
            .with_resource_name(StrBytes::from_string(name.to_string()))
            .with_configuration_keys(None)]);
    let resp = c.call(&req, 1, 4).await?;
    let mut configs = Vec::new();
    for r in &resp.results {
        check_msg(
            || format!("describe configs of topic {name}"),
            r.error_code,
            r.error_message.as_ref(),
        )?;
        for cfg in &r.configs {
            if cfg.config_source == TOPIC_CONFIG {
                configs.push(ConfigRow {
                    name: cfg.name.to_string(),
                    value: cfg.value.as_ref().map(|v| v.to_string()),
                    source: cfg.config_source,
                });
            }
        }
    }
    configs.sort_by(|a, b| a.name.cmp(&b.name));
    let d = Description {
        name: name.to_string(),
        partitions,
        configs,
    };
    if json {
        output::json(&d);
        return Ok(());
    }
    println!("topic {name}: {} partition(s)", d.partitions.len());
    output::table(
        &["PARTITION", "LEADER", "START", "END"],
        &d.partitions
            .iter()
            .map(|p| {
                vec![
                    p.partition.to_string(),
                    p.leader.to_string(),
                    p.log_start_offset.to_string(),
                    p.log_end_offset.to_string(),
                ]
            })
            .collect::<Vec<_>>(),
    );
    if !d.configs.is_empty() {
        println!();
        output::table(
            &["CONFIG", "VALUE"],
            &d.configs
                .iter()
                .map(|c| vec![c.name.clone(), c.value.clone().unwrap_or_default()])
                .collect::<Vec<_>>(),
        );
    }
    Ok(())
}
