//! A server's own counts from its `/metrics`: requests by route and status, and every store
//! operation with its outcome and time — the session store's load as the server sees it.

use std::collections::BTreeMap;
use std::time::Duration;

use authbench_contract::error::Cause;
use authbench_contract::{metrics as names, routes};
use serde::Serialize;

use super::prometheus::{self, Sample};
use super::window::{Probe, Summable};
use super::{CONNECT_TIMEOUT, Error, counter_delta, redact};
use crate::scenario::RequestCounter;

/// A scrape is a few kilobytes from a local server; longer means the server is in trouble, and
/// a probe must not hold up the step.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(2);
/// Scrapes of `/metrics` (the probe's own) are not workload.
const METRICS_ROUTE: &str = routes::METRICS;
/// Routes other servers call (a resource server beside an issuer), not the load generator.
const SERVICE_ROUTES: [&str; 2] = [routes::INTROSPECT, routes::JWKS];

/// Scrapes one server's `/metrics`.
#[derive(Debug, Clone)]
pub struct MetricsProbe {
    client: reqwest::Client,
    url: reqwest::Url,
    /// The URL with its password redacted, for messages.
    shown: String,
    /// The counter of the server's requests (authbench's own, or a mapped service's).
    counter: RequestCounter,
}

impl MetricsProbe {
    /// `url` is the server's base URL (`http://127.0.0.1:8080`), or its metrics URL in full
    /// (any path: `/metrics`, `/internal/prometheus`); `counter` counts its requests.
    pub fn new(url: &str, counter: &RequestCounter) -> Result<MetricsProbe, Error> {
        let shown = redact(url);
        let invalid = |why: String| Error::InvalidUrl {
            probe: "metrics",
            url: shown.clone(),
            why,
        };
        let mut parsed = reqwest::Url::parse(url).map_err(|error| invalid(error.to_string()))?;
        if matches!(parsed.path(), "" | "/") {
            parsed.set_path(METRICS_ROUTE);
        }
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT.min(SCRAPE_TIMEOUT))
            .timeout(SCRAPE_TIMEOUT)
            .build()
            .map_err(|error| invalid(error.to_string()))?;
        Ok(MetricsProbe {
            client,
            shown: redact(parsed.as_str()),
            url: parsed,
            counter: counter.clone(),
        })
    }

    /// One scrape.
    pub async fn sample(&self) -> Result<MetricsSample, Error> {
        let failed = |error: reqwest::Error| Error::Metrics {
            url: self.shown.clone(),
            source: Cause::of(&error.without_url()),
        };
        let response = self
            .client
            .get(self.url.clone())
            .send()
            .await
            .map_err(failed)?;
        let status = response.status();
        if !status.is_success() {
            return Err(Error::MetricsStatus {
                url: self.shown.clone(),
                status: status.as_u16(),
            });
        }
        let text = response.text().await.map_err(failed)?;
        Ok(MetricsSample::parse_with(
            &text,
            &self.counter,
            self.url.path(),
        ))
    }
}

/// The counters of one scrape, summed over labels the deltas do not keep.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MetricsSample {
    /// `http_requests_total` by route and status (summed over methods).
    pub requests: Vec<RouteRequests>,
    /// `store_operations_total` by namespace, operation and outcome (summed over backends).
    pub store_operations: Vec<StoreOperations>,
    /// `store_operation_duration_seconds_sum` by namespace and operation.
    pub store_time: Vec<StoreTime>,
    /// What a resource server did with its issuer, and an issuer's key rotations.
    pub issuer: IssuerCounts,
}

/// A resource server's dealings with its issuer (key-set fetches, introspection calls, cache
/// hits), and an issuer's key rotations; zero where a server has none of these.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct IssuerCounts {
    pub jwks_fetches: u64,
    pub jwks_fetches_failed: u64,
    pub unknown_kid_refetches: u64,
    pub issuer_calls: u64,
    pub issuer_calls_failed: u64,
    pub cache_hits: u64,
    pub key_rotations: u64,
}

