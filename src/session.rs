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
use crate::connection::{write_frame, FrameError, FrameReader};
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
    api_version: i16,
    outcome: RequestOutcome,
    read_at: Instant,
    handler_start: Instant,
    handler_end: Instant,
}

/// How long a client has to complete the TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

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
            let Some(stream) = tls_accept(tls, &listener, stream, &mut peer).await else {
                return;
            };
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
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
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
    let accepted = tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, tls.acceptor().accept(stream)).await;
    let stream = match accepted {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::warn!(
                "Failed authentication with {} on listener {} (SSL handshake failed: {e})",
                peer.addr,
                listener.name
            );
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
    W: AsyncWrite + Unpin,
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
        let (outcome, mut observed) = process(&state, frame, &peer, read_at, stages).await;
        let keep_open = match outcome {
            Outcome::Respond(parts) => {
                write_frame(&mut writer, &parts).await.is_ok() && writer.flush().await.is_ok()
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
    }
    let _ = writer.shutdown().await;
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
    let mut observed = Observed {
        api_key,
        api_version: prefix.api_version,
        outcome: match &admission {
            Ok(_) => RequestOutcome::Ok,
            Err(why) => RequestOutcome::Rejected(why.error),
        },
        read_at,
        handler_start: Instant::now(),
        handler_end: read_at,
    };
    let outcome = match admission {
        Err(why) if why.closes_connection() => Outcome::Close(why.to_string()),
        admission => match dispatch::call(state.clone(), ctx, frame, admission).await {
            Ok(Some(resp)) => encode(prefix, api_key, &resp),
            Ok(None) => Outcome::NoResponse,
            Err(e) => Outcome::Close(e.to_string()),
        },
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
