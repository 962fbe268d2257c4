//! Collects every problem in a scenario instead of stopping at the first, so one edit-and-retry
//! fixes them all. Each check returns `None` after recording why a value was refused.

use std::num::NonZeroU32;
use std::time::Duration;

use super::env::{ExpandError, expand};
use super::values;

/// Looks an environment variable up; the process environment outside tests.
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

pub struct Checker<'a> {
    lookup: Lookup<'a>,
    /// `(key, message)` in the order found.
    pub problems: Vec<(String, String)>,
}

impl<'a> Checker<'a> {
    pub fn new(lookup: Lookup<'a>) -> Self {
        Checker {
            lookup,
            problems: Vec::new(),
        }
    }

    pub fn problem(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.problems.push((key.into(), message.into()));
    }

    /// `value`, or a "missing" problem that says what the key is for.
    pub fn required<T>(&mut self, value: Option<T>, key: &str, purpose: &str) -> Option<T> {
        if value.is_none() {
            self.problem(key, format!("is missing; {purpose}"));
        }
        value
    }

    /// An optional key: `Some(None)` when it is absent, `None` when `check` refused its value.
    pub fn optional<T, U>(
        &mut self,
        value: Option<T>,
        check: impl FnOnce(&mut Self, T) -> Option<U>,
    ) -> Option<Option<U>> {
        match value {
            None => Some(None),
            Some(value) => check(self, value).map(Some),
        }
    }

    /// A count of at least `minimum` that fits a `u32`.
    pub fn count(&mut self, value: i64, key: &str, minimum: u32) -> Option<u32> {
        if value < i64::from(minimum) {
            self.problem(
                key,
                format!("{value} is too small; it must be at least {minimum}"),
            );
            return None;
        }
        let count = u32::try_from(value).ok();
        if count.is_none() {
            self.problem(
                key,
                format!("{value} is too large; it must be at most {}", u32::MAX),
            );
        }
        count
    }

    pub fn positive_count(&mut self, value: i64, key: &str) -> Option<NonZeroU32> {
        self.count(value, key, 1).and_then(NonZeroU32::new)
    }

    pub fn duration(&mut self, text: &str, key: &str) -> Option<Duration> {
        match values::duration(text) {
            Ok(duration) => Some(duration),
            Err(message) => {
                self.problem(key, message);
                None
            }
        }
    }

    /// A duration that must not be zero, with `purpose` saying why.
    pub fn positive_duration(&mut self, text: &str, key: &str, purpose: &str) -> Option<Duration> {
        let duration = self.duration(text, key)?;
        if duration.is_zero() {
            self.problem(
                key,
                format!("{text:?} is zero; {purpose}, so it must be above 0"),
            );
            return None;
        }
        Some(duration)
    }

    /// `${VAR}` references in a URL expanded, or a problem naming the variable and `purpose`, a
    /// phrase like "this system's Redis URL".
    pub fn expand_url(&mut self, text: &str, key: &str, purpose: &str) -> Option<String> {
        match expand(text, self.lookup) {
            Ok(expanded) => Some(expanded),
            Err(ExpandError::Unset { name }) => {
                self.problem(
                    key,
                    format!(
                        "environment variable {name} is not set; it gives {purpose} (set it, \
                         or write the URL in the file)"
                    ),
                );
                None
            }
            Err(ExpandError::Unterminated) => {
                self.problem(
                    key,
                    format!(
                        "{text:?} has a `${{` without its `}}`; write ${{VAR}} or ${{VAR:-default}}"
                    ),
                );
                None
            }
            Err(ExpandError::BadName { name }) => {
                self.problem(
                    key,
                    format!(
                        "`${{{name}}}` does not name an environment variable; names are letters, \
                         digits and `_`, not starting with a digit"
                    ),
                );
                None
            }
        }
    }

    /// The result of a [`values`] parser, recording its refusal under `key`.
    pub fn value<T>(&mut self, parsed: Result<T, String>, key: &str) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(message) => {
                self.problem(key, message);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn counts_below_the_minimum_or_above_u32_are_refused() {
        let mut checker = Checker::new(&no_env);
        assert_eq!(checker.count(0, "a", 1), None);
        assert_eq!(checker.count(-5, "b", 0), None);
        assert_eq!(checker.count(i64::from(u32::MAX) + 1, "c", 1), None);
        assert_eq!(checker.count(7, "d", 1), Some(7));
        let keys: Vec<_> = checker
            .problems
            .iter()
            .map(|(key, _)| key.as_str())
            .collect();
        assert_eq!(keys, ["a", "b", "c"]);
        assert!(checker.problems[0].1.contains("at least 1"));
        assert!(checker.problems[2].1.contains("at most"));
    }

    #[test]
    fn zero_duration_is_refused_where_it_must_be_positive() {
        let mut checker = Checker::new(&no_env);
        assert_eq!(
            checker.positive_duration("0s", "timing.step_duration", "x"),
            None
        );
        assert!(checker.problems[0].1.contains("is zero"));
    }

    #[test]
    fn unset_variable_message_names_it_and_its_purpose() {
        let mut checker = Checker::new(&no_env);
        let url = checker.expand_url("${AUTHBENCH_REDIS_URL}", "k", "this system's Redis URL");
        assert_eq!(url, None);
        assert_eq!(
            checker.problems[0].1,
            "environment variable AUTHBENCH_REDIS_URL is not set; it gives this system's Redis \
             URL (set it, or write the URL in the file)"
        );
    }
}
