//! The `[indications]` table of `openwmi serve`'s configuration: where the
//! server may deliver to besides the safe default, how it retries, how much
//! it queues, and how many subscriptions it keeps.

use crate::delivery::DeliveryPolicy;
use openwmi_cimom::events::SubscriptionLimits;
use openwmi_client::export::ListenerUrl;
use serde::Deserialize;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The longest DeliveryRetryInterval accepted (an hour): the waits double,
/// so a longer one keeps a queue stuck for most of a day.
pub const MAX_RETRY_INTERVAL_SECS: u32 = 3600;
/// The most indications one destination may queue.
pub const MAX_QUEUE_LIMIT: usize = 1_000_000;

/// The `[indications]` table, as written in the file.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IndicationsSection {
    /// Destinations accepted besides `https://` anywhere and `http://` on
    /// the loopback.
    pub allowed_destinations: Vec<DestinationPattern>,
    /// CIM_IndicationService.DeliveryRetryAttempts.
    pub delivery_retry_attempts: u16,
    /// CIM_IndicationService.DeliveryRetryInterval, in seconds.
    pub delivery_retry_interval_secs: u32,
    /// Indications queued per destination; beyond it the oldest is dropped.
    pub max_queued_per_destination: usize,
    /// Filters, destinations and subscriptions (each) one user may have.
    pub max_subscriptions_per_user: usize,
    /// The same, all users together.
    pub max_subscriptions: usize,
    /// CA certificates (PEM) trusted for `https://` listeners besides the
    /// system's (a listener with a private CA's certificate, `openwmi
    /// watch -r`'s own).
    pub listener_ca_file: Option<PathBuf>,
}

impl Default for IndicationsSection {
    fn default() -> Self {
        let d = DeliveryPolicy::default();
        let l = SubscriptionLimits::default();
        IndicationsSection {
            allowed_destinations: Vec::new(),
            delivery_retry_attempts: d.retry_attempts,
            delivery_retry_interval_secs: u32::try_from(d.retry_interval.as_secs())
                .unwrap_or(MAX_RETRY_INTERVAL_SECS),
            max_queued_per_destination: d.queue_limit,
            max_subscriptions_per_user: l.per_user,
            max_subscriptions: l.total,
            listener_ca_file: None,
        }
    }
}

impl IndicationsSection {
    /// Checks the values; the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        let i = self.delivery_retry_interval_secs;
        if !(1..=MAX_RETRY_INTERVAL_SECS).contains(&i) {
            return Err(format!(
                "indications.delivery_retry_interval_secs must be from 1 to \
                 {MAX_RETRY_INTERVAL_SECS}, not {i}"
            ));
        }
        let q = self.max_queued_per_destination;
        if !(1..=MAX_QUEUE_LIMIT).contains(&q) {
            return Err(format!(
                "indications.max_queued_per_destination must be from 1 to {MAX_QUEUE_LIMIT}, not {q}"
            ));
        }
        if let Some(p) = &self.listener_ca_file {
            let text = std::fs::read_to_string(p)
                .map_err(|e| format!("indications.listener_ca_file {}: {e}", p.display()))?;
            if !text.contains("-----BEGIN CERTIFICATE-----") {
                return Err(format!(
                    "indications.listener_ca_file {}: no PEM certificate in it",
                    p.display()
                ));
            }
        }
        let limits = self.limits();
        if limits.total == 0 || limits.per_user == 0 || limits.per_user > limits.total {
            return Err(format!(
                "indications.max_subscriptions_per_user ({}) must be from 1 to \
                 indications.max_subscriptions ({})",
                limits.per_user, limits.total
            ));
        }
        Ok(())
    }

    /// The delivery settings these keys give.
    pub fn delivery(&self) -> DeliveryPolicy {
        DeliveryPolicy {
            retry_attempts: self.delivery_retry_attempts,
            retry_interval: Duration::from_secs(u64::from(self.delivery_retry_interval_secs)),
            queue_limit: self.max_queued_per_destination,
            ca_file: self.listener_ca_file.clone(),
            ..DeliveryPolicy::default()
        }
    }

    /// The subscription limits, which WS-Eventing shares.
    pub fn limits(&self) -> SubscriptionLimits {
        SubscriptionLimits {
            per_user: self.max_subscriptions_per_user,
            total: self.max_subscriptions,
        }
    }
}

