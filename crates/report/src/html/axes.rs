//! Chart axes: linear or log (values are mapped to log10 before plotters sees them), with ticks
//! chosen here rather than by plotters, so log axes read 100 µs, 1 ms, 10 ms.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};

use super::charts::{Axis, Scale};

/// One axis after its scale is settled: values go through `forward` before plotters sees them.
pub struct Frame {
    log: bool,
    pub low: f64,
    pub high: f64,
    ticks: Vec<f64>,
    light: Vec<f64>,
}

impl Frame {
    pub fn new(axis: &Axis, values: &[f64]) -> Frame {
        let positive: Vec<f64> = values
            .iter()
            .copied()
            .filter(|v| *v > 0.0 && v.is_finite())
            .collect();
        let (min, max) = positive
            .iter()
            .fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
                (lo.min(*v), hi.max(*v))
            });
        let log = match axis.scale {
            Scale::Log => !positive.is_empty(),
            Scale::Linear => false,
            Scale::Auto => !positive.is_empty() && max / min > 20.0,
        };
        if log {
            // At least a decade, so that a flat curve still gets two labelled ticks.
            let middle = (min.log10() + max.log10()) / 2.0;
            let half = ((max.log10() - min.log10()) / 2.0 + 0.08).max(0.5);
            let (low, high) = (middle - half, middle + half);
            let (ticks, light) = match &axis.ticks {
                Some(given) => (
                    given
                        .iter()
                        .filter(|t| **t > 0.0)
                        .map(|t| t.log10())
                        .collect(),
                    Vec::new(),
                ),
                None => log_ticks(low, high),
            };
            Frame {
                log,
                low,
                high,
                ticks,
                light,
            }
        } else {
            let finite = values.iter().copied().filter(|v| v.is_finite());
            let max = finite.fold(0.0f64, f64::max);
            let (low, high) = match &axis.ticks {
                Some(given) if !given.is_empty() => {
                    let lo = given.iter().copied().fold(f64::INFINITY, f64::min);
                    let hi = given.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let pad = ((hi - lo) * 0.04).max(0.5);
                    (lo - pad, hi + pad)
                }
                _ => (0.0, if max > 0.0 { max * 1.12 } else { 1.0 }),
            };
            let ticks = axis
                .ticks
                .clone()
                .unwrap_or_else(|| linear_ticks(low, high));
            Frame {
                log,
                low,
                high,
                ticks,
                light: Vec::new(),
            }
        }
    }

    pub fn forward(&self, value: f64) -> Option<f64> {
        match self.log {
            true if value > 0.0 => Some(value.log10()),
            true => None,
            false => Some(value),
        }
    }

    pub fn back(&self, value: f64) -> f64 {
        if self.log { 10f64.powf(value) } else { value }
    }

    pub fn axis(&self) -> Ticked {
        Ticked {
            low: self.low,
            high: self.high,
            ticks: self.ticks.clone(),
            light: self.light.clone(),
        }
    }
}

/// A linear axis with exactly the ticks given: plotters' own picks round numbers, which on a
/// log-transformed axis would be 10^0.5 and the like.
pub struct Ticked {
    low: f64,
    high: f64,
    ticks: Vec<f64>,
    light: Vec<f64>,
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let span = self.high - self.low;
        if span <= 0.0 {
            return (limit.0 + limit.1) / 2;
        }
        let share = (value - self.low) / span;
        limit.0 + (share * f64::from(limit.1 - limit.0)).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.light.clone()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.low..self.high
    }
}

/// Ticks at 1, 2 and 5 of each decade (fewer where the range is wide), light lines between.
fn log_ticks(low: f64, high: f64) -> (Vec<f64>, Vec<f64>) {
    let decades = high - low;
    let steps: &[f64] = if decades > 4.0 {
        &[1.0]
    } else if decades > 1.5 {
        &[1.0, 3.0]
    } else {
        &[1.0, 2.0, 5.0]
    };
    let (mut ticks, mut light) = (Vec::new(), Vec::new());
    for exponent in (low.floor() as i32)..=(high.ceil() as i32) {
        for multiple in 1..10 {
            let position = (f64::from(multiple) * 10f64.powi(exponent)).log10();
            if position < low || position > high {
                continue;
            }
            if steps.contains(&f64::from(multiple)) {
                ticks.push(position);
            } else {
                light.push(position);
            }
        }
    }
    (ticks, light)
}

/// Five or so ticks at round numbers.
fn linear_ticks(low: f64, high: f64) -> Vec<f64> {
    let raw = (high - low) / 5.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|step| *step >= raw)
        .unwrap_or(magnitude * 10.0);
    let mut ticks = Vec::new();
    let mut tick = (low / step).ceil() * step;
    while tick <= high + step * 1e-9 {
        ticks.push(tick);
        tick += step;
    }
    ticks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_ticks_are_round() {
        assert_eq!(linear_ticks(0.0, 11.2), vec![0.0, 2.5, 5.0, 7.5, 10.0]);
    }

    #[test]
    fn log_ticks_cover_the_range_at_one_two_five() {
        let (ticks, light) = log_ticks(2.0, 3.0);
        let values: Vec<i64> = ticks
            .iter()
            .map(|t| 10f64.powf(*t).round() as i64)
            .collect();
        assert_eq!(values, vec![100, 200, 500, 1000]);
        assert_eq!(light.len(), 6);
    }
}
