//! CIM data types (DSP0004 5.2) and array kinds.

use crate::name::Name;
use std::fmt;

/// The intrinsic CIM types. `Reference` carries no class here; the class a
/// reference points to lives in [`TypeDecl::ref_class`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CimType {
    Boolean,
    String,
    Char16,
    UInt8,
    SInt8,
    UInt16,
    SInt16,
    UInt32,
    SInt32,
    UInt64,
    SInt64,
    Real32,
    Real64,
    DateTime,
    Reference,
}

impl CimType {
    pub const ALL: [CimType; 15] = [
        CimType::Boolean,
        CimType::String,
        CimType::Char16,
        CimType::UInt8,
        CimType::SInt8,
        CimType::UInt16,
        CimType::SInt16,
        CimType::UInt32,
        CimType::SInt32,
        CimType::UInt64,
        CimType::SInt64,
        CimType::Real32,
        CimType::Real64,
        CimType::DateTime,
        CimType::Reference,
    ];

    /// The lower-case name used in MOF and CIM-XML (`uint32`, `datetime`, `reference`).
    pub fn as_str(self) -> &'static str {
        match self {
            CimType::Boolean => "boolean",
            CimType::String => "string",
            CimType::Char16 => "char16",
            CimType::UInt8 => "uint8",
            CimType::SInt8 => "sint8",
            CimType::UInt16 => "uint16",
            CimType::SInt16 => "sint16",
            CimType::UInt32 => "uint32",
            CimType::SInt32 => "sint32",
            CimType::UInt64 => "uint64",
            CimType::SInt64 => "sint64",
            CimType::Real32 => "real32",
            CimType::Real64 => "real64",
            CimType::DateTime => "datetime",
            CimType::Reference => "reference",
        }
    }

    /// Parses a type keyword, case-insensitively (MOF keywords are case-insensitive).
    pub fn from_keyword(s: &str) -> Option<CimType> {
        CimType::ALL
            .iter()
            .copied()
            .find(|t| t.as_str().eq_ignore_ascii_case(s))
    }

    pub fn is_integer(self) -> bool {
        matches!(
            self,
            CimType::UInt8
                | CimType::SInt8
                | CimType::UInt16
                | CimType::SInt16
                | CimType::UInt32
                | CimType::SInt32
                | CimType::UInt64
                | CimType::SInt64
        )
    }

    pub fn is_real(self) -> bool {
        matches!(self, CimType::Real32 | CimType::Real64)
    }

    pub fn is_numeric(self) -> bool {
        self.is_integer() || self.is_real()
    }

    /// Inclusive range of an integer type, as i128 so that both u64 and i64 fit.
    pub fn integer_range(self) -> Option<(i128, i128)> {
        Some(match self {
            CimType::UInt8 => (0, u8::MAX as i128),
            CimType::SInt8 => (i8::MIN as i128, i8::MAX as i128),
            CimType::UInt16 => (0, u16::MAX as i128),
            CimType::SInt16 => (i16::MIN as i128, i16::MAX as i128),
            CimType::UInt32 => (0, u32::MAX as i128),
            CimType::SInt32 => (i32::MIN as i128, i32::MAX as i128),
            CimType::UInt64 => (0, u64::MAX as i128),
            CimType::SInt64 => (i64::MIN as i128, i64::MAX as i128),
            _ => return None,
        })
    }
}

impl fmt::Display for CimType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a property, parameter or qualifier holds one value or an array.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum ArrayKind {
    #[default]
    Scalar,
    /// `x[]`
    Variable,
    /// `x[N]`
    Fixed(u32),
}

impl ArrayKind {
    pub fn is_array(self) -> bool {
        !matches!(self, ArrayKind::Scalar)
    }
}

/// The declared type of a property or parameter.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TypeDecl {
    pub base: CimType,
    pub array: ArrayKind,
    /// For references: the class the reference points to (`CIM_Share REF Antecedent`).
    pub ref_class: Option<Name>,
}

impl TypeDecl {
    pub fn scalar(base: CimType) -> Self {
        TypeDecl {
            base,
            array: ArrayKind::Scalar,
            ref_class: None,
        }
    }
    pub fn array(base: CimType) -> Self {
        TypeDecl {
            base,
            array: ArrayKind::Variable,
            ref_class: None,
        }
    }
    pub fn reference(class: impl Into<Name>) -> Self {
        TypeDecl {
            base: CimType::Reference,
            array: ArrayKind::Scalar,
            ref_class: Some(class.into()),
        }
    }
    pub fn is_array(&self) -> bool {
        self.array.is_array()
    }
}

impl fmt::Display for TypeDecl {
    /// MOF spelling of the type without the array suffix (which follows the name in MOF).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.base, &self.ref_class) {
            (CimType::Reference, Some(c)) => write!(f, "{c} REF"),
            (CimType::Reference, None) => f.write_str("object REF"),
            (t, _) => f.write_str(t.as_str()),
        }
    }
}
