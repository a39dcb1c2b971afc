//! The address a request comes from, for rate limits. Normally the TCP peer; behind a reverse
//! proxy listed in `TRUSTED_PROXIES`, the client that proxy reports. Headers from any other
//! peer are ignored, because anyone can send them.
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::str::FromStr;

use actix_web::http::header::HeaderMap;
use actix_web::web::Data;
use actix_web::HttpRequest;

/// One address or CIDR range, such as `10.0.0.0/8` or `fd00::/8`. Both families are held as
/// 128-bit numbers aligned to the left, so one comparison serves IPv4 and IPv6.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpRange {
    ipv4: bool,
    network: u128,
    prefix: u8,
}

/// An address's family and its bits, left-aligned; IPv4-mapped IPv6 counts as IPv4.
fn left_aligned(ip: IpAddr) -> (bool, u128) {
    match ip.to_canonical() {
        IpAddr::V4(v4) => (true, u128::from(u32::from(v4)) << 96),
        IpAddr::V6(v6) => (false, u128::from(v6)),
    }
}

fn keep_top(bits: u128, prefix: u8) -> u128 {
    match prefix {
        0 => 0,
        p => bits & (u128::MAX << (128 - u32::from(p))),
    }
}

impl IpRange {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let (ipv4, bits) = left_aligned(ip);
        ipv4 == self.ipv4 && keep_top(bits, self.prefix) == self.network
    }
}

impl FromStr for IpRange {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let ip: IpAddr = addr
            .parse()
            .map_err(|_| format!("'{s}' is not an IP address or a range such as 10.0.0.0/8"))?;
        let (ipv4, bits) = left_aligned(ip);
        let width: u8 = if ipv4 { 32 } else { 128 };
        let prefix = match prefix {
            None => width,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= width)
                .ok_or_else(|| {
                    format!("'{s}' has a prefix length that is not a number from 0 to {width}")
                })?,
        };
        // Host bits are cleared, so `10.1.2.3/8` means `10.0.0.0/8`.
        Ok(Self {
            ipv4,
            network: keep_top(bits, prefix),
            prefix,
        })
    }
}

/// The reverse proxies whose forwarding headers are believed (`TRUSTED_PROXIES`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpRange>);

impl TrustedProxies {
    /// Parses a comma-separated list of addresses and CIDR ranges; empty means none.
    pub fn parse(raw: &str) -> Result<Self, String> {
        raw.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(IpRange::from_str)
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|r| r.contains(ip))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The client's address, as every rate limit should see it.
pub fn client_address(req: &HttpRequest) -> IpAddr {
    let peer = req
        .peer_addr()
        .map(|a| a.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    match req.app_data::<Data<TrustedProxies>>() {
        Some(trusted) => resolve(peer, req.headers(), trusted),
        None => peer.to_canonical(),
    }
}

/// The client address given the TCP peer and the request's headers: the rightmost hop that is
/// not a trusted proxy. `X-Forwarded-For` wins over `Forwarded` when both are present (see the
/// README: the proxy must set the header it is configured for).
pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let peer = peer.to_canonical();
    if !trusted.contains(peer) {
        return peer;
    }
    let hops = header_hops(headers, "x-forwarded-for", parse_xff_element);
    let hops = if hops.is_empty() {
        header_hops(headers, "forwarded", parse_forwarded_element)
    } else {
        hops
    };
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop {
            // A hop we cannot read ends the walk at the proxy that reported it, so that a
            // garbled header groups its senders together rather than letting them pick.
            None => return client,
            Some(ip) => {
                client = ip.to_canonical();
                if !trusted.contains(client) {
                    return client;
                }
            }
        }
    }
    client
}

/// Every element of every instance of the header, in order; `None` for one that is not an IP.
fn header_hops(
    headers: &HeaderMap,
    name: &str,
    parse: fn(&str) -> Option<IpAddr>,
) -> Vec<Option<IpAddr>> {
    headers
        .get_all(name)
        .flat_map(|v| match v.to_str() {
            Ok(s) => s.split(',').map(parse).collect::<Vec<_>>(),
            Err(_) => vec![None],
        })
        .collect()
}

fn parse_xff_element(s: &str) -> Option<IpAddr> {
    parse_node(s.trim())
}

/// `for=` of one `Forwarded` element, e.g. `for=192.0.2.60;proto=https;by=203.0.113.43`.
fn parse_forwarded_element(s: &str) -> Option<IpAddr> {
    s.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("for")
            .then(|| parse_node(value.trim().trim_matches('"')))
            .flatten()
    })
}

