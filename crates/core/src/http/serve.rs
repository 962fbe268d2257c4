//! Serving a router on a bound listener until a shutdown future resolves.
//!
//! hyper's HTTP/1 connection builder is used directly (not `axum::serve`) for the limits axum
//! doesn't expose: a header block past [`super::MAX_HEADER_BYTES`] gets hyper's 431. A client
//! that trickles its headers, or holds a connection idle, is cut off after [`HEADER_READ_TIMEOUT`]
//! by a watchdog per connection ([`super::idle`]).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

use super::Guarded;
use super::idle::Idleness;

/// How long a client may take to send its request head.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long open requests get to finish after shutdown is asked for.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves `app` on `listener` until `shutdown` resolves, then lets open requests finish (up to
/// [`DRAIN_TIMEOUT`]). Accept errors (such as running out of file descriptors) are logged and
/// retried, never fatal.
pub async fn serve(listener: TcpListener, app: Guarded, shutdown: impl Future<Output = ()>) {
    serve_with_header_timeout(listener, app, shutdown, HEADER_READ_TIMEOUT).await;
}

/// [`serve`], with `header_timeout` in place of [`HEADER_READ_TIMEOUT`].
async fn serve_with_header_timeout(
    listener: TcpListener,
    app: Guarded,
    shutdown: impl Future<Output = ()>,
    header_timeout: Duration,
) {
    let mut builder = http1::Builder::new();
    builder
        // No timer, so no per-request header timer: [`Idleness`] does that job per connection.
        .header_read_timeout(None)
        .max_buf_size(super::MAX_HEADER_BYTES)
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                // Small request/response pairs: Nagle would add up to 40 ms to each.
                let _ = stream.set_nodelay(true);
                let idleness = Arc::new(Idleness::new(Instant::now()));
                let service = TowerToHyperService::new(app.for_connection(idleness.clone()));
                let connection = builder.serve_connection(TokioIo::new(stream), service);
                let connection = graceful.watch(connection);
                // The connection is served in a task of its own, watched from another: a
                // watchdog polled beside the connection would be polled, and its timer
                // re-registered, on every wake-up of every request.
                let serving = tokio::spawn(async move {
                    if let Err(error) = connection.await {
                        tracing::debug!(%error, "connection ended with an error");
                    }
                });
                tokio::spawn(async move {
                    let closing = serving.abort_handle();
                    tokio::select! {
                        biased;
                        _ = serving => {}
                        // Aborting the serving task drops the connection, which closes it.
                        () = idleness.stalled(header_timeout) => {
                            closing.abort();
                            tracing::debug!("closed a connection that sent no request head in time");
                        }
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("open connections did not finish within {DRAIN_TIMEOUT:?}");
    }
}

/// Resolves on SIGTERM or Ctrl-C (SIGINT).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read as _, Write as _};
    use std::net::TcpStream;

    use axum::Router;
    use axum::routing::get;
    use prometheus_client::registry::Registry;

    use super::*;
    use crate::http::{Guards, HttpMetrics};

    /// A server with one route and a 300 ms header timeout, and its address.
    async fn server() -> std::net::SocketAddr {
        let mut registry = Registry::default();
        let mut guards = Guards::new(HttpMetrics::register(&mut registry), Duration::from_secs(5));
        let router = guards.routes(Router::new(), [("/", get(|| async { "ok" }))]);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let limit = Duration::from_millis(300);
        let app = guards.guard(router);
        tokio::spawn(serve_with_header_timeout(
            listener,
            app,
            std::future::pending(),
            limit,
        ));
        address
    }

    /// Bytes until the server closes the connection, and how long that took.
    fn read_until_closed(mut stream: TcpStream) -> (String, Duration) {
        let started = Instant::now();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        (
            String::from_utf8_lossy(&answer).into_owned(),
            started.elapsed(),
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_trickled_request_head_is_cut_off_after_the_timeout() {
        let address = server().await;
        let closed = tokio::task::spawn_blocking(move || {
            let mut stream = TcpStream::connect(address).unwrap();
            stream.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
            read_until_closed(stream)
        })
        .await
        .unwrap();
        assert_eq!(closed.0, "", "no answer to a head that never ended");
        assert!(
            closed.1 < Duration::from_secs(2),
            "closed after {:?}",
            closed.1
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_kept_alive_connection_is_answered_then_closed_once_idle_past_the_timeout() {
        let address = server().await;
        let (answer, took) = tokio::task::spawn_blocking(move || {
            let mut stream = TcpStream::connect(address).unwrap();
            stream
                .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            std::thread::sleep(Duration::from_millis(100));
            stream
                .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            read_until_closed(stream)
        })
        .await
        .unwrap();
        assert_eq!(answer.matches("HTTP/1.1 200 OK").count(), 2, "{answer}");
        assert!(took < Duration::from_secs(2), "closed after {took:?}");
    }
}
