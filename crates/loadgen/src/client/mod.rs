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
//!
//! # Layout
//!
//! - `endpoint`: [`Endpoint`], the base URL resolved once, and why one is refused.
//! - `call`: what a caller sends and gets back ([`Call`], [`RequestBody`], [`Reply`]), and the
//!   hyper request built from a call.
//! - `connection`: [`Connection`], the socket, the exchange and the request timeout.
//! - `size`: the byte counts above.

mod call;
mod connection;
mod endpoint;
mod size;

pub use call::{AuthHeader, Body, Call, KeptResponse, Reply, RequestBody};
pub use connection::Connection;
pub use endpoint::Endpoint;

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

#[cfg(test)]
mod tests;
