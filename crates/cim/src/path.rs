//! Object paths, in the WMI form (`\\HOST\root\cimv2:Class.Key="v"`) and the
//! DMTF WBEM URI form (DSP0207, untyped: `//HOST/root/cimv2:Class.Key="v"`,
//! `https://host:5989/root/cimv2:Class.Key="v"`).
//!
//! Key values may be quoted with `"` or `'` (Microsoft's samples write
//! `Win32_Share.Name='public'`); printing always uses the canonical `"`.
//!
//! Parsing keeps every quoted key value as `Value::String`: only the class knows
//! whether a key is a reference or a datetime. Equality therefore treats a
//! `Value::Reference` and a `Value::String` holding the same path as equal (and
//! likewise a datetime or char16 and its text), and compares what WMI compares
//! without case: class, key names, host, namespace and string key values. Keys
//! compare in canonical (name) order; integers compare by value whatever their
//! width, and a real with an integral value equals that integer.

use crate::error::Error;
use crate::name::{HashRun, Name};
use crate::value::Value;
use std::borrow::Cow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

/// The longest path text accepted, in bytes.
pub const MAX_PATH_LEN: usize = 64 * 1024;
/// How deep paths may nest as key values of paths (a reference to an
/// association whose key is a reference ...). Each level doubles the escaping
/// backslashes, so [`MAX_PATH_LEN`] alone would stop at about 15 levels; real
/// associations nest two or three deep.
pub const MAX_REFERENCE_DEPTH: usize = 8;

/// A path to a class or an instance.
#[derive(Clone, Debug)]
pub struct ObjectPath {
    /// `None` for a path without a host; `Some(".")` for the local host. A port
    /// is kept in the host text: `"host:5989"`, `"[::1]:5989"`.
    pub host: Option<String>,
    /// The namespace with `/` separators (`root/cimv2`), or `None` for a relative path.
    pub namespace: Option<String>,
    pub class: Name,
    pub keys: Keys,
}

/// What follows the class name.
#[derive(Clone, Debug)]
pub enum Keys {
    /// No keys: the path names the class itself.
    Class,
    /// `Class=@`: the single instance of a singleton class.
    Singleton,
    /// `Class.K1="v",K2=3` or the single-key shorthand `Class="v"` (name empty until resolved).
    Bindings(Vec<KeyBinding>),
}

#[derive(Clone, Debug)]
pub struct KeyBinding {
    pub name: Name,
    pub value: Value,
}

impl KeyBinding {
    pub fn new(name: impl Into<Name>, value: impl Into<Value>) -> KeyBinding {
        KeyBinding {
            name: name.into(),
            value: value.into(),
        }
    }

    /// The path a reference key holds: the reference itself, or a string key
    /// parsed as a path (the form a parsed path keeps references in). A plain
    /// word parses as a class path; whether the key is a reference at all is
    /// for its class to say.
    pub fn as_path(&self) -> Option<ObjectPath> {
        match &self.value {
            Value::Reference(p) => Some((**p).clone()),
            Value::String(s) => ObjectPath::parse(s).ok(),
            _ => None,
        }
    }
}

impl ObjectPath {
    /// Parses the WMI or the WBEM URI form (see the module documentation).
    /// Errors carry the byte offset where parsing stopped and what was expected.
    pub fn parse(text: &str) -> Result<ObjectPath, Error> {
        parse_path(text, Some(0)).map_err(|e| Error::Path {
            pos: e.pos,
            message: e.message,
        })
    }

    /// The path of a class (no host, no namespace).
    pub fn class_path(class: impl Into<Name>) -> ObjectPath {
        ObjectPath {
            host: None,
            namespace: None,
            class: class.into(),
            keys: Keys::Class,
        }
    }

    /// A relative instance path with these keys, kept in the order given.
    pub fn instance(class: impl Into<Name>, keys: Vec<KeyBinding>) -> ObjectPath {
        ObjectPath {
            host: None,
            namespace: None,
            class: class.into(),
            keys: Keys::Bindings(keys),
        }
    }

    /// The relative path of the single instance of a singleton class (`Class=@`).
    pub fn singleton(class: impl Into<Name>) -> ObjectPath {
        ObjectPath {
            host: None,
            namespace: None,
            class: class.into(),
            keys: Keys::Singleton,
        }
    }

