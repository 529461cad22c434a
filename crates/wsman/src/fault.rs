//! SOAP 1.2 faults with DSP0226's subcodes, and Windows' `f:WSManFault`
//! detail (MS-WSMV 2.2.4.43) carrying, for failures of the object manager,
//! the WBEM HRESULT and an `MSFT_WmiError` instance, as a Windows server's
//! WMI plugin does: pywinrm and pypsrp read the code, PowerShell's CIM
//! cmdlets the error instance. A fault is the one error type of this crate.

use crate::ns;
use crate::xml;
use openwmi_cim::{CimError, CimStatus};

/// What went wrong, as DSP0226 names it: each kind has its SOAP code, its
/// subcode, its fault action and the WinRM HRESULT Windows reports for it
/// (wsmerror.h).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// A SOAP 1.1 envelope, or no SOAP envelope at all.
    VersionMismatch,
    /// A header marked `mustUnderstand` that openwmi does not know.
    MustUnderstand,
    DestinationUnreachable,
    ActionNotSupported,
    InvalidMessageInformationHeader,
    MessageInformationHeaderRequired,
    InvalidSelectors,
    AccessDenied,
    EncodingLimit,
    QuotaLimit,
    UnsupportedFeature,
    InvalidParameter,
    AlreadyExists,
    SchemaValidationError,
    TimedOut,
    InternalError,
    CannotProcessFilter,
    FilteringNotSupported,
    InvalidEnumerationContext,
    FilterDialectRequestedUnavailable,
    /// WS-Eventing (`e:`): a delivery mode other than Pull.
    DeliveryModeRequestedUnavailable,
    InvalidExpirationTime,
    /// An `e:Expires` that is no duration (Windows takes durations only).
    UnsupportedExpirationType,
    EventSourceUnableToProcess,
    UnableToRenew,
    /// An eventing request naming no subscription this caller holds.
    InvalidMessage,
}

impl FaultKind {
    /// `s:Sender` (the request is wrong) or `s:Receiver`.
    fn sender(self) -> bool {
        !matches!(
            self,
            FaultKind::TimedOut
                | FaultKind::InternalError
                | FaultKind::InvalidEnumerationContext
                | FaultKind::EventSourceUnableToProcess
                | FaultKind::UnableToRenew
        )
    }

    /// The subcode's prefix (declared on the fault) and local name.
    pub fn subcode(self) -> Option<(&'static str, &'static str)> {
        use FaultKind as K;
        Some(match self {
            K::VersionMismatch | K::MustUnderstand => return None,
            K::DestinationUnreachable => ("a", "DestinationUnreachable"),
            K::ActionNotSupported => ("a", "ActionNotSupported"),
            K::InvalidMessageInformationHeader => ("a", "InvalidMessageInformationHeader"),
            K::MessageInformationHeaderRequired => ("a", "MessageInformationHeaderRequired"),
            K::InvalidSelectors => ("w", "InvalidSelectors"),
            K::AccessDenied => ("w", "AccessDenied"),
            K::EncodingLimit => ("w", "EncodingLimit"),
            K::QuotaLimit => ("w", "QuotaLimit"),
            K::UnsupportedFeature => ("w", "UnsupportedFeature"),
            K::InvalidParameter => ("w", "InvalidParameter"),
            K::AlreadyExists => ("w", "AlreadyExists"),
            K::SchemaValidationError => ("w", "SchemaValidationError"),
            K::TimedOut => ("w", "TimedOut"),
            K::InternalError => ("w", "InternalError"),
            K::CannotProcessFilter => ("n", "CannotProcessFilter"),
            K::FilteringNotSupported => ("n", "FilteringNotSupported"),
            K::InvalidEnumerationContext => ("n", "InvalidEnumerationContext"),
            K::FilterDialectRequestedUnavailable => ("n", "FilterDialectRequestedUnavailable"),
            K::DeliveryModeRequestedUnavailable => ("e", "DeliveryModeRequestedUnavailable"),
            K::InvalidExpirationTime => ("e", "InvalidExpirationTime"),
            K::UnsupportedExpirationType => ("e", "UnsupportedExpirationType"),
            K::EventSourceUnableToProcess => ("e", "EventSourceUnableToProcess"),
            K::UnableToRenew => ("e", "UnableToRenew"),
            K::InvalidMessage => ("e", "InvalidMessage"),
        })
    }

