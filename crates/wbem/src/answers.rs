//! Whole answers to enumerations and queries of instances that never change
//! (static MOF instances), kept and handed out again to the requests that
//! ask the same. Encoding each instance once (`encoded.rs`) still leaves
//! the per-request walk over every instance (the WHERE clause, the lookups,
//! the copies): for a query over a thousand stored instances that walk is
//! most of the server's work, and its answer cannot change while the server
//! runs.
//!
//! What makes this safe: an answer is kept only when the object manager
//! says every instance it could hold comes from a provider whose answers
//! never change (`ObjectManager::fixed_instances`), and it is handed out
//! only after the same call has made, for the caller asking, every access
//! check the enumeration would make. The kept bytes are what follows
//! `<IRETURNVALUE>`: the head before it carries the request's own message ID.

use bytes::Bytes;
use openwmi_cim::Name;
use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, MutexGuard};

/// What an answer depends on, besides instances that never change: the
/// operation and every parameter of it that changes what is written.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum AnswerKey {
    Instances {
        namespace: String,
        class: String,
        deep_inheritance: bool,
        property_list: Option<Vec<String>>,
    },
    InstanceNames {
        namespace: String,
        class: String,
    },
    Query {
        namespace: String,
        language: String,
        query: String,
    },
}

impl AnswerKey {
    /// Bytes it holds, counted against the budget with the answer.
    fn len(&self) -> usize {
        match self {
            AnswerKey::Instances {
                namespace,
                class,
                property_list,
                ..
            } => {
                namespace.len()
                    + class.len()
                    + property_list
                        .iter()
                        .flatten()
                        .map(String::len)
                        .sum::<usize>()
            }
            AnswerKey::InstanceNames { namespace, class } => namespace.len() + class.len(),
            AnswerKey::Query {
                namespace,
                language,
                query,
            } => namespace.len() + language.len() + query.len(),
        }
    }
}

/// A kept answer.
#[derive(Debug)]
pub(crate) struct KeptAnswer {
    /// The class enumerated, always with its subclasses: what the access
    /// checks run on before the answer is handed out again.
    pub class: Name,
    /// The response after its head: the encoded instances and the end of
    /// the message, the same for every request.
    pub rest: Bytes,
}

/// The kept answers, oldest first out once the budget is spent.
pub(crate) struct Answers {
    budget: usize,
    kept: Mutex<Kept>,
    hasher: RandomState,
}

/// How many answers too large to keep are remembered; past it the list
/// starts again (8 bytes each).
const TOO_LARGE_REMEMBERED: usize = 4096;

#[derive(Default)]
struct Kept {
    by_key: HashMap<AnswerKey, Arc<KeptAnswer>>,
    /// Insertion order, for eviction.
    order: VecDeque<AnswerKey>,
    bytes: usize,
    /// Hashes of the keys whose answers were too large to keep: an answer
    /// about to be kept is buffered up to [`Answers::largest`] before it
    /// streams, which such an answer would pay again on every request (the
    /// instances never change, so neither does its size). A hash, not the
    /// key, so that long queries cost nothing to remember; two keys with
    /// the same hash only make the other answer stream too.
    too_large: HashSet<u64>,
}

impl Answers {
    /// Keeps at most `budget` bytes of answers; 0 keeps none.
    pub fn new(budget: usize) -> Self {
        Answers {
            budget,
            kept: Mutex::new(Kept::default()),
            hasher: RandomState::new(),
        }
    }

    /// Whether answers are kept at all.
    pub fn enabled(&self) -> bool {
        self.budget > 0
    }

    /// The largest answer kept: a quarter of the budget, so that one large
    /// enumeration does not push out everything else. An answer being made
    /// to be kept is buffered up to this size before it starts to stream.
    pub fn largest(&self) -> usize {
        self.budget / 4
    }

