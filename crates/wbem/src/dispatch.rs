//! One CIM-XML request: run it on the object manager and write the response.
//! Synchronous: the caller (lib.rs) picks the thread, one where blocking is
//! allowed unless no provider of the namespace may block.

use crate::answers::{AnswerKey, Answers, KeptAnswer};
use crate::contexts::{EnumContexts, Pending, PullKind};
use crate::encoded::EncodedInstances;
use bytes::Bytes;
use openwmi_cim::{CimError, CimStatus, Keys, Name, ObjectPath};
use openwmi_cimom::{
    AssocFilter, ClassOptions, EnumOptions, InstanceIter, InstanceWithPath, Object, ObjectManager,
    OperationContext, QueryResult, RefFilter,
};
use openwmi_cimxml::{EncodedInstance, Request, ResponseWriter};
use openwmi_operation::{
    AssocParams, ClassFlags, EnumerateInstances, ExecQuery, Filter, InstanceOptions, OpenOptions,
    Operation, Pull, RefParams,
};
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
    items: InstanceIter,
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
    flags: &ClassFlags,
    property_list: Option<&'a [Name]>,
) -> openwmi_cimxml::ClassOptions<'a> {
    openwmi_cimxml::ClassOptions {
        local_only: flags.local_only,
        include_qualifiers: flags.include_qualifiers,
        include_class_origin: flags.include_class_origin,
        property_list,
    }
}

