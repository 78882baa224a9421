//! SASL authentication of one connection, as Kafka's `SaslServerAuthenticator`
//! does it below the request handlers: ApiVersions and SaslHandshake v0-1
//! first, then the mechanism's tokens, in SaslAuthenticate v0-2 requests
//! (handshake v1) or as bare size-prefixed tokens (handshake v0); a failure is
//! answered with SASL_AUTHENTICATION_FAILED and Kafka's message, logged with the
//! peer, and the connection is closed after
//! `connection.failed.authentication.delay.ms`. Re-authentication (KIP-368):
//! `connections.max.reauth.ms` (or an OAUTHBEARER token's expiry) sets the
//! session lifetime sent in SaslAuthenticate; an authenticated client may
//! re-authenticate with SaslHandshake v1, and an expired session's next request
//! closes the connection.
//!
//! Mechanisms: [`plain`], [`scram`], [`oauthbearer`]. Why not `rsasl`: its
//! server side wants its own callback/provider model and does not know Kafka's
//! rules (SCRAM `tokenauth`, authorization-id checks, the exact failure
//! messages clients show); the mechanisms are small over RustCrypto primitives.

pub mod jaas;
pub mod oauthbearer;
pub mod plain;
pub mod plain_file;
pub mod scram;

use crate::codec;
use crate::config::Settings;
use crate::pipeline::Principal;
use crate::security::scram_store::ScramStore;
use bytes::Bytes;
use kafka_protocol::messages::{
    ApiKey, ResponseKind, SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest,
    SaslHandshakeResponse,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a mechanism says after a client token.
#[derive(Debug)]
pub enum MechanismStep {
    /// Send this challenge; more tokens follow.
    Challenge(Vec<u8>),
    /// Authenticated as `authorization_id`; send `response` (may be empty).
    Done {
        response: Vec<u8>,
        authorization_id: String,
    },
}

/// A failed exchange: Kafka's `SaslAuthenticationException` (its message goes to
/// the client) or `SaslException` (the client gets the generic message).
#[derive(Debug, Clone)]
pub struct SaslFailure {
    client_message: Option<String>,
    /// For the log line (never a password).
    detail: String,
}

impl SaslFailure {
    pub fn generic() -> SaslFailure {
        SaslFailure {
            client_message: None,
            detail: String::new(),
        }
    }

    pub fn with_message(m: impl Into<String>) -> SaslFailure {
        let m = m.into();
        SaslFailure {
            detail: m.clone(),
            client_message: Some(m),
        }
    }

    pub fn log(mut self, detail: impl Into<String>) -> SaslFailure {
        self.detail = detail.into();
        self
    }

    /// The message the client is sent.
    pub fn message(&self, mechanism: &str, reauth: bool) -> String {
        match &self.client_message {
            Some(m) => m.clone(),
            None => format!(
                "Authentication failed during {} due to invalid credentials with SASL mechanism {mechanism}",
                if reauth { "re-authentication" } else { "authentication" }
            ),
        }
    }
}

/// Mechanisms weir implements.
pub const SUPPORTED_MECHANISMS: &[&str] =
    &["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"];

/// A SASL listener's configuration, shared by its connections.
#[derive(Debug)]
pub struct SaslConfig {
    pub listener: String,
    /// `sasl.enabled.mechanisms` (those weir implements), in the configured order.
    pub mechanisms: Vec<String>,
    pub plain: plain::PlainUsers,
    pub oauth: oauthbearer::OAuthConfig,
    /// `connections.max.reauth.ms` (0 = sessions do not expire).
    pub max_reauth_ms: i64,
    pub failed_delay: Duration,
}

impl SaslConfig {
    pub fn from_settings(settings: &Settings, listener: &str) -> Result<SaslConfig, String> {
        let configured: Vec<String> = settings
            .listener_str(listener, "sasl.enabled.mechanisms")
            .split(',')
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty())
            .collect();
        let mut mechanisms = Vec::new();
        for m in &configured {
            if SUPPORTED_MECHANISMS.contains(&m.as_str()) {
                mechanisms.push(m.clone());
            } else {
                tracing::warn!(
                    "listener {listener}: SASL mechanism {m} is not supported by weir, ignored"
                );
            }
        }
        if mechanisms.is_empty() {
            return Err(format!(
                "sasl.enabled.mechanisms ({}) names no mechanism weir supports: set it (or listener.name.{}.sasl.enabled.mechanisms) to some of {}",
                configured.join(","),
                listener.to_ascii_lowercase(),
                SUPPORTED_MECHANISMS.join(",")
            ));
        }
        let jaas = |mech: &str| -> Result<Option<jaas::JaasEntry>, String> {
            let line = settings.listener_mechanism_str(listener, mech, "sasl.jaas.config");
            if line.trim().is_empty() {
                Ok(None)
            } else {
                jaas::parse(line).map(Some)
            }
        };
        let users_file = settings.listener_str(listener, "weir.sasl.plain.users.file");
        let plain = if mechanisms.iter().any(|m| m == "PLAIN") {
            let mut users = match jaas("PLAIN")? {
                Some(e) => plain::PlainUsers::from_jaas_options(&e.options),
                None if !users_file.is_empty() => plain::PlainUsers::default(),
                None => {
                    return Err(format!(
                        "PLAIN is enabled but listener.name.{}.plain.sasl.jaas.config is not set (PlainLoginModule with user_<name>=\"<password>\" options) nor weir.sasl.plain.users.file",
                        listener.to_ascii_lowercase()
                    ))
                }
            };
            if !users_file.is_empty() {
                users.file = Some(Arc::new(plain_file::UsersFile::load(
                    std::path::Path::new(users_file),
                    listener,
                )?));
            }
            users
        } else {
            plain::PlainUsers::default()
        };
        let oauth_jaas = jaas("OAUTHBEARER")?;
        let oauth =
            oauthbearer::OAuthConfig::from_settings(settings, listener, oauth_jaas.as_ref())?;
        Ok(SaslConfig {
            listener: listener.to_string(),
            mechanisms,
            plain,
            oauth,
            max_reauth_ms: settings.listener_i64(listener, "connections.max.reauth.ms"),
            failed_delay: Duration::from_millis(
                settings.i64("connection.failed.authentication.delay.ms") as u64,
            ),
        })
    }
}

