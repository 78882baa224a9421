//! ACLs over real sockets with raw requests: the ACL APIs (validation,
//! SECURITY_DISABLED, CLUSTER_AUTHORIZATION_FAILED), enforcement with Kafka's
//! error codes (produce, fetch, metadata, topic creation, group join,
//! transactional and idempotent producers), super users, deny over allow,
//! prefixed patterns, and persistence across a restart.
//!
//! Until authentication lands, the principal comes from a test-only
//! authorizer wrapper: `User:<client id>`.

#[path = "support/acl.rs"]
mod acl_support;
mod support;

use acl_support::ByClientId;
use bytes::Bytes;
use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::delete_acls_request::DeleteAclsFilter;
use kafka_protocol::messages::find_coordinator_request::FindCoordinatorRequest;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    ApiKey, CreateAclsRequest, CreateTopicsRequest, DeleteAclsRequest, DescribeAclsRequest,
    GroupId, InitProducerIdRequest, JoinGroupRequest, MetadataRequest, RequestHeader, RequestKind,
    ResponseKind, TransactionalId,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use support::*;
use weir::acl::{AclOperation, PatternType, PermissionType, ResourceType};
use weir::config::Source;
use weir::{Broker, BrokerConfig};

const STANDARD: &str = "org.apache.kafka.metadata.authorizer.StandardAuthorizer";

fn config(dir: &std::path::Path, with_authorizer: bool) -> BrokerConfig {
    let mut config = BrokerConfig::ephemeral(dir);
    let s = &mut config.settings;
    if with_authorizer {
        s.set("authorizer.class.name", STANDARD, Source::Cli)
            .unwrap();
        s.set("super.users", "User:admin", Source::Cli).unwrap();
    }
    s.set("group.initial.rebalance.delay.ms", "0", Source::Cli)
        .unwrap();
    config
}

async fn start(dir: &std::path::Path) -> Broker {
    let pipeline = ByClientId::pipeline("User:admin");
    Broker::start_with_pipeline(config(dir, true), pipeline)
        .await
        .unwrap()
}

/// A raw client whose requests carry `principal` as their client id.
struct As {
    raw: RawClient,
    id: &'static str,
}

impl As {
    async fn new(broker: &Broker, id: &'static str) -> As {
        As {
            raw: RawClient::connect(broker.addr()).await,
            id,
        }
    }

    async fn call(&mut self, body: RequestKind, key: ApiKey, version: i16) -> ResponseKind {
        let header = RequestHeader::default()
            .with_request_api_key(key as i16)
            .with_request_api_version(version)
            .with_correlation_id(7)
            .with_client_id(Some(StrBytes::from_static_str(self.id)));
        let buf = weir::codec::encode_request(&header, &body, version).unwrap();
        self.raw.send_raw(&buf).await;
        self.raw.recv(key, version).await.1
    }

    async fn create_acls(&mut self, acls: &[AclCreation]) -> Vec<(i16, Option<String>)> {
        let req = CreateAclsRequest::default().with_creations(acls.to_vec());
        let ResponseKind::CreateAcls(r) = self
            .call(RequestKind::CreateAcls(req), ApiKey::CreateAcls, 3)
            .await
        else {
            panic!()
        };
        r.results
            .into_iter()
            .map(|r| (r.error_code, r.error_message.map(|m| m.to_string())))
            .collect()
    }

    async fn produce(&mut self, topic: &str) -> i16 {
        let req = kafka_protocol::messages::ProduceRequest::default()
            .with_acks(-1)
            .with_timeout_ms(10_000)
            .with_topic_data(vec![
                kafka_protocol::messages::produce_request::TopicProduceData::default()
                    .with_name(tname(topic))
                    .with_partition_data(vec![
                        kafka_protocol::messages::produce_request::PartitionProduceData::default()
                            .with_index(0)
                            .with_records(Some(Bytes::from(batch(2, -1, -1, -1)))),
                    ]),
            ]);
        let ResponseKind::Produce(r) = self
            .call(RequestKind::Produce(req), ApiKey::Produce, 9)
            .await
        else {
            panic!()
        };
        r.responses[0].partition_responses[0].error_code
    }

