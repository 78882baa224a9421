//! Kafka's own `kafka-dump-log` (`org.apache.kafka.tools.DumpLogSegments` in
//! kafka-tools 4.4) decodes weir's internal topics (#17): `--offsets-decoder` the
//! group metadata and offset commits of `__consumer_offsets`, and
//! `--transaction-log-decoder` the transaction metadata of `__transaction_state`.
//!
//! Needs Java and the kafka-tools classpath that `conformance/java/build` resolves
//! (`conformance/java/target/cli-4.4/classpath.txt`, or a path in
//! `WEIR_KAFKA_TOOLS_CLASSPATH`); without them it prints why and passes.

mod support;

use bytes::Bytes;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::*;

macro_rules! call {
    ($c:expr, $kind:ident, $req:expr, $v:expr) => {
        match $c.call(RequestKind::$kind($req), ApiKey::$kind, $v).await {
            ResponseKind::$kind(r) => r,
            other => panic!("unexpected response {other:?}"),
        }
    };
}

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// The kafka-tools classpath, if this machine has Java and it.
fn tools_classpath() -> Option<String> {
    let java = Command::new("java").arg("-version").output();
    if !java.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: no java");
        return None;
    }
    let file = std::env::var("WEIR_KAFKA_TOOLS_CLASSPATH")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("conformance/java/target/cli-4.4/classpath.txt")
        });
    match std::fs::read_to_string(&file) {
        Ok(cp) => Some(cp.trim().to_string()),
        Err(_) => {
            eprintln!(
                "skipped: no {} (run conformance/java/build)",
                file.display()
            );
            None
        }
    }
}

