//! Requests: decoding what a client sends (server side), encoding what
//! pywbem would send (client side), and checking the CIMMethod/CIMObject
//! headers against the body.

use crate::error::{CimRequestError, DecodeError, Limits};
use crate::operation::{not_valid, IParamWriter, Params};
use crate::read::{self, Invalid};
use crate::tree::{self, Element};
use crate::writer::{self, escape_attr};
use openwmi_cim::{CimError, CimStatus, CimType, Keys, Name, ObjectPath, Value};
use openwmi_operation::Operation;

/// A decoded CIM-XML request: one operation on one namespace.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    /// MESSAGE ID, echoed in the response.
    pub message_id: String,
    /// MESSAGE PROTOCOLVERSION (1.x).
    pub protocol_version: String,
    /// The namespace from LOCALNAMESPACEPATH, `/`-separated (`root/cimv2`).
    pub namespace: String,
    pub operation: Operation,
}

impl Request {
    pub fn method_name(&self) -> &str {
        self.operation.method_name()
    }

    /// The 200 response body reporting `err` for this request.
    pub fn error_response(&self, err: &CimError) -> String {
        writer::error_response(
            &self.message_id,
            self.method_name(),
            self.operation.is_intrinsic(),
            err,
        )
    }
}

/// Decodes a request body (server side). See [`DecodeError`] for how each
/// failure is answered.
pub fn decode_request(body: &[u8], limits: &Limits) -> Result<Request, DecodeError> {
    let doc = tree::parse(body, limits)?;
    let (message_id, protocol_version, msg) = read_envelope(doc.root())?;
    let content = match msg.exactly() {
        Some([c]) => c,
        None => {
            return Err(DecodeError::not_valid(
                msg.offset,
                "<MESSAGE> must hold exactly one element",
            ))
        }
    };
    match content.name {
        "SIMPLEREQ" => {}
        "MULTIREQ" => return Err(DecodeError::MultipleRequestsUnsupported),
        other => {
            return Err(DecodeError::not_valid(
                content.offset,
                format!("<{other}> is not a request (expected <SIMPLEREQ>)"),
            ))
        }
    }
    let mut calls = content.children().filter(|c| c.name != "CORRELATOR");
    let (Some(call), None) = (calls.next(), calls.next()) else {
        return Err(DecodeError::not_valid(
            content.offset,
            "<SIMPLEREQ> must hold one <IMETHODCALL> or <METHODCALL>",
        ));
    };
    let intrinsic = match call.name {
        "IMETHODCALL" => true,
        "METHODCALL" => false,
        other => {
            return Err(DecodeError::not_valid(
                call.offset,
                format!("<{other}> inside <SIMPLEREQ>"),
            ))
        }
    };
    let method_name = read::req_attr(call, "NAME").map_err(not_valid)?.to_owned();
    let cim_error = |error: CimError| {
        DecodeError::Cim(Box::new(CimRequestError {
            error,
            message_id: message_id.clone(),
            method_name: method_name.clone(),
            intrinsic,
        }))
    };
    let (namespace, operation) = if intrinsic {
        let Some(lns) = call.children().next() else {
            return Err(DecodeError::not_valid(
                call.offset,
                "<IMETHODCALL> lacks <LOCALNAMESPACEPATH>",
            ));
        };
        let namespace = read::read_localnamespacepath(lns).map_err(not_valid)?;
        let mut params = Params::collect(call.children().skip(1), "IPARAMVALUE")?;
        let op = Operation::decode_intrinsic(&method_name, &mut params).map_err(cim_error)?;
        (namespace, op)
    } else {
        let Some(target) = call.children().next() else {
            return Err(DecodeError::not_valid(
                call.offset,
                "<METHODCALL> lacks its target path",
            ));
        };
        let mut path = match target.name {
            "LOCALCLASSPATH" => read::read_localclasspath(target),
            "LOCALINSTANCEPATH" => read::read_path_any(target),
            other => read::invalid(target, format!("<{other}> is not a METHODCALL target")),
        }
        .map_err(not_valid)?;
        let namespace = path.namespace.take().unwrap_or_default();
        let params = Params::collect(call.children().skip(1), "PARAMVALUE")?;
        let params = decode_method_params(params).map_err(cim_error)?;
        let op = Operation::InvokeMethod {
            target: path,
            method: Name::new(&method_name),
            params,
        };
        (namespace, op)
    };
    Ok(Request {
        message_id,
        protocol_version,
        namespace,
        operation,
    })
}