/// One entry of `allowed_destinations`: a host name, an address, an
/// address block (CIDR), or a URL prefix.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum DestinationPattern {
    /// `listener.example`: that name, any port and path. Names are compared
    /// as written (without case), never resolved: `listener.example` does
    /// not allow the address it resolves to, nor the reverse.
    Host(String),
    /// `192.0.2.7`, `10.0.0.0/8`, `2001:db8::/32`: a destination whose host
    /// is an address literal inside the block.
    Block { network: IpAddr, prefix_len: u8 },
    /// `http://collector.example:5990/indications`: that scheme, host and
    /// port, and a path that begins with the prefix's path at a `/`.
    Prefix(ListenerUrl),
}

impl TryFrom<String> for DestinationPattern {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let t = text.trim();
        if t.is_empty() {
            return Err("an empty entry in allowed_destinations".into());
        }
        if t.contains("://") {
            let u = ListenerUrl::parse(t)?;
            return Ok(DestinationPattern::Prefix(u));
        }
        if let Some((addr, len)) = t.split_once('/') {
            let network: IpAddr = addr
                .parse()
                .map_err(|_| format!("{t:?}: {addr:?} is not an IP address"))?;
            let max = if network.is_ipv4() { 32 } else { 128 };
            let prefix_len = len
                .parse::<u8>()
                .ok()
                .filter(|l| *l <= max)
                .ok_or_else(|| format!("{t:?}: the prefix length must be from 0 to {max}"))?;
            return Ok(DestinationPattern::Block {
                network,
                prefix_len,
            });
        }
        let bare = t.trim_start_matches('[').trim_end_matches(']');
        if let Ok(a) = bare.parse::<IpAddr>() {
            let prefix_len = if a.is_ipv4() { 32 } else { 128 };
            return Ok(DestinationPattern::Block {
                network: a,
                prefix_len,
            });
        }
        let name_ok = t
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_');
        if !name_ok {
            return Err(format!(
                "{t:?}: give a host name, an address, an address block (10.0.0.0/8) \
                 or a URL prefix (http://host:port/path)"
            ));
        }
        Ok(DestinationPattern::Host(t.to_ascii_lowercase()))
    }
}

impl DestinationPattern {
    /// Whether a destination URL is inside this entry.
    pub fn allows(&self, u: &ListenerUrl) -> bool {
        match self {
            DestinationPattern::Host(h) => u.host.eq_ignore_ascii_case(h),
            DestinationPattern::Block {
                network,
                prefix_len,
            } => u
                .host
                .parse::<IpAddr>()
                .is_ok_and(|a| in_block(a, *network, *prefix_len)),
            DestinationPattern::Prefix(p) => {
                p.https == u.https
                    && p.host.eq_ignore_ascii_case(&u.host)
                    && p.port == u.port
                    && path_under(&u.path, &p.path)
            }
        }
    }
}

/// `path` is `prefix` or below it: `/a` allows `/a`, `/a/b`, not `/ab`.
fn path_under(path: &str, prefix: &str) -> bool {
    if prefix.ends_with('/') {
        return path.starts_with(prefix);
    }
    path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/') || rest.starts_with('?'))
}

