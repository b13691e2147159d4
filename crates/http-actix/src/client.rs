//! What HTTP tells us about the caller, for sessions, the audit log and the
//! per-IP rate limit.
//!
//! The client IP is the peer address, unless the peer is one of the
//! operator's proxies (`AUTH_TRUSTED_PROXIES`): then it is the right-most
//! `X-Forwarded-For` entry that is not a trusted proxy. Entries to the
//! left of it were written by the client and prove nothing.

use std::net::IpAddr;

use actix_web::http::header;
use actix_web::{HttpMessage, HttpRequest, web};
use gatehouse_domain::ClientInfo;
use ipnet::IpNet;

use crate::request_log::RequestId;

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(pub Vec<IpNet>);

impl TrustedProxies {
    /// Parses a comma-separated list of CIDRs (a bare address is one host).
    ///
    /// # Errors
    /// The first entry that is neither, as written.
    pub fn parse(raw: &str) -> Result<Self, String> {
        raw.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| s.to_owned())
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client behind `peer`, given the `X-Forwarded-For` values.
    pub fn client_ip<'a>(&self, peer: IpAddr, forwarded: impl Iterator<Item = &'a str>) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let hops: Vec<&str> = forwarded
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            let Ok(ip) = hop.parse::<IpAddr>() else {
                // A malformed entry ends what can be believed.
                return client;
            };
            client = ip;
            if !self.trusts(ip) {
                return ip;
            }
        }
        client
    }
}

/// The client's IP, as [`TrustedProxies`] says.
pub fn client_ip(request: &HttpRequest) -> Option<IpAddr> {
    let peer = request.peer_addr()?.ip();
    let Some(proxies) = request.app_data::<web::Data<TrustedProxies>>() else {
        return Some(peer);
    };
    let forwarded = request
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok());
    Some(proxies.client_ip(peer, forwarded))
}

pub fn client_info(request: &HttpRequest) -> ClientInfo {
    let ip = client_ip(request).map(|ip| ip.to_string());
    let user_agent = request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let client = ClientInfo::new(ip, user_agent);
    match request.extensions().get::<RequestId>() {
        Some(RequestId { own, client: None }) => client.with_request_id(own.clone()),
        Some(RequestId {
            own,
            client: Some(theirs),
        }) => client
            .with_request_id(own.clone())
            .with_client_request_id(theirs.clone()),
        None => client,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let none = TrustedProxies::default();
        assert_eq!(
            none.client_ip(ip("203.0.113.5"), ["198.51.100.1"].into_iter()),
            ip("203.0.113.5")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_hop_is_the_client() {
        let proxies = TrustedProxies::parse("10.0.0.0/8, 192.0.2.7").unwrap();
        // The client wrote a fake first entry; the proxies appended the rest.
        let header = "1.1.1.1, 203.0.113.9, 10.1.2.3";
        assert_eq!(
            proxies.client_ip(ip("10.0.0.1"), [header].into_iter()),
            ip("203.0.113.9")
        );
        assert_eq!(
            proxies.client_ip(ip("192.0.2.7"), ["203.0.113.9", "10.9.9.9"].into_iter()),
            ip("203.0.113.9"),
            "several headers read as one list"
        );
        assert_eq!(
            proxies.client_ip(ip("10.0.0.1"), ["10.0.0.2"].into_iter()),
            ip("10.0.0.2"),
            "only proxies: the farthest one"
        );
        assert_eq!(
            proxies.client_ip(ip("10.0.0.1"), ["203.0.113.9, garbage"].into_iter()),
            ip("10.0.0.1"),
            "a malformed hop is not believed"
        );
        assert_eq!(
            proxies.client_ip(ip("10.0.0.1"), std::iter::empty()),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn bad_ranges_are_named() {
        assert_eq!(
            TrustedProxies::parse("10.0.0.0/8, nonsense").unwrap_err(),
            "nonsense"
        );
        assert!(TrustedProxies::parse("").unwrap().0.is_empty());
        assert!(TrustedProxies::parse("::1, fd00::/8").is_ok());
    }
}
