//! From a decoded envelope to what runs: the protocol-neutral
//! [`Operation`] (the same values CIM-XML decodes into, so that WS-Man runs
//! on the same object manager, permissions and limits), plus what
//! WS-Management adds around it (enumeration mode, batching, context).
//!
//! | WS-Management | Operation |
//! | --- | --- |
//! | Get with selectors | GetInstance |
//! | Get of the CIM-XML class URI with `ClassName` | GetClass |
//! | Enumerate, no filter (or a selector filter) | OpenEnumerateInstances (EPR mode: ...Paths) |
//! | Enumerate of the CIM-XML class URI | EnumerateClasses (deep), or a WQL schema query |
//! | Enumerate, WQL `SELECT * FROM meta_class` | OpenQueryInstances, answered with CLASS elements |
//! | Enumerate, WQL filter | OpenQueryInstances (WQL, ASSOCIATORS OF / REFERENCES OF included) |
//! | Enumerate, AssociatedInstances | OpenAssociatorInstances (EPR mode: ...Paths) |
//! | Enumerate, AssociationInstances | OpenReferenceInstances (EPR mode: ...Paths) |
//! | Pull, Release | the context's pending objects; CloseEnumeration |
//! | `<ResourceURI>/<Method>` with `<Method>_INPUT` | InvokeMethod (class path without key selectors) |

use crate::envelope::{
    AssociationFilter, Body, EnumerateBody, EnumerationMode, Envelope, FilterContent, InvokeBody,
    ParamValue, Selector, SelectorValue,
};
use crate::fault::{Fault, FaultKind};
use crate::ns;
use crate::resource::{self, Resource, UriForm};
use openwmi_cim::{KeyBinding, Keys, Name, ObjectPath, Value};
use openwmi_operation::{
    AssocParams, ClassFlags, EnumerateClasses, Filter, GetClass, GetInstance, InstanceOptions,
    OpenAssociatorInstancePaths, OpenAssociatorInstances, OpenEnumerateInstancePaths,
    OpenEnumerateInstances, OpenOptions, OpenQueryInstances, OpenReferenceInstancePaths,
    OpenReferenceInstances, Operation, RefParams,
};
use std::time::Duration;

/// How an enumeration answers.
#[derive(Clone, Debug, PartialEq)]
pub struct Batching {
    pub mode: EnumerationMode,
    /// Items in the EnumerateResponse itself (OptimizeEnumeration).
    pub optimize: bool,
    /// Most items per response.
    pub max_elements: u32,
}

/// What a request asks.
#[derive(Clone, Debug, PartialEq)]
pub enum Plan {
    Identify,
    /// GetInstance or GetClass.
    Get {
        namespace: String,
        form: UriForm,
        operation: Operation,
    },
    /// An Open* operation.
    Enumerate {
        namespace: String,
        form: UriForm,
        operation: Operation,
        batching: Batching,
        /// A selector filter: the instances whose keys have these values.
        selector_filter: Vec<Selector>,
    },
    Pull {
        context: String,
        max_elements: u32,
        max_time: Option<Duration>,
        max_characters: Option<u32>,
    },
    Release {
        context: String,
    },
    /// An extrinsic method call: [`Operation::InvokeMethod`].
    Invoke {
        namespace: String,
        form: UriForm,
        /// The request's ResourceURI: the answer's namespace and action
        /// prefix.
        resource_uri: String,
        operation: Operation,
    },
}

fn required_message_id(e: &Envelope) -> Result<(), Fault> {
    if e.headers.message_id.as_deref().is_none_or(str::is_empty) {
        return Err(Fault::new(
            FaultKind::MessageInformationHeaderRequired,
            "the request has no wsa:MessageID",
        ));
    }
    Ok(())
}

fn resource_of(e: &Envelope) -> Result<Resource, Fault> {
    let uri = e.headers.resource_uri.as_deref().ok_or_else(|| {
        Fault::new(
            FaultKind::DestinationUnreachable,
            "the request has no wsman:ResourceURI",
        )
        .with_detail("InvalidResourceURI")
    })?;
    resource::resolve(uri, &e.headers.selectors)
}

fn body_mismatch(action: &str, body: &Body) -> Fault {
    Fault::new(
        FaultKind::SchemaValidationError,
        format!("the body does not fit the action {action} ({body:?})"),
    )
}

