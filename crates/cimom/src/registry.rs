//! Which provider serves which class in which namespace.

use crate::provider::InstanceProvider;
use openwmi_cim::name::NameKey;
use openwmi_cim::normalize_namespace;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Default, Clone)]
pub struct ProviderRegistry {
    by_class: HashMap<(NameKey, NameKey), Arc<dyn InstanceProvider>>,
}

impl std::fmt::Debug for ProviderRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.by_class.iter().map(|(k, v)| (k, v.name())))
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
        self.by_class
            .insert((NameKey::new(&ns), NameKey::new(class)), provider);
    }

    /// Every registered provider, once per class it serves.
    pub fn providers(&self) -> impl Iterator<Item = &Arc<dyn InstanceProvider>> {
        self.by_class.values()
    }

    /// The namespaces (as registered) where some provider may block.
    pub fn blocking_namespaces(&self) -> impl Iterator<Item = &NameKey> {
        self.by_class
            .iter()
            .filter(|(_, p)| p.may_block())
            .map(|((ns, _), _)| ns)
    }

    /// The provider registered for exactly this class, if any.
    pub fn provider(&self, namespace: &str, class: &str) -> Option<&Arc<dyn InstanceProvider>> {
        self.by_class
            .get(&(NameKey::new(namespace), NameKey::new(class)))
    }
}
