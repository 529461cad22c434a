//! Evaluating WQL conditions against instances.
//!
//! Semantics (WMI's, where it has any):
//! - Strings compare case-insensitively; integers and reals numerically
//!   (a uint64 against a negative constant compares correctly); datetimes by
//!   [`CimDateTime::compare`] after parsing the string constant; references as
//!   object paths (only `=` and `<>`); booleans with FALSE < TRUE.
//! - A datetime is compared with a DMTF datetime or a date in one of the
//!   formats Windows' WQL documents ([`parse_date`]). A constant that is no
//!   date, compared with a property the class declares datetime, makes the
//!   query invalid ([`check_constants`]), as on Windows.
//! - A constant of another type is converted to the property's type first
//!   (`Size = "3"` is `Size = 3`; `Name = 3` is `Name = "3"`). A constant that
//!   does not convert (`Size = "x"`) makes the comparison false, for every
//!   operator including `<>`.
//! - NULL: every comparison with a NULL property or the NULL constant is
//!   false; `IS NULL` is true. Logic is two-valued: `NOT` simply negates, so
//!   `NOT (P = 1)` is true when P is NULL (SQL would say unknown).
//! - Arrays: WMI does not support array properties in WHERE; every
//!   comparison and LIKE on an array is false.
//! - `__CLASS` is the instance's class name; `__this ISA "C"` is true when
//!   the instance's class is C or derives from it; `Ref ISA "C"` asks the same
//!   of the class in the path a reference property holds.
//! - A property the instance does not have is NULL.

use crate::ast::{CompareOp, Expr, ExprKind, Ident, Literal};
use crate::date::parse_date;
use crate::error::{Error, ErrorKind};
use crate::like::LikePattern;
use openwmi_cim::{CimDateTime, CimType, Class, Instance, Name, Namespace, ObjectPath, Value};
use std::cmp::Ordering;

/// What ISA needs to know about classes.
pub trait ClassHierarchy {
    /// True when `class` is `ancestor` or derives from it (names compare
    /// case-insensitively).
    fn is_subclass_of(&self, class: &str, ancestor: &str) -> bool;
}

impl ClassHierarchy for Namespace {
    fn is_subclass_of(&self, class: &str, ancestor: &str) -> bool {
        Namespace::is_subclass_of(self, class, ancestor)
    }
}

/// A hierarchy that knows no inheritance: a class is only "a subclass" of itself.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoHierarchy;

impl ClassHierarchy for NoHierarchy {
    fn is_subclass_of(&self, class: &str, ancestor: &str) -> bool {
        class.eq_ignore_ascii_case(ancestor)
    }
}

/// Orders two strings ignoring case (ASCII fast path, Unicode lower-casing otherwise).
fn cmp_ignore_case(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        a.bytes()
            .map(|c| c.to_ascii_lowercase())
            .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
    } else {
        a.chars()
            .flat_map(char::to_lowercase)
            .cmp(b.chars().flat_map(char::to_lowercase))
    }
}

fn is_system_name(name: &Name) -> bool {
    name.as_str().starts_with("__")
}

/// A constant converted to the type of the property it is compared with.
#[derive(Clone, Debug)]
enum Comparand {
    Int(i128),
    Real(f64),
    Str(Box<str>),
    Char(char),
    Bool(bool),
    DateTime(CimDateTime),
    Path(Box<ObjectPath>),
    /// The constant has no value of the property's type (or is NULL).
    Never,
}

/// Reads an integer or real from a string constant (`"3"`, `"-0x10"`, `"2.5"`).
fn number_from_str(s: &str) -> Comparand {
    let t = s.trim();
    let (neg, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let magnitude = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => digits.parse::<u64>().ok(),
    };
    if let Some(m) = magnitude {
        let m = m as i128;
        return Comparand::Int(if neg { -m } else { m });
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() => Comparand::Real(v),
        _ => Comparand::Never,
    }
}

