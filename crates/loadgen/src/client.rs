//! The hot path: one raw HTTP/1.1 connection per virtual user, on hyper's client connection over
//! a TCP_NODELAY socket, kept open across requests and reconnected on the next request after it
//! is lost.
//!
//! The connection is driven inside the caller's task rather than spawned: a request then costs
//! no hand-off between tasks, and a connection that nobody uses costs nothing.
//!
//! Byte counts are HTTP/1.1 message sizes computed from the head and body: for a request, the
//! request line and the headers exactly as hyper serializes them (every header this module sends
//! is set explicitly, Content-Length included, so hyper adds none) plus the body; for a response,
//! the status line (with the canonical reason phrase), the headers as `name: value` lines and the
//! body's data bytes (chunk framing, if a server used it, is not counted).

use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

/// Why a request failed. Failures are data: they are counted, never raised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum ErrorKind {
    #[error("cannot connect")]
    Connect,
    #[error("no complete answer within the request timeout")]
    Timeout,
    #[error("the connection broke or the answer was malformed")]
    Protocol,
    #[error("answered with status {0}")]
    Status(u16),
}

/// A base URL that can't be used as an endpoint.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error("{url:?} is not a base URL: {source}")]
    Malformed {
        url: String,
        source: http::uri::InvalidUri,
    },
    #[error("{url:?}: only http://host[:port] is supported (no https, path, query or user info)")]
    Unsupported { url: String },
    #[error("cannot resolve {host}: {source}")]
    Resolve {
        host: String,
        source: std::io::Error,
    },
    #[error("{host} resolves to no address")]
    NoAddress { host: String },
}

/// Where requests go: one resolved address, and the `Host` header to send.
#[derive(Clone, Debug)]
pub struct Endpoint {
    addr: SocketAddr,
    host: HeaderValue,
}

impl Endpoint {
    /// Parses `http://host[:port]` (a trailing `/` is fine) and resolves the host once; one
    /// address (the first IPv4 one, if any) is used for every connection.
    pub async fn resolve(base_url: &str) -> Result<Endpoint, EndpointError> {
        let uri: Uri = base_url
            .parse()
            .map_err(|source| EndpointError::Malformed {
                url: base_url.to_owned(),
                source,
            })?;
        let unsupported = || EndpointError::Unsupported {
            url: base_url.to_owned(),
        };
        let authority = uri.authority().ok_or_else(unsupported)?;
        let path_is_root = matches!(uri.path(), "" | "/") && uri.query().is_none();
        if uri.scheme_str() != Some("http") || !path_is_root || authority.as_str().contains('@') {
            return Err(unsupported());
        }
        let host = authority.host();
        let bare_host = host.trim_start_matches('[').trim_end_matches(']');
        let port = authority.port_u16().unwrap_or(80);
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((bare_host, port))
            .await
            .map_err(|source| EndpointError::Resolve {
                host: host.to_owned(),
                source,
            })?
            .collect();
        // `localhost` often resolves to ::1 first, while servers here listen on 127.0.0.1.
        let addr = addrs
            .iter()
            .find(|addr| addr.is_ipv4())
            .or(addrs.first())
            .copied()
            .ok_or_else(|| EndpointError::NoAddress {
                host: host.to_owned(),
            })?;
        let host = HeaderValue::from_str(authority.as_str()).map_err(|_| unsupported())?;
        Ok(Endpoint { addr, host })
    }

    /// An endpoint for an address already known (a server this process started on port 0).
    pub fn from_addr(addr: SocketAddr) -> Endpoint {
        let host = HeaderValue::try_from(addr.to_string())
            .expect("a socket address is always a valid header value");
        Endpoint { addr, host }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn host(&self) -> &HeaderValue {
        &self.host
    }
}

/// A JSON request body prepared once and sent many times, with its `Content-Length`.
#[derive(Clone, Debug)]
pub struct JsonBody {
    bytes: Bytes,
    length: HeaderValue,
}

impl JsonBody {
    pub fn new(bytes: Bytes) -> JsonBody {
        let length = HeaderValue::from(bytes.len());
        JsonBody { bytes, length }
    }

    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }
}

/// A credential header (`Cookie: sid=...`, `Authorization: Bearer ...`), built once per login.
#[derive(Clone, Debug)]
pub struct AuthHeader {
    pub name: HeaderName,
    pub value: HeaderValue,
}

/// Whether the caller needs the response's headers and body, or only its size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    /// Read and count, then drop.
    Drain,
    /// Keep the headers and the whole body (login, refresh).
    Keep,
}

/// One request to make.
#[derive(Clone, Copy, Debug)]
pub struct Call<'a> {
    pub method: &'a Method,
    /// Origin form: `/user/balance`.
    pub path: &'a Uri,
    pub auth: Option<&'a AuthHeader>,
    /// Sent as `application/json`. POST requests without one still carry `Content-Length: 0`.
    pub body: Option<&'a JsonBody>,
    pub response_body: Body,
}

