//! Runs a [`Plan`] on the object manager and writes the answer envelope.
//! Synchronous: the service picks the thread (one that may block when a
//! provider of the namespace may).
//!
//! Enumerations keep what they have not sent in CIM-XML's enumeration
//! contexts (`openwmi_wbem::EnumContexts`): the same expiry, the same owner
//! check, the same per-user quota over both protocols. A context holds
//! [`PullKind::Other`] with this front-end's own number (how items are
//! written, and whether its providers may block), which the client's
//! context token repeats: a token changed by hand names a context no pull
//! finds.
//!
//! An answer is held whole, never larger than the client's (and the
//! server's) MaxEnvelopeSize: an item is taken from the enumeration only
//! when it still fits, else it waits for the next Pull. So an answer never
//! outgrows 512000 bytes, memory per request stays flat however large the
//! enumeration, and a failure is always a clean fault.

use crate::cache::Encodings;
use crate::encode;
use crate::envelope::{EnumerationMode, Selector, SelectorValue};
use crate::fault::{Fault, FaultKind};
use crate::ns;
use crate::plan::{Batching, Plan};
use crate::resource::UriForm;
use crate::writer::{envelope_head, ENVELOPE_TAIL};
use crate::xml;
use openwmi_cim::{CimError, CimType, Keys, ObjectPath, Value};
use openwmi_cimom::{
    AssocFilter, ClassOptions, EnumOptions, InstanceWithPath, Object, ObjectManager,
    OperationContext, QueryResult, RefFilter,
};
use openwmi_operation::Operation;
use openwmi_wbem::{Dispatcher, Pending, PullKind};
use std::sync::Arc;
use std::time::Instant;

/// The largest answer openwmi writes, whatever a client allows: Windows'
/// default MaxEnvelopeSizekb (500).
pub const MAX_ENVELOPE: usize = 512_000;

/// Room kept in an envelope for what follows the items.
const ENVELOPE_RESERVE: usize = 512;

/// One request's circumstances.
#[derive(Debug)]
pub struct Call {
    pub user: Arc<str>,
    pub groups: Arc<[String]>,
    /// The client's address, for the audit of method calls.
    pub client: Option<std::net::SocketAddr>,
    pub message_id: Option<String>,
    /// Characters the answer may have.
    pub max_envelope: usize,
    /// When to stop adding items (OperationTimeout, MaxTime).
    pub deadline: Instant,
    pub tls: bool,
    /// An Identify the transport let through without credentials.
    pub unauthenticated: bool,
    /// The client asked for `msftwinrm:UsePreciseArrays`.
    pub precise_arrays: bool,
}

/// The number a WS-Man enumeration context carries (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContextTag {
    pub form: UriForm,
    pub mode: EnumerationMode,
    pub may_block: bool,
    /// Class definitions (CIM-XML CLASS elements), not instances.
    pub classes: bool,
    /// NULL arrays marked `msftwinrm:IsNullArray` (UsePreciseArrays).
    pub precise_arrays: bool,
}

impl ContextTag {
    fn bits(self) -> u16 {
        let mode = match self.mode {
            EnumerationMode::Objects => 0,
            EnumerationMode::Epr => 1,
            EnumerationMode::ObjectAndEpr => 2,
        };
        0x100
            | (self.form as u16)
            | (mode << 2)
            | (u16::from(self.may_block) << 4)
            | (u16::from(self.classes) << 5)
            | (u16::from(self.precise_arrays) << 6)
    }

    fn from_bits(bits: u16) -> Option<ContextTag> {
        if bits & !0x17F != 0 || bits & 0x100 == 0 {
            return None;
        }
        Some(ContextTag {
            form: UriForm::from_bits(bits & 3),
            mode: match (bits >> 2) & 3 {
                0 => EnumerationMode::Objects,
                1 => EnumerationMode::Epr,
                2 => EnumerationMode::ObjectAndEpr,
                _ => return None,
            },
            may_block: bits & 0x10 != 0,
            classes: bits & 0x20 != 0,
            precise_arrays: bits & 0x40 != 0,
        })
    }

    /// Which of the 18 ways of writing an item this is (for [`Encodings`]);
    /// class definitions are none of them (never kept).
    fn way(self) -> usize {
        if self.classes {
            return usize::MAX;
        }
        let mode = match self.mode {
            EnumerationMode::Objects => 0,
            EnumerationMode::Epr => 1,
            EnumerationMode::ObjectAndEpr => 2,
        };
        self.form as usize * 3 + mode + if self.precise_arrays { 9 } else { 0 }
    }

    /// The token a client gets: the context's id and this number.
    fn token(self, id: &str) -> String {
        format!("{id}-{}", self.bits())
    }

    /// The context id and tag of a client's token.
    pub fn parse(token: &str) -> Option<(&str, ContextTag)> {
        let (id, bits) = token.trim().rsplit_once('-')?;
        Some((id, ContextTag::from_bits(bits.parse().ok()?)?))
    }
}

/// What answers the requests: the object manager and contexts of the
/// CIM-XML dispatcher.
#[derive(Clone, Debug)]
pub struct Engine {
    dispatcher: Dispatcher,
    encodings: Arc<Encodings>,
}

