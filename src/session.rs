//! One client connection: read a frame, decode its header, build the request
//! context, run the request pipeline's stages ([`crate::pipeline`]) around the
//! handler the dispatch table routes it to, write the response, tell the
//! observer. Requests on a connection are handled one at a time and answered in
//! order (as Kafka does: it mutes a connection while a request is in flight),
//! while the client may pipeline many requests.
//!
//! Only broken framing, an undecodable request or an authentication refusal
//! closes the connection; all Kafka-level errors travel in responses.

use crate::codec::{self, HeaderPrefix};
use crate::connection::{
    with_file_regions, write_frame, write_frame_with_files, FileSink, FrameError, FrameReader,
};
use crate::dispatch::{self, Table};
use crate::handlers::api_versions;
use crate::pipeline::{
    Admission, Principal, RequestContext, RequestOutcome, RequestRecord, RequestTimings,
};
use crate::security::sasl::{Authenticator, SaslAction};
use crate::security::tls::TlsListener;
use crate::security::{principal, Listener};
use crate::state::BrokerState;
use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, ResponseKind};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::net::TcpStream;
use weir_client::big_reads::BigReads;

/// What to do after a request.
enum Outcome {
    Respond(Vec<Bytes>),
    NoResponse,
    Close(String),
}

/// Who is at the other end of a connection (the per-request context starts from it).
struct Peer {
    id: u64,
    addr: SocketAddr,
    listener: Arc<str>,
    principal: Principal,
}

/// A request that reached the pipeline, for its observer.
struct Observed {
    api_key: ApiKey,
    /// A raw API's own key (`api_key` is its stand-in).
    raw_api_key: Option<i16>,
    api_version: i16,
    outcome: RequestOutcome,
    read_at: Instant,
    handler_start: Instant,
    handler_end: Instant,
    /// The quota throttle time: the connection is muted for it (KIP-219).
    throttle_ms: i32,
}

impl Observed {
    /// A request read at `read_at`, admitted or refused by the pipeline's stages;
    /// the handler starts now.
    fn new<T>(
        api_key: ApiKey,
        raw_api_key: Option<i16>,
        api_version: i16,
        admission: &Result<T, crate::pipeline::Rejection>,
        read_at: Instant,
    ) -> Observed {
        Observed {
            api_key,
            raw_api_key,
            api_version,
            outcome: match admission {
                Ok(_) => RequestOutcome::Ok,
                Err(why) => RequestOutcome::Rejected(why.error),
            },
            read_at,
            handler_start: Instant::now(),
            handler_end: read_at,
            throttle_ms: 0,
        }
    }
}

/// How long a client has to complete the TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Encrypted bytes rustls holds for sending before it writes them out (its
/// default is 64 KiB): one `writev` carries this much of a large response.
const TLS_WRITE_BUFFER: usize = 256 * 1024;

/// The most one socket read of a TLS connection takes ([`BigReads`]): a
/// produce request arrives in a few reads instead of one or more per 16 KiB record.
const TLS_READ_SIZE: usize = 64 * 1024;

/// Serve one connection (accepted on `listener`) until the client closes it,
/// framing breaks, authentication fails, or the broker shuts down (after the
/// request in flight is answered).
pub async fn serve(
    state: Arc<BrokerState>,
    stream: TcpStream,
    peer: SocketAddr,
    listener: Arc<Listener>,
) {
    let _ = stream.set_nodelay(true);
    let mut peer = Peer {
        id: state.next_connection_id(),
        addr: peer,
        listener: listener.name.clone(),
        principal: Principal::anonymous(),
    };
    let sasl = listener
        .sasl
        .as_ref()
        .map(|c| Authenticator::new(c.clone(), state.scram.clone()));
    match &listener.tls {
        None => {
            // Plaintext: the socket's own halves (no lock, no boxing per read).
            let (rd, wr) = stream.into_split();
            serve_stream(state, rd, wr, peer, sasl).await
        }
        Some(tls) => {
            let accepted = tls_accept(tls, &listener, stream, &mut peer, &state.telemetry);
            let Some(mut stream) = accepted.await else {
                return;
            };
            // Encrypt up to this much before each write to the socket: a fetch
            // response leaves in writes of 16 full records instead of rustls's
            // default 4 (64 KiB), a quarter of the syscalls.
            stream.get_mut().1.set_buffer_limit(Some(TLS_WRITE_BUFFER));
            let (rd, wr) = tokio::io::split(stream);
            serve_stream(state, rd, wr, peer, sasl).await
        }
    }
}

