//! Command line of `weir bench`: flags, defaults, named workloads, and one-line errors.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::{CommandFactory, Parser, ValueEnum};

use crate::BenchError;
use weir_client::ClientSecurity;
use weir_storage::Compression;

/// What the run measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// Producers only: throughput and produce->ack latency.
    Produce,
    /// Consumers only (from existing data, or data written by `--prefill`).
    Consume,
    /// Producers and consumers at once: adds end-to-end latency.
    E2e,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Produce => "produce",
            Mode::Consume => "consume",
            Mode::E2e => "e2e",
        }
    }
}

/// How record keys (and so partitions) are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keys {
    /// Null keys; records stick to one partition until its batch is sent (Kafka's sticky
    /// partitioner), then move to the next.
    None,
    /// Keys drawn uniformly at random from N distinct keys, partitioned by murmur2 as Kafka does.
    Uniform(u64),
    /// Keys 0, 1, ..., N-1, 0, 1, ... in turn, partitioned by murmur2.
    Sequential(u64),
}

/// Where consumers start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    Earliest,
    Latest,
}

/// A full benchmark configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub mode: Mode,
    pub bootstrap: String,
    pub compare: Option<String>,
    pub rounds: usize,
    pub workload: Option<String>,
    pub topic: String,
    pub create: bool,
    pub partitions: i32,
    pub replication_factor: i16,
    pub topic_configs: Vec<(String, String)>,
    /// Size of each record value in bytes (the first 8 carry the send timestamp).
    pub record_size: usize,
    pub keys: Keys,
    /// Stop after this many records (produced, or consumed in consume mode).
    pub records: Option<u64>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Target produce rate in records/s across all producers; `None` = as fast as possible.
    pub rate: Option<f64>,
    pub acks: i16,
    pub linger: Duration,
    pub batch_bytes: usize,
    pub compression: Compression,
    pub max_in_flight: usize,
    pub producers: usize,
    pub consumers: usize,
    pub fetch_max_bytes: i32,
    pub partition_max_bytes: i32,
    pub fetch_max_wait_ms: i32,
    pub fetch_min_bytes: i32,
    pub from: StartAt,
    /// Records to write (unmeasured) before a consume run.
    pub prefill: u64,
    /// Load runs this long before measuring starts (counters and histograms reset).
    pub warmup: Duration,
    pub request_timeout_ms: i32,
    pub json: bool,
    pub svg: Option<PathBuf>,
    pub quiet: bool,
    /// TLS and SASL of every connection, from Kafka client properties
    /// (`--command-config FILE`, `-X key=value`).
    pub security: ClientSecurity,
    /// With `--compare-command-config`: the security of the `--compare` broker (the same
    /// properties with that file's on top), e.g. PLAINTEXT against SASL_SSL of one broker.
    pub compare_security: Option<ClientSecurity>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            mode: Mode::Produce,
            bootstrap: String::new(),
            compare: None,
            rounds: 3,
            workload: None,
            topic: "weir-bench".into(),
            create: false,
            partitions: 1,
            replication_factor: 1,
            topic_configs: Vec::new(),
            record_size: 1024,
            keys: Keys::None,
            records: None,
            duration: None,
            rate: None,
            acks: -1,
            linger: Duration::from_millis(5),
            batch_bytes: 1024 * 1024,
            compression: Compression::None,
            max_in_flight: 5,
            producers: 1,
            consumers: 1,
            fetch_max_bytes: 50 * 1024 * 1024,
            partition_max_bytes: 1024 * 1024,
            fetch_max_wait_ms: 500,
            fetch_min_bytes: 1,
            from: StartAt::Earliest,
            prefill: 0,
            warmup: Duration::ZERO,
            request_timeout_ms: 30_000,
            json: false,
            svg: None,
            quiet: false,
            security: ClientSecurity::plaintext(),
            compare_security: None,
        }
    }
}

/// Default run length when neither `--records` nor `--duration` is given (produce / e2e).
pub const DEFAULT_DURATION: Duration = Duration::from_secs(10);

/// The notes printed after the flag list by `weir bench --help`: units and the named
/// workloads (the flags themselves are listed by clap from [`Flags`]).
pub const USAGE: &str = "\
BYTES accepts plain bytes or KiB/MiB suffixes; counts and rates accept k/m suffixes (10^3/10^6);
durations D accept ms, s and m suffixes (e.g. 500ms, 30s, 2m).
MB/s in reports is 10^6 bytes of record payload (key + value) per second; wire MB/s counts
Produce request frames.

