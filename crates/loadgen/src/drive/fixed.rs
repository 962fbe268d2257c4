//! One path over and over on N connections, with no login: the same client code as the flows,
//! so that its speed can be compared with wrk's on the same route.

use std::sync::Arc;
use std::time::Duration;

use http::{Method, Uri};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::CONNECT_RETRY_PAUSE;
use crate::client::{Body, Call, Connection, Endpoint, ErrorKind};
use crate::live::Live;
use crate::recording::Recorder;
use crate::recording::{LatencyModel, Recording, Sample};
use crate::scenario::Operation;

/// The request timeout of [`fixed`]: generous, since only a broken server would reach it.
pub const FIXED_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The path given to [`fixed`] is not an origin-form request target.
#[derive(Debug, thiserror::Error)]
#[error("{path:?} is not a request path (like /user/balance)")]
pub struct InvalidPath {
    path: String,
}

/// `GET path` back to back on each of `connections` connections for `duration` (or until
/// `cancel`). Every request is recorded as [`Operation::Balance`], the only operation in the
/// returned recording. Like the load models, it ends with nothing in flight.
pub async fn fixed(
    endpoint: &Endpoint,
    path: &str,
    connections: usize,
    duration: Duration,
    live: &Live,
    cancel: &CancellationToken,
) -> Result<Recording, InvalidPath> {
    let invalid = || InvalidPath {
        path: path.to_owned(),
    };
    let path: Uri = path.parse().map_err(|_| invalid())?;
    if path.scheme().is_some() || !path.path().starts_with('/') {
        return Err(invalid());
    }
    let endpoint = Arc::new(endpoint.clone());
    let recorder = Arc::new(Recorder::new(LatencyModel::Closed));
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let connection = Connection::new(endpoint.clone(), FIXED_REQUEST_TIMEOUT);
            tokio::spawn(repeat(
                connection,
                path.clone(),
                deadline,
                recorder.clone(),
                live.clone(),
                cancel.clone(),
            ))
        })
        .collect();
    for task in tasks {
        if let Err(error) = task.await {
            tracing::error!(%error, "a fixed-request task failed");
        }
    }
    let mut recording = recorder.take();
    recording.set_elapsed(started.elapsed());
    Ok(recording)
}

/// One connection's loop.
async fn repeat(
    mut connection: Connection,
    path: Uri,
    deadline: Instant,
    recorder: Arc<Recorder>,
    live: Live,
    cancel: CancellationToken,
) {
    let call = Call {
        method: &Method::GET,
        path: &path,
        auth: None,
        body: None,
        response_body: Body::Drain,
    };
    loop {
        let started = Instant::now();
        if started >= deadline || cancel.is_cancelled() {
            break;
        }
        let sample = match connection.send(&call, started).await {
            Ok(reply) => {
                let latency = reply.finished - started;
                live.record_latency(latency);
                let error = (!reply.status.is_success())
                    .then_some(ErrorKind::Status(reply.status.as_u16()));
                if error.is_some() {
                    live.record_error(true);
                }
                Sample {
                    operation: Operation::Balance,
                    error,
                    latency,
                    raw_latency: latency,
                    bytes_sent: reply.bytes_sent,
                    bytes_received: reply.bytes_received,
                }
            }
            Err(kind) => {
                live.record_error(false);
                if kind == ErrorKind::Connect {
                    // A dead server must not turn the loop into a busy one.
                    tokio::time::sleep(CONNECT_RETRY_PAUSE).await;
                }
                Sample {
                    operation: Operation::Balance,
                    error: Some(kind),
                    latency: Duration::ZERO,
                    raw_latency: Duration::ZERO,
                    bytes_sent: 0,
                    bytes_received: 0,
                }
            }
        };
        recorder.record(&sample);
    }
}
