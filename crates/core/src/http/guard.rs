//! What every request to both servers gets: counted by route, method and status and timed
//! ([`super::metrics`]), bounded by a per-request timeout (503 with a JSON body) and kept from
//! taking its connection down with a panic (500).
//!
//! One hand-written service around the whole router rather than a stack of `from_fn` middlewares
//! or a layer per route: those clone and box a service and box a future per layer and request,
//! and a route label looked up by name hashes on every request. Here each route's metric handles
//! are resolved once, when the route is added, a request's route is found by comparing its path
//! with the few the server has, and a request costs two clock reads, a few atomic adds and no
//! allocation of the guard's own: the servers' fixed cost must not blur the auth cost they
//! compare.

use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Bytes, HttpBody};
use axum::extract::Request;
use axum::response::Response;
use axum::routing::MethodRouter;
use axum::routing::future::RouteFuture;
use futures::FutureExt as _;
use futures::future::{CatchUnwind, Either, Ready};
use http::StatusCode;
use pin_project_lite::pin_project;
use tower::Service;

use crate::deadline::{Bounded, Elapsed, Watchdog};

use super::error::error_response;
use super::idle::Idleness;
use super::metrics::{HttpMetrics, RouteMetrics};

/// Collects a server's routes and guards them: the server's metrics and request timeout.
#[derive(Debug)]
pub struct Guards {
    metrics: HttpMetrics,
    timeout: Duration,
    routes: Vec<(&'static str, Arc<RouteMetrics>)>,
}

impl Guards {
    pub fn new(metrics: HttpMetrics, timeout: Duration) -> Guards {
        Guards {
            metrics,
            timeout,
            routes: Vec::new(),
        }
    }

    /// `router` with each `(path, methods)` added, each path's metric handles resolved now.
    /// Paths are exact (no parameters): a request's route is found by comparing its path.
    pub fn routes<S>(
        &mut self,
        router: Router<S>,
        routes: impl IntoIterator<Item = (&'static str, MethodRouter<S>)>,
    ) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        routes.into_iter().fold(router, |router, (path, methods)| {
            self.routes.push((path, self.metrics.route(path)));
            router.route(path, methods)
        })
    }

    /// The finished router, guarded as one service: one guard per request, around the routing.
    pub fn guard(self, router: Router) -> Guarded {
        Guarded {
            router,
            table: Arc::new(RouteTable {
                unmatched: self.metrics.route(authbench_contract::routes::UNMATCHED),
                known: self.routes,
            }),
            watchdog: Watchdog::start(self.timeout),
            idleness: None,
        }
    }
}

/// Each route's metric handles, and those of requests no route matched.
#[derive(Debug)]
struct RouteTable {
    known: Vec<(&'static str, Arc<RouteMetrics>)>,
    unmatched: Arc<RouteMetrics>,
}

impl RouteTable {
    fn of(&self, path: &str) -> &Arc<RouteMetrics> {
        self.known
            .iter()
            .find(|(known, _)| *known == path)
            .map_or(&self.unmatched, |(_, metrics)| metrics)
    }
}

/// A server's routes, every request counted, timed, bounded by the request timeout and kept
/// from taking the connection down with a panic.
#[derive(Clone, Debug)]
pub struct Guarded {
    router: Router,
    table: Arc<RouteTable>,
    /// Bounds every request by the request timeout.
    watchdog: Watchdog,
    /// The connection this copy serves, once [`Guarded::for_connection`] set it.
    idleness: Option<Arc<Idleness>>,
}

impl Guarded {
    /// A copy for one connection, which marks `idleness` busy while it answers a request.
    pub fn for_connection(&self, idleness: Arc<Idleness>) -> Guarded {
        Guarded {
            idleness: Some(idleness),
            ..self.clone()
        }
    }
}

type Handled = CatchUnwind<AssertUnwindSafe<RouteFuture<Infallible>>>;
/// What [`Handled`] gives: the response, or the panic that took its place.
type HandledOutput = Result<Result<Response, Infallible>, Box<dyn std::any::Any + Send>>;

impl<B> Service<http::Request<B>> for Guarded
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = GuardFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // A Router is always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> GuardFuture {
        let started = Instant::now();
        if let Some(idleness) = &self.idleness {
            idleness.busy();
        }
        let method = request.method().clone();
        let metrics = self.table.of(request.uri().path()).clone();
        let request = request.map(axum::body::Body::new);
        // A handler may panic while its future is made, as well as while it runs.
        let handling = match std::panic::catch_unwind(AssertUnwindSafe(|| {
            Service::<Request>::call(&mut self.router, request)
        })) {
            Ok(future) => Either::Left(AssertUnwindSafe(future).catch_unwind()),
            Err(panic) => Either::Right(futures::future::ready(Err(panic))),
        };
        GuardFuture {
            handling: self.watchdog.bound(started, handling),
            started,
            method,
            metrics,
            idleness: self.idleness.clone(),
        }
    }
}

