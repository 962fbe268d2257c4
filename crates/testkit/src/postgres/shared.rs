//! The cluster shared by every test of a test process, and its end when the process exits.

use std::any::Any;
use std::fs;
use std::panic;
use std::sync::OnceLock;

use super::PostgresServer;
use authbench_launch::process;

static SHARED: OnceLock<Result<PostgresServer, String>> = OnceLock::new();

impl PostgresServer {
    /// The cluster shared by every test in this process, started on first use: `initdb` costs
    /// too much to run per test. Tests isolate themselves with [`Self::fresh_database`].
    ///
    /// Statics are never dropped, so an exit handler stops it and removes its temp dir. If the
    /// process is killed instead, the kernel stops the server (`PR_SET_PDEATHSIG`, set from a
    /// thread that lives as long as the process) and the next run removes the temp dir.
    ///
    /// # Panics
    ///
    /// When the cluster cannot be started; every later call panics with the same reason, at
    /// once, instead of running `initdb` again.
    pub fn shared() -> &'static PostgresServer {
        let started = SHARED.get_or_init(|| {
            let started = panic::catch_unwind(PostgresServer::start).map_err(panic_text);
            if started.is_ok() {
                process::at_exit(stop_shared_at_exit);
            }
            started
        });
        match started {
            Ok(server) => server,
            Err(why) => panic!("the shared PostgreSQL cluster could not be started: {why}"),
        }
    }
}

/// Stops the shared cluster (immediate shutdown) and removes its temp dir. It runs from
/// `atexit`, after every test has finished, and must not panic.
extern "C" fn stop_shared_at_exit() {
    if let Some(Ok(server)) = SHARED.get() {
        server.stop_now();
        let _ = fs::remove_dir_all(server.dir());
    }
}

fn panic_text(payload: Box<dyn Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(text) => *text,
        Err(payload) => payload
            .downcast_ref::<&str>()
            .map_or("(no message)", |text| text)
            .into(),
    }
}
