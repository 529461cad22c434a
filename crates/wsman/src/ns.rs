//! The XML namespaces and action URIs of WS-Management (MS-WSMV 2.2.1,
//! DSP0226) that openwmi reads and writes, each written once.

pub const SOAP: &str = "http://www.w3.org/2003/05/soap-envelope";
/// SOAP 1.1's envelope: answered with a VersionMismatch fault.
pub const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const WSA: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
pub const WSMAN: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd";
/// Microsoft's additions (`p:`/`msftwinrm:`: DataLocale, SessionId, ...).
pub const WSMV: &str = "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd";
pub const WSEN: &str = "http://schemas.xmlsoap.org/ws/2004/09/enumeration";
/// WS-Eventing (2004/08), as WinRM speaks it.
pub const WSE: &str = "http://schemas.xmlsoap.org/ws/2004/08/eventing";
pub const WXF: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer";
pub const WSMB: &str = "http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd";
pub const WSMID: &str = "http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd";
pub const CIM: &str = "http://schemas.dmtf.org/wbem/wscim/1/common";
pub const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
pub const WSMANFAULT: &str = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault";

/// The anonymous endpoint: the only ReplyTo openwmi answers to.
pub const ANONYMOUS: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous";

pub const ACTION_GET: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get";
pub const ACTION_GET_RESPONSE: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/GetResponse";
pub const ACTION_ENUMERATE: &str = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate";
pub const ACTION_ENUMERATE_RESPONSE: &str =
    "http://schemas.xmlsoap.org/ws/2004/09/enumeration/EnumerateResponse";
pub const ACTION_PULL: &str = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull";
pub const ACTION_PULL_RESPONSE: &str =
    "http://schemas.xmlsoap.org/ws/2004/09/enumeration/PullResponse";
pub const ACTION_RELEASE: &str = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Release";
pub const ACTION_RELEASE_RESPONSE: &str =
    "http://schemas.xmlsoap.org/ws/2004/09/enumeration/ReleaseResponse";
pub const ACTION_GET_STATUS: &str = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/GetStatus";
pub const ACTION_RENEW: &str = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Renew";

pub const FAULT_ADDRESSING: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing/fault";
pub const FAULT_WSMAN: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault";
pub const FAULT_ENUMERATION: &str = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/fault";
pub const FAULT_EVENTING: &str = "http://schemas.xmlsoap.org/ws/2004/08/eventing/fault";
/// Fault detail URIs start with this (MS-WSMV 3.1.4.1.21).
pub const FAULT_DETAIL: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/";

pub const DIALECT_WQL: &str = "http://schemas.microsoft.com/wbem/wsman/1/WQL";
pub const DIALECT_CQL: &str = "http://schemas.dmtf.org/wbem/cql/1/dsp0202.pdf";
pub const DIALECT_SELECTOR: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman/SelectorFilter";
pub const DIALECT_ASSOCIATION: &str =
    "http://schemas.dmtf.org/wbem/wsman/1/cimbinding/associationFilter";

/// The `xmlns` declarations every answer's envelope carries, so that the
/// body uses the prefixes without declaring them again.
pub const ENVELOPE_DECLARATIONS: &str = concat!(
    " xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"",
    " xmlns:a=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\"",
    " xmlns:w=\"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd\"",
    " xmlns:n=\"http://schemas.xmlsoap.org/ws/2004/09/enumeration\"",
    " xmlns:x=\"http://schemas.xmlsoap.org/ws/2004/09/transfer\"",
    " xmlns:b=\"http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd\"",
    " xmlns:cim=\"http://schemas.dmtf.org/wbem/wscim/1/common\"",
    " xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"",
);

pub const ACTION_SUBSCRIBE: &str = "http://schemas.xmlsoap.org/ws/2004/08/eventing/Subscribe";
pub const ACTION_SUBSCRIBE_RESPONSE: &str =
    "http://schemas.xmlsoap.org/ws/2004/08/eventing/SubscribeResponse";
pub const ACTION_EVENTING_RENEW: &str = "http://schemas.xmlsoap.org/ws/2004/08/eventing/Renew";
pub const ACTION_EVENTING_RENEW_RESPONSE: &str =
    "http://schemas.xmlsoap.org/ws/2004/08/eventing/RenewResponse";
pub const ACTION_EVENTING_GET_STATUS: &str =
    "http://schemas.xmlsoap.org/ws/2004/08/eventing/GetStatus";
pub const ACTION_EVENTING_GET_STATUS_RESPONSE: &str =
    "http://schemas.xmlsoap.org/ws/2004/08/eventing/GetStatusResponse";
pub const ACTION_UNSUBSCRIBE: &str = "http://schemas.xmlsoap.org/ws/2004/08/eventing/Unsubscribe";
pub const ACTION_UNSUBSCRIBE_RESPONSE: &str =
    "http://schemas.xmlsoap.org/ws/2004/08/eventing/UnsubscribeResponse";
/// The one delivery mode openwmi serves: events taken with wsen:Pull.
pub const DELIVERY_PULL: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman/Pull";