    async fn fetch(&mut self, topic: &str) -> i16 {
        let ResponseKind::Fetch(r) = self
            .call(fetch_req(topic, 0, 0, 0, 0), ApiKey::Fetch, 12)
            .await
        else {
            panic!()
        };
        r.responses[0].partitions[0].error_code
    }

    async fn metadata(&mut self, topics: Option<&[&str]>, auto_create: bool) -> Vec<(String, i16)> {
        let req = MetadataRequest::default()
            .with_topics(topics.map(|ts| {
                ts.iter()
                    .map(|t| MetadataRequestTopic::default().with_name(Some(tname(t))))
                    .collect()
            }))
            .with_allow_auto_topic_creation(auto_create);
        let ResponseKind::Metadata(r) = self
            .call(RequestKind::Metadata(req), ApiKey::Metadata, 12)
            .await
        else {
            panic!()
        };
        r.topics
            .into_iter()
            .map(|t| {
                (
                    t.name.map(|n| n.0.to_string()).unwrap_or_default(),
                    t.error_code,
                )
            })
            .collect()
    }

    async fn create_topic(&mut self, name: &str) -> i16 {
        let req = CreateTopicsRequest::default().with_topics(vec![CreatableTopic::default()
            .with_name(tname(name))
            .with_num_partitions(1)
            .with_replication_factor(1)]);
        let ResponseKind::CreateTopics(r) = self
            .call(RequestKind::CreateTopics(req), ApiKey::CreateTopics, 7)
            .await
        else {
            panic!()
        };
        r.topics[0].error_code
    }
}

fn acl(
    rt: ResourceType,
    name: &str,
    pt: PatternType,
    principal: &str,
    op: AclOperation,
    perm: PermissionType,
) -> AclCreation {
    AclCreation::default()
        .with_resource_type(rt.code())
        .with_resource_name(StrBytes::from_string(name.into()))
        .with_resource_pattern_type(pt.code())
        .with_principal(StrBytes::from_string(principal.into()))
        .with_host(StrBytes::from_static_str("*"))
        .with_operation(op.code())
        .with_permission_type(perm.code())
}

fn allow(rt: ResourceType, name: &str, principal: &str, op: AclOperation) -> AclCreation {
    acl(
        rt,
        name,
        PatternType::Literal,
        principal,
        op,
        PermissionType::Allow,
    )
}

const TAF: i16 = 29; // TOPIC_AUTHORIZATION_FAILED

#[tokio::test]
async fn acl_apis_answer_security_disabled_without_an_authorizer() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(config(dir.path(), false)).await.unwrap();
    let mut c = As::new(&broker, "anyone").await;
    let created = c
        .create_acls(&[allow(
            ResourceType::Topic,
            "t",
            "User:a",
            AclOperation::Read,
        )])
        .await;
    assert_eq!(created[0].0, ResponseError::SecurityDisabled.code());
    assert_eq!(
        created[0].1.as_deref(),
        Some("No Authorizer is configured.")
    );
    let req = DescribeAclsRequest::default()
        .with_resource_type_filter(1)
        .with_pattern_type_filter(1)
        .with_operation(1)
        .with_permission_type(1);
    let ResponseKind::DescribeAcls(r) = c
        .call(RequestKind::DescribeAcls(req), ApiKey::DescribeAcls, 3)
        .await
    else {
        panic!()
    };
    assert_eq!(r.error_code, ResponseError::SecurityDisabled.code());
    assert_eq!(
        r.error_message.as_deref(),
        Some("No Authorizer is configured on the broker")
    );
    // Without an authorizer everything is allowed, as before.
    assert_eq!(c.create_topic("free").await, 0);
    assert_eq!(c.produce("free").await, 0);
}

