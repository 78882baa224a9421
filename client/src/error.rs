//! The tools' error type: one enum, one clear line per failure.

/// Everything that can stop a run of a tool (a benchmark, an admin command).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A bad command line (flag, value, combination); exit code 2.
    #[error("{0}")]
    Usage(String),
    /// Socket-level failure talking to a broker.
    #[error("{addr}: {source}")]
    Io {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    /// The broker sent something we cannot decode, or a request could not be encoded.
    #[error("protocol: {0}")]
    Protocol(String),
    /// The broker answered with a Kafka error code where we cannot go on.
    #[error("{context}: {} (error code {code})", error_name(*code))]
    Kafka { context: String, code: i16 },
    /// Compression or decompression failed.
    #[error("codec: {0}")]
    Codec(String),
    /// TLS handshake or SASL authentication failed: retrying will not help.
    #[error("{0}")]
    Auth(String),
    /// Anything else that stops the run (timeouts, missing leaders, ...).
    #[error("{0}")]
    Run(String),
}

impl ClientError {
    /// Exit code: 2 for usage errors, 1 for failures during the run.
    pub fn exit_code(&self) -> i32 {
        match self {
            ClientError::Usage(_) => 2,
            _ => 1,
        }
    }
}

/// Kafka's name of an error code (`TOPIC_AUTHORIZATION_FAILED`), or the number
/// when kafka-protocol does not know it.
pub fn error_name(code: i16) -> String {
    // Codes kafka-protocol does not know come back as `Unknown(code)`.
    let camel = kafka_protocol::ResponseError::try_from_code(code).map(|e| format!("{e:?}"));
    match camel.filter(|c| !c.contains('(')) {
        Some(camel) => {
            let mut out = String::with_capacity(camel.len() + 8);
            for (i, c) in camel.chars().enumerate() {
                if c.is_ascii_uppercase() && i > 0 {
                    out.push('_');
                }
                out.push(c.to_ascii_uppercase());
            }
            out
        }
        None => code.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::error_name;
    use kafka_protocol::ResponseError;

    #[test]
    fn error_names_are_kafkas() {
        assert_eq!(
            error_name(ResponseError::TopicAuthorizationFailed.code()),
            "TOPIC_AUTHORIZATION_FAILED"
        );
        assert_eq!(
            error_name(ResponseError::SaslAuthenticationFailed.code()),
            "SASL_AUTHENTICATION_FAILED"
        );
        assert_eq!(error_name(-12345), "-12345");
    }
}
