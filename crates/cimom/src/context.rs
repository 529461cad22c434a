//! The context of one operation: who asks, the named values the client sent
//! along (IWbemContext), and the data snapshots the operation's providers share.

use openwmi_cim::{CimError, Value};
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// One operation's context. Providers store their data snapshot here so that
/// every class an operation touches (an association, then both of its ends)
/// sees the same snapshot and the source is read at most once per operation.
#[derive(Default)]
pub struct OperationContext {
    /// The authenticated user, `None` for the local in-process caller.
    /// Shared with the server's record of the login, like `groups`: an
    /// operation's context costs no copies of either.
    pub user: Option<Arc<str>>,
    /// The user's groups, for permission checks.
    pub groups: Arc<[String]>,
    /// Where the request came from, `None` for the local caller: for the
    /// audit trail of method calls (kept as an address, written out only
    /// when a call is audited).
    pub client: Option<std::net::SocketAddr>,
    /// Named values passed along with the request (IWbemContext).
    pub values: Vec<(String, Value)>,
    snapshots: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl std::fmt::Debug for OperationContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OperationContext")
            .field("user", &self.user)
            .field("groups", &self.groups)
            .field("client", &self.client)
            .field("values", &self.values)
            .finish_non_exhaustive()
    }
}

impl OperationContext {
    pub fn local() -> Self {
        OperationContext::default()
    }

    pub fn for_user(user: impl Into<Arc<str>>, groups: impl Into<Arc<[String]>>) -> Self {
        OperationContext {
            user: Some(user.into()),
            groups: groups.into(),
            ..Default::default()
        }
    }

    /// The snapshot of type `T` for this operation, made by `make` the first
    /// time it is asked for. Failures are not cached: the next class retries.
    pub fn snapshot<T, F>(&self, make: F) -> Result<Arc<T>, CimError>
    where
        T: Any + Send + Sync,
        F: FnOnce() -> Result<Arc<T>, CimError>,
    {
        let id = TypeId::of::<T>();
        if let Some(s) = self.lock().get(&id).cloned() {
            if let Ok(t) = s.downcast::<T>() {
                return Ok(t);
            }
        }
        let made = make()?;
        self.lock().insert(id, made.clone());
        Ok(made)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TypeId, Arc<dyn Any + Send + Sync>>> {
        // A panic while holding this lock leaves only a cache behind; keep using it.
        self.snapshots.lock().unwrap_or_else(|p| p.into_inner())
    }
}
