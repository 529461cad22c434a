//! The CIM object manager of openwmi: namespaces, the class repository, the
//! provider registry, and the read operations of IWbemServices / DSP0200
//! (GetClass, EnumerateClasses, EnumerateClassNames, GetInstance,
//! EnumerateInstances, EnumerateInstanceNames, ExecQuery, Associators,
//! AssociatorNames, References, ReferenceNames, GetQualifier,
//! EnumerateQualifiers). The CLI and the network server both drive this one
//! engine; providers plug in through [`InstanceProvider`].

mod access;
mod assoc;
pub mod bundled;
mod context;
pub mod errors;
pub mod events;
mod fold_hash;
pub mod interop;
mod manager;
mod method;
mod poller;
mod provider;
mod query;
mod registry;
mod statics;
mod stored;
mod system;
mod write;

pub use access::{local_caller_only, AccessPolicy, AllowAll};
pub use assoc::{AssocFilter, RefFilter};
pub use context::OperationContext;
pub use manager::{
    display_ns, shape_class, ClassOptions, EnumOptions, InstanceIter, InstanceWithPath, Object,
    ObjectManager, ObjectManagerBuilder,
};
pub use method::{coerce, AuditRecord, MethodAudit, MethodRequest, MethodResult};
pub use poller::{EventPoller, EventSink, Subscription};
pub use provider::{
    CreateRequest, DeleteRequest, EnumerateRequest, GetRequest, InstanceProvider, InstanceStream,
    ProviderCapabilities, WhereClause,
};
pub use query::QueryResult;
pub use registry::ProviderRegistry;
pub use statics::RepositoryProvider;
pub use stored::PerStoredInstance;
pub use system::{class_system_properties, system_properties};
