//! Classes, properties, methods and parameters, and inheritance (DSP0004 5.1).

use crate::error::Error;
use crate::name::Name;
use crate::qualifier::{self, Qualifier};
use crate::types::{CimType, TypeDecl};
use crate::value::Value;

#[derive(Clone, Debug, PartialEq)]
pub struct PropertyDecl {
    pub name: Name,
    pub ty: TypeDecl,
    pub default: Option<Value>,
    pub qualifiers: Vec<Qualifier>,
    /// The class that first declared (or last overrode) this property.
    pub class_origin: Name,
    /// True when inherited unchanged from a superclass.
    pub propagated: bool,
}

impl PropertyDecl {
    pub fn new(name: impl Into<Name>, ty: TypeDecl) -> Self {
        PropertyDecl {
            name: name.into(),
            ty,
            default: None,
            qualifiers: Vec::new(),
            class_origin: Name::new(""),
            propagated: false,
        }
    }
    pub fn is_key(&self) -> bool {
        qualifier::is_set(&self.qualifiers, "Key")
    }
    pub fn qualifier(&self, name: &str) -> Option<&Qualifier> {
        qualifier::find(&self.qualifiers, name)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ParameterDecl {
    pub name: Name,
    pub ty: TypeDecl,
    pub qualifiers: Vec<Qualifier>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct MethodDecl {
    pub name: Name,
    pub return_type: CimType,
    pub parameters: Vec<ParameterDecl>,
    pub qualifiers: Vec<Qualifier>,
    pub class_origin: Name,
    pub propagated: bool,
}

/// A class. Once added to a [`crate::Namespace`] it is *resolved*: it holds
/// the members it inherits too, marked `propagated`.
#[derive(Clone, Debug, PartialEq)]
pub struct Class {
    pub name: Name,
    pub superclass: Option<Name>,
    pub qualifiers: Vec<Qualifier>,
    pub properties: Vec<PropertyDecl>,
    pub methods: Vec<MethodDecl>,
}

impl Class {
    pub fn new(name: impl Into<Name>, superclass: Option<Name>) -> Self {
        Class {
            name: name.into(),
            superclass,
            qualifiers: Vec::new(),
            properties: Vec::new(),
            methods: Vec::new(),
        }
    }

    pub fn qualifier(&self, name: &str) -> Option<&Qualifier> {
        qualifier::find(&self.qualifiers, name)
    }
    pub fn has_qualifier(&self, name: &str) -> bool {
        qualifier::is_set(&self.qualifiers, name)
    }
    pub fn is_association(&self) -> bool {
        self.has_qualifier("Association")
    }
    pub fn is_indication(&self) -> bool {
        self.has_qualifier("Indication")
    }
    pub fn is_abstract(&self) -> bool {
        self.has_qualifier("Abstract")
    }

    pub fn property(&self, name: &str) -> Option<&PropertyDecl> {
        self.properties.iter().find(|p| p.name.is(name))
    }
    pub fn property_index(&self, name: &str) -> Option<usize> {
        self.properties.iter().position(|p| p.name.is(name))
    }
    pub fn method(&self, name: &str) -> Option<&MethodDecl> {
        self.methods.iter().find(|m| m.name.is(name))
    }
    pub fn key_properties(&self) -> impl Iterator<Item = &PropertyDecl> {
        self.properties.iter().filter(|p| p.is_key())
    }
    /// Reference properties, the roles of an association.
    pub fn references(&self) -> impl Iterator<Item = &PropertyDecl> {
        self.properties
            .iter()
            .filter(|p| p.ty.base == CimType::Reference && !p.ty.is_array())
    }

    /// Resolves a class as declared (`self`, holding only its own members)
    /// against its already resolved superclass: inherited members come first,
    /// marked propagated; overrides replace them in place; qualifiers flow down
    /// when their flavor is ToSubclass, and DisableOverride ones may not change.
    pub fn resolve(mut self, superclass: Option<&Class>) -> Result<Class, Error> {
        let name = self.name.clone();
        check_unique(&name, self.properties.iter().map(|p| &p.name))?;
        check_unique(&name, self.methods.iter().map(|m| &m.name))?;
        for p in &mut self.properties {
            p.class_origin = name.clone();
            p.propagated = false;
        }
        for m in &mut self.methods {
            m.class_origin = name.clone();
            m.propagated = false;
        }
        let Some(sup) = superclass else {
            return Ok(self);
        };

        self.qualifiers = merge_qualifiers(&name, None, &sup.qualifiers, self.qualifiers)?;

        let mut props: Vec<PropertyDecl> = sup
            .properties
            .iter()
            // Field by field: `..p.clone()` would copy the qualifiers only to drop them.
            .map(|p| PropertyDecl {
                name: p.name.clone(),
                ty: p.ty.clone(),
                default: p.default.clone(),
                qualifiers: inherited_qualifiers(&p.qualifiers),
                class_origin: p.class_origin.clone(),
                propagated: true,
            })
            .collect();
        for mut local in std::mem::take(&mut self.properties) {
            match props.iter().position(|p| p.name == local.name) {
                Some(i) => {
                    let inherited = &props[i];
                    if inherited.ty.base != local.ty.base
                        || inherited.ty.is_array() != local.ty.is_array()
                    {
                        return Err(Error::OverrideTypeMismatch {
                            class: name,
                            element: local.name,
                        });
                    }
                    local.qualifiers = merge_qualifiers(
                        &name,
                        Some(&local.name),
                        &sup.properties[i].qualifiers,
                        local.qualifiers,
                    )?;
                    if local.default.is_none() {
                        local.default = inherited.default.clone();
                    }
                    props[i] = local;
                }
                None => props.push(local),
            }
        }
        self.properties = props;

        let mut methods: Vec<MethodDecl> = sup
            .methods
            .iter()
            .map(|m| MethodDecl {
                name: m.name.clone(),
                return_type: m.return_type,
                parameters: m.parameters.clone(),
                qualifiers: inherited_qualifiers(&m.qualifiers),
                class_origin: m.class_origin.clone(),
                propagated: true,
            })
            .collect();
        for mut local in std::mem::take(&mut self.methods) {
            match methods.iter().position(|m| m.name == local.name) {
                Some(i) => {
                    if methods[i].return_type != local.return_type {
                        return Err(Error::OverrideTypeMismatch {
                            class: name,
                            element: local.name,
                        });
                    }
                    local.qualifiers = merge_qualifiers(
                        &name,
                        Some(&local.name),
                        &sup.methods[i].qualifiers,
                        local.qualifiers,
                    )?;
                    methods[i] = local;
                }
                None => methods.push(local),
            }
        }
        self.methods = methods;
        Ok(self)
    }
}

fn check_unique<'a>(class: &Name, names: impl Iterator<Item = &'a Name>) -> Result<(), Error> {
    let mut seen: Vec<&Name> = Vec::new();
    for n in names {
        if seen.contains(&n) {
            return Err(Error::DuplicateElement {
                class: class.clone(),
                element: n.clone(),
            });
        }
        seen.push(n);
    }
    Ok(())
}

fn inherited_qualifiers(quals: &[Qualifier]) -> Vec<Qualifier> {
    quals
        .iter()
        .filter(|q| q.flavor.to_subclass)
        .map(|q| Qualifier {
            propagated: true,
            ..q.clone()
        })
        .collect()
}

/// Local qualifiers win over inherited ones, except that a DisableOverride
/// qualifier may only be restated with the same value.
fn merge_qualifiers(
    class: &Name,
    element: Option<&Name>,
    inherited: &[Qualifier],
    local: Vec<Qualifier>,
) -> Result<Vec<Qualifier>, Error> {
    let mut out = inherited_qualifiers(inherited);
    for q in local {
        match out.iter().position(|o| o.name == q.name) {
            Some(i) => {
                if !out[i].flavor.overridable && out[i].value != q.value {
                    return Err(Error::OverrideDisabled {
                        class: class.clone(),
                        element: element.cloned(),
                        qualifier: q.name,
                    });
                }
                out[i] = q;
            }
            None => out.push(q),
        }
    }
    Ok(out)
}