--workload NAME (OpenMessaging Benchmark names; e2e, 1 producer, 1 consumer, 1 KiB records,
acks=all, linger 1ms, batch 1MiB, partition fetch 10MiB, topic created; default duration 60s;
any other flag given overrides the preset):
  1-topic-1-partition-1kb, 1-topic-16-partitions-1kb, 1-topic-100-partitions-1kb   (50k msg/s)
  max-rate-1-topic-1-partition-1kb, max-rate-1-topic-16-partitions-1kb,
  max-rate-1-topic-100-partitions-1kb                                               (unlimited)";

/// Names of the built-in workloads.
pub const WORKLOADS: &[&str] = &[
    "1-topic-1-partition-1kb",
    "1-topic-16-partitions-1kb",
    "1-topic-100-partitions-1kb",
    "max-rate-1-topic-1-partition-1kb",
    "max-rate-1-topic-16-partitions-1kb",
    "max-rate-1-topic-100-partitions-1kb",
];

fn apply_workload(c: &mut Config, name: &str) {
    let (rate, partitions) = match name {
        "1-topic-1-partition-1kb" => (Some(50_000.0), 1),
        "1-topic-16-partitions-1kb" => (Some(50_000.0), 16),
        "1-topic-100-partitions-1kb" => (Some(50_000.0), 100),
        "max-rate-1-topic-1-partition-1kb" => (None, 1),
        "max-rate-1-topic-16-partitions-1kb" => (None, 16),
        _ => (None, 100),
    };
    c.mode = Mode::E2e;
    c.workload = Some(name.to_string());
    c.topic = format!("weir-bench-{name}");
    c.create = true;
    c.partitions = partitions;
    c.record_size = 1024;
    c.rate = rate;
    c.acks = -1;
    c.linger = Duration::from_millis(1);
    c.batch_bytes = 1024 * 1024;
    c.partition_max_bytes = 10 * 1024 * 1024;
    c.duration = Some(Duration::from_secs(60));
    c.producers = 1;
    c.consumers = 1;
}

fn usage(msg: String) -> BenchError {
    BenchError::Usage(format!("weir bench: {msg} (see weir bench --help)"))
}

// Value parsers. Each returns the message without the flag's name: clap calls them for
// every flag they are attached to, and `one_line` puts the flag in front.

fn count(s: &str) -> Result<f64, String> {
    let bad = || format!("expected a number like 50000, 50k or 1m, got '{s}'");
    let (num, mult) = match s.chars().last() {
        Some('k') | Some('K') => (&s[..s.len() - 1], 1e3),
        Some('m') | Some('M') => (&s[..s.len() - 1], 1e6),
        _ => (s, 1.0),
    };
    let v: f64 = num.parse().map_err(|_| bad())?;
    if !v.is_finite() || v < 0.0 {
        return Err(bad());
    }
    Ok(v * mult)
}

fn count_u64(s: &str) -> Result<u64, String> {
    count(s).map(|v| v as u64)
}

fn int<T: std::str::FromStr>(s: &str) -> Result<T, String> {
    s.parse()
        .map_err(|_| format!("expected an integer, got '{s}'"))
}

fn bytes(s: &str) -> Result<usize, String> {
    let bad = || format!("expected bytes like 1024, 64KiB or 1MiB, got '{s}'");
    let (num, mult) = if let Some(n) = s.strip_suffix("KiB") {
        (n, 1024)
    } else if let Some(n) = s.strip_suffix("MiB") {
        (n, 1024 * 1024)
    } else {
        (s, 1)
    };
    let v: usize = num.parse().map_err(|_| bad())?;
    v.checked_mul(mult).ok_or_else(bad)
}

fn bytes_i32(s: &str) -> Result<i32, String> {
    let b = bytes(s)?;
    i32::try_from(b).map_err(|_| format!("{b} is too large"))
}

fn duration(s: &str, bare_unit: Duration) -> Result<Duration, String> {
    let bad = || format!("expected a duration like 500ms, 10s or 2m, got '{s}'");
    let (num, unit) = if let Some(n) = s.strip_suffix("ms") {
        (n, Duration::from_millis(1))
    } else if let Some(n) = s.strip_suffix('s') {
        (n, Duration::from_secs(1))
    } else if let Some(n) = s.strip_suffix('m') {
        (n, Duration::from_secs(60))
    } else {
        (s, bare_unit)
    };
    let v: f64 = num.parse().map_err(|_| bad())?;
    if !v.is_finite() || v < 0.0 {
        return Err(bad());
    }
    Ok(unit.mul_f64(v))
}

/// A duration whose bare numbers are seconds (`--duration`, `--warmup`).
fn secs(s: &str) -> Result<Duration, String> {
    duration(s, Duration::from_secs(1))
}

/// A duration whose bare numbers are milliseconds (`--linger`).
fn millis(s: &str) -> Result<Duration, String> {
    duration(s, Duration::from_millis(1))
}

