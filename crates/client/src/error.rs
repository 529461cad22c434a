//! The one error type of this crate: a WBEM HRESULT and a description.

use openwmi_cim::{CimError, CimStatus, WbemStatus};
use std::fmt;

/// A failed ConnectServer or services call. `status` is what a WMI client
/// would see; `cim` is the CIM status the server (or the in-process object
/// manager) reported, when the failure came from one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WbemError {
    pub status: WbemStatus,
    pub cim: Option<CimStatus>,
    pub message: String,
}

impl WbemError {
    pub fn new(status: WbemStatus, message: impl Into<String>) -> Self {
        WbemError {
            status,
            cim: None,
            message: message.into(),
        }
    }
    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        WbemError::new(WbemStatus::InvalidParameter, message)
    }
    pub fn transport(message: impl Into<String>) -> Self {
        WbemError::new(WbemStatus::TransportFailure, message)
    }
    pub fn access_denied(message: impl Into<String>) -> Self {
        WbemError::new(WbemStatus::AccessDenied, message)
    }
    pub fn failed(message: impl Into<String>) -> Self {
        WbemError::new(WbemStatus::Failed, message)
    }

    /// The same failure as a [`CimError`], when it has a CIM status (errors
    /// such as WBEM_E_TRANSPORT_FAILURE have none).
    pub fn to_cim_error(&self) -> Option<CimError> {
        self.cim.map(|s| CimError::new(s, self.message.clone()))
    }
}

impl From<CimError> for WbemError {
    fn from(e: CimError) -> Self {
        WbemError {
            status: e.status.to_wbem(),
            cim: Some(e.status),
            message: e.description,
        }
    }
}

impl fmt::Display for WbemError {
    /// `WBEM_E_ACCESS_DENIED (0x80041003): the server refused the credentials`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status, self.message)
    }
}

impl std::error::Error for WbemError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_cim_mapping() {
        let e = WbemError::transport("connection refused");
        assert_eq!(
            e.to_string(),
            "WBEM_E_TRANSPORT_FAILURE (0x80041015): connection refused"
        );
        assert!(e.to_cim_error().is_none());
        let e = WbemError::from(CimError::invalid_namespace("no namespace root/x"));
        assert_eq!(e.status, WbemStatus::InvalidNamespace);
        assert_eq!(
            e.to_cim_error().unwrap().status,
            CimStatus::InvalidNamespace
        );
    }
}
