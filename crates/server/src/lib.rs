//! The network side of `openwmi serve`: HTTP/1.1 over TLS (rustls, ring) or,
//! on loopback, plain HTTP; HTTP Basic authentication against a password
//! file and/or PAM; resource limits. The CIM-XML body is not looked at here:
//! authenticated CIM requests go to a [`CimHandler`].
//!
//! What a request goes through, in order:
//! 1. `Content-Length` above `limits.max_body_bytes`: `413`, body never read.
//! 2. Credentials (every request, unless `auth = "none"`): none or wrong ->
//!    `401` + `WWW-Authenticate: Basic realm="openwmi"`; after
//!    `limits.max_auth_failures` failures from one address -> `429` for
//!    `limits.auth_lockout_secs`. Successful checks are cached
//!    `limits.auth_cache_ttl_secs` (default 60 s) keyed by a salted SHA-256 of
//!    the credentials; then PAM runs again, while argon2 runs again only if
//!    the user's entry in the users file has a different hash (the same hash
//!    would give the same verdict).
//! 3. Method `POST` or `M-POST` (else `405`), path `/cimom` or `/`, header
//!    `CIMOperation: MethodCall` (for M-POST `NN-CIMOperation` with `NN` from
//!    `Man: http://www.dmtf.org/cim/mapping/http/v1.0; ns=NN`), else `400`
//!    with `CIMError: request-not-valid`; `CIMBatch` -> `501`
//!    `multiple-requests-unsupported`; `CIMProtocolVersion` other than 1.x ->
//!    `501` `unsupported-protocol-version`.
//! 4. Body read within `limits.body_read_timeout_secs` (else `408`, close).
//! 5. The handler, within `limits.request_timeout_secs` (else `504`, close).
//!
//! Connections: at most `limits.max_connections` (one more gets `503` on
//! HTTP, is closed on HTTPS); a request head must arrive within
//! `limits.header_read_timeout_secs` of its first byte, a connection idle
//! for `limits.idle_timeout_secs` is closed; heads above
//! `limits.max_header_bytes` get `431`.

mod auth;
mod busy_poll;
mod config;
mod conn;
mod error;
mod http;
mod pam_backend;
mod runtime;
mod server;
mod tls;
mod users_file;

pub use auth::AuthenticatedUser;
pub use busy_poll::BusyPoll;
pub use config::{
    AuthMode, Limits, PermissionsConfig, ProviderInputs, ServeArgs, ServerConfig,
    DEFAULT_BUSY_POLL_US, DEFAULT_LISTEN,
};
pub use error::ServerError;
pub use http::{BodyPart, CimHandler, CimRequest, CimResponse, CimResponseBody};
pub use runtime::ServerRuntime;
pub use server::{serve, Server};
pub use tls::fingerprint;
pub use users_file::{passwd, set_user};

/// Hashes a password the way [`passwd`] does (argon2id PHC string), for
/// tools that write users files themselves.
pub fn hash_password(password: &str) -> Result<String, ServerError> {
    users_file::hash_password(password)
}