fn in_block(a: IpAddr, network: IpAddr, len: u8) -> bool {
    let (a, n, bits) = match (a, network) {
        (IpAddr::V4(a), IpAddr::V4(n)) => (u128::from(u32::from(a)), u128::from(u32::from(n)), 32),
        (IpAddr::V6(a), IpAddr::V6(n)) => (u128::from(a), u128::from(n), 128),
        // An IPv4 block also covers the IPv4-mapped IPv6 form.
        (IpAddr::V6(a), IpAddr::V4(_)) => match a.to_ipv4_mapped() {
            Some(v4) => return in_block(IpAddr::V4(v4), network, len),
            None => return false,
        },
        (IpAddr::V4(_), IpAddr::V6(_)) => return false,
    };
    if len == 0 {
        return true;
    }
    let shift = bits - u32::from(len);
    (a >> shift) == (n >> shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(s: &str) -> DestinationPattern {
        DestinationPattern::try_from(s.to_owned()).unwrap()
    }

    fn url(s: &str) -> ListenerUrl {
        ListenerUrl::parse(s).unwrap()
    }

    #[test]
    fn patterns_allow_what_they_name_and_nothing_near_it() {
        let cases: &[(&str, &[&str], &[&str])] = &[
            (
                "listener.example",
                &["http://LISTENER.example:5000/x", "http://listener.example"],
                &["http://listener.example.evil:5000", "http://10.0.0.1"],
            ),
            (
                "10.1.0.0/16",
                &["http://10.1.2.3:5000", "http://10.1.255.255/"],
                &["http://10.2.0.1", "http://listener.example", "http://[::1]"],
            ),
            ("192.0.2.7", &["http://192.0.2.7:1"], &["http://192.0.2.8"]),
            (
                "2001:db8::/32",
                &["http://[2001:db8::5]:5000"],
                &["http://[2001:db9::5]:5000", "http://10.0.0.1"],
            ),
            (
                "http://collector.example:5990/indications",
                &[
                    "http://collector.example:5990/indications",
                    "http://collector.example:5990/indications/a",
                ],
                &[
                    "http://collector.example:5990/indicationsx",
                    "http://collector.example:5991/indications",
                    "https://collector.example:5990/indications",
                    "http://collector.example:5990/",
                ],
            ),
            (
                "http://collector.example:5990/",
                &["http://collector.example:5990/any/path"],
                &["http://collector.example.evil:5990/"],
            ),
        ];
        for (p, yes, no) in cases {
            let p = pattern(p);
            for u in *yes {
                assert!(p.allows(&url(u)), "{p:?} {u}");
            }
            for u in *no {
                assert!(!p.allows(&url(u)), "{p:?} {u}");
            }
        }
        assert!(pattern("10.0.0.0/8").allows(&url("http://[::ffff:10.0.0.1]:5000")));
        assert!(pattern("0.0.0.0/0").allows(&url("http://203.0.113.1")));
    }

    #[test]
    fn bad_entries_are_refused_with_the_reason() {
        for (bad, why) in [
            ("", "empty"),
            ("10.0.0.0/33", "prefix length"),
            ("nonsense/8", "not an IP address"),
            ("ftp://x", "http:// or https://"),
            ("a b", "host name"),
            ("http://u:p@x", "credentials"),
        ] {
            let e = DestinationPattern::try_from(bad.to_owned()).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn values_are_checked() {
        let ok = IndicationsSection::default();
        ok.validate().unwrap();
        assert_eq!(ok.delivery(), DeliveryPolicy::default());
        for (section, key) in [
            (
                IndicationsSection {
                    delivery_retry_interval_secs: 0,
                    ..ok.clone()
                },
                "delivery_retry_interval_secs",
            ),
            (
                IndicationsSection {
                    max_queued_per_destination: 0,
                    ..ok.clone()
                },
                "max_queued_per_destination",
            ),
            (
                IndicationsSection {
                    max_subscriptions_per_user: 10,
                    max_subscriptions: 5,
                    ..ok.clone()
                },
                "max_subscriptions_per_user",
            ),
        ] {
            let e = section.validate().unwrap_err();
            assert!(e.contains(key), "{e}");
        }
    }
}
