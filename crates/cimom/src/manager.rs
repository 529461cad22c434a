//! The object manager: the read operations of IWbemServices / DSP0200 over
//! the class repository and the registered providers.

use crate::access::{AccessPolicy, AllowAll};
use crate::context::OperationContext;
use crate::method::MethodAudit;
use crate::provider::{
    EnumerateRequest, GetRequest, InstanceProvider, InstanceStream, WhereClause,
};
use crate::registry::ProviderRegistry;
use crate::statics::RepositoryProvider;
use crate::stored::PerStoredInstance;
use openwmi_cim::name::NameKey;
use openwmi_cim::{
    normalize_namespace, CimError, Class, Instance, KeyBinding, Keys, Name, Namespace, ObjectPath,
    QualifierDecl, Repository, Value,
};
use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// An instance and its full path (host and namespace set).
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceWithPath {
    pub path: Arc<ObjectPath>,
    /// Shared with the provider when unchanged (see [`InstanceStream`]);
    /// `Arc::make_mut` to change it.
    pub instance: Arc<Instance>,
}

/// What association and schema queries return: classes or instances.
#[derive(Clone, Debug)]
pub enum Object {
    Class(Arc<Class>),
    Instance(InstanceWithPath),
}

/// A lazily produced sequence of instances. It may yield an error (a provider
/// that failed); consumers stop at the first one.
pub type InstanceIter = Box<dyn Iterator<Item = Result<InstanceWithPath, CimError>> + Send>;

/// How classes are returned (DSP0200 GetClass / EnumerateClasses flags).
#[derive(Clone, Debug)]
pub struct ClassOptions {
    /// Only what the class itself declares, not what it inherits.
    pub local_only: bool,
    pub include_qualifiers: bool,
    pub include_class_origin: bool,
    pub property_list: Option<Vec<Name>>,
}

impl Default for ClassOptions {
    fn default() -> Self {
        ClassOptions {
            local_only: false,
            include_qualifiers: true,
            include_class_origin: true,
            property_list: None,
        }
    }
}

/// How instances are enumerated.
#[derive(Clone, Debug)]
pub struct EnumOptions {
    /// Include instances of subclasses (WMI's default; WBEM_FLAG_SHALLOW turns it off).
    pub deep: bool,
    /// DSP0200 DeepInheritance: when false, only the properties the requested
    /// class declares are returned, even for instances of subclasses.
    pub deep_inheritance: bool,
    pub property_list: Option<Vec<Name>>,
}

impl Default for EnumOptions {
    fn default() -> Self {
        EnumOptions {
            deep: true,
            deep_inheritance: true,
            property_list: None,
        }
    }
}

struct Inner {
    repo: Arc<Repository>,
    /// Namespaces with a provider that may block (see [`ObjectManager::may_block`]).
    /// Normalized and lower-cased (`root/cimv2`, `root/microsoft/windows/smb`);
    /// a handful at most.
    blocking_namespaces: Vec<String>,
    providers: ProviderRegistry,
    host: String,
    access: Arc<dyn AccessPolicy>,
    audit: Option<Arc<dyn MethodAudit>>,
    /// The full path of each stored instance, made on first use: a path is
    /// a handful of allocations, and enumerations hand out the same ones
    /// again and again.
    stored_paths: PerStoredInstance<SharedPath>,
    /// The repository's namespace names, one `Arc` each, for
    /// [`SharedPath::namespace`].
    namespace_names: Vec<Arc<str>>,
}

/// A stored instance's path and what it was made for. The checks read only
/// this entry, the interned namespace name (one allocation for every
/// instance of a namespace, so it stays in cache) and the class's own
/// `Name` (pointer comparison): not the path, whose strings lie elsewhere
/// for each instance (BENCHMARKS.md, "Measured decisions"). What is left
/// under load is the miss on this entry and on the path's reference count.
struct SharedPath {
    namespace: Arc<str>,
    class: Name,
    path: Arc<ObjectPath>,
}