    fn lock(&self) -> MutexGuard<'_, Kept> {
        // A panic while holding the lock leaves the maps consistent (every
        // change is a single insert or remove), so a poisoned lock is fine.
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, key: &AnswerKey) -> Option<Arc<KeptAnswer>> {
        if !self.enabled() {
            return None;
        }
        self.lock().by_key.get(key).cloned()
    }

    /// Whether the answer to `key` was found too large to keep: it then
    /// streams from its first 64 KiB like any answer that may change.
    pub fn too_large(&self, key: &AnswerKey) -> bool {
        let hash = self.hasher.hash_one(key);
        self.lock().too_large.contains(&hash)
    }

    /// Remembers that the answer to `key` is too large to keep.
    pub fn mark_too_large(&self, key: &AnswerKey) {
        let hash = self.hasher.hash_one(key);
        let mut kept = self.lock();
        if kept.too_large.len() >= TOO_LARGE_REMEMBERED {
            kept.too_large.clear();
        }
        kept.too_large.insert(hash);
    }

    /// Keeps `answer` unless it is larger than [`Answers::largest`] (then
    /// remembered as [`Answers::too_large`]), pushing out the oldest answers
    /// until it fits.
    pub fn keep(&self, key: AnswerKey, answer: KeptAnswer) {
        if !self.enabled() {
            return;
        }
        let size = key.len() + answer.rest.len();
        if size > self.largest() {
            self.mark_too_large(&key);
            return;
        }
        let mut kept = self.lock();
        if kept.by_key.contains_key(&key) {
            // Made meanwhile by another request: the same bytes.
            return;
        }
        while kept.bytes + size > self.budget {
            let Some(oldest) = kept.order.pop_front() else {
                break;
            };
            if let Some(old) = kept.by_key.remove(&oldest) {
                kept.bytes -= oldest.len() + old.rest.len();
            }
        }
        kept.bytes += size;
        kept.order.push_back(key.clone());
        kept.by_key.insert(key, Arc::new(answer));
    }

    /// Bytes kept now.
    #[cfg(test)]
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Answers kept now.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().by_key.len()
    }
}

#[cfg(test)]
mod dispatcher_tests {
    use crate::dispatch::STREAM_THRESHOLD;
    use crate::testing::{answer, answer_as, answer_in_parts, call};
    use crate::{Dispatcher, EnumContexts};
    use openwmi_cim::{CimError, CimStatus, Instance};
    use openwmi_cimom::{
        AccessPolicy, EnumerateRequest, InstanceProvider, InstanceStream, ObjectManager,
        ObjectManagerBuilder, OperationContext,
    };
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// `count` static T_Share instances (about 150 bytes encoded each), a
    /// subclass T_Live served by [`Live`], and a class T_Secret.
    fn object_manager(count: usize, live: Option<Arc<Live>>) -> ObjectManager {
        let mut mof = String::from(
            "Qualifier Key : boolean = false, Scope(property), Flavor(DisableOverride, ToSubclass);\n\
             class T_Share { [Key] string Name; uint32 Max; };\n\
             class T_Live : T_Share { };\n\
             class T_Secret { [Key] string Name; };\n\
             instance of T_Secret { Name = \"s\"; };\n",
        );
        for i in 0..count {
            mof.push_str(&format!(
                "instance of T_Share {{ Name = \"share{i:05}\"; Max = {}; }};\n",
                i % 5
            ));
        }
        let repo = openwmi_mof::repository_from_str("root/test", "t.mof", &mof)
            .unwrap_or_else(|e| panic!("{e:?}"));
        let mut builder = ObjectManagerBuilder::new(repo, "testhost");
        if let Some(live) = live {
            builder.register("root/test", "T_Live", live);
        }
        builder.access_policy(Arc::new(NoSecretsForEve));
        builder.build()
    }

    fn dispatcher(om: ObjectManager, budget: usize) -> Dispatcher {
        Dispatcher::with_answer_budget(om, EnumContexts::default(), budget)
    }

    /// Instances that change: one more each time it is asked.
    #[derive(Default)]
    struct Live {
        asked: AtomicUsize,
    }

    impl InstanceProvider for Live {
        fn name(&self) -> &str {
            "live"
        }
        fn capabilities(&self) -> openwmi_cimom::ProviderCapabilities {
            openwmi_cimom::ProviderCapabilities {
                may_block: false,
                ..openwmi_cimom::ProviderCapabilities::NONE
            }
        }
        fn enumerate(&self, req: &EnumerateRequest<'_>) -> Result<InstanceStream, CimError> {
            let n = self.asked.fetch_add(1, Ordering::SeqCst) + 1;
            let class = Arc::clone(req.class);
            Ok(Box::new((0..n).map(move |i| {
                Ok(Arc::new(
                    Instance::of_class(&class).with("Name", Some(format!("live{i}").into())),
                ))
            })))
        }
    }

    /// User `eve` may not read T_Secret; everybody may read the rest.
    struct NoSecretsForEve;

    impl AccessPolicy for NoSecretsForEve {
        fn check_namespace(&self, _: &OperationContext, _: &str) -> Result<(), CimError> {
            Ok(())
        }
        fn check_class(
            &self,
            ctx: &OperationContext,
            _: &str,
            class: &str,
        ) -> Result<(), CimError> {
            if ctx.user.as_deref() == Some("eve") && class.eq_ignore_ascii_case("T_Secret") {
                return Err(CimError::new(CimStatus::AccessDenied, "not for eve"));
            }
            Ok(())
        }
        fn check_method(
            &self,
            ctx: &OperationContext,
            _: &str,
            class: &str,
            method: &str,
        ) -> Result<(), CimError> {
            openwmi_cimom::local_caller_only(ctx, class, method)
        }
    }

