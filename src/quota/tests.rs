//! The manager: Kafka's lookup order, alteration rules, persistence, enforcement.

use super::*;
use crate::pipeline::Principal;

fn settings() -> Settings {
    Settings::default()
}

fn ctx(user: &str, client: Option<&str>, api_key: ApiKey) -> RequestContext {
    RequestContext {
        api_key,
        raw_api_key: None,
        api_version: 9,
        correlation_id: 1,
        client_id: client.map(str::to_string),
        peer: "127.0.0.1:1".parse().unwrap(),
        connection_id: 1,
        listener: Arc::from("PLAINTEXT"),
        principal: Principal::new("User", user),
    }
}

fn set(q: &ClientQuotas, entity: &[(&str, Option<&str>)], key: &str, value: f64) {
    let r = q.alter(
        &[Alteration {
            entity: entity
                .iter()
                .map(|(t, n)| (t.to_string(), n.map(str::to_string)))
                .collect(),
            ops: vec![(key.to_string(), Some(value))],
        }],
        false,
    );
    assert!(r[0].1.is_ok(), "{r:?}");
}

#[test]
fn lookup_follows_kafkas_precedence() {
    let q = ClientQuotas::in_memory(&settings());
    let bound = |u: &str, c: &str| q.applied(QuotaKind::Produce, u, c).map(|a| a.bound);
    assert_eq!(bound("alice", "app"), None);
    set(&q, &[("client-id", None)], PRODUCER_BYTE_RATE, 8.0);
    assert_eq!(bound("alice", "app"), Some(8.0));
    set(&q, &[("client-id", Some("app"))], PRODUCER_BYTE_RATE, 7.0);
    assert_eq!(bound("alice", "app"), Some(7.0));
    set(&q, &[("user", None)], PRODUCER_BYTE_RATE, 6.0);
    assert_eq!(bound("alice", "app"), Some(6.0));
    set(
        &q,
        &[("user", None), ("client-id", None)],
        PRODUCER_BYTE_RATE,
        5.0,
    );
    assert_eq!(bound("alice", "app"), Some(5.0));
    set(
        &q,
        &[("user", None), ("client-id", Some("app"))],
        PRODUCER_BYTE_RATE,
        4.0,
    );
    assert_eq!(bound("alice", "app"), Some(4.0));
    set(&q, &[("user", Some("alice"))], PRODUCER_BYTE_RATE, 3.0);
    assert_eq!(bound("alice", "app"), Some(3.0));
    set(
        &q,
        &[("user", Some("alice")), ("client-id", None)],
        PRODUCER_BYTE_RATE,
        2.0,
    );
    assert_eq!(bound("alice", "app"), Some(2.0));
    set(
        &q,
        &[("user", Some("alice")), ("client-id", Some("app"))],
        PRODUCER_BYTE_RATE,
        1.0,
    );
    assert_eq!(bound("alice", "app"), Some(1.0));
    // others fall back level by level
    assert_eq!(bound("alice", "other"), Some(2.0));
    assert_eq!(bound("bob", "app"), Some(4.0));
    assert_eq!(bound("bob", "other"), Some(5.0));
    // another key is looked up on its own
    assert_eq!(
        q.applied(QuotaKind::Fetch, "alice", "app").map(|a| a.bound),
        None
    );
}

#[test]
fn a_user_quota_is_shared_by_all_its_clients() {
    let q = ClientQuotas::in_memory(&settings());
    set(&q, &[("user", Some("alice"))], PRODUCER_BYTE_RATE, 100.0);
    let a = q.applied(QuotaKind::Produce, "alice", "a").unwrap();
    let b = q.applied(QuotaKind::Produce, "alice", "b").unwrap();
    assert!(Arc::ptr_eq(&a.sensor, &b.sensor));
    set(&q, &[("client-id", Some("a"))], PRODUCER_BYTE_RATE, 100.0);
    let a = q.applied(QuotaKind::Produce, "bob", "a").unwrap();
    let b = q.applied(QuotaKind::Produce, "carol", "a").unwrap();
    assert!(Arc::ptr_eq(&a.sensor, &b.sensor));
}

#[test]
fn alterations_are_checked_per_entity_and_removals_drop_empty_entities() {
    let q = ClientQuotas::in_memory(&settings());
    let alt = |entity: &[(&str, Option<&str>)], ops: &[(&str, Option<f64>)]| Alteration {
        entity: entity
            .iter()
            .map(|(t, n)| (t.to_string(), n.map(str::to_string)))
            .collect(),
        ops: ops.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
    };
    let r = q.alter(
        &[
            alt(&[("user", Some("a"))], &[(PRODUCER_BYTE_RATE, Some(10.0))]),
            // one bad value: nothing of this entity changes
            alt(
                &[("user", Some("b"))],
                &[(PRODUCER_BYTE_RATE, Some(10.0)), ("bogus", Some(1.0))],
            ),
            alt(
                &[("user", Some("c"))],
                &[
                    (PRODUCER_BYTE_RATE, Some(1.0)),
                    (PRODUCER_BYTE_RATE, Some(2.0)),
                ],
            ),
        ],
        false,
    );
    assert!(r[0].1.is_ok());
    assert_eq!(
        r[1].1,
        Err(QuotaError::InvalidRequest(
            "Invalid configuration key bogus".into()
        ))
    );
    assert_eq!(
        r[2].1,
        Err(QuotaError::InvalidRequest(
            "Ignoring duplicate entity ClientQuotaEntity(entries={user=c})".into()
        ))
    );
    let configs = q.configs();
    assert_eq!(configs.len(), 1);
    // validate_only changes nothing
    let r = q.alter(
        &[alt(
            &[("user", Some("z"))],
            &[(REQUEST_PERCENTAGE, Some(5.0))],
        )],
        true,
    );
    assert!(r[0].1.is_ok());
    assert_eq!(q.configs().len(), 1);
    // removing the last key removes the entity
    q.alter(
        &[alt(&[("user", Some("a"))], &[(PRODUCER_BYTE_RATE, None)])],
        false,
    );
    assert!(q.configs().is_empty());
    assert!(!q.any_enabled());
}