fn invalid_context(token: &str) -> Fault {
    Fault::new(
        FaultKind::InvalidEnumerationContext,
        format!("no open enumeration {token:?} (released, finished, expired or another user's)"),
    )
}

impl Engine {
    pub fn new(dispatcher: Dispatcher) -> Engine {
        let encodings = Arc::new(Encodings::new(dispatcher.object_manager()));
        Engine {
            dispatcher,
            encodings,
        }
    }

    pub fn object_manager(&self) -> &ObjectManager {
        self.dispatcher.object_manager()
    }

    /// The name faults give as `Machine`.
    pub fn machine(&self) -> &str {
        self.object_manager().host()
    }

    /// Whether running `plan` may block the thread.
    pub fn may_block(&self, plan: &Plan) -> bool {
        match plan {
            Plan::Identify => false,
            Plan::Get { namespace, .. } | Plan::Enumerate { namespace, .. } => {
                self.object_manager().may_block(namespace)
            }
            Plan::Pull { context, .. } => {
                ContextTag::parse(context).is_some_and(|(_, t)| t.may_block)
            }
            Plan::Release { .. } => false,
            // A method may act on the system (smbd's registry, files).
            Plan::Invoke { .. } => true,
        }
    }

    /// The answer envelope, or the fault.
    pub fn run(&self, plan: &Plan, call: &Call) -> Result<String, Fault> {
        self.run_plan(plan, call).map_err(|f| match plan {
            Plan::Get { namespace, .. } | Plan::Enumerate { namespace, .. } => {
                crate::resource::missing_default_namespace(f, namespace)
            }
            _ => f,
        })
    }

    fn run_plan(&self, plan: &Plan, call: &Call) -> Result<String, Fault> {
        let mut ctx = OperationContext::for_user(Arc::clone(&call.user), Arc::clone(&call.groups));
        ctx.client = call.client;
        let ctx = Arc::new(ctx);
        match plan {
            Plan::Identify => Ok(identify(call)),
            Plan::Get {
                namespace,
                form,
                operation,
            } => self.get(&ctx, call, namespace, *form, operation),
            Plan::Enumerate {
                namespace,
                form,
                operation,
                batching,
                selector_filter,
            } => self.enumerate(
                &ctx,
                call,
                namespace,
                *form,
                operation,
                batching,
                selector_filter,
            ),
            Plan::Pull {
                context,
                max_elements,
                max_characters,
                ..
            } => self.pull(call, context, *max_elements, *max_characters),
            Plan::Invoke {
                namespace,
                form,
                resource_uri,
                operation,
            } => self.invoke(&ctx, call, namespace, *form, resource_uri, operation),
            Plan::Release { context } => {
                let Some((id, _)) = ContextTag::parse(context) else {
                    return Err(invalid_context(context));
                };
                self.dispatcher
                    .contexts()
                    .close(id, &call.user)
                    .map_err(|_| invalid_context(context))?;
                let mut out = String::with_capacity(1024);
                envelope_head(
                    &mut out,
                    ns::ACTION_RELEASE_RESPONSE,
                    call.message_id.as_deref(),
                    None,
                );
                out.push_str("<s:Body>");
                out.push_str(ENVELOPE_TAIL);
                Ok(out)
            }
        }
    }

    /// `path` with each key typed as its class declares it; the faults
    /// DSP0226 gives for missing, unknown or ill-typed selectors.
    fn typed_path(
        &self,
        ctx: &OperationContext,
        namespace: &str,
        path: &ObjectPath,
    ) -> Result<ObjectPath, Fault> {
        // The repository's class, shared: only its keys are read (a
        // GetClass would copy it whole, qualifiers and all, per request).
        let class = self
            .object_manager()
            .namespace(ctx, namespace)
            .map_err(Fault::from_cim)?
            .class(path.class.as_str())
            .ok_or_else(|| {
                Fault::from_cim(CimError::invalid_class(format!(
                    "no class {} in {}",
                    path.class,
                    openwmi_cimom::display_ns(namespace)
                )))
            })?;
        let keys: Vec<_> = class.key_properties().collect();
        let bindings = match &path.keys {
            Keys::Bindings(b) => b.as_slice(),
            _ => &[],
        };
        let selectors = |what: &str, detail| {
            Fault::new(FaultKind::InvalidSelectors, what.to_owned()).with_detail(detail)
        };
        if let Some(k) = keys
            .iter()
            .find(|k| !bindings.iter().any(|b| b.name.is(k.name.as_str())))
        {
            return Err(selectors(
                &format!("the selectors lack key {} of class {}", k.name, class.name),
                "InsufficientSelectors",
            ));
        }
        let mut typed = Vec::with_capacity(bindings.len());
        for b in bindings {
            let Some(decl) = keys.iter().find(|k| k.name.is(b.name.as_str())) else {
                return Err(selectors(
                    &format!("{} is not a key of class {}", b.name, class.name),
                    "UnexpectedSelectors",
                ));
            };
            let value = match (&b.value, decl.ty.base) {
                (Value::String(s), ty) => typed_value(s, ty).ok_or_else(|| {
                    selectors(
                        &format!("the selector {} = {s:?} is not a {ty:?}", b.name),
                        "TypeMismatch",
                    )
                })?,
                (v, _) => v.clone(),
            };
            typed.push(openwmi_cim::KeyBinding {
                name: decl.name.clone(),
                value,
            });
        }
        Ok(ObjectPath {
            host: None,
            namespace: None,
            class: class.name.clone(),
            keys: if typed.is_empty() {
                Keys::Singleton
            } else {
                Keys::Bindings(typed)
            },
        })
    }