/// The CIM object manager. Cheap to clone; shared by the CLI and the server.
#[derive(Clone)]
pub struct ObjectManager {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ObjectManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectManager")
            .field("host", &self.inner.host)
            .field("providers", &self.inner.providers)
            .finish_non_exhaustive()
    }
}

/// Builds an [`ObjectManager`].
pub struct ObjectManagerBuilder {
    repo: Repository,
    providers: ProviderRegistry,
    host: String,
    access: Arc<dyn AccessPolicy>,
    audit: Option<Arc<dyn MethodAudit>>,
}

impl std::fmt::Debug for ObjectManagerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectManagerBuilder")
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

impl ObjectManagerBuilder {
    pub fn new(repo: Repository, host: impl Into<String>) -> Self {
        ObjectManagerBuilder {
            repo,
            providers: ProviderRegistry::new(),
            host: host.into(),
            access: Arc::new(AllowAll),
            audit: None,
        }
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn repository_mut(&mut self) -> &mut Repository {
        &mut self.repo
    }

    pub fn register(
        &mut self,
        namespace: &str,
        class: &str,
        provider: Arc<dyn InstanceProvider>,
    ) -> &mut Self {
        self.providers.register(namespace, class, provider);
        self
    }

    pub fn access_policy(&mut self, policy: Arc<dyn AccessPolicy>) -> &mut Self {
        self.access = policy;
        self
    }

    /// Where method calls are recorded ([`MethodAudit`]).
    pub fn method_audit(&mut self, audit: Arc<dyn MethodAudit>) -> &mut Self {
        self.audit = Some(audit);
        self
    }

    /// Registers a repository provider for every class that has static
    /// instances and no other provider, then freezes the repository.
    pub fn build(mut self) -> ObjectManager {
        let names: Vec<String> = self
            .repo
            .namespaces()
            .map(|n| n.name().to_owned())
            .collect();
        for name in names {
            // Moved, not copied: the provider is the one holder of the instances.
            let taken = match self.repo.namespace_mut(&name) {
                Some(ns) => ns.take_instances(),
                None => continue,
            };
            let mut by_class: HashMap<NameKey, (Name, Vec<Instance>)> = HashMap::new();
            for inst in taken {
                by_class
                    .entry(NameKey::new(inst.class_name.as_str()))
                    .or_insert_with(|| (inst.class_name.clone(), Vec::new()))
                    .1
                    .push(inst);
            }
            let Some(ns) = self.repo.namespace(&name) else {
                continue;
            };
            for (_, (class_name, insts)) in by_class {
                let Some(class) = ns.class(class_name.as_str()) else {
                    continue;
                };
                if self
                    .providers
                    .provider(ns.name(), class_name.as_str())
                    .is_none()
                {
                    self.providers.register(
                        ns.name(),
                        class_name.as_str(),
                        Arc::new(RepositoryProvider::new(&class, insts)),
                    );
                }
            }
        }
        let blocking_namespaces = self
            .providers
            .blocking_namespaces()
            .filter_map(|k| openwmi_cim::normalize_namespace(k.as_str()).ok())
            .map(|n| n.to_ascii_lowercase())
            .collect();
        let namespace_names = self
            .repo
            .namespaces()
            .map(|n| Arc::from(n.name()))
            .collect();
        let stored_paths = PerStoredInstance::new(
            self.providers
                .providers()
                .flat_map(|p| p.stored_instances().iter()),
        );
        ObjectManager {
            inner: Arc::new(Inner {
                repo: Arc::new(self.repo),
                blocking_namespaces,
                providers: self.providers,
                host: self.host,
                access: self.access,
                audit: self.audit,
                stored_paths,
                namespace_names,
            }),
        }
    }
}

impl ObjectManager {
    pub fn host(&self) -> &str {
        &self.inner.host
    }

    pub fn repository(&self) -> &Repository {
        &self.inner.repo
    }

