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

/// Counts one operation: `Ok` or its CIM error.
pub(crate) fn record(method: &str, failure: Option<CimStatus>) {
    let op = OPERATIONS[..OPERATIONS.len() - 1]
        .iter()
        .position(|o| o.eq_ignore_ascii_case(method))
        .unwrap_or(OPERATIONS.len() - 1);
    let result = failure.map_or(0, |s| (s.code() as usize).min(RESULTS - 1));
    COUNTS[op][result].fetch_add(1, Ordering::Relaxed);
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
        record("getinstance", Some(CimStatus::NotFound));
        record("SomeExtrinsicMethod", None);
        assert_eq!(before("GetInstance", "CIM_ERR_NOT_FOUND"), gi + 1);
        assert_eq!(before("other", "OK"), other + 1);
    }
}
