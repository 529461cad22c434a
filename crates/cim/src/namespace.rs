//! Namespaces and the in-memory repository of classes, qualifier
//! declarations and static instances.

use crate::class::Class;
use crate::error::Error;
use crate::instance::Instance;
use crate::name::{Name, NameKey};
use crate::path::ObjectPath;
use crate::qualifier::QualifierDecl;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

/// Normalizes a namespace name: `\` and `/` both separate, leading and
/// trailing separators are dropped, the spelling is kept (`root/cimv2`).
pub fn normalize_namespace(name: &str) -> Result<String, Error> {
    let trimmed = name.trim_matches(|c| c == '/' || c == '\\');
    if trimmed.is_empty() {
        return Err(Error::InvalidNamespace(name.to_owned()));
    }
    let mut out = String::with_capacity(trimmed.len());
    for (i, seg) in trimmed.split(['/', '\\']).enumerate() {
        if !valid_segment(seg) {
            return Err(Error::InvalidNamespace(name.to_owned()));
        }
        if i > 0 {
            out.push('/');
        }
        out.push_str(seg);
    }
    Ok(out)
}

/// Whether two spellings name the same namespace (`root\cimv2`, `/root/CIMV2/`):
/// what `normalize_namespace` makes of them is equal but for ASCII case,
/// compared in place (it runs for every request). A spelling that does not
/// normalize names none.
pub fn same_namespace(a: &str, b: &str) -> bool {
    let (mut x, mut y) = (segments(a), segments(b));
    loop {
        match (x.next(), y.next()) {
            (None, None) => return true,
            (Some(p), Some(q)) if valid_segment(p) && p.eq_ignore_ascii_case(q) => {}
            _ => return false,
        }
    }
}

/// The segments of a namespace spelling, separators around it ignored.
fn segments(s: &str) -> std::str::Split<'_, [char; 2]> {
    s.trim_matches(|c| c == '/' || c == '\\').split(['/', '\\'])
}

fn valid_segment(seg: &str) -> bool {
    !seg.is_empty() && !seg.chars().any(|c| c.is_control() || c == ':' || c == '"')
}

/// The WMI spelling of a namespace: `root\cimv2`.
pub fn wmi_namespace(name: &str) -> String {
    name.replace('/', "\\")
}

/// One namespace: resolved classes, qualifier declarations, static instances.
#[derive(Clone, Debug, Default)]
pub struct Namespace {
    name: String,
    classes: HashMap<NameKey, Arc<Class>>,
    /// Classes in the order they were added (superclasses always first).
    order: Vec<Name>,
    /// Direct subclasses of each class, in order added.
    children: HashMap<NameKey, Vec<Name>>,
    qualifiers: BTreeMap<NameKey, QualifierDecl>,
    instances: Vec<Instance>,
    /// The paths of `instances`, to refuse duplicates without a scan.
    instance_paths: HashSet<ObjectPath>,
}

