//! Malformed and hostile bodies each give the right error, cheaply.

use openwmi_cimxml::{decode_request, decode_response, DecodeError, Limits};
use std::time::{Duration, Instant};

const GOOD: &str = "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.0\"><MESSAGE ID=\"1001\" PROTOCOLVERSION=\"1.0\"><SIMPLEREQ><IMETHODCALL NAME=\"EnumerateInstanceNames\"><LOCALNAMESPACEPATH><NAMESPACE NAME=\"root\"/><NAMESPACE NAME=\"cimv2\"/></LOCALNAMESPACEPATH><IPARAMVALUE NAME=\"ClassName\"><CLASSNAME NAME=\"Win32_Share\"/></IPARAMVALUE></IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>";

fn decode(body: &str) -> Result<openwmi_cimxml::Request, DecodeError> {
    decode_request(body.as_bytes(), &Limits::request())
}

fn header_of(body: &str) -> Option<&'static str> {
    decode(body).unwrap_err().http_cim_error_header()
}

#[test]
fn the_baseline_decodes() {
    assert!(decode(GOOD).is_ok());
}

#[test]
fn malformed_xml_is_not_well_formed() {
    for bad in [
        "",
        "   ",
        "<CIM",
        "not xml at all",
        &GOOD[..GOOD.len() - 6],
        &GOOD.replace("</SIMPLEREQ>", "</SIMPLEREQ></X>"),
        &GOOD.replace("NAME=\"root\"", "NAME=\"root\" NAME=\"x\""),
        &GOOD.replace("Win32_Share", "Win32&bogus;Share"),
        &GOOD.replace("Win32_Share", "Win32&#1;Share"),
        &GOOD.replace("Win32_Share", "Win32<Share"),
        &format!("{GOOD}<CIM/>"),
        &format!("{GOOD}trailing"),
    ] {
        let e = decode(bad).unwrap_err();
        assert!(
            matches!(e, DecodeError::NotWellFormed { .. }),
            "{bad:?}: {e:?}"
        );
        assert_eq!(e.http_cim_error_header(), Some("request-not-well-formed"));
        assert_eq!(e.http_status(), 400);
        assert!(e.to_string().contains("line"), "{e}");
    }
    // Invalid UTF-8.
    let mut bytes = GOOD.as_bytes().to_vec();
    let at = GOOD.find("Win32_Share").unwrap();
    bytes[at] = 0xFF;
    let e = decode_request(&bytes, &Limits::request()).unwrap_err();
    assert!(matches!(e, DecodeError::NotWellFormed { .. }), "{e:?}");
}

#[test]
fn valid_xml_that_is_no_cim_request_is_not_valid() {
    for bad in [
        "<HTML/>",
        "<CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.0\"/>",
        &GOOD.replace(" ID=\"1001\"", ""),
        &GOOD.replace("<SIMPLEREQ>", "<SIMPLERSP>").replace("</SIMPLEREQ>", "</SIMPLERSP>"),
        &GOOD.replace("IMETHODCALL", "BOGUSCALL"),
        &GOOD.replace(
            "<LOCALNAMESPACEPATH><NAMESPACE NAME=\"root\"/><NAMESPACE NAME=\"cimv2\"/></LOCALNAMESPACEPATH>",
            "",
        ),
        &GOOD.replace("<IPARAMVALUE NAME=", "<PARAMVALUE NAME=").replace("</IPARAMVALUE>", "</PARAMVALUE>"),
        &GOOD.replace("<CLASSNAME NAME=\"Win32_Share\"/>", "<CLASSNAME NAME=\"a\"/><CLASSNAME NAME=\"b\"/>"),
    ] {
        assert_eq!(header_of(bad), Some("request-not-valid"), "{bad}");
    }
}

#[test]
fn versions_and_multireq() {
    assert_eq!(
        header_of(&GOOD.replace("PROTOCOLVERSION=\"1.0\"", "PROTOCOLVERSION=\"2.0\"")),
        Some("unsupported-protocol-version")
    );
    assert!(decode(&GOOD.replace("PROTOCOLVERSION=\"1.0\"", "PROTOCOLVERSION=\"1.1\"")).is_ok());
    assert_eq!(
        header_of(&GOOD.replace("CIMVERSION=\"2.0\"", "CIMVERSION=\"3.0\"")),
        Some("unsupported-cim-version")
    );
    assert_eq!(
        header_of(&GOOD.replace("DTDVERSION=\"2.0\"", "DTDVERSION=\"1.1\"")),
        Some("unsupported-dtd-version")
    );
    let simple = &GOOD[GOOD.find("<SIMPLEREQ>").unwrap()..GOOD.find("</MESSAGE>").unwrap()];
    let multi = GOOD.replace(simple, &format!("<MULTIREQ>{simple}{simple}</MULTIREQ>"));
    assert_eq!(header_of(&multi), Some("multiple-requests-unsupported"));
}

