//! Associators and References (DSP0200 5.3.2.6-9; WQL ASSOCIATORS OF /
//! REFERENCES OF), answered generically from the instances of the
//! association classes, so any provider's association class works in both
//! directions.

use crate::context::OperationContext;
use crate::manager::{display_ns, resolve_keys, InstanceWithPath, Object, ObjectManager};
use crate::provider::EnumerateRequest;
use openwmi_cim::{
    same_namespace, CimError, CimType, Class, Keys, Name, Namespace, ObjectPath, Value,
};
use std::sync::Arc;

/// Filters of Associators / AssociatorNames (all optional).
#[derive(Clone, Debug, Default)]
pub struct AssocFilter {
    pub assoc_class: Option<Name>,
    pub result_class: Option<Name>,
    pub role: Option<Name>,
    pub result_role: Option<Name>,
    pub required_qualifier: Option<Name>,
    pub required_assoc_qualifier: Option<Name>,
    pub property_list: Option<Vec<Name>>,
}

/// Filters of References / ReferenceNames (all optional).
#[derive(Clone, Debug, Default)]
pub struct RefFilter {
    /// The association class (References' ResultClass).
    pub result_class: Option<Name>,
    pub role: Option<Name>,
    pub required_qualifier: Option<Name>,
    pub property_list: Option<Vec<Name>>,
}

/// One association instance that points at the source object, and the role
/// through which it does.
struct Link {
    assoc: InstanceWithPath,
    assoc_class: Arc<Class>,
    role: Name,
}

