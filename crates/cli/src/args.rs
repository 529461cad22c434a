//! Command-line arguments. The names here are promises to users and scripts:
//! add freely, never rename.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

const AFTER_HELP: &str = "\
Examples:
  openwmi query \"SELECT * FROM Win32_ServerConnection\"
  openwmi query -o wmic \"SELECT Name, Path FROM Win32_Share\"
  openwmi get 'Win32_Share.Name=\"public\"'
  openwmi query 'ASSOCIATORS OF {Win32_Share.Name=\"public\"} WHERE AssocClass=Win32_ConnectionShare'
  openwmi class Win32_NetworkConnection
  openwmi query -r https://winhost:5986/wsman -U Administrator \"SELECT * FROM Win32_Service\"
  openwmi serve --http --listen 127.0.0.1:5988 --users-file /etc/openwmi/users

Exit codes:
  0  success
  1  the operation failed; stderr names the WBEM error and its code,
     e.g. error: WBEM_E_INVALID_CLASS (0x80041010): no class Win32_Foo in root\\cimv2
  2  the command line is wrong (usage error)";

/// WMI for Linux: ask this machine (or another running `openwmi serve`) who is
/// connected to its shares, which network file systems it uses, and more,
/// with the classes, keys and error codes of Windows WMI.
#[derive(Debug, Parser)]
#[command(name = "openwmi", version, about, after_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOptions,
    #[command(subcommand)]
    pub command: Command,
}

/// Options that shape the local object manager; accepted before or after the subcommand.
#[derive(Debug, Args, Clone, Default)]
pub struct GlobalOptions {
    /// Load the classes and instances of a MOF file into a namespace (created if
    /// needed), on top of the bundled schema. Repeatable. Example: --mof root/test=shares.mof
    #[arg(long = "mof", value_name = "NAMESPACE=FILE", global = true)]
    pub mof: Vec<String>,
    /// The smb.conf that Samba uses (passed to smbstatus and testparm with -s).
    #[arg(long = "smb-conf", value_name = "FILE", global = true)]
    pub smb_conf: Option<PathBuf>,
    /// The smbstatus command to run [default: smbstatus on PATH].
    #[arg(long = "smbstatus", value_name = "PATH", global = true)]
    pub smbstatus: Option<PathBuf>,
    /// The testparm command to run [default: testparm on PATH].
    #[arg(long = "testparm", value_name = "PATH", global = true)]
    pub testparm: Option<PathBuf>,
    /// Read mounts from this file instead of /proc/self/mountinfo.
    #[arg(long = "mountinfo", value_name = "FILE", global = true)]
    pub mountinfo: Option<PathBuf>,
    /// Read remembered network mounts from this file instead of /etc/fstab.
    #[arg(long = "fstab", value_name = "FILE", global = true)]
    pub fstab: Option<PathBuf>,
    /// How old (in seconds) a Samba snapshot may be before it is read again.
    #[arg(long = "freshness", value_name = "SECONDS", global = true)]
    pub freshness: Option<f64>,
    /// Give up on smbstatus/testparm after this many seconds.
    #[arg(long = "source-timeout", value_name = "SECONDS", global = true)]
    pub source_timeout: Option<f64>,
    /// The most output (in MiB) read from smbstatus or testparm; a class whose source prints
    /// more fails and names the limit [default: 64].
    #[arg(long = "source-max-output", value_name = "MIB", global = true)]
    pub source_max_output: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print a class as MOF (or JSON), with its qualifiers and the properties it inherits.
    Class(ClassArgs),
    /// List class names, the direct subclasses of SUPERCLASS (or all with --deep).
    Classes(ClassesArgs),
    /// Compile MOF files and print what they hold; errors name file, line and column.
    Mof(MofArgs),
    /// Run a WQL query: SELECT, ASSOCIATORS OF or REFERENCES OF.
    Query(QueryArgs),
    /// Get one instance by its object path, e.g. 'Win32_Share.Name="public"'.
    Get(GetArgs),
    /// Call a method: `call PATH METHOD [Name=Value ...]`, e.g. `call Win32_Share Create
    /// Path=/srv/x Name=x Type=0`; prints ReturnValue and the output parameters.
    Call(crate::call::CallArgs),
    /// Print events as they happen: a WQL event query, e.g. "SELECT * FROM
    /// __InstanceCreationEvent WITHIN 5 WHERE TargetInstance ISA 'Win32_ServerConnection'".
    Watch(WatchArgs),
    /// Serve CIM-XML over HTTPS to WBEM clients (pywbem, wbemcli, openwmi -r).
    Serve(Box<crate::serve::ServeOptions>),
    /// Add a user to a password file for `serve --users-file`, or change their password.
    /// The password is read from standard input (one line).
    Passwd(PasswdArgs),
    /// Judge the instance count of a WQL query, or a property of each instance, against
    /// -w/-c ranges, as a monitoring plugin (Nagios, Icinga): exit 0 OK, 1 WARNING,
    /// 2 CRITICAL, 3 UNKNOWN.
    Check(Box<crate::check::CheckArgs>),
    /// Write the man pages and shell completions (for packaging).
    #[command(hide = true)]
    GenerateAssets(crate::assets::AssetsArgs),
}

