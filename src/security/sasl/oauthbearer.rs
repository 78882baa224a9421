//! SASL/OAUTHBEARER (RFC 7628) with Kafka's default server-side validator for
//! development, `OAuthBearerUnsecuredValidatorCallbackHandler`: an unsecured
//! JWS (`alg: none`, empty signature) whose principal claim (`sub`, or the JAAS
//! option `unsecuredValidatorPrincipalClaimName`) is a string, `exp` is in the
//! future (allowing `unsecuredValidatorAllowableClockSkewMs`), `iat` (if there)
//! not in the future and before `exp`, and whose scope holds
//! `unsecuredValidatorRequiredScope`. An invalid token is answered, as Kafka
//! does, with the challenge `{"status":"invalid_token"}`; the client's `%x01`
//! reply then fails the exchange with that message. The token's expiry caps the
//! session lifetime (KIP-368).
//!
//! Signed JWTs, as Kafka's `OAuthBearerValidatorCallbackHandler` (its
//! `BrokerJwtValidator`, jose4j) checks them, when
//! `sasl.oauthbearer.jwks.endpoint.url` names a JWKS file (`file://...`, read
//! at start-up as Kafka reads a file JWKS; an `https` endpoint is refused): the
//! signature by the key of the JWS `kid` (RSA, EC, EdDSA; never `none` or an
//! HMAC secret), `exp` and `iat` required, `exp`/`nbf` with
//! `sasl.oauthbearer.clock.skew.seconds`, `aud` in
//! `sasl.oauthbearer.expected.audience` (a token with an `aud` and no expected
//! audience is refused, as jose4j does), `iss` equal to
//! `sasl.oauthbearer.expected.issuer`, and the principal from
//! `sasl.oauthbearer.sub.claim.name`. A bad token gets the same
//! `invalid_token` challenge as an unsecured one. Signature checks:
//! `jsonwebtoken` (on ring).

use super::jaas::JaasEntry;
use super::{MechanismStep, SaslFailure};
use crate::config::Settings;
use base64::Engine;
use serde_json::Value;

/// The unsecured validator's options, or the signed-JWT validator's.
#[derive(Debug, Clone)]
pub struct OAuthConfig {
    principal_claim: String,
    scope_claim: String,
    required_scope: Vec<String>,
    clock_skew_ms: i64,
    /// `sasl.oauthbearer.jwks.endpoint.url` set: signed JWTs only.
    signed: Option<std::sync::Arc<SignedConfig>>,
}

/// Kafka's `BrokerJwtValidator` settings.
#[derive(Debug)]
pub struct SignedConfig {
    jwks: jsonwebtoken::jwk::JwkSet,
    expected_audience: Vec<String>,
    expected_issuer: Option<String>,
    sub_claim: String,
    clock_skew_secs: u64,
}

/// Read a JWKS file named by a `file://` URL.
fn load_jwks(url: &str) -> Result<jsonwebtoken::jwk::JwkSet, String> {
    let url = url.trim();
    let Some(path) = url.strip_prefix("file://") else {
        return Err(format!(
            "sasl.oauthbearer.jwks.endpoint.url {url}: weir reads a JWKS file (file:///path/to/jwks.json), not an HTTP endpoint"
        ));
    };
    let text = std::fs::read(path)
        .map_err(|e| format!("sasl.oauthbearer.jwks.endpoint.url {url}: {e}"))?;
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_slice(&text)
        .map_err(|e| format!("sasl.oauthbearer.jwks.endpoint.url {url}: not a JWK set: {e}"))?;
    if set.keys.is_empty() {
        return Err(format!(
            "sasl.oauthbearer.jwks.endpoint.url {url}: the JWK set has no keys"
        ));
    }
    for k in &set.keys {
        jsonwebtoken::DecodingKey::from_jwk(k)
            .map_err(|e| format!("sasl.oauthbearer.jwks.endpoint.url {url}: unusable key: {e}"))?;
    }
    Ok(set)
}

