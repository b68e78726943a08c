/*!
IPv4 addresses and CIDR blocks as ranges: parsed strictly (no host bits, prefix 0–32, IPv4 only),
printed normalised (`10.0.0.5` for a single address, `10.0.0.0/8` for a block), and compared as
intervals (contains, overlaps, covered by a union) — what IP access lists and their lockout guard
need.
*/

use std::fmt;
use std::net::Ipv4Addr;

/// An IPv4 block: `first..=last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ipv4Net {
    first: u32,
    prefix: u8,
}

impl Ipv4Net {
    /// `a.b.c.d` or `a.b.c.d/n`.
    ///
    /// # Errors
    /// What is wrong, e.g. `10.0.0.1/8 has host bits set (the block is 10.0.0.0/8)`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::parse_as(raw, true)
    }

    /// A value as Databricks reads it from a live list: like [`Self::parse`], but host bits are
    /// cleared, not refused (the API takes `203.0.113.130/30` and enforces `203.0.113.128/30`).
    ///
    /// # Errors
    /// As [`Self::parse`], host bits aside.
    pub fn parse_lenient(raw: &str) -> Result<Self, String> {
        Self::parse_as(raw, false)
    }

    fn parse_as(raw: &str, strict: bool) -> Result<Self, String> {
        let (addr, prefix) = match raw.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (raw, None),
        };
        let addr: Ipv4Addr = addr.parse().map_err(|_| {
            if addr.contains(':') {
                format!("{raw} is an IPv6 address: IP access lists take IPv4 addresses and CIDR blocks only")
            } else {
                format!("expected an IPv4 address or CIDR block like \"203.0.113.0/24\", found {raw:?}")
            }
        })?;
        let prefix = match prefix {
            None => 32,
            Some(p) => match p.parse::<u8>() {
                Ok(p) if p <= 32 => p,
                _ => {
                    return Err(format!(
                        "{raw}: the prefix length must be 0 to 32, found {p:?}"
                    ));
                }
            },
        };
        let ip = u32::from(addr);
        let net = Self {
            first: ip & mask(prefix),
            prefix,
        };
        if strict && net.first != ip {
            return Err(format!("{raw} has host bits set (the block is {net})"));
        }
        Ok(net)
    }

    /// The first address.
    pub fn first(self) -> u32 {
        self.first
    }

    /// The last address.
    pub fn last(self) -> u32 {
        self.first | !mask(self.prefix)
    }

    /// How many addresses.
    pub fn size(self) -> u64 {
        u64::from(self.last() - self.first) + 1
    }

    pub fn contains(self, ip: u32) -> bool {
        (self.first..=self.last()).contains(&ip)
    }

    pub fn overlaps(self, other: Self) -> bool {
        self.first <= other.last() && other.first <= self.last()
    }

    /// Whether every address of `self` lies in one of `nets`.
    pub fn covered_by(self, nets: &[Self]) -> bool {
        let mut ranges: Vec<(u64, u64)> = nets
            .iter()
            .map(|n| (u64::from(n.first), u64::from(n.last())))
            .collect();
        ranges.sort_unstable();
        let mut next = u64::from(self.first);
        for (lo, hi) in ranges {
            if lo > next {
                break;
            }
            next = next.max(hi + 1);
            if next > u64::from(self.last()) {
                return true;
            }
        }
        next > u64::from(self.last())
    }
}

fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix))
    }
}

/// Serialized as written normalised (`10.0.0.0/8`).
impl serde::Serialize for Ipv4Net {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl fmt::Display for Ipv4Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix == 32 {
            write!(f, "{}", Ipv4Addr::from(self.first))
        } else {
            write!(f, "{}/{}", Ipv4Addr::from(self.first), self.prefix)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Ipv4Net;

    fn net(s: &str) -> Ipv4Net {
        Ipv4Net::parse(s).unwrap()
    }

    #[test]
    fn parses_strictly_and_prints_normalised() {
        assert_eq!(net("10.0.0.0/8").to_string(), "10.0.0.0/8");
        assert_eq!(net("10.0.0.5/32").to_string(), "10.0.0.5");
        assert!(
            Ipv4Net::parse("10.0.0.1/8")
                .unwrap_err()
                .contains("host bits")
        );
        assert!(
            Ipv4Net::parse("10.0.0.0/33")
                .unwrap_err()
                .contains("0 to 32")
        );
        assert!(Ipv4Net::parse("2001:db8::1").unwrap_err().contains("IPv6"));
        assert!(Ipv4Net::parse("10.0.0").is_err());
        assert_eq!(
            Ipv4Net::parse_lenient("203.0.113.130/30").unwrap(),
            net("203.0.113.128/30")
        );
        assert!(Ipv4Net::parse_lenient("10.0.0.0/33").is_err());
    }

    #[test]
    fn intervals() {
        let a = net("203.0.113.0/24");
        assert!(
            a.contains(net("203.0.113.255").first()) && !a.contains(net("203.0.114.0").first())
        );
        assert!(a.overlaps(net("203.0.113.128/25")) && !a.overlaps(net("203.0.112.0/24")));
        assert!(a.covered_by(&[net("203.0.113.0/25"), net("203.0.113.128/25")]));
        assert!(!a.covered_by(&[net("203.0.113.0/25")]));
        assert!(net("0.0.0.0/0").covered_by(&[net("0.0.0.0/1"), net("128.0.0.0/1")]));
        assert_eq!(net("0.0.0.0/0").size(), 1 << 32);
    }
}
