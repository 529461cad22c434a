//! The compiler: a recursive-descent parser that checks each declaration
//! against what the repository already holds and adds it there.
//!
//! Error policy: a syntax error (including a truncated file, an unreadable
//! include or a broken limit) stops the compile at once, since resynchronising
//! a MOF parser guesses badly. Semantic errors (unknown qualifier, type
//! mismatch, duplicate class, ...) are collected, the offending declaration
//! is dropped and parsing goes on, up to [`Options::max_errors`].
//! A compile is all or nothing: it works on a copy of the repository (cheap:
//! classes are shared `Arc`s) that replaces the caller's only on success.

use crate::error::{Error, ErrorKind};
use crate::lexer::{unescape_into, LexError, Lexer, Span, Tok, Token};
use crate::loader::{FsLoader, SourceLoader};
use openwmi_cim::{
    ArrayKind, CimDateTime, CimType, Class, Flavor, Instance, Keys, MethodDecl, Name, ObjectPath,
    ParameterDecl, PropertyDecl, Qualifier, QualifierDecl, Repository, Scope, TypeDecl, Value,
};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Compiler settings and limits.
#[derive(Clone, Debug)]
pub struct Options {
    /// Directories searched (after the including file's directory) by `#pragma include`.
    pub include_dirs: Vec<PathBuf>,
    /// Namespace declarations go to until a `#pragma namespace`.
    pub default_namespace: String,
    /// How deep `#pragma include` may nest (the top-level file is depth 0).
    pub max_include_depth: usize,
    /// Largest single source file, in bytes.
    pub max_file_size: u64,
    /// Largest total of all sources read by one compile, in bytes (bounds
    /// repeated includes, which are not cycles but can multiply work).
    pub max_total_size: u64,
    /// The compile stops once this many errors are collected.
    pub max_errors: usize,
    /// A namespace the compile makes (or finds empty) starts with the
    /// standard qualifier declarations ([`STANDARD_QUALIFIERS`]), and a MOF
    /// file may redeclare one of those its own way while the namespace
    /// still has the standard declaration: Windows' mofcomp requires no
    /// declaration of the standard qualifiers.
    pub standard_qualifiers: bool,
}

/// The qualifier declarations of DSP0004 (meta, standard, optional) and
/// the standard WMI qualifiers, as MOF.
pub const STANDARD_QUALIFIERS: &str = include_str!("standard_qualifiers.mof");

/// [`STANDARD_QUALIFIERS`], compiled once.
fn standard_decls() -> &'static [QualifierDecl] {
    static DECLS: std::sync::OnceLock<Vec<QualifierDecl>> = std::sync::OnceLock::new();
    DECLS.get_or_init(|| {
        let mut repo = Repository::new();
        let opts = Options {
            default_namespace: "root".to_owned(),
            ..Options::default()
        };
        // The text is part of the crate and compiles (tested); an empty
        // list would only make undeclared qualifiers errors again.
        match Compiler::with_loader(opts, Box::new(crate::MemoryLoader::new())).compile_str(
            &mut repo,
            "standard_qualifiers.mof",
            STANDARD_QUALIFIERS,
        ) {
            Ok(_) => repo
                .namespace("root")
                .map(|ns| ns.qualifier_decls().cloned().collect())
                .unwrap_or_default(),
            Err(_) => Vec::new(),
        }
    })
}

fn standard_decl(name: &Name) -> Option<&'static QualifierDecl> {
    standard_decls().iter().find(|d| d.name == *name)
}

impl Default for Options {
    fn default() -> Self {
        Options {
            include_dirs: Vec::new(),
            default_namespace: "root/cimv2".to_owned(),
            max_include_depth: 32,
            max_file_size: 16 << 20,
            max_total_size: 256 << 20,
            max_errors: 20,
            standard_qualifiers: false,
        }
    }
}

/// What one compile added to the repository.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub classes: usize,
    pub qualifiers: usize,
    pub instances: usize,
}

/// A MOF compiler. Holds its options and the loader used for include files;
/// each compile starts afresh (aliases do not carry over).
pub struct Compiler {
    options: Options,
    loader: Box<dyn SourceLoader>,
}

impl std::fmt::Debug for Compiler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compiler")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Compiler {
    /// A compiler reading includes from the file system ([`FsLoader`]).
    pub fn new(options: Options) -> Self {
        let loader = FsLoader::new(options.include_dirs.clone(), options.max_file_size);
        Compiler {
            options,
            loader: Box::new(loader),
        }
    }

    /// A compiler reading includes through `loader`.
    pub fn with_loader(options: Options, loader: Box<dyn SourceLoader>) -> Self {
        Compiler { options, loader }
    }

    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Compiles the file at `path` (read through the loader) and everything
    /// it includes. On error the repository is left as it was.
    pub fn compile_file(
        &mut self,
        repo: &mut Repository,
        path: &Path,
    ) -> Result<Summary, Vec<Error>> {
        let mut work = repo.clone();
        let mut s = Session::new(&self.options, self.loader.as_ref(), &mut work)?;
        let name = path.to_string_lossy();
        match self.loader.load(None, &name) {
            Ok((resolved, text)) => {
                let _ = s.compile_source(resolved, &text);
            }
            Err(e) => s.errors.push(Error {
                file: name.into_owned(),
                line: 0,
                column: 0,
                kind: ErrorKind::Io,
                message: format!("cannot read file: {e}"),
            }),
        }
        let summary = s.finish()?;
        *repo = work;
        Ok(summary)
    }

    /// Compiles MOF text; `name` names it in messages, and relative includes
    /// are looked up beside it. On error the repository is left as it was.
    pub fn compile_str(
        &mut self,
        repo: &mut Repository,
        name: &str,
        text: &str,
    ) -> Result<Summary, Vec<Error>> {
        let mut work = repo.clone();
        let mut s = Session::new(&self.options, self.loader.as_ref(), &mut work)?;
        let _ = s.compile_source(PathBuf::from(name), text);
        let summary = s.finish()?;
        *repo = work;
        Ok(summary)
    }
}

/// Identifiers are short and trusted to be few, so a fast non-keyed hash
/// beats SipHash here.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

/// Raised when the compile must stop; the reason is already in `errors`.
struct Stop;

type PResult<T> = Result<T, Stop>;

struct Session<'c> {
    opts: &'c Options,
    loader: &'c dyn SourceLoader,
    repo: &'c mut Repository,
    namespace: String,
    /// Qualifier declarations of the current namespace, by name.
    quals: FastMap<Name, Arc<QualifierDecl>>,
    aliases: FastMap<Name, ObjectPath>,
    /// Interned identifiers, by exact spelling.
    names: FastMap<Box<str>, Name>,
    files: Vec<String>,
    /// Files being compiled, outermost first (for cycle detection).
    stack: Vec<PathBuf>,
    total_size: u64,
    errors: Vec<Error>,
    summary: Summary,
}

