//! `ServerConfig`: what the transport of `openwmi serve` can be told, from a
//! TOML file and/or the command line (command-line options win). The rest of
//! `openwmi serve`'s configuration (provider inputs, the dispatcher's answer
//! cache, `[permissions]`) belongs to the crates that use it; the binary
//! reads the one file and gives each part its keys.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::ServerError;

/// The default listening address: HTTPS on loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:5989";

/// The default busy-polling window, in microseconds.
pub const DEFAULT_BUSY_POLL_US: u64 = 100;

/// Longest busy-polling window accepted: beyond a millisecond the CPU it
/// burns outweighs any wake-up it saves.
const MAX_BUSY_POLL_US: u64 = 1000;

/// How clients prove who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// HTTP Basic on every request, checked against the users file and/or PAM.
    #[default]
    Basic,
    /// No authentication: every request runs as user `anonymous` with no groups.
    /// Only accepted when every listener is a loopback address.
    None,
}

/// Resource limits. Every field has a default; durations are in seconds
/// (fractions allowed).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest accepted request body, the only limit on a request's size
    /// (the services do not repeat it). A larger `Content-Length` is
    /// answered `413` before any byte of the body is read, a chunked body
    /// once it passes the limit. Default 1 MiB: a CIM-XML request is a few
    /// KiB, and each connection may make the server hold this much.
    pub max_body_bytes: u64,
    /// Largest request head (request line + headers); beyond it the answer is
    /// `431` and the connection is closed. Default 64 KiB (minimum 8 KiB).
    pub max_header_bytes: usize,
    /// Largest number of header fields in one request. Default 100.
    pub max_headers: usize,
    /// Open connections over all listeners; one more is answered `503`
    /// (plain HTTP) or closed (TLS). Default 256.
    pub max_connections: usize,
    /// Open connections from one client address (IPv6: one
    /// `ipv6_prefix_len` network), so that one address cannot take every
    /// slot; one more is refused as above. Default: a quarter of
    /// `max_connections` (at least 1).
    pub max_connections_per_address: Option<usize>,
    /// How many leading bits of an IPv6 address name one client, for the
    /// per-address connection limit and the login lockout: whoever has a
    /// /64 has all of its addresses. Default 64 (128 = exact addresses).
    pub ipv6_prefix_len: u8,
    /// A connection that has sent nothing at all for this long is closed:
    /// connections held open without a byte cannot keep slots from others.
    /// Default 5.
    pub first_byte_timeout_secs: f64,
    /// Hard cap on the service's time for one request (a service is expected
    /// to answer its own protocol's timeout error well before): `504` and
    /// close. Default 300.
    pub request_timeout_secs: f64,
    /// Time allowed for the TLS handshake and for a request head once its first
    /// byte has arrived (before it, `first_byte_timeout_secs`). Default 10.
    pub header_read_timeout_secs: f64,
    /// Time allowed to receive a whole request body. Default 30.
    pub body_read_timeout_secs: f64,
    /// A keep-alive connection with no request in progress and no traffic for
    /// this long is closed. Default 60.
    pub idle_timeout_secs: f64,
    /// Failed logins from one client address (IPv6: `ipv6_prefix_len`
    /// prefix) within `auth_failure_window_secs` after which that address
    /// is refused (`429`) for `auth_lockout_secs`, except for credentials
    /// still in the login cache (until `max_auth_failures` more wrong
    /// guesses). Default 5 in 60 s, locked out 60 s.
    pub max_auth_failures: u32,
    pub auth_failure_window_secs: f64,
    pub auth_lockout_secs: f64,
    /// How long a successful credential check is remembered (argon2 and PAM are
    /// slow by design; a per-request check would cap throughput at a few
    /// requests a second). A changed password or removed user is noticed after
    /// at most this long. 0 disables the cache. Default 60.
    pub auth_cache_ttl_secs: f64,
    /// Credential checks (argon2/PAM) allowed to run at once; further ones wait.
    /// Bounds the memory argon2 uses under a password-guessing flood. Default 2.
    pub max_concurrent_logins: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 1024 * 1024,
            max_header_bytes: 64 * 1024,
            max_headers: 100,
            max_connections: 256,
            max_connections_per_address: None,
            ipv6_prefix_len: 64,
            first_byte_timeout_secs: 5.0,
            request_timeout_secs: 300.0,
            header_read_timeout_secs: 10.0,
            body_read_timeout_secs: 30.0,
            idle_timeout_secs: 60.0,
            max_auth_failures: 5,
            auth_failure_window_secs: 60.0,
            auth_lockout_secs: 60.0,
            auth_cache_ttl_secs: 60.0,
            max_concurrent_logins: 2,
        }
    }
}

