//! WS-Management through the real transport (`openwmi-server` on plain
//! HTTP, a users file), CIM-XML beside it on the same listener: the 401 of
//! every action without credentials, the unauthenticated Identify only when
//! configured, and enumeration contexts shared with CIM-XML's (one table,
//! one quota per user, each owner's own).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use openwmi_server::{Server, ServerConfig};
use openwmi_wsman::{WsMan, WsManConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

mod common;
use common::cheap_hash;

const MOF: &str = "Qualifier Key : boolean = false, Scope(property), Flavor(DisableOverride);\n\
                   class T_Share { [Key] string Name; uint32 Size; };\n\
                   instance of T_Share { Name = \"public\"; Size = 1; };\n\
                   instance of T_Share { Name = \"private\"; Size = 2; };\n\
                   instance of T_Share { Name = \"print$\"; Size = 3; };";

struct Running {
    addr: SocketAddr,
    dispatcher: openwmi_wbem::Dispatcher,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), openwmi_server::ServerError>>,
    _dir: tempfile::TempDir,
}

impl Running {
    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(15), &mut self.task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
}

async fn start(config: WsManConfig, per_user: usize) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users");
    let lines: String = ["alice", "bob"]
        .iter()
        .map(|u| format!("{u}:{}\n", cheap_hash(&format!("{u}-pw"))))
        .collect();
    std::fs::write(&users, lines).unwrap();
    let server_config = ServerConfig {
        listen: vec!["127.0.0.1:0".parse().unwrap()],
        http: true,
        users_file: Some(users),
        pam: Some(false),
        state_dir: Some(dir.path().join("state")),
        ..ServerConfig::default()
    };
    let repo = openwmi_mof::repository_from_str("root/test", "t.mof", MOF).unwrap();
    let om = openwmi_cimom::ObjectManagerBuilder::new(repo, "testhost").build();
    let dispatcher = openwmi_wbem::Dispatcher::with_config(
        om,
        &openwmi_wbem::DispatcherConfig {
            max_enumerations_per_user: per_user,
            ..Default::default()
        },
    );
    let wsman = Arc::new(WsMan::new(dispatcher.clone(), config));
    let mut routes =
        openwmi_server::Routes::to(Arc::new(openwmi_wbem::CimXml::new(dispatcher.clone())));
    for path in openwmi_wsman::PATHS {
        routes = routes.route(path, wsman.clone());
    }
    let server = Server::bind(server_config).await.unwrap();
    let addr = server.local_addrs()[0];
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(server.run(routes, async move {
        let _ = stopped.await;
    }));
    Running {
        addr,
        dispatcher,
        stop: Some(stop),
        task,
        _dir: dir,
    }
}

fn auth(user: &str) -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{user}-pw"));
    format!("Authorization: Basic {token}\r\n")
}

/// POSTs `body` to `path` with `headers` (each ending in CRLF); the status,
/// the head and the body.
async fn post(addr: SocketAddr, path: &str, headers: &str, body: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let content_type = if headers.contains("Content-Type") {
        ""
    } else {
        "Content-Type: application/soap+xml;charset=UTF-8\r\n"
    };
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\n{content_type}\
         {headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head.to_owned(), body.to_owned())
}

const A: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
const W: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd";
const N: &str = "http://schemas.xmlsoap.org/ws/2004/09/enumeration";
const URI: &str = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/test/T_Share";

fn envelope(action: &str, selectors: &str, body: &str) -> String {
    format!(
        "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" xmlns:a=\"{A}\" \
         xmlns:w=\"{W}\" xmlns:n=\"{N}\"><s:Header><a:Action>{action}</a:Action>\
         <a:MessageID>uuid:00000000-0000-0000-0000-000000000001</a:MessageID>\
         <w:ResourceURI>{URI}</w:ResourceURI><w:SelectorSet>{selectors}</w:SelectorSet>\
         </s:Header><s:Body>{body}</s:Body></s:Envelope>"
    )
}

const IDENTIFY: &str = "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Header/>\
    <s:Body><i:Identify xmlns:i=\"http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd\"/>\
    </s:Body></s:Envelope>";
const GET: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get";
const ENUMERATE: &str = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate";
const PULL: &str = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull";
const RELEASE: &str = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Release";

fn context(body: &str) -> String {
    let start = body.find("<n:EnumerationContext>").expect(body) + 22;
    let end = body[start..].find('<').unwrap() + start;
    body[start..end].to_owned()
}