#[test]
fn unsupported_and_extrinsic_operations_decode() {
    let req = decode(&GOOD.replace("EnumerateInstanceNames", "ModifyInstance")).unwrap();
    assert_eq!(
        req.operation,
        openwmi_cimxml::Operation::Unsupported("ModifyInstance".into())
    );
    let body = req.error_response(&openwmi_cim::CimError::not_supported("no"));
    assert!(body.contains("<IMETHODRESPONSE NAME=\"ModifyInstance\"><ERROR CODE=\"7\""));
}

#[test]
fn billion_laughs_is_refused_at_once() {
    let mut bomb =
        String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE CIM [\n<!ENTITY lol \"lol\">\n");
    for i in 1..10 {
        let prev = if i == 1 {
            "lol".to_string()
        } else {
            format!("lol{}", i - 1)
        };
        bomb.push_str(&format!(
            "<!ENTITY lol{i} \"{}\">\n",
            format!("&{prev};").repeat(10)
        ));
    }
    bomb.push_str("]>\n<CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.0\">&lol9;</CIM>");
    let t = Instant::now();
    let e = decode(&bomb).unwrap_err();
    assert!(t.elapsed() < Duration::from_millis(100));
    assert!(matches!(e, DecodeError::NotWellFormed { .. }), "{e:?}");
    assert!(e.to_string().contains("DOCTYPE"), "{e}");
    // Even a harmless DOCTYPE is refused, and so is an undeclared entity.
    assert_eq!(
        header_of(&GOOD.replace("<CIM ", "<!DOCTYPE CIM SYSTEM \"cim.dtd\"><CIM ")),
        Some("request-not-well-formed")
    );
    assert_eq!(
        header_of(&GOOD.replace("Win32_Share", "&lol9;")),
        Some("request-not-well-formed")
    );
    // External entities never get fetched: refused as DOCTYPE.
    let xxe = "<!DOCTYPE CIM [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><CIM>&x;</CIM>";
    assert_eq!(header_of(xxe), Some("request-not-well-formed"));
}

#[test]
fn deep_nesting_is_refused() {
    let depth = 100_000;
    let body = format!("{}{}", "<A>".repeat(depth), "</A>".repeat(depth));
    let t = Instant::now();
    let e = decode(&body).unwrap_err();
    assert!(t.elapsed() < Duration::from_millis(500));
    assert!(
        matches!(
            e,
            DecodeError::LimitExceeded {
                what: "element depth",
                limit: 64,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.http_cim_error_header(), Some("request-not-well-formed"));
}

#[test]
fn huge_element_counts_and_sizes_are_refused() {
    let many = GOOD.replace(
        "<CLASSNAME NAME=\"Win32_Share\"/>",
        &"<CLASSNAME NAME=\"x\"/>".repeat(30_000),
    );
    let e = decode(&many).unwrap_err();
    assert!(
        matches!(
            e,
            DecodeError::LimitExceeded {
                what: "element count",
                ..
            }
        ),
        "{e:?}"
    );

    let big_text = GOOD.replace("Win32_Share", &"x".repeat(100_000));
    let limits = Limits {
        max_attribute_len: 1000,
        ..Limits::request()
    };
    let e = decode_request(big_text.as_bytes(), &limits).unwrap_err();
    assert!(
        matches!(
            e,
            DecodeError::LimitExceeded {
                what: "attribute length",
                ..
            }
        ),
        "{e:?}"
    );

    let limits = Limits {
        max_body_bytes: 100,
        ..Limits::request()
    };
    let e = decode_request(GOOD.as_bytes(), &limits).unwrap_err();
    assert_eq!(e.http_status(), 413);
    assert_eq!(e.http_cim_error_header(), None);

    let long_value = format!(
        "<CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.0\"><MESSAGE ID=\"1\" PROTOCOLVERSION=\"1.0\"><SIMPLERSP><IMETHODRESPONSE NAME=\"X\"><IRETURNVALUE><VALUE>{}</VALUE></IRETURNVALUE></IMETHODRESPONSE></SIMPLERSP></MESSAGE></CIM>",
        "&amp;".repeat(300_000)
    );
    let limits = Limits {
        max_text_len: 100_000,
        ..Limits::default()
    };
    let e = decode_response(long_value.as_bytes(), &limits).unwrap_err();
    assert!(
        matches!(
            e,
            DecodeError::LimitExceeded {
                what: "text length",
                ..
            }
        ),
        "{e:?}"
    );
    assert!(decode_response(long_value.as_bytes(), &Limits::default()).is_ok());
}