pub(crate) fn secs(value: f64) -> Duration {
    Duration::try_from_secs_f64(value).unwrap_or(Duration::MAX)
}

impl Limits {
    /// `max_connections_per_address`, or its default.
    pub fn connections_per_address(&self) -> usize {
        self.max_connections_per_address
            .unwrap_or(self.max_connections / 4)
            .clamp(1, self.max_connections.max(1))
    }

    fn validate(&self) -> Result<(), ServerError> {
        let durations = [
            ("request_timeout_secs", self.request_timeout_secs),
            ("first_byte_timeout_secs", self.first_byte_timeout_secs),
            ("header_read_timeout_secs", self.header_read_timeout_secs),
            ("body_read_timeout_secs", self.body_read_timeout_secs),
            ("idle_timeout_secs", self.idle_timeout_secs),
            ("auth_failure_window_secs", self.auth_failure_window_secs),
            ("auth_lockout_secs", self.auth_lockout_secs),
            ("auth_cache_ttl_secs", self.auth_cache_ttl_secs),
        ];
        for (name, value) in durations {
            if !(value.is_finite() && value >= 0.0) {
                return Err(ServerError::Config(format!(
                    "limits.{name} must be a non-negative number of seconds, not {value}"
                )));
            }
        }
        for (name, value) in [
            ("request_timeout_secs", self.request_timeout_secs),
            ("first_byte_timeout_secs", self.first_byte_timeout_secs),
            ("header_read_timeout_secs", self.header_read_timeout_secs),
            ("body_read_timeout_secs", self.body_read_timeout_secs),
            ("idle_timeout_secs", self.idle_timeout_secs),
        ] {
            if value == 0.0 {
                return Err(ServerError::Config(format!("limits.{name} must be > 0")));
            }
        }
        if self.max_connections == 0 || self.max_concurrent_logins == 0 {
            return Err(ServerError::Config(
                "limits.max_connections and limits.max_concurrent_logins must be > 0".into(),
            ));
        }
        if self.max_connections_per_address == Some(0) {
            return Err(ServerError::Config(
                "limits.max_connections_per_address must be > 0".into(),
            ));
        }
        if self.ipv6_prefix_len > 128 {
            return Err(ServerError::Config(format!(
                "limits.ipv6_prefix_len must be at most 128, not {}",
                self.ipv6_prefix_len
            )));
        }
        if self.max_header_bytes < 8192 {
            return Err(ServerError::Config(
                "limits.max_header_bytes must be >= 8192".into(),
            ));
        }
        Ok(())
    }
}

