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
    /// Web origins whose pages may call the user API from the browser (CORS); empty: none.
    pub allowed_origins: Vec<String>,
}

impl AuthConfig {
    /// Reads:
    /// - `JWT_SECRET` (required for the user API; at least 32 characters)
    /// - `JWT_AUDIENCE` (optional)
    /// - `JWT_ISSUER` (optional)
    /// - `API_ALLOWED_ORIGINS` (optional, comma-separated origins such as
    ///   `https://tracker.example.com`; each must be `scheme://host[:port]`)
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
            allowed_origins: allowed_origins(var("API_ALLOWED_ORIGINS").as_deref())?,
        })
    }

    /// `secret` with no audience or issuer check (tests and tools).
    pub fn with_secret(secret: &str) -> Self {
        Self {
            jwt_secret: secret.to_owned().into(),
            audience: None,
            issuer: None,
            allowed_origins: Vec::new(),
        }
    }
}

/// The comma-separated origins of `API_ALLOWED_ORIGINS`, each checked to be an origin (a
/// scheme and host, no path): a page's `Origin` header is compared with them exactly.
fn allowed_origins(raw: Option<&str>) -> Result<Vec<String>, ConfigError> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|o| {
            let origin = o.trim_end_matches('/');
            match url::Url::parse(origin) {
                Ok(u)
                    if matches!(u.scheme(), "http" | "https")
                        && u.host().is_some()
                        && u.path() == "/"
                        && !origin.ends_with('/')
                        && u.query().is_none() =>
                {
                    Ok(origin.to_owned())
                }
                _ => Err(ConfigError::Invalid {
                    name: "API_ALLOWED_ORIGINS",
                    reason: "each entry must be an origin such as https://tracker.example.com \
                             (scheme and host, optional port, no path)"
                        .into(),
                }),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::allowed_origins;

    #[test]
    fn origins_are_scheme_and_host_only() {
        assert_eq!(
            allowed_origins(Some("https://tracker.example.com, http://localhost:3000/")).unwrap(),
            vec!["https://tracker.example.com", "http://localhost:3000"]
        );
        assert!(allowed_origins(None).unwrap().is_empty());
        assert!(allowed_origins(Some("https://tracker.example.com/app")).is_err());
        assert!(allowed_origins(Some("tracker.example.com")).is_err());
        assert!(allowed_origins(Some("*")).is_err());
    }
}