    fn action(self) -> &'static str {
        match self.subcode() {
            None | Some(("a", _)) => ns::FAULT_ADDRESSING,
            Some(("n", _)) => ns::FAULT_ENUMERATION,
            Some(("e", _)) => ns::FAULT_EVENTING,
            Some(_) => ns::FAULT_WSMAN,
        }
    }

    /// The HRESULT a Windows WinRM service reports with this fault
    /// (wsmerror.h), as `f:WSManFault`'s `Code`.
    pub fn winrm_code(self) -> u32 {
        use FaultKind as K;
        match self {
            K::VersionMismatch => 2150858791,        // INVALID_SOAP_BODY
            K::MustUnderstand => 2150859035,         // INVALID_HEADER
            K::DestinationUnreachable => 2150858752, // RESOURCE_NOT_FOUND
            K::ActionNotSupported => 2150858771,
            K::InvalidMessageInformationHeader => 2150858767,
            K::MessageInformationHeaderRequired => 2150858769,
            K::InvalidSelectors => 2150858813,
            K::AccessDenied => 0x8007_0005, // E_ACCESSDENIED
            K::EncodingLimit => 2150858805,
            K::QuotaLimit => 2150858815,
            K::UnsupportedFeature => 2150859064, // REQUEST_NOT_SUPPORTED_AT_SERVICE
            K::InvalidParameter => 2150858810,
            K::AlreadyExists => 0x8004_1019, // WBEM_E_ALREADY_EXISTS
            K::SchemaValidationError => 2150858817,
            K::TimedOut => 2150858793,
            K::InternalError => 2150858755, // PROVIDER_FAILURE
            K::CannotProcessFilter => 2150858778,
            K::FilteringNotSupported => 2150858776,
            K::InvalidEnumerationContext => 2150858779,
            K::FilterDialectRequestedUnavailable => 2150858777,
            K::DeliveryModeRequestedUnavailable => 0x8033_801E,
            K::InvalidExpirationTime => 0x8033_801F,
            K::UnsupportedExpirationType => 0x8033_8020,
            K::EventSourceUnableToProcess => 0x8033_8023,
            K::UnableToRenew => 0x8033_8024,
            K::InvalidMessage => 0x8033_8025,
        }
    }
}

/// A SOAP fault to answer with (HTTP 500, as Windows, OMI and Pegasus do).
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    pub kind: FaultKind,
    /// The `s:Reason` text: what and where.
    pub reason: String,
    /// The `wsman:FaultDetail` URI's last segment (`InvalidResourceURI`).
    pub detail: Option<&'static str>,
    /// The object manager's error this fault reports, if it is one.
    pub cim: Option<Box<CimError>>,
    /// The header a MustUnderstand fault names: namespace, local name.
    pub not_understood: Option<Box<(String, String)>>,
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind.subcode() {
            Some((p, l)) => write!(f, "{p}:{l}: {}", self.reason),
            None => write!(f, "{:?}: {}", self.kind, self.reason),
        }
    }
}

impl std::error::Error for Fault {}

impl Fault {
    pub fn new(kind: FaultKind, reason: impl Into<String>) -> Fault {
        Fault {
            kind,
            reason: reason.into(),
            detail: None,
            cim: None,
            not_understood: None,
        }
    }

    /// Adds the `wsman:FaultDetail` (`.../faultDetail/<detail>`).
    pub fn with_detail(mut self, detail: &'static str) -> Fault {
        self.detail = Some(detail);
        self
    }

    /// A header openwmi does not understand, marked mustUnderstand.
    pub fn must_understand(namespace: &str, local: &str) -> Fault {
        let mut f = Fault::new(
            FaultKind::MustUnderstand,
            format!("the header {local} ({namespace}) marked mustUnderstand is not understood"),
        );
        f.not_understood = Some(Box::new((namespace.to_owned(), local.to_owned())));
        f
    }

    /// A failure of the object manager, mapped as DSP0226's table 10 (via
    /// Pegasus' mapping) does; the CIM error itself goes in the detail.
    pub fn from_cim(e: CimError) -> Fault {
        use CimStatus as C;
        use FaultKind as K;
        let (kind, detail) = match e.status {
            C::NotFound | C::InvalidNamespace => (K::DestinationUnreachable, None),
            C::InvalidClass => (K::DestinationUnreachable, Some("InvalidResourceURI")),
            C::AccessDenied => (K::AccessDenied, None),
            C::AlreadyExists => (K::AlreadyExists, None),
            C::InvalidParameter | C::TypeMismatch | C::NoSuchProperty => {
                (K::InvalidParameter, None)
            }
            C::InvalidQuery => (K::CannotProcessFilter, None),
            C::QueryLanguageNotSupported => (K::FilteringNotSupported, None),
            // A method the class does not have, or no provider runs.
            C::MethodNotFound | C::MethodNotAvailable => {
                (K::ActionNotSupported, Some("ActionMismatch"))
            }
            C::NotSupported | C::FilteredEnumerationNotSupported => {
                (K::ActionNotSupported, Some("ActionMismatch"))
            }
            C::InvalidEnumerationContext => (K::InvalidEnumerationContext, None),
            C::ServerLimitsExceeded => (K::QuotaLimit, None),
            _ => (K::InternalError, None),
        };
        Fault {
            kind,
            reason: e.description.clone(),
            detail,
            cim: Some(Box::new(e)),
            not_understood: None,
        }
    }

