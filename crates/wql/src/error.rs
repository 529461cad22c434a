//! The one error type of the WQL crate.

use crate::ast::Span;
use openwmi_cim::CimStatus;
use std::fmt;

/// What kind of failure a [`Error`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The text is not WQL: an unexpected token, a bad literal, a missing keyword.
    Syntax,
    /// Parentheses or NOTs nested deeper than [`crate::MAX_DEPTH`].
    TooDeep,
    /// The query is longer than [`crate::MAX_QUERY_LEN`] bytes.
    TooLong,
    /// A query language other than WQL.
    UnsupportedLanguage,
    /// An ASSOCIATORS OF / REFERENCES OF query breaking Windows' clause rules
    /// (unknown, repeated or conflicting clauses).
    InvalidAssocQuery,
    /// The object path inside `{...}` of an association query does not parse.
    InvalidObjectPath,
    /// A property the queried class does not have ([`crate::Select::check_properties`]).
    UnknownProperty,
    /// A constant compared with a datetime property that is no date
    /// ([`crate::eval::check_constants`]).
    InvalidDate,
}

/// A WQL error: its kind, where in the query text it was found (byte range)
/// and what was expected there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    span: Span,
    message: String,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, span: Span, message: impl Into<String>) -> Self {
        Error {
            kind,
            span,
            message: message.into(),
        }
    }
    pub(crate) fn syntax(span: Span, message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Syntax, span, message)
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    /// The byte range of the query text the error is about.
    pub fn span(&self) -> Span {
        self.span
    }
    /// The byte offset where the error was found (start of [`Error::span`]).
    pub fn offset(&self) -> usize {
        self.span.start
    }
    /// What was wrong, without the offset.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The CIM status an operation fails with for this error:
    /// QueryLanguageNotSupported (WBEM_E_INVALID_QUERY_TYPE) for another
    /// language, InvalidQuery (WBEM_E_INVALID_QUERY) for everything else.
    pub fn status(&self) -> CimStatus {
        match self.kind {
            ErrorKind::UnsupportedLanguage => CimStatus::QueryLanguageNotSupported,
            _ => CimStatus::InvalidQuery,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ErrorKind::UnsupportedLanguage | ErrorKind::TooLong => f.write_str(&self.message),
            _ => write!(f, "{} at offset {}", self.message, self.span.start),
        }
    }
}

impl std::error::Error for Error {}
