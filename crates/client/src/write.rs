//! CreateInstance and DeleteInstance on a [`Services`] handle, in another
//! namespace of the same server when asked (indication subscriptions live
//! in root/interop).

use crate::error::WbemError;
use crate::services::{Backend, Services};
use openwmi_cim::{Instance, ObjectPath};
use openwmi_cimxml::{CreateInstance, DeleteInstance, NewInstance, Operation, ReturnItem};

impl Services {
    fn write_ctx(&self) -> openwmi_cimom::OperationContext {
        let mut ctx = openwmi_cimom::OperationContext::local();
        ctx.values = self.context.clone();
        ctx
    }

    /// CreateInstance of `instance` in `namespace` (the handle's own when
    /// `None`): the new instance's path.
    pub fn create_instance(
        &self,
        namespace: Option<&str>,
        instance: &Instance,
    ) -> Result<ObjectPath, WbemError> {
        let ns = namespace.unwrap_or(&self.namespace).to_owned();
        match &self.backend {
            Backend::Local(om) => Ok(om.create_instance(&self.write_ctx(), &ns, instance)?),
            Backend::Remote(r) => {
                let reply = r.call(
                    &ns,
                    &Operation::CreateInstance(CreateInstance {
                        new_instance: NewInstance(instance.clone()),
                    }),
                )?;
                reply
                    .items
                    .into_iter()
                    .find_map(|i| match i {
                        ReturnItem::Path(p) => Some(ObjectPath {
                            namespace: p.namespace.or(Some(ns.clone())),
                            ..p
                        }),
                        _ => None,
                    })
                    .ok_or_else(|| WbemError::failed("CreateInstance returned no path"))
            }
            Backend::WsMan(_) => Err(crate::wsman::not_yet("CreateInstance")),
        }
    }

    /// DeleteInstance of the instance at `path` in `namespace` (the
    /// handle's own when `None`).
    pub fn delete_instance(
        &self,
        namespace: Option<&str>,
        path: &ObjectPath,
    ) -> Result<(), WbemError> {
        let ns = namespace.unwrap_or(&self.namespace).to_owned();
        let relative = ObjectPath {
            host: None,
            namespace: None,
            ..path.clone()
        };
        match &self.backend {
            Backend::Local(om) => Ok(om.delete_instance(&self.write_ctx(), &ns, &relative)?),
            Backend::Remote(r) => {
                r.call(
                    &ns,
                    &Operation::DeleteInstance(DeleteInstance {
                        instance_name: relative,
                    }),
                )?;
                Ok(())
            }
            Backend::WsMan(_) => Err(crate::wsman::not_yet("DeleteInstance")),
        }
    }
}
