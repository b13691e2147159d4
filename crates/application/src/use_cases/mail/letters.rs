//! What each mail says: plain text, short, one link at most. The links
//! point at the operator's front end (`AUTH_PUBLIC_URL`), which takes the
//! token from the query and calls the API.

use gatehouse_domain::{ClientInfo, SecretString, Timestamp};

use crate::ports::ApiKeyView;

#[derive(Debug)]
pub(crate) struct Letter {
    pub subject: String,
    pub body: String,
}

fn link(public_url: &str, path: &str, token: &SecretString) -> String {
    format!(
        "{}/{path}?token={}",
        public_url.trim_end_matches('/'),
        token.expose()
    )
}

pub(crate) fn verification(public_url: &str, token: &SecretString) -> Letter {
    Letter {
        subject: "Confirm your email address".to_owned(),
        body: format!(
            "Confirm that this is your email address by opening this link:\n\n{}\n\n\
             The link works once, for 24 hours. If you did not create an account, \
             ignore this mail.\n",
            link(public_url, "verify-email", token)
        ),
    }
}

pub(crate) fn password_reset(public_url: &str, token: &SecretString) -> Letter {
    Letter {
        subject: "Reset your password".to_owned(),
        body: format!(
            "Someone asked to reset the password of your account. To choose a new \
             password, open this link:\n\n{}\n\n\
             The link works once, for 30 minutes. If you did not ask for this, ignore \
             this mail: your password stays as it is.\n",
            link(public_url, "reset-password", token)
        ),
    }
}

/// Lists the API keys that still work: a password change leaves them be,
/// so a user who did not change it should know what else to revoke.
pub(crate) fn password_changed(live_keys: &[ApiKeyView]) -> Letter {
    let mut body = "The password of your account was just changed, and every other session \
                    was signed out.\n\nIf this was not you, reset your password now.\n"
        .to_owned();
    if !live_keys.is_empty() {
        body.push_str("\nThese API keys still work; a password reset would revoke them:\n");
        for key in live_keys {
            body.push_str(&format!("- {} ({}...)\n", printable(&key.name), key.prefix));
        }
    }
    Letter {
        subject: "Your password was changed".to_owned(),
        body,
    }
}

/// Names the key (its name and display prefix, never the key) and where
/// the request came from.
pub(crate) fn api_key_created(
    name: &str,
    prefix: &str,
    now: Timestamp,
    client: &ClientInfo,
) -> Letter {
    Letter {
        subject: "A new API key was created".to_owned(),
        body: format!(
            "An API key was created for your account: scripts and services holding it act \
             as you.\n\n\
             Name: {}\n\
             Starts with: {prefix}\n\
             When: {}\n\
             From IP address: {}\n\
             Browser or app: {}\n\n\
             If this was not you, revoke the key in your account's API keys and change \
             your password.\n",
            printable(name),
            now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            client.ip.as_deref().unwrap_or("unknown"),
            printable(client.user_agent.as_deref().unwrap_or("unknown")),
        ),
    }
}

pub(crate) fn mfa_enabled() -> Letter {
    Letter {
        subject: "Two-step sign-in is on".to_owned(),
        body: "Two-step sign-in (an authenticator app code) was just turned on for your \
               account. Keep your backup codes somewhere safe: each works once if you lose \
               the app.\n\nIf this was not you, reset your password now.\n"
            .to_owned(),
    }
}

pub(crate) fn mfa_removed_by_admin() -> Letter {
    Letter {
        subject: "Two-step sign-in was removed by an administrator".to_owned(),
        body: "An administrator removed two-step sign-in (the authenticator app and the \
               backup codes) from your account, and every session of it was ended. Your \
               password alone now signs you in: turn two-step sign-in on again from your \
               account.\n\nIf you did not ask for this, reset your password now and \
               tell your administrator.\n"
            .to_owned(),
    }
}

