//! Requests: decoding what a client sends (server side), encoding what
//! pywbem would send (client side), and checking the CIMMethod/CIMObject
//! headers against the body.

use crate::error::{CimRequestError, DecodeError, Limits};
use crate::operation::{Filter, OpenOptions, Operation};
use crate::read::{self, Invalid};
use crate::tree::{self, Element};
use crate::writer::{self, escape_attr, escape_text};
use openwmi_cim::{CimError, CimStatus, CimType, Keys, Name, ObjectPath, Value};

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

fn not_valid(i: Invalid) -> DecodeError {
    DecodeError::not_valid(i.offset, i.message)
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
        let params = Params::collect(call.children().skip(1), "IPARAMVALUE")?;
        let op = decode_intrinsic(&method_name, params).map_err(cim_error)?;
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

/// The named parameters of a call, each taken at most once.
struct Params<'a> {
    items: Vec<(&'a str, Option<Element<'a>>, Element<'a>, bool)>,
}

fn invalid_param(msg: impl Into<String>) -> CimError {
    CimError::invalid_parameter(msg)
}

impl<'a> Params<'a> {
    fn collect(
        children: impl Iterator<Item = Element<'a>>,
        elem: &str,
    ) -> Result<Params<'a>, DecodeError> {
        let mut items: Vec<(&'a str, Option<Element<'a>>, Element<'a>, bool)> = Vec::new();
        for c in children {
            if c.name != elem {
                return Err(DecodeError::not_valid(
                    c.offset,
                    format!("<{}> where <{elem}> was expected", c.name),
                ));
            }
            let name = read::req_attr(c, "NAME").map_err(not_valid)?;
            let mut values = c.children();
            let value = match (values.next(), values.next()) {
                (None, _) => None,
                (Some(v), None) => Some(v),
                (Some(_), Some(_)) => {
                    return Err(DecodeError::not_valid(
                        c.offset,
                        format!("<{elem} NAME=\"{name}\"> holds more than one element"),
                    ))
                }
            };
            items.push((name, value, c, false));
        }
        Ok(Params { items })
    }

    /// `None`: absent; `Some(None)`: present and NULL.
    fn take(&mut self, name: &str) -> Result<Option<Option<Element<'a>>>, CimError> {
        let mut found = None;
        for it in &mut self.items {
            if it.0.eq_ignore_ascii_case(name) {
                if found.is_some() {
                    return Err(invalid_param(format!("parameter {name} given twice")));
                }
                it.3 = true;
                found = Some(it.1);
            }
        }
        Ok(found)
    }

    fn finish(self) -> Result<(), CimError> {
        match self.items.iter().find(|i| !i.3) {
            Some(i) => Err(invalid_param(format!("unknown parameter {}", i.0))),
            None => Ok(()),
        }
    }

    fn value_el(&mut self, name: &str) -> Result<Option<Element<'a>>, CimError> {
        Ok(self.take(name)?.flatten())
    }

    fn class_name(&mut self, name: &str) -> Result<Option<Name>, CimError> {
        match self.value_el(name)? {
            None => Ok(None),
            Some(el) if el.name == "CLASSNAME" => read::read_classname(el)
                .map(Some)
                .map_err(|i| invalid_param(format!("{name}: {}", i.message))),
            Some(el) => Err(invalid_param(format!(
                "{name} must be a <CLASSNAME>, is a <{}>",
                el.name
            ))),
        }
    }

    fn req_class_name(&mut self, name: &str) -> Result<Name, CimError> {
        self.class_name(name)?
            .ok_or_else(|| invalid_param(format!("missing parameter {name}")))
    }

    fn text(&mut self, name: &str) -> Result<Option<&'a str>, CimError> {
        match self.value_el(name)? {
            None => Ok(None),
            Some(el) if el.name == "VALUE" && el.children().len() == 0 => Ok(Some(el.text_str())),
            Some(el) => Err(invalid_param(format!(
                "{name} must be a <VALUE>, is a <{}>",
                el.name
            ))),
        }
    }

    fn string(&mut self, name: &str) -> Result<Option<String>, CimError> {
        Ok(self.text(name)?.map(str::to_owned))
    }

    fn req_string(&mut self, name: &str) -> Result<String, CimError> {
        self.string(name)?
            .ok_or_else(|| invalid_param(format!("missing parameter {name}")))
    }

    fn name(&mut self, name: &str) -> Result<Option<Name>, CimError> {
        Ok(self.text(name)?.map(|s| Name::new(s.trim())))
    }

    fn boolean(&mut self, name: &str, default: bool) -> Result<bool, CimError> {
        match self.text(name)? {
            None => Ok(default),
            Some(t) => match read::parse_value(t, CimType::Boolean) {
                Ok(Value::Boolean(b)) => Ok(b),
                _ => Err(invalid_param(format!("{name}: {t:?} is not TRUE or FALSE"))),
            },
        }
    }

    fn uint32(&mut self, name: &str) -> Result<Option<u32>, CimError> {
        match self.text(name)? {
            None => Ok(None),
            Some(t) => match read::parse_value(t, CimType::UInt32) {
                Ok(Value::UInt32(v)) => Ok(Some(v)),
                _ => Err(invalid_param(format!("{name}: {t:?} is not a uint32"))),
            },
        }
    }

    fn property_list(&mut self, name: &str) -> Result<Option<Vec<Name>>, CimError> {
        match self.value_el(name)? {
            None => Ok(None),
            Some(el) if el.name == "VALUE.ARRAY" => {
                let mut names = Vec::with_capacity(el.children().len());
                for v in el.children() {
                    match v.name {
                        "VALUE" if v.children().len() == 0 => names.push(Name::new(v.text.trim())),
                        "VALUE.NULL" => {}
                        other => {
                            return Err(invalid_param(format!("<{other}> inside {name}")));
                        }
                    }
                }
                Ok(Some(names))
            }
            Some(el) => Err(invalid_param(format!(
                "{name} must be a <VALUE.ARRAY>, is a <{}>",
                el.name
            ))),
        }
    }

    fn instance_name(&mut self, name: &str) -> Result<ObjectPath, CimError> {
        match self.value_el(name)? {
            None => Err(invalid_param(format!("missing parameter {name}"))),
            Some(el) if el.name == "INSTANCENAME" => read::read_instancename(el)
                .map_err(|i| invalid_param(format!("{name}: {}", i.message))),
            Some(el) => Err(invalid_param(format!(
                "{name} must be an <INSTANCENAME>, is a <{}>",
                el.name
            ))),
        }
    }

    fn object_name(&mut self, name: &str) -> Result<ObjectPath, CimError> {
        match self.value_el(name)? {
            None => Err(invalid_param(format!("missing parameter {name}"))),
            Some(el) if el.name == "INSTANCENAME" || el.name == "CLASSNAME" => {
                read::read_path_any(el).map_err(|i| invalid_param(format!("{name}: {}", i.message)))
            }
            Some(el) => Err(invalid_param(format!(
                "{name} must be a <CLASSNAME> or <INSTANCENAME>, is a <{}>",
                el.name
            ))),
        }
    }

    fn filter(&mut self) -> Result<Option<Filter>, CimError> {
        let lang = self.string("FilterQueryLanguage")?;
        let query = self.string("FilterQuery")?;
        match (lang, query) {
            (None, None) => Ok(None),
            (Some(query_language), Some(query)) => Ok(Some(Filter {
                query_language,
                query,
            })),
            _ => Err(invalid_param(
                "FilterQueryLanguage and FilterQuery must be given together",
            )),
        }
    }

    fn open_options(&mut self) -> Result<OpenOptions, CimError> {
        Ok(OpenOptions {
            operation_timeout: self.uint32("OperationTimeout")?,
            continue_on_error: self.boolean("ContinueOnError", false)?,
            max_object_count: self.uint32("MaxObjectCount")?.unwrap_or(0),
        })
    }
}

