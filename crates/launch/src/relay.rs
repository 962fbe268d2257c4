//! A TCP relay that puts a network distance between the servers and a store: every chunk read
//! from one side is written to the other half a round trip later, in order, without limiting
//! throughput (a pipelining client keeps many chunks in flight, as on a real link). It stands in
//! for `netem`, which this kind of kernel may lack; the run records that this emulation ran and
//! the round trip measured through it.
//!
//! Each connection gets a reader and a writer thread per direction: blocking sockets and
//! `thread::sleep` hold a delay to tens of microseconds, where an async timer rounds up to a
//! millisecond.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

/// How much one read takes off a socket.
const CHUNK: usize = 64 * 1024;
/// Sleeping is coarse; the last stretch before a deadline is spent yielding.
const SPIN: Duration = Duration::from_micros(200);

/// A running relay: connections to [`DelayRelay::address`] are forwarded to the target.
#[derive(Debug)]
pub struct DelayRelay {
    address: SocketAddr,
    rtt: Duration,
    stopped: Arc<AtomicBool>,
    counters: Arc<Counters>,
}

/// What the relay has carried.
#[derive(Debug, Default)]
pub struct Counters {
    pub connections: AtomicU64,
    pub bytes: AtomicU64,
}

impl DelayRelay {
    /// Listens on a free 127.0.0.1 port and forwards every connection to `target`, each
    /// direction held for `rtt / 2`.
    pub fn start(target: SocketAddr, rtt: Duration) -> io::Result<DelayRelay> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        let address = listener.local_addr()?;
        let stopped = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(Counters::default());
        let one_way = rtt / 2;
        let (stop, count) = (stopped.clone(), counters.clone());
        thread::Builder::new()
            .name("relay-accept".into())
            .spawn(move || {
                for client in listener.incoming() {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let Ok(client) = client else { continue };
                    count.connections.fetch_add(1, Ordering::Relaxed);
                    // A target that refuses is the client's error to see: it is closed at once.
                    if let Ok(server) = TcpStream::connect(target) {
                        let _ = connect(client, server, one_way, &count);
                    }
                }
            })?;
        Ok(DelayRelay {
            address,
            rtt,
            stopped,
            counters,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The round trip asked for.
    pub fn rtt(&self) -> Duration {
        self.rtt
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }
}

impl Drop for DelayRelay {
    fn drop(&mut self) {
        self.stopped.store(true, Ordering::Relaxed);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.address);
    }
}

fn connect(
    client: TcpStream,
    server: TcpStream,
    one_way: Duration,
    counters: &Arc<Counters>,
) -> io::Result<()> {
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let (client_reader, server_writer) = (client.try_clone()?, server.try_clone()?);
    pipe(client_reader, server_writer, one_way, counters.clone())?;
    pipe(server, client, one_way, counters.clone())
}

/// One direction: a reader stamping each chunk with when it may leave, a writer sending it then.
fn pipe(
    from: TcpStream,
    to: TcpStream,
    delay: Duration,
    counters: Arc<Counters>,
) -> io::Result<()> {
    let (chunks, queued) = mpsc::channel::<(Instant, Vec<u8>)>();
    let mut reader = from;
    thread::Builder::new()
        .name("relay-read".into())
        .spawn(move || {
            let mut buffer = vec![0u8; CHUNK];
            loop {
                match reader.read(&mut buffer) {
                    Ok(0) | Err(_) => return, // dropping `chunks` ends the writer once it drains
                    Ok(n) => {
                        counters.bytes.fetch_add(n as u64, Ordering::Relaxed);
                        if chunks
                            .send((Instant::now() + delay, buffer[..n].to_vec()))
                            .is_err()
                        {
                            return;
                        }
                    }
                }
            }
        })?;
    let mut writer = to;
    thread::Builder::new()
        .name("relay-write".into())
        .spawn(move || {
            for (due, chunk) in queued {
                wait_until(due);
                if writer.write_all(&chunk).is_err() {
                    break;
                }
            }
            // The other side closed: pass the close on, after the data before it.
            let _ = writer.shutdown(Shutdown::Write);
        })?;
    Ok(())
}

/// Sleeps until shortly before `due`, then yields until it.
fn wait_until(due: Instant) {
    loop {
        let now = Instant::now();
        if now >= due {
            return;
        }
        let left = due - now;
        if left > SPIN {
            thread::sleep(left - SPIN);
        } else {
            thread::yield_now();
        }
    }
}

/// `authbench relay` in a process of its own (pinned where asked, its CPU countable apart from
/// the load generator's), stopped when dropped, when its stdin closes, or when we die.
#[derive(Debug)]
pub struct RelayProcess {
    address: SocketAddr,
    rtt: Duration,
    child: std::process::Child,
}

impl RelayProcess {
    /// Runs `exe relay --target TARGET --rtt RTT` on `cores` and waits for its address.
    pub fn start(
        exe: &std::path::Path,
        target: SocketAddr,
        rtt: Duration,
        cores: Option<Vec<usize>>,
    ) -> Result<RelayProcess, crate::Error> {
        use std::io::BufRead as _;
        let failed = |why: String| crate::Error::Failed {
            server: format!("the delay relay to {target}"),
            why,
        };
        let mut command = std::process::Command::new(exe);
        command
            .args(["relay", "--target", &target.to_string()])
            .arg("--rtt")
            .arg(format!("{}us", rtt.as_micros()))
            .arg("--exit-with-stdin")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit());
        let mut placement = crate::process::Placement::new(crate::process::SIGKILL);
        placement.cores = cores;
        let mut child = crate::process::spawn(command, placement)
            .map_err(|error| failed(format!("cannot run {}: {error}", exe.display())))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| failed("no stdout".into()))?;
        let mut line = String::new();
        let _ = io::BufReader::new(stdout).read_line(&mut line);
        let address = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|address| address.parse().ok());
        match address {
            Some(address) => Ok(RelayProcess {
                address,
                rtt,
                child,
            }),
            None => {
                crate::process::stop_child(&mut child, crate::process::SIGKILL, Duration::ZERO);
                Err(failed(format!("it did not say where it listens: {line:?}")))
            }
        }
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn rtt(&self) -> Duration {
        self.rtt
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        crate::process::stop_child(&mut self.child, crate::process::SIGKILL, Duration::ZERO);
    }
}
