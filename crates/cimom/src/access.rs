//! The permission hook: every operation asks it before touching a namespace
//! or a class, so a protected class stays protected however it is reached
//! (enumeration, query, association, GetInstance).

use crate::context::OperationContext;
use openwmi_cim::CimError;

/// Decides whether the caller may read a namespace, and a class in it.
pub trait AccessPolicy: Send + Sync {
    /// May the caller use this namespace at all?
    fn check_namespace(&self, ctx: &OperationContext, namespace: &str) -> Result<(), CimError>;
    /// May the caller read the instances of this class?
    fn check_class(
        &self,
        ctx: &OperationContext,
        namespace: &str,
        class: &str,
    ) -> Result<(), CimError>;
    /// May the caller call this method of this class? A method may change
    /// the system. No default: a policy that wraps another must pass this on
    /// (a silent default once refused every remote call behind the
    /// reloadable policy); [`local_caller_only`] is the cautious answer.
    fn check_method(
        &self,
        ctx: &OperationContext,
        namespace: &str,
        class: &str,
        method: &str,
    ) -> Result<(), CimError>;
}

/// The cautious answer to [`AccessPolicy::check_method`]: the local,
/// in-process caller may call, a logged-in user may not.
pub fn local_caller_only(
    ctx: &OperationContext,
    class: &str,
    method: &str,
) -> Result<(), CimError> {
    match &ctx.user {
        None => Ok(()),
        Some(user) => Err(CimError::access_denied(format!(
            "user {user:?} may not call {class}.{method}"
        ))),
    }
}

/// Everything allowed: the local, in-process caller (the CLI as the user who runs it).
#[derive(Debug, Default)]
pub struct AllowAll;

impl AccessPolicy for AllowAll {
    fn check_namespace(&self, _: &OperationContext, _: &str) -> Result<(), CimError> {
        Ok(())
    }
    fn check_class(&self, _: &OperationContext, _: &str, _: &str) -> Result<(), CimError> {
        Ok(())
    }
    fn check_method(
        &self,
        _: &OperationContext,
        _: &str,
        _: &str,
        _: &str,
    ) -> Result<(), CimError> {
        Ok(())
    }
}
