//! CIM values.

use crate::datetime::CimDateTime;
use crate::path::ObjectPath;
use crate::types::CimType;
use std::fmt;
use std::sync::Arc;

/// A non-NULL CIM value. NULL is `None` wherever a value may be absent
/// (`Option<Value>`). Array elements are never NULL in this model.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Boolean(bool),
    /// Shared: values are copied far more often (class inheritance, providers
    /// handing out stored instances) than they are built.
    String(Arc<str>),
    Char16(char),
    UInt8(u8),
    SInt8(i8),
    UInt16(u16),
    SInt16(i16),
    UInt32(u32),
    SInt32(i32),
    UInt64(u64),
    SInt64(i64),
    Real32(f32),
    Real64(f64),
    DateTime(CimDateTime),
    Reference(Box<ObjectPath>),
    /// A homogeneous array; the element type is the declared type of its property.
    Array(Vec<Value>),
}

impl Value {
    /// The type of a scalar value, or of the first element of an array
    /// (`None` for an empty array, whose type only its declaration knows).
    pub fn cim_type(&self) -> Option<CimType> {
        Some(match self {
            Value::Boolean(_) => CimType::Boolean,
            Value::String(_) => CimType::String,
            Value::Char16(_) => CimType::Char16,
            Value::UInt8(_) => CimType::UInt8,
            Value::SInt8(_) => CimType::SInt8,
            Value::UInt16(_) => CimType::UInt16,
            Value::SInt16(_) => CimType::SInt16,
            Value::UInt32(_) => CimType::UInt32,
            Value::SInt32(_) => CimType::SInt32,
            Value::UInt64(_) => CimType::UInt64,
            Value::SInt64(_) => CimType::SInt64,
            Value::Real32(_) => CimType::Real32,
            Value::Real64(_) => CimType::Real64,
            Value::DateTime(_) => CimType::DateTime,
            Value::Reference(_) => CimType::Reference,
            Value::Array(v) => return v.first().and_then(Value::cim_type),
        })
    }

    pub fn is_array(&self) -> bool {
        matches!(self, Value::Array(_))
    }

    /// The value of an integer as i128 (all CIM integer types fit).
    pub fn as_i128(&self) -> Option<i128> {
        Some(match *self {
            Value::UInt8(v) => v as i128,
            Value::SInt8(v) => v as i128,
            Value::UInt16(v) => v as i128,
            Value::SInt16(v) => v as i128,
            Value::UInt32(v) => v as i128,
            Value::SInt32(v) => v as i128,
            Value::UInt64(v) => v as i128,
            Value::SInt64(v) => v as i128,
            _ => return None,
        })
    }

    /// Any numeric value as f64 (integers may lose precision past 2^53).
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Real32(v) => Some(v as f64),
            Value::Real64(v) => Some(v),
            _ => self.as_i128().map(|v| v as f64),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Boolean(b) => Some(*b),
            _ => None,
        }
    }

    /// Builds an integer value of type `ty` from `v`, or `None` when out of range.
    pub fn integer(ty: CimType, v: i128) -> Option<Value> {
        let (lo, hi) = ty.integer_range()?;
        if v < lo || v > hi {
            return None;
        }
        Some(match ty {
            CimType::UInt8 => Value::UInt8(v as u8),
            CimType::SInt8 => Value::SInt8(v as i8),
            CimType::UInt16 => Value::UInt16(v as u16),
            CimType::SInt16 => Value::SInt16(v as i16),
            CimType::UInt32 => Value::UInt32(v as u32),
            CimType::SInt32 => Value::SInt32(v as i32),
            CimType::UInt64 => Value::UInt64(v as u64),
            CimType::SInt64 => Value::SInt64(v as i64),
            _ => return None,
        })
    }

    /// Writes the value as a MOF literal (DSP0004 A.17): the one MOF value
    /// writer of the workspace, used by openwmi-mof's printer, by the `mof`
    /// output format and by the client's context header. openwmi-mof's
    /// compiler reads what it writes back to an equal value of the declared
    /// type (openwmi-output's `tests/mof_round_trip.rs`). Booleans are
    /// `TRUE`/`FALSE`; strings, datetimes and references double-quoted and
    /// escaped; char16 single-quoted; reals have a fraction (`1.0E20`, never
    /// `1e20`); arrays are in braces. MOF has no literal for NaN or an
    /// infinity: those are written `NULL`, the value a reader gets for them.
    pub fn write_mof(&self, out: &mut String) {
        use std::fmt::Write;
        match self {
            Value::Boolean(b) => out.push_str(if *b { "TRUE" } else { "FALSE" }),
            Value::String(s) => write_mof_string(out, s),
            Value::Char16(c) => {
                out.push('\'');
                match c {
                    '\'' => out.push_str("\\'"),
                    '\\' => out.push_str("\\\\"),
                    c if (*c as u32) < 0x20 || *c == '\u{7f}' => {
                        let _ = write!(out, "\\x{:04X}", *c as u32);
                    }
                    c => out.push(*c),
                }
                out.push('\'');
            }
            Value::Real32(v) => write_mof_real(out, f64::from(*v), format!("{v:?}")),
            Value::Real64(v) => write_mof_real(out, *v, format!("{v:?}")),
            Value::DateTime(d) => write_mof_string(out, &d.to_string()),
            Value::Reference(p) => write_mof_string(out, &p.to_string()),
            Value::Array(items) => {
                out.push('{');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    v.write_mof(out);
                }
                out.push('}');
            }
            Value::UInt8(_)
            | Value::SInt8(_)
            | Value::UInt16(_)
            | Value::SInt16(_)
            | Value::UInt32(_)
            | Value::SInt32(_)
            | Value::UInt64(_)
            | Value::SInt64(_) => {
                let _ = write!(out, "{self}");
            }
        }
    }

    /// The value as a MOF literal ([`Value::write_mof`]).
    pub fn to_mof(&self) -> String {
        let mut s = String::new();
        self.write_mof(&mut s);
        s
    }
}

