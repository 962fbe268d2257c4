//! [`RedisServer`]: one throwaway `redis-server` per test, without persistence, that a test can
//! stop and restart on the same port to play a store outage. It is the product's launcher
//! ([`authbench_launch::RedisServer`]) with panics instead of errors: tests must fail, not skip,
//! when the store they exercise cannot be had.

use std::ops::{Deref, DerefMut};

use authbench_launch::RedisSettings;

/// A `redis-server` on 127.0.0.1, killed (and its temp dir removed) when dropped.
#[derive(Debug)]
pub struct RedisServer(authbench_launch::RedisServer);

impl RedisServer {
    /// Starts `redis-server` on a free 127.0.0.1 port (no persistence, in its own temp dir) and
    /// returns once it answers `PING`.
    ///
    /// # Panics
    ///
    /// When `redis-server` is missing or does not come up; the message carries its log tail.
    pub fn start() -> RedisServer {
        Self::start_with(&RedisSettings::default())
    }

    /// [`start`](Self::start) with settings (a CPU cap, say).
    ///
    /// # Panics
    ///
    /// As [`start`](Self::start).
    pub fn start_with(settings: &RedisSettings) -> RedisServer {
        match authbench_launch::RedisServer::start(settings) {
            Ok(server) => RedisServer(server),
            Err(error) => panic!("{}", authbench_contract::error::Chain(&error)),
        }
    }

    /// Stops the server (see the launcher's `stop`); named here so tests can pass it as a
    /// function.
    pub fn stop(&mut self) {
        self.0.stop();
    }

    /// Starts the server again on the same port; the data is gone.
    ///
    /// # Panics
    ///
    /// When the port stays taken for 10 s or the server fails to start.
    pub fn restart(&mut self) {
        if let Err(error) = self.0.restart() {
            panic!("{}", authbench_contract::error::Chain(&error));
        }
    }
}

impl Deref for RedisServer {
    type Target = authbench_launch::RedisServer;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl DerefMut for RedisServer {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

/// A Redis Cluster of throwaway nodes (the product's launcher, with panics instead of errors).
#[derive(Debug)]
pub struct RedisCluster(authbench_launch::RedisCluster);

impl RedisCluster {
    /// Starts `masters` nodes (at least three), joins them and returns once every node serves
    /// every slot.
    ///
    /// # Panics
    ///
    /// When `redis-server` or `redis-cli` is missing or the cluster does not form.
    pub fn start(masters: usize) -> RedisCluster {
        match authbench_launch::RedisCluster::start(masters, &RedisSettings::default()) {
            Ok(cluster) => RedisCluster(cluster),
            Err(error) => panic!("{}", authbench_contract::error::Chain(&error)),
        }
    }
}

impl Deref for RedisCluster {
    type Target = authbench_launch::RedisCluster;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}
