//! The load models against a stub server that can stall: the open model must show a stall in its
//! corrected latency (coordinated omission) but not in the raw one; the closed model must end
//! with nothing in flight, so its counts match the server's; a dead server must give connect
//! errors and timeouts as data, and the VUs must recover when it is back.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use authbench_loadgen::Credential;
use authbench_loadgen::Endpoint;
use authbench_loadgen::Live;
use authbench_loadgen::Recording;
use authbench_loadgen::scenario::{Flow, Operation};
use authbench_loadgen::{CancellationToken, Driver};
use axum::extract::State;
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt as _;
use axum::{Json, Router};

/// What the stub saw, and when it stalls.
#[derive(Default)]
struct Counters {
    logins: AtomicU64,
    balances: AtomicU64,
    logouts: AtomicU64,
    connections: AtomicU64,
    /// Every request arriving inside this window is answered only at its end.
    stall: Mutex<Option<(Instant, Instant)>>,
}

impl Counters {
    async fn maybe_stall(&self) {
        let window = *self.stall.lock().unwrap();
        if let Some((from, until)) = window {
            let now = Instant::now();
            if now >= from && now < until {
                tokio::time::sleep(until - now).await;
            }
        }
    }
}

/// `POST /login`, `GET /user/balance`, `POST /logout`, on its own thread and runtime so that
/// it doesn't compete with the load generator's tasks.
struct Stub {
    addr: SocketAddr,
    counters: Arc<Counters>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Stub {
    fn start() -> Stub {
        Stub::start_on("127.0.0.1:0".parse().unwrap())
    }

    fn start_on(addr: SocketAddr) -> Stub {
        let listener = std::net::TcpListener::bind(addr).unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let counters = Arc::new(Counters::default());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let state = counters.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let app = Router::new()
                    .route("/login", post(login))
                    .route("/user/balance", get(balance))
                    .route("/logout", post(logout))
                    .with_state(state.clone());
                let listener =
                    tokio::net::TcpListener::from_std(listener)
                        .unwrap()
                        .tap_io(move |_| {
                            state.connections.fetch_add(1, Ordering::Relaxed);
                        });
                tokio::select! {
                    result = axum::serve(listener, app).into_future() => result.unwrap(),
                    _ = stopped => {}
                }
            });
        });
        Stub {
            addr,
            counters,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn stall(&self, from: Instant, length: Duration) {
        *self.counters.stall.lock().unwrap() = Some((from, from + length));
    }

    fn counts(&self) -> [u64; 3] {
        let c = &self.counters;
        [&c.logins, &c.balances, &c.logouts].map(|n| n.load(Ordering::SeqCst))
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn login(State(counters): State<Arc<Counters>>) -> Response {
    let n = counters.logins.fetch_add(1, Ordering::SeqCst) + 1;
    counters.maybe_stall().await;
    let cookie = format!("sid=s{n}; HttpOnly; SameSite=Lax; Path=/; Max-Age=60");
    let body = Json(serde_json::json!({ "session_id": format!("s{n}"), "expires_in": 60 }));
    ([(SET_COOKIE, cookie)], body).into_response()
}

async fn balance(State(counters): State<Arc<Counters>>, headers: HeaderMap) -> Response {
    counters.balances.fetch_add(1, Ordering::SeqCst);
    counters.maybe_stall().await;
    match headers.get(COOKIE).and_then(|v| v.to_str().ok()) {
        Some(cookie) if cookie.starts_with("sid=s") => {
            Json(serde_json::json!({ "balance": 100 })).into_response()
        }
        _ => StatusCode::UNAUTHORIZED.into_response(),
    }
}

async fn logout(State(counters): State<Arc<Counters>>, headers: HeaderMap) -> StatusCode {
    counters.logouts.fetch_add(1, Ordering::SeqCst);
    counters.maybe_stall().await;
    if headers.contains_key(COOKIE) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::UNAUTHORIZED
    }
}

fn credentials(count: u32) -> Arc<[Credential]> {
    (1..=count)
        .map(|n| Credential {
            username: format!("user{n}"),
            password: format!("pass-{n}"),
        })
        .collect()
}

fn flow(balances: u32, logout: bool) -> Flow {
    Flow {
        balances_per_login: NonZeroU32::new(balances).unwrap(),
        refresh_every: None,
        logout,
        think_time: Duration::ZERO,
        stagger: false,
    }
}

fn recorded(recording: &Recording) -> [u64; 3] {
    [Operation::Login, Operation::Balance, Operation::Logout].map(|op| recording.requests(op))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_model_counts_a_stall_from_the_intended_start_and_flags_late_flows() {
    let stub = Stub::start();
    let endpoint = Endpoint::from_addr(stub.addr);
    let mut driver = Driver::new(
        endpoint,
        credentials(4),
        flow(1, false),
        Duration::from_secs(5),
    );
    let live = Live::new();
    stub.stall(
        Instant::now() + Duration::from_millis(1500),
        Duration::from_secs(1),
    );

    let recording = driver
        .open(
            authbench_loadgen::Arrivals::steady(200.0),
            4,
            Duration::from_secs(4),
            &live,
            &CancellationToken::new(),
        )
        .await;

    let both = [Operation::Login, Operation::Balance];
    let corrected = recording.percentile(&both, 99.0).unwrap();
    let raw = recording.raw_percentile(&both, 99.0).unwrap();
    let schedule = *recording.schedule().unwrap();
    let summary = format!("corrected p99 {corrected:?}, raw p99 {raw:?}, {schedule:?}");
    println!("{summary}");
    assert!(corrected >= Duration::from_millis(500), "{summary}");
    assert!(raw < Duration::from_millis(250), "{summary}");
    assert_eq!(schedule.intended, 800, "{summary}");
    assert!(schedule.late_waiting_for_connection >= 100, "{summary}");
    assert!(
        schedule.late < 600,
        "only the stall should make flows late: {summary}"
    );
    assert!(schedule.max_lag >= Duration::from_millis(500), "{summary}");
    assert!(schedule.too_few_connections(), "{summary}");
    assert_eq!(recording.total_errors(), 0, "{summary}");
    assert_eq!(
        recorded(&recording),
        stub.counts(),
        "nothing in flight on return"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_model_ends_with_nothing_in_flight_and_keeps_connections_across_steps() {
    let stub = Stub::start();
    let endpoint = Endpoint::from_addr(stub.addr);
    let mut driver = Driver::new(
        endpoint,
        credentials(4),
        flow(3, true),
        Duration::from_secs(5),
    );
    let live = Live::new();
    let cancel = CancellationToken::new();

    let mut seen = [0u64; 3];
    for vus in [2, 4, 4] {
        let recording = driver
            .closed(vus, Duration::from_millis(400), &live, &cancel)
            .await;
        let now = stub.counts();
        let delta = [now[0] - seen[0], now[1] - seen[1], now[2] - seen[2]];
        seen = now;
        assert_eq!(recorded(&recording), delta, "step of {vus} VUs");
        assert_eq!(recording.total_errors(), 0);
        assert!(recording.ok(Operation::Balance) > 0);
        assert!(recording.bytes_sent() > 0 && recording.bytes_received() > 0);
        assert!(recording.elapsed() >= Duration::from_millis(400));
    }
    assert_eq!(stub.counters.connections.load(Ordering::SeqCst), 4);
    assert_eq!(driver.connections_open(), 4);
    assert_eq!(live.snapshot_and_reset().requests, seen.iter().sum::<u64>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_server_gives_connect_errors_and_vus_recover_when_it_is_back() {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut driver = Driver::new(
        Endpoint::from_addr(addr),
        credentials(2),
        flow(2, true),
        Duration::from_secs(2),
    );
    let live = Live::new();
    let cancel = CancellationToken::new();
    let step = Duration::from_millis(300);

    let dead = tokio::time::timeout(
        Duration::from_secs(10),
        driver.closed(2, step, &live, &cancel),
    )
    .await
    .expect("a dead server must not hang the load generator");
    let login = dead.operation(Operation::Login).unwrap();
    assert!(login.errors().connect > 0);
    assert_eq!(dead.total_requests(), login.errors().connect);
    assert_eq!(dead.total_errors(), dead.total_requests());

    let _stub = Stub::start_on(addr);
    let back = driver.closed(2, step, &live, &cancel).await;
    assert!(back.ok(Operation::Login) > 0 && back.ok(Operation::Balance) > 0);
    assert_eq!(back.total_errors(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_past_its_timeout_is_counted_and_its_connection_replaced() {
    let stub = Stub::start();
    let endpoint = Endpoint::from_addr(stub.addr);
    let timeout = Duration::from_millis(200);
    let mut driver = Driver::new(endpoint, credentials(1), flow(5, false), timeout);
    let live = Live::new();
    stub.stall(Instant::now(), Duration::from_millis(500));

    let recording = driver
        .closed(1, Duration::from_secs(1), &live, &CancellationToken::new())
        .await;
    let login = recording.operation(Operation::Login).unwrap();
    assert!(login.errors().timeout >= 1, "{login:?}");
    assert!(recording.ok(Operation::Balance) > 0);
    assert!(stub.counters.connections.load(Ordering::SeqCst) >= 2);
}
