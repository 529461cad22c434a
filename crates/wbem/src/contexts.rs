//! Enumeration contexts of the pull operations (DSP0200 5.3.2.x): what an
//! Open* left unsent, kept until pulled, closed, or expired.

use openwmi_cim::{CimError, CimStatus};
use openwmi_cimom::{InstanceIter, InstanceWithPath, Object};
use openwmi_cimxml::ResponseWriter;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hasher};
use std::iter::Peekable;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Which pull operation may continue an enumeration, and what it writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PullKind {
    /// VALUE.INSTANCEWITHPATH (PullInstancesWithPath).
    Instances,
    /// INSTANCEPATH (PullInstancePaths).
    Paths,
    /// INSTANCE without path (OpenQueryInstances / PullInstances).
    QueryInstances,
    /// An enumeration another front-end (WS-Management) opened: none of
    /// CIM-XML's pulls continues it, and that front-end continues it only
    /// with the same number, which it defines (what it writes).
    Other(u16),
}

/// What is left to send.
pub enum Pending {
    Stream(Peekable<InstanceIter>),
    List(VecDeque<InstanceWithPath>),
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pending::Stream(_) => f.write_str("Pending::Stream(..)"),
            Pending::List(l) => write!(f, "Pending::List({} left)", l.len()),
        }
    }
}

impl Pending {
    pub fn stream(it: InstanceIter) -> Pending {
        Pending::Stream(it.peekable())
    }

    /// Association results: classes have no place in an instance pull.
    pub fn list(objects: Vec<Object>) -> Pending {
        Pending::List(
            objects
                .into_iter()
                .filter_map(|o| match o {
                    Object::Instance(i) => Some(i),
                    Object::Class(_) => None,
                })
                .collect(),
        )
    }

    fn next(&mut self) -> Option<Result<InstanceWithPath, CimError>> {
        match self {
            Pending::Stream(p) => p.next(),
            Pending::List(l) => l.pop_front().map(Ok),
        }
    }

    /// The next object, not taken: a front-end that must know an object's
    /// size before it sends it (WS-Management's envelope limit) takes it
    /// only when it fits, else leaves it for the next pull.
    pub fn peek(&mut self) -> Option<Result<&InstanceWithPath, &CimError>> {
        match self {
            Pending::Stream(p) => p.peek().map(Result::as_ref),
            Pending::List(l) => l.front().map(Ok),
        }
    }

    /// Takes the next object.
    pub fn take_next(&mut self) -> Option<Result<InstanceWithPath, CimError>> {
        self.next()
    }

    /// Whether nothing is left.
    pub fn is_done(&mut self) -> bool {
        match self {
            Pending::Stream(p) => p.peek().is_none(),
            Pending::List(l) => l.is_empty(),
        }
    }

    /// Writes up to `max` objects; `Ok(true)` when nothing is left.
    pub fn write(
        &mut self,
        w: &mut ResponseWriter,
        kind: PullKind,
        max: u32,
    ) -> Result<bool, CimError> {
        for _ in 0..max {
            match self.next() {
                None => return Ok(true),
                Some(Err(e)) => return Err(e),
                Some(Ok(i)) => match kind {
                    PullKind::Instances | PullKind::Other(_) => {
                        w.instance_with_path(&i.path, &i.instance)
                    }
                    PullKind::Paths => w.instance_path(&i.path),
                    PullKind::QueryInstances => w.instance(&i.instance),
                },
            }
        }
        Ok(self.is_done())
    }
}

struct Entry {
    user: String,
    kind: PullKind,
    /// `None` while a pull has it out: the context still counts against
    /// the limits then, and does not expire.
    pending: Option<Pending>,
    timeout: Duration,
    expires: Instant,
}

/// Open enumerations a server keeps at once (the default of
/// [`EnumContexts`]).
pub const MAX_OPEN_ENUMERATIONS: usize = 1024;

/// The default of [`EnumContexts::with_user_quota`].
pub const DEFAULT_ENUMERATIONS_PER_USER: usize = 128;

/// The open enumerations of a server: at most `max_open` in all, and at
/// most `max_per_user` of one user, so that one user (or one leaking
/// client) cannot take every context while others are refused.
pub struct EnumContexts {
    entries: Mutex<HashMap<String, Entry>>,
    counter: AtomicU64,
    seed: u64,
    max_open: usize,
    max_per_user: usize,
    default_timeout: Duration,
    max_timeout: Duration,
}

impl std::fmt::Debug for EnumContexts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnumContexts")
            .field("open", &self.len())
            .field("max_open", &self.max_open)
            .field("max_per_user", &self.max_per_user)
            .finish_non_exhaustive()
    }
}

