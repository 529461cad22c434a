//! The one error type of the codec, and the limits that bound decoding.

use openwmi_cim::{CimError, CimStatus};
use std::fmt;

/// Bounds on what the decoder accepts, so that a hostile body costs at most
/// a bounded amount of memory and time. Exceeding any of them is refused as
/// [`DecodeError::LimitExceeded`] before the excess is built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest body accepted, in bytes (default 16 MiB, for the responses a
    /// client reads: a response of many instances is larger than any
    /// request; [`Limits::request`] leaves a request's size to the server).
    pub max_body_bytes: usize,
    /// Deepest element nesting (default 64; a CIM-XML request nests about 12).
    pub max_depth: usize,
    /// Most elements in one document (default 1,000,000).
    pub max_elements: usize,
    /// Longest attribute value, after unescaping (default 64 KiB).
    pub max_attribute_len: usize,
    /// Longest text content of one element, after unescaping (default 1 MiB).
    pub max_text_len: usize,
    /// Most attributes on one element (default 32).
    pub max_attributes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 16 * 1024 * 1024,
            max_depth: 64,
            max_elements: 1_000_000,
            max_attribute_len: 64 * 1024,
            max_text_len: 1024 * 1024,
            max_attributes: 32,
        }
    }
}

impl Limits {
    /// Tighter limits suited to requests a server receives: no legitimate
    /// request comes near them (20,000 elements). The body's size is bounded
    /// here only by what the decoder can address (4 GiB, its positions are
    /// `u32`): whoever reads a request off the network must bound it before
    /// holding it, and that one limit is the request's limit (in `openwmi
    /// serve`, `limits.max_body_bytes`). A second, different bound here
    /// refused bodies the server had accepted.
    pub fn request() -> Self {
        Limits {
            max_body_bytes: u32::MAX as usize,
            max_elements: 20_000,
            ..Limits::default()
        }
    }
}

/// Why a body could not be decoded.
///
/// The protocol errors (everything but [`DecodeError::Cim`]) are answered,
/// per DSP0200, with HTTP 400 and a `CIMError:` header
/// ([`DecodeError::http_cim_error_header`]); [`DecodeError::Cim`] is a
/// well-formed request whose parameters are wrong or whose operation is not
/// supported: it is answered inside a 200 response with `<ERROR>`
/// ([`DecodeError::error_response`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// Not well-formed XML (or a DTD, or an entity other than the five
    /// predefined ones). `offset` is the byte offset in the body.
    NotWellFormed {
        offset: usize,
        line: usize,
        column: usize,
        message: String,
    },
    /// Well-formed XML that is not a valid CIM-XML message.
    NotValid { offset: usize, message: String },
    /// A limit of [`Limits`] was exceeded at `offset`.
    LimitExceeded {
        offset: usize,
        what: &'static str,
        limit: usize,
    },
    /// `MESSAGE PROTOCOLVERSION` is not 1.x.
    UnsupportedProtocolVersion(String),
    /// `CIM CIMVERSION` is not 2.x.
    UnsupportedCimVersion(String),
    /// `CIM DTDVERSION` is not 2.x.
    UnsupportedDtdVersion(String),
    /// A `MULTIREQ`: openwmi answers one operation per message.
    MultipleRequestsUnsupported,
    /// The `CIMMethod` or `CIMObject` header disagrees with the body.
    HeaderMismatch(String),
    /// A valid message whose operation fails before it runs: bad or missing
    /// parameters (CIM_ERR_INVALID_PARAMETER), an operation openwmi does not
    /// implement (CIM_ERR_NOT_SUPPORTED). Carries what the response echoes.
    Cim(Box<CimRequestError>),
}

/// A CIM error detected while decoding a request, with what the error
/// response must echo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CimRequestError {
    pub error: CimError,
    pub message_id: String,
    /// The IMETHODCALL or METHODCALL NAME.
    pub method_name: String,
    /// True for IMETHODCALL (the answer is IMETHODRESPONSE), false for METHODCALL.
    pub intrinsic: bool,
}

