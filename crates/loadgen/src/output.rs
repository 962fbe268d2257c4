//! The results folder of one run: `results/<scenario>-<UTC time>/` with `report.json`,
//! `hdr/*.hlog` (HdrHistogram interval logs, one interval per turn) and `logs/` (each server's
//! output). Everything is written atomically, so an interrupted run never leaves a torn file.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use hdrhistogram::Histogram;
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot create the results folder {path}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot encode a histogram for {what}: {message}")]
    Encode { what: String, message: String },
    #[error(transparent)]
    Write(#[from] authbench_report::Error),
}

/// The folders of one run.
#[derive(Clone, Debug)]
pub struct RunDir {
    pub root: PathBuf,
    pub hdr: PathBuf,
    pub logs: PathBuf,
    /// Scratch files (main_DB, SQLite stores, credentials): removed when the run ends.
    pub data: PathBuf,
}

impl RunDir {
    /// Creates `<results>/<scenario>-<YYYYMMDDTHHMMSSZ>` (with a numeric suffix if that exists).
    pub fn create(results: &Path, scenario: &str, started: SystemTime) -> Result<RunDir, Error> {
        let stamp: String = humantime::format_rfc3339_seconds(started)
            .to_string()
            .chars()
            .filter(|c| !matches!(c, '-' | ':'))
            .collect();
        let mut root = results.join(format!("{scenario}-{stamp}"));
        let mut suffix = 1;
        while root.exists() {
            suffix += 1;
            root = results.join(format!("{scenario}-{stamp}-{suffix}"));
        }
        let dir = RunDir {
            hdr: root.join("hdr"),
            logs: root.join("logs"),
            data: root.join("data"),
            root,
        };
        for path in [&dir.hdr, &dir.logs, &dir.data] {
            std::fs::create_dir_all(path).map_err(|source| Error::Create {
                path: path.clone(),
                source,
            })?;
        }
        Ok(dir)
    }

    pub fn report_json(&self) -> PathBuf {
        self.root.join("report.json")
    }

    /// Drops the scratch folder; the measurements stay.
    pub fn remove_data(&self) {
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

/// One interval of an hlog file: a turn's histogram.
#[derive(Clone, Debug)]
pub struct Interval {
    /// Since the run started.
    pub start: Duration,
    pub duration: Duration,
    /// `step<i>-load<x>-r<repeat>`: no commas or spaces (the format forbids them).
    pub tag: String,
    pub histogram: Histogram<u64>,
}

/// Writes one HdrHistogram interval log (values in microseconds).
pub fn write_hlog(
    path: &Path,
    started: SystemTime,
    comment: &str,
    intervals: &[Interval],
) -> Result<(), Error> {
    let encode_error = |message: String| Error::Encode {
        what: path.display().to_string(),
        message,
    };
    let mut bytes = Vec::new();
    let mut serializer = V2DeflateSerializer::new();
    {
        let mut builder = IntervalLogWriterBuilder::new();
        builder
            .add_comment(comment)
            .add_comment("values in microseconds")
            .with_start_time(started)
            .with_base_time(started)
            // The Java tools read values as nanoseconds and report milliseconds; with values in
            // microseconds this divisor keeps the max column in milliseconds.
            .with_max_value_divisor(1000.0);
        let mut writer = builder
            .begin_log_with(&mut bytes, &mut serializer)
            .map_err(|error| encode_error(error.to_string()))?;
        for interval in intervals {
            let tag = Tag::new(&interval.tag);
            writer
                .write_histogram(&interval.histogram, interval.start, interval.duration, tag)
                .map_err(|error| encode_error(format!("{error:?}")))?;
        }
    }
    authbench_report::write_atomic(path, &bytes)?;
    Ok(())
}

/// A histogram as report.json carries it; see [`authbench_report::histogram::encode`].
pub fn encode_histogram(histogram: &Histogram<u64>) -> Result<String, Error> {
    authbench_report::histogram::encode(histogram).map_err(|message| Error::Encode {
        what: "report.json".into(),
        message,
    })
}

pub use authbench_report::histogram::latency;

#[cfg(test)]
mod tests {
    use super::*;
    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};

    #[test]
    fn hlog_round_trips_through_the_interval_log_reader() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.hlog");
        let mut histogram = Histogram::<u64>::new(3).unwrap();
        histogram.record(1234).unwrap();
        histogram.record(99).unwrap();
        let interval = Interval {
            start: Duration::from_secs(2),
            duration: Duration::from_secs(5),
            tag: "step0-load8-r0".into(),
            histogram,
        };
        write_hlog(&path, SystemTime::now(), "sys balance", &[interval]).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let histograms: Vec<_> = IntervalLogIterator::new(&bytes)
            .filter_map(|entry| match entry {
                Ok(LogEntry::Interval(h)) => Some(h),
                _ => None,
            })
            .collect();
        assert_eq!(histograms.len(), 1);
        assert_eq!(histograms[0].tag().unwrap().as_str(), "step0-load8-r0");
        assert_eq!(histograms[0].duration(), Duration::from_secs(5));
    }

    #[test]
    fn latency_of_an_empty_histogram_is_all_zero() {
        let histogram = Histogram::<u64>::new(3).unwrap();
        assert_eq!(latency(&histogram).p99_us, 0);
        assert_eq!(latency(&histogram).count, 0);
    }

    #[test]
    fn run_dirs_never_collide() {
        let dir = tempfile::tempdir().unwrap();
        let now = SystemTime::now();
        let a = RunDir::create(dir.path(), "q", now).unwrap();
        let b = RunDir::create(dir.path(), "q", now).unwrap();
        assert_ne!(a.root, b.root);
        assert!(a.hdr.is_dir() && b.logs.is_dir());
    }
}
