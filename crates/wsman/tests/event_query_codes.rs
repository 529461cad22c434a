//! A bad event query's fault carries Windows' own code (WSManFault's Code
//! and MSFT_WmiError's error_Code) next to the CIM status.

use openwmi_cim::{CimError, WbemStatus};
use openwmi_wsman::Fault;

#[test]
fn an_event_query_without_within_reports_windows_code() {
    let e = CimError::invalid_query("a WITHIN clause is needed")
        .with_wbem(WbemStatus::RegistrationTooPrecise);
    let f = Fault::from_cim(e);
    assert_eq!(f.code(), 0x8004_2002);
    let xml = f.envelope(Some("uuid:1"), "host");
    assert!(xml.contains("Code=\"2147753986\""), "{xml}");
    assert!(
        xml.contains("<p:CIMStatusCode>15</p:CIMStatusCode>"),
        "{xml}"
    );
    assert!(
        xml.contains("<p:error_Code>2147753986</p:error_Code>"),
        "{xml}"
    );
    assert!(
        xml.contains("<p:MessageID>WBEMESS_E_REGISTRATION_TOO_PRECISE</p:MessageID>"),
        "{xml}"
    );
}

#[test]
fn a_query_on_a_class_that_is_no_event_class_reports_windows_code() {
    let e = CimError::invalid_class("Win32_Share is not an event class")
        .with_wbem(WbemStatus::NotEventClass);
    let xml = Fault::from_cim(e).envelope(None, "host");
    assert!(
        xml.contains("<p:CIMStatusCode>5</p:CIMStatusCode>"),
        "{xml}"
    );
    assert!(
        xml.contains("<p:error_Code>2147749977</p:error_Code>"),
        "{xml}"
    );
}
