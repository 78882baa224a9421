//! The one support module of the integration tests (`mod support;` in every
//! test file): a [`TestBroker`] that is either in-process ([`weir::Broker`]) or
//! the real `weir` binary, bounded waits, the clock, unique names; a raw
//! Kafka-protocol client ([`raw`]) and librdkafka group members ([`clients`]).
#![allow(dead_code)]

pub mod clients;
pub mod raw;
pub mod security;
pub mod wire;

#[allow(unused_imports)]
pub use clients::*;
#[allow(unused_imports)]
pub use raw::*;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};
use weir::config::Source;
use weir::{Broker, BrokerConfig};

/// The `weir` binary Cargo built for these tests.
pub const WEIR: &str = env!("CARGO_BIN_EXE_weir");

/// Bound for any single step of a test.
pub const STEP: Duration = Duration::from_secs(20);

/// How long a spawned binary gets to print its readiness line.
const READY: Duration = Duration::from_secs(30);

/// Await `fut` for at most [`STEP`]; panics naming `what`.
pub async fn bounded<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    bounded_for(STEP, what, fut).await
}

/// Await `fut` for at most `limit`; panics naming `what`.
pub async fn bounded_for<T>(
    limit: Duration,
    what: &str,
    fut: impl std::future::Future<Output = T>,
) -> T {
    tokio::time::timeout(limit, fut)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

/// Wall-clock milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64
}

/// A name no other run uses (topics on a shared external broker): `prefix-<nanos>`.
pub fn unique_name(prefix: &str) -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos();
    format!("{prefix}-{n}")
}

/// Broker settings every consumer-group test uses: no initial rebalance
/// delay, short session timeouts allowed, fast KIP-848 heartbeats.
pub const GROUP_SETTINGS: &[(&str, &str)] = &[
    ("group.initial.rebalance.delay.ms", "0"),
    ("group.min.session.timeout.ms", "1000"),
    ("group.consumer.heartbeat.interval.ms", "500"),
    ("group.consumer.session.timeout.ms", "6000"),
    ("group.streams.initial.rebalance.delay.ms", "0"),
    ("group.streams.assignment.interval.ms", "0"),
];

/// Where the data lives: a temp dir the broker owns, or a dir the test owns.
enum DataDir {
    Temp(tempfile::TempDir),
    At(PathBuf),
}

enum Running {
    /// `None` only between a shutdown and a restart.
    InProcess(Option<Broker>),
    Process(Child),
}

/// A broker for one test: in-process ([`Broker::start`]) or the `weir` binary
/// (`weir serve`, address read from its `weir listening on HOST:PORT` line).
/// A spawned binary is killed on drop; an in-process broker stops on drop.
pub struct TestBroker {
    running: Running,
    dir: DataDir,
    addr: SocketAddr,
    /// Settings (Kafka names) applied at every (re)start of an in-process broker.
    sets: Vec<(String, String)>,
}

async fn start_in_process(dir: &Path, listen: &str, sets: &[(String, String)]) -> Broker {
    let mut cfg = BrokerConfig::ephemeral(dir);
    cfg.listen = listen.to_string();
    for (k, v) in sets {
        cfg.settings.set(k, v, Source::Cli).unwrap();
    }
    bounded("broker start", Broker::start(cfg))
        .await
        .expect("broker starts")
}

fn owned(sets: &[(&str, &str)]) -> Vec<(String, String)> {
    sets.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Spawn `weir ARGS` and wait for its readiness line; stderr is forwarded to
/// the test's output. Returns the child and the address it listens on.
pub fn spawn_weir(args: &[&str]) -> (Child, SocketAddr) {
    let mut child = Command::new(WEIR)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn weir");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(a) = line.strip_prefix("weir listening on ") {
                let _ = tx.send(a.to_string());
            } else {
                eprintln!("[weir] {line}");
            }
        }
    });
    match rx.recv_timeout(READY) {
        Ok(a) => (child, a.parse().expect("readiness line has HOST:PORT")),
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("weir {args:?} printed no readiness line");
        }
    }
}

