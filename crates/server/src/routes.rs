//! Which service answers which request path.

use std::sync::Arc;

use openwmi_service::Service;

/// The services of a server by request path: an exact path first, else the
/// fallback, else `404`. `openwmi serve` routes everything to its CIM-XML
/// front-end, which answers DSP0200's own errors for paths it does not
/// serve; a WS-Management front-end goes beside it as
/// `.route("/wsman", wsman)`.
#[derive(Clone, Default)]
pub struct Routes {
    exact: Vec<(String, Arc<dyn Service>)>,
    fallback: Option<Arc<dyn Service>>,
}

impl std::fmt::Debug for Routes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Routes")
            .field(
                "paths",
                &self.exact.iter().map(|(p, _)| p).collect::<Vec<_>>(),
            )
            .field("fallback", &self.fallback.is_some())
            .finish()
    }
}

impl Routes {
    /// Every request to `service`.
    pub fn to(service: Arc<dyn Service>) -> Routes {
        Routes::default().fallback(service)
    }

    /// Requests for exactly `path` to `service`.
    pub fn route(mut self, path: impl Into<String>, service: Arc<dyn Service>) -> Routes {
        self.exact.push((path.into(), service));
        self
    }

    /// Requests no exact path matches to `service`.
    pub fn fallback(mut self, service: Arc<dyn Service>) -> Routes {
        self.fallback = Some(service);
        self
    }

    /// The counters' index of the route `path` takes: 0 for the fallback
    /// (and `404`), then the exact paths in order.
    pub(crate) fn index_of(&self, path: &str) -> usize {
        self.exact
            .iter()
            .position(|(p, _)| p == path)
            .map_or(0, |i| i + 1)
    }

    /// The counters' labels, by index (see [`Routes::index_of`]).
    pub(crate) fn names(&self) -> Vec<String> {
        std::iter::once("default".to_owned())
            .chain(self.exact.iter().map(|(p, _)| p.clone()))
            .collect()
    }

    pub(crate) fn find(&self, path: &str) -> Option<&Arc<dyn Service>> {
        self.exact
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, s)| s)
            .or(self.fallback.as_ref())
    }
}
