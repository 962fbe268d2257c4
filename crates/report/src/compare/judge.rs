//! Deltas between two measured figures, and the rules that decide which of them are
//! regressions (see the module documentation of [`crate::compare`] for the rules in prose).

use std::collections::BTreeMap;

use crate::model::{OperationStats, RepeatStats, Slo, SystemStep};

use super::{OperationComparison, StepComparison};

/// What a change beyond the threshold means, or that there was none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Within the threshold, or a figure that is shown but not judged.
    Steady,
    /// Better by more than the threshold.
    Improved,
    /// Beyond the threshold, but the runs' per-repeat ranges overlap: not counted.
    WithinNoise,
    /// Worse by more than the threshold, outside the repeats' spread.
    Regression,
    /// A percentile beyond the threshold, but a run held too few requests beyond that
    /// percentile ([`MIN_TAIL_SAMPLES`]) for it to be more than a handful of samples: not counted.
    TooFewSamples,
}

/// A latency percentile is judged only where each run has at least this many requests beyond
/// it: p99 needs 1,000 requests. Below that the "p99" is one of the few slowest requests, and two
/// runs of the same build differ by 20-30% (measured: quickstart's logins at 8 VUs, ~500 per
/// step).
pub const MIN_TAIL_SAMPLES: f64 = 10.0;

/// The lowest and highest value a figure took over a run's repeats.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    pub min: f64,
    pub max: f64,
}

impl Spread {
    /// `None` for no values.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Spread> {
        values.into_iter().fold(None, |spread, value| {
            Some(match spread {
                None => Spread {
                    min: value,
                    max: value,
                },
                Some(Spread { min, max }) => Spread {
                    min: min.min(value),
                    max: max.max(value),
                },
            })
        })
    }

    pub fn overlaps(&self, other: &Spread) -> bool {
        self.min <= other.max && other.min <= self.max
    }
}

/// Which way a figure improves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Better {
    Lower,
    Higher,
}

/// One figure in both runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Delta {
    pub base: f64,
    pub new: f64,
    /// `new - base`.
    pub absolute: f64,
    /// `(new - base) / base`; `None` when `base` is zero.
    pub relative: Option<f64>,
    pub verdict: Verdict,
    /// The per-repeat ranges (base, new) the noise rule looked at, where the report has them.
    pub spread: Option<(Spread, Spread)>,
}

impl Delta {
    /// A figure shown for context, never judged.
    fn shown(base: f64, new: f64) -> Delta {
        Delta {
            base,
            new,
            absolute: new - base,
            relative: (base != 0.0).then(|| (new - base) / base),
            verdict: Verdict::Steady,
            spread: None,
        }
    }

    /// Judges a figure against the threshold, then the change against the repeats' spread.
    fn judged(
        base: f64,
        new: f64,
        better: Better,
        threshold: f64,
        spread: Option<(Spread, Spread)>,
    ) -> Delta {
        let mut delta = Delta::shown(base, new);
        delta.spread = spread;
        let worsening = match better {
            Better::Lower => new - base,
            Better::Higher => base - new,
        };
        // From zero, any growth is beyond every threshold.
        let relative_worsening = match delta.relative {
            Some(_) => worsening / base.abs(),
            None if worsening > 0.0 => f64::INFINITY,
            None if worsening < 0.0 => f64::NEG_INFINITY,
            None => 0.0,
        };
        delta.verdict = if relative_worsening.abs() <= threshold {
            Verdict::Steady
        } else if spread.is_some_and(|(base, new)| base.overlaps(&new)) {
            Verdict::WithinNoise
        } else if relative_worsening > 0.0 {
            Verdict::Regression
        } else {
            Verdict::Improved
        };
        delta
    }
}

/// The threshold and both runs' SLOs: everything a verdict depends on besides the figures.
#[derive(Debug)]
pub(super) struct Judge<'a> {
    pub threshold: f64,
    pub base_slo: &'a Slo,
    pub new_slo: &'a Slo,
}

