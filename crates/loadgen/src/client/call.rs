//! What a caller asks for and gets back: a [`Call`] built from parts prepared once (bodies,
//! credential headers), turned into a hyper request per send; a [`Reply`] whatever its status.

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::Full;
use tokio::time::Instant;

/// A request body prepared once and sent many times, with its `Content-Type` and
/// `Content-Length`.
#[derive(Clone, Debug)]
pub struct RequestBody {
    bytes: Bytes,
    content_type: HeaderValue,
    length: HeaderValue,
}

impl RequestBody {
    pub fn new(bytes: Bytes, content_type: HeaderValue) -> RequestBody {
        let length = HeaderValue::from(bytes.len());
        RequestBody {
            bytes,
            content_type,
            length,
        }
    }

    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    #[cfg(test)]
    pub fn content_type(&self) -> &HeaderValue {
        &self.content_type
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
    /// POST requests without one still carry `Content-Length: 0`.
    pub body: Option<&'a RequestBody>,
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

static ZERO_LENGTH: HeaderValue = HeaderValue::from_static("0");

/// Every header is set here, Content-Length included, so hyper adds none and the byte count
/// (see [`super::size`]) sees exactly what goes on the wire.
pub(super) fn build_request(call: &Call<'_>, host: &HeaderValue) -> Request<Full<Bytes>> {
    let mut headers = HeaderMap::with_capacity(4);
    headers.insert(HOST, host.clone());
    match call.body {
        Some(body) => {
            headers.insert(CONTENT_TYPE, body.content_type.clone());
            headers.insert(CONTENT_LENGTH, body.length.clone());
        }
        // Without it hyper would decide, and the byte count would have to guess.
        None if call.method != Method::GET && call.method != Method::HEAD => {
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
