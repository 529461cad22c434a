//! The one place where the errors of the library crates become CIM statuses.

use openwmi_cim::CimError;

/// A WQL error: a language other than WQL is QUERY_LANGUAGE_NOT_SUPPORTED
/// (WBEM_E_INVALID_QUERY_TYPE); everything else is INVALID_QUERY.
pub fn wql_error(e: openwmi_wql::Error) -> CimError {
    CimError::new(e.status(), e.to_string())
}

/// A malformed object path given by a caller.
pub fn path_error(e: openwmi_cim::Error) -> CimError {
    CimError::invalid_parameter(e.to_string())
}
