//! `openwmi serve` and `openwmi passwd`.
//!
//! `openwmi serve` composes its configuration here, once: one file
//! (`--config`) whose top-level keys belong to four parts, each declared by
//! the crate that uses it: the transport (`openwmi_server::ServerConfig`:
//! listeners, TLS, logins, limits, threads), the dispatcher
//! (`openwmi_wbem::DispatcherConfig`: the answer cache, the enumerations
//! per user), the provider inputs
//! ([`ProviderInputs`]: the global options `--mof`, `--smb-conf`, ...) and
//! `[permissions]` (read by `openwmi-access`). Each part gets its own keys,
//! so errors keep their position in the file; a key no part declares is
//! reported by the transport's part. Command-line options then override the
//! file, part by part.

use crate::args::{GlobalOptions, PasswdArgs};
use crate::Failure;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// The options of `openwmi serve`: the file, then each part's options.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServeOptions {
    /// TOML configuration file holding any of these options; options given
    /// on the command line override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub transport: openwmi_server::ServeArgs,
    /// KiB of answers kept for requests that ask the same about static
    /// (MOF) instances, which never change while the server runs (default
    /// 4096; 0 = none: every request walks the instances).
    #[arg(long, value_name = "KIB")]
    pub answer_cache_kib: Option<u64>,
    /// Pull enumerations one user may hold open at once (default 128, at
    /// most 1024, the server's total); one more is refused with
    /// CIM_ERR_SERVER_LIMITS_EXCEEDED.
    #[arg(long, value_name = "N")]
    pub max_enumerations_per_user: Option<usize>,
    /// Answer a WS-Management Identify sent without credentials with the
    /// header `WSMANIDENTIFY: unauthenticated` (what Test-WSMan sends);
    /// every other request still needs credentials.
    #[arg(long)]
    pub wsman_identify_unauthenticated: bool,
}

/// Where the providers read from, in the configuration file. On the command
/// line these are global options ([`GlobalOptions`]), which win.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProviderInputs {
    /// Extra MOF files, each `NAMESPACE=FILE`.
    pub mof: Vec<String>,
    /// smb.conf to read shares from.
    pub smb_conf: Option<PathBuf>,
    /// smbstatus program (or a file with its JSON output).
    pub smbstatus: Option<PathBuf>,
    /// mountinfo file to read.
    pub mountinfo: Option<PathBuf>,
    /// fstab file to read.
    pub fstab: Option<PathBuf>,
}

impl ProviderInputs {
    /// The global options with these filled in where the command line gave none.
    fn under(self, g: &GlobalOptions) -> GlobalOptions {
        GlobalOptions {
            mof: if g.mof.is_empty() {
                self.mof
            } else {
                g.mof.clone()
            },
            smb_conf: g.smb_conf.clone().or(self.smb_conf),
            smbstatus: g.smbstatus.clone().or(self.smbstatus),
            mountinfo: g.mountinfo.clone().or(self.mountinfo),
            fstab: g.fstab.clone().or(self.fstab),
            ..g.clone()
        }
    }
}

/// The `[permissions]` table, as `openwmi_access::policy_from_config` reads it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct PermissionsPart {
    permissions: toml::Table,
}

/// The `[metrics]` table (`GET /metrics`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct MetricsPart {
    metrics: openwmi_metrics::MetricsConfig,
}

/// The `[indications]` table (CIM-XML indication subscriptions).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct IndicationsPart {
    indications: openwmi_indications::IndicationsSection,
}

/// `openwmi serve`'s whole configuration.
#[derive(Debug, Clone, Default, PartialEq)]
struct ServeConfig {
    transport: openwmi_server::ServerConfig,
    dispatcher: openwmi_wbem::DispatcherConfig,
    wsman: openwmi_wsman::WsManConfig,
    providers: ProviderInputs,
    permissions: toml::Table,
    metrics: openwmi_metrics::MetricsConfig,
    indications: openwmi_indications::IndicationsSection,
}

