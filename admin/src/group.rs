//! `weir group list|describe|reset-offsets|delete`: what `kafka-consumer-groups`
//! does, with the lag computed from the committed and log end offsets.

use crate::args::{GroupCmd, ResetTo};
use crate::client::{check, check_msg, topic_name, Client, Layout};
use crate::output;
use bytes::Bytes;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestGroup;
use kafka_protocol::messages::{
    ConsumerProtocolAssignment, DeleteGroupsRequest, DescribeGroupsRequest, GroupId,
    ListGroupsRequest, OffsetCommitRequest, OffsetFetchRequest,
};
use kafka_protocol::protocol::{Decodable, StrBytes};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use weir_client::ClientError;

fn group_id(g: &str) -> GroupId {
    GroupId(StrBytes::from_string(g.to_string()))
}

pub async fn run(c: &mut Client, cmd: GroupCmd, json: bool) -> Result<(), ClientError> {
    match cmd {
        GroupCmd::List => list(c, json).await,
        GroupCmd::Describe { group } => describe(c, &group, json).await,
        GroupCmd::ResetOffsets {
            group,
            topic,
            to,
            execute,
        } => reset(c, &group, &topic, &to, execute, json).await,
        GroupCmd::Delete { groups } => {
            let req = DeleteGroupsRequest::default()
                .with_groups_names(groups.iter().map(|g| group_id(g)).collect());
            let v = c.version::<DeleteGroupsRequest>(0, 2)?;
            let resp = c.coordinator(&groups[0]).await?.call(&req, v).await?;
            for r in &resp.results {
                check(
                    || format!("delete group {}", r.group_id.as_str()),
                    r.error_code,
                )?;
            }
            if json {
                output::json(&serde_json::json!({"deleted": groups}));
            } else {
                for g in &groups {
                    println!("deleted group {g}");
                }
            }
            Ok(())
        }
    }
}

async fn list(c: &mut Client, json: bool) -> Result<(), ClientError> {
    let resp = c.call(&ListGroupsRequest::default(), 0, 5).await?;
    check(|| "ListGroups".into(), resp.error_code)?;
    #[derive(Serialize)]
    struct Row {
        group: String,
        state: String,
        protocol_type: String,
        group_type: String,
    }
    let mut rows: Vec<Row> = resp
        .groups
        .iter()
        .map(|g| Row {
            group: g.group_id.to_string(),
            state: g.group_state.to_string(),
            protocol_type: g.protocol_type.to_string(),
            group_type: g.group_type.to_string(),
        })
        .collect();
    rows.sort_by(|a, b| a.group.cmp(&b.group));
    if json {
        output::json(&rows);
    } else {
        output::table(
            &["GROUP", "STATE", "TYPE"],
            &rows
                .iter()
                .map(|r| vec![r.group.clone(), r.state.clone(), r.group_type.clone()])
                .collect::<Vec<_>>(),
        );
    }
    Ok(())
}

/// A member of a classic group and the partitions assigned to it.
#[derive(Debug, Serialize)]
struct Member {
    member_id: String,
    client_id: String,
    host: String,
    partitions: Vec<(String, i32)>,
}

/// The group's state and members (DescribeGroups).
async fn members(c: &mut Client, group: &str) -> Result<(String, Vec<Member>), ClientError> {
    let req = DescribeGroupsRequest::default().with_groups(vec![group_id(group)]);
    let v = c.version::<DescribeGroupsRequest>(0, 5)?;
    let resp = c.coordinator(group).await?.call(&req, v).await?;
    let Some(g) = resp.groups.into_iter().next() else {
        return Ok(("Dead".into(), Vec::new()));
    };
    check(|| format!("describe group {group}"), g.error_code)?;
    let members = g
        .members
        .iter()
        .map(|m| Member {
            member_id: m.member_id.to_string(),
            client_id: m.client_id.to_string(),
            host: m.client_host.to_string(),
            partitions: assigned(&m.member_assignment),
        })
        .collect();
    Ok((g.group_state.to_string(), members))
}