/// The TLS handshake of an SSL / SASL_SSL connection; on SSL, the principal of
/// the client certificate. `None` (logged) closes the connection.
async fn tls_accept(
    tls: &TlsListener,
    listener: &Listener,
    stream: TcpStream,
    peer: &mut Peer,
    telemetry: &crate::telemetry::Telemetry,
) -> Option<tokio_rustls::server::TlsStream<BigReads<TcpStream>>> {
    let mut first = [0u8; 1];
    match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, stream.peek(&mut first)).await {
        Ok(Ok(1)) if first[0] == 0x16 => {}
        Ok(Ok(1)) => {
            tracing::warn!(
                "closing connection from {} on listener {}: not a TLS handshake (a plaintext client on a TLS listener?)",
                peer.addr,
                listener.name
            );
            return None;
        }
        _ => return None,
    }
    // rustls reads at most one record per recv; one recv takes what the socket holds.
    let stream = BigReads::new(stream, TLS_READ_SIZE);
    let accepted = tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, tls.acceptor().accept(stream)).await;
    let stream = match accepted {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::warn!(
                "Failed authentication with {} on listener {} (SSL handshake failed: {e})",
                peer.addr,
                listener.name
            );
            telemetry.auth_failed(&listener.name, "SSL");
            return None;
        }
        Err(_) => {
            tracing::warn!(
                "closing connection from {} on listener {}: TLS handshake timed out",
                peer.addr,
                listener.name
            );
            return None;
        }
    };
    if let Some(mapper) = &listener.principal_mapper {
        let cert = stream
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|c| c.first());
        if let Some(cert) = cert {
            match principal::subject_dn(cert).and_then(|dn| mapper.map(&dn)) {
                Ok(name) => peer.principal = Principal::new("User", name),
                Err(e) => {
                    tracing::warn!(
                        "Failed authentication with {} on listener {} ({e})",
                        peer.addr,
                        listener.name
                    );
                    telemetry.auth_failed(&listener.name, "SSL");
                    return None;
                }
            }
        }
    }
    Some(stream)
}

/// The request loop over one connection's read and write halves.
async fn serve_stream<R, W>(
    state: Arc<BrokerState>,
    rd: R,
    wr: W,
    mut peer: Peer,
    mut sasl: Option<Authenticator>,
) where
    R: AsyncRead + Unpin,
    W: AsyncWrite + FileSink + Unpin,
{
    let max_frame = state.settings.i64("socket.request.max.bytes") as usize;
    // Until a SASL connection is authenticated, frames are limited as Kafka's
    // authenticator limits them (`sasl.server.max.receive.size`).
    let sasl_max_frame = state.settings.i64("sasl.server.max.receive.size") as usize;
    let mut reader = FrameReader::new(
        rd,
        if sasl.is_some() {
            sasl_max_frame.min(max_frame)
        } else {
            max_frame
        },
    )
    .with_idle_timeout(state.limits.idle)
    .with_memory(state.limits.memory.clone());
    // Plaintext sockets send large record blocks with sendfile(2) (see `connection`).
    let zero_copy = wr.socket().is_some();
    let mut writer = BufWriter::with_capacity(64 * 1024, wr);
    loop {
        let frame = tokio::select! {
            biased;
            _ = state.shutting_down() => break,
            f = reader.read_frame() => f,
        };
        let frame = match frame {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(FrameError::TooLarge { size, .. }) if size >> 16 == 0x1603 => {
                // A TLS record header (handshake, version 3.x) read as a frame size.
                tracing::warn!(
                    "closing connection from {} on listener {}: TLS handshake on a plaintext listener (client configured for SSL?)",
                    peer.addr,
                    peer.listener
                );
                break;
            }
            Err(e @ FrameError::Idle(_)) => {
                // Routine (Kafka logs idle closes at debug too).
                tracing::debug!("closing connection from {}: {e}", peer.addr);
                break;
            }
            Err(FrameError::Io(e)) if peer_went_away(&e) => {
                // A client that closes or resets its socket between requests (many close
                // TLS without close_notify): routine, as Kafka's Selector logs a
                // disconnection at debug.
                tracing::debug!("closing connection from {}: {e}", peer.addr);
                break;
            }
            Err(e) => {
                tracing::warn!("closing connection from {}: {e}", peer.addr);
                break;
            }
        };
        let mut stages = true;
        if let Some(auth) = sasl.as_mut() {
            match auth.on_frame(&frame) {
                SaslAction::Dispatch => {}
                SaslAction::DispatchUnauthenticated => stages = false,
                SaslAction::Respond(parts) => {
                    if write_frame(&mut writer, &parts).await.is_err()
                        || writer.flush().await.is_err()
                    {
                        break;
                    }
                    if let Some(p) = auth.principal() {
                        peer.principal = p.clone();
                        reader.set_max_frame(max_frame);
                    }
                    continue;
                }
                SaslAction::Fail {
                    response,
                    delay,
                    reason,
                } => {
                    tracing::warn!(
                        "Failed authentication with {} on listener {} ({reason})",
                        peer.addr,
                        peer.listener
                    );
                    state
                        .telemetry
                        .auth_failed(&peer.listener, auth.mechanism_in_use());
                    tokio::time::sleep(delay).await;
                    if let Some(parts) = response {
                        let _ = write_frame(&mut writer, &parts).await;
                        let _ = writer.flush().await;
                    }
                    break;
                }
                SaslAction::Close(reason) => {
                    tracing::warn!(
                        "closing connection from {} on listener {}: {reason}",
                        peer.addr,
                        peer.listener
                    );
                    break;
                }
            }
        }
        let read_at = Instant::now();
        let request = process(&state, frame, &peer, read_at, stages);
        let ((outcome, mut observed), regions) = if zero_copy {
            with_file_regions(request).await
        } else {
            (request.await, Vec::new())
        };
        let throttled = observed
            .as_ref()
            .map(|o| (o.api_key, o.api_version, o.throttle_ms));
        let keep_open = match outcome {
            Outcome::Respond(parts) => {
                throttle_mute(&state, throttled, true).await;
                write_frame_with_files(&mut writer, &parts, &regions)
                    .await
                    .is_ok()
                    && writer.flush().await.is_ok()
            }
            Outcome::NoResponse => true,
            Outcome::Close(reason) => {
                tracing::warn!("closing connection from {}: {reason}", peer.addr);
                if let Some(o) = observed.as_mut() {
                    o.outcome = RequestOutcome::Failed;
                }
                false
            }
        };
        if let Some(o) = observed {
            let sent_at = Instant::now();
            state.pipeline.observe(&RequestRecord {
                api_key: o.api_key,
                raw_api_key: o.raw_api_key,
                api_version: o.api_version,
                outcome: o.outcome,
                timings: RequestTimings {
                    queued: o.handler_start - o.read_at,
                    handled: o.handler_end - o.handler_start,
                    sent: sent_at - o.handler_end,
                },
            });
        }
        if !keep_open {
            break;
        }
        throttle_mute(&state, throttled, false).await;
    }
    let _ = writer.shutdown().await;
}

