//! Count what Envoy reports in observability mode (`observability_mode: true` in its filter),
//! where it sends every phase and waits for nothing: the service sends no reply.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use envoy_types::pb::envoy::service::ext_proc::v3::ProcessingRequest;
use envoy_types::pb::envoy::service::ext_proc::v3::processing_request::Request as Phase;
use tracing::debug;

use crate::ext_proc::{Callout, Context};

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

    fn observe(&self, message: &ProcessingRequest, _cx: &mut Context<()>) {
        if matches!(message.request, Some(Phase::RequestHeaders(_))) {
            self.counts.requests.fetch_add(1, Ordering::Relaxed);
        }
        let phases = self.counts.phases.fetch_add(1, Ordering::Relaxed) + 1;
        debug!(phases, "observed a phase");
    }
}
