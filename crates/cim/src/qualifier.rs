//! Qualifier declarations and qualifier values (DSP0004 5.6).

use crate::name::Name;
use crate::types::{ArrayKind, CimType};
use crate::value::Value;

/// Qualifier flavors. Defaults (DSP0004 5.6.1.3): EnableOverride, ToSubclass, not Translatable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Flavor {
    /// EnableOverride (true) or DisableOverride (false).
    pub overridable: bool,
    /// ToSubclass (true) or Restricted (false).
    pub to_subclass: bool,
    pub translatable: bool,
}

impl Default for Flavor {
    fn default() -> Self {
        Flavor {
            overridable: true,
            to_subclass: true,
            translatable: false,
        }
    }
}

/// Where a qualifier may appear. A bit set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Scope(pub u16);

impl Scope {
    pub const CLASS: Scope = Scope(1);
    pub const ASSOCIATION: Scope = Scope(2);
    pub const INDICATION: Scope = Scope(4);
    pub const PROPERTY: Scope = Scope(8);
    pub const REFERENCE: Scope = Scope(16);
    pub const METHOD: Scope = Scope(32);
    pub const PARAMETER: Scope = Scope(64);
    pub const QUALIFIER: Scope = Scope(128);
    pub const ANY: Scope = Scope(0xff);

    /// (bit, MOF keyword) in the order MOF and CIM-XML list them.
    pub const NAMES: [(Scope, &'static str); 8] = [
        (Scope::CLASS, "class"),
        (Scope::ASSOCIATION, "association"),
        (Scope::INDICATION, "indication"),
        (Scope::PROPERTY, "property"),
        (Scope::REFERENCE, "reference"),
        (Scope::METHOD, "method"),
        (Scope::PARAMETER, "parameter"),
        (Scope::QUALIFIER, "qualifier"),
    ];

    pub fn contains(self, other: Scope) -> bool {
        self.0 & other.0 == other.0
    }
    pub fn intersects(self, other: Scope) -> bool {
        self.0 & other.0 != 0
    }
    pub fn union(self, other: Scope) -> Scope {
        Scope(self.0 | other.0)
    }
    pub fn from_keyword(s: &str) -> Option<Scope> {
        if s.eq_ignore_ascii_case("any") {
            return Some(Scope::ANY);
        }
        Scope::NAMES
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(s))
            .map(|(b, _)| *b)
    }
}

/// A `Qualifier Name : type = default, Scope(...), Flavor(...)` declaration.
#[derive(Clone, Debug, PartialEq)]
pub struct QualifierDecl {
    pub name: Name,
    pub ty: CimType,
    pub array: ArrayKind,
    pub default: Option<Value>,
    pub scope: Scope,
    pub flavor: Flavor,
}

/// A qualifier applied to a class, property, method or parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct Qualifier {
    pub name: Name,
    pub value: Option<Value>,
    pub flavor: Flavor,
    /// True when it came down from a superclass rather than being stated here.
    pub propagated: bool,
}

impl Qualifier {
    pub fn new(name: impl Into<Name>, value: Option<Value>) -> Self {
        Qualifier {
            name: name.into(),
            value,
            flavor: Flavor::default(),
            propagated: false,
        }
    }

    /// A boolean qualifier is set when present with no value or with TRUE.
    pub fn is_true(&self) -> bool {
        !matches!(self.value, Some(Value::Boolean(false)))
    }
}

/// Finds a qualifier by name (case-insensitive).
pub fn find<'a>(quals: &'a [Qualifier], name: &str) -> Option<&'a Qualifier> {
    quals.iter().find(|q| q.name.is(name))
}

/// True when a boolean qualifier (Key, Abstract, Association...) is set.
pub fn is_set(quals: &[Qualifier], name: &str) -> bool {
    find(quals, name).is_some_and(Qualifier::is_true)
}