/// What the envelope asks, or the fault that answers it.
pub fn plan(e: &Envelope) -> Result<Plan, Fault> {
    let action = e.headers.action.as_deref().unwrap_or("");
    // Some clients name the Identify action; the body says what it is.
    if e.body == Body::Identify && (action.is_empty() || action.ends_with("/Identify")) {
        return Ok(Plan::Identify);
    }
    if action.is_empty() {
        // An envelope without Action is an Identify (OMI and Pegasus read it so).
        return match e.body {
            Body::Identify => Ok(Plan::Identify),
            _ => Err(Fault::new(
                FaultKind::MessageInformationHeaderRequired,
                "the request has no wsa:Action (only an Identify may leave it out)",
            )),
        };
    }
    match action {
        ns::ACTION_GET => {
            required_message_id(e)?;
            plan_get(e)
        }
        ns::ACTION_ENUMERATE => {
            required_message_id(e)?;
            let Body::Enumerate(body) = &e.body else {
                return Err(body_mismatch(action, &e.body));
            };
            plan_enumerate(e, body)
        }
        ns::ACTION_PULL => {
            required_message_id(e)?;
            let Body::Pull(p) = &e.body else {
                return Err(body_mismatch(action, &e.body));
            };
            Ok(Plan::Pull {
                context: p.context.clone(),
                max_elements: p.max_elements.unwrap_or(1),
                max_time: p.max_time,
                max_characters: p.max_characters,
            })
        }
        ns::ACTION_RELEASE => {
            required_message_id(e)?;
            let Body::Release { context } = &e.body else {
                return Err(body_mismatch(action, &e.body));
            };
            Ok(Plan::Release {
                context: context.clone(),
            })
        }
        ns::ACTION_GET_STATUS | ns::ACTION_RENEW => Err(Fault::new(
            FaultKind::ActionNotSupported,
            format!(
                "{action} is not supported: an enumeration context lasts while it is \
                 pulled and expires when left idle"
            ),
        )
        .with_detail("ActionMismatch")),
        other if invoked_method(e, other).is_some() => {
            required_message_id(e)?;
            let method = invoked_method(e, other).unwrap_or_default();
            let Body::Invoke(body) = &e.body else {
                return Err(body_mismatch(action, &e.body));
            };
            plan_invoke(e, method, body)
        }
        other => Err(Fault::new(
            FaultKind::ActionNotSupported,
            format!(
                "the action {other:?} is not supported (Identify, Get, Enumerate, Pull, \
                 Release and <ResourceURI>/<Method> are)"
            ),
        )
        .with_detail("ActionMismatch")),
    }
}

/// The method an action `<ResourceURI>/<Method>` names (OMI takes only
/// the DMTF class URI; any resource URI the request names is taken here).
fn invoked_method<'a>(e: &Envelope, action: &'a str) -> Option<&'a str> {
    let uri = e.headers.resource_uri.as_deref()?.trim_end_matches('/');
    let method = action.strip_prefix(uri)?.strip_prefix('/')?;
    resource::is_class_name(method).then_some(method)
}

fn plan_invoke(e: &Envelope, method: &str, body: &InvokeBody) -> Result<Plan, Fault> {
    if !body.method.eq_ignore_ascii_case(method) {
        return Err(Fault::new(
            FaultKind::SchemaValidationError,
            format!(
                "the action calls {method} but the body is {}_INPUT",
                body.method
            ),
        ));
    }
    let r = resource_of(e)?;
    let Some(class) = r.class else {
        return Err(Fault::new(
            FaultKind::DestinationUnreachable,
            "a method is called on one class or instance, not on all classes (*)",
        )
        .with_detail("InvalidResourceURI"));
    };
    let target = if r.keys.is_empty() {
        // No key selectors: the class itself, for a static method.
        ObjectPath {
            keys: Keys::Class,
            ..instance_path(&class, &[], &r.namespace)?
        }
    } else {
        instance_path(&class, &r.keys, &r.namespace)?
    };
    let mut params = Vec::with_capacity(body.params.len());
    for p in &body.params {
        let mut values = Vec::with_capacity(p.values.len());
        for v in &p.values {
            match v {
                ParamValue::Nil => {}
                ParamValue::Text(t) => values.push(Value::String(t.as_str().into())),
                ParamValue::Reference(epr) => {
                    let s = Selector {
                        name: p.name.clone(),
                        value: SelectorValue::Reference(epr.clone()),
                    };
                    values.push(key_value(&s, &r.namespace).map_err(|f| {
                        Fault::new(
                            FaultKind::InvalidParameter,
                            format!("parameter {}: {}", p.name, f.reason),
                        )
                    })?);
                }
            }
        }
        let value = match (p.values.len(), values.len()) {
            (_, 0) => None,
            (1, _) => values.pop(),
            _ => Some(Value::Array(values)),
        };
        params.push((Name::new(&p.name), value));
    }
    Ok(Plan::Invoke {
        namespace: r.namespace,
        form: r.form,
        resource_uri: e.headers.resource_uri.clone().unwrap_or_default(),
        operation: Operation::InvokeMethod {
            target,
            method: Name::new(method),
            params,
        },
    })
}

