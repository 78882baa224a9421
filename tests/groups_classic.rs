//! Classic consumer groups with librdkafka (the `rdkafka` crate) against an
//! in-process broker over real sockets: assignment, leave, kill (session
//! timeout), static membership, cooperative rebalancing, committed offsets and
//! group state across a broker restart.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_members_split_six_partitions_and_survivors_take_over_after_leave_and_kill() {
    let b = TestBroker::start(GROUP_SETTINGS).await;
    b.create_topic("orders", 6);
    let addr = b.bootstrap();
    tokio::task::spawn_blocking(move || {
        let a = Member::join(&addr, "g1", &["orders"], &[]);
        let m2 = Member::join(&addr, "g1", &["orders"], &[]);
        let m3 = Member::join(&addr, "g1", &["orders"], &[]);
        wait_for(
            30,
            "three disjoint assignments covering 6 partitions",
            || covers_disjoint(&[&a, &m2, &m3], 6),
        );
        // One leaves cleanly (LeaveGroup): the two others take over everything.
        m3.close();
        wait_for(30, "two members cover 6 partitions after a leave", || {
            covers_disjoint(&[&a, &m2], 6)
        });

        // A third member in another process, then killed (no LeaveGroup): the
        // survivors get its partitions once its session (2 s) times out.
        let mut kcat = Command::new("kcat")
            .args([
                "-b",
                &addr,
                "-G",
                "g1",
                "-X",
                "session.timeout.ms=2000",
                "-X",
                "log_level=0",
                "-q",
                "-o",
                "beginning",
                "orders",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("kcat runs");
        wait_for(30, "the kcat member takes some partitions", || {
            let n = a.partitions().len() + m2.partitions().len();
            n < 6 && n > 0
        });
        kcat.kill().unwrap();
        kcat.wait().unwrap();
        wait_for(30, "survivors cover 6 partitions after the kill", || {
            covers_disjoint(&[&a, &m2], 6)
        });
    })
    .await
    .unwrap();
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_commits_are_kept_verbatim_and_survive_a_broker_restart() {
    let mut b = TestBroker::start(GROUP_SETTINGS).await;
    b.create_topic("batch", 3);
    let addr = b.bootstrap();
    tokio::task::spawn_blocking(move || {
        // No subscription: a batch reader committing with generation -1.
        let c: rdkafka::consumer::BaseConsumer =
            client_config(&addr, "reader", &[]).create().unwrap();
        let mut tpl = rdkafka::TopicPartitionList::new();
        tpl.add_partition_offset("batch", 0, rdkafka::Offset::Offset(42))
            .unwrap();
        tpl.add_partition_offset("batch", 2, rdkafka::Offset::Offset(7))
            .unwrap();
        tpl.find_partition("batch", 0)
            .unwrap()
            .set_metadata("resume-here ✓");
        use rdkafka::consumer::Consumer;
        c.commit(&tpl, rdkafka::consumer::CommitMode::Sync)
            .expect("standalone commit");
        assert_eq!(committed(&addr, "reader", "batch", 3), vec![42, -1001, 7]);
    })
    .await
    .unwrap();
    b.restart().await;
    let addr = b.bootstrap();
    tokio::task::spawn_blocking(move || {
        assert_eq!(committed(&addr, "reader", "batch", 3), vec![42, -1001, 7]);
        let c: rdkafka::consumer::BaseConsumer =
            client_config(&addr, "reader", &[]).create().unwrap();
        let mut tpl = rdkafka::TopicPartitionList::new();
        tpl.add_partition("batch", 0);
        use rdkafka::consumer::Consumer;
        let got = c.committed_offsets(tpl, Duration::from_secs(10)).unwrap();
        assert_eq!(
            got.find_partition("batch", 0).unwrap().metadata(),
            "resume-here ✓"
        );
    })
    .await
    .unwrap();
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_state_survives_a_broker_restart_without_a_rebalance() {
    let mut b = TestBroker::start(GROUP_SETTINGS).await;
    b.create_topic("ledger", 4);
    let addr = b.bootstrap();
    let (a, m2) = tokio::task::spawn_blocking(move || {
        let a = Member::join(&addr, "g2", &["ledger"], &[]);
        let m2 = Member::join(&addr, "g2", &["ledger"], &[]);
        wait_for(30, "two members cover 4 partitions", || {
            covers_disjoint(&[&a, &m2], 4)
        });
        a.commit(
            "ledger",
            &a.partitions()
                .iter()
                .map(|p| (*p, 100 + *p as i64))
                .collect::<Vec<_>>(),
        );
        (a, m2)
    })
    .await
    .unwrap();
    let before = (a.assigns(), m2.assigns(), a.partitions(), m2.partitions());
    b.restart().await;
    let addr = b.bootstrap();
    let (a, m2) = tokio::task::spawn_blocking(move || {
        // Several heartbeat intervals (500 ms) against the restarted broker.
        std::thread::sleep(Duration::from_secs(4));
        let after = (a.assigns(), m2.assigns(), a.partitions(), m2.partitions());
        assert_eq!(before, after, "no rebalance after the restart");
        let offsets = committed(&addr, "g2", "ledger", 4);
        for p in a.partitions() {
            assert_eq!(offsets[p as usize], 100 + p as i64);
        }
        // The restored group still works: a commit with the old generation is accepted.
        a.commit(
            "ledger",
            &a.partitions().iter().map(|p| (*p, 200)).collect::<Vec<_>>(),
        );
        (a, m2)
    })
    .await
    .unwrap();
    drop((a, m2));
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_static_member_restart_does_not_trigger_a_rebalance() {
    let b = TestBroker::start(GROUP_SETTINGS).await;
    b.create_topic("events", 4);
    let addr = b.bootstrap();
    tokio::task::spawn_blocking(move || {
        let s1 = Member::join(&addr, "g3", &["events"], &[("group.instance.id", "s1")]);
        let s2 = Member::join(&addr, "g3", &["events"], &[("group.instance.id", "s2")]);
        wait_for(30, "two static members cover 4 partitions", || {
            covers_disjoint(&[&s1, &s2], 4)
        });
        let revokes = || s1.counts.revokes.load(std::sync::atomic::Ordering::SeqCst);
        let (assigns, revoked, mine) = (s1.assigns(), revokes(), s2.partitions());
        // s2 restarts: a static member's close sends no LeaveGroup.
        s2.close();
        let s2 = Member::join(&addr, "g3", &["events"], &[("group.instance.id", "s2")]);
        wait_for(30, "restarted s2 gets its partitions back", || {
            s2.partitions() == mine
        });
        std::thread::sleep(Duration::from_secs(2));
        assert_eq!(s1.assigns(), assigns, "s1 saw no rebalance");
        assert_eq!(revokes(), revoked, "s1 revoked nothing");
        assert!(covers_disjoint(&[&s1, &s2], 4));
    })
    .await
    .unwrap();
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cooperative_sticky_members_keep_their_partitions_across_rebalances() {
    let b = TestBroker::start(GROUP_SETTINGS).await;
    b.create_topic("coop", 6);
    let addr = b.bootstrap();
    tokio::task::spawn_blocking(move || {
        let coop = [("partition.assignment.strategy", "cooperative-sticky")];
        let a = Member::join(&addr, "g4", &["coop"], &coop);
        wait_for(30, "a owns all 6", || a.partitions().len() == 6);
        let m2 = Member::join(&addr, "g4", &["coop"], &coop);
        wait_for(30, "two cooperative members cover 6", || {
            covers_disjoint(&[&a, &m2], 6)
        });
        let m3 = Member::join(&addr, "g4", &["coop"], &coop);
        wait_for(30, "three cooperative members cover 6", || {
            covers_disjoint(&[&a, &m2, &m3], 6)
        });
        // Incremental: a gave up only what moved (4 of its 6 over two rounds), never everything at once.
        let revoked = a.counts.revoked.lock().unwrap().clone();
        assert_eq!(
            revoked.len(),
            4,
            "a revoked exactly the partitions that moved: {revoked:?}"
        );
        let a_now = a.partitions();
        assert!(revoked.iter().all(|p| !a_now.contains(p)));
    })
    .await
    .unwrap();
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_api_lists_describes_and_deletes_groups() {
    use rdkafka::admin::{AdminClient, AdminOptions};
    use rdkafka::client::DefaultClientContext;
    let b = TestBroker::start(GROUP_SETTINGS).await;
    b.create_topic("adm", 2);
    let addr = b.bootstrap();
    let m = tokio::task::spawn_blocking({
        let addr = addr.clone();
        move || {
            let m = Member::join(&addr, "live", &["adm"], &[]);
            wait_for(30, "member assigned", || m.partitions().len() == 2);
            m.commit("adm", &[(0, 5)]);
            let solo: rdkafka::consumer::BaseConsumer =
                client_config(&addr, "solo", &[]).create().unwrap();
            let mut tpl = rdkafka::TopicPartitionList::new();
            tpl.add_partition_offset("adm", 1, rdkafka::Offset::Offset(3))
                .unwrap();
            use rdkafka::consumer::Consumer;
            solo.commit(&tpl, rdkafka::consumer::CommitMode::Sync)
                .unwrap();
            let groups = solo
                .fetch_group_list(None, Duration::from_secs(10))
                .unwrap();
            let mut listed: Vec<(String, String)> = groups
                .groups()
                .iter()
                .map(|g| (g.name().to_string(), g.state().to_string()))
                .collect();
            listed.sort();
            assert_eq!(
                listed,
                vec![
                    ("live".into(), "Stable".into()),
                    ("solo".into(), "Empty".into())
                ]
            );
            let live = solo
                .fetch_group_list(Some("live"), Duration::from_secs(10))
                .unwrap();
            let g = &live.groups()[0];
            assert_eq!(
                (g.protocol_type(), g.protocol(), g.members().len()),
                ("consumer", "range", 1)
            );
            assert!(g.members()[0].assignment().is_some_and(|a| !a.is_empty()));
            m
        }
    })
    .await
    .unwrap();
    let admin: AdminClient<DefaultClientContext> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &addr)
        .create()
        .unwrap();
    let res = admin
        .delete_groups(&["live", "solo", "ghost"], &AdminOptions::new())
        .await
        .unwrap();
    let codes: Vec<String> = res
        .iter()
        .map(|r| match r {
            Ok(g) => format!("{g}: ok"),
            Err((g, e)) => format!("{g}: {e:?}"),
        })
        .collect();
    assert_eq!(
        codes,
        vec!["live: NonEmptyGroup", "solo: ok", "ghost: GroupIdNotFound"]
    );
    let addr2 = addr.clone();
    tokio::task::spawn_blocking(move || {
        assert_eq!(committed(&addr2, "solo", "adm", 2), vec![-1001, -1001]);
        drop(m);
    })
    .await
    .unwrap();
    b.stop().await;
}
