use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Everything that can go wrong while configuring, starting or running the server.
///
/// Messages never contain credentials.
#[derive(Debug)]
#[non_exhaustive]
pub enum ServerError {
    /// The configuration is inconsistent or a value is out of range.
    Config(String),
    /// The configuration file could not be read or parsed.
    ConfigFile { path: PathBuf, message: String },
    /// Plain HTTP was asked for on an address other than loopback without `allow_insecure`.
    InsecureHttp { addr: SocketAddr },
    /// A listening socket could not be opened.
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// Certificate or key loading/generation failed.
    Tls {
        path: Option<PathBuf>,
        message: String,
    },
    /// The users file is malformed.
    UsersFile {
        path: PathBuf,
        line: usize,
        message: String,
    },
    /// A user name or password given to [`crate::passwd`] is not acceptable.
    InvalidUser(String),
    /// Any other I/O failure, with what was being done.
    Io {
        context: String,
        source: std::io::Error,
    },
}

impl ServerError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        ServerError::Io {
            context: context.into(),
            source,
        }
    }
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerError::Config(m) => write!(f, "invalid configuration: {m}"),
            ServerError::ConfigFile { path, message } => {
                write!(f, "{}: {message}", path.display())
            }
            ServerError::InsecureHttp { addr } => write!(
                f,
                "refusing to serve plain HTTP on {addr}: it is not a loopback address and \
                 credentials would travel in clear text; use TLS, or pass --allow-insecure \
                 (allow_insecure = true) if the network is trusted"
            ),
            ServerError::Bind { addr, source } => write!(f, "cannot listen on {addr}: {source}"),
            ServerError::Tls {
                path: Some(p),
                message,
            } => write!(f, "{}: {message}", p.display()),
            ServerError::Tls {
                path: None,
                message,
            } => write!(f, "TLS: {message}"),
            ServerError::UsersFile {
                path,
                line,
                message,
            } => {
                write!(f, "{}:{line}: {message}", path.display())
            }
            ServerError::InvalidUser(m) => write!(f, "{m}"),
            ServerError::Io { context, source } => write!(f, "{context}: {source}"),
        }
    }
}

impl std::error::Error for ServerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ServerError::Bind { source, .. } | ServerError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
