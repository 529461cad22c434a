use crate::*;
use openwmi_cim::{CimStatus, Keys};

/// A parameter as the test wire holds it.
#[derive(Clone, Debug, PartialEq)]
enum Val {
    Class(Name),
    Name(Name),
    Str(String),
    Bool(bool),
    U32(u32),
    Props(Vec<Name>),
    Instance(ObjectPath),
    Object(ObjectPath),
}

/// Named parameters in order, each taken once, the names compared exactly.
#[derive(Default)]
struct Wire {
    params: Vec<(String, Val)>,
    taken: Vec<bool>,
}

impl Wire {
    fn new(params: Vec<(&str, Val)>) -> Wire {
        Wire {
            taken: vec![false; params.len()],
            params: params.into_iter().map(|(n, v)| (n.to_owned(), v)).collect(),
        }
    }

    fn take(&mut self, name: &str) -> Option<Val> {
        let i = self.params.iter().position(|(n, _)| n == name)?;
        self.taken[i] = true;
        Some(self.params[i].1.clone())
    }
}

fn wrong(name: &str) -> CimError {
    CimError::invalid_parameter(format!("{name}: wrong kind"))
}

macro_rules! take {
    ($self:ident, $name:ident, $variant:ident) => {
        match $self.take($name) {
            None => Ok(None),
            Some(Val::$variant(v)) => Ok(Some(v)),
            Some(_) => Err(wrong($name)),
        }
    };
}

impl ParamSource for Wire {
    fn class_name(&mut self, name: &str) -> Result<Option<Name>, CimError> {
        take!(self, name, Class)
    }
    fn name(&mut self, name: &str) -> Result<Option<Name>, CimError> {
        take!(self, name, Name)
    }
    fn string(&mut self, name: &str) -> Result<Option<String>, CimError> {
        take!(self, name, Str)
    }
    fn boolean(&mut self, name: &str) -> Result<Option<bool>, CimError> {
        take!(self, name, Bool)
    }
    fn uint32(&mut self, name: &str) -> Result<Option<u32>, CimError> {
        take!(self, name, U32)
    }
    fn property_list(&mut self, name: &str) -> Result<Option<Vec<Name>>, CimError> {
        take!(self, name, Props)
    }
    fn instance_name(&mut self, name: &str) -> Result<Option<ObjectPath>, CimError> {
        take!(self, name, Instance)
    }
    fn object_name(&mut self, name: &str) -> Result<Option<ObjectPath>, CimError> {
        take!(self, name, Object)
    }
    fn finish(&mut self) -> Result<(), CimError> {
        match self.taken.iter().position(|t| !t) {
            Some(i) => Err(CimError::invalid_parameter(format!(
                "unknown parameter {}",
                self.params[i].0
            ))),
            None => Ok(()),
        }
    }
}

impl ParamSink for Wire {
    fn class_name(&mut self, name: &str, value: &Name) {
        self.params.push((name.into(), Val::Class(value.clone())));
    }
    fn name(&mut self, name: &str, value: &Name) {
        self.params.push((name.into(), Val::Name(value.clone())));
    }
    fn string(&mut self, name: &str, value: &str) {
        self.params.push((name.into(), Val::Str(value.into())));
    }
    fn boolean(&mut self, name: &str, value: &bool) {
        self.params.push((name.into(), Val::Bool(*value)));
    }
    fn uint32(&mut self, name: &str, value: &u32) {
        self.params.push((name.into(), Val::U32(*value)));
    }
    fn property_list(&mut self, name: &str, value: &[Name]) {
        self.params.push((name.into(), Val::Props(value.to_vec())));
    }
    fn instance_name(&mut self, name: &str, value: &ObjectPath) {
        self.params
            .push((name.into(), Val::Instance(value.clone())));
    }
    fn object_name(&mut self, name: &str, value: &ObjectPath) {
        self.params.push((name.into(), Val::Object(value.clone())));
    }
}

fn n(s: &str) -> Name {
    Name::new(s)
}

fn instance() -> ObjectPath {
    "Win32_Share.Name=\"x\"".parse().unwrap()
}

fn encoded(op: &Operation) -> Vec<(String, Val)> {
    let mut w = Wire::default();
    op.encode_params(&mut w);
    w.params
}

fn decode(method: &str, params: Vec<(&str, Val)>) -> Result<Operation, CimError> {
    Operation::decode_intrinsic(method, &mut Wire::new(params))
}

