//! Status codes: the DMTF CIM_ERR_* codes (DSP0200 / DSP0201) and the WMI
//! WBEM_E_* HRESULTs, and the one mapping between them.
//!
//! Every crate reports failures of CIM operations as a [`CimError`]; this
//! module is the only place that knows which WBEM code a CIM code becomes.

use std::fmt;

macro_rules! codes {
    ($(#[$m:meta])* $ty:ident : $repr:ty { $($variant:ident = $value:expr, $text:expr;)* }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $ty { $($variant),* }
        impl $ty {
            pub const ALL: &'static [$ty] = &[$($ty::$variant),*];
            pub fn code(self) -> $repr { match self { $($ty::$variant => $value),* } }
            pub fn name(self) -> &'static str { match self { $($ty::$variant => $text),* } }
            pub fn from_code(code: $repr) -> Option<$ty> {
                match code { $(x if x == $value => Some($ty::$variant),)* _ => None }
            }
        }
    };
}

codes! {
    /// CIM status codes (DSP0200 table "CIM status codes"; pywbem's cim_constants).
    CimStatus: u32 {
        Failed = 1, "CIM_ERR_FAILED";
        AccessDenied = 2, "CIM_ERR_ACCESS_DENIED";
        InvalidNamespace = 3, "CIM_ERR_INVALID_NAMESPACE";
        InvalidParameter = 4, "CIM_ERR_INVALID_PARAMETER";
        InvalidClass = 5, "CIM_ERR_INVALID_CLASS";
        NotFound = 6, "CIM_ERR_NOT_FOUND";
        NotSupported = 7, "CIM_ERR_NOT_SUPPORTED";
        ClassHasChildren = 8, "CIM_ERR_CLASS_HAS_CHILDREN";
        ClassHasInstances = 9, "CIM_ERR_CLASS_HAS_INSTANCES";
        InvalidSuperclass = 10, "CIM_ERR_INVALID_SUPERCLASS";
        AlreadyExists = 11, "CIM_ERR_ALREADY_EXISTS";
        NoSuchProperty = 12, "CIM_ERR_NO_SUCH_PROPERTY";
        TypeMismatch = 13, "CIM_ERR_TYPE_MISMATCH";
        QueryLanguageNotSupported = 14, "CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED";
        InvalidQuery = 15, "CIM_ERR_INVALID_QUERY";
        MethodNotAvailable = 16, "CIM_ERR_METHOD_NOT_AVAILABLE";
        MethodNotFound = 17, "CIM_ERR_METHOD_NOT_FOUND";
        NamespaceNotEmpty = 20, "CIM_ERR_NAMESPACE_NOT_EMPTY";
        InvalidEnumerationContext = 21, "CIM_ERR_INVALID_ENUMERATION_CONTEXT";
        InvalidOperationTimeout = 22, "CIM_ERR_INVALID_OPERATION_TIMEOUT";
        PullHasBeenAbandoned = 23, "CIM_ERR_PULL_HAS_BEEN_ABANDONED";
        PullCannotBeAbandoned = 24, "CIM_ERR_PULL_CANNOT_BE_ABANDONED";
        FilteredEnumerationNotSupported = 25, "CIM_ERR_FILTERED_ENUMERATION_NOT_SUPPORTED";
        ContinuationOnErrorNotSupported = 26, "CIM_ERR_CONTINUATION_ON_ERROR_NOT_SUPPORTED";
        ServerLimitsExceeded = 27, "CIM_ERR_SERVER_LIMITS_EXCEEDED";
        ServerIsShuttingDown = 28, "CIM_ERR_SERVER_IS_SHUTTING_DOWN";
    }
}

codes! {
    /// WMI HRESULTs (WbemCli.h) that openwmi reports.
    WbemStatus: u32 {
        NoError = 0, "WBEM_S_NO_ERROR";
        Failed = 0x8004_1001, "WBEM_E_FAILED";
        NotFound = 0x8004_1002, "WBEM_E_NOT_FOUND";
        AccessDenied = 0x8004_1003, "WBEM_E_ACCESS_DENIED";
        ProviderFailure = 0x8004_1004, "WBEM_E_PROVIDER_FAILURE";
        TypeMismatch = 0x8004_1005, "WBEM_E_TYPE_MISMATCH";
        OutOfMemory = 0x8004_1006, "WBEM_E_OUT_OF_MEMORY";
        InvalidContext = 0x8004_1007, "WBEM_E_INVALID_CONTEXT";
        InvalidParameter = 0x8004_1008, "WBEM_E_INVALID_PARAMETER";
        NotAvailable = 0x8004_1009, "WBEM_E_NOT_AVAILABLE";
        NotSupported = 0x8004_100C, "WBEM_E_NOT_SUPPORTED";
        InvalidSuperclass = 0x8004_100D, "WBEM_E_INVALID_SUPERCLASS";
        InvalidNamespace = 0x8004_100E, "WBEM_E_INVALID_NAMESPACE";
        InvalidObject = 0x8004_100F, "WBEM_E_INVALID_OBJECT";
        InvalidClass = 0x8004_1010, "WBEM_E_INVALID_CLASS";
        TransportFailure = 0x8004_1015, "WBEM_E_TRANSPORT_FAILURE";
        InvalidOperation = 0x8004_1016, "WBEM_E_INVALID_OPERATION";
        InvalidQuery = 0x8004_1017, "WBEM_E_INVALID_QUERY";
        InvalidQueryType = 0x8004_1018, "WBEM_E_INVALID_QUERY_TYPE";
        AlreadyExists = 0x8004_1019, "WBEM_E_ALREADY_EXISTS";
        InvalidSyntax = 0x8004_1021, "WBEM_E_INVALID_SYNTAX";
        ClassHasChildren = 0x8004_1025, "WBEM_E_CLASS_HAS_CHILDREN";
        ClassHasInstances = 0x8004_1026, "WBEM_E_CLASS_HAS_INSTANCES";
        InvalidMethod = 0x8004_102E, "WBEM_E_INVALID_METHOD";
        InvalidProperty = 0x8004_1031, "WBEM_E_INVALID_PROPERTY";
        ShuttingDown = 0x8004_1033, "WBEM_E_SHUTTING_DOWN";
        ServerTooBusy = 0x8004_1045, "WBEM_E_SERVER_TOO_BUSY";
        LocalCredentials = 0x8004_1064, "WBEM_E_LOCAL_CREDENTIALS";
        NotEventClass = 0x8004_1059, "WBEM_E_NOT_EVENT_CLASS";
        QuotaViolation = 0x8004_106C, "WBEM_E_QUOTA_VIOLATION";
        RegistrationTooPrecise = 0x8004_2002, "WBEMESS_E_REGISTRATION_TOO_PRECISE";
        TimedOut = 0x8004_3001, "WBEM_E_TIMED_OUT";
    }
}

impl CimStatus {
    /// The WBEM HRESULT a WMI client sees for this CIM status.
    pub fn to_wbem(self) -> WbemStatus {
        use CimStatus as C;
        use WbemStatus as W;
        match self {
            C::Failed => W::Failed,
            C::AccessDenied => W::AccessDenied,
            C::InvalidNamespace => W::InvalidNamespace,
            C::InvalidParameter => W::InvalidParameter,
            C::InvalidClass => W::InvalidClass,
            C::NotFound => W::NotFound,
            C::NotSupported => W::NotSupported,
            C::ClassHasChildren => W::ClassHasChildren,
            C::ClassHasInstances => W::ClassHasInstances,
            C::InvalidSuperclass => W::InvalidSuperclass,
            C::AlreadyExists => W::AlreadyExists,
            C::NoSuchProperty => W::InvalidProperty,
            C::TypeMismatch => W::TypeMismatch,
            C::QueryLanguageNotSupported => W::InvalidQueryType,
            C::InvalidQuery => W::InvalidQuery,
            C::MethodNotAvailable => W::NotAvailable,
            C::MethodNotFound => W::InvalidMethod,
            C::NamespaceNotEmpty => W::Failed,
            C::InvalidEnumerationContext
            | C::InvalidOperationTimeout
            | C::PullHasBeenAbandoned
            | C::PullCannotBeAbandoned
            | C::ContinuationOnErrorNotSupported => W::InvalidOperation,
            C::FilteredEnumerationNotSupported => W::NotSupported,
            C::ServerLimitsExceeded => W::QuotaViolation,
            C::ServerIsShuttingDown => W::ShuttingDown,
        }
    }
}

impl fmt::Display for CimStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.code())
    }
}