impl ServeConfig {
    /// Parses a configuration file; `origin` names it in error messages.
    fn from_toml(text: &str, origin: &Path) -> Result<ServeConfig, Failure> {
        let failure = |mut e: toml::de::Error| {
            e.set_input(Some(text));
            Failure::Message(format!(
                "{}: {}",
                origin.display(),
                e.to_string().trim_end()
            ))
        };
        let document = toml::de::DeTable::parse(text).map_err(failure)?;
        let span = document.span();
        let mut rest = document.into_inner();
        let mut part = |keys: &[&str]| {
            let (mine, others) = std::mem::take(&mut rest)
                .into_iter()
                .partition(|(k, _)| keys.contains(&k.get_ref().as_ref()));
            rest = others;
            toml::de::Deserializer::from(toml::Spanned::new(span.clone(), mine))
        };
        let dispatcher = openwmi_wbem::DispatcherConfig::deserialize(part(keys::<
            openwmi_wbem::DispatcherConfig,
        >()))
        .map_err(failure)?;
        let wsman =
            openwmi_wsman::WsManConfig::deserialize(part(keys::<openwmi_wsman::WsManConfig>()))
                .map_err(failure)?;
        let providers =
            ProviderInputs::deserialize(part(keys::<ProviderInputs>())).map_err(failure)?;
        let permissions = PermissionsPart::deserialize(part(keys::<PermissionsPart>()))
            .map_err(failure)?
            .permissions;
        let metrics = MetricsPart::deserialize(part(keys::<MetricsPart>()))
            .map_err(failure)?
            .metrics;
        let indications = IndicationsPart::deserialize(part(keys::<IndicationsPart>()))
            .map_err(failure)?
            .indications;
        let transport = openwmi_server::ServerConfig::deserialize(toml::de::Deserializer::from(
            toml::Spanned::new(span, rest),
        ))
        .map_err(failure)?;
        Ok(ServeConfig {
            transport,
            dispatcher,
            wsman,
            providers,
            permissions,
            metrics,
            indications,
        })
    }

    /// The file (if any) with the command-line options over it, checked.
    fn new(g: &GlobalOptions, a: ServeOptions) -> Result<(ServeConfig, GlobalOptions), Failure> {
        let mut config = match &a.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    Failure::Message(format!("cannot read {}: {e}", path.display()))
                })?;
                ServeConfig::from_toml(&text, path)?
            }
            None => ServeConfig::default(),
        };
        a.transport.apply(&mut config.transport);
        if let Some(kib) = a.answer_cache_kib {
            config.dispatcher.answer_cache_kib = kib;
        }
        if let Some(n) = a.max_enumerations_per_user {
            config.dispatcher.max_enumerations_per_user = n;
        }
        config.wsman.wsman_identify_unauthenticated |= a.wsman_identify_unauthenticated;
        default_listeners(&mut config.transport);
        let providers = std::mem::take(&mut config.providers).under(g);
        let invalid = |m: String| Failure::Message(format!("invalid configuration: {m}"));
        config
            .transport
            .validate()
            .map_err(|e| Failure::Message(e.to_string()))?;
        config.dispatcher.validate().map_err(invalid)?;
        config.indications.validate().map_err(invalid)?;
        for entry in &providers.mof {
            if !entry.contains('=') {
                return Err(invalid(format!(
                    "mof entry {entry:?} must be NAMESPACE=FILE"
                )));
            }
        }
        Ok((config, providers))
    }
}

/// The WS-Management ports: WinRM's HTTPS port 5986, and 5985 for plain
/// HTTP.
const WSMAN_HTTPS_PORT: u16 = 5986;
const WSMAN_HTTP_PORT: u16 = 5985;