impl Comparand {
    fn convert(lit: &Literal, ty: CimType) -> Comparand {
        use CimType as T;
        match (lit, ty) {
            (Literal::Null, _) => Comparand::Never,
            (Literal::Integer(i), t) if t.is_integer() => Comparand::Int(*i),
            (Literal::Integer(i), t) if t.is_real() => Comparand::Real(*i as f64),
            (Literal::Real(r), t) if t.is_numeric() => Comparand::Real(*r),
            (Literal::String(s), t) if t.is_numeric() => match number_from_str(s) {
                Comparand::Int(i) if t.is_real() => Comparand::Real(i as f64),
                c => c,
            },
            (Literal::String(s), T::String) => Comparand::Str(s.as_str().into()),
            (Literal::Integer(i), T::String) => Comparand::Str(i.to_string().into()),
            (Literal::Real(_), T::String) => Comparand::Str(lit.to_string().into()),
            (Literal::String(s), T::Char16) => {
                let mut chars = s.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => Comparand::Char(c),
                    _ => Comparand::Never,
                }
            }
            (Literal::Integer(i), T::Char16) => u32::try_from(*i)
                .ok()
                .and_then(char::from_u32)
                .map_or(Comparand::Never, Comparand::Char),
            (Literal::Boolean(b), T::Boolean) => Comparand::Bool(*b),
            (Literal::Integer(i), T::Boolean) => Comparand::Bool(*i != 0),
            (Literal::String(s), T::Boolean) => {
                if s.eq_ignore_ascii_case("true") {
                    Comparand::Bool(true)
                } else if s.eq_ignore_ascii_case("false") {
                    Comparand::Bool(false)
                } else {
                    Comparand::Never
                }
            }
            (Literal::String(s), T::DateTime) => {
                parse_date(s).map_or(Comparand::Never, Comparand::DateTime)
            }
            (Literal::String(s), T::Reference) => {
                ObjectPath::parse(s).map_or(Comparand::Never, |p| Comparand::Path(Box::new(p)))
            }
            _ => Comparand::Never,
        }
    }

    fn test_str(&self, s: &str, op: CompareOp) -> bool {
        match self {
            Comparand::Str(t) => match op {
                CompareOp::Eq if s.is_ascii() && t.is_ascii() => s.eq_ignore_ascii_case(t),
                _ => op.holds(cmp_ignore_case(s, t)),
            },
            _ => false,
        }
    }

    /// Tests `value op self`; the value must be of the type `self` was
    /// converted for (the caller makes sure).
    fn test(&self, value: &Value, op: CompareOp) -> bool {
        let ord = match (value, self) {
            (Value::String(s), c) => return c.test_str(s, op),
            (Value::Real32(_) | Value::Real64(_), Comparand::Real(r)) => {
                value.as_f64().and_then(|v| v.partial_cmp(r))
            }
            (v, Comparand::Int(i)) => v.as_i128().map(|v| v.cmp(i)),
            (v, Comparand::Real(r)) => v.as_f64().and_then(|v| v.partial_cmp(r)),
            (Value::Char16(c), Comparand::Char(d)) => {
                let fold = |c: char| c.to_lowercase().next().unwrap_or(c);
                Some(fold(*c).cmp(&fold(*d)))
            }
            (Value::Boolean(a), Comparand::Bool(b)) => Some(a.cmp(b)),
            (Value::DateTime(a), Comparand::DateTime(b)) => a.compare(b),
            (Value::Reference(p), Comparand::Path(q)) => {
                return match op {
                    CompareOp::Eq => **p == **q,
                    CompareOp::Ne => **p != **q,
                    _ => false,
                }
            }
            _ => None,
        };
        ord.is_some_and(|o| op.holds(o))
    }
}

#[inline]
fn integer(v: &Value) -> Option<i128> {
    Some(match *v {
        Value::UInt8(x) => x.into(),
        Value::SInt8(x) => x.into(),
        Value::UInt16(x) => x.into(),
        Value::SInt16(x) => x.into(),
        Value::UInt32(x) => x.into(),
        Value::SInt32(x) => x.into(),
        Value::UInt64(x) => x.into(),
        Value::SInt64(x) => x.into(),
        _ => return None,
    })
}

/// The type a scalar value has, or `None` for arrays (never comparable).
fn scalar_type(v: &Value) -> Option<CimType> {
    if v.is_array() {
        None
    } else {
        v.cim_type()
    }
}

