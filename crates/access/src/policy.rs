//! The permission policy: grants of rights to users and groups per
//! namespace, read from the `[permissions]` table.

use std::fmt;

use openwmi_cim::{normalize_namespace, CimError};
use openwmi_cimom::interop::INTEROP_NAMESPACE;
use openwmi_cimom::{display_ns, AccessPolicy, OperationContext};

use crate::Error;

/// The group whose members (with the user `root`) get the `sessions` right
/// under the default policy.
pub const ADMIN_GROUP: &str = "openwmi-admins";

/// The user who gets the `sessions` right under the default policy.
pub const ADMIN_USER: &str = "root";

/// The classes that need the `sessions` right unless `session_classes`
/// says otherwise: Samba's live sessions and tree connects, which Windows
/// shows to administrators only.
pub const DEFAULT_SESSION_CLASSES: [&str; 6] = [
    "Win32_ServerConnection",
    "Win32_ServerSession",
    "Win32_ConnectionShare",
    "Win32_SessionConnection",
    "MSFT_SmbSession",
    "MSFT_SmbOpenFile",
];

/// A right a grant gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Right {
    /// Use the namespace: its classes, qualifiers and the instances of its
    /// unprotected classes.
    Read,
    /// Read the instances of the session classes (in addition to `Read`).
    Sessions,
    /// Call methods (InvokeMethod): close sessions, create and delete
    /// shares. Needs `Read` on the namespace too.
    Manage,
}

impl Right {
    const ALL: [Right; 3] = [Right::Read, Right::Sessions, Right::Manage];

    /// The spelling in the configuration: `read`, `sessions`, `manage`.
    pub fn as_str(self) -> &'static str {
        match self {
            Right::Read => "read",
            Right::Sessions => "sessions",
            Right::Manage => "manage",
        }
    }

    fn bit(self) -> u8 {
        match self {
            Right::Read => 1,
            Right::Sessions => 2,
            Right::Manage => 4,
        }
    }

    fn parse(text: &str) -> Option<Right> {
        Right::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(text))
    }
}

impl fmt::Display for Right {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which namespaces a grant covers.
#[derive(Debug, Clone, PartialEq, Eq)]
enum NamespacePattern {
    /// `"*"`: every namespace.
    Any,
    /// One namespace, `/`-separated as written (case kept for printing).
    One(String),
}

impl NamespacePattern {
    fn matches(&self, namespace: &str) -> bool {
        match self {
            NamespacePattern::Any => true,
            NamespacePattern::One(name) => same_namespace(name, namespace),
        }
    }

    fn as_str(&self) -> &str {
        match self {
            NamespacePattern::Any => "*",
            NamespacePattern::One(name) => name,
        }
    }
}

/// Namespace names compare case-insensitively, `\` and `/` alike.
fn same_namespace(a: &str, b: &str) -> bool {
    let segments = |s: &str| {
        s.trim_matches(['/', '\\'])
            .split(['/', '\\'])
            .map(str::to_ascii_lowercase)
            .collect::<Vec<_>>()
    };
    segments(a) == segments(b)
}

/// Who a grant is for.
const EVERYBODY: &str = "*";

#[derive(Debug, Clone, PartialEq, Eq)]
struct Grant {
    namespace: NamespacePattern,
    /// User names; `*` is every authenticated user.
    users: Vec<String>,
    groups: Vec<String>,
    rights: Vec<Right>,
}

impl Grant {
    fn applies_to(&self, user: &str, groups: &[String]) -> bool {
        self.users.iter().any(|u| u == EVERYBODY || u == user)
            || self.groups.iter().any(|g| groups.contains(g))
    }

    fn bits(&self) -> u8 {
        self.rights.iter().fold(0, |acc, r| acc | r.bit())
    }
}

/// Who may read what: the [`AccessPolicy`] of `openwmi serve`, built from
/// the `[permissions]` table (see the crate documentation for the format and
/// the default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionPolicy {
    grants: Vec<Grant>,
    /// As configured (printed as is, compared case-insensitively).
    session_classes: Vec<String>,
}

