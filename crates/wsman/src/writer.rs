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
    format!(
        "uuid:{:08X}-{:04X}-4{:03X}-{:04X}-{:012X}",
        a >> 32,
        (a >> 16) & 0xFFFF,
        a & 0xFFF,
        0x8000 | (b >> 48 & 0x3FFF),
        b & 0xFFFF_FFFF_FFFF
    )
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
    out.push_str(&message_id());
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
    }
}
