//! Share groups (KIP-932) with the Java client's `KafkaShareConsumer`: the queue
//! test. Three consumer processes of one share group on one partition; one
//! consumer, or the broker itself, is SIGKILLed mid-run. Every record must be
//! accepted exactly once (a successful commit of an ACCEPT is never followed by a
//! redelivery), none may be lost, and the killed consumer's records come back
//! after the acquisition lock duration.
//!
//! Needs `java` and the Java driver's classpath (`conformance/java/build` writes
//! `conformance/java/target/4.4/classpath.txt`), hence ignored by plain `cargo
//! test`: `cargo test -p weir --test share_groups -- --ignored --test-threads 1`.
//! The driver's sources are compiled here with `javac` (no Maven needed).

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::spawn_weir;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// Records produced per run.
const RECORDS: usize = 600;
/// `group.share.record.lock.duration.ms` of the broker under test (Kafka's minimum is 1000).
const LOCK_MS: u64 = 3000;

/// Compile the Java driver into `out` and return the classpath to run it.
fn java_classpath(out: &Path) -> String {
    let java = PathBuf::from(ROOT).join("conformance/java");
    let cp_file = java.join("target/4.4/classpath.txt");
    let deps = std::fs::read_to_string(&cp_file).unwrap_or_else(|_| {
        panic!(
            "{} missing: run conformance/java/build first",
            cp_file.display()
        )
    });
    let src = java.join("src/main/java/weir/conformance");
    let status = Command::new("javac")
        .args(["-nowarn", "-d"])
        .arg(out)
        .arg("-cp")
        .arg(deps.trim())
        .arg(src.join("Main.java"))
        .arg(src.join("Secured.java"))
        .arg(src.join("ShareScenarios.java"))
        .status()
        .expect("run javac");
    assert!(status.success(), "javac failed");
    format!("{}:{}", out.display(), deps.trim())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_weir(port: u16, dir: &Path) -> Child {
    let listen = format!("127.0.0.1:{port}");
    let lock = format!("group.share.record.lock.duration.ms={LOCK_MS}");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        // The port may still be held for a moment after a kill.
        let r = std::panic::catch_unwind(|| {
            spawn_weir(&[
                "serve",
                "--listen",
                &listen,
                "--data-dir",
                dir.to_str().unwrap(),
                "--set",
                &lock,
                "--set",
                "group.share.heartbeat.interval.ms=500",
            ])
        });
        match r {
            Ok((child, _)) => return child,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(300)),
            Err(e) => std::panic::resume_unwind(e),
        }
    }
}

struct Worker {
    child: Child,
    out: PathBuf,
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Kills the broker process however the test ends.
struct Killer(Child);

impl Drop for Killer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn java(cp: &str, args: &[&str], out: &Path) -> Child {
    let f = std::fs::File::create(out).unwrap();
    Command::new("java")
        .args(["-Xmx192m", "-XX:TieredStopAtLevel=1", "-cp", cp])
        .arg("weir.conformance.ShareScenarios")
        .args(args)
        .stdout(Stdio::from(f))
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn java")
}

/// What a worker printed: (value, delivery count) per delivery, and the values it acked.
fn read_worker(path: &Path) -> (Vec<(String, i32)>, Vec<String>) {
    let (got, acked, _) = read_worker_all(path);
    (got, acked)
}

/// [`read_worker`] and the values whose commit failed (outcome unknown to the worker).
fn read_worker_all(path: &Path) -> (Vec<(String, i32)>, Vec<String>, Vec<String>) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut got = Vec::new();
    let mut acked = Vec::new();
    let mut failed = Vec::new();
    for line in text.lines() {
        let parts: Vec<&str> = line.split(' ').collect();
        match parts.as_slice() {
            ["got", v, n] => got.push((v.to_string(), n.parse().unwrap_or(-1))),
            ["acked", v] => acked.push(v.to_string()),
            ["ackfail", v] => failed.push(v.to_string()),
            _ => {}
        }
    }
    (got, acked, failed)
}

