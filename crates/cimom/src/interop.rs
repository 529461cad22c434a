//! The root/interop namespace: one CIM_Namespace per namespace served and the
//! CIM_ObjectManager instance, as WBEM clients expect (pywbem's WBEMServer).

use crate::provider::{EnumerateRequest, InstanceProvider, InstanceStream, ProviderCapabilities};
use openwmi_cim::{CimError, Instance, Value};
use std::sync::Arc;

pub const INTEROP_NAMESPACE: &str = "root/interop";
pub const INTEROP_MOF: &str = include_str!("../interop/interop.mof");

const SYSTEM_CLASS: &str = "CIM_ComputerSystem";
const OM_CLASS: &str = "CIM_ObjectManager";

/// Serves CIM_Namespace and CIM_ObjectManager from what the server was built with.
#[derive(Debug)]
pub struct InteropProvider {
    host: String,
    namespaces: Vec<String>,
    brand: String,
    version: String,
}

impl InteropProvider {
    pub fn new(host: &str, namespaces: Vec<String>, brand: &str, version: &str) -> Self {
        InteropProvider {
            host: host.to_owned(),
            namespaces,
            brand: brand.to_owned(),
            version: version.to_owned(),
        }
    }

    fn om_name(&self) -> String {
        format!("{}:{}", self.host, self.brand)
    }
}

impl InstanceProvider for InteropProvider {
    fn name(&self) -> &str {
        "interop"
    }

    /// Everything is in memory.
    fn capabilities(&self) -> ProviderCapabilities {
        ProviderCapabilities {
            may_block: false,
            ..ProviderCapabilities::NONE
        }
    }

    fn enumerate(&self, req: &EnumerateRequest<'_>) -> Result<InstanceStream, CimError> {
        let class = req.class;
        let s = |v: &str| Some(Value::String(v.to_owned().into()));
        let out: Vec<Result<Instance, CimError>> = if class.name.is("CIM_Namespace") {
            self.namespaces
                .iter()
                .map(|ns| {
                    Ok(Instance::of_class(class)
                        .with("SystemCreationClassName", s(SYSTEM_CLASS))
                        .with("SystemName", s(&self.host))
                        .with("ObjectManagerCreationClassName", s(OM_CLASS))
                        .with("ObjectManagerName", s(&self.om_name()))
                        .with("CreationClassName", s("CIM_Namespace"))
                        .with("Name", s(ns))
                        .with("ClassInfo", Some(Value::UInt16(2))))
                })
                .collect()
        } else if class.name.is(OM_CLASS) {
            vec![Ok(Instance::of_class(class)
                .with("SystemCreationClassName", s(SYSTEM_CLASS))
                .with("SystemName", s(&self.host))
                .with("CreationClassName", s(OM_CLASS))
                .with("Name", s(&self.om_name()))
                .with("ElementName", s(&self.brand))
                .with(
                    "Description",
                    s(&format!(
                        "{} CIM server version {}",
                        self.brand, self.version
                    )),
                )
                .with("Started", Some(Value::Boolean(true)))
                .with("EnabledState", Some(Value::UInt16(2)))
                .with("GatherStatisticalData", Some(Value::Boolean(false))))]
        } else {
            Vec::new()
        };
        Ok(Box::new(out.into_iter().map(|r| r.map(Arc::new))))
    }
}