/// The running exchange of one mechanism.
enum Exchange {
    Plain,
    Scram(scram::ScramServer),
    OAuth(oauthbearer::OAuthServer),
}

enum State {
    /// Waiting for ApiVersions or SaslHandshake.
    Handshake,
    /// Between handshake and completion.
    Authenticating {
        mechanism: String,
        exchange: Box<Exchange>,
        /// Handshake v1+: tokens travel in SaslAuthenticate requests.
        framed: bool,
    },
    /// Re-authentication asked for another mechanism: the next token fails.
    ReauthBadMechanism(String),
    Authenticated,
}

/// What the session does with a frame.
pub enum SaslAction {
    /// An ordinary request of an authenticated connection: dispatch it.
    Dispatch,
    /// ApiVersions before authentication: answer it without the pipeline's
    /// stages (Kafka's authenticator answers it itself; no principal yet).
    DispatchUnauthenticated,
    /// Send these response parts, keep going.
    Respond(Vec<Bytes>),
    /// Authentication failed: after `delay`, send `response` (if any), then close.
    Fail {
        response: Option<Vec<Bytes>>,
        delay: Duration,
        reason: String,
    },
    /// Close now, without an answer.
    Close(String),
}

/// Per-connection SASL state.
pub struct Authenticator {
    config: Arc<SaslConfig>,
    store: Arc<ScramStore>,
    state: State,
    principal: Option<Principal>,
    /// The mechanism of the completed authentication (re-authentication must keep it).
    mechanism: Option<String>,
    expires_at: Option<Instant>,
}

fn sb(s: impl Into<String>) -> StrBytes {
    StrBytes::from_string(s.into())
}

impl Authenticator {
    pub fn new(config: Arc<SaslConfig>, store: Arc<ScramStore>) -> Authenticator {
        Authenticator {
            config,
            store,
            state: State::Handshake,
            principal: None,
            mechanism: None,
            expires_at: None,
        }
    }

    /// The authenticated principal, once there is one.
    pub fn principal(&self) -> Option<&Principal> {
        self.principal.as_ref()
    }

    /// The mechanism of the exchange in progress, else of the last completed
    /// one; `unsupported` before a handshake chose an enabled one (metrics label).
    pub fn mechanism_in_use(&self) -> &str {
        match &self.state {
            State::Authenticating { mechanism, .. } => mechanism,
            _ => self.mechanism.as_deref().unwrap_or("unsupported"),
        }
    }

    fn reauthenticating(&self) -> bool {
        self.principal.is_some()
    }

    fn fail(&self, response: Option<Vec<Bytes>>, reason: String) -> SaslAction {
        SaslAction::Fail {
            response,
            delay: self.config.failed_delay,
            reason,
        }
    }