/// Output formats of instance results.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum OutputFormat {
    /// Aligned columns (the default on a terminal).
    Table,
    /// `Prop=Value` lines, a blank line between instances (like `wmic ... list full`).
    List,
    /// A JSON array of objects with the properties plus __CLASS, __PATH and __NAMESPACE.
    Json,
    /// Comma-separated values with a header row.
    Csv,
    /// `instance of Class { ... };`
    Mof,
    /// The Linux `wmic` client format monitoring plugins parse (`CLASS:` line, `|`-joined header).
    Wmic,
}

/// Output formats of class results.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq, Default)]
pub enum ClassFormat {
    #[default]
    Mof,
    Json,
}

/// Output formats of `mof`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq, Default)]
pub enum SummaryFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct NamespaceArg {
    /// The namespace, `root\cimv2` or `root/cimv2`.
    #[arg(short = 'n', long = "namespace", default_value = "root\\cimv2")]
    pub namespace: String,
}

#[derive(Debug, Args)]
pub struct ClassArgs {
    #[command(flatten)]
    pub ns: NamespaceArg,
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = ClassFormat::Mof)]
    pub output: ClassFormat,
    /// Only what the class itself declares (no inherited properties).
    #[arg(long)]
    pub local_only: bool,
    /// The class name, e.g. Win32_Share.
    pub class: String,
}

#[derive(Debug, Args)]
pub struct ClassesArgs {
    #[command(flatten)]
    pub ns: NamespaceArg,
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// List all descendants, not only direct subclasses.
    #[arg(long)]
    pub deep: bool,
    /// Output format: one name per line (text) or a JSON array.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = SummaryFormat::Text)]
    pub output: SummaryFormat,
    /// Start below this class (default: the root classes).
    pub superclass: Option<String>,
}

#[derive(Debug, Args)]
pub struct MofArgs {
    /// Directories searched for `#pragma include` files (after the including file's own directory).
    #[arg(short = 'I', long = "include", value_name = "DIR")]
    pub include: Vec<PathBuf>,
    /// The namespace declarations go to until a `#pragma namespace`.
    #[arg(short = 'n', long = "namespace", default_value = "root\\cimv2")]
    pub namespace: String,
    /// Compile on top of the bundled schema (so its classes can be used as superclasses).
    #[arg(long)]
    pub with_schema: bool,
    /// Output format of the summary.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = SummaryFormat::Text)]
    pub output: SummaryFormat,
    /// MOF files to compile, in order.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct InstanceOutput {
    /// Output format [default: table on a terminal, list otherwise].
    #[arg(short = 'o', long = "output", value_enum)]
    pub output: Option<OutputFormat>,
    /// The field separator of the wmic format.
    #[arg(long = "delimiter", default_value = "|")]
    pub delimiter: String,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    #[command(flatten)]
    pub ns: NamespaceArg,
    #[command(flatten)]
    pub out: InstanceOutput,
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// The query language; only WQL is supported.
    #[arg(long = "language", default_value = "WQL")]
    pub language: String,
    /// The WQL query.
    pub wql: String,
}