    /// The namespace, or CIM_ERR_INVALID_NAMESPACE; checks the caller may use it.
    pub fn namespace(&self, ctx: &OperationContext, name: &str) -> Result<&Namespace, CimError> {
        let ns = self.inner.repo.namespace(name).ok_or_else(|| {
            CimError::invalid_namespace(format!("no namespace {}", display_ns(name)))
        })?;
        self.inner.access.check_namespace(ctx, ns.name())?;
        Ok(ns)
    }

    /// Whether an instance operation in `namespace` may reach a provider
    /// that blocks ([`ProviderCapabilities::may_block`](crate::ProviderCapabilities::may_block)); class and qualifier
    /// operations never do. A server answers the others in place.
    pub fn may_block(&self, namespace: &str) -> bool {
        // Asked for every request, mostly with a namespace spelled as the
        // list holds it (lower case, `/`, nothing around): compared as bytes.
        // Another spelling is normalized first; one that does not normalize
        // matches none (it is refused before any provider runs).
        let blocking = &self.inner.blocking_namespaces;
        let as_held = !namespace.starts_with('/')
            && !namespace.ends_with('/')
            && !namespace
                .bytes()
                .any(|b| b.is_ascii_uppercase() || b == b'\\');
        if as_held {
            return blocking.iter().any(|ns| ns == namespace);
        }
        openwmi_cim::normalize_namespace(namespace).is_ok_and(|n| {
            let n = n.to_ascii_lowercase();
            blocking.contains(&n)
        })
    }

    /// Every instance a provider keeps unchanged and hands out shared
    /// ([`InstanceProvider::stored_instances`]): what an encoder may encode
    /// once. Enumerations hand out these very `Arc`s unless they change the
    /// instance (a property list, system properties), which copies it. A
    /// provider serving several classes may list an instance more than once.
    pub fn stored_instances(&self) -> impl Iterator<Item = &Arc<Instance>> {
        self.inner
            .providers
            .providers()
            .flat_map(|p| p.stored_instances().iter())
    }

    /// The names of all namespaces, in `root/cimv2` form.
    pub fn namespace_names(&self) -> Vec<String> {
        self.inner
            .repo
            .namespaces()
            .map(|n| n.name().to_owned())
            .collect()
    }

    pub(crate) fn access_policy(&self) -> &dyn AccessPolicy {
        self.inner.access.as_ref()
    }

    pub(crate) fn method_audit(&self) -> Option<&dyn MethodAudit> {
        self.inner.audit.as_deref()
    }

    pub(crate) fn class_in(&self, ns: &Namespace, name: &str) -> Result<Arc<Class>, CimError> {
        ns.class(name).ok_or_else(|| {
            CimError::invalid_class(format!("no class {name} in {}", display_ns(ns.name())))
        })
    }

    // ---- classes -------------------------------------------------------

    pub fn get_class(
        &self,
        ctx: &OperationContext,
        namespace: &str,
        class: &str,
        opts: &ClassOptions,
    ) -> Result<Class, CimError> {
        let ns = self.namespace(ctx, namespace)?;
        // DSP0200 answers GetClass of a missing class with NOT_FOUND, as
        // Windows' GetObject does; queries and enumerations of it stay
        // INVALID_CLASS (`class_in`).
        let c = ns.class(class).ok_or_else(|| {
            CimError::not_found(format!("no class {class} in {}", display_ns(ns.name())))
        })?;
        Ok(shape_class(&c, opts))
    }

    /// Subclasses of `class` (or the root classes when `None`); all
    /// descendants with `deep`.
    pub fn enumerate_classes(
        &self,
        ctx: &OperationContext,
        namespace: &str,
        class: Option<&str>,
        deep: bool,
        opts: &ClassOptions,
    ) -> Result<Vec<Class>, CimError> {
        let ns = self.namespace(ctx, namespace)?;
        if let Some(c) = class {
            self.class_in(ns, c)?;
        }
        Ok(ns
            .subclasses(class, deep)
            .iter()
            .filter(|c| listed(class, c))
            .map(|c| shape_class(c, opts))
            .collect())
    }

