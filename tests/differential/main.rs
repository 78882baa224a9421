//! Differential protocol tests (issue 13): Apache Kafka 4.4 is the oracle.
//!
//! The same request sequences (built with the kafka-protocol crate, as weir itself is)
//! go over real sockets to the `weir` debug binary and to an Apache Kafka 4.4 broker
//! started through `benches/peers/kafka`; their responses are flattened into
//! `path = value` leaves and compared after normalising what legitimately differs:
//! cluster id, node ids, host/port, topic ids, broker-assigned times, throttle times,
//! generated member and producer ids (aliased in order of appearance, so equalities
//! between them still count), log dir paths and sizes, the run's name suffix, and the
//! order of lists Kafka keeps unordered (sorted here). Error messages are compared as
//! they are; known differences, wording included, are listed with their reason in
//! `explanations.txt` (`SEQUENCE | FIELD | reason`, `*` globs; "open: <area>" marks
//! one weir should not have, left to whoever owns that area). Fetched record batches
//! are compared byte for byte except the producer id (and the CRC over it) and a
//! control batch's timestamps; records are stamped a minute before the run.
//!
//! Sequences run in order, each against both brokers at once (two threads); later
//! ones may use the topics `setup/topics` created. Where Kafka finishes work after
//! answering (transaction markers after EndTxn, topic creation, coordinator loading)
//! the runner waits the way a client would retry, identically for both brokers.
//!
//! Each sequence prints `identical`, `explained` (with the reasons) or `differ` (with
//! the differing fields), then the summary `N sequences, N identical, N explained,
//! N differ`. A `differ` fails the run.
//!
//! A test binary with `harness = false` (not conformance/differential/): it links the
//! kafka-protocol crate at the version weir uses, so every API and version weir
//! implements is encodable, and `cargo test` builds the weir binary it runs.
//!
//! Runs only when asked, because it starts a JVM:
//!   WEIR_DIFFERENTIAL=1 cargo test -p weir --test differential
//!   WEIR_DIFFERENTIAL_KAFKA=127.0.0.1:PORT ...   # reuse a running Kafka (benches/peers/kafka)
//!   WEIR_DIFFERENTIAL_ONLY='group/*' ...         # only the sequences matching a glob
//!   WEIR_DIFFERENTIAL_VERBOSE=1 ...              # also print the fields of explained ones
//! Without Java or Maven it prints one `skipped` line and passes.

mod cases;
mod corpus;
mod diff;
mod wire;

use diff::{Aliases, Step};
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, RequestKind, ResponseKind};
use kafka_protocol::protocol::{Decodable, Request, StrBytes};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use wire::Conn;

const WEIR: &str = env!("CARGO_BIN_EXE_weir");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The versions both brokers implement, per api key.
pub type Versions = BTreeMap<i16, (i16, i16)>;

/// One named sequence of requests.
pub struct Sequence {
    pub name: String,
    pub run: Box<dyn Fn(&mut Ctx) + Send + Sync>,
}

pub fn seq(name: impl Into<String>, run: impl Fn(&mut Ctx) + Send + Sync + 'static) -> Sequence {
    Sequence {
        name: name.into(),
        run: Box::new(run),
    }
}

/// What a sequence sees of one broker: connections, the common versions, the run's
/// name suffix, and the steps recorded so far.
pub struct Ctx<'a> {
    addr: String,
    pub versions: &'a Versions,
    nonce: &'a str,
    /// Which broker this is (sequences do not branch on it; setup helpers may wait).
    pub is_kafka: bool,
    conns: Vec<Option<Conn>>,
    steps: Vec<(String, String)>,
    /// The names this sequence made ([`Ctx::name`]): a listing of groups
    /// compares only these (other sequences' groups change state with time,
    /// their members' session timeouts, which a run cannot line up on two
    /// brokers).
    named: std::cell::RefCell<Vec<String>>,
}

impl<'a> Ctx<'a> {
    /// `base` made unique to this run (the suffix is normalised away in responses).
    pub fn name(&self, base: &str) -> String {
        let name = format!("{base}-{}", self.nonce);
        self.named.borrow_mut().push(name.clone());
        name
    }

    /// The newest version of `key` both brokers implement.
    pub fn v(&self, key: ApiKey) -> i16 {
        self.versions
            .get(&(key as i16))
            .unwrap_or_else(|| panic!("{key:?} is not implemented by both brokers"))
            .1
    }

