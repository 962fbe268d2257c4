//! Where requests go: a base URL parsed and resolved once, before any load.

use std::net::SocketAddr;

use http::{HeaderValue, Uri};

/// A base URL that can't be used as an endpoint.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error("{url:?} is not a base URL")]
    Malformed {
        url: String,
        source: http::uri::InvalidUri,
    },
    #[error("{url:?}: only http://host[:port] is supported (no https, path, query or user info)")]
    Unsupported { url: String },
    #[error("cannot resolve {host}")]
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
