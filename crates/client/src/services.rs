//! The services handle (IWbemServices, the reading half): local calls go to
//! an in-process [`ObjectManager`], remote ones to a CIM-XML server.

use crate::error::WbemError;
use crate::http::HttpClient;
use crate::params::{AuthenticationLevel, ImpersonationLevel};
use openwmi_cim::percent::encode as percent;
use openwmi_cim::{CimStatus, Class, Instance, KeyBinding, Keys, Name, ObjectPath, Value};
use openwmi_cimom::{
    ClassOptions, EnumOptions, InstanceIter, Object, ObjectManager, OperationContext, QueryResult,
};
use openwmi_cimxml::{
    ClassFlags, EnumContext, EnumerateClassNames, EnumerateClasses, EnumerateInstances, ExecQuery,
    Filter, GetClass, GetInstance, InstanceOptions, Limits, OpenEnumerateInstances, OpenOptions,
    OpenQueryInstances, Operation, Pull, Reply, ReturnItem,
};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The HTTP header that carries the context values (IWbemContext) with
/// every remote request, and the header value for a set of values.
pub use openwmi_cimxml::context::{encode as encode_context, HEADER as CONTEXT_HEADER};

/// How many objects each Open/Pull request asks for by default.
pub const DEFAULT_BATCH: u32 = 100;

/// A class or an instance. CIM-XML's OpenQueryInstances returns instances
/// without paths: the client rebuilds them from the key properties (one
/// GetClass per class); an instance whose keys a projection left out
/// (`SELECT Size FROM ...`) stays without a path. Paths the server sends
/// name the server as it names itself; rebuilt ones (and GetObject's) name
/// the host as the resource did (`host:port`).
#[derive(Clone, Debug, PartialEq)]
pub enum WbemObject {
    Class(Arc<Class>),
    Instance {
        path: Option<ObjectPath>,
        instance: Instance,
    },
}

/// A stream of query or enumeration results. Remote results arrive in
/// batches (Open*/Pull* with MaxObjectCount); an error ends the stream.
pub struct ObjectStream {
    source: Source,
    /// CreateInstanceEnum with WBEM_FLAG_SHALLOW: only this exact class.
    only_class: Option<Name>,
    failed: bool,
}

pub(crate) enum Source {
    Local(InstanceIter),
    List(std::vec::IntoIter<WbemObject>),
    Pull(PullState),
    WsMan(crate::wsman::WsManStream),
}

impl std::fmt::Debug for ObjectStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectStream").finish_non_exhaustive()
    }
}

pub(crate) struct PullState {
    remote: Arc<Remote>,
    namespace: String,
    context: Option<String>,
    with_path: bool,
    batch: u32,
    buffer: VecDeque<WbemObject>,
    /// For OpenQueryInstances results: the key names of each class seen
    /// (one GetClass per class), to rebuild the paths the protocol omits.
    keys: HashMap<String, Option<Vec<Name>>>,
    host: Option<String>,
}

impl Iterator for ObjectStream {
    type Item = Result<WbemObject, WbemError>;
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.failed {
                return None;
            }
            let item = match &mut self.source {
                Source::Local(it) => it.next().map(|r| {
                    r.map(|i| WbemObject::Instance {
                        path: Some(Arc::unwrap_or_clone(i.path)),
                        instance: std::sync::Arc::unwrap_or_clone(i.instance),
                    })
                    .map_err(WbemError::from)
                }),
                Source::List(it) => it.next().map(Ok),
                Source::Pull(p) => p.next(),
                Source::WsMan(w) => w.next(),
            };
            match item {
                Some(Err(e)) => {
                    self.failed = true;
                    return Some(Err(e));
                }
                Some(Ok(WbemObject::Instance { instance, .. }))
                    if self
                        .only_class
                        .as_ref()
                        .is_some_and(|c| *c != instance.class_name) => {}
                other => return other,
            }
        }
    }
}

