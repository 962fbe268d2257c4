//! Inputs no client library would send, over raw sockets: the server answers each with a 4xx or a
//! bounded-time 503, never hangs or panics, and keeps serving afterwards.

mod common;

use std::time::{Duration, Instant};

use common::{Backend, start, start_with};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Sends raw bytes and returns the status line of the answer ("" if the server just closed).
async fn raw(address: &str, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut response = Vec::new();
    let read =
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut response)).await;
    assert!(
        read.is_ok(),
        "no answer within 5 s to {:?}",
        String::from_utf8_lossy(&bytes[..bytes.len().min(60)])
    );
    String::from_utf8_lossy(&response)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_http_gets_4xx_and_the_server_keeps_serving() {
    let server = start(Backend::Memory).await;
    let address = server
        .target
        .base_url
        .trim_start_matches("http://")
        .to_owned();
    let cases: Vec<Vec<u8>> = vec![
        b"GARBAGE\r\n\r\n".to_vec(),
        b"GET /user/balance HTTP/9.9\r\n\r\n".to_vec(),
        b"GET /\xff\xfe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
        b"GET / HTTP/1.1\r\nHost: x\r\nBad Header Without Colon\r\n\r\n".to_vec(),
        b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n".to_vec(),
        b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhello".to_vec(),
        b"POST /login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nZZZ\r\n".to_vec(),
        [b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: ".as_slice(), &vec![b'a'; 64 * 1024], b"\r\n\r\n"].concat(),
        b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nConnection: close\r\n\r\n\x00\x01\x02\x03".to_vec(),
    ];
    for case in &cases {
        let status = raw(&address, case).await;
        let code: u16 = status
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        assert!(
            code == 0 || (400..500).contains(&code),
            "{status:?} for {:?}",
            String::from_utf8_lossy(&case[..case.len().min(60)])
        );
    }
    let healthy = raw(
        &address,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(healthy, "HTTP/1.1 200 OK");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_body_is_cut_off_by_the_request_timeout() {
    let server = start_with(Backend::Memory, |o| {
        o.common.request_timeout = Duration::from_millis(500)
    })
    .await;
    let address = server
        .target
        .base_url
        .trim_start_matches("http://")
        .to_owned();
    let mut stream = TcpStream::connect(&address).await.unwrap();
    // Promise 100 bytes, send 10, then stall.
    stream
        .write_all(b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"username\"")
        .await
        .unwrap();
    let started = Instant::now();
    let mut response = vec![0u8; 1024];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut response)).await;
    let n = read.expect("the server answered within 5 s").unwrap();
    let text = String::from_utf8_lossy(&response[..n]);
    assert!(text.starts_with("HTTP/1.1 503"), "{text}");
    assert!(text.contains(r#""error":"timeout""#), "{text}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
}
