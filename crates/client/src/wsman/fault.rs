//! SOAP faults as ConnectServer's WBEM codes. Pure.
//!
//! A WMI HRESULT in the fault (the `f:WSManFault` Code when it is one,
//! `MSFT_WmiError.error_Code`, `__ExtendedStatus.StatusCode`) is reported
//! as itself; a CIM status (`CIM_Error.CIMStatusCode`) through
//! `CimStatus::to_wbem`; otherwise the DSP0226 subcode picks the WBEM code
//! a WMI user expects for that failure, and the WinRM code and message stay
//! in the text.

use super::response::Fault;
use crate::error::WbemError;
use openwmi_cim::{CimStatus, WbemStatus};

/// Where a fault's status came from, for the text.
pub fn to_error(f: &Fault, host: &str) -> WbemError {
    let wmi = [f.wmi_code, f.wsman_code]
        .into_iter()
        .flatten()
        .find(|c| c & 0xFFFF_0000 == 0x8004_0000);
    let (status, cim) = if let Some(code) = wmi {
        let s = WbemStatus::from_code(code).unwrap_or(WbemStatus::Failed);
        (s, cim_of(s))
    } else if let Some(c) = f.cim_status.and_then(CimStatus::from_code) {
        (c.to_wbem(), Some(c))
    } else {
        let s = by_subcode(f.subcode.as_deref().unwrap_or(""), f.detail.as_deref());
        (s, cim_of(s))
    };
    let mut text = format!("{host}: ");
    let reason = if f.reason.is_empty() {
        "the server answered with a SOAP fault"
    } else {
        f.reason.as_str()
    };
    text.push_str(reason);
    let mut tags = Vec::new();
    if let Some(s) = &f.subcode {
        tags.push(format!("WS-Management fault {s}"));
    }
    if let Some(c) = f.wsman_code {
        tags.push(format!("WinRM code 0x{c:08X} ({c})"));
    }
    if let Some(c) = wmi.filter(|c| WbemStatus::from_code(*c).is_none()) {
        tags.push(format!("WMI code 0x{c:08X}"));
    }
    if !tags.is_empty() {
        text.push_str(&format!(" [{}]", tags.join(", ")));
    }
    if let Some(m) = &f.message {
        if m != reason {
            text.push_str(": ");
            text.push_str(m);
        }
    }
    WbemError {
        status,
        cim,
        message: text,
    }
}

/// The CIM status whose WBEM code is `s`, when there is one, so callers that
/// look at the CIM status (the CLI's error text) see it.
fn cim_of(s: WbemStatus) -> Option<CimStatus> {
    CimStatus::ALL.iter().copied().find(|c| c.to_wbem() == s)
}

fn by_subcode(subcode: &str, detail: Option<&str>) -> WbemStatus {
    let local = subcode.rsplit(':').next().unwrap_or(subcode);
    let detail = detail.unwrap_or("");
    match local {
        // Windows answers a missing instance, class or namespace alike.
        "DestinationUnreachable" if detail.ends_with("/InvalidResourceURI") => WbemStatus::NotFound,
        "DestinationUnreachable" => WbemStatus::NotFound,
        "AccessDenied" => WbemStatus::AccessDenied,
        "CannotProcessFilter" => WbemStatus::InvalidQuery,
        "FilterDialectRequestedUnavailable" | "FilteringNotSupported" => {
            WbemStatus::InvalidQueryType
        }
        "InvalidSelectors" | "InvalidParameter" | "SchemaValidationError" => {
            WbemStatus::InvalidParameter
        }
        "ActionNotSupported" | "UnsupportedFeature" => WbemStatus::NotSupported,
        "AlreadyExists" => WbemStatus::AlreadyExists,
        "TimedOut" => WbemStatus::TimedOut,
        "EncodingLimit" | "QuotaLimit" => WbemStatus::QuotaViolation,
        "InvalidEnumerationContext" => WbemStatus::InvalidOperation,
        _ => WbemStatus::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        let f = Fault {
            code: "Sender".into(),
            subcode: Some("wsa:DestinationUnreachable".into()),
            reason: "The WS-Management service cannot process the request.".into(),
            wsman_code: Some(2150858752),
            message: Some("No such instance.".into()),
            ..Fault::default()
        };
        let e = to_error(&f, "h:5986");
        assert_eq!(e.status, WbemStatus::NotFound);
        assert!(
            e.message.contains("WinRM code 0x80338000 (2150858752)"),
            "{e}"
        );
        assert!(e.message.ends_with(": No such instance."), "{e}");
        let f = Fault {
            subcode: Some("wsman:InternalError".into()),
            wsman_code: Some(0x8004_1010),
            ..Fault::default()
        };
        assert_eq!(to_error(&f, "h").status, WbemStatus::InvalidClass);
        let f = Fault {
            subcode: Some("wsman:InternalError".into()),
            cim_status: Some(3),
            ..Fault::default()
        };
        assert_eq!(to_error(&f, "h").status, WbemStatus::InvalidNamespace);
        let f = Fault {
            wmi_code: Some(0x8004_1017),
            wsman_code: Some(0x8033_801A),
            ..Fault::default()
        };
        assert_eq!(to_error(&f, "h").status, WbemStatus::InvalidQuery);
        let f = Fault {
            subcode: Some("wsen:CannotProcessFilter".into()),
            ..Fault::default()
        };
        assert_eq!(to_error(&f, "h").status, WbemStatus::InvalidQuery);
        assert_eq!(to_error(&Fault::default(), "h").status, WbemStatus::Failed);
    }
}
