//! One virtual user's connection, driven inside the caller's task, with one long-lived timer for
//! the request timeout.

use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

use super::call::build_request;
use super::size::{request_size, response_head_size};
use super::{Body, Call, Endpoint, ErrorKind, KeptResponse, Reply};

type Sender = http1::SendRequest<Full<Bytes>>;
type Driver = http1::Connection<TokioIo<TcpStream>, Full<Bytes>>;

/// One virtual user's connection: opened on first use, reopened after it is lost.
#[derive(Debug)]
pub struct Connection {
    endpoint: Arc<Endpoint>,
    request_timeout: Duration,
    open: Option<Open>,
    /// The request timeout's timer, kept from one request to the next and moved only when it
    /// fires early (see [`Connection::send`]).
    timer: Option<Pin<Box<Sleep>>>,
}

#[derive(Debug)]
struct Open {
    sender: Sender,
    driver: Driver,
    /// A finished hyper connection must not be polled again.
    driver_done: bool,
}

impl Connection {
    pub fn new(endpoint: Arc<Endpoint>, request_timeout: Duration) -> Connection {
        Connection {
            endpoint,
            request_timeout,
            open: None,
            timer: None,
        }
    }

    pub fn is_open(&self) -> bool {
        self.open.is_some()
    }

    /// Sends `call` and reads the whole answer, within the request timeout counted from
    /// `started` (which the caller read just before, so it can time the request without a
    /// second clock read). Connecting, when needed, is part of the request. A timeout or a
    /// broken exchange leaves the connection in an unknown state, so it is dropped.
    ///
    /// Registering a timer per request would be a large part of the client's own cost, so one
    /// timer per connection stays armed at an earlier request's deadline. Deadlines only move
    /// later, so when it fires the current request is either really late, or the timer is moved
    /// to its deadline: one timer operation per timeout period instead of two per request.
    pub async fn send(&mut self, call: &Call<'_>, started: Instant) -> Result<Reply, ErrorKind> {
        let deadline = started + self.request_timeout;
        let mut timer = self
            .timer
            .take()
            .unwrap_or_else(|| Box::pin(tokio::time::sleep_until(deadline)));
        let result = {
            let mut exchange = pin!(self.exchange(call));
            poll_fn(|cx| {
                if let Poll::Ready(result) = exchange.as_mut().poll(cx) {
                    return Poll::Ready(result);
                }
                while timer.as_mut().poll(cx).is_ready() {
                    if timer.deadline() >= deadline {
                        return Poll::Ready(Err(ErrorKind::Timeout));
                    }
                    timer.as_mut().reset(deadline);
                }
                Poll::Pending
            })
            .await
        };
        self.timer = Some(timer);
        if result.is_err() {
            self.open = None;
        }
        result
    }

    async fn exchange(&mut self, call: &Call<'_>) -> Result<Reply, ErrorKind> {
        self.drop_if_closed().await;
        let open = match self.open.take() {
            Some(open) => open,
            None => connect(self.endpoint.addr()).await?,
        };
        let open = self.open.insert(open);
        let request = build_request(call, self.endpoint.host());
        let bytes_sent = request_size(&request, call.body);
        let Open {
            sender,
            driver,
            driver_done,
        } = open;
        let response_body = call.response_body;
        let exchange = async move {
            sender.ready().await.map_err(protocol)?;
            let response = sender.send_request(request).await.map_err(protocol)?;
            read_response(response, response_body).await
        };
        let (status, head_bytes, body_bytes, kept) = drive(driver, driver_done, exchange).await??;
        let finished = Instant::now();
        if *driver_done {
            // The server closed after answering (`Connection: close`): reconnect next time.
            self.open = None;
        }
        Ok(Reply {
            status,
            bytes_sent,
            bytes_received: head_bytes + body_bytes,
            finished,
            kept,
        })
    }

    /// Notices a connection the server closed while it sat idle (keep-alive timeout, restart),
    /// so that the next request reconnects instead of failing on a dead socket.
    async fn drop_if_closed(&mut self) {
        let alive = poll_fn(|cx| {
            Poll::Ready(match &mut self.open {
                None => true,
                Some(open) if open.driver_done || open.sender.is_closed() => false,
                Some(open) => Pin::new(&mut open.driver).poll(cx).is_pending(),
            })
        })
        .await;
        if !alive {
            self.open = None;
        }
    }
}

async fn connect(addr: SocketAddr) -> Result<Open, ErrorKind> {
    let stream = TcpStream::connect(addr).await.map_err(|error| {
        tracing::debug!(%addr, %error, "connect failed");
        ErrorKind::Connect
    })?;
    stream.set_nodelay(true).map_err(|_| ErrorKind::Connect)?;
    let (sender, driver) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|_| ErrorKind::Connect)?;
    Ok(Open {
        sender,
        driver,
        driver_done: false,
    })
}

/// Runs `work` (which talks through the connection's sender) while driving the connection
/// itself in the same task. The connection is polled first so that a response it reads is seen
/// by `work` in the same poll.
async fn drive<F: Future>(
    driver: &mut Driver,
    driver_done: &mut bool,
    work: F,
) -> Result<F::Output, ErrorKind> {
    let mut work = pin!(work);
    poll_fn(|cx| {
        if !*driver_done && Pin::new(&mut *driver).poll(cx).is_ready() {
            *driver_done = true;
        }
        if let Poll::Ready(output) = work.as_mut().poll(cx) {
            return Poll::Ready(Ok(output));
        }
        if *driver_done {
            // Nothing will ever complete `work` now.
            return Poll::Ready(Err(ErrorKind::Protocol));
        }
        Poll::Pending
    })
    .await
}

type ResponseParts = (StatusCode, u64, u64, Option<KeptResponse>);

async fn read_response(
    response: http::Response<Incoming>,
    response_body: Body,
) -> Result<ResponseParts, ErrorKind> {
    let (parts, mut body) = response.into_parts();
    let head_bytes = response_head_size(parts.status, &parts.headers);
    match response_body {
        Body::Drain => {
            let mut body_bytes = 0;
            while let Some(frame) = body.frame().await {
                if let Some(data) = frame.map_err(protocol)?.data_ref() {
                    body_bytes += data.len() as u64;
                }
            }
            Ok((parts.status, head_bytes, body_bytes, None))
        }
        Body::Keep => {
            let body = body.collect().await.map_err(protocol)?.to_bytes();
            let kept = KeptResponse {
                headers: parts.headers,
                body,
            };
            Ok((parts.status, head_bytes, kept.body.len() as u64, Some(kept)))
        }
    }
}

fn protocol(error: impl std::fmt::Display) -> ErrorKind {
    tracing::debug!(%error, "request failed");
    ErrorKind::Protocol
}
