//! Latency targets as people write them on the command line (`p99<50ms`,
//! `p99.9<=200ms,errors<0.1%`), and whether one system at one step met one, judged from the
//! latencies the run measured rather than from the run's own `slo_met` (which used the
//! scenario's target, not necessarily this one).

use std::fmt;
use std::time::Duration;

use hdrhistogram::Histogram;

use crate::format::{latency_compact, trim_number, trim_number_to};
use crate::model::{Flag, Latency, Operation, OperationStats, Slo, SystemStep};

mod parse;

pub use parse::{SloParseError, error_rate, latency};

/// How a measured figure must relate to its limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    /// `<`: strictly below the limit.
    Below,
    /// `<=`: at most the limit.
    AtMost,
}

impl Bound {
    fn admits(self, measured: f64, limit: f64) -> bool {
        match self {
            Bound::Below => measured < limit,
            Bound::AtMost => measured <= limit,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Bound::Below => "<",
            Bound::AtMost => "<=",
        }
    }
}

/// A latency percentile target, with an optional error-rate limit and operation list.
#[derive(Clone, Debug, PartialEq)]
pub struct SloTarget {
    /// In (0, 100): 99.9 means p99.9.
    pub percentile: f64,
    pub latency: Duration,
    pub latency_bound: Bound,
    /// A share in [0, 1]; `None`: the run's own SLO error rate applies.
    pub max_error_rate: Option<f64>,
    pub error_bound: Bound,
    /// The operations whose latency counts; empty: the run's SLO operations.
    pub operations: Vec<Operation>,
}

impl Default for SloTarget {
    /// `p99<50ms`, on the run's SLO operations and error rate: the scenarios' own default.
    fn default() -> Self {
        SloTarget {
            percentile: 99.0,
            latency: Duration::from_millis(50),
            latency_bound: Bound::Below,
            max_error_rate: None,
            error_bound: Bound::AtMost,
            operations: Vec::new(),
        }
    }
}

/// What one system at one step measured against a target.
#[derive(Clone, Debug, PartialEq)]
pub struct SloVerdict {
    pub met: bool,
    /// The target's percentile of the SLO operations' latency; `None` when none of them ran.
    pub latency_us: Option<u64>,
    /// Where `latency_us` was read: a field of report.json, or the decoded histogram.
    pub latency_source: String,
    /// Errors over requests, every operation.
    pub error_rate: f64,
    pub max_error_rate: f64,
}