impl IssuerCounts {
    /// Takes `sample` if it is one of the counters kept here; false otherwise.
    fn take(&mut self, sample: &Sample) -> bool {
        let failed = sample.label(names::OUTCOME) == Some("failed");
        let field = if sample.is(names::JWKS_FETCHES, names::COUNTER_SUFFIX) {
            if failed {
                add(&mut self.jwks_fetches_failed, sample);
            }
            &mut self.jwks_fetches
        } else if sample.is(names::ISSUER_CALLS, names::COUNTER_SUFFIX) {
            if failed {
                add(&mut self.issuer_calls_failed, sample);
            }
            &mut self.issuer_calls
        } else if sample.is(names::JWKS_UNKNOWN_KID_REFETCHES, names::COUNTER_SUFFIX) {
            &mut self.unknown_kid_refetches
        } else if sample.is(names::INTROSPECTION_CACHE_HITS, names::COUNTER_SUFFIX) {
            &mut self.cache_hits
        } else if sample.is(names::JWT_KEY_ROTATIONS, names::COUNTER_SUFFIX) {
            &mut self.key_rotations
        } else {
            return false;
        };
        add(field, sample);
        true
    }

    /// From this sample to `end`; a counter that went down (a restart) counts from zero.
    fn delta(&self, end: &IssuerCounts) -> IssuerCounts {
        IssuerCounts {
            jwks_fetches: counter_delta(self.jwks_fetches, end.jwks_fetches),
            jwks_fetches_failed: counter_delta(self.jwks_fetches_failed, end.jwks_fetches_failed),
            unknown_kid_refetches: counter_delta(
                self.unknown_kid_refetches,
                end.unknown_kid_refetches,
            ),
            issuer_calls: counter_delta(self.issuer_calls, end.issuer_calls),
            issuer_calls_failed: counter_delta(self.issuer_calls_failed, end.issuer_calls_failed),
            cache_hits: counter_delta(self.cache_hits, end.cache_hits),
            key_rotations: counter_delta(self.key_rotations, end.key_rotations),
        }
    }

    pub fn add(&mut self, other: IssuerCounts) {
        self.jwks_fetches += other.jwks_fetches;
        self.jwks_fetches_failed += other.jwks_fetches_failed;
        self.unknown_kid_refetches += other.unknown_kid_refetches;
        self.issuer_calls += other.issuer_calls;
        self.issuer_calls_failed += other.issuer_calls_failed;
        self.cache_hits += other.cache_hits;
        self.key_rotations += other.key_rotations;
    }
}

/// Requests to one route that got one status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteRequests {
    pub route: String,
    pub status: u16,
    pub requests: u64,
}

/// Store operations of one kind on one namespace with one outcome (`ok` or `error`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoreOperations {
    pub namespace: String,
    pub op: String,
    pub outcome: String,
    pub operations: u64,
}

/// Time the server spent in store operations of one kind on one namespace.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoreTime {
    pub namespace: String,
    pub op: String,
    pub seconds: f64,
}

type RequestKey = (String, u16);
type OperationKey = (String, String, String);
type TimeKey = (String, String);

impl MetricsSample {
    /// Reads the families authbench's servers expose from a scrape (with or without a registry
    /// prefix such as `authbench_`) and ignores the rest.
    pub fn parse(text: &str) -> MetricsSample {
        MetricsSample::parse_with(text, &RequestCounter::reference(), METRICS_ROUTE)
    }

