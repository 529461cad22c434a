//! Decoding responses (client side).

use crate::error::{DecodeError, Limits};
use crate::read::{self, Invalid};
use crate::request::read_envelope;
use crate::tree::{self, Element};
use openwmi_cim::{
    CimError, CimStatus, CimType, Class, Instance, Name, ObjectPath, QualifierDecl, Value,
};

/// A decoded response: the operation's outcome, a CIM error or what it returned.
#[derive(Clone, Debug, PartialEq)]
pub struct Response {
    pub message_id: String,
    /// IMETHODRESPONSE / METHODRESPONSE NAME.
    pub method_name: String,
    pub result: Result<Reply, CimError>,
}

/// What a successful operation returned.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Reply {
    /// The objects inside IRETURNVALUE, in order.
    pub items: Vec<ReturnItem>,
    /// Open/pull operations: the EndOfSequence output parameter.
    pub end_of_sequence: Option<bool>,
    /// Open/pull operations: the EnumerationContext output parameter
    /// (`None` when absent or NULL).
    pub enumeration_context: Option<String>,
    /// Extrinsic methods: RETURNVALUE.
    pub return_value: Option<Value>,
    /// Other output parameters (extrinsic methods), by name.
    pub out_params: Vec<(Name, Option<Value>)>,
}

/// One element of IRETURNVALUE.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ReturnItem {
    /// INSTANCE (path `None`), VALUE.NAMEDINSTANCE (relative path),
    /// VALUE.OBJECTWITHPATH / VALUE.INSTANCEWITHPATH (full path) ...
    Instance {
        path: Option<ObjectPath>,
        instance: Instance,
    },
    /// CLASS, or a class in VALUE.OBJECTWITHPATH / VALUE.OBJECT.
    Class {
        path: Option<ObjectPath>,
        class: Class,
    },
    /// INSTANCENAME, INSTANCEPATH or OBJECTPATH.
    Path(ObjectPath),
    /// CLASSNAME.
    ClassName(Name),
    QualifierDecl(QualifierDecl),
    /// VALUE (as a string: IRETURNVALUE carries no type), VALUE.ARRAY, VALUE.REFERENCE.
    Value(Value),
}

fn not_valid(i: Invalid) -> DecodeError {
    DecodeError::not_valid(i.offset, i.message)
}

/// Decodes a response body (client side). A CIM error reported by the
/// server is `Ok(Response { result: Err(..) })`; `Err` means the body itself
/// is not a valid CIM-XML response.
pub fn decode_response(body: &[u8], limits: &Limits) -> Result<Response, DecodeError> {
    let doc = tree::parse(body, limits)?;
    let (message_id, _pv, msg) = read_envelope(doc.root())?;
    let rsp = match msg.exactly() {
        Some([c]) if c.name == "SIMPLERSP" => c,
        Some([c]) if c.name == "MULTIRSP" => return Err(DecodeError::MultipleRequestsUnsupported),
        _ => {
            return Err(DecodeError::not_valid(
                msg.offset,
                "<MESSAGE> must hold one <SIMPLERSP>",
            ))
        }
    };
    let call = match rsp.exactly() {
        Some([c]) if c.name == "IMETHODRESPONSE" || c.name == "METHODRESPONSE" => c,
        _ => {
            return Err(DecodeError::not_valid(
                rsp.offset,
                "<SIMPLERSP> must hold one <IMETHODRESPONSE> or <METHODRESPONSE>",
            ))
        }
    };
    let method_name = read::req_attr(call, "NAME").map_err(not_valid)?.to_owned();
    let result = read_outcome(call).map_err(not_valid)?;
    Ok(Response {
        message_id,
        method_name,
        result,
    })
}

fn read_error(el: Element) -> read::R<CimError> {
    let code = read::req_attr(el, "CODE")?;
    let Ok(code) = code.trim().parse::<u32>() else {
        return read::invalid(el, format!("ERROR CODE {code:?} is not a number"));
    };
    let desc = el.attr("DESCRIPTION").unwrap_or("").to_owned();
    Ok(match CimStatus::from_code(code) {
        Some(status) => CimError::new(status, desc),
        None => CimError::new(CimStatus::Failed, format!("(CIM status {code}) {desc}")),
    })
}

fn read_outcome(call: Element) -> read::R<Result<Reply, CimError>> {
    let mut reply = Reply::default();
    for (i, c) in call.children().enumerate() {
        match c.name {
            "ERROR" if i == 0 => return Ok(Err(read_error(c)?)),
            "IRETURNVALUE" if i == 0 => {
                for item in c.children() {
                    reply.items.push(read_item(item)?);
                }
            }
            "RETURNVALUE" if i == 0 => {
                let ty = type_of(c)?;
                reply.return_value = read_param_value(c, ty)?;
            }
            "PARAMVALUE" => {
                let name = read::req_attr(c, "NAME")?;
                if name.eq_ignore_ascii_case("EndOfSequence") {
                    let v = read_param_value(c, Some(CimType::Boolean))?;
                    reply.end_of_sequence = match v {
                        Some(Value::Boolean(b)) => Some(b),
                        _ => return read::invalid(c, "EndOfSequence is not a boolean"),
                    };
                } else if name.eq_ignore_ascii_case("EnumerationContext") {
                    reply.enumeration_context = match read_param_value(c, Some(CimType::String))? {
                        Some(Value::String(s)) => Some(s.to_string()),
                        _ => None,
                    };
                } else {
                    let ty = type_of(c)?;
                    reply
                        .out_params
                        .push((Name::new(name), read_param_value(c, ty)?));
                }
            }
            other => return read::invalid(c, format!("<{other}> inside <{}>", call.name)),
        }
    }
    Ok(Ok(reply))
}

