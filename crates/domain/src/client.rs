//! Who is on the other end of a request, as far as HTTP can tell; recorded
//! with sessions and audit events.

/// User agents are attacker-controlled; keep what we store bounded.
const MAX_USER_AGENT_CHARS: usize = 512;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The request's id (as logged and echoed in `X-Request-Id`), so an
    /// audit event can be matched with the request's log lines.
    pub request_id: Option<String>,
}

impl ClientInfo {
    pub fn new(ip: Option<String>, user_agent: Option<&str>) -> Self {
        let user_agent = user_agent.map(|ua| {
            ua.chars()
                .filter(|c| !c.is_control())
                .take(MAX_USER_AGENT_CHARS)
                .collect()
        });
        Self {
            ip,
            user_agent,
            request_id: None,
        }
    }

    pub fn with_request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }
}
