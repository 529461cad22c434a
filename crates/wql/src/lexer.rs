//! The WQL tokenizer. Produces tokens on demand so that the parser can ask
//! for the raw text of an object path inside `{...}`, which follows
//! object-path rules rather than WQL's.

use crate::ast::{CompareOp, Span};
use crate::error::Error;

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum TokenKind<'a> {
    /// An identifier or keyword; keywords are recognized by the parser,
    /// case-insensitively.
    Word(&'a str),
    String(String),
    Integer(i128),
    Real(f64),
    Star,
    Comma,
    LParen,
    RParen,
    LBrace,
    Op(CompareOp),
    End,
}

#[derive(Clone, Debug)]
pub(crate) struct Token<'a> {
    pub kind: TokenKind<'a>,
    pub span: Span,
}

pub(crate) struct Lexer<'a> {
    text: &'a str,
    pos: usize,
}

/// Integers must fit in sint64 or uint64, the widest CIM integer types.
const INT_MIN: i128 = i64::MIN as i128;
const INT_MAX: i128 = u64::MAX as i128;

fn is_word_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}
fn is_word_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

impl<'a> Lexer<'a> {
    pub fn new(text: &'a str) -> Self {
        Lexer { text, pos: 0 }
    }

    fn peek_char(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn skip_space(&mut self) {
        let rest = &self.text[self.pos..];
        let trimmed = rest.trim_start();
        self.pos += rest.len() - trimmed.len();
    }

    pub fn next_token(&mut self) -> Result<Token<'a>, Error> {
        self.skip_space();
        let start = self.pos;
        let Some(c) = self.peek_char() else {
            return Ok(Token {
                kind: TokenKind::End,
                span: Span::new(start, start),
            });
        };
        let single = |lexer: &mut Self, kind| {
            lexer.pos += 1;
            Ok(Token {
                kind,
                span: Span::new(start, start + 1),
            })
        };
        match c {
            '*' => single(self, TokenKind::Star),
            ',' => single(self, TokenKind::Comma),
            '(' => single(self, TokenKind::LParen),
            ')' => single(self, TokenKind::RParen),
            '{' => single(self, TokenKind::LBrace),
            '=' => single(self, TokenKind::Op(CompareOp::Eq)),
            '<' | '>' | '!' => {
                let two = self.text.get(start..start + 2).unwrap_or("");
                let (op, len) = match two {
                    "<=" => (CompareOp::Le, 2),
                    ">=" => (CompareOp::Ge, 2),
                    "<>" => (CompareOp::Ne, 2),
                    "!=" => (CompareOp::Ne, 2),
                    _ if c == '<' => (CompareOp::Lt, 1),
                    _ if c == '>' => (CompareOp::Gt, 1),
                    _ => {
                        return Err(Error::syntax(
                            Span::new(start, start + 1),
                            "expected '!=' (a lone '!' is not an operator)",
                        ))
                    }
                };
                self.pos += len;
                Ok(Token {
                    kind: TokenKind::Op(op),
                    span: Span::new(start, start + len),
                })
            }
            '"' | '\'' => self.string(c),
            '-' | '0'..='9' => self.number(),
            c if is_word_start(c) => {
                let len = self.text[start..]
                    .find(|c: char| !is_word_char(c))
                    .unwrap_or(self.text.len() - start);
                self.pos += len;
                Ok(Token {
                    kind: TokenKind::Word(&self.text[start..start + len]),
                    span: Span::new(start, start + len),
                })
            }
            c => Err(Error::syntax(
                Span::new(start, start + c.len_utf8()),
                format!("unexpected character {c:?}"),
            )),
        }
    }

    /// After a word: `.Name` directly attached (no space), the member of an
    /// embedded object (`TargetInstance.Name`); consumed when present.
    pub fn member(&mut self) -> Option<(&'a str, Span)> {
        let rest = &self.text[self.pos..];
        let tail = rest.strip_prefix('.')?;
        if !tail.chars().next().is_some_and(is_word_start) {
            return None;
        }
        let len = tail.find(|c: char| !is_word_char(c)).unwrap_or(tail.len());
        let start = self.pos + 1;
        self.pos = start + len;
        Some((
            &self.text[start..start + len],
            Span::new(start, start + len),
        ))
    }

