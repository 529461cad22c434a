//! CreateInstance and DeleteInstance: the write operations. The provider
//! of the class decides whether it makes or removes instances; classes
//! without a provider, and providers that say nothing, answer
//! CIM_ERR_NOT_SUPPORTED.

use crate::context::OperationContext;
use crate::manager::{display_ns, ObjectManager};
use crate::method::{AuditRecord, MethodResult};
use crate::provider::{CreateRequest, DeleteRequest};
use openwmi_cim::{CimError, Instance, ObjectPath};

impl ObjectManager {
    /// CreateInstance: `instance` made in its class's provider; the new
    /// instance's full path. The caller must be allowed to read the class
    /// (the provider decides who may write).
    pub fn create_instance(
        &self,
        ctx: &OperationContext,
        namespace: &str,
        instance: &Instance,
    ) -> Result<ObjectPath, CimError> {
        let ns = self.namespace(ctx, namespace)?;
        let class = self.class_in(ns, instance.class_name.as_str())?;
        self.check_class_access(ctx, ns, &class)?;
        let Some(provider) = self.provider_of(ns, &class) else {
            return Err(CimError::not_supported(format!(
                "no provider creates instances of {} in {}",
                class.name,
                display_ns(ns.name())
            )));
        };
        let rel = provider.create(&CreateRequest {
            namespace: ns.name(),
            class: &class,
            instance,
            classes: ns,
            ctx,
        })?;
        Ok(ObjectPath {
            host: Some(self.host().to_owned()),
            namespace: Some(ns.name().to_owned()),
            ..rel
        })
    }

    /// DeleteInstance of the instance at `path` (relative, or full in this
    /// namespace).
    pub fn delete_instance(
        &self,
        ctx: &OperationContext,
        namespace: &str,
        path: &ObjectPath,
    ) -> Result<(), CimError> {
        let ns = self.namespace(ctx, namespace)?;
        let class = self.class_in(ns, path.class.as_str())?;
        self.check_class_access(ctx, ns, &class)?;
        let Some(provider) = self.provider_of(ns, &class) else {
            return Err(CimError::not_supported(format!(
                "no provider deletes instances of {} in {}",
                class.name,
                display_ns(ns.name())
            )));
        };
        let rel = ObjectPath {
            host: None,
            namespace: None,
            ..path.clone()
        };
        let managed = provider.delete_is_managed(&class);
        let outcome = if managed {
            self.access_policy()
                .check_method(ctx, ns.name(), class.name.as_str(), "DeleteInstance")
        } else {
            Ok(())
        }
        .and_then(|()| {
            provider.delete(&DeleteRequest {
                namespace: ns.name(),
                class: &class,
                path: &rel,
                classes: ns,
                ctx,
            })
        });
        if let (true, Some(audit)) = (managed, self.method_audit()) {
            let done = MethodResult::default();
            audit.record(&AuditRecord {
                user: ctx.user.as_deref(),
                client: ctx.client,
                namespace,
                target: &rel,
                method: "DeleteInstance",
                params: Vec::new(),
                outcome: outcome.as_ref().map(|()| &done),
            });
        }
        outcome
    }
}