#[tokio::test]
async fn acl_apis_validate_describe_and_delete_as_kafka() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start(dir.path()).await;
    let mut admin = As::new(&broker, "admin").await;
    let mut alice = As::new(&broker, "alice").await;
    let results = admin
        .create_acls(&[
            allow(
                ResourceType::Topic,
                "orders",
                "User:alice",
                AclOperation::Write,
            ),
            allow(
                ResourceType::Cluster,
                "my-cluster",
                "User:alice",
                AclOperation::Alter,
            ),
            acl(
                ResourceType::Group,
                "g",
                PatternType::Match,
                "User:alice",
                AclOperation::Read,
                PermissionType::Allow,
            ),
            allow(ResourceType::Group, "g", "alice", AclOperation::Read),
            acl(
                ResourceType::Topic,
                "ord",
                PatternType::Prefixed,
                "User:*",
                AclOperation::Read,
                PermissionType::Deny,
            ),
        ])
        .await;
    let codes: Vec<i16> = results.iter().map(|r| r.0).collect();
    let invalid = ResponseError::InvalidRequest.code();
    assert_eq!(codes, vec![0, invalid, invalid, invalid, 0]);
    assert_eq!(
        results[1].1.as_deref(),
        Some("The only valid name for the CLUSTER resource is kafka-cluster")
    );
    assert_eq!(results[2].1.as_deref(), Some("Invalid patternType MATCH"));

    // Only the cluster's ALTER may create, its DESCRIBE describe.
    let denied = alice
        .create_acls(&[allow(
            ResourceType::Topic,
            "x",
            "User:alice",
            AclOperation::Read,
        )])
        .await;
    assert_eq!(
        denied[0].0,
        ResponseError::ClusterAuthorizationFailed.code()
    );

    // MATCH on "orders": the literal and the prefixed binding.
    let req = DescribeAclsRequest::default()
        .with_resource_type_filter(ResourceType::Topic.code())
        .with_resource_name_filter(Some(StrBytes::from_static_str("orders")))
        .with_principal_filter(None)
        .with_host_filter(None)
        .with_pattern_type_filter(PatternType::Match.code())
        .with_operation(AclOperation::Any.code())
        .with_permission_type(PermissionType::Any.code());
    let ResponseKind::DescribeAcls(r) = admin
        .call(
            RequestKind::DescribeAcls(req.clone()),
            ApiKey::DescribeAcls,
            3,
        )
        .await
    else {
        panic!()
    };
    assert_eq!(r.error_code, 0);
    let found: Vec<(String, i8, usize)> = r
        .resources
        .iter()
        .map(|r| (r.resource_name.to_string(), r.pattern_type, r.acls.len()))
        .collect();
    assert_eq!(
        found,
        vec![("ord".into(), 4, 1), ("orders".into(), 3, 1)],
        "one entry per resource pattern, sorted"
    );
    let ResponseKind::DescribeAcls(r) = alice
        .call(RequestKind::DescribeAcls(req), ApiKey::DescribeAcls, 3)
        .await
    else {
        panic!()
    };
    assert_eq!(
        r.error_code,
        ResponseError::ClusterAuthorizationFailed.code()
    );

    // Delete: an unknown filter is INVALID_REQUEST, a good one returns what it removed.
    let filter = DeleteAclsFilter::default()
        .with_resource_name_filter(None)
        .with_principal_filter(None)
        .with_host_filter(None)
        .with_resource_type_filter(ResourceType::Any.code())
        .with_pattern_type_filter(PatternType::Prefixed.code())
        .with_operation(AclOperation::Any.code())
        .with_permission_type(PermissionType::Any.code());
    let unknown = filter.clone().with_operation(0);
    let req = DeleteAclsRequest::default().with_filters(vec![filter, unknown]);
    let ResponseKind::DeleteAcls(r) = admin
        .call(RequestKind::DeleteAcls(req), ApiKey::DeleteAcls, 3)
        .await
    else {
        panic!()
    };
    assert_eq!(r.filter_results[0].error_code, 0);
    assert_eq!(r.filter_results[0].matching_acls.len(), 1);
    assert_eq!(
        r.filter_results[0].matching_acls[0].resource_name.as_str(),
        "ord"
    );
    assert_eq!(r.filter_results[1].error_code, invalid);
    assert_eq!(
        r.filter_results[1].error_message.as_deref(),
        Some("Unknown entryFilter.")
    );
}