impl<'c> Session<'c> {
    fn new(
        opts: &'c Options,
        loader: &'c dyn SourceLoader,
        repo: &'c mut Repository,
    ) -> Result<Self, Vec<Error>> {
        let mut s = Session {
            opts,
            loader,
            repo,
            namespace: String::new(),
            quals: FastMap::default(),
            aliases: FastMap::default(),
            names: FastMap::default(),
            files: Vec::new(),
            stack: Vec::new(),
            total_size: 0,
            errors: Vec::new(),
            summary: Summary::default(),
        };
        if let Err(e) = s.set_namespace(&opts.default_namespace) {
            return Err(vec![Error {
                file: String::new(),
                line: 0,
                column: 0,
                kind: ErrorKind::Model,
                message: format!("default namespace: {e}"),
            }]);
        }
        Ok(s)
    }

    fn finish(self) -> Result<Summary, Vec<Error>> {
        if self.errors.is_empty() {
            Ok(self.summary)
        } else {
            Err(self.errors)
        }
    }

    fn set_namespace(&mut self, name: &str) -> Result<(), openwmi_cim::Error> {
        let seed = self.opts.standard_qualifiers
            && self
                .repo
                .namespace(name)
                .is_none_or(|ns| ns.class_count() == 0 && ns.qualifier_decls().next().is_none());
        let ns = self.repo.namespace_or_create(name)?;
        if seed {
            for d in standard_decls() {
                ns.add_qualifier_decl(d.clone());
            }
        }
        self.namespace = ns.name().to_owned();
        self.quals = ns
            .qualifier_decls()
            .map(|d| (d.name.clone(), Arc::new(d.clone())))
            .collect();
        Ok(())
    }

    fn ns(&mut self) -> &mut openwmi_cim::Namespace {
        // The current namespace was created by set_namespace and namespaces
        // are never removed during a compile.
        let name = self.namespace.clone();
        match self.repo.namespace_or_create(&name) {
            Ok(ns) => ns,
            Err(_) => unreachable!("namespace {name} was validated when selected"),
        }
    }

    fn intern(&mut self, s: &str) -> Name {
        if let Some(n) = self.names.get(s) {
            return n.clone();
        }
        let n = Name::new(s);
        self.names.insert(s.into(), n.clone());
        n
    }

    fn compile_source(&mut self, path: PathBuf, text: &str) -> PResult<()> {
        let file = self.files.len() as u32;
        self.files.push(path.to_string_lossy().into_owned());
        let size = text.len() as u64;
        self.total_size = self.total_size.saturating_add(size);
        if size > self.opts.max_file_size {
            let message = format!(
                "file is {size} bytes, more than the limit of {} bytes",
                self.opts.max_file_size
            );
            return self.fatal_at_file(file, ErrorKind::Limit, message);
        }
        if self.total_size > self.opts.max_total_size {
            let message = format!(
                "the sources read add up to more than the limit of {} bytes",
                self.opts.max_total_size
            );
            return self.fatal_at_file(file, ErrorKind::Limit, message);
        }
        self.stack.push(path);
        let mut p = Parser {
            lex: Lexer::new(text, file),
            tok: Token {
                kind: Tok::Eof,
                span: Span::default(),
                end: 0,
                escaped: false,
            },
            s: self,
            scratch: String::new(),
            pieces: Vec::new(),
        };
        let r = p.advance().and_then(|()| p.file());
        self.stack.pop();
        r
    }

    fn fatal_at_file(&mut self, file: u32, kind: ErrorKind, message: String) -> PResult<()> {
        let name = self.files.get(file as usize).cloned().unwrap_or_default();
        self.errors.push(Error {
            file: name,
            line: 0,
            column: 0,
            kind,
            message,
        });
        Err(Stop)
    }
}

/// A literal value as written, before conversion to a declared type.
#[derive(Debug)]
enum Lit {
    Null,
    Bool(bool),
    Int(i128),
    Real(f64),
    Str(String),
    Char(char),
    Alias(Name),
    Array(Vec<(Lit, Span)>),
}

impl Lit {
    fn describe(&self) -> &'static str {
        match self {
            Lit::Null => "NULL",
            Lit::Bool(_) => "a boolean",
            Lit::Int(_) => "an integer",
            Lit::Real(_) => "a real number",
            Lit::Str(_) => "a string",
            Lit::Char(_) => "a char16 literal",
            Lit::Alias(_) => "an alias",
            Lit::Array(_) => "an array",
        }
    }
}

/// A qualifier as written: checked once the element it applies to is known.
struct RawQualifier {
    name: Name,
    span: Span,
    value: Option<(Lit, Span)>,
    flavors: Vec<(FlavorWord, Span)>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum FlavorWord {
    EnableOverride,
    DisableOverride,
    ToSubclass,
    Restricted,
    Translatable,
}

impl FlavorWord {
    fn parse(s: &str) -> Option<FlavorWord> {
        const ALL: [(&str, FlavorWord); 5] = [
            ("EnableOverride", FlavorWord::EnableOverride),
            ("DisableOverride", FlavorWord::DisableOverride),
            ("ToSubclass", FlavorWord::ToSubclass),
            ("Restricted", FlavorWord::Restricted),
            ("Translatable", FlavorWord::Translatable),
        ];
        ALL.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(s))
            .map(|(_, f)| *f)
    }

    fn apply(self, f: &mut Flavor) {
        match self {
            FlavorWord::EnableOverride => f.overridable = true,
            FlavorWord::DisableOverride => f.overridable = false,
            FlavorWord::ToSubclass => f.to_subclass = true,
            FlavorWord::Restricted => f.to_subclass = false,
            FlavorWord::Translatable => f.translatable = true,
        }
    }

    /// The flavor that contradicts this one, if any.
    fn opposite(self) -> Option<FlavorWord> {
        match self {
            FlavorWord::EnableOverride => Some(FlavorWord::DisableOverride),
            FlavorWord::DisableOverride => Some(FlavorWord::EnableOverride),
            FlavorWord::ToSubclass => Some(FlavorWord::Restricted),
            FlavorWord::Restricted => Some(FlavorWord::ToSubclass),
            FlavorWord::Translatable => None,
        }
    }
}