/// The quota mute (KIP-219): a throttled request's connection reads nothing
/// more for `throttle_ms`. Clients that throttle themselves get their response
/// first (the wait is after it); older versions get it delayed (the wait is
/// before it), as Kafka does. Shutdown ends the wait.
async fn throttle_mute(
    state: &BrokerState,
    throttled: Option<(ApiKey, i16, i32)>,
    before_response: bool,
) {
    let Some((api_key, version, ms)) = throttled.filter(|t| t.2 > 0) else {
        return;
    };
    if crate::quota::client_throttles(api_key, version) == before_response {
        return;
    }
    tokio::select! {
        _ = tokio::time::sleep(Duration::from_millis(ms as u64)) => {}
        _ = state.shutting_down() => {}
    }
}

/// The request pipeline around one request: header, context, stages, handler,
/// response encoding. The observer is told about it (by the caller, once the
/// response is written) when it got as far as the stages.
async fn process(
    state: &Arc<BrokerState>,
    mut frame: Bytes,
    peer: &Peer,
    read_at: Instant,
    stages: bool,
) -> (Outcome, Option<Observed>) {
    let prefix = match codec::peek_header(&frame) {
        Ok(p) => p,
        Err(e) => return (Outcome::Close(e.to_string()), None),
    };
    if dispatch::is_raw_api(prefix.api_key) {
        return process_raw(state, frame, prefix, peer, read_at, stages).await;
    }
    let Ok(api_key) = ApiKey::try_from(prefix.api_key) else {
        return (
            Outcome::Close(format!("unknown api key {}", prefix.api_key)),
            None,
        );
    };
    if !dispatch::supports(api_key, prefix.api_version) {
        if api_key == ApiKey::ApiVersions {
            return (unsupported_api_versions(prefix), None);
        }
        let reason = match dispatch::lookup(api_key) {
            None => format!("unsupported api {api_key:?}"),
            Some(_) => format!("unsupported version {} of {api_key:?}", prefix.api_version),
        };
        return (Outcome::Close(reason), None);
    }
    let request_bytes = frame.len();
    let header = match codec::decode_header(&mut frame, api_key, prefix.api_version) {
        Ok(h) => h,
        Err(e) => return (Outcome::Close(e.to_string()), None),
    };
    let ctx = RequestContext {
        api_key,
        raw_api_key: None,
        api_version: prefix.api_version,
        correlation_id: header.correlation_id,
        client_id: header.client_id.as_ref().map(|c| c.to_string()),
        peer: peer.addr,
        connection_id: peer.id,
        listener: peer.listener.clone(),
        principal: peer.principal.clone(),
    };
    let admission = if stages {
        state.pipeline.admit(&ctx, request_bytes)
    } else {
        Ok(Admission::default())
    };
    let mut observed = Observed::new(api_key, None, prefix.api_version, &admission, read_at);
    let outcome = match admission {
        Err(why) if why.closes_connection() => Outcome::Close(why.to_string()),
        admission => match dispatch::call(state.clone(), ctx, frame, admission).await {
            Ok((resp, throttle_ms)) => {
                observed.throttle_ms = throttle_ms;
                match resp {
                    Some(resp) => encode(prefix, api_key, &resp),
                    None => Outcome::NoResponse,
                }
            }
            Err(e) => Outcome::Close(e.to_string()),
        },
    };
    observed.handler_end = Instant::now();
    (outcome, Some(observed))
}

