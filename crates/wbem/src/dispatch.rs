//! One CIM-XML request: run it on the object manager and write the response.
//! Synchronous: the caller (lib.rs) picks the thread, one where blocking is
//! allowed unless no provider of the namespace may block.

use crate::answers::{AnswerKey, Answers, KeptAnswer};
use crate::contexts::{EnumContexts, Pending, PullKind};
use crate::encoded::EncodedInstances;
use bytes::Bytes;
use openwmi_cim::{CimError, CimStatus, Keys, Name, ObjectPath};
use openwmi_cimom::{
    AssocFilter, ClassOptions, EnumOptions, InstanceWithPath, Object, ObjectManager,
    OperationContext, QueryResult, RefFilter,
};
use openwmi_cimxml::{EncodedInstance, Filter, OpenOptions, Operation, Request, ResponseWriter};
use std::sync::Arc;

/// Bytes buffered before a response starts to stream, and the size of each
/// chunk after that. Small enough that a few concurrent enumerations stay
/// within the memory budget (each holds about three chunks: the one being
/// written, the channel's and hyper's), large enough that the per-chunk
/// costs (a channel send, a write) do not show.
pub const STREAM_THRESHOLD: usize = 64 * 1024;

/// The answer to a request: whole, or (once it has grown past
/// [`STREAM_THRESHOLD`]) a first chunk and the rest made on demand. The first
/// chunk is ready only then, so an error in a small or medium answer is
/// still a clean `<ERROR>` response.
pub enum Outcome {
    Full(String),
    Chunks(Box<Chunks>),
    /// An answer of instances that never change ([`Answers`]): the
    /// response's own head (its message ID), then the kept rest.
    Kept {
        head: Bytes,
        rest: Bytes,
    },
}

/// A look in the kept answers: the answer, or (answers being kept) the key
/// to keep the one about to be made under.
enum Lookup {
    Hit(Outcome),
    Miss(Option<AnswerKey>),
}

/// What a [`Dispatch::stream`] whose answer may be kept keeps it under.
struct Keep {
    key: AnswerKey,
    class: Name,
}

/// Writes one instance of a stream into the response, from its encoding
/// when it has one.
type WriteItem = fn(&mut ResponseWriter, &InstanceWithPath, Option<&EncodedInstance>);

/// The chunks of a streamed response, each made when asked for: the caller
/// decides whether that happens on a blocking thread (sources that may
/// block) or on the connection's own task.
pub struct Chunks {
    first: Option<String>,
    writer: Option<ResponseWriter>,
    items: openwmi_cimom::InstanceIter,
    write: WriteItem,
    encoded: Arc<EncodedInstances>,
    failure: Option<CimError>,
}

impl Chunks {
    /// Why the chunks stopped short, once they have: the document is cut
    /// there, and the status goes in the `CIMStatusCode` trailer.
    pub fn failure(&self) -> Option<&CimError> {
        self.failure.as_ref()
    }

    /// Whether the chunk just made was the last, complete one.
    pub fn finished(&self) -> bool {
        self.first.is_none() && self.writer.is_none() && self.failure.is_none()
    }
}

impl Iterator for Chunks {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        if let Some(first) = self.first.take() {
            return Some(first);
        }
        let w = self.writer.as_mut()?;
        for item in self.items.by_ref() {
            match item {
                Ok(i) => (self.write)(w, &i, self.encoded.get(&i)),
                Err(e) => {
                    // Cut the document: the client sees a broken answer
                    // rather than a silently short one.
                    self.writer = None;
                    self.failure = Some(e);
                    return None;
                }
            }
            if w.pending_len() >= STREAM_THRESHOLD {
                return Some(w.take());
            }
        }
        self.writer.take().map(ResponseWriter::end)
    }
}

pub struct Dispatch<'a> {
    pub om: &'a ObjectManager,
    pub contexts: &'a EnumContexts,
    pub encoded: &'a Arc<EncodedInstances>,
    pub answers: &'a Answers,
    pub ctx: Arc<OperationContext>,
    pub user: Arc<str>,
}

fn class_opts<'a>(
    local_only: bool,
    include_qualifiers: bool,
    include_class_origin: bool,
    property_list: Option<&'a [Name]>,
) -> openwmi_cimxml::ClassOptions<'a> {
    openwmi_cimxml::ClassOptions {
        local_only,
        include_qualifiers,
        include_class_origin,
        property_list,
    }
}