/// The element a message is about; formatted only when an error is reported.
#[derive(Clone, Copy)]
enum What<'n> {
    Class(&'n Name),
    Instance(&'n Name),
    Property(&'n Name),
    Method(&'n Name),
    Parameter(&'n Name),
    Qualifier(&'n Name),
    QualifierDefault(&'n Name),
}

impl std::fmt::Display for What<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            What::Class(n) => write!(f, "class {n}"),
            What::Instance(n) => write!(f, "instance of {n}"),
            What::Property(n) => write!(f, "property {n}"),
            What::Method(n) => write!(f, "method {n}"),
            What::Parameter(n) => write!(f, "parameter {n}"),
            What::Qualifier(n) => write!(f, "qualifier {n}"),
            What::QualifierDefault(n) => write!(f, "the default of qualifier {n}"),
        }
    }
}

fn is_kw(text: &str, kw: &str) -> bool {
    text.eq_ignore_ascii_case(kw)
}

fn data_type(text: &str) -> Option<CimType> {
    match CimType::from_keyword(text) {
        Some(CimType::Reference) | None => None,
        t => t,
    }
}

fn scope_name(scope: Scope) -> &'static str {
    Scope::NAMES
        .iter()
        .find(|(s, _)| *s == scope)
        .map_or("qualifier", |(_, n)| n)
}

fn type_text(ty: CimType, array: ArrayKind) -> String {
    match array {
        ArrayKind::Scalar => ty.as_str().to_owned(),
        ArrayKind::Variable => format!("{ty}[]"),
        ArrayKind::Fixed(n) => format!("{ty}[{n}]"),
    }
}

struct Parser<'p, 'c, 'a> {
    lex: Lexer<'a>,
    tok: Token,
    s: &'p mut Session<'c>,
    scratch: String,
    pieces: Vec<Token>,
}

impl<'a> Parser<'_, '_, 'a> {
    // ---- errors -----------------------------------------------------------

    fn make_error(&self, span: Span, kind: ErrorKind, message: String) -> Error {
        let file = self
            .s
            .files
            .get(span.file as usize)
            .cloned()
            .unwrap_or_default();
        // Spans count bytes; report the column in characters.
        let src = self.lex.src();
        let offset = span.offset as usize;
        let line_start = offset.saturating_sub(span.column.saturating_sub(1) as usize);
        let column = src
            .get(line_start..offset)
            .map_or(span.column, |s| s.chars().count() as u32 + 1);
        Error {
            file,
            line: span.line,
            column,
            kind,
            message,
        }
    }

    /// Records an error that stops the compile.
    fn fatal<T>(&mut self, span: Span, kind: ErrorKind, message: String) -> PResult<T> {
        let e = self.make_error(span, kind, message);
        self.s.errors.push(e);
        Err(Stop)
    }

    /// Records an error after which parsing goes on, unless too many have piled up.
    fn report(&mut self, span: Span, kind: ErrorKind, message: String) -> PResult<()> {
        let e = self.make_error(span, kind, message);
        self.s.errors.push(e);
        if self.s.errors.len() >= self.s.opts.max_errors.max(1) {
            let e = self.make_error(
                span,
                ErrorKind::Limit,
                format!("too many errors ({}), stopping", self.s.errors.len()),
            );
            self.s.errors.push(e);
            return Err(Stop);
        }
        Ok(())
    }

    fn lex_error(&mut self, e: LexError) -> Stop {
        let err = self.make_error(e.span, ErrorKind::Syntax, e.message);
        self.s.errors.push(err);
        Stop
    }

    fn found(&self) -> String {
        match self.tok.kind {
            Tok::Ident | Tok::Number | Tok::Alias => {
                format!("{} '{}'", self.tok.kind.describe(), self.text())
            }
            Tok::Str => "a string".to_owned(),
            k => k.describe().to_owned(),
        }
    }

    fn expected<T>(&mut self, what: &str, context: &str) -> PResult<T> {
        let message = format!("expected {what} {context}, found {}", self.found());
        self.fatal(self.tok.span, ErrorKind::Syntax, message)
    }

    // ---- tokens -----------------------------------------------------------

    fn advance(&mut self) -> PResult<()> {
        match self.lex.next_token() {
            Ok(t) => {
                self.tok = t;
                Ok(())
            }
            Err(e) => Err(self.lex_error(e)),
        }
    }

    fn text(&self) -> &'a str {
        self.lex.text(&self.tok)
    }

    fn at(&self, kind: Tok) -> bool {
        self.tok.kind == kind
    }

    fn at_kw(&self, kw: &str) -> bool {
        self.tok.kind == Tok::Ident && is_kw(self.text(), kw)
    }

    fn eat(&mut self, kind: Tok) -> PResult<bool> {
        if self.tok.kind == kind {
            self.advance()?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    fn expect(&mut self, kind: Tok, context: &str) -> PResult<Span> {
        if self.tok.kind == kind {
            let span = self.tok.span;
            self.advance()?;
            Ok(span)
        } else {
            self.expected(kind.describe(), context)
        }
    }

    fn expect_kw(&mut self, kw: &str, context: &str) -> PResult<Span> {
        if self.at_kw(kw) {
            let span = self.tok.span;
            self.advance()?;
            Ok(span)
        } else {
            self.expected(&format!("'{kw}'"), context)
        }
    }

    fn expect_ref(&mut self, class: &Name) -> PResult<()> {
        if self.at_kw("REF") {
            return self.advance();
        }
        let context = format!("after class name {class} (or an unknown data type)");
        self.expected("'REF'", &context)
    }

    fn ident(&mut self, what: &str, context: &str) -> PResult<(Name, Span)> {
        if self.tok.kind != Tok::Ident {
            return self.expected(what, context);
        }
        let span = self.tok.span;
        let name = self.s.intern(self.text());
        self.advance()?;
        Ok((name, span))
    }

    /// One or more adjacent string literals, concatenated and unescaped.
    /// The pieces are gathered first so the result is allocated once.
    fn string(&mut self) -> PResult<String> {
        let mut pieces = std::mem::take(&mut self.pieces);
        pieces.clear();
        let mut len = 0;
        while self.tok.kind == Tok::Str {
            len += (self.tok.end - self.tok.span.offset).saturating_sub(2) as usize;
            pieces.push(self.tok);
            self.advance()?;
        }
        let mut out = String::with_capacity(len);
        let src = self.lex.src();
        for t in &pieces {
            let body = src
                .get(t.span.offset as usize + 1..(t.end as usize).saturating_sub(1))
                .unwrap_or("");
            if !t.escaped {
                out.push_str(body);
            } else if let Err((at, msg)) = unescape_into(body, &mut out) {
                let span = Span {
                    offset: t.span.offset + 1 + at as u32,
                    column: t.span.column + 1 + at as u32,
                    ..t.span
                };
                return self.fatal(span, ErrorKind::Syntax, msg);
            }
        }
        self.pieces = pieces;
        Ok(out)
    }

    // ---- top level --------------------------------------------------------

    fn file(&mut self) -> PResult<()> {
        loop {
            match self.tok.kind {
                Tok::Eof => return Ok(()),
                Tok::Pragma => self.pragma()?,
                Tok::LBracket => {
                    let quals = self.qualifier_list()?;
                    self.declaration(quals)?;
                }
                Tok::Ident => self.declaration(Vec::new())?,
                _ => {
                    return self.expected(
                        "'#pragma', 'qualifier', 'class' or 'instance'",
                        "at the start of a declaration",
                    )
                }
            }
        }
    }

    fn declaration(&mut self, quals: Vec<RawQualifier>) -> PResult<()> {
        if self.at_kw("class") {
            self.advance()?;
            self.class_decl(quals)
        } else if self.at_kw("instance") {
            self.advance()?;
            self.expect_kw("of", "after 'instance'")?;
            self.instance_decl(quals)
        } else if self.at_kw("qualifier") && quals.is_empty() {
            self.advance()?;
            self.qualifier_decl()
        } else if quals.is_empty() {
            self.expected(
                "'#pragma', 'qualifier', 'class' or 'instance'",
                "at the start of a declaration",
            )
        } else {
            self.expected("'class' or 'instance'", "after a qualifier list")
        }
    }

    fn pragma(&mut self) -> PResult<()> {
        let pragma_span = self.tok.span;
        self.advance()?;
        let (name, _) = self.ident("a pragma name", "after '#pragma'")?;
        self.expect(Tok::LParen, "after the pragma name")?;
        let known = ["include", "namespace", "locale"]
            .iter()
            .any(|k| name.is(k));
        if !known {
            // Unknown pragmas (instancelocale, nonlocal, deleteclass, ...)
            // are ignored, but must be well formed.
            if !self.at(Tok::RParen) {
                loop {
                    self.value("in a pragma parameter list")?;
                    if !self.eat(Tok::Comma)? {
                        break;
                    }
                }
            }
            self.expect(Tok::RParen, "to close the pragma parameters")?;
            return Ok(());
        }
        if !self.at(Tok::Str) {
            return self.expected("a string", &format!("as the parameter of #pragma {name}"));
        }
        let arg_span = self.tok.span;
        let arg = self.string()?;
        self.expect(Tok::RParen, "to close the pragma parameter")?;
        if name.is("include") {
            self.include(&arg, arg_span)
        } else if name.is("namespace") {
            let ns = strip_wmi_host(&arg);
            if let Err(e) = self.s.set_namespace(ns) {
                return self.fatal(
                    arg_span,
                    ErrorKind::Model,
                    format!("#pragma namespace: {e}"),
                );
            }
            Ok(())
        } else {
            let _ = pragma_span;
            Ok(())
        }
    }

    fn include(&mut self, name: &str, span: Span) -> PResult<()> {
        let depth = self.s.stack.len();
        if depth > self.s.opts.max_include_depth {
            return self.fatal(
                span,
                ErrorKind::Limit,
                format!(
                    "includes nest deeper than the limit of {}",
                    self.s.opts.max_include_depth
                ),
            );
        }
        let including = self.s.stack.last().cloned();
        let (path, text) = match self.s.loader.load(including.as_deref(), name) {
            Ok(x) => x,
            Err(e) => {
                return self.fatal(span, ErrorKind::Io, format!("cannot include {name:?}: {e}"))
            }
        };
        if let Some(i) = self.s.stack.iter().position(|p| *p == path) {
            let mut chain: Vec<String> = self.s.stack[i..]
                .iter()
                .map(|p| p.display().to_string())
                .collect();
            chain.push(path.display().to_string());
            return self.fatal(
                span,
                ErrorKind::IncludeCycle,
                format!("include cycle: {}", chain.join(" -> ")),
            );
        }
        self.s.compile_source(path, &text)
    }

    // ---- qualifiers -------------------------------------------------------

    fn qualifier_list(&mut self) -> PResult<Vec<RawQualifier>> {
        self.expect(Tok::LBracket, "to open a qualifier list")?;
        let mut out = Vec::new();
        loop {
            let (name, span) = self.ident("a qualifier name", "in a qualifier list")?;
            let value = match self.tok.kind {
                Tok::LParen => {
                    self.advance()?;
                    let v = self.value("as a qualifier value")?;
                    if matches!(v.0, Lit::Array(_)) {
                        return self.fatal(
                            v.1,
                            ErrorKind::Syntax,
                            format!("expected a single value in '{name}(...)'; write arrays as '{name} {{...}}'"),
                        );
                    }
                    self.expect(Tok::RParen, "after the qualifier value")?;
                    Some(v)
                }
                Tok::LBrace => Some(self.value("as a qualifier value")?),
                _ => None,
            };
            let mut flavors = Vec::new();
            if self.eat(Tok::Colon)? {
                while self.at(Tok::Ident) {
                    match FlavorWord::parse(self.text()) {
                        Some(f) => flavors.push((f, self.tok.span)),
                        None => return self.expected("a flavor", "after ':' in a qualifier list"),
                    }
                    self.advance()?;
                }
                if flavors.is_empty() {
                    return self.expected("a flavor", "after ':' in a qualifier list");
                }
            }
            out.push(RawQualifier {
                name,
                span,
                value,
                flavors,
            });
            if self.eat(Tok::Comma)? {
                continue;
            }
            self.expect(Tok::RBracket, "or ',' in a qualifier list")?;
            return Ok(out);
        }
    }

    /// Checks written qualifiers against their declarations for an element of
    /// `scope` (`None`: instances, which no scope names). Returns `None`
    /// when any failed (the errors are reported).
    fn check_qualifiers(
        &mut self,
        raw: Vec<RawQualifier>,
        scope: Option<Scope>,
        element: What<'_>,
    ) -> PResult<Option<Vec<Qualifier>>> {
        let mut out: Vec<Qualifier> = Vec::with_capacity(raw.len());
        let mut ok = true;
        for q in raw {
            let Some(decl) = self.s.quals.get(&q.name).cloned() else {
                self.report(
                    q.span,
                    ErrorKind::UnknownQualifier,
                    format!("qualifier {} is not declared", q.name),
                )?;
                ok = false;
                continue;
            };
            if out.iter().any(|o| o.name == q.name) {
                self.report(
                    q.span,
                    ErrorKind::DuplicateQualifier,
                    format!("qualifier {} appears twice on {element}", q.name),
                )?;
                ok = false;
                continue;
            }
            if let Some(scope) = scope {
                if !decl.scope.intersects(scope) {
                    self.report(
                        q.span,
                        ErrorKind::QualifierScope,
                        format!(
                            "qualifier {} may not be used on a {} (its scope is {})",
                            q.name,
                            scope_name(scope),
                            scope_list(decl.scope)
                        ),
                    )?;
                    ok = false;
                    continue;
                }
            }
            let value = match q.value {
                None if decl.ty == CimType::Boolean && !decl.array.is_array() => {
                    Some(Value::Boolean(true))
                }
                None => {
                    self.report(
                        q.span,
                        ErrorKind::TypeMismatch,
                        format!(
                            "qualifier {} needs a value of type {}",
                            q.name,
                            type_text(decl.ty, decl.array)
                        ),
                    )?;
                    ok = false;
                    continue;
                }
                Some((lit, span)) => {
                    let what = What::Qualifier(&q.name);
                    match self.convert(lit, span, decl.ty, decl.array, what)? {
                        Some(v) => v,
                        None => {
                            ok = false;
                            continue;
                        }
                    }
                }
            };
            let mut flavor = decl.flavor;
            let mut seen: Vec<FlavorWord> = Vec::new();
            for (f, span) in q.flavors {
                if f.opposite().is_some_and(|o| seen.contains(&o)) {
                    self.report(
                        span,
                        ErrorKind::Syntax,
                        format!("contradictory flavors on qualifier {}", q.name),
                    )?;
                    ok = false;
                }
                seen.push(f);
                f.apply(&mut flavor);
            }
            out.push(Qualifier {
                name: decl.name.clone(),
                value,
                flavor,
                propagated: false,
            });
        }
        Ok(ok.then_some(out))
    }

    fn qualifier_decl(&mut self) -> PResult<()> {
        let (name, name_span) = self.ident("a qualifier name", "after 'qualifier'")?;
        self.expect(Tok::Colon, "after the qualifier name")?;
        if self.tok.kind != Tok::Ident {
            return self.expected("a data type", "in a qualifier declaration");
        }
        let Some(ty) = data_type(self.text()) else {
            return self.expected("a data type", "in a qualifier declaration");
        };
        self.advance()?;
        let array = self.array_suffix()?;
        let mut default = None;
        let mut ok = true;
        if self.eat(Tok::Equals)? {
            let (lit, span) = self.value("as the qualifier's default value")?;
            let what = What::QualifierDefault(&name);
            match self.convert(lit, span, ty, array, what)? {
                Some(v) => default = v,
                None => ok = false,
            }
        }
        self.expect(Tok::Comma, "before 'Scope' in a qualifier declaration")?;
        self.expect_kw("Scope", "in a qualifier declaration")?;
        self.expect(Tok::LParen, "after 'Scope'")?;
        let mut scope = Scope(0);
        loop {
            if self.tok.kind != Tok::Ident {
                return self.expected("a scope name", "in 'Scope(...)'");
            }
            match Scope::from_keyword(self.text()) {
                Some(s) => scope = scope.union(s),
                None => return self.expected("a scope name", "in 'Scope(...)'"),
            }
            self.advance()?;
            if !self.eat(Tok::Comma)? {
                break;
            }
        }
        self.expect(Tok::RParen, "to close 'Scope(...)'")?;
        let mut flavor = Flavor::default();
        if self.eat(Tok::Comma)? {
            self.expect_kw("Flavor", "in a qualifier declaration")?;
            self.expect(Tok::LParen, "after 'Flavor'")?;
            let mut seen: Vec<FlavorWord> = Vec::new();
            loop {
                if self.tok.kind != Tok::Ident {
                    return self.expected("a flavor", "in 'Flavor(...)'");
                }
                let Some(f) = FlavorWord::parse(self.text()) else {
                    return self.expected("a flavor", "in 'Flavor(...)'");
                };
                if f.opposite().is_some_and(|o| seen.contains(&o)) {
                    let span = self.tok.span;
                    self.report(
                        span,
                        ErrorKind::Syntax,
                        format!("contradictory flavors in the declaration of qualifier {name}"),
                    )?;
                    ok = false;
                }
                seen.push(f);
                f.apply(&mut flavor);
                self.advance()?;
                if !self.eat(Tok::Comma)? {
                    break;
                }
            }
            self.expect(Tok::RParen, "to close 'Flavor(...)'")?;
        }
        self.expect(Tok::Semi, "after a qualifier declaration")?;
        if !ok {
            return Ok(());
        }
        let decl = QualifierDecl {
            name: name.clone(),
            ty,
            array,
            default,
            scope,
            flavor,
        };
        if let Some(old) = self.s.quals.get(&name) {
            // A declaration of a standard qualifier the namespace was seeded
            // with is the file's own: it counts, and may differ.
            let standard = self.s.opts.standard_qualifiers
                && standard_decl(&name).is_some_and(|d| **old == *d);
            if **old == decl {
                if standard {
                    self.s.summary.qualifiers += 1;
                }
                return Ok(());
            }
            if !standard {
                return self.report(
                    name_span,
                    ErrorKind::DuplicateQualifier,
                    format!("qualifier {name} is already declared differently"),
                );
            }
        }
        self.s.quals.insert(name, Arc::new(decl.clone()));
        self.s.ns().add_qualifier_decl(decl);
        self.s.summary.qualifiers += 1;
        Ok(())
    }

    /// `[]`, `[N]` or nothing.
    fn array_suffix(&mut self) -> PResult<ArrayKind> {
        if !self.eat(Tok::LBracket)? {
            return Ok(ArrayKind::Scalar);
        }
        if self.eat(Tok::RBracket)? {
            return Ok(ArrayKind::Variable);
        }
        if self.tok.kind != Tok::Number {
            return self.expected("']' or an array size", "after '['");
        }
        let span = self.tok.span;
        let n = match parse_number(self.text()) {
            Ok(Num::Int(n)) if n > 0 && n <= u32::MAX as i128 => n as u32,
            _ => {
                return self.fatal(
                    span,
                    ErrorKind::Syntax,
                    format!("array size '{}' is not a positive integer", self.text()),
                )
            }
        };
        self.advance()?;
        self.expect(Tok::RBracket, "after the array size")?;
        Ok(ArrayKind::Fixed(n))
    }

    // ---- values -----------------------------------------------------------

    fn value(&mut self, context: &str) -> PResult<(Lit, Span)> {
        let span = self.tok.span;
        if self.eat(Tok::LBrace)? {
            let mut items = Vec::new();
            if !self.eat(Tok::RBrace)? {
                loop {
                    if self.at(Tok::LBrace) {
                        return self
                            .expected("a constant value", "in an array (arrays do not nest)");
                    }
                    items.push(self.scalar(context)?);
                    if self.eat(Tok::Comma)? {
                        continue;
                    }
                    self.expect(Tok::RBrace, "or ',' in an array value")?;
                    break;
                }
            }
            return Ok((Lit::Array(items), span));
        }
        self.scalar(context)
    }

    fn scalar(&mut self, context: &str) -> PResult<(Lit, Span)> {
        let span = self.tok.span;
        let lit = match self.tok.kind {
            Tok::Str => return Ok((Lit::Str(self.string()?), span)),
            Tok::Number => match parse_number(self.text()) {
                Ok(Num::Int(v)) => Lit::Int(v),
                Ok(Num::Real(v)) => Lit::Real(v),
                Err(msg) => return self.fatal(span, ErrorKind::Syntax, msg),
            },
            Tok::Char16 => {
                let t = self.tok;
                let text = self.text();
                let body = text.get(1..text.len().saturating_sub(1)).unwrap_or("");
                self.scratch.clear();
                let mut buf = std::mem::take(&mut self.scratch);
                let r = if t.escaped {
                    unescape_into(body, &mut buf)
                } else {
                    buf.push_str(body);
                    Ok(())
                };
                let mut chars = buf.chars();
                let c = match (r, chars.next(), chars.next()) {
                    (Ok(()), Some(c), None) => c,
                    _ => {
                        return self.fatal(
                            span,
                            ErrorKind::Syntax,
                            format!("char16 literal {text} must hold exactly one character"),
                        )
                    }
                };
                self.scratch = buf;
                Lit::Char(c)
            }
            Tok::Alias => {
                let name = self.s.intern(&self.text()[1..]);
                Lit::Alias(name)
            }
            Tok::Ident => {
                let t = self.text();
                if is_kw(t, "true") {
                    Lit::Bool(true)
                } else if is_kw(t, "false") {
                    Lit::Bool(false)
                } else if is_kw(t, "null") {
                    Lit::Null
                } else {
                    return self.expected("a constant value", context);
                }
            }
            _ => return self.expected("a constant value", context),
        };
        self.advance()?;
        Ok((lit, span))
    }

    /// Converts a literal to a declared type; `Ok(None)` when it does not fit
    /// (the error is reported), `Ok(Some(None))` for NULL.
    fn convert(
        &mut self,
        lit: Lit,
        span: Span,
        ty: CimType,
        array: ArrayKind,
        what: What<'_>,
    ) -> PResult<Option<Option<Value>>> {
        let r = match (lit, array) {
            (Lit::Null, _) => Ok(None),
            (Lit::Array(items), ArrayKind::Scalar) => {
                let _ = items;
                Err((
                    span,
                    format!("{what} is a scalar {ty}, but the value is an array"),
                ))
            }
            (Lit::Array(items), ArrayKind::Fixed(n)) if items.len() > n as usize => Err((
                span,
                format!(
                    "{what} holds at most {n} elements, but the value has {}",
                    items.len()
                ),
            )),
            (Lit::Array(items), _) => {
                let mut out = Vec::with_capacity(items.len());
                let mut err = None;
                for (item, item_span) in items {
                    match self.convert_scalar(item, item_span, ty, what) {
                        Ok(v) => out.push(v),
                        Err(e) => {
                            err = Some(e);
                            break;
                        }
                    }
                }
                match err {
                    Some(e) => Err(e),
                    None => Ok(Some(Value::Array(out))),
                }
            }
            (lit, ArrayKind::Scalar) => self.convert_scalar(lit, span, ty, what).map(Some),
            (lit, _) => Err((
                span,
                format!(
                    "{what} is an array of {ty}, but the value is {}; write it in braces",
                    lit.describe()
                ),
            )),
        };
        match r {
            Ok(v) => Ok(Some(v)),
            Err((span, msg)) => {
                self.report(span, ErrorKind::TypeMismatch, msg)?;
                Ok(None)
            }
        }
    }

    fn convert_scalar(
        &self,
        lit: Lit,
        span: Span,
        ty: CimType,
        what: What<'_>,
    ) -> Result<Value, (Span, String)> {
        let mismatch = |lit: &Lit| {
            Err((
                span,
                format!("{what} has type {ty}, but the value is {}", lit.describe()),
            ))
        };
        match lit {
            Lit::Bool(b) if ty == CimType::Boolean => Ok(Value::Boolean(b)),
            Lit::Int(v) if ty.is_integer() => Value::integer(ty, v).ok_or_else(|| {
                (
                    span,
                    format!("value {v} is out of range for {what} of type {ty}"),
                )
            }),
            Lit::Int(v) if ty == CimType::Real32 => Ok(Value::Real32(v as f32)),
            Lit::Int(v) if ty == CimType::Real64 => Ok(Value::Real64(v as f64)),
            Lit::Real(v) if ty == CimType::Real64 => Ok(Value::Real64(v)),
            Lit::Real(v) if ty == CimType::Real32 => {
                let f = v as f32;
                if f.is_finite() {
                    Ok(Value::Real32(f))
                } else {
                    Err((
                        span,
                        format!("value {v} is out of range for {what} of type real32"),
                    ))
                }
            }
            Lit::Str(s) if ty == CimType::String => Ok(Value::String(s.into())),
            Lit::Str(s) if ty == CimType::DateTime => match s.parse::<CimDateTime>() {
                Ok(d) => Ok(Value::DateTime(d)),
                Err(e) => Err((span, format!("{what}: {s:?} is not a CIM datetime: {e}"))),
            },
            Lit::Str(s) if ty == CimType::Reference => match ObjectPath::parse(&s) {
                Ok(p) => Ok(Value::Reference(Box::new(p))),
                Err(e) => Err((span, format!("{what}: {s:?} is not an object path: {e}"))),
            },
            Lit::Char(c) if ty == CimType::Char16 => {
                if (c as u32) <= 0xffff {
                    Ok(Value::Char16(c))
                } else {
                    Err((span, format!("{what}: {c:?} does not fit in a char16")))
                }
            }
            Lit::Alias(a) if ty == CimType::Reference => match self.s.aliases.get(&a) {
                Some(p) => Ok(Value::Reference(Box::new(p.clone()))),
                None => Err((
                    span,
                    format!("alias ${a} is not defined (aliases must be defined before use)"),
                )),
            },
            Lit::Array(_) => Err((span, format!("{what}: arrays do not nest"))),
            Lit::Null => Err((span, format!("{what}: array elements cannot be NULL"))),
            other => mismatch(&other),
        }
    }

    // ---- classes ----------------------------------------------------------

    fn class_decl(&mut self, raw_quals: Vec<RawQualifier>) -> PResult<()> {
        let (name, name_span) = self.ident("a class name", "after 'class'")?;
        let mut alias = None;
        if self.at_kw("as") {
            self.advance()?;
            if !self.at(Tok::Alias) {
                return self.expected("an alias ('$name')", "after 'as'");
            }
            alias = Some((self.s.intern(&self.text()[1..]), self.tok.span));
            self.advance()?;
        }
        let mut superclass = None;
        if self.eat(Tok::Colon)? {
            superclass = Some(self.ident("a superclass name", "after ':'")?);
        }
        self.expect(Tok::LBrace, "to open the class body")?;

        let mut ok = true;
        let exists = self.s.ns().has_class(name.as_str());
        if exists {
            self.report(
                name_span,
                ErrorKind::DuplicateClass,
                format!(
                    "class {name} is already defined in namespace {}",
                    self.s.namespace
                ),
            )?;
            ok = false;
        }
        let sup = match &superclass {
            Some((sname, sspan)) => {
                let found = self.s.ns().class(sname.as_str());
                if found.is_none() {
                    self.report(
                        *sspan,
                        ErrorKind::MissingSuperclass,
                        format!("superclass {sname} of class {name} is not defined"),
                    )?;
                    ok = false;
                }
                found
            }
            None => None,
        };
        let states = |n: &str| {
            raw_quals
                .iter()
                .any(|q| q.name.is(n) && !matches!(q.value, Some((Lit::Bool(false), _))))
        };
        let scope = if states("Association") || sup.as_ref().is_some_and(|c| c.is_association()) {
            Scope::ASSOCIATION
        } else if states("Indication") || sup.as_ref().is_some_and(|c| c.is_indication()) {
            Scope::INDICATION
        } else {
            Scope::CLASS
        };
        let element = What::Class(&name);
        let qualifiers = self.check_qualifiers(raw_quals, Some(scope), element)?;
        let mut class = Class::new(name.clone(), superclass.as_ref().map(|(n, _)| n.clone()));
        match qualifiers {
            Some(q) => class.qualifiers = q,
            None => ok = false,
        }

        while !self.eat(Tok::RBrace)? {
            ok &= self.feature(&mut class, sup.as_deref())?;
        }
        self.expect(Tok::Semi, "after the class declaration")?;
        if !ok {
            return Ok(());
        }
        let path = ObjectPath {
            host: None,
            namespace: None,
            class: name.clone(),
            keys: Keys::Class,
        };
        match self.s.ns().add_class(class) {
            Ok(_) => self.s.summary.classes += 1,
            Err(e) => {
                let kind = match e {
                    openwmi_cim::Error::DuplicateClass(_) => ErrorKind::DuplicateClass,
                    openwmi_cim::Error::MissingSuperclass { .. } => ErrorKind::MissingSuperclass,
                    _ => ErrorKind::Model,
                };
                return self.report(name_span, kind, e.to_string());
            }
        }
        if let Some((a, span)) = alias {
            self.define_alias(a, span, path)?;
        }
        Ok(())
    }

    fn report_bad_override(
        &mut self,
        what: What<'_>,
        target: &str,
        span: Span,
        class: &Name,
    ) -> PResult<()> {
        self.report(
            span,
            ErrorKind::Model,
            format!("{what} overrides {target}, which no superclass of class {class} declares"),
        )
    }

    fn define_alias(&mut self, alias: Name, span: Span, path: ObjectPath) -> PResult<()> {
        if self.s.aliases.contains_key(&alias) {
            return self.report(
                span,
                ErrorKind::Alias,
                format!("alias ${alias} is already defined"),
            );
        }
        self.s.aliases.insert(alias, path);
        Ok(())
    }

    /// Whether a reference's target class is known (or is the class being declared).
    fn check_ref_class(&mut self, class: &Class, ref_class: &Name, span: Span) -> PResult<bool> {
        if *ref_class == class.name || self.s.ns().has_class(ref_class.as_str()) {
            return Ok(true);
        }
        self.report(
            span,
            ErrorKind::UnknownClass,
            format!("class {ref_class}, named by a reference, is not defined"),
        )?;
        Ok(false)
    }

    /// One property or method; returns false when it had (reported) errors.
    fn feature(&mut self, class: &mut Class, sup: Option<&Class>) -> PResult<bool> {
        let raw = if self.at(Tok::LBracket) {
            self.qualifier_list()?
        } else {
            Vec::new()
        };
        if self.tok.kind != Tok::Ident {
            return self.expected(
                "a property or method declaration",
                &format!("in the body of class {}", class.name),
            );
        }
        let mut ok = true;
        let type_span = self.tok.span;
        let ty = match data_type(self.text()) {
            Some(t) => {
                self.advance()?;
                TypeDecl::scalar(t)
            }
            None => {
                let (ref_class, _) = self.ident("a data type", "")?;
                self.expect_ref(&ref_class)?;
                ok &= self.check_ref_class(class, &ref_class, type_span)?;
                TypeDecl::reference(ref_class)
            }
        };
        let (name, name_span) = self.ident("a property or method name", "after its type")?;
        if self.at(Tok::LParen) {
            let method_ok = self.method(class, sup, raw, ty, name, name_span)?;
            return Ok(ok && method_ok);
        }
        let array = self.array_suffix()?;
        let is_ref = ty.base == CimType::Reference;
        if is_ref && array.is_array() {
            self.report(
                name_span,
                ErrorKind::Model,
                format!("reference property {name} cannot be an array"),
            )?;
            ok = false;
        }
        let ty = TypeDecl { array, ..ty };
        let mut default = None;
        if self.eat(Tok::Equals)? {
            let (lit, span) = self.value("as the property's default value")?;
            let what = What::Property(&name);
            match self.convert(lit, span, ty.base, ty.array, what)? {
                Some(v) => default = v,
                None => ok = false,
            }
        }
        self.expect(Tok::Semi, "after property declaration")?;
        let scope = if is_ref {
            Scope::REFERENCE
        } else {
            Scope::PROPERTY
        };
        let quals = self.check_qualifiers(raw, Some(scope), What::Property(&name))?;
        let Some(quals) = quals else {
            return Ok(false);
        };
        if let Some(target) = override_target(&quals) {
            if sup.and_then(|s| s.property(target)).is_none() {
                self.report_bad_override(What::Property(&name), target, name_span, &class.name)?;
                ok = false;
            }
        }
        let mut prop = PropertyDecl::new(name, ty);
        prop.default = default;
        prop.qualifiers = quals;
        class.properties.push(prop);
        Ok(ok)
    }

    fn method(
        &mut self,
        class: &mut Class,
        sup: Option<&Class>,
        raw: Vec<RawQualifier>,
        ret: TypeDecl,
        name: Name,
        name_span: Span,
    ) -> PResult<bool> {
        let mut ok = true;
        self.expect(Tok::LParen, "after the method name")?;
        let mut parameters = Vec::new();
        if !self.eat(Tok::RParen)? {
            loop {
                let praw = if self.at(Tok::LBracket) {
                    self.qualifier_list()?
                } else {
                    Vec::new()
                };
                if self.tok.kind != Tok::Ident {
                    return self.expected("a parameter type", &format!("in method {name}"));
                }
                let type_span = self.tok.span;
                let ty = match data_type(self.text()) {
                    Some(t) => {
                        self.advance()?;
                        TypeDecl::scalar(t)
                    }
                    None => {
                        let (ref_class, _) = self.ident("a data type", "")?;
                        self.expect_ref(&ref_class)?;
                        ok &= self.check_ref_class(class, &ref_class, type_span)?;
                        TypeDecl::reference(ref_class)
                    }
                };
                let (pname, pspan) = self.ident("a parameter name", "after its type")?;
                let array = self.array_suffix()?;
                if self.at(Tok::Equals) {
                    let span = self.tok.span;
                    self.report(
                        span,
                        ErrorKind::Syntax,
                        format!(
                            "parameter {pname}: default values of parameters are not supported"
                        ),
                    )?;
                    self.advance()?;
                    self.value("as a parameter default")?;
                    ok = false;
                }
                let scope = Some(Scope::PARAMETER);
                match self.check_qualifiers(praw, scope, What::Parameter(&pname))? {
                    Some(qualifiers) => {
                        if parameters.iter().any(|p: &ParameterDecl| p.name == pname) {
                            self.report(
                                pspan,
                                ErrorKind::Model,
                                format!("method {name} declares parameter {pname} twice"),
                            )?;
                            ok = false;
                        }
                        parameters.push(ParameterDecl {
                            name: pname,
                            ty: TypeDecl { array, ..ty },
                            qualifiers,
                        });
                    }
                    None => ok = false,
                }
                if self.eat(Tok::Comma)? {
                    continue;
                }
                self.expect(Tok::RParen, "or ',' in the parameter list")?;
                break;
            }
        }
        self.expect(Tok::Semi, "after method declaration")?;
        let Some(qualifiers) =
            self.check_qualifiers(raw, Some(Scope::METHOD), What::Method(&name))?
        else {
            return Ok(false);
        };
        if let Some(target) = override_target(&qualifiers) {
            if sup.and_then(|s| s.method(target)).is_none() {
                self.report_bad_override(What::Method(&name), target, name_span, &class.name)?;
                ok = false;
            }
        }
        class.methods.push(MethodDecl {
            name,
            return_type: ret.base,
            parameters,
            qualifiers,
            class_origin: Name::new(""),
            propagated: false,
        });
        Ok(ok)
    }

    // ---- instances --------------------------------------------------------

    fn instance_decl(&mut self, raw_quals: Vec<RawQualifier>) -> PResult<()> {
        let (class_name, class_span) = self.ident("a class name", "after 'instance of'")?;
        let mut alias = None;
        if self.at_kw("as") {
            self.advance()?;
            if !self.at(Tok::Alias) {
                return self.expected("an alias ('$name')", "after 'as'");
            }
            alias = Some((self.s.intern(&self.text()[1..]), self.tok.span));
            self.advance()?;
        }
        self.expect(Tok::LBrace, "to open the instance body")?;
        let class = self.s.ns().class(class_name.as_str());
        let mut ok = true;
        if class.is_none() {
            self.report(
                class_span,
                ErrorKind::UnknownClass,
                format!("class {class_name} is not defined"),
            )?;
            ok = false;
        }
        ok &= self
            .check_qualifiers(raw_quals, None, What::Instance(&class_name))?
            .is_some();
        let mut inst = class.as_deref().map(Instance::of_class);
        let mut set: Vec<Name> = Vec::new();
        while !self.eat(Tok::RBrace)? {
            let raw = if self.at(Tok::LBracket) {
                self.qualifier_list()?
            } else {
                Vec::new()
            };
            let (pname, pspan) = self.ident("a property name", "in an instance body")?;
            self.expect(Tok::Equals, "after the property name in an instance")?;
            let (lit, vspan) = self.value("as a property value")?;
            self.expect(Tok::Semi, "after property value")?;
            ok &= self
                .check_qualifiers(raw, None, What::Property(&pname))?
                .is_some();
            let Some(class) = class.as_deref() else {
                continue;
            };
            let Some(prop) = class.property(pname.as_str()) else {
                self.report(
                    pspan,
                    ErrorKind::UnknownProperty,
                    format!("class {} has no property {pname}", class.name),
                )?;
                ok = false;
                continue;
            };
            if set.contains(&pname) {
                self.report(
                    pspan,
                    ErrorKind::Model,
                    format!("property {pname} is set twice"),
                )?;
                ok = false;
                continue;
            }
            set.push(pname.clone());
            let what = What::Property(&pname);
            let ty = prop.ty.clone();
            match self.convert(lit, vspan, ty.base, ty.array, what)? {
                Some(v) => {
                    if let Some(i) = inst.as_mut() {
                        let _ = i.set(pname.as_str(), v);
                    }
                }
                None => ok = false,
            }
        }
        self.expect(Tok::Semi, "after the instance declaration")?;
        let (Some(class), Some(inst), true) = (class, inst, ok) else {
            return Ok(());
        };
        for key in class.key_properties() {
            if inst.value(key.name.as_str()).is_none() {
                return self.report(
                    class_span,
                    ErrorKind::Model,
                    format!(
                        "instance of {} does not set key property {}",
                        class.name, key.name
                    ),
                );
            }
        }
        let path = inst.path(&class);
        if let Err(e) = self.s.ns().add_instance(inst) {
            return self.report(class_span, ErrorKind::Model, e.to_string());
        }
        self.s.summary.instances += 1;
        if let Some((a, span)) = alias {
            self.define_alias(a, span, path)?;
        }
        Ok(())
    }
}

/// The member named by an `Override("Name")` qualifier (`Class.Name` allowed).
fn override_target(quals: &[Qualifier]) -> Option<&str> {
    let q = quals.iter().find(|q| q.name.is("Override"))?;
    let target = q.value.as_ref()?.as_str()?;
    Some(target.rsplit('.').next().unwrap_or(target))
}

fn scope_list(scope: Scope) -> String {
    if scope == Scope::ANY {
        return "any".to_owned();
    }
    let names: Vec<&str> = Scope::NAMES
        .iter()
        .filter(|(s, _)| scope.contains(*s))
        .map(|(_, n)| *n)
        .collect();
    names.join(", ")
}

/// `\\.\root\cimv2` (WMI spelling with a host) names namespace `root\cimv2`.
fn strip_wmi_host(ns: &str) -> &str {
    if let Some(rest) = ns.strip_prefix("\\\\").or_else(|| ns.strip_prefix("//")) {
        if let Some(i) = rest.find(['\\', '/']) {
            return &rest[i + 1..];
        }
    }
    ns
}

pub(crate) enum Num {
    Int(i128),
    Real(f64),
}

/// Classifies and converts a number token (DSP0004 A.17): decimal, `0x` hex,
/// `0`-prefixed octal, `b`-suffixed binary, and reals (`[digits].digits[e[+-]digits]`).
pub(crate) fn parse_number(text: &str) -> Result<Num, String> {
    let bad = || format!("'{text}' is not a valid number");
    let (neg, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let b = body.as_bytes();
    if body.is_empty() {
        return Err(bad());
    }
    if body.contains('.') {
        // Real: *digit "." 1*digit [exp]
        let (mant, exp) = match body.find(['e', 'E']) {
            Some(i) => (&body[..i], Some(&body[i + 1..])),
            None => (body, None),
        };
        let dot = mant.find('.').ok_or_else(bad)?;
        let (int_part, frac) = (&mant[..dot], &mant[dot + 1..]);
        let digits = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
        if !digits(int_part) || frac.is_empty() || !digits(frac) {
            return Err(bad());
        }
        if let Some(e) = exp {
            let e = e.strip_prefix(['+', '-']).unwrap_or(e);
            if e.is_empty() || !digits(e) {
                return Err(bad());
            }
        }
        let v: f64 = text.parse().map_err(|_| bad())?;
        if !v.is_finite() {
            return Err(format!("'{text}' is too large for a real number"));
        }
        return Ok(Num::Real(v));
    }
    let (digits, radix) = if b.len() > 2 && b[0] == b'0' && (b[1] == b'x' || b[1] == b'X') {
        (&body[2..], 16)
    } else if b.len() > 1 && (b[b.len() - 1] == b'b' || b[b.len() - 1] == b'B') {
        (&body[..body.len() - 1], 2)
    } else if b.len() > 1 && b[0] == b'0' {
        (&body[1..], 8)
    } else {
        (body, 10)
    };
    if digits.is_empty() || !digits.bytes().all(|c| (c as char).is_digit(radix)) {
        return Err(bad());
    }
    let mag = u128::from_str_radix(digits, radix).map_err(|_| bad())?;
    let mag = i128::try_from(mag).map_err(|_| format!("'{text}' is too large"))?;
    Ok(Num::Int(if neg { -mag } else { mag }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(s: &str) -> Option<i128> {
        match parse_number(s) {
            Ok(Num::Int(v)) => Some(v),
            _ => None,
        }
    }

    #[test]
    fn numbers() {
        assert_eq!(int("0"), Some(0));
        assert_eq!(int("-42"), Some(-42));
        assert_eq!(int("0x1F"), Some(31));
        assert_eq!(int("017"), Some(15));
        assert_eq!(int("101b"), Some(5));
        assert_eq!(int("-101B"), Some(-5));
        assert_eq!(int("018"), None);
        assert_eq!(int("0x"), None);
        assert_eq!(int("12a"), None);
        assert_eq!(int("102b"), None);
        assert!(matches!(parse_number("1.5e-3"), Ok(Num::Real(v)) if v == 1.5e-3));
        assert!(matches!(parse_number(".5"), Ok(Num::Real(v)) if v == 0.5));
        assert!(parse_number("1.").is_err());
        assert!(parse_number("1.5e").is_err());
        assert!(parse_number("1e5").is_err());
        assert!(parse_number("1.0e400").is_err());
        assert!(parse_number(&"9".repeat(60)).is_err());
    }

    #[test]
    fn wmi_namespace_host_is_dropped() {
        assert_eq!(strip_wmi_host("\\\\.\\root\\cimv2"), "root\\cimv2");
        assert_eq!(strip_wmi_host("root/x"), "root/x");
    }
}
