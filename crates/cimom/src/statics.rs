//! The repository provider: static instances declared in MOF (`instance of`).

use crate::provider::{EnumerateRequest, InstanceProvider, InstanceStream};
use openwmi_cim::{CimError, Instance};
use std::sync::Arc;

/// Serves the static instances of one class, as compiled from MOF.
#[derive(Debug)]
pub struct RepositoryProvider {
    instances: Arc<[Instance]>,
}

impl RepositoryProvider {
    pub fn new(instances: Vec<Instance>) -> Self {
        RepositoryProvider {
            instances: instances.into(),
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

    fn enumerate(&self, _req: &EnumerateRequest<'_>) -> Result<InstanceStream, CimError> {
        let all = self.instances.clone();
        Ok(Box::new((0..all.len()).map(move |i| Ok(all[i].clone()))))
    }
}