    fn conn(&mut self, i: usize) -> &mut Conn {
        while self.conns.len() <= i {
            self.conns.push(None);
        }
        let addr = self.addr.clone();
        self.conns[i].get_or_insert_with(|| Conn::connect(&addr))
    }

    /// Send `req` at the newest common version on connection 0, record the answer.
    pub fn call<R>(&mut self, req: R) -> Option<R::Response>
    where
        R: Request + Into<RequestKind>,
        R::Response: std::fmt::Debug,
    {
        let v = self.v(key_of::<R>());
        self.call_v(v, req)
    }

    /// Send `req` at `version` on connection 0, record the answer.
    pub fn call_v<R>(&mut self, version: i16, req: R) -> Option<R::Response>
    where
        R: Request + Into<RequestKind>,
        R::Response: std::fmt::Debug,
    {
        self.send_on(0, version, req);
        self.recv_on::<R>(0)
    }

    /// Send without waiting (JoinGroup rounds with several members).
    pub fn send_on<R: Request + Into<RequestKind>>(&mut self, conn: usize, version: i16, req: R) {
        self.conn(conn).send(key_of::<R>(), version, &req.into());
    }

    /// The recorded answer to the oldest request in flight on `conn`.
    pub fn recv_on<R>(&mut self, conn: usize) -> Option<R::Response>
    where
        R: Request,
        R::Response: std::fmt::Debug,
    {
        let (key, version, body) = self.conn(conn).recv();
        let label = format!("{} {key:?} v{version}", self.steps.len() + 1);
        let (typed, text) = match body {
            Err(e) => (None, format!("Reply {{\n    error: {e:?},\n}}")),
            Ok(bytes) => {
                let typed = R::Response::decode(&mut bytes.clone(), version).ok();
                match ResponseKind::decode(key, &mut bytes.clone(), version) {
                    Ok(mut kind) => {
                        canonical(&mut kind, self.nonce, &self.named.borrow());
                        (typed, format!("{kind:#?}"))
                    }
                    Err(e) => (
                        None,
                        format!("Reply {{\n    undecodable: {:?},\n}}", e.to_string()),
                    ),
                }
            }
        };
        self.steps.push((label, text));
        if key == ApiKey::EndTxn {
            // Kafka writes the transaction markers after EndTxn answers: let them land
            // before the next step appends to the same partitions
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        typed
    }

    /// Send `req` at `version` on a connection of its own and return the answer without
    /// recording it (setup whose answer is not the point, e.g. waiting for metadata).
    pub fn quiet<R>(&mut self, version: i16, req: R) -> Option<R::Response>
    where
        R: Request + Into<RequestKind>,
    {
        let c = self.conn(9);
        c.send(key_of::<R>(), version, &req.into());
        let (_, v, body) = c.recv();
        R::Response::decode(&mut body.ok()?, v).ok()
    }

    /// Drop connection `i` (a member that goes away).
    pub fn close(&mut self, i: usize) {
        if let Some(c) = self.conns.get_mut(i) {
            *c = None;
        }
    }
}

pub fn key_of<R: Request>() -> ApiKey {
    ApiKey::try_from(R::KEY).expect("known api key")
}

/// Order what Kafka does not order, drop what other runs left on a reused broker.
fn canonical(kind: &mut ResponseKind, nonce: &str, named: &[String]) {
    match kind {
        ResponseKind::ApiVersions(r) => {
            let ours: Vec<i16> = weir::dispatch::API_TABLE
                .iter()
                .map(|s| s.key as i16)
                .collect();
            r.api_keys.retain(|k| ours.contains(&k.api_key));
            r.api_keys.sort_by_key(|k| k.api_key);
        }
        ResponseKind::Metadata(r) => {
            r.brokers.sort_by_key(|b| b.node_id);
            // all topics: only this run's (a reused broker has others; internal ones differ)
            r.topics.retain(|t| {
                t.name
                    .as_ref()
                    .is_none_or(|n| n.contains(nonce) || n.contains("bad name"))
                    || t.error_code != 0
            });
            r.topics.sort_by(|a, b| a.name.cmp(&b.name));
            for t in &mut r.topics {
                t.partitions.sort_by_key(|p| p.partition_index);
            }
        }
        ResponseKind::DescribeConfigs(r) => {
            for res in &mut r.results {
                res.configs.sort_by(|a, b| a.name.cmp(&b.name));
            }
        }
        ResponseKind::ListGroups(r) => {
            r.groups
                .retain(|g| named.iter().any(|n| n.as_str() == &**g.group_id));
            r.groups.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        }
        ResponseKind::ListTransactions(r) => {
            r.transaction_states
                .retain(|t| t.transactional_id.contains(nonce));
            r.transaction_states
                .sort_by(|a, b| a.transactional_id.cmp(&b.transactional_id));
        }
        ResponseKind::DescribeLogDirs(r) => {
            for d in &mut r.results {
                d.topics.retain(|t| t.name.contains(nonce));
                d.topics.sort_by(|a, b| a.name.cmp(&b.name));
            }
        }
        // Kafka lists the members of a JoinGroup answer in hash order: the leader first,
        // then by id (ids are generated, so only the leader's place is comparable)
        ResponseKind::JoinGroup(r) => {
            let leader = r.leader.clone();
            r.members.sort_by(|a, b| {
                (a.member_id != leader, &a.member_id).cmp(&(b.member_id != leader, &b.member_id))
            });
        }
        ResponseKind::OffsetFetch(r) => {
            for g in &mut r.groups {
                for t in g.topics.iter_mut() {
                    t.partitions.sort_by_key(|p| p.partition_index);
                }
                g.topics.sort_by(|a, b| a.name.cmp(&b.name));
            }
        }
        // hash order in Kafka; producer ids differ, so by what they did
        ResponseKind::DescribeProducers(r) => {
            for t in &mut r.topics {
                for p in &mut t.partitions {
                    p.active_producers.sort_by_key(|a| {
                        (
                            a.current_txn_start_offset,
                            a.last_sequence,
                            a.producer_epoch,
                        )
                    });
                }
            }
        }
        ResponseKind::DescribeCluster(r) => r.brokers.sort_by_key(|b| b.broker_id),
        ResponseKind::Fetch(r) => {
            for t in &mut r.responses {
                for p in &mut t.partitions {
                    if let Some(rec) = p.records.take() {
                        p.records = Some(mask_batches(&rec));
                    }
                }
            }
        }
        ResponseKind::CreatePartitions(r) => r.results.sort_by(|a, b| a.name.cmp(&b.name)),
        _ => {}
    }
}

/// Record batches as fetched, with what the broker assigns masked: the producer id
/// (allocated; the CRC covers it, so the CRC too) and a control batch's timestamps (the
/// broker's clock). Everything else, offsets and sequence numbers included, is compared.
fn mask_batches(records: &bytes::Bytes) -> bytes::Bytes {
    let mut b = records.to_vec();
    let mut at = 0;
    while at + 61 <= b.len() && b[at + 16] == 2 {
        let len = i32::from_be_bytes(b[at + 8..at + 12].try_into().unwrap()) as usize;
        let pid = i64::from_be_bytes(b[at + 43..at + 51].try_into().unwrap());
        if pid >= 0 {
            b[at + 43..at + 51].copy_from_slice(&i64::MAX.to_be_bytes());
            b[at + 17..at + 21].fill(0);
        }
        let attributes = u16::from_be_bytes([b[at + 21], b[at + 22]]);
        if attributes & 0x20 != 0 {
            b[at + 27..at + 43].fill(0);
            b[at + 17..at + 21].fill(0);
        }
        at += 12 + len;
    }
    bytes::Bytes::from(b)
}

/// Run one sequence against one broker; the recorded steps, flattened and normalised.
fn record(s: &Sequence, addr: &str, versions: &Versions, nonce: &str, is_kafka: bool) -> Vec<Step> {
    let mut ctx = Ctx {
        addr: addr.to_string(),
        versions,
        nonce,
        is_kafka,
        conns: Vec::new(),
        steps: Vec::new(),
        named: Default::default(),
    };
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (s.run)(&mut ctx)));
    let mut aliases = Aliases::default();
    let mut steps: Vec<Step> = ctx
        .steps
        .iter()
        .map(|(label, text)| {
            let mut leaves = diff::flatten(text);
            diff::normalise(&mut leaves, nonce, &mut aliases);
            Step {
                label: label.clone(),
                leaves,
            }
        })
        .collect();
    if let Err(p) = run {
        let msg = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        steps.push(Step {
            label: format!("{} <sequence failed>", steps.len() + 1),
            leaves: vec![("panic".into(), msg)],
        });
    }
    steps
}