    pub fn with_host(mut self, host: impl Into<String>) -> ObjectPath {
        self.host = Some(host.into());
        self
    }

    /// Sets the namespace; `\` separators become `/`, outer separators go.
    pub fn with_namespace(mut self, namespace: &str) -> ObjectPath {
        let ns = namespace
            .trim_matches(|c| c == '/' || c == '\\')
            .replace('\\', "/");
        self.namespace = Some(ns);
        self
    }

    /// The same path without host and namespace.
    pub fn relative(&self) -> ObjectPath {
        ObjectPath {
            host: None,
            namespace: None,
            class: self.class.clone(),
            keys: self.keys.clone(),
        }
    }

    /// Whether the path names an instance (keys or a singleton) rather than a class.
    pub fn is_instance(&self) -> bool {
        match &self.keys {
            Keys::Class => false,
            Keys::Singleton => true,
            Keys::Bindings(b) => !b.is_empty(),
        }
    }

    /// Whether the host is this machine: no host, `.`, `localhost`, `127.0.0.1`
    /// or `[::1]` (any port). Other names of this machine are the caller's to know.
    pub fn is_local_host(&self) -> bool {
        let Some(host) = &self.host else {
            return true;
        };
        let name = strip_port(host);
        name == "."
            || name.eq_ignore_ascii_case("localhost")
            || name == "127.0.0.1"
            || name == "[::1]"
            || name == "::1"
    }

    /// The key bindings (empty for class and singleton paths).
    pub fn bindings(&self) -> &[KeyBinding] {
        match &self.keys {
            Keys::Bindings(b) => b,
            _ => &[],
        }
    }

    /// The value of a key, found without regard to case.
    pub fn key(&self, name: &str) -> Option<&Value> {
        self.bindings()
            .iter()
            .find(|k| k.name.is(name))
            .map(|k| &k.value)
    }

    /// Names the key of a single-key shorthand path (`Class="v"`) once the
    /// class is known. Returns whether there was such a key to name.
    pub fn resolve_single_key(&mut self, key_name: &Name) -> bool {
        match &mut self.keys {
            Keys::Bindings(b) if b.len() == 1 && b[0].name.as_str().is_empty() => {
                b[0].name = key_name.clone();
                true
            }
            _ => false,
        }
    }

    /// Puts the keys in canonical order: by name, without regard to case.
    pub fn sort_keys(&mut self) {
        if let Keys::Bindings(b) = &mut self.keys {
            b.sort_by(|x, y| x.name.cmp(&y.name));
        }
    }

    /// The DSP0207 WBEM URI form: `//HOST/root/cimv2:Class.K="v"`,
    /// `/root/cimv2:Class...` without host, `Class...` when relative.
    pub fn to_uri_string(&self) -> String {
        let mut out = String::new();
        let _ = self.write(&mut out, Form::Uri);
        out
    }

    fn write(&self, out: &mut impl fmt::Write, form: Form) -> fmt::Result {
        let sep = match form {
            Form::Wmi => '\\',
            Form::Uri => '/',
        };
        if let Some(host) = &self.host {
            write!(out, "{sep}{sep}{host}{sep}")?;
        }
        match &self.namespace {
            Some(ns) => {
                if self.host.is_none() && form == Form::Uri {
                    out.write_char('/')?;
                }
                for c in ns.chars() {
                    out.write_char(if c == '/' || c == '\\' { sep } else { c })?;
                }
                out.write_char(':')?;
            }
            // `\\HOST\:Class`: a host with no namespace still needs the colon
            // so that the class is not read as a namespace.
            None if self.host.is_some() => out.write_char(':')?,
            None => {}
        }
        out.write_str(self.class.as_str())?;
        match &self.keys {
            Keys::Class => Ok(()),
            Keys::Singleton => out.write_str("=@"),
            Keys::Bindings(b) if b.len() == 1 && b[0].name.as_str().is_empty() => {
                out.write_char('=')?;
                write_key_value(out, &b[0].value, form)
            }
            Keys::Bindings(b) => {
                for (i, k) in b.iter().enumerate() {
                    out.write_char(if i == 0 { '.' } else { ',' })?;
                    write!(out, "{}=", k.name)?;
                    write_key_value(out, &k.value, form)?;
                }
                Ok(())
            }
        }
    }
}