    /// Handle one frame of the connection.
    pub fn on_frame(&mut self, frame: &Bytes) -> SaslAction {
        if let State::Authenticating { framed: false, .. } = self.state {
            return self.on_token(frame.to_vec(), None);
        }
        let Ok(prefix) = codec::peek_header(frame) else {
            return SaslAction::Close("Invalid request, potential reasons: kafka client configured with the wrong security protocol, it does not support KIP-43 or it is not a kafka client.".into());
        };
        let api_key = ApiKey::try_from(prefix.api_key).ok();
        match (&self.state, api_key) {
            (State::Authenticated, Some(ApiKey::SaslHandshake)) if prefix.api_version >= 1 => {
                self.on_handshake(frame.clone())
            }
            (State::Authenticated, _) => {
                if self.expires_at.is_some_and(|t| Instant::now() >= t) {
                    SaslAction::Close(format!(
                        "the SASL session of {} expired (connections.max.reauth.ms) and was not re-authenticated",
                        self.principal.as_ref().map(|p| p.to_string()).unwrap_or_default()
                    ))
                } else {
                    SaslAction::Dispatch
                }
            }
            (State::Handshake, Some(ApiKey::ApiVersions)) => SaslAction::DispatchUnauthenticated,
            (State::Handshake, Some(ApiKey::SaslHandshake)) => self.on_handshake(frame.clone()),
            (State::Handshake, _) => SaslAction::Close(match api_key {
                Some(k) => format!("Unexpected Kafka request of type {k:?} during SASL handshake."),
                None => "Invalid request, potential reasons: kafka client configured with the wrong security protocol, it does not support KIP-43 or it is not a kafka client.".into(),
            }),
            (State::Authenticating { .. } | State::ReauthBadMechanism(_), Some(ApiKey::SaslAuthenticate)) => {
                self.on_authenticate(frame.clone())
            }
            (State::Authenticating { .. } | State::ReauthBadMechanism(_), k) => {
                SaslAction::Close(format!(
                    "Unexpected Kafka request of type {} during SASL authentication.",
                    k.map(|k| format!("{k:?}")).unwrap_or_else(|| prefix.api_key.to_string())
                ))
            }
        }
    }