impl Namespace {
    pub fn new(name: &str) -> Namespace {
        Namespace {
            name: name.to_owned(),
            ..Default::default()
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Adds a class as declared; resolves it against its superclass.
    pub fn add_class(&mut self, class: Class) -> Result<Arc<Class>, Error> {
        let key = NameKey::new(class.name.as_str());
        if self.classes.contains_key(&key) {
            return Err(Error::DuplicateClass(class.name));
        }
        let sup = match &class.superclass {
            Some(s) => {
                if s == &class.name {
                    return Err(Error::CircularInheritance(class.name));
                }
                Some(
                    self.class(s.as_str())
                        .ok_or_else(|| Error::MissingSuperclass {
                            class: class.name.clone(),
                            superclass: s.clone(),
                        })?,
                )
            }
            None => None,
        };
        let resolved = Arc::new(class.resolve(sup.as_deref())?);
        if let Some(s) = &resolved.superclass {
            self.children
                .entry(NameKey::new(s.as_str()))
                .or_default()
                .push(resolved.name.clone());
        }
        self.order.push(resolved.name.clone());
        self.classes.insert(key, resolved.clone());
        Ok(resolved)
    }

    pub fn class(&self, name: &str) -> Option<Arc<Class>> {
        NameKey::lookup(name, |key| self.classes.get(key).cloned())
    }

    pub fn has_class(&self, name: &str) -> bool {
        NameKey::lookup(name, |key| self.classes.contains_key(key))
    }

    pub fn class_count(&self) -> usize {
        self.classes.len()
    }

    /// All classes, superclasses before subclasses.
    pub fn classes(&self) -> impl Iterator<Item = Arc<Class>> + '_ {
        self.order.iter().filter_map(|n| self.class(n.as_str()))
    }

    /// Direct subclasses of `name` (or the root classes for `None`); with
    /// `deep`, all descendants, each after its superclass.
    pub fn subclasses(&self, name: Option<&str>, deep: bool) -> Vec<Arc<Class>> {
        let mut out = Vec::new();
        let mut stack: Vec<Name> = match name {
            Some(n) => self.direct_children(n),
            None => self
                .order
                .iter()
                .filter(|n| {
                    self.class(n.as_str())
                        .is_some_and(|c| c.superclass.is_none())
                })
                .cloned()
                .collect(),
        };
        stack.reverse();
        while let Some(n) = stack.pop() {
            if let Some(c) = self.class(n.as_str()) {
                out.push(c);
            }
            if deep {
                let mut kids = self.direct_children(n.as_str());
                kids.reverse();
                stack.extend(kids);
            }
        }
        out
    }

    fn direct_children(&self, name: &str) -> Vec<Name> {
        NameKey::lookup(name, |key| self.children.get(key).cloned()).unwrap_or_default()
    }

    /// True when `class` is `ancestor` or derives from it.
    pub fn is_subclass_of(&self, class: &str, ancestor: &str) -> bool {
        let mut cur = Some(Name::new(class));
        let mut hops = 0;
        while let Some(c) = cur {
            if c.is(ancestor) {
                return true;
            }
            hops += 1;
            if hops > 256 {
                return false;
            }
            cur = self.class(c.as_str()).and_then(|k| k.superclass.clone());
        }
        false
    }

    /// The superclass chain of `class`, nearest first (not including `class`).
    pub fn derivation(&self, class: &str) -> Vec<Name> {
        let mut out = Vec::new();
        let mut cur = self.class(class).and_then(|c| c.superclass.clone());
        while let Some(c) = cur {
            if out.len() > 256 {
                break;
            }
            cur = self.class(c.as_str()).and_then(|k| k.superclass.clone());
            out.push(c);
        }
        out
    }

    pub fn add_qualifier_decl(&mut self, decl: QualifierDecl) {
        self.qualifiers
            .insert(NameKey::new(decl.name.as_str()), decl);
    }

    pub fn qualifier_decl(&self, name: &str) -> Option<&QualifierDecl> {
        NameKey::lookup(name, |key| self.qualifiers.get(key))
    }

    pub fn qualifier_decls(&self) -> impl Iterator<Item = &QualifierDecl> {
        self.qualifiers.values()
    }

    /// Adds a static instance; its class must be here and its keys unique.
    pub fn add_instance(&mut self, instance: Instance) -> Result<(), Error> {
        let class = self
            .class(instance.class_name.as_str())
            .ok_or_else(|| Error::NoSuchClass(instance.class_name.clone()))?;
        let path = instance.path(&class);
        if self.instance_paths.contains(&path) {
            return Err(Error::DuplicateInstance(path.to_string()));
        }
        self.instance_paths.insert(path);
        self.instances.push(instance);
        Ok(())
    }

    pub fn instances(&self) -> &[Instance] {
        &self.instances
    }

    /// Moves the static instances out (to the provider that will serve
    /// them), so they are not kept twice.
    pub fn take_instances(&mut self) -> Vec<Instance> {
        self.instance_paths.clear();
        std::mem::take(&mut self.instances)
    }
}

/// All namespaces, looked up case-insensitively with either separator.
#[derive(Clone, Debug, Default)]
pub struct Repository {
    namespaces: BTreeMap<NameKey, Namespace>,
}

impl Repository {
    pub fn new() -> Repository {
        Repository::default()
    }

    pub fn namespace(&self, name: &str) -> Option<&Namespace> {
        // Already the key (normalized, lower case): no copies. The object
        // manager looks names up in this form, some once per instance.
        if let Some(ns) = self.namespaces.get(name) {
            return Some(ns);
        }
        let n = normalize_namespace(name).ok()?;
        self.namespaces.get(n.to_ascii_lowercase().as_str())
    }

    pub fn namespace_mut(&mut self, name: &str) -> Option<&mut Namespace> {
        let n = normalize_namespace(name).ok()?;
        self.namespaces.get_mut(n.to_ascii_lowercase().as_str())
    }

    /// The namespace, created empty if it does not exist yet.
    pub fn namespace_or_create(&mut self, name: &str) -> Result<&mut Namespace, Error> {
        let n = normalize_namespace(name)?;
        Ok(self
            .namespaces
            .entry(NameKey::new(&n))
            .or_insert_with(|| Namespace::new(&n)))
    }

