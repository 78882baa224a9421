//! Orchestrates a run: topic set-up, optional prefill, start offsets, producer and consumer
//! tasks, the per-second sampler, CPU accounting, and `--compare` rounds.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::args::{Config, Mode, StartAt, DEFAULT_DURATION};
use crate::cluster::{self, TopicLayout, TopicSpec};
use crate::consume::{run_consumer, ConsumerPlan, StopRule};
use crate::produce::{run_producer, ProducerPlan};
use crate::report::{self, Report};
use crate::stats::{cpu_times, host_ticks, steal_percent, Clock, Sampler, Stats};
use crate::BenchError;

/// How long consumers may keep draining after the producers finished (e2e).
const DRAIN_GRACE: Duration = Duration::from_secs(15);
/// A consume of `--records N` with no `--duration` gives up when no record came for
/// this long (Kafka's `kafka-consumer-perf-test --timeout`, default 10 s): a topic
/// holding fewer than N records would otherwise keep it waiting forever.
const CONSUME_IDLE_LIMIT: Duration = Duration::from_secs(10);

/// Runs the configured benchmark (and comparison) and prints the results.
pub async fn main(cfg: Config) -> Result<(), BenchError> {
    let cfg = Arc::new(cfg);
    crate::interrupt::install();
    match cfg.compare.clone() {
        None => {
            let r = run_against(&cfg, &cfg.bootstrap, true).await?;
            if cfg.json {
                println!("{}", r.to_json());
            } else {
                print!("{}", r.to_text());
            }
            if let Some(path) = &cfg.svg {
                write_svg(path, &r)?;
            }
            if let Some(f) = r.failure_summary() {
                return Err(BenchError::Run(f));
            }
        }
        Some(b_addr) => {
            let a_addr = cfg.bootstrap.clone();
            let b_cfg = match &cfg.compare_security {
                None => cfg.clone(),
                Some(s) => Arc::new(Config {
                    security: s.clone(),
                    ..(*cfg).clone()
                }),
            };
            let (mut a, mut b) = (Vec::new(), Vec::new());
            for round in 0..cfg.rounds {
                for (name, cfg, addr, out) in
                    [("A", &cfg, &a_addr, &mut a), ("B", &b_cfg, &b_addr, &mut b)]
                {
                    eprintln!(
                        "weir bench: round {}/{} broker {name} = {addr} ({})",
                        round + 1,
                        cfg.rounds,
                        cfg.security.protocol_name()
                    );
                    let r = run_against(cfg, addr, round == 0).await?;
                    if !cfg.json {
                        eprint!("{}", r.to_text());
                    }
                    out.push(r);
                    if crate::interrupt::requested() {
                        break;
                    }
                }
                if crate::interrupt::requested() {
                    break;
                }
            }
            let rows = report::compare_rows(&a, &b);
            if cfg.json {
                println!("{}", report::compare_json(&a, &b, &rows));
            } else {
                print!(
                    "{}",
                    report::compare_text(&a_addr, &b_addr, &rows, cfg.rounds)
                );
            }
            if let Some(path) = &cfg.svg {
                // One SVG per broker, from its last round.
                for (tag, rs) in [("a", &a), ("b", &b)] {
                    if let Some(r) = rs.last() {
                        let p = path.with_extension(format!("{tag}.svg"));
                        write_svg(&p, r)?;
                    }
                }
            }
            if let Some(f) = a.iter().chain(&b).find_map(Report::failure_summary) {
                return Err(BenchError::Run(f));
            }
        }
    }
    Ok(())
}

fn write_svg(path: &std::path::Path, r: &Report) -> Result<(), BenchError> {
    std::fs::write(path, report::to_svg(r))
        .map_err(|e| BenchError::Run(format!("writing {}: {e}", path.display())))?;
    eprintln!("weir bench: wrote {}", path.display());
    Ok(())
}

/// Splits `total` into `n` shares that add up to it.
pub fn shares(total: u64, n: usize) -> Vec<u64> {
    let n64 = n as u64;
    (0..n64)
        .map(|i| total / n64 + u64::from(i < total % n64))
        .collect()
}