    pub fn enumerate_class_names(
        &self,
        ctx: &OperationContext,
        namespace: &str,
        class: Option<&str>,
        deep: bool,
    ) -> Result<Vec<Name>, CimError> {
        let ns = self.namespace(ctx, namespace)?;
        if let Some(c) = class {
            self.class_in(ns, c)?;
        }
        Ok(ns
            .subclasses(class, deep)
            .iter()
            .filter(|c| listed(class, c))
            .map(|c| c.name.clone())
            .collect())
    }

    // ---- qualifiers ----------------------------------------------------

    pub fn get_qualifier(
        &self,
        ctx: &OperationContext,
        namespace: &str,
        name: &str,
    ) -> Result<QualifierDecl, CimError> {
        let ns = self.namespace(ctx, namespace)?;
        ns.qualifier_decl(name).cloned().ok_or_else(|| {
            CimError::not_found(format!(
                "no qualifier declaration {name} in {}",
                display_ns(ns.name())
            ))
        })
    }

    pub fn enumerate_qualifiers(
        &self,
        ctx: &OperationContext,
        namespace: &str,
    ) -> Result<Vec<QualifierDecl>, CimError> {
        let ns = self.namespace(ctx, namespace)?;
        Ok(ns.qualifier_decls().cloned().collect())
    }

    // ---- instances -----------------------------------------------------

    /// The full path of an instance of `class` in `namespace` on this host.
    pub fn instance_path(&self, namespace: &str, class: &Class, inst: &Instance) -> ObjectPath {
        let mut p = inst.path(class);
        p.host = Some(self.inner.host.clone());
        p.namespace = Some(namespace.to_owned());
        p
    }

    /// [`instance_path`](Self::instance_path), shared: made once for a
    /// stored instance (asked for with its own class and namespace), made
    /// afresh for any other.
    pub(crate) fn shared_path(
        &self,
        namespace: &str,
        class: &Class,
        inst: &Arc<Instance>,
    ) -> Arc<ObjectPath> {
        let make = || Arc::new(self.instance_path(namespace, class, inst));
        let shared = self.inner.stored_paths.get_or_init(inst, || SharedPath {
            namespace: self.interned_namespace(namespace),
            class: class.name.clone(),
            path: make(),
        });
        match shared {
            Some(s) if *s.namespace == *namespace && s.class == class.name => Arc::clone(&s.path),
            _ => make(),
        }
    }

    /// The repository's own `Arc` of a namespace name (shared paths are
    /// asked for with the repository's names); a new one for any other.
    fn interned_namespace(&self, namespace: &str) -> Arc<str> {
        self.inner
            .namespace_names
            .iter()
            .find(|n| ***n == *namespace)
            .map_or_else(|| Arc::from(namespace), Arc::clone)
    }

    /// GetInstance / GetObject of an instance path. The path may be relative
    /// or full (its namespace, when given, must be `namespace`); a single-key
    /// shorthand `Class="v"` is resolved against the class's key.
    pub fn get_instance(
        &self,
        ctx: &OperationContext,
        namespace: &str,
        path: &ObjectPath,
        property_list: Option<&[Name]>,
    ) -> Result<InstanceWithPath, CimError> {
        let ns = self.namespace(ctx, namespace)?;
        let class = self.class_in(ns, path.class.as_str())?;
        let rel = relative_resolved(path, &class)?;
        let rel = rel.as_ref();
        self.inner
            .access
            .check_class(ctx, ns.name(), class.name.as_str())?;
        let provider = self.provider_of(ns, &class);
        let not_found =
            || CimError::not_found(format!("no instance {rel} in {}", display_ns(ns.name())));
        let Some(provider) = provider else {
            return Err(not_found());
        };
        let found = provider.get(&GetRequest {
            namespace: ns.name(),
            class: &class,
            path: rel,
            property_list,
            classes: ns,
            ctx,
        })?;
        let Some(mut inst) = found else {
            return Err(not_found());
        };
        let full = self.shared_path(ns.name(), &class, &inst);
        if let Some(list) = property_list {
            Arc::make_mut(&mut inst).retain_properties(list);
        }
        Ok(InstanceWithPath {
            path: full,
            instance: inst,
        })
    }