/// A selector's value as a key: text as a string (typed against the class
/// when the operation runs), an endpoint reference as a path.
fn key_value(s: &Selector, namespace: &str) -> Result<Value, Fault> {
    Ok(match &s.value {
        SelectorValue::Text(t) => Value::String(t.as_str().into()),
        SelectorValue::Reference(epr) => {
            let uri = epr.resource_uri.as_deref().unwrap_or("");
            let r = resource::resolve_in(uri, &epr.selectors, namespace)?;
            let class = r.class.ok_or_else(|| {
                Fault::new(
                    FaultKind::InvalidSelectors,
                    format!("the reference in selector {} names no class", s.name),
                )
            })?;
            let ns = if r.namespace.is_empty() {
                namespace
            } else {
                r.namespace.as_str()
            };
            let mut path = instance_path(&class, &r.keys, ns)?;
            path.namespace = Some(ns.to_owned());
            Value::Reference(Box::new(path))
        }
    })
}

/// The relative path of an instance of `class` with these key selectors.
pub fn instance_path(class: &str, keys: &[Selector], namespace: &str) -> Result<ObjectPath, Fault> {
    let bindings = keys
        .iter()
        .map(|s| Ok(KeyBinding::new(s.name.as_str(), key_value(s, namespace)?)))
        .collect::<Result<Vec<_>, Fault>>()?;
    Ok(ObjectPath {
        host: None,
        namespace: None,
        class: Name::new(class),
        keys: if bindings.is_empty() {
            Keys::Singleton
        } else {
            Keys::Bindings(bindings)
        },
    })
}

fn plan_get(e: &Envelope) -> Result<Plan, Fault> {
    let r = resource_of(e)?;
    if r.class_definitions {
        let class = r
            .keys
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case("ClassName"))
            .and_then(|s| match &s.value {
                SelectorValue::Text(t) if !t.is_empty() => Some(t.clone()),
                _ => None,
            })
            .ok_or_else(|| {
                Fault::new(
                    FaultKind::InvalidSelectors,
                    "a class definition is asked with the selector ClassName",
                )
                .with_detail("InsufficientSelectors")
            })?;
        return Ok(Plan::Get {
            namespace: r.namespace,
            form: r.form,
            operation: Operation::GetClass(GetClass {
                class_name: Name::new(&class),
                flags: ClassFlags {
                    local_only: false,
                    include_qualifiers: true,
                    include_class_origin: false,
                },
                property_list: None,
            }),
        });
    }
    let Some(class) = r.class else {
        return Err(Fault::new(
            FaultKind::DestinationUnreachable,
            "a Get names one class, not all classes (*)",
        )
        .with_detail("InvalidResourceURI"));
    };
    let path = instance_path(&class, &r.keys, &r.namespace)?;
    Ok(Plan::Get {
        namespace: r.namespace,
        form: r.form,
        operation: Operation::GetInstance(GetInstance {
            instance_name: path,
            local_only: false,
            include_qualifiers: false,
            options: InstanceOptions::default(),
        }),
    })
}

fn open_options(batching: &Batching) -> OpenOptions {
    OpenOptions {
        operation_timeout: None,
        continue_on_error: false,
        max_object_count: batching.max_elements,
    }
}

fn cannot_process(reason: impl Into<String>) -> Fault {
    Fault::new(FaultKind::CannotProcessFilter, reason)
}