impl OAuthConfig {
    pub fn from_settings(
        settings: &Settings,
        listener: &str,
        jaas: Option<&JaasEntry>,
    ) -> Result<OAuthConfig, String> {
        let jwks = settings.listener_mechanism_str(
            listener,
            "OAUTHBEARER",
            "sasl.oauthbearer.jwks.endpoint.url",
        );
        let signed = if jwks.trim().is_empty() {
            None
        } else {
            let get = |k: &str| settings.listener_mechanism_str(listener, "OAUTHBEARER", k);
            let issuer = get("sasl.oauthbearer.expected.issuer").trim();
            Some(std::sync::Arc::new(SignedConfig {
                jwks: load_jwks(jwks)?,
                expected_audience: get("sasl.oauthbearer.expected.audience")
                    .split(',')
                    .map(|a| a.trim().to_string())
                    .filter(|a| !a.is_empty())
                    .collect(),
                expected_issuer: (!issuer.is_empty()).then(|| issuer.to_string()),
                sub_claim: get("sasl.oauthbearer.sub.claim.name").trim().to_string(),
                clock_skew_secs: settings
                    .listener_i64(listener, "sasl.oauthbearer.clock.skew.seconds")
                    as u64,
            }))
        };
        let opt = |k: &str| jaas.and_then(|j| j.options.get(k)).cloned();
        Ok(OAuthConfig {
            principal_claim: opt("unsecuredValidatorPrincipalClaimName")
                .unwrap_or_else(|| "sub".into()),
            scope_claim: opt("unsecuredValidatorScopeClaimName").unwrap_or_else(|| "scope".into()),
            required_scope: opt("unsecuredValidatorRequiredScope")
                .map(|s| s.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default(),
            clock_skew_ms: opt("unsecuredValidatorAllowableClockSkewMs")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            signed,
        })
    }

    /// The token checked by the configured validator.
    pub fn validate(&self, token: &str, now_ms: i64) -> Result<Token, (String, bool)> {
        match &self.signed {
            Some(s) => validate_signed(token, s),
            None => validate_unsecured(token, self, now_ms),
        }
    }
}

/// Kafka's `BrokerJwtValidator` checks; `Err` = (log detail, false).
pub fn validate_signed(token: &str, config: &SignedConfig) -> Result<Token, (String, bool)> {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    let err = |e: String| (e, false);
    let header =
        jsonwebtoken::decode_header(token).map_err(|e| err(format!("JOSE header: {e}")))?;
    if matches!(
        header.alg,
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
    ) {
        return Err(err(format!(
            "JWS algorithm {:?} is not allowed",
            header.alg
        )));
    }
    let jwk = match &header.kid {
        Some(kid) => config
            .jwks
            .find(kid)
            .ok_or_else(|| err(format!("no key with kid {kid:?} in the JWK set")))?,
        None if config.jwks.keys.len() == 1 => &config.jwks.keys[0],
        None => {
            return Err(err(
                "the JWS has no kid and the JWK set has several keys".into()
            ))
        }
    };
    let key = DecodingKey::from_jwk(jwk).map_err(|e| err(format!("JWK: {e}")))?;
    let mut v = Validation::new(header.alg);
    v.set_required_spec_claims(&["exp", "iat"]);
    v.leeway = config.clock_skew_secs;
    v.validate_exp = true;
    v.validate_nbf = true;
    if config.expected_audience.is_empty() {
        v.validate_aud = true;
        v.aud = None;
    } else {
        v.set_audience(&config.expected_audience);
    }
    if let Some(iss) = &config.expected_issuer {
        v.set_issuer(&[iss]);
    }
    let data = jsonwebtoken::decode::<Value>(token, &key, &v)
        .map_err(|e| err(format!("JWT validation failed: {e}")))?;
    let claims = data.claims;
    let principal = match claims.get(&config.sub_claim) {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(_) => {
            return Err(err(format!(
                "The {} claim had the incorrect type or is empty",
                config.sub_claim
            )))
        }
        None => return Err(err(format!("Required claim missing: {}", config.sub_claim))),
    };
    // jose4j's setRequireIssuedAt (jsonwebtoken checks only exp/nbf/aud/iss/sub).
    match claims.get("iat").and_then(Value::as_f64) {
        Some(iat) if iat >= 0.0 => {}
        Some(_) => return Err(err("The iat claim is negative".into())),
        None => return Err(err("Required claim missing: iat".into())),
    }
    let exp = claims
        .get("exp")
        .and_then(Value::as_f64)
        .ok_or_else(|| err("Required claim missing: exp".into()))?;
    Ok(Token {
        principal,
        expires_at_ms: (exp * 1000.0) as i64,
    })
}

/// A validated token.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub principal: String,
    pub expires_at_ms: i64,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn b64url(part: &str) -> Result<Value, String> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|e| format!("invalid Base64URL: {e}"))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("invalid JSON: {e}"))
}

