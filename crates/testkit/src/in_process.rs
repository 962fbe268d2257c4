//! A server under test running in the test's own runtime, on 127.0.0.1:0, stopped when the
//! handle is dropped.

use std::future::Future;
use std::pin::Pin;

use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// The future a server's `serve(listener, state, shutdown)` waits on.
pub type Shutdown = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A running in-process server; dropping it asks the server to shut down.
#[derive(Debug)]
pub struct InProcess {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Drop for InProcess {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Binds a free port and spawns `serve(listener, shutdown)` on the current runtime.
pub async fn spawn<F, Fut>(serve: F) -> InProcess
where
    F: FnOnce(TcpListener, Shutdown) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let address = listener.local_addr().expect("bound address");
    let (shutdown, stopped) = oneshot::channel::<()>();
    let stopped: Shutdown = Box::pin(async move {
        let _ = stopped.await;
    });
    tokio::spawn(serve(listener, stopped));
    InProcess {
        base_url: format!("http://{address}"),
        shutdown: Some(shutdown),
    }
}
