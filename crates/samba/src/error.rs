//! The one error type of the crate.

use std::fmt;

/// What went wrong reading Samba's state.
///
/// `Clone` because a single `smbstatus` run is shared by every caller that
/// waited for it, error included.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The input is larger than the parser accepts.
    TooLarge {
        what: &'static str,
        size: usize,
        limit: usize,
    },
    /// Malformed JSON (syntax, truncation, nesting too deep) at a line and column.
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    /// Well-formed JSON whose content is not what `smbstatus` writes: `path`
    /// is a JSON path such as `$.tcons["12"].tcon_id`.
    Field { path: String, message: String },
    /// More entries than the parser accepts.
    TooManyEntries { limit: usize },
    /// A timestamp that is not `YYYY-MM-DDTHH:MM:SS[.ffffff]±HH:MM`.
    Timestamp { pos: usize, message: String },
    /// `smbstatus --version` printed something that is not a Samba version.
    Version(String),
    /// A malformed line in smb.conf (or `testparm -s` output). `file` is
    /// empty for text that did not come from a file.
    SmbConf {
        file: String,
        line: usize,
        message: String,
    },
    /// A program could not be found (ENOENT).
    NotFound { program: String },
    /// A program could not be started for another reason.
    Spawn { program: String, message: String },
    /// A program exited with a non-zero status.
    Exited {
        program: String,
        code: Option<i32>,
        stderr: String,
    },
    /// A program ran longer than allowed and was killed.
    TimedOut {
        program: String,
        after: std::time::Duration,
    },
    /// The installed Samba predates `smbstatus --json` (4.17).
    NoJsonOutput { version: String },
    /// `smbstatus` refused to run, or showed only part of the state, because
    /// it does not run as root.
    NeedsRoot { program: String, detail: String },
    /// A program's output could not be parsed.
    Output { program: String, error: Box<Error> },
    /// An smb.conf (or an included file) could not be read.
    Io { path: String, message: String },
    /// smbstatus answered "nobody connected" but smbd is not running, so
    /// the answer says nothing. `detail` says how that was found out.
    NotRunning { detail: String },
    /// A malformed line in a share ACL as `sharesec --view` prints it.
    ShareAcl { line: usize, message: String },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::TooLarge { what, size, limit } => {
                write!(f, "{what} is {size} bytes, more than the limit of {limit}")
            }
            Error::Json {
                line,
                column,
                message,
            } => write!(
                f,
                "malformed JSON at line {line}, column {column}: {message}"
            ),
            Error::Field { path, message } => write!(f, "at {path}: {message}"),
            Error::TooManyEntries { limit } => {
                write!(f, "more than {limit} sessions, tree connects and opens")
            }
            Error::Timestamp { pos, message } => {
                write!(f, "invalid timestamp at character {pos}: {message}")
            }
            Error::Version(text) => write!(f, "not a Samba version: {text:?}"),
            Error::SmbConf {
                file,
                line,
                message,
            } => {
                if file.is_empty() {
                    write!(f, "smb.conf line {line}: {message}")
                } else {
                    write!(f, "{file} line {line}: {message}")
                }
            }
            Error::NotFound { program } => write!(f, "{program} not found"),
            Error::Spawn { program, message } => write!(f, "cannot run {program}: {message}"),
            Error::Exited {
                program,
                code,
                stderr,
            } => {
                match code {
                    Some(c) => write!(f, "{program} exited {c}")?,
                    None => write!(f, "{program} was killed by a signal")?,
                }
                if stderr.is_empty() {
                    Ok(())
                } else {
                    write!(f, ": {stderr}")
                }
            }
            Error::TimedOut { program, after } => {
                write!(f, "{program} timed out after {} s", after.as_secs_f64())
            }
            Error::NoJsonOutput { version } => write!(
                f,
                "Samba {version} has no JSON output (smbstatus --json needs Samba 4.17 or later)"
            ),
            Error::NeedsRoot { program, detail } => {
                write!(f, "{program} needs root to see other users' connections")?;
                if detail.is_empty() {
                    Ok(())
                } else {
                    write!(f, " ({detail})")
                }
            }
            Error::Output { program, error } => write!(f, "{program} output: {error}"),
            Error::Io { path, message } => write!(f, "cannot read {path}: {message}"),
            Error::NotRunning { detail } => write!(f, "smbd is not running ({detail})"),
            Error::ShareAcl { line, message } => write!(f, "share ACL line {line}: {message}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Output { error, .. } => Some(error.as_ref()),
            _ => None,
        }
    }
}
