//! Token verification counted and timed, and key rotations counted: the per-request cost JWT puts on the app server instead
//! of on a store.

use std::time::Duration;

use authbench_contract::metrics;
use authbench_core::latency::Latency;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
enum Outcome {
    valid,
    rejected,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Labels {
    outcome: Outcome,
}

/// Verification counts by outcome, and verification time (signature and claims, no store).
#[derive(Clone, Debug)]
pub struct VerifyMetrics {
    valid: Counter,
    rejected: Counter,
    seconds: Latency,
    /// Rotations that put a new signing key in place.
    pub rotations: Counter,
}

impl VerifyMetrics {
    pub fn register(registry: &mut Registry) -> VerifyMetrics {
        let counts = Family::<Labels, Counter>::default();
        // 1 µs .. ~0.5 s: an HMAC check sits near the bottom, RSA and ECDSA tens of µs.
        let seconds = Latency::doubling_from(Duration::from_micros(1));
        registry.register(
            metrics::JWT_VERIFICATIONS,
            "Access-token verifications by outcome",
            counts.clone(),
        );
        registry.register(
            metrics::JWT_VERIFY_SECONDS,
            "Time to check an access token's signature and claims",
            seconds.clone(),
        );
        // One statement each: a `get_or_create` guard lives to the end of its statement, and a
        // second lookup in the same statement would wait on it forever.
        let valid = counts
            .get_or_create(&Labels {
                outcome: Outcome::valid,
            })
            .clone();
        let rejected = counts
            .get_or_create(&Labels {
                outcome: Outcome::rejected,
            })
            .clone();
        let rotations = Counter::default();
        registry.register(
            metrics::JWT_KEY_ROTATIONS,
            "Signing-key rotations that took a new key",
            rotations.clone(),
        );
        VerifyMetrics {
            valid,
            rejected,
            seconds,
            rotations,
        }
    }

    pub fn record(&self, valid: bool, elapsed: Duration) {
        if valid {
            self.valid.inc()
        } else {
            self.rejected.inc()
        };
        self.seconds.observe(elapsed);
    }
}
