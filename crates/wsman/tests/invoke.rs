//! Invoke through the real transport: a static and an instance method of a
//! class whose provider records its calls, the answer's `_OUTPUT`, and the
//! faults of a refused call (no `manage` right: wsman:AccessDenied) and of
//! an unknown method.

use std::sync::{Arc, Mutex};

mod common;
use common::{post, Serving};
use openwmi_cim::{CimError, Name, Value};
use openwmi_cimom::{
    AccessPolicy, EnumerateRequest, InstanceProvider, InstanceStream, MethodRequest, MethodResult,
    ObjectManagerBuilder, OperationContext,
};
use openwmi_wsman::{WsMan, WsManConfig};

const MOF: &str = r#"
Qualifier Key : boolean = false, Scope(property, reference), Flavor(DisableOverride, ToSubclass);
Qualifier Static : boolean = false, Scope(method), Flavor(DisableOverride, ToSubclass);
Qualifier In : boolean = true, Scope(parameter), Flavor(DisableOverride, ToSubclass);
Qualifier Out : boolean = false, Scope(parameter), Flavor(DisableOverride, ToSubclass);
class T_Share {
  [Key] string Name;
  [Static] uint32 Create([In] string Name, [In] uint32 Type, [In] string Tags[],
                         [Out] string Made);
  uint32 Delete();
};
"#;

/// What the provider was asked: method, parameters as MOF, on an instance.
type Seen = Arc<Mutex<Vec<String>>>;

struct Recorder(Seen);

impl InstanceProvider for Recorder {
    fn name(&self) -> &str {
        "recorder"
    }
    fn enumerate(&self, _: &EnumerateRequest<'_>) -> Result<InstanceStream, CimError> {
        Ok(Box::new(std::iter::empty()))
    }
    fn invoke_method(&self, req: &MethodRequest<'_>) -> Result<MethodResult, CimError> {
        let params: Vec<String> = req
            .params
            .iter()
            .map(|(n, v)| format!("{n}={}", v.to_mof()))
            .collect();
        self.0.lock().unwrap().push(format!(
            "{} {} {}",
            req.target,
            req.method.name,
            params.join(",")
        ));
        let mut r = MethodResult::status(0);
        r.out_params
            .push((Name::new("Made"), Value::String("made <it>".into())));
        Ok(r)
    }
}

/// Alice may call methods (the `manage` right), bob may only read.
struct AliceManages;

impl AccessPolicy for AliceManages {
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
            Some("alice") => Ok(()),
            _ => openwmi_cimom::local_caller_only(ctx, class, method),
        }
    }
}

const URI: &str = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/test/T_Share";

/// A request as the Windows client writes one (OMI's test3 capture).
fn invoke(method: &str, selectors: &str, params: &str) -> String {
    format!(
        "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" \
         xmlns:a=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" \
         xmlns:w=\"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd\"><s:Header>\
         <a:To>http://localhost/wsman</a:To>\
         <w:ResourceURI s:mustUnderstand=\"true\">{URI}</w:ResourceURI>\
         <a:ReplyTo><a:Address s:mustUnderstand=\"true\">http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo>\
         <a:Action s:mustUnderstand=\"true\">{URI}/{method}</a:Action>\
         <w:MaxEnvelopeSize s:mustUnderstand=\"true\">512000</w:MaxEnvelopeSize>\
         <a:MessageID>uuid:00000000-0000-0000-0000-00000000000A</a:MessageID>\
         <w:OperationTimeout>PT60.000S</w:OperationTimeout>\
         <w:SelectorSet>{selectors}</w:SelectorSet></s:Header><s:Body>\
         <p0:{method}_INPUT xmlns:p0=\"{URI}\">{params}</p0:{method}_INPUT>\
         </s:Body></s:Envelope>"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn methods_run_over_wsman_with_the_manage_right() {
    let dir = tempfile::tempdir().unwrap();
    let repo = openwmi_mof::repository_from_str("root/test", "t.mof", MOF).unwrap();
    let seen: Seen = Arc::default();
    let mut b = ObjectManagerBuilder::new(repo, "testhost");
    b.register("root/test", "T_Share", Arc::new(Recorder(seen.clone())));
    b.access_policy(Arc::new(AliceManages));
    let dispatcher = openwmi_wbem::Dispatcher::new(b.build());
    let wsman = Arc::new(WsMan::new(dispatcher.clone(), WsManConfig::default()));
    let mut routes = openwmi_server::Routes::to(Arc::new(openwmi_wbem::CimXml::new(dispatcher)));
    for path in openwmi_wsman::PATHS {
        routes = routes.route(path, wsman.clone());
    }
    let serving = Serving::start(dir.path(), &["alice", "bob"], routes).await;
    let addr = serving.addr;

    // A static method: no key selectors, only the namespace's.
    let (status, body) = post(
        addr,
        "alice",
        &invoke(
            "Create",
            "<w:Selector Name=\"__cimnamespace\">root/test</w:Selector>",
            "<p0:Name>x</p0:Name><p0:Type>7</p0:Type><p0:Tags>a</p0:Tags><p0:Tags>b</p0:Tags>",
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(&format!(
            "<a:Action s:mustUnderstand=\"true\">{URI}/CreateResponse</a:Action>"
        )),
        "{body}"
    );
    assert!(body.contains("<a:RelatesTo>uuid:00000000-0000-0000-0000-00000000000A</a:RelatesTo>"));
    assert!(
        body.contains(&format!(
            "<s:Body><p:Create_OUTPUT xmlns:p=\"{URI}\"><p:Made>made &lt;it&gt;</p:Made>\
             <p:ReturnValue>0</p:ReturnValue></p:Create_OUTPUT></s:Body>"
        )),
        "{body}"
    );
    // An instance method: the key selectors name the instance.
    let (status, body) = post(
        addr,
        "alice",
        &invoke("Delete", "<w:Selector Name=\"Name\">x</w:Selector>", ""),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<p:Delete_OUTPUT"), "{body}");
    assert_eq!(
        seen.lock().unwrap().as_slice(),
        [
            "T_Share Create Name=\"x\",Type=7,Tags={\"a\", \"b\"}",
            "T_Share.Name=\"x\" Delete ",
        ]
    );

    // Bob lacks the right: AccessDenied, and the provider is not asked.
    let (status, body) = post(
        addr,
        "bob",
        &invoke("Delete", "<w:Selector Name=\"Name\">x</w:Selector>", ""),
    )
    .await;
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("w:AccessDenied"), "{body}");
    assert_eq!(seen.lock().unwrap().len(), 2);

    // A method the class lacks, a static method called without keys on an
    // instance method, and an unknown input parameter.
    for (method, selectors, params, subcode) in [
        ("Nope", "", "", "a:ActionNotSupported"),
        ("Delete", "", "", "w:InvalidParameter"),
        ("Create", "", "<p0:Bogus>1</p0:Bogus>", "w:InvalidParameter"),
        (
            "Delete",
            "<w:Selector Name=\"Nome\">x</w:Selector>",
            "",
            "w:InvalidSelectors",
        ),
    ] {
        let (status, body) = post(addr, "alice", &invoke(method, selectors, params)).await;
        assert_eq!(status, 500, "{method}: {body}");
        assert!(body.contains(subcode), "{method}: {body}");
    }
    assert_eq!(seen.lock().unwrap().len(), 2);

    serving.stop().await;
}