    /// The `f:WSManFault` `Code`: the WBEM HRESULT of a failure of the
    /// object manager, else WinRM's code for the fault.
    pub fn code(&self) -> u32 {
        match &self.cim {
            Some(e) => e.wbem().code(),
            None => self.kind.winrm_code(),
        }
    }

    /// The whole fault envelope, answering the request `relates_to` (its
    /// MessageID) on `machine`.
    pub fn envelope(&self, relates_to: Option<&str>, machine: &str) -> String {
        let mut out = String::with_capacity(1024 + self.reason.len() * 2);
        let extra = self.not_understood_header();
        crate::writer::envelope_head(&mut out, self.kind.action(), relates_to, extra.as_deref());
        out.push_str("<s:Body><s:Fault");
        if matches!(self.kind.subcode(), Some(("e", _))) {
            // The envelope declares no eventing prefix; its faults alone use it.
            out.push_str(" xmlns:e=\"");
            out.push_str(ns::WSE);
            out.push('"');
        }
        out.push_str("><s:Code><s:Value>");
        out.push_str(match self.kind {
            FaultKind::VersionMismatch => "s:VersionMismatch",
            FaultKind::MustUnderstand => "s:MustUnderstand",
            k if k.sender() => "s:Sender",
            _ => "s:Receiver",
        });
        out.push_str("</s:Value>");
        if let Some((prefix, local)) = self.kind.subcode() {
            out.push_str("<s:Subcode><s:Value>");
            out.push_str(prefix);
            out.push(':');
            out.push_str(local);
            out.push_str("</s:Value></s:Subcode>");
        }
        out.push_str("</s:Code><s:Reason><s:Text xml:lang=\"en-US\">");
        xml::text(&mut out, &self.reason);
        out.push_str("</s:Text></s:Reason><s:Detail>");
        if let Some(d) = self.detail {
            out.push_str("<w:FaultDetail>");
            out.push_str(ns::FAULT_DETAIL);
            out.push_str(d);
            out.push_str("</w:FaultDetail>");
        }
        out.push_str("<f:WSManFault xmlns:f=\"");
        out.push_str(ns::WSMANFAULT);
        out.push_str("\" Code=\"");
        out.push_str(&self.code().to_string());
        out.push_str("\" Machine=\"");
        xml::attr(&mut out, machine);
        out.push_str("\"><f:Message>");
        xml::text(&mut out, &self.reason);
        out.push_str("</f:Message></f:WSManFault>");
        if let Some(e) = &self.cim {
            wmi_error(&mut out, e);
        }
        out.push_str("</s:Detail></s:Fault></s:Body></s:Envelope>");
        out
    }

    /// The `s:NotUnderstood` header of a MustUnderstand fault.
    fn not_understood_header(&self) -> Option<String> {
        let (namespace, local) = self.not_understood.as_deref()?;
        let mut out = String::from("<s:NotUnderstood xmlns:nu=\"");
        xml::attr(&mut out, namespace);
        out.push_str("\" qname=\"nu:");
        xml::attr(&mut out, local);
        out.push_str("\"/>");
        Some(out)
    }
}

/// The `MSFT_WmiError` (a CIM_Error) Windows puts in a WMI fault: the CIM
/// status, the WBEM HRESULT (`error_Code`) and the message.
fn wmi_error(out: &mut String, e: &CimError) {
    let wbem = e.wbem();
    out.push_str(
        "<p:MSFT_WmiError xmlns:p=\"http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/MSFT_WmiError\" \
         b:IsCIM_Error=\"true\" xsi:type=\"p:MSFT_WmiError_Type\">",
    );
    xml::element(out, "p:CIMStatusCode", &e.status.code().to_string());
    xml::element(out, "p:CIMStatusCodeDescription", e.status.name());
    xml::element(out, "p:Message", &e.description);
    xml::element(out, "p:MessageID", wbem.name());
    xml::element(out, "p:OwningEntity", "openwmi");
    xml::element(out, "p:error_Code", &wbem.code().to_string());
    xml::element(out, "p:error_Type", "HRESULT");
    xml::element(out, "p:error_WindowsErrorMessage", &e.description);
    out.push_str("</p:MSFT_WmiError>");
}