/// The partitions in a consumer-protocol assignment (empty if it is not one).
fn assigned(bytes: &Bytes) -> Vec<(String, i32)> {
    let mut buf = bytes.clone();
    if buf.len() < 2 {
        return Vec::new();
    }
    let version = i16::from_be_bytes([buf[0], buf[1]]);
    let _ = bytes::Buf::get_i16(&mut buf);
    match ConsumerProtocolAssignment::decode(&mut buf, version.clamp(0, 3)) {
        Ok(a) => a
            .assigned_partitions
            .iter()
            .flat_map(|t| t.partitions.iter().map(move |p| (t.topic.to_string(), *p)))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Committed offsets of `group`: topic -> partition -> offset.
async fn committed(
    c: &mut Client,
    group: &str,
) -> Result<BTreeMap<String, BTreeMap<i32, i64>>, ClientError> {
    let v = c.version::<OffsetFetchRequest>(2, 9)?;
    let req = if v >= 8 {
        OffsetFetchRequest::default().with_groups(vec![OffsetFetchRequestGroup::default()
            .with_group_id(group_id(group))
            .with_topics(None)])
    } else {
        OffsetFetchRequest::default()
            .with_group_id(group_id(group))
            .with_topics(None)
    };
    let resp = c.coordinator(group).await?.call(&req, v).await?;
    let mut out: BTreeMap<String, BTreeMap<i32, i64>> = BTreeMap::new();
    if v >= 8 {
        for g in resp.groups {
            check(|| format!("committed offsets of {group}"), g.error_code)?;
            for t in g.topics {
                for p in t.partitions {
                    if p.committed_offset >= 0 {
                        out.entry(t.name.to_string())
                            .or_default()
                            .insert(p.partition_index, p.committed_offset);
                    }
                }
            }
        }
    } else {
        check(|| format!("committed offsets of {group}"), resp.error_code)?;
        for t in resp.topics {
            for p in t.partitions {
                if p.committed_offset >= 0 {
                    out.entry(t.name.to_string())
                        .or_default()
                        .insert(p.partition_index, p.committed_offset);
                }
            }
        }
    }
    Ok(out)
}

#[derive(Serialize)]
struct LagRow {
    topic: String,
    partition: i32,
    current_offset: Option<i64>,
    log_end_offset: i64,
    lag: Option<i64>,
    member_id: Option<String>,
    host: Option<String>,
    client_id: Option<String>,
}

async fn describe(c: &mut Client, group: &str, json: bool) -> Result<(), ClientError> {
    let (state, members) = members(c, group).await?;
    let offsets = committed(c, group).await?;
    let mut owner: HashMap<(String, i32), &Member> = HashMap::new();
    for m in &members {
        for tp in &m.partitions {
            owner.insert(tp.clone(), m);
        }
    }
    let mut topics: Vec<String> = offsets.keys().cloned().collect();
    for tp in owner.keys() {
        if !topics.contains(&tp.0) {
            topics.push(tp.0.clone());
        }
    }
    topics.sort();
    let mut rows = Vec::new();
    for t in &topics {
        let layout = c.layout(t).await?;
        let end = c.list_offsets(&layout, -1).await?;
        for &(p, _) in &layout.partitions {
            let current = offsets.get(t).and_then(|o| o.get(&p)).copied();
            let m = owner.get(&(t.clone(), p));
            if current.is_none() && m.is_none() {
                continue;
            }
            let end = end.get(&p).copied().unwrap_or(-1);
            rows.push(LagRow {
                topic: t.clone(),
                partition: p,
                current_offset: current,
                log_end_offset: end,
                lag: current.map(|c| (end - c).max(0)),
                member_id: m.map(|m| m.member_id.clone()),
                host: m.map(|m| m.host.clone()),
                client_id: m.map(|m| m.client_id.clone()),
            });
        }
    }
    if json {
        output::json(&serde_json::json!({
            "group": group, "state": state, "members": members, "partitions": rows,
        }));
        return Ok(());
    }
    println!("group {group}: {state}, {} member(s)", members.len());
    let dash = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".into());
    output::table(
        &[
            "TOPIC",
            "PARTITION",
            "CURRENT-OFFSET",
            "LOG-END-OFFSET",
            "LAG",
            "CONSUMER-ID",
            "HOST",
            "CLIENT-ID",
        ],
        &rows
            .iter()
            .map(|r| {
                vec![
                    r.topic.clone(),
                    r.partition.to_string(),
                    dash(&r.current_offset.map(|o| o.to_string())),
                    r.log_end_offset.to_string(),
                    dash(&r.lag.map(|o| o.to_string())),
                    dash(&r.member_id),
                    dash(&r.host),
                    dash(&r.client_id),
                ]
            })
            .collect::<Vec<_>>(),
    );
    Ok(())
}

/// Epoch milliseconds from `2026-11-29T10:00:00Z` (UTC, optional fraction) or a number.
pub fn parse_datetime(s: &str) -> Result<i64, ClientError> {
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(ms);
    }
    let bad = || {
        ClientError::Usage(format!(
            "{s}: expected YYYY-MM-DDTHH:MM:SS[.mmm]Z or epoch ms"
        ))
    };
    let s2 = s.strip_suffix('Z').ok_or_else(bad)?;
    let (date, time) = s2.split_once('T').ok_or_else(bad)?;
    let d: Vec<i64> = date
        .split('-')
        .map(|x| x.parse().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let t: Vec<i64> = hms
        .split(':')
        .map(|x| x.parse().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    if d.len() != 3 || t.len() != 3 {
        return Err(bad());
    }
    let millis: i64 = format!("{frac:0<3}")[..3].parse().map_err(|_| bad())?;
    // Days from the civil date (Howard Hinnant's algorithm).
    let (y, m, day) = (d[0] - i64::from(d[1] <= 2), d[1], d[2]);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Ok(((days * 24 + t[0]) * 60 + t[1]) * 60_000 + t[2] * 1000 + millis)
}

async fn reset(
    c: &mut Client,
    group: &str,
    topic: &str,
    to: &ResetTo,
    execute: bool,
    json: bool,
) -> Result<(), ClientError> {
    let (state, _) = members(c, group).await?;
    if !matches!(state.as_str(), "Empty" | "Dead" | "") {
        return Err(ClientError::Run(format!(
            "Assignments can only be reset if the group '{group}' is inactive, but the current state is {state}."
        )));
    }
    let layout: Layout = c.layout(topic).await?;
    let start = c.list_offsets(&layout, -2).await?;
    let end = c.list_offsets(&layout, -1).await?;
    let current = committed(c, group).await?.remove(topic).unwrap_or_default();
    let at_time = match &to.to_datetime {
        Some(dt) => Some(c.list_offsets(&layout, parse_datetime(dt)?).await?),
        None => None,
    };
    let mut targets = Vec::new();
    for &(p, _) in &layout.partitions {
        let (lo, hi) = (start[&p], end[&p]);
        let target = if to.to_earliest {
            lo
        } else if to.to_latest {
            hi
        } else if let Some(times) = &at_time {
            // No record at or after the time: the end, as Kafka's tool does.
            match times.get(&p).copied() {
                Some(o) if o >= 0 => o,
                _ => hi,
            }
        } else if let Some(o) = to.to_offset {
            o
        } else if let Some(n) = to.shift_by {
            current.get(&p).copied().unwrap_or(lo) + n
        } else {
            return Err(ClientError::Usage(
                "reset-offsets needs a --to-* or --shift-by".into(),
            ));
        };
        // Kafka's tool clamps to the log's range.
        targets.push((p, target.clamp(lo, hi)));
    }
    if execute {
        let req = OffsetCommitRequest::default()
            .with_group_id(group_id(group))
            .with_generation_id_or_member_epoch(-1)
            .with_member_id(StrBytes::from_static_str(""))
            .with_topics(vec![OffsetCommitRequestTopic::default()
                .with_name(topic_name(topic))
                .with_partitions(
                    targets
                        .iter()
                        .map(|&(p, o)| {
                            OffsetCommitRequestPartition::default()
                                .with_partition_index(p)
                                .with_committed_offset(o)
                        })
                        .collect(),
                )]);
        let v = c.version::<OffsetCommitRequest>(2, 9)?;
        let resp = c.coordinator(group).await?.call(&req, v).await?;
        for t in &resp.topics {
            for p in &t.partitions {
                check_msg(
                    || format!("commit {topic}-{} for {group}", p.partition_index),
                    p.error_code,
                    None,
                )?;
            }
        }
    }
    if json {
        output::json(&serde_json::json!({
            "group": group, "topic": topic, "executed": execute,
            "offsets": targets.iter().map(|(p, o)| serde_json::json!({"partition": p, "new_offset": o})).collect::<Vec<_>>(),
        }));
    } else {
        output::table(
            &["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"],
            &targets
                .iter()
                .map(|(p, o)| {
                    vec![
                        group.to_string(),
                        topic.to_string(),
                        p.to_string(),
                        o.to_string(),
                    ]
                })
                .collect::<Vec<_>>(),
        );
        if !execute {
            println!("(dry run: add --execute to commit these offsets)");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_datetime;

    #[test]
    fn datetimes_are_utc_epoch_millis() {
        assert_eq!(parse_datetime("1970-01-01T00:00:00Z").unwrap(), 0);
        assert_eq!(
            parse_datetime("2026-11-29T10:00:00.5Z").unwrap(),
            1_795_946_400_500
        );
        assert_eq!(parse_datetime("1234").unwrap(), 1234);
        assert!(parse_datetime("yesterday").is_err());
    }
}
