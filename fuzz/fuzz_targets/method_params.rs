#![no_main]
use libfuzzer_sys::fuzz_target;
use openwmi_cim::{CimType, Name, TypeDecl, Value};
use openwmi_cimom::coerce;
use openwmi_cimxml::{decode_response, method_response, Limits};

// A method parameter as a client sends it untyped (CIM-XML without
// PARAMTYPE, `openwmi call Name=Value`), converted to every declared type:
// an error or a value of that type, never a panic. And a method response
// carrying the text decodes.
fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let given = Value::String(text.into());
    for ty in CimType::ALL {
        for decl in [TypeDecl::scalar(ty), TypeDecl::array(ty)] {
            if let Ok(v) = coerce(&given, &decl) {
                let one = match &v {
                    Value::Array(items) => items.first().cloned(),
                    v => Some(v.clone()),
                };
                if let Some(t) = one.and_then(|v| v.cim_type()) {
                    assert_eq!(t, ty, "{text:?} as {ty:?}");
                }
            }
        }
    }
    let body = method_response("1", "M", Some(&Value::UInt32(0)), &[(Name::new("P"), given)]);
    let _ = decode_response(body.as_bytes(), &Limits::default());
});