    /// The provider serving `class`, if any. Abstract classes and classes
    /// without a provider have no instances of their own.
    pub(crate) fn provider_of(
        &self,
        ns: &Namespace,
        class: &Class,
    ) -> Option<Arc<dyn InstanceProvider>> {
        self.inner
            .providers
            .provider(ns.name(), class.name.as_str())
            .cloned()
    }

    pub(crate) fn check_class_access(
        &self,
        ctx: &OperationContext,
        ns: &Namespace,
        class: &Class,
    ) -> Result<(), CimError> {
        self.inner
            .access
            .check_class(ctx, ns.name(), class.name.as_str())
    }

    /// EnumerateInstances (CreateInstanceEnum): the instances of `class` and,
    /// with `opts.deep`, of its subclasses, streamed class by class.
    pub fn enumerate_instances(
        &self,
        ctx: &Arc<OperationContext>,
        namespace: &str,
        class: &str,
        opts: &EnumOptions,
    ) -> Result<InstanceIter, CimError> {
        self.enumerate_filtered(ctx, namespace, class, opts, None)
    }

    /// EnumerateInstanceNames: the paths of the instances of `class` and its subclasses.
    pub fn enumerate_instance_names(
        &self,
        ctx: &Arc<OperationContext>,
        namespace: &str,
        class: &str,
    ) -> Result<Box<dyn Iterator<Item = Result<ObjectPath, CimError>> + Send>, CimError> {
        let it = self.enumerate_filtered(ctx, namespace, class, &EnumOptions::default(), None)?;
        Ok(Box::new(
            it.map(|r| r.map(|i| Arc::unwrap_or_clone(i.path))),
        ))
    }

    /// Whether the caller may read the instances of `class` and its
    /// subclasses, with the checks an enumeration makes: what the event
    /// poller asks for each subscriber before every delivery.
    pub fn check_instance_access(
        &self,
        ctx: &OperationContext,
        namespace: &str,
        class: &str,
    ) -> Result<(), CimError> {
        self.instance_scope(ctx, namespace, class, true).map(|_| ())
    }

