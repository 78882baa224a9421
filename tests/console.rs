//! The web console (issue 19): its pages and JSON endpoints over real
//! sockets, mutations through the Kafka handlers (same validation and errors
//! as a Kafka client gets), `--http-read-only`, the login with a SASL user,
//! share groups, and the whole flow in a real browser (`tests/console/e2e.mjs`:
//! Debian's chromium driven by playwright-core, kcat as the Kafka client),
//! which takes a screenshot of every page (into `docs/console/` with
//! `CONSOLE_SHOTS=docs/console`), and the login in a real browser
//! (`tests/console/login.mjs`). The browser tests skip with one line when
//! node, chromium, kcat or `tests/console/node_modules/playwright-core`
//! (`npm ci` there) are missing.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::*;
use weir::{Broker, BrokerConfig};

struct Reply {
    status: u16,
    head: String,
    body: String,
}

impl Reply {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

/// One HTTP/1.1 request over a fresh connection (the endpoint closes it after
/// the answer).
fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let mut s = TcpStream::connect(addr).expect("connect to the HTTP endpoint");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() {
        req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read the HTTP response");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a header block");
    Reply {
        status: head.split_whitespace().nth(1).unwrap().parse().unwrap(),
        head: head.to_string(),
        body: body.to_string(),
    }
}

fn get(addr: SocketAddr, path: &str) -> Reply {
    request(addr, "GET", path, &[], "")
}

fn post(addr: SocketAddr, path: &str, body: serde_json::Value) -> Reply {
    request(addr, "POST", path, &[], &body.to_string())
}

async fn broker_with_http(sets: &[(&str, &str)]) -> (tempfile::TempDir, Broker, SocketAddr) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = BrokerConfig::ephemeral(dir.path().join("data"));
    config.http = Some("127.0.0.1:0".into());
    for (k, v) in GROUP_SETTINGS.iter().chain(sets) {
        config
            .settings
            .set(k, v, weir::config::Source::Cli)
            .unwrap();
    }
    let broker = Broker::start(config).await.expect("broker starts");
    let http = broker.http_addr().unwrap();
    (dir, broker, http)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_pages_are_served_from_the_binary_and_revalidated_by_etag() {
    let (_dir, broker, http) = broker_with_http(&[]).await;
    tokio::task::spawn_blocking(move || {
        let index = get(http, "/");
        assert_eq!(index.status, 200);
        assert!(index
            .header("content-type")
            .unwrap()
            .starts_with("text/html"));
        assert!(index.body.contains("/console/app.js"));
        let etag = index.header("etag").expect("an ETag");
        assert_eq!(index.header("cache-control").as_deref(), Some("no-cache"));
        let again = http_req_etag(http, "/", &etag);
        assert_eq!(again, 304, "an unchanged page is not sent again");
        let js = get(http, "/console/app.js");
        assert_eq!(js.status, 200);
        assert!(js
            .header("content-type")
            .unwrap()
            .starts_with("text/javascript"));
        assert_eq!(get(http, "/console/nope.js").status, 404);
        let info = get(http, "/api/console").json();
        assert_eq!(info["read_only"], false);
        assert_eq!(info["listeners"][0]["name"], "PLAINTEXT");
    })
    .await
    .unwrap();
    broker.shutdown().await.unwrap();
}