fn plan_enumerate(e: &Envelope, body: &EnumerateBody) -> Result<Plan, Fault> {
    let r = resource_of(e)?;
    if let Some(k) = r.keys.first() {
        return Err(Fault::new(
            FaultKind::InvalidSelectors,
            format!(
                "an Enumerate takes only the __cimnamespace selector, not {}",
                k.name
            ),
        )
        .with_detail("UnexpectedSelectors"));
    }
    let batching = Batching {
        mode: body.mode,
        optimize: body.optimize,
        max_elements: match (body.optimize, body.max_elements) {
            (false, _) => 0,
            (true, n) => n.unwrap_or(1),
        },
    };
    let paths_only = body.mode == EnumerationMode::Epr;
    let namespace = r.namespace.clone();
    let plan = |operation, selector_filter| {
        Ok(Plan::Enumerate {
            namespace: namespace.clone(),
            form: r.form,
            operation,
            batching: batching.clone(),
            selector_filter,
        })
    };
    if r.class_definitions {
        return plan_class_definitions(r, body, batching);
    }
    let Some(filter) = &body.filter else {
        let Some(class) = r.class.as_deref() else {
            return Err(cannot_process(
                "an Enumerate of all classes (*) needs a filter (WQL or association)",
            ));
        };
        return plan(enumerate_class(class, paths_only, &batching), Vec::new());
    };
    let dialect = filter.dialect.as_deref().unwrap_or("");
    match (dialect, &filter.content) {
        (d, FilterContent::Text(query)) if d.eq_ignore_ascii_case(ns::DIALECT_WQL) => {
            if query.is_empty() {
                return Err(cannot_process("the WQL filter is empty"));
            }
            plan(
                Operation::OpenQueryInstances(OpenQueryInstances {
                    filter: Filter {
                        query_language: "WQL".into(),
                        query: query.clone(),
                    },
                    return_query_result_class: false,
                    open: open_options(&batching),
                }),
                Vec::new(),
            )
        }
        (d, FilterContent::Selectors(selectors))
            if d.eq_ignore_ascii_case(ns::DIALECT_SELECTOR) =>
        {
            let Some(class) = r.class.as_deref() else {
                return Err(cannot_process(
                    "a selector filter needs a class resource URI, not all classes (*)",
                ));
            };
            plan(
                enumerate_class(class, paths_only, &batching),
                selectors.clone(),
            )
        }
        (d, FilterContent::Association(a)) if d.eq_ignore_ascii_case(ns::DIALECT_ASSOCIATION) => {
            let (ns_of_object, operation) = association(a, &r.namespace, paths_only, &batching)?;
            Ok(Plan::Enumerate {
                namespace: ns_of_object,
                form: r.form,
                operation,
                batching,
                selector_filter: Vec::new(),
            })
        }
        (d, _)
            if [
                ns::DIALECT_WQL,
                ns::DIALECT_SELECTOR,
                ns::DIALECT_ASSOCIATION,
            ]
            .iter()
            .any(|k| k.eq_ignore_ascii_case(d)) =>
        {
            Err(cannot_process(format!(
                "the filter's content does not fit its dialect {d}"
            )))
        }
        (d, _) => Err(Fault::new(
            FaultKind::FilterDialectRequestedUnavailable,
            format!(
                "the filter dialect {:?} is not supported: use WQL ({}), the selector filter \
                 or the association filter",
                if d.is_empty() { "(none)" } else { d },
                ns::DIALECT_WQL
            ),
        )
        .with_detail("FilterDialect")),
    }
}

