use secrecy::SecretString;

use super::env::{ConfigError, required_var, var};

/// How the case tracker's user bearer tokens are checked (HS256 JWTs, `sub` = user id).
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// The HS256 key the tracker signs with.
    pub jwt_secret: SecretString,
    /// When set, a token's `aud` must contain it (Supabase: `authenticated`).
    pub audience: Option<String>,
    /// When set, a token's `iss` must equal it.
    pub issuer: Option<String>,
}

impl AuthConfig {
    /// Reads:
    /// - `JWT_SECRET` (required for the user API; at least 32 characters)
    /// - `JWT_AUDIENCE` (optional)
    /// - `JWT_ISSUER` (optional)
    pub fn from_env() -> Result<Self, ConfigError> {
        let secret = required_var("JWT_SECRET")?;
        if secret.len() < 32 {
            return Err(ConfigError::Invalid {
                name: "JWT_SECRET",
                reason: "must be at least 32 characters".into(),
            });
        }
        Ok(Self {
            jwt_secret: secret.into(),
            audience: var("JWT_AUDIENCE"),
            issuer: var("JWT_ISSUER"),
        })
    }

    /// `secret` with no audience or issuer check (tests and tools).
    pub fn with_secret(secret: &str) -> Self {
        Self {
            jwt_secret: secret.to_owned().into(),
            audience: None,
            issuer: None,
        }
    }
}
