//! Certificates: loading PEM files, or generating a self-signed certificate
//! and keeping it in the state directory, renewed before it expires. Also
//! the safe writing of private files and the refusal of files others can
//! write.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use sha2::{Digest, Sha256};

use crate::ServerError;

const SELF_SIGNED_CERT: &str = "tls-cert.pem";
const SELF_SIGNED_KEY: &str = "tls-key.pem";

const DAY: Duration = Duration::from_secs(24 * 60 * 60);
/// How long a generated certificate is valid: a year, so that a key that
/// leaked stops being trusted in the end, without clients that pinned the
/// fingerprint having to learn a new one often.
const SELF_SIGNED_LIFETIME_DAYS: u64 = 365;
/// A generated certificate is replaced once it has less than this left.
const RENEW_BEFORE: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// A certificate chain with its key, ready for rustls.
#[derive(Debug)]
pub(crate) struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    /// Where the certificate came from (for the start-up banner).
    pub cert_path: PathBuf,
    pub generated: bool,
    /// For a self-signed certificate: its state directory and when to
    /// renew it.
    pub renewal: Option<(PathBuf, SystemTime)>,
}

impl Identity {
    /// `AB:CD:...` SHA-256 of the leaf certificate.
    pub fn fingerprint(&self) -> String {
        self.chain
            .first()
            .map(|c| fingerprint(c.as_ref()))
            .unwrap_or_default()
    }
}

/// Colon-separated upper-case hex SHA-256 of DER bytes, as browsers show it.
pub fn fingerprint(der: &[u8]) -> String {
    let digest = Sha256::digest(der);
    let mut out = String::with_capacity(digest.len() * 3);
    for (i, byte) in digest.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        out.push_str(&format!("{byte:02X}"));
    }
    out
}

pub(crate) fn load_pem(cert: &Path, key: &Path) -> Result<Identity, ServerError> {
    let tls_err = |path: &Path, message: String| ServerError::Tls {
        path: Some(path.to_path_buf()),
        message,
    };
    let cert_bytes = fs::read(cert).map_err(|e| tls_err(cert, format!("cannot read: {e}")))?;
    let chain = CertificateDer::pem_slice_iter(&cert_bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls_err(cert, format!("bad PEM certificate: {e}")))?;
    if chain.is_empty() {
        return Err(tls_err(cert, "no CERTIFICATE block found".into()));
    }
    let meta = fs::metadata(key).map_err(|e| tls_err(key, format!("cannot read: {e}")))?;
    refuse_if_others_can_write(key, &meta, "TLS key")?;
    let key_bytes = fs::read(key).map_err(|e| tls_err(key, format!("cannot read: {e}")))?;
    let key_der = PrivateKeyDer::from_pem_slice(&key_bytes)
        .map_err(|e| tls_err(key, format!("no usable private key: {e}")))?;
    Ok(Identity {
        chain,
        key: key_der,
        cert_path: cert.to_path_buf(),
        generated: false,
        renewal: None,
    })
}

/// Loads the self-signed certificate from `state_dir`, generating it the first
/// time (or when either file is missing), and again when it has less than
/// [`RENEW_BEFORE`] left or was made to outlive [`SELF_SIGNED_LIFETIME_DAYS`]
/// (by a version that made certificates valid until the year 4096).
pub(crate) fn self_signed(state_dir: &Path) -> Result<Identity, ServerError> {
    self_signed_at(state_dir, SystemTime::now())
}

