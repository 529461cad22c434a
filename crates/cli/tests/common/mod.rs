//! Test helpers: this package's `openwmi` binary (cargo builds it for these
//! tests) as a server on a loopback port.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub const USER: &str = "tester";
pub const PASSWORD: &str = "s3cret pass";

pub const MOF: &str = r#"
Qualifier Key : boolean = false, Scope(property, reference), Flavor(DisableOverride, ToSubclass);
Qualifier Association : boolean = false, Scope(association), Flavor(DisableOverride, ToSubclass);
class Test_Item { [Key] string Name; uint32 Size; };
class Test_Sub : Test_Item { string Extra; };
[Association] class Test_Link { [Key] Test_Item ref Left; [Key] Test_Item ref Right; };
instance of Test_Item { Name = "a"; Size = 1; };
instance of Test_Item { Name = "b"; Size = 2; };
instance of Test_Sub { Name = "c"; Size = 3; Extra = "x"; };
instance of Test_Link { Left = "Test_Item.Name=\"a\""; Right = "Test_Item.Name=\"b\""; };
"#;

pub fn openwmi_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_openwmi"))
}

/// A fresh directory under the system temp dir, removed on drop.
#[derive(Debug)]
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "openwmi-cli-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `openwmi serve` on 127.0.0.1 (a free port), with the MOF above in
/// `root/test` and the user `tester`; killed on drop.
#[derive(Debug)]
pub struct Server {
    child: Child,
    /// Closing it stops the server.
    stdin: Option<std::process::ChildStdin>,
    pub port: u16,
    pub dir: TempDir,
    pub https: bool,
}

impl Server {
    pub fn start(https: bool) -> Server {
        let dir = TempDir::new();
        let users = dir.path().join("users");
        let mof = dir.path().join("test.mof");
        std::fs::write(&mof, MOF).unwrap();
        let mut passwd = Command::new(openwmi_bin())
            .args(["passwd", "--users-file"])
            .arg(&users)
            .arg(USER)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        use std::io::Write;
        writeln!(passwd.stdin.take().unwrap(), "{PASSWORD}").unwrap();
        assert!(passwd.wait().unwrap().success(), "openwmi passwd failed");
        // Through a shell that kills the server when its stdin closes: the
        // test process may exit without dropping a server kept in a static.
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg("\"$0\" \"$@\" <&- & pid=$!; read _; kill -9 $pid; wait $pid")
            .arg(openwmi_bin());
        cmd.arg("serve")
            .args(["--listen", "127.0.0.1:0", "--users-file"]);
        cmd.arg(&users)
            .arg("--state-dir")
            .arg(dir.path().join("state"));
        cmd.arg("--mof").arg(format!("root/test={}", mof.display()));
        if !https {
            cmd.arg("--http");
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("listening on ") {
                    let port = url.rsplit(':').next().and_then(|p| p.parse::<u16>().ok());
                    let _ = tx.send(port);
                }
            }
        });
        let port = rx
            .recv_timeout(Duration::from_secs(30))
            .ok()
            .flatten()
            .expect("the server did not say where it listens");
        Server {
            child,
            stdin,
            port,
            dir,
            https,
        }
    }

    /// `\\127.0.0.1:PORT\NAMESPACE`
    pub fn resource(&self, namespace: &str) -> String {
        format!(
            "\\\\127.0.0.1:{}\\{}",
            self.port,
            namespace.replace('/', "\\")
        )
    }

    pub fn cert(&self) -> PathBuf {
        self.dir.path().join("state").join("tls-cert.pem")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

/// A loopback port nothing listens on.
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

pub fn elapsed_since(t: Instant) -> Duration {
    t.elapsed()
}
