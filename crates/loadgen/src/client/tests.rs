use bytes::Bytes;
use http::header::CONTENT_LENGTH;
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};

use super::call::build_request;
use super::size::{request_size, response_head_size};
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
    let body = RequestBody::new(
        Bytes::from_static(br#"{"username":"u","password":"p"}"#),
        HeaderValue::from_static("application/json"),
    );
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