/// Values delivered to a worker whose acceptance it cannot know: commits that
/// failed (the broker may have died after persisting them), and for a killed
/// worker, everything it got and did not see acked.
fn uncertain(workers: &[Worker], killed: Option<usize>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, w) in workers.iter().enumerate() {
        let (got, acked, failed) = read_worker_all(&w.out);
        out.extend(failed);
        if killed == Some(i) {
            let acked: BTreeSet<String> = acked.into_iter().collect();
            out.extend(
                got.into_iter()
                    .map(|(v, _)| v)
                    .filter(|v| !acked.contains(v)),
            );
        }
    }
    out
}

/// The share-partition's start offset and in-flight count as the broker left
/// them on disk: its checkpoint with the state log replayed (the one
/// share-partition of the data dir; see src/share/persist.rs).
fn share_state(data: &Path) -> (i64, u32) {
    let (parts, _) = weir::share::persist::load(data, weir::share::partition::Limits::default())
        .expect("share state readable");
    assert_eq!(parts.len(), 1, "one share-partition");
    let sp = parts.values().next().unwrap();
    (
        sp.start_offset(),
        (sp.end_offset() - sp.start_offset()) as u32,
    )
}

fn all_acked(workers: &[Worker]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for w in workers {
        for v in read_worker(&w.out).1 {
            *m.entry(v).or_insert(0) += 1;
        }
    }
    m
}

fn wait_for(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("timed out after {limit:?} waiting for {what}");
}

enum Kill {
    Consumer,
    Broker,
}