pub(crate) fn mfa_disabled() -> Letter {
    Letter {
        subject: "Two-step sign-in is off".to_owned(),
        body: "Two-step sign-in was just turned off for your account: your password alone \
               now signs you in.\n\nIf this was not you, reset your password now and turn \
               it on again.\n"
            .to_owned(),
    }
}

/// Says when and from where, and what was done. The ip and user agent are
/// the request that presented the old token: possibly the attacker's.
pub(crate) fn reuse_alert(now: Timestamp, client: &ClientInfo) -> Letter {
    Letter {
        subject: "Security alert: a sign-in of your account was ended".to_owned(),
        body: format!(
            "A sign-in token of your account was used again after it had been replaced, \
             which can mean it was copied.\n\n\
             When: {}\n\
             From IP address: {}\n\
             Browser or app: {}\n\n\
             We ended every session of that sign-in. Sign in again on your devices. \
             If you do not recognise this, change your password.\n",
            now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            client.ip.as_deref().unwrap_or("unknown"),
            printable(client.user_agent.as_deref().unwrap_or("unknown")),
        ),
    }
}

/// A user agent is whatever the client sent: keep it on one line, short,
/// and free of control characters, so it cannot shape the mail.
fn printable(raw: &str) -> String {
    raw.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_join_the_public_url_and_the_token() {
        let token = SecretString::new("abc");
        let letter = password_reset("https://auth.example.com/", &token);
        assert!(
            letter
                .body
                .contains("https://auth.example.com/reset-password?token=abc\n")
        );
        let letter = verification("http://127.0.0.1:8080", &token);
        assert!(
            letter
                .body
                .contains("http://127.0.0.1:8080/verify-email?token=abc\n")
        );
    }

    /// Every mail as its recipient reads it, one snapshot: wording,
    /// line breaks and what each one names are reviewed as a file.
    #[test]
    fn every_mail() {
        use std::fmt::Write as _;
        let token = SecretString::new("TOKEN");
        let at = chrono::DateTime::parse_from_rfc3339("2030-01-01T12:00:00Z")
            .map(|t| t.to_utc())
            .unwrap_or_default();
        let client = ClientInfo {
            ip: Some("203.0.113.9".into()),
            user_agent: Some("Firefox/140".into()),
            request_id: None,
            client_request_id: None,
        };
        let key = ApiKeyView {
            id: uuid::Uuid::nil(),
            name: "deploy bot".into(),
            prefix: "gk_1a2b3c4d".into(),
            created_at: at,
            expires_at: None,
            last_used_at: None,
        };
        let letters = [
            (
                "verification",
                verification("https://auth.example.com", &token),
            ),
            (
                "password_reset",
                password_reset("https://auth.example.com", &token),
            ),
            ("password_changed", password_changed(&[])),
            ("password_changed_with_keys", password_changed(&[key])),
            (
                "api_key_created",
                api_key_created("deploy bot", "gk_1a2b3c4d", at, &client),
            ),
            ("mfa_enabled", mfa_enabled()),
            ("mfa_disabled", mfa_disabled()),
            ("mfa_removed_by_admin", mfa_removed_by_admin()),
            ("reuse_alert", reuse_alert(at, &client)),
        ];
        let mut all = String::new();
        for (name, letter) in letters {
            let _ = write!(
                all,
                "=== {name}\nSubject: {}\n\n{}\n",
                letter.subject, letter.body
            );
        }
        insta::assert_snapshot!(all);
    }

    #[test]
    fn a_user_agent_cannot_add_lines_to_the_alert() {
        let client = ClientInfo {
            ip: Some("203.0.113.9".into()),
            user_agent: Some("evil\r\nBcc: someone".into()),
            request_id: None,
            client_request_id: None,
        };
        let letter = reuse_alert(chrono::Utc::now(), &client);
        assert!(letter.body.contains("Browser or app: evil  Bcc: someone\n"));
    }
}
