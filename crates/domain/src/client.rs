//! Who is on the other end of a request, as far as HTTP can tell; recorded
//! with sessions and audit events.

/// User agents are attacker-controlled; keep what we store bounded.
const MAX_USER_AGENT_CHARS: usize = 512;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The server's own id of the request (never the client's, which
    /// anyone may repeat), so an audit event can be matched with the
    /// request's log lines.
    pub request_id: Option<String>,
    /// The `X-Request-Id` the client sent, if any: kept for the client's
    /// own correlation, never as the record's id.
    pub client_request_id: Option<String>,
}

impl ClientInfo {
    pub fn new(ip: Option<String>, user_agent: Option<&str>) -> Self {
        // Shown back to the user (the sessions list, security mails):
        // no control characters, and no format characters either, which
        // reorder or hide text (a right-to-left override can make one
        // browser's name read as another's).
        let user_agent = user_agent.map(|ua| {
            ua.chars()
                .filter(|c| !c.is_control() && !is_format_char(*c))
                .take(MAX_USER_AGENT_CHARS)
                .collect()
        });
        Self {
            ip,
            user_agent,
            request_id: None,
            client_request_id: None,
        }
    }

    pub fn with_client_request_id(mut self, id: impl Into<String>) -> Self {
        self.client_request_id = Some(id.into());
        self
    }

    pub fn with_request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }
}

/// Unicode's format characters (general category Cf): bidirectional
/// controls, zero-width joiners and spaces, invisible operators, tags.
/// They change how text around them is shown without being seen.
pub fn is_format_char(c: char) -> bool {
    matches!(
        u32::from(c),
        0x00AD
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_lose_control_and_format_characters() {
        let client = ClientInfo::new(
            None,
            Some("Firefox\u{202E}egdE\u{202C} \u{200B}on\u{2066} Linux\n\u{0007}"),
        );
        assert_eq!(client.user_agent.as_deref(), Some("FirefoxegdE on Linux"));
    }

    #[test]
    fn letters_of_any_script_are_not_format_characters() {
        assert!(
            "Ünïcødé ßafari 日本 עברית"
                .chars()
                .all(|c| !is_format_char(c))
        );
        assert!(is_format_char('\u{202E}') && is_format_char('\u{FEFF}'));
    }
}
