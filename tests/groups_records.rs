//! Records through consumer groups with librdkafka, both protocols: members
//! leave and die (SIGKILL) mid-run, a batch reader stops and resumes, the
//! broker restarts mid-run. Every record is processed, and no record is
//! processed again after its offset commit succeeded (consumers resume exactly
//! at the last commit; only records past it may be seen twice).

mod support;

use std::io::BufRead;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::*;

#[derive(Clone, Copy, Debug)]
enum Proto {
    Classic,
    Consumer,
}

impl Proto {
    fn extra(self) -> Vec<(&'static str, &'static str)> {
        match self {
            Proto::Classic => vec![("session.timeout.ms", "2000")],
            Proto::Consumer => vec![("group.protocol", "consumer")],
        }
    }
    fn unset(self) -> &'static [&'static str] {
        match self {
            Proto::Classic => &[],
            Proto::Consumer => &["session.timeout.ms", "heartbeat.interval.ms"],
        }
    }
    fn name(self) -> &'static str {
        match self {
            Proto::Classic => "classic",
            Proto::Consumer => "consumer",
        }
    }
}

fn worker(
    addr: &str,
    group: &str,
    topic: &str,
    proto: Proto,
    name: &str,
    seen: &Seen,
    pause_ms: u64,
) -> Worker {
    let mut cfg = client_config(addr, group, &proto.extra());
    for k in proto.unset() {
        cfg.remove(k);
    }
    Worker::start(
        cfg,
        topic,
        name,
        seen.clone(),
        Duration::from_millis(pause_ms),
    )
}

/// Run this test binary again as a worker process (see `child_worker_process`).
fn spawn_child(addr: &str, group: &str, topic: &str, proto: Proto) -> std::process::Child {
    std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "child_worker_process",
            "--exact",
            "--ignored",
            "--nocapture",
            "--quiet",
        ])
        .env("WEIR_CHILD_ADDR", addr)
        .env("WEIR_CHILD_GROUP", group)
        .env("WEIR_CHILD_TOPIC", topic)
        .env("WEIR_CHILD_PROTO", proto.name())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("child worker runs")
}

/// The child's stdout: "P p o" when it processed a record, "C p o" once that commit succeeded.
fn child_seen(child: std::process::Child, seen: &Seen) {
    let out = std::io::BufReader::new(child.stdout.unwrap());
    let mut processed: Vec<(i32, i64, bool)> = Vec::new();
    for line in out.lines().map_while(Result::ok) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [kind, p, o] = f[..] else { continue };
        let (Ok(p), Ok(o)) = (p.parse::<i32>(), o.parse::<i64>()) else {
            continue;
        };
        match kind {
            "P" => processed.push((p, o, false)),
            "C" => {
                if let Some(last) = processed.iter_mut().rev().find(|x| x.0 == p && x.1 == o) {
                    last.2 = true;
                }
            }
            _ => {}
        }
    }
    // The child ran before the survivors took its partitions over.
    let mut all = seen.lock().unwrap();
    let mut merged: Vec<(String, i32, i64, bool)> = processed
        .into_iter()
        .map(|(p, o, ok)| ("child".into(), p, o, ok))
        .collect();
    merged.append(&mut all);
    *all = merged;
}

