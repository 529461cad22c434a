//! The network side of `openwmi serve`: HTTP/1.1 over TLS (rustls, ring) or,
//! on loopback, plain HTTP; HTTP Basic authentication against a password
//! file and/or PAM; resource limits. Nothing here knows CIM: authenticated
//! requests go to the [`Service`] their path is routed to ([`Routes`]; the
//! types of the seam are in `openwmi-service`).
//!
//! What a request goes through, in order:
//! 1. `Content-Length` above `limits.max_body_bytes`: `413`, body never read.
//! 2. Credentials (every request, unless `auth = "none"`): none or wrong ->
//!    `401` + `WWW-Authenticate: Basic realm="openwmi"`; after
//!    `limits.max_auth_failures` failures from one client (an IPv4 address,
//!    an IPv6 `limits.ipv6_prefix_len` prefix) -> `429` for
//!    `limits.auth_lockout_secs`, guesses already queued for a check
//!    included; only credentials in the login cache are still served, and
//!    not after `max_auth_failures` more guesses. Successful checks are cached
//!    `limits.auth_cache_ttl_secs` (default 60 s) keyed by a salted SHA-256 of
//!    the credentials; then PAM runs again, while argon2 runs again only if
//!    the user's entry in the users file has a different hash (the same hash
//!    would give the same verdict).
//! 3. The route: the service of the request's path (no service: `404`),
//!    whose [`Service::check`] may answer from the head alone (the CIM-XML
//!    front-end's DSP0200 checks: method, path, `CIMOperation`, ...).
//! 4. Body read within `limits.body_read_timeout_secs` (else `408`, close).
//! 5. The service, within `limits.request_timeout_secs` (else `504`, close).
//!    Its response goes out as it is.
//!
//! Connections: at most `limits.max_connections` (one more gets `503` on
//! HTTP, is closed on HTTPS), at most `limits.max_connections_per_address`
//! of them from one client; a connection that sends nothing is closed after
//! `limits.first_byte_timeout_secs`; a request head must arrive within
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
mod routes;
mod runtime;
mod server;
mod stats;
mod tls;
mod users_file;

pub use busy_poll::BusyPoll;
pub use config::{AuthMode, Limits, ServeArgs, ServerConfig, DEFAULT_BUSY_POLL_US, DEFAULT_LISTEN};
pub use error::ServerError;
pub use openwmi_service::{AuthenticatedUser, Service};
pub use routes::Routes;
pub use runtime::ServerRuntime;
pub use server::{serve, PasswordChecks, Server};
pub use stats::{transport_counts, RouteCounts, TransportCounts, LATENCY_BUCKETS};
pub use tls::fingerprint;
pub use users_file::{passwd, set_user};

/// Hashes a password the way [`passwd`] does (argon2id PHC string), for
/// tools that write users files themselves.
pub fn hash_password(password: &str) -> Result<String, ServerError> {
    users_file::hash_password(password)
}
