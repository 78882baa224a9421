//! KIP-848 online migration with real clients (librdkafka through the rdkafka
//! crate) over real sockets against an in-process broker: a member using
//! `group.protocol=consumer` joins a live classic group (upgrade: the group
//! becomes a consumer group, the classic member keeps being served through
//! JoinGroup / SyncGroup / Heartbeat, the partitions are split disjointly); the
//! state survives a restart in the middle; when the consumer-protocol member
//! leaves, the group converts back to a classic group (downgrade) and the
//! classic member gets every partition again.

mod support;

use std::time::Duration;
use support::*;

fn kip848(addr: &str, group: &str, topics: &[&str]) -> Member {
    Member::join_with(
        addr,
        group,
        topics,
        &[("group.protocol", "consumer")],
        &["session.timeout.ms", "heartbeat.interval.ms"],
    )
}

fn both_hold_some(a: &Member, b: &Member, n: i32) -> bool {
    covers_disjoint(&[a, b], n) && !a.partitions().is_empty() && !b.partitions().is_empty()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_protocol_member_upgrades_a_live_classic_group_and_its_leave_downgrades_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = start_broker(dir.path(), GROUP_SETTINGS).await;
    b.create_topic("mig", 4);
    let addr = b.bootstrap();

    // A classic member owns all 4 partitions.
    let (classic, addr) = tokio::task::spawn_blocking(move || {
        let classic = Member::join(&addr, "mg", &["mig"], &[]);
        wait_for(30, "the classic member owns 4 partitions", || {
            classic.partitions().len() == 4
        });
        (classic, addr)
    })
    .await
    .unwrap();
    let classic_id = b
        .state()
        .groups
        .describe_group("mg")
        .expect("the group exists")
        .expect("a classic group")
        .members[0]
        .member_id
        .clone();

    // A consumer-protocol member joins: upgrade, then a disjoint split.
    let (classic, modern) = tokio::task::spawn_blocking(move || {
        let modern = kip848(&addr, "mg", &["mig"]);
        wait_for(30, "both members share the 4 partitions", || {
            both_hold_some(&classic, &modern, 4)
        });
        (classic, modern)
    })
    .await
    .unwrap();
    let d = b
        .state()
        .groups
        .consumer_describe("mg")
        .expect("upgraded to a consumer group");
    assert_eq!(d.members.len(), 2);
    assert!(
        d.members.iter().any(|m| m.member_id == classic_id),
        "the classic member kept its membership through the upgrade"
    );

    // A restart in the middle: the mixed group is persisted and carries on.
    b.restart().await;
    let d = b
        .state()
        .groups
        .consumer_describe("mg")
        .expect("still a consumer group after the restart");
    assert_eq!(d.members.len(), 2);
    let (classic, modern) = tokio::task::spawn_blocking(move || {
        // Records produced now reach the members again after the restart.
        wait_for(30, "both members share the 4 partitions again", || {
            both_hold_some(&classic, &modern, 4)
        });
        (classic, modern)
    })
    .await
    .unwrap();

    // Several heartbeats of both (500 ms apart) after the restart.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let d = b.state().groups.consumer_describe("mg").unwrap();
    assert_eq!(d.members.len(), 2);
    assert!(
        d.members.iter().any(|m| m.member_id == classic_id),
        "the classic member is still served as such after the restart"
    );

    // The consumer-protocol member leaves: downgrade, the classic member takes all.
    let classic = tokio::task::spawn_blocking(move || {
        modern.close();
        wait_for(30, "the classic member owns 4 partitions again", || {
            classic.partitions().len() == 4
        });
        classic
    })
    .await
    .unwrap();
    let d = b
        .state()
        .groups
        .describe_group("mg")
        .expect("the group exists")
        .expect("downgraded to a classic group");
    assert_eq!((d.state.as_str(), d.members.len()), ("Stable", 1));
    assert_eq!(
        d.members[0].member_id, classic_id,
        "kept through the downgrade"
    );
    drop(classic);
    b.stop().await;
}
