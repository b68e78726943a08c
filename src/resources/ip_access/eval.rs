//! How Databricks decides whether an address may reach a workspace (reference §6.1): nothing is
//! enforced while the switch is off; enabled block lists are checked first (a match blocks); then,
//! if at least one enabled allow list exists, the address must be in one. Disabled lists count
//! for nothing. The lockout guard and `plink ip check` both ask this one function.

use serde::Serialize;

use crate::config::Ipv4Net;

/// One list as evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclList {
    pub label: String,
    pub allow: bool,
    pub enabled: bool,
    pub nets: Vec<Ipv4Net>,
}

/// A workspace's configuration: the switch and its lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acl {
    pub enabled: bool,
    pub lists: Vec<AclList>,
}

/// What happens to a request from one address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "verdict", content = "why")]
pub enum Verdict {
    Allowed(String),
    Blocked(String),
}

impl Verdict {
    pub fn allowed(&self) -> bool {
        matches!(self, Verdict::Allowed(_))
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verdict::Allowed(why) => write!(f, "allowed ({why})"),
            Verdict::Blocked(why) => write!(f, "BLOCKED ({why})"),
        }
    }
}

impl Acl {
    fn enabled_lists(&self, allow: bool) -> impl Iterator<Item = &AclList> {
        self.lists
            .iter()
            .filter(move |l| l.enabled && l.allow == allow)
    }

    /// The verdict for one address.
    pub fn verdict(&self, ip: u32) -> Verdict {
        if !self.enabled {
            return Verdict::Allowed("IP access lists are off".into());
        }
        if let Some(l) = self
            .enabled_lists(false)
            .find(|l| l.nets.iter().any(|n| n.contains(ip)))
        {
            return Verdict::Blocked(format!("block list {:?}", l.label));
        }
        let mut allow = self.enabled_lists(true).peekable();
        if allow.peek().is_none() {
            return Verdict::Allowed("no allow list, not in a block list".into());
        }
        match allow.find(|l| l.nets.iter().any(|n| n.contains(ip))) {
            Some(l) => Verdict::Allowed(format!("allow list {:?}", l.label)),
            None => Verdict::Blocked("in no allow list".into()),
        }
    }

    /// Why some address of `net` would be blocked, or `None` when every address passes.
    pub fn blocks(&self, net: Ipv4Net) -> Option<String> {
        if !self.enabled {
            return None;
        }
        if let Some(l) = self
            .enabled_lists(false)
            .find(|l| l.nets.iter().any(|n| n.overlaps(net)))
        {
            return Some(format!("block list {:?}", l.label));
        }
        let allowed: Vec<Ipv4Net> = self
            .enabled_lists(true)
            .flat_map(|l| l.nets.clone())
            .collect();
        if !allowed.is_empty() && !net.covered_by(&allowed) {
            return Some("not (wholly) in any allow list".into());
        }
        None
    }

    /// Every operator network `self` would block, and why (empty: none).
    pub fn lockout(&self, operators: &[Ipv4Net]) -> Vec<(Ipv4Net, String)> {
        operators
            .iter()
            .filter_map(|&op| self.blocks(op).map(|why| (op, why)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(label: &str, allow: bool, nets: &[&str]) -> AclList {
        AclList {
            label: label.into(),
            allow,
            enabled: true,
            nets: nets.iter().map(|n| Ipv4Net::parse(n).unwrap()).collect(),
        }
    }

    fn ip(s: &str) -> u32 {
        Ipv4Net::parse(s).unwrap().first()
    }

    #[test]
    fn block_lists_first_then_allow_lists_when_any() {
        let acl = Acl {
            enabled: true,
            lists: vec![
                list("corp", true, &["10.0.0.0/8"]),
                list("bad", false, &["10.6.6.0/24"]),
            ],
        };
        assert!(acl.verdict(ip("10.1.2.3")).allowed());
        assert_eq!(
            acl.verdict(ip("10.6.6.6")),
            Verdict::Blocked("block list \"bad\"".into())
        );
        assert!(!acl.verdict(ip("11.0.0.1")).allowed());
        let off = Acl {
            enabled: false,
            ..acl.clone()
        };
        assert!(off.verdict(ip("10.6.6.6")).allowed());
        let only_block = Acl {
            enabled: true,
            lists: vec![list("bad", false, &["10.6.6.0/24"])],
        };
        assert!(only_block.verdict(ip("11.0.0.1")).allowed());
    }

    #[test]
    fn an_operator_network_is_blocked_if_any_of_its_addresses_is() {
        let acl = Acl {
            enabled: true,
            lists: vec![list("corp", true, &["203.0.113.0/25"])],
        };
        let op = |s: &str| Ipv4Net::parse(s).unwrap();
        assert!(acl.lockout(&[op("203.0.113.0/25")]).is_empty());
        assert!(!acl.lockout(&[op("203.0.113.0/24")]).is_empty());
        // Every blocked operator network is named, not only the first.
        let both = acl.lockout(&[
            op("203.0.113.0/24"),
            op("203.0.113.0/25"),
            op("192.0.2.1/32"),
        ]);
        assert_eq!(both.len(), 2, "{both:?}");
        let mut disabled = acl.clone();
        disabled.lists[0].enabled = false;
        assert!(
            disabled.lockout(&[op("198.51.100.0/24")]).is_empty(),
            "a disabled allow list restricts nothing"
        );
    }
}
