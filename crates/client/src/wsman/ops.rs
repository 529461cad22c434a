//! The services calls over WS-Management: ExecQuery as an Enumerate with a
//! WQL filter, GetObject as a Get (instances) or a Get of the CIM-XML
//! schema URI (classes), CreateInstanceEnum as an Enumerate of the class's
//! resource URI, and the class lists from an Enumerate of the schema URI.

use super::request::{wmi_resource_uri, AssociationFilter, Filter, InputValue, CIM_XML_SCHEMA_URI};
use super::response::to_values;
use super::{WsMan, WsManStream};
use crate::error::WbemError;
use crate::invoke::MethodOutput;
use crate::services::{ObjectStream, Services, Source, WbemObject};
use openwmi_cim::{Class, Keys, Name, ObjectPath, TypeDecl, Value, WbemStatus};
use openwmi_cimom::ClassOptions;
use std::collections::HashMap;
use std::sync::Arc;

/// A key value as selector text.
fn selector_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        Value::Boolean(b) => b.to_string(),
        Value::Char16(c) => c.to_string(),
        Value::DateTime(d) => d.as_str().to_owned(),
        Value::Reference(p) => p.to_string(),
        other => other.to_mof(),
    }
}

/// A method's input value as the request writes it.
fn input_values(v: &Option<Value>, ns: &str) -> Vec<InputValue> {
    let one = |v: &Value| match v {
        Value::Reference(p) => {
            let rns = p.namespace.as_deref().unwrap_or(ns);
            InputValue::Reference {
                resource_uri: wmi_resource_uri(rns, p.class.as_str()),
                selectors: key_selectors(p),
            }
        }
        v => InputValue::Text(selector_text(v)),
    };
    match v {
        None => vec![InputValue::Nil],
        Some(Value::Array(items)) => items.iter().map(one).collect(),
        Some(v) => vec![one(v)],
    }
}

/// An instance path's keys as selectors.
fn key_selectors(p: &ObjectPath) -> Vec<(String, String)> {
    match &p.keys {
        Keys::Bindings(b) => b
            .iter()
            .map(|k| (k.name.as_str().to_owned(), selector_text(&k.value)))
            .collect(),
        _ => Vec::new(),
    }
}

