//! What a launched server may use: a CPU cap the kernel enforces, and the cores it may run on.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::cgroup::{Controller, CpuGroup};
use crate::error::Error;

/// A server's CPU limits; the default is none.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Limits {
    /// The most CPU it may use, in cores (`0.1` is a tenth of one core), enforced by the
    /// kernel's CPU controller.
    pub cpus: Option<f64>,
    /// The cores it may run on.
    pub cores: Option<Vec<usize>>,
}

impl Limits {
    /// The capped group for a server called `server`, if the limits ask for a cap. A cap that
    /// cannot be had is an error: never run uncapped silently.
    pub(crate) fn group(&self, server: &str, kind: &str) -> Result<Option<CpuGroup>, Error> {
        let Some(cores) = self.cpus else {
            return Ok(None);
        };
        self.group_in(Controller::find(), server, kind, cores)
    }

    fn group_in(
        &self,
        controller: Result<Controller, crate::cgroup::CapError>,
        server: &str,
        kind: &str,
        cores: f64,
    ) -> Result<Option<CpuGroup>, Error> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let cap_error = |source| Error::Cap {
            server: server.to_owned(),
            cores,
            source,
        };
        let controller = controller.map_err(cap_error)?;
        let name = format!(
            "authbench-{kind}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        controller.cap(&name, cores).map(Some).map_err(cap_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroup::CapError;
    use std::error::Error as _;

    #[test]
    fn a_cap_without_a_controller_is_refused_naming_the_server() {
        let limits = Limits {
            cpus: Some(0.5),
            cores: None,
        };
        let error = limits
            .group_in(Err(CapError::NoController), "Redis", "redis", 0.5)
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "cannot cap Redis at 0.5 cores; refusing to run it uncapped"
        );
        assert!(
            error
                .source()
                .unwrap()
                .to_string()
                .starts_with("no CPU controller")
        );
    }

    #[test]
    fn no_cap_asked_means_no_group() {
        assert!(Limits::default().group("Redis", "redis").unwrap().is_none());
    }
}
