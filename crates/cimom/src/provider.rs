//! The provider seam: how instance data gets into the object manager.

use crate::context::OperationContext;
use crate::method::{MethodRequest, MethodResult};
use openwmi_cim::{CimError, Class, Instance, Name, Namespace, ObjectPath};
use std::sync::Arc;

/// The parsed WHERE clause of a query, handed to providers so they can filter
/// at the source. The object manager re-checks it on every instance (unless
/// the provider says it applied it: [`ProviderCapabilities::applies_filter`]), so
/// a provider may ignore it and still be correct.
pub type WhereClause = openwmi_wql::Expr;

/// A stream of instances from a provider. Providers may yield an error at any
/// point (a source that fails half way); consumers stop there. Shared, so
/// that instances kept in memory are handed out without a copy (the object
/// manager copies only to change one: a property list, system properties).
pub type InstanceStream = Box<dyn Iterator<Item = Result<Arc<Instance>, CimError>> + Send>;

/// What a provider is asked for in an enumeration.
#[derive(Debug)]
pub struct EnumerateRequest<'a> {
    pub namespace: &'a str,
    /// The class whose instances are wanted: exactly this class, not its
    /// subclasses (the object manager walks the hierarchy).
    pub class: &'a Arc<Class>,
    /// Properties the caller wants; `None` means all. A provider may return
    /// more: the object manager trims.
    pub property_list: Option<&'a [Name]>,
    pub filter: Option<&'a WhereClause>,
    /// The namespace's classes, for `ISA` in the filter.
    pub classes: &'a Namespace,
    pub ctx: &'a OperationContext,
}

/// What a provider is asked for in a GetInstance.
#[derive(Debug)]
pub struct GetRequest<'a> {
    pub namespace: &'a str,
    pub class: &'a Arc<Class>,
    /// The instance path, relative (no host or namespace), keys named.
    pub path: &'a ObjectPath,
    pub property_list: Option<&'a [Name]>,
    pub classes: &'a Namespace,
    pub ctx: &'a OperationContext,
}

/// What a provider is asked for in a CreateInstance.
#[derive(Debug)]
pub struct CreateRequest<'a> {
    pub namespace: &'a str,
    /// The class of the new instance (exactly this class).
    pub class: &'a Arc<Class>,
    /// The instance as the caller gave it.
    pub instance: &'a Instance,
    pub classes: &'a Namespace,
    pub ctx: &'a OperationContext,
}

/// What a provider is asked for in a DeleteInstance.
#[derive(Debug)]
pub struct DeleteRequest<'a> {
    pub namespace: &'a str,
    pub class: &'a Arc<Class>,
    /// The instance path, relative (no host or namespace), keys named.
    pub path: &'a ObjectPath,
    pub classes: &'a Namespace,
    pub ctx: &'a OperationContext,
}

/// What a provider promises about its answers, which lets the object
/// manager and the server take shortcuts. Every promise a provider may make
/// is a field here, described once; [`InstanceProvider::capabilities`]
/// returns them. A provider answers the same for as long as it lives (the
/// object manager may ask once, at registration, and keep the answer).
///
/// The [`Default`] promises nothing: it is always correct, only slower, so a
/// provider states just what it knows to be true:
///
/// ```
/// # use openwmi_cimom::ProviderCapabilities;
/// let in_memory = ProviderCapabilities {
///     may_block: false,
///     ..ProviderCapabilities::default()
/// };
/// assert!(!in_memory.instances_are_fixed && !in_memory.applies_filter);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProviderCapabilities {
    /// Answering may wait on something outside this process (a child
    /// process, a socket, a slow file system). The server runs requests
    /// that can reach such a provider on threads where waiting is allowed
    /// ([`ObjectManager::may_block`](crate::ObjectManager::may_block) says
    /// which); the others it answers where they arrived, two thread
    /// hand-overs cheaper. Default: true.
    pub may_block: bool,
    /// `enumerate` gives the same answer to the same request for as long as
    /// the provider lives (static instances): a server may then keep a
    /// whole answer and hand it out again
    /// ([`ObjectManager::fixed_instances`](crate::ObjectManager::fixed_instances)
    /// says when). Default: false.
    pub instances_are_fixed: bool,
    /// `enumerate` yields only instances that satisfy `req.filter`, tested
    /// with `openwmi_wql::Filter` (the object manager's own test), so that
    /// the object manager need not test them again. Default: false.
    pub applies_filter: bool,
}

