//! ExecQuery: WQL data queries, schema queries and association queries.

use crate::assoc::{AssocFilter, RefFilter};
use crate::context::OperationContext;
use crate::errors::wql_error;
use crate::manager::{EnumOptions, InstanceIter, InstanceWithPath, Object, ObjectManager};
use openwmi_cim::{CimError, Class, Name};
use openwmi_wql::{Projection, Query};
use std::sync::Arc;

/// The answer to a query.
pub enum QueryResult {
    /// A data query: instances, streamed.
    Instances(InstanceIter),
    /// A schema query or an association query: classes or instances.
    Objects(Vec<Object>),
}

impl std::fmt::Debug for QueryResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QueryResult::Instances(_) => f.write_str("QueryResult::Instances(..)"),
            QueryResult::Objects(o) => f.debug_tuple("QueryResult::Objects").field(o).finish(),
        }
    }
}

/// System properties a query may name besides the class's own.
const SYSTEM_PROPERTIES: [&str; 10] = [
    "__CLASS",
    "__SUPERCLASS",
    "__DYNASTY",
    "__RELPATH",
    "__PATH",
    "__NAMESPACE",
    "__SERVER",
    "__GENUS",
    "__DERIVATION",
    "__PROPERTY_COUNT",
];

fn is_system_property(name: &str) -> bool {
    SYSTEM_PROPERTIES
        .iter()
        .any(|s| s.eq_ignore_ascii_case(name))
}

impl ObjectManager {
    /// The class a data query enumerates (with its subclasses) when every
    /// instance it can yield is fixed ([`ObjectManager::fixed_instances`]);
    /// `None` for schema and association queries and for other instances.
    /// Made for a query that `exec_query` has just answered: its errors are
    /// those of `exec_query`.
    pub fn fixed_query_class(
        &self,
        ctx: &OperationContext,
        namespace: &str,
        language: &str,
        text: &str,
    ) -> Result<Option<Name>, CimError> {
        openwmi_wql::check_language(language).map_err(wql_error)?;
        let Query::Select(sel) = openwmi_wql::parse(text).map_err(wql_error)? else {
            return Ok(None);
        };
        if sel.is_schema_query() {
            return Ok(None);
        }
        let class = sel.from.name;
        Ok(self
            .fixed_instances(ctx, namespace, class.as_str(), true)?
            .then_some(class))
    }

