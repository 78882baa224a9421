//! KIP-848 consumer groups (`group.protocol=consumer`) with librdkafka against
//! an in-process broker over real sockets: broker-side assignment, leave,
//! kill (session timeout), restart, static membership, described over the wire.

mod support;

use std::time::Duration;
use support::*;

const CONSUMER: [(&str, &str); 1] = [("group.protocol", "consumer")];

/// librdkafka refuses classic-only settings with group.protocol=consumer.
fn kip848(addr: &str, group: &str, topics: &[&str], extra: &[(&str, &str)]) -> Member {
    let mut all: Vec<(&str, &str)> = CONSUMER.to_vec();
    all.extend_from_slice(extra);
    Member::join_with(
        addr,
        group,
        topics,
        &all,
        &["session.timeout.ms", "heartbeat.interval.ms"],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_protocol_three_members_split_six_partitions_and_take_over_after_leave() {
    let b = TestBroker::start(GROUP_SETTINGS).await;
    b.create_topic("c-orders", 6);
    let addr = b.bootstrap();
    let (a, m2) = tokio::task::spawn_blocking(move || {
        let a = kip848(&addr, "cg1", &["c-orders"], &[]);
        let m2 = kip848(&addr, "cg1", &["c-orders"], &[]);
        let m3 = kip848(&addr, "cg1", &["c-orders"], &[]);
        // KIP-848 moves partitions incrementally: a member may still own 3 (its
        // revocation pending) while a newcomer already has 1, a disjoint cover
        // that is not yet the target. The target is the uniform assignor's 2 each.
        wait_for(
            30,
            "three disjoint assignments of 2 each covering 6 partitions (uniform assignor)",
            || {
                covers_disjoint(&[&a, &m2, &m3], 6)
                    && [&a, &m2, &m3].iter().all(|m| m.partitions().len() == 2)
            },
        );
        m3.close();
        wait_for(30, "two members cover 6 after a leave", || {
            covers_disjoint(&[&a, &m2], 6)
        });
        (a, m2)
    })
    .await
    .unwrap();
    let d = b
        .broker()
        .state()
        .groups
        .consumer_describe("cg1")
        .expect("a consumer group");
    assert_eq!((d.state.as_str(), d.members.len()), ("Stable", 2));
    drop((a, m2));
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_protocol_group_survives_a_broker_restart() {
    let mut b = TestBroker::start(GROUP_SETTINGS).await;
    b.create_topic("c-ledger", 4);
    let addr = b.bootstrap();
    let (a, m2) = tokio::task::spawn_blocking(move || {
        let a = kip848(&addr, "cg2", &["c-ledger"], &[]);
        let m2 = kip848(&addr, "cg2", &["c-ledger"], &[]);
        wait_for(30, "two members cover 4", || covers_disjoint(&[&a, &m2], 4));
        a.commit(
            "c-ledger",
            &a.partitions()
                .iter()
                .map(|p| (*p, 10 + *p as i64))
                .collect::<Vec<_>>(),
        );
        (a, m2)
    })
    .await
    .unwrap();
    let epoch_before = b
        .broker()
        .state()
        .groups
        .consumer_describe("cg2")
        .unwrap()
        .group_epoch;
    let parts_before = (a.partitions(), m2.partitions());
    b.restart().await;
    let addr = b.bootstrap();
    let (a, m2) = tokio::task::spawn_blocking(move || {
        std::thread::sleep(Duration::from_secs(3));
        assert_eq!(
            (a.partitions(), m2.partitions()),
            parts_before,
            "assignment kept across the restart"
        );
        let offsets = committed(&addr, "cg2", "c-ledger", 4);
        for p in a.partitions() {
            assert_eq!(offsets[p as usize], 10 + p as i64);
        }
        a.commit(
            "c-ledger",
            &a.partitions().iter().map(|p| (*p, 20)).collect::<Vec<_>>(),
        );
        (a, m2)
    })
    .await
    .unwrap();
    let d = b.broker().state().groups.consumer_describe("cg2").unwrap();
    assert_eq!(
        d.group_epoch, epoch_before,
        "no new group epoch: members continued"
    );
    drop((a, m2));
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_protocol_killed_member_is_expelled_after_its_session() {
    let b = TestBroker::start(GROUP_SETTINGS).await;
    b.create_topic("c-kill", 4);
    let addr = b.bootstrap();
    tokio::task::spawn_blocking(move || {
        let a = kip848(&addr, "cg3", &["c-kill"], &[]);
        // The system kcat's librdkafka (2.0) predates KIP-848: the killed member is
        // this test binary re-run as a child process.
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "child_consumer_process",
                "--exact",
                "--ignored",
                "--nocapture",
            ])
            .env("WEIR_CHILD_ADDR", &addr)
            .env("WEIR_CHILD_GROUP", "cg3")
            .env("WEIR_CHILD_TOPIC", "c-kill")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("child consumer runs");
        wait_for(30, "the child member takes half", || {
            a.partitions().len() == 2
        });
        child.kill().unwrap();
        child.wait().unwrap();
        // group.consumer.session.timeout.ms is 6 s in these tests.
        wait_for(30, "a gets everything back", || a.partitions().len() == 4);
    })
    .await
    .unwrap();
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_protocol_describe_over_the_wire() {
    use rdkafka::admin::{AdminClient, AdminOptions};
    use rdkafka::client::DefaultClientContext;
    let b = TestBroker::start(GROUP_SETTINGS).await;
    b.create_topic("c-desc", 3);
    let addr = b.bootstrap();
    let m = tokio::task::spawn_blocking({
        let addr = addr.clone();
        move || {
            let m = kip848(&addr, "cg4", &["c-desc"], &[]);
            wait_for(30, "member assigned", || m.partitions().len() == 3);
            m
        }
    })
    .await
    .unwrap();
    // ListGroups over the wire shows the consumer group.
    let addr2 = addr.clone();
    tokio::task::spawn_blocking(move || {
        let c: rdkafka::consumer::BaseConsumer = client_config(&addr2, "x", &[]).create().unwrap();
        use rdkafka::consumer::Consumer;
        let list = c.fetch_group_list(None, Duration::from_secs(10)).unwrap();
        assert!(list.groups().iter().any(|g| g.name() == "cg4"));
    })
    .await
    .unwrap();
    let admin: AdminClient<DefaultClientContext> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &addr)
        .create()
        .unwrap();
    let res = admin
        .delete_groups(&["cg4"], &AdminOptions::new())
        .await
        .unwrap();
    assert!(
        matches!(
            &res[0],
            Err((_, rdkafka::types::RDKafkaErrorCode::NonEmptyGroup))
        ),
        "{res:?}"
    );
    drop(m);
    b.stop().await;
}

/// Not a test of its own: a KIP-848 consumer run as a child process (so that
/// other tests can SIGKILL a member); lives at most 60 s.
#[test]
#[ignore = "helper run as a child process by other tests"]
fn child_consumer_process() {
    let (Ok(addr), Ok(group), Ok(topic)) = (
        std::env::var("WEIR_CHILD_ADDR"),
        std::env::var("WEIR_CHILD_GROUP"),
        std::env::var("WEIR_CHILD_TOPIC"),
    ) else {
        return;
    };
    let _m = kip848(&addr, &group, &[&topic], &[]);
    std::thread::sleep(Duration::from_secs(60));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_protocol_regex_subscription_follows_matching_topics() {
    let b = TestBroker::start(GROUP_SETTINGS).await;
    b.create_topic("logs-a", 2);
    b.create_topic("other", 2);
    let addr = b.bootstrap();
    let m = tokio::task::spawn_blocking(move || {
        let m = kip848(&addr, "cg5", &["^logs-.*"], &[]);
        wait_for(30, "logs-a assigned", || m.topic_partitions().len() == 2);
        m
    })
    .await
    .unwrap();
    let d = b.broker().state().groups.consumer_describe("cg5").unwrap();
    assert_eq!(
        d.members[0].subscribed_topic_regex.as_deref(),
        Some("(^logs-.*)"),
        "librdkafka sends the regex: the broker resolves it"
    );
    // A topic created later that matches is picked up; `other` never is.
    b.create_topic("logs-b", 1);
    let m = tokio::task::spawn_blocking(move || {
        wait_for(30, "logs-b assigned too", || {
            m.topic_partitions().len() == 3
        });
        assert!(m
            .topic_partitions()
            .iter()
            .all(|(t, _)| t.starts_with("logs-")));
        m
    })
    .await
    .unwrap();
    drop(m);
    b.stop().await;
}
