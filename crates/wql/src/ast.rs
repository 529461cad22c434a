//! The WQL syntax tree and its canonical printing.
//!
//! Every node carries the byte range of the text it was parsed from. Spans
//! never take part in equality: two trees are equal when they say the same
//! thing, so `parse(print(q)) == q` holds although the spans differ.

use crate::like::LikePattern;
use openwmi_cim::{Name, ObjectPath};
use std::fmt;

/// A byte range `start..end` of the query text. Equal to every other span
/// (see the module documentation); compare `start`/`end` to compare positions.
#[derive(Clone, Copy, Debug, Default, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }
    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

impl PartialEq for Span {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// A class, property or qualifier name as written in the query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ident {
    pub name: Name,
    pub span: Span,
}

impl Ident {
    pub fn new(name: impl Into<Name>, span: Span) -> Self {
        Ident {
            name: name.into(),
            span,
        }
    }
    /// Case-insensitive comparison with a plain string.
    pub fn is(&self, s: &str) -> bool {
        self.name.is(s)
    }
    /// `TargetInstance.Name` as `("TargetInstance", "Name")`: a property of
    /// an embedded object. `None` for a plain name.
    pub fn member(&self) -> Option<(&str, &str)> {
        self.name.as_str().split_once('.')
    }
}

impl fmt::Display for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.name, f)
    }
}

/// A parsed WQL statement.
#[derive(Clone, Debug, PartialEq)]
pub enum Query {
    Select(Select),
    Associators(AssociatorsOf),
    References(ReferencesOf),
}

impl Query {
    pub fn span(&self) -> Span {
        match self {
            Query::Select(s) => s.span,
            Query::Associators(a) => a.span,
            Query::References(r) => r.span,
        }
    }
}

/// What a SELECT returns.
#[derive(Clone, Debug, PartialEq)]
pub enum Projection {
    /// `SELECT *`
    All,
    /// `SELECT p1, p2`, in the order written.
    Properties(Vec<Ident>),
}

/// `SELECT projection FROM class [WITHIN n] [WHERE condition] [GROUP WITHIN
/// n [BY ...] [HAVING ...]]`. WITHIN and GROUP make it an event query.
#[derive(Clone, Debug, PartialEq)]
pub struct Select {
    pub projection: Projection,
    pub from: Ident,
    /// `WITHIN n`: the polling interval of an event query.
    pub within: Option<Interval>,
    pub condition: Option<Expr>,
    /// `GROUP WITHIN n ...`: the events of n seconds become one aggregate event.
    pub group: Option<GroupWithin>,
    pub span: Span,
}

/// A number of seconds (`WITHIN 10`, `WITHIN 0.5`), always positive and
/// finite; kept as written so that it prints back the same.
#[derive(Clone, Debug, PartialEq)]
pub struct Interval {
    /// `Literal::Integer` or `Literal::Real`.
    pub value: Literal,
    pub span: Span,
}

impl Interval {
    pub fn seconds(&self) -> f64 {
        match self.value {
            Literal::Integer(i) => i as f64,
            Literal::Real(r) => r,
            _ => 0.0,
        }
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

/// `GROUP WITHIN n [BY p, ...] [HAVING condition]`: aggregate events
/// (`__AggregateEvent`), one per group of properties and window.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupWithin {
    pub within: Interval,
    /// The properties (usually `TargetInstance.X`) events are grouped by.
    pub by: Vec<Ident>,
    /// A condition on the aggregate event (`NumberOfEvents > 2`).
    pub having: Option<Expr>,
    pub span: Span,
}

impl fmt::Display for GroupWithin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GROUP WITHIN {}", self.within)?;
        for (i, p) in self.by.iter().enumerate() {
            f.write_str(if i == 0 { " BY " } else { ", " })?;
            write!(f, "{p}")?;
        }
        if let Some(h) = &self.having {
            write!(f, " HAVING {h}")?;
        }
        Ok(())
    }
}

impl Select {
    /// True for a schema query, `SELECT * FROM meta_class ...`, which returns
    /// class definitions rather than instances.
    pub fn is_schema_query(&self) -> bool {
        self.from.is("meta_class")
    }

    /// True for an event query: one with `WITHIN` or `GROUP WITHIN`.
    pub fn is_event_query(&self) -> bool {
        self.within.is_some() || self.group.is_some()
    }

    /// Checks that every property the select list and the condition name
    /// exists in `class` (system properties such as `__CLASS`, `__PATH` and
    /// `__this` always do), as WMI rejects such a query with
    /// WBEM_E_INVALID_QUERY. The error points at the first unknown name.
    /// Then checks that constants compared with datetime properties are
    /// dates ([`crate::eval::check_constants`]).
    pub fn check_properties(&self, class: &openwmi_cim::Class) -> Result<(), crate::Error> {
        let known = |i: &Ident| {
            i.name.as_str().starts_with("__") || class.property(i.name.as_str()).is_some()
        };
        if let Projection::Properties(props) = &self.projection {
            if let Some(bad) = props.iter().find(|p| !known(p)) {
                return Err(unknown_property(bad, class));
            }
        }
        let mut first_bad = None;
        if let Some(cond) = &self.condition {
            cond.visit_properties(&mut |p| {
                if first_bad.is_none() && !known(p) {
                    first_bad = Some(p.clone());
                }
            });
        }
        match (first_bad, &self.condition) {
            (Some(bad), _) => Err(unknown_property(&bad, class)),
            (None, Some(cond)) => crate::eval::check_constants(cond, class),
            (None, None) => Ok(()),
        }
    }
}