fn type_of(el: Element) -> read::R<Option<CimType>> {
    match el.attr("PARAMTYPE").or_else(|| el.attr("TYPE")) {
        None => Ok(None),
        Some(t) => match CimType::from_keyword(t) {
            Some(t) => Ok(Some(t)),
            // object / instance: embedded objects, read as their text.
            None => Ok(Some(CimType::String)),
        },
    }
}

fn read_param_value(el: Element, ty: Option<CimType>) -> read::R<Option<Value>> {
    let ty = ty.unwrap_or(CimType::String);
    let mut values = el.children();
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(v), None) => Ok(match v.name {
            "VALUE" => Some(read::read_value(v, ty)?),
            "VALUE.ARRAY" => Some(read::read_value_array(v, ty)?),
            "VALUE.REFERENCE" => Some(Value::Reference(Box::new(read::read_value_reference(v)?))),
            "VALUE.REFARRAY" => Some(read::read_value_refarray(v)?),
            "CLASSNAME" | "INSTANCENAME" => {
                Some(Value::Reference(Box::new(read::read_path_any(v)?)))
            }
            other => return read::invalid(v, format!("<{other}> values are not supported")),
        }),
        _ => read::invalid(el, format!("<{}> holds more than one value", el.name)),
    }
}

fn pair<'a>(el: Element<'a>) -> read::R<(Element<'a>, Element<'a>)> {
    match el.exactly() {
        Some([a, b]) => Ok((a, b)),
        _ => read::invalid(el, format!("<{}> must hold two elements", el.name)),
    }
}

fn object_with(path: ObjectPath, obj: Element) -> read::R<ReturnItem> {
    match obj.name {
        "INSTANCE" => Ok(ReturnItem::Instance {
            path: Some(path),
            instance: read::read_instance(obj)?,
        }),
        "CLASS" => Ok(ReturnItem::Class {
            path: Some(path),
            class: read::read_class(obj)?,
        }),
        other => read::invalid(obj, format!("<{other}> is neither INSTANCE nor CLASS")),
    }
}

fn read_item(el: Element) -> read::R<ReturnItem> {
    Ok(match el.name {
        "INSTANCE" => ReturnItem::Instance {
            path: None,
            instance: read::read_instance(el)?,
        },
        "CLASS" => ReturnItem::Class {
            path: None,
            class: read::read_class(el)?,
        },
        "CLASSNAME" => ReturnItem::ClassName(read::read_classname(el)?),
        "INSTANCENAME" => ReturnItem::Path(read::read_instancename(el)?),
        "INSTANCEPATH" => ReturnItem::Path(read::read_instancepath(el)?),
        "OBJECTPATH" => ReturnItem::Path(read::read_objectpath(el)?),
        "QUALIFIER.DECLARATION" => ReturnItem::QualifierDecl(read::read_qualifier_decl(el)?),
        "VALUE" => ReturnItem::Value(read::read_value(el, CimType::String)?),
        "VALUE.ARRAY" => ReturnItem::Value(read::read_value_array(el, CimType::String)?),
        "VALUE.REFERENCE" => {
            ReturnItem::Value(Value::Reference(Box::new(read::read_value_reference(el)?)))
        }
        "VALUE.NAMEDINSTANCE" => {
            let (name, inst) = pair(el)?;
            ReturnItem::Instance {
                path: Some(read::read_instancename(name)?),
                instance: read::read_instance(inst)?,
            }
        }
        "VALUE.OBJECTWITHPATH" | "VALUE.OBJECTWITHLOCALPATH" | "VALUE.INSTANCEWITHPATH" => {
            let (p, obj) = pair(el)?;
            let path = match (el.name, p.name) {
                ("VALUE.OBJECTWITHPATH", "INSTANCEPATH") => read::read_instancepath(p)?,
                ("VALUE.OBJECTWITHPATH", "CLASSPATH") => read::read_classpath(p)?,
                ("VALUE.OBJECTWITHLOCALPATH", "LOCALINSTANCEPATH") => read::read_path_any(p)?,
                ("VALUE.OBJECTWITHLOCALPATH", "LOCALCLASSPATH") => read::read_localclasspath(p)?,
                ("VALUE.INSTANCEWITHPATH", "INSTANCEPATH") => read::read_instancepath(p)?,
                (outer, inner) => return read::invalid(p, format!("<{inner}> inside <{outer}>")),
            };
            object_with(path, obj)?
        }
        "VALUE.OBJECT" => match el.exactly() {
            Some([c]) if c.name == "INSTANCE" => ReturnItem::Instance {
                path: None,
                instance: read::read_instance(c)?,
            },
            Some([c]) if c.name == "CLASS" => ReturnItem::Class {
                path: None,
                class: read::read_class(c)?,
            },
            _ => return read::invalid(el, "<VALUE.OBJECT> must hold one CLASS or INSTANCE"),
        },
        other => return read::invalid(el, format!("<{other}> inside <IRETURNVALUE>")),
    })
}
