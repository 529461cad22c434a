//! The one error type of the output crate. Writing itself fails only with
//! the `io::Error` of the writer.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A `--format` value that names no format.
    UnknownFormat(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::UnknownFormat(s) => {
                write!(f, "unknown output format {s:?} (expected one of: ")?;
                for (i, fmt) in crate::Format::ALL.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(fmt.as_str())?;
                }
                f.write_str(")")
            }
        }
    }
}

impl std::error::Error for Error {}
