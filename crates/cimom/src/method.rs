//! Extrinsic method calls (InvokeMethod, IWbemServices::ExecMethod): static
//! methods on a class path, instance methods on an instance path. The
//! object manager checks what it can once for every front-end (the class
//! and the method exist, the parameters are declared `[In]` and of the
//! declared type, a static method is called on the class and an instance
//! method on an instance, the caller holds the right to call), hands the
//! call to the class's provider, and reports every call, failed or not, to
//! the [`MethodAudit`].

use crate::context::OperationContext;
use crate::manager::{display_ns, relative_resolved, ObjectManager};
use openwmi_cim::qualifier;
use openwmi_cim::{
    ArrayKind, CimError, CimStatus, CimType, Class, Keys, MethodDecl, Name, ObjectPath, TypeDecl,
    Value,
};
use std::sync::Arc;

/// A method call as a provider gets it: the target resolved against its
/// class, the input parameters converted to their declared types.
#[derive(Debug)]
pub struct MethodRequest<'a> {
    pub namespace: &'a str,
    pub class: &'a Arc<Class>,
    /// Relative (no host or namespace): keys named for an instance method,
    /// none for a static one.
    pub target: &'a ObjectPath,
    pub method: &'a MethodDecl,
    /// The input parameters the caller gave a value (not NULL), by their
    /// declared names.
    pub params: &'a [(Name, Value)],
    pub ctx: &'a OperationContext,
}

impl MethodRequest<'_> {
    /// An input parameter's value; `None` when absent or NULL.
    pub fn param(&self, name: &str) -> Option<&Value> {
        self.params.iter().find(|(n, _)| n.is(name)).map(|(_, v)| v)
    }

    /// A string parameter.
    pub fn string(&self, name: &str) -> Option<&str> {
        self.param(name).and_then(Value::as_str)
    }

    /// An integer parameter, as u64 when it fits.
    pub fn unsigned(&self, name: &str) -> Option<u64> {
        self.param(name)
            .and_then(Value::as_i128)
            .and_then(|v| u64::try_from(v).ok())
    }

    /// Whether the call is on an instance (not on the class).
    pub fn on_instance(&self) -> bool {
        !matches!(self.target.keys, Keys::Class)
    }
}

/// What a method returned: its return value and its output parameters.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MethodResult {
    pub return_value: Option<Value>,
    pub out_params: Vec<(Name, Value)>,
}

impl MethodResult {
    /// A uint32 return value and no output parameters (the Win32 and MSFT
    /// methods' status codes).
    pub fn status(code: u32) -> Self {
        MethodResult {
            return_value: Some(Value::UInt32(code)),
            out_params: Vec::new(),
        }
    }
}

/// One method call, as the audit trail records it.
#[derive(Debug)]
pub struct AuditRecord<'a> {
    /// The authenticated user; `None` for the local caller.
    pub user: Option<&'a str>,
    /// Where the request came from (`address:port`); `None` when local.
    pub client: Option<std::net::SocketAddr>,
    pub namespace: &'a str,
    pub target: &'a ObjectPath,
    pub method: &'a str,
    /// The names of the parameters given (values are left out: a password
    /// may be among them).
    pub params: Vec<&'a str>,
    pub outcome: Result<&'a MethodResult, &'a CimError>,
}

/// Where every method call is recorded, failed or not (the system journal
/// in the server and the CLI).
pub trait MethodAudit: Send + Sync {
    fn record(&self, record: &AuditRecord<'_>);
}

/// The parameter `name` of the method.
fn in_param<'m>(m: &'m MethodDecl, name: &str) -> Option<&'m openwmi_cim::ParameterDecl> {
    m.parameters.iter().find(|p| p.name.is(name))
}

fn is_in(p: &openwmi_cim::ParameterDecl) -> bool {
    // A parameter with neither qualifier is an input one (DSP0004: In
    // defaults to true); one marked only `[Out]` is not, as in WMI.
    match qualifier::find(&p.qualifiers, "In") {
        Some(q) => q.is_true(),
        None => !qualifier::is_set(&p.qualifiers, "Out"),
    }
}

/// A value as the declared type, converting what a protocol sends untyped
/// (CIM-XML's PARAMVALUE without PARAMTYPE, a command-line `Name=Value`).
pub fn coerce(value: &Value, ty: &TypeDecl) -> Result<Value, String> {
    if ty.array != ArrayKind::Scalar {
        return match value {
            Value::Array(items) => items
                .iter()
                .map(|v| coerce_scalar(v, ty.base))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            // One value for an array parameter: an array of one.
            v => coerce_scalar(v, ty.base).map(|v| Value::Array(vec![v])),
        };
    }
    if let Value::Array(_) = value {
        return Err("an array where one value is expected".into());
    }
    coerce_scalar(value, ty.base)
}

