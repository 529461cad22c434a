//! Who may read what through `openwmi serve`: the `[permissions]` table of
//! the server configuration, as an [`AccessPolicy`] for the object manager.
//!
//! The object manager asks the policy before every operation touches a
//! namespace, and before it asks any provider for the instances of a class,
//! however the class is reached: enumeration (also of a superclass, so
//! `SELECT * FROM CIM_LogicalElement` reaches `Win32_ServerConnection`),
//! query, association walk, GetInstance. A refusal fails the whole operation
//! with `CIM_ERR_ACCESS_DENIED` (clients report `WBEM_E_ACCESS_DENIED`);
//! nothing is silently left out, so "not allowed" never looks like "none".
//! The local, in-process caller (the CLI, `user = None`) is always allowed.
//!
//! # Rights
//!
//! - `read`: use the namespace (classes, qualifiers, instances of the
//!   unprotected classes).
//! - `sessions`: also read the instances of the *session classes*, by default
//!   [`DEFAULT_SESSION_CLASSES`] (`Win32_ServerConnection`,
//!   `Win32_ServerSession`, `Win32_ConnectionShare`,
//!   `Win32_SessionConnection`): who is connected to which Samba share from
//!   where, which Windows shows to administrators only. `sessions` does not
//!   imply `read`: a user needs both. The default list also holds
//!   `MSFT_SmbSession` and `MSFT_SmbOpenFile` (root/Microsoft/Windows/SMB).
//! - `manage`: call methods (InvokeMethod: close an SMB session, create or
//!   delete a share). Needs `read` on the namespace, and `sessions` for a
//!   method of a session class.
//!
//! # The default (no `[permissions]` table, or an empty one)
//!
//! Every authenticated user has `read` on every namespace; the user `root`
//! and the members of the group `openwmi-admins` ([`ADMIN_GROUP`]) also
//! have `sessions` and `manage`. Written out, the default is:
//!
//! ```toml
//! [permissions]
//! session_classes = ["Win32_ServerConnection", "Win32_ServerSession", "Win32_ConnectionShare", "Win32_SessionConnection", "MSFT_SmbSession", "MSFT_SmbOpenFile"]
//!
//! [[permissions.grant]]
//! namespace = "*"
//! users = ["*"]
//! rights = ["read"]
//!
//! [[permissions.grant]]
//! namespace = "*"
//! users = ["root"]
//! groups = ["openwmi-admins"]
//! rights = ["read", "sessions", "manage"]
//! ```
//!
//! # The format
//!
//! - `session_classes` (optional): the classes that need `sessions`, replacing
//!   the default list (an empty list protects none). Compared
//!   case-insensitively. Only the classes named are protected, not classes an
//!   extra MOF derives from them.
//! - `[[permissions.grant]]` (any number): when at least one is given (or
//!   `grant = []`), the grants **replace** the default grants: the file then
//!   states the whole policy, and whoever no grant names may read nothing.
//!   Each grant has:
//!   - `namespace`: one namespace (`root/cimv2`; `\` and `/` both accepted,
//!     case-insensitive; a grant covers that namespace only, not the ones
//!     below it) or `"*"` for all of them;
//!   - `users`: user names as they log in (`"*"` = every authenticated user);
//!   - `groups`: Unix group names (PAM accounts) or names from the groups
//!     field of the users file; at least one user or group per grant;
//!   - `rights`: a non-empty list of `"read"`, `"sessions"`, `"manage"` (case-insensitive).
//!
//!   A user's rights in a namespace are the union of the grants that match
//!   the namespace and name the user or one of the user's groups. User and
//!   group names compare exactly (Unix names are case-sensitive). A user is
//!   the login name, whichever backend checked it: a users-file entry named
//!   `root` is `root` here too. With `auth = "none"` every request runs as
//!   `anonymous` without groups (so, by default, it reads all but the
//!   session classes).
//! - The interop namespace (`root/interop`) is readable by every user who
//!   has `read` on at least one namespace, with or without a grant for it:
//!   clients such as pywbem find the namespaces and the server's identity
//!   there before doing anything else. It lists the names of all namespaces,
//!   also those the user may not read.
//!
//! Unknown keys and wrong values are errors naming the key, e.g.
//! `permissions.grant[2].rights: unknown right "write" (expected "read",
//! "sessions" or "manage")` (grants are numbered from 1 in file order).
//!
//! A full example: the `wmiusers` group reads root/cimv2, the helpdesk may
//! also see the Samba sessions there; nobody else gets in.
//!
//! ```
//! use openwmi_access::{PermissionPolicy, Right};
//! use openwmi_cimom::{AccessPolicy, OperationContext};
//!
//! let config: toml::Table = r#"
//!     [permissions]
//!     [[permissions.grant]]
//!     namespace = "root/cimv2"
//!     groups = ["wmiusers"]
//!     rights = ["read"]
//!
//!     [[permissions.grant]]
//!     namespace = 'root\cimv2'
//!     users = ["alice"]
//!     groups = ["helpdesk"]
//!     rights = ["read", "sessions"]
//! "#.parse()?;
//! let Some(toml::Value::Table(table)) = config.get("permissions") else { unreachable!() };
//! let policy = PermissionPolicy::from_toml_table(table)?;
//!
//! let bob = OperationContext::for_user("bob", vec!["wmiusers".into()]);
//! assert!(policy.check_class(&bob, "root/cimv2", "Win32_Share").is_ok());
//! let refused = policy.check_class(&bob, "root/cimv2", "Win32_ServerConnection").unwrap_err();
//! assert_eq!(
//!     refused.description,
//!     r#"user "bob" may not read Win32_ServerConnection in root\cimv2: it needs the "sessions" right"#
//! );
//! assert!(policy.check_namespace(&bob, "root/interop").is_ok());
//! assert!(policy.allows("carol", &["helpdesk".into()], "ROOT\\CIMV2", Right::Sessions));
//! let eve = OperationContext::for_user("eve", vec![]);
//! assert!(policy.check_namespace(&eve, "root/cimv2").is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
mod policy;

pub use error::Error;
pub use policy::{PermissionPolicy, Right, ADMIN_GROUP, ADMIN_USER, DEFAULT_SESSION_CLASSES};

use openwmi_cimom::AccessPolicy;
use std::sync::Arc;

/// The policy for the `[permissions]` table of the server configuration
/// (`ServerConfig::permissions.table`); an empty table gives the default.
pub fn policy_from_config(table: &toml::Table) -> Result<Arc<dyn AccessPolicy>, Error> {
    Ok(Arc::new(PermissionPolicy::from_toml_table(table)?))
}