/// The transport's configuration (TOML, see `ServerConfig::from_toml`).
///
/// ```toml
/// listen = ["127.0.0.1:5989", "[::1]:5989"]
/// tls_cert = "/etc/openwmi/cert.pem"     # with tls_key; neither = self-signed in state_dir
/// tls_key = "/etc/openwmi/key.pem"
/// state_dir = "/var/lib/openwmi"
/// http = false                           # plain HTTP (loopback only unless allow_insecure)
/// allow_insecure = false
/// auth = "basic"                         # or "none" (loopback listeners only)
/// users_file = "/etc/openwmi/users"      # user:$argon2id$...[:group,group]
/// pam = true                             # default: true when no users_file is given
/// pam_service = "openwmi"
/// threads = 1                            # worker threads
/// busy_poll_us = 100                     # 0 = no busy polling
/// [limits]
/// max_body_bytes = 1048576
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Addresses to listen on; default `127.0.0.1:5989`.
    pub listen: Vec<SocketAddr>,
    /// Serve plain HTTP instead of HTTPS.
    pub http: bool,
    /// Allow plain HTTP on addresses other than loopback.
    pub allow_insecure: bool,
    /// PEM certificate chain; with `tls_key`. Neither: a self-signed certificate
    /// kept in `state_dir`.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub tls_key: Option<PathBuf>,
    /// Where generated state (the self-signed certificate) lives. Default:
    /// `/var/lib/openwmi` for root, else `$XDG_STATE_HOME/openwmi` or
    /// `~/.local/state/openwmi`.
    pub state_dir: Option<PathBuf>,
    pub auth: AuthMode,
    /// Password file: `user:PHC-argon2-hash[:group,group...]` per line.
    pub users_file: Option<PathBuf>,
    /// Check the machine's accounts through PAM. `None` means: only when no
    /// users file is configured.
    pub pam: Option<bool>,
    /// PAM service name (`/etc/pam.d/<name>`; PAM falls back to `other`).
    pub pam_service: String,
    pub limits: Limits,
    /// Worker threads answering requests (blocking providers and password
    /// checks get threads of their own on top). Default 1: see
    /// [`ServerConfig::worker_threads`].
    pub threads: Option<usize>,
    /// Microseconds a worker thread about to sleep after answering keeps
    /// watching for the next request (see `busy_poll.rs`); 0 turns it off.
    /// Default 100.
    pub busy_poll_us: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: Vec::new(),
            http: false,
            allow_insecure: false,
            tls_cert: None,
            tls_key: None,
            state_dir: None,
            auth: AuthMode::Basic,
            users_file: None,
            pam: None,
            pam_service: "openwmi".into(),
            limits: Limits::default(),
            threads: None,
            busy_poll_us: DEFAULT_BUSY_POLL_US,
        }
    }
}

impl ServerConfig {
    /// Parses a TOML configuration. `origin` names the file in error messages.
    pub fn from_toml(text: &str, origin: &Path) -> Result<ServerConfig, ServerError> {
        let config: ServerConfig = toml::from_str(text).map_err(|e| ServerError::ConfigFile {
            path: origin.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        Ok(config)
    }

    /// Reads and parses a TOML configuration file.
    pub fn load(path: &Path) -> Result<ServerConfig, ServerError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ServerError::io(format!("cannot read {}", path.display()), e))?;
        Self::from_toml(&text, path)
    }

    /// The listening addresses, with the default filled in.
    pub fn listen_addrs(&self) -> Vec<SocketAddr> {
        if self.listen.is_empty() {
            vec![DEFAULT_LISTEN.parse().expect("constant address")]
        } else {
            self.listen.clone()
        }
    }

    /// The number of worker threads: `threads`, or else 1. One worker
    /// answers tens of thousands of small requests a second, and requests
    /// that may block move to threads of their own, so more only pays for
    /// many clients enumerating at once; on the 2-core reference machine
    /// one worker spent 37 us of CPU per GetInstance where two spent 46
    /// (waking each other), and was as fast or faster at every benchmark
    /// case (README, Performance).
    pub fn worker_threads(&self) -> usize {
        self.threads.unwrap_or(1)
    }

    /// Whether PAM is consulted for logins.
    pub fn pam_enabled(&self) -> bool {
        self.pam.unwrap_or(self.users_file.is_none())
    }

