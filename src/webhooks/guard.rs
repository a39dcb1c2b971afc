//! Where a webhook may be sent. A receiver's address is given by an organiser, so without a
//! check the service could be made to call its own network (a cloud metadata address, a
//! database's admin port): server-side request forgery. An address must be https and every
//! address its host resolves to must be public; plain http and loopback only with
//! `WEBHOOKS_ALLOW_HTTP_LOOPBACK`, and then only to loopback. The check runs at registration
//! and again before every delivery, and the delivery connects to the address checked, so a
//! name that resolves elsewhere a second later (DNS rebinding) gains nothing.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use url::Url;

/// The longest URL accepted.
pub const MAX_URL_CHARS: usize = 2000;

/// An address checked and pinned: deliver to `addr`, naming `host` (for TLS and `Host`).
#[derive(Clone, Debug)]
pub struct Target {
    pub url: Url,
    pub host: String,
    pub addr: SocketAddr,
}

/// Why an address is refused, in words for the organiser (and the console's last error).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

fn refused(message: impl Into<String>) -> Refused {
    Refused(message.into())
}

/// How long a host name's lookup may take.
const LOOKUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Checks `raw` and resolves it to one address that may be called.
pub async fn check(raw: &str, allow_http_loopback: bool) -> Result<Target, Refused> {
    let raw = raw.trim();
    if raw.chars().count() > MAX_URL_CHARS {
        return Err(refused(format!(
            "the address is longer than {MAX_URL_CHARS} characters"
        )));
    }
    let url = Url::parse(raw).map_err(|_| refused("this is not a web address (https://…)"))?;
    let https = match url.scheme() {
        "https" => true,
        "http" => false,
        _ => return Err(refused("the address must start with https://")),
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refused(
            "the address must not carry a user name or password; use the signing secret",
        ));
    }
    let Some(host) = url.host_str().map(str::to_string) else {
        return Err(refused("the address has no host name"));
    };
    let port = url
        .port_or_known_default()
        .ok_or_else(|| refused("the address has no port"))?;
    let addresses: Vec<IpAddr> = match url.host() {
        Some(url::Host::Ipv4(ip)) => vec![IpAddr::V4(ip)],
        Some(url::Host::Ipv6(ip)) => vec![IpAddr::V6(ip)],
        // Bounded: the organiser's request (or a delivery) waits for this, and a resolver
        // that never answers must not hold it.
        _ => match tokio::time::timeout(
            LOOKUP_TIMEOUT,
            tokio::net::lookup_host((host.as_str(), port)),
        )
        .await
        {
            Ok(Ok(found)) => found.map(|a| a.ip()).collect(),
            Ok(Err(_)) => return Err(refused(format!("the host name {host} cannot be found"))),
            Err(_) => {
                return Err(refused(format!(
                    "the host name {host} could not be looked up in time; try again"
                )))
            }
        },
    };
    if addresses.is_empty() {
        return Err(refused(format!("the host name {host} cannot be found")));
    }
    let all_loopback = addresses.iter().all(|ip| is_loopback(*ip));
    if all_loopback && allow_http_loopback {
        // A receiver on this machine, allowed by the setting (tests, local tools).
    } else {
        if let Some(ip) = addresses.iter().find(|ip| !is_public(**ip)) {
            return Err(refused(format!(
                "the address leads to {ip}, which is not on the public internet; webhooks go only to public addresses"
            )));
        }
        if !https {
            return Err(refused(
                "the address must start with https:// (plain http is not encrypted)",
            ));
        }
    }
    // Host names keep their brackets in `host_str` for IPv6; the resolver override wants the
    // name as the client will see it, which is the same text.
    Ok(Target {
        addr: SocketAddr::new(addresses[0], port),
        host,
        url,
    })
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// Whether an address is on the public internet: not private, loopback, link-local, unique
/// local, shared (CGNAT), multicast, documentation, benchmarking or reserved; an IPv6 address
/// carrying an IPv4 one (mapped, NAT64, 6to4) is judged by the IPv4 address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0
        || a == 10
        || a == 127
        || (a == 100 && (64..128).contains(&b))
        || (a == 169 && b == 254)
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 192 && b == 0 && c == 2)
        || (a == 192 && b == 88 && c == 99)
        || (a == 192 && b == 168)
        || (a == 198 && (18..20).contains(&b))
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
        || a >= 224)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) reach the IPv4 address inside.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return is_public_v4(Ipv4Addr::new(
            (s[6] >> 8) as u8,
            s[6] as u8,
            (s[7] >> 8) as u8,
            s[7] as u8,
        ));
    }
    if s[0] == 0x2002 {
        return is_public_v4(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ));
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        // IPv4-compatible (deprecated) ::a.b.c.d
        || (s[0..6] == [0, 0, 0, 0, 0, 0])
        || (s[0] & 0xfe00) == 0xfc00
        || (s[0] & 0xffc0) == 0xfe80
        || (s[0] & 0xffc0) == 0xfec0
        || (s[0] & 0xff00) == 0xff00
        || (s[0] == 0x2001 && s[1] == 0x0db8)
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0])
        // Teredo, ORCHID and other special-purpose parts of 2001::/23.
        || (s[0] == 0x2001 && s[1] < 0x0200))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(s: &str) -> bool {
        is_public(s.parse().unwrap())
    }

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for ip in [
            "10.1.2.3",
            "127.0.0.1",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:a00:1::",
            "2001:db8::1",
        ] {
            assert!(!public(ip), "{ip} must be refused");
        }
        for ip in [
            "93.184.216.34",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:93.184.216.34",
        ] {
            assert!(public(ip), "{ip} is public");
        }
    }

    #[tokio::test]
    async fn only_https_to_public_addresses_unless_loopback_is_allowed() {
        let refused_for = |r: Result<Target, Refused>| r.unwrap_err().0;
        assert!(refused_for(check("https://10.0.0.5/hook", false).await).contains("10.0.0.5"));
        assert!(refused_for(check("https://169.254.169.254/", true).await).contains("public"));
        assert!(refused_for(check("http://[::1]:8080/", false).await).contains("::1"));
        assert!(refused_for(check("http://93.184.216.34/", false).await).contains("https"));
        assert!(refused_for(check("http://93.184.216.34/", true).await).contains("https"));
        assert!(refused_for(check("ftp://93.184.216.34/", false).await).contains("https"));
        assert!(refused_for(check("https://u:p@93.184.216.34/", false).await).contains("password"));
        let ok = check("https://93.184.216.34/hook", false).await.unwrap();
        assert_eq!(ok.addr, "93.184.216.34:443".parse().unwrap());
        let ok = check("http://127.0.0.1:9/", true).await.unwrap();
        assert_eq!(ok.addr, "127.0.0.1:9".parse().unwrap());
        assert!(check("http://[::1]:9/", true).await.is_ok());
    }
}
