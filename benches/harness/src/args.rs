//! Command line of `weir bench`: flags, defaults, named workloads, and one-line errors.

use std::path::PathBuf;
use std::time::Duration;

use crate::BenchError;
use weir_client::ClientSecurity;
use weir_storage::Compression;

/// What the run measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

pub const USAGE: &str = "\
usage: weir bench produce|consume|e2e --bootstrap HOST:PORT [options]

  --bootstrap HOST:PORT       broker to benchmark (any Kafka-protocol broker)
  --compare HOST:PORT         also run against this broker, alternating rounds A B A B ...
  --rounds N                  rounds per broker with --compare (default 3)
  --workload NAME             an OpenMessaging-Benchmark-style preset (see below); later flags override
  --topic NAME                topic (default weir-bench)
  --create                    create the topic if missing (CreateTopics)
  --partitions N              partitions when creating (default 1)
  --replication-factor N      replication factor when creating (default 1)
  --topic-config K=V          topic config when creating (repeatable)
  --record-size BYTES         value size, >= 8; the first 8 bytes carry the send time (default 1024)
  --keys none|uniform:N|sequential:N   key distribution (default none = sticky partitioning)
  --records N                 stop after N records (produced; consumed in consume mode)
  --duration D                stop after D (e.g. 30s, 2m; default 10s if --records is not given)
  --warmup D                  run the load for D first and discard those measurements (needs --duration)
  --rate R                    target records/s over all producers, paced without busy waiting
                              (e.g. 50000, 50k; default: unlimited)
  --acks 0|1|-1|all           produce acks (default all)
  --linger D                  how long a batch waits for more records (default 5ms)
  --batch-bytes BYTES         max batch size (default 1MiB)
  --compression none|gzip|snappy|lz4|zstd   (default none)
  --max-in-flight N           pipelined Produce requests per connection (default 5)
  --producers N               producer connections/tasks (default 1)
  --consumers N               consumer tasks; partitions are split among them (default 1)
  --fetch-max-bytes BYTES     Fetch max_bytes (default 50MiB)
  --partition-max-bytes BYTES Fetch partition_max_bytes (default 1MiB)
  --fetch-max-wait-ms MS      Fetch max_wait_ms (default 500)
  --fetch-min-bytes BYTES     Fetch min_bytes (default 1)
  --from earliest|latest      where consume mode starts (default earliest)
  --prefill N                 consume mode: first write N records (not measured)
  --json                      print the report as JSON on stdout
  --svg FILE                  write an SVG report with latency over time
  --quiet                     no progress line each second
  --command-config FILE       Kafka client properties (key=value lines): security.protocol,
                              ssl.truststore.location, ssl.keystore.location, sasl.mechanism,
                              sasl.jaas.config, ... (TLS and SASL, as Kafka's clients name them)
  -X KEY=VALUE                one client property (repeatable; wins over --command-config)
  --compare-command-config FILE  properties for the --compare broker, on top of the above
                              (e.g. the same broker's PLAINTEXT port vs its SASL_SSL port)

BYTES accepts plain bytes or KiB/MiB suffixes; counts and rates accept k/m suffixes (10^3/10^6).
MB/s in reports is 10^6 bytes of record payload (key + value) per second; wire MB/s counts
Produce request frames.

workloads (OpenMessaging Benchmark names; e2e, 1 producer, 1 consumer, 1 KiB records, acks=all,
linger 1ms, batch 1MiB, partition fetch 10MiB, topic created; default duration 60s):
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

fn apply_workload(c: &mut Config, name: &str) -> Result<(), BenchError> {
    if !WORKLOADS.contains(&name) {
        return Err(usage(format!(
            "--workload: unknown workload '{name}' (one of: {})",
            WORKLOADS.join(", ")
        )));
    }
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
    Ok(())
}

fn usage(msg: String) -> BenchError {
    BenchError::Usage(format!("weir bench: {msg} (see weir bench --help)"))
}

/// Parses a count or rate: `50000`, `50k`, `1.5m`.
pub fn parse_count(flag: &str, s: &str) -> Result<f64, BenchError> {
    let bad = || {
        usage(format!(
            "{flag}: expected a number like 50000, 50k or 1m, got '{s}'"
        ))
    };
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

fn parse_int<T: std::str::FromStr>(flag: &str, s: &str) -> Result<T, BenchError> {
    s.parse()
        .map_err(|_| usage(format!("{flag}: expected an integer, got '{s}'")))
}

/// Parses a byte size: `1024`, `64KiB`, `1MiB`.
pub fn parse_bytes(flag: &str, s: &str) -> Result<usize, BenchError> {
    let bad = || {
        usage(format!(
            "{flag}: expected bytes like 1024, 64KiB or 1MiB, got '{s}'"
        ))
    };
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

/// Parses a duration: `500ms`, `10s`, `2m`, or a bare number in `bare_unit`.
pub fn parse_duration(flag: &str, s: &str, bare_unit: Duration) -> Result<Duration, BenchError> {
    let bad = || {
        usage(format!(
            "{flag}: expected a duration like 500ms, 10s or 2m, got '{s}'"
        ))
    };
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

fn parse_keys(s: &str) -> Result<Keys, BenchError> {
    let bad = || {
        usage(format!(
            "--keys: expected none, uniform:N or sequential:N, got '{s}'"
        ))
    };
    if s == "none" {
        return Ok(Keys::None);
    }
    let (kind, n) = s.split_once(':').ok_or_else(bad)?;
    let n = parse_count("--keys", n)? as u64;
    if n == 0 {
        return Err(bad());
    }
    match kind {
        "uniform" => Ok(Keys::Uniform(n)),
        "sequential" => Ok(Keys::Sequential(n)),
        _ => Err(bad()),
    }
}

fn check_addr(flag: &str, s: &str) -> Result<String, BenchError> {
    match s.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(s.to_string()),
        _ => Err(usage(format!("{flag}: expected HOST:PORT, got '{s}'"))),
    }
}

/// What the command line asked for: a run, or the help text.
#[derive(Debug)]
pub enum Command {
    Help,
    Run(Box<Config>),
}

/// Parses `weir bench ARGS...` (without the leading `bench`).
pub fn parse(args: &[String]) -> Result<Command, BenchError> {
    let mut c = Config::default();
    let mut it = args.iter();
    let mode = match it.next().map(String::as_str) {
        None | Some("-h") | Some("--help") | Some("help") => return Ok(Command::Help),
        Some("produce") => Mode::Produce,
        Some("consume") => Mode::Consume,
        Some("e2e") => Mode::E2e,
        Some(other) => {
            return Err(usage(format!(
                "unknown mode '{other}' (expected produce, consume or e2e)"
            )))
        }
    };
    // Split `--flag=value` and `--flag value` into pairs first so a workload can be applied
    // before the flags that override it.
    let mut pairs: Vec<(String, Option<String>)> = Vec::new();
    let rest: Vec<&String> = it.collect();
    let mut i = 0;
    while i < rest.len() {
        let a = rest[i].as_str();
        if a == "-h" || a == "--help" {
            return Ok(Command::Help);
        }
        if a == "-X" || (a.starts_with("-X") && a.len() > 2) {
            let v = if a == "-X" {
                i += 1;
                rest.get(i)
                    .map(|v| v.to_string())
                    .ok_or_else(|| usage("-X needs KEY=VALUE".into()))?
            } else {
                a[2..].to_string()
            };
            pairs.push(("-X".to_string(), Some(v)));
            i += 1;
            continue;
        }
        if !a.starts_with("--") {
            return Err(usage(format!("unexpected argument '{a}'")));
        }
        if let Some((k, v)) = a.split_once('=') {
            pairs.push((k.to_string(), Some(v.to_string())));
        } else if matches!(a, "--create" | "--json" | "--quiet") {
            pairs.push((a.to_string(), None));
        } else {
            let v = rest
                .get(i + 1)
                .ok_or_else(|| usage(format!("{a} needs a value")))?;
            pairs.push((a.to_string(), Some(v.to_string())));
            i += 1;
        }
        i += 1;
    }
    if let Some((_, Some(w))) = pairs.iter().find(|(k, _)| k == "--workload") {
        apply_workload(&mut c, w)?;
        if mode != Mode::E2e {
            // A workload fixes e2e semantics but the mode given wins (e.g. produce-only).
            c.mode = mode;
        }
    } else {
        c.mode = mode;
    }
    let mut props: std::collections::BTreeMap<String, String> = Default::default();
    let mut compare_props: Option<Vec<(String, String)>> = None;
    for (k, v) in pairs {
        let flag = k.as_str();
        let v = v.unwrap_or_default();
        let v = v.as_str();
        match flag {
            "--workload" => {}
            "--bootstrap" => c.bootstrap = check_addr(flag, v)?,
            "--compare" => c.compare = Some(check_addr(flag, v)?),
            "--rounds" => c.rounds = parse_int(flag, v)?,
            "--topic" => {
                if v.is_empty() {
                    return Err(usage("--topic: empty topic name".into()));
                }
                c.topic = v.to_string()
            }
            "--create" => c.create = true,
            "--partitions" => c.partitions = parse_int(flag, v)?,
            "--replication-factor" => c.replication_factor = parse_int(flag, v)?,
            "--topic-config" => {
                let (key, val) = v.split_once('=').ok_or_else(|| {
                    usage(format!("--topic-config: expected KEY=VALUE, got '{v}'"))
                })?;
                c.topic_configs.push((key.to_string(), val.to_string()));
            }
            "--record-size" => c.record_size = parse_bytes(flag, v)?,
            "--keys" => c.keys = parse_keys(v)?,
            "--records" => c.records = Some(parse_count(flag, v)? as u64),
            "--duration" => c.duration = Some(parse_duration(flag, v, Duration::from_secs(1))?),
            "--rate" => {
                let r = parse_count(flag, v)?;
                c.rate = if r == 0.0 { None } else { Some(r) };
            }
            "--acks" => {
                c.acks = match v {
                    "all" | "-1" => -1,
                    "1" => 1,
                    "0" => 0,
                    _ => {
                        return Err(usage(format!(
                            "--acks: expected 0, 1, -1 or all, got '{v}'"
                        )))
                    }
                }
            }
            "--linger" => c.linger = parse_duration(flag, v, Duration::from_millis(1))?,
            "--batch-bytes" => c.batch_bytes = parse_bytes(flag, v)?,
            "--compression" => {
                c.compression = Compression::from_name(v).ok_or_else(|| {
                    BenchError::Usage(format!(
                        "--compression: unknown codec '{v}' (none, gzip, snappy, lz4, zstd)"
                    ))
                })?
            }
            "--max-in-flight" => c.max_in_flight = parse_int(flag, v)?,
            "--producers" => c.producers = parse_int(flag, v)?,
            "--consumers" => c.consumers = parse_int(flag, v)?,
            "--fetch-max-bytes" => c.fetch_max_bytes = bytes_i32(flag, v)?,
            "--partition-max-bytes" => c.partition_max_bytes = bytes_i32(flag, v)?,
            "--fetch-max-wait-ms" => c.fetch_max_wait_ms = parse_int(flag, v)?,
            "--fetch-min-bytes" => c.fetch_min_bytes = bytes_i32(flag, v)?,
            "--from" => {
                c.from = match v {
                    "earliest" => StartAt::Earliest,
                    "latest" => StartAt::Latest,
                    _ => {
                        return Err(usage(format!(
                            "--from: expected earliest or latest, got '{v}'"
                        )))
                    }
                }
            }
            "--prefill" => c.prefill = parse_count(flag, v)? as u64,
            "--warmup" => c.warmup = parse_duration(flag, v, Duration::from_secs(1))?,
            "--json" => c.json = true,
            "--svg" => c.svg = Some(PathBuf::from(v)),
            "--quiet" => c.quiet = true,
            "--command-config" => {
                // -X given before or after the file wins over it.
                for (k, v) in read_properties(v)? {
                    props.entry(k).or_insert(v);
                }
            }
            "--compare-command-config" => compare_props = Some(read_properties(v)?),
            "-X" => {
                let (key, val) = v
                    .split_once('=')
                    .ok_or_else(|| usage(format!("-X: expected KEY=VALUE, got '{v}'")))?;
                props.insert(key.trim().to_string(), val.trim().to_string());
            }
            _ => return Err(usage(format!("unknown flag {flag}"))),
        }
    }
    if c.bootstrap.is_empty() {
        if let Some(b) = props.get("bootstrap.servers") {
            c.bootstrap = check_addr("bootstrap.servers", b.split(',').next().unwrap_or(b))?;
        }
    }
    c.security = ClientSecurity::from_properties(&|k| props.get(k).cloned())?;
    if let Some(overlay) = compare_props {
        if c.compare.is_none() {
            return Err(usage("--compare-command-config needs --compare".into()));
        }
        let mut b = props.clone();
        b.extend(overlay);
        c.compare_security = Some(ClientSecurity::from_properties(&|k| b.get(k).cloned())?);
    }
    validate(&c)?;
    Ok(Command::Run(Box::new(c)))
}

/// A Kafka client properties file: `key=value` (or `key: value`) lines, `#`/`!` comments.
fn read_properties(file: &str) -> Result<Vec<(String, String)>, BenchError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| usage(format!("--command-config {file}: {e}")))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .or_else(|| line.split_once(':'))
            .ok_or_else(|| usage(format!("{file}:{}: expected key=value", n + 1)))?;
        out.push((k.trim().to_string(), v.trim().to_string()));
    }
    Ok(out)
}

fn bytes_i32(flag: &str, v: &str) -> Result<i32, BenchError> {
    let b = parse_bytes(flag, v)?;
    i32::try_from(b).map_err(|_| usage(format!("{flag}: {b} is too large")))
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
}