    /// [`MetricsSample::parse`], with requests read from `counter` (a status that is missing or
    /// not a number is kept as 0), leaving out those to `scrape_path` (the probe's own).
    pub fn parse_with(text: &str, counter: &RequestCounter, scrape_path: &str) -> MetricsSample {
        let mut requests: BTreeMap<RequestKey, u64> = BTreeMap::new();
        let mut operations: BTreeMap<OperationKey, u64> = BTreeMap::new();
        let mut time: BTreeMap<TimeKey, f64> = BTreeMap::new();
        let mut issuer = IssuerCounts::default();
        for sample in prometheus::parse(text) {
            if issuer.take(&sample) {
                continue;
            }
            let label = |name| sample.label(name).unwrap_or_default().to_owned();
            if sample.is(&counter.name, "") {
                let route = counter
                    .route_label
                    .as_deref()
                    .map_or_else(String::new, label);
                let status = counter
                    .status_label
                    .as_deref()
                    .and_then(|name| sample.label(name));
                let status = status.and_then(|s| s.parse().ok()).unwrap_or(0);
                if route != scrape_path {
                    add(requests.entry((route, status)).or_default(), &sample);
                }
            } else if sample.is(names::STORE_OPERATIONS, names::COUNTER_SUFFIX) {
                let key = (
                    label(names::NAMESPACE),
                    label(names::OP),
                    label(names::OUTCOME),
                );
                add(operations.entry(key).or_default(), &sample);
            } else if sample.is(names::STORE_OPERATION_SECONDS, names::SUM_SUFFIX)
                && sample.value.is_finite()
            {
                *time
                    .entry((label(names::NAMESPACE), label(names::OP)))
                    .or_default() += sample.value;
            }
        }
        MetricsSample {
            requests: requests
                .into_iter()
                .map(|((route, status), requests)| RouteRequests {
                    route,
                    status,
                    requests,
                })
                .collect(),
            store_operations: operations
                .into_iter()
                .map(|((namespace, op, outcome), operations)| StoreOperations {
                    namespace,
                    op,
                    outcome,
                    operations,
                })
                .collect(),
            store_time: time
                .into_iter()
                .map(|((namespace, op), seconds)| StoreTime {
                    namespace,
                    op,
                    seconds,
                })
                .collect(),
            issuer,
        }
    }

    /// The server's counts from this sample (a step's start) to `end` (the step's end). A
    /// counter that went down means the server restarted: its end value is the step's count.
    /// Only series that moved are kept; `/metrics` requests are left out.
    pub fn delta(&self, end: &MetricsSample) -> MetricsLoad {
        let before: BTreeMap<RequestKey, u64> = self
            .requests
            .iter()
            .map(|r| ((r.route.clone(), r.status), r.requests))
            .collect();
        let requests: Vec<RouteRequests> = end
            .requests
            .iter()
            .filter(|r| r.route != METRICS_ROUTE)
            .map(|r| {
                let start = before
                    .get(&(r.route.clone(), r.status))
                    .copied()
                    .unwrap_or(0);
                RouteRequests {
                    requests: counter_delta(start, r.requests),
                    ..r.clone()
                }
            })
            .filter(|r| r.requests > 0)
            .collect();

        let before: BTreeMap<OperationKey, u64> = self
            .store_operations
            .iter()
            .map(|o| {
                (
                    (o.namespace.clone(), o.op.clone(), o.outcome.clone()),
                    o.operations,
                )
            })
            .collect();
        let store_operations: Vec<StoreOperations> = end
            .store_operations
            .iter()
            .map(|o| {
                let key = (o.namespace.clone(), o.op.clone(), o.outcome.clone());
                let start = before.get(&key).copied().unwrap_or(0);
                StoreOperations {
                    operations: counter_delta(start, o.operations),
                    ..o.clone()
                }
            })
            .filter(|o| o.operations > 0)
            .collect();

        let before: BTreeMap<TimeKey, f64> = self
            .store_time
            .iter()
            .map(|t| ((t.namespace.clone(), t.op.clone()), t.seconds))
            .collect();
        let store_time: Vec<StoreTime> = end
            .store_time
            .iter()
            .map(|t| {
                let start = before.get(&(t.namespace.clone(), t.op.clone())).copied();
                let seconds = match start {
                    Some(start) if t.seconds >= start => t.seconds - start,
                    _ => t.seconds,
                };
                StoreTime {
                    seconds,
                    ..t.clone()
                }
            })
            .filter(|t| t.seconds > 0.0)
            .collect();

        MetricsLoad {
            // Calls from other servers (a resource server's introspection or key fetches) are
            // not the load generator's requests.
            total_requests: saturating_sum(
                requests
                    .iter()
                    .filter(|r| !SERVICE_ROUTES.contains(&r.route.as_str()))
                    .map(|r| r.requests),
            ),
            total_store_operations: saturating_sum(store_operations.iter().map(|o| o.operations)),
            requests,
            store_operations,
            store_time,
            issuer: self.issuer.delta(&end.issuer),
        }
    }
}

