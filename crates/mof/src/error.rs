//! The one error type of the MOF compiler.

use std::fmt;

/// What kind of problem an [`Error`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The text does not follow the MOF grammar (includes truncated input).
    Syntax,
    /// A file could not be read.
    Io,
    /// A configured limit was exceeded (file size, include depth, total input, errors).
    Limit,
    /// `#pragma include` of a file that is already being compiled.
    IncludeCycle,
    /// A qualifier used without a declaration.
    UnknownQualifier,
    /// A qualifier used where its declared scope does not allow it.
    QualifierScope,
    /// A qualifier declared twice with different definitions, or used twice on one element.
    DuplicateQualifier,
    /// A value that does not fit the declared type (including integer ranges).
    TypeMismatch,
    /// A class of that name already exists in the namespace.
    DuplicateClass,
    /// The superclass of a class declaration does not exist.
    MissingSuperclass,
    /// A class named (in `instance of`, or as a reference's class) does not exist.
    UnknownClass,
    /// A property named in `instance of` that the class does not have.
    UnknownProperty,
    /// An alias used before it was defined, or defined twice.
    Alias,
    /// Any other violation of the CIM model (override rules, duplicate
    /// members, duplicate instances, bad namespace names).
    Model,
}

/// A compile error: where (file, 1-based line and column) and why.
///
/// Displays as `file:line:column: error: message`. Errors with no position
/// (an unreadable top-level file) have line and column 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub kind: ErrorKind,
    pub message: String,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: error: {}", self.file, self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: error: {}",
                self.file, self.line, self.column, self.message
            )
        }
    }
}

impl std::error::Error for Error {}
