//! The CIM operations (DSP0200 2.4 clause 5.3) with their parameters, the
//! defaults DSP0200 gives the optional ones already applied.

use openwmi_cim::{Name, ObjectPath, Value};

/// The parameters common to the Open* operations.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct OpenOptions {
    /// Seconds the server keeps the enumeration open between requests;
    /// `None` lets the server choose, `Some(0)` asks for no timeout.
    pub operation_timeout: Option<u32>,
    /// Default false.
    pub continue_on_error: bool,
    /// Most objects to return in the open response. Default 0.
    pub max_object_count: u32,
}

/// A filter query given to an Open* operation (FilterQueryLanguage and
/// FilterQuery, which come together or not at all).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    pub query_language: String,
    pub query: String,
}

/// One CIM operation. `Option` fields are NULL when absent; booleans carry
/// their DSP0200 default when the request omits them. Instance names carry
/// no host or namespace (the request's namespace is in [`crate::Request`]).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Operation {
    GetClass {
        class_name: Name,
        /// Default true.
        local_only: bool,
        /// Default true.
        include_qualifiers: bool,
        /// Default false.
        include_class_origin: bool,
        property_list: Option<Vec<Name>>,
    },
    EnumerateClasses {
        class_name: Option<Name>,
        /// Default false.
        deep_inheritance: bool,
        /// Default true.
        local_only: bool,
        /// Default true.
        include_qualifiers: bool,
        /// Default false.
        include_class_origin: bool,
    },
    EnumerateClassNames {
        class_name: Option<Name>,
        /// Default false.
        deep_inheritance: bool,
    },
    GetInstance {
        instance_name: ObjectPath,
        /// Default true (deprecated by DSP0200; servers should treat it as false).
        local_only: bool,
        /// Default false.
        include_qualifiers: bool,
        /// Default false.
        include_class_origin: bool,
        property_list: Option<Vec<Name>>,
    },
    EnumerateInstances {
        class_name: Name,
        /// Default true (deprecated, as for GetInstance).
        local_only: bool,
        /// Default true.
        deep_inheritance: bool,
        /// Default false.
        include_qualifiers: bool,
        /// Default false.
        include_class_origin: bool,
        property_list: Option<Vec<Name>>,
    },
    EnumerateInstanceNames {
        class_name: Name,
    },
    ExecQuery {
        query_language: String,
        query: String,
    },
    Associators {
        /// A class path (Keys::Class) or an instance path.
        object_name: ObjectPath,
        assoc_class: Option<Name>,
        result_class: Option<Name>,
        role: Option<Name>,
        result_role: Option<Name>,
        include_qualifiers: bool,
        include_class_origin: bool,
        property_list: Option<Vec<Name>>,
    },
    AssociatorNames {
        object_name: ObjectPath,
        assoc_class: Option<Name>,
        result_class: Option<Name>,
        role: Option<Name>,
        result_role: Option<Name>,
    },
    References {
        object_name: ObjectPath,
        result_class: Option<Name>,
        role: Option<Name>,
        include_qualifiers: bool,
        include_class_origin: bool,
        property_list: Option<Vec<Name>>,
    },
    ReferenceNames {
        object_name: ObjectPath,
        result_class: Option<Name>,
        role: Option<Name>,
    },
    GetQualifier {
        qualifier_name: Name,
    },
    EnumerateQualifiers,
    OpenEnumerateInstances {
        class_name: Name,
        /// Default true.
        deep_inheritance: bool,
        /// Default false.
        include_class_origin: bool,
        property_list: Option<Vec<Name>>,
        filter: Option<Filter>,
        options: OpenOptions,
    },
    OpenEnumerateInstancePaths {
        class_name: Name,
        filter: Option<Filter>,
        options: OpenOptions,
    },
    OpenAssociatorInstances {
        instance_name: ObjectPath,
        assoc_class: Option<Name>,
        result_class: Option<Name>,
        role: Option<Name>,
        result_role: Option<Name>,
        include_class_origin: bool,
        property_list: Option<Vec<Name>>,
        filter: Option<Filter>,
        options: OpenOptions,
    },
    OpenAssociatorInstancePaths {
        instance_name: ObjectPath,
        assoc_class: Option<Name>,
        result_class: Option<Name>,
        role: Option<Name>,
        result_role: Option<Name>,
        filter: Option<Filter>,
        options: OpenOptions,
    },
    OpenReferenceInstances {
        instance_name: ObjectPath,
        result_class: Option<Name>,
        role: Option<Name>,
        include_class_origin: bool,
        property_list: Option<Vec<Name>>,
        filter: Option<Filter>,
        options: OpenOptions,
    },
    OpenReferenceInstancePaths {
        instance_name: ObjectPath,
        result_class: Option<Name>,
        role: Option<Name>,
        filter: Option<Filter>,
        options: OpenOptions,
    },
    OpenQueryInstances {
        /// FilterQueryLanguage and FilterQuery are required here.
        filter: Filter,
        /// Default false.
        return_query_result_class: bool,
        options: OpenOptions,
    },
    PullInstancesWithPath {
        enumeration_context: String,
        max_object_count: u32,
    },
    PullInstancePaths {
        enumeration_context: String,
        max_object_count: u32,
    },
    PullInstances {
        enumeration_context: String,
        max_object_count: u32,
    },
    CloseEnumeration {
        enumeration_context: String,
    },
    EnumerationCount {
        enumeration_context: String,
    },
    /// An extrinsic method call (METHODCALL) on a class or instance path
    /// (without namespace). Parameter values are typed by PARAMTYPE when the
    /// client gives it, else read as strings.
    InvokeMethod {
        target: ObjectPath,
        method: Name,
        params: Vec<(Name, Option<Value>)>,
    },
    /// An intrinsic operation openwmi does not implement (CreateInstance,
    /// ModifyInstance, DeleteInstance, SetQualifier...): its IMETHODCALL NAME.
    /// Servers answer CIM_ERR_NOT_SUPPORTED.
    Unsupported(String),
}