impl fmt::Display for SloVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.latency_us {
            Some(us) => write!(
                f,
                "{} = {}",
                self.latency_source,
                latency_compact(us as f64)
            )?,
            None => write!(f, "no latency ({})", self.latency_source)?,
        }
        write!(
            f,
            ", errors {}%",
            trim_number_to(self.error_rate * 100.0, 3)
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SloError {
    #[error("{system}: the {operation} histogram cannot be decoded ({reason})")]
    Histogram {
        system: String,
        operation: &'static str,
        reason: String,
    },
}

impl SloTarget {
    /// A run's own SLO as a target: at most its latency at its percentile on its operations, and
    /// at most its error rate.
    pub fn of_run(slo: &Slo) -> SloTarget {
        SloTarget {
            percentile: slo.percentile,
            latency: Duration::from_micros(slo.latency_us),
            latency_bound: Bound::AtMost,
            max_error_rate: Some(slo.max_error_rate),
            error_bound: Bound::AtMost,
            operations: slo.operations.clone(),
        }
    }

    /// The operations this target judges: its own, or else the run's SLO operations.
    pub fn operations_for<'a>(&'a self, run_slo: &'a Slo) -> &'a [Operation] {
        if self.operations.is_empty() {
            &run_slo.operations
        } else {
            &self.operations
        }
    }

    /// The error-rate limit: the target's own, or else the run's.
    pub fn error_limit(&self, run_slo: &Slo) -> f64 {
        self.max_error_rate.unwrap_or(run_slo.max_error_rate)
    }

    /// Judges one system at one step. Latency counts the SLO operations together (their
    /// histograms merged when there are several, as `authbench run` judges its own SLO); errors
    /// count every operation, since a failed login fails the user as surely as a failed read.
    pub fn evaluate(&self, step: &SystemStep, run_slo: &Slo) -> Result<SloVerdict, SloError> {
        let judged: Vec<&OperationStats> = self
            .operations_for(run_slo)
            .iter()
            .filter_map(|op| step.operations.iter().find(|stats| stats.operation == *op))
            .filter(|stats| stats.latency.count > 0)
            .collect();
        let (latency_us, latency_source) = self.measure(step, &judged)?;
        let error_rate = if step.requests == 0 {
            0.0
        } else {
            step.errors as f64 / step.requests as f64
        };
        let max_error_rate = self.error_limit(run_slo);
        let down = step
            .flags
            .iter()
            .any(|flag| matches!(flag, Flag::SystemDown { .. }));
        let latency_limit = self.latency.as_secs_f64() * 1e6;
        let met = step.requests > 0
            && !down
            && latency_us.is_some_and(|us| self.latency_bound.admits(us as f64, latency_limit))
            && self.error_bound.admits(error_rate, max_error_rate);
        Ok(SloVerdict {
            met,
            latency_us,
            latency_source,
            error_rate,
            max_error_rate,
        })
    }

    fn measure(
        &self,
        step: &SystemStep,
        judged: &[&OperationStats],
    ) -> Result<(Option<u64>, String), SloError> {
        let percentile = trim_number(self.percentile);
        match judged {
            [] => Ok((None, "none of the SLO operations succeeded".into())),
            [single] => match latency_field(&single.latency, self.percentile) {
                Some((field, value)) => Ok((
                    Some(value),
                    format!("{}.latency.{field}", single.operation.as_str()),
                )),
                None => {
                    let histogram = decode_histogram(step, single)?;
                    let value = histogram.value_at_quantile(self.percentile / 100.0);
                    let name = single.operation.as_str();
                    Ok((
                        Some(value),
                        format!("p{percentile} of the {name} histogram"),
                    ))
                }
            },
            several => {
                let mut merged: Option<Histogram<u64>> = None;
                for stats in several {
                    let histogram = decode_histogram(step, stats)?;
                    match merged.as_mut() {
                        None => merged = Some(histogram),
                        Some(total) => {
                            total.add(&histogram).map_err(|error| SloError::Histogram {
                                system: step.system.clone(),
                                operation: stats.operation.as_str(),
                                reason: format!("{error:?}"),
                            })?;
                        }
                    }
                }
                let names: Vec<&str> = several.iter().map(|s| s.operation.as_str()).collect();
                let value = merged.map(|h| h.value_at_quantile(self.percentile / 100.0));
                let source = format!("p{percentile} of the merged {} histograms", names.join("+"));
                Ok((value, source))
            }
        }
    }
}

/// The report.json field holding `percentile`, when it has one.
fn latency_field(latency: &Latency, percentile: f64) -> Option<(&'static str, u64)> {
    [
        (50.0, "p50_us", latency.p50_us),
        (90.0, "p90_us", latency.p90_us),
        (99.0, "p99_us", latency.p99_us),
        (99.9, "p999_us", latency.p999_us),
        (99.99, "p9999_us", latency.p9999_us),
    ]
    .into_iter()
    .find(|(at, _, _)| (at - percentile).abs() < 1e-9)
    .map(|(_, field, value)| (field, value))
}

/// Decodes an operation's histogram, naming the system and operation when it can't be read.
pub fn decode_histogram(
    step: &SystemStep,
    stats: &OperationStats,
) -> Result<Histogram<u64>, SloError> {
    crate::histogram::decode(&stats.histogram).map_err(|error| SloError::Histogram {
        system: step.system.clone(),
        operation: stats.operation.as_str(),
        reason: error.to_string(),
    })
}
