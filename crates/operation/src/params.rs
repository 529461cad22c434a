//! The parameters of every intrinsic operation, each list written once (see
//! `describe.rs` for the notation). Fields stand in the order they go on the
//! wire, which is also the order they are checked in. An `object_name`
//! parameter is a class path (`Keys::Class`) or an instance path, an
//! `instance_name` one an instance path only.

use crate::NewInstance;
use crate::{ParamSink, ParamSource, Parameters};
use openwmi_cim::{CimError, Name, ObjectPath};

parameters! {
    /// IncludeClassOrigin and PropertyList: what every operation that
    /// returns instances takes, the Open* ones included.
    #[derive(Default)]
    pub struct InstanceOptions {
        /// Default false.
        include_class_origin: bool = boolean "IncludeClassOrigin" default false,
        /// `None` (NULL): every property.
        property_list: Option<Vec<Name>> = property_list "PropertyList" optional,
    }

    /// The filters of Associators, AssociatorNames and their Open* forms.
    #[derive(Default)]
    pub struct AssocParams {
        assoc_class: Option<Name> = class_name "AssocClass" optional,
        result_class: Option<Name> = class_name "ResultClass" optional,
        role: Option<Name> = name "Role" optional,
        result_role: Option<Name> = name "ResultRole" optional,
    }

    /// The filters of References, ReferenceNames and their Open* forms.
    #[derive(Default)]
    pub struct RefParams {
        /// The association class.
        result_class: Option<Name> = class_name "ResultClass" optional,
        role: Option<Name> = name "Role" optional,
    }

    /// The parameters common to the Open* operations, after the filter.
    #[derive(Default)]
    pub struct OpenOptions {
        /// Seconds the server keeps the enumeration open between requests;
        /// `None` lets the server choose, `Some(0)` asks for no timeout.
        operation_timeout: Option<u32> = uint32 "OperationTimeout" optional,
        /// Default false.
        continue_on_error: bool = boolean "ContinueOnError" default false,
        /// Most objects to return in the open response. Default 0.
        max_object_count: u32 = uint32 "MaxObjectCount" default 0,
    }

    /// LocalOnly, IncludeQualifiers and IncludeClassOrigin: what
    /// GetClass and EnumerateClasses take of a class. `Default` gives
    /// DSP0200's defaults.
    pub struct ClassFlags {
        /// Default true.
        local_only: bool = boolean "LocalOnly" default true,
        /// Default true.
        include_qualifiers: bool = boolean "IncludeQualifiers" default true,
        /// Default false.
        include_class_origin: bool = boolean "IncludeClassOrigin" default false,
    }

    pub struct GetClass {
        class_name: Name = class_name "ClassName" required,
        flags: ClassFlags,
        property_list: Option<Vec<Name>> = property_list "PropertyList" optional,
    }

    pub struct EnumerateClasses {
        class_name: Option<Name> = class_name "ClassName" optional,
        /// Default false.
        deep_inheritance: bool = boolean "DeepInheritance" default false,
        flags: ClassFlags,
    }

    pub struct EnumerateClassNames {
        class_name: Option<Name> = class_name "ClassName" optional,
        /// Default false.
        deep_inheritance: bool = boolean "DeepInheritance" default false,
    }

    pub struct GetInstance {
        instance_name: ObjectPath = instance_name "InstanceName" required,
        /// Default true (deprecated by DSP0200; servers should treat it as
        /// false).
        local_only: bool = boolean "LocalOnly" default true,
        /// Default false (deprecated by DSP0200).
        include_qualifiers: bool = boolean "IncludeQualifiers" default false,
        options: InstanceOptions,
    }

    pub struct EnumerateInstances {
        class_name: Name = class_name "ClassName" required,
        /// Default true (deprecated, as for GetInstance).
        local_only: bool = boolean "LocalOnly" default true,
        /// Default true.
        deep_inheritance: bool = boolean "DeepInheritance" default true,
        /// Default false (deprecated by DSP0200).
        include_qualifiers: bool = boolean "IncludeQualifiers" default false,
        options: InstanceOptions,
    }

    pub struct EnumerateInstanceNames {
        class_name: Name = class_name "ClassName" required,
    }

    pub struct ExecQuery {
        query_language: String = string "QueryLanguage" required,
        query: String = string "Query" required,
    }

    pub struct Associators {
        object_name: ObjectPath = object_name "ObjectName" required,
        assoc: AssocParams,
        /// Default false (deprecated by DSP0200).
        include_qualifiers: bool = boolean "IncludeQualifiers" default false,
        options: InstanceOptions,
    }

    pub struct AssociatorNames {
        object_name: ObjectPath = object_name "ObjectName" required,
        assoc: AssocParams,
    }

    pub struct References {
        object_name: ObjectPath = object_name "ObjectName" required,
        refs: RefParams,
        /// Default false (deprecated by DSP0200).
        include_qualifiers: bool = boolean "IncludeQualifiers" default false,
        options: InstanceOptions,
    }

    pub struct ReferenceNames {
        object_name: ObjectPath = object_name "ObjectName" required,
        refs: RefParams,
    }

    pub struct GetQualifier {
        qualifier_name: Name = name "QualifierName" required,
    }

    /// EnumerateInstances without LocalOnly and IncludeQualifiers.
    pub struct OpenEnumerateInstances {
        class_name: Name = class_name "ClassName" required,
        /// Default true.
        deep_inheritance: bool = boolean "DeepInheritance" default true,
        options: InstanceOptions,
        filter: Option<Filter>,
        open: OpenOptions,
    }

    /// EnumerateInstanceNames.
    pub struct OpenEnumerateInstancePaths {
        class_name: Name = class_name "ClassName" required,
        filter: Option<Filter>,
        open: OpenOptions,
    }

    /// Associators of an instance, without IncludeQualifiers.
    pub struct OpenAssociatorInstances {
        instance_name: ObjectPath = instance_name "InstanceName" required,
        assoc: AssocParams,
        options: InstanceOptions,
        filter: Option<Filter>,
        open: OpenOptions,
    }

    /// AssociatorNames of an instance.
    pub struct OpenAssociatorInstancePaths {
        instance_name: ObjectPath = instance_name "InstanceName" required,
        assoc: AssocParams,
        filter: Option<Filter>,
        open: OpenOptions,
    }

    /// References of an instance, without IncludeQualifiers.
    pub struct OpenReferenceInstances {
        instance_name: ObjectPath = instance_name "InstanceName" required,
        refs: RefParams,
        options: InstanceOptions,
        filter: Option<Filter>,
        open: OpenOptions,
    }

    /// ReferenceNames of an instance.
    pub struct OpenReferenceInstancePaths {
        instance_name: ObjectPath = instance_name "InstanceName" required,
        refs: RefParams,
        filter: Option<Filter>,
        open: OpenOptions,
    }

    /// ExecQuery, the query given as the filter.
    pub struct OpenQueryInstances {
        /// FilterQueryLanguage and FilterQuery are required here.
        filter: Filter,
        /// Default false.
        return_query_result_class: bool = boolean "ReturnQueryResultClass" default false,
        open: OpenOptions,
    }

    /// PullInstancesWithPath, PullInstancePaths and PullInstances.
    pub struct Pull {
        enumeration_context: String = string "EnumerationContext" required,
        max_object_count: u32 = uint32 "MaxObjectCount" required,
    }

    /// CreateInstance: the instance to make; its class says where.
    pub struct CreateInstance {
        new_instance: NewInstance = instance "NewInstance" required,
    }

    /// DeleteInstance.
    pub struct DeleteInstance {
        instance_name: ObjectPath = instance_name "InstanceName" required,
    }

    /// CloseEnumeration and EnumerationCount.
    pub struct EnumContext {
        enumeration_context: String = string "EnumerationContext" required,
    }
}