    /// The state directory, with the default filled in.
    pub fn state_dir(&self) -> PathBuf {
        if let Some(dir) = &self.state_dir {
            return dir.clone();
        }
        if rustix::process::geteuid().is_root() {
            return PathBuf::from("/var/lib/openwmi");
        }
        if let Some(xdg) = std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
            return PathBuf::from(xdg).join("openwmi");
        }
        if let Some(home) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
            return PathBuf::from(home).join(".local/state/openwmi");
        }
        PathBuf::from("/var/lib/openwmi")
    }

    /// Checks everything that can be checked without touching the network.
    pub fn validate(&self) -> Result<(), ServerError> {
        self.limits.validate()?;
        if self.threads == Some(0) {
            return Err(ServerError::Config("threads must be at least 1".into()));
        }
        if self.busy_poll_us > MAX_BUSY_POLL_US {
            return Err(ServerError::Config(format!(
                "busy_poll_us must be at most {MAX_BUSY_POLL_US}, not {}",
                self.busy_poll_us
            )));
        }
        let addrs = self.listen_addrs();
        if self.http && !self.allow_insecure {
            if let Some(addr) = addrs.iter().find(|a| !a.ip().is_loopback()) {
                return Err(ServerError::InsecureHttp { addr: *addr });
            }
        }
        if self.auth == AuthMode::None {
            if let Some(addr) = addrs.iter().find(|a| !a.ip().is_loopback()) {
                return Err(ServerError::Config(format!(
                    "auth = \"none\" is only allowed on loopback addresses, not on {addr}"
                )));
            }
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err(ServerError::Config(
                "tls_cert and tls_key must be given together".into(),
            ));
        }
        if self.auth == AuthMode::Basic && self.users_file.is_none() && !self.pam_enabled() {
            return Err(ServerError::Config(
                "no way to log in: give a users_file or enable pam".into(),
            ));
        }
        Ok(())
    }
}

/// The transport's command-line options of `openwmi serve`, for the binary
/// to flatten into its own parser (`#[command(flatten)]`) and
/// [apply](ServeArgs::apply) over the configuration file.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (repeatable). Default (`openwmi serve`):
    /// 127.0.0.1:5989 and 127.0.0.1:5986 (5985 with --http).
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Vec<SocketAddr>,
    /// Serve plain HTTP (loopback addresses only unless --allow-insecure).
    #[arg(long)]
    pub http: bool,
    /// Allow plain HTTP on non-loopback addresses.
    #[arg(long)]
    pub allow_insecure: bool,
    /// PEM certificate chain (with --tls-key). Default: a self-signed
    /// certificate kept in the state directory, renewed before it ends.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key (with --tls-cert).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Directory for generated state (the self-signed certificate).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Authentication: basic (default) or none (loopback only).
    #[arg(long, value_enum)]
    pub auth: Option<AuthMode>,
    /// Password file (see `openwmi passwd`).
    #[arg(long, value_name = "FILE")]
    pub users_file: Option<PathBuf>,
    /// Check logins against the machine's accounts through PAM
    /// (default: when no --users-file is given).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub pam: Option<bool>,
    /// PAM service name (default openwmi; PAM falls back to `other`).
    #[arg(long, value_name = "NAME")]
    pub pam_service: Option<String>,
    /// Worker threads answering requests (default 1; providers that block
    /// and password checks run on threads of their own).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Microseconds a worker keeps watching for the next request before it
    /// sleeps (default 100; 0 = off): saves a wake-up per request for a
    /// client that asks again at once, costs at most that much CPU per answer.
    #[arg(long, value_name = "USEC")]
    pub busy_poll: Option<u64>,
}

