//! Sample operations, instances and classes shared by the integration tests.
#![allow(dead_code)]

use openwmi_cim::{
    ArrayKind, CimDateTime, CimType, Class, Flavor, Instance, InstanceProperty, KeyBinding, Keys,
    MethodDecl, Name, ObjectPath, ParameterDecl, PropertyDecl, Qualifier, QualifierDecl, Scope,
    TypeDecl, Value,
};
use openwmi_cimxml::*;

pub fn n(s: &str) -> Name {
    Name::new(s)
}

pub fn share_path() -> ObjectPath {
    ObjectPath {
        host: None,
        namespace: None,
        class: n("Win32_Share"),
        keys: Keys::Bindings(vec![KeyBinding {
            name: n("Name"),
            value: Value::String("pub & <lic> \"x\"".into()),
        }]),
    }
}

pub fn connection_path() -> ObjectPath {
    ObjectPath {
        host: None,
        namespace: None,
        class: n("Win32_ServerConnection"),
        keys: Keys::Bindings(vec![
            KeyBinding {
                name: n("ComputerName"),
                value: Value::String("10.0.0.7".into()),
            },
            KeyBinding {
                name: n("Id"),
                value: Value::UInt32(42),
            },
            KeyBinding {
                name: n("Flag"),
                value: Value::Boolean(false),
            },
            KeyBinding {
                name: n("Share"),
                value: Value::Reference(Box::new(share_path())),
            },
        ]),
    }
}

pub fn class_path(c: &str) -> ObjectPath {
    ObjectPath {
        host: None,
        namespace: None,
        class: n(c),
        keys: Keys::Class,
    }
}

fn opts(max: u32) -> OpenOptions {
    OpenOptions {
        operation_timeout: Some(40),
        continue_on_error: false,
        max_object_count: max,
    }
}