fn decode_intrinsic(method: &str, mut p: Params<'_>) -> Result<Operation, CimError> {
    let known = [
        "GetClass",
        "EnumerateClasses",
        "EnumerateClassNames",
        "GetInstance",
        "EnumerateInstances",
        "EnumerateInstanceNames",
        "ExecQuery",
        "Associators",
        "AssociatorNames",
        "References",
        "ReferenceNames",
        "GetQualifier",
        "EnumerateQualifiers",
        "OpenEnumerateInstances",
        "OpenEnumerateInstancePaths",
        "OpenAssociatorInstances",
        "OpenAssociatorInstancePaths",
        "OpenReferenceInstances",
        "OpenReferenceInstancePaths",
        "OpenQueryInstances",
        "PullInstancesWithPath",
        "PullInstancePaths",
        "PullInstances",
        "CloseEnumeration",
        "EnumerationCount",
    ];
    let Some(canonical) = known.iter().find(|k| k.eq_ignore_ascii_case(method)) else {
        return Ok(Operation::Unsupported(method.to_owned()));
    };
    let op = match *canonical {
        "GetClass" => Operation::GetClass {
            class_name: p.req_class_name("ClassName")?,
            local_only: p.boolean("LocalOnly", true)?,
            include_qualifiers: p.boolean("IncludeQualifiers", true)?,
            include_class_origin: p.boolean("IncludeClassOrigin", false)?,
            property_list: p.property_list("PropertyList")?,
        },
        "EnumerateClasses" => Operation::EnumerateClasses {
            class_name: p.class_name("ClassName")?,
            deep_inheritance: p.boolean("DeepInheritance", false)?,
            local_only: p.boolean("LocalOnly", true)?,
            include_qualifiers: p.boolean("IncludeQualifiers", true)?,
            include_class_origin: p.boolean("IncludeClassOrigin", false)?,
        },
        "EnumerateClassNames" => Operation::EnumerateClassNames {
            class_name: p.class_name("ClassName")?,
            deep_inheritance: p.boolean("DeepInheritance", false)?,
        },
        "GetInstance" => Operation::GetInstance {
            instance_name: p.instance_name("InstanceName")?,
            local_only: p.boolean("LocalOnly", true)?,
            include_qualifiers: p.boolean("IncludeQualifiers", false)?,
            include_class_origin: p.boolean("IncludeClassOrigin", false)?,
            property_list: p.property_list("PropertyList")?,
        },
        "EnumerateInstances" => Operation::EnumerateInstances {
            class_name: p.req_class_name("ClassName")?,
            local_only: p.boolean("LocalOnly", true)?,
            deep_inheritance: p.boolean("DeepInheritance", true)?,
            include_qualifiers: p.boolean("IncludeQualifiers", false)?,
            include_class_origin: p.boolean("IncludeClassOrigin", false)?,
            property_list: p.property_list("PropertyList")?,
        },
        "EnumerateInstanceNames" => Operation::EnumerateInstanceNames {
            class_name: p.req_class_name("ClassName")?,
        },
        "ExecQuery" => Operation::ExecQuery {
            query_language: p.req_string("QueryLanguage")?,
            query: p.req_string("Query")?,
        },
        "Associators" => Operation::Associators {
            object_name: p.object_name("ObjectName")?,
            assoc_class: p.class_name("AssocClass")?,
            result_class: p.class_name("ResultClass")?,
            role: p.name("Role")?,
            result_role: p.name("ResultRole")?,
            include_qualifiers: p.boolean("IncludeQualifiers", false)?,
            include_class_origin: p.boolean("IncludeClassOrigin", false)?,
            property_list: p.property_list("PropertyList")?,
        },
        "AssociatorNames" => Operation::AssociatorNames {
            object_name: p.object_name("ObjectName")?,
            assoc_class: p.class_name("AssocClass")?,
            result_class: p.class_name("ResultClass")?,
            role: p.name("Role")?,
            result_role: p.name("ResultRole")?,
        },
        "References" => Operation::References {
            object_name: p.object_name("ObjectName")?,
            result_class: p.class_name("ResultClass")?,
            role: p.name("Role")?,
            include_qualifiers: p.boolean("IncludeQualifiers", false)?,
            include_class_origin: p.boolean("IncludeClassOrigin", false)?,
            property_list: p.property_list("PropertyList")?,
        },
        "ReferenceNames" => Operation::ReferenceNames {
            object_name: p.object_name("ObjectName")?,
            result_class: p.class_name("ResultClass")?,
            role: p.name("Role")?,
        },
        "GetQualifier" => Operation::GetQualifier {
            qualifier_name: p
                .name("QualifierName")?
                .ok_or_else(|| invalid_param("missing parameter QualifierName"))?,
        },
        "EnumerateQualifiers" => Operation::EnumerateQualifiers,
        "OpenEnumerateInstances" => Operation::OpenEnumerateInstances {
            class_name: p.req_class_name("ClassName")?,
            deep_inheritance: p.boolean("DeepInheritance", true)?,
            include_class_origin: p.boolean("IncludeClassOrigin", false)?,
            property_list: p.property_list("PropertyList")?,
            filter: p.filter()?,
            options: p.open_options()?,
        },
        "OpenEnumerateInstancePaths" => Operation::OpenEnumerateInstancePaths {
            class_name: p.req_class_name("ClassName")?,
            filter: p.filter()?,
            options: p.open_options()?,
        },
        "OpenAssociatorInstances" => Operation::OpenAssociatorInstances {
            instance_name: p.instance_name("InstanceName")?,
            assoc_class: p.class_name("AssocClass")?,
            result_class: p.class_name("ResultClass")?,
            role: p.name("Role")?,
            result_role: p.name("ResultRole")?,
            include_class_origin: p.boolean("IncludeClassOrigin", false)?,
            property_list: p.property_list("PropertyList")?,
            filter: p.filter()?,
            options: p.open_options()?,
        },
        "OpenAssociatorInstancePaths" => Operation::OpenAssociatorInstancePaths {
            instance_name: p.instance_name("InstanceName")?,
            assoc_class: p.class_name("AssocClass")?,
            result_class: p.class_name("ResultClass")?,
            role: p.name("Role")?,
            result_role: p.name("ResultRole")?,
            filter: p.filter()?,
            options: p.open_options()?,
        },
        "OpenReferenceInstances" => Operation::OpenReferenceInstances {
            instance_name: p.instance_name("InstanceName")?,
            result_class: p.class_name("ResultClass")?,
            role: p.name("Role")?,
            include_class_origin: p.boolean("IncludeClassOrigin", false)?,
            property_list: p.property_list("PropertyList")?,
            filter: p.filter()?,
            options: p.open_options()?,
        },
        "OpenReferenceInstancePaths" => Operation::OpenReferenceInstancePaths {
            instance_name: p.instance_name("InstanceName")?,
            result_class: p.class_name("ResultClass")?,
            role: p.name("Role")?,
            filter: p.filter()?,
            options: p.open_options()?,
        },
        "OpenQueryInstances" => Operation::OpenQueryInstances {
            filter: p.filter()?.ok_or_else(|| {
                invalid_param("missing parameters FilterQueryLanguage and FilterQuery")
            })?,
            return_query_result_class: p.boolean("ReturnQueryResultClass", false)?,
            options: p.open_options()?,
        },
        "PullInstancesWithPath" | "PullInstancePaths" | "PullInstances" => {
            let enumeration_context = p.req_string("EnumerationContext")?;
            let max_object_count = p
                .uint32("MaxObjectCount")?
                .ok_or_else(|| invalid_param("missing parameter MaxObjectCount"))?;
            match *canonical {
                "PullInstancesWithPath" => Operation::PullInstancesWithPath {
                    enumeration_context,
                    max_object_count,
                },
                "PullInstancePaths" => Operation::PullInstancePaths {
                    enumeration_context,
                    max_object_count,
                },
                _ => Operation::PullInstances {
                    enumeration_context,
                    max_object_count,
                },
            }
        }
        "CloseEnumeration" => Operation::CloseEnumeration {
            enumeration_context: p.req_string("EnumerationContext")?,
        },
        "EnumerationCount" => Operation::EnumerationCount {
            enumeration_context: p.req_string("EnumerationContext")?,
        },
        _ => return Ok(Operation::Unsupported(method.to_owned())),
    };
    p.finish()?;
    Ok(op)
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
        let bad = |i: Invalid| invalid_param(format!("parameter {name}: {}", i.message));
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

fn param_start(out: &mut String, name: &str) {
    out.push_str("<IPARAMVALUE NAME=\"");
    escape_attr(out, name);
    out.push_str("\">");
}

fn p_class(out: &mut String, name: &str, v: Option<&Name>) {
    if let Some(c) = v {
        param_start(out, name);
        writer::write_classname(out, c.as_str());
        out.push_str("</IPARAMVALUE>");
    }
}

fn p_text(out: &mut String, name: &str, v: Option<&str>) {
    if let Some(t) = v {
        param_start(out, name);
        out.push_str("<VALUE>");
        escape_text(out, t);
        out.push_str("</VALUE></IPARAMVALUE>");
    }
}

fn p_name(out: &mut String, name: &str, v: Option<&Name>) {
    p_text(out, name, v.map(Name::as_str));
}

fn p_bool(out: &mut String, name: &str, v: bool) {
    p_text(out, name, Some(if v { "TRUE" } else { "FALSE" }));
}

fn p_u32(out: &mut String, name: &str, v: Option<u32>) {
    if let Some(v) = v {
        p_text(out, name, Some(&v.to_string()));
    }
}

fn p_props(out: &mut String, v: Option<&Vec<Name>>) {
    if let Some(list) = v {
        param_start(out, "PropertyList");
        out.push_str("<VALUE.ARRAY>");
        for n in list {
            out.push_str("<VALUE>");
            escape_text(out, n.as_str());
            out.push_str("</VALUE>");
        }
        out.push_str("</VALUE.ARRAY></IPARAMVALUE>");
    }
}

fn p_path(out: &mut String, name: &str, path: &ObjectPath) {
    param_start(out, name);
    if matches!(path.keys, Keys::Class) {
        writer::write_classname(out, path.class.as_str());
    } else {
        writer::write_instancename(out, path);
    }
    out.push_str("</IPARAMVALUE>");
}

fn p_filter(out: &mut String, f: Option<&Filter>) {
    if let Some(f) = f {
        p_text(out, "FilterQueryLanguage", Some(&f.query_language));
        p_text(out, "FilterQuery", Some(&f.query));
    }
}

fn p_open(out: &mut String, o: &OpenOptions) {
    p_u32(out, "OperationTimeout", o.operation_timeout);
    p_bool(out, "ContinueOnError", o.continue_on_error);
    p_u32(out, "MaxObjectCount", Some(o.max_object_count));
}

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
        encode_params(&mut out, op);
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

fn encode_params(out: &mut String, op: &Operation) {
    match op {
        Operation::GetClass {
            class_name,
            local_only,
            include_qualifiers,
            include_class_origin,
            property_list,
        } => {
            p_class(out, "ClassName", Some(class_name));
            p_bool(out, "LocalOnly", *local_only);
            p_bool(out, "IncludeQualifiers", *include_qualifiers);
            p_bool(out, "IncludeClassOrigin", *include_class_origin);
            p_props(out, property_list.as_ref());
        }
        Operation::EnumerateClasses {
            class_name,
            deep_inheritance,
            local_only,
            include_qualifiers,
            include_class_origin,
        } => {
            p_class(out, "ClassName", class_name.as_ref());
            p_bool(out, "DeepInheritance", *deep_inheritance);
            p_bool(out, "LocalOnly", *local_only);
            p_bool(out, "IncludeQualifiers", *include_qualifiers);
            p_bool(out, "IncludeClassOrigin", *include_class_origin);
        }
        Operation::EnumerateClassNames {
            class_name,
            deep_inheritance,
        } => {
            p_class(out, "ClassName", class_name.as_ref());
            p_bool(out, "DeepInheritance", *deep_inheritance);
        }
        Operation::GetInstance {
            instance_name,
            local_only,
            include_qualifiers,
            include_class_origin,
            property_list,
        } => {
            p_path(out, "InstanceName", instance_name);
            p_bool(out, "LocalOnly", *local_only);
            p_bool(out, "IncludeQualifiers", *include_qualifiers);
            p_bool(out, "IncludeClassOrigin", *include_class_origin);
            p_props(out, property_list.as_ref());
        }
        Operation::EnumerateInstances {
            class_name,
            local_only,
            deep_inheritance,
            include_qualifiers,
            include_class_origin,
            property_list,
        } => {
            p_class(out, "ClassName", Some(class_name));
            p_bool(out, "LocalOnly", *local_only);
            p_bool(out, "DeepInheritance", *deep_inheritance);
            p_bool(out, "IncludeQualifiers", *include_qualifiers);
            p_bool(out, "IncludeClassOrigin", *include_class_origin);
            p_props(out, property_list.as_ref());
        }
        Operation::EnumerateInstanceNames { class_name } => {
            p_class(out, "ClassName", Some(class_name));
        }
        Operation::ExecQuery {
            query_language,
            query,
        } => {
            p_text(out, "QueryLanguage", Some(query_language));
            p_text(out, "Query", Some(query));
        }
        Operation::Associators {
            object_name,
            assoc_class,
            result_class,
            role,
            result_role,
            include_qualifiers,
            include_class_origin,
            property_list,
        } => {
            p_path(out, "ObjectName", object_name);
            p_class(out, "AssocClass", assoc_class.as_ref());
            p_class(out, "ResultClass", result_class.as_ref());
            p_name(out, "Role", role.as_ref());
            p_name(out, "ResultRole", result_role.as_ref());
            p_bool(out, "IncludeQualifiers", *include_qualifiers);
            p_bool(out, "IncludeClassOrigin", *include_class_origin);
            p_props(out, property_list.as_ref());
        }
        Operation::AssociatorNames {
            object_name,
            assoc_class,
            result_class,
            role,
            result_role,
        } => {
            p_path(out, "ObjectName", object_name);
            p_class(out, "AssocClass", assoc_class.as_ref());
            p_class(out, "ResultClass", result_class.as_ref());
            p_name(out, "Role", role.as_ref());
            p_name(out, "ResultRole", result_role.as_ref());
        }
        Operation::References {
            object_name,
            result_class,
            role,
            include_qualifiers,
            include_class_origin,
            property_list,
        } => {
            p_path(out, "ObjectName", object_name);
            p_class(out, "ResultClass", result_class.as_ref());
            p_name(out, "Role", role.as_ref());
            p_bool(out, "IncludeQualifiers", *include_qualifiers);
            p_bool(out, "IncludeClassOrigin", *include_class_origin);
            p_props(out, property_list.as_ref());
        }
        Operation::ReferenceNames {
            object_name,
            result_class,
            role,
        } => {
            p_path(out, "ObjectName", object_name);
            p_class(out, "ResultClass", result_class.as_ref());
            p_name(out, "Role", role.as_ref());
        }
        Operation::GetQualifier { qualifier_name } => {
            p_name(out, "QualifierName", Some(qualifier_name));
        }
        Operation::EnumerateQualifiers => {}
        Operation::OpenEnumerateInstances {
            class_name,
            deep_inheritance,
            include_class_origin,
            property_list,
            filter,
            options,
        } => {
            p_class(out, "ClassName", Some(class_name));
            p_bool(out, "DeepInheritance", *deep_inheritance);
            p_bool(out, "IncludeClassOrigin", *include_class_origin);
            p_props(out, property_list.as_ref());
            p_filter(out, filter.as_ref());
            p_open(out, options);
        }
        Operation::OpenEnumerateInstancePaths {
            class_name,
            filter,
            options,
        } => {
            p_class(out, "ClassName", Some(class_name));
            p_filter(out, filter.as_ref());
            p_open(out, options);
        }
        Operation::OpenAssociatorInstances {
            instance_name,
            assoc_class,
            result_class,
            role,
            result_role,
            include_class_origin,
            property_list,
            filter,
            options,
        } => {
            p_path(out, "InstanceName", instance_name);
            p_class(out, "AssocClass", assoc_class.as_ref());
            p_class(out, "ResultClass", result_class.as_ref());
            p_name(out, "Role", role.as_ref());
            p_name(out, "ResultRole", result_role.as_ref());
            p_bool(out, "IncludeClassOrigin", *include_class_origin);
            p_props(out, property_list.as_ref());
            p_filter(out, filter.as_ref());
            p_open(out, options);
        }
        Operation::OpenAssociatorInstancePaths {
            instance_name,
            assoc_class,
            result_class,
            role,
            result_role,
            filter,
            options,
        } => {
            p_path(out, "InstanceName", instance_name);
            p_class(out, "AssocClass", assoc_class.as_ref());
            p_class(out, "ResultClass", result_class.as_ref());
            p_name(out, "Role", role.as_ref());
            p_name(out, "ResultRole", result_role.as_ref());
            p_filter(out, filter.as_ref());
            p_open(out, options);
        }
        Operation::OpenReferenceInstances {
            instance_name,
            result_class,
            role,
            include_class_origin,
            property_list,
            filter,
            options,
        } => {
            p_path(out, "InstanceName", instance_name);
            p_class(out, "ResultClass", result_class.as_ref());
            p_name(out, "Role", role.as_ref());
            p_bool(out, "IncludeClassOrigin", *include_class_origin);
            p_props(out, property_list.as_ref());
            p_filter(out, filter.as_ref());
            p_open(out, options);
        }
        Operation::OpenReferenceInstancePaths {
            instance_name,
            result_class,
            role,
            filter,
            options,
        } => {
            p_path(out, "InstanceName", instance_name);
            p_class(out, "ResultClass", result_class.as_ref());
            p_name(out, "Role", role.as_ref());
            p_filter(out, filter.as_ref());
            p_open(out, options);
        }
        Operation::OpenQueryInstances {
            filter,
            return_query_result_class,
            options,
        } => {
            p_filter(out, Some(filter));
            p_bool(out, "ReturnQueryResultClass", *return_query_result_class);
            p_open(out, options);
        }
        Operation::PullInstancesWithPath {
            enumeration_context,
            max_object_count,
        }
        | Operation::PullInstancePaths {
            enumeration_context,
            max_object_count,
        }
        | Operation::PullInstances {
            enumeration_context,
            max_object_count,
        } => {
            p_text(out, "EnumerationContext", Some(enumeration_context));
            p_u32(out, "MaxObjectCount", Some(*max_object_count));
        }
        Operation::CloseEnumeration {
            enumeration_context,
        }
        | Operation::EnumerationCount {
            enumeration_context,
        } => {
            p_text(out, "EnumerationContext", Some(enumeration_context));
        }
        Operation::InvokeMethod { .. } | Operation::Unsupported(_) => {}
    }
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