fn queue_run(kill: Kill) {
    // Kept after the run (its worker outputs explain a failure); printed here.
    let tmp = tempfile::tempdir().unwrap();
    eprintln!("queue run in {}", tmp.path().display());
    let cp = java_classpath(&tmp.path().join("classes"));
    let data = tmp.path().join("data");
    let port = free_port();
    let bs = format!("127.0.0.1:{port}");
    let mut broker = Killer(start_weir(port, &data));
    let group = "queue";
    let topic = "queue-topic";

    let mut workers: Vec<Worker> = (0..3)
        .map(|i| {
            let out = tmp.path().join(format!("worker-{i}.out"));
            Worker {
                child: java(&cp, &["worker", &bs, group, topic], &out),
                out,
            }
        })
        .collect();
    let n = RECORDS.to_string();
    let mut producer = java(
        &cp,
        &["produce", &bs, group, topic, "3", &n],
        &tmp.path().join("producer.out"),
    );
    let status =
        support::wait_exit(&mut producer, Duration::from_secs(120)).expect("producer finishes");
    assert!(status.success(), "producer failed");

    // Mid-run: some records accepted, many not yet.
    wait_for(
        "a tenth of the records accepted",
        Duration::from_secs(60),
        || all_acked(&workers).len() >= RECORDS / 10,
    );
    let killed_at = Instant::now();
    let killed = match kill {
        Kill::Consumer => Some(0),
        Kill::Broker => None,
    };
    match kill {
        Kill::Consumer => {
            // While it processes a batch: it holds records it has not acknowledged yet.
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let (got, acked) = read_worker(&workers[0].out);
                if got.len() >= acked.len() + 3 || Instant::now() > deadline {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            workers[0].child.kill().unwrap();
            workers[0].child.wait().unwrap();
        }
        Kill::Broker => {
            broker.0.kill().unwrap();
            broker.0.wait().unwrap();
            broker = Killer(start_weir(port, &data));
        }
    }
    // When a record the killed consumer held is first delivered to another one.
    let held0: BTreeSet<String> = match killed {
        Some(k) => uncertain(&workers[k..=k], Some(0)),
        None => BTreeSet::new(),
    };
    let mut first_redelivery: Option<Duration> = None;
    let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_for("every record accepted", Duration::from_secs(90), || {
            if first_redelivery.is_none()
                && workers.iter().enumerate().any(|(i, w)| {
                    Some(i) != killed
                        && read_worker(&w.out)
                            .0
                            .iter()
                            .any(|(v, n)| *n >= 2 && held0.contains(v))
                })
            {
                first_redelivery = Some(killed_at.elapsed());
            }
            let mut done: BTreeSet<String> = all_acked(&workers).into_keys().collect();
            done.extend(uncertain(&workers, killed));
            done.len() >= RECORDS && killed_at.elapsed() > Duration::from_millis(LOCK_MS + 1000)
        })
    }));
    if ok.is_err() {
        let keep = tmp.keep();
        panic!(
            "not every record accepted; {} of {RECORDS}; outputs kept in {}",
            all_acked(&workers).len(),
            keep.display()
        );
    }
    // Quiet period: nothing more may be delivered (the last locks have run out by then).
    std::thread::sleep(Duration::from_millis(LOCK_MS + 2000));
    for w in workers.iter_mut() {
        let _ = w.child.kill();
        let _ = w.child.wait();
    }
    drop(broker);

    let acked = all_acked(&workers);
    let unsure = uncertain(&workers, killed);
    let want: BTreeSet<String> = (0..RECORDS).map(|i| format!("v{i}")).collect();
    let mut done: BTreeSet<String> = acked.keys().cloned().collect();
    done.extend(unsure.iter().cloned());
    assert_eq!(
        done, want,
        "every record accepted (or its acceptance unknown to a worker), none unknown"
    );
    let twice: Vec<_> = acked.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "records accepted more than once: {twice:?}"
    );
    // Nothing lost: the broker's share-partition is past every record, nothing in flight
    // (and no record reached the delivery limit, checked below, so none was archived).
    assert_eq!(
        share_state(&data),
        (RECORDS as i64, 0),
        "share-partition state"
    );
    let deliveries: Vec<Vec<(String, i32)>> =
        workers.iter().map(|w| read_worker(&w.out).0).collect();
    eprintln!(
        "accepted {} records; {} deliveries, {} of them redeliveries; {} acceptances unknown to a worker",
        acked.len(),
        deliveries.iter().map(Vec::len).sum::<usize>(),
        deliveries.iter().flatten().filter(|(_, n)| *n >= 2).count(),
        unsure.len()
    );
    for d in &deliveries {
        for (v, count) in d {
            assert!((1..5).contains(count), "{v} delivered with count {count}");
        }
    }
    if let Kill::Consumer = kill {
        // What the killed consumer held and never accepted came back to the others,
        // with a higher delivery count, once its locks ran out.
        let (got0, acked0) = read_worker(&workers[0].out);
        let acked0: BTreeSet<String> = acked0.into_iter().collect();
        let held: BTreeSet<String> = got0
            .into_iter()
            .map(|(v, _)| v)
            .filter(|v| !acked0.contains(v))
            .collect();
        let redelivered: BTreeSet<String> = deliveries[1..]
            .iter()
            .flatten()
            .filter(|(_, n)| *n >= 2)
            .map(|(v, _)| v.clone())
            .collect();
        let back: BTreeSet<String> = held.intersection(&redelivered).cloned().collect();
        assert!(
            !held.is_empty() && back == held,
            "the killed consumer held {held:?}; redelivered to others: {redelivered:?}"
        );
        for v in &held {
            assert_eq!(
                acked.get(v),
                Some(&1),
                "{v} held by the killed consumer, then accepted once"
            );
        }
        // Not at once (the connection closing releases nothing): when the locks run out.
        let after = first_redelivery.expect("a held record redelivered");
        assert!(
            after >= Duration::from_millis(LOCK_MS / 2),
            "held records redelivered {after:?} after the kill, before their lock ({LOCK_MS} ms) ran out"
        );
    }
}

#[test]
#[ignore = "needs java and conformance/java/build's classpath"]
fn queue_one_of_three_consumers_killed_every_record_accepted_once() {
    queue_run(Kill::Consumer);
}

#[test]
#[ignore = "needs java and conformance/java/build's classpath"]
fn queue_broker_killed_every_record_accepted_once() {
    queue_run(Kill::Broker);
}

