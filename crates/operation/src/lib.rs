//! The CIM operations (DSP0200 2.4 clause 5.3) as values a protocol front-end
//! decodes into and a dispatcher runs, whatever the wire: CIM-XML today,
//! WS-Management later.
//!
//! Each operation's parameters are described once, in `params.rs`: per
//! parameter its field, wire name, kind and (for the optional ones with a
//! value when absent) its DSP0200 default. From that one description come the
//! struct, its decoding from a [`ParamSource`] and its encoding to a
//! [`ParamSink`], in the order the description gives. A wire format
//! implements the two traits for its own representation of a named parameter
//! and lists no operation's parameters itself.
//!
//! Parameters several operations share are grouped ([`InstanceOptions`],
//! [`AssocParams`], [`RefParams`], [`OpenOptions`], [`Filter`]); an `Open*`
//! operation takes its base operation's groups plus a filter and the open
//! options, but not the parameters DSP0200 leaves out of it (LocalOnly and
//! IncludeQualifiers), so that no value holds a parameter its wire form
//! cannot carry.

#[macro_use]
mod describe;
mod operation;
pub mod params;

pub use operation::Operation;
pub use params::*;

use openwmi_cim::{CimError, Instance, Name, ObjectPath};

/// Where an operation's parameters are read from: the named parameters of
/// one request. Each method takes the parameter `name` (once; how names
/// compare is the wire format's business) and gives `None` when the request
/// leaves it out or gives it as NULL. A value of the wrong form is an error
/// (CIM_ERR_INVALID_PARAMETER).
pub trait ParamSource {
    /// A class name (DSP0201 CLASSNAME).
    fn class_name(&mut self, name: &str) -> Result<Option<Name>, CimError>;
    /// A property, role or qualifier name given as a string.
    fn name(&mut self, name: &str) -> Result<Option<Name>, CimError>;
    fn string(&mut self, name: &str) -> Result<Option<String>, CimError>;
    fn boolean(&mut self, name: &str) -> Result<Option<bool>, CimError>;
    fn uint32(&mut self, name: &str) -> Result<Option<u32>, CimError>;
    /// A list of property names; NULL entries are left out.
    fn property_list(&mut self, name: &str) -> Result<Option<Vec<Name>>, CimError>;
    /// The path of an instance (no host, no namespace).
    fn instance_name(&mut self, name: &str) -> Result<Option<ObjectPath>, CimError>;
    /// The path of a class (`Keys::Class`) or of an instance.
    fn object_name(&mut self, name: &str) -> Result<Option<ObjectPath>, CimError>;
    /// Called once every parameter of the operation is taken: a parameter
    /// left over is one the operation does not take.
    fn finish(&mut self) -> Result<(), CimError>;
    /// An instance (DSP0201 INSTANCE): CreateInstance's NewInstance. A wire
    /// format that carries no instances refuses it.
    fn instance(&mut self, name: &str) -> Result<Option<NewInstance>, CimError> {
        Err(CimError::not_supported(format!(
            "{name}: this protocol carries no instances"
        )))
    }
}

/// Where an operation's parameters are written to, each named parameter
/// with a value (an absent optional one is not written). Values come by
/// reference, scalars too, so that one rule of the description serves every
/// kind.
pub trait ParamSink {
    fn class_name(&mut self, name: &str, value: &Name);
    fn name(&mut self, name: &str, value: &Name);
    fn string(&mut self, name: &str, value: &str);
    fn boolean(&mut self, name: &str, value: &bool);
    fn uint32(&mut self, name: &str, value: &u32);
    fn property_list(&mut self, name: &str, value: &[Name]);
    fn instance_name(&mut self, name: &str, value: &ObjectPath);
    fn object_name(&mut self, name: &str, value: &ObjectPath);
    /// An instance (CreateInstance's NewInstance); a wire format that
    /// carries no instances writes nothing.
    fn instance(&mut self, name: &str, value: &NewInstance) {
        let _ = (name, value);
    }
}

/// The instance CreateInstance is given. Compared as instances are (a NaN
/// property makes two equal ones unequal, as for any real value).
#[derive(Clone, Debug, PartialEq)]
pub struct NewInstance(pub Instance);

impl Eq for NewInstance {}

/// A set of parameters: read from a [`ParamSource`] and written to a
/// [`ParamSink`] in the same order, the order of its description.
pub trait Parameters: Sized {
    fn decode<S: ParamSource + ?Sized>(src: &mut S) -> Result<Self, CimError>;
    fn encode<S: ParamSink + ?Sized>(&self, sink: &mut S);
}

/// A required parameter the request leaves out (or gives as NULL).
fn missing(name: &str) -> CimError {
    CimError::invalid_parameter(format!("missing parameter {name}"))
}

#[cfg(test)]
mod tests;
