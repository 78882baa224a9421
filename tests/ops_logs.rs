//! The log lines an operator needs, read from the real binary's stderr: a full
//! disk (a file-size limit on the broker process: its writes fail with EFBIG,
//! as they fail with ENOSPC on a full file system) is answered
//! KAFKA_STORAGE_ERROR and logged once, not per request; recovery of a torn
//! log tail after a hard kill says what it cut.

mod support;

use bytes::Bytes;
use kafka_protocol::ResponseError;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::*;
use weir_storage::{BatchBuilder, Record};

/// A `weir` child whose stderr lines are kept.
struct Weir {
    child: Child,
    addr: SocketAddr,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Weir {
    /// Run `weir serve ARGS` under `sh` with `limits` (shell commands such as
    /// `ulimit -f 256`) applied first; wait for the readiness line.
    fn spawn(limits: &str, args: &[&str]) -> Weir {
        let script = format!("{limits}\nexec \"$0\" \"$@\"");
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg(WEIR)
            .arg("serve")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn weir");
        let stderr = child.stderr.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let kept = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[weir] {line}");
                if let Some(a) = line.strip_prefix("weir listening on ") {
                    let _ = tx.send(a.to_string());
                }
                kept.lock().unwrap().push(line);
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(a) => a.parse().unwrap(),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("weir printed no readiness line");
            }
        };
        Weir { child, addr, lines }
    }

    fn lines_with(&self, needle: &str) -> Vec<String> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(needle))
            .cloned()
            .collect()
    }

    /// Wait up to `secs` for a line containing every one of `needles`.
    fn wait_line(&self, secs: u64, needles: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(l) = self
                .lines
                .lock()
                .unwrap()
                .iter()
                .find(|l| needles.iter().all(|n| l.contains(n)))
            {
                return l.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no line with {needles:?} in: {:#?}",
                self.lines.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Weir {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A batch of `n` records of `size` bytes each.
fn big_batch(n: usize, size: usize) -> Vec<u8> {
    let mut b = BatchBuilder::new();
    for i in 0..n {
        b.push(Record {
            offset: i as i64,
            timestamp: now_ms(),
            key: None,
            value: Some(Bytes::from(vec![b'x'; size])),
            headers: vec![],
        });
    }
    b.build().expect("build batch")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_answered_kafka_storage_error_and_logged_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    // Files may grow to 256 blocks (128 or 256 KiB, by the shell's block
    // size); a write past that fails with EFBIG (SIGXFSZ ignored), as a
    // write to a full disk fails with ENOSPC. Small indexes fit under it.
    let weir = Weir::spawn(
        "trap '' XFSZ\nulimit -f 256",
        &[
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            d,
            "--set",
            "log.index.size.max.bytes=4096",
        ],
    );
    let mut c = RawClient::connect(weir.addr).await;
    create_topic_raw(&mut c, "full", 1).await;
    let mut failed = 0;
    let mut ok = 0;
    for _ in 0..64 {
        let r = produce_raw(&mut c, "full", 0, big_batch(8, 4096), 9).await;
        if r.error_code == ResponseError::KafkaStorageError.code() {
            failed += 1;
        } else {
            assert_eq!(r.error_code, 0, "{r:?}");
            ok += 1;
        }
    }
    assert!(ok >= 1, "the first produces fit");
    assert!(failed >= 10, "{failed} produces failed after {ok}");
    let line = weir.wait_line(10, &["KAFKA_STORAGE_ERROR"]);
    assert!(line.contains("ERROR"), "{line}");
    assert!(line.contains("too large"), "the OS error is named: {line}");
    // Every later failure within the minute is counted, not logged again.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        weir.lines_with("KAFKA_STORAGE_ERROR").len(),
        1,
        "{:#?}",
        weir.lines.lock().unwrap()
    );
    // The broker stays up and answers: what no longer fits still fails, a
    // small batch may still fit below the limit (as on a nearly full disk).
    let r = produce_raw(&mut c, "full", 0, big_batch(8, 4096), 9).await;
    assert_eq!(r.error_code, ResponseError::KafkaStorageError.code());
    let r = produce_raw(&mut c, "full", 0, big_batch(1, 10), 9).await;
    assert!(
        r.error_code == 0 || r.error_code == ResponseError::KafkaStorageError.code(),
        "{r:?}"
    );
    eprintln!("logged: {line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_of_a_torn_tail_logs_how_much_was_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let args = ["--listen", "127.0.0.1:0", "--data-dir", d];
    let mut weir = Weir::spawn("", &args);
    let mut c = RawClient::connect(weir.addr).await;
    create_topic_raw(&mut c, "torn", 1).await;
    let r = produce_raw(&mut c, "torn", 0, big_batch(10, 100), 9).await;
    assert_eq!(r.error_code, 0);
    drop(c);
    // A hard kill, then a torn write at the tail: 100 bytes that are no batch.
    weir.child.kill().unwrap();
    weir.child.wait().unwrap();
    let log = dir.path().join("torn-0").join("00000000000000000000.log");
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all(&[0xff; 100]).unwrap();
    drop(f);

    let weir = Weir::spawn("", &args);
    let line = weir.wait_line(20, &["recovered log", "torn-0"]);
    assert!(line.contains("WARN"), "{line}");
    assert!(
        line.contains("truncated 100 bytes (100 bytes at offset 10)"),
        "{line}"
    );
    assert!(line.contains("log end offset 10"), "{line}");
    // What was kept is served.
    let mut c = RawClient::connect(weir.addr).await;
    let r = produce_raw(&mut c, "torn", 0, big_batch(1, 10), 9).await;
    assert_eq!((r.error_code, r.base_offset), (0, 10));
}
