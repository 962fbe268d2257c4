//! Settings the command line changes (`authbench run --step-duration 1s ...`). They are applied
//! to the file as read, before validation, so an override is checked by the same rules as the
//! key it replaces, and a refused one is named by its flag.

use super::error::Problem;
use super::file::{LoadFile, ScenarioFile, TimingFile};

/// The command line's replacements, as typed (validation judges them, like the file's keys).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `--step-duration`: replaces `timing.step_duration`.
    pub step_duration: Option<String>,
    /// `--warmup`: replaces `timing.warmup`.
    pub warmup: Option<String>,
    /// `--repeats`: replaces `timing.repeats`.
    pub repeats: Option<i64>,
    /// `--steps`: keeps only the first N steps of `load.vus` or `load.flows_per_second`.
    pub steps: Option<i64>,
}

impl Overrides {
    /// `key=value` for each override, as report.json records them.
    pub fn applied(&self) -> Vec<String> {
        let mut applied = Vec::new();
        for (flag, value) in self.given() {
            applied.push(format!(
                "{}={value}",
                flag.trim_start_matches("--").replace('-', "_")
            ));
        }
        applied
    }

    /// (flag, value) of every override given.
    fn given(&self) -> Vec<(&'static str, String)> {
        let mut given = Vec::new();
        if let Some(value) = &self.step_duration {
            given.push(("--step-duration", value.clone()));
        }
        if let Some(value) = &self.warmup {
            given.push(("--warmup", value.clone()));
        }
        if let Some(value) = self.repeats {
            given.push(("--repeats", value.to_string()));
        }
        if let Some(value) = self.steps {
            given.push(("--steps", value.to_string()));
        }
        given
    }

    /// Writes the overrides into `file`. A `--steps` out of range is a problem of its own: it
    /// names no key of the file.
    pub(super) fn apply(&self, file: &mut ScenarioFile) -> Vec<(String, String)> {
        let timing = || TimingFile {
            step_duration: None,
            warmup: None,
            repeats: None,
        };
        if let Some(value) = &self.step_duration {
            file.timing.get_or_insert_with(timing).step_duration = Some(value.clone());
        }
        if let Some(value) = &self.warmup {
            file.timing.get_or_insert_with(timing).warmup = Some(value.clone());
        }
        if let Some(value) = self.repeats {
            file.timing.get_or_insert_with(timing).repeats = Some(value);
        }
        match self.steps {
            Some(steps) if steps < 1 => vec![(
                "--steps".to_owned(),
                format!("{steps} is out of range; run at least 1 step"),
            )],
            Some(steps) => {
                let keep = usize::try_from(steps).unwrap_or(usize::MAX);
                if let Some(LoadFile {
                    vus,
                    flows_per_second,
                    ..
                }) = file.load.as_mut()
                {
                    vus.iter_mut().for_each(|steps| steps.truncate(keep));
                    flows_per_second
                        .iter_mut()
                        .for_each(|steps| steps.truncate(keep));
                }
                Vec::new()
            }
            None => Vec::new(),
        }
    }

    /// A problem with a key the command line set is the flag's: it has no line in the file.
    pub(super) fn attribute(&self, problem: &mut Problem) {
        let flag = match problem.key.as_str() {
            "timing.step_duration" if self.step_duration.is_some() => "--step-duration",
            "timing.warmup" if self.warmup.is_some() => "--warmup",
            "timing.repeats" if self.repeats.is_some() => "--repeats",
            _ => return,
        };
        problem.key = format!("{flag} (replacing {})", problem.key);
        problem.line = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applied_overrides_read_as_keys_and_values() {
        let overrides = Overrides {
            step_duration: Some("1s".into()),
            warmup: None,
            repeats: Some(2),
            steps: Some(3),
        };
        assert_eq!(
            overrides.applied(),
            ["step_duration=1s", "repeats=2", "steps=3"]
        );
    }

    #[test]
    fn problems_with_overridden_keys_name_the_flag_and_no_line() {
        let overrides = Overrides {
            step_duration: Some("0s".into()),
            ..Overrides::default()
        };
        let mut problem = Problem {
            key: "timing.step_duration".into(),
            line: Some(18),
            message: "\"0s\" is zero".into(),
        };
        overrides.attribute(&mut problem);
        assert_eq!(
            problem.key,
            "--step-duration (replacing timing.step_duration)"
        );
        assert_eq!(problem.line, None);
    }
}