impl Dispatch<'_> {
    pub fn run(&self, req: &Request) -> Outcome {
        match self.execute(req) {
            Ok(o) => o,
            Err(e) => Outcome::Full(req.error_response(&e)),
        }
    }

    /// Writes a stream of instances: whole if it stays below
    /// [`STREAM_THRESHOLD`] (an error then is a clean error response), else as
    /// [`Chunks`] starting with what has been written so far. An answer that
    /// may be kept (`keep`) is written whole up to the largest answer kept,
    /// and kept when complete.
    fn stream(
        &self,
        mut w: ResponseWriter,
        mut items: openwmi_cimom::InstanceIter,
        write: WriteItem,
        keep: Option<Keep>,
    ) -> Result<Outcome, CimError> {
        let head_len = w.pending_len();
        let threshold = match keep {
            Some(_) => self.answers.largest().max(STREAM_THRESHOLD),
            None => STREAM_THRESHOLD,
        };
        while let Some(item) = items.next() {
            let i = item?;
            write(&mut w, &i, self.encoded.get(&i));
            if w.pending_len() >= threshold {
                if let Some(keep) = &keep {
                    self.answers.mark_too_large(&keep.key);
                }
                return Ok(Outcome::Chunks(Box::new(Chunks {
                    first: Some(w.take()),
                    writer: Some(w),
                    items,
                    write,
                    encoded: Arc::clone(self.encoded),
                    failure: None,
                })));
            }
        }
        let Some(keep) = keep else {
            return Ok(Outcome::Full(w.end()));
        };
        let mut all = w.end();
        // Kept for long: without the spare room the buffer grew with.
        all.shrink_to_fit();
        let all = Bytes::from(all);
        let rest = all.slice(head_len..);
        self.answers.keep(
            keep.key,
            KeptAnswer {
                class: keep.class,
                rest: rest.clone(),
            },
        );
        Ok(Outcome::Kept {
            head: all.slice(..head_len),
            rest,
        })
    }

    /// The kept answer to the request `key` describes, after the head `w`
    /// holds, when there is one and the caller may read every class it
    /// covers (the checks the enumeration would make).
    fn lookup(
        &self,
        w: &mut ResponseWriter,
        ns: &str,
        key: impl FnOnce() -> AnswerKey,
    ) -> Result<Lookup, CimError> {
        if !self.answers.enabled() {
            return Ok(Lookup::Miss(None));
        }
        let key = key();
        let Some(kept) = self.answers.get(&key) else {
            if self.answers.too_large(&key) {
                return Ok(Lookup::Miss(None));
            }
            return Ok(Lookup::Miss(Some(key)));
        };
        if !self
            .om
            .fixed_instances(&self.ctx, ns, kept.class.as_str(), true)?
        {
            return Ok(Lookup::Miss(Some(key)));
        }
        Ok(Lookup::Hit(Outcome::Kept {
            head: Bytes::from(w.take_last()),
            rest: kept.rest.clone(),
        }))
    }

    /// Where an enumeration of `class` (and its subclasses) may be kept:
    /// when answers are kept (`key`) and every instance it can yield is fixed.
    fn keep(
        &self,
        ns: &str,
        class: &Name,
        key: Option<AnswerKey>,
    ) -> Result<Option<Keep>, CimError> {
        let Some(key) = key else {
            return Ok(None);
        };
        if !self
            .om
            .fixed_instances(&self.ctx, ns, class.as_str(), true)?
        {
            return Ok(None);
        }
        Ok(Some(Keep {
            key,
            class: class.clone(),
        }))
    }

    fn writer(&self, req: &Request) -> ResponseWriter {
        ResponseWriter::begin(&req.message_id, req.method_name())
            .with_origin(self.om.host(), &req.namespace)
    }

    fn execute(&self, req: &Request) -> Result<Outcome, CimError> {
        let om = self.om;
        let ns = req.namespace.as_str();
        let ctx = &self.ctx;
        let mut w = self.writer(req);
        match &req.operation {
            Operation::GetClass {
                class_name,
                local_only,
                include_qualifiers,
                include_class_origin,
                property_list,
            } => {
                let c = om.get_class(ctx, ns, class_name.as_str(), &ClassOptions::default())?;
                w.class(
                    &c,
                    &class_opts(
                        *local_only,
                        *include_qualifiers,
                        *include_class_origin,
                        property_list.as_deref(),
                    ),
                );
                Ok(Outcome::Full(w.end()))
            }
            Operation::EnumerateClasses {
                class_name,
                deep_inheritance,
                local_only,
                include_qualifiers,
                include_class_origin,
            } => {
                let classes = om.enumerate_classes(
                    ctx,
                    ns,
                    class_name.as_ref().map(|n| n.as_str()),
                    *deep_inheritance,
                    &ClassOptions::default(),
                )?;
                let opts = class_opts(
                    *local_only,
                    *include_qualifiers,
                    *include_class_origin,
                    None,
                );
                for c in &classes {
                    w.class(c, &opts);
                }
                Ok(Outcome::Full(w.end()))
            }
            Operation::EnumerateClassNames {
                class_name,
                deep_inheritance,
            } => {
                for n in om.enumerate_class_names(
                    ctx,
                    ns,
                    class_name.as_ref().map(|n| n.as_str()),
                    *deep_inheritance,
                )? {
                    w.class_name(n.as_str());
                }
                Ok(Outcome::Full(w.end()))
            }
            Operation::GetInstance {
                instance_name,
                property_list,
                ..
            } => {
                let i = om.get_instance(ctx, ns, instance_name, property_list.as_deref())?;
                match self.encoded.get(&i) {
                    Some(e) => w.instance_encoded(e),
                    None => w.instance(&i.instance),
                }
                Ok(Outcome::Full(w.end()))
            }
            Operation::EnumerateInstances {
                class_name,
                deep_inheritance,
                property_list,
                ..
            } => {
                let key = match self.lookup(&mut w, ns, || AnswerKey::Instances {
                    namespace: ns.to_owned(),
                    class: class_name.as_str().to_owned(),
                    deep_inheritance: *deep_inheritance,
                    property_list: property_list
                        .as_ref()
                        .map(|l| l.iter().map(|n| n.as_str().to_owned()).collect()),
                })? {
                    Lookup::Hit(kept) => return Ok(kept),
                    Lookup::Miss(key) => key,
                };
                let it = om.enumerate_instances(
                    ctx,
                    ns,
                    class_name.as_str(),
                    &EnumOptions {
                        deep: true,
                        deep_inheritance: *deep_inheritance,
                        property_list: property_list.clone(),
                    },
                )?;
                let keep = self.keep(ns, class_name, key)?;
                self.stream(
                    w,
                    it,
                    |w, i, e| match e {
                        Some(e) => w.named_instance_encoded(e),
                        None => w.named_instance(&i.path, &i.instance),
                    },
                    keep,
                )
            }
            Operation::EnumerateInstanceNames { class_name } => {
                let key = match self.lookup(&mut w, ns, || AnswerKey::InstanceNames {
                    namespace: ns.to_owned(),
                    class: class_name.as_str().to_owned(),
                })? {
                    Lookup::Hit(kept) => return Ok(kept),
                    Lookup::Miss(key) => key,
                };
                let it =
                    om.enumerate_instances(ctx, ns, class_name.as_str(), &EnumOptions::default())?;
                let keep = self.keep(ns, class_name, key)?;
                self.stream(
                    w,
                    it,
                    |w, i, e| match e {
                        Some(e) => w.instance_name_encoded(e),
                        None => w.instance_name(&i.path),
                    },
                    keep,
                )
            }
            Operation::ExecQuery {
                query_language,
                query,
            } => {
                let key = match self.lookup(&mut w, ns, || AnswerKey::Query {
                    namespace: ns.to_owned(),
                    language: query_language.clone(),
                    query: query.clone(),
                })? {
                    Lookup::Hit(kept) => return Ok(kept),
                    Lookup::Miss(key) => key,
                };
                match om.exec_query(ctx, ns, query_language, query)? {
                    QueryResult::Instances(it) => {
                        let keep = match key {
                            Some(key) => om
                                .fixed_query_class(ctx, ns, query_language, query)?
                                .map(|class| Keep { key, class }),
                            None => None,
                        };
                        self.stream(
                            w,
                            it,
                            |w, i, e| match e {
                                Some(e) => w.object_with_path_encoded(&i.path, e),
                                None => w.object_with_path(&i.path, &i.instance),
                            },
                            keep,
                        )
                    }
                    QueryResult::Objects(objects) => {
                        self.write_objects(&mut w, ns, &objects);
                        Ok(Outcome::Full(w.end()))
                    }
                }
            }
            Operation::Associators {
                object_name,
                assoc_class,
                result_class,
                role,
                result_role,
                property_list,
                ..
            } => {
                let objects = om.associators(
                    ctx,
                    ns,
                    object_name,
                    &assoc_filter(
                        assoc_class,
                        result_class,
                        role,
                        result_role,
                        property_list.clone(),
                    ),
                )?;
                self.write_objects(&mut w, ns, &objects);
                Ok(Outcome::Full(w.end()))
            }
            Operation::AssociatorNames {
                object_name,
                assoc_class,
                result_class,
                role,
                result_role,
            } => {
                let paths = om.associator_names(
                    ctx,
                    ns,
                    object_name,
                    &assoc_filter(assoc_class, result_class, role, result_role, None),
                )?;
                for p in &paths {
                    w.object_path(p);
                }
                Ok(Outcome::Full(w.end()))
            }
            Operation::References {
                object_name,
                result_class,
                role,
                property_list,
                ..
            } => {
                let objects = om.references(
                    ctx,
                    ns,
                    object_name,
                    &ref_filter(result_class, role, property_list.clone()),
                )?;
                self.write_objects(&mut w, ns, &objects);
                Ok(Outcome::Full(w.end()))
            }
            Operation::ReferenceNames {
                object_name,
                result_class,
                role,
            } => {
                let paths = om.reference_names(
                    ctx,
                    ns,
                    object_name,
                    &ref_filter(result_class, role, None),
                )?;
                for p in &paths {
                    w.object_path(p);
                }
                Ok(Outcome::Full(w.end()))
            }
            Operation::GetQualifier { qualifier_name } => {
                let q = om.get_qualifier(ctx, ns, qualifier_name.as_str())?;
                w.qualifier_decl(&q);
                Ok(Outcome::Full(w.end()))
            }
            Operation::EnumerateQualifiers => {
                for q in om.enumerate_qualifiers(ctx, ns)? {
                    w.qualifier_decl(&q);
                }
                Ok(Outcome::Full(w.end()))
            }

            // ---- pull operations ---------------------------------------
            Operation::OpenEnumerateInstances {
                class_name,
                deep_inheritance,
                property_list,
                filter,
                options,
                ..
            } => {
                check_open(filter.as_ref(), options)?;
                let it = om.enumerate_instances(
                    ctx,
                    ns,
                    class_name.as_str(),
                    &EnumOptions {
                        deep: true,
                        deep_inheritance: *deep_inheritance,
                        property_list: property_list.clone(),
                    },
                )?;
                self.open(w, ns, Pending::stream(it), PullKind::Instances, options)
            }
            Operation::OpenEnumerateInstancePaths {
                class_name,
                filter,
                options,
            } => {
                check_open(filter.as_ref(), options)?;
                let it =
                    om.enumerate_instances(ctx, ns, class_name.as_str(), &EnumOptions::default())?;
                self.open(w, ns, Pending::stream(it), PullKind::Paths, options)
            }
            Operation::OpenAssociatorInstances {
                instance_name,
                assoc_class,
                result_class,
                role,
                result_role,
                property_list,
                filter,
                options,
                ..
            } => {
                check_open(filter.as_ref(), options)?;
                require_instance_path(instance_name)?;
                let objects = om.associators(
                    ctx,
                    ns,
                    instance_name,
                    &assoc_filter(
                        assoc_class,
                        result_class,
                        role,
                        result_role,
                        property_list.clone(),
                    ),
                )?;
                self.open(w, ns, Pending::list(objects), PullKind::Instances, options)
            }
            Operation::OpenAssociatorInstancePaths {
                instance_name,
                assoc_class,
                result_class,
                role,
                result_role,
                filter,
                options,
            } => {
                check_open(filter.as_ref(), options)?;
                require_instance_path(instance_name)?;
                let objects = om.associators(
                    ctx,
                    ns,
                    instance_name,
                    &assoc_filter(
                        assoc_class,
                        result_class,
                        role,
                        result_role,
                        Some(Vec::new()),
                    ),
                )?;
                self.open(w, ns, Pending::list(objects), PullKind::Paths, options)
            }
            Operation::OpenReferenceInstances {
                instance_name,
                result_class,
                role,
                property_list,
                filter,
                options,
                ..
            } => {
                check_open(filter.as_ref(), options)?;
                require_instance_path(instance_name)?;
                let objects = om.references(
                    ctx,
                    ns,
                    instance_name,
                    &ref_filter(result_class, role, property_list.clone()),
                )?;
                self.open(w, ns, Pending::list(objects), PullKind::Instances, options)
            }
            Operation::OpenReferenceInstancePaths {
                instance_name,
                result_class,
                role,
                filter,
                options,
            } => {
                check_open(filter.as_ref(), options)?;
                require_instance_path(instance_name)?;
                let objects = om.references(
                    ctx,
                    ns,
                    instance_name,
                    &ref_filter(result_class, role, None),
                )?;
                self.open(w, ns, Pending::list(objects), PullKind::Paths, options)
            }
            Operation::OpenQueryInstances {
                filter,
                return_query_result_class,
                options,
            } => {
                check_open(None, options)?;
                if *return_query_result_class {
                    return Err(CimError::not_supported(
                        "ReturnQueryResultClass is not supported",
                    ));
                }
                let pending = match om.exec_query(ctx, ns, &filter.query_language, &filter.query)? {
                    QueryResult::Instances(it) => Pending::stream(it),
                    QueryResult::Objects(o) => Pending::list(o),
                };
                self.open(w, ns, pending, PullKind::QueryInstances, options)
            }
            Operation::PullInstancesWithPath {
                enumeration_context,
                max_object_count,
            } => self.pull(
                w,
                enumeration_context,
                *max_object_count,
                PullKind::Instances,
            ),
            Operation::PullInstancePaths {
                enumeration_context,
                max_object_count,
            } => self.pull(w, enumeration_context, *max_object_count, PullKind::Paths),
            Operation::PullInstances {
                enumeration_context,
                max_object_count,
            } => self.pull(
                w,
                enumeration_context,
                *max_object_count,
                PullKind::QueryInstances,
            ),
            Operation::CloseEnumeration {
                enumeration_context,
            } => {
                self.contexts.close(enumeration_context, &self.user)?;
                Ok(Outcome::Full(openwmi_cimxml::empty_response(
                    &req.message_id,
                    req.method_name(),
                )))
            }
            other => Err(CimError::not_supported(format!(
                "{} is not supported by openwmi",
                other.method_name()
            ))),
        }
    }

    fn write_objects(&self, w: &mut ResponseWriter, ns: &str, objects: &[Object]) {
        let opts = class_opts(false, true, false, None);
        for o in objects {
            match o {
                Object::Instance(i) => w.object_with_path(&i.path, &i.instance),
                Object::Class(c) => {
                    let path = ObjectPath {
                        host: Some(self.om.host().to_owned()),
                        namespace: Some(ns.to_owned()),
                        class: c.name.clone(),
                        keys: Keys::Class,
                    };
                    w.class_with_path(&path, c, &opts);
                }
            }
        }
    }

    /// Answers an Open*: the first MaxObjectCount objects, and a context
    /// for the rest unless they are all out.
    fn open(
        &self,
        mut w: ResponseWriter,
        ns: &str,
        mut pending: Pending,
        kind: PullKind,
        options: &OpenOptions,
    ) -> Result<Outcome, CimError> {
        let end = pending.write(&mut w, kind, options.max_object_count)?;
        if end {
            return Ok(Outcome::Full(w.end_pull(true, None)));
        }
        let id = self
            .contexts
            .insert(&self.user, ns, pending, kind, options.operation_timeout)?;
        Ok(Outcome::Full(w.end_pull(false, Some(&id))))
    }

    fn pull(
        &self,
        mut w: ResponseWriter,
        id: &str,
        max: u32,
        kind: PullKind,
    ) -> Result<Outcome, CimError> {
        let end = self.contexts.pull(id, &self.user, kind, |pending| {
            pending.write(&mut w, kind, max)
        })?;
        Ok(Outcome::Full(
            w.end_pull(end, if end { None } else { Some(id) }),
        ))
    }
}

