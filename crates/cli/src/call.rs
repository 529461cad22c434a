//! `openwmi call PATH METHOD [Name=Value ...]`: one method call (like
//! `wmic ... call`), on this machine or on `-r`/`--hosts` targets. The
//! return value and the output parameters print as one `__PARAMETERS`
//! instance in any `-o` format, as WMI hands them out.

use crate::args::{GlobalOptions, InstanceOutput, NamespaceArg, RemoteArgs};
use crate::failure::Failure;
use crate::hosts::Run;
use crate::print::{Output, Printer};
use clap::Args;
use openwmi_cim::{CimError, CimType, Instance, InstanceProperty, Name, TypeDecl, Value};
use openwmi_client::{MethodOutput, WbemObject};
use std::process::ExitCode;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  openwmi call 'MSFT_SmbSession.SessionId=2259149874' ForceClose -n root/Microsoft/Windows/SMB
  openwmi call Win32_Share Create Path=/srv/team Name=team Type=0 Description='Team files'
  openwmi call 'Win32_Share.Name=\"team\"' Delete -r https://server:5989/root/cimv2 -U admin

Static methods (Win32_Share.Create) are called on the class, the others on an instance
path. Values are converted to the parameter types the class declares; a parameter given
without `=` is NULL. The method's own status is ReturnValue (0 is success).")]
pub struct CallArgs {
    #[command(flatten)]
    pub ns: NamespaceArg,
    #[command(flatten)]
    pub out: InstanceOutput,
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// The class (static methods) or instance path to call the method on.
    pub path: String,
    /// The method's name.
    pub method: String,
    /// Input parameters, `Name=Value` each.
    #[arg(value_name = "NAME=VALUE")]
    pub params: Vec<String>,
}

/// `Name=Value` pairs; a bare `Name` is NULL.
fn parse_params(args: &[String]) -> Result<Vec<(Name, Option<Value>)>, Failure> {
    args.iter()
        .map(|a| {
            let (name, value) = match a.split_once('=') {
                Some((n, v)) => (n, Some(Value::String(v.into()))),
                None => (a.as_str(), None),
            };
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(Failure::Cim(CimError::invalid_parameter(format!(
                    "{a:?}: expected NAME=VALUE"
                ))));
            }
            Ok((Name::new(name), value))
        })
        .collect()
}

fn property(name: &str, value: Option<Value>) -> InstanceProperty {
    let base = value
        .as_ref()
        .and_then(|v| match v {
            Value::Array(items) => items.first().and_then(Value::cim_type),
            v => v.cim_type(),
        })
        .unwrap_or(CimType::String);
    let ty = if matches!(value, Some(Value::Array(_))) {
        TypeDecl::array(base)
    } else {
        TypeDecl::scalar(base)
    };
    InstanceProperty {
        name: Name::new(name),
        ty,
        value,
    }
}

/// The output as WMI's `__PARAMETERS` instance.
fn parameters(out: MethodOutput) -> Instance {
    let mut properties = vec![property("ReturnValue", out.return_value)];
    properties.extend(
        out.out_params
            .into_iter()
            .map(|(n, v)| property(n.as_str(), v)),
    );
    Instance {
        class_name: Name::new("__PARAMETERS"),
        properties,
    }
}

pub fn call(a: &CallArgs, g: &GlobalOptions) -> Result<ExitCode, Failure> {
    let params = parse_params(&a.params)?;
    let run = Run::new(&a.remote, &a.ns.namespace, g)?;
    let mut printer = Printer::rows(&a.out);
    let result = run.execute(
        |s, send: &dyn Fn(Output) -> bool| {
            let out = s.invoke_method(&a.path, &a.method, &params)?;
            if send(Output::Opened) {
                send(Output::Object(WbemObject::Instance {
                    path: None,
                    instance: parameters(out),
                }));
            }
            Ok(())
        },
        |host, o| printer.put(host, o),
    );
    printer.finish(matches!(result, Ok(ExitCode::SUCCESS)))?;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_value_pairs() {
        let p = parse_params(&["Name=a=b".into(), "Type=0".into(), "Access".into()]).unwrap();
        assert_eq!(p[0], (Name::new("Name"), Some(Value::String("a=b".into()))));
        assert_eq!(p[2], (Name::new("Access"), None));
        assert!(parse_params(&["=x".into()]).is_err());
        assert!(parse_params(&["a b=x".into()]).is_err());
    }

    #[test]
    fn output_is_a_parameters_instance() {
        let i = parameters(MethodOutput {
            return_value: Some(Value::UInt32(22)),
            out_params: vec![(Name::new("X"), None)],
        });
        assert_eq!(i.class_name.as_str(), "__PARAMETERS");
        assert_eq!(i.value("ReturnValue"), Some(&Value::UInt32(22)));
        assert_eq!(i.property("X").unwrap().value, None);
    }
}