impl Default for ClassFlags {
    fn default() -> Self {
        ClassFlags {
            local_only: true,
            include_qualifiers: true,
            include_class_origin: false,
        }
    }
}

/// A filter query given to an Open* operation (FilterQueryLanguage and
/// FilterQuery, which come together or not at all).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    pub query_language: String,
    pub query: String,
}

const FILTER_LANGUAGE: &str = "FilterQueryLanguage";
const FILTER_QUERY: &str = "FilterQuery";

impl Filter {
    fn write<S: ParamSink + ?Sized>(&self, sink: &mut S) {
        sink.string(FILTER_LANGUAGE, &self.query_language);
        sink.string(FILTER_QUERY, &self.query);
    }
}

/// The optional filter of the Open* operations but OpenQueryInstances.
impl Parameters for Option<Filter> {
    fn decode<S: ParamSource + ?Sized>(src: &mut S) -> Result<Self, CimError> {
        let language = src.string(FILTER_LANGUAGE)?;
        let query = src.string(FILTER_QUERY)?;
        match (language, query) {
            (None, None) => Ok(None),
            (Some(query_language), Some(query)) => Ok(Some(Filter {
                query_language,
                query,
            })),
            _ => Err(CimError::invalid_parameter(
                "FilterQueryLanguage and FilterQuery must be given together",
            )),
        }
    }

    fn encode<S: ParamSink + ?Sized>(&self, sink: &mut S) {
        if let Some(f) = self {
            f.write(sink);
        }
    }
}

/// The required query of OpenQueryInstances.
impl Parameters for Filter {
    fn decode<S: ParamSource + ?Sized>(src: &mut S) -> Result<Self, CimError> {
        Option::<Filter>::decode(src)?.ok_or_else(|| {
            CimError::invalid_parameter("missing parameters FilterQueryLanguage and FilterQuery")
        })
    }

    fn encode<S: ParamSink + ?Sized>(&self, sink: &mut S) {
        self.write(sink);
    }
}