#[test]
fn configs_persist_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let q = ClientQuotas::open(store.clone(), &settings()).unwrap();
    set(
        &q,
        &[("user", None), ("client-id", Some("x"))],
        CONSUMER_BYTE_RATE,
        4096.0,
    );
    drop(q);
    let q = ClientQuotas::open(store, &settings()).unwrap();
    assert_eq!(
        q.configs()
            .get(&Entity::of(&[("user", None), ("client-id", Some("x"))]))
            .and_then(|v| v.get(CONSUMER_BYTE_RATE)),
        Some(&4096.0)
    );
    assert!(q.enabled(QuotaKind::Fetch));
}

#[test]
fn produce_over_the_quota_is_throttled() {
    let q = ClientQuotas::in_memory(&settings());
    let c = ctx("ANONYMOUS", Some("p"), ApiKey::Produce);
    assert_eq!(q.record_produce(&c, 1_000_000), 0, "no quota");
    set(&q, &[("client-id", Some("p"))], PRODUCER_BYTE_RATE, 1000.0);
    // 20 kB at once against 1 kB/s over a 10 s minimum window: (2000 - 1000) / 1000 * 10 s
    assert_eq!(q.record_produce(&c, 20_000), 10_000);
    assert_eq!(
        q.record_produce(&ctx("ANONYMOUS", Some("q"), ApiKey::Produce), 20_000),
        0
    );
}

#[test]
fn a_throttled_fetch_is_taken_back_and_the_window_bounds_a_fetch() {
    let q = ClientQuotas::in_memory(&settings());
    let c = ctx("u", None, ApiKey::Fetch);
    assert_eq!(q.fetch_window_bytes(&c), None);
    set(&q, &[("user", Some("u"))], CONSUMER_BYTE_RATE, 1000.0);
    assert_eq!(q.fetch_window_bytes(&c), Some(10_000));
    assert!(q.record_fetch(&c, 50_000) > 0);
    // the throttled response was taken back: a small one now passes
    assert_eq!(q.record_fetch(&c, 5_000), 0);
}

#[test]
fn request_time_over_the_percentage_is_throttled_by_at_most_one_window() {
    let q = ClientQuotas::in_memory(&settings());
    let c = ctx("u", Some("c"), ApiKey::Metadata);
    set(&q, &[("user", Some("u"))], REQUEST_PERCENTAGE, 1.0);
    // 1 s of handler time = 100 %-seconds; over 10 s that is 10 % against 1 %
    let t = q.record_request_time(&c, Duration::from_secs(1));
    assert_eq!(t, 1000, "bounded by the 1 s window");
    assert!(q.after_handler(&c, 100, Duration::ZERO) > 0);
}

#[test]
fn strict_mutations_are_refused_once_the_bucket_is_empty() {
    let q = Arc::new(ClientQuotas::in_memory(&settings()));
    let c = ctx("u", Some("admin"), ApiKey::CreateTopics);
    let mut m = q.mutations(&c, true);
    assert_eq!(m.record(1000), Ok(()), "no quota");
    set(
        &q,
        &[("client-id", Some("admin"))],
        CONTROLLER_MUTATION_RATE,
        1.0,
    );
    let mut m = q.mutations(&c, true);
    // a burst of 11 tokens: the first request may overdraw it
    assert_eq!(m.record(20), Ok(()));
    let t = m.record(1).unwrap_err();
    assert!((8_900..=9_000).contains(&t), "{t}");
    assert!(m.throttle_time_ms() >= 8_900);
    // permissive (older versions): recorded anyway, throttled after
    let mut p = q.mutations(&c, false);
    assert_eq!(p.record(1), Ok(()));
    assert!(p.throttle_time_ms() >= 9_900);
}

#[test]
fn old_versions_are_delayed_new_ones_throttle_themselves() {
    assert!(!client_throttles(ApiKey::Produce, 5));
    assert!(client_throttles(ApiKey::Produce, 6));
    assert!(!client_throttles(ApiKey::Fetch, 7));
    assert!(client_throttles(ApiKey::Fetch, 8));
    assert!(client_throttles(ApiKey::DescribeClientQuotas, 0));
}
