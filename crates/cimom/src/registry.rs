//! Which provider serves which class in which namespace.

use crate::provider::InstanceProvider;
use openwmi_cim::name::NameKey;
use openwmi_cim::normalize_namespace;
use std::collections::HashMap;
use std::sync::Arc;

/// Providers by namespace, then class (both lower-cased, so that lookups
/// need no allocation: `NameKey::lookup`).
#[derive(Default, Clone)]
pub struct ProviderRegistry {
    by_namespace: HashMap<NameKey, HashMap<NameKey, Arc<dyn InstanceProvider>>>,
}

impl std::fmt::Debug for ProviderRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.by_namespace.iter().flat_map(|(ns, classes)| {
                classes
                    .iter()
                    .map(move |(class, p)| ((ns, class), p.name()))
            }))
            .finish()
    }
}

impl ProviderRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `provider` for `class` in `namespace` (replacing any other).
    pub fn register(&mut self, namespace: &str, class: &str, provider: Arc<dyn InstanceProvider>) {
        let ns = normalize_namespace(namespace).unwrap_or_else(|_| namespace.to_owned());
        self.by_namespace
            .entry(NameKey::new(&ns))
            .or_default()
            .insert(NameKey::new(class), provider);
    }

    /// Every registered provider, once per class it serves.
    pub fn providers(&self) -> impl Iterator<Item = &Arc<dyn InstanceProvider>> {
        self.by_namespace.values().flat_map(HashMap::values)
    }

    /// The namespaces (as registered) where some provider may block.
    pub fn blocking_namespaces(&self) -> impl Iterator<Item = &NameKey> {
        self.by_namespace
            .iter()
            .filter(|(_, classes)| classes.values().any(|p| p.capabilities().may_block))
            .map(|(ns, _)| ns)
    }

    /// The provider registered for exactly this class, if any.
    pub fn provider(&self, namespace: &str, class: &str) -> Option<&Arc<dyn InstanceProvider>> {
        let classes = NameKey::lookup(namespace, |ns| self.by_namespace.get(ns))?;
        NameKey::lookup(class, |class| classes.get(class))
    }
}