/// `value op literal` with the rules in the module documentation.
fn compare_value(value: &Value, op: CompareOp, literal: &Literal) -> bool {
    match scalar_type(value) {
        Some(ty) => Comparand::convert(literal, ty).test(value, op),
        None => false,
    }
}

/// A property value as a condition sees it.
enum Fetched<'a> {
    Null,
    Value(&'a Value),
    /// `__CLASS`: a string that is not stored as a property.
    ClassName(&'a str),
}

fn fetch<'a>(inst: &'a Instance, name: &Name) -> Fetched<'a> {
    match inst.property(name.as_str()) {
        Some(p) => p.value.as_ref().map_or(Fetched::Null, Fetched::Value),
        None if name.is("__CLASS") => Fetched::ClassName(inst.class_name.as_str()),
        None => Fetched::Null,
    }
}

fn like_fetched(f: &Fetched<'_>, pattern: &LikePattern) -> bool {
    match f {
        Fetched::Value(Value::String(s)) => pattern.matches(s),
        Fetched::Value(Value::Char16(c)) => pattern.matches(c.encode_utf8(&mut [0; 4])),
        Fetched::ClassName(s) => pattern.matches(s),
        _ => false,
    }
}

fn isa_fetched(
    inst: &Instance,
    property: &Name,
    f: &Fetched<'_>,
    class: &str,
    h: &dyn ClassHierarchy,
) -> bool {
    if property.is("__this") {
        return h.is_subclass_of(inst.class_name.as_str(), class);
    }
    match f {
        Fetched::Value(Value::Reference(p)) => h.is_subclass_of(p.class.as_str(), class),
        _ => false,
    }
}

/// Evaluates a condition against an instance, interpreting it anew each
/// time; for many instances compile a [`Filter`] instead.
pub fn evaluate(expr: &Expr, inst: &Instance, h: &dyn ClassHierarchy) -> bool {
    match &expr.kind {
        ExprKind::And(terms) => terms.iter().all(|t| evaluate(t, inst, h)),
        ExprKind::Or(terms) => terms.iter().any(|t| evaluate(t, inst, h)),
        ExprKind::Not(e) => !evaluate(e, inst, h),
        ExprKind::Compare {
            property,
            op,
            value,
            ..
        } => match fetch(inst, &property.name) {
            Fetched::Value(v) => compare_value(v, *op, value),
            Fetched::ClassName(s) => Comparand::convert(value, CimType::String).test_str(s, *op),
            Fetched::Null => false,
        },
        ExprKind::IsNull { property, negated } => {
            let null =
                matches!(fetch(inst, &property.name), Fetched::Null) && !property.is("__this");
            null != *negated
        }
        ExprKind::Like {
            property, pattern, ..
        } => like_fetched(&fetch(inst, &property.name), pattern),
        ExprKind::Isa { property, class } => isa_fetched(
            inst,
            &property.name,
            &fetch(inst, &property.name),
            class.name.as_str(),
            h,
        ),
    }
}

/// Where a compiled condition finds a property.
#[derive(Clone, Debug)]
struct Slot {
    name: Name,
    /// The index in the class's property order, used when the instance has
    /// the same name there (instances made from the class share the name's
    /// allocation, so the check is a pointer comparison).
    index: Option<usize>,
}

impl Slot {
    fn new(name: &Name, class: &Class) -> Slot {
        match class.property_index(name.as_str()) {
            // The class's own Name, so that instances made from the class
            // compare by pointer.
            Some(i) => Slot {
                name: class.properties[i].name.clone(),
                index: Some(i),
            },
            None => Slot {
                name: name.clone(),
                index: None,
            },
        }
    }

    #[inline]
    fn fetch<'a>(&self, inst: &'a Instance) -> Fetched<'a> {
        if let Some(p) = self.index.and_then(|i| inst.properties.get(i)) {
            // Same allocation first: `Name`'s own comparison is a call into
            // another crate, which shows in the filter's profile.
            if std::ptr::eq(p.name.as_str(), self.name.as_str()) || p.name == self.name {
                return p.value.as_ref().map_or(Fetched::Null, Fetched::Value);
            }
        }
        fetch(inst, &self.name)
    }
}