    /// Runs a method and writes `<p:<Method>_OUTPUT>`: the output
    /// parameters, then `p:ReturnValue`, as Windows and Pegasus answer.
    fn invoke(
        &self,
        ctx: &Arc<OperationContext>,
        call: &Call,
        namespace: &str,
        form: UriForm,
        resource_uri: &str,
        operation: &Operation,
    ) -> Result<String, Fault> {
        let Operation::InvokeMethod {
            target,
            method,
            params,
        } = operation
        else {
            return Err(Fault::new(
                FaultKind::InternalError,
                format!("an Invoke cannot run {}", operation.method_name()),
            ));
        };
        let target = match target.keys {
            Keys::Bindings(_) => self.typed_path(ctx, namespace, target)?,
            _ => target.clone(),
        };
        let result = self
            .object_manager()
            .invoke_method(ctx, namespace, &target, method.as_str(), params)
            .map_err(Fault::from_cim)?;
        let method = method.as_str();
        let mut out = String::with_capacity(2048);
        envelope_head(
            &mut out,
            &format!("{resource_uri}/{method}Response"),
            call.message_id.as_deref(),
            None,
        );
        out.push_str("<s:Body><p:");
        out.push_str(method);
        out.push_str("_OUTPUT xmlns:p=\"");
        xml::attr(&mut out, resource_uri);
        out.push_str("\">");
        let class = om_class(self.object_manager(), namespace, target.class.as_str());
        let decl = class.as_deref().and_then(|c| c.method(method));
        let style = encode::Style {
            class: None,
            precise_arrays: call.precise_arrays,
        };
        for (name, value) in &result.out_params {
            match decl.and_then(|d| d.parameters.iter().find(|p| p.name.is(name.as_str()))) {
                Some(p) => encode::declared(
                    &mut out,
                    name.as_str(),
                    Some(value),
                    encode::Special::of(&p.qualifiers, p.ty.base, p.ty.array),
                    p.ty.array.is_array(),
                    namespace,
                    form,
                    style,
                ),
                None => encode::named(&mut out, name.as_str(), Some(value), namespace, form),
            }
        }
        if let Some(rv) = &result.return_value {
            encode::named(&mut out, "ReturnValue", Some(rv), namespace, form);
        }
        out.push_str("</p:");
        out.push_str(method);
        out.push_str("_OUTPUT>");
        closed(out, call.max_envelope)
    }

    fn get(
        &self,
        ctx: &Arc<OperationContext>,
        call: &Call,
        namespace: &str,
        form: UriForm,
        operation: &Operation,
    ) -> Result<String, Fault> {
        let om = self.object_manager();
        let mut out = String::with_capacity(4096);
        envelope_head(
            &mut out,
            ns::ACTION_GET_RESPONSE,
            call.message_id.as_deref(),
            None,
        );
        out.push_str("<s:Body>");
        match operation {
            Operation::GetInstance(p) => {
                let path = self.typed_path(ctx, namespace, &p.instance_name)?;
                let property_list = p.options.property_list.as_deref();
                let found = om
                    .get_instance(ctx, namespace, &path, property_list)
                    .map_err(Fault::from_cim)?;
                let tag = ContextTag {
                    form,
                    mode: EnumerationMode::Objects,
                    may_block: false,
                    classes: false,
                    precise_arrays: call.precise_arrays,
                };
                let mut scratch = String::new();
                out.push_str(self.encodings.get(&mut scratch, &found, tag.way(), |s| {
                    write_item(s, &found, tag, namespace, om)
                }));
            }
            Operation::GetClass(p) => {
                let class = om
                    .get_class(
                        ctx,
                        namespace,
                        p.class_name.as_str(),
                        &ClassOptions::default(),
                    )
                    .map_err(Fault::from_cim)?;
                crate::classdef::write(&mut out, &class);
            }
            other => {
                return Err(Fault::new(
                    FaultKind::InternalError,
                    format!("a Get cannot run {}", other.method_name()),
                ))
            }
        }
        closed(out, call.max_envelope)
    }