/// Checks CIM and MESSAGE; returns (message ID, protocol version, MESSAGE).
pub(crate) fn read_envelope<'a>(
    root: Element<'a>,
) -> Result<(String, String, Element<'a>), DecodeError> {
    if root.name != "CIM" {
        return Err(DecodeError::not_valid(
            root.offset,
            format!("root element is <{}>, not <CIM>", root.name),
        ));
    }
    let cim_version = read::req_attr(root, "CIMVERSION").map_err(not_valid)?;
    if !cim_version.starts_with("2.") {
        return Err(DecodeError::UnsupportedCimVersion(cim_version.to_owned()));
    }
    let dtd_version = read::req_attr(root, "DTDVERSION").map_err(not_valid)?;
    if !dtd_version.starts_with("2.") {
        return Err(DecodeError::UnsupportedDtdVersion(dtd_version.to_owned()));
    }
    let msg = match root.exactly() {
        Some([m]) if m.name == "MESSAGE" => m,
        _ => {
            return Err(DecodeError::not_valid(
                root.offset,
                "<CIM> must hold one <MESSAGE>",
            ))
        }
    };
    let id = read::req_attr(msg, "ID").map_err(not_valid)?.to_owned();
    let pv = read::req_attr(msg, "PROTOCOLVERSION")
        .map_err(not_valid)?
        .to_owned();
    if !(pv == "1" || pv.starts_with("1.")) {
        return Err(DecodeError::UnsupportedProtocolVersion(pv));
    }
    Ok((id, pv, msg))
}

fn decode_method_params(p: Params<'_>) -> Result<Vec<(Name, Option<Value>)>, CimError> {
    let mut out = Vec::with_capacity(p.items.len());
    for (name, value, pv, _) in p.items {
        let ty = match pv.attr("PARAMTYPE").or_else(|| pv.attr("TYPE")) {
            None => None,
            Some(t) => match CimType::from_keyword(t) {
                Some(t) => Some(t),
                None => {
                    return Err(CimError::new(
                        CimStatus::NotSupported,
                        format!("parameter {name}: PARAMTYPE {t:?} is not supported"),
                    ))
                }
            },
        };
        let bad =
            |i: Invalid| CimError::invalid_parameter(format!("parameter {name}: {}", i.message));
        let v = match value {
            None => None,
            Some(el) => Some(match el.name {
                "VALUE" => read::read_value(el, ty.unwrap_or(CimType::String)).map_err(bad)?,
                "VALUE.ARRAY" => {
                    read::read_value_array(el, ty.unwrap_or(CimType::String)).map_err(bad)?
                }
                "VALUE.REFERENCE" => {
                    Value::Reference(Box::new(read::read_value_reference(el).map_err(bad)?))
                }
                "VALUE.REFARRAY" => read::read_value_refarray(el).map_err(bad)?,
                "CLASSNAME" | "INSTANCENAME" => {
                    Value::Reference(Box::new(read::read_path_any(el).map_err(bad)?))
                }
                other => {
                    return Err(CimError::new(
                        CimStatus::NotSupported,
                        format!("parameter {name}: <{other}> values are not supported"),
                    ))
                }
            }),
        };
        out.push((Name::new(name), v));
    }
    Ok(out)
}

// ---------------------------------------------------------------- encoding

/// Encodes `op` as the request body pywbem would send for it (client side).
/// Optional parameters that are NULL are left out; booleans are always sent.
/// For [`Operation::InvokeMethod`], the target's own namespace wins over
/// `namespace`.
pub fn encode_request(message_id: &str, namespace: &str, op: &Operation) -> String {
    let mut out = String::with_capacity(1024);
    out.push_str(writer::XML_DECL);
    out.push_str("<CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.0\"><MESSAGE ID=\"");
    escape_attr(&mut out, message_id);
    out.push_str("\" PROTOCOLVERSION=\"1.0\"><SIMPLEREQ>");
    if let Operation::InvokeMethod {
        target,
        method,
        params,
    } = op
    {
        encode_method_call(&mut out, namespace, target, method, params);
    } else {
        out.push_str("<IMETHODCALL NAME=\"");
        escape_attr(&mut out, op.method_name());
        out.push_str("\">");
        writer::write_localnamespacepath(&mut out, namespace);
        op.encode_params(&mut IParamWriter(&mut out));
        out.push_str("</IMETHODCALL>");
    }
    out.push_str("</SIMPLEREQ></MESSAGE></CIM>\n");
    out
}

