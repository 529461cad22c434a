//! DeleteInstance of a class whose provider says deleting changes the
//! managed system: the `manage` check (as a method named DeleteInstance)
//! and the audit trail, refused and failed deletions included.

use openwmi_cim::{CimError, CimStatus, Class, ObjectPath};
use openwmi_cimom::{
    AccessPolicy, AuditRecord, DeleteRequest, EnumerateRequest, InstanceProvider, InstanceStream,
    MethodAudit, ObjectManager, ObjectManagerBuilder, OperationContext,
};
use std::sync::{Arc, Mutex};

const MOF: &str = r#"
Qualifier Key : boolean = false, Scope(property, reference), Flavor(DisableOverride, ToSubclass);
class T_Share { [Key] string Name; };
class T_Own { [Key] string Name; };
"#;

struct Deleter {
    deleted: Mutex<Vec<String>>,
}

impl InstanceProvider for Deleter {
    fn name(&self) -> &str {
        "deleter"
    }
    fn enumerate(&self, _: &EnumerateRequest<'_>) -> Result<InstanceStream, CimError> {
        Ok(Box::new(std::iter::empty()))
    }
    fn delete(&self, req: &DeleteRequest<'_>) -> Result<(), CimError> {
        let name = req.path.key("Name").and_then(|v| v.as_str()).unwrap_or("");
        if name == "gone" {
            return Err(CimError::not_found("no such share"));
        }
        self.deleted.lock().unwrap().push(name.to_string());
        Ok(())
    }
    fn delete_is_managed(&self, class: &Class) -> bool {
        class.name.as_str() == "T_Share"
    }
}

#[derive(Default)]
struct Audit(Mutex<Vec<String>>);

impl MethodAudit for Audit {
    fn record(&self, r: &AuditRecord<'_>) {
        let outcome = match r.outcome {
            Ok(_) => "ok".to_string(),
            Err(e) => e.status.name().to_string(),
        };
        self.0.lock().unwrap().push(format!(
            "{}|{}.{}|{}",
            r.user.unwrap_or("-"),
            r.target.class,
            r.method,
            outcome
        ));
    }
}

/// Only the local caller and "admin" may call methods.
struct AdminOnly;

impl AccessPolicy for AdminOnly {
    fn check_namespace(&self, _: &OperationContext, _: &str) -> Result<(), CimError> {
        Ok(())
    }
    fn check_class(&self, _: &OperationContext, _: &str, _: &str) -> Result<(), CimError> {
        Ok(())
    }
    fn check_method(
        &self,
        ctx: &OperationContext,
        _: &str,
        class: &str,
        method: &str,
    ) -> Result<(), CimError> {
        match ctx.user.as_deref() {
            None | Some("admin") => Ok(()),
            Some(u) => Err(CimError::access_denied(format!(
                "{u} may not call {class}.{method}"
            ))),
        }
    }
}

fn setup() -> (ObjectManager, Arc<Deleter>, Arc<Audit>) {
    let repo = openwmi_mof::repository_from_str("root/test", "t.mof", MOF)
        .unwrap_or_else(|e| panic!("{e:?}"));
    let mut b = ObjectManagerBuilder::new(repo, "H");
    let p = Arc::new(Deleter {
        deleted: Mutex::new(Vec::new()),
    });
    let audit = Arc::new(Audit::default());
    b.register("root/test", "T_Share", p.clone());
    b.register("root/test", "T_Own", p.clone());
    b.method_audit(audit.clone());
    b.access_policy(Arc::new(AdminOnly));
    (b.build(), p, audit)
}

fn path(s: &str) -> ObjectPath {
    ObjectPath::parse(s).unwrap()
}

#[test]
fn managed_deletes_need_the_right_and_are_audited() {
    let (om, p, audit) = setup();
    let bob = OperationContext::for_user("bob", Vec::<String>::new());
    let e = om
        .delete_instance(&bob, "root/test", &path(r#"T_Share.Name="a""#))
        .unwrap_err();
    assert_eq!(e.status, CimStatus::AccessDenied);
    assert!(e.description.contains("T_Share.DeleteInstance"), "{e}");
    assert!(p.deleted.lock().unwrap().is_empty());
    let admin = OperationContext::for_user("admin", Vec::<String>::new());
    om.delete_instance(&admin, "root/test", &path(r#"T_Share.Name="a""#))
        .unwrap();
    let e = om
        .delete_instance(&admin, "root/test", &path(r#"T_Share.Name="gone""#))
        .unwrap_err();
    assert_eq!(e.status, CimStatus::NotFound);
    // A class whose deletes are the provider's own business: no check, no audit.
    om.delete_instance(&bob, "root/test", &path(r#"T_Own.Name="b""#))
        .unwrap();
    assert_eq!(p.deleted.lock().unwrap().as_slice(), ["a", "b"]);
    assert_eq!(
        audit.0.lock().unwrap().as_slice(),
        [
            "bob|T_Share.DeleteInstance|CIM_ERR_ACCESS_DENIED",
            "admin|T_Share.DeleteInstance|ok",
            "admin|T_Share.DeleteInstance|CIM_ERR_NOT_FOUND",
        ]
    );
}
