//! ExecMethod (InvokeMethod): the same call in process, over CIM-XML and
//! over WS-Management (Invoke).

use crate::services::{Backend, Services};
use crate::WbemError;
use openwmi_cim::{Name, ObjectPath, Value};
use openwmi_cimxml::Operation;

/// What a method call returned.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MethodOutput {
    pub return_value: Option<Value>,
    /// Output parameters by name; `None` is NULL.
    pub out_params: Vec<(Name, Option<Value>)>,
}

impl Services {
    /// Calls `method` on `path` (a class path for a static method, an
    /// instance path otherwise; a namespace in the path wins over the
    /// handle's) with `params` (`None` is NULL). Values may be given as
    /// strings: the server converts them to the declared types.
    pub fn invoke_method(
        &self,
        path: &str,
        method: &str,
        params: &[(Name, Option<Value>)],
    ) -> Result<MethodOutput, WbemError> {
        let p = ObjectPath::parse(path).map_err(openwmi_cimom::errors::path_error)?;
        let ns = p
            .namespace
            .clone()
            .unwrap_or_else(|| self.namespace.clone());
        let relative = ObjectPath {
            host: None,
            namespace: None,
            ..p
        };
        match &self.backend {
            Backend::Local(om) => {
                let r = om.invoke_method(&self.local_ctx(), &ns, &relative, method, params)?;
                Ok(MethodOutput {
                    return_value: r.return_value,
                    out_params: r
                        .out_params
                        .into_iter()
                        .map(|(n, v)| (n, Some(v)))
                        .collect(),
                })
            }
            Backend::Remote(r) => {
                let reply = r.call(
                    &ns,
                    &Operation::InvokeMethod {
                        target: relative,
                        method: Name::new(method),
                        params: params.to_vec(),
                    },
                )?;
                Ok(MethodOutput {
                    return_value: reply.return_value,
                    out_params: reply.out_params,
                })
            }
            Backend::WsMan(w) => self.wsman_invoke_method(w, &ns, relative, method, params),
        }
    }
}