#[test]
fn groups_default_to_what_dsp0200_gives_an_absent_parameter() {
    let mut empty = Wire::default();
    assert_eq!(
        InstanceOptions::decode(&mut empty).unwrap(),
        InstanceOptions::default()
    );
    assert_eq!(
        AssocParams::decode(&mut empty).unwrap(),
        AssocParams::default()
    );
    assert_eq!(RefParams::decode(&mut empty).unwrap(), RefParams::default());
    assert_eq!(
        OpenOptions::decode(&mut empty).unwrap(),
        OpenOptions::default()
    );
    assert_eq!(Option::<Filter>::decode(&mut empty).unwrap(), None);
}

#[test]
fn open_operations_encode_their_groups_in_place() {
    let op = Operation::OpenAssociatorInstances(OpenAssociatorInstances {
        instance_name: instance(),
        assoc: AssocParams {
            role: Some(n("Antecedent")),
            ..Default::default()
        },
        options: InstanceOptions {
            include_class_origin: true,
            property_list: Some(vec![n("Name")]),
        },
        filter: Some(Filter {
            query_language: "WQL".into(),
            query: "q".into(),
        }),
        open: OpenOptions {
            operation_timeout: Some(5),
            continue_on_error: false,
            max_object_count: 7,
        },
    });
    let params = encoded(&op);
    let names: Vec<&str> = params.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "InstanceName",
            "Role",
            "IncludeClassOrigin",
            "PropertyList",
            "FilterQueryLanguage",
            "FilterQuery",
            "OperationTimeout",
            "ContinueOnError",
            "MaxObjectCount"
        ]
    );
    let back = Operation::decode_intrinsic(
        op.method_name(),
        &mut Wire {
            taken: vec![false; params.len()],
            params,
        },
    )
    .unwrap();
    assert_eq!(back, op);
}

#[test]
fn an_open_operation_does_not_take_what_dsp0200_leaves_out() {
    let class = ("ClassName", Val::Class(n("X")));
    assert!(decode(
        "EnumerateInstances",
        vec![class.clone(), ("LocalOnly", Val::Bool(false))]
    )
    .is_ok());
    let err = decode(
        "OpenEnumerateInstances",
        vec![class, ("LocalOnly", Val::Bool(false))],
    )
    .unwrap_err();
    assert_eq!(err.description, "unknown parameter LocalOnly");
}

#[test]
fn faults_are_reported_in_description_order() {
    let err = decode(
        "EnumerateInstances",
        vec![("LocalOnly", Val::Str("x".into()))],
    )
    .unwrap_err();
    assert_eq!(err.status, CimStatus::InvalidParameter);
    assert_eq!(err.description, "missing parameter ClassName");
    let err = decode(
        "PullInstances",
        vec![("EnumerationContext", Val::Str("c".into()))],
    )
    .unwrap_err();
    assert_eq!(err.description, "missing parameter MaxObjectCount");
    let err = decode("OpenQueryInstances", vec![]).unwrap_err();
    assert_eq!(
        err.description,
        "missing parameters FilterQueryLanguage and FilterQuery"
    );
    let err = decode(
        "OpenEnumerateInstancePaths",
        vec![
            ("ClassName", Val::Class(n("X"))),
            ("FilterQuery", Val::Str("q".into())),
        ],
    )
    .unwrap_err();
    assert_eq!(
        err.description,
        "FilterQueryLanguage and FilterQuery must be given together"
    );
}

#[test]
fn method_names_compare_without_case_and_unknown_ones_stay_unread() {
    let op = decode("enumeratequalifiers", vec![]).unwrap();
    assert_eq!(op, Operation::EnumerateQualifiers);
    assert_eq!(op.method_name(), "EnumerateQualifiers");
    let op = decode("getclass", vec![("ClassName", Val::Class(n("X")))]).unwrap();
    assert_eq!(op.method_name(), "GetClass");
    // The parameters of an operation openwmi does not know are not its
    // business: no "unknown parameter".
    let op = decode(
        "ModifyInstance",
        vec![("InstanceName", Val::Instance(instance()))],
    )
    .unwrap();
    assert_eq!(op, Operation::Unsupported("ModifyInstance".into()));
    assert!(op.is_intrinsic() && !op.is_open_or_pull());
}

#[test]
fn class_paths_go_where_an_object_name_does() {
    let class = ObjectPath {
        host: None,
        namespace: None,
        class: n("Win32_Share"),
        keys: Keys::Class,
    };
    let op = Operation::ReferenceNames(ReferenceNames {
        object_name: class.clone(),
        refs: RefParams::default(),
    });
    assert_eq!(
        encoded(&op),
        [("ObjectName".to_owned(), Val::Object(class))]
    );
}
