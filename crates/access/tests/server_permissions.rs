//! The permission policy through the real server: HTTP Basic logins against
//! a users file (with groups), the CIM-XML dispatcher, the object manager
//! with the bundled schema and the live providers fed by a fake smbstatus
//! (a real Samba 4.17 capture) and a fake testparm.

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::{PasswordHasher, SaltString};
use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use openwmi_cim::status::CimStatus;
use openwmi_cim::{CimError, Name, ObjectPath};
use openwmi_cimom::ObjectManagerBuilder;
use openwmi_cimxml::{
    AssocParams, Associators, ClassFlags, EnumerateClassNames, EnumerateInstanceNames,
    EnumerateInstances, ExecQuery, Filter, GetClass, GetInstance, InstanceOptions,
    OpenAssociatorInstances, OpenEnumerateInstances, OpenOptions, OpenQueryInstances,
    OpenReferenceInstancePaths, Operation, Pull, RefParams, ReferenceNames, Reply, ReturnItem,
};
use openwmi_providers::ProviderOptions;
use openwmi_server::{Server, ServerConfig};
use tokio::net::TcpSocket;
use tokio::sync::oneshot;

const CIMV2: &str = "root/cimv2";
const INTEROP: &str = "root/interop";
const CAPTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../samba/tests/data/smbstatus-4.17.json"
);
const CONNECTION: &str =
    r#"Win32_ServerConnection.ComputerName="127.0.0.1",ShareName="public",UserName="tester""#;
const SHARE: &str = r#"Win32_Share.Name="public""#;

// ---------------------------------------------------------------- server

struct Running {
    addr: SocketAddr,
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

    fn client(&self, user: &str, password: &str) -> Client {
        Client {
            addr: self.addr,
            source: "127.0.0.1",
            user: user.into(),
            password: password.into(),
        }
    }
}

/// argon2id with tiny parameters: debug builds verify the real ones slowly.
fn cheap_hash(password: &str) -> String {
    let params = argon2::Params::new(64, 1, 1, None).unwrap();
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
    argon
        .hash_password(password.as_bytes(), &salt)
        .unwrap()
        .to_string()
}

fn write_script(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Users (password = name + "-pw"): alice (no groups), bob (openwmi-admins),
/// carol (wmiusers), dave (staff), root. `permissions` is the body of the
/// `[permissions]` table.
async fn start(permissions: &str, adjust: impl FnOnce(&mut ServerConfig)) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users");
    let mut lines = String::from("# test users\n");
    for (user, groups) in [
        ("alice", ""),
        ("bob", ":users,openwmi-admins"),
        ("carol", ":wmiusers"),
        ("dave", ":staff"),
        ("root", ""),
    ] {
        lines.push_str(&format!(
            "{user}:{}{groups}\n",
            cheap_hash(&format!("{user}-pw"))
        ));
    }
    std::fs::write(&users, lines).unwrap();

    let smbstatus = dir.path().join("smbstatus");
    write_script(&smbstatus, &format!("#!/bin/sh\ncat {CAPTURE}\n"));
    let testparm = dir.path().join("testparm");
    write_script(
        &testparm,
        "#!/bin/sh\nprintf '[global]\\n\\tnetbios name = TESTSRV\\n[public]\\n\\tpath = /srv/samba/public\\n\\tcomment = Public\\n'\n",
    );
    let mountinfo = dir.path().join("mountinfo");
    std::fs::write(
        &mountinfo,
        "22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n\
         36 22 0:50 / /mnt/share rw,relatime - cifs //srv/share rw,username=alice\n",
    )
    .unwrap();

    let mut config = ServerConfig {
        listen: vec!["127.0.0.1:0".parse().unwrap()],
        http: true,
        users_file: Some(users),
        pam: Some(false),
        state_dir: Some(dir.path().join("state")),
        ..ServerConfig::default()
    };
    let text = format!("[permissions]\n{permissions}");
    let whole: toml::Table = text.parse().unwrap();
    let table = match whole.get("permissions") {
        Some(toml::Value::Table(t)) => t.clone(),
        _ => toml::Table::new(),
    };
    adjust(&mut config);

    let policy = openwmi_access::policy_from_config(&table).unwrap();
    let repo = openwmi_cimom::bundled::bundled_repository().unwrap();
    let mut builder = ObjectManagerBuilder::new(repo, "TESTHOST");
    openwmi_providers::register(
        &mut builder,
        &ProviderOptions {
            smbstatus: Some(smbstatus),
            testparm: Some(testparm),
            mountinfo: Some(mountinfo),
            fstab: Some("/dev/null".into()),
            ..ProviderOptions::default()
        },
    );
    builder.with_interop("openwmi", "0.1.0");
    builder.access_policy(policy);
    let dispatcher = openwmi_wbem::Dispatcher::new(builder.build());
    let routes = openwmi_server::Routes::to(Arc::new(openwmi_wbem::CimXml::new(dispatcher)));

    let server = Server::bind(config).await.unwrap();
    let addr = server.local_addrs()[0];
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(server.run(routes, async move {
        let _ = stopped.await;
    }));
    Running {
        addr,
        stop: Some(stop),
        task,
        _dir: dir,
    }
}

