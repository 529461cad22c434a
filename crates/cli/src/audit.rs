//! The audit trail of method calls: one line per call, failed or not (who,
//! from where, what, the result), to the system journal. The line goes to
//! standard error, which is the journal when systemd runs openwmi
//! (`JOURNAL_STREAM` set); otherwise also to syslog through `/dev/log`
//! (facility authpriv), where there is one. Parameter values are never
//! written (a password may be among them), only their names.

use openwmi_cimom::{AuditRecord, MethodAudit};
use std::io::Write;

/// Writes [`AuditRecord`]s as described in the module documentation.
#[derive(Debug, Default)]
pub struct JournalAudit;

/// authpriv (10) * 8 + notice (5).
const SYSLOG_PRIORITY: u32 = 85;

/// The real uid of this process, for calls made locally.
fn local_uid() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|rest| rest.split_whitespace().next())
        .map(str::to_string)
}

/// Spaces, quotes, backslashes and control characters escaped, so that one
/// call is one line whose fields split at spaces.
fn field(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            ' ' => out.push_str("\\x20"),
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// The audit line of one call.
pub fn audit_line(r: &AuditRecord<'_>) -> String {
    let who = match r.user {
        Some(u) => format!("user={}", field(u)),
        None => format!(
            "user=(local) uid={}",
            local_uid().unwrap_or_else(|| "?".into())
        ),
    };
    let from = r
        .client
        .map(|a| field(&a.to_string()))
        .unwrap_or_else(|| "local".into());
    let result = match r.outcome {
        Ok(m) => match &m.return_value {
            Some(v) => format!("result=ok return={}", field(&v.to_mof())),
            None => "result=ok".to_string(),
        },
        Err(e) => format!(
            "result=error status={} message=\"{}\"",
            e.status.name(),
            field(&e.description).replace("\\x20", " ")
        ),
    };
    format!(
        "openwmi audit: {who} from={from} namespace={} method={}.{} target={} params={} {result}",
        field(r.namespace),
        field(r.target.class.as_str()),
        field(r.method),
        field(&r.target.to_string()),
        field(&r.params.join(",")),
    )
}

fn to_syslog(line: &str) {
    let socket = match std::os::unix::net::UnixDatagram::unbound() {
        Ok(s) => s,
        Err(_) => return,
    };
    let message = format!("<{SYSLOG_PRIORITY}>openwmi[{}]: {line}", std::process::id());
    let _ = socket.send_to(message.as_bytes(), "/dev/log");
}

impl MethodAudit for JournalAudit {
    fn record(&self, record: &AuditRecord<'_>) {
        let line = audit_line(record);
        if std::env::var_os("JOURNAL_STREAM").is_none() && std::path::Path::new("/dev/log").exists()
        {
            to_syslog(&line);
        }
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openwmi_cim::{CimError, ObjectPath};
    use openwmi_cimom::MethodResult;

    #[test]
    fn one_line_per_call_without_values() {
        let target = ObjectPath::parse(r#"Win32_Share.Name="my share""#).unwrap();
        let ok = MethodResult::status(0);
        let line = audit_line(&AuditRecord {
            user: Some("bob"),
            client: Some("127.0.0.1:5000".parse().unwrap()),
            namespace: "root/cimv2",
            target: &target,
            method: "Delete",
            params: vec!["Password"],
            outcome: Ok(&ok),
        });
        assert!(
            line.starts_with("openwmi audit: user=bob from=127.0.0.1:5000 "),
            "{line}"
        );
        assert!(line.contains("method=Win32_Share.Delete"), "{line}");
        assert!(
            line.contains("params=Password result=ok return=0"),
            "{line}"
        );
        assert!(!line.contains('\n'));
        let err = CimError::access_denied("no\nway");
        let line = audit_line(&AuditRecord {
            user: None,
            client: None,
            namespace: "root/cimv2",
            target: &target,
            method: "Delete",
            params: vec![],
            outcome: Err(&err),
        });
        assert!(line.contains("user=(local) uid="), "{line}");
        assert!(line.contains("status=CIM_ERR_ACCESS_DENIED"), "{line}");
        assert!(!line.contains('\n'), "{line}");
    }
}
