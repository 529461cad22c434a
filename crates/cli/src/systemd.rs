//! What `openwmi serve` tells systemd and how it logs under it, written
//! here rather than linked (libsystemd): a datagram to `$NOTIFY_SOCKET`
//! (sd_notify(3): `READY=1` once requests get answers, `RELOADING=1` and
//! `READY=1` around a SIGHUP reload, `STOPPING=1`), and log lines in the
//! form journald reads from a service's stderr (`<N>` syslog priority
//! prefixes, no timestamp of our own) when `$JOURNAL_STREAM` says stderr
//! is the journal.

use std::io::Write;
use std::os::unix::net::UnixDatagram;

/// Sends `state` to systemd's notification socket, if there is one. A
/// failure is ignored: a service not run by systemd has nobody to tell.
pub fn notify(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let Ok(socket) = UnixDatagram::unbound() else {
        return;
    };
    let bytes = path.as_encoded_bytes();
    let _ = if let Some(name) = bytes.strip_prefix(b"@") {
        // An abstract socket (systemd's default for user managers).
        use std::os::linux::net::SocketAddrExt;
        std::os::unix::net::SocketAddr::from_abstract_name(name)
            .and_then(|addr| socket.send_to_addr(state.as_bytes(), &addr))
    } else {
        socket.send_to(state.as_bytes(), std::path::Path::new(&path))
    };
}

/// Whether stderr is the journal: `$JOURNAL_STREAM` is `DEVICE:INODE` of
/// the stream systemd connected, and stderr is still that stream.
pub fn stderr_is_journal() -> bool {
    use std::os::unix::fs::MetadataExt;
    let Some(v) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = v.to_str().and_then(|s| s.split_once(':')) else {
        return false;
    };
    let (Ok(dev), Ok(ino)) = (dev.parse::<u64>(), ino.parse::<u64>()) else {
        return false;
    };
    std::fs::metadata("/proc/self/fd/2").is_ok_and(|m| m.dev() == dev && m.ino() == ino)
}

/// The logger of `openwmi serve`: `tracing` events at or above a level,
/// one line each on stderr.
#[derive(Debug)]
pub struct Logger {
    max: tracing::Level,
    journal: bool,
}

impl Logger {
    /// Installs the logger: level from `$OPENWMI_LOG` (`error`, `warn`,
    /// `info`, `debug`, `trace`; default `info`).
    pub fn install() {
        let max = std::env::var("OPENWMI_LOG")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(tracing::Level::INFO);
        let logger = Logger {
            max,
            journal: stderr_is_journal(),
        };
        let _ = tracing::subscriber::set_global_default(logger);
    }

    /// The line of one event: `<4>message key=value` for the journal,
    /// `2026-12-06T14:00:00Z WARN message key=value` otherwise.
    fn line(&self, level: tracing::Level, fields: &str) -> String {
        if self.journal {
            format!("<{}>{fields}\n", priority(level))
        } else {
            format!("{} {level:>5} {fields}\n", utc_now())
        }
    }
}

/// The syslog priority of a level (sd-daemon(3)).
fn priority(level: tracing::Level) -> u8 {
    match level {
        tracing::Level::ERROR => 3,
        tracing::Level::WARN => 4,
        tracing::Level::INFO => 6,
        _ => 7,
    }
}

fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The Gregorian date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Writes the message, then the other fields as `key=value`.
#[derive(Default)]
struct Fields {
    message: String,
    rest: String,
}

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        use std::fmt::Write as _;
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.rest, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            self.record_debug(field, &value);
        }
    }
}

impl tracing::Subscriber for Logger {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        *metadata.level() <= self.max
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::from_level(self.max))
    }

    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        // One line per event: a line break in a value would start a line
        // the journal takes for a message of its own.
        let text = format!("{}{}", fields.message, fields.rest).replace('\n', " ");
        let line = self.line(*event.metadata().level(), &text);
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_for_the_journal_have_a_priority_and_no_time() {
        let journal = Logger {
            max: tracing::Level::INFO,
            journal: true,
        };
        assert_eq!(journal.line(tracing::Level::WARN, "x a=1"), "<4>x a=1\n");
        assert_eq!(journal.line(tracing::Level::ERROR, "x"), "<3>x\n");
        let tty = Logger {
            max: tracing::Level::INFO,
            journal: false,
        };
        let line = tty.line(tracing::Level::WARN, "x");
        assert!(line.ends_with("Z  WARN x\n"), "{line}");
    }

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_793), (2026, 12, 6));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn ready_reaches_the_notify_socket() {
        let dir = std::env::temp_dir().join(format!("openwmi-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify");
        let listener = UnixDatagram::bind(&path).unwrap();
        // The variable is read by `notify` only; tests of this module
        // alone touch it.
        std::env::set_var("NOTIFY_SOCKET", &path);
        notify("READY=1");
        std::env::remove_var("NOTIFY_SOCKET");
        let mut buf = [0u8; 64];
        let n = listener.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
