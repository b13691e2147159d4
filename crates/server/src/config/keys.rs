//! The keys: where the access-token keys come from, reading them, and the
//! rules every secret follows.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use gatehouse_adapter_crypto::{Ed25519PublicKey, Ed25519SigningKey, JwtKeys};
use gatehouse_domain::SecretString;

use super::source::Source;

/// Key material shorter than this is refused (HS256 and the data key).
pub const MIN_SECRET_BYTES: usize = 32;

/// Where the access-token keys come from (`AUTH_JWT_ALGORITHM` and the
/// variables of that algorithm). Files are read by `load`, when `serve`
/// starts, so `migrate` needs none of them.
#[derive(Clone)]
pub enum TokenKeySource {
    Hs256 {
        secret: Option<SecretString>,
    },
    EdDsa {
        private_key_file: Option<PathBuf>,
        verify_key_files: Vec<PathBuf>,
    },
}

impl std::fmt::Debug for TokenKeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Hs256 { secret } => f
                .debug_struct("Hs256")
                .field("secret", &secret.as_ref().map(|_| "<redacted>"))
                .finish(),
            Self::EdDsa {
                private_key_file,
                verify_key_files,
            } => f
                .debug_struct("EdDsa")
                .field("private_key_file", private_key_file)
                .field("verify_key_files", verify_key_files)
                .finish(),
        }
    }
}

impl TokenKeySource {
    pub(super) fn read<F: Fn(&str) -> Option<String>>(s: &Source<F>) -> anyhow::Result<Self> {
        let algorithm = s.string("AUTH_JWT_ALGORITHM", "HS256");
        let secret = s.secret("AUTH_JWT_SECRET");
        let private_key_file = s.optional("AUTH_JWT_PRIVATE_KEY_FILE").map(PathBuf::from);
        let verify_key_files: Vec<PathBuf> = s
            .optional("AUTH_JWT_VERIFY_KEY_FILES")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .collect();
        match algorithm.as_str() {
            "HS256" => {
                if private_key_file.is_some() || !verify_key_files.is_empty() {
                    bail!(
                        "AUTH_JWT_PRIVATE_KEY_FILE and AUTH_JWT_VERIFY_KEY_FILES are Ed25519 keys: \
                         set AUTH_JWT_ALGORITHM=EdDSA to use them, or unset them for HS256"
                    );
                }
                Ok(Self::Hs256 { secret })
            }
            "EdDSA" => Ok(Self::EdDsa {
                private_key_file,
                verify_key_files,
            }),
            other => bail!("AUTH_JWT_ALGORITHM must be HS256 or EdDSA, got {other:?}"),
        }
    }

    /// The keys, files read and parsed, each failure naming its variable
    /// and file.
    pub fn load(&self) -> anyhow::Result<JwtKeys> {
        match self {
            Self::Hs256 { secret } => {
                check_secret(
                    "AUTH_JWT_SECRET",
                    secret.as_ref(),
                    "with AUTH_JWT_ALGORITHM=HS256",
                )?;
                Ok(JwtKeys::Hs256(
                    secret.clone().unwrap_or_else(|| SecretString::new("")),
                ))
            }
            Self::EdDsa {
                private_key_file,
                verify_key_files,
            } => {
                let Some(path) = private_key_file else {
                    bail!(
                        "AUTH_JWT_PRIVATE_KEY_FILE is required with AUTH_JWT_ALGORITHM=EdDSA: \
                         make one with `gatehouse keys generate > key.pem`"
                    );
                };
                let signing = Ed25519SigningKey::from_pem(
                    read_key_file("AUTH_JWT_PRIVATE_KEY_FILE", path)?.expose(),
                )
                .map_err(|e| {
                    anyhow::anyhow!("AUTH_JWT_PRIVATE_KEY_FILE {}: {e}", path.display())
                })?;
                let also_accepted = verify_key_files
                    .iter()
                    .map(|path| {
                        Ed25519PublicKey::from_pem(
                            read_key_file("AUTH_JWT_VERIFY_KEY_FILES", path)?.expose(),
                        )
                        .map_err(|e| {
                            anyhow::anyhow!("AUTH_JWT_VERIFY_KEY_FILES {}: {e}", path.display())
                        })
                    })
                    .collect::<anyhow::Result<_>>()?;
                Ok(JwtKeys::Ed25519 {
                    signing,
                    also_accepted,
                })
            }
        }
    }
}

/// A key file's text; its content never reaches an error message.
fn read_key_file(variable: &str, path: &Path) -> anyhow::Result<SecretString> {
    std::fs::read_to_string(path)
        .map(SecretString::new)
        .with_context(|| format!("{variable}: reading {}", path.display()))
}

pub(super) fn check_secret(
    name: &str,
    value: Option<&SecretString>,
    why: &str,
) -> anyhow::Result<()> {
    match value {
        None => bail!(
            "{name} is required {why}: set it to at least {MIN_SECRET_BYTES} random bytes (e.g. `openssl rand -base64 48`)"
        ),
        Some(v) if v.expose().len() < MIN_SECRET_BYTES => bail!(
            "{name} is too short: {} bytes, at least {MIN_SECRET_BYTES} are required (e.g. `openssl rand -base64 48`)",
            v.expose().len()
        ),
        Some(v)
            if v.expose()
                .chars()
                .skip(1)
                .all(|c| v.expose().starts_with(c)) =>
        {
            bail!(
                "{name} is one character repeated, which is no secret: use random bytes (e.g. `openssl rand -base64 48`)"
            )
        }
        Some(_) => Ok(()),
    }
}