impl Default for EnumContexts {
    fn default() -> Self {
        EnumContexts::new(
            MAX_OPEN_ENUMERATIONS,
            Duration::from_secs(60),
            Duration::from_secs(3600),
        )
    }
}

fn invalid_context(id: &str) -> CimError {
    CimError::new(
        CimStatus::InvalidEnumerationContext,
        format!("no open enumeration {id:?} (closed, finished, expired or another user's)"),
    )
}

impl EnumContexts {
    /// At most `max_open` contexts, [`DEFAULT_ENUMERATIONS_PER_USER`] of one
    /// user.
    pub fn new(max_open: usize, default_timeout: Duration, max_timeout: Duration) -> Self {
        EnumContexts {
            entries: Mutex::new(HashMap::new()),
            counter: AtomicU64::new(1),
            seed: std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish(),
            max_open,
            max_per_user: DEFAULT_ENUMERATIONS_PER_USER,
            default_timeout,
            max_timeout,
        }
    }

    /// At most `max_per_user` open contexts of one user; one more Open*
    /// fails with CIM_ERR_SERVER_LIMITS_EXCEEDED.
    pub fn with_user_quota(mut self, max_per_user: usize) -> Self {
        self.max_per_user = max_per_user;
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn sweep(map: &mut HashMap<String, Entry>) {
        let now = Instant::now();
        map.retain(|_, e| e.pending.is_none() || e.expires > now);
    }

    /// Number of open contexts (after dropping expired ones).
    pub fn len(&self) -> usize {
        let mut m = self.lock();
        Self::sweep(&mut m);
        m.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keeps `pending` for `user`; returns the context's id.
    pub fn insert(
        &self,
        user: &str,
        _namespace: &str,
        pending: Pending,
        kind: PullKind,
        operation_timeout: Option<u32>,
    ) -> Result<String, CimError> {
        let timeout = match operation_timeout {
            None => self.default_timeout,
            Some(0) => {
                return Err(CimError::new(
                    CimStatus::InvalidOperationTimeout,
                    "an OperationTimeout of 0 (never expire) is not supported",
                ))
            }
            Some(s) if Duration::from_secs(s.into()) > self.max_timeout => {
                return Err(CimError::new(
                    CimStatus::InvalidOperationTimeout,
                    format!(
                        "OperationTimeout {s} s is above the server's maximum of {} s",
                        self.max_timeout.as_secs()
                    ),
                ))
            }
            Some(s) => Duration::from_secs(s.into()),
        };
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut h = std::collections::hash_map::DefaultHasher::new();
        h.write_u64(self.seed);
        h.write_u64(n);
        let id = format!("{:016x}{:x}", h.finish(), n);
        let mut m = self.lock();
        Self::sweep(&mut m);
        // Counted afresh: the table is small, and a count kept beside it
        // could drift from it.
        if m.values().filter(|e| e.user == user).count() >= self.max_per_user {
            return Err(CimError::new(
                CimStatus::ServerLimitsExceeded,
                format!(
                    "too many open enumerations of one user (at most {}); \
                     pull them to the end or close them",
                    self.max_per_user
                ),
            ));
        }
        if m.len() >= self.max_open {
            return Err(CimError::new(
                CimStatus::ServerLimitsExceeded,
                format!("too many open enumerations (at most {})", self.max_open),
            ));
        }
        m.insert(
            id.clone(),
            Entry {
                user: user.to_owned(),
                kind,
                pending: Some(pending),
                timeout,
                expires: Instant::now() + timeout,
            },
        );
        Ok(id)
    }

    /// Runs `f` on the context's pending objects; returns whether the
    /// enumeration is over (the context is then gone).
    pub fn pull(
        &self,
        id: &str,
        user: &str,
        kind: PullKind,
        f: impl FnOnce(&mut Pending) -> Result<bool, CimError>,
    ) -> Result<bool, CimError> {
        // The pending objects are taken out while pulled, so a slow provider
        // holds no lock and two concurrent pulls of one context cannot
        // interleave; the entry stays, so that it still counts.
        let mut pending = {
            let mut m = self.lock();
            Self::sweep(&mut m);
            let entry = match m.get_mut(id) {
                Some(e) if e.user == user => e,
                _ => return Err(invalid_context(id)),
            };
            if entry.kind != kind {
                return Err(CimError::new(
                    CimStatus::InvalidEnumerationContext,
                    format!("enumeration {id:?} was not opened for this pull operation"),
                ));
            }
            entry.pending.take().ok_or_else(|| invalid_context(id))?
        };
        let mut out = PulledOut {
            contexts: self,
            id,
            put_back: false,
        };
        let end = f(&mut pending)?;
        if !end {
            out.put_back = true;
            if let Some(entry) = self.lock().get_mut(id) {
                entry.pending = Some(pending);
                entry.expires = Instant::now() + entry.timeout;
            }
        }
        Ok(end)
    }

    pub fn close(&self, id: &str, user: &str) -> Result<(), CimError> {
        let mut m = self.lock();
        Self::sweep(&mut m);
        match m.get(id) {
            Some(e) if e.user == user && e.pending.is_some() => {
                m.remove(id);
                Ok(())
            }
            _ => Err(invalid_context(id)),
        }
    }
}

/// A context whose pending objects a pull has out: removed when the pull
/// ends it, fails, or panics (so a panicking provider leaves no context
/// that counts forever), unless the pull puts them back.
struct PulledOut<'a> {
    contexts: &'a EnumContexts,
    id: &'a str,
    put_back: bool,
}

impl Drop for PulledOut<'_> {
    fn drop(&mut self) {
        if !self.put_back {
            self.contexts.lock().remove(self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openwmi_cim::{Instance, Name, ObjectPath};
    use openwmi_cimom::InstanceWithPath;

    fn objects(n: usize) -> Vec<Object> {
        (0..n)
            .map(|i| {
                Object::Instance(InstanceWithPath {
                    path: ObjectPath::parse(&format!(r#"Test_Share.Name="s{i}""#))
                        .unwrap()
                        .into(),
                    instance: std::sync::Arc::new(Instance {
                        class_name: Name::new("Test_Share"),
                        properties: Vec::new(),
                    }),
                })
            })
            .collect()
    }

    fn pull(
        c: &EnumContexts,
        id: &str,
        user: &str,
        kind: PullKind,
        max: u32,
    ) -> Result<(bool, String), CimError> {
        let mut w = ResponseWriter::begin("1", "PullInstancePaths");
        let end = c.pull(id, user, kind, |p| p.write(&mut w, kind, max))?;
        Ok((end, w.take()))
    }

    fn status(r: Result<impl std::fmt::Debug, CimError>) -> CimStatus {
        r.expect_err("an error").status
    }

    #[test]
    fn pulls_until_the_end_then_the_context_is_gone() {
        let c = EnumContexts::default();
        let id = c
            .insert(
                "u",
                "root/test",
                Pending::list(objects(5)),
                PullKind::Paths,
                None,
            )
            .unwrap();
        assert_eq!(c.len(), 1);
        let (end, body) = pull(&c, &id, "u", PullKind::Paths, 2).unwrap();
        assert!(!end);
        assert_eq!(body.matches("<INSTANCEPATH>").count(), 2);
        let (end, _) = pull(&c, &id, "u", PullKind::Paths, 2).unwrap();
        assert!(!end);
        let (end, body) = pull(&c, &id, "u", PullKind::Paths, 2).unwrap();
        assert!(end);
        assert_eq!(body.matches("<INSTANCEPATH>").count(), 1);
        assert!(c.is_empty());
        assert_eq!(
            status(pull(&c, &id, "u", PullKind::Paths, 2)),
            CimStatus::InvalidEnumerationContext
        );
    }

    #[test]
    fn another_user_or_another_pull_kind_cannot_continue() {
        let c = EnumContexts::default();
        let id = c
            .insert(
                "u",
                "root/test",
                Pending::list(objects(3)),
                PullKind::Paths,
                None,
            )
            .unwrap();
        assert_eq!(
            status(pull(&c, &id, "v", PullKind::Paths, 1)),
            CimStatus::InvalidEnumerationContext
        );
        assert_eq!(
            status(pull(&c, &id, "u", PullKind::Instances, 1)),
            CimStatus::InvalidEnumerationContext
        );
        assert_eq!(
            status(c.close(&id, "v")),
            CimStatus::InvalidEnumerationContext
        );
        // Still usable by its owner.
        assert!(!pull(&c, &id, "u", PullKind::Paths, 1).unwrap().0);
        c.close(&id, "u").unwrap();
        assert_eq!(
            status(c.close(&id, "u")),
            CimStatus::InvalidEnumerationContext
        );
    }

    #[test]
    fn contexts_expire() {
        let c = EnumContexts::new(4, Duration::from_millis(20), Duration::from_secs(10));
        let id = c
            .insert("u", "ns", Pending::list(objects(3)), PullKind::Paths, None)
            .unwrap();
        std::thread::sleep(Duration::from_millis(40));
        assert!(c.is_empty());
        assert_eq!(
            status(pull(&c, &id, "u", PullKind::Paths, 1)),
            CimStatus::InvalidEnumerationContext
        );
    }

    #[test]
    fn operation_timeouts_and_the_open_limit() {
        let c = EnumContexts::new(2, Duration::from_secs(60), Duration::from_secs(100));
        let list = || Pending::list(objects(2));
        assert_eq!(
            status(c.insert("u", "ns", list(), PullKind::Paths, Some(0))),
            CimStatus::InvalidOperationTimeout
        );
        assert_eq!(
            status(c.insert("u", "ns", list(), PullKind::Paths, Some(101))),
            CimStatus::InvalidOperationTimeout
        );
        let a = c
            .insert("u", "ns", list(), PullKind::Paths, Some(100))
            .unwrap();
        let b = c.insert("u", "ns", list(), PullKind::Paths, None).unwrap();
        assert_ne!(a, b);
        assert_eq!(
            status(c.insert("u", "ns", list(), PullKind::Paths, None)),
            CimStatus::ServerLimitsExceeded
        );
        c.close(&a, "u").unwrap();
        c.insert("u", "ns", list(), PullKind::Paths, None).unwrap();
    }

    #[test]
    fn one_user_cannot_hold_every_enumeration() {
        let c = EnumContexts::new(5, Duration::from_secs(60), Duration::from_secs(100))
            .with_user_quota(2);
        let list = || Pending::list(objects(2));
        let a = c.insert("u", "ns", list(), PullKind::Paths, None).unwrap();
        c.insert("u", "ns", list(), PullKind::Paths, None).unwrap();
        let refused = c
            .insert("u", "ns", list(), PullKind::Paths, None)
            .unwrap_err();
        assert_eq!(refused.status, CimStatus::ServerLimitsExceeded);
        assert!(
            refused.description.contains("of one user (at most 2)"),
            "{refused}"
        );
        // Others still open theirs, up to the server's total.
        c.insert("v", "ns", list(), PullKind::Paths, None).unwrap();
        c.insert("w", "ns", list(), PullKind::Paths, None).unwrap();
        let b = c.insert("w", "ns", list(), PullKind::Paths, None).unwrap();
        let full = c
            .insert("v", "ns", list(), PullKind::Paths, None)
            .unwrap_err();
        assert_eq!(full.status, CimStatus::ServerLimitsExceeded);
        assert!(full.description.contains("(at most 5)"), "{full}");
        // A context being pulled still counts against its user's quota.
        c.close(&b, "w").unwrap();
        let mut during = None;
        let end = c.pull(&a, "u", PullKind::Paths, |pending| {
            during = Some(c.insert("u", "ns", list(), PullKind::Paths, None));
            pending.write(&mut ResponseWriter::begin("1", "x"), PullKind::Paths, 5)
        });
        assert!(end.unwrap());
        let during = during.unwrap().unwrap_err();
        assert!(during.description.contains("of one user"), "{during}");
        // A pull that ends its enumeration frees its place.
        assert_eq!(c.len(), 3);
        c.insert("u", "ns", list(), PullKind::Paths, None).unwrap();
    }

    #[test]
    fn a_pull_out_counts_and_a_failed_or_panicking_pull_frees_its_context() {
        let c = EnumContexts::new(4, Duration::from_secs(60), Duration::from_secs(100))
            .with_user_quota(1);
        let list = || Pending::list(objects(3));
        let id = c.insert("u", "ns", list(), PullKind::Paths, None).unwrap();
        // Out on a pull: neither closed nor pulled twice, and counted.
        c.pull(&id, "u", PullKind::Paths, |_| {
            assert_eq!(c.len(), 1);
            assert_eq!(
                status(c.close(&id, "u")),
                CimStatus::InvalidEnumerationContext
            );
            assert_eq!(
                status(pull(&c, &id, "u", PullKind::Paths, 1)),
                CimStatus::InvalidEnumerationContext
            );
            Ok(false)
        })
        .unwrap();
        assert!(!pull(&c, &id, "u", PullKind::Paths, 1).unwrap().0);

        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            c.pull(&id, "u", PullKind::Paths, |_| panic!("a provider panics"))
        }));
        assert!(panicked.is_err());
        assert!(c.is_empty());
        let id = c.insert("u", "ns", list(), PullKind::Paths, None).unwrap();
        let failed = c.pull(&id, "u", PullKind::Paths, |_| Err(CimError::failed("gone")));
        assert_eq!(status(failed), CimStatus::Failed);
        assert!(c.is_empty());
        c.insert("u", "ns", list(), PullKind::Paths, None).unwrap();
    }
}