    fn decode<R: kafka_protocol::protocol::Decodable + 'static>(
        frame: Bytes,
        key: ApiKey,
        version: i16,
    ) -> Result<(i32, R), String> {
        let mut frame = frame;
        let header = codec::decode_header(&mut frame, key, version).map_err(|e| e.to_string())?;
        let body = codec::decode_body(frame, key, version).map_err(|e| e.to_string())?;
        Ok((header.correlation_id, body))
    }

    fn on_handshake(&mut self, frame: Bytes) -> SaslAction {
        let version = codec::peek_header(&frame)
            .map(|p| p.api_version)
            .unwrap_or(-1);
        if !(0..=1).contains(&version) {
            return SaslAction::Close(format!("unsupported version {version} of SaslHandshake"));
        }
        let (correlation_id, req) =
            match Self::decode::<SaslHandshakeRequest>(frame, ApiKey::SaslHandshake, version) {
                Ok(r) => r,
                Err(e) => return SaslAction::Close(e),
            };
        let mechanism = req.mechanism.to_string();
        let enabled = self.config.mechanisms.contains(&mechanism);
        let mut resp = SaslHandshakeResponse::default()
            .with_mechanisms(self.config.mechanisms.iter().map(sb).collect());
        if !enabled {
            resp.error_code = ResponseError::UnsupportedSaslMechanism.code();
        }
        let parts = match codec::encode_response(
            correlation_id,
            ApiKey::SaslHandshake,
            version,
            &ResponseKind::SaslHandshake(resp),
        ) {
            Ok(p) => p,
            Err(e) => return SaslAction::Close(e.to_string()),
        };
        if !enabled {
            return self.fail(
                Some(parts),
                format!("Unsupported SASL mechanism {mechanism}"),
            );
        }
        let exchange = match mechanism.as_str() {
            "PLAIN" => Exchange::Plain,
            "OAUTHBEARER" => Exchange::OAuth(oauthbearer::OAuthServer::new()),
            m => Exchange::Scram(scram::ScramServer::new(
                scram::ScramMechanism::from_name(m).expect("enabled mechanisms are supported"),
            )),
        };
        self.state = match &self.mechanism {
            Some(previous) if self.reauthenticating() && *previous != mechanism => {
                State::ReauthBadMechanism(format!(
                    "SASL mechanism '{mechanism}' requested by client is not supported for re-authentication of mechanism '{previous}'"
                ))
            }
            _ => State::Authenticating {
                mechanism,
                exchange: Box::new(exchange),
                framed: version >= 1,
            },
        };
        SaslAction::Respond(parts)
    }

    fn on_authenticate(&mut self, frame: Bytes) -> SaslAction {
        let version = codec::peek_header(&frame)
            .map(|p| p.api_version)
            .unwrap_or(-1);
        if !(0..=2).contains(&version) {
            return SaslAction::Close(format!(
                "Version {version} is not supported for apiKey SASL_AUTHENTICATE"
            ));
        }
        match Self::decode::<SaslAuthenticateRequest>(frame, ApiKey::SaslAuthenticate, version) {
            Ok((correlation_id, req)) => {
                self.on_token(req.auth_bytes.to_vec(), Some((correlation_id, version)))
            }
            Err(e) => SaslAction::Close(e),
        }
    }

    /// A mechanism token, bare (`framed` = None) or from SaslAuthenticate.
    fn on_token(&mut self, token: Vec<u8>, framed: Option<(i32, i16)>) -> SaslAction {
        let reauth = self.reauthenticating();
        let encode = |resp: SaslAuthenticateResponse| -> Option<Vec<Bytes>> {
            let (correlation_id, version) = framed?;
            codec::encode_response(
                correlation_id,
                ApiKey::SaslAuthenticate,
                version,
                &ResponseKind::SaslAuthenticate(resp),
            )
            .ok()
        };
        let failure = |this: &Self, mechanism: &str, f: SaslFailure| -> SaslAction {
            let message = f.message(mechanism, reauth);
            let resp = SaslAuthenticateResponse::default()
                .with_error_code(ResponseError::SaslAuthenticationFailed.code())
                .with_error_message(Some(sb(message.clone())));
            let detail = if f.detail.is_empty() {
                message
            } else {
                format!("{message} ({})", f.detail)
            };
            this.fail(encode(resp), detail)
        };
        let (mechanism, step) = match &mut self.state {
            State::ReauthBadMechanism(msg) => {
                let msg = msg.clone();
                return failure(self, "", SaslFailure::with_message(msg));
            }
            State::Authenticating {
                mechanism,
                exchange,
                ..
            } => {
                let step = match exchange.as_mut() {
                    Exchange::Plain => plain::authenticate(&token, &self.config.plain),
                    Exchange::Scram(s) => s.step(&token, &self.store),
                    Exchange::OAuth(o) => o.step(&token, &self.config.oauth),
                };
                (mechanism.clone(), step)
            }
            _ => return SaslAction::Close("SASL token outside an exchange".into()),
        };
        match step {
            Err(f) => failure(self, &mechanism, f),
            Ok(MechanismStep::Challenge(bytes)) => match framed {
                Some(_) => match encode(
                    SaslAuthenticateResponse::default().with_auth_bytes(Bytes::from(bytes)),
                ) {
                    Some(parts) => SaslAction::Respond(parts),
                    None => SaslAction::Close("cannot encode SaslAuthenticate".into()),
                },
                None => SaslAction::Respond(vec![Bytes::from(bytes)]),
            },
            Ok(MechanismStep::Done {
                response,
                authorization_id,
            }) => {
                let principal = Principal::new("User", authorization_id);
                if let Some(previous) = &self.principal {
                    if *previous != principal {
                        return failure(
                            self,
                            &mechanism,
                            SaslFailure::with_message(format!(
                                "Cannot change principals during re-authentication from {}.{}: {}.{}",
                                previous.principal_type(),
                                previous.name(),
                                principal.principal_type(),
                                principal.name()
                            )),
                        );
                    }
                }
                // Session lifetime: the credential's (OAUTHBEARER token expiry) and/or
                // connections.max.reauth.ms, whichever is sooner.
                let now_ms = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis() as i64)
                    .unwrap_or(0);
                let credential_ms = match &self.state {
                    State::Authenticating { exchange, .. } => match exchange.as_ref() {
                        Exchange::OAuth(o) => o.expires_at_ms().map(|e| (e - now_ms).max(0)),
                        _ => None,
                    },
                    _ => None,
                };
                let max = (self.config.max_reauth_ms > 0).then_some(self.config.max_reauth_ms);
                let lifetime_ms = match (credential_ms, max) {
                    (Some(c), Some(m)) => Some(c.min(m)),
                    (c, m) => c.or(m),
                };
                self.expires_at =
                    lifetime_ms.map(|ms| Instant::now() + Duration::from_millis(ms as u64));
                self.principal = Some(principal);
                self.mechanism = Some(mechanism);
                self.state = State::Authenticated;
                match framed {
                    Some(_) => {
                        let resp = SaslAuthenticateResponse::default()
                            .with_auth_bytes(Bytes::from(response))
                            .with_session_lifetime_ms(lifetime_ms.unwrap_or(0));
                        match encode(resp) {
                            Some(parts) => SaslAction::Respond(parts),
                            None => SaslAction::Close("cannot encode SaslAuthenticate".into()),
                        }
                    }
                    None => SaslAction::Respond(vec![Bytes::from(response)]),
                }
            }
        }
    }
}
