//! The latency histograms report.json carries (HdrHistogram V2 + DEFLATE, base64): encoding and
//! decoding them, the percentiles a report shows, and the percentile spectrum the HTML report
//! draws from them.

use std::io::Cursor;

use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer as _, V2DeflateSerializer};

use crate::model::Latency;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("histogram is not base64: {0}")]
    Base64(#[from] base64::DecodeError),
    #[error("histogram is not HdrHistogram V2: {0:?}")]
    Decode(hdrhistogram::serialization::DeserializeError),
}

/// Decodes an `OperationStats::histogram` (latency in microseconds).
pub fn decode(encoded: &str) -> Result<Histogram<u64>, Error> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(encoded.trim())?;
    Deserializer::new()
        .deserialize(&mut Cursor::new(bytes))
        .map_err(Error::Decode)
}

/// A histogram as report.json carries it: V2 + DEFLATE, base64. The error is the encoder's.
pub fn encode(histogram: &Histogram<u64>) -> Result<String, String> {
    let mut bytes = Vec::new();
    V2DeflateSerializer::new()
        .serialize(histogram, &mut bytes)
        .map_err(|error| format!("{error:?}"))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// The percentiles report.json shows.
pub fn latency(histogram: &Histogram<u64>) -> Latency {
    let empty = histogram.is_empty();
    let at = |q: f64| {
        if empty {
            0
        } else {
            histogram.value_at_quantile(q)
        }
    };
    Latency {
        count: histogram.len(),
        min_us: if empty { 0 } else { histogram.min() },
        mean_us: histogram.mean(),
        stdev_us: histogram.stdev(),
        p50_us: at(0.50),
        p90_us: at(0.90),
        p99_us: at(0.99),
        p999_us: at(0.999),
        p9999_us: at(0.9999),
        max_us: if empty { 0 } else { histogram.max() },
    }
}

/// One point of a percentile spectrum.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SpectrumPoint {
    /// In [0, 1].
    pub quantile: f64,
    /// `1 / (1 - quantile)`: 2 at the median, 100 at p99. HdrHistogram plots tails on this axis
    /// (log scale) so that every extra nine gets the same width.
    pub x: f64,
    pub value_us: u64,
}

/// Ticks per half-distance to 100%, as HdrHistogram's own percentile output uses: enough points
/// for a smooth curve on a log axis, a few hundred at most.
const TICKS_PER_HALF_DISTANCE: u32 = 5;

/// The latency at each quantile, from the lowest (q = 0) to the maximum. The last
/// quantile (1.0) would be infinitely far right; it is drawn at `x = count`, the nearest a
/// sample count can resolve.
pub fn spectrum(histogram: &Histogram<u64>) -> Vec<SpectrumPoint> {
    if histogram.is_empty() {
        return Vec::new();
    }
    let x_max = histogram.len() as f64;
    let mut points: Vec<SpectrumPoint> = Vec::new();
    for step in histogram.iter_quantiles(TICKS_PER_HALF_DISTANCE) {
        let quantile = step.quantile_iterated_to();
        let x = if quantile >= 1.0 {
            x_max
        } else {
            (1.0 / (1.0 - quantile)).min(x_max)
        };
        let value_us = histogram.highest_equivalent(step.value_iterated_to());
        // The iterator revisits a value for every quantile tick inside one bucket; keep the last
        // of a run at the same x so the curve has no vertical repeats.
        match points.last_mut() {
            Some(last) if (last.x - x).abs() < f64::EPSILON => {
                *last = SpectrumPoint {
                    quantile,
                    x,
                    value_us,
                }
            }
            _ => points.push(SpectrumPoint {
                quantile,
                x,
                value_us,
            }),
        }
    }
    points
}

/// The label of a spectrum x position: 2 → "50%", 1000 → "99.9%".
pub fn quantile_label(x: f64) -> String {
    if x <= 1.0 {
        return "0%".to_owned();
    }
    let percent = 100.0 * (1.0 - 1.0 / x);
    // 10 → 90%, 100 → 99%, 1000 → 99.9%: one decimal per nine past the second.
    let decimals = (x.log10().round() as usize).saturating_sub(2);
    format!("{percent:.decimals$}%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_labels_show_every_nine() {
        assert_eq!(quantile_label(2.0), "50%");
        assert_eq!(quantile_label(10.0), "90%");
        assert_eq!(quantile_label(100.0), "99%");
        assert_eq!(quantile_label(1000.0), "99.9%");
        assert_eq!(quantile_label(100_000.0), "99.999%");
    }

    #[test]
    fn spectrum_of_an_empty_histogram_is_empty() {
        let histogram = Histogram::<u64>::new(3).expect("a valid precision");
        assert!(spectrum(&histogram).is_empty());
    }

    #[test]
    fn spectrum_rises_and_ends_at_the_maximum() {
        let mut histogram = Histogram::<u64>::new(3).expect("a valid precision");
        for value in 1..=10_000u64 {
            histogram.record(value).expect("in range");
        }
        let points = spectrum(&histogram);
        assert!(points.windows(2).all(|pair| pair[0].x < pair[1].x));
        assert!(
            points
                .windows(2)
                .all(|pair| pair[0].value_us <= pair[1].value_us)
        );
        let last = points.last().expect("points");
        assert_eq!(last.value_us, histogram.highest_equivalent(histogram.max()));
    }
}