fn coerce_scalar(value: &Value, ty: CimType) -> Result<Value, String> {
    if value.cim_type() == Some(ty) {
        return Ok(value.clone());
    }
    let bad = || format!("{} is not a valid {}", value.to_mof(), ty.as_str());
    if ty.integer_range().is_some() {
        let n = match value {
            Value::String(s) => parse_integer(s.trim()).ok_or_else(bad)?,
            v => v.as_i128().ok_or_else(bad)?,
        };
        return Value::integer(ty, n).ok_or_else(bad);
    }
    match (ty, value) {
        (CimType::Boolean, Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => Ok(Value::Boolean(true)),
            "false" | "0" => Ok(Value::Boolean(false)),
            _ => Err(bad()),
        },
        (CimType::String, v) => match v {
            Value::Char16(c) => Ok(Value::String(c.to_string().into())),
            v if v.as_i128().is_some() => Ok(Value::String(v.to_mof().into())),
            Value::Boolean(b) => Ok(Value::String(if *b { "TRUE" } else { "FALSE" }.into())),
            _ => Err(bad()),
        },
        (CimType::Real32 | CimType::Real64, v) => {
            let f = match v {
                Value::String(s) => s.trim().parse::<f64>().map_err(|_| bad())?,
                v => v.as_f64().ok_or_else(bad)?,
            };
            Ok(if ty == CimType::Real32 {
                Value::Real32(f as f32)
            } else {
                Value::Real64(f)
            })
        }
        _ => Err(bad()),
    }
}

fn parse_integer(s: &str) -> Option<i128> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let v = if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        if hex.is_empty() || hex.len() > 16 {
            return None;
        }
        i128::from_str_radix(hex, 16).ok()?
    } else {
        if digits.is_empty() || digits.len() > 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse::<i128>().ok()?
    };
    Some(if neg { -v } else { v })
}

impl ObjectManager {
    /// InvokeMethod: calls `method` on `target` (a class path for a static
    /// method, an instance path otherwise) with `params` (by name; `None`
    /// is NULL). Recorded in the audit trail whatever happens.
    pub fn invoke_method(
        &self,
        ctx: &OperationContext,
        namespace: &str,
        target: &ObjectPath,
        method: &str,
        params: &[(Name, Option<Value>)],
    ) -> Result<MethodResult, CimError> {
        let outcome = self.invoke_checked(ctx, namespace, target, method, params);
        if let Some(audit) = self.method_audit() {
            audit.record(&AuditRecord {
                user: ctx.user.as_deref(),
                client: ctx.client,
                namespace,
                target,
                method,
                params: params.iter().map(|(n, _)| n.as_str()).collect(),
                outcome: outcome.as_ref(),
            });
        }
        outcome
    }

    fn invoke_checked(
        &self,
        ctx: &OperationContext,
        namespace: &str,
        target: &ObjectPath,
        method: &str,
        params: &[(Name, Option<Value>)],
    ) -> Result<MethodResult, CimError> {
        let ns = self.namespace(ctx, namespace)?;
        if let Some(other) = &target.namespace {
            let same = self
                .repository()
                .namespace(other)
                .is_some_and(|o| o.name() == ns.name());
            if !same {
                return Err(CimError::invalid_parameter(format!(
                    "the path {target} is not in {}",
                    display_ns(ns.name())
                )));
            }
        }
        let class = self.class_in(ns, target.class.as_str())?;
        let decl = class.method(method).ok_or_else(|| {
            CimError::new(
                CimStatus::MethodNotFound,
                format!("{} has no method {method}", class.name),
            )
        })?;
        let is_static = qualifier::is_set(&decl.qualifiers, "Static");
        let rel = if matches!(target.keys, Keys::Class) {
            if !is_static {
                return Err(CimError::invalid_parameter(format!(
                    "{}.{} is an instance method: call it on an instance path",
                    class.name, decl.name
                )));
            }
            let mut p = target.clone();
            p.host = None;
            p.namespace = None;
            p
        } else {
            relative_resolved(target, &class)?.into_owned()
        };
        let mut converted: Vec<(Name, Value)> = Vec::new();
        for (name, value) in params {
            let p = in_param(decl, name.as_str())
                .filter(|p| is_in(p))
                .ok_or_else(|| {
                    CimError::invalid_parameter(format!(
                        "{}.{} has no input parameter {name}",
                        class.name, decl.name
                    ))
                })?;
            if converted.iter().any(|(n, _)| n.is(name.as_str())) {
                return Err(CimError::invalid_parameter(format!(
                    "parameter {name} given twice"
                )));
            }
            if let Some(v) = value {
                let v = coerce(v, &p.ty).map_err(|e| {
                    CimError::invalid_parameter(format!("parameter {}: {e}", p.name))
                })?;
                converted.push((p.name.clone(), v));
            }
        }
        self.access_policy().check_method(
            ctx,
            ns.name(),
            class.name.as_str(),
            decl.name.as_str(),
        )?;
        let provider = self.provider_of(ns, &class).ok_or_else(|| {
            CimError::new(
                CimStatus::MethodNotAvailable,
                format!("no provider implements {}.{}", class.name, decl.name),
            )
        })?;
        provider.invoke_method(&MethodRequest {
            namespace: ns.name(),
            class: &class,
            target: &rel,
            method: decl,
            params: &converted,
            ctx,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untyped_values_take_the_declared_type() {
        let u32t = TypeDecl::scalar(CimType::UInt32);
        assert_eq!(coerce(&"25".into(), &u32t), Ok(Value::UInt32(25)));
        assert_eq!(coerce(&"0x10".into(), &u32t), Ok(Value::UInt32(16)));
        assert!(coerce(&"-1".into(), &u32t).is_err());
        assert!(coerce(&"x".into(), &u32t).is_err());
        let b = TypeDecl::scalar(CimType::Boolean);
        assert_eq!(coerce(&"TRUE".into(), &b), Ok(Value::Boolean(true)));
        let sa = TypeDecl::array(CimType::String);
        assert_eq!(
            coerce(&"a".into(), &sa),
            Ok(Value::Array(vec![Value::String("a".into())]))
        );
        assert!(coerce(&Value::Array(vec![]), &u32t).is_err());
    }
}
