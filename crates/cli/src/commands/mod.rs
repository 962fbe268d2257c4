//! One module per subcommand: each turns parsed flags into library calls and prints the outcome.

pub mod keygen;
pub mod populate;
pub mod relay;
pub mod report;
pub mod run;
pub mod seed;
pub mod serve;

use authbench_core::password::Cost;

use crate::args::Argon2Args;

impl Argon2Args {
    pub fn cost(&self) -> Cost {
        Cost {
            memory_kib: self.argon2_memory_kib,
            iterations: self.argon2_iterations,
            parallelism: self.argon2_parallelism,
        }
    }
}