    pub fn namespaces(&self) -> impl Iterator<Item = &Namespace> {
        self.namespaces.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_are_the_same_however_they_are_spelled() {
        for same in [
            "root/cimv2",
            "ROOT\\CIMV2",
            "/root/CimV2/",
            "\\\\root\\cimv2",
        ] {
            assert!(same_namespace(same, "root/cimv2"), "{same}");
            assert!(same_namespace("root\\CIMV2", same), "{same}");
        }
        for other in ["root", "root/cimv2/x", "root//cimv2", "", "/", "root/cimv3"] {
            assert!(!same_namespace(other, "root/cimv2"), "{other}");
        }
        // What does not normalize names nothing, not even itself.
        for invalid in ["", "root//x", "root/a:b", "/"] {
            assert!(normalize_namespace(invalid).is_err());
            assert!(!same_namespace(invalid, invalid), "{invalid}");
        }
    }
    use crate::class::PropertyDecl;
    use crate::qualifier::Qualifier;
    use crate::types::{CimType, TypeDecl};
    use crate::value::Value;

    #[test]
    fn regression_adding_many_instances_is_not_quadratic() {
        let mut ns = Namespace::new("root/test");
        let mut c = Class::new("T", None);
        let mut key = PropertyDecl::new("Id", TypeDecl::scalar(CimType::UInt32));
        key.qualifiers
            .push(Qualifier::new("Key", Some(Value::Boolean(true))));
        c.properties.push(key);
        let c = ns.add_class(c).unwrap();
        let started = std::time::Instant::now();
        for i in 0..20_000u32 {
            ns.add_instance(Instance::of_class(&c).with("Id", Some(Value::UInt32(i))))
                .unwrap();
        }
        assert!(matches!(
            ns.add_instance(Instance::of_class(&c).with("Id", Some(Value::UInt32(7)))),
            Err(Error::DuplicateInstance(_))
        ));
        // A scan per insert took minutes here; hashing takes milliseconds.
        assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
    }

    #[test]
    fn namespaces_normalize() {
        assert_eq!(normalize_namespace("root\\cimv2").unwrap(), "root/cimv2");
        assert_eq!(normalize_namespace("/root/cimv2/").unwrap(), "root/cimv2");
        assert!(normalize_namespace("root//x").is_err());
        assert!(normalize_namespace("").is_err());
        let mut r = Repository::new();
        r.namespace_or_create("root\\CIMV2").unwrap();
        assert!(r.namespace("Root/cimv2").is_some());
    }

    #[test]
    fn inheritance_marks_propagated_and_overrides_in_place() {
        let mut ns = Namespace::new("root/test");
        let mut base = Class::new("Base", None);
        let mut name = PropertyDecl::new("Name", TypeDecl::scalar(CimType::String));
        name.qualifiers
            .push(Qualifier::new("MaxLen", Some(Value::UInt32(64))));
        base.properties.push(name);
        base.properties
            .push(PropertyDecl::new("Size", TypeDecl::scalar(CimType::UInt32)));
        ns.add_class(base).unwrap();
        let mut sub = Class::new("Sub", Some(Name::new("base")));
        let mut over = PropertyDecl::new("name", TypeDecl::scalar(CimType::String));
        over.qualifiers
            .push(Qualifier::new("Key", Some(Value::Boolean(true))));
        sub.properties.push(over);
        sub.properties.push(PropertyDecl::new(
            "Extra",
            TypeDecl::scalar(CimType::Boolean),
        ));
        let sub = ns.add_class(sub).unwrap();
        let names: Vec<_> = sub.properties.iter().map(|p| p.name.to_string()).collect();
        assert_eq!(names, ["name", "Size", "Extra"]);
        assert!(!sub.properties[0].propagated);
        assert!(sub.properties[0].qualifier("MaxLen").unwrap().propagated);
        assert!(sub.properties[1].propagated);
        assert_eq!(sub.properties[1].class_origin, Name::new("Base"));
        assert!(ns.is_subclass_of("SUB", "base"));
        assert_eq!(ns.derivation("Sub"), vec![Name::new("Base")]);

        let bad = Class::new("Orphan", Some(Name::new("Nope")));
        assert!(matches!(
            ns.add_class(bad),
            Err(Error::MissingSuperclass { .. })
        ));
        assert!(matches!(
            ns.add_class(Class::new("Base", None)),
            Err(Error::DuplicateClass(_))
        ));
        let mut wrong = Class::new("Wrong", Some(Name::new("Base")));
        wrong
            .properties
            .push(PropertyDecl::new("Size", TypeDecl::scalar(CimType::String)));
        assert!(matches!(
            ns.add_class(wrong),
            Err(Error::OverrideTypeMismatch { .. })
        ));
    }
}