impl Operation {
    /// The name in IMETHODCALL / METHODCALL NAME and in the CIMMethod header.
    pub fn method_name(&self) -> &str {
        match self {
            Operation::GetClass { .. } => "GetClass",
            Operation::EnumerateClasses { .. } => "EnumerateClasses",
            Operation::EnumerateClassNames { .. } => "EnumerateClassNames",
            Operation::GetInstance { .. } => "GetInstance",
            Operation::EnumerateInstances { .. } => "EnumerateInstances",
            Operation::EnumerateInstanceNames { .. } => "EnumerateInstanceNames",
            Operation::ExecQuery { .. } => "ExecQuery",
            Operation::Associators { .. } => "Associators",
            Operation::AssociatorNames { .. } => "AssociatorNames",
            Operation::References { .. } => "References",
            Operation::ReferenceNames { .. } => "ReferenceNames",
            Operation::GetQualifier { .. } => "GetQualifier",
            Operation::EnumerateQualifiers => "EnumerateQualifiers",
            Operation::OpenEnumerateInstances { .. } => "OpenEnumerateInstances",
            Operation::OpenEnumerateInstancePaths { .. } => "OpenEnumerateInstancePaths",
            Operation::OpenAssociatorInstances { .. } => "OpenAssociatorInstances",
            Operation::OpenAssociatorInstancePaths { .. } => "OpenAssociatorInstancePaths",
            Operation::OpenReferenceInstances { .. } => "OpenReferenceInstances",
            Operation::OpenReferenceInstancePaths { .. } => "OpenReferenceInstancePaths",
            Operation::OpenQueryInstances { .. } => "OpenQueryInstances",
            Operation::PullInstancesWithPath { .. } => "PullInstancesWithPath",
            Operation::PullInstancePaths { .. } => "PullInstancePaths",
            Operation::PullInstances { .. } => "PullInstances",
            Operation::CloseEnumeration { .. } => "CloseEnumeration",
            Operation::EnumerationCount { .. } => "EnumerationCount",
            Operation::InvokeMethod { method, .. } => method.as_str(),
            Operation::Unsupported(name) => name,
        }
    }

    /// True for intrinsic operations (IMETHODCALL), false for METHODCALL.
    pub fn is_intrinsic(&self) -> bool {
        !matches!(self, Operation::InvokeMethod { .. })
    }

    /// True for the operations that answer with EndOfSequence and
    /// EnumerationContext output parameters.
    pub fn is_open_or_pull(&self) -> bool {
        matches!(
            self,
            Operation::OpenEnumerateInstances { .. }
                | Operation::OpenEnumerateInstancePaths { .. }
                | Operation::OpenAssociatorInstances { .. }
                | Operation::OpenAssociatorInstancePaths { .. }
                | Operation::OpenReferenceInstances { .. }
                | Operation::OpenReferenceInstancePaths { .. }
                | Operation::OpenQueryInstances { .. }
                | Operation::PullInstancesWithPath { .. }
                | Operation::PullInstancePaths { .. }
                | Operation::PullInstances { .. }
        )
    }
}
