//! The CIM data model of openwmi (DSP0004): types, values, datetimes, object
//! paths, qualifiers, classes, instances and namespaces, and the status codes
//! of CIM and WMI. Pure code: nothing here does I/O.

pub mod class;
pub mod datetime;
pub mod error;
pub mod instance;
pub mod name;
pub mod namespace;
pub mod path;
pub mod percent;
pub mod qualifier;
pub mod status;
pub mod types;
pub mod value;

pub use class::{Class, MethodDecl, ParameterDecl, PropertyDecl};
pub use datetime::CimDateTime;
pub use error::Error;
pub use instance::{Instance, InstanceProperty};
pub use name::Name;
pub use namespace::{normalize_namespace, same_namespace, wmi_namespace, Namespace, Repository};
pub use path::{KeyBinding, Keys, ObjectPath};
pub use qualifier::{Flavor, Qualifier, QualifierDecl, Scope};
pub use status::{CimError, CimStatus, WbemStatus};
pub use types::{ArrayKind, CimType, TypeDecl};
pub use value::Value;