    /// What an Open* operation enumerates.
    fn pending(
        &self,
        ctx: &Arc<OperationContext>,
        namespace: &str,
        operation: &Operation,
    ) -> Result<(Pending, bool), Fault> {
        let om = self.object_manager();
        let cim = Fault::from_cim;
        Ok((
            match operation {
                Operation::EnumerateClasses(p) => {
                    let opts = ClassOptions {
                        local_only: p.flags.local_only,
                        include_qualifiers: p.flags.include_qualifiers,
                        include_class_origin: p.flags.include_class_origin,
                        property_list: None,
                    };
                    let classes = om
                        .enumerate_classes(
                            ctx,
                            namespace,
                            p.class_name.as_ref().map(|n| n.as_str()),
                            p.deep_inheritance,
                            &opts,
                        )
                        .map_err(cim)?;
                    return Ok((
                        class_items(namespace, classes.into_iter().map(Arc::new)),
                        true,
                    ));
                }
                Operation::OpenEnumerateInstances(p) => {
                    let opts = EnumOptions {
                        deep: true,
                        deep_inheritance: p.deep_inheritance,
                        property_list: p.options.property_list.clone(),
                    };
                    Pending::stream(
                        om.enumerate_instances(ctx, namespace, p.class_name.as_str(), &opts)
                            .map_err(cim)?,
                    )
                }
                Operation::OpenEnumerateInstancePaths(p) => Pending::stream(
                    om.enumerate_instances(
                        ctx,
                        namespace,
                        p.class_name.as_str(),
                        &EnumOptions::default(),
                    )
                    .map_err(cim)?,
                ),
                Operation::OpenQueryInstances(p) => {
                    match om
                        .exec_query(ctx, namespace, &p.filter.query_language, &p.filter.query)
                        .map_err(cim)?
                    {
                        QueryResult::Instances(it) => Pending::stream(it),
                        QueryResult::Objects(o)
                            if o.iter().any(|o| matches!(o, Object::Class(_))) =>
                        {
                            let classes = o.into_iter().filter_map(|o| match o {
                                Object::Class(c) => Some(c),
                                Object::Instance(_) => None,
                            });
                            return Ok((class_items(namespace, classes.collect::<Vec<_>>()), true));
                        }
                        QueryResult::Objects(o) => Pending::list(o),
                    }
                }
                Operation::OpenAssociatorInstances(p) => {
                    let path = self.typed_path(ctx, namespace, &p.instance_name)?;
                    let f = assoc_filter(&p.assoc, p.options.property_list.clone());
                    Pending::list(om.associators(ctx, namespace, &path, &f).map_err(cim)?)
                }
                Operation::OpenAssociatorInstancePaths(p) => {
                    let path = self.typed_path(ctx, namespace, &p.instance_name)?;
                    let f = assoc_filter(&p.assoc, Some(Vec::new()));
                    Pending::list(om.associators(ctx, namespace, &path, &f).map_err(cim)?)
                }
                Operation::OpenReferenceInstances(p) => {
                    let path = self.typed_path(ctx, namespace, &p.instance_name)?;
                    let f = ref_filter(&p.refs, p.options.property_list.clone());
                    Pending::list(om.references(ctx, namespace, &path, &f).map_err(cim)?)
                }
                Operation::OpenReferenceInstancePaths(p) => {
                    let path = self.typed_path(ctx, namespace, &p.instance_name)?;
                    let f = ref_filter(&p.refs, None);
                    Pending::list(om.references(ctx, namespace, &path, &f).map_err(cim)?)
                }
                other => {
                    return Err(Fault::new(
                        FaultKind::InternalError,
                        format!("an Enumerate cannot run {}", other.method_name()),
                    ))
                }
            },
            false,
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn enumerate(
        &self,
        ctx: &Arc<OperationContext>,
        call: &Call,
        namespace: &str,
        form: UriForm,
        operation: &Operation,
        batching: &Batching,
        selector_filter: &[Selector],
    ) -> Result<String, Fault> {
        if !selector_filter.is_empty() {
            // Only so that an unknown key fails as a selector should.
            if let Some(class) = operation_class(operation) {
                let keys = selector_filter
                    .iter()
                    .filter(|s| {
                        !s.name
                            .eq_ignore_ascii_case(crate::resource::NAMESPACE_SELECTOR)
                    })
                    .cloned()
                    .collect::<Vec<_>>();
                check_filter_keys(self, ctx, namespace, class, &keys)?;
            }
        }
        let (mut pending, classes) = self.pending(ctx, namespace, operation)?;
        let tag = ContextTag {
            form,
            mode: batching.mode,
            may_block: self.object_manager().may_block(namespace),
            classes,
            precise_arrays: call.precise_arrays,
        };
        let mut head = String::with_capacity(1024);
        envelope_head(
            &mut head,
            ns::ACTION_ENUMERATE_RESPONSE,
            call.message_id.as_deref(),
            None,
        );
        let budget = call
            .max_envelope
            .saturating_sub(head.len() + ENVELOPE_RESERVE);
        let mut items = String::new();
        let batch = Batch {
            encodings: &self.encodings,
            budget,
            max: batching.max_elements,
            tag,
            filter: selector_filter,
            deadline: call.deadline,
            namespace,
            om: self.object_manager(),
        };
        let done = if batching.max_elements == 0 {
            pending.is_done()
        } else {
            fill(&batch, &mut pending, &mut items)?
        };
        let token = if done {
            None
        } else {
            let id = self
                .dispatcher
                .contexts()
                .insert(
                    &call.user,
                    namespace,
                    pending,
                    PullKind::Other(tag.bits()),
                    None,
                )
                .map_err(Fault::from_cim)?;
            Some(tag.token(&id))
        };
        let mut out = head;
        out.reserve(items.len() + 512);
        out.push_str("<s:Body><n:EnumerateResponse><n:EnumerationContext>");
        if let Some(t) = &token {
            xml::text(&mut out, t);
        }
        out.push_str("</n:EnumerationContext>");
        if batching.optimize {
            out.push_str("<w:Items>");
            out.push_str(&items);
            out.push_str("</w:Items>");
            if done {
                out.push_str("<w:EndOfSequence/>");
            }
        }
        out.push_str("</n:EnumerateResponse>");
        out.push_str(ENVELOPE_TAIL);
        Ok(out)
    }

    fn pull(
        &self,
        call: &Call,
        token: &str,
        max_elements: u32,
        max_characters: Option<u32>,
    ) -> Result<String, Fault> {
        let Some((id, tag)) = ContextTag::parse(token) else {
            return Err(invalid_context(token));
        };
        let mut head = String::with_capacity(1024);
        envelope_head(
            &mut head,
            ns::ACTION_PULL_RESPONSE,
            call.message_id.as_deref(),
            None,
        );
        let mut budget = call
            .max_envelope
            .saturating_sub(head.len() + ENVELOPE_RESERVE);
        if let Some(c) = max_characters {
            budget = budget.min(c as usize);
        }
        let mut items = String::new();
        let mut failure = None;
        let done = self.dispatcher.contexts().pull(
            id,
            &call.user,
            PullKind::Other(tag.bits()),
            |pending| {
                let batch = Batch {
                    encodings: &self.encodings,
                    budget,
                    max: max_elements,
                    tag,
                    filter: &[],
                    deadline: call.deadline,
                    namespace: "",
                    om: self.object_manager(),
                };
                fill(&batch, pending, &mut items).map_err(|f| {
                    let e = f
                        .cim
                        .as_deref()
                        .cloned()
                        .unwrap_or_else(|| CimError::failed(f.reason.clone()));
                    failure = Some(f);
                    e
                })
            },
        );
        let done = match (done, failure) {
            (Ok(done), _) => done,
            (Err(_), Some(f)) => return Err(f),
            (Err(e), None) if e.status == openwmi_cim::CimStatus::InvalidEnumerationContext => {
                return Err(invalid_context(token))
            }
            (Err(e), None) => return Err(Fault::from_cim(e)),
        };
        let mut out = head;
        out.push_str("<s:Body><n:PullResponse>");
        if !done {
            out.push_str("<n:EnumerationContext>");
            xml::text(&mut out, token.trim());
            out.push_str("</n:EnumerationContext>");
        }
        out.push_str("<n:Items>");
        out.push_str(&items);
        out.push_str("</n:Items>");
        if done {
            out.push_str("<n:EndOfSequence/>");
        }
        out.push_str("</n:PullResponse>");
        out.push_str(ENVELOPE_TAIL);
        Ok(out)
    }
}

/// `out` with the envelope closed, or the fault of an answer larger than
/// the client's MaxEnvelopeSize.
fn closed(mut out: String, max_envelope: usize) -> Result<String, Fault> {
    out.push_str(ENVELOPE_TAIL);
    if out.len() > max_envelope {
        return Err(too_large(out.len(), max_envelope));
    }
    Ok(out)
}

fn too_large(len: usize, max: usize) -> Fault {
    Fault::new(
        FaultKind::EncodingLimit,
        format!("the answer of {len} characters is larger than the MaxEnvelopeSize of {max}"),
    )
    .with_detail("MaxEnvelopeSize")
}

fn operation_class(op: &Operation) -> Option<&str> {
    match op {
        Operation::OpenEnumerateInstances(p) => Some(p.class_name.as_str()),
        Operation::OpenEnumerateInstancePaths(p) => Some(p.class_name.as_str()),
        _ => None,
    }
}

fn check_filter_keys(
    engine: &Engine,
    ctx: &OperationContext,
    namespace: &str,
    class: &str,
    keys: &[Selector],
) -> Result<(), Fault> {
    let c = engine
        .object_manager()
        .get_class(ctx, namespace, class, &ClassOptions::default())
        .map_err(Fault::from_cim)?;
    for s in keys {
        if !c.key_properties().any(|k| k.name.is(&s.name)) {
            return Err(Fault::new(
                FaultKind::CannotProcessFilter,
                format!(
                    "the selector filter names {}, which is not a key of {class}",
                    s.name
                ),
            ));
        }
    }
    Ok(())
}

/// A class of the repository, shared (no copy, no access check: for how
/// an answer the caller may have is written).
fn om_class(om: &ObjectManager, namespace: &str, class: &str) -> Option<Arc<openwmi_cim::Class>> {
    om.repository().namespace(namespace)?.class(class)
}

/// The namespace an instance lives in: its path's, else the request's.
fn namespace_of<'a>(i: &'a InstanceWithPath, fallback: &'a str) -> &'a str {
    i.path.namespace.as_deref().unwrap_or(fallback)
}

/// A selector's text as a value of a key's type.
fn typed_value(text: &str, ty: CimType) -> Option<Value> {
    let t = text.trim();
    Some(match ty {
        CimType::String => Value::String(text.into()),
        CimType::Boolean => match t.to_ascii_lowercase().as_str() {
            "true" | "1" => Value::Boolean(true),
            "false" | "0" => Value::Boolean(false),
            _ => return None,
        },
        CimType::Char16 => {
            let mut chars = text.chars();
            let c = chars.next()?;
            if chars.next().is_some() {
                return None;
            }
            Value::Char16(c)
        }
        CimType::Real32 => Value::Real32(t.parse().ok()?),
        CimType::Real64 => Value::Real64(t.parse().ok()?),
        CimType::DateTime => Value::DateTime(t.parse().ok()?),
        CimType::Reference => Value::Reference(Box::new(ObjectPath::parse(t).ok()?)),
        int => Value::integer(int, t.parse::<i128>().ok()?)?,
    })
}

/// What one response may hold.
struct Batch<'a> {
    encodings: &'a Encodings,
    /// Characters of items.
    budget: usize,
    max: u32,
    tag: ContextTag,
    filter: &'a [Selector],
    deadline: Instant,
    namespace: &'a str,
    om: &'a ObjectManager,
}

fn matches(i: &InstanceWithPath, filter: &[Selector]) -> bool {
    filter.iter().all(|s| {
        if s.name
            .eq_ignore_ascii_case(crate::resource::NAMESPACE_SELECTOR)
        {
            return true;
        }
        let SelectorValue::Text(want) = &s.value else {
            return false;
        };
        i.path.key(&s.name).is_some_and(|v| {
            let mut got = String::new();
            match v {
                Value::String(s) => got.push_str(s),
                Value::DateTime(d) => got.push_str(d.as_str()),
                other => got.push_str(&other.to_mof()),
            }
            got.eq_ignore_ascii_case(want.trim()) || got == *want
        })
    })
}

/// The property of a class item holding the class's CIM-XML text.
const CLASS_TEXT: &str = "CLASS";

/// Classes as the items of an enumeration: each one an instance holding
/// its CIM-XML CLASS element, written when the item is taken (the
/// contexts hold instances only).
fn class_items(
    namespace: &str,
    classes: impl IntoIterator<Item = Arc<openwmi_cim::Class>, IntoIter: Send + 'static>,
) -> Pending {
    let namespace = namespace.to_owned();
    Pending::stream(Box::new(classes.into_iter().map(move |c| {
        let mut text = String::new();
        crate::classdef::write(&mut text, &c);
        Ok(InstanceWithPath {
            path: Arc::new(ObjectPath {
                host: None,
                namespace: Some(namespace.clone()),
                class: c.name.clone(),
                keys: Keys::Class,
            }),
            instance: Arc::new(openwmi_cim::Instance {
                class_name: c.name.clone(),
                properties: vec![openwmi_cim::InstanceProperty {
                    name: openwmi_cim::Name::new(CLASS_TEXT),
                    ty: openwmi_cim::TypeDecl::scalar(CimType::String),
                    value: Some(Value::String(text.into())),
                }],
            }),
        })
    })))
}

/// A class item: the CLASS element, an endpoint reference that a Get
/// answers with the class (the CIM-XML class URI with `__cimnamespace`
/// and `ClassName`), or both in a `w:Item`.
fn write_class_item(out: &mut String, i: &InstanceWithPath, mode: EnumerationMode, ns: &str) {
    let text = match i.instance.properties.first().and_then(|p| p.value.as_ref()) {
        Some(Value::String(s)) => &**s,
        _ => "",
    };
    let epr = |out: &mut String| {
        out.push_str("<a:EndpointReference><a:Address>");
        out.push_str(ns::ANONYMOUS);
        out.push_str("</a:Address><a:ReferenceParameters><w:ResourceURI>");
        out.push_str(crate::resource::CIM_XML_CLASSES);
        out.push_str("</w:ResourceURI><w:SelectorSet><w:Selector Name=\"");
        out.push_str(crate::resource::NAMESPACE_SELECTOR);
        out.push_str("\">");
        xml::text(out, ns);
        out.push_str("</w:Selector><w:Selector Name=\"ClassName\">");
        xml::text(out, i.path.class.as_str());
        out.push_str("</w:Selector></w:SelectorSet></a:ReferenceParameters></a:EndpointReference>");
    };
    match mode {
        EnumerationMode::Objects => out.push_str(text),
        EnumerationMode::Epr => epr(out),
        EnumerationMode::ObjectAndEpr => {
            out.push_str("<w:Item>");
            out.push_str(text);
            epr(out);
            out.push_str("</w:Item>");
        }
    }
}

fn write_item(
    out: &mut String,
    i: &InstanceWithPath,
    tag: ContextTag,
    fallback_ns: &str,
    om: &ObjectManager,
) {
    let ns = namespace_of(i, fallback_ns);
    if tag.classes {
        return write_class_item(out, i, tag.mode, ns);
    }
    // The class only for its qualifiers (embedded instances, octet
    // strings): the repository's, shared, never copied.
    let class = match tag.mode {
        EnumerationMode::Epr => None,
        _ => om
            .repository()
            .namespace(ns)
            .and_then(|n| n.class(i.instance.class_name.as_str())),
    };
    let style = encode::Style {
        class: class.as_deref(),
        precise_arrays: tag.precise_arrays,
    };
    match tag.mode {
        EnumerationMode::Objects => encode::styled_instance(out, &i.instance, ns, tag.form, style),
        EnumerationMode::Epr => encode::epr(out, &i.path, ns, tag.form),
        EnumerationMode::ObjectAndEpr => {
            out.push_str("<w:Item>");
            encode::styled_instance(out, &i.instance, ns, tag.form, style);
            encode::epr(out, &i.path, ns, tag.form);
            out.push_str("</w:Item>");
        }
    }
}

/// What became of the next item.
enum Step {
    Skipped,
    Written,
    TooLarge(usize),
}

/// Moves items from `pending` to `out` while they fit; whether the
/// enumeration is over. An item that fails after others were written stays
/// for the next pull, which then faults.
fn fill(batch: &Batch<'_>, pending: &mut Pending, out: &mut String) -> Result<bool, Fault> {
    let mut written = 0u32;
    let mut scratch = String::new();
    while written < batch.max {
        let step = match pending.peek() {
            None => return Ok(true),
            Some(Err(_)) if written > 0 => break,
            Some(Err(_)) => {
                return match pending.take_next() {
                    Some(Err(e)) => Err(Fault::from_cim(e)),
                    _ => Err(Fault::new(
                        FaultKind::InternalError,
                        "the enumeration broke",
                    )),
                }
            }
            Some(Ok(i)) if !matches(i, batch.filter) => Step::Skipped,
            Some(Ok(i)) => {
                let text = batch.encodings.get(&mut scratch, i, batch.tag.way(), |s| {
                    write_item(s, i, batch.tag, batch.namespace, batch.om)
                });
                if out.len() + text.len() <= batch.budget {
                    out.push_str(text);
                    Step::Written
                } else {
                    Step::TooLarge(text.len())
                }
            }
        };
        match step {
            Step::Skipped => {}
            Step::Written => written += 1,
            Step::TooLarge(len) if written == 0 => {
                return Err(Fault::new(
                    FaultKind::EncodingLimit,
                    format!("the next item ({len} characters) does not fit the MaxEnvelopeSize"),
                )
                .with_detail("MaxEnvelopeSize"))
            }
            Step::TooLarge(_) => break,
        }
        pending.take_next();
        if written > 0 && Instant::now() >= batch.deadline {
            break;
        }
    }
    Ok(pending.is_done())
}

fn assoc_filter(
    p: &openwmi_operation::AssocParams,
    property_list: Option<Vec<openwmi_cim::Name>>,
) -> AssocFilter {
    AssocFilter {
        assoc_class: p.assoc_class.clone(),
        result_class: p.result_class.clone(),
        role: p.role.clone(),
        result_role: p.result_role.clone(),
        property_list,
        ..Default::default()
    }
}

fn ref_filter(
    p: &openwmi_operation::RefParams,
    property_list: Option<Vec<openwmi_cim::Name>>,
) -> RefFilter {
    RefFilter {
        result_class: p.result_class.clone(),
        role: p.role.clone(),
        property_list,
        ..Default::default()
    }
}

/// The security profiles an authenticated Identify names.
const SECURITY_PROFILE: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/";

/// The Identify answer (DSP0226 11, MS-WSMV 3.1.4.1.23). Without
/// authentication it names no security profiles and no product version,
/// as MS-WSMV asks.
pub fn identify(call: &Call) -> String {
    let mut out = String::with_capacity(1024);
    out.push_str("<s:Envelope");
    out.push_str(ns::ENVELOPE_DECLARATIONS);
    out.push_str(" xml:lang=\"en-US\"><s:Header/><s:Body><wsmid:IdentifyResponse xmlns:wsmid=\"");
    out.push_str(ns::WSMID);
    out.push_str("\"><wsmid:ProtocolVersion>");
    out.push_str(ns::WSMAN);
    out.push_str("</wsmid:ProtocolVersion><wsmid:ProductVendor>openwmi</wsmid:ProductVendor>");
    out.push_str("<wsmid:ProductVersion>");
    if call.unauthenticated {
        out.push_str("OS: 0.0.0 SP: 0.0 Stack: 3.0");
    } else {
        out.push_str("OS: openwmi ");
        out.push_str(env!("CARGO_PKG_VERSION"));
        out.push_str(" SP: 0.0 Stack: 3.0");
    }
    out.push_str("</wsmid:ProductVersion>");
    if !call.unauthenticated {
        out.push_str("<wsmid:SecurityProfiles><wsmid:SecurityProfileName>");
        out.push_str(SECURITY_PROFILE);
        out.push_str(if call.tls {
            "https/basic"
        } else {
            "http/basic"
        });
        out.push_str("</wsmid:SecurityProfileName></wsmid:SecurityProfiles>");
    }
    out.push_str("</wsmid:IdentifyResponse>");
    out.push_str(ENVELOPE_TAIL);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_tags_round_trip_and_refuse_other_numbers() {
        for form in [UriForm::Wmi, UriForm::Dmtf, UriForm::Microsoft] {
            for mode in [
                EnumerationMode::Objects,
                EnumerationMode::Epr,
                EnumerationMode::ObjectAndEpr,
            ] {
                for (may_block, classes) in [(false, false), (true, false), (false, true)] {
                    let tag = ContextTag {
                        form,
                        mode,
                        may_block,
                        classes,
                        precise_arrays: may_block,
                    };
                    let token = tag.token("abc123");
                    assert_eq!(ContextTag::parse(&token), Some(("abc123", tag)));
                }
            }
        }
        for bad in ["", "abc", "abc-", "abc-1", "abc-99999", "abc-300", "abc-x"] {
            assert_eq!(ContextTag::parse(bad), None, "{bad}");
        }
    }

    fn engine() -> Engine {
        let repo = openwmi_mof::repository_from_str(
            "root/test",
            "t.mof",
            "Qualifier Key : boolean = false, Scope(property), Flavor(DisableOverride);\n\
             class T_Share { [Key] string Name; uint32 Tags[]; };\n\
             instance of T_Share { Name = \"a<b\"; Tags = {1, 2}; };\n\
             instance of T_Share { Name = \"c\"; };",
        )
        .unwrap();
        let om = openwmi_cimom::ObjectManagerBuilder::new(repo, "h").build();
        Engine::new(Dispatcher::new(om))
    }

    fn call() -> Call {
        Call {
            user: "u".into(),
            groups: Arc::from(Vec::new()),
            client: None,
            message_id: Some("uuid:1".into()),
            max_envelope: MAX_ENVELOPE,
            deadline: Instant::now() + std::time::Duration::from_secs(60),
            tls: false,
            unauthenticated: false,
            precise_arrays: false,
        }
    }

    fn enumerate(mode: EnumerationMode, form: UriForm) -> Plan {
        Plan::Enumerate {
            namespace: "root/test".into(),
            form,
            operation: Operation::OpenEnumerateInstances(
                openwmi_operation::OpenEnumerateInstances {
                    class_name: openwmi_cim::Name::new("T_Share"),
                    deep_inheritance: true,
                    options: Default::default(),
                    filter: None,
                    open: Default::default(),
                },
            ),
            batching: Batching {
                mode,
                optimize: true,
                max_elements: 10,
            },
            selector_filter: vec![],
        }
    }

    /// The body of an answer (its head has a fresh message ID).
    fn body(answer: &str) -> &str {
        &answer[answer.find("<s:Body>").unwrap()..]
    }

    #[test]
    fn kept_encodings_answer_byte_for_byte_what_is_written_afresh() {
        let e = engine();
        for form in [UriForm::Wmi, UriForm::Dmtf, UriForm::Microsoft] {
            for mode in [
                EnumerationMode::Objects,
                EnumerationMode::Epr,
                EnumerationMode::ObjectAndEpr,
            ] {
                let plan = enumerate(mode, form);
                let first = e.run(&plan, &call()).unwrap();
                let kept = e.run(&plan, &call()).unwrap();
                assert_eq!(body(&first), body(&kept));
                // Written afresh, by an engine that kept nothing yet.
                let fresh = engine().run(&plan, &call()).unwrap();
                assert_eq!(body(&fresh), body(&kept));
                assert!(kept.contains("a&lt;b"), "{kept}");
            }
        }
        assert!(e.encodings.used() > 0);
    }

    #[test]
    fn class_definitions_enumerate_as_cim_xml_classes() {
        let e = engine();
        let plan = Plan::Enumerate {
            namespace: "root/test".into(),
            form: UriForm::Dmtf,
            operation: Operation::EnumerateClasses(openwmi_operation::EnumerateClasses {
                class_name: None,
                deep_inheritance: true,
                flags: Default::default(),
            }),
            batching: Batching {
                mode: EnumerationMode::ObjectAndEpr,
                optimize: true,
                max_elements: 10,
            },
            selector_filter: vec![],
        };
        let answer = e.run(&plan, &call()).unwrap();
        assert!(
            answer.contains("<w:Item><CLASS NAME=\"T_Share\""),
            "{answer}"
        );
        assert!(
            answer.contains("<w:Selector Name=\"ClassName\">T_Share</w:Selector>"),
            "{answer}"
        );
        assert!(answer.contains("<w:EndOfSequence/>"));
    }

    #[test]
    fn an_answer_keeps_within_the_max_envelope_size() {
        let e = engine();
        let mut c = call();
        let whole = e
            .run(&enumerate(EnumerationMode::Objects, UriForm::Wmi), &c)
            .unwrap();
        assert!(whole.contains("<w:EndOfSequence/>"));
        // Room for the head and one item, not two.
        let head = whole.find("<s:Body>").unwrap();
        let start = whole.find("<p:T_Share ").unwrap();
        let first = whole[start..].find("</p:T_Share>").unwrap() + "</p:T_Share>".len();
        c.max_envelope = head + ENVELOPE_RESERVE + first + 5;
        let part = e
            .run(&enumerate(EnumerationMode::Objects, UriForm::Wmi), &c)
            .unwrap();
        assert!(
            part.len() <= c.max_envelope,
            "{} > {}",
            part.len(),
            c.max_envelope
        );
        assert!(!part.contains("EndOfSequence"));
        assert_eq!(part.matches("<p:T_Share ").count(), 1);
        // Not even one item: EncodingLimit.
        c.max_envelope = head + ENVELOPE_RESERVE + 20;
        let f = e
            .run(&enumerate(EnumerationMode::Objects, UriForm::Wmi), &c)
            .unwrap_err();
        assert_eq!(f.kind, FaultKind::EncodingLimit);
    }

    #[test]
    fn selector_text_takes_the_key_type() {
        assert_eq!(typed_value("42", CimType::UInt32), Some(Value::UInt32(42)));
        assert_eq!(typed_value("-1", CimType::UInt32), None);
        assert_eq!(
            typed_value("TRUE", CimType::Boolean),
            Some(Value::Boolean(true))
        );
        assert_eq!(typed_value("x", CimType::SInt8), None);
        assert_eq!(
            typed_value(" a b ", CimType::String),
            Some(Value::String(" a b ".into()))
        );
    }
}
