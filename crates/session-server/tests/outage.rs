//! A session store that goes away mid-run: requests that need it fail fast with 503 (never hang,
//! never panic), and the server recovers by itself when the store is back.

mod common;

use std::time::{Duration, Instant};

use authbench_testkit::http_suite::client;
use common::{Backend, start};
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_gives_fast_503_then_recovers_without_restart() {
    let mut server = start(Backend::Redis).await;
    let target = server.target.clone();
    let http = client();
    let before = target.login(&http).await;
    assert_eq!(
        target.balance(&http, &before).await.status(),
        StatusCode::OK
    );

    server.redis.as_mut().unwrap().stop();

    // Several concurrent requests while the store is down: each must answer 503 within 1 s.
    let mut requests = Vec::new();
    for _ in 0..8 {
        let (target, http, credentials) = (target.clone(), http.clone(), before.clone());
        requests.push(tokio::spawn(async move {
            let started = Instant::now();
            let response = target.balance(&http, &credentials).await;
            let status = response.status();
            let body: serde_json::Value = response.json().await.unwrap();
            (status, body, started.elapsed())
        }));
    }
    for request in requests {
        let (status, body, elapsed) = request.await.unwrap();
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(body["error"], "unavailable");
        assert!(elapsed < Duration::from_secs(1), "503 took {elapsed:?}");
    }
    let health = http.get(target.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::SERVICE_UNAVAILABLE);

    server.redis.as_mut().unwrap().restart();

    // The same server process picks the store back up; the restarted Redis kept no data, so a new
    // login is needed.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let health = http
            .get(target.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status();
        if health == StatusCode::OK {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "server did not recover within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let after = target.login(&http).await;
    assert_eq!(target.balance(&http, &after).await.status(), StatusCode::OK);
}
