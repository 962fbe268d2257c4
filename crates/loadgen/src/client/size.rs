//! Byte counts: HTTP/1.1 message sizes computed from the head and body, as the [`super`] module
//! documentation describes, rather than counted on the socket.

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::Full;

use super::RequestBody;

/// `METHOD SP path SP HTTP/1.1 CRLF`, `name: value CRLF` per header, `CRLF`, body.
pub(super) fn request_size(request: &Request<Full<Bytes>>, body: Option<&RequestBody>) -> u64 {
    let target = request
        .uri()
        .path_and_query()
        .map_or(1, |path| path.as_str().len());
    let line = request.method().as_str().len() + 1 + target + 1 + "HTTP/1.1\r\n".len();
    let body = body.map_or(0, |body| body.bytes().len());
    (line + headers_size(request.headers()) + 2 + body) as u64
}

/// `HTTP/1.1 SP code SP reason CRLF`, `name: value CRLF` per header, `CRLF`.
pub(super) fn response_head_size(status: StatusCode, headers: &HeaderMap) -> u64 {
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