impl Judge<'_> {
    pub fn step(
        &self,
        load: f64,
        base: &SystemStep,
        new: &SystemStep,
        operations: Vec<OperationComparison>,
    ) -> StepComparison {
        let throughput_spread =
            |result: &SystemStep| Spread::of(result.repeats.iter().map(|r| r.requests_per_second));
        let spread = throughput_spread(base).zip(throughput_spread(new));
        let cost = |pick: fn(&SystemStep) -> Option<f64>,
                    per_repeat: fn(&RepeatStats) -> Option<f64>| {
            let spread = repeat_spread(base, per_repeat).zip(repeat_spread(new, per_repeat));
            let (base, new) = (pick(base)?, pick(new)?);
            Some(Delta::judged(
                base,
                new,
                Better::Lower,
                self.threshold,
                spread,
            ))
        };
        StepComparison {
            system: new.system.clone(),
            load,
            requests_per_second: Delta::judged(
                base.requests_per_second,
                new.requests_per_second,
                Better::Higher,
                self.threshold,
                spread,
            ),
            store_operations_per_request: cost(
                |r| r.derived.store_operations_per_request,
                |r| r.store_operations_per_request,
            ),
            store_cpu_us_per_request: cost(
                |r| r.derived.store_cpu_us_per_request,
                |r| r.store_cpu_us_per_request,
            ),
            server_cpu_us_per_request: cost(
                |r| r.derived.server_cpu_us_per_request,
                |r| r.server_cpu_us_per_request,
            ),
            operations,
        }
    }

    pub fn operation(
        &self,
        (base_result, base): (&SystemStep, &OperationStats),
        (new_result, new): (&SystemStep, &OperationStats),
    ) -> OperationComparison {
        let latency = |percentile: f64,
                       pick: fn(&OperationStats) -> u64,
                       kept: fn(&RepeatStats) -> &BTreeMap<String, u64>| {
            let spread = self.percentile_spread(percentile, kept, base_result, new_result, base);
            let mut delta = Delta::judged(
                pick(base) as f64,
                pick(new) as f64,
                Better::Lower,
                self.threshold,
                spread,
            );
            let beyond = |op: &OperationStats| op.requests as f64 * (1.0 - percentile / 100.0);
            let few = beyond(base).min(beyond(new)) < MIN_TAIL_SAMPLES;
            if few && delta.verdict != Verdict::Steady {
                delta.verdict = Verdict::TooFewSamples;
            }
            delta
        };
        OperationComparison {
            operation: new.operation,
            requests_per_second: Delta::shown(base.requests_per_second, new.requests_per_second),
            p50_us: latency(50.0, |op| op.latency.p50_us, |r| &r.p50_us),
            p99_us: latency(99.0, |op| op.latency.p99_us, |r| &r.p99_us),
            p999_us: Delta::shown(base.latency.p999_us as f64, new.latency.p999_us as f64),
            error_rate: self.error_rate(error_rate(base), error_rate(new)),
        }
    }

    /// The repeats' spread of an operation's `percentile`, when both runs recorded it per
    /// repeat: in `kept` (p50, p99), or as their SLO percentile (older reports kept only that).
    fn percentile_spread(
        &self,
        percentile: f64,
        kept: fn(&RepeatStats) -> &BTreeMap<String, u64>,
        base: &SystemStep,
        new: &SystemStep,
        op: &OperationStats,
    ) -> Option<(Spread, Spread)> {
        let name = op.operation.as_str();
        let of = |result: &SystemStep, slo: &Slo| {
            let every_repeat = |values: Vec<u64>| {
                (!values.is_empty() && values.len() == result.repeats.len())
                    .then(|| Spread::of(values.into_iter().map(|us| us as f64)))
                    .flatten()
            };
            let kept: Vec<u64> = result
                .repeats
                .iter()
                .filter_map(|r| kept(r).get(name).copied())
                .collect();
            every_repeat(kept).or_else(|| {
                let is_slo = (slo.percentile - percentile).abs() < 1e-9;
                let slo_kept = result
                    .repeats
                    .iter()
                    .filter_map(|r| r.slo_percentile_us.get(name).copied());
                is_slo.then(|| every_repeat(slo_kept.collect())).flatten()
            })
        };
        of(base, self.base_slo).zip(of(new, self.new_slo))
    }

    /// Errors regress when the new rate breaks the new run's SLO error rate and grew beyond the
    /// threshold; a relative rule alone would flag 1 error in a million becoming 2.
    fn error_rate(&self, base: f64, new: f64) -> Delta {
        let limit = self.new_slo.max_error_rate;
        let mut delta = Delta::shown(base, new);
        delta.verdict = if new > limit && new > base * (1.0 + self.threshold) {
            Verdict::Regression
        } else if base > limit && new <= limit {
            Verdict::Improved
        } else {
            Verdict::Steady
        };
        delta
    }
}

