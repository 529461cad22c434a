//! The password file: one `user:PHC-hash[:group,group...]` line per user,
//! `#` comments and blank lines allowed. Hashes are argon2id PHC strings.

use std::path::Path;

use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::Argon2;

use crate::ServerError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UserEntry {
    pub name: String,
    pub hash: String,
    pub groups: Vec<String>,
}

/// Where a line of the file failed to parse: 1-based line number and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError {
    pub line: usize,
    pub message: String,
}

enum Line<'a> {
    Other(&'a str),
    User(UserEntry),
}

fn parse_lines(text: &str) -> Result<Vec<Line<'_>>, ParseError> {
    let mut out = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            out.push(Line::Other(raw));
            continue;
        }
        let error = |message: &str| ParseError {
            line: index + 1,
            message: message.to_string(),
        };
        let mut fields = trimmed.splitn(3, ':');
        let name = fields.next().unwrap_or_default();
        let hash = fields
            .next()
            .ok_or_else(|| error("expected user:hash[:groups]"))?;
        check_user_name(name).map_err(|m| error(&m))?;
        PasswordHash::new(hash).map_err(|e| error(&format!("not a PHC password hash: {e}")))?;
        let groups = fields
            .next()
            .map(|g| {
                g.split(',')
                    .map(str::trim)
                    .filter(|g| !g.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        out.push(Line::User(UserEntry {
            name: name.to_string(),
            hash: hash.to_string(),
            groups,
        }));
    }
    Ok(out)
}

/// Parses the whole file; duplicate user names: the first line wins.
pub(crate) fn parse(text: &str) -> Result<Vec<UserEntry>, ParseError> {
    Ok(parse_lines(text)?
        .into_iter()
        .filter_map(|l| match l {
            Line::User(u) => Some(u),
            Line::Other(_) => None,
        })
        .collect())
}

pub(crate) fn check_user_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("empty user name".into());
    }
    if name.len() > 256 {
        return Err("user name longer than 256 bytes".into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| *c == ':' || c.is_whitespace() || c.is_control())
    {
        return Err(format!("user name contains {c:?}"));
    }
    if name.starts_with('#') {
        return Err("user name starts with '#'".into());
    }
    Ok(())
}

/// argon2id with the crate's default (OWASP-recommended) parameters.
pub(crate) fn hash_password(password: &str) -> Result<String, ServerError> {
    hash_with(&Argon2::default(), password)
}

pub(crate) fn hash_with(argon: &Argon2<'_>, password: &str) -> Result<String, ServerError> {
    let mut salt = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut salt)
        .map_err(|_| ServerError::InvalidUser("no randomness available for a salt".into()))?;
    let salt = SaltString::encode_b64(&salt)
        .map_err(|e| ServerError::InvalidUser(format!("salt: {e}")))?;
    argon
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ServerError::InvalidUser(format!("cannot hash the password: {e}")))
}

/// Whether `password` matches the PHC `hash` (parameters come from the hash).
///
/// What `argon2`'s own `PasswordVerifier::verify_password` does (the tests
/// below hold the two verdicts equal), except for one step: the crate's
/// verifier allocates argon2's memory itself, so nothing can ask for huge
/// pages for it, and faulting that memory in 4 KiB at a time is most of the
/// system time of a login (see `openwmi_malloc::prefer_huge_pages`). Measured
/// with the ignored test `verify_faults_in_huge_pages`, the crate's verifier
/// takes several times the page faults and clearly more time per check; the
/// crate offers no verifier that takes the caller's memory, so the
/// parse-hash-compare steps are written here around
/// `hash_password_into_with_memory`.
pub(crate) fn verify(hash: &str, password: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(version), Ok(params)) = (
        argon2::Algorithm::try_from(parsed.algorithm),
        parsed
            .version
            .map(argon2::Version::try_from)
            .transpose()
            .map(Option::unwrap_or_default),
        argon2::Params::try_from(&parsed),
    ) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let mut blocks: Vec<argon2::Block> = Vec::with_capacity(params.block_count());
    openwmi_malloc::prefer_huge_pages(&mut blocks);
    blocks.resize(params.block_count(), argon2::Block::default());
    let mut computed = vec![0u8; expected.len()];
    let argon = Argon2::new(algorithm, version, params);
    if argon
        .hash_password_into_with_memory(password.as_bytes(), salt, &mut computed, &mut blocks)
        .is_err()
    {
        return false;
    }
    // `Output`'s equality takes the same time wherever the bytes differ.
    argon2::password_hash::Output::new(&computed).is_ok_and(|c| c == expected)
}