/// An answer, whatever its status.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// When the last byte of the body had been read.
    pub finished: Instant,
    /// With [`Body::Keep`] only.
    pub kept: Option<KeptResponse>,
}

#[derive(Debug)]
pub struct KeptResponse {
    pub headers: HeaderMap,
    pub body: Bytes,
}

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

static ZERO_LENGTH: HeaderValue = HeaderValue::from_static("0");
static APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");

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

    /// Closes the socket; the next request opens a new one.
    pub fn close(&mut self) {
        self.open = None;
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
            None => connect(self.endpoint.addr).await?,
        };
        let open = self.open.insert(open);
        let request = build_request(call, &self.endpoint.host);
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

fn build_request(call: &Call<'_>, host: &HeaderValue) -> Request<Full<Bytes>> {
    let mut headers = HeaderMap::with_capacity(4);
    headers.insert(HOST, host.clone());
    match call.body {
        Some(body) => {
            headers.insert(CONTENT_TYPE, APPLICATION_JSON.clone());
            headers.insert(CONTENT_LENGTH, body.length.clone());
        }
        // Without it hyper would decide, and the byte count would have to guess.
        None if call.method == Method::POST => {
            headers.insert(CONTENT_LENGTH, ZERO_LENGTH.clone());
        }
        None => {}
    }
    if let Some(auth) = call.auth {
        headers.insert(auth.name.clone(), auth.value.clone());
    }
    let body = call.body.map(|body| body.bytes.clone()).unwrap_or_default();
    let mut request = Request::new(Full::new(body));
    *request.method_mut() = call.method.clone();
    *request.uri_mut() = call.path.clone();
    *request.headers_mut() = headers;
    request
}

/// `METHOD SP path SP HTTP/1.1 CRLF`, `name: value CRLF` per header, `CRLF`, body.
fn request_size(request: &Request<Full<Bytes>>, body: Option<&JsonBody>) -> u64 {
    let target = request
        .uri()
        .path_and_query()
        .map_or(1, |path| path.as_str().len());
    let line = request.method().as_str().len() + 1 + target + 1 + "HTTP/1.1\r\n".len();
    let body = body.map_or(0, |body| body.bytes.len());
    (line + headers_size(request.headers()) + 2 + body) as u64
}

/// `HTTP/1.1 SP code SP reason CRLF`, `name: value CRLF` per header, `CRLF`.
fn response_head_size(status: StatusCode, headers: &HeaderMap) -> u64 {
    let reason = status.canonical_reason().unwrap_or("");
    let line = "HTTP/1.1 ".len() + 3 + 1 + reason.len() + 2;
    (line + headers_size(headers) + 2) as u64
}

fn headers_size(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .map(|(name, value)| name.as_str().len() + 2 + value.len() + 2)
        .sum()
}

fn protocol(error: impl std::fmt::Display) -> ErrorKind {
    tracing::debug!(%error, "request failed");
    ErrorKind::Protocol
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn endpoint_takes_only_a_plain_http_base_url() {
        let endpoint = Endpoint::resolve("http://127.0.0.1:8080/").await.unwrap();
        assert_eq!(endpoint.addr(), "127.0.0.1:8080".parse().unwrap());
        assert_eq!(endpoint.host(), "127.0.0.1:8080");
        let default_port = Endpoint::resolve("http://localhost").await.unwrap();
        assert_eq!(default_port.addr().port(), 80);
        assert_eq!(default_port.host(), "localhost");
        let v6 = Endpoint::resolve("http://[::1]:9000").await.unwrap();
        assert_eq!(v6.addr(), "[::1]:9000".parse().unwrap());
        for bad in [
            "https://127.0.0.1",
            "http://127.0.0.1/api",
            "http://u:p@127.0.0.1",
            "127.0.0.1:80",
            "http://127.0.0.1?x=1",
        ] {
            assert!(Endpoint::resolve(bad).await.is_err(), "{bad}");
        }
    }

    #[test]
    fn request_size_is_what_goes_on_the_wire() {
        let path = Uri::from_static("/login");
        let body = JsonBody::new(Bytes::from_static(br#"{"username":"u","password":"p"}"#));
        let call = Call {
            method: &Method::POST,
            path: &path,
            auth: None,
            body: Some(&body),
            response_body: Body::Keep,
        };
        let request = build_request(&call, &HeaderValue::from_static("h:1"));
        let wire = "POST /login HTTP/1.1\r\nhost: h:1\r\ncontent-type: application/json\r\n\
                    content-length: 31\r\n\r\n{\"username\":\"u\",\"password\":\"p\"}";
        assert_eq!(request_size(&request, Some(&body)), wire.len() as u64);
    }

    #[test]
    fn response_head_size_counts_status_line_and_headers() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_LENGTH, HeaderValue::from_static("2"));
        let wire = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n";
        assert_eq!(
            response_head_size(StatusCode::OK, &headers),
            wire.len() as u64
        );
    }
}