/// The spread of a per-repeat figure, when every repeat of the step has it.
fn repeat_spread(result: &SystemStep, pick: fn(&RepeatStats) -> Option<f64>) -> Option<Spread> {
    let values: Option<Vec<f64>> = result.repeats.iter().map(pick).collect();
    Spread::of(values?)
}

fn error_rate(op: &OperationStats) -> f64 {
    let errors: u64 = op.errors.values().sum();
    if op.requests == 0 {
        0.0
    } else {
        errors as f64 / op.requests as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_at_the_threshold_is_steady_and_just_beyond_it_counts() {
        assert_eq!(
            Delta::judged(100.0, 90.0, Better::Higher, 0.10, None).verdict,
            Verdict::Steady
        );
        assert_eq!(
            Delta::judged(100.0, 89.0, Better::Higher, 0.10, None).verdict,
            Verdict::Regression
        );
        assert_eq!(
            Delta::judged(100.0, 111.0, Better::Higher, 0.10, None).verdict,
            Verdict::Improved
        );
        assert_eq!(
            Delta::judged(100.0, 111.0, Better::Lower, 0.10, None).verdict,
            Verdict::Regression
        );
    }

    #[test]
    fn growth_from_zero_is_beyond_any_threshold() {
        let delta = Delta::judged(0.0, 0.5, Better::Lower, 0.10, None);
        assert_eq!((delta.relative, delta.verdict), (None, Verdict::Regression));
        assert_eq!(
            Delta::judged(0.0, 0.0, Better::Lower, 0.10, None).verdict,
            Verdict::Steady
        );
    }

    #[test]
    fn overlapping_repeat_ranges_turn_a_change_into_noise() {
        let base = Spread::of([95.0, 105.0]).expect("values");
        let touching = Spread::of([80.0, 95.0]).expect("values");
        let apart = Spread::of([80.0, 94.0]).expect("values");
        let judged =
            |new: Spread| Delta::judged(100.0, 85.0, Better::Higher, 0.10, Some((base, new)));
        assert_eq!(judged(touching).verdict, Verdict::WithinNoise);
        assert_eq!(judged(apart).verdict, Verdict::Regression);
        assert_eq!(Spread::of(std::iter::empty()), None);
    }

    #[test]
    fn errors_regress_only_above_the_slo_rate() {
        let slo = Slo {
            percentile: 99.0,
            latency_us: 50_000,
            max_error_rate: 0.001,
            operations: Vec::new(),
        };
        let judge = Judge {
            threshold: 0.10,
            base_slo: &slo,
            new_slo: &slo,
        };
        assert_eq!(judge.error_rate(0.0, 0.0005).verdict, Verdict::Steady);
        assert_eq!(judge.error_rate(0.0, 0.002).verdict, Verdict::Regression);
        assert_eq!(judge.error_rate(0.05, 0.052).verdict, Verdict::Steady);
        assert_eq!(judge.error_rate(0.05, 0.0).verdict, Verdict::Improved);
    }
}