pin_project! {
    /// The guarded handler's answer, counted and timed when it is ready.
    pub struct GuardFuture {
        // Left: the routed request, under its panic guard; right: routing panicked. Bounded by
        // the request timeout, which registers with the watchdog only if the request is not
        // answered at once.
        #[pin]
        handling: Bounded<Either<Handled, Ready<HandledOutput>>>,
        started: Instant,
        method: http::Method,
        metrics: Arc<RouteMetrics>,
        idleness: Option<Arc<Idleness>>,
    }
}

impl Future for GuardFuture {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = match ready!(this.handling.poll(cx)) {
            Ok(Ok(Ok(response))) => response,
            Ok(Ok(Err(infallible))) => match infallible {},
            Ok(Err(_panic)) => panicked(),
            Err(Elapsed) => error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                "the request took longer than the server's request timeout",
            ),
        };
        let elapsed = this.started.elapsed();
        this.metrics.record(this.method, response.status(), elapsed);
        if let Some(idleness) = this.idleness {
            idleness.waiting_from(*this.started + elapsed);
        }
        Poll::Ready(Ok(response))
    }
}

fn panicked() -> Response {
    error_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "internal error",
    )
}

impl std::fmt::Debug for GuardFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuardFuture")
            .field("started", &self.started)
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::body::Body;
    use axum::routing::get;
    use http_body_util::BodyExt as _;
    use prometheus_client::registry::Registry;
    use tower::ServiceExt as _;

    use super::*;

    async fn panics() -> &'static str {
        panic!("a handler bug")
    }

    async fn stalls() -> &'static str {
        tokio::time::sleep(Duration::from_secs(5)).await;
        "late"
    }

    async fn answers() -> &'static str {
        "ok"
    }

    /// A router of three guarded routes, and the text of its registry.
    fn app() -> (Guarded, Registry) {
        let mut registry = Registry::with_prefix("authbench");
        let mut guards = Guards::new(
            HttpMetrics::register(&mut registry),
            Duration::from_millis(50),
        );
        let router = guards.routes(
            Router::new(),
            [
                ("/panics", get(panics)),
                ("/stalls", get(stalls)),
                ("/answers", get(answers)),
            ],
        );
        (guards.guard(router), registry)
    }

    async fn get_path(app: &Guarded, path: &str) -> (StatusCode, String) {
        let request = Request::get(path).body(Body::empty()).unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_500_with_a_json_body() {
        let (router, _) = app();
        let (status, body) = get_path(&router, "/panics").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body, r#"{"error":"internal","message":"internal error"}"#);
        assert_eq!(get_path(&router, "/answers").await.0, StatusCode::OK);
    }

    #[tokio::test]
    async fn a_handler_past_the_timeout_answers_503_with_a_json_body() {
        let (router, _) = app();
        let (status, body) = get_path(&router, "/stalls").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains(r#""error":"timeout""#), "{body}");
    }

    #[tokio::test]
    async fn every_answer_is_counted_by_route_method_and_status() {
        let (router, registry) = app();
        for path in ["/answers", "/answers", "/panics", "/stalls", "/nowhere"] {
            get_path(&router, path).await;
        }
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        for line in [
            r#"authbench_http_requests_total{route="/answers",method="GET",status="200"} 2"#,
            r#"authbench_http_requests_total{route="/panics",method="GET",status="500"} 1"#,
            r#"authbench_http_requests_total{route="/stalls",method="GET",status="503"} 1"#,
            r#"authbench_http_request_duration_seconds_count{route="/answers"} 2"#,
            r#"authbench_http_requests_total{route="unmatched",method="GET",status="404"} 1"#,
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
    }
}