fn pull(ctx: &str) -> String {
    envelope(
        PULL,
        "",
        &format!("<n:Pull><n:EnumerationContext>{ctx}</n:EnumerationContext><n:MaxElements>1</n:MaxElements></n:Pull>"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_action_without_credentials_is_401_basic() {
    let server = start(WsManConfig::default(), 8).await;
    let get = envelope(GET, "<w:Selector Name=\"Name\">public</w:Selector>", "");
    let enumerate = envelope(ENUMERATE, "", "<n:Enumerate/>");
    for body in [IDENTIFY, get.as_str(), enumerate.as_str(), "junk"] {
        for extra in ["", "WSMANIDENTIFY: unauthenticated\r\n"] {
            let (status, head, answer) = post(server.addr, "/wsman", extra, body).await;
            assert_eq!(status, 401, "{body}");
            assert!(
                head.to_ascii_lowercase()
                    .contains("www-authenticate: basic realm=\"openwmi\""),
                "{head}"
            );
            assert!(answer.is_empty());
        }
    }
    let (status, _, answer) = post(server.addr, "/wsman", &auth("alice"), IDENTIFY).await;
    assert_eq!(status, 200);
    assert!(answer.contains("secprofile/http/basic"), "{answer}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_unauthenticated_identify_only_when_configured() {
    let config = WsManConfig {
        wsman_identify_unauthenticated: true,
    };
    let server = start(config, 8).await;
    let anon = "WSMANIDENTIFY: unauthenticated\r\n";
    let (status, _, answer) = post(server.addr, "/wsman", anon, IDENTIFY).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains("IdentifyResponse"), "{answer}");
    assert!(!answer.contains("SecurityProfiles"), "{answer}");
    assert!(answer.contains("OS: 0.0.0 SP: 0.0 Stack: 3.0"), "{answer}");
    // Only Identify, only with the header, and only without credentials.
    let get = envelope(GET, "<w:Selector Name=\"Name\">public</w:Selector>", "");
    assert_eq!(post(server.addr, "/wsman", anon, &get).await.0, 401);
    assert_eq!(post(server.addr, "/wsman", anon, "<junk").await.0, 401);
    assert_eq!(post(server.addr, "/wsman", "", IDENTIFY).await.0, 401);
    let wrong = "Authorization: Basic YWxpY2U6d3Jvbmc=\r\n";
    let (status, _, _) = post(server.addr, "/wsman", &format!("{anon}{wrong}"), IDENTIFY).await;
    assert_eq!(status, 401);
    // CIM-XML gains nothing from the header.
    assert_eq!(post(server.addr, "/cimom", anon, "<CIM/>").await.0, 401);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_enumerate_pull_release_through_the_transport() {
    let server = start(WsManConfig::default(), 8).await;
    let alice = auth("alice");
    let get = envelope(GET, "<w:Selector Name=\"Name\">private</w:Selector>", "");
    let (status, head, body) = post(server.addr, "/wsman/", &alice, &get).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        head.contains("application/soap+xml;charset=UTF-8"),
        "{head}"
    );
    assert!(body.contains("<p:Size>2</p:Size>"), "{body}");
    assert!(body.contains("<a:RelatesTo>uuid:00000000-0000-0000-0000-000000000001</a:RelatesTo>"));

    let (_, _, body) = post(
        server.addr,
        "/wsman",
        &alice,
        &envelope(ENUMERATE, "", "<n:Enumerate/>"),
    )
    .await;
    let ctx = context(&body);
    assert_eq!(server.dispatcher.open_enumerations(), 1);
    let mut names = Vec::new();
    let mut ctx = Some(ctx);
    while let Some(c) = ctx {
        let (status, _, body) = post(server.addr, "/wsman", &alice, &pull(&c)).await;
        assert_eq!(status, 200, "{body}");
        names.extend(body.match_indices("<p:Name>").map(|(i, _)| {
            let rest = &body[i + 8..];
            rest[..rest.find('<').unwrap()].to_owned()
        }));
        ctx = body
            .contains("<n:EnumerationContext>")
            .then(|| context(&body));
    }
    assert_eq!(names.len(), 3, "{names:?}");
    assert_eq!(server.dispatcher.open_enumerations(), 0);

    let (_, _, body) = post(
        server.addr,
        "/wsman",
        &alice,
        &envelope(ENUMERATE, "", "<n:Enumerate/>"),
    )
    .await;
    let ctx = context(&body);
    // Bob cannot pull or release alice's enumeration.
    let (status, _, body) = post(server.addr, "/wsman", &auth("bob"), &pull(&ctx)).await;
    assert_eq!(status, 500);
    assert!(body.contains("n:InvalidEnumerationContext"), "{body}");
    let release = envelope(
        RELEASE,
        "",
        &format!("<n:Release><n:EnumerationContext>{ctx}</n:EnumerationContext></n:Release>"),
    );
    assert_eq!(
        post(server.addr, "/wsman", &auth("bob"), &release).await.0,
        500
    );
    assert_eq!(post(server.addr, "/wsman", &alice, &release).await.0, 200);
    assert_eq!(server.dispatcher.open_enumerations(), 0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_quota_of_enumerations_over_both_protocols() {
    let server = start(WsManConfig::default(), 3).await;
    let alice = auth("alice");
    let enumerate = envelope(ENUMERATE, "", "<n:Enumerate/>");
    for _ in 0..3 {
        assert_eq!(post(server.addr, "/wsman", &alice, &enumerate).await.0, 200);
    }
    let (status, _, body) = post(server.addr, "/wsman", &alice, &enumerate).await;
    assert_eq!(status, 500);
    assert!(body.contains("w:QuotaLimit"), "{body}");
    assert!(body.contains("at most 3"), "{body}");
    // CIM-XML's Open* counts against the same quota.
    let open = "<?xml version=\"1.0\" encoding=\"utf-8\" ?><CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.0\">\
         <MESSAGE ID=\"7\" PROTOCOLVERSION=\"1.0\"><SIMPLEREQ><IMETHODCALL NAME=\"OpenEnumerateInstances\">\
         <LOCALNAMESPACEPATH><NAMESPACE NAME=\"root\"/><NAMESPACE NAME=\"test\"/></LOCALNAMESPACEPATH>\
         <IPARAMVALUE NAME=\"ClassName\"><CLASSNAME NAME=\"T_Share\"/></IPARAMVALUE>\
         </IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>";
    let headers = format!(
        "{alice}Content-Type: application/xml; charset=\"utf-8\"\r\nCIMOperation: MethodCall\r\nCIMMethod: OpenEnumerateInstances\r\nCIMObject: root%2Ftest\r\n"
    );
    let (status, _, body) = post(server.addr, "/cimom", &headers, open).await;
    assert_eq!(status, 200);
    assert!(body.contains("CODE=\"27\""), "{body}");
    // Bob still has his.
    assert_eq!(
        post(server.addr, "/wsman", &auth("bob"), &enumerate)
            .await
            .0,
        200
    );
    server.stop().await;
}