// ------------------------------------------------------------------ raw protocol
// The share APIs' own rules over a real socket (no Java needed).

mod raw_protocol {
    use super::support::raw::{batch, create_topic_raw, produce_raw};
    use super::support::{RawClient, TestBroker};
    use kafka_protocol::messages::share_acknowledge_request::{
        AcknowledgePartition, AcknowledgeTopic, AcknowledgementBatch as AckBatch,
    };
    use kafka_protocol::messages::share_fetch_request::{FetchPartition, FetchTopic};
    use kafka_protocol::messages::*;
    use kafka_protocol::protocol::StrBytes;
    use kafka_protocol::ResponseError as E;
    use uuid::Uuid;

    fn s(v: &str) -> StrBytes {
        StrBytes::from_string(v.to_string())
    }

    macro_rules! call {
        ($c:expr, $kind:ident, $req:expr, $v:expr) => {
            match $c.call(RequestKind::$kind($req), ApiKey::$kind, $v).await {
                ResponseKind::$kind(r) => r,
                other => panic!("unexpected response {other:?}"),
            }
        };
    }

    fn fetch(member: &str, epoch: i32, topic: Uuid) -> ShareFetchRequest {
        ShareFetchRequest::default()
            .with_group_id(Some(GroupId(s("sg"))))
            .with_member_id(Some(s(member)))
            .with_share_session_epoch(epoch)
            .with_max_wait_ms(100)
            .with_min_bytes(1)
            .with_max_bytes(1 << 20)
            .with_max_records(100)
            .with_topics(vec![FetchTopic::default()
                .with_topic_id(topic)
                .with_partitions(vec![FetchPartition::default()
                    .with_partition_index(0)
                    .with_partition_max_bytes(1 << 20)])])
    }

    fn ack(
        member: &str,
        epoch: i32,
        topic: Uuid,
        batches: &[(i64, i64, i8)],
    ) -> ShareAcknowledgeRequest {
        ShareAcknowledgeRequest::default()
            .with_group_id(Some(GroupId(s("sg"))))
            .with_member_id(Some(s(member)))
            .with_share_session_epoch(epoch)
            .with_topics(vec![AcknowledgeTopic::default()
                .with_topic_id(topic)
                .with_partitions(vec![AcknowledgePartition::default()
                    .with_partition_index(0)
                    .with_acknowledgement_batches(
                        batches
                            .iter()
                            .map(|(f, l, t)| {
                                AckBatch::default()
                                    .with_first_offset(*f)
                                    .with_last_offset(*l)
                                    .with_acknowledge_types(vec![*t])
                            })
                            .collect(),
                    )])])
    }

    fn acquired(r: &ShareFetchResponse) -> Vec<(i64, i64, i16)> {
        r.responses
            .iter()
            .flat_map(|t| t.partitions.iter())
            .flat_map(|p| p.acquired_records.iter())
            .map(|a| (a.first_offset, a.last_offset, a.delivery_count))
            .collect()
    }

    async fn join(c: &mut RawClient, member: &str) -> ShareGroupHeartbeatResponse {
        call!(
            c,
            ShareGroupHeartbeat,
            ShareGroupHeartbeatRequest::default()
                .with_group_id(GroupId(s("sg")))
                .with_member_id(s(member))
                .with_member_epoch(0)
                .with_subscribed_topic_names(Some(vec![TopicName(s("t"))])),
            1
        )
    }

    async fn start_offset(c: &mut RawClient) -> i64 {
        let r = call!(
            c,
            DescribeShareGroupOffsets,
            DescribeShareGroupOffsetsRequest::default().with_groups(vec![
                describe_share_group_offsets_request::DescribeShareGroupOffsetsRequestGroup::default()
                    .with_group_id(GroupId(s("sg")))
                    .with_topics(None)
            ]),
            0
        );
        r.groups[0].topics[0].partitions[0].start_offset
    }

    #[tokio::test]
    async fn share_session_epochs_acknowledgements_and_restart() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = TestBroker::in_dir(dir.path(), &[]).await;
        let mut c = RawClient::connect(b.addr()).await;
        create_topic_raw(&mut c, "t", 1).await;
        let topic = b.state().partitions.topic("t").unwrap().id;

