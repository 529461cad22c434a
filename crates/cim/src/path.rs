//! Object paths, in the WMI form (`\\HOST\root\cimv2:Class.Key="v"`) and the
//! DMTF WBEM URI form (`//HOST/root/cimv2:Class.Key="v"`).
//!
//! (Parsing and printing are being written; this file holds the types.)

use crate::name::Name;
use crate::value::Value;

/// A path to a class or an instance.
#[derive(Clone, Debug)]
pub struct ObjectPath {
    /// `None` for a path without a host; `Some(".")` for the local host.
    pub host: Option<String>,
    /// The namespace with `/` separators (`root/cimv2`), or `None` for a relative path.
    pub namespace: Option<String>,
    pub class: Name,
    pub keys: Keys,
}

/// What follows the class name.
#[derive(Clone, Debug, PartialEq)]
pub enum Keys {
    /// No keys: the path names the class itself.
    Class,
    /// `Class=@`: the single instance of a singleton class.
    Singleton,
    /// `Class.K1="v",K2=3` or the single-key shorthand `Class="v"` (name empty until resolved).
    Bindings(Vec<KeyBinding>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct KeyBinding {
    pub name: Name,
    pub value: Value,
}

// Placeholder printing and equality so the crate builds; replaced by the full
// parser/printer.
impl std::fmt::Display for ObjectPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(h) = &self.host {
            write!(f, "\\\\{h}\\")?;
        }
        if let Some(ns) = &self.namespace {
            write!(f, "{}:", ns.replace('/', "\\"))?;
        }
        write!(f, "{}", self.class)?;
        match &self.keys {
            Keys::Class => Ok(()),
            Keys::Singleton => f.write_str("=@"),
            Keys::Bindings(b) => {
                for (i, k) in b.iter().enumerate() {
                    f.write_str(if i == 0 { "." } else { "," })?;
                    match &k.value {
                        Value::String(s) => write!(f, "{}=\"{}\"", k.name, s.replace('\\', "\\\\").replace('"', "\\\""))?,
                        v => write!(f, "{}={}", k.name, v)?,
                    }
                }
                Ok(())
            }
        }
    }
}

impl PartialEq for ObjectPath {
    fn eq(&self, other: &Self) -> bool {
        self.to_string().eq_ignore_ascii_case(&other.to_string())
    }
}