/// Every operation, with parameters set and defaulted.
pub fn all_operations() -> Vec<Operation> {
    let props = Some(vec![n("Name"), n("Path")]);
    let filter = Some(Filter {
        query_language: "DMTF:FQL".into(),
        query: "Name = \"a&b\"".into(),
    });
    vec![
        Operation::GetClass(GetClass {
            class_name: n("Win32_Share"),
            flags: ClassFlags {
                local_only: false,
                include_qualifiers: true,
                include_class_origin: true,
            },
            property_list: props.clone(),
        }),
        Operation::EnumerateClasses(EnumerateClasses {
            class_name: None,
            deep_inheritance: true,
            flags: ClassFlags {
                local_only: true,
                include_qualifiers: false,
                include_class_origin: false,
            },
        }),
        Operation::EnumerateClassNames(EnumerateClassNames {
            class_name: Some(n("CIM_Share")),
            deep_inheritance: false,
        }),
        Operation::GetInstance(GetInstance {
            instance_name: connection_path(),
            local_only: false,
            include_qualifiers: false,
            options: InstanceOptions {
                include_class_origin: false,
                property_list: Some(vec![]),
            },
        }),
        Operation::EnumerateInstances(EnumerateInstances {
            class_name: n("Win32_Share"),
            local_only: true,
            deep_inheritance: true,
            include_qualifiers: false,
            options: InstanceOptions::default(),
        }),
        Operation::EnumerateInstanceNames(EnumerateInstanceNames {
            class_name: n("Win32_Share"),
        }),
        Operation::ExecQuery(ExecQuery {
            query_language: "WQL".into(),
            query: "SELECT * FROM Win32_Share WHERE Name <> 'x'\r\n".into(),
        }),
        Operation::Associators(Associators {
            object_name: share_path(),
            assoc: AssocParams {
                assoc_class: Some(n("Win32_ConnectionShare")),
                result_class: None,
                role: Some(n("Antecedent")),
                result_role: None,
            },
            include_qualifiers: false,
            options: InstanceOptions {
                include_class_origin: true,
                property_list: props.clone(),
            },
        }),
        Operation::AssociatorNames(AssociatorNames {
            object_name: class_path("Win32_Share"),
            assoc: AssocParams {
                assoc_class: None,
                result_class: Some(n("Win32_ServerConnection")),
                role: None,
                result_role: Some(n("Dependent")),
            },
        }),
        Operation::References(References {
            object_name: connection_path(),
            refs: RefParams::default(),
            include_qualifiers: true,
            options: InstanceOptions::default(),
        }),
        Operation::ReferenceNames(ReferenceNames {
            object_name: share_path(),
            refs: RefParams {
                result_class: Some(n("Win32_ConnectionShare")),
                role: Some(n("Antecedent")),
            },
        }),
        Operation::GetQualifier(GetQualifier {
            qualifier_name: n("Key"),
        }),
        Operation::EnumerateQualifiers,
        Operation::OpenEnumerateInstances(OpenEnumerateInstances {
            class_name: n("Win32_Share"),
            deep_inheritance: false,
            options: InstanceOptions {
                include_class_origin: true,
                property_list: props.clone(),
            },
            filter: filter.clone(),
            open: opts(10),
        }),
        Operation::OpenEnumerateInstancePaths(OpenEnumerateInstancePaths {
            class_name: n("Win32_Share"),
            filter: None,
            open: OpenOptions::default(),
        }),
        Operation::OpenAssociatorInstances(OpenAssociatorInstances {
            instance_name: share_path(),
            assoc: AssocParams {
                assoc_class: Some(n("Win32_ConnectionShare")),
                result_class: Some(n("Win32_ServerConnection")),
                role: Some(n("Dependent")),
                result_role: Some(n("Antecedent")),
            },
            options: InstanceOptions::default(),
            filter: None,
            open: opts(0),
        }),
        Operation::OpenAssociatorInstancePaths(OpenAssociatorInstancePaths {
            instance_name: connection_path(),
            assoc: AssocParams::default(),
            filter: filter.clone(),
            open: opts(1000),
        }),
        Operation::OpenReferenceInstances(OpenReferenceInstances {
            instance_name: share_path(),
            refs: RefParams {
                result_class: None,
                role: Some(n("Dependent")),
            },
            options: InstanceOptions {
                include_class_origin: true,
                property_list: props,
            },
            filter: None,
            open: OpenOptions {
                operation_timeout: None,
                continue_on_error: true,
                max_object_count: 5,
            },
        }),
        Operation::OpenReferenceInstancePaths(OpenReferenceInstancePaths {
            instance_name: share_path(),
            refs: RefParams {
                result_class: Some(n("Win32_ConnectionShare")),
                role: None,
            },
            filter,
            open: opts(3),
        }),
        Operation::OpenQueryInstances(OpenQueryInstances {
            filter: Filter {
                query_language: "WQL".into(),
                query: "SELECT * FROM Win32_Share".into(),
            },
            return_query_result_class: false,
            open: opts(100),
        }),
        Operation::PullInstancesWithPath(Pull {
            enumeration_context: "ctx<1>".into(),
            max_object_count: 100,
        }),
        Operation::PullInstancePaths(Pull {
            enumeration_context: "ctx2".into(),
            max_object_count: 0,
        }),
        Operation::PullInstances(Pull {
            enumeration_context: "ctx3".into(),
            max_object_count: u32::MAX,
        }),
        Operation::CloseEnumeration(EnumContext {
            enumeration_context: "ctx4".into(),
        }),
        Operation::EnumerationCount(EnumContext {
            enumeration_context: "ctx5".into(),
        }),
        Operation::InvokeMethod {
            target: class_path("Win32_Share"),
            method: n("Create"),
            params: vec![
                (n("Path"), Some(Value::String("/srv/x".into()))),
                (n("Type"), Some(Value::UInt32(0))),
                (n("Access"), None),
                (n("Names"), Some(Value::Array(vec!["a".into(), "b".into()]))),
                (n("Ref"), Some(Value::Reference(Box::new(share_path())))),
            ],
        },
        Operation::InvokeMethod {
            target: share_path(),
            method: n("Delete"),
            params: vec![],
        },
        Operation::Unsupported("ModifyInstance".into()),
    ]
}