    fn with_id(body: &str, id: u32) -> String {
        body.replace("MESSAGE ID=\"9\"", &format!("MESSAGE ID=\"{id}\""))
    }

    fn class(c: &str) -> String {
        format!("<IPARAMVALUE NAME=\"ClassName\"><CLASSNAME NAME=\"{c}\"/></IPARAMVALUE>")
    }

    fn query(q: &str) -> String {
        format!(
            "<IPARAMVALUE NAME=\"QueryLanguage\"><VALUE>WQL</VALUE></IPARAMVALUE>\
             <IPARAMVALUE NAME=\"Query\"><VALUE>{q}</VALUE></IPARAMVALUE>"
        )
    }

    #[tokio::test]
    async fn kept_answers_are_the_fresh_answers_with_each_requests_message_id() {
        // 1000 instances: every answer but the names streams (> 64 KiB).
        let (kept, fresh) = (
            dispatcher(object_manager(1000, None), 8 << 20),
            dispatcher(object_manager(1000, None), 0),
        );
        let cases = [
            ("EnumerateInstances", class("T_Share")),
            ("EnumerateInstanceNames", class("T_Share")),
            ("ExecQuery", query("SELECT * FROM T_Share WHERE Max &lt; 3")),
            ("ExecQuery", query("SELECT * FROM T_Share WHERE Max = 4")),
        ];
        for (method, params) in &cases {
            for id in 1..4 {
                let body = with_id(&call(method, params), id);
                for te in [&[][..], &[("te", "trailers")][..]] {
                    let got = answer(&kept, method, "root/test", &body, te).await;
                    let want = answer(&fresh, method, "root/test", &body, te).await;
                    assert!(want.0.contains(&format!("MESSAGE ID=\"{id}\"")));
                    assert_eq!(got.0, want.0, "{method} {params} id {id}");
                    // Whole, so the status is the document's: no trailers.
                    assert!(got.1.is_none());
                }
            }
        }
        assert_eq!(kept.shared.answers.len(), cases.len());
        assert_eq!(fresh.shared.answers.len(), 0);
    }

    #[tokio::test]
    async fn a_kept_answer_goes_only_to_callers_who_may_read_every_class_it_covers() {
        let d = dispatcher(object_manager(3, None), 8 << 20);
        let secret = call("EnumerateInstances", &class("T_Secret"));
        let query = call("ExecQuery", &query("SELECT * FROM T_Secret"));
        for body in [&secret, &query] {
            let method = if body == &secret {
                "EnumerateInstances"
            } else {
                "ExecQuery"
            };
            let (text, ..) = answer_as(&d, "t", method, "root/test", body, &[]).await;
            assert!(text.contains("<VALUE>s</VALUE>"), "{text}");
            let (text, ..) = answer_as(&d, "eve", method, "root/test", body, &[]).await;
            assert!(
                text.contains("CODE=\"2\"") && text.contains("not for eve"),
                "{method}: {text}"
            );
        }
        assert_eq!(d.shared.answers.len(), 2);
    }

    #[tokio::test]
    async fn answers_that_may_change_are_never_kept() {
        let live = Arc::new(Live::default());
        let d = dispatcher(object_manager(3, Some(Arc::clone(&live))), 8 << 20);
        // T_Share's enumeration covers its subclass T_Live: not fixed.
        let body = call("EnumerateInstanceNames", &class("T_Share"));
        for round in 1..4 {
            let (text, ..) = answer(&d, "EnumerateInstanceNames", "root/test", &body, &[]).await;
            assert_eq!(text.matches("live").count(), round, "{text}");
        }
        let body = call("ExecQuery", &query("SELECT * FROM T_Share"));
        let (first, ..) = answer(&d, "ExecQuery", "root/test", &body, &[]).await;
        let (second, ..) = answer(&d, "ExecQuery", "root/test", &body, &[]).await;
        assert_ne!(first, second);
        assert_eq!(d.shared.answers.len(), 0);
        assert_eq!(live.asked.load(Ordering::SeqCst), 5);
    }

