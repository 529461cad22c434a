//! HTTP Basic authentication: credential checks against the users file and/or
//! PAM, a short-lived cache of successful checks, and per-client lockout
//! after repeated failures (a client: an IPv4 address or an IPv6 prefix).
//!
//! A locked-out client is refused without a check, even with the right
//! password, with one exception: credentials that are in the login cache
//! (proven within `auth_cache_ttl_secs`) keep being served, so that one
//! user's guesses do not stop another behind the same address (NAT,
//! loopback). Since a cache hit is itself an answer to a guess, that
//! exception holds only until the client has made `max_auth_failures` more
//! wrong guesses during the lockout.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use base64::Engine;
use http::HeaderValue;
use sha2::{Digest, Sha256};
use tokio::sync::{Notify, Semaphore};

use crate::config::{secs, AuthMode, ServerConfig};
use crate::conn::client_of;
use crate::users_file::{self, UserEntry};
use crate::{AuthenticatedUser, ServerError};

pub(crate) enum AuthOutcome {
    Accepted(AuthenticatedUser),
    /// No or wrong credentials: 401.
    Denied,
    /// Too many failures from this address: 429.
    LockedOut {
        retry_after: Duration,
    },
}

const MAX_CACHE_ENTRIES: usize = 4096;
const MAX_TRACKED_ADDRESSES: usize = 65536;

/// The users file as last read, and what tells whether it changed since.
struct UsersFileState {
    path: PathBuf,
    stamp: Option<FileStamp>,
    /// Digest of the contents last read: a rewrite that leaves the stamp
    /// as it was (within one timestamp tick) is told by its contents.
    digest: [u8; 32],
    /// When the contents were last read (see [`FileStamp::racy`]).
    read_at: SystemTime,
    entries: Vec<UserEntry>,
    /// Counts the changes of `entries`: a remembered login made with an
    /// older generation is checked against the current entry before use.
    generation: u64,
    /// The last reload error logged, so that a broken file is reported
    /// once, not on every request.
    last_error: Option<String>,
}

/// What `stat` says of the users file. The inode catches a replacement
/// (`openwmi passwd` renames a new file over it); the change time, which
/// no one can set back, catches an in-place edit whose modification time
/// was kept or set back (`cp -p`, `touch -r`); the length and both times
/// catch the rest, down to the file system's timestamp granularity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

/// A file written again within this long of its last read may keep its
/// stamp (coarse timestamps: one second on some file systems, two on FAT).
const RACY_WINDOW: Duration = Duration::from_secs(2);

impl FileStamp {
    fn of(meta: &std::fs::Metadata) -> FileStamp {
        use std::os::unix::fs::MetadataExt;
        FileStamp {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.size(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }

    /// Whether the file may have changed again since `read_at` without
    /// its stamp showing it: it was last changed too close to that read.
    /// (A modification time set far ahead does not count: the change
    /// time of the next write differs anyway.)
    fn racy(&self, read_at: SystemTime) -> bool {
        let changed = self.mtime.max(self.ctime);
        let secs = u64::try_from(changed.0).unwrap_or(0);
        let nanos = u32::try_from(changed.1).unwrap_or(0);
        let changed = SystemTime::UNIX_EPOCH + Duration::new(secs, nanos);
        changed + RACY_WINDOW >= read_at && changed <= read_at + RACY_WINDOW
    }
}

struct FailureRecord {
    window_start: Instant,
    count: u32,
    locked_until: Option<Instant>,
    /// Wrong guesses refused during the current lockout.
    refused_while_locked: u32,
}

/// What a password check on the pool came to.
enum Checked {
    Accepted(Verified),
    Denied,
    /// The client was locked out while the guess waited for a login slot.
    LockedOut(Duration),
}

pub(crate) struct Authenticator {
    mode: AuthMode,
    users: Option<Mutex<UsersFileState>>,
    pam_service: Option<String>,
    /// With PAM: the account files, whose change ends remembered PAM logins.
    accounts: Option<Mutex<AccountFiles>>,
    cache_secret: [u8; 32],
    cache_ttl: Duration,
    cache: Mutex<HashMap<[u8; 32], Remembered>>,
    max_failures: u32,
    failure_window: Duration,
    lockout: Duration,
    ipv6_prefix_len: u8,
    /// By client (see [`client_of`]).
    failures: Mutex<HashMap<IpAddr, FailureRecord>>,
    login_slots: Arc<Semaphore>,
    /// Credentials being checked now: requests carrying the same ones wait
    /// for that check (and then find its verdict in the cache) instead of
    /// each running argon2 (19 MiB and ~30 ms apiece) when a client's
    /// cached login expires under load.
    checking: Mutex<HashMap<[u8; 32], Arc<Notify>>>,
    /// Password checks run so far (argon2 or PAM).
    checks: AtomicU64,
}

/// A successful login, by the salted digest of its credentials.
struct Remembered {
    user: AuthenticatedUser,
    expires: Instant,
    /// The users file's generation this login was last checked against
    /// (see [`UsersFileState::generation`]).
    generation: u64,
    /// For a PAM login: the account files' generation when PAM said yes.
    accounts: u64,
    /// The users file's hash the password was verified against (`None`
    /// for PAM). Once `expires` has passed, the same credentials against
    /// the same hash are accepted without running argon2 again: it would
    /// say yes again. Only a changed (or removed) entry costs a new check.
    verified_against: Option<String>,
}

/// The check of one set of credentials (see `Authenticator::checking`):
/// when it ends, also by the request being dropped half way (a timeout, a
/// client gone), its entry goes and whoever waits for it wakes.
struct RunningCheck<'a> {
    auth: &'a Authenticator,
    key: [u8; 32],
}

impl Drop for RunningCheck<'_> {
    fn drop(&mut self) {
        if let Some(done) = self.auth.checking.lock().unwrap().remove(&self.key) {
            done.notify_waiters();
        }
    }
}

