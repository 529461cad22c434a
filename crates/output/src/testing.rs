//! Instances for the format tests.

use openwmi_cim::{CimType, Instance, InstanceProperty, Name, ObjectPath, TypeDecl, Value};

pub(crate) fn prop(name: &str, ty: CimType, value: Option<Value>) -> InstanceProperty {
    InstanceProperty {
        name: Name::new(name),
        ty: TypeDecl::scalar(ty),
        value,
    }
}

pub(crate) fn array_prop(name: &str, ty: CimType, value: Option<Vec<Value>>) -> InstanceProperty {
    InstanceProperty {
        name: Name::new(name),
        ty: TypeDecl::array(ty),
        value: value.map(Value::Array),
    }
}

pub(crate) fn instance(class: &str, properties: Vec<InstanceProperty>) -> Instance {
    Instance {
        class_name: Name::new(class),
        properties,
    }
}

/// A Win32_Share with a NULL, a unicode name and a path with a backslash.
pub(crate) fn share(name: &str, path: &str, max: Option<u32>) -> Instance {
    instance(
        "Win32_Share",
        vec![
            prop(
                "Caption",
                CimType::String,
                Some(Value::String(format!("Share {name}").into())),
            ),
            prop(
                "AllowMaximum",
                CimType::Boolean,
                Some(Value::Boolean(max.is_none())),
            ),
            prop("MaximumAllowed", CimType::UInt32, max.map(Value::UInt32)),
            prop(
                "Name",
                CimType::String,
                Some(Value::String(name.to_owned().into())),
            ),
            prop(
                "Path",
                CimType::String,
                Some(Value::String(path.to_owned().into())),
            ),
            prop("Type", CimType::UInt32, Some(Value::UInt32(0))),
        ],
    )
}

pub(crate) fn share_path(host: &str, name: &str) -> ObjectPath {
    ObjectPath::parse(&format!(
        "\\\\{host}\\root\\cimv2:Win32_Share.Name=\"{}\"",
        name.replace('\\', "\\\\").replace('"', "\\\"")
    ))
    .unwrap()
}

/// A row of `instance` without a path or host.
pub(crate) fn row(instance: &Instance) -> crate::Row<'_> {
    crate::Row {
        instance,
        path: None,
        host: None,
    }
}

/// A row of `instance` tagged with the host it came from.
pub(crate) fn row_on<'a>(instance: &'a Instance, host: &'a str) -> crate::Row<'a> {
    crate::Row {
        instance,
        path: None,
        host: Some(host),
    }
}

/// Runs a formatter over rows and returns the text.
pub(crate) fn render(
    format: crate::Format,
    options: &crate::Options,
    rows: &[crate::Row<'_>],
) -> String {
    let mut out = Vec::new();
    crate::write_rows(format, options, rows.iter().copied(), &mut out).unwrap();
    String::from_utf8(out).unwrap()
}