    #[tokio::test]
    async fn regression_an_answer_too_large_to_keep_streams_at_once_the_next_time() {
        // 3000 instances (about 450 KB encoded): over a quarter of 1 MiB.
        let d = dispatcher(object_manager(3000, None), 1 << 20);
        let fresh = dispatcher(object_manager(3000, None), 0);
        let largest = d.shared.answers.largest();
        for (method, params) in [
            ("EnumerateInstances", class("T_Share")),
            ("ExecQuery", query("SELECT * FROM T_Share WHERE Max &lt; 4")),
        ] {
            let body = call(method, &params);
            let parts = |d| answer_in_parts(d, "t", method, "root/test", &body, &[]);
            // The first time it may fit, so it is held up to the largest
            // answer kept before it streams; from then on it streams from
            // its first 64 KiB, as an answer that may change does.
            let (first, ..) = parts(&d).await;
            assert!(first[0].len() >= largest, "{method}: {}", first[0].len());
            for _ in 0..2 {
                let (next, ..) = parts(&d).await;
                assert!(
                    (STREAM_THRESHOLD..largest).contains(&next[0].len()),
                    "{method}: {}",
                    next[0].len()
                );
                assert_eq!(next.concat(), first.concat());
                let (unkept, ..) = parts(&fresh).await;
                assert_eq!(next.concat(), unkept.concat());
            }
        }
        assert_eq!(d.shared.answers.len(), 0);
    }

    #[tokio::test]
    async fn failed_answers_are_not_kept() {
        let d = dispatcher(object_manager(3, None), 8 << 20);
        for (method, params) in [
            ("ExecQuery", query("SELECT * FROM T_Share WHERE Nope = 1")),
            ("ExecQuery", query("SELECT * FROM")),
            ("EnumerateInstances", class("T_Missing")),
        ] {
            let (text, ..) = answer(&d, method, "root/test", &call(method, &params), &[]).await;
            assert!(text.contains("<ERROR"), "{text}");
        }
        assert_eq!(d.shared.answers.len(), 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: usize) -> AnswerKey {
        AnswerKey::InstanceNames {
            namespace: "root/test".into(),
            class: format!("T_{i:03}"),
        }
    }

    fn answer(bytes: usize) -> KeptAnswer {
        KeptAnswer {
            class: Name::from("T_Share"),
            rest: Bytes::from(vec![b'x'; bytes]),
        }
    }

    #[test]
    fn the_oldest_answers_go_first_and_the_budget_holds() {
        let answers = Answers::new(4000);
        for i in 0..10 {
            answers.keep(key(i), answer(500));
            assert!(answers.bytes() <= 4000, "{}", answers.bytes());
        }
        // 514 bytes each (with the key): seven fit.
        assert_eq!(answers.len(), 7);
        assert!(answers.get(&key(2)).is_none());
        assert!(answers.get(&key(3)).is_some());
        assert!(answers.get(&key(9)).is_some());
    }

    #[test]
    fn an_answer_larger_than_a_quarter_of_the_budget_is_not_kept() {
        let answers = Answers::new(4000);
        // With its 14-byte key: 1000 bytes fit, 1001 do not.
        answers.keep(key(1), answer(986));
        answers.keep(key(2), answer(987));
        assert!(answers.get(&key(1)).is_some());
        assert!(answers.get(&key(2)).is_none());
        assert_eq!(answers.bytes(), 1000);
        assert!(!answers.too_large(&key(1)));
        assert!(answers.too_large(&key(2)));
    }

    #[test]
    fn the_answers_too_large_to_keep_are_remembered_within_a_bound() {
        let answers = Answers::new(4000);
        for i in 0..TOO_LARGE_REMEMBERED {
            answers.mark_too_large(&key(i));
        }
        assert!((0..TOO_LARGE_REMEMBERED).all(|i| answers.too_large(&key(i))));
        // One more starts the list again.
        answers.mark_too_large(&key(TOO_LARGE_REMEMBERED));
        assert!(answers.too_large(&key(TOO_LARGE_REMEMBERED)));
        assert!(!answers.too_large(&key(0)));
        assert_eq!(answers.lock().too_large.len(), 1);
    }

    #[test]
    fn a_zero_budget_keeps_nothing() {
        let answers = Answers::new(0);
        answers.keep(key(1), answer(0));
        assert!(answers.get(&key(1)).is_none());
        assert_eq!(answers.len(), 0);
    }

    #[test]
    fn keys_differ_by_every_parameter() {
        let a = |deep, props: Option<Vec<&str>>| AnswerKey::Instances {
            namespace: "root/test".into(),
            class: "T".into(),
            deep_inheritance: deep,
            property_list: props.map(|p| p.into_iter().map(String::from).collect()),
        };
        let answers = Answers::new(1 << 20);
        answers.keep(a(true, None), answer(1));
        assert!(answers.get(&a(true, None)).is_some());
        assert!(answers.get(&a(false, None)).is_none());
        assert!(answers.get(&a(true, Some(vec![]))).is_none());
        assert!(answers.get(&a(true, Some(vec!["Name"]))).is_none());
    }
}
