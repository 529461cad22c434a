//! CreateInstance and DeleteInstance through the object manager: the
//! provider of the class decides; the others answer CIM_ERR_NOT_SUPPORTED.

use openwmi_cim::{CimError, CimStatus, Instance, ObjectPath, Value};
use openwmi_cimom::{
    CreateRequest, DeleteRequest, EnumerateRequest, InstanceProvider, InstanceStream,
    ObjectManagerBuilder, OperationContext,
};
use std::sync::{Arc, Mutex};

const MOF: &str = r#"
Qualifier Key : boolean = false, Scope(property, reference), Flavor(DisableOverride, ToSubclass);
class T_Note { [Key] string Name; string Text; };
class T_Static { [Key] string Name; };
instance of T_Static { Name = "fixed"; };
"#;

#[derive(Default)]
struct Notes(Mutex<Vec<Arc<Instance>>>);

impl InstanceProvider for Notes {
    fn name(&self) -> &str {
        "notes"
    }
    fn enumerate(&self, _: &EnumerateRequest<'_>) -> Result<InstanceStream, CimError> {
        let v = self.0.lock().unwrap().clone();
        Ok(Box::new(v.into_iter().map(Ok)))
    }
    fn create(&self, req: &CreateRequest<'_>) -> Result<ObjectPath, CimError> {
        let path = req.instance.path(req.class);
        self.0.lock().unwrap().push(Arc::new(req.instance.clone()));
        Ok(path)
    }
    fn delete(&self, req: &DeleteRequest<'_>) -> Result<(), CimError> {
        let mut v = self.0.lock().unwrap();
        let before = v.len();
        v.retain(|i| i.path(req.class) != *req.path);
        if v.len() == before {
            return Err(CimError::not_found(format!("no {}", req.path)));
        }
        Ok(())
    }
}

#[test]
fn the_provider_decides_and_the_others_do_not_support_writes() {
    let repo = openwmi_mof::repository_from_str("root/test", "t.mof", MOF).unwrap();
    let mut b = ObjectManagerBuilder::new(repo, "HOST");
    b.register("root/test", "T_Note", Arc::new(Notes::default()));
    let om = b.build();
    let ctx = OperationContext::local();
    let class = om
        .repository()
        .namespace("root/test")
        .unwrap()
        .class("T_Note")
        .unwrap();
    let note = Instance::of_class(&class)
        .with("Name", Value::from("n1"))
        .with("Text", Value::from("hello"));
    let path = om.create_instance(&ctx, "root/test", &note).unwrap();
    assert_eq!(path.host.as_deref(), Some("HOST"));
    assert_eq!(path.namespace.as_deref(), Some("root/test"));
    assert_eq!(path.class.as_str(), "T_Note");
    let got = om.get_instance(&ctx, "root/test", &path, None).unwrap();
    assert_eq!(got.instance.value("Text"), Some(&Value::from("hello")));
    om.delete_instance(&ctx, "root/test", &path).unwrap();
    let e = om.delete_instance(&ctx, "root/test", &path).unwrap_err();
    assert_eq!(e.status, CimStatus::NotFound);

    let fixed = ObjectPath::parse("T_Static.Name=\"fixed\"").unwrap();
    let e = om.delete_instance(&ctx, "root/test", &fixed).unwrap_err();
    assert_eq!(e.status, CimStatus::NotSupported, "{e:?}");
    let class = om
        .repository()
        .namespace("root/test")
        .unwrap()
        .class("T_Static")
        .unwrap();
    let e = om
        .create_instance(&ctx, "root/test", &Instance::of_class(&class))
        .unwrap_err();
    assert_eq!(e.status, CimStatus::NotSupported, "{e:?}");
    let nope = Instance {
        class_name: "T_Nope".into(),
        properties: vec![],
    };
    let e = om.create_instance(&ctx, "root/test", &nope).unwrap_err();
    assert_eq!(e.status, CimStatus::InvalidClass);
    let e = om.create_instance(&ctx, "root/nope", &nope).unwrap_err();
    assert_eq!(e.status, CimStatus::InvalidNamespace);
}