// ---------------------------------------------------------------- client

struct Client {
    addr: SocketAddr,
    /// The local address to connect from (127.0.0.x).
    source: &'static str,
    user: String,
    password: String,
}

/// What came back: the HTTP status, and the CIM outcome for a 200.
#[derive(Debug)]
enum Answer {
    Cim(Result<Reply, CimError>),
    Http(u16),
}

impl Client {
    async fn send(&self, namespace: &str, op: &Operation) -> Answer {
        let body = openwmi_cimxml::encode_request("1001", namespace, op);
        let socket = TcpSocket::new_v4().unwrap();
        socket
            .bind(format!("{}:0", self.source).parse().unwrap())
            .unwrap();
        let stream = socket.connect(self.addr).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(conn);
        let token = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", self.user, self.password));
        let request = hyper::Request::post("/cimom")
            .header("Host", "localhost")
            .header("Content-Type", "application/xml; charset=\"utf-8\"")
            .header("Authorization", format!("Basic {token}"))
            .header("CIMOperation", "MethodCall")
            .header("CIMMethod", op.method_name())
            .header("CIMObject", namespace.replace('/', "%2F"))
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        let response = tokio::time::timeout(Duration::from_secs(30), sender.send_request(request))
            .await
            .expect("answer within 30 s")
            .unwrap();
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        if status != 200 {
            return Answer::Http(status);
        }
        let decoded = openwmi_cimxml::decode_response(&bytes, &openwmi_cimxml::Limits::default())
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&bytes)));
        Answer::Cim(decoded.result)
    }

    async fn call(&self, namespace: &str, op: &Operation) -> Result<Reply, CimError> {
        match self.send(namespace, op).await {
            Answer::Cim(result) => result,
            Answer::Http(status) => panic!("HTTP {status} for {}", op.method_name()),
        }
    }

    async fn ok(&self, namespace: &str, op: &Operation) -> Reply {
        self.call(namespace, op)
            .await
            .unwrap_or_else(|e| panic!("{} as {}: {e}", op.method_name(), self.user))
    }

    async fn denied(&self, namespace: &str, op: &Operation) -> String {
        match self.call(namespace, op).await {
            Err(e) if e.status == CimStatus::AccessDenied => e.description,
            other => panic!(
                "{} as {}: expected CIM_ERR_ACCESS_DENIED, got {other:?}",
                op.method_name(),
                self.user
            ),
        }
    }

    /// Opens an enumeration and pulls it to the end.
    async fn pull_all(
        &self,
        namespace: &str,
        open: &Operation,
    ) -> Result<Vec<ReturnItem>, CimError> {
        let mut reply = self.call(namespace, open).await?;
        let mut items = std::mem::take(&mut reply.items);
        while reply.end_of_sequence == Some(false) {
            let context = reply
                .enumeration_context
                .clone()
                .expect("an open enumeration has a context");
            let pull = match open {
                Operation::OpenQueryInstances(_) => Operation::PullInstances(Pull {
                    enumeration_context: context,
                    max_object_count: 100,
                }),
                Operation::OpenEnumerateInstancePaths(_)
                | Operation::OpenAssociatorInstancePaths(_)
                | Operation::OpenReferenceInstancePaths(_) => Operation::PullInstancePaths(Pull {
                    enumeration_context: context,
                    max_object_count: 100,
                }),
                _ => Operation::PullInstancesWithPath(Pull {
                    enumeration_context: context,
                    max_object_count: 100,
                }),
            };
            reply = self.call(namespace, &pull).await?;
            items.append(&mut reply.items);
        }
        Ok(items)
    }
}