fn keys(s: &str) -> Result<Keys, String> {
    let bad = || format!("expected none, uniform:N or sequential:N, got '{s}'");
    if s == "none" {
        return Ok(Keys::None);
    }
    let (kind, n) = s.split_once(':').ok_or_else(bad)?;
    let n = count(n)? as u64;
    if n == 0 {
        return Err(bad());
    }
    match kind {
        "uniform" => Ok(Keys::Uniform(n)),
        "sequential" => Ok(Keys::Sequential(n)),
        _ => Err(bad()),
    }
}

fn host_port(s: &str) -> Result<String, String> {
    match s.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(s.to_string()),
        _ => Err(format!("expected HOST:PORT, got '{s}'")),
    }
}

fn topic(s: &str) -> Result<String, String> {
    if s.is_empty() {
        return Err("empty topic name".into());
    }
    Ok(s.to_string())
}

fn key_value(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("expected KEY=VALUE, got '{s}'"))?;
    Ok((k.to_string(), v.to_string()))
}

fn acks(s: &str) -> Result<i16, String> {
    match s {
        "all" | "-1" => Ok(-1),
        "1" => Ok(1),
        "0" => Ok(0),
        _ => Err(format!("expected 0, 1, -1 or all, got '{s}'")),
    }
}

fn codec(s: &str) -> Result<Compression, String> {
    Compression::from_name(s)
        .ok_or_else(|| format!("unknown codec '{s}' (none, gzip, snappy, lz4, zstd)"))
}

fn start_at(s: &str) -> Result<StartAt, String> {
    match s {
        "earliest" => Ok(StartAt::Earliest),
        "latest" => Ok(StartAt::Latest),
        _ => Err(format!("expected earliest or latest, got '{s}'")),
    }
}

fn workload(s: &str) -> Result<String, String> {
    if !WORKLOADS.contains(&s) {
        return Err(format!(
            "unknown workload '{s}' (one of: {})",
            WORKLOADS.join(", ")
        ));
    }
    Ok(s.to_string())
}

/// Parses a count or rate: `50000`, `50k`, `1.5m`.
pub fn parse_count(flag: &str, s: &str) -> Result<f64, BenchError> {
    count(s).map_err(|m| usage(format!("{flag}: {m}")))
}

/// Parses a byte size: `1024`, `64KiB`, `1MiB`.
pub fn parse_bytes(flag: &str, s: &str) -> Result<usize, BenchError> {
    bytes(s).map_err(|m| usage(format!("{flag}: {m}")))
}

/// Parses a duration: `500ms`, `10s`, `2m`, or a bare number in `bare_unit`.
pub fn parse_duration(flag: &str, s: &str, bare_unit: Duration) -> Result<Duration, BenchError> {
    duration(s, bare_unit).map_err(|m| usage(format!("{flag}: {m}")))
}