/// `kafka-dump-log --files <the partition's segments> <decoder> --print-data-log`.
fn dump_log(cp: &str, partition_dir: &Path, decoder: &str) -> String {
    let mut files: Vec<String> = std::fs::read_dir(partition_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no segment in {}",
        partition_dir.display()
    );
    let out = Command::new("java")
        .args([
            "-Xmx256m",
            "-cp",
            cp,
            "org.apache.kafka.tools.DumpLogSegments",
        ])
        .arg("--files")
        .arg(files.join(","))
        .arg(decoder)
        .arg("--print-data-log")
        .output()
        .expect("run java");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "kafka-dump-log failed: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

fn consumer_metadata() -> Bytes {
    // ConsumerProtocolSubscription v0: topics ["t"], no user data.
    Bytes::from_static(&[0, 0, 0, 0, 0, 1, 0, 1, b't', 0xff, 0xff, 0xff, 0xff])
}

#[tokio::test]
async fn kafka_dump_log_decodes_the_offsets_and_transaction_logs() {
    let Some(cp) = tools_classpath() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let broker = TestBroker::in_dir(dir.path(), &[("group.initial.rebalance.delay.ms", "0")]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "t", 1).await;

    // A classic group with one member (group metadata) and its commit.
    let join = |member: &str| {
        JoinGroupRequest::default()
            .with_group_id(GroupId(s("dump-g")))
            .with_session_timeout_ms(30_000)
            .with_rebalance_timeout_ms(30_000)
            .with_member_id(s(member))
            .with_protocol_type(s("consumer"))
            .with_protocols(vec![join_group_request::JoinGroupRequestProtocol::default(
            )
            .with_name(s("range"))
            .with_metadata(consumer_metadata())])
    };
    let mut j = call!(c, JoinGroup, join(""), 9);
    if j.error_code == 79 {
        j = call!(c, JoinGroup, join(j.member_id.as_str()), 9);
    }
    assert_eq!(j.error_code, 0);
    let sync = call!(
        c,
        SyncGroup,
        SyncGroupRequest::default()
            .with_group_id(GroupId(s("dump-g")))
            .with_generation_id(j.generation_id)
            .with_member_id(j.member_id.clone())
            .with_protocol_type(Some(s("consumer")))
            .with_protocol_name(Some(s("range")))
            .with_assignments(vec![
                sync_group_request::SyncGroupRequestAssignment::default()
                    .with_member_id(j.member_id.clone())
                    .with_assignment(Bytes::from_static(&[
                        0, 0, 0, 0, 0, 1, 0, 1, b't', 0, 0, 0, 1, 0, 0, 0, 0, 0xff, 0xff, 0xff,
                        0xff
                    ]))
            ]),
        5
    );
    assert_eq!(sync.error_code, 0);
    let commit = call!(
        c,
        OffsetCommit,
        OffsetCommitRequest::default()
            .with_group_id(GroupId(s("dump-g")))
            .with_generation_id_or_member_epoch(j.generation_id)
            .with_member_id(j.member_id.clone())
            .with_topics(vec![
                offset_commit_request::OffsetCommitRequestTopic::default()
                    .with_name(tname("t"))
                    .with_partitions(vec![
                        offset_commit_request::OffsetCommitRequestPartition::default()
                            .with_partition_index(0)
                            .with_committed_offset(42)
                            .with_committed_leader_epoch(-1)
                            .with_committed_metadata(Some(s("dump-meta")))
                    ])
            ]),
        8
    );
    assert_eq!(commit.topics[0].partitions[0].error_code, 0);

    // A transaction with a partition and the group's offsets in it, committed.
    let init = call!(
        c,
        InitProducerId,
        InitProducerIdRequest::default()
            .with_transactional_id(Some(TransactionalId(s("dump-tx"))))
            .with_transaction_timeout_ms(60_000),
        4
    );
    assert_eq!(init.error_code, 0);
    let (pid, epoch) = (init.producer_id, init.producer_epoch);
    let add = call!(
        c,
        AddPartitionsToTxn,
        AddPartitionsToTxnRequest::default()
            .with_v3_and_below_transactional_id(TransactionalId(s("dump-tx")))
            .with_v3_and_below_producer_id(pid)
            .with_v3_and_below_producer_epoch(epoch)
            .with_v3_and_below_topics(vec![
                add_partitions_to_txn_request::AddPartitionsToTxnTopic::default()
                    .with_name(tname("t"))
                    .with_partitions(vec![0])
            ]),
        3
    );
    assert_eq!(
        add.results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code,
        0
    );
    let ao = call!(
        c,
        AddOffsetsToTxn,
        AddOffsetsToTxnRequest::default()
            .with_transactional_id(TransactionalId(s("dump-tx")))
            .with_producer_id(pid)
            .with_producer_epoch(epoch)
            .with_group_id(GroupId(s("dump-g"))),
        3
    );
    assert_eq!(ao.error_code, 0);
    let end = call!(
        c,
        EndTxn,
        EndTxnRequest::default()
            .with_transactional_id(TransactionalId(s("dump-tx")))
            .with_producer_id(pid)
            .with_producer_epoch(epoch)
            .with_committed(true),
        3
    );
    assert_eq!(end.error_code, 0);
    broker.stop().await;

    let offsets = dump_log(
        &cp,
        &dir.path().join("__consumer_offsets-0"),
        "--offsets-decoder",
    );
    for needle in [
        // OffsetCommitKey / OffsetCommitValue.
        r#"key: {"type":"1","data":{"group":"dump-g","topic":"t","partition":0}}"#,
        r#""offset":42"#,
        r#""metadata":"dump-meta""#,
        // GroupMetadataKey / GroupMetadataValue with the member's bytes.
        r#"key: {"type":"2","data":{"group":"dump-g"}}"#,
        r#""protocolType":"consumer""#,
        r#""protocol":"range""#,
    ] {
        assert!(offsets.contains(needle), "{needle} not in:\n{offsets}");
    }
    assert!(
        !offsets.contains("unknown"),
        "undecoded records:\n{offsets}"
    );

    let txns = dump_log(
        &cp,
        &dir.path().join("__transaction_state-0"),
        "--transaction-log-decoder",
    );
    for needle in [
        r#""transactionalId":"dump-tx""#,
        r#""transactionStatus":"Ongoing""#,
        r#""transactionPartitions":[{"topic":"t","partitionIds":[0]}]"#,
        r#""transactionStatus":"CompleteCommit""#,
    ] {
        assert!(txns.contains(needle), "{needle} not in:\n{txns}");
    }
    assert!(!txns.contains("unknown"), "undecoded records:\n{txns}");
}