/// Wait up to `limit` for `child` to exit.
pub fn wait_exit(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(s) = child.try_wait().unwrap() {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// Send SIGTERM to `child`.
pub fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -TERM {}", child.id());
}

impl TestBroker {
    /// An in-process broker on 127.0.0.1:0 over its own temp dir, with `sets`.
    pub async fn start(sets: &[(&str, &str)]) -> TestBroker {
        let dir = tempfile::tempdir().unwrap();
        let sets = owned(sets);
        let b = start_in_process(dir.path(), "127.0.0.1:0", &sets).await;
        TestBroker {
            addr: b.addr(),
            running: Running::InProcess(Some(b)),
            dir: DataDir::Temp(dir),
            sets,
        }
    }

    /// An in-process broker on 127.0.0.1:0 over `dir` (which the test owns), with `sets`.
    pub async fn in_dir(dir: &Path, sets: &[(&str, &str)]) -> TestBroker {
        let sets = owned(sets);
        let b = start_in_process(dir, "127.0.0.1:0", &sets).await;
        TestBroker {
            addr: b.addr(),
            running: Running::InProcess(Some(b)),
            dir: DataDir::At(dir.to_path_buf()),
            sets,
        }
    }

    /// The `weir` binary: `weir serve --listen 127.0.0.1:0 --data-dir DIR EXTRA...`.
    pub fn spawn(dir: &Path, extra: &[&str]) -> TestBroker {
        let d = dir.to_str().unwrap();
        let mut args = vec!["serve", "--listen", "127.0.0.1:0", "--data-dir", d];
        args.extend_from_slice(extra);
        let (child, addr) = spawn_weir(&args);
        TestBroker {
            running: Running::Process(child),
            dir: DataDir::At(dir.to_path_buf()),
            addr,
            sets: Vec::new(),
        }
    }

    /// The address the broker listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `HOST:PORT` for a client's `bootstrap.servers`.
    pub fn bootstrap(&self) -> String {
        self.addr.to_string()
    }

    pub fn data_dir(&self) -> PathBuf {
        match &self.dir {
            DataDir::Temp(t) => t.path().to_path_buf(),
            DataDir::At(p) => p.clone(),
        }
    }

    /// The in-process broker (panics for a spawned binary).
    pub fn broker(&self) -> &Broker {
        match &self.running {
            Running::InProcess(Some(b)) => b,
            Running::InProcess(None) => panic!("broker is stopped"),
            Running::Process(_) => panic!("a spawned weir has no in-process state"),
        }
    }

    /// The in-process broker's shared state.
    pub fn state(&self) -> &std::sync::Arc<weir::BrokerState> {
        self.broker().state()
    }

    /// Create a topic through the in-process registry.
    pub fn create_topic(&self, name: &str, partitions: i32) {
        self.state()
            .partitions
            .create_topic(name, partitions, Default::default(), false)
            .expect("topic created");
    }

    /// The spawned binary's process (panics for an in-process broker).
    pub fn child(&mut self) -> &mut Child {
        match &mut self.running {
            Running::Process(c) => c,
            Running::InProcess(_) => panic!("an in-process broker has no child process"),
        }
    }

    /// SIGKILL the spawned binary and reap it.
    pub fn kill(&mut self) {
        let c = self.child();
        c.kill().unwrap();
        let _ = c.wait();
    }

    /// Graceful shutdown of an in-process broker ([`Broker::shutdown`]).
    pub async fn shutdown(mut self) -> Result<(), weir::StartError> {
        match &mut self.running {
            Running::InProcess(b) => b.take().expect("broker running").shutdown().await,
            Running::Process(_) => panic!("use sigterm/kill for a spawned weir"),
        }
    }

    /// [`TestBroker::shutdown`], which must succeed.
    pub async fn stop(self) {
        self.shutdown().await.expect("clean shutdown");
    }

    /// Graceful shutdown, then start again on the same port and data dir.
    pub async fn restart(&mut self) {
        let Running::InProcess(slot) = &mut self.running else {
            panic!("restart is for in-process brokers; spawn the binary again");
        };
        let b = slot.take().expect("broker running");
        b.shutdown().await.expect("clean shutdown");
        let dir = self.data_dir();
        // The port was just released; retry briefly if another bind raced us.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let mut cfg = BrokerConfig::ephemeral(&dir);
            cfg.listen = self.addr.to_string();
            for (k, v) in &self.sets {
                cfg.settings.set(k, v, Source::Cli).unwrap();
            }
            match Broker::start(cfg).await {
                Ok(b) => {
                    let Running::InProcess(slot) = &mut self.running else {
                        unreachable!()
                    };
                    *slot = Some(b);
                    return;
                }
                Err(e) if Instant::now() < deadline => {
                    eprintln!("restart: {e}; retrying");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("broker did not restart: {e}"),
            }
        }
    }
}

impl Drop for TestBroker {
    fn drop(&mut self) {
        if let Running::Process(c) = &mut self.running {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// An in-process broker over `dir` with `sets` applied (Kafka property names).
pub async fn start_broker(dir: &Path, sets: &[(&str, &str)]) -> TestBroker {
    TestBroker::in_dir(dir, sets).await
}
