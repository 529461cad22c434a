use std::fmt;

/// A `[permissions]` table that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The value at `key` (a dotted path such as `permissions.grant[2].rights`,
    /// grants numbered from 1 in file order) is wrong; `message` says why.
    Invalid { key: String, message: String },
}

impl Error {
    pub(crate) fn invalid(key: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Invalid {
            key: key.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Invalid { key, message } => write!(f, "{key}: {message}"),
        }
    }
}

impl std::error::Error for Error {}
