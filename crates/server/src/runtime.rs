//! The tokio runtime `openwmi serve` runs on.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::{BusyPoll, ServerConfig, ServerError};

/// A multi-thread tokio runtime with `config.threads` workers (the blocking
/// pool comes on top) and, unless `config.busy_poll_us` is 0, busy polling
/// before its workers sleep.
#[derive(Debug)]
pub struct ServerRuntime {
    runtime: tokio::runtime::Runtime,
    busy_poll: Option<Arc<BusyPoll>>,
}

impl ServerRuntime {
    pub fn new(config: &ServerConfig) -> Result<ServerRuntime, ServerError> {
        let busy_poll = match config.busy_poll_us {
            0 => None,
            us => Some(Arc::new(
                BusyPoll::new(Duration::from_micros(us))
                    .map_err(|e| ServerError::io("cannot set up busy polling", e))?,
            )),
        };
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(config.worker_threads()).enable_all();
        if let Some(busy_poll) = &busy_poll {
            let busy_poll = Arc::clone(busy_poll);
            builder.on_thread_park(move || busy_poll.before_park());
        }
        let runtime = builder
            .build()
            .map_err(|e| ServerError::io("cannot start the runtime", e))?;
        Ok(ServerRuntime { runtime, busy_poll })
    }

    /// What [`crate::Server::with_busy_poll`] wants.
    pub fn busy_poll(&self) -> Option<Arc<BusyPoll>> {
        self.busy_poll.clone()
    }

    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }
}
