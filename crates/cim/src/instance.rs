//! Instances.

use crate::class::Class;
use crate::error::Error;
use crate::name::Name;
use crate::path::{KeyBinding, Keys, ObjectPath};
use crate::types::TypeDecl;
use crate::value::Value;

#[derive(Clone, Debug, PartialEq)]
pub struct InstanceProperty {
    pub name: Name,
    pub ty: TypeDecl,
    pub value: Option<Value>,
}

/// An instance of a class: its properties in class order, each with its type
/// so that an instance can be encoded without its class at hand.
#[derive(Clone, Debug, PartialEq)]
pub struct Instance {
    pub class_name: Name,
    pub properties: Vec<InstanceProperty>,
}

impl Instance {
    /// An instance with every property of `class`, set to its default (or NULL).
    pub fn of_class(class: &Class) -> Instance {
        Instance {
            class_name: class.name.clone(),
            properties: class
                .properties
                .iter()
                .map(|p| InstanceProperty {
                    name: p.name.clone(),
                    ty: p.ty.clone(),
                    value: p.default.clone(),
                })
                .collect(),
        }
    }

    pub fn property(&self, name: &str) -> Option<&InstanceProperty> {
        self.properties.iter().find(|p| p.name.is(name))
    }

    /// The value of a property; `None` when NULL or absent.
    pub fn value(&self, name: &str) -> Option<&Value> {
        self.property(name).and_then(|p| p.value.as_ref())
    }

    /// Sets a property the class declares.
    pub fn set(&mut self, name: &str, value: Option<Value>) -> Result<(), Error> {
        match self.properties.iter_mut().find(|p| p.name.is(name)) {
            Some(p) => {
                p.value = value;
                Ok(())
            }
            None => Err(Error::NoSuchProperty {
                class: self.class_name.clone(),
                property: Name::new(name),
            }),
        }
    }

    /// Sets a property; for providers, whose property names are fixed by the
    /// bundled schema, so that a miss is a programming error caught by tests.
    pub fn with(mut self, name: &str, value: impl Into<Option<Value>>) -> Self {
        let r = self.set(name, value.into());
        debug_assert!(r.is_ok(), "{r:?}");
        self
    }

    /// Keeps only the named properties (a property list); keys are kept too
    /// when `keep_keys` lists them, as WMI does for `__PATH`.
    pub fn retain_properties(&mut self, names: &[Name]) {
        self.properties.retain(|p| names.contains(&p.name));
    }

    /// The relative instance path built from the class's key properties.
    /// Keys are listed in class order; a class without keys gives a singleton path.
    pub fn path(&self, class: &Class) -> ObjectPath {
        let mut has_keys = false;
        let mut bindings: Vec<KeyBinding> = Vec::new();
        for (i, k) in class.properties.iter().enumerate() {
            if !k.is_key() {
                continue;
            }
            has_keys = true;
            // Instances made from the class hold its properties in its order:
            // look there first.
            let value = match self.properties.get(i) {
                Some(p) if p.name == k.name => p.value.as_ref(),
                _ => self.value(k.name.as_str()),
            };
            if let Some(v) = value {
                bindings.push(KeyBinding {
                    name: k.name.clone(),
                    value: v.clone(),
                });
            }
        }
        let keys = if has_keys {
            Keys::Bindings(bindings)
        } else {
            Keys::Singleton
        };
        ObjectPath {
            host: None,
            namespace: None,
            class: self.class_name.clone(),
            keys,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::class::PropertyDecl;
    use crate::qualifier::Qualifier;
    use crate::types::{CimType, TypeDecl};

    fn share_class() -> Class {
        let key = |name: &str, ty| {
            let mut p = PropertyDecl::new(Name::new(name), TypeDecl::scalar(ty));
            p.qualifiers
                .push(Qualifier::new(Name::new("Key"), Some(Value::Boolean(true))));
            p
        };
        let mut class = Class::new(Name::new("T_Share"), None);
        class.properties = vec![
            PropertyDecl::new(Name::new("Caption"), TypeDecl::scalar(CimType::String)),
            key("Name", CimType::String),
            key("Port", CimType::UInt32),
        ];
        class
    }

    #[test]
    fn the_path_has_the_keys_wherever_the_instance_holds_them() {
        let class = share_class();
        let mut inst = Instance::of_class(&class);
        inst.set("Name", Some(Value::String("a".into()))).unwrap();
        inst.set("Port", Some(Value::UInt32(445))).unwrap();
        inst.set("Caption", Some(Value::String("c".into())))
            .unwrap();
        let expected = ObjectPath::parse(r#"T_Share.Name="a",Port=445"#).unwrap();
        assert_eq!(inst.path(&class), expected);
        // Trimmed to a property list (keys kept) and reordered: found by name.
        let mut trimmed = inst.clone();
        trimmed.properties.retain(|p| !p.name.is("Caption"));
        assert_eq!(trimmed.path(&class), expected);
        trimmed.properties.reverse();
        assert_eq!(trimmed.path(&class), expected);
        // A class without keys: a singleton.
        let mut keyless = Class::new(Name::new("T_One"), None);
        keyless.properties = vec![class.properties[0].clone()];
        assert!(matches!(
            Instance::of_class(&keyless).path(&keyless).keys,
            Keys::Singleton
        ));
    }
}