/// Without `listen` in the file or `--listen`, the server listens on
/// 127.0.0.1:5989 as it always has and also on WS-Management's port on
/// loopback: 5986, or 5985 with `--http`. Every listener answers both
/// protocols (CIM-XML at `/cimom`, WS-Management at `/wsman`).
fn default_listeners(transport: &mut openwmi_server::ServerConfig) {
    if !transport.listen.is_empty() {
        return;
    }
    let mut addrs = transport.listen_addrs();
    let port = if transport.http {
        WSMAN_HTTP_PORT
    } else {
        WSMAN_HTTPS_PORT
    };
    addrs.push(std::net::SocketAddr::from((
        std::net::Ipv4Addr::LOCALHOST,
        port,
    )));
    transport.listen = addrs;
}

/// The keys a part of the configuration declares: the field names serde's
/// derive gives its struct (so that each key is written once, in the part).
fn keys<T: serde::de::DeserializeOwned>() -> &'static [&'static str] {
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(FieldNames(&mut fields));
    fields
}

/// A deserializer that only notes the fields a struct asks for.
struct FieldNames<'a>(&'a mut &'static [&'static str]);

#[derive(Debug)]
struct Noted;

impl std::fmt::Display for Noted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("field names noted")
    }
}

impl std::error::Error for Noted {}

impl serde::de::Error for Noted {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Noted
    }
}

impl<'de> serde::Deserializer<'de> for FieldNames<'_> {
    type Error = Noted;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Noted> {
        Err(Noted)
    }

    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Noted> {
        *self.0 = fields;
        Err(Noted)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
        byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map
        enum identifier ignored_any
    }
}

/// The `[permissions]` table of a configuration file, read again (SIGHUP).
pub fn permissions_of(path: &Path) -> Result<toml::Table, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::Message(format!("cannot read {}: {e}", path.display())))?;
    Ok(ServeConfig::from_toml(&text, path)?.permissions)
}