/// `watch`: a WQL event query on this machine.
#[derive(Debug, Args)]
#[command(after_help = WATCH_HELP)]
pub struct WatchArgs {
    #[command(flatten)]
    pub ns: NamespaceArg,
    #[command(flatten)]
    pub out: InstanceOutput,
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// The query language; only WQL is supported.
    #[arg(long = "language", default_value = "WQL")]
    pub language: String,
    /// Stop after this many events.
    #[arg(long = "count", value_name = "N")]
    pub count: Option<u64>,
    /// Stop after this many seconds (exit status 0).
    #[arg(long = "timeout", value_name = "SECONDS")]
    pub timeout: Option<f64>,
    /// With -r: the address:port of this machine the server delivers the
    /// events to (CIM-XML ExportIndication over http). A subscription is made
    /// on the server for the run and removed at exit, Ctrl-C included.
    #[arg(long = "listener", value_name = "ADDRESS:PORT")]
    pub listener: Option<String>,
    /// The WQL event query: SELECT ... FROM __InstanceCreationEvent |
    /// __InstanceDeletionEvent | __InstanceModificationEvent |
    /// __InstanceOperationEvent WITHIN seconds WHERE TargetInstance ISA 'Class' [AND ...]
    /// [GROUP WITHIN seconds [BY TargetInstance.Prop] [HAVING NumberOfEvents > n]].
    pub wql: String,
}