impl Services {
    /// InvokeMethod as a WS-Man Invoke on the class's WMI resource URI
    /// (the instance's keys as selectors); the output typed by the
    /// method's declaration when the server gives the class.
    pub(crate) fn wsman_invoke_method(
        &self,
        w: &Arc<WsMan>,
        ns: &str,
        mut p: ObjectPath,
        method: &str,
        params: &[(Name, Option<Value>)],
    ) -> Result<MethodOutput, WbemError> {
        if p.bindings().iter().any(|b| b.name.as_str().is_empty()) {
            let class = w.class(ns, p.class.as_str())?;
            let keys: Vec<_> = class.key_properties().map(|k| k.name.clone()).collect();
            if keys.len() != 1 || !p.resolve_single_key(&keys[0]) {
                return Err(WbemError::new(
                    WbemStatus::InvalidParameter,
                    format!(
                        "{}: class {} has {} keys: name the key in the path",
                        w.host_label,
                        p.class,
                        keys.len()
                    ),
                ));
            }
        }
        // Names become element names: anything but a CIM name would make
        // the request malformed.
        let is_name = |n: &str| {
            n.chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
                && n.chars().all(|c| c.is_alphanumeric() || c == '_')
        };
        if let Some(bad) = std::iter::once(method)
            .chain(params.iter().map(|(n, _)| n.as_str()))
            .find(|n| !is_name(n))
        {
            return Err(WbemError::new(
                WbemStatus::InvalidParameter,
                format!("{bad:?} is not a method or parameter name"),
            ));
        }
        let uri = wmi_resource_uri(ns, p.class.as_str());
        let input: Vec<(String, Vec<InputValue>)> = params
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), input_values(v, ns)))
            .collect();
        let raw = w.invoke(&uri, &key_selectors(&p), method, &input)?;
        let class = w.class_for_typing(ns, p.class.as_str());
        let decl = class.as_ref().and_then(|c| c.method(method));
        let ty = |name: &str| -> Option<TypeDecl> {
            let d = decl?;
            if name.eq_ignore_ascii_case("ReturnValue") {
                return Some(TypeDecl::scalar(d.return_type));
            }
            d.parameters
                .iter()
                .find(|q| q.name.is(name))
                .map(|q| q.ty.clone())
        };
        let mut values = to_values(&raw, ty, self.host.as_deref()).map_err(|e| {
            WbemError::failed(format!("{}: invalid {method}_OUTPUT: {e}", w.host_label))
        })?;
        let return_value = values
            .iter()
            .position(|(n, _)| n.is("ReturnValue"))
            .and_then(|i| values.remove(i).1);
        Ok(MethodOutput {
            return_value,
            out_params: values,
        })
    }

    pub(crate) fn wsman_exec_query(
        &self,
        w: &Arc<WsMan>,
        wql: &str,
    ) -> Result<ObjectStream, WbemError> {
        // Checked here first, so a bad query is the same error on every transport.
        let query = openwmi_wql::parse(wql).map_err(openwmi_cimom::errors::wql_error)?;
        let uri = wmi_resource_uri(&self.namespace, "*");
        let filter = association_filter(&query, &self.namespace).unwrap_or(Filter::Wql(wql));
        let first = w.enumerate(&uri, &[], Some(&filter), false)?;
        Ok(self.wsman_stream(w, uri, Vec::new(), first))
    }

    /// The objects of an enumeration whose first answer is `first`: the
    /// rest is pulled as the caller reads.
    fn wsman_stream(
        &self,
        w: &Arc<WsMan>,
        uri: String,
        selectors: Vec<(String, String)>,
        first: super::response::Batch,
    ) -> ObjectStream {
        self.stream(Source::WsMan(WsManStream::start(
            w.clone(),
            uri,
            selectors,
            first,
            self.namespace.clone(),
            self.host.clone(),
        )))
    }

    pub(crate) fn wsman_instance_enum(
        &self,
        w: &Arc<WsMan>,
        class: &str,
    ) -> Result<ObjectStream, WbemError> {
        let uri = wmi_resource_uri(&self.namespace, class);
        let first = w.enumerate(&uri, &[], None, false)?;
        Ok(self.wsman_stream(w, uri, Vec::new(), first))
    }

    pub(crate) fn wsman_get_instance(
        &self,
        w: &Arc<WsMan>,
        ns: &str,
        mut p: ObjectPath,
    ) -> Result<WbemObject, WbemError> {
        if p.bindings().iter().any(|b| b.name.as_str().is_empty()) {
            // `Class="v"`: the key's name is in the class definition.
            let class = w.class(ns, p.class.as_str())?;
            let keys: Vec<_> = class.key_properties().map(|k| k.name.clone()).collect();
            if keys.len() != 1 || !p.resolve_single_key(&keys[0]) {
                return Err(WbemError::new(
                    WbemStatus::InvalidParameter,
                    format!(
                        "{}: class {} has {} keys: name the key in the path",
                        w.host_label,
                        p.class,
                        keys.len()
                    ),
                ));
            }
        }
        let selectors: Vec<(String, String)> = match &p.keys {
            Keys::Bindings(b) => b
                .iter()
                .map(|k| (k.name.as_str().to_owned(), selector_text(&k.value)))
                .collect(),
            _ => Vec::new(),
        };
        let uri = wmi_resource_uri(ns, p.class.as_str());
        let item = w.get(&uri, &selectors)?;
        let full = ObjectPath {
            host: self.host.clone(),
            namespace: Some(ns.to_owned()),
            ..p
        };
        match super::object(w, item, ns, self.host.as_deref(), Some(full.clone()))? {
            Some(WbemObject::Instance { instance, .. }) => Ok(WbemObject::Instance {
                path: Some(full),
                instance,
            }),
            _ => Err(WbemError::failed(format!(
                "{}: the answer to Get holds no instance",
                w.host_label
            ))),
        }
    }

    pub(crate) fn wsman_get_class(
        &self,
        w: &Arc<WsMan>,
        ns: &str,
        class: &str,
        opts: &ClassOptions,
    ) -> Result<Class, WbemError> {
        let mut c = (*w.class(ns, class)?).clone();
        if opts.local_only {
            let own = c.name.clone();
            c.properties
                .retain(|p| !p.propagated && p.class_origin == own);
            c.methods.retain(|m| !m.propagated && m.class_origin == own);
        }
        Ok(c)
    }

    /// Every class of the namespace: an Enumerate of the CIM-XML schema URI
    /// (which Windows' WMI plugin lists with Enumerate), else the WQL schema
    /// query `select * from meta_class`; then filtered here by superclass.
    pub(crate) fn wsman_classes(
        &self,
        w: &Arc<WsMan>,
        superclass: Option<&str>,
        deep: bool,
    ) -> Result<Vec<Class>, WbemError> {
        let selectors = vec![("__cimnamespace".to_owned(), self.namespace.clone())];
        let (stream, refused) = match w.enumerate(CIM_XML_SCHEMA_URI, &selectors, None, true) {
            Ok(first) => (
                self.wsman_stream(w, CIM_XML_SCHEMA_URI.to_owned(), selectors, first),
                None,
            ),
            Err(e) if e.status == WbemStatus::AccessDenied => return Err(e),
            Err(e) => (
                self.wsman_exec_query(w, "select * from meta_class")
                    .map_err(|_| e.clone())?,
                Some(e),
            ),
        };
        let mut all = Vec::new();
        for o in stream {
            if let WbemObject::Class(c) = o? {
                all.push(Arc::unwrap_or_clone(c));
            }
        }
        if let (true, Some(e)) = (all.is_empty(), refused) {
            // No namespace is without classes: the server lists none this way either.
            return Err(WbemError {
                message: format!(
                    "{} (the server enumerates class definitions neither through the CIM-XML \
                     schema URI nor with `select * from meta_class`)",
                    e.message
                ),
                ..e
            });
        }
        select_classes(all, superclass, deep).map_err(|m| {
            WbemError::new(
                WbemStatus::InvalidClass,
                format!("{}: {m} in {}", w.host_label, self.namespace),
            )
        })
    }
}

