//! The console's login when the broker authenticates its Kafka clients: with
//! a SASL listener that enables PLAIN or SCRAM, the console asks for a user
//! and password, checks them with the SASL path's own code (PLAIN against the
//! listener's `PlainLoginModule` users through [`plain::authenticate`], SCRAM
//! by running a whole exchange against [`ScramServer`] and the credential
//! store) and keeps a session: a random token in an `HttpOnly`,
//! `SameSite=Strict` cookie, valid for [`SESSION_TTL`]. Console requests then
//! act as that session's principal (`User:<name>`, as the SASL path names
//! it), so the ACLs a Kafka client of that user meets apply to the console
//! too. A SCRAM session ends when the user's credential changes or goes.
//! With a listener enabling OAUTHBEARER the console takes a token instead
//! (pasted from the identity provider), checked by that listener's validator
//! (Kafka's unsecured JWS, or the JWKS file); the session's principal is the
//! token's, and it ends when the token expires.
//! Without such a listener there is no login and the console acts as
//! `User:ANONYMOUS`.
//!
//! - `GET /api/session`: `{"login": bool, "user": name|null, "methods":
//!   ["password"|"token"...]}` (open to all).
//! - `POST /api/login` `{"user", "password"}` or `{"token"}`: sets the cookie, or
//!   401 `SASL_AUTHENTICATION_FAILED` after `connection.failed.authentication.delay.ms`.
//! - `POST /api/logout`: ends the session.

use super::ApiError;
use crate::http::HttpState;
use crate::pipeline::Principal;
use crate::security::sasl::plain;
use crate::security::sasl::scram::ScramServer;
use crate::security::sasl::{MechanismStep, SaslConfig};
use crate::security::scram_mechanism::{hash, hmac, ScramMechanism};
use crate::security::scram_store::{ScramCredential, ScramStore};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a session lasts after its login.
pub const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);
/// Sessions kept at most (the oldest goes first beyond it).
const MAX_SESSIONS: usize = 1024;
/// The session cookie's name.
pub const COOKIE: &str = "weir_console_session";

/// One logged-in browser.
#[derive(Debug, Clone)]
struct Session {
    principal: Principal,
    /// The SCRAM credential the password matched (the session ends when it changes).
    scram: Option<(ScramMechanism, ScramCredential)>,
    created: Instant,
    /// When it ends: [`SESSION_TTL`] after the login, or a token's expiry if sooner.
    expires: Instant,
}

impl Session {
    fn new(principal: Principal, scram: Option<(ScramMechanism, ScramCredential)>) -> Session {
        let created = Instant::now();
        Session {
            principal,
            scram,
            created,
            expires: created + SESSION_TTL,
        }
    }

    fn live(&self) -> bool {
        Instant::now() < self.expires
    }
}

/// The SASL listeners' users and the open sessions (one per HTTP endpoint).
#[derive(Debug, Default)]
pub struct Login {
    /// SASL listeners' configurations (the console logs in with their PLAIN
    /// users or SCRAM mechanisms).
    listeners: Vec<Arc<SaslConfig>>,
    sessions: Mutex<HashMap<String, Session>>,
}

impl Login {
    /// From the SASL configurations of the broker's listeners (empty: none).
    pub fn new(listeners: Vec<Arc<SaslConfig>>) -> Login {
        Login {
            listeners,
            sessions: Mutex::default(),
        }
    }

    fn plain_enabled(&self) -> bool {
        self.listeners
            .iter()
            .any(|l| l.mechanisms.iter().any(|m| m == "PLAIN"))
    }

    fn scram_mechanisms(&self) -> Vec<ScramMechanism> {
        let mut out = Vec::new();
        for l in &self.listeners {
            for m in &l.mechanisms {
                if let Some(m) = ScramMechanism::from_name(m) {
                    if !out.contains(&m) {
                        out.push(m);
                    }
                }
            }
        }
        out
    }

    fn token_enabled(&self) -> bool {
        self.listeners
            .iter()
            .any(|l| l.mechanisms.iter().any(|m| m == "OAUTHBEARER"))
    }

    /// Whether the console asks for a login (a SASL listener with PLAIN, SCRAM
    /// or OAUTHBEARER).
    pub fn required(&self) -> bool {
        self.password_enabled() || self.token_enabled()
    }

    fn password_enabled(&self) -> bool {
        self.plain_enabled() || !self.scram_mechanisms().is_empty()
    }

    /// The ways to log in: "password" (PLAIN or SCRAM users), "token" (OAUTHBEARER).
    fn methods(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.password_enabled() {
            out.push("password");
        }
        if self.token_enabled() {
            out.push("token");
        }
        out
    }

