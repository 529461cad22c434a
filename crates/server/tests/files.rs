//! The files the server trusts (users file, TLS key, state directory) and
//! the ones it writes: refused when others can write them, written
//! without following anything planted beside them.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use argon2::password_hash::{PasswordHasher, SaltString};
use openwmi_server::{passwd, Server, ServerConfig};

fn cheap_hash(password: &str) -> String {
    let params = argon2::Params::new(64, 1, 1, None).unwrap();
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
    argon
        .hash_password(password.as_bytes(), &salt)
        .unwrap()
        .to_string()
}

/// HTTPS on 127.0.0.1:0 with a self-signed certificate in `dir/state`.
fn config(dir: &Path) -> ServerConfig {
    let users = dir.join("users");
    std::fs::write(&users, format!("alice:{}\n", cheap_hash("secret"))).unwrap();
    std::fs::set_permissions(&users, std::fs::Permissions::from_mode(0o600)).unwrap();
    ServerConfig {
        listen: vec!["127.0.0.1:0".parse().unwrap()],
        users_file: Some(users),
        pam: Some(false),
        state_dir: Some(dir.join("state")),
        ..ServerConfig::default()
    }
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

async fn refusal(config: ServerConfig) -> String {
    match Server::bind(config).await {
        Ok(_) => panic!("the server started"),
        Err(e) => e.to_string(),
    }
}

/// An existing state directory every user could write was used as it was:
/// anyone could have put a key and certificate of their own there.
#[tokio::test]
async fn regression_a_state_directory_others_can_write_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    chmod(&state, 0o777);
    let error = refusal(config.clone()).await;
    assert!(error.contains("refusing the state directory"), "{error}");
    chmod(&state, 0o700);
    Server::bind(config).await.unwrap();
}

/// A TLS key every user could write was loaded as it was, generated or
/// given.
#[tokio::test]
async fn regression_a_tls_key_others_can_write_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    Server::bind(config.clone()).await.unwrap();
    let key = dir.path().join("state/tls-key.pem");
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    chmod(&key, 0o666);
    let error = refusal(config.clone()).await;
    assert!(error.contains("refusing the TLS key"), "{error}");
    let given = ServerConfig {
        tls_cert: Some(dir.path().join("state/tls-cert.pem")),
        tls_key: Some(key.clone()),
        ..config.clone()
    };
    let error = refusal(given.clone()).await;
    assert!(error.contains("refusing the TLS key"), "{error}");
    chmod(&key, 0o640);
    Server::bind(given).await.unwrap();
}

/// A users file every user could write was trusted: anyone could have
/// added a login of their own.
#[tokio::test]
async fn regression_a_users_file_others_can_write_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    chmod(config.users_file.as_ref().unwrap(), 0o646);
    let error = refusal(config.clone()).await;
    assert!(error.contains("refusing the users file"), "{error}");
    // Or in a directory every user can write, who could replace it.
    chmod(config.users_file.as_ref().unwrap(), 0o600);
    chmod(dir.path(), 0o777);
    let error = refusal(config.clone()).await;
    assert!(
        error.contains("in a directory every user can write"),
        "{error}"
    );
    // A sticky one (as /tmp is) lets no one replace another's file.
    chmod(dir.path(), 0o1777);
    Server::bind(config).await.unwrap();
}

/// `openwmi passwd` wrote through a temporary file of a predictable name
/// (`.users.tmp<pid>`), opened without O_EXCL or O_NOFOLLOW: a symbolic
/// link planted there made it overwrite the link's target.
#[test]
fn regression_passwd_writes_through_no_planted_link() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users");
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "precious\n").unwrap();
    let planted = dir.path().join(format!(".users.tmp{}", std::process::id()));
    std::os::unix::fs::symlink(&victim, &planted).unwrap();
    passwd(&users, "alice", "secret").unwrap();
    passwd(&users, "bob", "builder").unwrap();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    let text = std::fs::read_to_string(&users).unwrap();
    assert!(
        text.starts_with("alice:$argon2id$") && text.contains("\nbob:"),
        "{text}"
    );
    let meta = std::fs::symlink_metadata(&users).unwrap();
    assert!(meta.file_type().is_file());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    // Nothing left behind but the planted link.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let planted = planted.file_name().unwrap().to_str().unwrap().to_string();
    assert_eq!(names, [planted, "users".to_string(), "victim".to_string()]);
}
