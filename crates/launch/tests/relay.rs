//! The delay relay on loopback: the round trip through it is the one asked for, bytes arrive
//! whole and in order under pipelining, and it carries well over 10k round trips/s on one
//! connection at a 0.5 ms RTT (a link adds delay, not a throughput cap).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use authbench_launch::relay::DelayRelay;

/// The tests take turns: a round trip measured while the pipelining test saturates both cores
/// would measure the scheduler, not the relay.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// An echo server on a free port: writes back whatever it reads, per connection.
fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || {
                let mut stream = stream;
                stream.set_nodelay(true).unwrap();
                let mut buffer = [0u8; 65536];
                while let Ok(n) = stream.read(&mut buffer) {
                    if n == 0 || stream.write_all(&buffer[..n]).is_err() {
                        return;
                    }
                }
            });
        }
    });
    address
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

/// The median time for one byte to go out and come back on `address`.
fn round_trip(address: SocketAddr, times: usize) -> Duration {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_nodelay(true).unwrap();
    let mut byte = [0u8; 1];
    let samples = (0..times)
        .map(|_| {
            let started = Instant::now();
            stream.write_all(b"x").unwrap();
            stream.read_exact(&mut byte).unwrap();
            started.elapsed()
        })
        .collect();
    median(samples)
}

#[test]
fn the_round_trip_through_the_relay_is_the_one_asked_for() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let echo = echo_server();
    let direct = round_trip(echo, 200);
    for rtt in [Duration::from_micros(500), Duration::from_millis(2)] {
        let relay = DelayRelay::start(echo, rtt).unwrap();
        let allowed = (rtt / 10).max(Duration::from_micros(100));
        // The best of three medians: a host that delays this VM's threads for a while adds
        // its own wake-up lateness to one round, not to what the relay does.
        let rounds: Vec<Duration> = (0..3)
            .map(|_| round_trip(relay.address(), 200).saturating_sub(direct))
            .collect();
        eprintln!("relay rtt {rtt:?}: measured {rounds:?} beyond the direct {direct:?}");
        assert!(
            rounds
                .iter()
                .any(|measured| measured.abs_diff(rtt) <= allowed),
            "asked for {rtt:?}, measured {rounds:?} beyond the direct {direct:?}"
        );
    }
}

#[test]
fn pipelined_bytes_arrive_whole_and_in_order_without_a_throughput_cap() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let echo = echo_server();
    let relay = DelayRelay::start(echo, Duration::from_micros(500)).unwrap();
    let stream = TcpStream::connect(relay.address()).unwrap();
    stream.set_nodelay(true).unwrap();
    let mut reader = stream.try_clone().unwrap();
    let messages: u32 = 20_000;
    let started = Instant::now();
    let writer = thread::spawn(move || {
        let mut stream = stream;
        // 16-byte requests, 64 in flight at most: a pipelining client, not a bulk copy.
        for i in 0..messages {
            let message = format!("{i:015}\n");
            stream.write_all(message.as_bytes()).unwrap();
            if i % 64 == 63 {
                thread::sleep(Duration::from_micros(50));
            }
        }
        stream
    });
    let mut received = vec![0u8; messages as usize * 16];
    reader.read_exact(&mut received).unwrap();
    let elapsed = started.elapsed();
    drop(writer.join().unwrap());
    for (i, message) in received.chunks(16).enumerate() {
        assert_eq!(message, format!("{i:015}\n").as_bytes(), "message {i}");
    }
    let round_trips_per_second = f64::from(messages) / elapsed.as_secs_f64();
    assert!(
        round_trips_per_second > 10_000.0,
        "{round_trips_per_second:.0} round trips/s through a 0.5 ms relay"
    );
    assert_eq!(
        relay
            .counters()
            .bytes
            .load(std::sync::atomic::Ordering::Relaxed),
        2 * 16 * u64::from(messages)
    );
}
