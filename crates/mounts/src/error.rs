//! The one error type of the mounts crate.

use std::fmt;

/// Why a mount table or fstab could not be read or parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A malformed line; `line` is 1-based.
    Syntax {
        file: &'static str,
        line: usize,
        reason: String,
    },
    /// The input is larger than the parser accepts.
    TooLarge { file: &'static str, limit: usize },
    /// The input has more lines than the parser accepts.
    TooManyLines { file: &'static str, limit: usize },
    /// Reading a file failed.
    Io { path: String, message: String },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Syntax { file, line, reason } => write!(f, "{file} line {line}: {reason}"),
            Error::TooLarge { file, limit } => {
                write!(f, "{file} is larger than the limit of {limit} bytes")
            }
            Error::TooManyLines { file, limit } => {
                write!(f, "{file} has more than {limit} lines")
            }
            Error::Io { path, message } => write!(f, "cannot read {path}: {message}"),
        }
    }
}

impl std::error::Error for Error {}
