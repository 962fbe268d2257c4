//! Request counts and latency by route and status, in the Prometheus text format.

use authbench_contract::metrics;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{Method, StatusCode, header};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

use crate::latency::Latency;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: &'static str,
}

/// The HTTP metric families of one server.
#[derive(Clone, Debug)]
pub struct HttpMetrics {
    requests: Family<RequestLabels, Counter>,
    seconds: Family<RouteLabels, Latency>,
}

impl HttpMetrics {
    /// Creates the families and registers them in `registry`.
    pub fn register(registry: &mut Registry) -> HttpMetrics {
        let metrics = HttpMetrics {
            requests: Family::default(),
            // 20 µs .. ~10 s.
            seconds: Family::new_with_constructor(|| {
                Latency::doubling_from(Duration::from_micros(20))
            }),
        };
        registry.register(
            metrics::HTTP_REQUESTS,
            "HTTP requests by route, method and status",
            metrics.requests.clone(),
        );
        registry.register(
            metrics::HTTP_REQUEST_SECONDS,
            "HTTP request latency by route, from the first byte of the request to the response head",
            metrics.seconds.clone(),
        );
        metrics
    }

    /// The handles of one route, resolved once so that recording a request hashes nothing.
    pub fn route(&self, route: &'static str) -> Arc<RouteMetrics> {
        Arc::new(RouteMetrics {
            route,
            seconds: self.seconds.get_or_create(&RouteLabels { route }).clone(),
            requests: self.requests.clone(),
            counters: RwLock::new(Vec::new()),
        })
    }
}

/// One route's metric handles. Its counters by method and status are found the first time each
/// pair is seen and kept: a route answers a handful of pairs.
#[derive(Debug)]
pub struct RouteMetrics {
    route: &'static str,
    seconds: Latency,
    requests: Family<RequestLabels, Counter>,
    counters: RwLock<Vec<((&'static str, u16), Counter)>>,
}

impl RouteMetrics {
    /// Counts one request with its answer's status and times it.
    pub fn record(&self, method: &Method, status: StatusCode, elapsed: Duration) {
        self.seconds.observe(elapsed);
        let key = (method_label(method), status.as_u16());
        let known = self.counters.read().ok().and_then(|counters| {
            let found = counters.iter().find(|(seen, _)| *seen == key);
            found.map(|(_, counter)| counter.inc())
        });
        if known.is_none() {
            let counter = self
                .requests
                .get_or_create(&RequestLabels {
                    route: self.route,
                    method: key.0,
                    status: key.1,
                })
                .clone();
            counter.inc();
            if let Ok(mut counters) = self.counters.write() {
                counters.push((key, counter));
            }
        }
    }
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::DELETE => "DELETE",
        Method::PUT => "PUT",
        Method::HEAD => "HEAD",
        _ => "other",
    }
}

/// `GET /metrics`: the registry in the Prometheus text exposition format.
pub async fn exposition(State(registry): State<Arc<Registry>>) -> Response {
    let mut text = String::with_capacity(16 * 1024);
    match prometheus_client::encoding::text::encode(&mut text, &registry) {
        Ok(()) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(_) => super::error::ApiError::internal().into_response(),
    }
}
