//! Broker lifecycle: open the data dir, bind the listener, accept connections
//! (a task per client), and shut down gracefully: stop accepting, let requests
//! in flight finish, snapshot producer state, flush, write the clean-shutdown
//! marker ([`Store::close`]).

use crate::config::Settings;
use crate::error::StartError;
use crate::http::HttpState;
use crate::metrics::Metrics;
use crate::pipeline::Pipeline;
use crate::security::listeners;
use crate::security::{AdvertisedListener, Listener};
use crate::state::BrokerState;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use weir_storage::{StorageError, Store};

/// How long shutdown waits for requests in flight before closing the store.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(3);

/// Everything needed to start a broker.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// `HOST:PORT` to listen on (port 0 = any free port).
    pub listen: String,
    /// `HOST:PORT` clients are told to connect to; default: the listen host with the bound port.
    pub advertise: Option<String>,
    pub data_dir: PathBuf,
    /// `HOST:PORT` for the HTTP health endpoint, if wanted.
    pub http: Option<String>,
    pub settings: Settings,
}

impl BrokerConfig {
    /// A broker on 127.0.0.1, any free port, with default settings (for tests).
    pub fn ephemeral(data_dir: impl Into<PathBuf>) -> Self {
        BrokerConfig {
            listen: "127.0.0.1:0".into(),
            advertise: None,
            data_dir: data_dir.into(),
            http: None,
            settings: Settings::default(),
        }
    }
}

/// A running broker: the `weir` binary's body, and an embedded broker for
/// other Rust projects' tests.
///
/// [`Broker::start`] opens real storage in the data dir, binds the listener and
/// serves the Kafka protocol until [`Broker::shutdown`] or drop; clients
/// bootstrap from [`Broker::addr`]. Dropping a broker stops it: it stops
/// accepting, lets requests in flight finish (up to 3 s) and closes the store
/// (snapshot, flush, clean-shutdown marker, data-dir lock released) on the
/// runtime it was dropped in; await [`Broker::shutdown`] instead to wait for
/// that and see its errors.
///
/// # Embedded in a test
/// ```
/// use weir::{Broker, BrokerConfig};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let dir = tempfile::tempdir().unwrap(); // real storage, removed afterwards
/// let mut config = BrokerConfig::ephemeral(dir.path()); // 127.0.0.1, any free port
/// config.settings.set("num.partitions", "3", weir::config::Source::Cli).unwrap();
/// let broker = Broker::start(config).await.unwrap();
/// let bootstrap = broker.addr().to_string(); // `bootstrap.servers` for any Kafka client
///
/// // A client connects there (here: a bare TCP connect).
/// tokio::net::TcpStream::connect(&bootstrap).await.unwrap();
///
/// drop(broker); // stops it (or `broker.shutdown().await` to wait for a clean close)
/// # // Stopped: the port closes and the store is closed cleanly (marker written).
/// # let stopped = async {
/// #     while tokio::net::TcpStream::connect(&bootstrap).await.is_ok()
/// #         || !dir.path().join(".clean_shutdown").exists()
/// #     {
/// #         tokio::time::sleep(std::time::Duration::from_millis(20)).await;
/// #     }
/// # };
/// # let limit = std::time::Duration::from_secs(10);
/// # tokio::time::timeout(limit, stopped).await.expect("stopped on drop");
/// # }
/// ```
pub struct Broker {
    addr: SocketAddr,
    /// Every listener's name and bound address, in `listeners` order.
    listener_addrs: Vec<(Arc<str>, SocketAddr)>,
    http_addr: Option<SocketAddr>,
    state: Arc<BrokerState>,
    shutdown_tx: watch::Sender<bool>,
    /// `None` once [`Broker::shutdown`] has taken it (drop has nothing left to do).
    accept_task: Option<tokio::task::JoinHandle<()>>,
    background: Vec<tokio::task::JoinHandle<()>>,
}

impl Broker {
    /// Open the data dir, bind, and start serving. Prints the readiness line
    /// `weir listening on HOST:PORT` to stderr once ApiVersions can be answered.
    pub async fn start(config: BrokerConfig) -> Result<Broker, StartError> {
        Broker::start_with_pipeline(config, Pipeline::default()).await
    }