fn unknown_property(p: &Ident, class: &openwmi_cim::Class) -> crate::Error {
    crate::Error::new(
        crate::ErrorKind::UnknownProperty,
        p.span,
        format!("class {} has no property {}", class.name, p.name),
    )
}

/// `ASSOCIATORS OF {path} [WHERE ...]`: the objects associated with `object`.
#[derive(Clone, Debug, PartialEq)]
pub struct AssociatorsOf {
    pub object: ObjectPath,
    /// Where the path text inside the braces is.
    pub object_span: Span,
    pub assoc_class: Option<Ident>,
    pub result_class: Option<Ident>,
    pub result_role: Option<Ident>,
    pub role: Option<Ident>,
    pub required_qualifier: Option<Ident>,
    pub required_assoc_qualifier: Option<Ident>,
    pub class_defs_only: bool,
    pub keys_only: bool,
    pub schema_only: bool,
    pub span: Span,
}

/// `REFERENCES OF {path} [WHERE ...]`: the association objects that refer to `object`.
#[derive(Clone, Debug, PartialEq)]
pub struct ReferencesOf {
    pub object: ObjectPath,
    pub object_span: Span,
    pub result_class: Option<Ident>,
    pub role: Option<Ident>,
    pub required_qualifier: Option<Ident>,
    pub class_defs_only: bool,
    pub keys_only: bool,
    pub schema_only: bool,
    pub span: Span,
}

/// A comparison operator. `!=` is read as `<>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CompareOp {
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::Ne => "<>",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
        }
    }
    /// The operator that gives the same result with its operands swapped
    /// (`3 > X` is `X < 3`).
    pub fn swapped(self) -> CompareOp {
        match self {
            CompareOp::Eq => CompareOp::Eq,
            CompareOp::Ne => CompareOp::Ne,
            CompareOp::Lt => CompareOp::Gt,
            CompareOp::Le => CompareOp::Ge,
            CompareOp::Gt => CompareOp::Lt,
            CompareOp::Ge => CompareOp::Le,
        }
    }
    /// Whether an ordering of `property` against `literal` satisfies the operator.
    pub fn holds(self, ord: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            CompareOp::Eq => ord == Equal,
            CompareOp::Ne => ord != Equal,
            CompareOp::Lt => ord == Less,
            CompareOp::Le => ord != Greater,
            CompareOp::Gt => ord == Greater,
            CompareOp::Ge => ord != Less,
        }
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A constant in a condition.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    Null,
    Boolean(bool),
    /// Decimal or hex (`0x1F`); always within `i64::MIN..=u64::MAX`.
    Integer(i128),
    /// Always finite.
    Real(f64),
    String(String),
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Null => f.write_str("NULL"),
            Literal::Boolean(true) => f.write_str("TRUE"),
            Literal::Boolean(false) => f.write_str("FALSE"),
            Literal::Integer(i) => write!(f, "{i}"),
            // Debug prints the shortest text that reads back as the same f64,
            // always with a '.' or an exponent.
            Literal::Real(r) => write!(f, "{r:?}"),
            Literal::String(s) => write_string(f, s),
        }
    }
}

/// Writes `s` double-quoted with the escapes the tokenizer reads back.
pub(crate) fn write_string(f: &mut impl fmt::Write, s: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if c.is_control() => write!(f, "\\x{:04X}", c as u32)?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

/// A condition with the span of its text.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

/// The kinds of condition.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// Two or more terms; `a AND b AND c` is one node.
    And(Vec<Expr>),
    /// Two or more terms; `a OR b OR c` is one node.
    Or(Vec<Expr>),
    Not(Box<Expr>),
    /// `property op literal`. A literal written on the left is moved to the
    /// right with the operator swapped (`3 > X` is kept as `X < 3`).
    Compare {
        property: Ident,
        op: CompareOp,
        value: Literal,
        value_span: Span,
    },
    /// `property IS NULL`, or with `negated`, `property IS NOT NULL`.
    IsNull {
        property: Ident,
        negated: bool,
    },
    /// `property LIKE "pattern"`.
    Like {
        property: Ident,
        pattern: LikePattern,
        pattern_span: Span,
    },
    /// `property ISA "Class"` (`__this ISA "Class"` for the object itself).
    Isa {
        property: Ident,
        class: Ident,
    },
}

impl Expr {
    pub fn new(kind: ExprKind, span: Span) -> Self {
        Expr { kind, span }
    }