pub fn dt(s: &str) -> CimDateTime {
    s.parse().unwrap()
}

fn prop(name: &str, ty: TypeDecl, value: Option<Value>) -> InstanceProperty {
    InstanceProperty {
        name: n(name),
        ty,
        value,
    }
}

/// An instance with a property of every type, arrays, NULLs and hostile text.
pub fn rich_instance() -> Instance {
    Instance {
        class_name: n("Win32_Share"),
        properties: vec![
            prop(
                "Name",
                TypeDecl::scalar(CimType::String),
                Some("pub & <lic> \"x\"\n\ttab".into()),
            ),
            prop(
                "Flag",
                TypeDecl::scalar(CimType::Boolean),
                Some(Value::Boolean(true)),
            ),
            prop(
                "C",
                TypeDecl::scalar(CimType::Char16),
                Some(Value::Char16('é')),
            ),
            prop(
                "U8",
                TypeDecl::scalar(CimType::UInt8),
                Some(Value::UInt8(255)),
            ),
            prop(
                "S8",
                TypeDecl::scalar(CimType::SInt8),
                Some(Value::SInt8(-128)),
            ),
            prop(
                "U16",
                TypeDecl::scalar(CimType::UInt16),
                Some(Value::UInt16(65535)),
            ),
            prop(
                "S16",
                TypeDecl::scalar(CimType::SInt16),
                Some(Value::SInt16(-2)),
            ),
            prop(
                "U32",
                TypeDecl::scalar(CimType::UInt32),
                Some(Value::UInt32(4_000_000_000)),
            ),
            prop(
                "S32",
                TypeDecl::scalar(CimType::SInt32),
                Some(Value::SInt32(i32::MIN)),
            ),
            prop(
                "U64",
                TypeDecl::scalar(CimType::UInt64),
                Some(Value::UInt64(u64::MAX)),
            ),
            prop(
                "S64",
                TypeDecl::scalar(CimType::SInt64),
                Some(Value::SInt64(i64::MIN)),
            ),
            prop(
                "R32",
                TypeDecl::scalar(CimType::Real32),
                Some(Value::Real32(1.5e-7)),
            ),
            prop(
                "R64",
                TypeDecl::scalar(CimType::Real64),
                Some(Value::Real64(-2.25e300)),
            ),
            prop(
                "When",
                TypeDecl::scalar(CimType::DateTime),
                Some(Value::DateTime(dt("20240229235959.123456+060"))),
            ),
            prop(
                "Took",
                TypeDecl::scalar(CimType::DateTime),
                Some(Value::DateTime(dt("00000001020304.000005:000"))),
            ),
            prop("Missing", TypeDecl::scalar(CimType::String), None),
            prop(
                "Tags",
                TypeDecl::array(CimType::String),
                Some(Value::Array(vec!["a".into(), "".into(), "c<d".into()])),
            ),
            prop(
                "Nums",
                TypeDecl {
                    base: CimType::UInt16,
                    array: ArrayKind::Fixed(3),
                    ref_class: None,
                },
                Some(Value::Array(vec![
                    Value::UInt16(1),
                    Value::UInt16(2),
                    Value::UInt16(3),
                ])),
            ),
            prop(
                "Empty",
                TypeDecl::array(CimType::SInt32),
                Some(Value::Array(vec![])),
            ),
            prop("NullArray", TypeDecl::array(CimType::Boolean), None),
            prop(
                "Antecedent",
                TypeDecl::reference("Win32_Share"),
                Some(Value::Reference(Box::new(
                    share_path().with_namespace("root/cimv2"),
                ))),
            ),
            prop(
                "Dependent",
                TypeDecl::reference("Win32_ServerConnection"),
                Some(Value::Reference(Box::new(connection_path()))),
            ),
            prop("NullRef", TypeDecl::reference("Win32_Share"), None),
        ],
    }
}