#[derive(Clone, Debug)]
enum Node {
    And(Box<[Node]>),
    Or(Box<[Node]>),
    Not(Box<Node>),
    Const(bool),
    Compare {
        slot: Slot,
        op: CompareOp,
        /// The type `comparand` was converted for: the declared type.
        ty: Option<CimType>,
        comparand: Comparand,
        literal: Literal,
    },
    /// A Compare whose constant converted to an integer: the common case,
    /// tested without the general dispatch when the value is an integer.
    CompareInt {
        slot: Slot,
        op: CompareOp,
        value: i128,
        literal: Literal,
    },
    IsNull {
        slot: Slot,
        negated: bool,
    },
    Like {
        slot: Slot,
        pattern: LikePattern,
    },
    Isa {
        slot: Slot,
        class: Name,
    },
}

/// A condition compiled for the instances of one class: properties are
/// found by index, LIKE patterns are compiled and constants converted to the
/// properties' types once. Gives the same answers as [`evaluate`], also for
/// instances whose layout differs from the class (then by name lookup).
#[derive(Clone, Debug)]
pub struct Filter {
    root: Node,
}

impl Filter {
    pub fn compile(expr: &Expr, class: &Class) -> Filter {
        Filter {
            root: compile(expr, class),
        }
    }

    pub fn matches(&self, inst: &Instance, h: &dyn ClassHierarchy) -> bool {
        run(&self.root, inst, h)
    }
}

fn compile(expr: &Expr, class: &Class) -> Node {
    match &expr.kind {
        ExprKind::And(terms) => Node::And(terms.iter().map(|t| compile(t, class)).collect()),
        ExprKind::Or(terms) => Node::Or(terms.iter().map(|t| compile(t, class)).collect()),
        ExprKind::Not(e) => Node::Not(Box::new(compile(e, class))),
        ExprKind::Compare {
            property,
            op,
            value,
            ..
        } => {
            if *value == Literal::Null {
                return Node::Const(false);
            }
            let slot = Slot::new(&property.name, class);
            let declared = class
                .property(property.name.as_str())
                .filter(|p| !p.ty.is_array())
                .map(|p| p.ty.base)
                .or_else(|| property.is("__CLASS").then_some(CimType::String));
            let comparand = declared.map_or(Comparand::Never, |t| Comparand::convert(value, t));
            if let Comparand::Int(i) = comparand {
                return Node::CompareInt {
                    slot,
                    op: *op,
                    value: i,
                    literal: value.clone(),
                };
            }
            Node::Compare {
                slot,
                op: *op,
                ty: declared,
                comparand,
                literal: value.clone(),
            }
        }
        ExprKind::IsNull { property, negated } => {
            if property.is("__this") {
                return Node::Const(*negated);
            }
            Node::IsNull {
                slot: Slot::new(&property.name, class),
                negated: *negated,
            }
        }
        ExprKind::Like {
            property, pattern, ..
        } => Node::Like {
            slot: Slot::new(&property.name, class),
            pattern: pattern.clone(),
        },
        ExprKind::Isa { property, class: c } => Node::Isa {
            slot: Slot::new(&property.name, class),
            class: c.name.clone(),
        },
    }
}

