//! The repository provider: static instances declared in MOF (`instance of`).

use crate::fold_hash::BuildFoldHasher;
use crate::provider::{
    EnumerateRequest, GetRequest, InstanceProvider, InstanceStream, ProviderCapabilities,
};
use openwmi_cim::{CimError, Class, Instance, ObjectPath};
use std::collections::HashMap;
use std::sync::Arc;

/// Serves the static instances of one class, as compiled from MOF: by key
/// through an index, filtered at the source, and shared rather than copied.
#[derive(Debug)]
pub struct RepositoryProvider {
    instances: Arc<[Arc<Instance>]>,
    /// Relative path (`ObjectPath`'s Hash and Eq are WMI's: case-insensitive,
    /// numbers by value) -> index in `instances`. The paths are the MOF's,
    /// not a client's: a fast hash (`fold_hash.rs`).
    by_path: HashMap<ObjectPath, usize, BuildFoldHasher>,
}

impl RepositoryProvider {
    pub fn new(class: &Class, instances: Vec<Instance>) -> Self {
        let by_path = instances
            .iter()
            .enumerate()
            .map(|(i, inst)| (inst.path(class), i))
            .collect();
        RepositoryProvider {
            instances: instances.into_iter().map(Arc::new).collect(),
            by_path,
        }
    }
    pub fn len(&self) -> usize {
        self.instances.len()
    }
    pub fn is_empty(&self) -> bool {
        self.instances.is_empty()
    }
}

impl InstanceProvider for RepositoryProvider {
    fn name(&self) -> &str {
        "repository"
    }

    /// Everything is in memory, moved in at build and never changed;
    /// `enumerate` filters with `openwmi_wql::Filter`.
    fn capabilities(&self) -> ProviderCapabilities {
        ProviderCapabilities {
            may_block: false,
            instances_are_fixed: true,
            applies_filter: true,
        }
    }

    fn stored_instances(&self) -> &[Arc<Instance>] {
        &self.instances
    }

    fn enumerate(&self, req: &EnumerateRequest<'_>) -> Result<InstanceStream, CimError> {
        let all = self.instances.clone();
        match req.filter {
            None => Ok(Box::new(
                (0..all.len()).map(move |i| Ok(Arc::clone(&all[i]))),
            )),
            Some(expr) => {
                let filter = openwmi_wql::Filter::compile(expr, req.class);
                let hits: Vec<usize> = (0..all.len())
                    .filter(|&i| filter.matches(&all[i], req.classes))
                    .collect();
                Ok(Box::new(
                    hits.into_iter().map(move |i| Ok(Arc::clone(&all[i]))),
                ))
            }
        }
    }

    fn get(&self, req: &GetRequest<'_>) -> Result<Option<Arc<Instance>>, CimError> {
        Ok(self
            .by_path
            .get(req.path)
            .map(|&i| Arc::clone(&self.instances[i])))
    }
}
