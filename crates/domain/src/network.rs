//! The unit a client is counted by (rate limits, lockouts): an IPv4
//! address, or an IPv6 /64. An IPv6 client is given a whole /64 by its
//! provider and picks addresses inside it at will, so counting addresses
//! would let it start afresh with every request.

use std::net::{IpAddr, Ipv6Addr};

/// The network `ip` stands for: itself for IPv4 (and IPv4-mapped IPv6),
/// its /64 prefix (the rest zeroed) for IPv6.
pub fn client_network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

/// [`client_network`] of an address as text; `None` when it is not one.
pub fn client_network_of(ip: &str) -> Option<IpAddr> {
    ip.parse().ok().map(client_network)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(raw: &str) -> String {
        client_network_of(raw)
            .map(|n| n.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn ipv4_addresses_count_alone() {
        assert_eq!(net("203.0.113.7"), "203.0.113.7");
        assert_ne!(net("203.0.113.7"), net("203.0.113.8"));
    }

    #[test]
    fn ipv6_addresses_count_by_their_64() {
        assert_eq!(net("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::");
        assert_eq!(net("2001:db8:1:2:ffff:ffff:ffff:ffff"), "2001:db8:1:2::");
        assert_ne!(net("2001:db8:1:2::1"), net("2001:db8:1:3::1"));
    }

    #[test]
    fn mapped_ipv4_is_ipv4() {
        assert_eq!(net("::ffff:203.0.113.7"), "203.0.113.7");
    }

    #[test]
    fn text_that_is_no_address_has_no_network() {
        assert_eq!(client_network_of("not an ip"), None);
    }
}