pub fn run(g: &GlobalOptions, a: ServeOptions) -> Result<ExitCode, Failure> {
    crate::systemd::Logger::install();
    let config_path = a.config.clone();
    let (config, providers) = ServeConfig::new(g, a)?;
    let policy = openwmi_access::policy_from_config(&config.permissions)
        .map_err(|e| Failure::Message(format!("[permissions]: {e}")))?;
    let reloadable = Arc::new(crate::reload::ReloadablePolicy::new(policy));
    let policy: Arc<dyn openwmi_cimom::AccessPolicy> = reloadable.clone();
    // Each password check allocates argon2's 19 MiB: it must go back when
    // done (on a C library other than glibc this changes nothing).
    openwmi_malloc::return_large_blocks(openwmi_malloc::SERVER_MMAP_THRESHOLD);
    let runtime = openwmi_server::ServerRuntime::new(&config.transport)
        .map_err(|e| Failure::Message(e.to_string()))?;
    let busy_poll = runtime.busy_poll();
    let dispatcher_config = config.dispatcher;
    let wsman_config = config.wsman;
    // WS-Eventing subscriptions count under the same [indications] limits.
    let eventing_limits = {
        let l = config.indications.limits();
        openwmi_wsman::EventingLimits {
            max_per_user: l.per_user,
            max_total: l.total,
            max_queued: config.indications.max_queued_per_destination,
            ..openwmi_wsman::EventingLimits::default()
        }
    };
    let indication_config = openwmi_indications::IndicationConfig::from_section(
        config.indications,
        Some(config.transport.state_dir().join("subscriptions.json")),
    );
    let handler = WhenReady::default();
    let metrics = config.metrics.enabled.then(|| {
        let ready = handler.clone();
        let open = Box::new(move || ready.0.dispatcher.get().map(|d| d.open_enumerations()));
        crate::metrics::service(&providers, &config.metrics, &policy, open)
    });
    runtime.block_on(async move {
        // From the start: SIGHUP's default action would end the server.
        tokio::spawn(crate::reload::on_sighup(config_path, reloadable));
        // Compiling the schema and the --mof files overlaps with binding and
        // with the first logins (an argon2 check is tens of milliseconds):
        // the port accepts at once, requests wait for the object manager.
        let building = tokio::task::spawn_blocking(move || {
            let (mut builder, samba) = crate::local::build_builder_sharing(&providers)?;
            builder.access_policy(policy);
            let indications =
                openwmi_indications::Indications::install(&mut builder, indication_config)
                    .map_err(Failure::Message)?;
            let om = builder.build();
            indications.start(om.clone());
            Ok::<_, Failure>((
                openwmi_wbem::Dispatcher::with_config(om, &dispatcher_config),
                samba,
                indications.event_poller(),
            ))
        });
        let server = openwmi_server::Server::bind(config.transport)
            .await
            .map_err(|e| Failure::Message(e.to_string()))?
            .with_busy_poll(busy_poll);
        let banner = server.banner();
        let cim_xml = Arc::new(openwmi_wbem::CimXml::new(handler.clone()));
        let wsman = openwmi_wsman::WsMan::pending(wsman_config);
        wsman.eventing().set_limits(eventing_limits);
        let mut routes = openwmi_server::Routes::to(cim_xml);
        for path in openwmi_wsman::PATHS {
            routes = routes.route(path, Arc::new(wsman.clone()));
        }
        if let Some(m) = &metrics {
            routes = routes.route(openwmi_metrics::PATH, Arc::new(m.clone()));
        }
        if let Some(m) = &metrics {
            if !config.metrics.listen.is_empty() {
                let local = crate::metrics::local_listener(&config.metrics.listen)
                    .await
                    .map_err(Failure::Message)?;
                let routes = openwmi_server::Routes::default()
                    .route(openwmi_metrics::PATH, Arc::new(m.clone()));
                tokio::spawn(async move {
                    if let Err(e) = local.run(routes, shutdown_signal()).await {
                        tracing::error!(error = %e, "the /metrics listener stopped");
                    }
                });
            }
        }
        let run = server.run(routes, shutdown_signal());
        tokio::pin!(run);
        let (dispatcher, samba, poller) = tokio::select! {
            built = building => built.map_err(|e| Failure::Message(format!("loading: {e}")))??,
            ended = &mut run => {
                // Shut down (a signal) before the object manager was ready.
                ended.map_err(|e| Failure::Message(e.to_string()))?;
                return Ok(ExitCode::SUCCESS);
            }
        };
        if let Some(p) = poller {
            // One snapshot per class for CIM-XML indications and WS-Eventing.
            wsman.eventing().set_poller(p);
        }
        wsman.set_dispatcher(dispatcher.clone());
        handler.set(dispatcher);
        if let Some(m) = &metrics {
            m.0.set_samba(samba);
        }
        // Start-up's code (schema compile, configuration) is not needed
        // again; what requests run comes back at its first use.
        let released = openwmi_malloc::release_startup_code();
        tracing::debug!(bytes = released, "start-up code let go");
        // Up means answering: the banner comes once requests get answers.
        for line in banner {
            println!("{line}");
        }
        crate::systemd::notify("READY=1");
        run.await.map_err(|e| Failure::Message(e.to_string()))?;
        Ok(ExitCode::SUCCESS)
    })
}

/// The CIM handler from the start: answers once the dispatcher is set, and
/// until then makes requests wait (their logins and headers are checked
/// meanwhile).
#[derive(Clone, Default)]
struct WhenReady(Arc<ReadyState>);

#[derive(Default)]
struct ReadyState {
    dispatcher: std::sync::OnceLock<openwmi_wbem::Dispatcher>,
    ready: tokio::sync::Notify,
}

impl WhenReady {
    fn set(&self, d: openwmi_wbem::Dispatcher) {
        let _ = self.0.dispatcher.set(d);
        self.0.ready.notify_waiters();
    }
}

