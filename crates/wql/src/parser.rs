//! The WQL parser: recursive descent over [`Lexer`] tokens.
//!
//! Grammar (keywords case-insensitive):
//! ```text
//! query      := select | associators | references
//! select     := SELECT ('*' | prop (',' prop)*) FROM ident
//!               [WITHIN seconds] [WHERE or] [WITHIN seconds]
//!               [GROUP WITHIN seconds [BY prop (',' prop)*] [HAVING or]]
//! ident      := a word that is not a keyword (see [`is_reserved_word`])
//! prop       := ident ['.' word]     (no space around '.': TargetInstance.Name)
//! seconds    := a positive integer or real
//! or         := and (OR and)*
//! and        := unary (AND unary)*
//! unary      := NOT unary | '(' or ')' | predicate
//! predicate  := ident op literal | literal op ident
//!             | ident IS [NOT] NULL | ident [NOT] LIKE string
//!             | ident ISA (string | ident)
//! associators:= ASSOCIATORS OF '{' path '}' [WHERE clause+]
//! references := REFERENCES OF '{' path '}' [WHERE clause+]
//! clause     := name '=' ident | ClassDefsOnly | KeysOnly | SchemaOnly
//! ```

use crate::ast::*;
use crate::error::{Error, ErrorKind};
use crate::lexer::{Lexer, Token, TokenKind};
use crate::like::LikePattern;
use openwmi_cim::ObjectPath;

/// Deepest nesting of parentheses and NOTs a condition may have.
pub const MAX_DEPTH: usize = 64;
/// Longest query text accepted, in bytes.
pub const MAX_QUERY_LEN: usize = 64 * 1024;

/// The keywords of Microsoft's WQL keyword table ("WQL (SQL for WMI)"),
/// `ASSOCIATORS OF` and `REFERENCES OF` as their words. None of them names a
/// class or a property: Windows reads `SELECT * FROM WHERE` as a syntax error
/// (WBEM_E_INVALID_QUERY), not as a query of a class named WHERE.
const RESERVED: &[&str] = &[
    "AND",
    "ASSOCIATORS",
    "FALSE",
    "FROM",
    "GROUP",
    "HAVING",
    "IS",
    "ISA",
    "KEYSONLY",
    "LIKE",
    "NOT",
    "NULL",
    "OF",
    "OR",
    "REFERENCES",
    "SELECT",
    "TRUE",
    "WHERE",
    "WITHIN",
];

/// Whether `word` is a WQL keyword, which cannot name a class or a property
/// (case-insensitive).
pub fn is_reserved_word(word: &str) -> bool {
    RESERVED.iter().any(|r| r.eq_ignore_ascii_case(word))
}

/// Parses one WQL statement.
pub fn parse(text: &str) -> Result<Query, Error> {
    if text.len() > MAX_QUERY_LEN {
        return Err(Error::new(
            ErrorKind::TooLong,
            Span::new(MAX_QUERY_LEN, text.len()),
            format!(
                "query is {} bytes long; at most {MAX_QUERY_LEN} are accepted",
                text.len()
            ),
        ));
    }
    let mut p = Parser {
        lexer: Lexer::new(text),
        peeked: None,
        depth: 0,
    };
    let query = p.query()?;
    let end = p.next()?;
    if end.kind != TokenKind::End {
        return Err(Error::syntax(end.span, "expected end of query"));
    }
    Ok(query)
}

/// Accepts the query language names WMI accepts: only "WQL", in any case.
pub fn check_language(lang: &str) -> Result<(), Error> {
    if lang.eq_ignore_ascii_case("WQL") {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::UnsupportedLanguage,
            Span::default(),
            format!("query language {lang:?} is not supported; only WQL is"),
        ))
    }
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    peeked: Option<Token<'a>>,
    depth: usize,
}

fn is_word(tok: &Token<'_>, kw: &str) -> bool {
    matches!(tok.kind, TokenKind::Word(w) if w.eq_ignore_ascii_case(kw))
}