fn encode_method_call(
    out: &mut String,
    namespace: &str,
    target: &ObjectPath,
    method: &Name,
    params: &[(Name, Option<Value>)],
) {
    out.push_str("<METHODCALL NAME=\"");
    escape_attr(out, method.as_str());
    out.push_str("\">");
    let ns = target.namespace.as_deref().unwrap_or(namespace);
    if matches!(target.keys, Keys::Class) {
        out.push_str("<LOCALCLASSPATH>");
        writer::write_localnamespacepath(out, ns);
        writer::write_classname(out, target.class.as_str());
        out.push_str("</LOCALCLASSPATH>");
    } else {
        out.push_str("<LOCALINSTANCEPATH>");
        writer::write_localnamespacepath(out, ns);
        writer::write_instancename(out, target);
        out.push_str("</LOCALINSTANCEPATH>");
    }
    for (name, value) in params {
        out.push_str("<PARAMVALUE NAME=\"");
        escape_attr(out, name.as_str());
        out.push('"');
        let ty = value.as_ref().and_then(Value::cim_type);
        if let Some(t) = ty {
            out.push_str(" PARAMTYPE=\"");
            out.push_str(t.as_str());
            out.push('"');
        }
        match value {
            None => out.push_str("/>"),
            Some(v) => {
                out.push('>');
                match v {
                    Value::Array(items) if ty == Some(CimType::Reference) => {
                        writer::write_value_refarray(out, items)
                    }
                    v => writer::write_value(out, v),
                }
                out.push_str("</PARAMVALUE>");
            }
        }
    }
    out.push_str("</METHODCALL>");
}

// ----------------------------------------------------------------- headers

fn same_namespace(a: &str, b: &str) -> bool {
    let segments = |s| str::split(s, ['/', '\\']).filter(|x: &&str| !x.is_empty());
    let (mut a, mut b) = (segments(a), segments(b));
    loop {
        match (a.next(), b.next()) {
            (None, None) => return true,
            (Some(x), Some(y)) if x.eq_ignore_ascii_case(y) => {}
            _ => return false,
        }
    }
}

/// Checks the `CIMMethod` and `CIMObject` HTTP headers against the decoded
/// body (DSP0200 7.4: a disagreement is answered 400 `header-mismatch`).
/// Both headers may be percent-encoded. For an extrinsic call CIMObject is
/// the target path; its namespace and class are compared.
pub fn check_headers(
    method_header: Option<&str>,
    object_header: Option<&str>,
    req: &Request,
) -> Result<(), DecodeError> {
    let decode = |name: &str, value: Option<&str>| -> Result<Option<String>, DecodeError> {
        match value {
            None => Ok(None),
            Some(v) => openwmi_cim::percent::decode(v.trim())
                .map(Some)
                .ok_or_else(|| {
                    DecodeError::HeaderMismatch(format!(
                        "{name} {v:?} is not valid percent-encoding"
                    ))
                }),
        }
    };
    let method = decode("CIMMethod", method_header)?;
    let object = decode("CIMObject", object_header)?;
    check_decoded_headers(method.as_deref(), object.as_deref(), req)
}

/// [`check_headers`] for header values a server has already percent-decoded
/// (decoding twice would misread a `%` that was itself encoded).
pub fn check_decoded_headers(
    method: Option<&str>,
    object: Option<&str>,
    req: &Request,
) -> Result<(), DecodeError> {
    let mismatch = |m: String| Err(DecodeError::HeaderMismatch(m));
    let Some(method) = method.map(str::trim) else {
        return mismatch("missing CIMMethod header".into());
    };
    if !method.eq_ignore_ascii_case(req.method_name()) {
        return mismatch(format!(
            "CIMMethod {method:?} but the body calls {}",
            req.method_name()
        ));
    }
    let Some(object) = object.map(str::trim) else {
        return mismatch("missing CIMObject header".into());
    };
    let (ns, rest) = match object.split_once(':') {
        Some((ns, rest)) if !req.operation.is_intrinsic() => (ns, Some(rest)),
        _ => (object, None),
    };
    if !same_namespace(ns, &req.namespace) {
        return mismatch(format!(
            "CIMObject names namespace {ns:?} but the body {:?}",
            req.namespace
        ));
    }
    if let (Some(rest), Operation::InvokeMethod { target, .. }) = (rest, &req.operation) {
        let class = rest.split(['.', '=']).next().unwrap_or("");
        if !class.eq_ignore_ascii_case(target.class.as_str()) {
            return mismatch(format!(
                "CIMObject names class {class:?} but the body {}",
                target.class
            ));
        }
    }
    Ok(())
}
