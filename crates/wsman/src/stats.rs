//! WS-Management operations' latency for `GET /metrics`, by action and
//! result (`OK` or the fault's subcode), from the request's arrival to its
//! answer: one table of relaxed atomics (`openwmi_service::latency`).

use crate::fault::{Fault, FaultKind};
use crate::plan::Plan;
use openwmi_service::latency::LatencyTable;
use std::time::Instant;

/// The operations counted apart; a request that is not understood far
/// enough to be planned is `other`.
static OPERATIONS: [&str; 11] = [
    "Identify",
    "Get",
    "Enumerate",
    "Pull",
    "Release",
    "Invoke",
    "Subscribe",
    "Unsubscribe",
    "Renew",
    "GetStatus",
    "other",
];

/// `OK`, the faults by subcode (the SOAP code for the two without one),
/// then `other`.
static RESULTS: [&str; 28] = [
    "OK",
    "VersionMismatch",
    "MustUnderstand",
    "DestinationUnreachable",
    "ActionNotSupported",
    "InvalidMessageInformationHeader",
    "MessageInformationHeaderRequired",
    "InvalidSelectors",
    "AccessDenied",
    "EncodingLimit",
    "QuotaLimit",
    "UnsupportedFeature",
    "InvalidParameter",
    "AlreadyExists",
    "SchemaValidationError",
    "TimedOut",
    "InternalError",
    "CannotProcessFilter",
    "FilteringNotSupported",
    "InvalidEnumerationContext",
    "FilterDialectRequestedUnavailable",
    "DeliveryModeRequestedUnavailable",
    "InvalidExpirationTime",
    "UnsupportedExpirationType",
    "UnableToRenew",
    "InvalidMessage",
    "EventSourceUnableToProcess",
    "other",
];

static LATENCY: LatencyTable = LatencyTable::new("wsman", &OPERATIONS, &RESULTS);

/// The index of `other` in the operations.
pub(crate) const OTHER: usize = OPERATIONS.len() - 1;

/// The operation a plan counts as.
pub(crate) fn operation(plan: &Plan) -> usize {
    let name = match plan {
        Plan::Identify => "Identify",
        Plan::Get { .. } => "Get",
        Plan::Enumerate { .. } => "Enumerate",
        Plan::Pull { .. } => "Pull",
        Plan::Release { .. } => "Release",
        Plan::Invoke { .. } => "Invoke",
        // Operations added later count as `other` until named here.
        #[allow(unreachable_patterns)]
        _ => "other",
    };
    OPERATIONS.iter().position(|o| *o == name).unwrap_or(OTHER)
}

/// The operation a WS-Eventing request counts as (its Pull and Release
/// count with enumeration's).
pub(crate) fn eventing_operation(env: &crate::envelope::Envelope) -> usize {
    let name = match env.headers.action.as_deref().unwrap_or("") {
        crate::ns::ACTION_SUBSCRIBE => "Subscribe",
        crate::ns::ACTION_UNSUBSCRIBE => "Unsubscribe",
        crate::ns::ACTION_EVENTING_RENEW => "Renew",
        crate::ns::ACTION_EVENTING_GET_STATUS => "GetStatus",
        crate::ns::ACTION_PULL => "Pull",
        crate::ns::ACTION_RELEASE => "Release",
        _ => "other",
    };
    OPERATIONS.iter().position(|o| *o == name).unwrap_or(OTHER)
}

/// Counts one answered operation.
pub(crate) fn record(operation: usize, fault: Option<&Fault>, started: Instant) {
    let result = match fault {
        None => 0,
        Some(f) => {
            let name = match f.kind {
                FaultKind::VersionMismatch => "VersionMismatch",
                FaultKind::MustUnderstand => "MustUnderstand",
                kind => kind.subcode().map_or("other", |(_, n)| n),
            };
            RESULTS
                .iter()
                .position(|r| *r == name)
                .unwrap_or(RESULTS.len() - 1)
        }
    };
    LATENCY.record(operation, result, started.elapsed());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_and_faults_are_counted_by_name() {
        record(
            operation(&Plan::Identify),
            Some(&Fault::new(FaultKind::AccessDenied, "no")),
            Instant::now(),
        );
        record(OTHER, None, Instant::now());
        let r = openwmi_service::latency::readings();
        let has = |op: &str, result: &str| {
            r.iter()
                .any(|r| r.protocol == "wsman" && r.operation == op && r.result == result)
        };
        assert!(has("Identify", "AccessDenied"), "{r:?}");
        assert!(has("other", "OK"), "{r:?}");
    }
}
