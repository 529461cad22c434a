//! The root/interop namespace: one CIM_Namespace per namespace served, the
//! CIM_ObjectManager instance, and the management profiles openwmi
//! implements (CIM_RegisteredProfile, CIM_ElementConformsToProfile), as WBEM
//! clients expect (pywbem's WBEMServer).

use crate::provider::{EnumerateRequest, InstanceProvider, InstanceStream, ProviderCapabilities};
use openwmi_cim::{CimError, Class, Instance, Namespace, ObjectPath, Value};
use std::sync::Arc;

pub const INTEROP_NAMESPACE: &str = "root/interop";
pub const INTEROP_MOF: &str = include_str!("../interop/interop.mof");

const SYSTEM_CLASS: &str = "CIM_ComputerSystem";
const OM_CLASS: &str = "CIM_ObjectManager";
pub const PROFILE_CLASS: &str = "CIM_RegisteredProfile";
pub const CONFORMS_CLASS: &str = "CIM_ElementConformsToProfile";

/// A management profile openwmi implements.
struct Profile {
    /// RegisteredOrganization (2: DMTF).
    organization: u16,
    name: &'static str,
    version: &'static str,
}

/// The profiles openwmi advertises. Only DSP1033 (Profile Registration):
/// root/interop holds the classes it asks for, and its central instance
/// is the object manager that advertises the profiles. openwmi serves WMI's
/// Win32 classes, which no DMTF profile covers, and it does not claim the
/// WBEM Server profile (DSP1071), whose communication-mechanism classes it
/// lacks.
const PROFILES: [Profile; 1] = [Profile {
    organization: 2,
    name: "Profile Registration",
    version: "1.1.0",
}];

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

    fn object_manager(&self, class: &Class) -> Instance {
        let s = |v: &str| Some(Value::String(v.to_owned().into()));
        Instance::of_class(class)
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
            .with("GatherStatisticalData", Some(Value::Boolean(false)))
    }

    /// The full path of an instance of `class` in `namespace` on this host.
    fn full_path(&self, class: &Class, inst: &Instance, namespace: &str) -> ObjectPath {
        let mut p = inst.path(class);
        p.host = Some(self.host.clone());
        p.namespace = Some(namespace.to_owned());
        p
    }

    /// One CIM_ElementConformsToProfile per profile, from the profile to the
    /// object manager (Profile Registration's central instance).
    fn conformance(
        &self,
        class: &Class,
        classes: &Namespace,
        namespace: &str,
    ) -> Vec<Result<Instance, CimError>> {
        let (Some(profile_class), Some(om_class)) =
            (classes.class(PROFILE_CLASS), classes.class(OM_CLASS))
        else {
            return Vec::new();
        };
        let om = self.full_path(&om_class, &self.object_manager(&om_class), namespace);
        PROFILES
            .iter()
            .map(|p| {
                let standard =
                    self.full_path(&profile_class, &profile(&profile_class, p), namespace);
                Ok(Instance::of_class(class)
                    .with(
                        "ConformantStandard",
                        Some(Value::Reference(Box::new(standard))),
                    )
                    .with(
                        "ManagedElement",
                        Some(Value::Reference(Box::new(om.clone()))),
                    ))
            })
            .collect()
    }
}

/// The CIM_RegisteredProfile instance of a profile.
fn profile(class: &Class, p: &Profile) -> Instance {
    let s = |v: &str| Some(Value::String(v.to_owned().into()));
    Instance::of_class(class)
        .with(
            "InstanceID",
            s(&format!(
                "openwmi:{}:{}",
                p.name.replace(' ', ""),
                p.version
            )),
        )
        .with(
            "RegisteredOrganization",
            Some(Value::UInt16(p.organization)),
        )
        .with("RegisteredName", s(p.name))
        .with("RegisteredVersion", s(p.version))
        .with("ElementName", s(p.name))
        // 2: Not Advertised (no SLP or WS-Identify).
        .with("AdvertiseTypes", Some(Value::Array(vec![Value::UInt16(2)])))
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
                        // CIM 2.8, the last 2.x the old coding names; the
                        // schema is CIM (2) 2.49.0 in the newer properties.
                        .with("ClassInfo", Some(Value::UInt16(11)))
                        .with("ClassType", Some(Value::UInt16(2)))
                        .with("ClassTypeVersion", s("2.49.0")))
                })
                .collect()
        } else if class.name.is(OM_CLASS) {
            vec![Ok(self.object_manager(class))]
        } else if class.name.is(PROFILE_CLASS) {
            PROFILES.iter().map(|p| Ok(profile(class, p))).collect()
        } else if class.name.is(CONFORMS_CLASS) {
            self.conformance(class, req.classes, req.namespace)
        } else {
            Vec::new()
        };
        Ok(Box::new(out.into_iter().map(|r| r.map(Arc::new))))
    }
}
