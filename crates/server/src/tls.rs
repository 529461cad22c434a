//! Certificates: loading PEM files, or generating a self-signed certificate
//! once and keeping it in the state directory.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

use crate::ServerError;

const SELF_SIGNED_CERT: &str = "tls-cert.pem";
const SELF_SIGNED_KEY: &str = "tls-key.pem";

/// A certificate chain with its key, ready for rustls.
#[derive(Debug)]
pub(crate) struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    /// Where the certificate came from (for the start-up banner).
    pub cert_path: PathBuf,
    pub generated: bool,
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
    let key_bytes = fs::read(key).map_err(|e| tls_err(key, format!("cannot read: {e}")))?;
    let key_der = PrivateKeyDer::from_pem_slice(&key_bytes)
        .map_err(|e| tls_err(key, format!("no usable private key: {e}")))?;
    Ok(Identity {
        chain,
        key: key_der,
        cert_path: cert.to_path_buf(),
        generated: false,
    })
}

/// Loads the self-signed certificate from `state_dir`, generating it the first
/// time (or when either file is missing).
pub(crate) fn self_signed(state_dir: &Path) -> Result<Identity, ServerError> {
    let cert_path = state_dir.join(SELF_SIGNED_CERT);
    let key_path = state_dir.join(SELF_SIGNED_KEY);
    if cert_path.exists() && key_path.exists() {
        return load_pem(&cert_path, &key_path);
    }
    create_private_dir(state_dir)?;
    let mut names = vec!["localhost".to_string(), "127.0.0.1".into(), "::1".into()];
    if let Some(host) = host_name() {
        if !names.contains(&host) {
            names.insert(0, host);
        }
    }
    let generated = rcgen::generate_simple_self_signed(names).map_err(|e| ServerError::Tls {
        path: None,
        message: format!("cannot generate a self-signed certificate: {e}"),
    })?;
    write_private(&key_path, generated.signing_key.serialize_pem().as_bytes())?;
    write_private(&cert_path, generated.cert.pem().as_bytes())?;
    let mut identity = load_pem(&cert_path, &key_path)?;
    identity.generated = true;
    Ok(identity)
}

fn host_name() -> Option<String> {
    let raw = fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| fs::read_to_string("/etc/hostname"))
        .ok()?;
    let name = raw.trim();
    (!name.is_empty()).then(|| name.to_string())
}

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
        })
}

/// Writes `bytes` to `path` atomically (temporary file + rename), mode 0600.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), ServerError> {
    use std::os::unix::fs::OpenOptionsExt;
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = path.with_file_name(format!(".{file_name}.tmp{}", std::process::id()));
    let result = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        ServerError::io(format!("cannot write {}", path.display()), e)
    })
}

pub(crate) fn rustls_config(identity: &Identity) -> Result<Arc<rustls::ServerConfig>, ServerError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| {
            b.with_no_client_auth()
                .with_single_cert(identity.chain.clone(), identity.key.clone_key())
        })
        .map_err(|e| ServerError::Tls {
            path: Some(identity.cert_path.clone()),
            message: e.to_string(),
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
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
}
