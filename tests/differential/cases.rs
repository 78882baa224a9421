//! The error cases of issue 13, each a named sequence at the newest common versions
//! (unless the name says otherwise).

use crate::corpus::*;
use crate::{seq, Ctx, Sequence};
use bytes::Bytes;
use kafka_protocol::messages::*;

fn produce(c: &mut Ctx, topic: &str, partition: i32, records: Bytes) -> Option<ProduceResponse> {
    let id = c.topic_id(topic);
    let v = c.v(ApiKey::Produce);
    c.call_v(v, produce_req(v, topic, id, partition, records))
}

fn produce_v12(
    c: &mut Ctx,
    topic: &str,
    partition: i32,
    records: Bytes,
) -> Option<ProduceResponse> {
    c.call_v(
        12,
        produce_req(12, topic, uuid::Uuid::nil(), partition, records),
    )
}

fn fetch(c: &mut Ctx, topic: &str, partition: i32, offset: i64) -> Option<FetchResponse> {
    let id = c.topic_id(topic);
    let v = c.v(ApiKey::Fetch);
    c.call_v(v, fetch_req(v, topic, id, partition, offset))
}

fn join_member(
    c: &mut Ctx,
    conn: usize,
    group: &str,
    member: &str,
    instance: Option<&str>,
) -> Option<JoinGroupResponse> {
    let v = c.v(ApiKey::JoinGroup);
    let mut r = join_req(v, group, member);
    r.group_instance_id = instance.map(s);
    c.send_on(conn, v, r);
    c.recv_on::<JoinGroupRequest>(conn)
}

fn heartbeat(
    c: &mut Ctx,
    group: &str,
    gen: i32,
    member: &str,
    instance: Option<&str>,
) -> Option<HeartbeatResponse> {
    c.call(
        HeartbeatRequest::default()
            .with_group_id(gid(group))
            .with_generation_id(gen)
            .with_member_id(s(member))
            .with_group_instance_id(instance.map(s)),
    )
}

fn delete_records(c: &mut Ctx, topic: &str, partition: i32, offset: i64) {
    use delete_records_request::{DeleteRecordsPartition, DeleteRecordsTopic};
    c.call(
        DeleteRecordsRequest::default()
            .with_timeout_ms(10_000)
            .with_topics(vec![DeleteRecordsTopic::default()
                .with_name(tn(topic))
                .with_partitions(vec![DeleteRecordsPartition::default()
                    .with_partition_index(partition)
                    .with_offset(offset)])]),
    );
}

fn add_offsets(c: &mut Ctx, tx: &str, pid: i64, epoch: i16, group: &str) {
    c.call(
        AddOffsetsToTxnRequest::default()
            .with_transactional_id(txid(tx))
            .with_producer_id(ProducerId(pid))
            .with_producer_epoch(epoch)
            .with_group_id(gid(group)),
    );
}

fn txn_commit_offset(c: &mut Ctx, tx: &str, pid: i64, epoch: i16, group: &str, topic: &str) {
    use txn_offset_commit_request::{TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic};
    c.call(
        TxnOffsetCommitRequest::default()
            .with_transactional_id(txid(tx))
            .with_group_id(gid(group))
            .with_producer_id(ProducerId(pid))
            .with_producer_epoch(epoch)
            .with_generation_id(-1)
            .with_topics(vec![TxnOffsetCommitRequestTopic::default()
                .with_name(tn(topic))
                .with_partitions(vec![TxnOffsetCommitRequestPartition::default()
                    .with_partition_index(0)
                    .with_committed_offset(1)
                    .with_committed_leader_epoch(-1)])]),
    );
}

/// AddPartitionsToTxn as a client sends it (v3: Kafka 4 keeps v4+ for brokers).
fn add_partition(c: &mut Ctx, tx: &str, pid: i64, epoch: i16, topic: &str) {
    let v = c.v(ApiKey::AddPartitionsToTxn).min(3);
    c.call_v(v, add_partitions_req(v, tx, pid, epoch, topic));
}

