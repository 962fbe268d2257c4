//! What a person watching a run sees: on a terminal, one live line (step, system, req/s, p99,
//! errors) redrawn in place; elsewhere (CI logs, pipes), one plain line per finished turn.

use std::io::IsTerminal as _;
use std::time::Duration;

use authbench_report::format::latency_compact;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Live figures of the turn in progress.
#[derive(Clone, Copy, Debug, Default)]
pub struct Rates {
    pub requests_per_second: f64,
    pub p99: Duration,
    pub errors: u64,
}

#[derive(Clone, Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
    current: String,
}

impl Progress {
    /// `turns`: how many system turns the run will take (steps x repeats x systems).
    pub fn new(turns: u64) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(Some(turns), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template("[{elapsed_precise}] {pos}/{len} turns {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(250));
            bar
        });
        Progress {
            bar,
            current: String::new(),
        }
    }

    /// A line that stays (setup steps, faults), printed above the live line.
    pub fn note(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }

    /// A turn begins: `label` names the step and system, e.g. `vus=8 session-sqlite r1/2`.
    pub fn turn_started(&mut self, label: String) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!("{label} warming up"));
        }
        self.current = label;
    }

    /// The live figures, a few times a second.
    pub fn update(&self, rates: Rates) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!("{} {}", self.current, describe(rates)));
        }
    }

    /// A turn ended with these figures over its measured window.
    pub fn turn_finished(&self, rates: Rates) {
        match &self.bar {
            Some(bar) => bar.inc(1),
            None => eprintln!("{} {}", self.current, describe(rates)),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn describe(rates: Rates) -> String {
    format!(
        "{:>9.0} req/s  p99 {:>9}  errors {}",
        rates.requests_per_second,
        latency_compact(rates.p99.as_secs_f64() * 1e6),
        rates.errors
    )
}