/// A server's own counts over one step.
#[derive(Debug, Clone, Serialize)]
pub struct MetricsLoad {
    /// Requests by route and status, without `/metrics`.
    pub requests: Vec<RouteRequests>,
    /// Requests from clients: without introspection calls and key fetches, which come from
    /// other servers.
    pub total_requests: u64,
    /// Store operations by namespace, operation and outcome.
    pub store_operations: Vec<StoreOperations>,
    pub total_store_operations: u64,
    /// Time in store operations by namespace and operation, as the server timed them.
    pub store_time: Vec<StoreTime>,
    /// A resource server's fetches and calls to its issuer; an issuer's key rotations.
    pub issuer: IssuerCounts,
}

impl Probe for MetricsProbe {
    type Sample = MetricsSample;
    type Load = MetricsLoad;

    async fn sample(&self) -> Result<MetricsSample, Error> {
        MetricsProbe::sample(self).await
    }

    fn delta(start: &MetricsSample, end: &MetricsSample) -> Option<MetricsLoad> {
        Some(start.delta(end))
    }
}

impl Summable for MetricsLoad {
    /// Adds another server's load over the same window (one replica of the same system): every
    /// consumer sums the lists by label, so they are simply appended.
    fn add(&mut self, other: MetricsLoad) {
        self.requests.extend(other.requests);
        self.total_requests += other.total_requests;
        self.store_operations.extend(other.store_operations);
        self.total_store_operations += other.total_store_operations;
        self.store_time.extend(other.store_time);
        self.issuer.add(other.issuer);
    }
}

impl MetricsLoad {
    /// Operations of any outcome on `namespace` (`sessions`, `refresh_families`, ...).
    pub fn store_operations_in(&self, namespace: &str) -> u64 {
        self.store_operations
            .iter()
            .filter(|o| o.namespace == namespace)
            .map(|o| o.operations)
            .sum()
    }
}

fn saturating_sum(counts: impl Iterator<Item = u64>) -> u64 {
    counts.fold(0, u64::saturating_add)
}

/// Adds a sample's count to a total, saturating: a scrape may hold any number.
fn add(total: &mut u64, sample: &Sample) {
    *total = total.saturating_add(count(sample));
}