impl FromStr for ObjectPath {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        ObjectPath::parse(s)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    Wmi,
    Uri,
}

fn write_key_value(out: &mut impl fmt::Write, v: &Value, form: Form) -> fmt::Result {
    match v {
        Value::String(s) => write_quoted(out, s),
        Value::Reference(p) => write_quoted(
            out,
            &match form {
                Form::Wmi => p.to_string(),
                Form::Uri => p.to_uri_string(),
            },
        ),
        Value::Boolean(b) => out.write_str(if *b { "TRUE" } else { "FALSE" }),
        Value::Char16(_) | Value::DateTime(_) | Value::Array(_) => {
            write_quoted(out, &v.to_string())
        }
        number => write!(out, "{number}"),
    }
}

fn write_quoted(out: &mut impl fmt::Write, s: &str) -> fmt::Result {
    out.write_char('"')?;
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.write_char('\\')?;
        }
        out.write_char(c)?;
    }
    out.write_char('"')
}

/// The canonical WMI form: `\\HOST\root\cimv2:Class.K1="v",K2=3`.
impl fmt::Display for ObjectPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, Form::Wmi)
    }
}

/// `host` without a trailing `:port`.
fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return match host.find(']') {
            Some(i) => &host[..=i],
            None => host,
        };
    }
    match host.rsplit_once(':') {
        Some((h, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

// ---------------------------------------------------------------- parsing

struct ParseError {
    pos: usize,
    message: String,
    /// Set when the error is the nesting limit, so that an enclosing parse
    /// fails too instead of keeping the value as a plain string.
    too_deep: bool,
}

fn perr(pos: usize, message: impl Into<String>) -> ParseError {
    ParseError {
        pos,
        message: message.into(),
        too_deep: false,
    }
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || ('\u{80}'..='\u{FFEF}').contains(&c)
}

fn is_ident_continue(c: char) -> bool {
    is_ident_start(c) || c.is_ascii_digit()
}

fn is_namespace_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-'
}

fn is_host_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')
}

fn is_sep(c: char) -> bool {
    c == '/' || c == '\\'
}

/// Whether a string could be anything but a bare class name: only then may it
/// hold a host, namespace or keys (and so nest deeper, or compare as a path).
fn could_be_full_path(s: &str) -> bool {
    s.contains(['.', '=', ':', '/', '\\'])
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
    /// How deep this path is nested in key values; `None` to skip looking
    /// into string key values for nested paths.
    depth: Option<usize>,
}

fn parse_path(text: &str, depth: Option<usize>) -> Result<ObjectPath, ParseError> {
    if text.len() > MAX_PATH_LEN {
        return Err(perr(
            MAX_PATH_LEN,
            format!("path longer than {MAX_PATH_LEN} bytes"),
        ));
    }
    Parser {
        text,
        pos: 0,
        depth,
    }
    .path()
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn eat(&mut self, want: impl Fn(char) -> bool) -> bool {
        match self.peek() {
            Some(c) if want(c) => {
                self.pos += c.len_utf8();
                true
            }
            _ => false,
        }
    }

    fn describe_next(&self) -> String {
        match self.peek() {
            Some(c) => format!("found {c:?}"),
            None => "found the end".to_owned(),
        }
    }

    fn path(mut self) -> Result<ObjectPath, ParseError> {
        let mut host = None;
        let mut namespace = None;
        let has_host = if let Some(len) = scheme_len(self.text) {
            self.pos = len + 3;
            true
        } else if self.rest().starts_with("\\\\") || self.rest().starts_with("//") {
            self.pos += 2;
            true
        } else {
            false
        };
        if has_host {
            host = Some(self.host()?);
            if !self.eat(is_sep) {
                return Err(perr(
                    self.pos,
                    format!(
                        "expected '\\' or '/' after the host, {}",
                        self.describe_next()
                    ),
                ));
            }
            namespace = self.namespace()?;
        } else if self.eat(is_sep) || self.namespace_ahead() {
            namespace = self.namespace()?;
        } else {
            // `:Class`: explicitly no namespace.
            self.eat(|c| c == ':');
        }
        let class = self.identifier("a class name")?;
        let keys = self.keys()?;
        Ok(ObjectPath {
            host,
            namespace,
            class: Name::from(class),
            keys,
        })
    }

    fn host(&mut self) -> Result<String, ParseError> {
        let start = self.pos;
        if self.eat(|c| c == '[') {
            let inner = self.pos;
            while self.eat(|c| {
                c.is_ascii_hexdigit() || matches!(c, ':' | '.' | '%') || c.is_ascii_alphanumeric()
            }) {}
            if self.pos == inner {
                return Err(perr(self.pos, "expected an IPv6 address after '['"));
            }
            if !self.eat(|c| c == ']') {
                return Err(perr(
                    self.pos,
                    format!(
                        "expected ']' after the IPv6 address, {}",
                        self.describe_next()
                    ),
                ));
            }
        } else {
            while self.eat(is_host_char) {}
            if self.pos == start {
                return Err(perr(
                    self.pos,
                    format!("expected a host name, {}", self.describe_next()),
                ));
            }
        }
        if self.peek() == Some(':') && self.rest()[1..].starts_with(|c: char| c.is_ascii_digit()) {
            self.pos += 1;
            let port_start = self.pos;
            while self.eat(|c| c.is_ascii_digit()) {}
            let port = &self.text[port_start..self.pos];
            if port.len() > 5 || port.parse::<u32>().map_or(true, |p| p > 65_535) {
                return Err(perr(port_start, "port must be 0-65535"));
            }
        }
        Ok(self.text[start..self.pos].to_owned())
    }

    /// Whether a namespace ending in ':' comes next (`root\cimv2:Class`), as
    /// opposed to a class name (which is followed by '.', '=' or the end).
    fn namespace_ahead(&self) -> bool {
        let rest = self.rest();
        match rest.find(|c: char| !(is_namespace_char(c) || is_sep(c))) {
            Some(i) => i > 0 && rest[i..].starts_with(':'),
            None => false,
        }
    }

    /// Namespace segments up to and including the ':' that ends them; an
    /// immediate ':' means no namespace.
    fn namespace(&mut self) -> Result<Option<String>, ParseError> {
        if self.eat(|c| c == ':') {
            return Ok(None);
        }
        let mut ns = String::new();
        loop {
            let start = self.pos;
            while self.eat(is_namespace_char) {}
            if self.pos == start {
                return Err(perr(
                    self.pos,
                    format!("expected a namespace name, {}", self.describe_next()),
                ));
            }
            ns.push_str(&self.text[start..self.pos]);
            match self.peek() {
                Some(c) if is_sep(c) => {
                    self.pos += 1;
                    ns.push('/');
                }
                Some(':') => {
                    self.pos += 1;
                    return Ok(Some(ns));
                }
                _ => {
                    return Err(perr(
                        self.pos,
                        format!(
                            "expected '\\', '/' or ':' after a namespace name, {}",
                            self.describe_next()
                        ),
                    ))
                }
            }
        }
    }

    fn identifier(&mut self, what: &str) -> Result<&'a str, ParseError> {
        let start = self.pos;
        if !self.eat(is_ident_start) {
            return Err(perr(
                start,
                format!("expected {what}, {}", self.describe_next()),
            ));
        }
        while self.eat(is_ident_continue) {}
        Ok(&self.text[start..self.pos])
    }

    fn expect_end(&self, after: &str) -> Result<(), ParseError> {
        match self.peek() {
            None => Ok(()),
            Some(c) => Err(perr(
                self.pos,
                format!("expected the end of the path after {after}, found {c:?}"),
            )),
        }
    }

    fn keys(&mut self) -> Result<Keys, ParseError> {
        match self.peek() {
            None => Ok(Keys::Class),
            Some('=') => {
                self.pos += 1;
                if self.eat(|c| c == '@') {
                    self.expect_end("'=@'")?;
                    return Ok(Keys::Singleton);
                }
                let value = self.value()?;
                self.expect_end("the key value")?;
                Ok(Keys::Bindings(vec![KeyBinding {
                    name: Name::new(""),
                    value,
                }]))
            }
            Some('.') => {
                self.pos += 1;
                let mut bindings: Vec<KeyBinding> = Vec::new();
                loop {
                    let name_pos = self.pos;
                    let name = Name::new(self.identifier("a key name")?);
                    if bindings.iter().any(|k| k.name == name) {
                        return Err(perr(name_pos, format!("key {name} appears twice")));
                    }
                    if !self.eat(|c| c == '=') {
                        return Err(perr(
                            self.pos,
                            format!("expected '=' after the key name, {}", self.describe_next()),
                        ));
                    }
                    let value = self.value()?;
                    bindings.push(KeyBinding { name, value });
                    match self.peek() {
                        None => return Ok(Keys::Bindings(bindings)),
                        Some(',') => self.pos += 1,
                        Some(c) => {
                            return Err(perr(
                                self.pos,
                                format!("expected ',' or the end after a key value, found {c:?}"),
                            ))
                        }
                    }
                }
            }
            Some(c) => Err(perr(
                self.pos,
                format!("expected '.', '=' or the end after the class name, found {c:?}"),
            )),
        }
    }

    fn value(&mut self) -> Result<Value, ParseError> {
        let start = self.pos;
        match self.peek() {
            Some(q @ ('"' | '\'')) => self.string(q),
            Some(c) if c == '-' || c.is_ascii_digit() => self.number(),
            Some(c) if c.is_ascii_alphabetic() => {
                while self.eat(|c| c.is_ascii_alphanumeric()) {}
                let word = &self.text[start..self.pos];
                if word.eq_ignore_ascii_case("true") {
                    Ok(Value::Boolean(true))
                } else if word.eq_ignore_ascii_case("false") {
                    Ok(Value::Boolean(false))
                } else {
                    Err(perr(
                        start,
                        format!("expected a key value (a quoted string, a number, TRUE or FALSE), found {word:?}"),
                    ))
                }
            }
            Some('@') => Err(perr(start, "'@' is only the singleton form `Class=@`")),
            _ => Err(perr(
                start,
                format!(
                    "expected a key value (a quoted string, a number, TRUE or FALSE), {}",
                    self.describe_next()
                ),
            )),
        }
    }

    /// A key value in double quotes (the canonical form) or in single quotes
    /// (the form Microsoft's samples use: `Win32_Share.Name='public'`); both
    /// take the same escapes, so either quote can be written inside either.
    fn string(&mut self, quote: char) -> Result<Value, ParseError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let at = self.pos;
            match self.bump() {
                None => {
                    return Err(perr(
                        at,
                        format!(
                            "expected {} to close the string opened at {start}",
                            if quote == '"' { "'\"'" } else { "\"'\"" }
                        ),
                    ))
                }
                Some(c) if c == quote => break,
                Some('\\') => match self.bump() {
                    Some(c @ ('\\' | '"' | '\'')) => out.push(c),
                    _ => {
                        return Err(perr(
                            at,
                            "unknown escape: a string escapes only \\\\, \\\" and \\'",
                        ))
                    }
                },
                Some(c) => out.push(c),
            }
        }
        // A string key may hold a path (a reference); bound how deep those nest.
        if let (Some(depth), true) = (self.depth, could_be_full_path(&out)) {
            let too_deep = if depth >= MAX_REFERENCE_DEPTH {
                parse_path(&out, None).is_ok_and(|p| !is_bare(&p))
            } else {
                matches!(parse_path(&out, Some(depth + 1)), Err(e) if e.too_deep)
            };
            if too_deep {
                return Err(ParseError {
                    pos: start,
                    message: format!("references nested more than {MAX_REFERENCE_DEPTH} deep"),
                    too_deep: true,
                });
            }
        }
        Ok(Value::String(out.into()))
    }

    fn number(&mut self) -> Result<Value, ParseError> {
        let start = self.pos;
        self.eat(|c| c == '-');
        self.digits()?;
        let mut real = false;
        if self.eat(|c| c == '.') {
            self.digits()?;
            real = true;
        }
        if self.eat(|c| c == 'e' || c == 'E') {
            self.eat(|c| c == '+' || c == '-');
            self.digits()?;
            real = true;
        }
        let text = &self.text[start..self.pos];
        if real {
            match text.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(Value::Real64(v)),
                _ => Err(perr(start, "real number out of range")),
            }
        } else if text.starts_with('-') {
            text.parse::<i64>()
                .map(Value::SInt64)
                .map_err(|_| perr(start, "integer below the sint64 range"))
        } else {
            text.parse::<u64>()
                .map(Value::UInt64)
                .map_err(|_| perr(start, "integer above the uint64 range"))
        }
    }

    fn digits(&mut self) -> Result<(), ParseError> {
        let start = self.pos;
        while self.eat(|c| c.is_ascii_digit()) {}
        if self.pos == start {
            return Err(perr(
                self.pos,
                format!("expected a digit, {}", self.describe_next()),
            ));
        }
        Ok(())
    }
}

