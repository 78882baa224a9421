//! `weir cluster info`: cluster id, controller and brokers (Metadata).

use crate::args::ClusterCmd;
use crate::client::Client;
use crate::output;
use serde::Serialize;
use weir_client::ClientError;

#[derive(Serialize)]
struct Info {
    cluster_id: Option<String>,
    controller_id: i32,
    brokers: Vec<Broker>,
    topics: usize,
}

#[derive(Serialize)]
struct Broker {
    node_id: i32,
    host: String,
    port: i32,
    rack: Option<String>,
}

pub async fn run(c: &mut Client, cmd: ClusterCmd, json: bool) -> Result<(), ClientError> {
    let ClusterCmd::Info = cmd;
    let md = c.metadata(None).await?;
    let mut brokers: Vec<Broker> = md
        .brokers
        .iter()
        .map(|b| Broker {
            node_id: b.node_id.0,
            host: b.host.to_string(),
            port: b.port,
            rack: b.rack.as_ref().map(|r| r.to_string()),
        })
        .collect();
    brokers.sort_by_key(|b| b.node_id);
    let info = Info {
        cluster_id: md.cluster_id.as_ref().map(|c| c.to_string()),
        controller_id: md.controller_id.0,
        topics: md.topics.len(),
        brokers,
    };
    if json {
        output::json(&info);
        return Ok(());
    }
    println!(
        "cluster {} (controller {}, {} topic(s))",
        info.cluster_id.as_deref().unwrap_or("-"),
        info.controller_id,
        info.topics
    );
    output::table(
        &["BROKER", "HOST", "PORT", "RACK"],
        &info
            .brokers
            .iter()
            .map(|b| {
                vec![
                    b.node_id.to_string(),
                    b.host.clone(),
                    b.port.to_string(),
                    b.rack.clone().unwrap_or_else(|| "-".into()),
                ]
            })
            .collect::<Vec<_>>(),
    );
    Ok(())
}