fn self_signed_at(state_dir: &Path, now: SystemTime) -> Result<Identity, ServerError> {
    create_private_dir(state_dir)?;
    let cert_path = state_dir.join(SELF_SIGNED_CERT);
    let key_path = state_dir.join(SELF_SIGNED_KEY);
    let longest = now + DAY * (SELF_SIGNED_LIFETIME_DAYS as u32 + 1);
    if cert_path.exists() && key_path.exists() {
        let mut identity = load_pem(&cert_path, &key_path)?;
        match identity.chain.first().and_then(|c| not_after(c.as_ref())) {
            Some(end) if end <= longest && now + RENEW_BEFORE < end => {
                identity.renewal = Some((state_dir.to_path_buf(), end - RENEW_BEFORE));
                return Ok(identity);
            }
            end => {
                tracing::warn!(
                    cert = %cert_path.display(),
                    not_after = ?end,
                    "replacing the self-signed certificate: it expires soon, or too late"
                );
            }
        }
    }
    let mut names = vec!["localhost".to_string(), "127.0.0.1".into(), "::1".into()];
    if let Some(host) = host_name() {
        if !names.contains(&host) {
            names.insert(0, host);
        }
    }
    let generate_err = |e: rcgen::Error| ServerError::Tls {
        path: None,
        message: format!("cannot generate a self-signed certificate: {e}"),
    };
    let mut params = rcgen::CertificateParams::new(names).map_err(generate_err)?;
    // From a day back, for clients whose clocks are behind.
    let (year, month, day) = civil_date(now - DAY);
    params.not_before = rcgen::date_time_ymd(year, month, day);
    let (year, month, day) = civil_date(now + DAY * SELF_SIGNED_LIFETIME_DAYS as u32);
    params.not_after = rcgen::date_time_ymd(year, month, day);
    let signing_key = rcgen::KeyPair::generate().map_err(generate_err)?;
    let cert = params.self_signed(&signing_key).map_err(generate_err)?;
    write_private(&key_path, signing_key.serialize_pem().as_bytes())?;
    write_private(&cert_path, cert.pem().as_bytes())?;
    let mut identity = load_pem(&cert_path, &key_path)?;
    identity.generated = true;
    let end = identity.chain.first().and_then(|c| not_after(c.as_ref()));
    identity.renewal = end.map(|end| (state_dir.to_path_buf(), end - RENEW_BEFORE));
    Ok(identity)
}

/// The (UTC) calendar date `at` falls on.
fn civil_date(at: SystemTime) -> (i32, u8, u8) {
    let secs = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    // Days since 1970-01-01 to a proleptic Gregorian date, by 400-year
    // eras counted from 0000-03-01 (so that leap days end a year).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (
        i32::try_from(year).unwrap_or(i32::MAX),
        u8::try_from(month).unwrap_or(1),
        u8::try_from(day).unwrap_or(1),
    )
}

/// Days from 1970-01-01 to a proleptic Gregorian date (the inverse of
/// [`civil_date`]).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let shifted_month = (month + 9) % 12;
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// One DER element at the start of `input`: (tag, contents, the rest).
/// Only what certificates use: one-byte tags, definite lengths.
fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (bytes, after) = rest.split_at(count);
        rest = after;
        bytes.iter().fold(0usize, |n, b| (n << 8) | usize::from(*b))
    };
    if rest.len() < len {
        return None;
    }
    let (contents, rest) = rest.split_at(len);
    Some((tag, contents, rest))
}

/// The end of a certificate's validity (`notAfter`), from its DER bytes.
fn not_after(der: &[u8]) -> Option<SystemTime> {
    const SEQUENCE: u8 = 0x30;
    let (SEQUENCE, certificate, _) = der_element(der)? else {
        return None;
    };
    let (SEQUENCE, mut tbs, _) = der_element(certificate)? else {
        return None;
    };
    // version [0] (optional), serialNumber, signature, issuer, validity.
    let (tag, _, rest) = der_element(tbs)?;
    if tag == 0xa0 {
        tbs = rest;
    }
    for _ in 0..3 {
        tbs = der_element(tbs)?.2;
    }
    let (SEQUENCE, validity, _) = der_element(tbs)? else {
        return None;
    };
    let (_, _, validity) = der_element(validity)?;
    let (tag, time, _) = der_element(validity)?;
    let text = std::str::from_utf8(time).ok()?;
    let (year, rest) = match tag {
        // UTCTime: YYMMDDHHMMSSZ, years 1950-2049.
        0x17 => {
            let yy: i64 = text.get(..2)?.parse().ok()?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, text.get(2..)?)
        }
        // GeneralizedTime: YYYYMMDDHHMMSSZ.
        0x18 => (text.get(..4)?.parse().ok()?, text.get(4..)?),
        _ => return None,
    };
    if rest.len() != 11 || !rest.ends_with('Z') {
        return None;
    }
    let field = |at: usize| -> Option<i64> { rest.get(at..at + 2)?.parse().ok() };
    let days = days_from_civil(year, field(0)?, field(2)?);
    let secs = days * 86_400 + field(4)? * 3600 + field(6)? * 60 + field(8)?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).ok()?))
}