/// Adds `user` to the password file or changes its password (its groups are
/// kept), creating the file if needed. The file is replaced atomically
/// (temporary file + rename) with mode 0600.
pub fn passwd(users_file: &Path, user: &str, password: &str) -> Result<(), ServerError> {
    set_user(users_file, user, password, None)
}

/// Like [`passwd`], and with `groups` given, replaces the user's groups
/// (`openwmi passwd --groups openwmi-admins`).
pub fn set_user(
    users_file: &Path,
    user: &str,
    password: &str,
    groups: Option<&[String]>,
) -> Result<(), ServerError> {
    check_user_name(user)
        .map_err(|m| ServerError::InvalidUser(format!("invalid user name: {m}")))?;
    if password.is_empty() {
        return Err(ServerError::InvalidUser("empty password".into()));
    }
    for g in groups.unwrap_or(&[]) {
        if g.is_empty()
            || g.chars()
                .any(|c| c == ':' || c == ',' || c.is_whitespace() || c.is_control())
        {
            return Err(ServerError::InvalidUser(format!(
                "invalid group name {g:?}"
            )));
        }
    }
    let hash = hash_password(password)?;
    let text = match std::fs::read_to_string(users_file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            return Err(ServerError::io(
                format!("cannot read {}", users_file.display()),
                e,
            ))
        }
    };
    let lines = parse_lines(&text).map_err(|e| ServerError::UsersFile {
        path: users_file.to_path_buf(),
        line: e.line,
        message: e.message,
    })?;
    let mut out = String::with_capacity(text.len() + 128);
    let mut replaced = false;
    for line in lines {
        match line {
            Line::Other(raw) => out.push_str(raw),
            Line::User(entry) if entry.name == user && !replaced => {
                replaced = true;
                push_entry(&mut out, user, &hash, groups.unwrap_or(&entry.groups));
            }
            Line::User(entry) => push_entry(&mut out, &entry.name, &entry.hash, &entry.groups),
        }
        out.push('\n');
    }
    if !replaced {
        push_entry(&mut out, user, &hash, groups.unwrap_or(&[]));
        out.push('\n');
    }
    crate::tls::write_private(users_file, out.as_bytes())
}

