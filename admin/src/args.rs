//! The admin command line (clap derive) and the client properties it gathers:
//! `-b/--bootstrap`, `-X key=value` (as kcat) and `--command-config FILE` (a
//! Kafka client properties file, as Kafka's tools take), by Kafka's client
//! property names.

use clap::{Args, Parser, Subcommand};
use std::collections::BTreeMap;
use weir_client::ClientError;

#[derive(Debug, Parser)]
#[command(
    name = "weir",
    about = "weir's admin commands (any Kafka-protocol broker)"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct Global {
    /// Broker to bootstrap from (HOST:PORT).
    /// Broker to bootstrap from (HOST:PORT) [default: bootstrap.servers from -X or
    /// --command-config, else 127.0.0.1:9092].
    #[arg(short = 'b', long, global = true, env = "WEIR_BOOTSTRAP")]
    pub bootstrap: Option<String>,
    /// A Kafka client property (repeatable), e.g. -X security.protocol=SASL_SSL
    /// -X sasl.mechanism=SCRAM-SHA-512 (TLS and SASL as Kafka's clients name them).
    #[arg(short = 'X', global = true, value_name = "KEY=VALUE")]
    pub property: Vec<String>,
    /// A Kafka client properties file (key=value lines, # comments).
    #[arg(long, global = true, value_name = "FILE")]
    pub command_config: Option<String>,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
}

/// Client properties by Kafka's names, from the file, then `-X`, then `-b`.
#[derive(Debug, Clone, Default)]
pub struct Properties(pub BTreeMap<String, String>);

impl Properties {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }
}

impl Global {
    pub fn properties(&self) -> Result<Properties, ClientError> {
        let mut props = BTreeMap::new();
        if let Some(file) = &self.command_config {
            let text = std::fs::read_to_string(file)
                .map_err(|e| ClientError::Usage(format!("--command-config {file}: {e}")))?;
            for (n, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
                    continue;
                }
                let (k, v) = line
                    .split_once('=')
                    .or_else(|| line.split_once(':'))
                    .ok_or_else(|| {
                        ClientError::Usage(format!("{file}:{}: expected key=value", n + 1))
                    })?;
                props.insert(k.trim().to_string(), v.trim().to_string());
            }
        }
        for p in &self.property {
            let (k, v) = p
                .split_once('=')
                .ok_or_else(|| ClientError::Usage(format!("-X {p}: expected key=value")))?;
            props.insert(k.trim().to_string(), v.trim().to_string());
        }
        match &self.bootstrap {
            Some(b) => {
                props.insert("bootstrap.servers".into(), b.clone());
            }
            None => {
                props
                    .entry("bootstrap.servers".into())
                    .or_insert_with(|| "127.0.0.1:9092".into());
            }
        }
        Ok(Properties(props))
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create, list, describe, configure and delete topics.
    #[command(subcommand)]
    Topic(TopicCmd),
    /// List, describe (with lag), reset and delete consumer groups.
    #[command(subcommand)]
    Group(GroupCmd),
    /// Produce lines from stdin or files.
    Produce(ProduceCmd),
    /// Consume records and print them.
    Consume(ConsumeCmd),
    /// The cluster's brokers and controller.
    #[command(subcommand)]
    Cluster(ClusterCmd),
}

#[derive(Debug, Subcommand)]
pub enum TopicCmd {
    /// Create a topic.
    Create {
        name: String,
        #[arg(short, long, default_value_t = 1)]
        partitions: i32,
        #[arg(short = 'r', long, default_value_t = 1)]
        replication_factor: i16,
        /// A topic config (repeatable), e.g. -c cleanup.policy=compact.
        #[arg(short, long = "config", value_name = "KEY=VALUE")]
        config: Vec<String>,
    },
    /// List topics.
    List {
        /// Include internal topics (__consumer_offsets, ...).
        #[arg(long)]
        internal: bool,
    },
    /// Partitions with offsets, and the topic's own config overrides.
    Describe { name: String },
    /// Set (KEY=VALUE) or delete (KEY) topic configs.
    AlterConfig {
        name: String,
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        #[arg(long = "delete", value_name = "KEY")]
        delete: Vec<String>,
    },
    /// Raise the partition count to TOTAL.
    AddPartitions {
        name: String,
        #[arg(long)]
        total: i32,
    },
    /// Delete topics.
    Delete {
        #[arg(required = true)]
        names: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum GroupCmd {
    /// List groups with their state and type.
    List,
    /// Members, and per partition the committed offset, end offset and lag.
    Describe { group: String },
    /// Move a group's committed offsets (the group must be empty); a dry run
    /// unless --execute.
    ResetOffsets {
        group: String,
        /// The topic whose partitions move (all partitions).
        #[arg(long, required = true)]
        topic: String,
        #[command(flatten)]
        to: ResetTo,
        /// Commit the new offsets (without it, only show them).
        #[arg(long)]
        execute: bool,
    },
    /// Delete groups (they must be empty).
    Delete {
        #[arg(required = true)]
        groups: Vec<String>,
    },
}

/// Where reset-offsets moves to: exactly one.
#[derive(Debug, Args, Clone)]
#[group(required = true, multiple = false)]
pub struct ResetTo {
    #[arg(long)]
    pub to_earliest: bool,
    #[arg(long)]
    pub to_latest: bool,
    /// The first offset at or after a time: RFC 3339 (2026-11-29T10:00:00Z) or epoch ms.
    #[arg(long, value_name = "DATETIME")]
    pub to_datetime: Option<String>,
    #[arg(long, value_name = "OFFSET")]
    pub to_offset: Option<i64>,
    /// Move the committed offset by N (negative: back).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub shift_by: Option<i64>,
}

#[derive(Debug, Args)]
pub struct ProduceCmd {
    pub topic: String,
    /// Files to read lines from (default stdin).
    pub files: Vec<String>,
    /// Split each line into KEY SEP VALUE at the first SEP.
    #[arg(short = 'K', long, value_name = "SEP")]
    pub key_separator: Option<String>,
    /// A header on every record (repeatable).
    #[arg(short = 'H', long = "header", value_name = "KEY=VALUE")]
    pub headers: Vec<String>,
    /// Only this partition (default: murmur2 of the key, round robin without one).
    #[arg(short, long)]
    pub partition: Option<i32>,
    /// none, gzip, snappy, lz4, zstd.
    #[arg(short = 'z', long, default_value = "none")]
    pub compression: String,
    /// 0, 1 or all (-1).
    #[arg(long, default_value = "all", allow_hyphen_values = true)]
    pub acks: String,
}

#[derive(Debug, Args)]
pub struct ConsumeCmd {
    pub topic: String,
    /// Only this partition (default: all).
    #[arg(short, long)]
    pub partition: Option<i32>,
    /// earliest, latest, an offset, or @EPOCH_MS (the first record at or after it).
    #[arg(
        short = 'o',
        long,
        default_value = "earliest",
        allow_hyphen_values = true
    )]
    pub from: String,
    /// Stop after this many records.
    #[arg(short = 'c', long)]
    pub count: Option<u64>,
    /// Keep waiting for new records (default: stop at the end).
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// kcat-like format: %t topic, %p partition, %o offset, %k key, %s value,
    /// %T timestamp, %h headers, \n \t.
    #[arg(long, default_value = "%s\\n")]
    pub format: String,
}

#[derive(Debug, Subcommand)]
pub enum ClusterCmd {
    /// Cluster id, controller and brokers.
    Info,
}