    /// The classes an enumeration of `class` (with `deep`, and its
    /// subclasses) asks providers about, once the caller may read them all.
    fn instance_scope<'a>(
        &'a self,
        ctx: &OperationContext,
        namespace: &str,
        class: &str,
        deep: bool,
    ) -> Result<InstanceScope<'a>, CimError> {
        let ns = self.namespace(ctx, namespace)?;
        let root = self.class_in(ns, class)?;
        let mut classes: VecDeque<Arc<Class>> = VecDeque::new();
        classes.push_back(root.clone());
        if deep {
            classes.extend(ns.subclasses(Some(class), true));
        }
        // Reaching a protected class is refused, not silently skipped: the
        // caller must not mistake "not allowed" for "none there".
        for c in &classes {
            if self
                .inner
                .providers
                .provider(ns.name(), c.name.as_str())
                .is_some()
            {
                self.inner
                    .access
                    .check_class(ctx, ns.name(), c.name.as_str())?;
            }
        }
        Ok(InstanceScope { ns, root, classes })
    }

    /// Whether every instance an enumeration of `class` (with `deep`, and
    /// its subclasses) can yield comes from a provider whose answers never
    /// change ([`ProviderCapabilities::instances_are_fixed`](crate::ProviderCapabilities::instances_are_fixed)), after the same
    /// checks the enumeration makes: an error is the one it would fail with.
    /// An answer made for one caller may be handed to another only once
    /// this has said `Ok(true)` for that other caller.
    pub fn fixed_instances(
        &self,
        ctx: &OperationContext,
        namespace: &str,
        class: &str,
        deep: bool,
    ) -> Result<bool, CimError> {
        let InstanceScope { ns, classes, .. } = self.instance_scope(ctx, namespace, class, deep)?;
        Ok(classes.iter().all(|c| {
            self.inner
                .providers
                .provider(ns.name(), c.name.as_str())
                .is_none_or(|p| p.capabilities().instances_are_fixed)
        }))
    }

    /// The engine of enumerations and queries: walks the class and its
    /// subclasses, asks each class's provider, re-checks `filter`, trims to
    /// the property list.
    pub(crate) fn enumerate_filtered(
        &self,
        ctx: &Arc<OperationContext>,
        namespace: &str,
        class: &str,
        opts: &EnumOptions,
        filter: Option<Arc<WhereClause>>,
    ) -> Result<InstanceIter, CimError> {
        let InstanceScope { ns, root, classes } =
            self.instance_scope(ctx, namespace, class, opts.deep)?;
        // DSP0200 DeepInheritance=false: only what the requested class declares,
        // also for instances of its subclasses.
        let property_list: Option<Vec<Name>> = match (&opts.property_list, opts.deep_inheritance) {
            (None, true) => None,
            (Some(l), true) => Some(l.clone()),
            (None, false) => Some(root.properties.iter().map(|p| p.name.clone()).collect()),
            (Some(l), false) => Some(
                l.iter()
                    .filter(|n| root.property(n.as_str()).is_some())
                    .cloned()
                    .collect(),
            ),
        };
        // What providers are asked for must cover the WHERE clause and the
        // keys too: the engine re-checks the clause and builds paths after
        // the provider, and only then trims to the caller's list.
        let provider_list = property_list.as_ref().map(|l| {
            let mut all = l.clone();
            let extra = filter
                .as_deref()
                .map(openwmi_wql::referenced_properties)
                .unwrap_or_default();
            for n in extra
                .into_iter()
                .chain(root.key_properties().map(|p| p.name.clone()))
            {
                if !all.contains(&n) {
                    all.push(n);
                }
            }
            all
        });
        let mut filter_system: Vec<Name> = Vec::new();
        if let Some(f) = filter.as_deref() {
            f.visit_properties(&mut |p| {
                let n = &p.name;
                if n.as_str().starts_with("__")
                    && !n.is("__CLASS")
                    && !n.is("__this")
                    && !filter_system.contains(n)
                {
                    filter_system.push(n.clone());
                }
            });
        }
        Ok(Box::new(EnumIter {
            om: self.clone(),
            ctx: ctx.clone(),
            namespace: ns.name().to_owned(),
            classes,
            current: None,
            property_list,
            provider_list,
            filter,
            filter_system,
            failed: false,
        }))
    }
}

/// What an enumeration covers: its namespace, the class asked for, and
/// that class with (for a deep one) its subclasses.
struct InstanceScope<'a> {
    ns: &'a Namespace,
    root: Arc<Class>,
    classes: VecDeque<Arc<Class>>,
}

struct CurrentClass {
    class: Arc<Class>,
    stream: InstanceStream,
    compiled: Option<openwmi_wql::Filter>,
}

struct EnumIter {
    om: ObjectManager,
    ctx: Arc<OperationContext>,
    namespace: String,
    classes: VecDeque<Arc<Class>>,
    current: Option<CurrentClass>,
    property_list: Option<Vec<Name>>,
    /// What providers are asked for: the property list plus the WHERE
    /// clause's properties and the keys.
    provider_list: Option<Vec<Name>>,
    filter: Option<Arc<WhereClause>>,
    /// System properties (`__PATH`, `__GENUS`...) the WHERE clause names:
    /// they are added to each instance while the clause is checked.
    filter_system: Vec<Name>,
    failed: bool,
}

