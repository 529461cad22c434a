//! WQL LIKE patterns: `%` any run of characters, `_` one character,
//! `[abc]`, `[a-f]` one of a set, `[^a-f]` one not in a set. Matching is
//! case-insensitive, as WQL string comparison is.

use std::fmt;

/// A compiled LIKE pattern. Equality compares the source text.
#[derive(Clone)]
pub struct LikePattern {
    source: String,
    matcher: Matcher,
}

#[derive(Clone, Debug)]
enum Matcher {
    /// Patterns whose only wildcard is a trailing `%` and whose text is ASCII:
    /// the common `"prefix%"` form, matched by one byte comparison.
    AsciiPrefix(Box<[u8]>),
    /// `"text"` without wildcards, ASCII.
    AsciiExact(Box<[u8]>),
    General(Box<[Element]>),
}

#[derive(Clone, Debug)]
enum Element {
    /// A run of `%`.
    AnyRun,
    /// `_`
    AnyOne,
    /// A literal character, folded to lower case.
    Char(char),
    /// `[...]`; the ranges as written (inclusive).
    Set {
        negated: bool,
        ranges: Box<[(char, char)]>,
    },
}

/// Why a pattern is not valid: the byte offset in the pattern and the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatternError {
    pub offset: usize,
    pub message: &'static str,
}

fn fold(c: char) -> char {
    if c.is_ascii() {
        c.to_ascii_lowercase()
    } else {
        c.to_lowercase().next().unwrap_or(c)
    }
}

impl LikePattern {
    pub fn new(source: &str) -> Result<LikePattern, PatternError> {
        let mut elements = Vec::new();
        let mut chars = source.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            match c {
                '%' => {
                    if !matches!(elements.last(), Some(Element::AnyRun)) {
                        elements.push(Element::AnyRun);
                    }
                }
                '_' => elements.push(Element::AnyOne),
                '[' => {
                    let negated = chars.next_if(|&(_, c)| c == '^').is_some();
                    let mut ranges = Vec::new();
                    let mut closed = false;
                    // A ']' right after '[' or '[^' is a member, as in SQL.
                    let mut first = true;
                    while let Some((_, c)) = chars.next() {
                        if c == ']' && !first {
                            closed = true;
                            break;
                        }
                        first = false;
                        let hi = match chars.peek() {
                            Some(&(_, '-')) => {
                                let mut ahead = chars.clone();
                                ahead.next();
                                match ahead.next() {
                                    Some((_, h)) if h != ']' => {
                                        chars.next();
                                        chars.next();
                                        h
                                    }
                                    _ => c,
                                }
                            }
                            _ => c,
                        };
                        ranges.push((c, hi));
                    }
                    if !closed {
                        return Err(PatternError {
                            offset: at,
                            message: "unterminated '[' in LIKE pattern",
                        });
                    }
                    elements.push(Element::Set {
                        negated,
                        ranges: ranges.into_boxed_slice(),
                    });
                }
                c => elements.push(Element::Char(fold(c))),
            }
        }
        Ok(LikePattern {
            source: source.to_owned(),
            matcher: Self::choose_matcher(elements),
        })
    }

    fn choose_matcher(elements: Vec<Element>) -> Matcher {
        let literal_ascii = |els: &[Element]| -> Option<Box<[u8]>> {
            els.iter()
                .map(|e| match e {
                    Element::Char(c) if c.is_ascii() => Some(*c as u8),
                    _ => None,
                })
                .collect()
        };
        match elements.split_last() {
            Some((Element::AnyRun, init)) => {
                if let Some(bytes) = literal_ascii(init) {
                    return Matcher::AsciiPrefix(bytes);
                }
            }
            _ => {
                if let Some(bytes) = literal_ascii(&elements) {
                    return Matcher::AsciiExact(bytes);
                }
            }
        }
        Matcher::General(elements.into_boxed_slice())
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether `text` matches the whole pattern, ignoring case.
    pub fn matches(&self, text: &str) -> bool {
        match &self.matcher {
            Matcher::AsciiPrefix(p) => {
                text.len() >= p.len() && text.as_bytes()[..p.len()].eq_ignore_ascii_case(p)
            }
            Matcher::AsciiExact(p) => text.as_bytes().eq_ignore_ascii_case(p),
            Matcher::General(elements) => match_general(elements, text),
        }
    }
}

