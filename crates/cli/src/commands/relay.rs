//! `authbench relay`: a delay relay in a process of its own, so that a run can pin it and count
//! its CPU apart from the load generator's and the servers'.

use std::io::{Read as _, Write as _};

use anyhow::Context as _;
use authbench_launch::relay::DelayRelay;

use crate::args::RelayArgs;

pub fn run(args: &RelayArgs) -> anyhow::Result<()> {
    let relay = DelayRelay::start(args.target, args.rtt)
        .with_context(|| format!("cannot start a relay to {}", args.target))?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening on {}", relay.address())?;
    stdout.flush()?;
    if args.exit_with_stdin {
        // Returns at end of file: the run that started us has gone.
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        return Ok(());
    }
    loop {
        std::thread::park();
    }
}