    /// Calls `f` with every property the condition names, in text order.
    pub fn visit_properties(&self, f: &mut dyn FnMut(&Ident)) {
        match &self.kind {
            ExprKind::And(ts) | ExprKind::Or(ts) => ts.iter().for_each(|t| t.visit_properties(f)),
            ExprKind::Not(t) => t.visit_properties(f),
            ExprKind::Compare { property, .. }
            | ExprKind::IsNull { property, .. }
            | ExprKind::Like { property, .. }
            | ExprKind::Isa { property, .. } => f(property),
        }
    }

    /// Binding strength for printing with minimal parentheses.
    fn precedence(&self) -> u8 {
        match &self.kind {
            ExprKind::Or(_) => 1,
            ExprKind::And(_) => 2,
            ExprKind::Not(_) => 3,
            _ => 4,
        }
    }

    fn write_child(&self, f: &mut fmt::Formatter<'_>, min: u8) -> fmt::Result {
        if self.precedence() < min {
            write!(f, "({self})")
        } else {
            write!(f, "{self}")
        }
    }
}

/// Canonical text: keywords upper case, strings double-quoted, parentheses
/// only where needed. A nested AND inside an AND (or OR inside OR) keeps its
/// parentheses so that it reads back as the same tree.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ExprKind::And(terms) | ExprKind::Or(terms) => {
                let (sep, min) = match &self.kind {
                    ExprKind::And(_) => (" AND ", 3),
                    _ => (" OR ", 2),
                };
                for (i, t) in terms.iter().enumerate() {
                    if i > 0 {
                        f.write_str(sep)?;
                    }
                    t.write_child(f, min)?;
                }
                Ok(())
            }
            ExprKind::Not(e) => {
                f.write_str("NOT ")?;
                e.write_child(f, 3)
            }
            ExprKind::Compare {
                property,
                op,
                value,
                ..
            } => write!(f, "{property} {op} {value}"),
            ExprKind::IsNull { property, negated } => {
                if *negated {
                    write!(f, "{property} IS NOT NULL")
                } else {
                    write!(f, "{property} IS NULL")
                }
            }
            ExprKind::Like {
                property, pattern, ..
            } => {
                write!(f, "{property} LIKE ")?;
                write_string(f, pattern.as_str())
            }
            ExprKind::Isa { property, class } => {
                write!(f, "{property} ISA ")?;
                write_string(f, class.name.as_str())
            }
        }
    }
}

impl fmt::Display for Select {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SELECT ")?;
        match &self.projection {
            Projection::All => f.write_str("*")?,
            Projection::Properties(props) => {
                for (i, p) in props.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{p}")?;
                }
            }
        }
        write!(f, " FROM {}", self.from)?;
        if let Some(w) = &self.within {
            write!(f, " WITHIN {w}")?;
        }
        if let Some(c) = &self.condition {
            write!(f, " WHERE {c}")?;
        }
        if let Some(g) = &self.group {
            write!(f, " {g}")?;
        }
        Ok(())
    }
}

/// Writes the WHERE part of an association query: `name = value` clauses and
/// flags, space-separated, in the order Microsoft documents them.
fn write_assoc_where(
    f: &mut fmt::Formatter<'_>,
    clauses: &[(&str, &Option<Ident>)],
    flags: &[(&str, bool)],
) -> fmt::Result {
    let mut first = true;
    let mut sep = |f: &mut fmt::Formatter<'_>| {
        let s = if first { " WHERE " } else { " " };
        first = false;
        f.write_str(s)
    };
    for (name, value) in clauses {
        if let Some(v) = value {
            sep(f)?;
            write!(f, "{name} = {v}")?;
        }
    }
    for (name, set) in flags {
        if *set {
            sep(f)?;
            f.write_str(name)?;
        }
    }
    Ok(())
}

impl fmt::Display for AssociatorsOf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ASSOCIATORS OF {{{}}}", self.object)?;
        write_assoc_where(
            f,
            &[
                ("AssocClass", &self.assoc_class),
                ("ResultClass", &self.result_class),
                ("ResultRole", &self.result_role),
                ("Role", &self.role),
                ("RequiredQualifier", &self.required_qualifier),
                ("RequiredAssocQualifier", &self.required_assoc_qualifier),
            ],
            &[
                ("ClassDefsOnly", self.class_defs_only),
                ("KeysOnly", self.keys_only),
                ("SchemaOnly", self.schema_only),
            ],
        )
    }
}

impl fmt::Display for ReferencesOf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "REFERENCES OF {{{}}}", self.object)?;
        write_assoc_where(
            f,
            &[
                ("ResultClass", &self.result_class),
                ("Role", &self.role),
                ("RequiredQualifier", &self.required_qualifier),
            ],
            &[
                ("ClassDefsOnly", self.class_defs_only),
                ("KeysOnly", self.keys_only),
                ("SchemaOnly", self.schema_only),
            ],
        )
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Query::Select(s) => s.fmt(f),
            Query::Associators(a) => a.fmt(f),
            Query::References(r) => r.fmt(f),
        }
    }
}