/// A counter's value as a count; counters are whole numbers, but the format writes floats.
fn count(sample: &Sample) -> u64 {
    if sample.value.is_finite() && sample.value > 0.0 {
        // Saturating by definition of `as` for floats; the value is a finite non-negative count.
        sample.value.round() as u64
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As prometheus-client 0.25 writes it for a registry with the `authbench` prefix.
    const SCRAPE: &str = r#"# HELP authbench_store_operations Store operations by backend, namespace, operation and outcome.
# TYPE authbench_store_operations counter
authbench_store_operations_total{backend="redis",namespace="sessions",op="create",outcome="ok"} 4
authbench_store_operations_total{backend="redis",namespace="sessions",op="create",outcome="error"} 0
authbench_store_operations_total{backend="redis",namespace="sessions",op="load",outcome="ok"} 40
authbench_store_operations_total{backend="redis",namespace="sessions",op="load",outcome="error"} 1
# HELP authbench_store_operation_duration_seconds Store operation latency as the server sees it.
# TYPE authbench_store_operation_duration_seconds histogram
authbench_store_operation_duration_seconds_sum{backend="redis",namespace="sessions",op="load"} 0.0123
authbench_store_operation_duration_seconds_count{backend="redis",namespace="sessions",op="load"} 41
authbench_store_operation_duration_seconds_bucket{le="1e-5",backend="redis",namespace="sessions",op="load"} 0
authbench_store_operation_duration_seconds_bucket{le="2e-5",backend="redis",namespace="sessions",op="load"} 7
authbench_store_operation_duration_seconds_bucket{le="+Inf",backend="redis",namespace="sessions",op="load"} 41
# HELP authbench_http_requests HTTP requests by route, method and status.
# TYPE authbench_http_requests counter
authbench_http_requests_total{route="/login",method="POST",status="200"} 4
authbench_http_requests_total{route="/user/balance",method="GET",status="200"} 39
authbench_http_requests_total{route="/user/balance",method="GET",status="401"} 2
authbench_http_requests_total{route="/metrics",method="GET",status="200"} 1
# HELP authbench_http_request_duration_seconds HTTP request latency by route, from the first byte of the request to the response head.
# TYPE authbench_http_request_duration_seconds histogram
authbench_http_request_duration_seconds_sum{route="/login"} 0.25
authbench_http_request_duration_seconds_count{route="/login"} 4
authbench_http_request_duration_seconds_bucket{le="2e-5",route="/login"} 0
authbench_http_request_duration_seconds_bucket{le="+Inf",route="/login"} 4
# EOF
"#;

    #[test]
    fn counts_past_u64_saturate_instead_of_overflowing() {
        // Found by the metrics_text fuzz target: two series of one key, and their delta's total.
        let huge = "authbench_http_requests_total{route=\"/login\",status=\"200\"} 1.8e19\n";
        let scrape = format!(
            "{huge}{huge}authbench_http_requests_total{{route=\"/a\",status=\"200\"}} 1.8e19\n"
        );
        let end = MetricsSample::parse(&scrape);
        assert_eq!(end.requests[1].requests, u64::MAX);
        let load = MetricsSample::parse("").delta(&end);
        assert_eq!(load.total_requests, u64::MAX);
    }

    #[test]
    fn scrape_gives_requests_store_operations_and_store_time() {
        let sample = MetricsSample::parse(SCRAPE);
        let route = |route: &str, status| {
            sample
                .requests
                .iter()
                .find(|r| r.route == route && r.status == status)
                .map(|r| r.requests)
        };
        assert_eq!(route("/login", 200), Some(4));
        assert_eq!(route("/user/balance", 401), Some(2));
        let load_ok = sample
            .store_operations
            .iter()
            .find(|o| o.op == "load" && o.outcome == "ok")
            .map(|o| o.operations);
        assert_eq!(load_ok, Some(40));
        assert_eq!(sample.store_operations.len(), 4);
        assert_eq!(sample.store_time.len(), 1);
        assert_eq!(sample.store_time[0].seconds, 0.0123);
    }

    #[test]
    fn delta_keeps_what_moved_and_leaves_out_metrics_scrapes() {
        let start = MetricsSample::parse(SCRAPE);
        let end = MetricsSample::parse(
            &SCRAPE
                .replace(
                    "op=\"load\",outcome=\"ok\"} 40",
                    "op=\"load\",outcome=\"ok\"} 140",
                )
                .replace("status=\"200\"} 39", "status=\"200\"} 139")
                .replace(
                    "route=\"/metrics\",method=\"GET\",status=\"200\"} 1",
                    "route=\"/metrics\",method=\"GET\",status=\"200\"} 2",
                )
                .replace("op=\"load\"} 0.0123", "op=\"load\"} 0.1123"),
        );
        let load = start.delta(&end);
        assert_eq!(load.total_requests, 100);
        assert_eq!(
            load.requests,
            [RouteRequests {
                route: "/user/balance".into(),
                status: 200,
                requests: 100
            }]
        );
        assert_eq!(load.total_store_operations, 100);
        assert_eq!(load.store_operations_in("sessions"), 100);
        assert_eq!(load.store_time.len(), 1);
        assert!((load.store_time[0].seconds - 0.1).abs() < 1e-9);
    }

    #[test]
    fn a_counter_that_went_down_counts_from_zero() {
        let start = MetricsSample::parse(SCRAPE);
        let end = MetricsSample::parse(
            "authbench_http_requests_total{route=\"/login\",method=\"POST\",status=\"200\"} 3\n",
        );
        assert_eq!(start.delta(&end).total_requests, 3);
    }

    #[test]
    fn methods_of_one_route_and_status_are_summed() {
        let sample = MetricsSample::parse(
            "http_requests_total{route=\"/sessions\",method=\"GET\",status=\"200\"} 2\n\
             http_requests_total{method=\"DELETE\",status=\"200\",route=\"/sessions\"} 3\n",
        );
        assert_eq!(sample.requests.len(), 1);
        assert_eq!(sample.requests[0].requests, 5);
    }
}
