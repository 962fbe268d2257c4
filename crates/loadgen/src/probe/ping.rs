//! The round trip to a store, asked in its own protocol with nothing to look up: Redis `PING`,
//! or PostgreSQL's SSL request (answered with one byte before any login). What a relay in front
//! of a store adds is the difference between the round trip through it and the direct one.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(5);
/// The protocol's SSLRequest: length 8, then the code 80877103.
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

/// The median of `times` round trips to the store at `address`.
pub fn median_round_trip(
    address: SocketAddr,
    postgres: bool,
    times: usize,
) -> io::Result<Duration> {
    let mut samples = Vec::with_capacity(times);
    if postgres {
        for _ in 0..times {
            samples.push(postgres_round_trip(address)?);
        }
    } else {
        let mut stream = connect(address)?;
        // The first exchanges warm the connection's path; they are not counted.
        for index in 0..times + 5 {
            let sample = redis_round_trip(&mut stream)?;
            if index >= 5 {
                samples.push(sample);
            }
        }
    }
    samples.sort();
    Ok(samples[samples.len() / 2])
}

fn connect(address: SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&address, TIMEOUT)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    Ok(stream)
}

fn redis_round_trip(stream: &mut TcpStream) -> io::Result<Duration> {
    let started = Instant::now();
    stream.write_all(b"PING\r\n")?;
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply)?;
    let elapsed = started.elapsed();
    if &reply != b"+PONG\r\n" {
        return Err(io::Error::other(format!(
            "expected +PONG, got {:?}",
            String::from_utf8_lossy(&reply)
        )));
    }
    Ok(elapsed)
}

/// One SSL request on a fresh connection (the server answers it once per connection).
fn postgres_round_trip(address: SocketAddr) -> io::Result<Duration> {
    let mut stream = connect(address)?;
    // Let a relay finish setting the connection up, so that only the exchange is timed.
    thread::sleep(Duration::from_millis(5));
    let started = Instant::now();
    stream.write_all(&SSL_REQUEST)?;
    let mut reply = [0u8; 1];
    stream.read_exact(&mut reply)?;
    let elapsed = started.elapsed();
    match reply[0] {
        b'N' | b'S' => Ok(elapsed),
        other => Err(io::Error::other(format!(
            "expected N or S to an SSL request, got {other:#x}"
        ))),
    }
}
