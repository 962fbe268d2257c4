//! nginx as a balancer in front of two tiny HTTP servers: round-robin reaches both, sticky
//! routing keeps a client connection on one replica, and nginx dies with its handle.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;

use authbench_launch::{BalancerRouting, NginxBalancer};

/// A server that answers every request with `name` and closes the connection.
fn named_server(name: &'static str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let mut stream = stream;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{name}",
                name.len()
            );
        }
    });
    address
}

fn get(balancer: &NginxBalancer) -> String {
    let mut stream = TcpStream::connect(balancer.address()).unwrap();
    write!(
        stream,
        "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    answer.rsplit("\r\n\r\n").next().unwrap().to_owned()
}

/// `count` requests on one kept-alive connection; the name each answer carries.
fn on_one_connection(balancer: &NginxBalancer, count: usize) -> Vec<String> {
    let stream = TcpStream::connect(balancer.address()).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    (0..count)
        .map(|_| {
            write!(writer, "GET / HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
            let mut length = 0;
            let mut line = String::new();
            loop {
                line.clear();
                reader.read_line(&mut line).unwrap();
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap();
                }
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            String::from_utf8(body).unwrap()
        })
        .collect()
}

#[test]
fn round_robin_reaches_every_replica_and_sticky_keeps_a_connection_on_one() {
    let upstreams = [named_server("a"), named_server("b")];
    let balancer = NginxBalancer::start(&upstreams, BalancerRouting::RoundRobin, None)
        .unwrap_or_else(|error| panic!("{error}: {error:?}"));
    let answers: Vec<String> = (0..4).map(|_| get(&balancer)).collect();
    assert!(
        answers.contains(&"a".to_owned()) && answers.contains(&"b".to_owned()),
        "{answers:?}"
    );
    assert!(
        balancer.version().starts_with("nginx/"),
        "{}",
        balancer.version()
    );

    let sticky = NginxBalancer::start(&upstreams, BalancerRouting::Sticky, None).unwrap();
    for _ in 0..4 {
        let answers = on_one_connection(&sticky, 6);
        assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
    }
    let pid = sticky.pid().expect("running");
    drop(sticky);
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "nginx outlived its handle"
    );
}