fn push_entry(out: &mut String, user: &str, hash: &str, groups: &[String]) {
    out.push_str(user);
    out.push(':');
    out.push_str(hash);
    if !groups.is_empty() {
        out.push(':');
        out.push_str(&groups.join(","));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> Argon2<'static> {
        let params = argon2::Params::new(64, 1, 1, None).unwrap();
        Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
    }

    #[test]
    fn parses_users_groups_and_comments() {
        let hash = hash_with(&cheap(), "pw").unwrap();
        let text = format!("# users\n\nalice:{hash}:wheel, adm\nbob:{hash}\n");
        let users = parse(&text).unwrap();
        assert_eq!(users.len(), 2);
        assert_eq!(users[0].groups, vec!["wheel", "adm"]);
        assert!(users[1].groups.is_empty());
        assert!(verify(&users[0].hash, "pw"));
        assert!(!verify(&users[0].hash, "pW"));
    }

    /// `verify` gives argon2's own verdict (`PasswordVerifier`) for every
    /// algorithm, version, parameter set and output length, and for
    /// tampered hashes.
    #[test]
    fn verify_agrees_with_argon2s_own_verifier() {
        use argon2::password_hash::PasswordVerifier;
        use argon2::{Algorithm, Params, Version};
        let own = |hash: &str, password: &str| {
            PasswordHash::new(hash).is_ok_and(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
        };
        let mut hashes = vec![hash_password("pw").unwrap()];
        for algorithm in [Algorithm::Argon2id, Algorithm::Argon2i, Algorithm::Argon2d] {
            for version in [Version::V0x13, Version::V0x10] {
                for (m, t, p, len) in [
                    (64, 1, 1, None),
                    (256, 3, 2, Some(16)),
                    (128, 2, 1, Some(64)),
                ] {
                    let params = Params::new(m, t, p, len).unwrap();
                    hashes.push(hash_with(&Argon2::new(algorithm, version, params), "pw").unwrap());
                }
            }
        }
        // Without the version field (taken as the default, 0x13).
        hashes.push(hashes[1].replace("$v=19", ""));
        let mut tampered: Vec<String> = Vec::new();
        for h in &hashes {
            let last = h.chars().last().unwrap();
            let other = if last == 'A' { 'B' } else { 'A' };
            tampered.push(format!("{}{other}", &h[..h.len() - 1]));
            tampered.push(h.replace("m=64,", "m=65,"));
            tampered.push(h.replace("argon2id", "argon2i"));
            tampered.push(h[..h.len() - 4].to_string());
        }
        tampered.push("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ".into());
        tampered.push("not a hash".into());
        for h in hashes.iter().chain(&tampered) {
            for password in ["pw", "pW", "", "pw "] {
                assert_eq!(verify(h, password), own(h, password), "{h} / {password:?}");
            }
        }
        assert!(hashes.iter().all(|h| verify(h, "pw")));
    }

    #[test]
    fn errors_name_the_line() {
        let err = parse("# c\nalice\n").unwrap_err();
        assert_eq!(err.line, 2);
        let err = parse("alice:notahash\n").unwrap_err();
        assert_eq!(err.line, 1);
        assert!(err.message.contains("PHC"), "{}", err.message);
        assert!(parse(":$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaA\n").is_err());
    }

    #[test]
    fn user_names_are_checked() {
        assert!(check_user_name("alice").is_ok());
        for bad in ["", "a:b", "a b", "#x", "a\nb"] {
            assert!(check_user_name(bad).is_err(), "{bad:?}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        #[test]
        fn parsing_never_panics(text in "[ -~\n:,$#]{0,200}") {
            let _ = parse(&text);
        }
    }

    /// The measurement behind `verify`'s own memory: page faults and time
    /// per check, this module's `verify` against the crate's verifier, with
    /// the server's allocator settings. Run with
    /// `cargo test -p openwmi-server --config 'profile.dev.package.argon2.opt-level=3'
    /// --lib verify_faults_in_huge_pages -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement, not a check"]
    fn verify_faults_in_huge_pages() {
        use argon2::password_hash::PasswordVerifier;
        fn minor_faults() -> u64 {
            let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
            let after_name = &stat[stat.rfind(')').unwrap() + 2..];
            after_name
                .split_whitespace()
                .nth(7)
                .unwrap()
                .parse()
                .unwrap()
        }
        openwmi_malloc::return_large_blocks(openwmi_malloc::SERVER_MMAP_THRESHOLD);
        let hash = hash_password("pw").unwrap();
        let crates_own = |h: &str| {
            let parsed = PasswordHash::new(h).unwrap();
            Argon2::default().verify_password(b"pw", &parsed).is_ok()
        };
        let ours = |h: &str| verify(h, "pw");
        for round in 0..3 {
            for (name, check) in [
                ("ours", &ours as &dyn Fn(&str) -> bool),
                ("argon2's", &crates_own),
            ] {
                let n = 10;
                let faults = minor_faults();
                let start = std::time::Instant::now();
                for _ in 0..n {
                    assert!(check(&hash));
                }
                let time = start.elapsed() / n;
                let faults = (minor_faults() - faults) / u64::from(n);
                eprintln!(
                    "round {round}, {name} verify: {time:?} and {faults} page faults per check"
                );
            }
        }
    }
}