/// The DSP0200 association parameters as the object manager takes them.
fn assoc_filter(
    assoc_class: &Option<Name>,
    result_class: &Option<Name>,
    role: &Option<Name>,
    result_role: &Option<Name>,
    property_list: Option<Vec<Name>>,
) -> AssocFilter {
    AssocFilter {
        assoc_class: assoc_class.clone(),
        result_class: result_class.clone(),
        role: role.clone(),
        result_role: result_role.clone(),
        property_list,
        ..Default::default()
    }
}

fn ref_filter(
    result_class: &Option<Name>,
    role: &Option<Name>,
    property_list: Option<Vec<Name>>,
) -> RefFilter {
    RefFilter {
        result_class: result_class.clone(),
        role: role.clone(),
        property_list,
        ..Default::default()
    }
}

fn check_open(filter: Option<&Filter>, options: &OpenOptions) -> Result<(), CimError> {
    if filter.is_some() {
        return Err(CimError::new(
            CimStatus::FilteredEnumerationNotSupported,
            "filtered enumerations are not supported; use OpenQueryInstances with WQL",
        ));
    }
    if options.continue_on_error {
        return Err(CimError::new(
            CimStatus::ContinuationOnErrorNotSupported,
            "ContinueOnError is not supported",
        ));
    }
    Ok(())
}

fn require_instance_path(p: &ObjectPath) -> Result<(), CimError> {
    if matches!(p.keys, Keys::Class) {
        return Err(CimError::invalid_parameter(format!(
            "{p} is a class path; the pull operations take an instance path"
        )));
    }
    Ok(())
}