/// Round-robin assignment of partitions to consumers.
pub fn assign(partitions: usize, consumers: usize) -> Vec<Vec<usize>> {
    let mut out = vec![Vec::new(); consumers];
    for p in 0..partitions {
        out[p % consumers].push(p);
    }
    out
}

fn spawn_producers(
    cfg: &Arc<Config>,
    layout: &Arc<TopicLayout>,
    stats: &Arc<Stats>,
    records: Option<u64>,
    rate: Option<f64>,
    deadline: Option<Instant>,
) -> Vec<tokio::task::JoinHandle<Result<(), BenchError>>> {
    let n = cfg.producers;
    let counts = records.map(|r| shares(r, n));
    let start = Instant::now();
    (0..n)
        .filter(|&i| counts.as_ref().is_none_or(|c| c[i] > 0))
        .map(|i| {
            tokio::spawn(run_producer(ProducerPlan {
                id: i,
                cfg: cfg.clone(),
                layout: layout.clone(),
                stats: stats.clone(),
                records: counts.as_ref().map(|c| c[i]),
                rate: rate.map(|r| r / n as f64),
                start,
                deadline,
            }))
        })
        .collect()
}

async fn join_all(
    tasks: Vec<tokio::task::JoinHandle<Result<(), BenchError>>>,
) -> Result<(), BenchError> {
    let mut first: Option<BenchError> = None;
    for t in tasks {
        let r = t
            .await
            .map_err(|e| BenchError::Run(format!("task failed: {e}")))
            .and_then(|r| r);
        if let Err(e) = r {
            first.get_or_insert(e);
        }
    }
    first.map_or(Ok(()), Err)
}

