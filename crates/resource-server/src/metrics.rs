//! What the resource server counts about its issuer: key-set fetches and why they happened,
//! the keys held, calls made per request (introspection) and the cache's hits.

use authbench_contract::metrics;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
enum Outcome {
    ok,
    failed,
    active,
    inactive,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Labels {
    outcome: Outcome,
}

fn counters(family: &Family<Labels, Counter>, outcomes: [Outcome; 3]) -> [Counter; 3] {
    // One statement each: a `get_or_create` guard lives to the end of its statement.
    outcomes.map(|outcome| family.get_or_create(&Labels { outcome }).clone())
}

/// The key set's fetches and size.
#[derive(Clone, Debug, Default)]
pub struct JwksMetrics {
    fetched_ok: Counter,
    fetch_failed: Counter,
    pub unknown_kid_refetches: Counter,
    pub refetch_refused: Counter,
    pub keys: Gauge,
}

impl JwksMetrics {
    pub fn register(registry: &mut Registry) -> JwksMetrics {
        let fetches = Family::<Labels, Counter>::default();
        registry.register(
            metrics::JWKS_FETCHES,
            "JWKS fetches by outcome",
            fetches.clone(),
        );
        let [fetched_ok, fetch_failed, _] =
            counters(&fetches, [Outcome::ok, Outcome::failed, Outcome::ok]);
        let own = JwksMetrics {
            fetched_ok,
            fetch_failed,
            ..JwksMetrics::default()
        };
        registry.register(
            metrics::JWKS_UNKNOWN_KID_REFETCHES,
            "JWKS fetches made for a kid the set lacked",
            own.unknown_kid_refetches.clone(),
        );
        registry.register(
            metrics::JWKS_REFETCHES_REFUSED,
            "Unknown-kid refetches not made: the last fetch was within the refetch interval",
            own.refetch_refused.clone(),
        );
        registry.register(metrics::JWKS_KEYS, "Keys held", own.keys.clone());
        own
    }

    pub fn fetched(&self, ok: bool) {
        if ok {
            self.fetched_ok.inc();
        } else {
            self.fetch_failed.inc();
        }
    }
}

/// Calls to the issuer made per request, and the cache's hits.
#[derive(Clone, Debug, Default)]
pub struct IssuerMetrics {
    active: Counter,
    inactive: Counter,
    failed: Counter,
    pub cache_hits: Counter,
}

impl IssuerMetrics {
    pub fn register(registry: &mut Registry) -> IssuerMetrics {
        let calls = Family::<Labels, Counter>::default();
        registry.register(
            metrics::ISSUER_CALLS,
            "Introspection calls to the issuer by outcome",
            calls.clone(),
        );
        let [active, inactive, failed] = counters(
            &calls,
            [Outcome::active, Outcome::inactive, Outcome::failed],
        );
        let own = IssuerMetrics {
            active,
            inactive,
            failed,
            cache_hits: Counter::default(),
        };
        registry.register(
            metrics::INTROSPECTION_CACHE_HITS,
            "Requests the introspection cache answered",
            own.cache_hits.clone(),
        );
        own
    }

    /// `Some(active)` for an answer, `None` for a failed call.
    pub fn called(&self, answer: Option<bool>) {
        match answer {
            Some(true) => self.active.inc(),
            Some(false) => self.inactive.inc(),
            None => self.failed.inc(),
        };
    }
}
