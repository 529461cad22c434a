//! WS-Eventing through the real transport over a provider whose instances
//! change: a creation reaches the Pull of its subscription, an idle Pull
//! answers wsman:TimedOut, a subscriber who loses the right to read the
//! class gets wsman:AccessDenied at the next Pull and no event, another
//! user's context is refused, Unsubscribe ends it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

mod common;
use common::{post, Serving};
use openwmi_cim::{CimError, Instance, Value};
use openwmi_cimom::bundled::bundled_repository;
use openwmi_cimom::{
    AccessPolicy, EnumerateRequest, InstanceProvider, InstanceStream, ObjectManagerBuilder,
    OperationContext,
};
use openwmi_wsman::{WsMan, WsManConfig};

#[derive(Default)]
struct Connections(Mutex<Vec<Arc<Instance>>>);

impl InstanceProvider for Connections {
    fn name(&self) -> &str {
        "test"
    }
    fn enumerate(&self, _: &EnumerateRequest<'_>) -> Result<InstanceStream, CimError> {
        let v = self.0.lock().unwrap().clone();
        Ok(Box::new(v.into_iter().map(Ok)))
    }
}

/// `eve` may not read Win32_ServerConnection while `deny` is set.
struct Policy(Arc<AtomicBool>);

impl AccessPolicy for Policy {
    fn check_namespace(&self, _: &OperationContext, _: &str) -> Result<(), CimError> {
        Ok(())
    }
    fn check_class(&self, ctx: &OperationContext, _: &str, class: &str) -> Result<(), CimError> {
        if ctx.user.as_deref() == Some("eve")
            && class.eq_ignore_ascii_case("Win32_ServerConnection")
            && self.0.load(Ordering::SeqCst)
        {
            return Err(CimError::access_denied("eve may not read sessions"));
        }
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

const E: &str = "http://schemas.xmlsoap.org/ws/2004/08/eventing";
const URI: &str = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/*";

fn envelope(action: &str, header: &str, body: &str) -> String {
    format!(
        "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" \
         xmlns:a=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" \
         xmlns:w=\"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd\" \
         xmlns:n=\"http://schemas.xmlsoap.org/ws/2004/09/enumeration\" xmlns:e=\"{E}\">\
         <s:Header><a:Action>{action}</a:Action><a:MessageID>uuid:1</a:MessageID>\
         <w:ResourceURI>{URI}</w:ResourceURI><w:OperationTimeout>PT2S</w:OperationTimeout>\
         {header}</s:Header><s:Body>{body}</s:Body></s:Envelope>"
    )
}

fn subscribe() -> String {
    envelope(
        &format!("{E}/Subscribe"),
        "",
        "<e:Subscribe><e:Delivery Mode=\"http://schemas.dmtf.org/wbem/wsman/1/wsman/Pull\"/>\
         <w:Filter Dialect=\"http://schemas.microsoft.com/wbem/wsman/1/WQL\">SELECT * FROM \
         __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA 'Win32_ServerConnection'\
         </w:Filter></e:Subscribe>",
    )
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> &'a str {
    let start = text
        .find(open)
        .unwrap_or_else(|| panic!("no {open}: {text}"))
        + open.len();
    let end = text[start..].find(close).unwrap() + start;
    &text[start..end]
}

fn pull(ctx: &str) -> String {
    envelope(
        "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull",
        "",
        &format!("<n:Pull><n:EnumerationContext>{ctx}</n:EnumerationContext></n:Pull>"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_the_pull_of_their_owner_while_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let provider = Arc::new(Connections::default());
    let deny = Arc::new(AtomicBool::new(false));
    let mut b = ObjectManagerBuilder::new(bundled_repository().unwrap(), "HOST");
    b.register("root/cimv2", "Win32_ServerConnection", provider.clone());
    b.access_policy(Arc::new(Policy(deny.clone())));
    let om = b.build();
    let class = om
        .repository()
        .namespace("root/cimv2")
        .unwrap()
        .class("Win32_ServerConnection")
        .unwrap();
    let dispatcher = openwmi_wbem::Dispatcher::new(om);
    let wsman = Arc::new(WsMan::new(dispatcher, WsManConfig::default()));
    let mut routes = openwmi_server::Routes::default();
    for path in openwmi_wsman::PATHS {
        routes = routes.route(path, wsman.clone());
    }
    let serving = Serving::start(dir.path(), &["alice", "eve"], routes).await;
    let addr = serving.addr;

    let (status, alice) = post(addr, "alice", &subscribe()).await;
    assert_eq!(status, 200, "{alice}");
    let alice_ctx = between(&alice, "<n:EnumerationContext>", "<").to_owned();
    let alice_id = between(&alice, "<e:Identifier>", "<").to_owned();
    let (status, eve) = post(addr, "eve", &subscribe()).await;
    assert_eq!(status, 200, "{eve}");
    let eve_ctx = between(&eve, "<n:EnumerationContext>", "<").to_owned();
    assert_eq!(wsman.eventing().subscriptions(), 2);

    // Nothing happened: wsman:TimedOut after the OperationTimeout.
    let (status, body) = post(addr, "alice", &pull(&alice_ctx)).await;
    assert_eq!(status, 500);
    assert!(body.contains("w:TimedOut"), "{body}");
    // Another user's context is no context.
    let (_, body) = post(addr, "eve", &pull(&alice_ctx)).await;
    assert!(body.contains("n:InvalidEnumerationContext"), "{body}");

    // eve loses the right, then a session opens.
    deny.store(true, Ordering::SeqCst);
    provider.0.lock().unwrap().push(Arc::new(
        Instance::of_class(&class)
            .with("ComputerName", Value::from("10.0.0.5"))
            .with("ShareName", Value::from("public"))
            .with("UserName", Value::from("bob")),
    ));
    let body = loop {
        let (status, body) = post(addr, "alice", &pull(&alice_ctx)).await;
        if status == 200 {
            break body;
        }
        assert!(body.contains("w:TimedOut"), "{body}");
    };
    assert!(body.contains("<p:__InstanceCreationEvent"), "{body}");
    assert!(body.contains("<q:ShareName>public</q:ShareName>"), "{body}");
    let (status, body) = post(addr, "eve", &pull(&eve_ctx)).await;
    assert_eq!(status, 500);
    assert!(body.contains("w:AccessDenied"), "{body}");
    assert!(!body.contains("__InstanceCreationEvent"), "{body}");

    // Unsubscribe ends alice's; a Pull afterwards finds no context.
    let unsubscribe = envelope(
        &format!("{E}/Unsubscribe"),
        &format!("<e:Identifier>{alice_id}</e:Identifier>"),
        "<e:Unsubscribe/>",
    );
    let (status, body) = post(addr, "eve", &unsubscribe).await;
    assert!(status == 500 && body.contains("e:InvalidMessage"), "{body}");
    let (status, body) = post(addr, "alice", &unsubscribe).await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = post(addr, "alice", &pull(&alice_ctx)).await;
    assert!(body.contains("n:InvalidEnumerationContext"), "{body}");
    assert_eq!(wsman.eventing().subscriptions(), 1);

    serving.stop().await;
}