impl openwmi_wbem::CimHandler for WhenReady {
    fn handle(
        &self,
        req: openwmi_wbem::CimRequest,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = openwmi_service::Response> + Send>>
    {
        if let Some(d) = self.0.dispatcher.get() {
            return d.handle(req);
        }
        let state = Arc::clone(&self.0);
        Box::pin(async move {
            loop {
                // Registered before the check, so a `set` in between is not missed.
                let notified = state.ready.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if let Some(d) = state.dispatcher.get() {
                    return d.handle(req).await;
                }
                notified.await;
            }
        })
    }
}

/// Ctrl-C or SIGTERM: stop accepting, finish what is in flight.
async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
    crate::systemd::notify("STOPPING=1");
    eprintln!("shutting down");
}

pub fn passwd(a: &PasswdArgs) -> Result<ExitCode, Failure> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let password = line.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        return Err(Failure::Message(
            "no password on standard input (give it as one line)".into(),
        ));
    }
    let groups = (!a.groups.is_empty()).then_some(a.groups.as_slice());
    openwmi_server::set_user(&a.users_file, &a.user, password, groups)
        .map_err(|e| Failure::Message(e.to_string()))?;
    eprintln!("password for {} set in {}", a.user, a.users_file.display());
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        global: GlobalOptions,
        #[command(flatten)]
        serve: ServeOptions,
    }

    fn message(f: Failure) -> String {
        match f {
            Failure::Message(m) => m,
            _ => panic!("not a message"),
        }
    }

    fn file(text: &str) -> Result<ServeConfig, String> {
        ServeConfig::from_toml(text, Path::new("c.toml")).map_err(message)
    }

    const WHOLE: &str = r#"
        listen = ["127.0.0.1:1234", "[::1]:1234"]
        http = true
        users_file = "/etc/openwmi/users"
        answer_cache_kib = 0
        max_enumerations_per_user = 16
        mof = ["root/cimv2=/x.mof"]
        fstab = "/etc/fstab"
        smb_conf = "/etc/samba/smb.conf"
        [limits]
        max_body_bytes = 1000
        [permissions]
        anything = { goes = "here" }
    "#;

    #[test]
    fn each_part_gets_its_keys_from_one_file() {
        let config = file(WHOLE).unwrap();
        assert_eq!(config.transport.listen.len(), 2);
        assert!(config.transport.http);
        assert_eq!(config.transport.limits.max_body_bytes, 1000);
        assert_eq!(config.dispatcher.answer_cache_kib, 0);
        assert_eq!(config.dispatcher.max_enumerations_per_user, 16);
        assert_eq!(config.providers.mof, vec!["root/cimv2=/x.mof".to_owned()]);
        assert_eq!(config.providers.fstab, Some(PathBuf::from("/etc/fstab")));
        assert!(config.permissions.contains_key("anything"));
        assert_eq!(file("").unwrap(), ServeConfig::default());
        assert_eq!(
            ServeConfig::default().dispatcher.answer_cache_kib,
            openwmi_wbem::DEFAULT_ANSWER_CACHE_KIB
        );
    }

    #[test]
    fn default_listeners_add_the_ws_management_port() {
        let addrs = |args: &[&str]| {
            let mut argv = vec!["openwmi", "--pam"];
            argv.extend_from_slice(args);
            let cli = Cli::try_parse_from(argv).unwrap();
            let (config, _) = ServeConfig::new(&cli.global, cli.serve).unwrap();
            config
                .transport
                .listen
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        };
        assert_eq!(addrs(&[]), ["127.0.0.1:5989", "127.0.0.1:5986"]);
        assert_eq!(addrs(&["--http"]), ["127.0.0.1:5989", "127.0.0.1:5985"]);
        // Listeners given are the listeners.
        assert_eq!(addrs(&["--listen", "127.0.0.1:7000"]), ["127.0.0.1:7000"]);
        let cli = Cli::try_parse_from(["openwmi", "--wsman-identify-unauthenticated"]).unwrap();
        assert!(cli.serve.wsman_identify_unauthenticated);
        let config = file("wsman_identify_unauthenticated = true").unwrap();
        assert!(config.wsman.wsman_identify_unauthenticated);
    }

    #[test]
    fn the_parts_declare_different_keys() {
        let parts = [
            keys::<openwmi_server::ServerConfig>(),
            keys::<openwmi_wbem::DispatcherConfig>(),
            keys::<openwmi_wsman::WsManConfig>(),
            keys::<ProviderInputs>(),
            keys::<PermissionsPart>(),
            keys::<MetricsPart>(),
            keys::<IndicationsPart>(),
        ];
        assert!(parts.iter().all(|p| !p.is_empty()), "{parts:?}");
        let all: Vec<&str> = parts.concat();
        let mut distinct = all.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), all.len(), "{all:?}");
        assert!(all.contains(&"answer_cache_kib") && all.contains(&"busy_poll_us"));
    }

    #[test]
    fn options_override_the_file() {
        let dir = std::env::temp_dir().join(format!("openwmi-serve-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("serve.toml");
        std::fs::write(&path, WHOLE).unwrap();
        let path = path.to_str().unwrap();
        let cli = Cli::try_parse_from([
            "openwmi",
            "--config",
            path,
            "--listen",
            "127.0.0.2:99",
            "--pam",
            "--answer-cache-kib",
            "512",
            "--max-enumerations-per-user",
            "8",
            "--fstab",
            "/other",
        ])
        .unwrap();
        let (config, providers) = ServeConfig::new(&cli.global, cli.serve).unwrap();
        assert_eq!(
            config.transport.listen,
            vec!["127.0.0.2:99".parse().unwrap()]
        );
        assert!(config.transport.pam_enabled());
        assert_eq!(
            config.transport.users_file,
            Some(PathBuf::from("/etc/openwmi/users"))
        );
        assert_eq!(config.dispatcher.answer_cache_kib, 512);
        assert_eq!(config.dispatcher.answer_cache_bytes(), 512 * 1024);
        assert_eq!(config.dispatcher.max_enumerations_per_user, 8);
        assert_eq!(providers.fstab, Some(PathBuf::from("/other")));
        assert_eq!(
            providers.smb_conf,
            Some(PathBuf::from("/etc/samba/smb.conf"))
        );
        assert_eq!(providers.mof, vec!["root/cimv2=/x.mof".to_owned()]);
        let cli =
            Cli::try_parse_from(["openwmi", "--config", path, "--mof", "root/y=/y.mof"]).unwrap();
        let (_, providers) = ServeConfig::new(&cli.global, cli.serve).unwrap();
        assert_eq!(providers.mof, vec!["root/y=/y.mof".to_owned()]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn errors_name_the_file_and_the_position() {
        let err = file("http = true\nlisen = []\n").unwrap_err();
        assert!(err.starts_with("c.toml:"), "{err}");
        assert!(err.contains("line 2, column 1"), "{err}");
        assert!(err.contains("unknown field `lisen`"), "{err}");
        let err = file("http = true\n\nfstab = 3\n").unwrap_err();
        assert!(err.contains("line 3"), "{err}");
        let err = file("answer_cache_kib = \"x\"\n").unwrap_err();
        assert!(err.contains("line 1, column 20"), "{err}");
        let err = file("[permissions]\n[limits]\nmax_bdy = 1\n").unwrap_err();
        assert!(err.contains("line 3") && err.contains("max_bdy"), "{err}");
    }

    #[test]
    fn values_are_checked_part_by_part() {
        let check = |args: &[&str]| {
            let cli = Cli::try_parse_from([&["openwmi"], args].concat()).unwrap();
            ServeConfig::new(&cli.global, cli.serve)
                .map(drop)
                .map_err(message)
        };
        let err = check(&["--answer-cache-kib", "1048577"]).unwrap_err();
        assert_eq!(
            err,
            "invalid configuration: answer_cache_kib must be at most 1048576, not 1048577"
        );
        check(&["--answer-cache-kib", "1048576"]).unwrap();
        let err = check(&["--max-enumerations-per-user", "0"]).unwrap_err();
        assert_eq!(
            err,
            "invalid configuration: max_enumerations_per_user must be from 1 to 1024, not 0"
        );
        let err = check(&["--mof", "nofile"]).unwrap_err();
        assert_eq!(
            err,
            "invalid configuration: mof entry \"nofile\" must be NAMESPACE=FILE"
        );
        let err = check(&["--listen", "0.0.0.0:5988", "--http"]).unwrap_err();
        assert!(err.contains("--allow-insecure"), "{err}");
    }

    /// The packaged configuration shows every key, each with a value the
    /// server takes: uncommented, the file parses and the policy builds.
    #[test]
    fn the_packaged_configuration_names_every_key() {
        let text = include_str!("../debian/openwmi.toml");
        let uncommented: String = text
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest)
                    if rest.starts_with('[')
                        || rest.starts_with("  ")
                        || rest.split_once(" = ").is_some_and(|(k, _)| {
                            k.chars()
                                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                        }) =>
                {
                    format!("{rest}\n")
                }
                _ => "\n".to_owned(),
            })
            .collect();
        let config = file(&uncommented).unwrap();
        openwmi_access::policy_from_config(&config.permissions).unwrap();
        let limits: Vec<&str> = keys::<openwmi_server::Limits>().to_vec();
        let parts = [
            keys::<openwmi_server::ServerConfig>(),
            keys::<openwmi_wbem::DispatcherConfig>(),
            keys::<ProviderInputs>(),
            keys::<openwmi_metrics::MetricsConfig>(),
            keys::<openwmi_indications::IndicationsSection>(),
            &limits,
        ];
        for key in parts.concat() {
            assert!(
                uncommented.contains(&format!("\n{key} = "))
                    || uncommented.contains(&format!("[{key}]")),
                "{key} is missing from debian/openwmi.toml"
            );
        }
    }

    #[test]
    fn the_indications_table_is_read_and_checked() {
        let config = file(
            "[indications]\nallowed_destinations = [\"10.0.0.0/8\", \"http://c.example:5990/\"]\n\
             delivery_retry_attempts = 5\nmax_subscriptions_per_user = 4\n",
        )
        .unwrap();
        assert_eq!(config.indications.allowed_destinations.len(), 2);
        assert_eq!(config.indications.delivery_retry_attempts, 5);
        assert_eq!(config.indications.limits().per_user, 4);
        let err = file("[indications]\nallowed_destinations = [\"10.0.0.0/40\"]\n").unwrap_err();
        assert!(
            err.contains("line 2") && err.contains("prefix length"),
            "{err}"
        );
        let err = file("[indications]\nmax_queue = 1\n").unwrap_err();
        assert!(err.contains("unknown field `max_queue`"), "{err}");
        let dir = std::env::temp_dir().join(format!("openwmi-ind-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("serve.toml");
        std::fs::write(&path, "[indications]\ndelivery_retry_interval_secs = 0\n").unwrap();
        let cli = Cli::try_parse_from(["openwmi", "--config", path.to_str().unwrap()]).unwrap();
        let err = message(ServeConfig::new(&cli.global, cli.serve).unwrap_err());
        assert!(
            err.starts_with("invalid configuration: indications.delivery_retry_interval_secs"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_permissions_table_goes_to_the_policy_as_written() {
        let config = file(
            "[permissions]\n[[permissions.grant]]\nnamespace = '*'\nusers = ['x']\nrights = ['write']\n",
        )
        .unwrap();
        let err = match openwmi_access::policy_from_config(&config.permissions) {
            Ok(_) => panic!("accepted"),
            Err(e) => e.to_string(),
        };
        assert!(err.starts_with("permissions.grant[1].rights: "), "{err}");
    }
}