impl ObjectManager {
    /// The objects associated with `object` through association instances.
    pub fn associators(
        &self,
        ctx: &OperationContext,
        namespace: &str,
        object: &ObjectPath,
        f: &AssocFilter,
    ) -> Result<Vec<Object>, CimError> {
        let ns = self.namespace(ctx, namespace)?;
        if matches!(object.keys, Keys::Class) {
            return Ok(self
                .class_associators(ns, object, f)?
                .into_iter()
                .map(Object::Class)
                .collect());
        }
        let targets = self.associator_paths(ctx, ns, object, f)?;
        let mut out = Vec::with_capacity(targets.len());
        for t in targets {
            let target_ns = t.namespace.clone().unwrap_or_else(|| ns.name().to_owned());
            match self.get_instance(ctx, &target_ns, &t, f.property_list.as_deref()) {
                Ok(i) => out.push(Object::Instance(i)),
                // A dangling reference (the other end vanished between the two
                // reads) is not the caller's error.
                Err(e) if e.status == openwmi_cim::CimStatus::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// The paths of the objects associated with `object`.
    pub fn associator_names(
        &self,
        ctx: &OperationContext,
        namespace: &str,
        object: &ObjectPath,
        f: &AssocFilter,
    ) -> Result<Vec<ObjectPath>, CimError> {
        let ns = self.namespace(ctx, namespace)?;
        if matches!(object.keys, Keys::Class) {
            return Ok(self
                .class_associators(ns, object, f)?
                .into_iter()
                .map(|c| self.class_path(ns, &c))
                .collect());
        }
        let mut paths = self.associator_paths(ctx, ns, object, f)?;
        for p in &mut paths {
            if p.host.is_none() {
                p.host = Some(self.host().to_owned());
            }
            if p.namespace.is_none() {
                p.namespace = Some(ns.name().to_owned());
            }
        }
        Ok(paths)
    }

    /// The association instances that refer to `object`.
    pub fn references(
        &self,
        ctx: &OperationContext,
        namespace: &str,
        object: &ObjectPath,
        f: &RefFilter,
    ) -> Result<Vec<Object>, CimError> {
        let ns = self.namespace(ctx, namespace)?;
        if matches!(object.keys, Keys::Class) {
            return Ok(self
                .class_references(ns, object, f)?
                .into_iter()
                .map(Object::Class)
                .collect());
        }
        let links = self.links(
            ctx,
            ns,
            object,
            f.result_class.as_ref(),
            f.role.as_ref(),
            None,
        )?;
        let mut out: Vec<Object> = Vec::new();
        for mut l in links {
            if let Some(q) = &f.required_qualifier {
                if !l.assoc_class.has_qualifier(q.as_str()) {
                    continue;
                }
            }
            if out
                .iter()
                .any(|o| matches!(o, Object::Instance(i) if i.path == l.assoc.path))
            {
                continue;
            }
            if let Some(list) = &f.property_list {
                Arc::make_mut(&mut l.assoc.instance).retain_properties(list);
            }
            out.push(Object::Instance(l.assoc));
        }
        Ok(out)
    }

    pub fn reference_names(
        &self,
        ctx: &OperationContext,
        namespace: &str,
        object: &ObjectPath,
        f: &RefFilter,
    ) -> Result<Vec<ObjectPath>, CimError> {
        let ns = self.namespace(ctx, namespace)?;
        Ok(self
            .references(ctx, namespace, object, f)?
            .into_iter()
            .map(|o| match o {
                Object::Instance(i) => Arc::unwrap_or_clone(i.path),
                Object::Class(c) => self.class_path(ns, &c),
            })
            .collect())
    }

    fn class_path(&self, ns: &Namespace, c: &Class) -> ObjectPath {
        ObjectPath {
            host: Some(self.host().to_owned()),
            namespace: Some(ns.name().to_owned()),
            class: c.name.clone(),
            keys: Keys::Class,
        }
    }

    fn associator_paths(
        &self,
        ctx: &OperationContext,
        ns: &Namespace,
        object: &ObjectPath,
        f: &AssocFilter,
    ) -> Result<Vec<ObjectPath>, CimError> {
        let links = self.links(
            ctx,
            ns,
            object,
            f.assoc_class.as_ref(),
            f.role.as_ref(),
            f.required_assoc_qualifier.as_ref(),
        )?;
        let mut out: Vec<ObjectPath> = Vec::new();
        for l in links {
            for r in l.assoc_class.references() {
                if r.name == l.role {
                    continue;
                }
                if let Some(rr) = &f.result_role {
                    if r.name != *rr {
                        continue;
                    }
                }
                let Some(Value::Reference(target)) = l.assoc.instance.value(r.name.as_str()) else {
                    continue;
                };
                if let Some(rc) = &f.result_class {
                    if !ns.is_subclass_of(target.class.as_str(), rc.as_str()) {
                        continue;
                    }
                }
                if let Some(q) = &f.required_qualifier {
                    if !ns
                        .class(target.class.as_str())
                        .is_some_and(|c| c.has_qualifier(q.as_str()))
                    {
                        continue;
                    }
                }
                let t = (**target).clone();
                if !out.contains(&t) {
                    out.push(t);
                }
            }
        }
        Ok(out)
    }

    /// Association instances (of `assoc_class` and its subclasses, if given)
    /// that refer to `object` through `role` (if given).
    fn links(
        &self,
        ctx: &OperationContext,
        ns: &Namespace,
        object: &ObjectPath,
        assoc_class: Option<&Name>,
        role: Option<&Name>,
        required_assoc_qualifier: Option<&Name>,
    ) -> Result<Vec<Link>, CimError> {
        let src_class = self.class_in(ns, object.class.as_str())?;
        if let Some(a) = assoc_class {
            self.class_in(ns, a.as_str())?;
        }
        let mut src = object.clone();
        if let Some(n) = &src.namespace {
            if !same_namespace(n, ns.name()) {
                return Err(CimError::invalid_parameter(format!(
                    "{object} is not in {}",
                    display_ns(ns.name())
                )));
            }
        }
        src.host = None;
        src.namespace = None;
        resolve_keys(&mut src, &src_class)?;
        // ASSOCIATORS OF a missing object is an error in WMI, not an empty set.
        self.get_instance(ctx, ns.name(), &src, Some(&[]))?;

        let mut links = Vec::new();
        for a in ns.classes() {
            if !a.is_association() {
                continue;
            }
            if let Some(ac) = assoc_class {
                if !ns.is_subclass_of(a.name.as_str(), ac.as_str()) {
                    continue;
                }
            }
            if let Some(q) = required_assoc_qualifier {
                if !a.has_qualifier(q.as_str()) {
                    continue;
                }
            }
            let roles: Vec<Name> = a
                .references()
                .filter(|r| role.is_none_or(|want| r.name == *want))
                .filter(|r| {
                    r.ty.ref_class.as_ref().is_none_or(|rc| {
                        ns.is_subclass_of(src_class.name.as_str(), rc.as_str())
                            || ns.is_subclass_of(rc.as_str(), src_class.name.as_str())
                    })
                })
                .map(|r| r.name.clone())
                .collect();
            if roles.is_empty() {
                continue;
            }
            let Some(provider) = self.provider_of(ns, &a) else {
                continue;
            };
            self.check_class_access(ctx, ns, &a)?;
            let stream = provider.enumerate(&EnumerateRequest {
                namespace: ns.name(),
                class: &a,
                property_list: None,
                filter: None,
                classes: ns,
                ctx,
            })?;
            for item in stream {
                let inst = item?;
                for r in &roles {
                    if let Some(Value::Reference(p)) = inst.value(r.as_str()) {
                        if refers_to(p, &src, ns.name()) {
                            let path = self.shared_path(ns.name(), &a, &inst);
                            links.push(Link {
                                assoc: InstanceWithPath {
                                    path,
                                    instance: inst.clone(),
                                },
                                assoc_class: a.clone(),
                                role: r.clone(),
                            });
                        }
                    }
                }
            }
        }
        Ok(links)
    }

    /// Schema-level associators of a class: the classes at the other end of
    /// the association classes that can refer to it.
    fn class_associators(
        &self,
        ns: &Namespace,
        object: &ObjectPath,
        f: &AssocFilter,
    ) -> Result<Vec<Arc<Class>>, CimError> {
        let src = self.class_in(ns, object.class.as_str())?;
        let mut out: Vec<Arc<Class>> = Vec::new();
        for a in ns.classes() {
            if !a.is_association() {
                continue;
            }
            if let Some(ac) = &f.assoc_class {
                if !ns.is_subclass_of(a.name.as_str(), ac.as_str()) {
                    continue;
                }
            }
            for r in a.references() {
                if f.role.as_ref().is_some_and(|w| r.name != *w) || !points_at(ns, r, &src) {
                    continue;
                }
                for other in a.references() {
                    if other.name == r.name
                        || f.result_role.as_ref().is_some_and(|w| other.name != *w)
                    {
                        continue;
                    }
                    let Some(rc) = &other.ty.ref_class else {
                        continue;
                    };
                    let Some(c) = ns.class(rc.as_str()) else {
                        continue;
                    };
                    if f.result_class
                        .as_ref()
                        .is_some_and(|w| !ns.is_subclass_of(c.name.as_str(), w.as_str()))
                    {
                        continue;
                    }
                    if !out.iter().any(|o| o.name == c.name) {
                        out.push(c);
                    }
                }
            }
        }
        Ok(out)
    }

    fn class_references(
        &self,
        ns: &Namespace,
        object: &ObjectPath,
        f: &RefFilter,
    ) -> Result<Vec<Arc<Class>>, CimError> {
        let src = self.class_in(ns, object.class.as_str())?;
        Ok(ns
            .classes()
            .filter(|a| a.is_association())
            .filter(|a| {
                f.result_class
                    .as_ref()
                    .is_none_or(|w| ns.is_subclass_of(a.name.as_str(), w.as_str()))
            })
            .filter(|a| {
                a.references()
                    .any(|r| f.role.as_ref().is_none_or(|w| r.name == *w) && points_at(ns, r, &src))
            })
            .collect())
    }
}

fn points_at(ns: &Namespace, r: &openwmi_cim::PropertyDecl, class: &Class) -> bool {
    r.ty.base == CimType::Reference
        && r.ty.ref_class.as_ref().is_none_or(|rc| {
            ns.is_subclass_of(class.name.as_str(), rc.as_str())
                || ns.is_subclass_of(rc.as_str(), class.name.as_str())
        })
}

/// Does the reference `p` (usually a full path) name the relative path `src`
/// in namespace `ns`? Hosts are not compared: a reference names this
/// machine's object whatever spelling of its name it carries.
fn refers_to(p: &ObjectPath, src: &ObjectPath, ns: &str) -> bool {
    if let Some(pn) = &p.namespace {
        if !same_namespace(pn, ns) {
            return false;
        }
    }
    let mut rel = p.clone();
    rel.host = None;
    rel.namespace = None;
    rel == *src
}