impl ServeArgs {
    /// Overrides the fields of `config` that were given on the command line.
    pub fn apply(self, config: &mut ServerConfig) {
        if !self.listen.is_empty() {
            config.listen = self.listen;
        }
        config.http |= self.http;
        config.allow_insecure |= self.allow_insecure;
        if self.tls_cert.is_some() {
            config.tls_cert = self.tls_cert;
            config.tls_key = self.tls_key;
        }
        set(&mut config.state_dir, self.state_dir);
        if let Some(auth) = self.auth {
            config.auth = auth;
        }
        set(&mut config.users_file, self.users_file);
        if self.pam.is_some() {
            config.pam = self.pam;
        }
        if let Some(service) = self.pam_service {
            config.pam_service = service;
        }
        if self.threads.is_some() {
            config.threads = self.threads;
        }
        if let Some(us) = self.busy_poll {
            config.busy_poll_us = us;
        }
    }
}

fn set<T>(field: &mut Option<T>, value: Option<T>) {
    if value.is_some() {
        *field = value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_https_on_loopback() {
        let config = ServerConfig::default();
        assert_eq!(
            config.listen_addrs(),
            vec!["127.0.0.1:5989".parse().unwrap()]
        );
        assert!(!config.http);
        assert!(config.pam_enabled());
        config.validate().unwrap();
    }

    #[test]
    fn toml_file_loads_and_options_override() {
        let text = r#"
            listen = ["127.0.0.1:1234", "[::1]:1234"]
            http = true
            users_file = "/etc/openwmi/users"
            [limits]
            max_body_bytes = 1000
            idle_timeout_secs = 2.5
            request_timeout_secs = 7
        "#;
        let mut config = ServerConfig::from_toml(text, Path::new("x.toml")).unwrap();
        assert_eq!(config.listen.len(), 2);
        assert_eq!(config.limits.max_body_bytes, 1000);
        assert_eq!(config.limits.idle_timeout_secs, 2.5);
        assert_eq!(config.limits.request_timeout_secs, 7.0);
        assert_eq!(config.limits.max_connections, 256);
        assert!(!config.pam_enabled());
        let args = ServeArgs {
            listen: vec!["127.0.0.2:99".parse().unwrap()],
            pam: Some(true),
            ..ServeArgs::default()
        };
        args.apply(&mut config);
        assert_eq!(config.listen, vec!["127.0.0.2:99".parse().unwrap()]);
        assert!(config.pam_enabled());
        assert_eq!(config.users_file, Some(PathBuf::from("/etc/openwmi/users")));
        config.validate().unwrap();
    }

    #[test]
    fn connection_slots_per_address_and_first_byte_timeout() {
        let limits = Limits::default();
        assert_eq!(limits.connections_per_address(), 64);
        assert_eq!(limits.ipv6_prefix_len, 64);
        assert_eq!(limits.first_byte_timeout_secs, 5.0);
        let text = "users_file = \"/u\"\n[limits]\nmax_connections = 10\n\
                    first_byte_timeout_secs = 1.5\nipv6_prefix_len = 56\n";
        let config = ServerConfig::from_toml(text, Path::new("c.toml")).unwrap();
        assert_eq!(config.limits.connections_per_address(), 2);
        assert_eq!(config.limits.first_byte_timeout_secs, 1.5);
        assert_eq!(config.limits.ipv6_prefix_len, 56);
        config.validate().unwrap();
        let config = ServerConfig::from_toml(
            "[limits]\nmax_connections = 2\nmax_connections_per_address = 5\n",
            Path::new("c.toml"),
        )
        .unwrap();
        assert_eq!(config.limits.connections_per_address(), 2);
        for (text, why) in [
            (
                "max_connections_per_address = 0",
                "max_connections_per_address must be > 0",
            ),
            (
                "ipv6_prefix_len = 129",
                "ipv6_prefix_len must be at most 128",
            ),
            (
                "first_byte_timeout_secs = 0",
                "first_byte_timeout_secs must be > 0",
            ),
        ] {
            let text = format!("users_file = \"/u\"\n[limits]\n{text}\n");
            let config = ServerConfig::from_toml(&text, Path::new("c.toml")).unwrap();
            let err = config.validate().unwrap_err().to_string();
            assert!(err.contains(why), "{text}: {err}");
        }
    }

    #[test]
    fn threads_and_busy_polling_from_file_and_options() {
        let config = ServerConfig::default();
        assert_eq!(config.worker_threads(), 1);
        assert_eq!(config.busy_poll_us, DEFAULT_BUSY_POLL_US);
        let mut config = ServerConfig::from_toml(
            "threads = 4\nbusy_poll_us = 0\nusers_file = \"/u\"\n",
            Path::new("c.toml"),
        )
        .unwrap();
        assert_eq!((config.worker_threads(), config.busy_poll_us), (4, 0));
        config.validate().unwrap();
        let args = ServeArgs {
            threads: Some(2),
            busy_poll: Some(200),
            ..ServeArgs::default()
        };
        args.apply(&mut config);
        assert_eq!((config.worker_threads(), config.busy_poll_us), (2, 200));
        config.validate().unwrap();
        for (text, why) in [
            ("threads = 0", "threads must be at least 1"),
            (
                "busy_poll_us = 1001",
                "busy_poll_us must be at most 1000, not 1001",
            ),
        ] {
            let config = ServerConfig::from_toml(text, Path::new("c.toml")).unwrap();
            let err = config.validate().unwrap_err().to_string();
            assert!(err.contains(why), "{text}: {err}");
        }
    }

    #[test]
    fn unknown_keys_are_errors_with_position() {
        let err = ServerConfig::from_toml("lisen = []\n", Path::new("c.toml")).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("c.toml:"), "{text}");
        assert!(text.contains("lisen"), "{text}");
    }

    #[test]
    fn insecure_http_is_refused_off_loopback() {
        let config = ServerConfig {
            listen: vec!["0.0.0.0:5988".parse().unwrap()],
            http: true,
            ..ServerConfig::default()
        };
        let err = config.validate().unwrap_err();
        assert!(matches!(err, ServerError::InsecureHttp { .. }), "{err}");
        assert!(err.to_string().contains("--allow-insecure"));
        let config = ServerConfig {
            allow_insecure: true,
            ..config
        };
        config.validate().unwrap();
        let config = ServerConfig {
            listen: vec!["[::1]:5988".parse().unwrap()],
            http: true,
            ..ServerConfig::default()
        };
        config.validate().unwrap();
    }

    #[test]
    fn auth_none_needs_loopback() {
        let config = ServerConfig {
            listen: vec!["192.0.2.1:5989".parse().unwrap()],
            auth: AuthMode::None,
            ..ServerConfig::default()
        };
        assert!(config.validate().is_err());
    }

    #[test]
    fn command_line_parses() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            serve: ServeArgs,
        }
        let configure = |args: ServeArgs| {
            let mut config = ServerConfig::default();
            args.apply(&mut config);
            config.validate().map(|()| config)
        };
        let cli = Cli::try_parse_from([
            "openwmi",
            "--listen",
            "127.0.0.1:5988",
            "--listen",
            "[::1]:5988",
            "--http",
            "--pam",
            "--users-file",
            "/u",
            "--auth",
            "basic",
        ])
        .unwrap();
        let config = configure(cli.serve).unwrap();
        assert_eq!(config.listen.len(), 2);
        assert!(config.http && config.pam_enabled());
        assert_eq!(config.users_file, Some(PathBuf::from("/u")));
        assert!(
            Cli::try_parse_from(["openwmi", "--tls-cert", "/c"]).is_err(),
            "--tls-cert needs --tls-key"
        );
        let cli = Cli::try_parse_from(["openwmi", "--pam", "false", "--users-file", "/u"]).unwrap();
        assert_eq!(cli.serve.pam, Some(false));
        let cli = Cli::try_parse_from(["openwmi", "--listen", "0.0.0.0:5988", "--http"]).unwrap();
        assert!(matches!(
            configure(cli.serve),
            Err(ServerError::InsecureHttp { .. })
        ));
    }
}