// ---------------------------------------------------------------- operations

fn path(text: &str) -> ObjectPath {
    ObjectPath::parse(text).unwrap()
}

fn enumerate(class: &str) -> Operation {
    Operation::EnumerateInstances(EnumerateInstances {
        class_name: Name::from(class),
        local_only: false,
        deep_inheritance: true,
        include_qualifiers: false,
        options: InstanceOptions::default(),
    })
}

fn enumerate_names(class: &str) -> Operation {
    Operation::EnumerateInstanceNames(EnumerateInstanceNames {
        class_name: Name::from(class),
    })
}

fn get(text: &str) -> Operation {
    Operation::GetInstance(GetInstance {
        instance_name: path(text),
        local_only: false,
        include_qualifiers: false,
        options: InstanceOptions::default(),
    })
}

fn query(wql: &str) -> Operation {
    Operation::ExecQuery(ExecQuery {
        query_language: "WQL".into(),
        query: wql.into(),
    })
}

fn associators(text: &str) -> Operation {
    Operation::Associators(Associators {
        object_name: path(text),
        assoc: AssocParams::default(),
        include_qualifiers: false,
        options: InstanceOptions::default(),
    })
}

fn references(text: &str) -> Operation {
    Operation::ReferenceNames(ReferenceNames {
        object_name: path(text),
        refs: RefParams::default(),
    })
}

fn get_class(class: &str) -> Operation {
    Operation::GetClass(GetClass {
        class_name: Name::from(class),
        flags: ClassFlags {
            local_only: false,
            include_qualifiers: true,
            include_class_origin: false,
        },
        property_list: None,
    })
}

fn class_names() -> Operation {
    Operation::EnumerateClassNames(EnumerateClassNames {
        class_name: None,
        deep_inheritance: true,
    })
}

fn open_enumerate(class: &str) -> Operation {
    Operation::OpenEnumerateInstances(OpenEnumerateInstances {
        class_name: Name::from(class),
        deep_inheritance: true,
        options: InstanceOptions::default(),
        filter: None,
        open: OpenOptions::default(),
    })
}

fn open_query(wql: &str) -> Operation {
    Operation::OpenQueryInstances(OpenQueryInstances {
        filter: Filter {
            query_language: "WQL".into(),
            query: wql.into(),
        },
        return_query_result_class: false,
        open: OpenOptions::default(),
    })
}

fn open_associators(text: &str) -> Operation {
    Operation::OpenAssociatorInstances(OpenAssociatorInstances {
        instance_name: path(text),
        assoc: AssocParams::default(),
        options: InstanceOptions::default(),
        filter: None,
        open: OpenOptions::default(),
    })
}

fn open_references(text: &str) -> Operation {
    Operation::OpenReferenceInstancePaths(OpenReferenceInstancePaths {
        instance_name: path(text),
        refs: RefParams::default(),
        filter: None,
        open: OpenOptions::default(),
    })
}

