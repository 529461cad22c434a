//! The envelope of an answer: the header Windows' clients check (a fresh
//! `wsa:MessageID`, `wsa:RelatesTo` the request's MessageID verbatim, which
//! pypsrp compares), then the body the caller writes.

use crate::ns;
use crate::xml;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// A fresh `uuid:` message ID (version-4 shaped, upper case as Windows
/// writes them). Unique per process run: a random seed and a counter.
pub fn message_id() -> String {
    let mut s = String::with_capacity(41);
    push_message_id(&mut s);
    s
}

/// Appends a fresh `uuid:` message ID (version-4 shaped, upper case as
/// Windows writes them; unique per process run: a random seed and a
/// counter) to `out`, without the formatting machinery: one is written
/// per answer.
pub fn push_message_id(out: &mut String) {
    static SEED: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let seed = *SEED.get_or_init(|| {
        std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish()
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut h = std::collections::hash_map::DefaultHasher::new();
    h.write_u64(seed);
    h.write_u64(n);
    let a = h.finish();
    let b = seed ^ n.rotate_left(17);
    let hex = |out: &mut String, v: u64, digits: u32| {
        for i in (0..digits).rev() {
            let d = ((v >> (4 * i)) & 0xF) as u8;
            out.push(char::from(if d < 10 { b'0' + d } else { b'A' + d - 10 }));
        }
    };
    out.push_str("uuid:");
    hex(out, a >> 32, 8);
    out.push('-');
    hex(out, (a >> 16) & 0xFFFF, 4);
    out.push_str("-4");
    hex(out, a & 0xFFF, 3);
    out.push('-');
    hex(out, 0x8000 | (b >> 48 & 0x3FFF), 4);
    out.push('-');
    hex(out, b & 0xFFFF_FFFF_FFFF, 12);
}

/// Writes `<s:Envelope ...><s:Header>...</s:Header>`: the answer's action,
/// a fresh message ID, the request's ID in RelatesTo (left out when the
/// request had none) and `extra` header elements.
pub fn envelope_head(
    out: &mut String,
    action: &str,
    relates_to: Option<&str>,
    extra: Option<&str>,
) {
    out.push_str("<s:Envelope");
    out.push_str(ns::ENVELOPE_DECLARATIONS);
    out.push_str(" xml:lang=\"en-US\"><s:Header><a:To>");
    out.push_str(ns::ANONYMOUS);
    out.push_str("</a:To><a:Action s:mustUnderstand=\"true\">");
    xml::text(out, action);
    out.push_str("</a:Action><a:MessageID>");
    push_message_id(out);
    out.push_str("</a:MessageID>");
    if let Some(id) = relates_to.filter(|id| !id.is_empty()) {
        xml::element(out, "a:RelatesTo", id);
    }
    if let Some(extra) = extra {
        out.push_str(extra);
    }
    out.push_str("</s:Header>");
}

/// The end of an answer's envelope.
pub const ENVELOPE_TAIL: &str = "</s:Body></s:Envelope>";

#[cfg(test)]
mod tests {
    #[test]
    fn message_ids_are_fresh_uuids() {
        let a = super::message_id();
        let b = super::message_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), "uuid:".len() + 36, "{a}");
        assert!(a.starts_with("uuid:"));
        assert_eq!(a.matches('-').count(), 4);
        // The same shape as the formatting machinery writes.
        let hex = |s: &str| {
            s.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase())
        };
        let parts: Vec<&str> = a["uuid:".len()..].split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts.iter().all(|p| hex(p)), "{a}");
        assert!(parts[2].starts_with('4'), "{a}");
        assert!(
            matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'A' | b'B'),
            "{a}"
        );
    }
}