fn host_name() -> Option<String> {
    let raw = fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| fs::read_to_string("/etc/hostname"))
        .ok()?;
    let name = raw.trim();
    (!name.is_empty()).then(|| name.to_string())
}

/// Creates the state directory (mode 0700) if it is missing, and refuses
/// one that others can write (they could put their own key there).
fn create_private_dir(dir: &Path) -> Result<(), ServerError> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| {
            ServerError::io(
                format!("cannot create state directory {}", dir.display()),
                e,
            )
        })?;
    let meta = fs::metadata(dir).map_err(|e| {
        ServerError::io(format!("cannot read state directory {}", dir.display()), e)
    })?;
    refuse_if_others_can_write(dir, &meta, "state directory")
}

/// Refuses a file or directory that users other than root and the server's
/// own can write (mode o+w, or owned by another user, who may chmod it):
/// they could give themselves a login, or the server a key of theirs.
/// Group-writable is only warned about: on systems with a group per user
/// it is the umask's default, and the group has no other member.
pub(crate) fn refuse_if_others_can_write(
    path: &Path,
    meta: &fs::Metadata,
    what: &str,
) -> Result<(), ServerError> {
    use std::os::unix::fs::MetadataExt;
    let mode = meta.mode() & 0o7777;
    let euid = rustix::process::geteuid().as_raw();
    // A file can be replaced by whoever can write its directory, unless
    // the directory is sticky (as /tmp is).
    let directory = (!meta.is_dir())
        .then(|| path.parent())
        .flatten()
        .map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        })
        .and_then(|p| fs::metadata(p).ok())
        .map_or(0, |m| m.mode() & 0o7777);
    let problem = if mode & 0o002 != 0 {
        Some(format!(
            "writable by every user (mode {mode:04o}); run chmod o-w"
        ))
    } else if directory & 0o002 != 0 && directory & 0o1000 == 0 {
        Some(format!(
            "in a directory every user can write (mode {directory:04o}), who could replace it"
        ))
    } else if meta.uid() != 0 && meta.uid() != euid {
        Some(format!(
            "owned by uid {}, neither root nor the server's user",
            meta.uid()
        ))
    } else {
        None
    };
    if let Some(problem) = problem {
        return Err(ServerError::io(
            format!("refusing the {what} {}", path.display()),
            std::io::Error::new(std::io::ErrorKind::PermissionDenied, problem),
        ));
    }
    if mode & 0o020 != 0 {
        tracing::warn!(
            path = %path.display(),
            mode = %format!("{mode:04o}"),
            "the {what} is writable by its group; chmod g-w unless the group is trusted"
        );
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically, mode 0600: into a new temporary
/// file beside it, with a name no one can guess and created exclusively
/// (`O_EXCL`, `O_NOFOLLOW`: never an existing file or a planted symbolic
/// link), then renamed over `path`.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), ServerError> {
    use rustix::fs::{Mode, OFlags};
    let write_err =
        |e: std::io::Error| ServerError::io(format!("cannot write {}", path.display()), e);
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mut attempt = 0;
    let (tmp, fd) = loop {
        let mut random = [0u8; 8];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut random)
            .map_err(|_| write_err(std::io::Error::other("no randomness available")))?;
        let suffix: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let tmp = path.with_file_name(format!(".{file_name}.{suffix}.tmp"));
        match rustix::fs::open(&tmp, flags, Mode::from_raw_mode(0o600)) {
            Ok(fd) => break (tmp, fd),
            Err(e) if e == rustix::io::Errno::EXIST && attempt < 8 => attempt += 1,
            Err(e) => return Err(write_err(e.into())),
        }
    };
    let result = (|| {
        let mut file = fs::File::from(fd);
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        write_err(e)
    })
}