/// The flags of `weir bench MODE`, as given (`None`: not given). [`parse`] lays them over
/// [`Config::default`] and the `--workload` preset, so a flag given always wins.
#[derive(Debug, Parser)]
#[command(
    name = "weir bench",
    bin_name = "weir bench",
    about = "Load generator for any Kafka-protocol broker: throughput and latency percentiles.",
    override_usage = "weir bench produce|consume|e2e --bootstrap HOST:PORT [options]",
    help_template = "{about-with-newline}\nusage: {usage}\n\n{all-args}{after-help}",
    after_help = USAGE,
    // `--acks -1`, `--partitions -1` (refused later with its own message).
    allow_negative_numbers = true,
    // A flag given twice: the last one wins.
    args_override_self = true,
    disable_version_flag = true,
    max_term_width = 100
)]
pub struct Flags {
    /// What the run measures: producers only, consumers only, or both at once
    /// (adds end-to-end latency).
    #[arg(value_enum, value_name = "MODE")]
    pub mode: Mode,
    /// Broker to benchmark (any Kafka-protocol broker) [default: bootstrap.servers from -X or
    /// --command-config].
    #[arg(short = 'b', long, value_name = "HOST:PORT", value_parser = host_port)]
    pub bootstrap: Option<String>,
    /// Also run against this broker, alternating rounds A B A B ...
    #[arg(long, value_name = "HOST:PORT", value_parser = host_port)]
    pub compare: Option<String>,
    /// Rounds per broker with --compare (default 3).
    #[arg(long, value_name = "N", value_parser = int::<usize>)]
    pub rounds: Option<usize>,
    /// An OpenMessaging-Benchmark-style preset (listed below); other flags override it.
    #[arg(long, value_name = "NAME", value_parser = workload)]
    pub workload: Option<String>,
    /// Topic (default weir-bench).
    #[arg(long, value_name = "NAME", value_parser = topic)]
    pub topic: Option<String>,
    /// Create the topic if missing (CreateTopics).
    #[arg(long)]
    pub create: bool,
    /// Partitions when creating (default 1).
    #[arg(long, value_name = "N", value_parser = int::<i32>)]
    pub partitions: Option<i32>,
    /// Replication factor when creating (default 1).
    #[arg(long, value_name = "N", value_parser = int::<i16>)]
    pub replication_factor: Option<i16>,
    /// Topic config when creating (repeatable).
    #[arg(long, value_name = "K=V", value_parser = key_value)]
    pub topic_config: Vec<(String, String)>,
    /// Value size, >= 8; the first 8 bytes carry the send time (default 1024).
    #[arg(long, value_name = "BYTES", value_parser = bytes)]
    pub record_size: Option<usize>,
    /// Key distribution: none|uniform:N|sequential:N (default none = sticky partitioning).
    #[arg(long, value_name = "KEYS", value_parser = keys)]
    pub keys: Option<Keys>,
    /// Stop after N records (produced; consumed in consume mode, which gives up when
    /// none came for 10 s unless --duration is given).
    #[arg(long, value_name = "N", value_parser = count_u64)]
    pub records: Option<u64>,
    /// Stop after D (e.g. 30s, 2m; default 10s if --records is not given).
    #[arg(long, value_name = "D", value_parser = secs)]
    pub duration: Option<Duration>,
    /// Run the load for D first and discard those measurements (needs --duration).
    #[arg(long, value_name = "D", value_parser = secs)]
    pub warmup: Option<Duration>,
    /// Target records/s over all producers, paced without busy waiting (e.g. 50000, 50k;
    /// default and 0: unlimited).
    #[arg(long, value_name = "R", value_parser = count)]
    pub rate: Option<f64>,
    /// Produce acks: 0|1|-1|all (default all).
    #[arg(long, value_name = "ACKS", value_parser = acks)]
    pub acks: Option<i16>,
    /// How long a batch waits for more records (default 5ms; bare numbers are ms).
    #[arg(long, value_name = "D", value_parser = millis)]
    pub linger: Option<Duration>,
    /// Max batch size (default 1MiB).
    #[arg(long, value_name = "BYTES", value_parser = bytes)]
    pub batch_bytes: Option<usize>,
    /// none|gzip|snappy|lz4|zstd (default none).
    #[arg(long, value_name = "CODEC", value_parser = codec)]
    pub compression: Option<Compression>,
    /// Pipelined Produce requests per connection (default 5).
    #[arg(long, value_name = "N", value_parser = int::<usize>)]
    pub max_in_flight: Option<usize>,
    /// Producer connections/tasks (default 1).
    #[arg(long, value_name = "N", value_parser = int::<usize>)]
    pub producers: Option<usize>,
    /// Consumer tasks; partitions are split among them (default 1).
    #[arg(long, value_name = "N", value_parser = int::<usize>)]
    pub consumers: Option<usize>,
    /// Fetch max_bytes (default 50MiB).
    #[arg(long, value_name = "BYTES", value_parser = bytes_i32)]
    pub fetch_max_bytes: Option<i32>,
    /// Fetch partition_max_bytes (default 1MiB).
    #[arg(long, value_name = "BYTES", value_parser = bytes_i32)]
    pub partition_max_bytes: Option<i32>,
    /// Fetch max_wait_ms (default 500).
    #[arg(long, value_name = "MS", value_parser = int::<i32>)]
    pub fetch_max_wait_ms: Option<i32>,
    /// Fetch min_bytes (default 1).
    #[arg(long, value_name = "BYTES", value_parser = bytes_i32)]
    pub fetch_min_bytes: Option<i32>,
    /// Where consume mode starts: earliest|latest (default earliest).
    #[arg(long, value_name = "WHERE", value_parser = start_at)]
    pub from: Option<StartAt>,
    /// Consume mode: first write N records (not measured).
    #[arg(long, value_name = "N", value_parser = count_u64)]
    pub prefill: Option<u64>,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Write an SVG report with latency over time.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// No progress line each second.
    #[arg(long)]
    pub quiet: bool,
    /// Kafka client properties (key=value lines): security.protocol,
    /// ssl.truststore.location, ssl.keystore.location, sasl.mechanism, sasl.jaas.config, ...
    /// (TLS and SASL, as Kafka's clients name them).
    #[arg(long, value_name = "FILE")]
    pub command_config: Vec<String>,
    /// One client property (repeatable; wins over --command-config).
    #[arg(short = 'X', value_name = "KEY=VALUE", value_parser = key_value)]
    pub property: Vec<(String, String)>,
    /// Properties for the --compare broker, on top of the above (e.g. the same broker's
    /// PLAINTEXT port vs its SASL_SSL port).
    #[arg(long, value_name = "FILE")]
    pub compare_command_config: Option<String>,
}