    /// [`Broker::start`] with the given request-pipeline stages (authentication,
    /// authorization, quotas, request observer) instead of the pass-through ones.
    pub async fn start_with_pipeline(
        config: BrokerConfig,
        pipeline: Pipeline,
    ) -> Result<Broker, StartError> {
        let limits = weir_storage::raise_open_file_limit();
        let dir = config.data_dir.clone();
        let store = tokio::task::spawn_blocking(move || Store::open(&dir))
            .await
            .map_err(|e| StartError::Other(format!("start-up task failed: {e}")))?
            .map_err(|e| match e {
                StorageError::Locked(p) => StartError::Locked(p),
                other => StartError::DataDir {
                    dir: config.data_dir.clone(),
                    source: other,
                },
            })?;
        let store = Arc::new(store);
        let cap = config.settings.i64("weir.log.max.open.segments");
        if cap > 0 {
            store.set_max_open_segments(cap as usize);
        }
        // Listeners: resolve, build their security, bind them all (nothing is
        // served before every one is bound).
        let mut config = config;
        let specs = match prepare_listeners(&mut config) {
            Ok(s) => s,
            Err(e) => {
                let _ = store.close();
                return Err(StartError::Other(e));
            }
        };
        let mut bound = Vec::with_capacity(specs.len());
        for spec in &specs {
            let built = Listener::build(spec, &config.settings);
            let listener = match built {
                Ok(l) => Arc::new(l),
                Err(e) => {
                    let _ = store.close();
                    return Err(StartError::Other(e.to_string()));
                }
            };
            let bind = match spec.bind.strip_prefix(':') {
                Some(port) => format!("0.0.0.0:{port}"),
                None => spec.bind.clone(),
            };
            let tcp = match TcpListener::bind(&bind).await {
                Ok(l) => l,
                Err(source) => {
                    // Nothing was written: leave the data dir marked clean.
                    let _ = store.close();
                    return Err(StartError::Bind {
                        addr: spec.bind.clone(),
                        source,
                    });
                }
            };
            let addr = tcp.local_addr().map_err(|source| StartError::Bind {
                addr: spec.bind.clone(),
                source,
            })?;
            let (host, port) = match &spec.advertised {
                Some((h, p)) => (h.clone(), if *p == 0 { addr.port() } else { *p }),
                None => {
                    let host = listeners::split_host_port(&spec.bind)
                        .map(|(h, _)| h)
                        .filter(|h| !h.is_empty())
                        .unwrap_or_else(|| addr.ip().to_string());
                    (host, addr.port())
                }
            };
            let advertised = AdvertisedListener {
                name: listener.name.clone(),
                host,
                port: port as i32,
            };
            bound.push((listener, tcp, addr, advertised));
        }
        let addr = bound[0].2;
        let (adv_host, adv_port) = (bound[0].3.host.clone(), bound[0].3.port as u16);
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let settings = Arc::new(config.settings.clone());
        let metrics = Arc::new(Metrics::default());
        let pipeline = pipeline.also_observe(metrics.requests.clone());
        let st = store.clone();
        let state = tokio::task::spawn_blocking(move || {
            BrokerState::new(settings, st, adv_host, adv_port, shutdown_rx, pipeline)
        })
        .await
        .map_err(|e| StartError::Other(format!("start-up task failed: {e}")))?;
        let state = match state {
            Ok(mut s) => {
                s.advertised_listeners = bound.iter().map(|b| b.3.clone()).collect();
                Arc::new(s)
            }
            Err(e) => {
                let _ = store.close();
                return Err(e);
            }
        };
        let mut background = Vec::new();
        let mut http_addr = None;
        let ready = Arc::new(AtomicBool::new(false));
        if let Some(http) = &config.http {
            let l = TcpListener::bind(http)
                .await
                .map_err(|source| StartError::Bind {
                    addr: http.clone(),
                    source,
                })?;
            http_addr = l.local_addr().ok();
            let http = HttpState {
                broker: state.clone(),
                metrics: metrics.clone(),
                ready: ready.clone(),
                login: Arc::new(crate::http::console::login::Login::new(
                    bound.iter().filter_map(|b| b.0.sasl.clone()).collect(),
                )),
            };
            background.push(tokio::spawn(crate::http::serve(http, l)));
        }
        background.push(tokio::spawn(crate::flusher::run(state.clone())));
        background.push(tokio::spawn(state.groups.clone().run_timers()));
        background.push(tokio::spawn(state.txn.clone().run_timers(state.clone())));
        // Retention and the log cleaner: own thread, ends at shutdown.
        crate::log_manager::start(state.clone(), metrics.log_manager.clone());
        let mut accepts = JoinSet::new();
        let mut listener_addrs = Vec::with_capacity(bound.len());
        let reload_every =
            Duration::from_millis(config.settings.i64("weir.ssl.reload.interval.ms") as u64);
        for (listener, tcp, bound_addr, _) in bound {
            listener_addrs.push((listener.name.clone(), bound_addr));
            if let Some(tls) = &listener.tls {
                background.push(tokio::spawn(tls.clone().watch(reload_every)));
            }
            if let Some(file) = listener.sasl.as_ref().and_then(|s| s.plain.file.clone()) {
                background.push(tokio::spawn(file.watch(reload_every)));
            }
            accepts.spawn(accept_loop(state.clone(), tcp, listener));
            eprintln!("weir listening on {bound_addr}");
        }
        let accept_task = tokio::spawn(async move { while accepts.join_next().await.is_some() {} });
        // Now that connections are accepted: the topics not built at start,
        // then (after an unclean stop) the logs recover, on first use or here,
        // whichever comes first (a request to a log being recovered waits).
        crate::log_manager::start_recovery(state.clone());
        ready.store(true, Ordering::Release);
        // (Logged once start-up succeeded: a failed start prints one line only.)
        tracing::info!(
            "weir {} started: listeners {}, data dir {}{}; non-default settings: {}",
            env!("CARGO_PKG_VERSION"),
            listener_addrs
                .iter()
                .map(|(name, a)| format!("{name}://{a}"))
                .collect::<Vec<_>>()
                .join(","),
            config.data_dir.display(),
            http_addr.map(|a| format!(", http {a}")).unwrap_or_default(),
            non_default_settings(&config.settings),
        );
        match limits {
            Ok((soft, hard)) => tracing::info!(
                "open files: soft limit {soft} (hard {hard}); at most {} log segments open at once",
                state.store.max_open_segments()
            ),
            Err(e) => tracing::warn!(
                "could not raise the open-file limit: {e}; at most {} log segments open at once",
                state.store.max_open_segments()
            ),
        }
        Ok(Broker {
            addr,
            listener_addrs,
            http_addr,
            state,
            shutdown_tx,
            accept_task: Some(accept_task),
            background,
        })
    }