pub(crate) fn rustls_config(identity: &Identity) -> Result<Arc<rustls::ServerConfig>, ServerError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls_err = |e: rustls::Error| ServerError::Tls {
        path: Some(identity.cert_path.clone()),
        message: e.to_string(),
    };
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(tls_err)?
        .with_no_client_auth();
    let mut config = match &identity.renewal {
        None => builder
            .with_single_cert(identity.chain.clone(), identity.key.clone_key())
            .map_err(tls_err)?,
        Some((state_dir, renew_at)) => {
            let resolver = RenewingResolver {
                state_dir: state_dir.clone(),
                current: Mutex::new((certified_key(identity, &provider)?, *renew_at)),
                provider,
            };
            builder.with_cert_resolver(Arc::new(resolver))
        }
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn certified_key(
    identity: &Identity,
    provider: &rustls::crypto::CryptoProvider,
) -> Result<Arc<CertifiedKey>, ServerError> {
    let key = provider
        .key_provider
        .load_private_key(identity.key.clone_key())
        .map_err(|e| ServerError::Tls {
            path: Some(identity.cert_path.clone()),
            message: e.to_string(),
        })?;
    Ok(Arc::new(CertifiedKey::new(identity.chain.clone(), key)))
}

/// The self-signed certificate of a server that may run longer than it is
/// valid: the first handshake after its renewal time makes a new one (and
/// files it in the state directory for the next start).
#[derive(Debug)]
struct RenewingResolver {
    state_dir: PathBuf,
    /// The certificate served, and when to renew it.
    current: Mutex<(Arc<CertifiedKey>, SystemTime)>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl RenewingResolver {
    fn current(&self, now: SystemTime) -> Arc<CertifiedKey> {
        let mut current = self.current.lock().unwrap();
        if now >= current.1 {
            let renewed = self_signed_at(&self.state_dir, now)
                .and_then(|identity| Ok((certified_key(&identity, &self.provider)?, identity)));
            match renewed {
                Ok((key, identity)) => {
                    tracing::warn!(
                        fingerprint = %identity.fingerprint(),
                        "renewed the self-signed TLS certificate"
                    );
                    let renew_at = identity.renewal.map_or(now + DAY, |(_, at)| at);
                    *current = (key, renew_at);
                }
                Err(e) => {
                    // Served as it is (clients may still accept it); tried
                    // again in an hour, not at every handshake.
                    tracing::error!(error = %e, "cannot renew the self-signed TLS certificate");
                    current.1 = now + Duration::from_secs(3600);
                }
            }
        }
        Arc::clone(&current.0)
    }
}

impl ResolvesServerCert for RenewingResolver {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current(SystemTime::now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_format() {
        let fp = fingerprint(b"abc");
        assert_eq!(fp.len(), 32 * 3 - 1);
        assert!(fp.starts_with("BA:78:16:BF:"), "{fp}");
    }

    #[test]
    fn self_signed_is_generated_once() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let first = self_signed(&state).unwrap();
        assert!(first.generated);
        let second = self_signed(&state).unwrap();
        assert!(!second.generated);
        assert_eq!(first.fingerprint(), second.fingerprint());
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(state.join(SELF_SIGNED_KEY))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        rustls_config(&second).unwrap();
    }

    fn valid_until(identity: &Identity) -> SystemTime {
        not_after(identity.chain[0].as_ref()).unwrap()
    }

    /// The generated certificate was valid until the year 4096.
    #[test]
    fn regression_the_self_signed_certificate_lives_a_year() {
        let dir = tempfile::tempdir().unwrap();
        let now = SystemTime::now();
        let identity = self_signed(dir.path()).unwrap();
        let end = valid_until(&identity);
        assert!(end > now + DAY * 364, "{end:?}");
        assert!(end < now + DAY * 366, "{end:?}");
        let (_, renew_at) = identity.renewal.unwrap();
        assert_eq!(renew_at, end - RENEW_BEFORE);
    }

    /// A self-signed certificate was made once and kept for ever; now it
    /// is made again when less than a month is left, at start-up and by
    /// a server that runs on, and one made by an earlier version (valid
    /// until 4096) is replaced.
    #[test]
    fn regression_a_self_signed_certificate_near_its_end_is_renewed() {
        let dir = tempfile::tempdir().unwrap();
        let now = SystemTime::now();
        let first = self_signed_at(dir.path(), now).unwrap();
        let later = self_signed_at(dir.path(), now + DAY * 300).unwrap();
        assert!(!later.generated);
        assert_eq!(later.fingerprint(), first.fingerprint());
        let near_the_end = self_signed_at(dir.path(), now + DAY * 340).unwrap();
        assert!(near_the_end.generated);
        assert_ne!(near_the_end.fingerprint(), first.fingerprint());
        assert!(valid_until(&near_the_end) > now + DAY * 700);

        // The same, in a running server: its handshakes get the new one.
        let dir = tempfile::tempdir().unwrap();
        let identity = self_signed_at(dir.path(), now).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let resolver = RenewingResolver {
            state_dir: dir.path().to_path_buf(),
            current: Mutex::new((
                certified_key(&identity, &provider).unwrap(),
                identity.renewal.as_ref().unwrap().1,
            )),
            provider,
        };
        let served = |at| fingerprint(resolver.current(at).cert[0].as_ref());
        assert_eq!(served(now), identity.fingerprint());
        assert_eq!(served(now + DAY * 300), identity.fingerprint());
        let renewed = served(now + DAY * 340);
        assert_ne!(renewed, identity.fingerprint());
        let on_disk = self_signed_at(dir.path(), now + DAY * 340).unwrap();
        assert!(!on_disk.generated);
        assert_eq!(on_disk.fingerprint(), renewed);
        rustls_config(&on_disk).unwrap();

        // Made by an earlier version: valid until 4096.
        let dir = tempfile::tempdir().unwrap();
        let old = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        write_private(
            &dir.path().join(SELF_SIGNED_KEY),
            old.signing_key.serialize_pem().as_bytes(),
        )
        .unwrap();
        write_private(
            &dir.path().join(SELF_SIGNED_CERT),
            old.cert.pem().as_bytes(),
        )
        .unwrap();
        let replaced = self_signed(dir.path()).unwrap();
        assert!(replaced.generated);
        assert_ne!(replaced.fingerprint(), fingerprint(old.cert.der()));
    }

    #[test]
    fn validity_ends_are_read_from_both_time_forms() {
        // UTCTime (years before 2050) and GeneralizedTime (from 2050).
        for (year, month, day) in [(2027, 2, 28), (2049, 12, 31), (2050, 1, 1), (4096, 1, 1)] {
            let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
            params.not_after = rcgen::date_time_ymd(year, month, day);
            let key = rcgen::KeyPair::generate().unwrap();
            let cert = params.self_signed(&key).unwrap();
            let end = not_after(cert.der()).unwrap();
            assert_eq!(civil_date(end), (year, month, day));
            let days = days_from_civil(year.into(), month.into(), day.into());
            let midnight = SystemTime::UNIX_EPOCH + DAY * u32::try_from(days).unwrap();
            assert_eq!(end, midnight);
        }
        assert_eq!(civil_date(SystemTime::UNIX_EPOCH), (1970, 1, 1));
        assert_eq!(not_after(b"\x30\x03\x30\x01"), None);
        assert_eq!(not_after(b""), None);
    }

    /// The temporary file was opened under a predictable name, following
    /// a symbolic link planted there.
    #[test]
    fn regression_private_files_are_written_through_no_planted_link() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join(SELF_SIGNED_KEY);
        let victim = dir.path().join("victim");
        fs::write(&victim, "precious").unwrap();
        let planted = dir
            .path()
            .join(format!(".{SELF_SIGNED_KEY}.tmp{}", std::process::id()));
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        write_private(&key, b"key").unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
        assert_eq!(fs::read_to_string(&key).unwrap(), "key");
    }
}