async fn leave_and_kill(proto: Proto) {
    let b = TestBroker::start(GROUP_SETTINGS).await;
    b.create_topic("work", 6);
    let addr = b.bootstrap();
    tokio::task::spawn_blocking(move || {
        const PER: i32 = 60;
        produce(&addr, "work", 6, PER);
        let seen: Seen = Arc::new(Mutex::new(Vec::new()));
        let group = format!("workers-{}", proto.name());
        let child = spawn_child(&addr, &group, "work", proto);
        let a = worker(&addr, &group, "work", proto, "a", &seen, 25);
        let bw = worker(&addr, &group, "work", proto, "b", &seen, 25);
        let d = worker(&addr, &group, "work", proto, "d", &seen, 25);
        wait_for(30, "a, b and d are processing", || {
            let s = seen.lock().unwrap();
            ["a", "b", "d"].iter().all(|n| s.iter().any(|r| r.0 == *n))
        });
        std::thread::sleep(Duration::from_millis(500));
        d.member.close(); // clean leave
        std::thread::sleep(Duration::from_millis(500));
        let mut child = child;
        child.kill().expect("kill the child worker");
        child.wait().unwrap();
        child_seen(child, &seen);
        wait_for(60, "every record processed", || {
            audit(&seen, 6, PER as i64).1.is_empty()
        });
        let (reprocessed, missing) = audit(&seen, 6, PER as i64);
        assert!(missing.is_empty(), "{proto:?}: lost records {missing:?}");
        assert!(
            reprocessed.is_empty(),
            "{proto:?}: processed again after a successful commit: {reprocessed:?}"
        );
        assert!(
            seen.lock().unwrap().iter().any(|r| r.0 == "child"),
            "the child processed records before dying"
        );
        eprintln!(
            "{proto:?}: {} records, {} seen twice (past the last commit)",
            6 * PER,
            duplicates(&seen)
        );
        drop((a, bw));
    })
    .await
    .unwrap();
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classic_no_record_lost_or_reprocessed_when_members_leave_and_die() {
    leave_and_kill(Proto::Classic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_protocol_no_record_lost_or_reprocessed_when_members_leave_and_die() {
    leave_and_kill(Proto::Consumer).await;
}

async fn batch_reader_resumes(proto: Proto) {
    let b = TestBroker::start(GROUP_SETTINGS).await;
    b.create_topic("batch", 3);
    let addr = b.bootstrap();
    tokio::task::spawn_blocking(move || {
        produce(&addr, "batch", 3, 100);
        let seen: Seen = Arc::new(Mutex::new(Vec::new()));
        let group = format!("batch-{}", proto.name());
        let first = worker(&addr, &group, "batch", proto, "run1", &seen, 0);
        wait_for(30, "run 1 processed 120 records", || {
            seen.lock().unwrap().len() >= 120
        });
        first.member.close();
        let committed_after_run1 = committed(&addr, &group, "batch", 3);
        let second = worker(&addr, &group, "batch", proto, "run2", &seen, 0);
        wait_for(30, "every record processed", || {
            audit(&seen, 3, 100).1.is_empty()
        });
        drop(second);
        let s = seen.lock().unwrap().clone();
        assert_eq!(s.len(), 300, "{proto:?}: each record exactly once");
        for p in 0..3 {
            let first_of_run2 = s
                .iter()
                .filter(|r| r.0 == "run2" && r.1 == p)
                .map(|r| r.2)
                .min();
            let c = committed_after_run1[p as usize];
            let expect = if c < 0 {
                Some(0)
            } else if c == 100 {
                None
            } else {
                Some(c)
            };
            assert_eq!(
                first_of_run2, expect,
                "{proto:?}: run 2 resumes partition {p} at the commit"
            );
        }
    })
    .await
    .unwrap();
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classic_batch_reader_resumes_exactly_at_its_commit() {
    batch_reader_resumes(Proto::Classic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_protocol_batch_reader_resumes_exactly_at_its_commit() {
    batch_reader_resumes(Proto::Consumer).await;
}

async fn restart_mid_run(proto: Proto) {
    let mut b = TestBroker::start(GROUP_SETTINGS).await;
    b.create_topic("steady", 4);
    let addr = b.bootstrap();
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let group = format!("steady-{}", proto.name());
    let (a, w2) = tokio::task::spawn_blocking({
        let (addr, seen, group) = (addr.clone(), seen.clone(), group.clone());
        move || {
            produce(&addr, "steady", 4, 50);
            let a = worker(&addr, &group, "steady", proto, "a", &seen, 20);
            let w2 = worker(&addr, &group, "steady", proto, "b", &seen, 20);
            wait_for(30, "both workers processing", || {
                let s = seen.lock().unwrap();
                s.iter().any(|r| r.0 == "a") && s.iter().any(|r| r.0 == "b")
            });
            (a, w2)
        }
    })
    .await
    .unwrap();
    let assigns = (a.member.assigns(), w2.member.assigns());
    b.restart().await;
    tokio::task::spawn_blocking(move || {
        wait_for(60, "every record processed after the restart", || {
            audit(&seen, 4, 50).1.is_empty()
        });
        let (reprocessed, _) = audit(&seen, 4, 50);
        assert!(
            reprocessed.is_empty(),
            "{proto:?}: processed again after a successful commit: {reprocessed:?}"
        );
        assert_eq!(
            (a.member.assigns(), w2.member.assigns()),
            assigns,
            "{proto:?}: no rebalance across the restart"
        );
        eprintln!(
            "{proto:?}: restart mid-run, {} seen twice (past the last commit)",
            duplicates(&seen)
        );
    })
    .await
    .unwrap();
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classic_group_and_commits_survive_a_broker_restart_mid_run() {
    restart_mid_run(Proto::Classic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_protocol_group_and_commits_survive_a_broker_restart_mid_run() {
    restart_mid_run(Proto::Consumer).await;
}

/// Not a test of its own: a worker process for the kill scenarios. Prints
/// "P p o" per processed record and "C p o" once its commit succeeded; lives
/// at most 60 s.
#[test]
#[ignore = "helper run as a child process by other tests"]
fn child_worker_process() {
    use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
    use rdkafka::Message;
    use std::io::Write;
    let (Ok(addr), Ok(group), Ok(topic), Ok(proto)) = (
        std::env::var("WEIR_CHILD_ADDR"),
        std::env::var("WEIR_CHILD_GROUP"),
        std::env::var("WEIR_CHILD_TOPIC"),
        std::env::var("WEIR_CHILD_PROTO"),
    ) else {
        return;
    };
    let proto = if proto == "consumer" {
        Proto::Consumer
    } else {
        Proto::Classic
    };
    let mut cfg = client_config(&addr, &group, &proto.extra());
    for k in proto.unset() {
        cfg.remove(k);
    }
    let c: BaseConsumer = cfg.create().unwrap();
    c.subscribe(&[&topic]).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut out = std::io::stdout();
    while std::time::Instant::now() < deadline {
        if let Some(Ok(m)) = c.poll(Duration::from_millis(50)) {
            writeln!(out, "P {} {}", m.partition(), m.offset()).unwrap();
            out.flush().unwrap();
            if c.commit_message(&m, CommitMode::Sync).is_ok() {
                writeln!(out, "C {} {}", m.partition(), m.offset()).unwrap();
                out.flush().unwrap();
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}
