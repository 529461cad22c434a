//! The list of operations: each intrinsic operation of DSP0200 that openwmi
//! decodes, by its method name, with the parameters `params.rs` describes.

use crate::params::*;
use openwmi_cim::{CimError, Name, ObjectPath, Value};

operations! {
    with parameters {
        GetClass(GetClass),
        EnumerateClasses(EnumerateClasses),
        EnumerateClassNames(EnumerateClassNames),
        GetInstance(GetInstance),
        EnumerateInstances(EnumerateInstances),
        EnumerateInstanceNames(EnumerateInstanceNames),
        ExecQuery(ExecQuery),
        Associators(Associators),
        AssociatorNames(AssociatorNames),
        References(References),
        ReferenceNames(ReferenceNames),
        GetQualifier(GetQualifier),
        OpenEnumerateInstances(OpenEnumerateInstances),
        OpenEnumerateInstancePaths(OpenEnumerateInstancePaths),
        OpenAssociatorInstances(OpenAssociatorInstances),
        OpenAssociatorInstancePaths(OpenAssociatorInstancePaths),
        OpenReferenceInstances(OpenReferenceInstances),
        OpenReferenceInstancePaths(OpenReferenceInstancePaths),
        OpenQueryInstances(OpenQueryInstances),
        PullInstancesWithPath(Pull),
        PullInstancePaths(Pull),
        PullInstances(Pull),
        CloseEnumeration(EnumContext),
        EnumerationCount(EnumContext),
        CreateInstance(CreateInstance),
        DeleteInstance(DeleteInstance),
    }
    without parameters {
        EnumerateQualifiers,
    }
}

impl Operation {
    /// True for intrinsic operations, false for extrinsic method calls.
    pub fn is_intrinsic(&self) -> bool {
        !matches!(self, Operation::InvokeMethod { .. })
    }

    /// True for the operations that answer with EndOfSequence and
    /// EnumerationContext output parameters.
    pub fn is_open_or_pull(&self) -> bool {
        matches!(
            self,
            Operation::OpenEnumerateInstances(_)
                | Operation::OpenEnumerateInstancePaths(_)
                | Operation::OpenAssociatorInstances(_)
                | Operation::OpenAssociatorInstancePaths(_)
                | Operation::OpenReferenceInstances(_)
                | Operation::OpenReferenceInstancePaths(_)
                | Operation::OpenQueryInstances(_)
                | Operation::PullInstancesWithPath(_)
                | Operation::PullInstancePaths(_)
                | Operation::PullInstances(_)
        )
    }
}
