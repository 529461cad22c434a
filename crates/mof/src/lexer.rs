//! The MOF tokenizer (DSP0004 annex A). Works on bytes of a `&str` and
//! allocates nothing: tokens are spans into the source, decoded by the parser
//! only where a value is needed.

/// Where a token starts: file (index into the compile's file table), byte
/// offset, 1-based line and 1-based byte column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Span {
    pub file: u32,
    pub offset: u32,
    pub line: u32,
    pub column: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tok {
    Ident,
    /// `$name`; the text includes the `$`.
    Alias,
    /// A double-quoted string; the text includes the quotes.
    Str,
    /// A single-quoted char16 literal; the text includes the quotes.
    Char16,
    /// A number (integer or real) with its sign; classified by the parser.
    Number,
    LBrace,
    RBrace,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Semi,
    Comma,
    Colon,
    Equals,
    /// `#pragma`
    Pragma,
    Eof,
}

impl Tok {
    /// How a token is named in "expected X, found Y" messages.
    pub fn describe(self) -> &'static str {
        match self {
            Tok::Ident => "identifier",
            Tok::Alias => "alias",
            Tok::Str => "string",
            Tok::Char16 => "char16 literal",
            Tok::Number => "number",
            Tok::LBrace => "'{'",
            Tok::RBrace => "'}'",
            Tok::LParen => "'('",
            Tok::RParen => "')'",
            Tok::LBracket => "'['",
            Tok::RBracket => "']'",
            Tok::Semi => "';'",
            Tok::Comma => "','",
            Tok::Colon => "':'",
            Tok::Equals => "'='",
            Tok::Pragma => "'#pragma'",
            Tok::Eof => "end of file",
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Token {
    pub kind: Tok,
    pub span: Span,
    pub end: u32,
    /// For strings and char16 literals: a backslash occurs inside, so the
    /// text must be unescaped rather than copied.
    pub escaped: bool,
}

/// A lexical error: where, and what was wrong.
#[derive(Clone, Debug)]
pub struct LexError {
    pub span: Span,
    pub message: String,
}

pub struct Lexer<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    line: u32,
    line_start: usize,
    file: u32,
}

impl<'a> Lexer<'a> {
    pub fn new(src: &'a str, file: u32) -> Self {
        let pos = if src.starts_with('\u{feff}') { 3 } else { 0 };
        Lexer {
            src,
            bytes: src.as_bytes(),
            pos,
            line: 1,
            line_start: 0,
            file,
        }
    }

    pub fn src(&self) -> &'a str {
        self.src
    }