/// A request of an API the codec crate does not know ([`dispatch::RAW_APIS`]):
/// request header v2 (these APIs are flexible from v0), its raw handler, and
/// response header v1. The stages run as for any request, with the API's
/// stand-in key in the context (quotas, ACL denial logs); the observer is told
/// the real key ([`RequestRecord::raw_api_key`]).
async fn process_raw(
    state: &Arc<BrokerState>,
    mut frame: Bytes,
    prefix: HeaderPrefix,
    peer: &Peer,
    read_at: Instant,
    stages: bool,
) -> (Outcome, Option<Observed>) {
    use kafka_protocol::protocol::Decodable;
    let Some(stand_in) = dispatch::raw_api(prefix.api_key, prefix.api_version) else {
        let reason = format!(
            "unsupported version {} of api key {}",
            prefix.api_version, prefix.api_key
        );
        return (Outcome::Close(reason), None);
    };
    let request_bytes = frame.len();
    let header = match kafka_protocol::messages::RequestHeader::decode(&mut frame, 2) {
        Ok(h) => h,
        Err(e) => {
            let reason = format!("api key {}: {e}", prefix.api_key);
            return (Outcome::Close(reason), None);
        }
    };
    let ctx = RequestContext {
        api_key: stand_in,
        raw_api_key: Some(prefix.api_key),
        api_version: prefix.api_version,
        correlation_id: header.correlation_id,
        client_id: header.client_id.as_ref().map(|c| c.to_string()),
        peer: peer.addr,
        connection_id: peer.id,
        listener: peer.listener.clone(),
        principal: peer.principal.clone(),
    };
    let admission = if stages {
        state.pipeline.admit(&ctx, request_bytes)
    } else {
        Ok(Admission::default())
    };
    let mut observed = Observed::new(
        stand_in,
        Some(prefix.api_key),
        prefix.api_version,
        &admission,
        read_at,
    );
    // A raw API has no refusal answer of its own: a refused request closes
    // the connection (the ACL stage refuses only cluster-level APIs, so this
    // is an unauthenticated request or an embedder's stage).
    let outcome = match admission {
        Err(why) => Outcome::Close(why.to_string()),
        Ok(admission) => {
            let raw = crate::handler::RawContext {
                api_key: prefix.api_key,
                ctx,
            };
            match dispatch::call_raw(state.clone(), raw, frame, admission).await {
                Ok((body, throttle_ms)) => {
                    observed.throttle_ms = throttle_ms;
                    Outcome::Respond(vec![codec::flex::response(prefix.correlation_id, &body)])
                }
                Err(e) => Outcome::Close(e.to_string()),
            }
        }
    };
    observed.handler_end = Instant::now();
    (outcome, Some(observed))
}

fn encode(prefix: HeaderPrefix, api_key: ApiKey, resp: &ResponseKind) -> Outcome {
    match codec::encode_response(prefix.correlation_id, api_key, prefix.api_version, resp) {
        Ok(parts) => Outcome::Respond(parts),
        Err(e) => Outcome::Close(e.to_string()),
    }
}

/// ApiVersions at a version we do not implement: UNSUPPORTED_VERSION with the v0
/// body (and our version table), so the client retries with a version we know.
fn unsupported_api_versions(prefix: HeaderPrefix) -> Outcome {
    let resp = ResponseKind::ApiVersions(api_versions::unsupported_version_response::<Table>());
    match codec::encode_response(prefix.correlation_id, ApiKey::ApiVersions, 0, &resp) {
        Ok(parts) => Outcome::Respond(parts),
        Err(e) => Outcome::Close(e.to_string()),
    }
}

/// The peer closed or reset its side: nothing the broker did wrong, nothing to warn about.
fn peer_went_away(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset, UnexpectedEof};
    matches!(
        e.kind(),
        UnexpectedEof | ConnectionReset | ConnectionAborted | BrokenPipe
    )
}