impl Default for PermissionPolicy {
    /// Every authenticated user reads every namespace; `root` and the members
    /// of [`ADMIN_GROUP`] also read the session classes.
    fn default() -> Self {
        PermissionPolicy {
            grants: default_grants(),
            session_classes: DEFAULT_SESSION_CLASSES.map(String::from).to_vec(),
        }
    }
}

fn default_grants() -> Vec<Grant> {
    vec![
        Grant {
            namespace: NamespacePattern::Any,
            users: vec![EVERYBODY.into()],
            groups: Vec::new(),
            rights: vec![Right::Read],
        },
        Grant {
            namespace: NamespacePattern::Any,
            users: vec![ADMIN_USER.into()],
            groups: vec![ADMIN_GROUP.into()],
            rights: vec![Right::Read, Right::Sessions, Right::Manage],
        },
    ]
}

impl PermissionPolicy {
    /// Reads the contents of a `[permissions]` table (the table itself, not
    /// the whole configuration). An empty table gives the default policy;
    /// `grant` entries, when present, replace the default grants entirely.
    pub fn from_toml_table(table: &toml::Table) -> Result<Self, Error> {
        let mut policy = PermissionPolicy::default();
        for (key, value) in table {
            match key.as_str() {
                "session_classes" => {
                    let path = "permissions.session_classes";
                    let classes = string_list(path, value)?;
                    for class in &classes {
                        check_class_name(path, class)?;
                    }
                    policy.session_classes = classes;
                }
                "grant" => {
                    let toml::Value::Array(items) = value else {
                        return Err(Error::invalid(
                            "permissions.grant",
                            format!(
                                "expected [[permissions.grant]] tables, found {}",
                                value.type_str()
                            ),
                        ));
                    };
                    policy.grants = items
                        .iter()
                        .enumerate()
                        .map(|(i, item)| {
                            parse_grant(&format!("permissions.grant[{}]", i + 1), item)
                        })
                        .collect::<Result<_, _>>()?;
                }
                other => {
                    return Err(Error::invalid(
                        format!("permissions.{other}"),
                        "unknown key (expected session_classes or grant)",
                    ))
                }
            }
        }
        Ok(policy)
    }

    /// Whether `user` (a member of `groups`) holds `right` in `namespace`
    /// through some grant. The interop rule of [`AccessPolicy::check_namespace`]
    /// is not applied here.
    pub fn allows(&self, user: &str, groups: &[String], namespace: &str, right: Right) -> bool {
        self.rights_in(user, groups, namespace) & right.bit() != 0
    }

    /// Whether reading the instances of `class` needs the `sessions` right.
    pub fn is_session_class(&self, class: &str) -> bool {
        self.session_classes
            .iter()
            .any(|c| c.eq_ignore_ascii_case(class))
    }

    fn rights_in(&self, user: &str, groups: &[String], namespace: &str) -> u8 {
        self.grants
            .iter()
            .filter(|g| g.namespace.matches(namespace) && g.applies_to(user, groups))
            .fold(0, |acc, g| acc | g.bits())
    }

    fn reads_somewhere(&self, user: &str, groups: &[String]) -> bool {
        self.grants
            .iter()
            .any(|g| g.rights.contains(&Right::Read) && g.applies_to(user, groups))
    }
}

impl AccessPolicy for PermissionPolicy {
    /// `read` on the namespace. The interop namespace is also open to whoever
    /// reads some namespace: clients (pywbem) find the namespaces there.
    fn check_namespace(&self, ctx: &OperationContext, namespace: &str) -> Result<(), CimError> {
        let Some(user) = ctx.user.as_deref() else {
            return Ok(());
        };
        if self.allows(user, &ctx.groups, namespace, Right::Read)
            || (same_namespace(namespace, INTEROP_NAMESPACE)
                && self.reads_somewhere(user, &ctx.groups))
        {
            return Ok(());
        }
        Err(CimError::access_denied(format!(
            "user {user:?} may not read namespace {}",
            display_ns(namespace)
        )))
    }