impl fmt::Display for WbemStatus {
    /// `WBEM_E_INVALID_CLASS (0x80041010)`, the form the CLI prints.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (0x{:08X})", self.name(), self.code())
    }
}

/// The failure of a CIM operation: a status and a description for people.
/// This travels from providers through the object manager to the CLI (as a
/// WBEM code) and to the network (as `<ERROR CODE=.. DESCRIPTION=..>`).
///
/// Where Windows answers with a code of its own that no CIM status stands
/// for (WBEM_E_NOT_EVENT_CLASS, WBEMESS_E_REGISTRATION_TOO_PRECISE), the
/// error carries it ([`CimError::with_wbem`]): WMI's clients (the CLI,
/// WS-Management's MSFT_WmiError) report it, CIM-XML still the status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CimError {
    pub status: CimStatus,
    pub description: String,
    windows: Option<WbemStatus>,
}

impl CimError {
    pub fn new(status: CimStatus, description: impl Into<String>) -> Self {
        CimError {
            status,
            description: description.into(),
            windows: None,
        }
    }
    pub fn failed(description: impl Into<String>) -> Self {
        CimError::new(CimStatus::Failed, description)
    }
    pub fn not_found(description: impl Into<String>) -> Self {
        CimError::new(CimStatus::NotFound, description)
    }
    pub fn invalid_class(description: impl Into<String>) -> Self {
        CimError::new(CimStatus::InvalidClass, description)
    }
    pub fn invalid_namespace(description: impl Into<String>) -> Self {
        CimError::new(CimStatus::InvalidNamespace, description)
    }
    pub fn invalid_parameter(description: impl Into<String>) -> Self {
        CimError::new(CimStatus::InvalidParameter, description)
    }
    pub fn invalid_query(description: impl Into<String>) -> Self {
        CimError::new(CimStatus::InvalidQuery, description)
    }
    pub fn not_supported(description: impl Into<String>) -> Self {
        CimError::new(CimStatus::NotSupported, description)
    }
    pub fn access_denied(description: impl Into<String>) -> Self {
        CimError::new(CimStatus::AccessDenied, description)
    }
    /// The same error, reported to WMI's clients as `code`, Windows' own
    /// code for this failure, rather than as what the status maps to.
    pub fn with_wbem(mut self, code: WbemStatus) -> Self {
        self.windows = Some(code);
        self
    }
    /// The WBEM HRESULT WMI's clients see: Windows' own code when the
    /// error carries one, else the status's ([`CimStatus::to_wbem`]).
    pub fn wbem(&self) -> WbemStatus {
        self.windows.unwrap_or_else(|| self.status.to_wbem())
    }
}