/// An address with or without a port: `192.0.2.1`, `192.0.2.1:8080`, `[2001:db8::1]:80`,
/// `2001:db8::1`.
fn parse_node(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Some(sa.ip());
    }
    let inner = s.strip_prefix('[')?.split(']').next()?;
    inner.parse::<IpAddr>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn ranges_contain_what_they_should() {
        let r: IpRange = "10.0.0.0/8".parse().unwrap();
        assert!(r.contains(ip("10.255.1.2")));
        assert!(!r.contains(ip("11.0.0.1")));
        assert!(r.contains(ip("::ffff:10.1.1.1")), "IPv4-mapped IPv6");
        let one: IpRange = "192.168.1.7".parse().unwrap();
        assert!(one.contains(ip("192.168.1.7")));
        assert!(!one.contains(ip("192.168.1.8")));
        let v6: IpRange = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12:3456::1")));
        assert!(!v6.contains(ip("fe80::1")));
        assert!(!v6.contains(ip("10.0.0.1")));
        let host_bits: IpRange = "172.16.5.4/12".parse().unwrap();
        assert!(host_bits.contains(ip("172.31.0.1")));
        assert!(!host_bits.contains(ip("172.32.0.1")));
        let all: IpRange = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("8.8.8.8")));
        assert!(!all.contains(ip("::1")));
        let v6_host: IpRange = "::1".parse().unwrap();
        assert!(v6_host.contains(ip("::1")));
        assert!(!v6_host.contains(ip("::2")));
        let v6_27: IpRange = "2001:db8:ab00::/40".parse().unwrap();
        assert!(v6_27.contains(ip("2001:db8:abff:1::1")));
        assert!(!v6_27.contains(ip("2001:db8:ac00::1")));
    }

    #[test]
    fn bad_ranges_are_refused_with_a_reason() {
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "10.0.0/8",
            "proxy",
            "10.0.0.1/x",
            "1.2.3.4:80",
        ] {
            let e = TrustedProxies::parse(bad).unwrap_err();
            assert!(e.contains(bad), "{e}");
        }
        let ok = TrustedProxies::parse(" 127.0.0.1, ::1 ,10.0.0.0/8,").unwrap();
        assert_eq!(ok.0.len(), 3);
        assert!(TrustedProxies::parse("").unwrap().is_empty());
    }

    #[test]
    fn headers_from_an_untrusted_peer_are_ignored() {
        let trusted = TrustedProxies::parse("127.0.0.1").unwrap();
        let h = headers(&[
            ("x-forwarded-for", "203.0.113.9"),
            ("forwarded", "for=198.51.100.1"),
        ]);
        assert_eq!(resolve(ip("192.0.2.1"), &h, &trusted), ip("192.0.2.1"));
        let nobody = TrustedProxies::default();
        assert_eq!(resolve(ip("127.0.0.1"), &h, &nobody), ip("127.0.0.1"));
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let trusted = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8").unwrap();
        let proxy = ip("127.0.0.1");
        // The client made up the first entry; the proxies appended the rest.
        let h = headers(&[("x-forwarded-for", "1.1.1.1, 203.0.113.9, 10.0.0.5")]);
        assert_eq!(resolve(proxy, &h, &trusted), ip("203.0.113.9"));
        // Several header lines read as one list.
        let h = headers(&[
            ("x-forwarded-for", "1.1.1.1"),
            ("x-forwarded-for", "203.0.113.9:4711"),
        ]);
        assert_eq!(resolve(proxy, &h, &trusted), ip("203.0.113.9"));
        // Nothing but trusted hops: the leftmost of them.
        let h = headers(&[("x-forwarded-for", "10.1.1.1, 10.0.0.5")]);
        assert_eq!(resolve(proxy, &h, &trusted), ip("10.1.1.1"));
        // No header: the proxy itself.
        assert_eq!(resolve(proxy, &HeaderMap::new(), &trusted), proxy);
        // Garbage stops at the proxy that reported it.
        let h = headers(&[("x-forwarded-for", "203.0.113.9, nonsense, 10.0.0.5")]);
        assert_eq!(resolve(proxy, &h, &trusted), ip("10.0.0.5"));
    }

    #[test]
    fn forwarded_is_read_when_there_is_no_x_forwarded_for() {
        let trusted = TrustedProxies::parse("::1").unwrap();
        let h = headers(&[(
            "forwarded",
            "for=192.0.2.43, For=\"[2001:db8:cafe::17]:4711\";proto=https;by=10.0.0.1",
        )]);
        assert_eq!(resolve(ip("::1"), &h, &trusted), ip("2001:db8:cafe::17"));
        let h = headers(&[("forwarded", "proto=https;for=\"198.51.100.7:80\"")]);
        assert_eq!(resolve(ip("::1"), &h, &trusted), ip("198.51.100.7"));
        let h = headers(&[("forwarded", "for=unknown")]);
        assert_eq!(resolve(ip("::1"), &h, &trusted), ip("::1"));
        let h = headers(&[
            ("forwarded", "for=198.51.100.7"),
            ("x-forwarded-for", "203.0.113.9"),
        ]);
        assert_eq!(resolve(ip("::1"), &h, &trusted), ip("203.0.113.9"));
    }
}