    pub fn text(&self, t: &Token) -> &'a str {
        self.src
            .get(t.span.offset as usize..t.end as usize)
            .unwrap_or("")
    }

    fn span_at(&self, pos: usize) -> Span {
        Span {
            file: self.file,
            offset: pos as u32,
            line: self.line,
            column: (pos.saturating_sub(self.line_start) + 1) as u32,
        }
    }

    fn err(&self, pos: usize, message: impl Into<String>) -> LexError {
        LexError {
            span: self.span_at(pos),
            message: message.into(),
        }
    }

    fn newline(&mut self, at: usize) {
        self.line += 1;
        self.line_start = at + 1;
    }

    fn skip_trivia(&mut self) -> Result<(), LexError> {
        let b = self.bytes;
        loop {
            match b.get(self.pos) {
                Some(b' ' | b'\t' | b'\r' | 0x0c) => self.pos += 1,
                Some(b'\n') => {
                    self.newline(self.pos);
                    self.pos += 1;
                }
                Some(b'/') if b.get(self.pos + 1) == Some(&b'/') => {
                    self.pos = b[self.pos..]
                        .iter()
                        .position(|&c| c == b'\n')
                        .map_or(b.len(), |i| self.pos + i);
                }
                Some(b'/') if b.get(self.pos + 1) == Some(&b'*') => {
                    let start = self.pos;
                    self.pos += 2;
                    loop {
                        match b.get(self.pos) {
                            None => return Err(self.err(start, "unterminated comment '/*'")),
                            Some(b'*') if b.get(self.pos + 1) == Some(&b'/') => {
                                self.pos += 2;
                                break;
                            }
                            Some(b'\n') => {
                                self.newline(self.pos);
                                self.pos += 1;
                            }
                            Some(_) => self.pos += 1,
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    pub fn next_token(&mut self) -> Result<Token, LexError> {
        self.skip_trivia()?;
        let start = self.pos;
        let span = self.span_at(start);
        let b = self.bytes;
        let Some(&c) = b.get(start) else {
            return Ok(Token {
                kind: Tok::Eof,
                span,
                end: start as u32,
                escaped: false,
            });
        };
        let mut escaped = false;
        let kind = match c {
            b'{' => self.one(Tok::LBrace),
            b'}' => self.one(Tok::RBrace),
            b'(' => self.one(Tok::LParen),
            b')' => self.one(Tok::RParen),
            b'[' => self.one(Tok::LBracket),
            b']' => self.one(Tok::RBracket),
            b';' => self.one(Tok::Semi),
            b',' => self.one(Tok::Comma),
            b':' => self.one(Tok::Colon),
            b'=' => self.one(Tok::Equals),
            b'"' => {
                escaped = self.quoted(b'"')?;
                Tok::Str
            }
            b'\'' => {
                escaped = self.quoted(b'\'')?;
                Tok::Char16
            }
            b'#' => {
                let rest = &b[start + 1..];
                if rest.len() >= 6
                    && rest[..6].eq_ignore_ascii_case(b"pragma")
                    && !rest.get(6).is_some_and(|&c| is_ident_byte(c))
                {
                    self.pos += 7;
                    Tok::Pragma
                } else {
                    return Err(self.err(start, "expected '#pragma'"));
                }
            }
            b'$' => {
                self.pos += 1;
                if !self.ident_start() {
                    return Err(self.err(start, "expected an alias name after '$'"));
                }
                self.ident_rest();
                Tok::Alias
            }
            b'0'..=b'9' | b'.' | b'+' | b'-' => {
                let digit_follows = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
                let ok = match c {
                    b'0'..=b'9' => true,
                    b'.' => digit_follows(start + 1),
                    _ => {
                        digit_follows(start + 1)
                            || (b.get(start + 1) == Some(&b'.') && digit_follows(start + 2))
                    }
                };
                if !ok {
                    return Err(self.err(start, format!("unexpected character {:?}", c as char)));
                }
                self.number();
                Tok::Number
            }
            _ => {
                if self.ident_start() {
                    self.ident_rest();
                    Tok::Ident
                } else {
                    let ch = self.src[start..].chars().next().unwrap_or('?');
                    return Err(self.err(start, format!("unexpected character {ch:?}")));
                }
            }
        };
        Ok(Token {
            kind,
            span,
            end: self.pos as u32,
            escaped,
        })
    }

    fn one(&mut self, t: Tok) -> Tok {
        self.pos += 1;
        t
    }

    /// Consumes an identifier's first character if there is one. DSP0004
    /// allows letters, `_` and non-ASCII characters (U+0080 and up).
    fn ident_start(&mut self) -> bool {
        match self.bytes.get(self.pos) {
            Some(&c) if c.is_ascii_alphabetic() || c == b'_' => {
                self.pos += 1;
                true
            }
            Some(&c) if c >= 0x80 => self.non_ascii_ident_char(),
            _ => false,
        }
    }

    fn non_ascii_ident_char(&mut self) -> bool {
        match self.src.get(self.pos..).and_then(|s| s.chars().next()) {
            Some(ch) if ch.is_alphanumeric() => {
                self.pos += ch.len_utf8();
                true
            }
            _ => false,
        }
    }

    fn ident_rest(&mut self) {
        loop {
            match self.bytes.get(self.pos) {
                Some(&c) if is_ident_byte(c) => self.pos += 1,
                Some(&c) if c >= 0x80 => {
                    if !self.non_ascii_ident_char() {
                        return;
                    }
                }
                _ => return,
            }
        }
    }

    /// A number's extent: sign, then digits, letters (hex digits, `x`, `b`,
    /// exponent) and dots; an exponent may carry its own sign. The parser
    /// checks the form.
    fn number(&mut self) {
        let b = self.bytes;
        if matches!(b.get(self.pos), Some(b'+' | b'-')) {
            self.pos += 1;
        }
        let hex =
            b.get(self.pos) == Some(&b'0') && matches!(b.get(self.pos + 1), Some(b'x' | b'X'));
        while let Some(&c) = b.get(self.pos) {
            if c.is_ascii_alphanumeric() || c == b'.' || c == b'_' {
                self.pos += 1;
                if !hex && (c == b'e' || c == b'E') && matches!(b.get(self.pos), Some(b'+' | b'-'))
                {
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    /// Scans a quoted literal; returns whether it holds escapes.
    fn quoted(&mut self, quote: u8) -> Result<bool, LexError> {
        let start = self.pos;
        let b = self.bytes;
        self.pos += 1;
        let mut escaped = false;
        loop {
            self.pos = skip_plain(b, self.pos, quote);
            match b.get(self.pos) {
                None | Some(b'\n') | Some(b'\r') => {
                    let what = if quote == b'"' {
                        "string"
                    } else {
                        "char16 literal"
                    };
                    return Err(self.err(start, format!("unterminated {what}")));
                }
                Some(&c) if c == quote => {
                    self.pos += 1;
                    return Ok(escaped);
                }
                Some(b'\\') => {
                    escaped = true;
                    self.pos += 2;
                    if self.pos > b.len() {
                        self.pos = b.len();
                    }
                }
                Some(_) => self.pos += 1,
            }
        }
    }
}

/// Skips, eight bytes at a time, the part of a quoted literal that holds
/// none of `quote`, backslash, CR or LF; returns the position reached.
fn skip_plain(b: &[u8], mut pos: usize, quote: u8) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let has = |w: u64, byte: u8| {
        let v = w ^ (ONES * byte as u64);
        v.wrapping_sub(ONES) & !v & HIGHS != 0
    };
    while let Some(chunk) = b.get(pos..pos + 8) {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(chunk);
        let w = u64::from_le_bytes(bytes);
        if has(w, quote) || has(w, b'\\') || has(w, b'\n') || has(w, b'\r') {
            break;
        }
        pos += 8;
    }
    pos
}

fn is_ident_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Decodes the body of a quoted literal (without the quotes), appending to
/// `out`. Errors carry the byte offset within `body` of the bad escape.
pub fn unescape_into(body: &str, out: &mut String) -> Result<(), (usize, String)> {
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some((_, e)) = chars.next() else {
            return Err((i, "a backslash ends the literal".into()));
        };
        let decoded = match e {
            'b' => '\u{8}',
            't' => '\t',
            'n' => '\n',
            'f' => '\u{c}',
            'r' => '\r',
            '"' => '"',
            '\'' => '\'',
            '\\' => '\\',
            'x' | 'X' => {
                // 1 to 4 hex digits (DSP0004 A.17: escapeSequence "\x" 1*4hexDigit).
                let rest = &body[i + 2..];
                let n = rest
                    .bytes()
                    .take(4)
                    .take_while(u8::is_ascii_hexdigit)
                    .count();
                if n == 0 {
                    return Err((i, format!("expected hex digits after '\\{e}'")));
                }
                let code = u32::from_str_radix(&rest[..n], 16).unwrap_or(0xfffd);
                for _ in 0..n {
                    chars.next();
                }
                match char::from_u32(code) {
                    Some(ch) => ch,
                    None => {
                        return Err((i, format!("'\\{e}{}' is not a valid character", &rest[..n])))
                    }
                }
            }
            other => return Err((i, format!("unknown escape '\\{other}'"))),
        };
        out.push(decoded);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<Tok> {
        let mut lx = Lexer::new(src, 0);
        let mut out = Vec::new();
        loop {
            let t = lx.next_token().unwrap();
            out.push(t.kind);
            if t.kind == Tok::Eof {
                return out;
            }
        }
    }

    #[test]
    fn tokens_and_spans() {
        use Tok::*;
        assert_eq!(
            kinds("#pragma include (\"a\") // x\n class A:B{ [Key] uint32 x = -0x1F; };"),
            [
                Pragma, Ident, LParen, Str, RParen, Ident, Ident, Colon, Ident, LBrace, LBracket,
                Ident, RBracket, Ident, Ident, Equals, Number, Semi, RBrace, Semi, Eof
            ]
        );
        let mut lx = Lexer::new("/* a\n b */\n  $x 'c' 1.5e-3", 0);
        let t = lx.next_token().unwrap();
        assert_eq!((t.kind, t.span.line, t.span.column), (Alias, 3, 3));
        assert_eq!(lx.text(&t), "$x");
        let t = lx.next_token().unwrap();
        assert_eq!((t.kind, lx.text(&t)), (Char16, "'c'"));
        let t = lx.next_token().unwrap();
        assert_eq!((t.kind, lx.text(&t)), (Number, "1.5e-3"));
    }

    #[test]
    fn lexical_errors() {
        for bad in ["\"abc", "/* x", "#prag", "@", "$1", "'a"] {
            let mut lx = Lexer::new(bad, 0);
            let mut failed = false;
            for _ in 0..10 {
                match lx.next_token() {
                    Err(_) => {
                        failed = true;
                        break;
                    }
                    Ok(t) if t.kind == Tok::Eof => break,
                    Ok(_) => {}
                }
            }
            assert!(failed, "{bad}");
        }
    }

    #[test]
    fn escapes() {
        let mut s = String::new();
        unescape_into(r#"a\tb\"\\\x41\X263A\n"#, &mut s).unwrap();
        assert_eq!(s, "a\tb\"\\A\u{263a}\n");
        assert!(unescape_into(r"\q", &mut String::new()).is_err());
        assert!(unescape_into(r"\xZ", &mut String::new()).is_err());
        assert!(unescape_into(r"\xD800", &mut String::new()).is_err());
    }
}