        let hb = join(&mut c, "m1").await;
        assert_eq!((hb.error_code, hb.member_epoch), (0, 1));
        let a = hb.assignment.expect("assignment");
        assert_eq!(a.topic_partitions[0].topic_id, topic);
        assert_eq!(a.topic_partitions[0].partitions, vec![0]);
        // The share-partition starts at the log end (share.auto.offset.reset=latest).
        assert_eq!(
            produce_raw(&mut c, "t", 0, batch(5, -1, -1, -1), 9)
                .await
                .error_code,
            0
        );

        // Sessions: a later epoch without a session, acknowledgements in the opening request.
        let r = call!(c, ShareFetch, fetch("m1", 1, topic), 1);
        assert_eq!(r.error_code, E::ShareSessionNotFound.code());
        let r = call!(c, ShareAcknowledge, ack("m1", 0, topic, &[(0, 0, 1)]), 1);
        assert_eq!(r.error_code, E::InvalidShareSessionEpoch.code());
        let mut opening = fetch("m1", 0, topic);
        opening.topics[0].partitions[0].acknowledgement_batches =
            vec![share_fetch_request::AcknowledgementBatch::default()
                .with_first_offset(0)
                .with_last_offset(0)
                .with_acknowledge_types(vec![1])];
        let r = call!(c, ShareFetch, opening, 1);
        assert_eq!(r.error_code, E::InvalidRequest.code());

        let r = call!(c, ShareFetch, fetch("m1", 0, topic), 1);
        assert_eq!(r.error_code, 0);
        assert_eq!(acquired(&r), vec![(0, 4, 1)]);
        assert!(r.acquisition_lock_timeout_ms > 0);
        let r = call!(c, ShareFetch, fetch("m1", 2, topic), 1);
        assert_eq!(r.error_code, E::InvalidShareSessionEpoch.code());

        // Another member may not acknowledge m1's records; RENEW needs v2's IsRenewAck.
        let hb2 = join(&mut c, "m2").await;
        assert_eq!(hb2.member_epoch, 2);
        let r = call!(c, ShareFetch, fetch("m2", 0, topic), 1);
        assert!(acquired(&r).is_empty(), "nothing available for m2");
        let r = call!(c, ShareAcknowledge, ack("m2", 1, topic, &[(0, 0, 1)]), 1);
        let p = &r.responses[0].partitions[0];
        assert_eq!(p.error_code, E::InvalidRecordState.code());
        // RENEW (4) in a v1 request (no IsRenewAck): INVALID_REQUEST, as Kafka 4.4
        // answers it; nothing changes (offset 0 is acknowledged below).
        let r = call!(c, ShareAcknowledge, ack("m1", 1, topic, &[(0, 0, 4)]), 1);
        assert_eq!(
            r.responses[0].partitions[0].error_code,
            E::InvalidRequest.code()
        );

        // ACCEPT 0-1, RELEASE 2-4: released records come back with delivery count 2.
        let r = call!(
            c,
            ShareAcknowledge,
            ack("m1", 2, topic, &[(0, 1, 1), (2, 4, 2)]),
            1
        );
        assert_eq!(r.responses[0].partitions[0].error_code, 0);
        assert_eq!(start_offset(&mut c).await, 2);
        let r = call!(c, ShareFetch, fetch("m1", 3, topic), 1);
        assert_eq!(acquired(&r), vec![(2, 4, 2)]);
        // Closing the session (epoch -1) releases what m1 holds.
        let r = call!(c, ShareAcknowledge, ack("m1", -1, topic, &[]), 1);
        assert_eq!(r.error_code, 0);
        let r = call!(c, ShareAcknowledge, ack("m1", 5, topic, &[]), 1);
        assert_eq!(r.error_code, E::ShareSessionNotFound.code());

