//! What HTTP tells us about the caller, for sessions and the audit log.

use actix_web::HttpRequest;
use actix_web::http::header;
use gatehouse_domain::ClientInfo;

/// The peer address, not `X-Forwarded-For`: a header any client can forge
/// must not decide what the audit log records.
pub fn client_info(request: &HttpRequest) -> ClientInfo {
    let ip = request.peer_addr().map(|addr| addr.ip().to_string());
    let user_agent = request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    ClientInfo::new(ip, user_agent)
}