impl ProviderCapabilities {
    /// No promise at all: what a provider that says nothing gets.
    pub const NONE: ProviderCapabilities = ProviderCapabilities {
        may_block: true,
        instances_are_fixed: false,
        applies_filter: false,
    };
}

impl Default for ProviderCapabilities {
    fn default() -> Self {
        ProviderCapabilities::NONE
    }
}

/// Serves the instances of one or more classes.
pub trait InstanceProvider: Send + Sync {
    /// A name for messages (`SessionProvider`, `CIMWin32`).
    fn name(&self) -> &str;

    /// What this provider promises ([`ProviderCapabilities`]); nothing by
    /// default.
    fn capabilities(&self) -> ProviderCapabilities {
        ProviderCapabilities::NONE
    }

    /// Instances this provider keeps unchanged for as long as it lives and
    /// hands out shared (the same `Arc`s every time): an encoder may encode
    /// each once and copy that afterwards. None by default.
    fn stored_instances(&self) -> &[Arc<Instance>] {
        &[]
    }

    /// The instances of `req.class` (exactly that class).
    fn enumerate(&self, req: &EnumerateRequest<'_>) -> Result<InstanceStream, CimError>;

    /// CreateInstance: makes the instance and returns its path (relative).
    /// Providers that make none answer CIM_ERR_NOT_SUPPORTED (the default).
    fn create(&self, req: &CreateRequest<'_>) -> Result<ObjectPath, CimError> {
        Err(CimError::not_supported(format!(
            "{} does not create instances of {}",
            self.name(),
            req.class.name
        )))
    }

    /// DeleteInstance: removes the instance at `req.path`; CIM_ERR_NOT_FOUND
    /// when there is none. Providers that delete none answer
    /// CIM_ERR_NOT_SUPPORTED (the default).
    fn delete(&self, req: &DeleteRequest<'_>) -> Result<(), CimError> {
        Err(CimError::not_supported(format!(
            "{} does not delete instances of {}",
            self.name(),
            req.class.name
        )))
    }

    /// Whether a DeleteInstance of `class` changes the managed system (a
    /// share, not openwmi's own state): it then needs the `manage` right,
    /// checked as a method named `DeleteInstance`, and goes to the audit
    /// trail like a method call. False by default.
    fn delete_is_managed(&self, _class: &Class) -> bool {
        false
    }

    /// One instance by its keys; `Ok(None)` when there is none. The default
    /// enumerates and compares keys; providers with a cheaper lookup override it.
    fn get(&self, req: &GetRequest<'_>) -> Result<Option<Arc<Instance>>, CimError> {
        let stream = self.enumerate(&EnumerateRequest {
            namespace: req.namespace,
            class: req.class,
            property_list: None,
            filter: None,
            classes: req.classes,
            ctx: req.ctx,
        })?;
        for item in stream {
            let inst = item?;
            if inst.path(req.class) == *req.path {
                return Ok(Some(inst));
            }
        }
        Ok(None)
    }

    /// Calls a method of one of this provider's classes (InvokeMethod). The
    /// object manager has checked the method, its parameters and the
    /// caller's right. Default: the provider implements no method.
    fn invoke_method(&self, req: &MethodRequest<'_>) -> Result<MethodResult, CimError> {
        Err(CimError::new(
            openwmi_cim::CimStatus::MethodNotAvailable,
            format!(
                "{} does not implement {}.{}",
                self.name(),
                req.class.name,
                req.method.name
            ),
        ))
    }
}
