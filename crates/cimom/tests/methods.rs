//! InvokeMethod through the object manager: the checks it makes before a
//! provider is asked, the access hook, and the audit of every call.

use openwmi_cim::{CimError, CimStatus, Name, ObjectPath, Value};
use openwmi_cimom::{
    AccessPolicy, AuditRecord, EnumerateRequest, InstanceProvider, InstanceStream, MethodAudit,
    MethodRequest, MethodResult, ObjectManager, ObjectManagerBuilder, OperationContext,
};
use std::sync::{Arc, Mutex};

const MOF: &str = r#"
Qualifier Key : boolean = false, Scope(property, reference), Flavor(DisableOverride, ToSubclass);
Qualifier Static : boolean = false, Scope(method), Flavor(DisableOverride, ToSubclass);
Qualifier In : boolean = true, Scope(parameter), Flavor(DisableOverride, ToSubclass);
Qualifier Out : boolean = false, Scope(parameter), Flavor(DisableOverride, ToSubclass);

class T_Share {
  [Key] string Name;
  [Static] uint32 Create([In] string Name, [In] uint32 Type, [In] boolean Flag,
                         [In] string Tags[], [Out] string Made);
  uint32 Delete();
};
class T_Plain { [Key] string Name; uint32 Nothing(); };
"#;

/// A call the fake provider saw: method, parameters, on an instance.
type Call = (String, Vec<(Name, Value)>, bool);
/// A call to make: target, method, parameters, the status expected.
type Case<'a> = (ObjectPath, &'a str, Vec<(Name, Option<Value>)>, CimStatus);

#[derive(Default)]
struct Recorder(Mutex<Vec<Call>>);

struct Fake(Arc<Recorder>);

impl InstanceProvider for Fake {
    fn name(&self) -> &str {
        "fake"
    }
    fn enumerate(&self, _: &EnumerateRequest<'_>) -> Result<InstanceStream, CimError> {
        Ok(Box::new(std::iter::empty()))
    }
    fn invoke_method(&self, req: &MethodRequest<'_>) -> Result<MethodResult, CimError> {
        self.0 .0.lock().unwrap().push((
            req.method.name.to_string(),
            req.params.to_vec(),
            req.on_instance(),
        ));
        let mut r = MethodResult::status(0);
        r.out_params.push((
            Name::new("Made"),
            Value::String(format!("{}", req.target).into()),
        ));
        Ok(r)
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
            "{}|{}|{}.{}|{}",
            r.user.unwrap_or("-"),
            r.client.map_or("-".to_string(), |a| a.to_string()),
            r.target.class,
            r.method,
            outcome
        ));
    }
}

struct NoMethods;

impl AccessPolicy for NoMethods {
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
        openwmi_cimom::local_caller_only(ctx, class, method)
    }
}

fn setup(policy: Option<Arc<dyn AccessPolicy>>) -> (ObjectManager, Arc<Recorder>, Arc<Audit>) {
    let repo = openwmi_mof::repository_from_str("root/test", "t.mof", MOF)
        .unwrap_or_else(|e| panic!("{e:?}"));
    let mut b = ObjectManagerBuilder::new(repo, "H");
    let rec = Arc::new(Recorder::default());
    let audit = Arc::new(Audit::default());
    b.register("root/test", "T_Share", Arc::new(Fake(rec.clone())));
    b.method_audit(audit.clone());
    if let Some(p) = policy {
        b.access_policy(p);
    }
    (b.build(), rec, audit)
}

fn path(s: &str) -> ObjectPath {
    ObjectPath::parse(s).unwrap()
}

fn s(v: &str) -> Option<Value> {
    Some(Value::String(v.into()))
}

