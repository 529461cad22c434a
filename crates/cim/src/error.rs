//! The one error type of the CIM model crate.

use crate::name::Name;
use std::fmt;

/// What went wrong building or parsing a piece of the model.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A malformed object path; `pos` is the byte offset where parsing stopped.
    Path { pos: usize, message: String },
    /// A malformed CIM datetime; `pos` is the offending character (0-based).
    DateTime { pos: usize, message: String },
    /// A class of that name is already in the namespace.
    DuplicateClass(Name),
    /// The superclass named in a class declaration does not exist.
    MissingSuperclass { class: Name, superclass: Name },
    /// A class lists itself among its ancestors.
    CircularInheritance(Name),
    /// An override changed the type of an inherited property or method.
    OverrideTypeMismatch { class: Name, element: Name },
    /// A subclass changed the value of a qualifier declared DisableOverride.
    OverrideDisabled {
        class: Name,
        element: Option<Name>,
        qualifier: Name,
    },
    /// Two properties or methods of the same name in one class.
    DuplicateElement { class: Name, element: Name },
    /// A value does not fit the declared type.
    TypeMismatch { what: String, expected: String },
    /// An instance of a class the namespace does not have.
    NoSuchClass(Name),
    /// An instance whose keys equal those of one already there.
    DuplicateInstance(String),
    /// An instance property the class does not declare.
    NoSuchProperty { class: Name, property: Name },
    /// A namespace name that is empty or has empty segments.
    InvalidNamespace(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Path { pos, message } => {
                write!(f, "invalid object path at offset {pos}: {message}")
            }
            Error::DateTime { pos, message } => {
                write!(f, "invalid CIM datetime at character {pos}: {message}")
            }
            Error::DuplicateClass(c) => write!(f, "class {c} is already defined"),
            Error::MissingSuperclass { class, superclass } => write!(
                f,
                "class {class} names superclass {superclass}, which is not defined"
            ),
            Error::CircularInheritance(c) => write!(f, "class {c} inherits from itself"),
            Error::OverrideTypeMismatch { class, element } => {
                write!(f, "class {class} overrides {element} with a different type")
            }
            Error::OverrideDisabled {
                class,
                element,
                qualifier,
            } => match element {
                Some(e) => write!(
                    f,
                    "class {class}: {e} changes qualifier {qualifier}, which is DisableOverride"
                ),
                None => write!(
                    f,
                    "class {class} changes qualifier {qualifier}, which is DisableOverride"
                ),
            },
            Error::DuplicateElement { class, element } => {
                write!(f, "class {class} declares {element} twice")
            }
            Error::TypeMismatch { what, expected } => {
                write!(f, "{what}: expected {expected}")
            }
            Error::NoSuchClass(c) => write!(f, "no class {c}"),
            Error::DuplicateInstance(p) => write!(f, "instance {p} already exists"),
            Error::NoSuchProperty { class, property } => {
                write!(f, "class {class} has no property {property}")
            }
            Error::InvalidNamespace(n) => write!(f, "invalid namespace name {n:?}"),
        }
    }
}

impl std::error::Error for Error {}