impl DecodeError {
    /// The value of the `CIMError:` header of the HTTP 400 answer, or `None`
    /// for a CIM error (answered with 200) and for an over-large body
    /// (answered with 413, see [`DecodeError::http_status`]).
    pub fn http_cim_error_header(&self) -> Option<&'static str> {
        Some(match self {
            DecodeError::NotWellFormed { .. } => "request-not-well-formed",
            DecodeError::LimitExceeded { what, .. } if *what == "body size" => return None,
            DecodeError::LimitExceeded { .. } => "request-not-well-formed",
            DecodeError::NotValid { .. } => "request-not-valid",
            DecodeError::UnsupportedProtocolVersion(_) => "unsupported-protocol-version",
            DecodeError::UnsupportedCimVersion(_) => "unsupported-cim-version",
            DecodeError::UnsupportedDtdVersion(_) => "unsupported-dtd-version",
            DecodeError::MultipleRequestsUnsupported => "multiple-requests-unsupported",
            DecodeError::HeaderMismatch(_) => "header-mismatch",
            DecodeError::Cim(_) => return None,
        })
    }

    /// The HTTP status a server answers with: 200 for CIM errors, 413 for a
    /// body over [`Limits::max_body_bytes`], 400 otherwise.
    pub fn http_status(&self) -> u16 {
        match self {
            DecodeError::Cim(_) => 200,
            DecodeError::LimitExceeded { what, .. } if *what == "body size" => 413,
            _ => 400,
        }
    }

    /// The CIM status of an error answered inside a 200 response.
    pub fn cim_status(&self) -> Option<CimStatus> {
        match self {
            DecodeError::Cim(e) => Some(e.error.status),
            _ => None,
        }
    }

    /// The full 200 response body (`<ERROR CODE=.. DESCRIPTION=..>`) for a
    /// CIM error; `None` for protocol errors.
    pub fn error_response(&self) -> Option<String> {
        match self {
            DecodeError::Cim(e) => Some(crate::writer::error_response(
                &e.message_id,
                &e.method_name,
                e.intrinsic,
                &e.error,
            )),
            _ => None,
        }
    }

    pub(crate) fn not_well_formed(body: &[u8], offset: usize, message: impl Into<String>) -> Self {
        let offset = offset.min(body.len());
        let before = &body[..offset];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        DecodeError::NotWellFormed {
            offset,
            line,
            column: offset - line_start + 1,
            message: message.into(),
        }
    }

    pub(crate) fn not_valid(offset: usize, message: impl Into<String>) -> Self {
        DecodeError::NotValid {
            offset,
            message: message.into(),
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::NotWellFormed {
                offset,
                line,
                column,
                message,
            } => write!(
                f,
                "XML not well-formed at line {line}, column {column} (byte {offset}): {message}"
            ),
            DecodeError::NotValid { offset, message } => {
                write!(f, "not a valid CIM-XML message (byte {offset}): {message}")
            }
            DecodeError::LimitExceeded {
                offset,
                what,
                limit,
            } => write!(f, "{what} exceeds the limit of {limit} (byte {offset})"),
            DecodeError::UnsupportedProtocolVersion(v) => {
                write!(f, "unsupported CIM-XML protocol version {v:?}")
            }
            DecodeError::UnsupportedCimVersion(v) => write!(f, "unsupported CIMVERSION {v:?}"),
            DecodeError::UnsupportedDtdVersion(v) => write!(f, "unsupported DTDVERSION {v:?}"),
            DecodeError::MultipleRequestsUnsupported => {
                f.write_str("multiple requests (MULTIREQ) are not supported")
            }
            DecodeError::HeaderMismatch(m) => write!(f, "HTTP header mismatch: {m}"),
            DecodeError::Cim(e) => write!(
                f,
                "{} in {}: {}",
                e.error.status, e.method_name, e.error.description
            ),
        }
    }
}

impl std::error::Error for DecodeError {}
