//! Count what Envoy reports in observability mode (`observability_mode: true` in its filter),
//! where it sends every phase and waits for nothing: the service sends no reply.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use envoy_types::pb::envoy::service::ext_proc::v3::processing_request::Request as Phase;
use envoy_types::pb::envoy::service::ext_proc::v3::{ProcessingRequest, ProcessingResponse};
use tracing::debug;

use crate::callout::{Callout, Reply, answer};

/// Clones share their counts, so that one clone can serve while another reads.
#[derive(Debug, Clone, Default)]
pub struct Observability {
    counts: Arc<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    requests: AtomicU64,
    phases: AtomicU64,
}

impl Observability {
    /// Requests seen (one per request-headers phase), and phases seen in all.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.counts.requests.load(Ordering::Relaxed),
            self.counts.phases.load(Ordering::Relaxed),
        )
    }
}

impl Callout for Observability {
    type State = ();

    async fn process(
        &self,
        phase: Phase,
        _message: &ProcessingRequest,
        _state: &mut (),
    ) -> ProcessingResponse {
        if matches!(phase, Phase::RequestHeaders(_)) {
            self.counts.requests.fetch_add(1, Ordering::Relaxed);
        }
        let phases = self.counts.phases.fetch_add(1, Ordering::Relaxed) + 1;
        debug!(phases, "observed a phase");
        // Used only if Envoy is not in observability mode after all.
        answer(&phase, Reply::Continue)
    }
}