impl Authenticator {
    pub(crate) fn new(config: &ServerConfig) -> Result<Authenticator, ServerError> {
        let users = match &config.users_file {
            Some(path) if config.auth == AuthMode::Basic => {
                let mut state = UsersFileState {
                    path: path.clone(),
                    stamp: None,
                    digest: [0; 32],
                    read_at: SystemTime::UNIX_EPOCH,
                    entries: Vec::new(),
                    generation: 0,
                    last_error: None,
                };
                state.reload()?;
                Some(Mutex::new(state))
            }
            _ => None,
        };
        let mut cache_secret = [0u8; 32];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut cache_secret)
            .map_err(|_| ServerError::Config("no randomness available".into()))?;
        let limits = &config.limits;
        Ok(Authenticator {
            mode: config.auth,
            users,
            pam_service: config.pam_enabled().then(|| config.pam_service.clone()),
            accounts: config
                .pam_enabled()
                .then(|| Mutex::new(AccountFiles::new(&ACCOUNT_FILES))),
            cache_secret,
            cache_ttl: secs(limits.auth_cache_ttl_secs),
            cache: Mutex::new(HashMap::new()),
            max_failures: limits.max_auth_failures,
            failure_window: secs(limits.auth_failure_window_secs),
            lockout: secs(limits.auth_lockout_secs),
            ipv6_prefix_len: limits.ipv6_prefix_len,
            failures: Mutex::new(HashMap::new()),
            login_slots: Arc::new(Semaphore::new(limits.max_concurrent_logins)),
            checking: Mutex::new(HashMap::new()),
            checks: AtomicU64::new(0),
        })
    }

    pub(crate) async fn authenticate(
        self: &Arc<Self>,
        authorization: Option<&HeaderValue>,
        peer: IpAddr,
    ) -> AuthOutcome {
        if self.mode == AuthMode::None {
            return AuthOutcome::Accepted(AuthenticatedUser::anonymous());
        }
        let client = client_of(peer, self.ipv6_prefix_len);
        let credentials = authorization.and_then(parse_basic);
        let key = credentials
            .as_ref()
            .map(|c| self.cache_key(c.user(), c.password()));
        if let Some(retry_after) = self.locked_out(client) {
            if let Some(key) = &key {
                if let Some(found) = self.cached_despite_lockout(key, client) {
                    return AuthOutcome::Accepted(found);
                }
            }
            return AuthOutcome::LockedOut { retry_after };
        }
        let (Some(credentials), Some(key)) = (credentials, key) else {
            // Not a guess: clients may probe without credentials first.
            return AuthOutcome::Denied;
        };
        let check = loop {
            if let Some(found) = self.cached(&key) {
                return AuthOutcome::Accepted(found);
            }
            // One check of the same credentials at a time: the others wait
            // for its verdict, which a success leaves in the cache.
            let running = {
                let mut checking = self.checking.lock().unwrap();
                match checking.get(&key) {
                    Some(done) => Some(Arc::clone(done)),
                    None => {
                        checking.insert(key, Arc::new(Notify::new()));
                        None
                    }
                }
            };
            let Some(done) = running else {
                break RunningCheck { auth: self, key };
            };
            // A Notified receives notify_waiters from the moment it exists;
            // the check ends (and notifies) under the lock, so if it still
            // runs now, this one will hear of its end.
            let finished = done.notified();
            let still_running = self
                .checking
                .lock()
                .unwrap()
                .get(&key)
                .is_some_and(|d| Arc::ptr_eq(d, &done));
            if still_running {
                finished.await;
                // Its check may have been the guess that locked this client out.
                if let Some(retry_after) = self.locked_out(client) {
                    return AuthOutcome::LockedOut { retry_after };
                }
            }
        };
        let outcome = match self.check_on_pool(key, credentials, peer, client).await {
            Checked::Accepted(verified) => {
                let found = verified.user.clone();
                self.remember(key, verified);
                self.failures.lock().unwrap().remove(&client);
                AuthOutcome::Accepted(found)
            }
            Checked::Denied => AuthOutcome::Denied,
            Checked::LockedOut(retry_after) => AuthOutcome::LockedOut { retry_after },
        };
        // Only now, with the verdict cached, are the waiters woken.
        drop(check);
        outcome
    }

    /// The password check on a blocking thread, at most
    /// `max_concurrent_logins` at a time: the thread keeps the slot, so a
    /// request dropped meanwhile does not let another check start beside
    /// the one still running.
    ///
    /// A guess that waited for its slot while its client got locked out is
    /// refused unchecked, and a failure is recorded before the slot goes:
    /// so once the lockout starts, only the checks already running finish,
    /// however many guesses queue up (at most `max_auth_failures` +
    /// `max_concurrent_logins` - 1 checks per lockout).
    async fn check_on_pool(
        self: &Arc<Self>,
        key: [u8; 32],
        credentials: Credentials,
        peer: IpAddr,
        client: IpAddr,
    ) -> Checked {
        let Ok(slot) = self.login_slots.clone().acquire_owned().await else {
            return Checked::Denied;
        };
        let this = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            if let Some(retry_after) = this.locked_out(client) {
                return Checked::LockedOut(retry_after);
            }
            match this.check(&key, credentials.user(), credentials.password(), peer) {
                Some(verified) => Checked::Accepted(verified),
                None => {
                    let user = credentials.user();
                    tracing::warn!(user = %user.escape_debug(), %peer, "login failed");
                    crate::stats::record_auth_failure();
                    this.record_failure(client);
                    Checked::Denied
                }
            }
        })
        .await
        .unwrap_or(Checked::Denied)
    }

    /// Password checks (argon2 or PAM) run so far.
    pub(crate) fn checks_run(&self) -> u64 {
        self.checks.load(Ordering::Relaxed)
    }

    /// Blocking: argon2 or PAM.
    fn check(&self, key: &[u8; 32], user: &str, password: &str, peer: IpAddr) -> Option<Verified> {
        let mut generation = 0;
        if let Some(users) = &self.users {
            let (entry, decoy) = {
                let mut state = users.lock().unwrap();
                state.refresh();
                generation = state.generation;
                let entry = state.entry(user).cloned();
                (entry, state.entries.first().map(|e| e.hash.clone()))
            };
            if let Some(entry) = entry {
                let verified = self.verified_before(key, &entry.hash) || {
                    self.checks.fetch_add(1, Ordering::Relaxed);
                    users_file::verify(&entry.hash, password)
                };
                let found = AuthenticatedUser {
                    name: entry.name.into(),
                    uid: None,
                    groups: entry.groups.into(),
                };
                return verified.then_some(Verified {
                    user: found,
                    verified_against: Some(entry.hash),
                    generation,
                    accounts: 0,
                });
            }
            if self.pam_service.is_none() {
                // Same work as for a known user, so that timing does not tell
                // which user names exist.
                self.checks.fetch_add(1, Ordering::Relaxed);
                let decoy = decoy.unwrap_or_else(|| decoy_hash().to_string());
                let _ = users_file::verify(&decoy, password);
                return None;
            }
        }
        let service = self.pam_service.as_deref()?;
        let accounts = self.accounts.as_ref().map_or(0, |a| {
            let mut files = a.lock().unwrap();
            files.refresh();
            files.generation
        });
        self.checks.fetch_add(1, Ordering::Relaxed);
        crate::pam_backend::authenticate(service, user, password, peer).map(|found| Verified {
            user: found,
            verified_against: None,
            generation,
            accounts,
        })
    }

    /// Whether these credentials (`key`) were verified against this very
    /// hash before, their remembered login expired or not.
    fn verified_before(&self, key: &[u8; 32], hash: &str) -> bool {
        self.cache
            .lock()
            .unwrap()
            .get(key)
            .is_some_and(|r| r.verified_against.as_deref() == Some(hash))
    }

    fn cache_key(&self, user: &str, password: &str) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(self.cache_secret);
        hasher.update((user.len() as u64).to_le_bytes());
        hasher.update(user.as_bytes());
        hasher.update(password.as_bytes());
        hasher.finalize().into()
    }

    /// A remembered login still good: not expired, and, when the users file
    /// changed since it was checked, still what the file says (the same
    /// hash; the groups are taken from the file). A login whose entry
    /// changed or went is forgotten at once, not when it expires; so is a
    /// PAM login once the account files changed (PAM is asked again).
    fn cached(&self, key: &[u8; 32]) -> Option<AuthenticatedUser> {
        if self.cache_ttl.is_zero() {
            return None;
        }
        // Lock order: the users file, the account files, then the cache.
        let mut users = self.users.as_ref().map(|u| u.lock().unwrap());
        if let Some(state) = users.as_deref_mut() {
            state.refresh();
        }
        let accounts = self.accounts.as_ref().map(|a| {
            let mut files = a.lock().unwrap();
            files.refresh();
            files.generation
        });
        let mut cache = self.cache.lock().unwrap();
        let remembered = cache.get_mut(key)?;
        if Instant::now() >= remembered.expires {
            return None;
        }
        let accounts_changed = remembered.verified_against.is_none()
            && accounts.is_some_and(|a| a != remembered.accounts);
        let users_file_changed = users.as_deref().is_some_and(|state| {
            remembered.generation != state.generation && !remembered.revalidate(state)
        });
        if accounts_changed || users_file_changed {
            cache.remove(key);
            return None;
        }
        Some(remembered.user.clone())
    }

    fn remember(&self, key: [u8; 32], verified: Verified) {
        if self.cache_ttl.is_zero() {
            return;
        }
        let now = Instant::now();
        let mut cache = self.cache.lock().unwrap();
        if cache.len() >= MAX_CACHE_ENTRIES {
            cache.retain(|_, r| r.expires > now);
            if cache.len() >= MAX_CACHE_ENTRIES {
                cache.clear();
            }
        }
        cache.insert(
            key,
            Remembered {
                user: verified.user,
                expires: now + self.cache_ttl,
                generation: verified.generation,
                accounts: verified.accounts,
                verified_against: verified.verified_against,
            },
        );
    }

    fn locked_out(&self, client: IpAddr) -> Option<Duration> {
        let failures = self.failures.lock().unwrap();
        let until = failures.get(&client)?.locked_until?;
        until
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
    }

    /// For a locked-out client: the login these exact credentials proved
    /// within the cache's lifetime, unless the client has guessed wrong
    /// too often during this lockout (each miss here is one more guess).
    fn cached_despite_lockout(&self, key: &[u8; 32], client: IpAddr) -> Option<AuthenticatedUser> {
        // Counted as a miss before the look-up (and given back on a hit), so
        // that concurrent guesses cannot get past the count, and without
        // holding one lock while taking the other.
        {
            let mut failures = self.failures.lock().unwrap();
            let record = failures.get_mut(&client)?;
            if record.refused_while_locked >= self.max_failures {
                return None;
            }
            record.refused_while_locked += 1;
        }
        let found = self.cached(key)?;
        if let Some(record) = self.failures.lock().unwrap().get_mut(&client) {
            record.refused_while_locked = record.refused_while_locked.saturating_sub(1);
        }
        Some(found)
    }

    fn record_failure(&self, client: IpAddr) {
        if self.max_failures == 0 {
            return;
        }
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap();
        if failures.len() >= MAX_TRACKED_ADDRESSES && !failures.contains_key(&client) {
            let window = self.failure_window.max(self.lockout);
            failures.retain(|_, r| now.duration_since(r.window_start) < window);
        }
        let record = failures.entry(client).or_insert(FailureRecord {
            window_start: now,
            count: 0,
            locked_until: None,
            refused_while_locked: 0,
        });
        if now.duration_since(record.window_start) > self.failure_window {
            record.window_start = now;
            record.count = 0;
        }
        record.count += 1;
        if record.count >= self.max_failures {
            tracing::warn!(%client, "too many failed logins; refusing this address for a while");
            crate::stats::record_lockout();
            record.locked_until = Some(now + self.lockout);
            record.refused_while_locked = 0;
            record.count = 0;
            record.window_start = now;
        }
    }
}