impl Dispatch<'_> {
    /// Answers a request that arrived at `started` (its latency is counted
    /// from there).
    pub fn run(&self, req: &Request, started: std::time::Instant) -> Outcome {
        let result = self.execute(req);
        crate::stats::record(
            req.method_name(),
            result.as_ref().err().map(|e| e.status),
            started.elapsed(),
        );
        match result {
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
        mut items: InstanceIter,
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

    /// Runs the operation.
    fn execute(&self, req: &Request) -> Result<Outcome, CimError> {
        let (om, ctx, ns) = (self.om, &self.ctx, req.namespace.as_str());
        let mut w = self.writer(req);
        match &req.operation {
            Operation::GetClass(p) => {
                let c = om.get_class(ctx, ns, p.class_name.as_str(), &ClassOptions::default())?;
                w.class(&c, &class_opts(&p.flags, p.property_list.as_deref()));
            }
            Operation::EnumerateClasses(p) => {
                let base = p.class_name.as_ref().map(Name::as_str);
                let (whole, opts) = (ClassOptions::default(), class_opts(&p.flags, None));
                for c in &om.enumerate_classes(ctx, ns, base, p.deep_inheritance, &whole)? {
                    w.class(c, &opts);
                }
            }
            Operation::EnumerateClassNames(p) => {
                let base = p.class_name.as_ref().map(Name::as_str);
                for n in om.enumerate_class_names(ctx, ns, base, p.deep_inheritance)? {
                    w.class_name(n.as_str());
                }
            }
            Operation::GetInstance(p) => {
                let property_list = p.options.property_list.as_deref();
                let i = om.get_instance(ctx, ns, &p.instance_name, property_list)?;
                match self.encoded.get(&i) {
                    Some(e) => w.instance_encoded(e),
                    None => w.instance(&i.instance),
                }
            }
            Operation::EnumerateInstances(p) => return self.enumerate_instances(w, ns, p),
            Operation::EnumerateInstanceNames(p) => {
                return self.enumerate_instance_names(w, ns, &p.class_name)
            }
            Operation::ExecQuery(p) => return self.exec_query(w, ns, p),
            Operation::Associators(p) => {
                let assoc = Related::Associators(&p.assoc);
                let pl = p.options.property_list.clone();
                self.write_objects(&mut w, ns, &self.related(ns, &p.object_name, assoc, pl)?);
            }
            Operation::References(p) => {
                let refs = Related::References(&p.refs);
                let pl = p.options.property_list.clone();
                self.write_objects(&mut w, ns, &self.related(ns, &p.object_name, refs, pl)?);
            }
            Operation::AssociatorNames(p) => {
                let assoc = Related::Associators(&p.assoc);
                for path in &self.related_names(ns, &p.object_name, assoc)? {
                    w.object_path(path);
                }
            }
            Operation::ReferenceNames(p) => {
                let refs = Related::References(&p.refs);
                for path in &self.related_names(ns, &p.object_name, refs)? {
                    w.object_path(path);
                }
            }
            Operation::GetQualifier(p) => {
                w.qualifier_decl(&om.get_qualifier(ctx, ns, p.qualifier_name.as_str())?);
            }
            Operation::EnumerateQualifiers => {
                for q in om.enumerate_qualifiers(ctx, ns)? {
                    w.qualifier_decl(&q);
                }
            }
            Operation::CreateInstance(p) => {
                let path = om.create_instance(ctx, ns, &p.new_instance.0)?;
                w.instance_name(&path);
            }
            Operation::DeleteInstance(p) => {
                om.delete_instance(ctx, ns, &p.instance_name)?;
                let body = openwmi_cimxml::empty_response(&req.message_id, req.method_name());
                return Ok(Outcome::Full(body));
            }
            _ => return self.execute_pull(w, req),
        }
        Ok(Outcome::Full(w.end()))
    }

    /// Runs a pull operation (or an operation openwmi does not support). An
    /// Open* asks the object manager what its base operation asks (the same
    /// helpers), then answers with the first objects and a context for the
    /// rest ([`Dispatch::open`]).
    fn execute_pull(&self, w: ResponseWriter, req: &Request) -> Result<Outcome, CimError> {
        let (om, ctx, ns) = (self.om, &self.ctx, req.namespace.as_str());
        match &req.operation {
            Operation::OpenEnumerateInstances(p) => {
                check_open(p.filter.as_ref(), &p.open)?;
                let it = self.instances(ns, &p.class_name, p.deep_inheritance, &p.options)?;
                self.open(w, ns, Pending::stream(it), PullKind::Instances, &p.open)
            }
            Operation::OpenEnumerateInstancePaths(p) => {
                check_open(p.filter.as_ref(), &p.open)?;
                let it = self.instance_names(ns, &p.class_name)?;
                self.open(w, ns, Pending::stream(it), PullKind::Paths, &p.open)
            }
            Operation::OpenAssociatorInstances(p) => {
                check_open(p.filter.as_ref(), &p.open)?;
                let (assoc, pl) = (Related::Associators(&p.assoc), &p.options.property_list);
                let list = self.related_instances(ns, &p.instance_name, assoc, pl.clone())?;
                self.open(w, ns, list, PullKind::Instances, &p.open)
            }
            Operation::OpenAssociatorInstancePaths(p) => {
                check_open(p.filter.as_ref(), &p.open)?;
                let assoc = Related::Associators(&p.assoc);
                let list = self.related_instances(ns, &p.instance_name, assoc, Some(Vec::new()))?;
                self.open(w, ns, list, PullKind::Paths, &p.open)
            }
            Operation::OpenReferenceInstances(p) => {
                check_open(p.filter.as_ref(), &p.open)?;
                let (refs, pl) = (Related::References(&p.refs), &p.options.property_list);
                let list = self.related_instances(ns, &p.instance_name, refs, pl.clone())?;
                self.open(w, ns, list, PullKind::Instances, &p.open)
            }
            Operation::OpenReferenceInstancePaths(p) => {
                check_open(p.filter.as_ref(), &p.open)?;
                let refs = Related::References(&p.refs);
                let list = self.related_instances(ns, &p.instance_name, refs, None)?;
                self.open(w, ns, list, PullKind::Paths, &p.open)
            }
            Operation::OpenQueryInstances(p) => {
                check_open(None, &p.open)?;
                if p.return_query_result_class {
                    return Err(CimError::not_supported(
                        "ReturnQueryResultClass is not supported",
                    ));
                }
                let f = &p.filter;
                let pending = match om.exec_query(ctx, ns, &f.query_language, &f.query)? {
                    QueryResult::Instances(it) => Pending::stream(it),
                    QueryResult::Objects(o) => Pending::list(o),
                };
                self.open(w, ns, pending, PullKind::QueryInstances, &p.open)
            }
            Operation::PullInstancesWithPath(p) => self.pull(w, p, PullKind::Instances),
            Operation::PullInstancePaths(p) => self.pull(w, p, PullKind::Paths),
            Operation::PullInstances(p) => self.pull(w, p, PullKind::QueryInstances),
            Operation::InvokeMethod {
                target,
                method,
                params,
            } => {
                let r = om.invoke_method(ctx, ns, target, method.as_str(), params)?;
                let embedded = embedded_out_params(om, ctx, ns, target, method.as_str(), &r);
                Ok(Outcome::Full(openwmi_cimxml::method_response_embedding(
                    &req.message_id,
                    req.method_name(),
                    r.return_value.as_ref(),
                    &r.out_params,
                    &embedded,
                )))
            }
            Operation::CloseEnumeration(p) => {
                self.contexts.close(&p.enumeration_context, &self.user)?;
                let body = openwmi_cimxml::empty_response(&req.message_id, req.method_name());
                Ok(Outcome::Full(body))
            }
            other => Err(CimError::not_supported(format!(
                "{} is not supported by openwmi",
                other.method_name()
            ))),
        }
    }

    /// The instances EnumerateInstances and OpenEnumerateInstances return.
    fn instances(
        &self,
        ns: &str,
        class_name: &Name,
        deep_inheritance: bool,
        options: &InstanceOptions,
    ) -> Result<InstanceIter, CimError> {
        let opts = EnumOptions {
            deep: true,
            deep_inheritance,
            property_list: options.property_list.clone(),
        };
        self.om
            .enumerate_instances(&self.ctx, ns, class_name.as_str(), &opts)
    }

    /// The instances whose paths EnumerateInstanceNames and
    /// OpenEnumerateInstancePaths return.
    fn instance_names(&self, ns: &str, class_name: &Name) -> Result<InstanceIter, CimError> {
        self.om
            .enumerate_instances(&self.ctx, ns, class_name.as_str(), &EnumOptions::default())
    }

    fn enumerate_instances(
        &self,
        mut w: ResponseWriter,
        ns: &str,
        p: &EnumerateInstances,
    ) -> Result<Outcome, CimError> {
        let key = match self.lookup(&mut w, ns, || AnswerKey::Instances {
            namespace: ns.to_owned(),
            class: p.class_name.as_str().to_owned(),
            deep_inheritance: p.deep_inheritance,
            property_list: p
                .options
                .property_list
                .as_ref()
                .map(|l| l.iter().map(|n| n.as_str().to_owned()).collect()),
        })? {
            Lookup::Hit(kept) => return Ok(kept),
            Lookup::Miss(key) => key,
        };
        let it = self.instances(ns, &p.class_name, p.deep_inheritance, &p.options)?;
        let keep = self.keep(ns, &p.class_name, key)?;
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

    fn enumerate_instance_names(
        &self,
        mut w: ResponseWriter,
        ns: &str,
        class_name: &Name,
    ) -> Result<Outcome, CimError> {
        let key = match self.lookup(&mut w, ns, || AnswerKey::InstanceNames {
            namespace: ns.to_owned(),
            class: class_name.as_str().to_owned(),
        })? {
            Lookup::Hit(kept) => return Ok(kept),
            Lookup::Miss(key) => key,
        };
        let it = self.instance_names(ns, class_name)?;
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

    fn exec_query(
        &self,
        mut w: ResponseWriter,
        ns: &str,
        p: &ExecQuery,
    ) -> Result<Outcome, CimError> {
        let (om, ctx) = (self.om, &self.ctx);
        let key = match self.lookup(&mut w, ns, || AnswerKey::Query {
            namespace: ns.to_owned(),
            language: p.query_language.clone(),
            query: p.query.clone(),
        })? {
            Lookup::Hit(kept) => return Ok(kept),
            Lookup::Miss(key) => key,
        };
        match om.exec_query(ctx, ns, &p.query_language, &p.query)? {
            QueryResult::Instances(it) => {
                let keep = match key {
                    Some(key) => om
                        .fixed_query_class(ctx, ns, &p.query_language, &p.query)?
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

    /// The objects Associators or References return.
    fn related(
        &self,
        ns: &str,
        object: &ObjectPath,
        related: Related<'_>,
        property_list: Option<Vec<Name>>,
    ) -> Result<Vec<Object>, CimError> {
        let (om, ctx, pl) = (self.om, &self.ctx, property_list);
        match related {
            Related::Associators(p) => om.associators(ctx, ns, object, &assoc_filter(p, pl)),
            Related::References(p) => om.references(ctx, ns, object, &ref_filter(p, pl)),
        }
    }

    /// The paths AssociatorNames or ReferenceNames return.
    fn related_names(
        &self,
        ns: &str,
        object: &ObjectPath,
        related: Related<'_>,
    ) -> Result<Vec<ObjectPath>, CimError> {
        let (om, ctx) = (self.om, &self.ctx);
        match related {
            Related::Associators(p) => om.associator_names(ctx, ns, object, &assoc_filter(p, None)),
            Related::References(p) => om.reference_names(ctx, ns, object, &ref_filter(p, None)),
        }
    }

    /// What an Open*Associator* or Open*Reference* operation enumerates:
    /// the related instances of an instance.
    fn related_instances(
        &self,
        ns: &str,
        instance: &ObjectPath,
        related: Related<'_>,
        property_list: Option<Vec<Name>>,
    ) -> Result<Pending, CimError> {
        require_instance_path(instance)?;
        let objects = self.related(ns, instance, related, property_list)?;
        Ok(Pending::list(objects))
    }

    fn write_objects(&self, w: &mut ResponseWriter, ns: &str, objects: &[Object]) {
        let opts = openwmi_cimxml::ClassOptions {
            local_only: false,
            include_qualifiers: true,
            include_class_origin: false,
            property_list: None,
        };
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

    fn pull(&self, mut w: ResponseWriter, p: &Pull, kind: PullKind) -> Result<Outcome, CimError> {
        let id = p.enumeration_context.as_str();
        let end = self.contexts.pull(id, &self.user, kind, |pending| {
            pending.write(&mut w, kind, p.max_object_count)
        })?;
        Ok(Outcome::Full(
            w.end_pull(end, if end { None } else { Some(id) }),
        ))
    }
}

/// The association parameters of the operation being run: those of
/// Associators and AssociatorNames or those of References and
/// ReferenceNames (and of their Open* forms).
#[derive(Clone, Copy)]
enum Related<'a> {
    Associators(&'a AssocParams),
    References(&'a RefParams),
}

/// DSP0200's association parameters as the object manager takes them.
fn assoc_filter(p: &AssocParams, property_list: Option<Vec<Name>>) -> AssocFilter {
    AssocFilter {
        assoc_class: p.assoc_class.clone(),
        result_class: p.result_class.clone(),
        role: p.role.clone(),
        result_role: p.result_role.clone(),
        property_list,
        ..Default::default()
    }
}

fn ref_filter(p: &RefParams, property_list: Option<Vec<Name>>) -> RefFilter {
    RefFilter {
        result_class: p.result_class.clone(),
        role: p.role.clone(),
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

/// The output parameters of `method` declared as embedded instances or
/// objects (a string holding an INSTANCE), when the result has any string.
fn embedded_out_params(
    om: &ObjectManager,
    ctx: &openwmi_cimom::OperationContext,
    ns: &str,
    target: &ObjectPath,
    method: &str,
    r: &openwmi_cimom::MethodResult,
) -> Vec<Name> {
    if !r
        .out_params
        .iter()
        .any(|(_, v)| matches!(v, openwmi_cim::Value::String(_)))
    {
        return Vec::new();
    }
    let Ok(class) = om.get_class(ctx, ns, target.class.as_str(), &ClassOptions::default()) else {
        return Vec::new();
    };
    let Some(decl) = class.method(method) else {
        return Vec::new();
    };
    decl.parameters
        .iter()
        .filter(|p| {
            p.qualifiers
                .iter()
                .any(|q| q.name.is("EmbeddedInstance") || q.name.is("EmbeddedObject"))
        })
        .map(|p| p.name.clone())
        .collect()
}