/// Rust's shortest round-trip text of a real (`text`, the `Debug` of its
/// own width), reshaped into DSP0004's real syntax
/// (`digits.digits[E[-]digits]`).
fn write_mof_real(out: &mut String, v: f64, text: String) {
    if !v.is_finite() {
        out.push_str("NULL");
        return;
    }
    let (mant, exp) = match text.find(['e', 'E']) {
        Some(i) => (&text[..i], Some(&text[i + 1..])),
        None => (text.as_str(), None),
    };
    out.push_str(mant);
    if !mant.contains('.') {
        out.push_str(".0");
    }
    if let Some(e) = exp {
        out.push('E');
        out.push_str(e);
    }
}

/// Writes `s` as a double-quoted MOF string literal (DSP0004 A.17 escapes).
pub fn write_mof_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                use std::fmt::Write;
                let _ = write!(out, "\\x{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Plain text of a value, as CIM-XML `<VALUE>` carries it: booleans `TRUE`/`FALSE`,
/// strings raw, references as WMI object paths, arrays comma-separated.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Boolean(b) => f.write_str(if *b { "TRUE" } else { "FALSE" }),
            Value::String(s) => f.write_str(s),
            Value::Char16(c) => write!(f, "{c}"),
            Value::UInt8(v) => write!(f, "{v}"),
            Value::SInt8(v) => write!(f, "{v}"),
            Value::UInt16(v) => write!(f, "{v}"),
            Value::SInt16(v) => write!(f, "{v}"),
            Value::UInt32(v) => write!(f, "{v}"),
            Value::SInt32(v) => write!(f, "{v}"),
            Value::UInt64(v) => write!(f, "{v}"),
            Value::SInt64(v) => write!(f, "{v}"),
            Value::Real32(v) => write_real(f, *v as f64, true),
            Value::Real64(v) => write_real(f, *v, false),
            Value::DateTime(d) => write!(f, "{d}"),
            Value::Reference(p) => write!(f, "{p}"),
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{v}")?;
                }
                Ok(())
            }
        }
    }
}

fn write_real(f: &mut fmt::Formatter<'_>, v: f64, single: bool) -> fmt::Result {
    if v.is_nan() {
        return f.write_str("NaN");
    }
    if v.is_infinite() {
        return f.write_str(if v > 0.0 { "INF" } else { "-INF" });
    }
    // Shortest text that parses back to the same value, with an exponent or dot
    // so a reader knows it is real.
    let s = if single {
        format!("{:?}", v as f32)
    } else {
        format!("{v:?}")
    };
    f.write_str(&s)
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Boolean(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::String(v.into())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::String(v.into())
    }
}
impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::UInt32(v)
    }
}
impl From<u64> for Value {
    fn from(v: u64) -> Self {
        Value::UInt64(v)
    }
}
impl From<ObjectPath> for Value {
    fn from(v: ObjectPath) -> Self {
        Value::Reference(Box::new(v))
    }
}
impl From<CimDateTime> for Value {
    fn from(v: CimDateTime) -> Self {
        Value::DateTime(v)
    }
}