/// `ASSOCIATORS OF` / `REFERENCES OF` as the DSP0227 association filter,
/// the form Windows documents for WinRM (`-dialect:association`), when the
/// query says nothing the filter cannot (qualifier, class-definition and
/// keys-only clauses) and the object path names its keys; else `None`
/// (the query goes as WQL).
fn association_filter(q: &openwmi_wql::Query, namespace: &str) -> Option<Filter<'static>> {
    let name = |i: &Option<openwmi_wql::Ident>| i.as_ref().map(|i| i.name.to_string());
    let (object, mut f) = match q {
        openwmi_wql::Query::Associators(a)
            if !a.class_defs_only
                && !a.keys_only
                && !a.schema_only
                && a.required_qualifier.is_none()
                && a.required_assoc_qualifier.is_none() =>
        {
            (
                &a.object,
                AssociationFilter {
                    references: false,
                    association_class: name(&a.assoc_class),
                    role: name(&a.role),
                    result_class: name(&a.result_class),
                    result_role: name(&a.result_role),
                    ..AssociationFilter::default()
                },
            )
        }
        openwmi_wql::Query::References(r)
            if !r.class_defs_only
                && !r.keys_only
                && !r.schema_only
                && r.required_qualifier.is_none() =>
        {
            (
                &r.object,
                AssociationFilter {
                    references: true,
                    role: name(&r.role),
                    result_class: name(&r.result_class),
                    ..AssociationFilter::default()
                },
            )
        }
        _ => return None,
    };
    let bindings = match &object.keys {
        Keys::Bindings(b) if b.iter().all(|k| !k.name.as_str().is_empty()) => b,
        Keys::Singleton => &Vec::new(),
        _ => return None,
    };
    let ns = object.namespace.as_deref().unwrap_or(namespace);
    f.resource_uri = wmi_resource_uri(ns, object.class.as_str());
    f.selectors = bindings
        .iter()
        .map(|k| (k.name.to_string(), selector_text(&k.value)))
        .collect();
    Some(Filter::Association(f))
}