    /// Check a bearer token with the validator of each listener enabling
    /// OAUTHBEARER (the first that accepts it names the principal); the
    /// session ends when the token expires.
    fn verify_token(&self, token: &str) -> Option<Session> {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        for l in &self.listeners {
            if !l.mechanisms.iter().any(|m| m == "OAUTHBEARER") {
                continue;
            }
            match l.oauth.validate(token.trim(), now_ms) {
                Ok(t) => {
                    let mut session = Session::new(Principal::new("User", t.principal), None);
                    let left =
                        Duration::from_millis(t.expires_at_ms.saturating_sub(now_ms).max(0) as u64);
                    session.expires = session.expires.min(session.created + left);
                    return Some(session);
                }
                Err((detail, _)) => tracing::debug!("console token refused: {detail}"),
            }
        }
        None
    }

    /// The principal of the session whose token the request's cookie carries.
    pub fn principal(&self, headers: &HeaderMap, scram: &ScramStore) -> Option<Principal> {
        let token = cookie(headers)?;
        let mut sessions = self.sessions.lock();
        let s = sessions.get(&token)?;
        let valid = s.live()
            && s.scram
                .as_ref()
                .is_none_or(|(m, c)| scram.lookup(s.principal.name(), *m).as_ref() == Some(c));
        if !valid {
            sessions.remove(&token);
            return None;
        }
        Some(s.principal.clone())
    }

    /// Check `user`/`password` as a SASL client of the broker would be checked:
    /// PLAIN users of every SASL listener enabling PLAIN, then the SCRAM
    /// mechanisms some listener enables. Slow on purpose (PBKDF2): call off
    /// the async workers.
    fn verify(&self, user: &str, password: &str, store: &ScramStore) -> Option<Session> {
        if user.is_empty() || password.is_empty() {
            return None;
        }
        let token = format!("\0{user}\0{password}");
        for l in &self.listeners {
            if !l.mechanisms.iter().any(|m| m == "PLAIN") {
                continue;
            }
            if let Ok(MechanismStep::Done {
                authorization_id, ..
            }) = plain::authenticate(token.as_bytes(), &l.plain)
            {
                return Some(Session::new(Principal::new("User", authorization_id), None));
            }
        }
        for m in self.scram_mechanisms() {
            let Some(credential) = store.lookup(user, m) else {
                continue;
            };
            if let Some(authorization_id) = scram_exchange(m, user, password, store) {
                return Some(Session::new(
                    Principal::new("User", authorization_id),
                    Some((m, credential)),
                ));
            }
        }
        None
    }

    /// Open a session; its token.
    fn open(&self, session: Session) -> String {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).expect("OS random source");
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let mut sessions = self.sessions.lock();
        sessions.retain(|_, s| s.live());
        while sessions.len() >= MAX_SESSIONS {
            let oldest = sessions
                .iter()
                .min_by_key(|(_, s)| s.created)
                .map(|(t, _)| t.clone());
            match oldest {
                Some(t) => sessions.remove(&t),
                None => break,
            };
        }
        sessions.insert(token.clone(), session);
        token
    }

    fn close(&self, headers: &HeaderMap) {
        if let Some(token) = cookie(headers) {
            self.sessions.lock().remove(&token);
        }
    }

    /// The longest failed-authentication delay of the SASL listeners.
    fn failed_delay(&self) -> Duration {
        self.listeners
            .iter()
            .map(|l| l.failed_delay)
            .max()
            .unwrap_or_default()
    }
}

/// The session token of the request's cookie.
fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            let (k, v) = c.trim().split_once('=')?;
            (k == COOKIE && !v.is_empty()).then(|| v.to_string())
        })
}

/// `saslname` of RFC 5802 (`,` -> `=2C`, `=` -> `=3D`).
fn saslname(user: &str) -> String {
    user.replace('=', "=3D").replace(',', "=2C")
}

/// A SCRAM client's side of an exchange with the broker's own [`ScramServer`]
/// (RFC 5802): the authorization id when the password is right.
fn scram_exchange(
    m: ScramMechanism,
    user: &str,
    password: &str,
    store: &ScramStore,
) -> Option<String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut nonce = [0u8; 18];
    getrandom::fill(&mut nonce).ok()?;
    let client_nonce = b64.encode(nonce);
    let client_first_bare = format!("n={},r={client_nonce}", saslname(user));
    let mut server = ScramServer::new(m);
    let server_first = match server
        .step(format!("n,,{client_first_bare}").as_bytes(), store)
        .ok()?
    {
        MechanismStep::Challenge(c) => String::from_utf8(c).ok()?,
        MechanismStep::Done { .. } => return None,
    };
    let mut nonce = None;
    let mut salt = None;
    let mut iterations = None;
    for field in server_first.split(',') {
        match field.split_at_checked(2)? {
            ("r=", v) => nonce = Some(v.to_string()),
            ("s=", v) => salt = b64.decode(v).ok(),
            ("i=", v) => iterations = v.parse::<u32>().ok(),
            _ => {}
        }
    }
    let (nonce, salt, iterations) = (nonce?, salt?, iterations?);
    let salted = hi(m, password.as_bytes(), &salt, iterations);
    let client_key = hmac(m, &salted, b"Client Key");
    let stored_key = hash(m, &client_key);
    let without_proof = format!("c=biws,r={nonce}");
    let auth_message = format!("{client_first_bare},{server_first},{without_proof}");
    let signature = hmac(m, &stored_key, auth_message.as_bytes());
    let proof: Vec<u8> = client_key
        .iter()
        .zip(&signature)
        .map(|(a, b)| a ^ b)
        .collect();
    let client_final = format!("{without_proof},p={}", b64.encode(proof));
    match server.step(client_final.as_bytes(), store).ok()? {
        MechanismStep::Done {
            authorization_id, ..
        } => Some(authorization_id),
        MechanismStep::Challenge(_) => None,
    }
}