fn api_versions(addr: &str) -> BTreeMap<i16, (i16, i16)> {
    let mut c = Conn::connect(addr);
    c.send(
        ApiKey::ApiVersions,
        3,
        &RequestKind::ApiVersions(
            ApiVersionsRequest::default()
                .with_client_software_name(StrBytes::from_static_str("weir-differential"))
                .with_client_software_version(StrBytes::from_static_str("1")),
        ),
    );
    let body = c.recv().2.expect("ApiVersions answer");
    let r = kafka_protocol::messages::ApiVersionsResponse::decode(&mut body.clone(), 3)
        .expect("ApiVersions v3");
    assert_eq!(r.error_code, 0, "ApiVersions error");
    r.api_keys
        .iter()
        .map(|k| (k.api_key, (k.min_version, k.max_version)))
        .collect()
}

/// A child process killed (SIGTERM, then waited for) when dropped.
struct Guard(Child, &'static str);

impl Drop for Guard {
    fn drop(&mut self) {
        unsafe { libc::kill(self.0.id() as i32, libc::SIGTERM) };
        let until = Instant::now() + Duration::from_secs(60);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("differential: {} did not stop in 60 s, killing it", self.1);
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start `argv`, wait for the line `prefix ADDR` (stdout or stderr), keep draining.
fn start(
    argv: &[&str],
    from_stdout: bool,
    prefix: &'static str,
    what: &'static str,
    limit: Duration,
) -> (Guard, String) {
    let mut cmd = Command::new(argv[0]);
    cmd.args(&argv[1..]).stdin(Stdio::null());
    // weir reads WEIR_* variables as settings: ours are not for it
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("WEIR_DIFFERENTIAL") {
            cmd.env_remove(k);
        }
    }
    if from_stdout {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    } else {
        cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    }
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("start {what}: {e}"));
    let (tx, rx) = mpsc::channel::<Result<String, String>>();
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let mut readers: Vec<Box<dyn std::io::Read + Send>> = Vec::new();
    if let Some(o) = child.stdout.take() {
        readers.push(Box::new(o));
    }
    readers.push(Box::new(child.stderr.take().unwrap()));
    let n = readers.len();
    for (i, r) in readers.into_iter().enumerate() {
        let tx = tx.clone();
        let log = log.clone();
        let is_addr_stream = (i == 0) == from_stdout || n == 1;
        std::thread::spawn(move || {
            for line in BufReader::new(r).lines().map_while(Result::ok) {
                if is_addr_stream {
                    if let Some(a) = line.strip_prefix(prefix) {
                        let _ = tx.send(Ok(a.trim().to_string()));
                        continue;
                    }
                }
                log.lock().unwrap().push(line);
            }
            let _ = tx.send(Err("exited".into()));
        });
    }
    let guard = Guard(child, what);
    match rx.recv_timeout(limit) {
        Ok(Ok(addr)) => (guard, addr),
        other => {
            let log = log.lock().unwrap();
            let tail = log[log.len().saturating_sub(30)..].join("\n");
            panic!("{what} did not start ({other:?}); its output:\n{tail}");
        }
    }
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
}

fn main() {
    diff::self_test();
    let reuse = std::env::var("WEIR_DIFFERENTIAL_KAFKA")
        .ok()
        .filter(|s| !s.is_empty());
    if reuse.is_none() && std::env::var_os("WEIR_DIFFERENTIAL").is_none() {
        println!("differential: skipped (WEIR_DIFFERENTIAL=1 runs it against Apache Kafka 4.4)");
        return;
    }
    let java_ok = std::env::var_os("JAVA_HOME").is_some() || on_path("java");
    if reuse.is_none() && !(java_ok && on_path("mvn") && on_path("python3")) {
        println!("differential: skipped (needs java, mvn and python3 to start Apache Kafka)");
        return;
    }
    let t0 = Instant::now();
    let explanations_path = Path::new(ROOT).join("tests/differential/explanations.txt");
    let explanations = diff::parse_explanations(
        &std::fs::read_to_string(&explanations_path).expect("read explanations.txt"),
    )
    .unwrap_or_else(|e| panic!("{e}"));

    // Kafka first (seconds), weir meanwhile (milliseconds).
    let kafka_script = Path::new(ROOT).join("benches/peers/kafka");
    let kafka_start = std::thread::spawn(move || match reuse {
        Some(a) => (None, a),
        None => {
            let s = kafka_script.to_str().unwrap().to_string();
            let (g, a) = start(
                &[&s],
                true,
                "127.0.0.1:",
                "Apache Kafka",
                Duration::from_secs(180),
            );
            (Some(g), format!("127.0.0.1:{a}"))
        }
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path().to_str().unwrap().to_string();
    let (weir_guard, weir_addr) = start(
        &[
            WEIR,
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            &d,
            // as benches/peers/kafka sets Kafka
            "--set",
            "num.partitions=1",
            "--set",
            "group.initial.rebalance.delay.ms=0",
        ],
        false,
        "weir listening on ",
        "weir",
        Duration::from_secs(30),
    );
    let (kafka_guard, kafka_addr) = kafka_start
        .join()
        .unwrap_or_else(|_| panic!("Apache Kafka did not start"));
    let started = t0.elapsed();

    let wv = api_versions(&weir_addr);
    let kv = api_versions(&kafka_addr);
    let mut versions = Versions::new();
    for (k, (wmin, wmax)) in &wv {
        if let Some((kmin, kmax)) = kv.get(k) {
            // Also only what the kafka-protocol crate can encode: both brokers
            // advertise Produce v0-2, which it cannot (weir decodes those itself;
            // tests/legacy_versions.rs covers them byte by byte).
            let (cmin, cmax) = ApiKey::try_from(*k)
                .map(|a| {
                    let r = a.valid_versions();
                    (r.min, r.max)
                })
                .unwrap_or((i16::MAX, i16::MIN));
            let (lo, hi) = ((*wmin).max(*kmin).max(cmin), (*wmax).min(*kmax).min(cmax));
            if lo <= hi {
                versions.insert(*k, (lo, hi));
            }
        }
    }
    let nonce = format!(
        "x{:08x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u32
    );
    let only = std::env::var("WEIR_DIFFERENTIAL_ONLY")
        .ok()
        .filter(|s| !s.is_empty());
    let verbose = std::env::var_os("WEIR_DIFFERENTIAL_VERBOSE").is_some();
    let sequences: Vec<Sequence> = corpus::all(&versions, &wv, &kv)
        .into_iter()
        .filter(|s| only.as_deref().is_none_or(|g| diff::glob(g, &s.name)))
        .collect();
    println!(
        "differential: weir {weir_addr} vs Apache Kafka {kafka_addr} (started in {:.1} s), {} sequences",
        started.as_secs_f64(),
        sequences.len()
    );

    let (mut identical, mut explained, mut differ) = (0, 0, 0);
    for s in &sequences {
        let (w, k) = std::thread::scope(|sc| {
            let w = sc.spawn(|| record(s, &weir_addr, &versions, &nonce, false));
            let k = sc.spawn(|| record(s, &kafka_addr, &versions, &nonce, true));
            (w.join().unwrap(), k.join().unwrap())
        });
        let diffs = diff::compare(&w, &k);
        if diffs.is_empty() {
            identical += 1;
            println!("identical  {}", s.name);
            continue;
        }
        let mut reasons: Vec<&str> = Vec::new();
        let mut open = Vec::new();
        for d in &diffs {
            match diff::explain(&explanations, &s.name, d) {
                Some(e) => {
                    if !reasons.contains(&e.reason.as_str()) {
                        reasons.push(&e.reason);
                    }
                }
                None => open.push(d),
            }
        }
        if open.is_empty() {
            explained += 1;
            println!("explained  {}  ({})", s.name, reasons.join("; "));
            if verbose {
                for d in &diffs {
                    println!("    {}  weir={}  kafka={}", d.at, d.weir, d.kafka);
                }
            }
        } else {
            differ += 1;
            println!("differ     {}", s.name);
            let limit = if verbose { usize::MAX } else { 25 };
            for d in open.iter().take(limit) {
                println!("    {}  weir={}  kafka={}", d.at, d.weir, d.kafka);
            }
            if open.len() > limit {
                println!("    ... {} more", open.len() - limit);
            }
        }
    }
    if only.is_none() {
        for e in &explanations {
            if e.used.get() == 0 {
                println!(
                    "unused explanation: {} | {} | {}",
                    e.sequence, e.field, e.reason
                );
            }
        }
    }
    println!(
        "{} sequences, {identical} identical, {explained} explained, {differ} differ ({:.1} s)",
        sequences.len(),
        t0.elapsed().as_secs_f64()
    );
    // exit() runs no destructors: stop both brokers first.
    drop(kafka_guard);
    drop(weir_guard);
    drop(dir);
    if differ > 0 {
        std::process::exit(1);
    }
}