/// Kafka's unsecured-JWS checks; `Err` = (log detail, whether it is a scope failure).
pub fn validate_unsecured(
    token: &str,
    config: &OAuthConfig,
    now_ms: i64,
) -> Result<Token, (String, bool)> {
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err((
            format!("Unsecured JWS compact serializations must have 3 dot-separated Base64URL-encoded values: {} found", parts.len()),
            false,
        ));
    }
    if !parts[2].is_empty() {
        return Err(("Unsecured JWS must have an empty signature".into(), false));
    }
    let header = b64url(parts[0]).map_err(|e| (format!("JOSE header: {e}"), false))?;
    if header.get("alg").and_then(Value::as_str) != Some("none") {
        return Err(("Unsecured JWS must have alg \"none\"".into(), false));
    }
    let claims = b64url(parts[1]).map_err(|e| (format!("claims: {e}"), false))?;
    let principal = match claims.get(&config.principal_claim) {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(_) => {
            return Err((
                format!(
                    "The {} claim had the incorrect type",
                    config.principal_claim
                ),
                false,
            ))
        }
        None => {
            return Err((
                format!("Required claim missing: {}", config.principal_claim),
                false,
            ))
        }
    };
    let number = |name: &str| -> Result<Option<f64>, (String, bool)> {
        match claims.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(_) => Err((format!("The {name} claim had the incorrect type"), false)),
        }
    };
    let exp = number("exp")?.ok_or(("Required claim missing: exp".to_string(), false))?;
    let iat = number("iat")?;
    let skew = config.clock_skew_ms;
    if let Some(iat) = iat {
        if 1000.0 * iat > (now_ms + skew) as f64 {
            return Err((
                format!("The Issued At value ({iat} seconds) was after the indicated time ({now_ms} ms) plus allowable clock skew ({skew} ms)"),
                false,
            ));
        }
    }
    if (now_ms - skew) as f64 >= 1000.0 * exp {
        return Err((
            format!("The indicated time ({now_ms} ms) minus allowable clock skew ({skew} ms) was on or after the Expiration Time value ({exp} seconds)"),
            false,
        ));
    }
    if let Some(iat) = iat {
        if exp <= iat {
            return Err((
                format!("The Expiration Time time ({exp} seconds) was not after the Issued At time ({iat} seconds)"),
                false,
            ));
        }
    }
    let scope: Vec<String> = match claims.get(&config.scope_claim) {
        Some(Value::String(s)) => s.split_whitespace().map(str::to_string).collect(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    for required in &config.required_scope {
        if !scope.contains(required) {
            return Err((
                format!("The provided scope ({scope:?}) was missing a required scope ({required})"),
                true,
            ));
        }
    }
    Ok(Token {
        principal,
        expires_at_ms: (exp * 1000.0) as i64,
    })
}

/// One OAUTHBEARER exchange.
#[derive(Default)]
pub struct OAuthServer {
    /// The error challenge sent; the client's `%x01` reply fails with it.
    error: Option<String>,
    expires_at_ms: Option<i64>,
}

impl OAuthServer {
    pub fn new() -> OAuthServer {
        OAuthServer::default()
    }

    /// The validated token's expiry (after completion).
    pub fn expires_at_ms(&self) -> Option<i64> {
        self.expires_at_ms
    }

    pub fn step(
        &mut self,
        token: &[u8],
        config: &OAuthConfig,
    ) -> Result<MechanismStep, SaslFailure> {
        if let Some(error) = self.error.take() {
            if token == b"\x01" {
                return Err(SaslFailure::with_message(error));
            }
            return Err(SaslFailure::generic().log("unexpected OAUTHBEARER token after an error"));
        }
        let text = std::str::from_utf8(token)
            .map_err(|_| SaslFailure::generic().log("invalid OAUTHBEARER client response"))?;
        // gs2-header "n," ["a=" authzid] "," %x01 "auth=Bearer " token %x01 (kv %x01)* %x01
        let invalid = || SaslFailure::with_message("Invalid OAUTHBEARER client first message");
        let rest = text.strip_prefix("n,").ok_or_else(invalid)?;
        let (authz, rest) = rest.split_once(',').ok_or_else(invalid)?;
        let authzid = match authz {
            "" => "",
            a => a.strip_prefix("a=").ok_or_else(invalid)?,
        };
        let rest = rest.strip_prefix('\x01').ok_or_else(invalid)?;
        let mut bearer = None;
        for kv in rest.split('\x01').filter(|s| !s.is_empty()) {
            if let Some(v) = kv.strip_prefix("auth=") {
                let v = v.trim();
                let t = v
                    .strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
                    .ok_or_else(invalid)?;
                bearer = Some(t.trim().to_string());
            }
        }
        let bearer = bearer.ok_or_else(invalid)?;
        match config.validate(&bearer, now_ms()) {
            Ok(token) => {
                if !authzid.is_empty() && authzid != token.principal {
                    return Err(SaslFailure::with_message(format!(
                        "Authentication failed: Client requested an authorization id ({authzid}) that is different from the token's principal name ({})",
                        token.principal
                    )));
                }
                self.expires_at_ms = Some(token.expires_at_ms);
                Ok(MechanismStep::Done {
                    response: Vec::new(),
                    authorization_id: token.principal,
                })
            }
            Err((detail, scope)) => {
                let json = if scope && !config.required_scope.is_empty() {
                    format!(
                        "{{\"status\":\"insufficient_scope\", \"scope\":\"[{}]\"}}",
                        config.required_scope.join(", ")
                    )
                } else {
                    "{\"status\":\"invalid_token\"}".to_string()
                };
                tracing::debug!("OAUTHBEARER token rejected: {detail}");
                self.error = Some(json.clone());
                Ok(MechanismStep::Challenge(json.into_bytes()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jws(claims: &str) -> String {
        let e = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.", e(r#"{"alg":"none"}"#), e(claims))
    }

    fn config() -> OAuthConfig {
        OAuthConfig {
            principal_claim: "sub".into(),
            scope_claim: "scope".into(),
            required_scope: vec![],
            clock_skew_ms: 0,
            signed: None,
        }
    }

    #[test]
    fn valid_unsecured_token() {
        let t = validate_unsecured(
            &jws(r#"{"sub":"alice","exp":2000,"iat":1000}"#),
            &config(),
            1_500_000,
        )
        .unwrap();
        assert_eq!(t.principal, "alice");
        assert_eq!(t.expires_at_ms, 2_000_000);
    }

    #[test]
    fn bad_tokens_are_rejected() {
        let c = config();
        let now = 1_500_000;
        assert!(validate_unsecured(&jws(r#"{"sub":"a","exp":1000}"#), &c, now).is_err());
        assert!(validate_unsecured(&jws(r#"{"exp":2000}"#), &c, now).is_err());
        assert!(validate_unsecured(&jws(r#"{"sub":"a"}"#), &c, now).is_err());
        assert!(validate_unsecured(&jws(r#"{"sub":"a","exp":2000,"iat":1600}"#), &c, now).is_err());
        assert!(validate_unsecured("a.b", &c, now).is_err());
        assert!(
            validate_unsecured(&format!("{}sig", jws(r#"{"sub":"a","exp":2000}"#)), &c, now)
                .is_err()
        );
        let mut scoped = config();
        scoped.required_scope = vec!["kafka".into()];
        assert!(validate_unsecured(
            &jws(r#"{"sub":"a","exp":2000,"scope":"kafka other"}"#),
            &scoped,
            now
        )
        .is_ok());
        assert!(
            validate_unsecured(&jws(r#"{"sub":"a","exp":2000}"#), &scoped, now)
                .unwrap_err()
                .1
        );
    }

    #[test]
    fn invalid_token_gets_kafkas_error_challenge_then_fails() {
        let mut s = OAuthServer::new();
        let msg = format!(
            "n,,\x01auth=Bearer {}\x01\x01",
            jws(r#"{"sub":"a","exp":1}"#)
        );
        match s.step(msg.as_bytes(), &config()).unwrap() {
            MechanismStep::Challenge(c) => assert_eq!(c, br#"{"status":"invalid_token"}"#),
            _ => panic!(),
        }
        let e = s.step(b"\x01", &config()).unwrap_err();
        assert_eq!(
            e.message("OAUTHBEARER", false),
            r#"{"status":"invalid_token"}"#
        );
    }
}