/// RFC 5802's `Hi` (PBKDF2 with the mechanism's HMAC, one block): the salted
/// password.
fn hi(m: ScramMechanism, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
    let mut first = salt.to_vec();
    first.extend_from_slice(&1u32.to_be_bytes());
    let mut u = hmac(m, password, &first);
    let mut out = u.clone();
    for _ in 1..iterations {
        u = hmac(m, password, &u);
        out.iter_mut().zip(&u).for_each(|(o, x)| *o ^= x);
    }
    out
}

#[derive(Serialize)]
pub struct SessionInfo {
    login: bool,
    user: Option<String>,
    methods: Vec<&'static str>,
}

/// `GET /api/session`.
pub async fn session(State(s): State<HttpState>, headers: HeaderMap) -> Json<SessionInfo> {
    let user = s
        .login
        .principal(&headers, &s.broker.scram)
        .map(|p| p.name().to_string());
    Json(SessionInfo {
        login: s.login.required(),
        user,
        methods: s.login.methods(),
    })
}

/// A user and password, or a bearer token.
#[derive(Deserialize)]
pub struct Credentials {
    #[serde(default)]
    user: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    token: Option<String>,
}

/// `POST /api/login`.
pub async fn login(
    State(s): State<HttpState>,
    Json(c): Json<Credentials>,
) -> Result<Response, ApiError> {
    if !s.login.required() {
        return Err(ApiError::bad_request(
            "no SASL listener enables PLAIN, SCRAM or OAUTHBEARER: the console needs no login",
        ));
    }
    let login = s.login.clone();
    let store = s.broker.scram.clone();
    let user = match &c.token {
        Some(_) => "(bearer token)".to_string(),
        None => c.user.clone(),
    };
    let session = tokio::task::spawn_blocking(move || match &c.token {
        Some(token) => login.verify_token(token),
        None => login.verify(&c.user, &c.password, &store),
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?;
    let Some(session) = session else {
        tracing::info!("console login failed for user {user:?}");
        tokio::time::sleep(s.login.failed_delay()).await;
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "SASL_AUTHENTICATION_FAILED",
            "Authentication failed: Invalid username or password",
        ));
    };
    let name = session.principal.name().to_string();
    let max_age = session.expires.saturating_duration_since(Instant::now());
    let token = s.login.open(session);
    let cookie = format!(
        "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
        max_age.as_secs()
    );
    let mut resp = Json(serde_json::json!({ "user": name })).into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|e| ApiError::internal(e.to_string()))?,
    );
    Ok(resp)
}

/// `POST /api/logout`.
pub async fn logout(State(s): State<HttpState>, headers: HeaderMap) -> Response {
    s.login.close(&headers);
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&format!(
            "{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"
        ))
        .expect("an ASCII header"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hi_is_pbkdf2() {
        // RFC 7677's salt and password; expected values from Python's
        // hashlib.pbkdf2_hmac.
        let salt = base64::engine::general_purpose::STANDARD
            .decode("W22ZaJ0SNY7soEsUEjb6gQ==")
            .unwrap();
        let hex = |v: Vec<u8>| v.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(
            hex(hi(ScramMechanism::Sha256, b"pencil", &salt, 4096)),
            "c4a49510323ab4f952cac1fa99441939e78ea74d6be81ddf7096e87513dc615d"
        );
        assert_eq!(
            hex(hi(ScramMechanism::Sha512, b"pencil", &salt, 4096)),
            "f16efe1be67f1d09502ebd5ed9262fddffba5a377ab4f0b687e5ed5ba0f50686\
             b8a4ae166476da8ab3b951d2fa9238b63998f45461bc33a464814949cec9631d"
        );
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; weir_console_session=abc; b=2"),
        );
        assert_eq!(cookie(&h).as_deref(), Some("abc"));
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("weir_console_session="),
        );
        assert_eq!(cookie(&h), None);
        assert_eq!(saslname("a=b,c"), "a=3Db=2Cc");
    }
}