/// The length of a leading URI scheme followed by `://` (`https://`), if any.
fn scheme_len(text: &str) -> Option<usize> {
    let colon = text.find("://")?;
    let scheme = &text[..colon];
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then_some(colon)
}

// ---------------------------------------------------------------- equality

/// What a key value is for comparison: the forms that must compare equal map
/// to the same variant.
enum Canon<'a> {
    /// Strings, datetimes, char16 and bare class paths; compared without case.
    Text(Cow<'a, str>),
    Path(Cow<'a, ObjectPath>),
    Int(i128),
    /// Bits of a real that is not an integer (all NaNs share one).
    Real(u64),
    Bool(bool),
    Array(&'a [Value]),
}

fn is_bare(p: &ObjectPath) -> bool {
    p.host.is_none() && namespace_is_empty(&p.namespace) && !p.is_instance()
}

fn path_canon(p: Cow<'_, ObjectPath>) -> Canon<'_> {
    if is_bare(&p) {
        match p {
            Cow::Borrowed(p) => Canon::Text(Cow::Borrowed(p.class.as_str())),
            Cow::Owned(p) => Canon::Text(Cow::Owned(p.class.as_str().to_owned())),
        }
    } else {
        Canon::Path(p)
    }
}

fn real_canon(v: f64) -> Canon<'static> {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e38 {
        Canon::Int(v as i128)
    } else if v.is_nan() {
        Canon::Real(f64::NAN.to_bits())
    } else {
        Canon::Real(v.to_bits())
    }
}

/// Recursion through comparisons is bounded by the values themselves: a
/// string is only ever compared as a path when it parses, and parsing bounds
/// how deep its nested paths go.
fn canon(v: &Value) -> Canon<'_> {
    match v {
        Value::String(s) if could_be_full_path(s) => match ObjectPath::parse(s) {
            Ok(p) => path_canon(Cow::Owned(p)),
            Err(_) => Canon::Text(Cow::Borrowed(s)),
        },
        Value::String(s) => Canon::Text(Cow::Borrowed(s)),
        Value::Reference(p) => path_canon(Cow::Borrowed(p)),
        Value::Char16(c) => Canon::Text(Cow::Owned(c.to_string())),
        Value::DateTime(d) => Canon::Text(Cow::Owned(d.to_string())),
        Value::Boolean(b) => Canon::Bool(*b),
        // The shortest decimal of an f32 is what its text carries, so compare
        // that (a reparsed path holds it as a real64).
        Value::Real32(r) => real_canon(format!("{r:?}").parse::<f64>().unwrap_or(f64::NAN)),
        Value::Real64(r) => real_canon(*r),
        Value::Array(items) => Canon::Array(items),
        other => Canon::Int(other.as_i128().unwrap_or_default()),
    }
}