/// A password check that succeeded.
struct Verified {
    user: AuthenticatedUser,
    /// See [`Remembered::verified_against`].
    verified_against: Option<String>,
    /// The users file's generation the check read (0 without a users file).
    generation: u64,
    /// See [`Remembered::accounts`].
    accounts: u64,
}

/// Where the usual PAM modules and NSS find an account, its password and
/// its groups. Accounts kept elsewhere (LDAP, sssd) are only asked again
/// when their remembered login expires.
const ACCOUNT_FILES: [&str; 3] = ["/etc/passwd", "/etc/shadow", "/etc/group"];

/// The stamps of the account files (`None`: missing or unreadable).
/// The tools that change them (passwd, usermod, gpasswd, vipw) write a new
/// file and rename it, so the inode alone tells a change.
struct AccountFiles {
    paths: Vec<PathBuf>,
    stamps: Vec<Option<FileStamp>>,
    generation: u64,
}

impl AccountFiles {
    fn new(paths: &[&str]) -> AccountFiles {
        let mut files = AccountFiles {
            paths: paths.iter().map(PathBuf::from).collect(),
            stamps: Vec::new(),
            generation: 0,
        };
        files.refresh();
        files
    }

    fn refresh(&mut self) {
        let stamps: Vec<Option<FileStamp>> = self
            .paths
            .iter()
            .map(|p| std::fs::metadata(p).ok().map(|m| FileStamp::of(&m)))
            .collect();
        if stamps != self.stamps {
            self.stamps = stamps;
            self.generation += 1;
        }
    }
}