/// The direct subclasses of `superclass` (the root classes for `None`), or
/// with `deep` all its descendants (every class for `None`).
pub(crate) fn select_classes(
    all: Vec<Class>,
    superclass: Option<&str>,
    deep: bool,
) -> Result<Vec<Class>, String> {
    let parent: HashMap<String, Option<String>> = all
        .iter()
        .map(|c| {
            (
                c.name.as_str().to_ascii_lowercase(),
                c.superclass
                    .as_ref()
                    .map(|s| s.as_str().to_ascii_lowercase()),
            )
        })
        .collect();
    let Some(root) = superclass.map(str::to_ascii_lowercase) else {
        return Ok(all
            .into_iter()
            .filter(|c| deep || c.superclass.is_none())
            .collect());
    };
    if !parent.contains_key(&root) && !parent.values().any(|p| p.as_ref() == Some(&root)) {
        return Err(format!("no class {}", superclass.unwrap_or("")));
    }
    let descends = |c: &Class| {
        let mut cur = c
            .superclass
            .as_ref()
            .map(|s| s.as_str().to_ascii_lowercase());
        for _ in 0..256 {
            match cur {
                Some(ref s) if *s == root => return true,
                Some(s) if deep => cur = parent.get(&s).cloned().flatten(),
                _ => return false,
            }
        }
        false
    };
    Ok(all.into_iter().filter(|c| descends(c)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use openwmi_cim::Name;

    #[test]
    fn associators_become_the_association_filter() {
        let q = openwmi_wql::parse(
            "ASSOCIATORS OF {Win32_Share.Name=\"public\"} WHERE AssocClass = Win32_ConnectionShare ResultRole = Dependent",
        )
        .unwrap();
        let Some(Filter::Association(f)) = association_filter(&q, "root/cimv2") else {
            panic!()
        };
        assert!(!f.references);
        assert_eq!(
            f.resource_uri,
            "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_Share"
        );
        assert_eq!(f.selectors, [("Name".to_owned(), "public".to_owned())]);
        assert_eq!(
            f.association_class.as_deref(),
            Some("Win32_ConnectionShare")
        );
        assert_eq!(f.result_role.as_deref(), Some("Dependent"));
        let q = openwmi_wql::parse(
            "REFERENCES OF {Win32_Share.Name=\"public\"} WHERE ResultClass = Win32_ConnectionShare",
        )
        .unwrap();
        let Some(Filter::Association(f)) = association_filter(&q, "root/cimv2") else {
            panic!()
        };
        assert!(f.references);
        assert_eq!(f.result_class.as_deref(), Some("Win32_ConnectionShare"));
        for wql in [
            "ASSOCIATORS OF {Win32_Share=\"public\"}",
            "ASSOCIATORS OF {Win32_Share.Name=\"public\"} WHERE ClassDefsOnly",
            "SELECT * FROM Win32_Share",
        ] {
            let q = openwmi_wql::parse(wql).unwrap();
            assert!(association_filter(&q, "root/cimv2").is_none(), "{wql}");
        }
    }

    #[test]
    fn class_selection() {
        let c = |n: &str, s: Option<&str>| Class::new(n, s.map(Name::new));
        let all = vec![
            c("CIM_A", None),
            c("CIM_B", Some("CIM_A")),
            c("Win32_C", Some("CIM_B")),
            c("Other", None),
        ];
        let names = |v: Vec<Class>| {
            v.into_iter()
                .map(|c| c.name.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(select_classes(all.clone(), None, false).unwrap()),
            ["CIM_A", "Other"]
        );
        assert_eq!(select_classes(all.clone(), None, true).unwrap().len(), 4);
        assert_eq!(
            names(select_classes(all.clone(), Some("cim_a"), false).unwrap()),
            ["CIM_B"]
        );
        assert_eq!(
            names(select_classes(all.clone(), Some("CIM_A"), true).unwrap()),
            ["CIM_B", "Win32_C"]
        );
        assert!(select_classes(all, Some("Nope"), true).is_err());
    }
}