    /// The address the (first) listener is bound to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address listener `name` (e.g. `SASL_SSL`) is bound to.
    pub fn listener_addr(&self, name: &str) -> Option<SocketAddr> {
        self.listener_addrs
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, a)| *a)
    }

    /// The HTTP endpoint's address, when `--http` was given.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http_addr
    }

    /// The shared state (for tests and embedding).
    pub fn state(&self) -> &Arc<BrokerState> {
        &self.state
    }

    /// Graceful shutdown: stop accepting, let requests in flight finish (up to
    /// 3 s), snapshot producer state, flush and write the clean-shutdown marker.
    pub async fn shutdown(mut self) -> Result<(), StartError> {
        let _ = self.shutdown_tx.send(true);
        if let Some(accept) = self.accept_task.take() {
            let _ = accept.await;
        }
        for b in std::mem::take(&mut self.background) {
            b.abort();
            let _ = b.await;
        }
        let state = self.state.clone();
        tokio::task::spawn_blocking(move || close_state(&state))
            .await
            .map_err(|e| StartError::Other(format!("shutdown task failed: {e}")))?
    }
}

/// The listeners to bind; with `weir.dev.tls` (`--dev-tls`), the dev CA and
/// certificate are created and used by TLS listeners without a keystore, and
/// the one `--listen` listener (when `listeners` is not set) is SSL.
fn prepare_listeners(config: &mut BrokerConfig) -> Result<Vec<listeners::ListenerSpec>, String> {
    let mut specs = listeners::resolve(
        &config.settings,
        &config.listen,
        config.advertise.as_deref(),
    )
    .map_err(|e| e.to_string())?;
    if config.settings.bool("weir.dev.tls") {
        let dev = crate::security::dev_tls::ensure(&config.data_dir)?;
        crate::security::dev_tls::apply(&mut config.settings, &dev)?;
        if config.settings.str("listeners").trim().is_empty() {
            specs[0].name = "SSL".into();
            specs[0].protocol = listeners::SecurityProtocol::Ssl;
        }
        eprintln!("{}", crate::security::dev_tls::client_settings(&dev));
    }
    Ok(specs)
}

