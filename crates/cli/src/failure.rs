//! What a command reports when it fails, and how `main` prints it.

use openwmi_cim::{CimError, CimStatus};

/// A failure to report: a WBEM error (printed with its name and code) or a
/// plain message (usage-level problems such as an unreadable file).
#[derive(Debug)]
pub enum Failure {
    Cim(CimError),
    Message(String),
    /// Lines already worded as errors (the MOF compiler's `file:line:col: error: ...`).
    Lines(String),
}

impl From<CimError> for Failure {
    fn from(e: CimError) -> Self {
        Failure::Cim(e)
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Message(e.to_string())
    }
}

/// A CimError for a command-line problem that WMI reports as a bad parameter.
pub fn invalid_parameter(msg: impl Into<String>) -> Failure {
    Failure::Cim(CimError::new(CimStatus::InvalidParameter, msg))
}