    /// The namespace check, and `sessions` for the session classes.
    fn check_class(
        &self,
        ctx: &OperationContext,
        namespace: &str,
        class: &str,
    ) -> Result<(), CimError> {
        self.check_namespace(ctx, namespace)?;
        let Some(user) = ctx.user.as_deref() else {
            return Ok(());
        };
        if self.is_session_class(class)
            && !self.allows(user, &ctx.groups, namespace, Right::Sessions)
        {
            return Err(CimError::access_denied(format!(
                "user {user:?} may not read {class} in {}: it needs the \"sessions\" right",
                display_ns(namespace)
            )));
        }
        Ok(())
    }

    /// The namespace check, `sessions` for the session classes, and
    /// `manage` for every method.
    fn check_method(
        &self,
        ctx: &OperationContext,
        namespace: &str,
        class: &str,
        method: &str,
    ) -> Result<(), CimError> {
        self.check_class(ctx, namespace, class)?;
        let Some(user) = ctx.user.as_deref() else {
            return Ok(());
        };
        if !self.allows(user, &ctx.groups, namespace, Right::Manage) {
            return Err(CimError::access_denied(format!(
                "user {user:?} may not call {class}.{method} in {}: it needs the \"manage\" right",
                display_ns(namespace)
            )));
        }
        Ok(())
    }
}

impl fmt::Display for PermissionPolicy {
    /// The policy as a `[permissions]` table that reads back to the same policy.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "[permissions]")?;
        write!(f, "session_classes = ")?;
        write_list(f, self.session_classes.iter().map(String::as_str))?;
        writeln!(f)?;
        if self.grants.is_empty() {
            // Without it the table would read back as the default grants.
            writeln!(f, "grant = []")?;
        }
        for grant in &self.grants {
            writeln!(f, "\n[[permissions.grant]]")?;
            write!(f, "namespace = ")?;
            write_string(f, grant.namespace.as_str())?;
            writeln!(f)?;
            if !grant.users.is_empty() {
                write!(f, "users = ")?;
                write_list(f, grant.users.iter().map(String::as_str))?;
                writeln!(f)?;
            }
            if !grant.groups.is_empty() {
                write!(f, "groups = ")?;
                write_list(f, grant.groups.iter().map(String::as_str))?;
                writeln!(f)?;
            }
            write!(f, "rights = ")?;
            write_list(f, grant.rights.iter().map(|r| r.as_str()))?;
            writeln!(f)?;
        }
        Ok(())
    }
}

fn write_list<'a>(f: &mut fmt::Formatter<'_>, items: impl Iterator<Item = &'a str>) -> fmt::Result {
    f.write_str("[")?;
    for (i, item) in items.enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write_string(f, item)?;
    }
    f.write_str("]")
}

/// A TOML basic string.
fn write_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            c if c.is_control() => write!(f, "\\u{:04X}", c as u32)?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
}