/// Snapshot producer state and close the store (flush, clean-shutdown marker).
fn close_state(state: &BrokerState) -> Result<(), StartError> {
    state.partitions.snapshot_producer_state(false)?;
    if let Err(e) = state.share.close() {
        tracing::error!("share-group state not compacted at shutdown: {e}");
    }
    state.store.close()?;
    Ok(())
}

impl Drop for Broker {
    /// Stop a broker that was not shut down: stop accepting and background
    /// work now; once requests in flight are drained, close the store on the
    /// runtime (or right here when there is none).
    fn drop(&mut self) {
        let Some(accept) = self.accept_task.take() else {
            return; // shut down already
        };
        let _ = self.shutdown_tx.send(true);
        for b in self.background.drain(..) {
            b.abort();
        }
        let state = self.state.clone();
        let close = move || {
            if let Err(e) = close_state(&state) {
                tracing::error!("closing the dropped broker: {e}");
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    let _ = accept.await;
                    let _ = tokio::task::spawn_blocking(close).await;
                });
            }
            Err(_) => {
                accept.abort();
                close();
            }
        }
    }
}

async fn accept_loop(state: Arc<BrokerState>, tcp: TcpListener, listener: Arc<Listener>) {
    let mut conns = JoinSet::new();
    let limits = state.limits.connections.clone();
    let figures = state.telemetry.listener(&listener.name);
    loop {
        tokio::select! {
            _ = state.shutting_down() => break,
            // At `max.connections`, stop accepting (clients wait in the backlog).
            accepted = async {
                limits.wait_for_slot().await;
                tcp.accept().await
            } => match accepted {
                Ok((stream, peer)) => match limits.register(peer.ip()) {
                    Ok(slot) => {
                        let open = crate::telemetry::Telemetry::connection_opened(&figures);
                        let serve = crate::session::serve(state.clone(), stream, peer, listener.clone());
                        conns.spawn(async move {
                            let _open = open;
                            serve.await;
                            drop(slot);
                        });
                    }
                    // Over `max.connections.per.ip`: closed at once, as Kafka does.
                    Err(e) => tracing::info!("{e}"),
                },
                Err(e) => {
                    // Out of file descriptors and the like: back off, keep serving.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(tcp);
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while conns.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        conns.abort_all();
        while conns.join_next().await.is_some() {}
    }
}

/// Run a broker until SIGTERM or SIGINT, then shut it down (the `weir serve` body).
pub async fn run_until_signal(config: BrokerConfig) -> Result<(), StartError> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())
        .map_err(|e| StartError::Other(format!("signal handler: {e}")))?;
    let mut int = signal(SignalKind::interrupt())
        .map_err(|e| StartError::Other(format!("signal handler: {e}")))?;
    let broker = Broker::start(config).await?;
    tokio::select! {
        _ = term.recv() => {},
        _ = int.recv() => {},
    }
    tracing::info!("shutting down");
    broker.shutdown().await?;
    tracing::info!("stopped cleanly");
    Ok(())
}

/// `key=value` of every setting not at its default, for the start-up line;
/// secrets (passwords, JAAS lines, inline keys) shown as `[hidden]`.
fn non_default_settings(settings: &Settings) -> String {
    let mut out: Vec<String> = settings
        .iter()
        .filter(|s| s.source != crate::config::Source::Default)
        .map(|s| {
            let name = s.def.name;
            let secret = ["password", "jaas", "secret", "keystore.key", "credential"]
                .iter()
                .any(|w| name.contains(w));
            if secret {
                format!("{name}=[hidden]")
            } else {
                format!("{name}={}", s.raw)
            }
        })
        .collect();
    out.sort();
    if out.is_empty() {
        "none".into()
    } else {
        out.join(", ")
    }
}