/// One measured run against one broker.
pub async fn run_against(
    cfg: &Arc<Config>,
    bootstrap: &str,
    do_prefill: bool,
) -> Result<Report, BenchError> {
    let spec = cfg.create.then(|| TopicSpec {
        partitions: cfg.partitions,
        replication_factor: cfg.replication_factor,
        configs: cfg.topic_configs.clone(),
    });
    let layout =
        Arc::new(cluster::ensure_topic(bootstrap, &cfg.security, &cfg.topic, spec.as_ref()).await?);
    let clock = Clock::new();

    if cfg.mode == Mode::Consume && do_prefill && cfg.prefill > 0 {
        eprintln!("weir bench: prefilling {} records", cfg.prefill);
        let stats = Arc::new(Stats::new(clock));
        join_all(spawn_producers(
            cfg,
            &layout,
            &stats,
            Some(cfg.prefill),
            None,
            None,
        ))
        .await?;
        let errors = stats.produce_errors.load(Relaxed);
        if errors > 0 {
            return Err(BenchError::Run(format!(
                "prefill: {errors} records failed (error code {})",
                stats.last_produce_error.load(Relaxed) as u16 as i16
            )));
        }
    }

    // Start offsets. e2e starts at the end and ignores any older record it still sees
    // (some brokers answer ListOffsets loosely), by the send stamp in the value.
    let start_offsets = match cfg.mode {
        Mode::Produce => Vec::new(),
        Mode::E2e => cluster::list_offsets(&layout, &cfg.security, cluster::LATEST).await?,
        Mode::Consume => match cfg.from {
            StartAt::Earliest => {
                cluster::list_offsets(&layout, &cfg.security, cluster::EARLIEST).await?
            }
            StartAt::Latest => {
                cluster::list_offsets(&layout, &cfg.security, cluster::LATEST).await?
            }
        },
    };
    if std::env::var_os("WEIR_BENCH_DEBUG").is_some() {
        eprintln!("weir bench: start offsets {start_offsets:?}");
    }

    let stats = Arc::new(Stats::new(clock));
    let start = stats.start;
    let duration = match (cfg.mode, cfg.records, cfg.duration) {
        (Mode::Consume, _, d) => d,
        (_, None, None) => Some(DEFAULT_DURATION),
        (_, _, d) => d,
    };
    let deadline = duration.map(|d| start + cfg.warmup + d);
    // Warm-up: after `--warmup`, forget what was measured; the measured run starts then.
    let warmup = {
        let stats = stats.clone();
        let w = cfg.warmup;
        tokio::spawn(async move {
            if !w.is_zero() {
                tokio::time::sleep(w).await;
                stats.reset();
                eprintln!(
                    "weir bench: warm-up of {} s done, measuring",
                    w.as_secs_f64()
                );
            }
            (Instant::now(), cpu_times(), host_ticks())
        })
    };

    // Per-second sampler: progress line and timeline.
    let (sampler_stop, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
    let sampler = {
        let stats = stats.clone();
        let quiet = cfg.quiet;
        tokio::spawn(async move {
            let mut s = Sampler::new(stats.start);
            let mut tick = tokio::time::interval_at(
                (stats.start + Duration::from_secs(1)).into(),
                Duration::from_secs(1),
            );
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        let line = s.sample(&stats, Instant::now());
                        if !quiet {
                            eprintln!("{line}");
                        }
                    }
                    _ = &mut stop_rx => break,
                }
            }
            // Close a last partial interval if it is long enough to mean something.
            let last = s.timeline.last().map_or(0.0, |p| p.t);
            if stats.start.elapsed().as_secs_f64() - last > 0.2 {
                s.sample(&stats, Instant::now());
            }
            s.timeline
        })
    };

    let stop = Arc::new(StopRule {
        deadline: if cfg.mode == Mode::Consume {
            deadline
        } else {
            None
        },
        target: AtomicU64::new(match cfg.mode {
            Mode::Consume => cfg.records.unwrap_or(u64::MAX),
            _ => u64::MAX,
        }),
        until_caught_up: cfg.mode == Mode::Consume
            && cfg.records.is_none()
            && cfg.duration.is_none(),
        min_stamp_us: (cfg.mode == Mode::E2e).then(|| stats.clock.us_at(start)),
        abort: AtomicBool::new(false),
    });
    let consumers = if cfg.mode == Mode::Produce {
        Vec::new()
    } else {
        let start_offsets = Arc::new(start_offsets);
        assign(layout.partitions(), cfg.consumers)
            .into_iter()
            .filter(|parts| !parts.is_empty())
            .map(|parts| {
                tokio::spawn(run_consumer(ConsumerPlan {
                    cfg: cfg.clone(),
                    layout: layout.clone(),
                    stats: stats.clone(),
                    partitions: parts,
                    start_offsets: start_offsets.clone(),
                    stop: stop.clone(),
                    measure_e2e: cfg.mode == Mode::E2e,
                }))
            })
            .collect()
    };

    let mut produce_end = start;
    let mut failure: Option<BenchError> = None;
    if cfg.mode != Mode::Consume {
        let producers = spawn_producers(cfg, &layout, &stats, cfg.records, cfg.rate, deadline);
        if let Err(e) = join_all(producers).await {
            failure = Some(e);
            stop.abort.store(true, Relaxed);
        }
        produce_end = Instant::now();
        // Consumers should now see every acknowledged record.
        stop.target
            .store(stats.acked_records.load(Relaxed), Relaxed);
    }
    let mut consume_end = start;
    if !consumers.is_empty() {
        let joined = join_all(consumers);
        tokio::pin!(joined);
        let drained = if cfg.mode == Mode::E2e {
            match tokio::time::timeout(DRAIN_GRACE, &mut joined).await {
                Ok(r) => r,
                Err(_) => {
                    eprintln!(
                        "weir bench: consumers did not see all acked records within {}s after producing ended",
                        DRAIN_GRACE.as_secs()
                    );
                    stop.abort.store(true, Relaxed);
                    joined.await
                }
            }
        } else if cfg.mode == Mode::Consume && stop.deadline.is_none() {
            let idle = until_idle(&stats, &stop, CONSUME_IDLE_LIMIT);
            tokio::pin!(idle);
            tokio::select! {
                r = &mut joined => r,
                consumed = &mut idle => {
                    stop.abort.store(true, Relaxed);
                    let _ = joined.await;
                    let wanted = match stop.target.load(Relaxed) {
                        u64::MAX => "before catching up".to_string(),
                        n => format!("of {n} (does the topic hold that many?)"),
                    };
                    Err(BenchError::Run(format!(
                        "consumed {consumed} records {wanted}, none in the last {} s; \
                         --duration bounds the wait instead",
                        CONSUME_IDLE_LIMIT.as_secs()
                    )))
                }
            }
        } else {
            joined.await
        };
        if let Err(e) = drained {
            failure.get_or_insert(e);
        }
        consume_end = Instant::now();
    }
    let end = Instant::now();
    let (cpu_u1, cpu_s1) = cpu_times();
    let host1 = host_ticks();
    if !warmup.is_finished() {
        warmup.abort();
        failure.get_or_insert(BenchError::Run(
            "the run ended before the warm-up did".into(),
        ));
    }
    let (measure_start, (cpu_u0, cpu_s0), host0) = match warmup.await {
        Ok(v) => v,
        Err(_) => (start, (cpu_u1, cpu_s1), host1),
    };
    let _ = sampler_stop.send(());
    let timeline = sampler
        .await
        .map_err(|e| BenchError::Run(format!("sampler failed: {e}")))?;
    if let Some(e) = failure {
        return Err(e);
    }
    let (ack, e2e) = stats.totals();
    Ok(Report {
        broker: bootstrap.to_string(),
        mode: cfg.mode,
        workload: cfg.workload.clone(),
        settings: report::settings_line(cfg, layout.partitions()),
        partitions: layout.partitions(),
        acks: cfg.acks,
        produce_secs: produce_end.duration_since(measure_start).as_secs_f64(),
        consume_secs: consume_secs(&stats, measure_start, consume_end),
        sent_records: stats.sent_records.load(Relaxed),
        acked_records: stats.acked_records.load(Relaxed),
        produce_errors: stats.produce_errors.load(Relaxed),
        last_produce_error: stats.last_produce_error.load(Relaxed) as u16 as i16,
        acked_payload_bytes: stats.acked_payload_bytes.load(Relaxed),
        produce_wire_bytes: stats.wire_bytes.load(Relaxed),
        consumed_records: stats.consumed_records.load(Relaxed),
        consumed_payload_bytes: stats.consumed_payload_bytes.load(Relaxed),
        fetch_wire_bytes: stats.fetched_wire_bytes.load(Relaxed),
        produce_requests: stats.produce_requests.load(Relaxed),
        fetch_responses: stats.fetch_responses.load(Relaxed),
        ack: if cfg.acks == 0 { None } else { ack },
        e2e,
        cpu_user_secs: (cpu_u1 - cpu_u0).as_secs_f64(),
        cpu_sys_secs: (cpu_s1 - cpu_s0).as_secs_f64(),
        host_steal_percent: steal_percent(host0, host1),
        wall_secs: end.duration_since(measure_start).as_secs_f64(),
        timeline,
    })
}