#[tokio::test]
async fn unauthorized_produce_and_consume_fail_with_kafkas_codes() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start(dir.path()).await;
    let mut admin = As::new(&broker, "admin").await;
    let mut alice = As::new(&broker, "alice").await;
    assert_eq!(admin.create_topic("orders").await, 0);
    // Super user: everything.
    assert_eq!(admin.produce("orders").await, 0);
    // No ACL: denied (allow.everyone.if.no.acl.found is false).
    assert_eq!(alice.produce("orders").await, TAF);
    assert_eq!(alice.fetch("orders").await, TAF);
    // An unknown topic the principal may not see is TOPIC_AUTHORIZATION_FAILED too.
    assert_eq!(alice.produce("nope").await, TAF);

    let ok = admin
        .create_acls(&[
            allow(
                ResourceType::Topic,
                "orders",
                "User:alice",
                AclOperation::Write,
            ),
            acl(
                ResourceType::Topic,
                "ord",
                PatternType::Prefixed,
                "User:alice",
                AclOperation::Read,
                PermissionType::Allow,
            ),
        ])
        .await;
    assert!(ok.iter().all(|r| r.0 == 0), "{ok:?}");
    // Effective at once.
    assert_eq!(alice.produce("orders").await, 0);
    assert_eq!(alice.fetch("orders").await, 0);
    // WRITE and READ imply DESCRIBE: the topic shows in Metadata.
    let all = alice.metadata(None, false).await;
    assert_eq!(all, vec![("orders".to_string(), 0)]);

    // Deny beats allow.
    admin
        .create_acls(&[acl(
            ResourceType::Topic,
            "orders",
            PatternType::Literal,
            "User:*",
            AclOperation::Read,
            PermissionType::Deny,
        )])
        .await;
    assert_eq!(alice.fetch("orders").await, TAF);
    assert_eq!(alice.produce("orders").await, 0);
    assert_eq!(
        admin.fetch("orders").await,
        0,
        "super users are never denied"
    );
}

#[tokio::test]
async fn metadata_hides_topics_and_creation_needs_create() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start(dir.path()).await;
    let mut admin = As::new(&broker, "admin").await;
    let mut bob = As::new(&broker, "bob").await;
    assert_eq!(admin.create_topic("secret").await, 0);
    assert_eq!(admin.create_topic("public").await, 0);
    admin
        .create_acls(&[allow(
            ResourceType::Topic,
            "public",
            "User:bob",
            AclOperation::Describe,
        )])
        .await;
    assert_eq!(
        bob.metadata(None, false).await,
        vec![("public".to_string(), 0)]
    );
    assert_eq!(
        bob.metadata(Some(&["secret", "public"]), false).await,
        vec![("secret".to_string(), TAF), ("public".to_string(), 0)]
    );
    // Topic creation: CREATE on the cluster or the topic.
    assert_eq!(bob.create_topic("mine").await, TAF);
    admin
        .create_acls(&[
            allow(
                ResourceType::Topic,
                "mine",
                "User:bob",
                AclOperation::Create,
            ),
            allow(
                ResourceType::Topic,
                "auto",
                "User:bob",
                AclOperation::Describe,
            ),
        ])
        .await;
    assert_eq!(bob.create_topic("mine").await, 0);
    // Auto-creation through Metadata needs CREATE as well.
    assert_eq!(
        bob.metadata(Some(&["auto"]), true).await,
        vec![("auto".to_string(), TAF)]
    );
    assert!(broker.state().partitions.topic("auto").is_none());
    admin
        .create_acls(&[allow(
            ResourceType::Cluster,
            "kafka-cluster",
            "User:bob",
            AclOperation::Create,
        )])
        .await;
    assert_eq!(
        bob.metadata(Some(&["auto"]), true).await,
        vec![("auto".to_string(), 0)]
    );
}