impl EnumIter {
    /// Starts the next class that has a provider; `Ok(false)` when none is left.
    fn advance(&mut self) -> Result<bool, CimError> {
        while let Some(class) = self.classes.pop_front() {
            let Some(provider) = self
                .om
                .inner
                .providers
                .provider(&self.namespace, class.name.as_str())
                .cloned()
            else {
                continue;
            };
            let Some(classes) = self.om.inner.repo.namespace(&self.namespace) else {
                return Ok(false);
            };
            let stream = provider.enumerate(&EnumerateRequest {
                namespace: &self.namespace,
                class: &class,
                property_list: self.provider_list.as_deref(),
                // A clause on system properties can only be checked here,
                // where paths are known: providers would drop everything.
                filter: if self.filter_system.is_empty() {
                    self.filter.as_deref()
                } else {
                    None
                },
                classes,
                ctx: &self.ctx,
            })?;
            let filtered_at_source =
                self.filter_system.is_empty() && provider.capabilities().applies_filter;
            let compiled = self
                .filter
                .as_deref()
                .filter(|_| !filtered_at_source)
                .map(|f| {
                    if self.filter_system.is_empty() {
                        openwmi_wql::Filter::compile(f, &class)
                    } else {
                        openwmi_wql::Filter::compile(
                            f,
                            &crate::system::with_system_properties(&class, &self.filter_system),
                        )
                    }
                });
            self.current = Some(CurrentClass {
                class,
                stream,
                compiled,
            });
            return Ok(true);
        }
        Ok(false)
    }
}

impl Iterator for EnumIter {
    type Item = Result<InstanceWithPath, CimError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            if self.current.is_none() {
                match self.advance() {
                    Ok(true) => {}
                    Ok(false) => return None,
                    Err(e) => {
                        self.failed = true;
                        return Some(Err(e));
                    }
                }
            }
            let cur = self.current.as_mut()?;
            match cur.stream.next() {
                None => {
                    self.current = None;
                }
                Some(Err(e)) => {
                    self.failed = true;
                    return Some(Err(e));
                }
                Some(Ok(mut inst)) => {
                    if let Some(f) = &cur.compiled {
                        let ns = self.om.inner.repo.namespace(&self.namespace)?;
                        let keep = if self.filter_system.is_empty() {
                            f.matches(&inst, ns)
                        } else {
                            let own = inst.properties.len();
                            let mut iwp = InstanceWithPath {
                                path: self.om.shared_path(&self.namespace, &cur.class, &inst),
                                instance: inst,
                            };
                            crate::system::add_system_properties(ns, &mut iwp, &self.filter_system);
                            let keep = f.matches(&iwp.instance, ns);
                            Arc::make_mut(&mut iwp.instance).properties.truncate(own);
                            inst = iwp.instance;
                            keep
                        };
                        if !keep {
                            continue;
                        }
                    }
                    let path = self.om.shared_path(&self.namespace, &cur.class, &inst);
                    if let Some(list) = &self.property_list {
                        Arc::make_mut(&mut inst).retain_properties(list);
                    }
                    return Some(Ok(InstanceWithPath {
                        path,
                        instance: inst,
                    }));
                }
            }
        }
    }
}

/// `path` without its host and namespace and with its keys resolved
/// ([`resolve_keys`]): the path itself when that changes nothing, as for
/// most requests (a GetInstance's INSTANCENAME names its keys and carries
/// neither), else a resolved copy.
pub(crate) fn relative_resolved<'p>(
    path: &'p ObjectPath,
    class: &Class,
) -> Result<Cow<'p, ObjectPath>, CimError> {
    match &path.keys {
        Keys::Bindings(b)
            if path.host.is_none()
                && path.namespace.is_none()
                && !is_shorthand(b)
                && !b.iter().any(|kb| reference_as_string(kb, class)) =>
        {
            check_named_keys(b, class)?;
            Ok(Cow::Borrowed(path))
        }
        _ => {
            let mut rel = path.clone();
            rel.host = None;
            rel.namespace = None;
            resolve_keys(&mut rel, class)?;
            Ok(Cow::Owned(rel))
        }
    }
}

/// A single-key shorthand path's bindings (`Class="v"`): one, unnamed.
fn is_shorthand(b: &[KeyBinding]) -> bool {
    b.len() == 1 && b[0].name.as_str().is_empty()
}