/// Returns (the records consumed) once `limit` passes with no record consumed while
/// the run still wants more; never while records keep coming.
async fn until_idle(stats: &Stats, stop: &StopRule, limit: Duration) -> u64 {
    let mut seen = stats.consumed_records.load(Relaxed);
    let mut since = Instant::now();
    loop {
        tokio::time::sleep(limit / 10).await;
        let now = stats.consumed_records.load(Relaxed);
        if now != seen || now >= stop.target.load(Relaxed) {
            (seen, since) = (now, Instant::now());
        } else if since.elapsed() >= limit {
            return now;
        }
    }
}

/// Seconds from the start of measuring to the last consumed record (or to when the
/// consumers stopped, if that is not known).
fn consume_secs(stats: &Stats, measure_start: Instant, consume_end: Instant) -> f64 {
    let last = stats.last_consumed_us.load(Relaxed);
    let from = stats.clock.us_at(measure_start);
    if last > from {
        (last - from) as f64 / 1e6
    } else {
        consume_end.duration_since(measure_start).as_secs_f64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_add_up() {
        assert_eq!(shares(10, 3), vec![4, 3, 3]);
        assert_eq!(shares(2, 4), vec![1, 1, 0, 0]);
        assert_eq!(shares(10, 3).iter().sum::<u64>(), 10);
    }

    #[test]
    fn assignment_covers_every_partition_once() {
        let a = assign(10, 3);
        assert_eq!(a[0], vec![0, 3, 6, 9]);
        let mut all: Vec<usize> = a.concat();
        all.sort();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        assert_eq!(assign(2, 4)[3], Vec::<usize>::new());
    }
}