#[tokio::test]
async fn group_join_and_transactional_ids_need_their_acls() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start(dir.path()).await;
    let mut admin = As::new(&broker, "admin").await;
    let mut carol = As::new(&broker, "carol").await;
    let join = JoinGroupRequest::default()
        .with_group_id(GroupId(StrBytes::from_static_str("g1")))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(10_000)
        .with_member_id(StrBytes::from_static_str(""))
        .with_protocol_type(StrBytes::from_static_str("consumer"))
        .with_protocols(vec![JoinGroupRequestProtocol::default()
            .with_name(StrBytes::from_static_str("range"))
            .with_metadata(Bytes::new())]);
    let ResponseKind::JoinGroup(r) = carol
        .call(RequestKind::JoinGroup(join.clone()), ApiKey::JoinGroup, 9)
        .await
    else {
        panic!()
    };
    assert_eq!(r.error_code, ResponseError::GroupAuthorizationFailed.code());
    let find = FindCoordinatorRequest::default()
        .with_key_type(0)
        .with_coordinator_keys(vec![StrBytes::from_static_str("g1")]);
    let ResponseKind::FindCoordinator(r) = carol
        .call(
            RequestKind::FindCoordinator(find.clone()),
            ApiKey::FindCoordinator,
            4,
        )
        .await
    else {
        panic!()
    };
    assert_eq!(
        r.coordinators[0].error_code,
        ResponseError::GroupAuthorizationFailed.code()
    );
    admin
        .create_acls(&[allow(
            ResourceType::Group,
            "g1",
            "User:carol",
            AclOperation::Read,
        )])
        .await;
    let ResponseKind::FindCoordinator(r) = carol
        .call(
            RequestKind::FindCoordinator(find),
            ApiKey::FindCoordinator,
            4,
        )
        .await
    else {
        panic!()
    };
    assert_eq!(r.coordinators[0].error_code, 0, "READ implies DESCRIBE");
    let ResponseKind::JoinGroup(r) = carol
        .call(RequestKind::JoinGroup(join), ApiKey::JoinGroup, 9)
        .await
    else {
        panic!()
    };
    // v4+: the first join asks for a member id.
    assert_eq!(r.error_code, ResponseError::MemberIdRequired.code());

    // Transactional id: WRITE needed.
    let init = InitProducerIdRequest::default()
        .with_transactional_id(Some(TransactionalId(StrBytes::from_static_str("tx"))))
        .with_transaction_timeout_ms(60_000);
    let ResponseKind::InitProducerId(r) = carol
        .call(RequestKind::InitProducerId(init), ApiKey::InitProducerId, 4)
        .await
    else {
        panic!()
    };
    assert_eq!(
        r.error_code,
        ResponseError::TransactionalIdAuthorizationFailed.code()
    );
    // Idempotent producer: IDEMPOTENT_WRITE on the cluster or WRITE on some topic.
    let idem = InitProducerIdRequest::default()
        .with_transactional_id(None)
        .with_transaction_timeout_ms(60_000);
    let ResponseKind::InitProducerId(r) = carol
        .call(
            RequestKind::InitProducerId(idem.clone()),
            ApiKey::InitProducerId,
            4,
        )
        .await
    else {
        panic!()
    };
    assert_eq!(
        r.error_code,
        ResponseError::ClusterAuthorizationFailed.code()
    );
    admin
        .create_acls(&[acl(
            ResourceType::Topic,
            "events-",
            PatternType::Prefixed,
            "User:carol",
            AclOperation::Write,
            PermissionType::Allow,
        )])
        .await;
    let ResponseKind::InitProducerId(r) = carol
        .call(RequestKind::InitProducerId(idem), ApiKey::InitProducerId, 4)
        .await
    else {
        panic!()
    };
    assert_eq!(r.error_code, 0);
    assert!(r.producer_id.0 >= 0);
}

#[tokio::test]
async fn acls_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let broker = start(dir.path()).await;
        let mut admin = As::new(&broker, "admin").await;
        assert_eq!(admin.create_topic("kept").await, 0);
        let r = admin
            .create_acls(&[allow(
                ResourceType::Topic,
                "kept",
                "User:dave",
                AclOperation::Write,
            )])
            .await;
        assert_eq!(r[0].0, 0);
        broker.shutdown().await.unwrap();
    }
    assert!(dir.path().join("weir-acls.checkpoint").exists());
    let broker = start(dir.path()).await;
    let mut dave = As::new(&broker, "dave").await;
    let mut erin = As::new(&broker, "erin").await;
    assert_eq!(dave.produce("kept").await, 0);
    assert_eq!(erin.produce("kept").await, TAF);
}