    /// ExecQuery. Only WQL is understood: any other language is
    /// CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED (WBEM_E_INVALID_QUERY_TYPE).
    pub fn exec_query(
        &self,
        ctx: &Arc<OperationContext>,
        namespace: &str,
        language: &str,
        text: &str,
    ) -> Result<QueryResult, CimError> {
        openwmi_wql::check_language(language).map_err(wql_error)?;
        let query = openwmi_wql::parse(text).map_err(wql_error)?;
        let ns = self.namespace(ctx, namespace)?;
        match query {
            Query::Select(sel) if sel.is_event_query() => Err(crate::events::exec_query_refusal()),
            Query::Select(sel) => {
                if sel.is_schema_query() {
                    let mut out = Vec::new();
                    for c in ns.classes() {
                        let probe = crate::system::class_probe(ns, &c, self.host());
                        let keep = match &sel.condition {
                            Some(cond) => openwmi_wql::evaluate(cond, &probe, ns),
                            None => true,
                        };
                        if keep {
                            out.push(Object::Class(c));
                        }
                    }
                    return Ok(QueryResult::Objects(out));
                }
                let class = self.class_in(ns, sel.from.name.as_str())?;
                let mut wanted_system: Vec<Name> = Vec::new();
                let property_list = match &sel.projection {
                    Projection::All => None,
                    Projection::Properties(props) => {
                        let mut list = Vec::new();
                        for p in props {
                            check_property(&class, &p.name, text)?;
                            if is_system_property(p.name.as_str()) {
                                wanted_system.push(p.name.clone());
                            } else {
                                list.push(p.name.clone());
                            }
                        }
                        Some(list)
                    }
                };
                if let Some(cond) = &sel.condition {
                    for p in openwmi_wql::referenced_properties(cond) {
                        check_property(&class, &p, text)?;
                    }
                    openwmi_wql::check_constants(cond, &class).map_err(wql_error)?;
                }
                let opts = EnumOptions {
                    deep: true,
                    deep_inheritance: true,
                    property_list,
                };
                let filter = sel.condition.clone().map(Arc::new);
                let it =
                    self.enumerate_filtered(ctx, ns.name(), class.name.as_str(), &opts, filter)?;
                if wanted_system.is_empty() {
                    return Ok(QueryResult::Instances(it));
                }
                // `SELECT __PATH, Name FROM ...`: the system properties asked
                // for become properties of the returned instances.
                let om = self.clone();
                let ns_name = ns.name().to_owned();
                Ok(QueryResult::Instances(Box::new(it.map(move |r| {
                    r.map(|mut iwp| {
                        if let Some(ns) = om.repository().namespace(&ns_name) {
                            crate::system::add_system_properties(ns, &mut iwp, &wanted_system);
                        }
                        iwp
                    })
                }))))
            }
            Query::Associators(a) => {
                let f = AssocFilter {
                    assoc_class: a.assoc_class.as_ref().map(|i| i.name.clone()),
                    result_class: a.result_class.as_ref().map(|i| i.name.clone()),
                    role: a.role.as_ref().map(|i| i.name.clone()),
                    result_role: a.result_role.as_ref().map(|i| i.name.clone()),
                    required_qualifier: a.required_qualifier.as_ref().map(|i| i.name.clone()),
                    required_assoc_qualifier: a
                        .required_assoc_qualifier
                        .as_ref()
                        .map(|i| i.name.clone()),
                    property_list: None,
                };
                for c in [&f.assoc_class, &f.result_class].into_iter().flatten() {
                    self.class_in(ns, c.as_str())?;
                }
                let objects = if a.class_defs_only || a.schema_only {
                    let mut path = a.object.clone();
                    if a.schema_only {
                        path.keys = openwmi_cim::Keys::Class;
                    }
                    class_defs(self, ns, self.associators(ctx, ns.name(), &path, &f)?)
                } else {
                    self.associators(ctx, ns.name(), &a.object, &f)?
                };
                Ok(QueryResult::Objects(if a.keys_only {
                    keys_only(self, ns, objects)
                } else {
                    objects
                }))
            }
            Query::References(r) => {
                let f = RefFilter {
                    result_class: r.result_class.as_ref().map(|i| i.name.clone()),
                    role: r.role.as_ref().map(|i| i.name.clone()),
                    required_qualifier: r.required_qualifier.as_ref().map(|i| i.name.clone()),
                    property_list: None,
                };
                if let Some(c) = &f.result_class {
                    self.class_in(ns, c.as_str())?;
                }
                let objects = if r.class_defs_only || r.schema_only {
                    let mut path = r.object.clone();
                    if r.schema_only {
                        path.keys = openwmi_cim::Keys::Class;
                    }
                    class_defs(self, ns, self.references(ctx, ns.name(), &path, &f)?)
                } else {
                    self.references(ctx, ns.name(), &r.object, &f)?
                };
                Ok(QueryResult::Objects(if r.keys_only {
                    keys_only(self, ns, objects)
                } else {
                    objects
                }))
            }
        }
    }
}

/// WMI refuses a query that names a property the class does not have.
fn check_property(class: &Class, name: &Name, text: &str) -> Result<(), CimError> {
    if is_system_property(name.as_str())
        || name.is("__this")
        || class.property(name.as_str()).is_some()
    {
        return Ok(());
    }
    Err(CimError::invalid_query(format!(
        "class {} has no property {name} (in query \"{text}\")",
        class.name
    )))
}

/// ClassDefsOnly: the distinct classes of the result objects.
fn class_defs(
    om: &ObjectManager,
    ns: &openwmi_cim::Namespace,
    objects: Vec<Object>,
) -> Vec<Object> {
    let mut out: Vec<Object> = Vec::new();
    for o in objects {
        let class = match o {
            Object::Class(c) => Some(c),
            Object::Instance(i) => om.class_in(ns, i.instance.class_name.as_str()).ok(),
        };
        if let Some(c) = class {
            if !out
                .iter()
                .any(|x| matches!(x, Object::Class(k) if k.name == c.name))
            {
                out.push(Object::Class(c));
            }
        }
    }
    out
}

/// KeysOnly: instances reduced to their key properties.
fn keys_only(om: &ObjectManager, ns: &openwmi_cim::Namespace, objects: Vec<Object>) -> Vec<Object> {
    objects
        .into_iter()
        .map(|o| match o {
            Object::Instance(InstanceWithPath { path, mut instance }) => {
                if let Ok(c) = om.class_in(ns, instance.class_name.as_str()) {
                    let keys: Vec<Name> = c.key_properties().map(|p| p.name.clone()).collect();
                    Arc::make_mut(&mut instance).retain_properties(&keys);
                }
                Object::Instance(InstanceWithPath { path, instance })
            }
            c => c,
        })
        .collect()
}