#[test]
fn static_call_converts_parameters_and_is_audited() {
    let (om, rec, audit) = setup(None);
    let ctx = OperationContext::local();
    let params = vec![
        (Name::new("name"), s("x")),
        (Name::new("Type"), s("7")),
        (Name::new("Flag"), s("true")),
        (Name::new("Tags"), s("one")),
    ];
    let r = om
        .invoke_method(&ctx, "root/test", &path("T_Share"), "create", &params)
        .unwrap();
    assert_eq!(r.return_value, Some(Value::UInt32(0)));
    let calls = rec.0.lock().unwrap();
    let (method, given, on_instance) = &calls[0];
    assert_eq!(method, "Create");
    assert!(!on_instance);
    assert_eq!(given[0], (Name::new("Name"), Value::String("x".into())));
    assert_eq!(given[1].1, Value::UInt32(7));
    assert_eq!(given[2].1, Value::Boolean(true));
    assert_eq!(given[3].1, Value::Array(vec![Value::String("one".into())]));
    assert_eq!(
        audit.0.lock().unwrap().as_slice(),
        ["-|-|T_Share.create|ok"]
    );
}

#[test]
fn wrong_calls_fail_before_the_provider_and_are_audited() {
    let (om, rec, audit) = setup(None);
    let ctx = OperationContext::local();
    let cases: Vec<Case> = vec![
        (path("T_Share"), "Nope", vec![], CimStatus::MethodNotFound),
        (
            path("T_Share"),
            "Delete",
            vec![],
            CimStatus::InvalidParameter,
        ),
        (
            path("T_Share"),
            "Create",
            vec![(Name::new("Made"), s("x"))],
            CimStatus::InvalidParameter,
        ),
        (
            path("T_Share"),
            "Create",
            vec![(Name::new("Bogus"), s("x"))],
            CimStatus::InvalidParameter,
        ),
        (
            path("T_Share"),
            "Create",
            vec![(Name::new("Type"), s("-1"))],
            CimStatus::InvalidParameter,
        ),
        (
            path("T_Share"),
            "Create",
            vec![(Name::new("Type"), s("1")), (Name::new("type"), s("2"))],
            CimStatus::InvalidParameter,
        ),
        (path("T_Nope"), "Create", vec![], CimStatus::InvalidClass),
        (
            path(r#"T_Plain.Name="a""#),
            "Nothing",
            vec![],
            CimStatus::MethodNotAvailable,
        ),
    ];
    for (target, method, params, status) in &cases {
        let err = om
            .invoke_method(&ctx, "root/test", target, method, params)
            .unwrap_err();
        assert_eq!(err.status, *status, "{target} {method}: {err}");
    }
    assert!(rec.0.lock().unwrap().is_empty());
    assert_eq!(audit.0.lock().unwrap().len(), cases.len());
    // An instance method on an instance path reaches the provider, NULLs left out.
    let r = om
        .invoke_method(
            &ctx,
            "root/test",
            &path(r#"T_Share.Name="a""#),
            "Delete",
            &[],
        )
        .unwrap();
    assert_eq!(
        r.out_params[0].1,
        Value::String(r#"T_Share.Name="a""#.into())
    );
    assert!(rec.0.lock().unwrap()[0].2);
}

#[test]
fn remote_callers_need_the_policys_consent() {
    // A policy that does not say: only the local caller may call.
    let (om, rec, audit) = setup(Some(Arc::new(NoMethods)));
    let mut ctx = OperationContext::for_user("bob", Vec::<String>::new());
    ctx.client = Some("192.0.2.1:40000".parse().unwrap());
    let err = om
        .invoke_method(
            &ctx,
            "root/test",
            &path(r#"T_Share.Name="a""#),
            "Delete",
            &[],
        )
        .unwrap_err();
    assert_eq!(err.status, CimStatus::AccessDenied);
    assert!(rec.0.lock().unwrap().is_empty());
    assert_eq!(
        audit.0.lock().unwrap().as_slice(),
        ["bob|192.0.2.1:40000|T_Share.Delete|CIM_ERR_ACCESS_DENIED"]
    );
    let local = OperationContext::local();
    om.invoke_method(
        &local,
        "root/test",
        &path(r#"T_Share.Name="a""#),
        "Delete",
        &[],
    )
    .unwrap();
}
