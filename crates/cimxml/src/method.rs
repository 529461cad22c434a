//! The answer to an extrinsic method call (DSP0201 METHODRESPONSE): the
//! return value and the output parameters, each typed (PARAMTYPE) so that a
//! client reads them back as what the method declared.

use crate::writer::{self, escape_attr};
use openwmi_cim::{CimType, Name, Value};

fn param_type(v: &Value) -> Option<&'static str> {
    match v {
        Value::Reference(_) => Some("reference"),
        Value::Array(items) => items.first().and_then(param_type),
        v => v.cim_type().map(CimType::as_str),
    }
}

fn write_typed(out: &mut String, element: &str, name: Option<&str>, v: &Value) {
    write_typed_as(out, element, name, v, false);
}

fn write_typed_as(out: &mut String, element: &str, name: Option<&str>, v: &Value, embedded: bool) {
    out.push('<');
    out.push_str(element);
    if let Some(n) = name {
        out.push_str(" NAME=\"");
        escape_attr(out, n);
        out.push('"');
    }
    if let Some(t) = param_type(v) {
        out.push_str(" PARAMTYPE=\"");
        out.push_str(t);
        out.push('"');
    }
    if embedded {
        // The string holds an INSTANCE: a client reads it back as one.
        out.push_str(" EmbeddedObject=\"instance\"");
    }
    out.push('>');
    match v {
        Value::Array(items) if matches!(items.first(), Some(Value::Reference(_))) => {
            writer::write_value_refarray(out, items)
        }
        v => writer::write_value(out, v),
    }
    out.push_str("</");
    out.push_str(element);
    out.push('>');
}

/// The whole response of a successful method call.
pub fn method_response(
    message_id: &str,
    method_name: &str,
    return_value: Option<&Value>,
    out_params: &[(Name, Value)],
) -> String {
    method_response_embedding(message_id, method_name, return_value, out_params, &[])
}

/// [`method_response`], the output parameters named in `embedded` (declared
/// `EmbeddedInstance` or `EmbeddedObject`, holding an INSTANCE's XML) marked
/// `EmbeddedObject="instance"`.
pub fn method_response_embedding(
    message_id: &str,
    method_name: &str,
    return_value: Option<&Value>,
    out_params: &[(Name, Value)],
    embedded: &[Name],
) -> String {
    let mut out = String::with_capacity(300);
    writer::write_message_start(&mut out, message_id);
    out.push_str("<SIMPLERSP><METHODRESPONSE NAME=\"");
    escape_attr(&mut out, method_name);
    out.push_str("\">");
    if let Some(v) = return_value {
        write_typed(&mut out, "RETURNVALUE", None, v);
    }
    for (name, v) in out_params {
        let is_embedded =
            matches!(v, Value::String(_)) && embedded.iter().any(|e| e.is(name.as_str()));
        write_typed_as(&mut out, "PARAMVALUE", Some(name.as_str()), v, is_embedded);
    }
    out.push_str("</METHODRESPONSE></SIMPLERSP>");
    out.push_str(writer::MESSAGE_END);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Limits;

    #[test]
    fn embedded_instances_are_marked() {
        let body = method_response_embedding(
            "8",
            "CreateShare",
            Some(&Value::UInt32(0)),
            &[
                (
                    Name::new("CreatedShare"),
                    Value::String("<INSTANCE CLASSNAME=\"X\"></INSTANCE>".into()),
                ),
                (Name::new("Note"), Value::String("<INSTANCE".into())),
            ],
            &[Name::new("createdshare")],
        );
        assert!(body.contains(
            "<PARAMVALUE NAME=\"CreatedShare\" PARAMTYPE=\"string\" EmbeddedObject=\"instance\">"
        ));
        assert!(body.contains("<PARAMVALUE NAME=\"Note\" PARAMTYPE=\"string\">"));
    }

    #[test]
    fn reads_back_as_the_client_decodes_it() {
        let body = method_response(
            "7",
            "Create",
            Some(&Value::UInt32(22)),
            &[
                (Name::new("Note"), Value::String("a<b".into())),
                (
                    Name::new("Ids"),
                    Value::Array(vec![Value::UInt64(1), Value::UInt64(2)]),
                ),
            ],
        );
        assert!(body.contains(r#"<RETURNVALUE PARAMTYPE="uint32"><VALUE>22</VALUE></RETURNVALUE>"#));
        let r = crate::decode_response(body.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(r.method_name, "Create");
        let reply = r.result.unwrap();
        assert_eq!(reply.return_value, Some(Value::UInt32(22)));
        assert_eq!(reply.out_params[0].1, Some(Value::String("a<b".into())));
        assert_eq!(
            reply.out_params[1].1,
            Some(Value::Array(vec![Value::UInt64(1), Value::UInt64(2)]))
        );
    }
}