fn lower_chars(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars().flat_map(char::to_lowercase)
}

fn value_eq(a: &Value, b: &Value) -> bool {
    if let (Value::String(x), Value::String(y)) = (a, b) {
        if x == y {
            return true;
        }
    }
    match (canon(a), canon(b)) {
        (Canon::Text(x), Canon::Text(y)) => lower_chars(&x).eq(lower_chars(&y)),
        (Canon::Path(x), Canon::Path(y)) => path_eq(&x, &y),
        (Canon::Int(x), Canon::Int(y)) => x == y,
        (Canon::Real(x), Canon::Real(y)) => x == y,
        (Canon::Bool(x), Canon::Bool(y)) => x == y,
        (Canon::Array(x), Canon::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(u, v)| value_eq(u, v))
        }
        _ => false,
    }
}

fn value_hash<H: Hasher>(v: &Value, state: &mut H) {
    match canon(v) {
        Canon::Text(s) => {
            state.write_u8(1);
            let mut run = HashRun::new(state);
            if s.is_ascii() {
                // The same bytes as below, without decoding characters.
                for b in s.bytes() {
                    run.push(b.to_ascii_lowercase());
                }
            } else {
                for c in lower_chars(&s) {
                    run.push_char(c);
                }
            }
            // Not UTF-8: ends the text unambiguously.
            run.push(0xff);
        }
        Canon::Path(p) => {
            state.write_u8(2);
            path_hash(&p, state);
        }
        Canon::Int(i) => {
            state.write_u8(3);
            state.write_i128(i);
        }
        Canon::Real(bits) => {
            state.write_u8(4);
            state.write_u64(bits);
        }
        Canon::Bool(b) => {
            state.write_u8(5);
            state.write_u8(b as u8);
        }
        Canon::Array(items) => {
            state.write_u8(6);
            state.write_usize(items.len());
            for item in items {
                value_hash(item, state);
            }
        }
    }
}