fn classes_of(items: &[ReturnItem]) -> Vec<String> {
    let mut names: Vec<String> = items
        .iter()
        .map(|item| match item {
            ReturnItem::Instance { instance, .. } => instance.class_name.to_string(),
            ReturnItem::Path(p) => p.class.to_string(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

// ---------------------------------------------------------------- tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_policy_keeps_the_samba_sessions_for_admins() {
    let server = start("", |_| {}).await;
    let alice = server.client("alice", "alice-pw");

    // What an ordinary user may read.
    let shares = alice.ok(CIMV2, &enumerate("Win32_Share")).await;
    assert!(
        classes_of(&shares.items) == ["Win32_Share"],
        "{:?}",
        shares.items
    );
    let mounts = alice.ok(CIMV2, &enumerate("Win32_NetworkConnection")).await;
    assert_eq!(mounts.items.len(), 1, "{:?}", mounts.items);
    alice.ok(CIMV2, &get(SHARE)).await;
    alice.ok(CIMV2, &get_class("Win32_ServerConnection")).await;
    alice
        .ok(CIMV2, &query("SELECT Name FROM Win32_Share"))
        .await;

    // Every way to the session classes is refused, naming the class.
    let message = alice
        .denied(CIMV2, &enumerate("Win32_ServerConnection"))
        .await;
    assert!(
        message.contains("alice") && message.contains("Win32_ServerConnection"),
        "{message}"
    );
    for class in [
        "Win32_ServerSession",
        "Win32_ConnectionShare",
        "Win32_SessionConnection",
    ] {
        let message = alice.denied(CIMV2, &enumerate(class)).await;
        assert!(message.contains(class), "{message}");
        alice.denied(CIMV2, &enumerate_names(class)).await;
    }
    alice.denied(CIMV2, &enumerate("CIM_LogicalElement")).await;
    alice
        .denied(CIMV2, &query("SELECT * FROM CIM_LogicalElement"))
        .await;
    alice
        .denied(
            CIMV2,
            &query("SELECT * FROM Win32_ServerConnection WHERE ShareName = 'public'"),
        )
        .await;
    let message = alice.denied(CIMV2, &associators(SHARE)).await;
    assert!(message.contains("Win32_ConnectionShare"), "{message}");
    alice.denied(CIMV2, &references(SHARE)).await;
    alice
        .denied(CIMV2, &query(&format!("ASSOCIATORS OF {{{SHARE}}}")))
        .await;
    alice.denied(CIMV2, &get(CONNECTION)).await;
    alice
        .denied(CIMV2, &open_enumerate("Win32_ServerConnection"))
        .await;
    alice
        .denied(CIMV2, &open_query("SELECT * FROM CIM_LogicalElement"))
        .await;
    alice.denied(CIMV2, &open_associators(SHARE)).await;
    alice.denied(CIMV2, &open_references(SHARE)).await;
    // The unprotected classes still stream through the pull operations.
    let pulled = alice
        .pull_all(CIMV2, &open_enumerate("Win32_Share"))
        .await
        .unwrap();
    assert_eq!(classes_of(&pulled), ["Win32_Share"]);

    // A member of openwmi-admins, and root, get them all.
    for admin in [
        server.client("bob", "bob-pw"),
        server.client("root", "root-pw"),
    ] {
        let got = admin.ok(CIMV2, &enumerate("Win32_ServerConnection")).await;
        assert_eq!(got.items.len(), 2, "{:?}", got.items);
        for class in [
            "Win32_ServerSession",
            "Win32_ConnectionShare",
            "Win32_SessionConnection",
        ] {
            let got = admin.ok(CIMV2, &enumerate(class)).await;
            assert!(!got.items.is_empty(), "{class}");
        }
        let all = admin
            .ok(CIMV2, &query("SELECT * FROM CIM_LogicalElement"))
            .await;
        let classes = classes_of(&all.items);
        assert!(
            classes.contains(&"Win32_ServerConnection".to_string())
                && classes.contains(&"Win32_Share".to_string()),
            "{classes:?}"
        );
        let assoc = admin.ok(CIMV2, &associators(SHARE)).await;
        assert_eq!(classes_of(&assoc.items), ["Win32_ServerConnection"]);
        let one = admin.ok(CIMV2, &get(CONNECTION)).await;
        assert_eq!(one.items.len(), 1);
        let pulled = admin
            .pull_all(CIMV2, &open_enumerate("Win32_ServerConnection"))
            .await
            .unwrap();
        assert_eq!(pulled.len(), 2);
        let pulled = admin
            .pull_all(CIMV2, &open_query("SELECT * FROM Win32_ServerSession"))
            .await
            .unwrap();
        assert_eq!(classes_of(&pulled), ["Win32_ServerSession"]);
        let pulled = admin
            .pull_all(CIMV2, &open_associators(SHARE))
            .await
            .unwrap();
        assert_eq!(classes_of(&pulled), ["Win32_ServerConnection"]);
    }

    // An enumeration an admin opened cannot be pulled by someone else.
    let bob = server.client("bob", "bob-pw");
    let opened = bob
        .ok(CIMV2, &open_enumerate("Win32_ServerConnection"))
        .await;
    assert_eq!(opened.end_of_sequence, Some(false));
    let context = opened.enumeration_context.unwrap();
    let pull = Operation::PullInstancesWithPath(Pull {
        enumeration_context: context.clone(),
        max_object_count: 100,
    });
    let stolen = alice.call(CIMV2, &pull).await.unwrap_err();
    assert_eq!(stolen.status, CimStatus::InvalidEnumerationContext);
    let pulled = bob.ok(CIMV2, &pull).await;
    assert_eq!(pulled.items.len(), 2);
    server.stop().await;
}

const CUSTOM: &str = r#"
[[permissions.grant]]
namespace = 'ROOT\CIMV2'
groups = ["wmiusers"]
rights = ["read"]

[[permissions.grant]]
namespace = "root/cimv2"
users = ["bob"]
rights = ["read", "sessions"]

[[permissions.grant]]
namespace = "root"
users = ["dave"]
rights = ["read"]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_without_read_get_nothing_from_a_namespace() {
    let server = start(CUSTOM, |_| {}).await;

    // carol reads root/cimv2 through her group, without the sessions.
    let carol = server.client("carol", "carol-pw");
    carol.ok(CIMV2, &enumerate("Win32_Share")).await;
    carol.ok(CIMV2, &enumerate("Win32_NetworkConnection")).await;
    carol
        .denied(CIMV2, &enumerate("Win32_ServerConnection"))
        .await;
    carol.denied(CIMV2, &associators(SHARE)).await;
    carol.denied("root", &class_names()).await;

    // bob has the sessions by name here, not through openwmi-admins.
    let bob = server.client("bob", "bob-pw");
    let got = bob.ok(CIMV2, &enumerate("Win32_ServerConnection")).await;
    assert_eq!(got.items.len(), 2);

    // dave reads only root: everything in root/cimv2 is refused, with the
    // user and the namespace named.
    let dave = server.client("dave", "dave-pw");
    dave.ok("root", &class_names()).await;
    for op in [
        enumerate("Win32_Share"),
        enumerate_names("Win32_NetworkConnection"),
        get(SHARE),
        get_class("Win32_Share"),
        class_names(),
        query("SELECT * FROM Win32_Share"),
        associators(SHARE),
        references(SHARE),
        Operation::EnumerateQualifiers,
        open_enumerate("Win32_Share"),
        open_query("SELECT * FROM Win32_Share"),
    ] {
        let message = dave.denied(CIMV2, &op).await;
        assert!(
            message.contains("dave") && message.contains(r"root\cimv2"),
            "{}: {message}",
            op.method_name()
        );
    }

    // alice and root are named by no grant: nothing anywhere, interop included.
    for nobody in [
        server.client("alice", "alice-pw"),
        server.client("root", "root-pw"),
    ] {
        nobody.denied(CIMV2, &enumerate("Win32_Share")).await;
        nobody.denied("root", &class_names()).await;
        nobody.denied(INTEROP, &enumerate("CIM_Namespace")).await;
    }
    // An unknown namespace is still an unknown namespace.
    let unknown = carol
        .call("root/nowhere", &class_names())
        .await
        .unwrap_err();
    assert_eq!(unknown.status, CimStatus::InvalidNamespace);
    server.stop().await;
}

/// What pywbem's WBEMServer does first: find the interop namespace among the
/// usual candidates, read the object manager and list the namespaces.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interop_discovery_works_for_ordinary_users() {
    let server = start(CUSTOM, |_| {}).await;
    for user in ["carol", "dave"] {
        let client = server.client(user, &format!("{user}-pw"));
        let probe = client
            .call("interop", &enumerate_names("CIM_Namespace"))
            .await;
        assert_eq!(
            probe.unwrap_err().status,
            CimStatus::InvalidNamespace,
            "{user}"
        );
        let names = client.ok(INTEROP, &enumerate_names("CIM_Namespace")).await;
        assert!(names.items.len() >= 3, "{user}: {:?}", names.items);
        let namespaces = client.ok(INTEROP, &enumerate("CIM_Namespace")).await;
        assert_eq!(namespaces.items.len(), names.items.len());
        let manager = client.ok(INTEROP, &enumerate("CIM_ObjectManager")).await;
        assert_eq!(manager.items.len(), 1);
        client.ok(INTEROP, &get_class("CIM_Namespace")).await;
        let pulled = client
            .pull_all(INTEROP, &open_enumerate("CIM_Namespace"))
            .await
            .unwrap();
        assert_eq!(pulled.len(), names.items.len());
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_lock_out_one_client_address() {
    let server = start("", |c| {
        c.limits.max_auth_failures = 5;
        c.limits.auth_lockout_secs = 1.5;
    })
    .await;
    let op = enumerate("Win32_Share");
    let from = |source: &'static str, password: &str| Client {
        source,
        ..server.client("alice", password)
    };
    for attempt in 0..5 {
        match from("127.0.0.2", "guess").send(CIMV2, &op).await {
            Answer::Http(401) => {}
            other => panic!("attempt {attempt}: {other:?}"),
        }
    }
    // Locked out now, even with the right password...
    match from("127.0.0.2", "alice-pw").send(CIMV2, &op).await {
        Answer::Http(429) => {}
        other => panic!("after 5 failures: {other:?}"),
    }
    // ... from that address only.
    let shares = from("127.0.0.1", "alice-pw").ok(CIMV2, &op).await;
    assert!(!shares.items.is_empty());
    // The lockout ends.
    tokio::time::sleep(Duration::from_millis(1600)).await;
    from("127.0.0.2", "alice-pw").ok(CIMV2, &op).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_permissions_table_is_refused_by_name() {
    let table: toml::Table =
        "[[grant]]\nnamespace = 'root/cimv2'\nusers = ['x']\nrights = ['write']\n"
            .parse()
            .unwrap();
    let err = match openwmi_access::policy_from_config(&table) {
        Ok(_) => panic!("accepted"),
        Err(e) => e.to_string(),
    };
    assert!(err.starts_with("permissions.grant[1].rights: "), "{err}");
    assert!(err.contains("\"write\""), "{err}");
    // The table as a configuration file holds it (`openwmi serve` hands
    // its `[permissions]` over as written).
    let file: toml::Table = format!("[permissions]\n{CUSTOM}").parse().unwrap();
    let Some(toml::Value::Table(table)) = file.get("permissions") else {
        panic!("no [permissions] in {file:?}");
    };
    openwmi_access::policy_from_config(table).unwrap();
}