impl Remembered {
    /// Brings a login checked against an older users file up to date:
    /// false when it no longer holds (its entry went or has another hash;
    /// a PAM login whose name the file now has).
    fn revalidate(&mut self, state: &UsersFileState) -> bool {
        let entry = state.entry(&self.user.name);
        match (self.verified_against.as_deref(), entry) {
            (Some(hash), Some(entry)) if entry.hash == hash => {
                if *self.user.groups != *entry.groups {
                    self.user.groups = entry.groups.clone().into();
                }
            }
            (None, None) => {}
            _ => return false,
        }
        self.generation = state.generation;
        true
    }
}

impl UsersFileState {
    fn entry(&self, name: &str) -> Option<&UserEntry> {
        self.entries.iter().find(|e| e.name == name)
    }

    /// [`reload`](Self::reload), keeping the previous contents when the
    /// file cannot be used (logged once per distinct error).
    fn refresh(&mut self) {
        match self.reload() {
            Ok(()) => self.last_error = None,
            Err(e) => {
                let message = e.to_string();
                if self.last_error.as_deref() != Some(&message) {
                    tracing::error!(error = %message, "users file unusable; keeping the previous contents");
                    self.last_error = Some(message);
                }
            }
        }
    }

    /// Reads the file again if its stamp changed, or may have changed
    /// unseen (see [`FileStamp::racy`]); a `stat` otherwise.
    fn reload(&mut self) -> Result<(), ServerError> {
        let cannot_read =
            |e: std::io::Error| ServerError::io(format!("cannot read {}", self.path.display()), e);
        let meta = std::fs::metadata(&self.path).map_err(cannot_read)?;
        let stamp = FileStamp::of(&meta);
        if self.stamp == Some(stamp) && !stamp.racy(self.read_at) {
            return Ok(());
        }
        crate::tls::refuse_if_others_can_write(&self.path, &meta, "users file")?;
        let read_at = SystemTime::now();
        let text = std::fs::read_to_string(&self.path).map_err(cannot_read)?;
        let digest: [u8; 32] = Sha256::digest(text.as_bytes()).into();
        if self.stamp.is_none() || digest != self.digest {
            let entries = users_file::parse(&text).map_err(|e| ServerError::UsersFile {
                path: self.path.clone(),
                line: e.line,
                message: e.message,
            })?;
            self.entries = entries;
            self.digest = digest;
            self.generation += 1;
        }
        self.stamp = Some(stamp);
        self.read_at = read_at;
        Ok(())
    }
}