/// An Enumerate of the CIM-XML class URI: every class of the namespace
/// (as Windows' WMI plugin lists them), or those a WQL schema query
/// (`SELECT * FROM meta_class ...`) picks.
fn plan_class_definitions(
    r: Resource,
    body: &EnumerateBody,
    batching: Batching,
) -> Result<Plan, Fault> {
    let operation = match &body.filter {
        None => Operation::EnumerateClasses(EnumerateClasses {
            class_name: None,
            deep_inheritance: true,
            flags: ClassFlags {
                local_only: false,
                include_qualifiers: true,
                include_class_origin: false,
            },
        }),
        Some(f) => {
            let dialect = f.dialect.as_deref().unwrap_or("");
            let FilterContent::Text(query) = &f.content else {
                return Err(Fault::new(
                    FaultKind::FilterDialectRequestedUnavailable,
                    "class definitions are filtered with a WQL schema query \
                     (SELECT * FROM meta_class ...), not with this dialect",
                )
                .with_detail("FilterDialect"));
            };
            if !dialect.eq_ignore_ascii_case(ns::DIALECT_WQL) {
                return Err(Fault::new(
                    FaultKind::FilterDialectRequestedUnavailable,
                    format!(
                        "class definitions are filtered with WQL ({}), not {dialect:?}",
                        ns::DIALECT_WQL
                    ),
                )
                .with_detail("FilterDialect"));
            }
            let is_schema = openwmi_wql::parse(query)
                .map(|q| matches!(&q, openwmi_wql::Query::Select(s) if s.is_schema_query()))
                .unwrap_or(false);
            if !is_schema {
                return Err(cannot_process(
                    "the CIM-XML class URI takes a WQL schema query \
                     (SELECT * FROM meta_class ...): query instances with a class or \
                     all-classes resource URI",
                ));
            }
            Operation::OpenQueryInstances(OpenQueryInstances {
                filter: Filter {
                    query_language: "WQL".into(),
                    query: query.clone(),
                },
                return_query_result_class: false,
                open: open_options(&batching),
            })
        }
    };
    Ok(Plan::Enumerate {
        namespace: r.namespace,
        form: r.form,
        operation,
        batching,
        selector_filter: Vec::new(),
    })
}

fn enumerate_class(class: &str, paths_only: bool, batching: &Batching) -> Operation {
    if paths_only {
        return Operation::OpenEnumerateInstancePaths(OpenEnumerateInstancePaths {
            class_name: Name::new(class),
            filter: None,
            open: open_options(batching),
        });
    }
    Operation::OpenEnumerateInstances(OpenEnumerateInstances {
        class_name: Name::new(class),
        deep_inheritance: true,
        options: InstanceOptions::default(),
        filter: None,
        open: open_options(batching),
    })
}

fn name(s: &Option<String>) -> Option<Name> {
    s.as_deref().map(Name::new)
}

/// The Open* operation of a DSP0227 association filter, and the namespace
/// of its object.
fn association(
    a: &AssociationFilter,
    namespace: &str,
    paths_only: bool,
    batching: &Batching,
) -> Result<(String, Operation), Fault> {
    let uri = a.object.resource_uri.as_deref().ok_or_else(|| {
        cannot_process("the association filter's wsmb:Object has no wsman:ResourceURI")
    })?;
    let mut selectors = a.object.selectors.clone();
    if !selectors
        .iter()
        .any(|s| s.name.eq_ignore_ascii_case(resource::NAMESPACE_SELECTOR))
        && !uri.starts_with(resource::WMI_PREFIX)
    {
        selectors.push(Selector {
            name: resource::NAMESPACE_SELECTOR.into(),
            value: SelectorValue::Text(namespace.to_owned()),
        });
    }
    let r = resource::resolve(uri, &selectors)?;
    let class = r
        .class
        .ok_or_else(|| cannot_process("the association filter's object names no class"))?;
    if r.keys.is_empty() {
        return Err(Fault::new(
            FaultKind::InvalidSelectors,
            "the association filter's object has no key selectors: it names one instance",
        )
        .with_detail("InsufficientSelectors"));
    }
    let instance_name = instance_path(&class, &r.keys, &r.namespace)?;
    let open = open_options(batching);
    let options = InstanceOptions::default();
    let operation = if a.references {
        let refs = RefParams {
            result_class: name(&a.association_class),
            role: name(&a.role),
        };
        if paths_only {
            Operation::OpenReferenceInstancePaths(OpenReferenceInstancePaths {
                instance_name,
                refs,
                filter: None,
                open,
            })
        } else {
            Operation::OpenReferenceInstances(OpenReferenceInstances {
                instance_name,
                refs,
                options,
                filter: None,
                open,
            })
        }
    } else {
        let assoc = AssocParams {
            assoc_class: name(&a.association_class),
            result_class: name(&a.result_class),
            role: name(&a.role),
            result_role: name(&a.result_role),
        };
        if paths_only {
            Operation::OpenAssociatorInstancePaths(OpenAssociatorInstancePaths {
                instance_name,
                assoc,
                filter: None,
                open,
            })
        } else {
            Operation::OpenAssociatorInstances(OpenAssociatorInstances {
                instance_name,
                assoc,
                options,
                filter: None,
                open,
            })
        }
    };
    Ok((r.namespace, operation))
}

#[cfg(test)]
mod tests;