fn namespace_is_empty(ns: &Option<String>) -> bool {
    ns.as_deref().unwrap_or("").chars().all(is_sep)
}

/// The namespace as compared: lower case, `/` separators, no outer separators.
fn namespace_bytes(ns: &Option<String>) -> impl Iterator<Item = u8> + '_ {
    ns.as_deref()
        .unwrap_or("")
        .trim_matches(is_sep)
        .bytes()
        .map(|b| {
            if b == b'\\' {
                b'/'
            } else {
                b.to_ascii_lowercase()
            }
        })
}

fn host_eq(a: &Option<String>, b: &Option<String>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
        _ => false,
    }
}

/// The kinds of key lists that compare equal: an empty binding list names the class.
enum KeysKind<'a> {
    Class,
    Singleton,
    Bindings(SortedBindings<'a>),
}

/// Key bindings in name order. One binding (most classes have one key)
/// needs neither sorting nor a list.
enum SortedBindings<'a> {
    One(&'a KeyBinding),
    Many(Vec<&'a KeyBinding>),
}

impl<'a> std::ops::Deref for SortedBindings<'a> {
    type Target = [&'a KeyBinding];

    fn deref(&self) -> &[&'a KeyBinding] {
        match self {
            SortedBindings::One(b) => std::slice::from_ref(b),
            SortedBindings::Many(v) => v,
        }
    }
}

fn keys_kind(keys: &Keys) -> KeysKind<'_> {
    match keys {
        Keys::Class => KeysKind::Class,
        Keys::Singleton => KeysKind::Singleton,
        Keys::Bindings(b) => match b.as_slice() {
            [] => KeysKind::Class,
            [one] => KeysKind::Bindings(SortedBindings::One(one)),
            many => {
                let mut sorted: Vec<&KeyBinding> = many.iter().collect();
                sorted.sort_by(|x, y| x.name.cmp(&y.name));
                KeysKind::Bindings(SortedBindings::Many(sorted))
            }
        },
    }
}

fn keys_eq(a: &Keys, b: &Keys) -> bool {
    match (keys_kind(a), keys_kind(b)) {
        (KeysKind::Class, KeysKind::Class) | (KeysKind::Singleton, KeysKind::Singleton) => true,
        (KeysKind::Bindings(x), KeysKind::Bindings(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|(u, v)| u.name == v.name && value_eq(&u.value, &v.value))
        }
        _ => false,
    }
}

fn keys_hash<H: Hasher>(keys: &Keys, state: &mut H) {
    match keys_kind(keys) {
        KeysKind::Class => state.write_u8(0),
        KeysKind::Singleton => state.write_u8(1),
        KeysKind::Bindings(b) => {
            state.write_u8(2);
            state.write_usize(b.len());
            for k in b.iter() {
                k.name.hash(state);
                value_hash(&k.value, state);
            }
        }
    }
}

fn path_eq(a: &ObjectPath, b: &ObjectPath) -> bool {
    a.class == b.class
        && host_eq(&a.host, &b.host)
        && namespace_bytes(&a.namespace).eq(namespace_bytes(&b.namespace))
        && keys_eq(&a.keys, &b.keys)
}

fn path_hash<H: Hasher>(p: &ObjectPath, state: &mut H) {
    p.class.hash(state);
    let mut run = HashRun::new(state);
    match &p.host {
        None => run.push(0),
        Some(h) => {
            run.push(1);
            for b in h.bytes() {
                run.push(b.to_ascii_lowercase());
            }
            run.push(0xff);
        }
    }
    for b in namespace_bytes(&p.namespace) {
        run.push(b);
    }
    run.push(0xff);
    drop(run);
    keys_hash(&p.keys, state);
}

impl PartialEq for ObjectPath {
    fn eq(&self, other: &Self) -> bool {
        path_eq(self, other)
    }
}
impl Eq for ObjectPath {}
impl Hash for ObjectPath {
    fn hash<H: Hasher>(&self, state: &mut H) {
        path_hash(self, state);
    }
}

impl PartialEq for Keys {
    fn eq(&self, other: &Self) -> bool {
        keys_eq(self, other)
    }
}
impl Eq for Keys {}
impl Hash for Keys {
    fn hash<H: Hasher>(&self, state: &mut H) {
        keys_hash(self, state);
    }
}

impl PartialEq for KeyBinding {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && value_eq(&self.value, &other.value)
    }
}
impl Eq for KeyBinding {}
impl Hash for KeyBinding {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        value_hash(&self.value, state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wmi_and_uri_forms_are_the_same_path() {
        let a = ObjectPath::parse(r#"\\H\root\cimv2:Win32_Share.Name="public""#).unwrap();
        let b = ObjectPath::parse(r#"//h/ROOT/cimv2:win32_share.name="PUBLIC""#).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.namespace.as_deref(), Some("root/cimv2"));
        assert_eq!(
            a.to_uri_string(),
            r#"//H/root/cimv2:Win32_Share.Name="public""#
        );
    }

    #[test]
    fn single_quoted_key_values_in_paths() {
        let single = ObjectPath::parse("Win32_Share.Name='public'").unwrap();
        let double = ObjectPath::parse(r#"Win32_Share.Name="public""#).unwrap();
        assert_eq!(single, double);
        assert_eq!(single.to_string(), r#"Win32_Share.Name="public""#);

        let disk = ObjectPath::parse(r"\\.\root\cimv2:Win32_LogicalDisk.DeviceID='C:'").unwrap();
        assert_eq!(
            disk.to_string(),
            r#"\\.\root\cimv2:Win32_LogicalDisk.DeviceID="C:""#
        );
        assert_eq!(disk.key("DeviceID"), Some(&Value::from("C:")));

        // Shorthand, several keys, mixed quotes, and each quote inside the other.
        let p = ObjectPath::parse("Win32_Share='a'").unwrap();
        assert_eq!(p.to_string(), r#"Win32_Share="a""#);
        let p = ObjectPath::parse(r#"C.A='x"y',B="it's",N=3"#).unwrap();
        assert_eq!(p.key("A"), Some(&Value::from(r#"x"y"#)));
        assert_eq!(p.key("B"), Some(&Value::from("it's")));
        assert_eq!(p.to_string(), r#"C.A="x\"y",B="it's",N=3"#);
        let p = ObjectPath::parse(r#"C.A='it\'s \\ \"q\"'"#).unwrap();
        assert_eq!(p.key("A"), Some(&Value::from(r#"it's \ "q""#)));

        // A reference key written in single quotes needs no escaped '"'.
        let r = ObjectPath::parse(
            r#"Win32_ConnectionShare.Antecedent='\\\\H\\root\\cimv2:Win32_Share.Name="public"',Dependent="x""#,
        )
        .unwrap();
        let target = r.bindings()[0].as_path().unwrap();
        assert_eq!(target.host.as_deref(), Some("H"));
        assert_eq!(target.key("Name"), Some(&Value::from("public")));
        let reparsed = ObjectPath::parse(&r.to_string()).unwrap();
        assert_eq!(reparsed, r);
        assert_eq!(reparsed.to_string(), r.to_string());

        // A quote must close the string it opened.
        let e = ObjectPath::parse(r#"C.A='x""#).unwrap_err().to_string();
        assert!(e.contains(r#"expected "'" to close"#), "{e}");
        assert!(ObjectPath::parse(r#"C.A="x'"#).is_err());
    }

    #[test]
    fn strip_port_keeps_the_host() {
        assert_eq!(strip_port("h:5989"), "h");
        assert_eq!(strip_port("[::1]:5989"), "[::1]");
        assert_eq!(strip_port("h"), "h");
    }
}