impl fmt::Display for CimError {
    /// `WBEM_E_INVALID_CLASS (0x80041010): no class Win32_Foo in root\cimv2`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.wbem(), self.description)
    }
}

impl std::error::Error for CimError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_print() {
        for s in CimStatus::ALL {
            assert_eq!(CimStatus::from_code(s.code()), Some(*s));
        }
        for s in WbemStatus::ALL {
            assert_eq!(WbemStatus::from_code(s.code()), Some(*s));
        }
        assert_eq!(
            WbemStatus::InvalidClass.to_string(),
            "WBEM_E_INVALID_CLASS (0x80041010)"
        );
        assert_eq!(
            CimStatus::InvalidNamespace.to_wbem(),
            WbemStatus::InvalidNamespace
        );
        assert_eq!(CimStatus::InvalidQuery.to_wbem().code(), 0x8004_1017);
    }

    #[test]
    fn an_error_may_carry_windows_own_code() {
        let e = CimError::invalid_query("no WITHIN");
        assert_eq!(e.wbem(), WbemStatus::InvalidQuery);
        let e = e.with_wbem(WbemStatus::RegistrationTooPrecise);
        assert_eq!(e.status, CimStatus::InvalidQuery);
        assert_eq!(e.wbem().code(), 0x8004_2002);
        assert_eq!(
            e.to_string(),
            "WBEMESS_E_REGISTRATION_TOO_PRECISE (0x80042002): no WITHIN"
        );
        let e = CimError::invalid_class("x").with_wbem(WbemStatus::NotEventClass);
        assert_eq!(e.wbem().to_string(), "WBEM_E_NOT_EVENT_CLASS (0x80041059)");
    }
}
