//! CIM-XML operations answered, by intrinsic method and result, for
//! `GET /metrics`. Process wide, relaxed atomics in a fixed table: an
//! operation pays one increment. Extrinsic and unknown methods count as
//! `other` (method names come from clients: their number must not grow
//! the table). A stream that fails after its first chunk counts as the
//! success it had started as.

use openwmi_cim::CimStatus;
use std::sync::atomic::{AtomicU64, Ordering};

/// The intrinsic methods counted apart; everything else is `other`.
pub const OPERATIONS: [&str; 36] = [
    "GetClass",
    "GetInstance",
    "DeleteClass",
    "DeleteInstance",
    "CreateClass",
    "CreateInstance",
    "ModifyClass",
    "ModifyInstance",
    "EnumerateClasses",
    "EnumerateClassNames",
    "EnumerateInstances",
    "EnumerateInstanceNames",
    "ExecQuery",
    "Associators",
    "AssociatorNames",
    "References",
    "ReferenceNames",
    "GetProperty",
    "SetProperty",
    "GetQualifier",
    "SetQualifier",
    "DeleteQualifier",
    "EnumerateQualifiers",
    "OpenEnumerateInstances",
    "OpenEnumerateInstancePaths",
    "OpenAssociatorInstances",
    "OpenAssociatorInstancePaths",
    "OpenReferenceInstances",
    "OpenReferenceInstancePaths",
    "OpenQueryInstances",
    "PullInstancesWithPath",
    "PullInstancePaths",
    "PullInstances",
    "CloseEnumeration",
    "EnumerationCount",
    "other",
];

/// Results: 0 success, then the CIM status codes up to 31.
const RESULTS: usize = 32;

static COUNTS: [[AtomicU64; RESULTS]; OPERATIONS.len()] =
    [const { [const { AtomicU64::new(0) }; RESULTS] }; OPERATIONS.len()];

/// The latency's result labels: `OK`, then the CIM status names by code
/// (codes no status has are never recorded), then `other`.
static LATENCY_RESULTS: [&str; 30] = [
    "OK",
    "CIM_ERR_FAILED",
    "CIM_ERR_ACCESS_DENIED",
    "CIM_ERR_INVALID_NAMESPACE",
    "CIM_ERR_INVALID_PARAMETER",
    "CIM_ERR_INVALID_CLASS",
    "CIM_ERR_NOT_FOUND",
    "CIM_ERR_NOT_SUPPORTED",
    "CIM_ERR_CLASS_HAS_CHILDREN",
    "CIM_ERR_CLASS_HAS_INSTANCES",
    "CIM_ERR_INVALID_SUPERCLASS",
    "CIM_ERR_ALREADY_EXISTS",
    "CIM_ERR_NO_SUCH_PROPERTY",
    "CIM_ERR_TYPE_MISMATCH",
    "CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED",
    "CIM_ERR_INVALID_QUERY",
    "CIM_ERR_METHOD_NOT_AVAILABLE",
    "CIM_ERR_METHOD_NOT_FOUND",
    "unused 18",
    "unused 19",
    "CIM_ERR_NAMESPACE_NOT_EMPTY",
    "CIM_ERR_INVALID_ENUMERATION_CONTEXT",
    "CIM_ERR_INVALID_OPERATION_TIMEOUT",
    "CIM_ERR_PULL_HAS_BEEN_ABANDONED",
    "CIM_ERR_PULL_CANNOT_BE_ABANDONED",
    "CIM_ERR_FILTERED_ENUMERATION_NOT_SUPPORTED",
    "CIM_ERR_CONTINUATION_ON_ERROR_NOT_SUPPORTED",
    "CIM_ERR_SERVER_LIMITS_EXCEEDED",
    "CIM_ERR_SERVER_IS_SHUTTING_DOWN",
    "other",
];

/// CIM-XML operations' latency from the request's arrival to its answer
/// (or the first chunk of a streamed one), by the labels above.
static LATENCY: openwmi_service::latency::LatencyTable =
    openwmi_service::latency::LatencyTable::new("cimxml", &OPERATIONS, &LATENCY_RESULTS);

/// Counts one operation: `Ok` or its CIM error, and the time it took.
pub(crate) fn record(method: &str, failure: Option<CimStatus>, took: std::time::Duration) {
    let op = OPERATIONS[..OPERATIONS.len() - 1]
        .iter()
        .position(|o| o.eq_ignore_ascii_case(method))
        .unwrap_or(OPERATIONS.len() - 1);
    let result = failure.map_or(0, |s| (s.code() as usize).min(RESULTS - 1));
    COUNTS[op][result].fetch_add(1, Ordering::Relaxed);
    let named = match failure {
        None => 0,
        Some(s) => match s.name() {
            name if LATENCY_RESULTS.get(s.code() as usize) == Some(&name) => s.code() as usize,
            _ => LATENCY_RESULTS.len() - 1,
        },
    };
    LATENCY.record(op, named, took);
}

/// One counted (operation, result) pair: `result` is `OK` or the
/// `CIM_ERR_*` name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationCount {
    pub operation: &'static str,
    pub result: &'static str,
    pub count: u64,
}

/// Every pair counted at least once.
pub fn operation_counts() -> Vec<OperationCount> {
    let mut out = Vec::new();
    for (op, row) in COUNTS.iter().enumerate() {
        for (result, n) in row.iter().enumerate() {
            let count = n.load(Ordering::Relaxed);
            if count == 0 {
                continue;
            }
            let result = match result {
                0 => "OK",
                code => CimStatus::from_code(code as u32).map_or("other", |s| s.name()),
            };
            out.push(OperationCount {
                operation: OPERATIONS[op],
                result,
                count,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_and_results_are_counted_in_a_fixed_table() {
        let before = |op: &str, result: &str| {
            operation_counts()
                .iter()
                .find(|c| c.operation == op && c.result == result)
                .map_or(0, |c| c.count)
        };
        let (gi, other) = (
            before("GetInstance", "CIM_ERR_NOT_FOUND"),
            before("other", "OK"),
        );
        record("getinstance", Some(CimStatus::NotFound), Default::default());
        record("SomeExtrinsicMethod", None, Default::default());
        assert_eq!(before("GetInstance", "CIM_ERR_NOT_FOUND"), gi + 1);
        assert_eq!(before("other", "OK"), other + 1);
        let latency = openwmi_service::latency::readings();
        assert!(latency.iter().any(|r| r.protocol == "cimxml"
            && r.operation == "GetInstance"
            && r.result == "CIM_ERR_NOT_FOUND"));
        for (code, name) in LATENCY_RESULTS.iter().enumerate().skip(1) {
            if let Some(s) = CimStatus::from_code(code as u32) {
                assert_eq!(s.name(), *name);
            }
        }
    }
}