/// The whole `--help` text.
pub fn help() -> String {
    Flags::command().render_long_help().to_string()
}

/// clap's error as our one line: the flag, then what is wrong with its value.
fn one_line(e: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let context = |kind| match e.get(kind) {
        Some(ContextValue::String(s)) => Some(s.as_str()),
        _ => None,
    };
    // "--rate <R>" -> "--rate"; "<MODE>" for the mode.
    let arg = context(ContextKind::InvalidArg).map(|a| a.split([' ', '=']).next().unwrap_or(a));
    let value = context(ContextKind::InvalidValue);
    match (e.kind(), arg) {
        (ErrorKind::UnknownArgument, Some(a)) if a.starts_with('-') => {
            return match context(ContextKind::SuggestedArg) {
                Some(s) => format!("unknown flag {a} (did you mean {s}?)"),
                None => format!("unknown flag {a}"),
            };
        }
        (ErrorKind::UnknownArgument, Some(a)) => return format!("unexpected argument '{a}'"),
        (ErrorKind::ValueValidation, Some(a)) => {
            if let Some(source) = std::error::Error::source(e) {
                return format!("{a}: {source}");
            }
        }
        (ErrorKind::InvalidValue, Some(a)) if a.starts_with('<') => {
            return format!(
                "unknown mode '{}' (expected produce, consume or e2e)",
                value.unwrap_or_default()
            )
        }
        (ErrorKind::InvalidValue, Some(a)) if value == Some("") => {
            return format!("{a} needs a value")
        }
        (ErrorKind::MissingRequiredArgument, _) => {
            return "missing mode (expected produce, consume or e2e)".into()
        }
        _ => {}
    }
    let text = e.to_string();
    let first = text.lines().next().unwrap_or_default();
    first.strip_prefix("error: ").unwrap_or(first).to_string()
}

/// What the command line asked for: a run, or the help text ([`help`]).
#[derive(Debug)]
pub enum Command {
    Help,
    Run(Box<Config>),
}

/// Parses `weir bench ARGS...` (without the leading `bench`).
pub fn parse(args: &[String]) -> Result<Command, BenchError> {
    if matches!(args.first().map(String::as_str), None | Some("help")) {
        return Ok(Command::Help);
    }
    let argv = std::iter::once("weir bench").chain(args.iter().map(String::as_str));
    let f = match Flags::try_parse_from(argv) {
        Ok(f) => f,
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp => return Ok(Command::Help),
        Err(e) => return Err(usage(one_line(&e))),
    };
    config(f).map(|c| Command::Run(Box::new(c)))
}

/// Lays the flags given over the defaults and the workload preset, reads the client
/// properties, and checks the whole.
fn config(f: Flags) -> Result<Config, BenchError> {
    let mut c = Config::default();
    if let Some(w) = &f.workload {
        // A workload fixes e2e semantics but the mode given wins (e.g. produce-only).
        apply_workload(&mut c, w);
    }
    c.mode = f.mode;
    macro_rules! given {
        ($($field:ident),*) => { $(if let Some(v) = f.$field { c.$field = v; })* };
    }
    given!(
        topic,
        partitions,
        replication_factor,
        record_size,
        keys,
        acks,
        linger,
        batch_bytes,
        compression,
        max_in_flight,
        producers,
        consumers,
        fetch_max_bytes,
        partition_max_bytes,
        fetch_max_wait_ms,
        fetch_min_bytes,
        from,
        prefill,
        warmup,
        rounds
    );
    if let Some(b) = f.bootstrap {
        c.bootstrap = b;
    }
    if f.compare.is_some() {
        c.compare = f.compare;
    }
    if f.records.is_some() {
        c.records = f.records;
    }
    if f.duration.is_some() {
        c.duration = f.duration;
    }
    if let Some(r) = f.rate {
        c.rate = if r == 0.0 { None } else { Some(r) };
    }
    c.create |= f.create;
    c.json = f.json;
    c.quiet = f.quiet;
    c.svg = f.svg;
    c.topic_configs = f.topic_config;

    // Client properties: -X wins over every --command-config (given before or after it); of
    // two files, the first one's value of a key stays.
    let mut props: BTreeMap<String, String> = f
        .property
        .into_iter()
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    for file in &f.command_config {
        for (k, v) in read_properties(file)? {
            props.entry(k).or_insert(v);
        }
    }
    if c.bootstrap.is_empty() {
        if let Some(b) = props.get("bootstrap.servers") {
            let first = b.split(',').next().unwrap_or(b);
            c.bootstrap = host_port(first).map_err(|m| usage(format!("bootstrap.servers: {m}")))?;
        }
    }
    c.security = ClientSecurity::from_properties(&|k| props.get(k).cloned())?;
    if let Some(file) = &f.compare_command_config {
        if c.compare.is_none() {
            return Err(usage("--compare-command-config needs --compare".into()));
        }
        let mut b = props.clone();
        b.extend(read_properties(file)?);
        c.compare_security = Some(ClientSecurity::from_properties(&|k| b.get(k).cloned())?);
    }
    validate(&c)?;
    Ok(c)
}