fn element_matches(e: &Element, c: char) -> bool {
    match e {
        Element::AnyRun => true,
        Element::AnyOne => true,
        Element::Char(p) => *p == fold(c),
        Element::Set { negated, ranges } => {
            let lower = fold(c);
            let upper = if c.is_ascii() {
                c.to_ascii_uppercase()
            } else {
                c.to_uppercase().next().unwrap_or(c)
            };
            let hit = ranges
                .iter()
                .any(|&(lo, hi)| [c, lower, upper].iter().any(|&x| (lo..=hi).contains(&x)));
            hit != *negated
        }
    }
}

/// Wildcard matching with one backtrack point: every element but `%`
/// consumes exactly one character, so on a mismatch it is enough to let the
/// most recent `%` swallow one more character. O(pattern × text) worst case.
fn match_general(elements: &[Element], text: &str) -> bool {
    let mut p = 0;
    let mut t = 0;
    // (pattern index after the last '%', text position it resumes from)
    let mut star: Option<(usize, usize)> = None;
    loop {
        let next = text[t..].chars().next();
        match (elements.get(p), next) {
            (Some(Element::AnyRun), _) => {
                p += 1;
                star = Some((p, t));
                continue;
            }
            (Some(e), Some(c)) if element_matches(e, c) => {
                p += 1;
                t += c.len_utf8();
                continue;
            }
            (None, None) => return true,
            _ => {}
        }
        match star {
            Some((sp, st)) => match text[st..].chars().next() {
                Some(c) => {
                    let st = st + c.len_utf8();
                    star = Some((sp, st));
                    p = sp;
                    t = st;
                }
                None => return false,
            },
            None => return false,
        }
    }
}

impl PartialEq for LikePattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl fmt::Debug for LikePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("LikePattern").field(&self.source).finish()
    }
}

impl fmt::Display for LikePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_as_wql_says() {
        let cases: &[(&str, &str, bool)] = &[
            ("share%", "ShareOne", true),
            ("share%", "shar", false),
            ("share%", "share", true),
            ("%", "", true),
            ("%", "anything", true),
            ("", "", true),
            ("", "x", false),
            ("abc", "ABC", true),
            ("abc", "abcd", false),
            ("a_c", "abc", true),
            ("a_c", "ac", false),
            ("a_c", "aéc", true),
            ("%end", "the END", true),
            ("%end", "ending", false),
            ("%mid%", "a MID b", true),
            ("%mid%", "a mi d b", false),
            ("[a-f]x", "cx", true),
            ("[a-f]x", "Cx", true),
            ("[a-f]x", "gx", false),
            ("[^a-f]x", "gx", true),
            ("[^a-f]x", "ax", false),
            ("[abc]%", "bob", true),
            ("[abc]%", "dan", false),
            ("[%]", "%", true),
            ("[%]", "x", false),
            ("[_]", "_", true),
            ("[]]", "]", true),
            ("[a-]", "-", true),
            ("%a%b%c", "xaxbxc", true),
            ("%a%b%c", "xaxbx", false),
            ("_%_", "ab", true),
            ("_%_", "a", false),
            ("É%", "école", true),
            ("é%", "École", true),
        ];
        for &(pat, text, expected) in cases {
            let p = LikePattern::new(pat).unwrap();
            assert_eq!(p.matches(text), expected, "{pat:?} LIKE {text:?}");
        }
    }

    #[test]
    fn unterminated_set_is_an_error() {
        assert_eq!(LikePattern::new("ab[cd").unwrap_err().offset, 2);
        assert!(LikePattern::new("[^").is_err());
    }
}