/// A hash to verify against when the users file is empty (computed on first
/// need, never at start-up).
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| users_file::hash_password("decoy").unwrap_or_default())
}

/// `Basic base64(user:password)` -> (user, password).
/// `user:password` from a Basic `Authorization` header, decoded once and
/// kept in one string (parsed for every request, most of them answered from
/// the login cache).
#[derive(PartialEq, Eq)]
pub(crate) struct Credentials {
    decoded: String,
    colon: usize,
}

impl Credentials {
    pub(crate) fn user(&self) -> &str {
        &self.decoded[..self.colon]
    }

    pub(crate) fn password(&self) -> &str {
        &self.decoded[self.colon + 1..]
    }
}

/// Never shows the password.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user())
            .finish_non_exhaustive()
    }
}

pub(crate) fn parse_basic(value: &HeaderValue) -> Option<Credentials> {
    let text = value.to_str().ok()?.trim();
    let (scheme, encoded) = text.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let colon = decoded.find(':')?;
    let credentials = Credentials { decoded, colon };
    let (user, password) = (credentials.user(), credentials.password());
    if user.is_empty() || user.len() > 256 || password.len() > 4096 {
        return None;
    }
    Some(credentials)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user: &str, password: &str) -> HeaderValue {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        HeaderValue::from_str(&format!("Basic {token}")).unwrap()
    }

    /// A users file with alice, password `s3cret-pw`, hashed with the
    /// default (slow: ~30 ms) parameters so that concurrent requests overlap.
    fn alice_with_a_slow_hash(
        adjust: impl FnOnce(&mut ServerConfig),
    ) -> (tempfile::TempDir, Arc<Authenticator>) {
        let dir = tempfile::tempdir().unwrap();
        let users = dir.path().join("users");
        let hash = users_file::hash_password("s3cret-pw").unwrap();
        std::fs::write(&users, format!("alice:{hash}\n")).unwrap();
        let mut config = ServerConfig {
            users_file: Some(users),
            ..ServerConfig::default()
        };
        adjust(&mut config);
        (dir, Arc::new(Authenticator::new(&config).unwrap()))
    }

    /// Under load, a client's cached login expired and each of its
    /// connections ran argon2 again (19 MiB apiece): 28 MB of RSS at one
    /// connection in scripts/bench-server, more at four.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn regression_requests_with_the_same_credentials_share_one_check() {
        let (_dir, auth) = alice_with_a_slow_hash(|_| {});
        let peer: IpAddr = "127.0.0.1".parse().unwrap();
        let attempt = |password: &'static str| {
            let auth = Arc::clone(&auth);
            tokio::spawn(async move {
                let header = basic("alice", password);
                matches!(
                    auth.authenticate(Some(&header), peer).await,
                    AuthOutcome::Accepted(_)
                )
            })
        };
        let right: Vec<_> = (0..6).map(|_| attempt("s3cret-pw")).collect();
        for t in right {
            assert!(t.await.unwrap());
        }
        assert_eq!(auth.checks_run(), 1);
        // Wrong passwords are not cached: each is a guess of its own.
        let wrong: Vec<_> = (0..2).map(|_| attempt("guess")).collect();
        for t in wrong {
            assert!(!t.await.unwrap());
        }
        assert_eq!(auth.checks_run(), 3);
        assert!(auth.checking.lock().unwrap().is_empty());
    }

    /// Under load, every minute a client's remembered login expired and its
    /// password went through argon2 again: 19 MiB on top of the server's
    /// 10 (29.4 MB in scripts/bench-server, against a target of 30) and a
    /// 30 ms stall, to learn what argon2 had said already. Now only a
    /// changed or removed entry in the users file costs a new check.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn regression_an_expired_login_with_an_unchanged_hash_is_renewed_without_argon2() {
        let (dir, auth) = alice_with_a_slow_hash(|c| c.limits.auth_cache_ttl_secs = 0.05);
        let peer: IpAddr = "127.0.0.1".parse().unwrap();
        let login = |password: &str| {
            let auth = Arc::clone(&auth);
            let header = basic("alice", password);
            async move {
                match auth.authenticate(Some(&header), peer).await {
                    AuthOutcome::Accepted(user) => Some(user.groups.to_vec()),
                    _ => None,
                }
            }
        };
        let expire = || tokio::time::sleep(Duration::from_millis(80));
        assert!(login("s3cret-pw").await.is_some());
        assert_eq!(auth.checks_run(), 1);
        for _ in 0..3 {
            expire().await;
            assert!(login("s3cret-pw").await.is_some());
        }
        assert_eq!(auth.checks_run(), 1, "renewed without argon2");

        // New groups, the same hash: renewed without a check, with the
        // file's groups.
        let users = dir.path().join("users");
        let same_hash = std::fs::read_to_string(&users).unwrap();
        std::fs::write(&users, format!("{}:admins\n", same_hash.trim_end())).unwrap();
        expire().await;
        assert_eq!(login("s3cret-pw").await, Some(vec!["admins".to_string()]));
        assert_eq!(auth.checks_run(), 1, "the same hash: no new check");

        // A new password: the old one fails, the new one is checked once.
        let new_hash = users_file::hash_password("n3w-pw").unwrap();
        std::fs::write(&users, format!("alice:{new_hash}\n")).unwrap();
        expire().await;
        assert_eq!(login("s3cret-pw").await, None);
        assert_eq!(auth.checks_run(), 2);
        assert!(login("n3w-pw").await.is_some());
        assert_eq!(auth.checks_run(), 3);

        // A removed user is refused, however recent the login.
        std::fs::write(&users, format!("bob:{new_hash}\n")).unwrap();
        expire().await;
        assert_eq!(login("n3w-pw").await, None);
    }

    /// A users file with alice (password `old-pw`, in group
    /// `openwmi-admins`) and bob, hashed cheaply, and logins remembered
    /// for a minute (the default).
    fn alice_and_bob() -> (tempfile::TempDir, PathBuf, Arc<Authenticator>) {
        let dir = tempfile::tempdir().unwrap();
        let users = dir.path().join("users");
        std::fs::write(
            &users,
            format!(
                "alice:{}:openwmi-admins\nbob:{}\n",
                cheap_hash("old-pw"),
                cheap_hash("bob-pw")
            ),
        )
        .unwrap();
        let config = ServerConfig {
            users_file: Some(users.clone()),
            ..ServerConfig::default()
        };
        let auth = Arc::new(Authenticator::new(&config).unwrap());
        (dir, users, auth)
    }

    fn cheap_hash(password: &str) -> String {
        let params = argon2::Params::new(64, 1, 1, None).unwrap();
        let argon =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        users_file::hash_with(&argon, password).unwrap()
    }

    /// The groups of a login, or `None` when it is refused.
    async fn login(auth: &Arc<Authenticator>, user: &str, password: &str) -> Option<Vec<String>> {
        let peer: IpAddr = "127.0.0.1".parse().unwrap();
        match auth.authenticate(Some(&basic(user, password)), peer).await {
            AuthOutcome::Accepted(found) => Some(found.groups.to_vec()),
            _ => None,
        }
    }

    fn admins() -> Option<Vec<String>> {
        Some(vec!["openwmi-admins".to_string()])
    }

    /// A changed password went on working for the rest of the cached
    /// login's minute.
    #[tokio::test]
    async fn regression_a_changed_password_ends_the_cached_login_at_once() {
        let (_dir, users, auth) = alice_and_bob();
        assert_eq!(login(&auth, "alice", "old-pw").await, admins());
        assert!(login(&auth, "bob", "bob-pw").await.is_some());
        let text = std::fs::read_to_string(&users).unwrap();
        let old = text
            .lines()
            .next()
            .unwrap()
            .split(':')
            .nth(1)
            .unwrap()
            .to_string();
        std::fs::write(&users, text.replace(&old, &cheap_hash("new-pw"))).unwrap();
        assert_eq!(login(&auth, "alice", "old-pw").await, None);
        assert_eq!(login(&auth, "alice", "new-pw").await, admins());
        // Bob's entry did not change: his login is still remembered.
        let checks = auth.checks_run();
        assert!(login(&auth, "bob", "bob-pw").await.is_some());
        assert_eq!(auth.checks_run(), checks);
    }

    /// A user removed from the users file went on working for the rest of
    /// the cached login's minute.
    #[tokio::test]
    async fn regression_a_removed_user_ends_the_cached_login_at_once() {
        let (_dir, users, auth) = alice_and_bob();
        assert!(login(&auth, "alice", "old-pw").await.is_some());
        let text = std::fs::read_to_string(&users).unwrap();
        let bob_only: String = text.lines().skip(1).map(|l| format!("{l}\n")).collect();
        std::fs::write(&users, bob_only).unwrap();
        assert_eq!(login(&auth, "alice", "old-pw").await, None);
    }

    /// A user taken out of `openwmi-admins` kept the group for the rest of
    /// the cached login's minute. Only the groups changed: no new
    /// password check is needed.
    #[tokio::test]
    async fn regression_a_user_taken_out_of_a_group_loses_it_at_once() {
        let (_dir, users, auth) = alice_and_bob();
        assert_eq!(login(&auth, "alice", "old-pw").await, admins());
        let checks = auth.checks_run();
        let text = std::fs::read_to_string(&users).unwrap();
        std::fs::write(&users, text.replace(":openwmi-admins", "")).unwrap();
        assert_eq!(login(&auth, "alice", "old-pw").await, Some(Vec::new()));
        assert_eq!(auth.checks_run(), checks);
    }

    /// The users file's stamp was its modification time and length: a new
    /// hash of the same length written within the same timestamp (here:
    /// the modification time set back, as `cp -p` or `touch -r` do) went
    /// unseen, by the cache and by the password check alike.
    #[tokio::test]
    async fn regression_a_same_length_hash_in_the_same_second_is_seen() {
        let (_dir, users, auth) = alice_and_bob();
        assert!(login(&auth, "alice", "old-pw").await.is_some());
        let before = std::fs::metadata(&users).unwrap();
        let text = std::fs::read_to_string(&users).unwrap();
        let old = text
            .lines()
            .next()
            .unwrap()
            .split(':')
            .nth(1)
            .unwrap()
            .to_string();
        let new = cheap_hash("new-pw");
        assert_eq!(old.len(), new.len());
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&users)
            .unwrap();
        std::io::Write::write_all(&mut &file, text.replace(&old, &new).as_bytes()).unwrap();
        file.set_modified(before.modified().unwrap()).unwrap();
        drop(file);
        let after = std::fs::metadata(&users).unwrap();
        assert_eq!(
            (after.modified().unwrap(), after.len()),
            (before.modified().unwrap(), before.len())
        );
        assert_eq!(login(&auth, "alice", "old-pw").await, None);
        assert_eq!(login(&auth, "alice", "new-pw").await, admins());
    }

    /// On a file system whose timestamps are coarser than the rewrites,
    /// the whole stamp stays the same: a file read within that long of its
    /// last change is read again (and its contents compared) until it has
    /// been still for a while.
    #[test]
    fn a_rewrite_that_keeps_the_whole_stamp_is_seen_by_its_contents() {
        let (_dir, users, auth) = alice_and_bob();
        let state = auth.users.as_ref().unwrap();
        let generation = state.lock().unwrap().generation;
        let text = std::fs::read_to_string(&users).unwrap();
        std::fs::write(&users, text.replace("bob:", "bOb:")).unwrap();
        let mut state = state.lock().unwrap();
        // As if the rewrite had left every field of the stamp as it was.
        state.stamp = Some(FileStamp::of(&std::fs::metadata(&users).unwrap()));
        state.refresh();
        assert_eq!(state.generation, generation + 1);
        assert!(state.entry("bOb").is_some());
        // A file long still is only stat'ed.
        let stamp = state.stamp.unwrap();
        assert!(stamp.racy(SystemTime::now()));
        assert!(!stamp.racy(SystemTime::now() + RACY_WINDOW * 2));
        assert!(!stamp.racy(SystemTime::now() - RACY_WINDOW * 2));
    }

    /// The users file is checked whoever wrote it: one every user can
    /// write would let anyone give themselves a login.
    #[test]
    fn regression_a_users_file_others_can_write_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let (_dir, users, _auth) = alice_and_bob();
        std::fs::set_permissions(&users, std::fs::Permissions::from_mode(0o666)).unwrap();
        let config = ServerConfig {
            users_file: Some(users.clone()),
            ..ServerConfig::default()
        };
        let error = Authenticator::new(&config).err().unwrap().to_string();
        assert!(error.contains("refusing the users file"), "{error}");
        assert!(error.contains("o-w"), "{error}");
        // Group-writable is only warned about.
        std::fs::set_permissions(&users, std::fs::Permissions::from_mode(0o660)).unwrap();
        Authenticator::new(&config).unwrap();
    }

    /// A PAM login (a changed password, an account removed, a group
    /// taken away) went on working for the rest of the cached minute.
    /// PAM cannot be asked in a test: the login is remembered as PAM's
    /// check would leave it, and the account files are the test's own.
    #[tokio::test]
    async fn regression_a_pam_login_ends_when_the_account_files_change() {
        let dir = tempfile::tempdir().unwrap();
        let group = dir.path().join("group");
        std::fs::write(&group, "openwmi-admins:x:990:carol\n").unwrap();
        let config = ServerConfig {
            pam: Some(true),
            ..ServerConfig::default()
        };
        let mut auth = Authenticator::new(&config).unwrap();
        let group_path = group.to_str().unwrap();
        auth.accounts = Some(Mutex::new(AccountFiles::new(&[group_path])));
        let key = auth.cache_key("carol", "pw");
        auth.remember(
            key,
            Verified {
                user: AuthenticatedUser {
                    name: "carol".into(),
                    uid: Some(1000),
                    groups: vec!["openwmi-admins".to_string()].into(),
                },
                verified_against: None,
                generation: 0,
                accounts: auth.accounts.as_ref().unwrap().lock().unwrap().generation,
            },
        );
        assert!(auth.cached(&key).is_some());
        assert!(auth.cached(&key).is_some());
        // As gpasswd -d does: a new file renamed over the old one.
        let new = dir.path().join("group.new");
        std::fs::write(&new, "openwmi-admins:x:990:\n").unwrap();
        std::fs::rename(&new, &group).unwrap();
        assert!(auth.cached(&key).is_none());
        assert!(auth.cache.lock().unwrap().is_empty());
    }

    /// Requests queued behind a wrong guess from an address that it locks
    /// out are refused without a check of their own.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lockout_stops_the_guesses_waiting_behind_it() {
        let (_dir, auth) = alice_with_a_slow_hash(|c| c.limits.max_auth_failures = 1);
        let peer: IpAddr = "127.0.0.1".parse().unwrap();
        let guesses: Vec<_> = (0..4)
            .map(|_| {
                let auth = Arc::clone(&auth);
                tokio::spawn(async move {
                    let header = basic("alice", "guess");
                    match auth.authenticate(Some(&header), peer).await {
                        AuthOutcome::Accepted(_) => "accepted",
                        AuthOutcome::Denied => "denied",
                        AuthOutcome::LockedOut { .. } => "locked out",
                    }
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for g in guesses {
            outcomes.push(g.await.unwrap());
        }
        outcomes.sort_unstable();
        assert_eq!(
            outcomes,
            ["denied", "locked out", "locked out", "locked out"]
        );
        assert_eq!(auth.checks_run(), 1);
    }

    /// The lockout was keyed on the exact address: whoever has an IPv6 /64
    /// could guess on from each of its 2^64 addresses. A client is now its
    /// `ipv6_prefix_len` network.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn regression_the_lockout_covers_an_ipv6_prefix() {
        use argon2::password_hash::{PasswordHasher, SaltString};
        let params = argon2::Params::new(64, 1, 1, None).unwrap();
        let argon =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let hash = argon
            .hash_password(b"s3cret-pw", &salt)
            .unwrap()
            .to_string();
        let dir = tempfile::tempdir().unwrap();
        let users = dir.path().join("users");
        std::fs::write(&users, format!("alice:{hash}\n")).unwrap();
        let outcome = |auth: &Arc<Authenticator>, peer: &str, password: &str| {
            let auth = Arc::clone(auth);
            let peer: IpAddr = peer.parse().unwrap();
            let header = basic("alice", password);
            async move {
                match auth.authenticate(Some(&header), peer).await {
                    AuthOutcome::Accepted(_) => "accepted",
                    AuthOutcome::Denied => "denied",
                    AuthOutcome::LockedOut { .. } => "locked out",
                }
            }
        };
        for (prefix, neighbour) in [(64, "locked out"), (128, "denied")] {
            let mut config = ServerConfig {
                users_file: Some(users.clone()),
                ..ServerConfig::default()
            };
            config.limits.max_auth_failures = 1;
            config.limits.ipv6_prefix_len = prefix;
            let auth = Arc::new(Authenticator::new(&config).unwrap());
            assert_eq!(outcome(&auth, "2001:db8::1", "guess").await, "denied");
            assert_eq!(
                outcome(&auth, "2001:db8::ffff:2", "guess").await,
                neighbour,
                "/{prefix}"
            );
            assert_eq!(outcome(&auth, "2001:db8:0:1::1", "guess").await, "denied");
            assert_eq!(outcome(&auth, "10.0.0.1", "s3cret-pw").await, "accepted");
        }
        // An IPv4-mapped address is the IPv4 client.
        let mut config = ServerConfig {
            users_file: Some(users.clone()),
            ..ServerConfig::default()
        };
        config.limits.max_auth_failures = 1;
        let auth = Arc::new(Authenticator::new(&config).unwrap());
        assert_eq!(outcome(&auth, "10.0.0.1", "guess").await, "denied");
        assert_eq!(
            outcome(&auth, "::ffff:10.0.0.1", "s3cret-pw").await,
            "locked out"
        );
    }

    /// A request dropped while it waits for, or runs, a check (a timeout, a
    /// client gone) leaves no queue behind.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dropped_requests_leave_no_check_queue() {
        let (_dir, auth) = alice_with_a_slow_hash(|_| {});
        let peer: IpAddr = "127.0.0.1".parse().unwrap();
        let header = basic("alice", "s3cret-pw");
        for _ in 0..3 {
            let first = auth.authenticate(Some(&header), peer);
            let second = auth.authenticate(Some(&header), peer);
            let both = async { tokio::join!(first, second) };
            assert!(
                tokio::time::timeout(Duration::from_millis(1), both)
                    .await
                    .is_err(),
                "a check took under a millisecond"
            );
        }
        assert!(auth.checking.lock().unwrap().is_empty());
    }

    #[test]
    fn basic_header_parsing() {
        let value = HeaderValue::from_static("Basic YWxpY2U6cDpzcw==");
        let c = parse_basic(&value).unwrap();
        assert_eq!((c.user(), c.password()), ("alice", "p:ss"));
        assert_eq!(format!("{c:?}"), "Credentials { user: \"alice\", .. }");
        let value = HeaderValue::from_static("basic   YWxpY2U6cDpzcw==");
        assert_eq!(parse_basic(&value).unwrap().user(), "alice");
        for bad in [
            "Bearer YWxpY2U6cDpzcw==",
            "Basic !!!",
            "Basic YWxpY2U=",
            "Basic",
            "Basic OnB3",
        ] {
            assert_eq!(parse_basic(&HeaderValue::from_static(bad)), None, "{bad}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        #[test]
        fn basic_parsing_never_panics(text in "[ -~]{0,100}") {
            if let Ok(value) = HeaderValue::from_str(&text) {
                let _ = parse_basic(&value);
            }
        }

        #[test]
        fn basic_round_trips(user in "[a-z][a-z0-9_.-]{0,20}", password in "[ -~]{0,30}") {
            let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            let value = HeaderValue::from_str(&format!("Basic {token}")).unwrap();
            let c = parse_basic(&value).unwrap();
            proptest::prop_assert_eq!((c.user(), c.password()), (user.as_str(), password.as_str()));
        }
    }
}