/// A Kafka client properties file, read as `java.util.Properties.load` reads it (the
/// `java-properties` crate: escapes, continuation lines, `key value` forms), UTF-8.
fn read_properties(file: &str) -> Result<Vec<(String, String)>, BenchError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| usage(format!("--command-config {file}: {e}")))?;
    let mut out = Vec::new();
    let lines =
        java_properties::PropertiesIter::new_with_encoding(text.as_bytes(), encoding_rs::UTF_8);
    for line in lines {
        let line = line.map_err(|e| usage(format!("--command-config {file}: {e}")))?;
        if let java_properties::LineContent::KVPair(k, v) = line.consume_content() {
            out.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    Ok(out)
}

fn validate(c: &Config) -> Result<(), BenchError> {
    if c.bootstrap.is_empty() {
        return Err(usage("--bootstrap HOST:PORT is required".into()));
    }
    if c.record_size < 8 {
        return Err(usage(format!(
            "--record-size: must be at least 8 (the value carries an 8-byte timestamp), got {}",
            c.record_size
        )));
    }
    let positive = [
        ("--partitions", c.partitions as i64),
        ("--replication-factor", c.replication_factor as i64),
        ("--max-in-flight", c.max_in_flight as i64),
        ("--producers", c.producers as i64),
        ("--consumers", c.consumers as i64),
        ("--rounds", c.rounds as i64),
        ("--batch-bytes", c.batch_bytes as i64),
        ("--fetch-max-bytes", c.fetch_max_bytes as i64),
        ("--partition-max-bytes", c.partition_max_bytes as i64),
    ];
    for (flag, v) in positive {
        if v <= 0 {
            return Err(usage(format!("{flag}: must be at least 1, got {v}")));
        }
    }
    if c.fetch_max_wait_ms < 0 {
        return Err(usage("--fetch-max-wait-ms: must not be negative".into()));
    }
    if c.records == Some(0) {
        return Err(usage("--records: must be at least 1".into()));
    }
    if c.duration == Some(Duration::ZERO) {
        return Err(usage("--duration: must be positive".into()));
    }
    if c.acks == 0 && c.mode != Mode::Consume {
        // Fine, but no ack latency can be measured; reported as such.
    }
    if !c.warmup.is_zero() && (c.duration.is_none() || c.records.is_some()) {
        return Err(usage(
            "--warmup needs --duration (and no --records): the measured part is timed".into(),
        ));
    }
    if c.prefill > 0 && c.mode != Mode::Consume {
        return Err(usage("--prefill only applies to consume mode".into()));
    }
    if c.compare.is_some() && c.compare.as_deref() == Some(c.bootstrap.as_str()) {
        return Err(usage("--compare: same address as --bootstrap".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    fn cfg(s: &str) -> Config {
        match parse(&args(s)).unwrap() {
            Command::Run(c) => *c,
            Command::Help => panic!("help"),
        }
    }

    #[test]
    fn client_properties_from_x_and_command_config() {
        let dir = std::env::temp_dir().join(format!("weir-bench-args-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("client.properties");
        std::fs::write(
            &file,
            "# comment\nbootstrap.servers=127.0.0.1:9095,127.0.0.1:9096\nsecurity.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.username=file\nsasl.password=pw\n",
        )
        .unwrap();
        let f = file.to_string_lossy().into_owned();
        let c = cfg(&format!("produce --command-config {f}"));
        assert_eq!(c.bootstrap, "127.0.0.1:9095");
        assert_eq!(c.security.protocol_name(), "SASL_PLAINTEXT");
        assert_eq!(c.security.sasl.as_ref().unwrap().username, "file");
        // -X wins over the file, before or after it; --bootstrap wins over bootstrap.servers.
        for line in [
            format!("produce --bootstrap h:1 -X sasl.username=x --command-config {f}"),
            format!("produce --bootstrap h:1 --command-config {f} -Xsasl.username=x"),
        ] {
            let c = cfg(&line);
            assert_eq!(c.bootstrap, "h:1");
            assert_eq!(c.security.sasl.as_ref().unwrap().username, "x", "{line}");
        }
        // The compare broker's file goes on top of the same properties.
        std::fs::write(
            dir.join("plain.properties"),
            "security.protocol=PLAINTEXT\n",
        )
        .unwrap();
        let p = dir.join("plain.properties").to_string_lossy().into_owned();
        let c = cfg(&format!(
            "produce --command-config {f} --compare h:2 --compare-command-config {p}"
        ));
        assert_eq!(c.security.protocol_name(), "SASL_PLAINTEXT");
        assert_eq!(c.compare_security.unwrap().protocol_name(), "PLAINTEXT");
        for bad in [
            format!("produce --bootstrap h:1 --compare-command-config {p}"),
            "produce --bootstrap h:1 -X".to_string(),
            "produce --bootstrap h:1 -X novalue".to_string(),
            "produce --bootstrap h:1 -X security.protocol=SASL_SSL -X sasl.mechanism=GSSAPI"
                .to_string(),
            "produce --bootstrap h:1 --command-config /nonexistent/file".to_string(),
        ] {
            let e = parse(&args(&bad)).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}: {e}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn err(s: &str) -> String {
        let e = parse(&args(s)).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        let m = e.to_string();
        assert!(!m.contains('\n'), "one line: {m}");
        m
    }

    #[test]
    fn defaults_and_basic_flags() {
        let c = cfg("produce --bootstrap 127.0.0.1:9092");
        assert_eq!(c.mode, Mode::Produce);
        assert_eq!(c.record_size, 1024);
        assert_eq!(c.acks, -1);
        assert_eq!(c.rate, None);
        let c = cfg("e2e --bootstrap h:1 --rate 50k --records=1m --acks 1 --linger 2ms --batch-bytes 64KiB --compression lz4 --keys uniform:100 --duration 2m");
        assert_eq!(c.mode, Mode::E2e);
        assert_eq!(c.rate, Some(50_000.0));
        assert_eq!(c.records, Some(1_000_000));
        assert_eq!(c.acks, 1);
        assert_eq!(c.linger, Duration::from_millis(2));
        assert_eq!(c.batch_bytes, 65536);
        assert_eq!(c.compression, Compression::Lz4);
        assert_eq!(c.keys, Keys::Uniform(100));
        assert_eq!(c.duration, Some(Duration::from_secs(120)));
    }

    #[test]
    fn workload_sets_omb_values_and_flags_override_it() {
        let c = cfg("e2e --duration 5s --bootstrap h:1 --workload 1-topic-16-partitions-1kb");
        assert_eq!(c.partitions, 16);
        assert_eq!(c.rate, Some(50_000.0));
        assert_eq!(c.record_size, 1024);
        assert!(c.create);
        assert_eq!(
            c.duration,
            Some(Duration::from_secs(5)),
            "explicit flag wins"
        );
        let c = cfg("e2e --bootstrap h:1 --workload max-rate-1-topic-100-partitions-1kb");
        assert_eq!(c.rate, None);
        assert_eq!(c.partitions, 100);
        assert_eq!(c.duration, Some(Duration::from_secs(60)));
        assert!(err("e2e --bootstrap h:1 --workload nope").contains("unknown workload 'nope'"));
    }

    #[test]
    fn bad_input_gives_one_clear_line() {
        assert!(err("produce").contains("--bootstrap"));
        assert!(err("fly --bootstrap h:1").contains("unknown mode 'fly'"));
        assert!(err("produce --bootstrap h:1 --bogus 3").contains("unknown flag --bogus"));
        assert!(err("produce --bootstrap nohost").contains("HOST:PORT"));
        assert!(err("produce --bootstrap h:1 --acks 2").contains("--acks"));
        assert!(err("produce --bootstrap h:1 --rate fast").contains("--rate"));
        assert!(err("produce --bootstrap h:1 --record-size 4").contains("at least 8"));
        assert!(err("produce --bootstrap h:1 --linger 5parsecs").contains("--linger"));
        assert!(err("produce --bootstrap h:1 --partitions 0").contains("--partitions"));
        assert!(err("produce --bootstrap h:1 --keys zipf:3").contains("--keys"));
        assert!(err("produce --bootstrap h:1 --records").contains("needs a value"));
        assert!(err("produce --bootstrap h:1 --compression brotli").contains("brotli"));
        assert!(err("produce --bootstrap h:1 --compare h:1").contains("--compare"));
        assert!(err("produce --bootstrap h:1 --warmup 5s").contains("--warmup needs --duration"));
        let c = cfg("e2e --bootstrap h:1 --warmup 5s --duration 20s");
        assert_eq!(c.warmup, Duration::from_secs(5));
    }

    #[test]
    fn help_is_not_an_error() {
        assert!(matches!(parse(&args("--help")).unwrap(), Command::Help));
        assert!(matches!(parse(&[]).unwrap(), Command::Help));
        assert!(USAGE.contains("--workload"));
    }

    #[test]
    fn unit_parsers() {
        assert_eq!(parse_count("x", "1.5m").unwrap(), 1_500_000.0);
        assert_eq!(parse_bytes("x", "1MiB").unwrap(), 1 << 20);
        assert_eq!(
            parse_duration("x", "250ms", Duration::from_secs(1)).unwrap(),
            Duration::from_millis(250)
        );
        assert_eq!(
            parse_duration("x", "3", Duration::from_millis(1)).unwrap(),
            Duration::from_millis(3)
        );
        assert!(parse_count("x", "-3").is_err());
    }

    #[test]
    fn help_lists_every_flag_and_the_workloads() {
        let help = help();
        for a in Flags::command().get_arguments() {
            if let Some(long) = a.get_long() {
                assert!(help.contains(&format!("--{long}")), "--{long} in\n{help}");
            }
            if let Some(short) = a.get_short() {
                assert!(help.contains(&format!("-{short}")), "-{short} in\n{help}");
            }
        }
        for w in WORKLOADS {
            assert!(help.contains(w), "{w}");
        }
        assert!(help.contains("produce") && help.contains("e2e") && help.contains("KiB"));
        for h in ["produce --help", "e2e --bootstrap h:1 -h", "help"] {
            assert!(matches!(parse(&args(h)).unwrap(), Command::Help), "{h}");
        }
    }

    #[test]
    fn clap_spellings_and_last_flag_wins() {
        // A flag given twice: the last one wins; `-1` is a value, not a flag.
        let c = cfg("produce -b h:1 --acks 1 --acks -1 --rate=10 --rate 20k --topic=a --topic b");
        assert_eq!(c.bootstrap, "h:1");
        assert_eq!(c.acks, -1);
        assert_eq!(c.rate, Some(20_000.0));
        assert_eq!(c.topic, "b");
        // Repeatable flags add up.
        let c = cfg("produce --bootstrap h:1 --topic-config a=1 --topic-config=b=2");
        assert_eq!(
            c.topic_configs,
            [("a".into(), "1".into()), ("b".into(), "2".into())]
        );
        // --rate 0 means unlimited, also over a workload's rate.
        let c = cfg("e2e --bootstrap h:1 --workload 1-topic-1-partition-1kb --rate 0");
        assert_eq!(c.rate, None);
        // The mode given wins over the workload's e2e; a workload's values stay otherwise.
        let c = cfg("produce --workload 1-topic-16-partitions-1kb --bootstrap h:1 --partitions 3");
        assert_eq!(c.mode, Mode::Produce);
        assert_eq!(c.partitions, 3);
        assert_eq!(c.linger, Duration::from_millis(1));
        assert_eq!(c.topic, "weir-bench-1-topic-16-partitions-1kb");
        let c = cfg(
            "consume --bootstrap h:1 --from latest --prefill 2k --linger 7 --warmup 1 --duration 3",
        );
        assert_eq!((c.from, c.prefill), (StartAt::Latest, 2000));
        assert_eq!(c.linger, Duration::from_millis(7), "bare --linger is ms");
        assert_eq!(c.warmup, Duration::from_secs(1), "bare durations are s");
    }

    #[test]
    fn every_bad_flag_is_one_prefixed_line() {
        for (line, want) in [
            (
                "produce --bootstrap h:1 extra",
                "unexpected argument 'extra'",
            ),
            ("produce --bootstrap h:1 -Y 3", "unknown flag -Y"),
            (
                "produce --bootstrap h:1 --partition 3",
                "(did you mean --partitions?)",
            ),
            ("produce --bootstrap h:1 --create=yes", "--create"),
            (
                "produce --bootstrap h:1 --topic=",
                "--topic: empty topic name",
            ),
            ("produce --bootstrap h:1 -X", "-X needs a value"),
            (
                "produce --bootstrap h:1 -X novalue",
                "-X: expected KEY=VALUE",
            ),
            (
                "produce --bootstrap h:1 --topic-config x",
                "--topic-config: expected KEY=VALUE",
            ),
            (
                "produce --bootstrap h:1 --from middle",
                "--from: expected earliest or latest",
            ),
            (
                "produce --bootstrap h:1 --fetch-max-bytes 4096MiB",
                "--fetch-max-bytes: ",
            ),
            (
                "produce --bootstrap h:1 --partitions x",
                "--partitions: expected an integer",
            ),
            (
                "produce --bootstrap h:1 --partitions -1",
                "--partitions: must be at least 1",
            ),
            ("--bootstrap h:1", "mode"),
            (
                "produce --bootstrap h:1 --prefill 10",
                "--prefill only applies to consume",
            ),
        ] {
            let m = err(line);
            assert!(m.starts_with("weir bench: "), "{line}: {m}");
            assert!(m.contains(want), "{line}: {m}");
        }
    }
}