pub fn push_all(out: &mut Vec<Sequence>) {
    // --- unknown topics and partitions
    out.push(seq("err/produce/unknown-topic-name", |c| {
        let n = c.name("nosuch-p");
        produce_v12(c, &n, 0, batch(1));
    }));
    out.push(seq("err/produce/unknown-topic-id", |c| {
        let v = c.v(ApiKey::Produce);
        let id = uuid::Uuid::from_u128(0x1234);
        c.call_v(v, produce_req(v, "", id, 0, batch(1)));
    }));
    out.push(seq("err/produce/unknown-partition", |c| {
        let t = c.name("t");
        produce(c, &t, 7, batch(1));
        produce_v12(c, &t, -1, batch(1));
    }));
    out.push(seq("err/fetch/unknown-topic-name", |c| {
        let n = c.name("nosuch-f");
        c.call_v(12, fetch_req(12, &n, uuid::Uuid::nil(), 0, 0));
    }));
    out.push(seq("err/fetch/unknown-topic-id", |c| {
        let v = c.v(ApiKey::Fetch);
        c.call_v(v, fetch_req(v, "", uuid::Uuid::from_u128(0x1234), 0, 0));
    }));
    out.push(seq("err/fetch/unknown-partition", |c| {
        let t = c.name("t");
        fetch(c, &t, 9, 0);
    }));
    out.push(seq("err/fetch/offset-out-of-range", |c| {
        let t = c.name("t");
        fetch(c, &t, 0, 1_000_000);
        fetch(c, &t, 0, -5);
    }));
    out.push(seq("err/list-offsets/unknown", |c| {
        let t = c.name("t");
        let n = c.name("nosuch-lo");
        c.call(list_offsets_req(&t, 4, -1));
        c.call(list_offsets_req(&n, 0, -1));
    }));
    out.push(seq("err/metadata/unknown-and-invalid", |c| {
        let n = c.name("nosuch-md");
        let mut r = metadata_req(&[&n, "bad name!", ""]);
        r.allow_auto_topic_creation = false;
        c.call(r);
    }));
    out.push(seq("err/metadata/auto-create", |c| {
        let n = c.name("auto-md");
        c.call(metadata_req(&[&n]));
        c.await_topic(&n, 1);
        let mut r = metadata_req(&[&n]);
        r.allow_auto_topic_creation = false;
        c.call(r);
    }));
    out.push(seq("err/offset-for-leader-epoch/unknown", |c| {
        use offset_for_leader_epoch_request::{OffsetForLeaderPartition, OffsetForLeaderTopic};
        let t = c.name("t");
        let n = c.name("nosuch-ofle");
        let r = OffsetForLeaderEpochRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_topics(vec![
                OffsetForLeaderTopic::default()
                    .with_topic(tn(&t))
                    .with_partitions(vec![
                        OffsetForLeaderPartition::default()
                            .with_partition(3)
                            .with_current_leader_epoch(-1)
                            .with_leader_epoch(0),
                        OffsetForLeaderPartition::default()
                            .with_partition(0)
                            .with_current_leader_epoch(5)
                            .with_leader_epoch(0),
                        OffsetForLeaderPartition::default()
                            .with_partition(0)
                            .with_current_leader_epoch(-1)
                            .with_leader_epoch(7),
                    ]),
                OffsetForLeaderTopic::default()
                    .with_topic(tn(&n))
                    .with_partitions(vec![OffsetForLeaderPartition::default()
                        .with_partition(0)
                        .with_current_leader_epoch(-1)]),
            ]);
        c.call(r);
    }));

    // --- topic creation: invalid names, counts, configs
    out.push(seq("err/create-topics/invalid-names", |c| {
        for n in ["", ".", "..", "bad name!", "a/b", &"x".repeat(250)] {
            c.call(create_topic_req(n, 1, &[]));
        }
    }));
    out.push(seq("err/create-topics/exists", |c| {
        let t = c.name("t");
        c.call(create_topic_req(&t, 1, &[]));
    }));
    out.push(seq("err/create-topics/bad-counts", |c| {
        let a = c.name("bad-p0");
        let b = c.name("bad-rf3");
        let d = c.name("bad-pm5");
        c.call(create_topic_req(&a, 0, &[]));
        c.call(create_topic_req(&d, -5, &[]));
        let mut r = create_topic_req(&b, 1, &[]);
        r.topics[0].replication_factor = 3;
        c.call(r);
    }));
    out.push(seq("err/create-topics/bad-configs", |c| {
        let a = c.name("bad-cfg1");
        let b = c.name("bad-cfg2");
        let d = c.name("bad-cfg3");
        c.call(create_topic_req(&a, 1, &[("retention.ms", "abc")]));
        c.call(create_topic_req(&b, 1, &[("no.such.config", "1")]));
        c.call(create_topic_req(&d, 1, &[("cleanup.policy", "shred")]));
    }));
    out.push(seq("create-topics/validate-only", |c| {
        let a = c.name("vo");
        let mut r = create_topic_req(&a, 2, &[("retention.ms", "1000")]);
        r.validate_only = true;
        c.call(r);
        let mut m = metadata_req(&[&a]);
        m.allow_auto_topic_creation = false;
        c.call(m);
    }));
    out.push(seq("err/create-partitions/bad", |c| {
        use create_partitions_request::CreatePartitionsTopic;
        let t3 = c.name("t3");
        let n = c.name("nosuch-cp");
        c.call(
            CreatePartitionsRequest::default()
                .with_timeout_ms(10_000)
                .with_topics(vec![
                    CreatePartitionsTopic::default()
                        .with_name(tn(&t3))
                        .with_count(2),
                    CreatePartitionsTopic::default()
                        .with_name(tn(&n))
                        .with_count(2),
                ]),
        );
        c.call(
            CreatePartitionsRequest::default()
                .with_timeout_ms(10_000)
                .with_topics(vec![CreatePartitionsTopic::default()
                    .with_name(tn(&t3))
                    .with_count(3)]),
        );
    }));
    out.push(seq("err/delete-topics/unknown", |c| {
        let n = c.name("nosuch-dt");
        c.call(
            DeleteTopicsRequest::default()
                .with_timeout_ms(10_000)
                .with_topics(vec![
                    delete_topics_request::DeleteTopicState::default().with_name(Some(tn(&n)))
                ]),
        );
        c.call(
            DeleteTopicsRequest::default()
                .with_timeout_ms(10_000)
                .with_topics(vec![delete_topics_request::DeleteTopicState::default()
                    .with_topic_id(uuid::Uuid::from_u128(77))]),
        );
    }));

    // --- produce: oversized, corrupt, compacted without keys
    out.push(seq("err/produce/oversized", |c| {
        let n = c.create_quiet("big", 1, &[("max.message.bytes", "1000")]);
        let mut b = weir_storage::BatchBuilder::new();
        b.push(weir_storage::Record {
            offset: 0,
            timestamp: ts(),
            key: None,
            value: Some(Bytes::from(vec![7u8; 2000])),
            headers: vec![],
        });
        produce(c, &n, 0, Bytes::from(b.build().unwrap()));
        fetch(c, &n, 0, 0);
    }));
    out.push(seq("err/produce/corrupt-crc", |c| {
        let n = c.create_quiet("crc", 1, &[]);
        let mut b = batch(2).to_vec();
        let last = b.len() - 1;
        b[last] ^= 0xff;
        produce(c, &n, 0, Bytes::from(b));
        fetch(c, &n, 0, 0);
    }));
    out.push(seq("err/produce/truncated-batch", |c| {
        let n = c.create_quiet("trunc", 1, &[]);
        let b = batch(2);
        produce(c, &n, 0, b.slice(..b.len() - 5));
        fetch(c, &n, 0, 0);
    }));
    out.push(seq("err/produce/compacted-without-key", |c| {
        let n = c.create_quiet("compact", 1, &[("cleanup.policy", "compact")]);
        produce(c, &n, 0, batch_with(2, -1, -1, -1, false, false));
        produce(c, &n, 0, batch_with(2, -1, -1, -1, false, true));
    }));
    out.push(seq("err/produce/acks-invalid", |c| {
        let t = c.name("t");
        let id = c.topic_id(&t);
        let v = c.v(ApiKey::Produce);
        let mut r = produce_req(v, &t, id, 0, batch(1));
        r.acks = 2;
        c.call_v(v, r);
    }));

    // --- idempotence
    out.push(seq("err/idempotent/duplicates-gaps-epochs", |c| {
        let n = c.create_quiet("idem", 1, &[]);
        let ip = c.call(init_pid_req(None)).unwrap_or_default();
        let (pid, e) = (ip.producer_id.0, ip.producer_epoch);
        produce(c, &n, 0, batch_with(2, pid, e, 0, false, true)); // ok, offsets 0-1
        produce(c, &n, 0, batch_with(2, pid, e, 0, false, true)); // duplicate
        produce(c, &n, 0, batch_with(2, pid, e, 2, false, true)); // next
        produce(c, &n, 0, batch_with(1, pid, e, 9, false, true)); // gap
        produce(c, &n, 0, batch_with(1, pid, e, 1, false, true)); // old, not the last batch
        produce(c, &n, 0, batch_with(1, pid, e + 1, 3, false, true)); // new epoch, seq not 0
        produce(c, &n, 0, batch_with(1, pid, e + 1, 0, false, true)); // new epoch from 0
        produce(c, &n, 0, batch_with(1, pid, e, 4, false, true)); // old epoch: fenced
        produce(c, &n, 0, batch_with(1, 999_999, 0, 5, false, true)); // unknown producer id
        fetch(c, &n, 0, 0);
    }));

    // --- transactions: state errors
    out.push(seq("err/txn/end-without-transaction", |c| {
        let tx = c.name("txe");
        let (pid, e) = c.txn_producer(&tx);
        c.call(end_txn_req(&tx, pid, e, true));
        c.call(end_txn_req(&tx, pid, e, false));
    }));
    out.push(seq("err/txn/unknown-transactional-id", |c| {
        let tx = c.name("txu");
        let t = c.name("t");
        c.await_coordinator(&tx, 1);
        c.call(end_txn_req(&tx, 5, 0, true));
        add_partition(c, &tx, 5, 0, &t);
    }));
    out.push(seq("err/txn/wrong-producer", |c| {
        let tx = c.name("txw");
        let t = c.name("t");
        let g = c.name("txwg");
        c.await_coordinator(&g, 0);
        let (pid, e) = c.txn_producer(&tx);
        add_partition(c, &tx, pid + 1000, e, &t);
        add_partition(c, &tx, pid, e + 1, &t);
        add_offsets(c, &tx, pid + 1000, e, &g);
        c.call(end_txn_req(&tx, pid, e + 1, true));
    }));
    out.push(seq("err/txn/fenced-by-new-epoch", |c| {
        let tx = c.name("txf");
        let t = c.name("t");
        let (pid, e) = c.txn_producer(&tx);
        add_partition(c, &tx, pid, e, &t);
        let id = c.topic_id(&t);
        let pv = c.v(ApiKey::Produce);
        c.call_v(
            pv,
            produce_req_txn(
                pv,
                Some(&tx),
                &t,
                id,
                0,
                batch_with(1, pid, e, 0, true, true),
            ),
        );
        // a second InitProducerId aborts the open transaction and bumps the epoch
        // (Kafka answers CONCURRENT_TRANSACTIONS until the abort is written; clients retry)
        for _ in 0..100 {
            let r = c.quiet(c.v(ApiKey::InitProducerId), init_pid_req(Some(&tx)));
            if r.is_none_or(|r| r.error_code != 51) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        add_partition(c, &tx, pid, e, &t);
        c.call_v(
            pv,
            produce_req_txn(
                pv,
                Some(&tx),
                &t,
                id,
                0,
                batch_with(1, pid, e, 1, true, true),
            ),
        );
        c.call(end_txn_req(&tx, pid, e, true));
    }));
    out.push(seq("err/txn/produce-without-add-partitions", |c| {
        let tx = c.name("txp");
        let n = c.name("txp");
        let (pid, e) = c.txn_producer(&tx);
        let id = c.topic_id(&n);
        let pv = c.v(ApiKey::Produce);
        c.call_v(
            pv,
            produce_req_txn(
                pv,
                Some(&tx),
                &n,
                id,
                0,
                batch_with(1, pid, e, 0, true, true),
            ),
        );
        fetch(c, &n, 0, 0);
    }));
    out.push(seq("err/txn/offsets-without-add-offsets", |c| {
        let tx = c.name("txo");
        let g = c.name("txog");
        let t = c.name("t");
        c.await_coordinator(&g, 0);
        let (pid, e) = c.txn_producer(&tx);
        txn_commit_offset(c, &tx, pid, e, &g, &t);
    }));
    out.push(seq("txn/commit-abort-and-read-committed", |c| {
        let tx = c.name("txc");
        let n = c.name("txc");
        let (pid, e) = c.txn_producer(&tx);
        let id = c.topic_id(&n);
        let pv = c.v(ApiKey::Produce);
        add_partition(c, &tx, pid, e, &n);
        c.call_v(
            pv,
            produce_req_txn(
                pv,
                Some(&tx),
                &n,
                id,
                0,
                batch_with(2, pid, e, 0, true, true),
            ),
        );
        c.call(list_offsets_req(&n, 0, -1).with_isolation_level(1));
        c.call(list_offsets_req(&n, 0, -1));
        c.call(end_txn_req(&tx, pid, e, false));
        // Kafka completes the abort asynchronously (CONCURRENT_TRANSACTIONS meanwhile)
        std::thread::sleep(std::time::Duration::from_millis(300));
        c.call(end_txn_req(&tx, pid, e, true));
        add_partition(c, &tx, pid, e, &n);
        c.call_v(
            pv,
            produce_req_txn(
                pv,
                Some(&tx),
                &n,
                id,
                0,
                batch_with(1, pid, e, 2, true, true),
            ),
        );
        c.call(end_txn_req(&tx, pid, e, true));
        // Kafka writes the markers after EndTxn answers
        std::thread::sleep(std::time::Duration::from_millis(300));
        c.call(list_offsets_req(&n, 0, -1).with_isolation_level(1));
        let fv = c.v(ApiKey::Fetch);
        let mut f = fetch_req(fv, &n, id, 0, 0);
        f.isolation_level = 1;
        c.call_v(fv, f);
    }));

    // --- groups
    out.push(seq("err/group/unknown-member", |c| {
        let g = c.name("gum");
        let (_m, gen) = c.one_member_group(&g, true);
        heartbeat(c, &g, gen, "nobody", None);
        let sv = c.v(ApiKey::SyncGroup);
        c.call_v(sv, sync_req(sv, &g, gen, "nobody", false));
        join_member(c, 0, &g, "nobody", None);
        let lv = c.v(ApiKey::LeaveGroup);
        c.call_v(
            lv,
            LeaveGroupRequest::default()
                .with_group_id(gid(&g))
                .with_members(vec![
                    leave_group_request::MemberIdentity::default().with_member_id(s("nobody"))
                ]),
        );
    }));
    out.push(seq("err/group/illegal-generation", |c| {
        let g = c.name("gig");
        let (m, gen) = c.one_member_group(&g, true);
        heartbeat(c, &g, gen + 5, &m, None);
        let t = c.name("t");
        c.call(commit_req(&g, gen + 5, &m, &t, 1));
        let sv = c.v(ApiKey::SyncGroup);
        c.call_v(sv, sync_req(sv, &g, gen + 5, &m, false));
    }));
    out.push(seq("err/group/rebalance-in-progress", |c| {
        let g = c.name("grp");
        let (m, gen) = c.one_member_group(&g, true);
        // a second member joins on another connection: the group rebalances and waits
        // for the first to rejoin
        let jv = c.v(ApiKey::JoinGroup);
        c.send_on(1, jv, join_req(jv, &g, ""));
        let first = c.recv_on::<JoinGroupRequest>(1).unwrap_or_default();
        c.send_on(1, jv, join_req(jv, &g, first.member_id.as_str()));
        std::thread::sleep(std::time::Duration::from_millis(300));
        heartbeat(c, &g, gen, &m, None);
        let t = c.name("t");
        c.call(commit_req(&g, gen, &m, &t, 1));
        // the first member rejoins: both joins complete
        join_member(c, 0, &g, &m, None);
        c.recv_on::<JoinGroupRequest>(1);
    }));
    out.push(seq("err/group/fenced-instance-id", |c| {
        let g = c.name("gfi");
        c.await_coordinator(&g, 0);
        let a = join_member(c, 0, &g, "", Some("inst-1")).unwrap_or_default();
        let sv = c.v(ApiKey::SyncGroup);
        c.call_v(
            sv,
            sync_req(sv, &g, a.generation_id, a.member_id.as_str(), true)
                .with_group_instance_id(Some(s("inst-1"))),
        );
        // the same instance id joins again with no member id: it replaces the old member
        let b = join_member(c, 1, &g, "", Some("inst-1")).unwrap_or_default();
        heartbeat(c, &g, a.generation_id, a.member_id.as_str(), Some("inst-1"));
        heartbeat(c, &g, b.generation_id, b.member_id.as_str(), Some("inst-1"));
    }));
    out.push(seq("err/group/invalid-session-timeout", |c| {
        let g = c.name("gst");
        c.await_coordinator(&g, 0);
        let jv = c.v(ApiKey::JoinGroup);
        c.call_v(jv, join_req(jv, &g, "").with_session_timeout_ms(1));
        c.call_v(jv, join_req(jv, &g, "").with_session_timeout_ms(86_400_000));
    }));
    out.push(seq("err/group/inconsistent-protocol", |c| {
        let g = c.name("gip");
        c.one_member_group(&g, true);
        let jv = c.v(ApiKey::JoinGroup);
        c.call_v(jv, join_req(jv, &g, "").with_protocol_type(s("connect")));
    }));
    out.push(seq("err/group/offsets-unknown-group", |c| {
        let g = c.name("gunk");
        let t = c.name("t");
        c.await_coordinator(&g, 0);
        c.call(commit_req(&g, 3, "someone", &t, 1));
        c.call(offset_fetch_req(c.v(ApiKey::OffsetFetch), &g, &t));
        let n = c.name("nosuch-oc");
        c.call(commit_req(&g, -1, "", &n, 1));
        c.call(DescribeGroupsRequest::default().with_groups(vec![gid(&g)]));
        c.call(DeleteGroupsRequest::default().with_groups_names(vec![gid(&g)]));
    }));
    out.push(seq("err/group/delete-non-empty", |c| {
        let g = c.name("gne");
        c.one_member_group(&g, false);
        c.call(DeleteGroupsRequest::default().with_groups_names(vec![gid(&g)]));
        use offset_delete_request::{OffsetDeleteRequestPartition, OffsetDeleteRequestTopic};
        let t = c.name("t");
        c.call(
            OffsetDeleteRequest::default()
                .with_group_id(gid(&g))
                .with_topics(vec![OffsetDeleteRequestTopic::default()
                    .with_name(tn(&t))
                    .with_partitions(vec![
                        OffsetDeleteRequestPartition::default().with_partition_index(0)
                    ])]),
        );
    }));
    out.push(seq("err/group/find-coordinator-invalid", |c| {
        c.call(
            FindCoordinatorRequest::default()
                .with_key_type(0)
                .with_coordinator_keys(vec![s("")]),
        );
        c.call(
            FindCoordinatorRequest::default()
                .with_key_type(5)
                .with_coordinator_keys(vec![s("x")]),
        );
    }));
    out.push(seq("err/consumer-group-heartbeat/unknown-member", |c| {
        let g = c.name("cgu");
        let t = c.name("t");
        c.await_coordinator(&g, 0);
        c.call(
            ConsumerGroupHeartbeatRequest::default()
                .with_group_id(gid(&g))
                .with_member_id(s("BBBBBBBBBBBBBBBBBBBBBB"))
                .with_member_epoch(3)
                .with_rebalance_timeout_ms(30_000)
                .with_subscribed_topic_names(Some(vec![tn(&t)]))
                .with_topic_partitions(Some(vec![])),
        );
        c.call(
            ConsumerGroupHeartbeatRequest::default()
                .with_group_id(gid(&g))
                .with_member_id(s(""))
                .with_member_epoch(0)
                .with_rebalance_timeout_ms(30_000),
        );
    }));

    // --- DeleteRecords and ListOffsets edge cases
    out.push(seq("err/delete-records/beyond-high-watermark", |c| {
        let n = c.create_quiet("drhw", 2, &[]);
        produce(c, &n, 0, batch(3));
        delete_records(c, &n, 0, 10);
        delete_records(c, &n, 0, -1);
        delete_records(c, &n, 1, 0);
        delete_records(c, &n, 5, 0);
        delete_records(c, &n, 0, -7);
        c.call(list_offsets_req(&n, 0, -2));
        fetch(c, &n, 0, 0);
    }));
    out.push(seq("list-offsets/timestamps", |c| {
        let n = c.create_quiet("lots", 1, &[]);
        c.call(list_offsets_req(&n, 0, ts())); // empty partition
        c.call(list_offsets_req(&n, 0, -3));
        produce(c, &n, 0, batch(3)); // ts(), ts()+1, ts()+2
        produce(c, &n, 0, batch(2)); // ts(), ts()+1 again
        for ts in [
            ts() - 1,
            ts(),
            ts() + 1,
            ts() + 2,
            ts() + 3,
            -1,
            -2,
            -3,
            -4,
            -5,
            -6,
        ] {
            c.call(list_offsets_req(&n, 0, ts));
        }
    }));

    // --- configs
    out.push(seq("configs/describe-unknown-topic-and-broker", |c| {
        use describe_configs_request::DescribeConfigsResource;
        let n = c.name("nosuch-dc");
        c.call(DescribeConfigsRequest::default().with_resources(vec![
            DescribeConfigsResource::default().with_resource_type(2).with_resource_name(s(&n)),
        ]));
        c.call(DescribeConfigsRequest::default().with_resources(vec![
            DescribeConfigsResource::default()
                .with_resource_type(4)
                .with_resource_name(s("1"))
                .with_configuration_keys(Some(vec![s("num.partitions"), s("log.retention.ms")])),
        ]));
        c.call(DescribeConfigsRequest::default().with_resources(vec![
            DescribeConfigsResource::default().with_resource_type(9).with_resource_name(s("x")),
        ]));
    }));
    out.push(seq("err/init-producer-id/empty-transactional-id", |c| {
        c.call(init_pid_req(Some("")));
    }));
    out.push(seq("err/create-partitions/empty-assignments", |c| {
        use create_partitions_request::CreatePartitionsTopic;
        let n = c.create_quiet("cpa", 1, &[]);
        c.call(
            CreatePartitionsRequest::default()
                .with_timeout_ms(10_000)
                .with_topics(vec![CreatePartitionsTopic::default()
                    .with_name(tn(&n))
                    .with_count(3)]),
        );
    }));
    out.push(seq("configs/alter-invalid", |c| {
        use incremental_alter_configs_request::{AlterConfigsResource, AlterableConfig};
        let t = c.name("t");
        let n = c.name("nosuch-iac");
        let one = |name: &str, op: i8, value: Option<&str>| {
            AlterableConfig::default()
                .with_name(s(name))
                .with_config_operation(op)
                .with_value(value.map(s))
        };
        for (res, cfg) in [
            (t.clone(), one("retention.ms", 0, Some("abc"))),
            (t.clone(), one("no.such.config", 0, Some("1"))),
            (t.clone(), one("retention.ms", 2, Some("1"))),
            (t.clone(), one("cleanup.policy", 2, Some("compact"))),
            (t.clone(), one("retention.ms", 1, None)),
            (n.clone(), one("retention.ms", 0, Some("1"))),
        ] {
            c.call(IncrementalAlterConfigsRequest::default().with_resources(
                vec![AlterConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(s(&res))
                .with_configs(vec![cfg])],
            ));
        }
    }));

    // --- more data path
    out.push(seq("fetch/byte-limits", |c| {
        let n = c.create_quiet("lim", 2, &[]);
        for _ in 0..3 {
            produce(c, &n, 0, batch(5));
        }
        produce(c, &n, 1, batch(2));
        let id = c.topic_id(&n);
        let v = c.v(ApiKey::Fetch);
        // a partition limit smaller than one batch: Kafka still returns the first batch
        let mut f = fetch_req(v, &n, id, 0, 0);
        f.topics[0].partitions[0].partition_max_bytes = 10;
        c.call_v(v, f);
        // a response limit that the first partition exhausts
        let mut f = fetch_req(v, &n, id, 0, 0);
        f.max_bytes = 100;
        let mut second = f.topics[0].partitions[0].clone();
        second.partition = 1;
        f.topics[0].partitions.push(second);
        c.call_v(v, f);
        // from the middle of a batch
        c.call_v(v, fetch_req(v, &n, id, 0, 7));
    }));
    out.push(seq("produce/gzip-and-log-append-time", |c| {
        let n = c.create_quiet("gz", 1, &[("message.timestamp.type", "LogAppendTime")]);
        let mut b = weir_storage::BatchBuilder::new();
        b.compression = weir_storage::Compression::Gzip;
        for i in 0..3 {
            b.push(weir_storage::Record {
                offset: i,
                timestamp: ts(),
                key: Some(Bytes::from(format!("k{i}"))),
                value: Some(Bytes::from(vec![b'a'; 100])),
                headers: vec![],
            });
        }
        produce(c, &n, 0, Bytes::from(b.build().unwrap()));
        c.call(list_offsets_req(&n, 0, -1));
    }));
    out.push(seq("metadata/all-topics", |c| {
        let mut r = MetadataRequest::default().with_topics(None);
        r.allow_auto_topic_creation = false;
        c.call(r);
    }));
    out.push(seq("group/leave-then-heartbeat", |c| {
        let g = c.name("glh");
        let (m, gen) = c.one_member_group(&g, true);
        let lv = c.v(ApiKey::LeaveGroup);
        c.call_v(
            lv,
            LeaveGroupRequest::default()
                .with_group_id(gid(&g))
                .with_members(vec![
                    leave_group_request::MemberIdentity::default().with_member_id(s(&m))
                ]),
        );
        heartbeat(c, &g, gen, &m, None);
        c.call(DescribeGroupsRequest::default().with_groups(vec![gid(&g)]));
        c.call(ListGroupsRequest::default().with_states_filter(vec![s("Empty")]));
    }));
    out.push(seq("group/sync-inconsistent-protocol", |c| {
        let g = c.name("gsp");
        c.await_coordinator(&g, 0);
        let jv = c.v(ApiKey::JoinGroup);
        let first = c.quiet(jv, join_req(jv, &g, "")).unwrap_or_default();
        let j = c
            .quiet(jv, join_req(jv, &g, first.member_id.as_str()))
            .unwrap_or_default();
        let sv = c.v(ApiKey::SyncGroup);
        let mut r = sync_req(sv, &g, j.generation_id, j.member_id.as_str(), true);
        r.protocol_name = Some(s("roundrobin"));
        c.call_v(sv, r);
    }));
    out.push(seq("group/offset-fetch-all-topics", |c| {
        let g = c.name("goa");
        let t = c.name("t");
        let t3 = c.name("t3");
        c.await_coordinator(&g, 0);
        c.call(commit_req(&g, -1, "", &t, 2));
        c.call(commit_req(&g, -1, "", &t3, 1));
        let v = c.v(ApiKey::OffsetFetch);
        let mut r = offset_fetch_req(v, &g, &t);
        r.groups[0].topics = None;
        c.call_v(v, r);
    }));

    // --- more transaction states
    out.push(seq("err/txn/timeout-too-large", |c| {
        let tx = c.name("txt");
        c.await_coordinator(&tx, 1);
        c.call(init_pid_req(Some(&tx)).with_transaction_timeout_ms(i32::MAX));
    }));
    out.push(seq("err/txn/add-offsets-then-commit-and-fetch", |c| {
        let tx = c.name("txao");
        let g = c.name("txaog");
        let t = c.name("t");
        c.await_coordinator(&g, 0);
        let (pid, e) = c.txn_producer(&tx);
        add_offsets(c, &tx, pid, e, &g);
        txn_commit_offset(c, &tx, pid, e, &g, &t);
        // not committed yet: require_stable answers UNSTABLE_OFFSET_COMMIT
        let v = c.v(ApiKey::OffsetFetch);
        let mut r = offset_fetch_req(v, &g, &t);
        r.require_stable = true;
        c.call_v(v, r);
        c.call(end_txn_req(&tx, pid, e, true));
        std::thread::sleep(std::time::Duration::from_millis(300));
        let mut r = offset_fetch_req(v, &g, &t);
        r.require_stable = true;
        c.call_v(v, r);
    }));
    out.push(seq("txn/ongoing-lso-and-describe", |c| {
        let tx = c.name("txl");
        let n = c.name("txc");
        let (pid, e) = c.txn_producer(&tx);
        let id = c.topic_id(&n);
        let pv = c.v(ApiKey::Produce);
        add_partition(c, &tx, pid, e, &n);
        let hw_before = c
            .quiet(7, list_offsets_req(&n, 0, -1))
            .and_then(|r| {
                r.topics
                    .first()
                    .and_then(|t| t.partitions.first().map(|p| p.offset))
            })
            .unwrap_or(-1);
        let _ = hw_before;
        c.call_v(
            pv,
            produce_req_txn(
                pv,
                Some(&tx),
                &n,
                id,
                0,
                batch_with(1, pid, e, 0, true, true),
            ),
        );
        let fv = c.v(ApiKey::Fetch);
        for from in [0, 2, 3] {
            let mut f = fetch_req(fv, &n, id, 0, from);
            f.isolation_level = 1;
            c.call_v(fv, f);
        }
        c.call(DescribeTransactionsRequest::default().with_transactional_ids(vec![txid(&tx)]));
        use describe_producers_request::TopicRequest;
        c.call(DescribeProducersRequest::default().with_topics(
            vec![TopicRequest::default().with_name(tn(&n)).with_partition_indexes(vec![0])],
        ));
        c.call(end_txn_req(&tx, pid, e, false));
    }));
    out.push(seq("err/txn/end-with-wrong-epoch-and-id", |c| {
        let tx = c.name("txe2");
        let t = c.name("t");
        let (pid, e) = c.txn_producer(&tx);
        add_partition(c, &tx, pid, e, &t);
        c.call(end_txn_req(&tx, pid, e + 3, true));
        c.call(end_txn_req(&tx, pid + 77, e, true));
        c.call(end_txn_req(&tx, pid, e, false));
    }));
    // --- KIP-848 consumer group, one member
    out.push(seq("consumer-group/one-member", |c| {
        let g = c.name("cg1");
        let t3 = c.name("t3");
        c.await_coordinator(&g, 0);
        let hb = |member: &str, epoch: i32| {
            ConsumerGroupHeartbeatRequest::default()
                .with_group_id(gid(&g))
                .with_member_id(s(member))
                .with_member_epoch(epoch)
                .with_rebalance_timeout_ms(30_000)
                .with_subscribed_topic_names(Some(vec![tn(&t3)]))
                .with_topic_partitions(Some(vec![]))
        };
        let m = "CCCCCCCCCCCCCCCCCCCCCC";
        let r = c.call(hb(m, 0)).unwrap_or_default();
        let epoch = r.member_epoch;
        c.call(ConsumerGroupDescribeRequest::default().with_group_ids(vec![gid(&g)]));
        // a stale epoch is fenced
        c.call(hb(m, epoch + 5));
        // leave (epoch -1)
        c.call(
            ConsumerGroupHeartbeatRequest::default()
                .with_group_id(gid(&g))
                .with_member_id(s(m))
                .with_member_epoch(-1),
        );
    }));

    // --- metadata by id, admin lookups of unknown things
    out.push(seq("metadata/by-topic-id", |c| {
        use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
        let t = c.name("t");
        let id = c.topic_id(&t);
        let v = c.v(ApiKey::Metadata);
        let r = MetadataRequest::default()
            .with_allow_auto_topic_creation(false)
            .with_topics(Some(vec![
                MetadataRequestTopic::default().with_topic_id(id),
                MetadataRequestTopic::default().with_topic_id(uuid::Uuid::from_u128(5)),
            ]));
        c.call_v(v, r);
    }));
    out.push(seq("describe-topic-partitions/cursor-and-unknown", |c| {
        use describe_topic_partitions_request::{Cursor, TopicRequest};
        let t3 = c.name("t3");
        let n = c.name("nosuch-dtp");
        c.call(
            DescribeTopicPartitionsRequest::default()
                .with_response_partition_limit(2)
                .with_topics(vec![
                    TopicRequest::default().with_name(tn(&t3)),
                    TopicRequest::default().with_name(tn(&n)),
                ]),
        );
        c.call(
            DescribeTopicPartitionsRequest::default()
                .with_response_partition_limit(2)
                .with_cursor(Some(
                    Cursor::default()
                        .with_topic_name(tn(&t3))
                        .with_partition_index(2),
                ))
                .with_topics(vec![TopicRequest::default().with_name(tn(&t3))]),
        );
    }));
    out.push(seq("admin/unknown-partitions", |c| {
        use delete_records_request::{DeleteRecordsPartition, DeleteRecordsTopic};
        use elect_leaders_request::TopicPartitions;
        use list_partition_reassignments_request::ListPartitionReassignmentsTopics;
        let t = c.name("t");
        let n = c.name("nosuch-adm");
        c.call(
            ElectLeadersRequest::default()
                .with_timeout_ms(10_000)
                .with_topic_partitions(Some(vec![
                    TopicPartitions::default()
                        .with_topic(tn(&t))
                        .with_partitions(vec![5]),
                    TopicPartitions::default()
                        .with_topic(tn(&n))
                        .with_partitions(vec![0]),
                ])),
        );
        c.call(
            ListPartitionReassignmentsRequest::default()
                .with_timeout_ms(10_000)
                .with_topics(Some(vec![ListPartitionReassignmentsTopics::default()
                    .with_name(tn(&n))
                    .with_partition_indexes(vec![0])])),
        );
        c.call(
            DeleteRecordsRequest::default()
                .with_timeout_ms(10_000)
                .with_topics(vec![DeleteRecordsTopic::default()
                    .with_name(tn(&n))
                    .with_partitions(vec![DeleteRecordsPartition::default()
                        .with_partition_index(0)
                        .with_offset(0)])]),
        );
    }));
    out.push(seq("err/produce/internal-topic", |c| {
        c.await_coordinator(&c.name("g-internal"), 0);
        produce_v12(c, "__consumer_offsets", 0, batch(1));
    }));
    out.push(seq("err/create-topics/duplicate-in-request", |c| {
        let n = c.name("dup");
        let mut r = create_topic_req(&n, 1, &[]);
        let again = r.topics[0].clone();
        r.topics.push(again);
        c.call(r);
    }));
    out.push(seq("fetch/session", |c| {
        let t = c.name("t");
        let id = c.topic_id(&t);
        let v = c.v(ApiKey::Fetch);
        // a new session (epoch 0), then an incremental fetch naming nothing (epoch 1)
        let mut f = fetch_req(v, &t, id, 0, 0);
        f.session_id = 0;
        f.session_epoch = 0;
        let r = c.call_v(v, f).unwrap_or_default();
        let mut f = fetch_req(v, &t, id, 0, 0);
        f.topics.clear();
        f.session_id = r.session_id;
        f.session_epoch = 1;
        c.call_v(v, f);
        // a wrong epoch
        let mut f = fetch_req(v, &t, id, 0, 0);
        f.topics.clear();
        f.session_id = r.session_id;
        f.session_epoch = 5;
        c.call_v(v, f);
        // an unknown session
        let mut f = fetch_req(v, &t, id, 0, 0);
        f.session_id = 123_456;
        f.session_epoch = 1;
        c.call_v(v, f);
    }));

    // Kafka rolls a segment when a batch's timestamp is segment.ms past the segment's
    // first, and a fetch reads one segment: shown with a batch stamped 8 days back
    out.push(seq("storage/roll-by-record-timestamp", |c| {
        let n = c.create_quiet("roll", 1, &[("retention.ms", "-1")]);
        let old = ts() - 8 * 24 * 3600 * 1000;
        let mut b = weir_storage::BatchBuilder::new();
        b.push(weir_storage::Record {
            offset: 0,
            timestamp: old,
            key: Some(Bytes::from_static(b"k")),
            value: Some(Bytes::from_static(b"old")),
            headers: vec![],
        });
        produce(c, &n, 0, Bytes::from(b.build().unwrap()));
        produce(c, &n, 0, batch(2));
        fetch(c, &n, 0, 0);
        fetch(c, &n, 0, 1);
    }));

    out.push(seq("err/produce/timestamps-out-of-range", |c| {
        let n = c.create_quiet("tsr", 1, &[]);
        for delta in [
            2 * 24 * 3600 * 1000_i64,
            2 * 3600 * 1000,
            -400 * 24 * 3600 * 1000,
        ] {
            let mut b = weir_storage::BatchBuilder::new();
            b.push(weir_storage::Record {
                offset: 0,
                timestamp: ts() + delta,
                key: Some(Bytes::from_static(b"k")),
                value: Some(Bytes::from_static(b"v")),
                headers: vec![],
            });
            produce(c, &n, 0, Bytes::from(b.build().unwrap()));
        }
    }));
    out.push(seq("err/offset-commit/metadata-too-large", |c| {
        let g = c.name("gmd");
        let t = c.name("t");
        c.await_coordinator(&g, 0);
        let mut r = commit_req(&g, -1, "", &t, 1);
        r.topics[0].partitions[0].committed_metadata = Some(s(&"m".repeat(5000)));
        c.call(r);
    }));
    out.push(seq("configs/describe-all-topic-configs", |c| {
        use describe_configs_request::DescribeConfigsResource;
        let n = c.create_quiet(
            "dcall",
            1,
            &[("retention.ms", "3600000"), ("cleanup.policy", "compact")],
        );
        c.call(
            DescribeConfigsRequest::default()
                .with_include_synonyms(true)
                .with_resources(vec![DescribeConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(s(&n))]),
        );
    }));
    out.push(seq("configs/alter-configs-legacy-invalid", |c| {
        use alter_configs_request::{AlterConfigsResource, AlterableConfig};
        let t = c.name("t");
        for (k, v) in [
            ("retention.ms", "abc"),
            ("no.such.config", "1"),
            ("min.insync.replicas", "0"),
        ] {
            c.call(AlterConfigsRequest::default().with_resources(
                vec![AlterConfigsResource::default(
                )
                .with_resource_type(2)
                .with_resource_name(s(&t))
                .with_configs(vec![AlterableConfig::default()
                    .with_name(s(k))
                    .with_value(Some(s(v)))])],
            ));
        }
    }));
    out.push(seq("configs/broker-dynamic-default", |c| {
        use incremental_alter_configs_request::{AlterConfigsResource, AlterableConfig};
        c.call(
            IncrementalAlterConfigsRequest::default()
                .with_validate_only(true)
                .with_resources(vec![AlterConfigsResource::default()
                    .with_resource_type(4)
                    .with_resource_name(s(""))
                    .with_configs(vec![AlterableConfig::default()
                        .with_name(s("log.retention.ms"))
                        .with_config_operation(0)
                        .with_value(Some(s("604800000")))])]),
        );
    }));
}