        // ListGroups by type; the id of a consumer group is not a share group's.
        let lg = call!(
            c,
            ListGroups,
            ListGroupsRequest::default().with_types_filter(vec![s("share")]),
            5
        );
        let ids: Vec<&str> = lg.groups.iter().map(|g| g.group_id.as_str()).collect();
        assert_eq!(ids, vec!["sg"]);
        assert_eq!(lg.groups[0].group_type.as_str(), "share");
        let commit = OffsetCommitRequest::default()
            .with_group_id(GroupId(s("classic")))
            .with_generation_id_or_member_epoch(-1)
            .with_topics(vec![
                offset_commit_request::OffsetCommitRequestTopic::default()
                    .with_name(TopicName(s("t")))
                    .with_partitions(vec![
                        offset_commit_request::OffsetCommitRequestPartition::default()
                            .with_partition_index(0)
                            .with_committed_offset(1),
                    ]),
            ]);
        let r = call!(c, OffsetCommit, commit, 8);
        assert_eq!(r.topics[0].partitions[0].error_code, 0);
        let r = call!(
            c,
            ShareGroupHeartbeat,
            ShareGroupHeartbeatRequest::default()
                .with_group_id(GroupId(s("classic")))
                .with_member_id(s("m"))
                .with_member_epoch(0)
                .with_subscribed_topic_names(Some(vec![TopicName(s("t"))])),
            1
        );
        assert_eq!(r.error_code, E::GroupIdNotFound.code());
        assert_eq!(
            r.error_message.as_ref().map(|m| m.as_str()),
            Some("Group classic is not a share group.")
        );