fn http_req_etag(addr: SocketAddr, path: &str, etag: &str) -> u16 {
    request(addr, "GET", path, &[("If-None-Match", etag)], "").status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_topics_go_through_the_kafka_handlers_validation() {
    let (_dir, broker, http) = broker_with_http(&[]).await;
    let addr = broker.addr().to_string();
    tokio::task::spawn_blocking(move || {
        let created = post(
            http,
            "/api/topics",
            serde_json::json!({"name": "shop", "partitions": 2,
            "configs": {"cleanup.policy": "delete"}}),
        );
        assert_eq!(created.status, 200, "{}", created.body);
        assert_eq!(created.json()["partitions"], 2);
        let again = post(http, "/api/topics", serde_json::json!({"name": "shop"}));
        assert_eq!(again.status, 409);
        assert_eq!(again.json()["error"], "TOPIC_ALREADY_EXISTS");
        assert_eq!(again.json()["message"], "Topic 'shop' already exists.");
        let bad = post(http, "/api/topics", serde_json::json!({"name": "no/slash"}));
        assert_eq!(
            bad.json()["error"],
            "INVALID_TOPIC_EXCEPTION",
            "{}",
            bad.body
        );
        let bad_cfg = post(
            http,
            "/api/topics",
            serde_json::json!({"name": "x", "configs": {"retention.ms": "soon"}}),
        );
        assert_eq!(
            bad_cfg.json()["error"],
            "INVALID_CONFIG",
            "{}",
            bad_cfg.body
        );
        assert_eq!(get(http, "/api/topics/x").status, 404, "nothing created");

        // Configs: IncrementalAlterConfigs' validation and DescribeConfigs' sources.
        let bad = post(
            http,
            "/api/topics/shop/configs",
            serde_json::json!({"set": {"retention.ms": "soon"}}),
        );
        assert_eq!(bad.status, 400);
        assert_eq!(bad.json()["error"], "INVALID_CONFIG");
        let ok = post(
            http,
            "/api/topics/shop/configs",
            serde_json::json!({"set": {"retention.ms": "60000"}}),
        );
        assert_eq!(ok.status, 200, "{}", ok.body);
        let configs = get(http, "/api/topics/shop/configs").json();
        let retention = configs
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "retention.ms")
            .unwrap();
        assert_eq!(retention["value"], "60000");
        assert_eq!(retention["source"], "DYNAMIC_TOPIC_CONFIG");
        let ok = post(
            http,
            "/api/topics/shop/configs",
            serde_json::json!({"delete": ["retention.ms"]}),
        );
        assert_eq!(ok.status, 200);
        let configs = get(http, "/api/topics/shop/configs").json();
        let retention = configs
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "retention.ms")
            .unwrap();
        assert_eq!(retention["source"], "DEFAULT_CONFIG");

        // Produce with a real client and from the console; browse both ways.
        produce(&addr, "shop", 1, 30);
        let one = post(
            http,
            "/api/topics/shop/messages",
            serde_json::json!({"partition": 0,
            "key": "k", "value": "{\"a\":1}", "headers": [["h", "v"]]}),
        );
        assert_eq!(one.status, 200, "{}", one.body);
        assert_eq!(one.json()["offset"], 30);
        let page = get(http, "/api/topics/shop/messages?partition=0&limit=10").json();
        let offsets: Vec<i64> = page["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["offset"].as_i64().unwrap())
            .collect();
        assert_eq!(offsets, (0..10).collect::<Vec<_>>());
        assert_eq!(page["next_offset"], 10);
        assert_eq!(page["messages"][0]["value"]["text"], "p0-0");
        let newest = get(
            http,
            "/api/topics/shop/messages?partition=0&order=newest&limit=2",
        )
        .json();
        let m = &newest["messages"][0];
        assert_eq!(m["offset"], 30);
        assert_eq!(m["key"]["text"], "k");
        assert_eq!(m["value"]["text"], "{\"a\":1}");
        assert_eq!(m["headers"][0][0], "h");
        assert_eq!(m["headers"][0][1]["base64"], "dg==");
        assert_eq!(newest["messages"][1]["offset"], 29);
        assert_eq!(newest["next_offset"], 29);
        let older = get(
            http,
            "/api/topics/shop/messages?partition=0&order=newest&limit=2&offset=29",
        )
        .json();
        assert_eq!(older["messages"][0]["offset"], 28);
        let by_time = get(
            http,
            &format!(
                "/api/topics/shop/messages?partition=0&timestamp={}",
                now_ms() + 60_000
            ),
        )
        .json();
        assert_eq!(
            by_time["messages"].as_array().unwrap().len(),
            0,
            "nothing after a future time"
        );
        let big = get(http, "/api/topics/shop/messages?partition=0&limit=100000").json();
        assert_eq!(
            big["messages"].as_array().unwrap().len(),
            31,
            "bounded page, whole partition here"
        );
        assert_eq!(
            get(http, "/api/topics/shop/messages?partition=7").status,
            404
        );
        assert_eq!(
            post(
                http,
                "/api/topics/shop/messages",
                serde_json::json!({"partition": 9, "value": "x"})
            )
            .json()["error"],
            "UNKNOWN_TOPIC_OR_PARTITION"
        );

        // Delete.
        let del = request(http, "DELETE", "/api/topics/shop", &[], "");
        assert_eq!(del.status, 200, "{}", del.body);
        assert_eq!(get(http, "/api/topics/shop").status, 404);
        let del = request(http, "DELETE", "/api/topics/shop", &[], "");
        assert_eq!(del.json()["error"], "UNKNOWN_TOPIC_OR_PARTITION");
    })
    .await
    .unwrap();
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_of_an_empty_group_are_reset_after_a_preview() {
    let (_dir, broker, http) = broker_with_http(&[]).await;
    broker
        .state()
        .partitions
        .create_topic("pay", 2, Default::default(), false)
        .unwrap();
    let addr = broker.addr().to_string();
    tokio::task::spawn_blocking(move || {
        produce(&addr, "pay", 2, 10);
        let m = Member::join(&addr, "payers", &["pay"], &[]);
        wait_for(20, "assignment", || m.partitions().len() == 2);
        m.commit("pay", &[(0, 7), (1, 10)]);
        let detail = get(http, "/api/groups/payers/detail").json();
        assert_eq!(detail["state"], "Stable");
        assert_eq!(detail["protocol_type"], "consumer");
        assert_eq!(
            detail["members"][0]["assignment"]["pay"],
            serde_json::json!([0, 1])
        );
        // Preview works on a live group; applying does not.
        let body = serde_json::json!({"to": "earliest", "dry_run": true});
        let plan = post(http, "/api/groups/payers/reset", body).json();
        assert_eq!(
            plan["partitions"][0],
            serde_json::json!({"topic": "pay", "partition": 0, "current": 7, "target": 0})
        );
        let refused = post(
            http,
            "/api/groups/payers/reset",
            serde_json::json!({"to": "earliest"}),
        );
        assert_eq!(refused.status, 409);
        assert!(
            refused.json()["message"]
                .as_str()
                .unwrap()
                .contains("inactive"),
            "{}",
            refused.body
        );
        m.close();
        wait_for(20, "group empty", || {
            get(http, "/api/groups/payers/detail").json()["state"] == "Empty"
        });
        let offset = post(
            http,
            "/api/groups/payers/reset",
            serde_json::json!({"topic": "pay", "to": "offset", "value": 4}),
        );
        assert_eq!(offset.status, 200, "{}", offset.body);
        let figures = get(http, "/api/groups/payers").json();
        let committed: Vec<i64> = figures["partitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["committed"].as_i64().unwrap())
            .collect();
        assert_eq!(committed, vec![4, 4]);
        let clamp = post(
            http,
            "/api/groups/payers/reset",
            serde_json::json!({"to": "offset", "value": 1000, "dry_run": true}),
        )
        .json();
        assert_eq!(
            clamp["partitions"][1]["target"], 10,
            "clamped to the end, as kafka-consumer-groups"
        );
        let latest = post(
            http,
            "/api/groups/payers/reset",
            serde_json::json!({"to": "latest"}),
        );
        assert_eq!(latest.status, 200);
        let figures = get(http, "/api/groups/payers").json();
        assert!(figures["partitions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["lag"] == 0));
        let ts = post(
            http,
            "/api/groups/payers/reset",
            serde_json::json!({"to": "timestamp", "value": 0, "dry_run": true}),
        )
        .json();
        assert_eq!(ts["partitions"][0]["target"], 0);
    })
    .await
    .unwrap();
    broker.shutdown().await.unwrap();
}

/// The stream's rates are the broker's own traffic counters (the ones
/// `/metrics` exports), differenced per tick: what was produced before the
/// stream opened is not in them, what was produced while it is open is, to the
/// record, and a consumer's fetches show as fetch bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throughput_stream_reports_the_brokers_traffic_counters() {
    let (_dir, broker, http) = broker_with_http(&[]).await;
    broker
        .state()
        .partitions
        .create_topic("flow", 1, Default::default(), false)
        .unwrap();
    let addr = broker.addr().to_string();
    tokio::task::spawn_blocking(move || {
        use rdkafka::consumer::{BaseConsumer, Consumer};
        produce(&addr, "flow", 1, 5);
        let mut s = TcpStream::connect(http).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            s,
            "GET /api/stream HTTP/1.1\r\nHost: weir\r\nAccept: text/event-stream\r\n\r\n"
        )
        .unwrap();
        let mut lines = BufReader::new(s.try_clone().unwrap()).lines();
        let mut next_rates = || loop {
            let line = lines.next().expect("stream open").expect("read");
            if let Some(data) = line.strip_prefix("data: ") {
                return serde_json::from_str::<serde_json::Value>(data).unwrap();
            }
        };
        // The first tick: the stream's starting point is taken.
        let first = next_rates();
        assert_eq!(first["produce_records_per_sec"], 0.0, "{first}");
        produce(&addr, "flow", 1, 50);
        // Records counted = rate x the tick's length, summed over the ticks.
        let mut produced = 0.0;
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline && produced < 49.5 {
            let v = next_rates();
            produced +=
                v["produce_records_per_sec"].as_f64().unwrap() * v["seconds"].as_f64().unwrap();
        }
        assert_eq!(
            produced.round(),
            50.0,
            "only what was produced while watched"
        );
        let c: BaseConsumer = client_config(&addr, "flow-g", &[]).create().unwrap();
        let mut tpl = rdkafka::TopicPartitionList::new();
        tpl.add_partition_offset("flow", 0, rdkafka::Offset::Beginning)
            .unwrap();
        c.assign(&tpl).unwrap();
        let mut got = 0;
        let mut fetched = 0.0;
        let mut fetched_records = 0.0;
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline
            && (got < 55 || fetched == 0.0 || f64::round(fetched_records) < 55.0)
        {
            while got < 55 {
                match c.poll(Duration::from_millis(100)) {
                    Some(m) => {
                        m.expect("a record");
                        got += 1;
                    }
                    None => break,
                }
            }
            if got == 55 {
                let v = next_rates();
                fetched += v["fetch_bytes_per_sec"].as_f64().unwrap();
                fetched_records +=
                    v["fetch_records_per_sec"].as_f64().unwrap() * v["seconds"].as_f64().unwrap();
            }
        }
        assert_eq!(got, 55);
        assert!(fetched > 0.0, "the stream saw the fetch");
        assert_eq!(fetched_records.round(), 55.0, "every record fetched once");
    })
    .await
    .unwrap();
    broker.shutdown().await.unwrap();
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn read_only_console_refuses_every_mutation_and_foreign_origins_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let http_arg = format!("127.0.0.1:{port}");
    let mut broker = TestBroker::spawn(dir.path(), &["--http", &http_arg, "--http-read-only"]);
    let http: SocketAddr = http_arg.parse().unwrap();
    wait_for(20, "HTTP endpoint up", || TcpStream::connect(http).is_ok());
    assert_eq!(get(http, "/api/console").json()["read_only"], true);
    for (method, path, body) in [
        ("POST", "/api/topics", r#"{"name":"t"}"#),
        ("DELETE", "/api/topics/t", ""),
        ("POST", "/api/topics/t/configs", r#"{"set":{}}"#),
        ("POST", "/api/topics/t/messages", r#"{"value":"x"}"#),
        ("POST", "/api/groups/g/reset", r#"{"to":"earliest"}"#),
    ] {
        let r = request(http, method, path, &[], body);
        assert_eq!(r.status, 403, "{method} {path}");
        assert_eq!(r.json()["error"], "READ_ONLY");
    }
    assert_eq!(get(http, "/api/topics").status, 200, "reading still works");
    broker.kill();

    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let http_arg = format!("127.0.0.1:{port}");
    let mut broker = TestBroker::spawn(dir.path(), &["--http", &http_arg]);
    let http: SocketAddr = http_arg.parse().unwrap();
    wait_for(20, "HTTP endpoint up", || TcpStream::connect(http).is_ok());
    let foreign = request(
        http,
        "POST",
        "/api/topics",
        &[("Origin", "http://evil.example")],
        r#"{"name":"t"}"#,
    );
    assert_eq!(foreign.status, 403);
    assert_eq!(foreign.json()["error"], "FOREIGN_ORIGIN");
    let own_origin = format!("http://{http}");
    let own = request(
        http,
        "POST",
        "/api/topics",
        &[("Origin", &own_origin)],
        r#"{"name":"t"}"#,
    );
    assert_eq!(own.status, 200, "{}", own.body);
    broker.kill();
}

/// What the browser test needs, or the reason it cannot run here.
fn browser_tools(dir: &Path) -> Result<(), String> {
    let runs = |bin: &str, arg: &str| {
        Command::new(bin)
            .arg(arg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !runs("node", "--version") {
        return Err("node is not installed".into());
    }
    if !Path::new("/usr/bin/chromium").exists() {
        return Err("Debian's chromium is not installed".into());
    }
    if !runs("kcat", "-V") {
        return Err("kcat is not installed".into());
    }
    if !dir
        .join("node_modules/playwright-core/package.json")
        .exists()
    {
        return Err("playwright-core is not installed (npm ci in tests/console)".into());
    }
    Ok(())
}

#[test]
fn console_flow_in_a_real_browser() {
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/console");
    if let Err(why) = browser_tools(&scripts) {
        eprintln!("SKIP: {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let http_arg = format!("127.0.0.1:{port}");
    let mut broker = TestBroker::spawn(
        dir.path(),
        &[
            "--http",
            &http_arg,
            "--set",
            "group.initial.rebalance.delay.ms=0",
        ],
    );
    wait_for(20, "HTTP endpoint up", || {
        TcpStream::connect(&http_arg).is_ok()
    });
    // CONSOLE_SHOTS=docs/console refreshes the committed screenshots.
    let shots = match std::env::var_os("CONSOLE_SHOTS") {
        Some(d) => Path::new(env!("CARGO_MANIFEST_DIR")).join(d),
        None => dir.path().join("shots"),
    };
    std::fs::create_dir_all(&shots).unwrap();
    let status = Command::new("node")
        .arg(scripts.join("e2e.mjs"))
        .current_dir(&scripts)
        .env("WEIR_HTTP", format!("http://{http_arg}"))
        .env("WEIR_BOOTSTRAP", broker.bootstrap())
        .env("SHOTS", &shots)
        .status()
        .expect("run node");
    broker.kill();
    assert!(
        status.success(),
        "the browser flow failed (see its output above)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_stream_ends_when_the_broker_shuts_down() {
    let (_dir, broker, http) = broker_with_http(&[]).await;
    let reader = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(http).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        write!(s, "GET /api/stream HTTP/1.1\r\nHost: weir\r\n\r\n").unwrap();
        let mut all = String::new();
        // Read to the end of the stream: the broker closes it at shutdown.
        s.read_to_string(&mut all)
            .expect("the stream ends before the timeout");
        all
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    broker.shutdown().await.unwrap();
    let all = bounded("stream end", reader).await.unwrap();
    assert!(all.contains("event: rates"), "{all}");
}

/// With an authorizer and no ACLs, the console (`User:ANONYMOUS`) is refused
/// as a Kafka client would be, with the handlers' own authorization errors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_requests_are_authorized_as_anonymous() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = BrokerConfig::ephemeral(dir.path().join("data"));
    config.http = Some("127.0.0.1:0".into());
    let acls = weir::acl::StandardAuthorizer::new("User:admin", false).unwrap();
    let pipeline = weir::pipeline::Pipeline::default().with_authorizer(std::sync::Arc::new(acls));
    let broker = Broker::start_with_pipeline(config, pipeline)
        .await
        .expect("broker starts");
    broker
        .state()
        .partitions
        .create_topic("secret", 1, Default::default(), false)
        .unwrap();
    let http = broker.http_addr().unwrap();
    tokio::task::spawn_blocking(move || {
        // No SASL listener: no login.
        let session = get(http, "/api/session").json();
        assert_eq!(
            session,
            serde_json::json!({"login": false, "user": null, "methods": []})
        );
        let create = post(http, "/api/topics", serde_json::json!({"name": "t"}));
        assert_eq!(create.status, 403, "{}", create.body);
        assert_eq!(create.json()["error"], "TOPIC_AUTHORIZATION_FAILED");
        for path in ["/api/topics/secret/messages", "/api/topics/nosuch/messages"] {
            let r = get(http, path);
            assert_eq!(r.json()["error"], "TOPIC_AUTHORIZATION_FAILED", "{path}");
        }
        let produce = post(
            http,
            "/api/topics/secret/messages",
            serde_json::json!({"value": "x"}),
        );
        assert_eq!(produce.json()["error"], "TOPIC_AUTHORIZATION_FAILED");
        let configs = post(
            http,
            "/api/topics/secret/configs",
            serde_json::json!({"set": {"retention.ms": "1000"}}),
        );
        assert_eq!(
            configs.json()["error"],
            "TOPIC_AUTHORIZATION_FAILED",
            "{}",
            configs.body
        );
        let del = request(http, "DELETE", "/api/topics/secret", &[], "");
        assert_eq!(del.json()["error"], "TOPIC_AUTHORIZATION_FAILED");
        let reset = post(
            http,
            "/api/groups/g/reset",
            serde_json::json!({"topic": "secret", "to": "earliest"}),
        );
        assert_eq!(reset.json()["error"], "GROUP_AUTHORIZATION_FAILED");
    })
    .await
    .unwrap();
    broker.shutdown().await.unwrap();
}

/// A cookie header value (`name=token`) from a Set-Cookie answer.
/// The names in an `/api/topics` answer, in its order.
fn topic_names(topics: &serde_json::Value) -> Vec<String> {
    topics
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

fn session_cookie(r: &Reply) -> String {
    let set = r.header("set-cookie").expect("a session cookie");
    set.split(';').next().unwrap().trim().to_string()
}

/// A broker with a SASL_PLAINTEXT listener enabling `mechanisms`, the
/// standard authorizer (super user `User:admin`, no access without an ACL),
/// the HTTP listener, and the given one-partition topics.
async fn broker_with_acls(
    mechanisms: &str,
    failed_delay_ms: &str,
    topics: &[&str],
) -> (tempfile::TempDir, Broker) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = BrokerConfig::ephemeral(dir.path().join("data"));
    config.http = Some("127.0.0.1:0".into());
    for (k, v) in [
        (
            "listeners",
            "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
        ),
        ("sasl.enabled.mechanisms", mechanisms),
        ("connection.failed.authentication.delay.ms", failed_delay_ms),
    ] {
        config
            .settings
            .set(k, v, weir::config::Source::Cli)
            .unwrap();
    }
    let acls = weir::acl::StandardAuthorizer::new("User:admin", false).unwrap();
    let pipeline = weir::pipeline::Pipeline::default().with_authorizer(std::sync::Arc::new(acls));
    let broker = Broker::start_with_pipeline(config, pipeline)
        .await
        .expect("broker starts");
    let state = broker.state();
    for t in topics {
        state
            .partitions
            .create_topic(t, 1, Default::default(), false)
            .unwrap();
    }
    (dir, broker)
}

/// With a SASL listener enabling SCRAM, the console asks for a login, checks
/// the password as the SASL path does (a wrong one is refused, after the
/// failed-authentication delay), keeps an HttpOnly SameSite=Strict session,
/// and acts as the user: it sees and reads what the user's ACLs allow and
/// nothing else. Logging out, or a changed credential, ends the session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_login_with_a_scram_user_acts_with_its_acls() {
    use weir::acl::{AclBinding, AclOperation, PatternType, PermissionType, ResourceType};
    use weir::security::scram_mechanism::ScramMechanism;
    use weir::security::scram_store::{credential_from_salted_password, CredentialChange};
    let (_dir, broker) = broker_with_acls("SCRAM-SHA-256", "300", &["visible", "hidden"]).await;
    let state = broker.state().clone();
    let credential = |password: &str| {
        let salt = b"console-test-salt".to_vec();
        let salted =
            pbkdf2::pbkdf2_hmac_array::<sha2::Sha256, 32>(password.as_bytes(), &salt, 4096);
        CredentialChange::Upsert {
            user: "carol".into(),
            mechanism: ScramMechanism::Sha256,
            credential: credential_from_salted_password(
                ScramMechanism::Sha256,
                &salt,
                &salted,
                4096,
            ),
        }
    };
    state.scram.apply(&[credential("carol-pw")]).unwrap();
    state
        .pipeline
        .authorizer()
        .acls()
        .unwrap()
        .create(&[AclBinding {
            resource_type: ResourceType::Topic,
            name: "visible".into(),
            pattern_type: PatternType::Literal,
            principal: "User:carol".into(),
            host: "*".into(),
            operation: AclOperation::Read,
            permission: PermissionType::Allow,
        }])
        .unwrap();
    let http = broker.http_addr().unwrap();
    tokio::task::spawn_blocking(move || {
        let login = |user: &str, password: &str| {
            post(
                http,
                "/api/login",
                serde_json::json!({"user": user, "password": password}),
            )
        };
        let with = |cookie: &str, path: &str| request(http, "GET", path, &[("Cookie", cookie)], "");
        let s = get(http, "/api/session").json();
        assert_eq!(
            s,
            serde_json::json!({"login": true, "user": null, "methods": ["password"]})
        );
        for path in [
            "/api/topics",
            "/api/console",
            "/api/topics/visible/messages",
        ] {
            let r = get(http, path);
            assert_eq!(r.status, 401, "{path}: {}", r.body);
            assert_eq!(r.json()["error"], "UNAUTHENTICATED");
        }
        // Wrong password, unknown user: refused after the delay, no cookie.
        for (user, password) in [("carol", "wrong"), ("mallory", "carol-pw")] {
            let started = Instant::now();
            let r = login(user, password);
            assert_eq!(r.status, 401, "{}", r.body);
            assert_eq!(r.json()["error"], "SASL_AUTHENTICATION_FAILED");
            assert!(r.header("set-cookie").is_none());
            assert!(started.elapsed() >= Duration::from_millis(300));
        }
        let ok = login("carol", "carol-pw");
        assert_eq!(ok.status, 200, "{}", ok.body);
        assert_eq!(ok.json()["user"], "carol");
        let set = ok.header("set-cookie").unwrap();
        for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
            assert!(set.contains(attr), "{set}");
        }
        let cookie = session_cookie(&ok);
        let token = cookie.split_once('=').unwrap().1;
        assert_eq!(token.len(), 64, "256 random bits");
        assert_eq!(with(&cookie, "/api/session").json()["user"], "carol");
        // The lists show what carol may describe (READ implies DESCRIBE).
        let names = topic_names(&with(&cookie, "/api/topics").json());
        assert_eq!(names, ["visible"]);
        let hidden = with(&cookie, "/api/topics/hidden");
        assert_eq!(hidden.status, 403);
        assert_eq!(hidden.json()["error"], "TOPIC_AUTHORIZATION_FAILED");
        // Reading is carol's right (ANONYMOUS has none); writing is not.
        let browse = with(&cookie, "/api/topics/visible/messages");
        assert_eq!(browse.status, 200, "{}", browse.body);
        let denied = with(&cookie, "/api/topics/hidden/messages");
        assert_eq!(denied.json()["error"], "TOPIC_AUTHORIZATION_FAILED");
        let produce = request(
            http,
            "POST",
            "/api/topics/visible/messages",
            &[("Cookie", &cookie)],
            &serde_json::json!({"value": "x"}).to_string(),
        );
        assert_eq!(produce.json()["error"], "TOPIC_AUTHORIZATION_FAILED");
        // Logging out ends the session.
        let out = request(http, "POST", "/api/logout", &[("Cookie", &cookie)], "");
        assert_eq!(out.status, 204);
        assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
        assert_eq!(with(&cookie, "/api/topics").status, 401);
        // A new password ends the sessions opened with the old one.
        let cookie = session_cookie(&login("carol", "carol-pw"));
        assert_eq!(with(&cookie, "/api/topics").status, 200);
        state.scram.apply(&[credential("new-pw")]).unwrap();
        assert_eq!(with(&cookie, "/api/topics").status, 401);
        assert_eq!(login("carol", "carol-pw").status, 401);
        assert_eq!(login("carol", "new-pw").status, 200);
    })
    .await
    .unwrap();
    broker.shutdown().await.unwrap();
}

/// An unsecured JWS as Kafka's `OAuthBearerUnsecuredLoginCallbackHandler` makes it.
fn unsecured_jws(sub: &str, lifetime_s: i64) -> String {
    use base64::Engine;
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let claims = serde_json::json!({"sub": sub, "iat": now - 1, "exp": now + lifetime_s});
    format!(
        "{}.{}.",
        b64(br#"{"alg":"none"}"#),
        b64(claims.to_string().as_bytes())
    )
}

/// A broker whose only SASL mechanism is OAUTHBEARER (Kafka's unsecured JWS
/// validator) still asks for a console login: a bearer token, checked by the
/// listener's validator. The session acts as the token's principal with its
/// ACLs, and ends when the token expires; a token that does not validate is
/// refused as a SASL client's would be.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_login_with_an_oauthbearer_token_acts_as_its_subject() {
    use weir::acl::{AclBinding, AclOperation, PatternType, PermissionType, ResourceType};
    let (_dir, broker) = broker_with_acls("OAUTHBEARER", "100", &["dave-topic", "other"]).await;
    let state = broker.state().clone();
    state
        .pipeline
        .authorizer()
        .acls()
        .unwrap()
        .create(&[AclBinding {
            resource_type: ResourceType::Topic,
            name: "dave-topic".into(),
            pattern_type: PatternType::Literal,
            principal: "User:dave".into(),
            host: "*".into(),
            operation: AclOperation::Describe,
            permission: PermissionType::Allow,
        }])
        .unwrap();
    let http = broker.http_addr().unwrap();
    tokio::task::spawn_blocking(move || {
        let with = |cookie: &str, path: &str| request(http, "GET", path, &[("Cookie", cookie)], "");
        let s = get(http, "/api/session").json();
        assert_eq!(
            s,
            serde_json::json!({"login": true, "user": null, "methods": ["token"]})
        );
        assert_eq!(get(http, "/api/topics").status, 401);
        // Refused: garbage, an expired token, a user and password (no PLAIN/SCRAM here).
        for body in [
            serde_json::json!({"token": "not-a-jws"}),
            serde_json::json!({"token": unsecured_jws("dave", -60)}),
            serde_json::json!({"user": "dave", "password": "pw"}),
        ] {
            let r = post(http, "/api/login", body.clone());
            assert_eq!(r.status, 401, "{body}: {}", r.body);
            assert_eq!(r.json()["error"], "SASL_AUTHENTICATION_FAILED");
            assert!(r.header("set-cookie").is_none());
        }
        let ok = post(
            http,
            "/api/login",
            serde_json::json!({"token": unsecured_jws("dave", 3)}),
        );
        assert_eq!(ok.status, 200, "{}", ok.body);
        assert_eq!(ok.json()["user"], "dave");
        let set = ok.header("set-cookie").unwrap();
        let max_age: u64 = set
            .split("Max-Age=")
            .nth(1)
            .and_then(|v| v.split(';').next())
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{set}"));
        assert!(
            max_age <= 3,
            "the cookie lives no longer than the token: {set}"
        );
        let cookie = session_cookie(&ok);
        assert_eq!(with(&cookie, "/api/session").json()["user"], "dave");
        let names = topic_names(&with(&cookie, "/api/topics").json());
        assert_eq!(names, ["dave-topic"]);
        // The token expires: so does the session.
        let deadline = Instant::now() + Duration::from_secs(10);
        while with(&cookie, "/api/topics").status == 200 {
            assert!(Instant::now() < deadline, "the session outlived its token");
            std::thread::sleep(Duration::from_millis(200));
        }
        assert_eq!(with(&cookie, "/api/topics").status, 401);
    })
    .await
    .unwrap();
    broker.shutdown().await.unwrap();
}

/// Share groups (KIP-932) on the groups pages: a member that joined with
/// ShareGroupHeartbeat and fetched with ShareFetch over the Kafka protocol is
/// listed with type, state and members, its assignment in the detail, and
/// the share-partition's start offset and lag per partition; the console does
/// not reset a share group's offsets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn share_groups_are_listed_with_members_assignment_and_start_offsets() {
    use kafka_protocol::messages::share_acknowledge_request::{
        AcknowledgePartition, AcknowledgeTopic, AcknowledgementBatch,
    };
    use kafka_protocol::messages::share_fetch_request::{FetchPartition, FetchTopic};
    use kafka_protocol::messages::{
        ApiKey, GroupId, RequestKind, ResponseKind, ShareAcknowledgeRequest, ShareFetchRequest,
        ShareGroupHeartbeatRequest, TopicName,
    };
    use kafka_protocol::protocol::StrBytes;
    let (_dir, broker, http) = broker_with_http(&[]).await;
    let topic_id = broker
        .state()
        .partitions
        .create_topic("queue", 1, Default::default(), false)
        .unwrap()
        .expect("a new topic")
        .id;
    let addr = broker.addr().to_string();
    let a = addr.clone();
    tokio::task::spawn_blocking(move || produce(&a, "queue", 1, 10))
        .await
        .unwrap();
    let mut c = RawClient::connect(broker.addr()).await;
    let member = uuid::Uuid::new_v4().to_string();
    let hb = ShareGroupHeartbeatRequest::default()
        .with_group_id(GroupId(StrBytes::from_static_str("shared")))
        .with_member_id(StrBytes::from_string(member.clone()))
        .with_member_epoch(0)
        .with_subscribed_topic_names(Some(vec![TopicName(StrBytes::from_static_str("queue"))]));
    let resp = c
        .call(
            RequestKind::ShareGroupHeartbeat(hb),
            ApiKey::ShareGroupHeartbeat,
            1,
        )
        .await;
    let ResponseKind::ShareGroupHeartbeat(r) = resp else {
        panic!("{resp:?}")
    };
    assert_eq!(r.error_code, 0, "{r:?}");
    let fetch_at = |epoch: i32| {
        ShareFetchRequest::default()
            .with_group_id(Some(GroupId(StrBytes::from_static_str("shared"))))
            .with_member_id(Some(StrBytes::from_string(member.clone())))
            .with_share_session_epoch(epoch)
            .with_max_wait_ms(0)
            .with_min_bytes(1)
            .with_max_bytes(1 << 20)
            .with_max_records(100)
            .with_batch_size(100)
            .with_topics(vec![FetchTopic::default()
                .with_topic_id(topic_id)
                .with_partitions(vec![FetchPartition::default()
                    .with_partition_index(0)
                    .with_partition_max_bytes(1 << 20)])])
    };
    let fetch = fetch_at(0);
    let resp = c
        .call(RequestKind::ShareFetch(fetch), ApiKey::ShareFetch, 1)
        .await;
    let ResponseKind::ShareFetch(r) = resp else {
        panic!("{resp:?}")
    };
    assert_eq!(r.error_code, 0, "{r:?}");
    // share.auto.offset.reset=latest: the share-partition starts at the log
    // end (10); 5 more records, acquired, then offset 12 accepted: the start
    // offset stays at 10 and the lag is 4 (Kafka's lag leaves out records
    // acknowledged past the start offset).
    tokio::task::spawn_blocking(move || produce(&addr, "queue", 1, 5))
        .await
        .unwrap();
    let acquire = fetch_at(1);
    let resp = c
        .call(RequestKind::ShareFetch(acquire), ApiKey::ShareFetch, 1)
        .await;
    let ResponseKind::ShareFetch(r) = resp else {
        panic!("{resp:?}")
    };
    let acquired: Vec<(i64, i64)> = r.responses[0].partitions[0]
        .acquired_records
        .iter()
        .map(|a| (a.first_offset, a.last_offset))
        .collect();
    assert_eq!(acquired, vec![(10, 14)], "{r:?}");
    let ack = ShareAcknowledgeRequest::default()
        .with_group_id(Some(GroupId(StrBytes::from_static_str("shared"))))
        .with_member_id(Some(StrBytes::from_string(member.clone())))
        .with_share_session_epoch(2)
        .with_topics(vec![AcknowledgeTopic::default()
            .with_topic_id(topic_id)
            .with_partitions(vec![AcknowledgePartition::default()
                .with_partition_index(0)
                .with_acknowledgement_batches(vec![
                    AcknowledgementBatch::default()
                        .with_first_offset(12)
                        .with_last_offset(12)
                        .with_acknowledge_types(vec![1]),
                ])])]);
    let resp = c
        .call(
            RequestKind::ShareAcknowledge(ack),
            ApiKey::ShareAcknowledge,
            1,
        )
        .await;
    let ResponseKind::ShareAcknowledge(r) = resp else {
        panic!("{resp:?}")
    };
    assert_eq!(r.responses[0].partitions[0].error_code, 0, "{r:?}");
    tokio::task::spawn_blocking(move || {
        let groups = get(http, "/api/groups").json();
        let g = groups
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["group_id"] == "shared")
            .unwrap_or_else(|| panic!("the share group is listed: {groups}"));
        assert_eq!(g["group_type"], "share");
        assert_eq!(g["state"], "Stable");
        assert_eq!(g["members"], 1);
        let p = &g["partitions"][0];
        assert_eq!(
            (&p["topic"], &p["partition"]),
            (&serde_json::json!("queue"), &serde_json::json!(0))
        );
        assert_eq!(p["committed"], 10, "the share-partition start offset: {g}");
        assert_eq!(p["log_end_offset"], 15);
        assert_eq!(p["lag"], 4, "15 - 10 - one accepted past the start: {g}");
        assert_eq!(get(http, "/api/groups/shared").json(), *g);
        // The same figures in /metrics.
        let text = get(http, "/metrics").body;
        for line in [
            r#"weir_sharegroup_members{sharegroup="shared"} 1"#,
            r#"weir_sharegroup_state{sharegroup="shared",state="Stable"} 1"#,
            r#"weir_sharegroup_start_offset{sharegroup="shared",topic="queue",partition="0"} 10"#,
            r#"weir_sharegroup_lag{sharegroup="shared",topic="queue",partition="0"} 4"#,
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
        }
        let d = get(http, "/api/groups/shared/detail").json();
        assert_eq!(d["group_type"], "share", "{d}");
        assert_eq!(d["state"], "Stable");
        assert_eq!(d["members"][0]["member_id"], member.as_str());
        assert_eq!(
            d["members"][0]["assignment"],
            serde_json::json!({"queue": [0]})
        );
        let reset = post(
            http,
            "/api/groups/shared/reset",
            serde_json::json!({"to": "earliest", "dry_run": true}),
        );
        assert_eq!(reset.status, 400, "{}", reset.body);
        assert!(reset.body.contains("AlterShareGroupOffsets"));
    })
    .await
    .unwrap();
    broker.shutdown().await.unwrap();
}

/// The login in a real browser (`tests/console/login.mjs`) against a broker
/// with a SASL/PLAIN listener. Skips as the browser flow does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_login_in_a_real_browser() {
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/console");
    if let Err(why) = browser_tools(&scripts) {
        eprintln!("SKIP: {why}");
        return;
    }
    let jaas = "org.apache.kafka.common.security.plain.PlainLoginModule required \
                user_alice=\"alice-secret\";";
    let (dir, broker, http) = broker_with_http(&[
        (
            "listeners",
            "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
        ),
        ("sasl.enabled.mechanisms", "PLAIN,OAUTHBEARER"),
        ("listener.name.sasl_plaintext.plain.sasl.jaas.config", jaas),
        ("connection.failed.authentication.delay.ms", "50"),
    ])
    .await;
    let token = unsecured_jws("erin", 600);
    let shots = match std::env::var_os("CONSOLE_SHOTS") {
        Some(d) => Path::new(env!("CARGO_MANIFEST_DIR")).join(d),
        None => dir.path().join("shots"),
    };
    std::fs::create_dir_all(&shots).unwrap();
    let status = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(scripts.join("login.mjs"))
            .current_dir(&scripts)
            .env("WEIR_HTTP", format!("http://{http}"))
            .env("WEIR_USER", "alice")
            .env("WEIR_PASSWORD", "alice-secret")
            .env("WEIR_TOKEN", token)
            .env("WEIR_TOKEN_USER", "erin")
            .env("SHOTS", &shots)
            .status()
            .expect("run node")
    })
    .await
    .unwrap();
    broker.shutdown().await.unwrap();
    assert!(
        status.success(),
        "the browser login failed (see its output above)"
    );
}