impl<'a> Parser<'a> {
    fn next(&mut self) -> Result<Token<'a>, Error> {
        match self.peeked.take() {
            Some(t) => Ok(t),
            None => self.lexer.next_token(),
        }
    }

    fn peek(&mut self) -> Result<&Token<'a>, Error> {
        if self.peeked.is_none() {
            self.peeked = Some(self.lexer.next_token()?);
        }
        Ok(self.peeked.as_ref().expect("just filled"))
    }

    /// Consumes the next token if it is the keyword `kw`.
    fn eat_keyword(&mut self, kw: &str) -> Result<Option<Span>, Error> {
        let tok = self.peek()?;
        if is_word(tok, kw) {
            let span = tok.span;
            self.peeked = None;
            Ok(Some(span))
        } else {
            Ok(None)
        }
    }

    fn expect_keyword(&mut self, kw: &str, context: &str) -> Result<Span, Error> {
        match self.eat_keyword(kw)? {
            Some(span) => Ok(span),
            None => {
                let span = self.peek()?.span;
                Err(Error::syntax(span, format!("expected {kw} {context}")))
            }
        }
    }

    /// A class name: a word that is not a keyword.
    fn class_name(&mut self, what: &str) -> Result<Ident, Error> {
        let tok = self.next()?;
        match tok.kind {
            TokenKind::Word(w) if !is_reserved_word(w) => Ok(Ident::new(w, tok.span)),
            TokenKind::Word(w) => Err(Error::syntax(
                tok.span,
                format!("expected {what}, found the keyword {w}"),
            )),
            _ => Err(Error::syntax(tok.span, format!("expected {what}"))),
        }
    }

    fn query(&mut self) -> Result<Query, Error> {
        let tok = self.next()?;
        if is_word(&tok, "SELECT") {
            return self.select(tok.span).map(Query::Select);
        }
        let associators = is_word(&tok, "ASSOCIATORS");
        if associators || is_word(&tok, "REFERENCES") {
            return self.association(tok.span, associators);
        }
        Err(Error::syntax(
            tok.span,
            "expected SELECT, ASSOCIATORS OF or REFERENCES OF",
        ))
    }

    fn select(&mut self, start: Span) -> Result<Select, Error> {
        let projection = if matches!(self.peek()?.kind, TokenKind::Star) {
            self.next()?;
            Projection::All
        } else {
            let mut props = vec![self.property("a property name or * after SELECT")?];
            while matches!(self.peek()?.kind, TokenKind::Comma) {
                self.next()?;
                props.push(self.property("a property name after ','")?);
            }
            Projection::Properties(props)
        };
        self.expect_keyword("FROM", "after select list")?;
        let from = self.class_name("a class name after FROM")?;
        let mut span = start.to(from.span);
        let mut within = self.within()?;
        let condition = if self.eat_keyword("WHERE")?.is_some() {
            if matches!(self.peek()?.kind, TokenKind::End) {
                let at = self.peek()?.span;
                return Err(Error::syntax(at, "expected a condition after WHERE"));
            }
            let cond = self.or()?;
            span = span.to(cond.span);
            Some(cond)
        } else {
            None
        };
        // Windows takes WITHIN after the condition as well.
        if within.is_none() && condition.is_some() {
            within = self.within()?;
        }
        if let Some(w) = &within {
            span = span.to(w.span);
        }
        let group = match self.eat_keyword("GROUP")? {
            Some(at) => {
                let g = self.group(at)?;
                span = span.to(g.span);
                Some(g)
            }
            None => None,
        };
        Ok(Select {
            projection,
            from,
            within,
            condition,
            group,
            span,
        })
    }

    /// `WITHIN seconds`, if next.
    fn within(&mut self) -> Result<Option<Interval>, Error> {
        if self.eat_keyword("WITHIN")?.is_none() {
            return Ok(None);
        }
        self.interval("WITHIN").map(Some)
    }

    fn interval(&mut self, after: &str) -> Result<Interval, Error> {
        let tok = self.next()?;
        let value = match tok.kind {
            TokenKind::Integer(i) if i > 0 => Literal::Integer(i),
            TokenKind::Real(r) if r > 0.0 => Literal::Real(r),
            _ => {
                return Err(Error::syntax(
                    tok.span,
                    format!("expected a positive number of seconds after {after}"),
                ))
            }
        };
        Ok(Interval {
            value,
            span: tok.span,
        })
    }

    /// After GROUP: `WITHIN seconds [BY prop, ...] [HAVING condition]`.
    fn group(&mut self, start: Span) -> Result<GroupWithin, Error> {
        self.expect_keyword("WITHIN", "after GROUP")?;
        let within = self.interval("GROUP WITHIN")?;
        let mut span = start.to(within.span);
        let mut by = Vec::new();
        if self.eat_keyword("BY")?.is_some() {
            by.push(self.property("a property name after BY")?);
            while matches!(self.peek()?.kind, TokenKind::Comma) {
                self.next()?;
                by.push(self.property("a property name after ','")?);
            }
            span = span.to(by[by.len() - 1].span);
        }
        let having = if self.eat_keyword("HAVING")?.is_some() {
            let cond = self.or()?;
            span = span.to(cond.span);
            Some(cond)
        } else {
            None
        };
        Ok(GroupWithin {
            within,
            by,
            having,
            span,
        })
    }

    /// A property name: an identifier that is not a reserved word, or the
    /// member of an embedded object (`TargetInstance.Name`).
    fn property(&mut self, what: &str) -> Result<Ident, Error> {
        let ident = self.class_name(what)?;
        if self.peeked.is_some() {
            return Ok(ident);
        }
        match self.lexer.member() {
            Some((member, at)) => Ok(Ident::new(
                format!("{}.{member}", ident.name).as_str(),
                ident.span.to(at),
            )),
            None => Ok(ident),
        }
    }

    fn enter(&mut self, at: Span) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Error::new(
                ErrorKind::TooDeep,
                at,
                format!("condition nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Expr, Error> {
        let first = self.and()?;
        if self.eat_keyword("OR")?.is_none() {
            return Ok(first);
        }
        let mut terms = vec![first, self.and()?];
        while self.eat_keyword("OR")?.is_some() {
            terms.push(self.and()?);
        }
        let span = terms[0].span.to(terms[terms.len() - 1].span);
        Ok(Expr::new(ExprKind::Or(terms), span))
    }

    fn and(&mut self) -> Result<Expr, Error> {
        let first = self.unary()?;
        if self.eat_keyword("AND")?.is_none() {
            return Ok(first);
        }
        let mut terms = vec![first, self.unary()?];
        while self.eat_keyword("AND")?.is_some() {
            terms.push(self.unary()?);
        }
        let span = terms[0].span.to(terms[terms.len() - 1].span);
        Ok(Expr::new(ExprKind::And(terms), span))
    }

    fn unary(&mut self) -> Result<Expr, Error> {
        if let Some(not) = self.eat_keyword("NOT")? {
            self.enter(not)?;
            let inner = self.unary()?;
            self.depth -= 1;
            let span = not.to(inner.span);
            return Ok(Expr::new(ExprKind::Not(Box::new(inner)), span));
        }
        if matches!(self.peek()?.kind, TokenKind::LParen) {
            let open = self.next()?.span;
            self.enter(open)?;
            let mut inner = self.or()?;
            self.depth -= 1;
            let close = self.next()?;
            if close.kind != TokenKind::RParen {
                return Err(Error::syntax(close.span, "expected ')'"));
            }
            // The parenthesized text is the node's text.
            inner.span = open.to(close.span);
            return Ok(inner);
        }
        self.predicate()
    }

    fn literal(&mut self) -> Result<(Literal, Span), Error> {
        let tok = self.next()?;
        let lit = match tok.kind {
            TokenKind::String(s) => Literal::String(s),
            TokenKind::Integer(i) => Literal::Integer(i),
            TokenKind::Real(r) => Literal::Real(r),
            TokenKind::Word(w) if w.eq_ignore_ascii_case("TRUE") => Literal::Boolean(true),
            TokenKind::Word(w) if w.eq_ignore_ascii_case("FALSE") => Literal::Boolean(false),
            TokenKind::Word(w) if w.eq_ignore_ascii_case("NULL") => Literal::Null,
            _ => {
                return Err(Error::syntax(
                    tok.span,
                    "expected a constant (string, number, TRUE, FALSE or NULL)",
                ))
            }
        };
        Ok((lit, tok.span))
    }

    fn operator(&mut self, context: &str) -> Result<CompareOp, Error> {
        let tok = self.next()?;
        match tok.kind {
            TokenKind::Op(op) => Ok(op),
            _ => Err(Error::syntax(tok.span, format!("expected {context}"))),
        }
    }

    fn predicate(&mut self) -> Result<Expr, Error> {
        let starts_with_literal = match &self.peek()?.kind {
            TokenKind::String(_) | TokenKind::Integer(_) | TokenKind::Real(_) => true,
            TokenKind::Word(w) => ["TRUE", "FALSE", "NULL"]
                .iter()
                .any(|k| k.eq_ignore_ascii_case(w)),
            _ => false,
        };
        if starts_with_literal {
            let (value, value_span) = self.literal()?;
            let op = self.operator("a comparison operator after the constant")?;
            let property = self.property("a property name to compare the constant with")?;
            let span = value_span.to(property.span);
            return Ok(Expr::new(
                ExprKind::Compare {
                    property,
                    op: op.swapped(),
                    value,
                    value_span,
                },
                span,
            ));
        }
        let property = self.property("a condition")?;
        if matches!(self.peek()?.kind, TokenKind::Op(_)) {
            let op = self.operator("a comparison operator")?;
            let (value, value_span) = self.literal()?;
            let span = property.span.to(value_span);
            return Ok(Expr::new(
                ExprKind::Compare {
                    property,
                    op,
                    value,
                    value_span,
                },
                span,
            ));
        }
        if self.eat_keyword("IS")?.is_some() {
            let negated = self.eat_keyword("NOT")?.is_some();
            let null =
                self.expect_keyword("NULL", if negated { "after IS NOT" } else { "after IS" })?;
            let span = property.span.to(null);
            return Ok(Expr::new(ExprKind::IsNull { property, negated }, span));
        }
        if let Some(not) = self.eat_keyword("NOT")? {
            // `p NOT LIKE "x"` is read as `NOT p LIKE "x"`.
            self.expect_keyword("LIKE", "after NOT")?;
            let like = self.like(property)?;
            let span = like.span.to(not);
            return Ok(Expr::new(ExprKind::Not(Box::new(like)), span));
        }
        if self.eat_keyword("LIKE")?.is_some() {
            return self.like(property);
        }
        if self.eat_keyword("ISA")?.is_some() {
            let tok = self.next()?;
            let class = match tok.kind {
                TokenKind::String(s) if !s.is_empty() => Ident::new(s, tok.span),
                TokenKind::Word(w) if !is_reserved_word(w) => Ident::new(w, tok.span),
                _ => return Err(Error::syntax(tok.span, "expected a class name after ISA")),
            };
            let span = property.span.to(class.span);
            return Ok(Expr::new(ExprKind::Isa { property, class }, span));
        }
        let at = self.peek()?.span;
        Err(Error::syntax(
            at,
            "expected a comparison operator, IS, LIKE or ISA after the property name",
        ))
    }

    fn like(&mut self, property: Ident) -> Result<Expr, Error> {
        let tok = self.next()?;
        let TokenKind::String(text) = tok.kind else {
            return Err(Error::syntax(
                tok.span,
                "expected a string pattern after LIKE",
            ));
        };
        let pattern = LikePattern::new(&text).map_err(|e| {
            // The offset is within the unescaped pattern; point at the literal.
            Error::syntax(
                tok.span,
                format!("{} (pattern offset {})", e.message, e.offset),
            )
        })?;
        let span = property.span.to(tok.span);
        Ok(Expr::new(
            ExprKind::Like {
                property,
                pattern,
                pattern_span: tok.span,
            },
            span,
        ))
    }

    fn association(&mut self, start: Span, associators: bool) -> Result<Query, Error> {
        let statement = if associators {
            "ASSOCIATORS"
        } else {
            "REFERENCES"
        };
        self.expect_keyword("OF", &format!("after {statement}"))?;
        let open = self.next()?;
        if open.kind != TokenKind::LBrace {
            return Err(Error::syntax(
                open.span,
                format!("expected '{{' and an object path after {statement} OF"),
            ));
        }
        let (path_text, object_span) = self.lexer.braced_text(open.span)?;
        let object = parse_object_path(path_text.trim()).map_err(|message| {
            Error::new(
                ErrorKind::InvalidObjectPath,
                object_span,
                format!("invalid object path: {message}"),
            )
        })?;
        let mut span = start.to(Span::new(object_span.end, object_span.end + 1));
        let mut clauses = AssocClauses::default();
        if let Some(where_span) = self.eat_keyword("WHERE")? {
            span = span.to(self.assoc_clauses(&mut clauses, where_span, associators)?);
        }
        clauses.check_conflicts()?;
        let c = clauses;
        let v = |o: Option<(Ident, Span)>| o.map(|(i, _)| i);
        let f = |o: Option<Span>| o.is_some();
        Ok(if associators {
            Query::Associators(AssociatorsOf {
                object,
                object_span,
                assoc_class: v(c.assoc_class),
                result_class: v(c.result_class),
                result_role: v(c.result_role),
                role: v(c.role),
                required_qualifier: v(c.required_qualifier),
                required_assoc_qualifier: v(c.required_assoc_qualifier),
                class_defs_only: f(c.class_defs_only),
                keys_only: f(c.keys_only),
                schema_only: f(c.schema_only),
                span,
            })
        } else {
            Query::References(ReferencesOf {
                object,
                object_span,
                result_class: v(c.result_class),
                role: v(c.role),
                required_qualifier: v(c.required_qualifier),
                class_defs_only: f(c.class_defs_only),
                keys_only: f(c.keys_only),
                schema_only: f(c.schema_only),
                span,
            })
        })
    }

    /// Reads the space-separated clauses after WHERE; returns the span up to the last one.
    fn assoc_clauses(
        &mut self,
        c: &mut AssocClauses,
        where_span: Span,
        associators: bool,
    ) -> Result<Span, Error> {
        let invalid = |span, msg: String| Error::new(ErrorKind::InvalidAssocQuery, span, msg);
        let mut last = where_span;
        let mut any = false;
        loop {
            let tok = self.next()?;
            let word = match tok.kind {
                TokenKind::End => {
                    if !any {
                        return Err(invalid(tok.span, "expected a clause after WHERE".into()));
                    }
                    self.peeked = Some(tok);
                    return Ok(last);
                }
                TokenKind::Word(w) => w,
                _ => return Err(invalid(tok.span, "expected a clause name".into())),
            };
            let flag = match word.to_ascii_lowercase().as_str() {
                "classdefsonly" => Some(&mut c.class_defs_only),
                "keysonly" => Some(&mut c.keys_only),
                "schemaonly" => Some(&mut c.schema_only),
                _ => None,
            };
            if let Some(slot) = flag {
                if slot.is_some() {
                    return Err(invalid(tok.span, format!("{word} given twice")));
                }
                *slot = Some(tok.span);
                last = tok.span;
                any = true;
                continue;
            }
            let slot = match word.to_ascii_lowercase().as_str() {
                "assocclass" if associators => &mut c.assoc_class,
                "resultclass" => &mut c.result_class,
                "resultrole" if associators => &mut c.result_role,
                "role" => &mut c.role,
                "requiredqualifier" => &mut c.required_qualifier,
                "requiredassocqualifier" if associators => &mut c.required_assoc_qualifier,
                "and" | "or" => {
                    return Err(invalid(
                        tok.span,
                        "association query clauses are separated by spaces, not AND/OR".into(),
                    ))
                }
                _ => {
                    let statement = if associators {
                        "ASSOCIATORS OF"
                    } else {
                        "REFERENCES OF"
                    };
                    return Err(invalid(
                        tok.span,
                        format!("{word} is not a clause of {statement}"),
                    ));
                }
            };
            if slot.is_some() {
                return Err(invalid(tok.span, format!("{word} given twice")));
            }
            let op = self.next()?;
            if op.kind != TokenKind::Op(CompareOp::Eq) {
                return Err(invalid(op.span, format!("expected '=' after {word}")));
            }
            let value = self.next()?;
            let name = match value.kind {
                TokenKind::Word(name) if !is_reserved_word(name) => name,
                _ => {
                    return Err(invalid(
                        value.span,
                        format!("expected a name after {word} ="),
                    ))
                }
            };
            *slot = Some((Ident::new(name, value.span), tok.span));
            last = value.span;
            any = true;
        }
    }
}