pub fn full_path(p: ObjectPath) -> ObjectPath {
    p.with_host("server1.example").with_namespace("root/cimv2")
}

fn q(name: &str, v: Option<Value>) -> Qualifier {
    Qualifier::new(name, v)
}

pub fn rich_class() -> Class {
    let mut key = q("Key", Some(Value::Boolean(true)));
    key.flavor = Flavor {
        overridable: false,
        to_subclass: true,
        translatable: false,
    };
    let mut desc = q("Description", Some("A share & more".into()));
    desc.flavor.translatable = true;
    desc.propagated = true;
    Class {
        name: n("Win32_Share"),
        superclass: Some(n("CIM_LogicalElement")),
        qualifiers: vec![
            q("Dynamic", Some(Value::Boolean(true))),
            desc.clone(),
            q("ValueMap", Some(Value::Array(vec!["0".into(), "1".into()]))),
        ],
        properties: vec![
            PropertyDecl {
                name: n("Name"),
                ty: TypeDecl::scalar(CimType::String),
                default: None,
                qualifiers: vec![key],
                class_origin: n("Win32_Share"),
                propagated: false,
            },
            PropertyDecl {
                name: n("Caption"),
                ty: TypeDecl::scalar(CimType::String),
                default: Some("dflt".into()),
                qualifiers: vec![desc],
                class_origin: n("CIM_ManagedElement"),
                propagated: true,
            },
            PropertyDecl {
                name: n("Sizes"),
                ty: TypeDecl::array(CimType::UInt64),
                default: Some(Value::Array(vec![Value::UInt64(1)])),
                qualifiers: vec![],
                class_origin: n("Win32_Share"),
                propagated: false,
            },
            PropertyDecl {
                name: n("Owner"),
                ty: TypeDecl::reference("CIM_Account"),
                default: None,
                qualifiers: vec![],
                class_origin: n("Win32_Share"),
                propagated: false,
            },
        ],
        methods: vec![MethodDecl {
            name: n("Create"),
            return_type: CimType::UInt32,
            parameters: vec![
                ParameterDecl {
                    name: n("Path"),
                    ty: TypeDecl::scalar(CimType::String),
                    qualifiers: vec![q("In", Some(Value::Boolean(true)))],
                },
                ParameterDecl {
                    name: n("Names"),
                    ty: TypeDecl::array(CimType::String),
                    qualifiers: vec![],
                },
                ParameterDecl {
                    name: n("Target"),
                    ty: TypeDecl::reference("CIM_Share"),
                    qualifiers: vec![],
                },
                ParameterDecl {
                    name: n("Targets"),
                    ty: TypeDecl {
                        base: CimType::Reference,
                        array: ArrayKind::Variable,
                        ref_class: Some(n("CIM_Share")),
                    },
                    qualifiers: vec![],
                },
            ],
            qualifiers: vec![q("Static", Some(Value::Boolean(true)))],
            class_origin: n("Win32_Share"),
            propagated: false,
        }],
    }
}

pub fn qualifier_decls() -> Vec<QualifierDecl> {
    vec![
        QualifierDecl {
            name: n("Key"),
            ty: CimType::Boolean,
            array: ArrayKind::Scalar,
            default: Some(Value::Boolean(false)),
            scope: Scope::PROPERTY.union(Scope::REFERENCE),
            flavor: Flavor {
                overridable: false,
                to_subclass: true,
                translatable: false,
            },
        },
        QualifierDecl {
            name: n("ValueMap"),
            ty: CimType::String,
            array: ArrayKind::Variable,
            default: None,
            scope: Scope::PROPERTY.union(Scope::METHOD).union(Scope::PARAMETER),
            flavor: Flavor::default(),
        },
        QualifierDecl {
            name: n("Description"),
            ty: CimType::String,
            array: ArrayKind::Scalar,
            default: None,
            scope: Scope(0xff & !Scope::QUALIFIER.0),
            flavor: Flavor {
                overridable: true,
                to_subclass: true,
                translatable: true,
            },
        },
    ]
}