impl PullState {
    fn next(&mut self) -> Option<Result<WbemObject, WbemError>> {
        loop {
            if let Some(o) = self.buffer.pop_front() {
                return Some(Ok(match o {
                    WbemObject::Instance {
                        path: None,
                        instance,
                    } => WbemObject::Instance {
                        path: self.rebuild_path(&instance),
                        instance,
                    },
                    other => other,
                }));
            }
            let ctx = self.context.take()?;
            let op = if self.with_path {
                Operation::PullInstancesWithPath(Pull {
                    enumeration_context: ctx,
                    max_object_count: self.batch,
                })
            } else {
                Operation::PullInstances(Pull {
                    enumeration_context: ctx,
                    max_object_count: self.batch,
                })
            };
            match self.remote.call(&self.namespace, &op) {
                Ok(reply) => {
                    let end = reply.end_of_sequence.unwrap_or(true);
                    if !end {
                        self.context = reply.enumeration_context.clone();
                    }
                    self.buffer.extend(objects(reply.items));
                }
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

impl PullState {
    /// The instance's path from its key properties, when the class is known
    /// and the instance carries every key (a projection may leave some out).
    fn rebuild_path(&mut self, i: &Instance) -> Option<ObjectPath> {
        let class = i.class_name.as_str().to_ascii_lowercase();
        if !self.keys.contains_key(&class) {
            let op = Operation::GetClass(GetClass {
                class_name: i.class_name.clone(),
                flags: ClassFlags {
                    local_only: false,
                    include_qualifiers: true,
                    include_class_origin: false,
                },
                property_list: None,
            });
            let names = self.remote.call(&self.namespace, &op).ok().and_then(|r| {
                r.items.into_iter().find_map(|item| match item {
                    ReturnItem::Class { class, .. } => Some(
                        class
                            .properties
                            .iter()
                            .filter(|p| p.is_key())
                            .map(|p| p.name.clone())
                            .collect::<Vec<_>>(),
                    ),
                    _ => None,
                })
            });
            self.keys
                .insert(class.clone(), names.filter(|k| !k.is_empty()));
        }
        let names = self.keys.get(&class)?.as_ref()?;
        let mut bindings = Vec::with_capacity(names.len());
        for n in names {
            let value = i.properties.iter().find(|p| p.name == *n)?.value.clone()?;
            bindings.push(KeyBinding {
                name: n.clone(),
                value,
            });
        }
        Some(ObjectPath {
            host: self.host.clone(),
            namespace: Some(self.namespace.clone()),
            class: i.class_name.clone(),
            keys: Keys::Bindings(bindings),
        })
    }
}

impl Drop for PullState {
    /// Closes an enumeration left unfinished, so the server frees it now
    /// rather than when it expires. Best effort, bounded to 5 s.
    fn drop(&mut self) {
        if let Some(ctx) = self.context.take() {
            let op = Operation::CloseEnumeration(EnumContext {
                enumeration_context: ctx,
            });
            let _ = self.remote.call_until(
                &self.namespace,
                &op,
                Some(Instant::now() + Duration::from_secs(5)),
            );
        }
    }
}

fn objects(items: Vec<ReturnItem>) -> impl Iterator<Item = WbemObject> {
    items.into_iter().filter_map(|i| match i {
        ReturnItem::Instance { path, instance } => Some(WbemObject::Instance { path, instance }),
        ReturnItem::Class { class, .. } => Some(WbemObject::Class(Arc::new(class))),
        _ => None,
    })
}

/// The remote end of a handle: one kept-alive HTTP connection.
pub(crate) struct Remote {
    pub http: Mutex<HttpClient>,
    pub headers: Vec<(&'static str, String)>,
    pub host_label: String,
    pub next_id: AtomicU64,
    pub timeout: Mutex<Option<Duration>>,
}

impl Remote {
    pub fn call(&self, namespace: &str, op: &Operation) -> Result<Reply, WbemError> {
        let t = *self.timeout.lock().unwrap_or_else(|p| p.into_inner());
        self.call_until(namespace, op, t.map(|t| Instant::now() + t))
    }

    pub fn call_until(
        &self,
        namespace: &str,
        op: &Operation,
        deadline: Option<Instant>,
    ) -> Result<Reply, WbemError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let body = openwmi_cimxml::encode_request(&id.to_string(), namespace, op);
        let mut headers = self.headers.clone();
        headers.push(("CIMMethod", percent(op.method_name(), false)));
        headers.push(("CIMObject", percent(namespace, true)));
        let resp = {
            let mut http = self.http.lock().unwrap_or_else(|p| p.into_inner());
            http.post("/cimom", &headers, body.as_bytes(), deadline)?
        };
        match resp.status {
            200 => {}
            401 => {
                let who = if self.headers.iter().any(|(n, _)| *n == "Authorization") {
                    "the server refused the user name or password"
                } else {
                    "the server requires a user name and password (none given)"
                };
                return Err(WbemError::access_denied(format!(
                    "{}: {who}",
                    self.host_label
                )));
            }
            403 | 429 => {
                return Err(WbemError::access_denied(format!(
                    "{}: HTTP {} {}",
                    self.host_label, resp.status, resp.reason
                )))
            }
            s => {
                let cim = resp
                    .header("cimerror")
                    .map(|c| format!(" (CIMError: {c})"))
                    .unwrap_or_default();
                return Err(WbemError::transport(format!(
                    "{}: HTTP {s} {}{cim}",
                    self.host_label, resp.reason
                )));
            }
        }
        let limits = Limits::default();
        let decoded = openwmi_cimxml::decode_response(&resp.body, &limits).map_err(|e| {
            // The limits bound the memory a response may take here: a
            // result over them is stopped for want of memory, as Windows
            // says WBEM_E_OUT_OF_MEMORY, not for being malformed.
            let host = &self.host_label;
            match e {
                openwmi_cimxml::DecodeError::LimitExceeded { .. } => WbemError::new(
                    openwmi_cim::WbemStatus::OutOfMemory,
                    format!("{host}: the response is too large to hold: {e}"),
                ),
                _ => WbemError::failed(format!("{host}: invalid CIM-XML response: {e}")),
            }
        })?;
        decoded.result.map_err(WbemError::from)
    }
}

pub(crate) enum Backend {
    Local(ObjectManager),
    Remote(Arc<Remote>),
    WsMan(Arc<crate::wsman::WsMan>),
}

/// A connection bound to one namespace (IWbemServices). Obtained from
/// [`crate::Locator::connect_server`]; the same calls work locally and
/// remotely and return the same types.
pub struct Services {
    pub(crate) backend: Backend,
    pub(crate) namespace: String,
    pub(crate) host: Option<String>,
    pub(crate) context: Vec<(String, Value)>,
    pub(crate) locale: Option<String>,
    pub(crate) impersonation_level: ImpersonationLevel,
    pub(crate) authentication_level: AuthenticationLevel,
    pub(crate) batch: u32,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services")
            .field("host", &self.host)
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

impl Services {
    /// The namespace the handle is bound to, `root/cimv2` form.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }
    /// The remote host (`host`, `host:port`), `None` for an in-process handle.
    pub fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }
    pub fn is_local(&self) -> bool {
        matches!(self.backend, Backend::Local(_))
    }
    pub fn locale(&self) -> Option<&str> {
        self.locale.as_deref()
    }
    pub fn context(&self) -> &[(String, Value)] {
        &self.context
    }
    pub fn impersonation_level(&self) -> ImpersonationLevel {
        self.impersonation_level
    }
    pub fn authentication_level(&self) -> AuthenticationLevel {
        self.authentication_level
    }
    /// Objects per remote Open/Pull request (default [`DEFAULT_BATCH`]; at least 1).
    pub fn set_batch_size(&mut self, n: u32) {
        self.batch = n.max(1);
    }
    /// Bounds each remote request (default: none). No effect locally.
    pub fn set_timeout(&self, t: Option<Duration>) {
        match &self.backend {
            Backend::Remote(r) => *r.timeout.lock().unwrap_or_else(|p| p.into_inner()) = t,
            Backend::WsMan(w) => *w.timeout.lock().unwrap_or_else(|p| p.into_inner()) = t,
            Backend::Local(_) => {}
        }
    }

    pub(crate) fn local_ctx(&self) -> OperationContext {
        let mut ctx = OperationContext::local();
        ctx.values = self.context.clone();
        ctx
    }

    pub(crate) fn stream(&self, source: Source) -> ObjectStream {
        ObjectStream {
            source,
            only_class: None,
            failed: false,
        }
    }

    /// ExecQuery: a WQL `SELECT`, `ASSOCIATORS OF` or `REFERENCES OF`.
    /// Remotely, `SELECT * FROM C` streams through OpenEnumerateInstances /
    /// PullInstancesWithPath, other data queries through OpenQueryInstances /
    /// PullInstances (instances without paths), each falling back to the
    /// classic operation on CIM_ERR_NOT_SUPPORTED; schema and association
    /// queries use the classic ExecQuery.
    pub fn exec_query(&self, wql: &str) -> Result<ObjectStream, WbemError> {
        let remote = match &self.backend {
            Backend::Local(om) => {
                let ctx = Arc::new(self.local_ctx());
                return Ok(match om.exec_query(&ctx, &self.namespace, "WQL", wql)? {
                    QueryResult::Instances(it) => self.stream(Source::Local(it)),
                    QueryResult::Objects(list) => self.stream(Source::List(
                        list.into_iter()
                            .map(|o| match o {
                                Object::Class(c) => WbemObject::Class(c),
                                Object::Instance(i) => WbemObject::Instance {
                                    path: Some(Arc::unwrap_or_clone(i.path)),
                                    instance: std::sync::Arc::unwrap_or_clone(i.instance),
                                },
                            })
                            .collect::<Vec<_>>()
                            .into_iter(),
                    )),
                });
            }
            Backend::Remote(r) => r,
            Backend::WsMan(w) => return self.wsman_exec_query(w, wql),
        };
        let query = openwmi_wql::parse(wql).map_err(openwmi_cimom::errors::wql_error)?;
        let classic = Operation::ExecQuery(ExecQuery {
            query_language: "WQL".into(),
            query: wql.into(),
        });
        let open = match &query {
            openwmi_wql::Query::Select(s) if !s.is_schema_query() => {
                if s.condition.is_none() && s.projection == openwmi_wql::Projection::All {
                    self.open_enumerate(remote, s.from.name.clone())
                } else {
                    Operation::OpenQueryInstances(OpenQueryInstances {
                        filter: Filter {
                            query_language: "WQL".into(),
                            query: wql.into(),
                        },
                        return_query_result_class: false,
                        open: self.open_options(),
                    })
                }
            }
            _ => classic.clone(),
        };
        if matches!(open, Operation::ExecQuery(_)) {
            return self.classic(remote, &classic);
        }
        self.open(remote, &open, &classic)
    }

    fn open_options(&self) -> OpenOptions {
        OpenOptions {
            operation_timeout: None,
            continue_on_error: false,
            max_object_count: self.batch,
        }
    }

    fn open_enumerate(&self, _r: &Arc<Remote>, class: Name) -> Operation {
        Operation::OpenEnumerateInstances(OpenEnumerateInstances {
            class_name: class,
            deep_inheritance: true,
            options: InstanceOptions::default(),
            filter: None,
            open: self.open_options(),
        })
    }

    fn classic(&self, r: &Arc<Remote>, op: &Operation) -> Result<ObjectStream, WbemError> {
        let reply = r.call(&self.namespace, op)?;
        Ok(self.stream(Source::List(
            objects(reply.items).collect::<Vec<_>>().into_iter(),
        )))
    }

    fn open(
        &self,
        r: &Arc<Remote>,
        open: &Operation,
        fallback: &Operation,
    ) -> Result<ObjectStream, WbemError> {
        let reply = match r.call(&self.namespace, open) {
            Err(e) if e.cim == Some(CimStatus::NotSupported) => return self.classic(r, fallback),
            other => other?,
        };
        let end = reply.end_of_sequence.unwrap_or(true);
        Ok(self.stream(Source::Pull(PullState {
            remote: r.clone(),
            namespace: self.namespace.clone(),
            context: if end { None } else { reply.enumeration_context },
            with_path: !matches!(open, Operation::OpenQueryInstances(_)),
            batch: self.batch,
            buffer: objects(reply.items).collect(),
            keys: HashMap::new(),
            host: self.host.clone(),
        })))
    }

    /// GetObject: a class (`Win32_Share`) or an instance
    /// (`Win32_Share.Name="public"`), in this namespace or the one the path names.
    pub fn get_object(&self, path: &str) -> Result<WbemObject, WbemError> {
        let p = ObjectPath::parse(path).map_err(openwmi_cimom::errors::path_error)?;
        let ns = p
            .namespace
            .clone()
            .unwrap_or_else(|| self.namespace.clone());
        if matches!(p.keys, Keys::Class) {
            return self
                .get_class_in(&ns, p.class.as_str(), &ClassOptions::default())
                .map(|c| WbemObject::Class(Arc::new(c)));
        }
        match &self.backend {
            Backend::Local(om) => {
                let i = om.get_instance(&self.local_ctx(), &ns, &p, None)?;
                Ok(WbemObject::Instance {
                    path: Some(Arc::unwrap_or_clone(i.path)),
                    instance: std::sync::Arc::unwrap_or_clone(i.instance),
                })
            }
            Backend::WsMan(w) => self.wsman_get_instance(w, &ns, p),
            Backend::Remote(r) => {
                let relative = ObjectPath {
                    host: None,
                    namespace: None,
                    ..p.clone()
                };
                let reply = r.call(
                    &ns,
                    &Operation::GetInstance(GetInstance {
                        instance_name: relative,
                        local_only: false,
                        include_qualifiers: false,
                        options: InstanceOptions::default(),
                    }),
                )?;
                let instance = objects(reply.items)
                    .find_map(|o| match o {
                        WbemObject::Instance { instance, .. } => Some(instance),
                        WbemObject::Class(_) => None,
                    })
                    .ok_or_else(|| WbemError::failed("GetInstance returned no instance"))?;
                let full = ObjectPath {
                    host: self.host.clone(),
                    namespace: Some(ns),
                    ..p
                };
                Ok(WbemObject::Instance {
                    path: Some(full),
                    instance,
                })
            }
        }
    }

    /// GetClass with the given options (local_only, qualifiers...).
    pub fn get_class(&self, class: &str, opts: &ClassOptions) -> Result<Class, WbemError> {
        self.get_class_in(&self.namespace.clone(), class, opts)
    }

    fn get_class_in(&self, ns: &str, class: &str, opts: &ClassOptions) -> Result<Class, WbemError> {
        match &self.backend {
            Backend::Local(om) => Ok(om.get_class(&self.local_ctx(), ns, class, opts)?),
            Backend::WsMan(w) => self.wsman_get_class(w, ns, class, opts),
            Backend::Remote(r) => {
                let reply = r.call(
                    ns,
                    &Operation::GetClass(GetClass {
                        class_name: Name::new(class),
                        flags: ClassFlags {
                            local_only: opts.local_only,
                            include_qualifiers: opts.include_qualifiers,
                            include_class_origin: opts.include_class_origin,
                        },
                        property_list: opts.property_list.clone(),
                    }),
                )?;
                objects(reply.items)
                    .find_map(|o| match o {
                        WbemObject::Class(c) => Some((*c).clone()),
                        WbemObject::Instance { .. } => None,
                    })
                    .ok_or_else(|| WbemError::failed("GetClass returned no class"))
            }
        }
    }

    /// CreateInstanceEnum: the instances of `class`, and with `deep` those of
    /// its subclasses (WMI's default; `deep = false` is WBEM_FLAG_SHALLOW).
    pub fn create_instance_enum(&self, class: &str, deep: bool) -> Result<ObjectStream, WbemError> {
        let mut stream = match &self.backend {
            Backend::Local(om) => {
                let ctx = Arc::new(self.local_ctx());
                let opts = EnumOptions {
                    deep,
                    ..EnumOptions::default()
                };
                self.stream(Source::Local(om.enumerate_instances(
                    &ctx,
                    &self.namespace,
                    class,
                    &opts,
                )?))
            }
            Backend::Remote(r) => {
                let open = self.open_enumerate(r, Name::new(class));
                let classic = Operation::EnumerateInstances(EnumerateInstances {
                    class_name: Name::new(class),
                    local_only: false,
                    deep_inheritance: true,
                    include_qualifiers: false,
                    options: InstanceOptions::default(),
                });
                self.open(r, &open, &classic)?
            }
            Backend::WsMan(w) => self.wsman_instance_enum(w, class)?,
        };
        if !deep {
            stream.only_class = Some(Name::new(class));
        }
        Ok(stream)
    }

    /// CreateClassEnum: the subclasses of `superclass` (the root classes when
    /// `None`), direct ones or with `deep` all descendants.
    pub fn create_class_enum(
        &self,
        superclass: Option<&str>,
        deep: bool,
    ) -> Result<Vec<Class>, WbemError> {
        match &self.backend {
            Backend::Local(om) => Ok(om
                .enumerate_classes(
                    &self.local_ctx(),
                    &self.namespace,
                    superclass,
                    deep,
                    &ClassOptions::default(),
                )?
                .into_iter()
                .collect()),
            Backend::WsMan(w) => self.wsman_classes(w, superclass, deep),
            Backend::Remote(r) => {
                let reply = r.call(
                    &self.namespace,
                    &Operation::EnumerateClasses(EnumerateClasses {
                        class_name: superclass.map(Name::new),
                        deep_inheritance: deep,
                        flags: ClassFlags {
                            local_only: false,
                            include_qualifiers: true,
                            include_class_origin: false,
                        },
                    }),
                )?;
                Ok(objects(reply.items)
                    .filter_map(|o| match o {
                        WbemObject::Class(c) => Some((*c).clone()),
                        WbemObject::Instance { .. } => None,
                    })
                    .collect())
            }
        }
    }

    /// The names of the subclasses of `superclass` (EnumerateClassNames).
    pub fn class_names(
        &self,
        superclass: Option<&str>,
        deep: bool,
    ) -> Result<Vec<Name>, WbemError> {
        match &self.backend {
            Backend::Local(om) => Ok(om.enumerate_class_names(
                &self.local_ctx(),
                &self.namespace,
                superclass,
                deep,
            )?),
            Backend::WsMan(w) => Ok(self
                .wsman_classes(w, superclass, deep)?
                .into_iter()
                .map(|c| c.name)
                .collect()),
            Backend::Remote(r) => {
                let reply = r.call(
                    &self.namespace,
                    &Operation::EnumerateClassNames(EnumerateClassNames {
                        class_name: superclass.map(Name::new),
                        deep_inheritance: deep,
                    }),
                )?;
                Ok(reply
                    .items
                    .into_iter()
                    .filter_map(|i| match i {
                        ReturnItem::ClassName(n) => Some(n),
                        _ => None,
                    })
                    .collect())
            }
        }
    }

    /// `ASSOCIATORS OF {path}` with optional `WHERE` clauses, through ExecQuery.
    pub fn associators_of(&self, path: &str, clauses: &str) -> Result<ObjectStream, WbemError> {
        self.exec_query(&assoc_query("ASSOCIATORS", path, clauses))
    }

    /// `REFERENCES OF {path}` with optional `WHERE` clauses, through ExecQuery.
    pub fn references_of(&self, path: &str, clauses: &str) -> Result<ObjectStream, WbemError> {
        self.exec_query(&assoc_query("REFERENCES", path, clauses))
    }
}

fn assoc_query(kind: &str, path: &str, clauses: &str) -> String {
    if clauses.trim().is_empty() {
        format!("{kind} OF {{{path}}}")
    } else {
        format!("{kind} OF {{{path}}} WHERE {clauses}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_and_streams_cross_threads() {
        fn send_sync<T: Send + Sync>() {}
        fn send<T: Send>() {}
        send_sync::<Services>();
        send::<ObjectStream>();
    }

    #[test]
    fn context_header() {
        let v = vec![
            ("__ProviderArchitecture".to_owned(), Value::SInt32(64)),
            ("note".to_owned(), Value::String("a b&c".into())),
        ];
        assert_eq!(
            encode_context(&v),
            "__ProviderArchitecture=64&note=%22a%20b%26c%22"
        );
        assert_eq!(percent("root/cimv2", true), "root/cimv2");
        assert_eq!(percent("root/cimv2", false), "root%2Fcimv2");
    }
}