/// The clauses of an association query with where each was written.
#[derive(Default)]
struct AssocClauses {
    assoc_class: Option<(Ident, Span)>,
    result_class: Option<(Ident, Span)>,
    result_role: Option<(Ident, Span)>,
    role: Option<(Ident, Span)>,
    required_qualifier: Option<(Ident, Span)>,
    required_assoc_qualifier: Option<(Ident, Span)>,
    class_defs_only: Option<Span>,
    keys_only: Option<Span>,
    schema_only: Option<Span>,
}

impl AssocClauses {
    /// Windows rejects these combinations with WBEM_E_INVALID_QUERY.
    fn check_conflicts(&self) -> Result<(), Error> {
        let later = |a: Span, b: Span| if a.start > b.start { a } else { b };
        let conflict = |a: Span, b: Span, msg: &str| {
            Err(Error::new(ErrorKind::InvalidAssocQuery, later(a, b), msg))
        };
        if let (Some(cd), Some((_, rc))) = (self.class_defs_only, &self.result_class) {
            return conflict(cd, *rc, "ClassDefsOnly cannot be combined with ResultClass");
        }
        if let (Some(cd), Some(k)) = (self.class_defs_only, self.keys_only) {
            return conflict(cd, k, "KeysOnly cannot be combined with ClassDefsOnly");
        }
        if let (Some(cd), Some(s)) = (self.class_defs_only, self.schema_only) {
            return conflict(cd, s, "SchemaOnly cannot be combined with ClassDefsOnly");
        }
        Ok(())
    }
}

/// Parses the object path of an association query.
fn parse_object_path(text: &str) -> Result<ObjectPath, String> {
    if text.is_empty() {
        return Err("empty object path".into());
    }
    ObjectPath::parse(text).map_err(|e| e.to_string())
}
