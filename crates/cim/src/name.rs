//! Case-insensitive CIM identifiers.
//!
//! DSP0004 7.5: class, property, qualifier and method names compare without
//! regard to case but keep the case they were declared with for display.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// A CIM element name: keeps its spelling, compares and hashes case-insensitively
/// (ASCII folding, which is what WMI and every CIMOM do for identifiers).
#[derive(Clone)]
pub struct Name(Arc<str>);

impl Name {
    pub fn new(s: &str) -> Self {
        Name(Arc::from(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Case-insensitive comparison with a plain string.
    pub fn is(&self, other: &str) -> bool {
        self.0.eq_ignore_ascii_case(other)
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Self {
        Name::new(s)
    }
}
impl From<String> for Name {
    fn from(s: String) -> Self {
        Name(Arc::from(s))
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.eq_ignore_ascii_case(&other.0)
    }
}
impl Eq for Name {}
impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        self.0.eq_ignore_ascii_case(other)
    }
}
impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        self.0.eq_ignore_ascii_case(other)
    }
}

impl Hash for Name {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let mut run = HashRun::new(state);
        for b in self.0.bytes() {
            run.push(b.to_ascii_lowercase());
        }
        run.push(0xff);
    }
}

/// Bytes fed to a hasher in runs rather than one call each: for the short
/// names and keys of a path lookup, the per-call cost of `write_u8` was most
/// of the hashing. Equal inputs give equal runs, so `Hash` stays consistent
/// with `Eq` as long as every hash of a kind goes through here.
pub(crate) struct HashRun<'h, H: Hasher> {
    state: &'h mut H,
    buf: [u8; 64],
    len: usize,
}

impl<'h, H: Hasher> HashRun<'h, H> {
    pub(crate) fn new(state: &'h mut H) -> Self {
        HashRun {
            state,
            buf: [0; 64],
            len: 0,
        }
    }

    pub(crate) fn push(&mut self, b: u8) {
        if self.len == self.buf.len() {
            self.flush();
        }
        self.buf[self.len] = b;
        self.len += 1;
    }

    /// `c` as UTF-8.
    pub(crate) fn push_char(&mut self, c: char) {
        if self.len + 4 > self.buf.len() {
            self.flush();
        }
        self.len += c.encode_utf8(&mut self.buf[self.len..]).len();
    }

    fn flush(&mut self) {
        self.state.write(&self.buf[..self.len]);
        self.len = 0;
    }
}

impl<H: Hasher> Drop for HashRun<'_, H> {
    fn drop(&mut self) {
        self.flush();
    }
}

impl Ord for Name {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_ignore_case(&self.0, &other.0)
    }
}
impl PartialOrd for Name {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Orders two strings as if both were lower-cased (ASCII).
pub fn cmp_ignore_case(a: &str, b: &str) -> Ordering {
    a.bytes()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}
impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A lower-cased key for maps that must look names up by `&str` cheaply.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct NameKey(String);

impl NameKey {
    pub fn new(s: &str) -> Self {
        NameKey(s.to_ascii_lowercase())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Calls `f` with `s` lower-cased as a `NameKey` holds it, without
    /// allocating for names of up to 128 bytes: for lookups on hot paths.
    pub fn lookup<R>(s: &str, f: impl FnOnce(&str) -> R) -> R {
        let mut buf = [0u8; 128];
        match buf.get_mut(..s.len()) {
            Some(lower) => {
                lower.copy_from_slice(s.as_bytes());
                lower.make_ascii_lowercase();
                // ASCII lower-casing keeps UTF-8 valid.
                match std::str::from_utf8(lower) {
                    Ok(lower) => f(lower),
                    Err(_) => f(&s.to_ascii_lowercase()),
                }
            }
            None => f(&s.to_ascii_lowercase()),
        }
    }
}
impl Borrow<str> for NameKey {
    fn borrow(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn lookups_lower_case_short_and_long_names() {
        assert_eq!(NameKey::lookup("Win32_Share", str::to_owned), "win32_share");
        let long = "Ä".repeat(100) + "XY";
        assert_eq!(
            NameKey::lookup(&long, str::to_owned),
            "Ä".repeat(100) + "xy"
        );
        assert_eq!(NameKey::lookup("", str::len), 0);
    }

    #[test]
    fn names_compare_and_hash_without_case() {
        let a = Name::new("Win32_Share");
        let b = Name::new("WIN32_SHARE");
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "Win32_Share");
        let mut set = HashSet::new();
        set.insert(a);
        assert!(set.contains(&b));
        assert!(Name::new("abc") < Name::new("ABD"));
    }
}
