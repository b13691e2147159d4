//! Breached passwords from the Pwned Passwords range API, by k-anonymity:
//! only the first five hex characters of the password's SHA-1 leave the
//! service, and the answer (every known suffix of that prefix, padded with
//! decoys of count 0) is searched here. Without `AUTH_HIBP_URL`, only the
//! bundled list of common passwords applies (the domain's rules).
//!
//! The client is awc, actix's own, already in the build: no second HTTP
//! stack. Its futures are not `Send`, so requests run on one thread of
//! their own with its own actix runtime, and use cases talk to it through
//! a channel.

use std::time::Duration;

use gatehouse_application::ports::BreachedPasswords;
use gatehouse_domain::Password;
use sha1::{Digest as _, Sha1};
use tokio::sync::{mpsc, oneshot};

/// The contract's bound on one lookup.
const TIMEOUT: Duration = Duration::from_secs(2);
/// A padded answer is about 40 KiB; anything far bigger is not one.
const MAX_BODY: usize = 1 << 20;

#[derive(Debug, Clone)]
pub enum BreachCheck {
    /// Only the domain's bundled list.
    BundledOnly,
    Pwned(PwnedPasswords),
}

impl BreachedPasswords for BreachCheck {
    async fn is_breached(&self, password: &Password) -> bool {
        match self {
            Self::BundledOnly => false,
            Self::Pwned(api) => api.is_breached(password).await,
        }
    }
}

struct Lookup {
    prefix: String,
    reply: oneshot::Sender<Result<String, &'static str>>,
}

#[derive(Debug, Clone)]
pub struct PwnedPasswords {
    lookups: mpsc::Sender<Lookup>,
}

impl std::fmt::Debug for Lookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Lookup(..)")
    }
}

impl PwnedPasswords {
    /// Starts the client thread for the API at `base_url` (its `/range/`
    /// endpoint is appended).
    ///
    /// # Errors
    /// When the thread cannot be started.
    pub fn start(base_url: &str) -> anyhow::Result<Self> {
        let base = base_url.trim_end_matches('/').to_owned();
        let (lookups, mut pending) = mpsc::channel::<Lookup>(256);
        std::thread::Builder::new()
            .name("pwned-passwords".to_owned())
            .spawn(move || {
                actix_web::rt::System::new().block_on(async move {
                    let client = awc::Client::builder()
                        .timeout(TIMEOUT)
                        .add_default_header(("user-agent", "gatehouse"))
                        .finish();
                    while let Some(lookup) = pending.recv().await {
                        let (client, url) =
                            (client.clone(), format!("{base}/range/{}", lookup.prefix));
                        actix_web::rt::spawn(async move {
                            let _ = lookup.reply.send(fetch(&client, &url).await);
                        });
                    }
                });
            })?;
        Ok(Self { lookups })
    }

    async fn is_breached(&self, password: &Password) -> bool {
        let digest: String = Sha1::digest(password.expose().as_bytes())
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        let (prefix, suffix) = digest.split_at(5);
        let (reply, answer) = oneshot::channel();
        let lookup = Lookup {
            prefix: prefix.to_owned(),
            reply,
        };
        let outcome = match self.lookups.send(lookup).await {
            Err(_) => Err("the client thread is gone"),
            Ok(()) => {
                match tokio::time::timeout(TIMEOUT + Duration::from_millis(500), answer).await {
                    Ok(Ok(result)) => result,
                    Ok(Err(_)) => Err("the lookup was dropped"),
                    Err(_) => Err("timed out"),
                }
            }
        };
        match outcome {
            Ok(body) => listed(&body, suffix),
            Err(reason) => {
                // Neither the prefix nor the URL: both say something about
                // the password.
                tracing::warn!(
                    reason,
                    "breached-password check unavailable; password accepted"
                );
                false
            }
        }
    }
}

async fn fetch(client: &awc::Client, url: &str) -> Result<String, &'static str> {
    let mut response = client
        .get(url)
        .insert_header(("add-padding", "true"))
        .send()
        .await
        .map_err(|e| match e {
            awc::error::SendRequestError::Timeout => "timed out",
            awc::error::SendRequestError::Connect(_) => "cannot connect",
            _ => "request failed",
        })?;
    if !response.status().is_success() {
        return Err("the API answered an error status");
    }
    let body = response
        .body()
        .limit(MAX_BODY)
        .await
        .map_err(|_| "unreadable answer")?;
    String::from_utf8(body.to_vec()).map_err(|_| "unreadable answer")
}

/// `SUFFIX:COUNT` lines; padding lines have a count of 0.
fn listed(body: &str, suffix: &str) -> bool {
    body.lines()
        .filter_map(|line| line.trim().split_once(':'))
        .any(|(candidate, count)| {
            candidate.eq_ignore_ascii_case(suffix)
                && count.trim().parse::<u64>().is_ok_and(|n| n > 0)
        })
}

#[cfg(test)]
mod tests {
    use super::listed;

    #[test]
    fn only_a_counted_suffix_is_a_match() {
        let body = "0018A45C4D1DEF81644B54AB7F969B88D65:1\r\n\
                    00D4F6E8FA6EECAD2A3AA415EEC418D38EC:2\r\n\
                    011053FD0102E94D6AE2F8B83D76FAF94F6:0\r\n";
        assert!(listed(body, "00d4f6e8fa6eecad2a3aa415eec418d38ec"));
        assert!(listed(body, "0018A45C4D1DEF81644B54AB7F969B88D65"));
        assert!(
            !listed(body, "011053FD0102E94D6AE2F8B83D76FAF94F6"),
            "padding"
        );
        assert!(!listed(body, "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"));
        assert!(!listed("garbage\nno colon", "GARBAGE"));
    }
}