        // After a restart the share-partition keeps its start offset and delivery counts.
        drop(c);
        b.restart().await;
        let mut c = RawClient::connect(b.addr()).await;
        assert_eq!(start_offset(&mut c).await, 2);
        join(&mut c, "m3").await;
        let r = call!(c, ShareFetch, fetch("m3", 0, topic), 1);
        assert_eq!(acquired(&r), vec![(2, 4, 3)]);
    }

    fn renew_fetch(member: &str, epoch: i32, topic: Uuid, offset: i64) -> ShareFetchRequest {
        let mut f = fetch(member, epoch, topic)
            .with_max_wait_ms(0)
            .with_min_bytes(0)
            .with_max_bytes(0)
            .with_max_records(0)
            .with_is_renew_ack(true);
        f.topics[0].partitions[0].acknowledgement_batches =
            vec![share_fetch_request::AcknowledgementBatch::default()
                .with_first_offset(offset)
                .with_last_offset(offset)
                .with_acknowledge_types(vec![4])];
        f
    }

    /// ShareFetch/ShareAcknowledge v2 and DescribeShareGroupOffsets v1 as a live
    /// Kafka 4.4 answered the same requests (four batches of 5 records).
    #[tokio::test]
    async fn v2_acquire_modes_renew_acknowledgements_and_lag() {
        let b = TestBroker::start(&[]).await;
        let mut c = RawClient::connect(b.addr()).await;
        create_topic_raw(&mut c, "t", 1).await;
        let topic = b.state().partitions.topic("t").unwrap().id;
        assert_eq!(join(&mut c, "m1").await.error_code, 0);
        for _ in 0..4 {
            let r = produce_raw(&mut c, "t", 0, batch(5, -1, -1, -1), 9).await;
            assert_eq!(r.error_code, 0);
        }
        let mode = |epoch, max, mode| {
            fetch("m1", epoch, topic)
                .with_max_records(max)
                .with_share_acquire_mode(mode)
        };
        // Batch-optimized (0): whole batches, max_records is a soft limit.
        let r = call!(c, ShareFetch, mode(0, 7, 0), 2);
        assert_eq!(acquired(&r), vec![(0, 9, 1)]);
        // Record-limit (1): exactly max_records, splitting a batch.
        let r = call!(c, ShareFetch, mode(1, 7, 1), 2);
        assert_eq!(acquired(&r), vec![(10, 16, 1)]);
        let r = call!(c, ShareFetch, mode(2, 2, 1), 2);
        assert_eq!(acquired(&r), vec![(17, 18, 1)]);
        // v1 is served batch-optimized: the rest of the batch.
        let r = call!(c, ShareFetch, mode(3, 1, 0), 1);
        assert_eq!(acquired(&r), vec![(19, 19, 1)]);
        // An unknown mode fails the request, as Kafka's does.
        let r = call!(c, ShareFetch, mode(4, 1, 5), 2);
        assert_eq!(r.error_code, E::UnknownServerError.code());

        // RENEW: INVALID_REQUEST without IsRenewAck (v1, or v2 without the flag) ...
        let r = call!(c, ShareAcknowledge, ack("m1", 4, topic, &[(0, 0, 4)]), 1);
        assert_eq!(
            r.responses[0].partitions[0].error_code,
            E::InvalidRequest.code()
        );
        let r = call!(c, ShareAcknowledge, ack("m1", 5, topic, &[(0, 0, 4)]), 2);
        assert_eq!(
            r.responses[0].partitions[0].error_code,
            E::InvalidRequest.code()
        );
        assert_eq!(r.acquisition_lock_timeout_ms, 30_000);
        // ... accepted with it (share.renew.acknowledge.enable defaults to true);
        // ACCEPT may ride along.
        let r = call!(
            c,
            ShareAcknowledge,
            ack("m1", 6, topic, &[(0, 0, 4), (1, 2, 1)]).with_is_renew_ack(true),
            2
        );
        assert_eq!(r.responses[0].partitions[0].error_code, 0);
        // A renewing ShareFetch must zero its fetch limits (INVALID_REQUEST, the
        // session epoch not consumed) and acquires nothing.
        let r = call!(
            c,
            ShareFetch,
            renew_fetch("m1", 7, topic, 3).with_max_wait_ms(5),
            2
        );
        assert_eq!(r.error_code, E::InvalidRequest.code());
        let r = call!(c, ShareFetch, renew_fetch("m1", 7, topic, 3), 2);
        assert_eq!(r.error_code, 0);
        let p = &r.responses[0].partitions[0];
        assert_eq!((p.error_code, p.acknowledge_error_code), (0, 0));
        assert!(p.acquired_records.is_empty());
        assert_eq!(r.acquisition_lock_timeout_ms, 30_000);
        // RENEW in a fetch without the flag: an acknowledgement error.
        let mut f = renew_fetch("m1", 8, topic, 4);
        f.is_renew_ack = false;
        let r = call!(c, ShareFetch, f, 2);
        assert_eq!(
            r.responses[0].partitions[0].acknowledge_error_code,
            E::InvalidRequest.code()
        );

        // DescribeShareGroupOffsets v1: lag = high watermark 20 - start 0 - 2 accepted.
        let req = DescribeShareGroupOffsetsRequest::default().with_groups(vec![
            describe_share_group_offsets_request::DescribeShareGroupOffsetsRequestGroup::default()
                .with_group_id(GroupId(s("sg")))
                .with_topics(None),
        ]);
        let r = call!(c, DescribeShareGroupOffsets, req.clone(), 1);
        let p = &r.groups[0].topics[0].partitions[0];
        assert_eq!((p.start_offset, p.lag), (0, 18));
        let named = DescribeShareGroupOffsetsRequest::default().with_groups(vec![
            describe_share_group_offsets_request::DescribeShareGroupOffsetsRequestGroup::default()
                .with_group_id(GroupId(s("sg")))
                .with_topics(Some(vec![
                    describe_share_group_offsets_request::DescribeShareGroupOffsetsRequestTopic::default()
                        .with_topic_name(TopicName(s("t")))
                        .with_partitions(vec![0]),
                ])),
        ]);
        let r = call!(c, DescribeShareGroupOffsets, named, 1);
        assert_eq!(r.groups[0].topics[0].partitions[0].lag, 18);
        // v0 carries no lag (decoded as the default, -1).
        let r = call!(c, DescribeShareGroupOffsets, req, 0);
        assert_eq!(r.groups[0].topics[0].partitions[0].lag, -1);
    }
}