fn run(node: &Node, inst: &Instance, h: &dyn ClassHierarchy) -> bool {
    match node {
        Node::And(terms) => terms.iter().all(|t| run(t, inst, h)),
        Node::Or(terms) => terms.iter().any(|t| run(t, inst, h)),
        Node::Not(n) => !run(n, inst, h),
        Node::Const(b) => *b,
        Node::Compare {
            slot,
            op,
            ty,
            comparand,
            literal,
        } => match slot.fetch(inst) {
            Fetched::Value(v) => {
                let actual = scalar_type(v);
                if actual.is_some() && actual == *ty {
                    comparand.test(v, *op)
                } else {
                    compare_value(v, *op, literal)
                }
            }
            Fetched::ClassName(s) => match ty {
                Some(CimType::String) => comparand.test_str(s, *op),
                _ => Comparand::convert(literal, CimType::String).test_str(s, *op),
            },
            Fetched::Null => false,
        },
        Node::CompareInt {
            slot,
            op,
            value,
            literal,
        } => match slot.fetch(inst) {
            Fetched::Value(v) => match integer(v) {
                Some(x) => op.holds(x.cmp(value)),
                None => compare_value(v, *op, literal),
            },
            Fetched::ClassName(s) => Comparand::convert(literal, CimType::String).test_str(s, *op),
            Fetched::Null => false,
        },
        Node::IsNull { slot, negated } => matches!(slot.fetch(inst), Fetched::Null) != *negated,
        Node::Like { slot, pattern } => like_fetched(&slot.fetch(inst), pattern),
        Node::Isa { slot, class } => {
            isa_fetched(inst, &slot.name, &slot.fetch(inst), class.as_str(), h)
        }
    }
}

/// Checks the constants a condition compares with `class`'s datetime
/// properties: each must be NULL or a date ([`parse_date`]). Windows rejects
/// a query comparing a datetime with something that is no date
/// (WBEM_E_INVALID_QUERY) rather than finding nothing. The error points at
/// the first such constant.
pub fn check_constants(expr: &Expr, class: &Class) -> Result<(), Error> {
    match &expr.kind {
        ExprKind::And(terms) | ExprKind::Or(terms) => {
            terms.iter().try_for_each(|t| check_constants(t, class))
        }
        ExprKind::Not(e) => check_constants(e, class),
        ExprKind::Compare {
            property,
            value,
            value_span,
            ..
        } => {
            let datetime = class
                .property(property.name.as_str())
                .is_some_and(|p| !p.ty.is_array() && p.ty.base == CimType::DateTime);
            let is_date = match value {
                Literal::Null => true,
                Literal::String(s) => parse_date(s).is_some(),
                _ => false,
            };
            if datetime && !is_date {
                return Err(Error::new(
                    ErrorKind::InvalidDate,
                    *value_span,
                    format!(
                        "{value} is no date to compare with the datetime {}: WQL takes a DMTF \
                         datetime or a date such as \"January 21, 1932\", \"1/21/1932\" or \
                         \"1932-01-21\"",
                        property.name
                    ),
                ));
            }
            Ok(())
        }
        ExprKind::IsNull { .. } | ExprKind::Like { .. } | ExprKind::Isa { .. } => Ok(()),
    }
}

/// The properties a condition reads, each once, in order of appearance;
/// system names (`__CLASS`, `__this`) are left out.
pub fn referenced_properties(expr: &Expr) -> Vec<Name> {
    let mut out: Vec<Name> = Vec::new();
    expr.visit_properties(&mut |p: &Ident| {
        if !is_system_name(&p.name) && !out.contains(&p.name) {
            out.push(p.name.clone());
        }
    });
    out
}

/// The `Property = constant` terms every match must satisfy: the condition
/// itself or the terms of a top-level AND. A provider can use them to look
/// up by key at its source, and must still apply the whole condition.
/// Constants become values as written: strings, booleans, Real64, integers
/// as SInt64 (UInt64 above i64::MAX). NULL constants and system
/// properties are left out.
pub fn key_equalities(expr: &Expr) -> Vec<(Name, Value)> {
    let terms = match &expr.kind {
        ExprKind::And(terms) => terms.as_slice(),
        _ => std::slice::from_ref(expr),
    };
    terms
        .iter()
        .filter_map(|t| match &t.kind {
            ExprKind::Compare {
                property,
                op: CompareOp::Eq,
                value,
                ..
            } if !is_system_name(&property.name) => {
                let v = match value {
                    Literal::Null => return None,
                    Literal::Boolean(b) => Value::Boolean(*b),
                    Literal::Integer(i) => match i64::try_from(*i) {
                        Ok(v) => Value::SInt64(v),
                        Err(_) => Value::UInt64(u64::try_from(*i).ok()?),
                    },
                    Literal::Real(r) => Value::Real64(*r),
                    Literal::String(s) => Value::String(s.as_str().into()),
                };
                Some((property.name.clone(), v))
            }
            _ => None,
        })
        .collect()
}