const WATCH_HELP: &str = "\
Each event is a row: __CLASS (the event class), TIME_CREATED (100 ns units
since 1601, UTC), TargetInstance (the instance's path), its properties as
TargetInstance.Name, and PreviousInstance.* for a modification. The class is
read every WITHIN seconds and compared with the last read: an instance that
appeared, went away, or has any property changed is an event. ActiveTime of
Win32_ServerConnection and Win32_ServerSession counts seconds, so every
connection is modified at every read: pick the change you want with
constants (TargetInstance.NumberOfFiles > 0 AND PreviousInstance.NumberOfFiles
= 0), or watch creations and deletions only.

Examples:
  openwmi watch \"SELECT * FROM __InstanceCreationEvent WITHIN 5 WHERE TargetInstance ISA 'Win32_ServerConnection'\"
  openwmi watch -o json --count 1 \"SELECT TargetInstance.UserName FROM __InstanceDeletionEvent WITHIN 2 WHERE TargetInstance ISA 'Win32_ServerSession'\"
  openwmi watch --timeout 600 \"SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA 'Win32_ServerConnection' GROUP WITHIN 60 BY TargetInstance.ShareName HAVING NumberOfEvents > 10\"

Exit codes: 0 when --count, --timeout or Ctrl-C ends it; 1 when the query
is refused (e.g. WBEM_E_INVALID_QUERY without WITHIN, WBEM_E_INVALID_CLASS for
an unknown class); 2 for a usage error.";

#[derive(Debug, Args)]
pub struct GetArgs {
    #[command(flatten)]
    pub ns: NamespaceArg,
    #[command(flatten)]
    pub out: InstanceOutput,
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// The object path: `Win32_Share.Name="public"`, `\\.\root\cimv2:Win32_Share="public"`,
    /// or a class name for its definition.
    pub path: String,
}

#[derive(Debug, Args)]
pub struct PasswdArgs {
    /// The password file (created if missing; mode 0600).
    #[arg(long = "users-file", value_name = "FILE")]
    pub users_file: PathBuf,
    /// The user's groups, for `[permissions]` (comma-separated, e.g.
    /// openwmi-admins to see the Samba session classes). Replaces the groups
    /// the file had for the user; without it they are kept.
    #[arg(long = "groups", value_delimiter = ',')]
    pub groups: Vec<String>,
    /// The user to add or change.
    pub user: String,
}

/// Where to connect: the ConnectServer parameters of `query`, `get`, `class`
/// and `classes`. Without `-r` and `--hosts` the command connects to the
/// `-n` namespace of this machine (in-process) and reads none of the others.
#[derive(Debug, Args, Clone, Default)]
pub struct RemoteArgs {
    /// The namespace resource, local or remote: `root\cimv2`, `\\.\root\cimv2`,
    /// `\\HOST\root\cimv2`, `//HOST:5989/root/cimv2`, `\\[::1]\root\cimv2`,
    /// `https://HOST/root/cimv2`; a bare `HOST` or `\\HOST` gets the -n namespace
    /// (`root` alone is the local namespace root). `.`, `localhost`, the
    /// loopback addresses and this machine's name, without a port, are local.
    /// Repeat to run the same request on several hosts at once.
    #[arg(short = 'r', long = "resource", value_name = "RESOURCE")]
    pub resource: Vec<String>,
    /// A file of resources or host names, one per line (# comments), for a
    /// multi-host run: every result row is tagged with its host, a failing
    /// host is reported as `HOST: error: WBEM_...` without stopping the
    /// others, and the exit status is 0 only if every host succeeded (1 if
    /// any failed). A multi-host run bounds each connection to 120 s unless
    /// --max-wait says otherwise.
    #[arg(long = "hosts", value_name = "FILE")]
    pub hosts: Option<PathBuf>,
    /// The user: `user`, `DOMAIN\user` or `user@domain` (sent with HTTP Basic).
    #[arg(short = 'U', long = "user", value_name = "USER")]
    pub user: Option<String>,
    /// Read the password from the first line of standard input
    /// (otherwise from the OPENWMI_PASSWORD environment variable).
    #[arg(long = "password-stdin")]
    pub password_stdin: bool,
    /// `Kerberos:PRINCIPAL` or `NTLMDOMAIN:DOMAIN`.
    #[arg(long = "authority", value_name = "AUTHORITY")]
    pub authority: Option<String>,
    /// The locale, `MS_409` style (hexadecimal LCID).
    #[arg(long = "locale", value_name = "MS_xxx")]
    pub locale: Option<String>,
    /// Give up connecting after this many seconds (WBEM_FLAG_CONNECT_USE_MAX_WAIT,
    /// whose default bound is 120); also bounds each request after that.
    /// Without it a single-host connection waits as long as it takes.
    #[arg(long = "max-wait", value_name = "SECONDS")]
    pub max_wait: Option<f64>,
    /// Use plain HTTP (port 5988) instead of HTTPS.
    #[arg(long = "http")]
    pub http: bool,
    /// Trust this CA (PEM) for the server's certificate.
    #[arg(long = "ca-cert", value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Do not verify the server's certificate.
    #[arg(long = "insecure")]
    pub insecure: bool,
    /// How many hosts to query at once in a multi-host run.
    #[arg(long = "concurrency", value_name = "N", default_value_t = 16)]
    pub concurrency: usize,
    /// The remote protocol: cimxml (CIM-XML, `openwmi serve`, pywbem servers;
    /// ports 5989/5988) or wsman (WS-Management: Windows' WinRM and `openwmi
    /// serve`; ports 5986/5985, HTTP Basic only). Default: wsman for a URL
    /// whose path is /wsman (`-r https://HOST:5986/wsman`), else cimxml.
    #[arg(long = "protocol", value_enum, value_name = "PROTOCOL")]
    pub protocol: Option<ProtocolArg>,
}

/// `--protocol` values.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ProtocolArg {
    Cimxml,
    Wsman,
}

impl RemoteArgs {
    /// True when this invocation asks for anything beyond the local machine's in-process manager.
    pub fn is_remote_request(&self) -> bool {
        !self.resource.is_empty() || self.hosts.is_some()
    }
}