fn parse_grant(path: &str, value: &toml::Value) -> Result<Grant, Error> {
    let toml::Value::Table(table) = value else {
        return Err(Error::invalid(
            path,
            format!("expected a table, found {}", value.type_str()),
        ));
    };
    let mut namespace = None;
    let mut users = Vec::new();
    let mut groups = Vec::new();
    let mut rights = None;
    for (key, value) in table {
        let key_path = format!("{path}.{key}");
        match key.as_str() {
            "namespace" => {
                let toml::Value::String(text) = value else {
                    return Err(Error::invalid(
                        key_path,
                        format!("expected a string, found {}", value.type_str()),
                    ));
                };
                namespace = Some(parse_namespace(&key_path, text)?);
            }
            "users" => {
                users = string_list(&key_path, value)?;
                for user in &users {
                    check_principal(&key_path, user)?;
                }
            }
            "groups" => {
                groups = string_list(&key_path, value)?;
                for group in &groups {
                    if group == EVERYBODY {
                        return Err(Error::invalid(
                            key_path,
                            "\"*\" is not a group; write users = [\"*\"] for every user",
                        ));
                    }
                    check_principal(&key_path, group)?;
                }
            }
            "rights" => {
                let mut parsed = Vec::new();
                for name in string_list(&key_path, value)? {
                    let right = Right::parse(&name).ok_or_else(|| {
                        Error::invalid(
                            &key_path,
                            format!("unknown right {name:?} (expected \"read\", \"sessions\" or \"manage\")"),
                        )
                    })?;
                    if !parsed.contains(&right) {
                        parsed.push(right);
                    }
                }
                if parsed.is_empty() {
                    return Err(Error::invalid(key_path, "a grant needs at least one right"));
                }
                rights = Some(parsed);
            }
            other => {
                return Err(Error::invalid(
                    format!("{path}.{other}"),
                    "unknown key (expected namespace, users, groups or rights)",
                ))
            }
        }
    }
    let namespace = namespace
        .ok_or_else(|| Error::invalid(path, "missing key namespace (a namespace or \"*\")"))?;
    let rights = rights.ok_or_else(|| {
        Error::invalid(
            path,
            "missing key rights (a list of \"read\", \"sessions\", \"manage\")",
        )
    })?;
    if users.is_empty() && groups.is_empty() {
        return Err(Error::invalid(
            path,
            "the grant names no users and no groups",
        ));
    }
    Ok(Grant {
        namespace,
        users,
        groups,
        rights,
    })
}

fn parse_namespace(path: &str, text: &str) -> Result<NamespacePattern, Error> {
    if text.trim() == EVERYBODY {
        return Ok(NamespacePattern::Any);
    }
    normalize_namespace(text)
        .map(NamespacePattern::One)
        .map_err(|_| {
            Error::invalid(
                path,
                format!("{text:?} is not a namespace name (e.g. \"root/cimv2\") or \"*\""),
            )
        })
}

fn string_list(path: &str, value: &toml::Value) -> Result<Vec<String>, Error> {
    let toml::Value::Array(items) = value else {
        return Err(Error::invalid(
            path,
            format!("expected a list of strings, found {}", value.type_str()),
        ));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            toml::Value::String(s) => Ok(s.clone()),
            other => Err(Error::invalid(
                path,
                format!("item {} is a {}, not a string", i + 1, other.type_str()),
            )),
        })
        .collect()
}

/// User and group names: what the users file and Unix accept.
fn check_principal(path: &str, name: &str) -> Result<(), Error> {
    if name.is_empty()
        || name.trim() != name
        || name.chars().any(|c| c.is_control() || c == ':' || c == ',')
    {
        return Err(Error::invalid(
            path,
            format!("{name:?} is not a user or group name"),
        ));
    }
    Ok(())
}