/// A value given as a string for a key that `class` types as a reference.
fn reference_as_string(kb: &KeyBinding, class: &Class) -> bool {
    matches!(kb.value, Value::String(_))
        && class
            .property(kb.name.as_str())
            .is_some_and(|p| p.ty.base == openwmi_cim::CimType::Reference)
}

/// That named bindings `b` give every key of `class` and nothing else.
fn check_named_keys(b: &[KeyBinding], class: &Class) -> Result<(), CimError> {
    let keys = || class.key_properties().map(|p| &p.name);
    for k in keys() {
        if !b.iter().any(|kb| kb.name == *k) {
            return Err(CimError::invalid_parameter(format!(
                "the path lacks key {k} of class {}",
                class.name
            )));
        }
    }
    for kb in b {
        if !keys().any(|k| *k == kb.name) {
            return Err(CimError::invalid_parameter(format!(
                "{} is not a key of class {}",
                kb.name, class.name
            )));
        }
    }
    Ok(())
}

/// Fills in the key name of a single-key shorthand path (`Class="v"`) and
/// checks the path names every key of the class.
pub(crate) fn resolve_keys(path: &mut ObjectPath, class: &Class) -> Result<(), CimError> {
    let mut keys = class.key_properties().map(|p| &p.name);
    match &mut path.keys {
        Keys::Class => Err(CimError::invalid_parameter(format!(
            "{path} names a class, not an instance"
        ))),
        Keys::Singleton => {
            if keys.next().is_none() {
                Ok(())
            } else {
                Err(CimError::invalid_parameter(format!(
                    "class {} is not a singleton: give its keys",
                    class.name
                )))
            }
        }
        Keys::Bindings(b) => {
            if is_shorthand(b) {
                let (Some(only), None) = (keys.next(), keys.next()) else {
                    return Err(CimError::invalid_parameter(format!(
                        "class {} has {} keys; name them",
                        class.name,
                        class.key_properties().count()
                    )));
                };
                b[0].name = only.clone();
            }
            check_named_keys(b, class)?;
            // Typed key values: a reference key given as a string becomes a path.
            for kb in b.iter_mut() {
                if !reference_as_string(kb, class) {
                    continue;
                }
                if let Value::String(s) = &kb.value {
                    if let Ok(parsed) = ObjectPath::parse(s) {
                        kb.value = Value::Reference(Box::new(parsed));
                    }
                }
            }
            Ok(())
        }
    }
}

/// Whether a class enumeration under `parent` lists `class`: WMI's system
/// classes (`__Event`, ...) only when the caller asks under a system class,
/// so that listings of the schema show the classes openwmi serves.
fn listed(parent: Option<&str>, class: &Class) -> bool {
    !class.name.as_str().starts_with("__") || parent.is_some_and(|p| p.starts_with("__"))
}

/// Applies DSP0200's LocalOnly / IncludeQualifiers / IncludeClassOrigin /
/// PropertyList to a class.
pub fn shape_class(c: &Class, opts: &ClassOptions) -> Class {
    let mut out = c.clone();
    if opts.local_only {
        out.properties.retain(|p| !p.propagated);
        out.methods.retain(|m| !m.propagated);
        out.qualifiers.retain(|q| !q.propagated);
    }
    if let Some(list) = &opts.property_list {
        out.properties.retain(|p| list.contains(&p.name));
    }
    if !opts.include_qualifiers {
        out.qualifiers.clear();
        for p in &mut out.properties {
            p.qualifiers.clear();
        }
        for m in &mut out.methods {
            m.qualifiers.clear();
            for p in &mut m.parameters {
                p.qualifiers.clear();
            }
        }
    }
    out
}

/// `root\cimv2`, as WMI users write it, for messages.
pub fn display_ns(name: &str) -> String {
    normalize_namespace(name)
        .map(|n| n.replace('/', "\\"))
        .unwrap_or_else(|_| name.to_owned())
}