    fn string(&mut self, quote: char) -> Result<Token<'a>, Error> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek_char() else {
                return Err(Error::syntax(
                    Span::new(start, self.pos),
                    "unterminated string literal",
                ));
            };
            let at = self.pos;
            self.pos += c.len_utf8();
            if c == quote {
                break;
            }
            if c != '\\' {
                out.push(c);
                continue;
            }
            let Some(e) = self.peek_char() else {
                return Err(Error::syntax(
                    Span::new(start, self.pos),
                    "unterminated string literal",
                ));
            };
            self.pos += e.len_utf8();
            match e {
                '\\' | '"' | '\'' => out.push(e),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'x' | 'X' => {
                    let digits = self.text[self.pos..]
                        .bytes()
                        .take(4)
                        .take_while(u8::is_ascii_hexdigit)
                        .count();
                    let hex = &self.text[self.pos..self.pos + digits];
                    let ch = u32::from_str_radix(hex, 16).ok().and_then(char::from_u32);
                    let Some(ch) = ch else {
                        return Err(Error::syntax(
                            Span::new(at, self.pos + digits),
                            "expected 1 to 4 hex digits of a character after \\x",
                        ));
                    };
                    self.pos += digits;
                    out.push(ch);
                }
                _ => {
                    return Err(Error::syntax(
                        Span::new(at, self.pos),
                        format!("unknown escape \\{e} in string literal"),
                    ))
                }
            }
        }
        Ok(Token {
            kind: TokenKind::String(out),
            span: Span::new(start, self.pos),
        })
    }

    fn number(&mut self) -> Result<Token<'a>, Error> {
        let start = self.pos;
        let bytes = self.text.as_bytes();
        let mut i = start;
        let negative = bytes.get(i) == Some(&b'-');
        if negative {
            i += 1;
        }
        let digits_start = i;
        let ident_tail = |i: usize| {
            self.text[i..]
                .chars()
                .next()
                .is_some_and(|c| is_word_char(c) || c == '.')
        };
        if bytes.get(i) == Some(&b'0') && matches!(bytes.get(i + 1), Some(b'x' | b'X')) {
            let hex_start = i + 2;
            let mut j = hex_start;
            while bytes.get(j).is_some_and(u8::is_ascii_hexdigit) {
                j += 1;
            }
            let span = Span::new(start, j);
            if j == hex_start || ident_tail(j) {
                return Err(Error::syntax(span, "expected hex digits after 0x"));
            }
            let magnitude = u128::from_str_radix(&self.text[hex_start..j], 16).ok();
            self.pos = j;
            return self.integer(magnitude, negative, span);
        }
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == digits_start {
            return Err(Error::syntax(
                Span::new(start, start + 1),
                "expected a digit after '-'",
            ));
        }
        let mut real = false;
        if bytes.get(i) == Some(&b'.') {
            let frac_start = i + 1;
            let mut j = frac_start;
            while bytes.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
            }
            if j == frac_start {
                return Err(Error::syntax(
                    Span::new(start, j),
                    "expected a digit after the decimal point",
                ));
            }
            i = j;
            real = true;
        }
        if matches!(bytes.get(i), Some(b'e' | b'E')) {
            let mut j = i + 1;
            if matches!(bytes.get(j), Some(b'+' | b'-')) {
                j += 1;
            }
            let exp_start = j;
            while bytes.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
            }
            if j == exp_start {
                return Err(Error::syntax(
                    Span::new(start, j),
                    "expected the digits of an exponent",
                ));
            }
            i = j;
            real = true;
        }
        let span = Span::new(start, i);
        if ident_tail(i) {
            return Err(Error::syntax(span, "expected a number"));
        }
        self.pos = i;
        let text = &self.text[start..i];
        if real {
            return match text.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(Token {
                    kind: TokenKind::Real(v),
                    span,
                }),
                _ => Err(Error::syntax(span, "real literal out of range")),
            };
        }
        let magnitude = self.text[digits_start..i].parse::<u128>().ok();
        self.integer(magnitude, negative, span)
    }

    fn integer(
        &self,
        magnitude: Option<u128>,
        negative: bool,
        span: Span,
    ) -> Result<Token<'a>, Error> {
        let value = magnitude
            .and_then(|m| i128::try_from(m).ok())
            .map(|m| if negative { -m } else { m })
            .filter(|v| (INT_MIN..=INT_MAX).contains(v));
        match value {
            Some(v) => Ok(Token {
                kind: TokenKind::Integer(v),
                span,
            }),
            None => Err(Error::syntax(
                span,
                "integer literal out of range (sint64/uint64)",
            )),
        }
    }

    /// After a `{`: the raw text up to the matching `}` (quoted strings in the
    /// path may hold braces), and its span, without the braces.
    pub fn braced_text(&mut self, open: Span) -> Result<(&'a str, Span), Error> {
        let start = self.pos;
        let mut quote: Option<char> = None;
        let mut escaped = false;
        for (off, c) in self.text[start..].char_indices() {
            let at = start + off;
            if let Some(q) = quote {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
                continue;
            }
            match c {
                '"' | '\'' => quote = Some(c),
                '}' => {
                    self.pos = at + 1;
                    return Ok((&self.text[start..at], Span::new(start, at)));
                }
                _ => {}
            }
        }
        Err(Error::syntax(
            open.to(Span::new(self.text.len(), self.text.len())),
            "expected '}' closing the object path",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<TokenKind<'_>> {
        let mut l = Lexer::new(text);
        let mut out = Vec::new();
        loop {
            let t = l.next_token().unwrap();
            if t.kind == TokenKind::End {
                return out;
            }
            out.push(t.kind);
        }
    }

    #[test]
    fn tokens() {
        use TokenKind::*;
        assert_eq!(
            kinds("a<=1 b<>-2 c!=0x1F d>=1.5e3 e<'x' f>\"y\\\"\" (*,)"),
            vec![
                Word("a"),
                Op(CompareOp::Le),
                Integer(1),
                Word("b"),
                Op(CompareOp::Ne),
                Integer(-2),
                Word("c"),
                Op(CompareOp::Ne),
                Integer(31),
                Word("d"),
                Op(CompareOp::Ge),
                Real(1500.0),
                Word("e"),
                Op(CompareOp::Lt),
                String("x".into()),
                Word("f"),
                Op(CompareOp::Gt),
                String("y\"".into()),
                LParen,
                Star,
                Comma,
                RParen,
            ]
        );
        assert_eq!(
            kinds("18446744073709551615 -9223372036854775808"),
            vec![Integer(u64::MAX as i128), Integer(i64::MIN as i128)]
        );
        assert_eq!(kinds(r#""a\\b\x41\n""#), vec![String("a\\bA\n".into())]);
    }

    #[test]
    fn bad_tokens_say_where() {
        let err = |t: &str| {
            let mut l = Lexer::new(t);
            loop {
                match l.next_token() {
                    Ok(tok) if tok.kind == TokenKind::End => panic!("no error in {t:?}"),
                    Ok(_) => {}
                    Err(e) => return e.offset(),
                }
            }
        };
        assert_eq!(err("a = \"abc"), 4);
        assert_eq!(err("a = 18446744073709551616"), 4);
        assert_eq!(err("a = -9223372036854775809"), 4);
        assert_eq!(err("a = 12abc"), 4);
        assert_eq!(err("a = 0x"), 4);
        assert_eq!(err("a ! b"), 2);
        assert_eq!(err("a = 'x\\q'"), 6);
        assert_eq!(err("a # b"), 2);
        assert_eq!(err("a = 1."), 4);
    }
}