fn check_class_name(path: &str, name: &str) -> Result<(), Error> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(Error::invalid(
            path,
            format!("{name:?} is not a class name"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> toml::Table {
        let whole: toml::Table = text.parse().unwrap();
        match whole.get("permissions") {
            Some(toml::Value::Table(t)) => t.clone(),
            _ => toml::Table::new(),
        }
    }

    fn ctx(user: &str, groups: &[&str]) -> OperationContext {
        OperationContext::for_user(
            user,
            groups.iter().map(|g| g.to_string()).collect::<Vec<_>>(),
        )
    }

    #[test]
    fn namespaces_compare_case_and_separator_insensitively() {
        assert!(same_namespace("root/cimv2", r"ROOT\CIMV2"));
        assert!(same_namespace("/root/cimv2/", "root/cimv2"));
        assert!(!same_namespace("root/cimv2", "root/cimv"));
        assert!(!same_namespace("root", "root/cimv2"));
    }

    #[test]
    fn default_policy_reads_everything_and_guards_sessions() {
        let p = PermissionPolicy::default();
        let alice = ctx("alice", &["users"]);
        assert!(p.check_namespace(&alice, "root/cimv2").is_ok());
        assert!(p.check_class(&alice, "root/cimv2", "Win32_Share").is_ok());
        let err = p
            .check_class(&alice, "root/cimv2", "win32_serverconnection")
            .unwrap_err();
        assert_eq!(err.status, openwmi_cim::status::CimStatus::AccessDenied);
        assert!(err.description.contains("alice"), "{err}");
        assert!(err.description.contains("win32_serverconnection"), "{err}");
        assert!(err.description.contains(r"root\cimv2"), "{err}");
        for admin in [ctx("root", &[]), ctx("bob", &["x", ADMIN_GROUP])] {
            for class in DEFAULT_SESSION_CLASSES {
                assert!(p.check_class(&admin, "root/cimv2", class).is_ok());
            }
        }
        let local = OperationContext::local();
        assert!(p
            .check_class(&local, "root/cimv2", "Win32_ServerSession")
            .is_ok());
    }

    #[test]
    fn methods_need_manage() {
        let p = PermissionPolicy::default();
        let alice = ctx("alice", &["users"]);
        let err = p
            .check_method(&alice, "root/cimv2", "Win32_Share", "Create")
            .unwrap_err();
        assert_eq!(err.status, openwmi_cim::status::CimStatus::AccessDenied);
        assert!(err.description.contains("\"manage\""), "{err}");
        for admin in [ctx("root", &[]), ctx("bob", &[ADMIN_GROUP])] {
            assert!(p
                .check_method(
                    &admin,
                    "root/Microsoft/Windows/SMB",
                    "MSFT_SmbSession",
                    "ForceClose"
                )
                .is_ok());
        }
        let p = PermissionPolicy::from_toml_table(&table(
            r#"
            [permissions]
            [[permissions.grant]]
            namespace = "root/cimv2"
            users = ["carol"]
            rights = ["read", "manage"]
            "#,
        ))
        .unwrap();
        let carol = ctx("carol", &[]);
        assert!(p
            .check_method(&carol, "root/cimv2", "Win32_Share", "Delete")
            .is_ok());
        // A method of a session class needs `sessions` as well.
        assert!(p
            .check_method(&carol, "root/cimv2", "Win32_ServerSession", "X")
            .is_err());
        assert!(p
            .check_method(&carol, "root/default", "Win32_Share", "Delete")
            .is_err());
    }

    #[test]
    fn grants_replace_the_default() {
        let p = PermissionPolicy::from_toml_table(&table(
            r#"
            [permissions]
            [[permissions.grant]]
            namespace = 'ROOT\CIMV2'
            users = ["alice"]
            rights = ["read"]
            "#,
        ))
        .unwrap();
        assert!(p.check_namespace(&ctx("alice", &[]), "root/cimv2").is_ok());
        assert!(p.check_namespace(&ctx("alice", &[]), "root").is_err());
        assert!(p.check_namespace(&ctx("root", &[]), "root/cimv2").is_err());
        assert!(p
            .check_class(&ctx("alice", &[]), "root/cimv2", "Win32_ServerSession")
            .is_err());
        // The interop namespace follows any read grant.
        assert!(p
            .check_namespace(&ctx("alice", &[]), "root/interop")
            .is_ok());
        assert!(p
            .check_namespace(&ctx("carol", &[]), "root/interop")
            .is_err());
        // An empty list of grants: nobody but the local caller.
        let p = PermissionPolicy::from_toml_table(&table("[permissions]\ngrant = []\n")).unwrap();
        assert!(p
            .check_namespace(&ctx("root", &[ADMIN_GROUP]), "root")
            .is_err());
        assert!(p
            .check_namespace(&OperationContext::local(), "root")
            .is_ok());
        assert!(p.to_string().contains("grant = []"));
    }

    #[test]
    fn session_classes_can_be_changed_without_touching_the_grants() {
        let p = PermissionPolicy::from_toml_table(&table(
            "[permissions]\nsession_classes = [\"Win32_Share\"]\n",
        ))
        .unwrap();
        let alice = ctx("alice", &[]);
        assert!(p
            .check_class(&alice, "root/cimv2", "Win32_ServerConnection")
            .is_ok());
        assert!(p.check_class(&alice, "root/cimv2", "Win32_Share").is_err());
        assert!(p
            .check_class(&ctx("root", &[]), "root/cimv2", "Win32_Share")
            .is_ok());
    }

    #[test]
    fn errors_name_the_key() {
        let cases = [
            ("[permissions]\nsesion_classes = []", "permissions.sesion_classes"),
            ("[permissions]\nsession_classes = \"x\"", "permissions.session_classes"),
            ("[permissions]\nsession_classes = [\"no such\"]", "permissions.session_classes"),
            ("[permissions]\ngrant = 3", "permissions.grant"),
            (
                "[[permissions.grant]]\nnamespace='*'\nusers=['a']\nrights=['read']\n[[permissions.grant]]\nnamespace='*'\nusers=['a']\nrights=['write']",
                "permissions.grant[2].rights",
            ),
            (
                "[[permissions.grant]]\nnamespace='*'\nusers=['a']\nrihgts=['read']",
                "permissions.grant[1].rihgts",
            ),
            ("[[permissions.grant]]\nusers=['a']\nrights=['read']", "permissions.grant[1]"),
            ("[[permissions.grant]]\nnamespace='*'\nusers=['a']", "permissions.grant[1]"),
            ("[[permissions.grant]]\nnamespace='*'\nrights=['read']", "permissions.grant[1]"),
            (
                "[[permissions.grant]]\nnamespace='root//x'\nusers=['a']\nrights=['read']",
                "permissions.grant[1].namespace",
            ),
            (
                "[[permissions.grant]]\nnamespace='*'\ngroups=['*']\nrights=['read']",
                "permissions.grant[1].groups",
            ),
            (
                "[[permissions.grant]]\nnamespace='*'\nusers=['a:b']\nrights=['read']",
                "permissions.grant[1].users",
            ),
            (
                "[[permissions.grant]]\nnamespace='*'\nusers=['a', 1]\nrights=['read']",
                "permissions.grant[1].users",
            ),
            (
                "[[permissions.grant]]\nnamespace='*'\nusers=['a']\nrights=[]",
                "permissions.grant[1].rights",
            ),
        ];
        for (text, key) in cases {
            let err = PermissionPolicy::from_toml_table(&table(text)).unwrap_err();
            let Error::Invalid { key: got, .. } = &err;
            assert_eq!(got, key, "{text}: {err}");
            assert!(err.to_string().starts_with(key), "{err}");
        }
    }

    #[test]
    fn display_reads_back() {
        let p = PermissionPolicy::default();
        let printed = p.to_string();
        let again = PermissionPolicy::from_toml_table(&table(&printed)).unwrap();
        assert_eq!(p, again, "{printed}");
        let p = PermissionPolicy::from_toml_table(&table(
            r#"
            [permissions]
            session_classes = []
            [[permissions.grant]]
            namespace = "root/Odd\"Name"
            groups = ["g\\1"]
            rights = ["sessions", "READ", "read"]
            "#,
        ));
        // `"` is not allowed in a namespace name.
        assert!(p.is_err());
        let p = PermissionPolicy::from_toml_table(&table(
            r#"
            [permissions]
            session_classes = []
            [[permissions.grant]]
            namespace = 'root\Odd'
            groups = ["g\\1", "ünï"]
            rights = ["sessions", "READ", "read"]
            "#,
        ))
        .unwrap();
        let printed = p.to_string();
        assert_eq!(
            PermissionPolicy::from_toml_table(&table(&printed)).unwrap(),
            p,
            "{printed}"
        );
    }
}
