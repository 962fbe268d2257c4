//! What can be wrong with a scenario file. Every message names the file, and where it can, the
//! line and the dotted key, so the reader can go straight to what to fix.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read scenario file {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}:{line}:{column}: TOML syntax error: {message}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// The file is valid TOML but not a valid scenario; every problem found is listed.
    #[error("{}", Problems { path, problems })]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

/// One thing wrong with one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Dotted path of the key, e.g. `systems[1].store` or `load.vus[3]`.
    pub key: String,
    /// Where the key (or, when it is missing, its table) is in the file, from 1.
    pub line: Option<usize>,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl Problem {
    fn render(&self, path: &Path, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if self.key.is_empty() {
            write!(f, ": {}", self.message)
        } else {
            write!(f, ": {}: {}", self.key, self.message)
        }
    }
}

/// One problem on one line; several as a count followed by one indented line each.
struct Problems<'a> {
    path: &'a Path,
    problems: &'a [Problem],
}

impl fmt::Display for Problems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problems {
            [] => write!(f, "{}: invalid scenario", self.path.display()),
            [only] => only.render(self.path, f),
            many => {
                write!(f, "{}: {} problems:", self.path.display(), many.len())?;
                for problem in many {
                    write!(f, "\n  ")?;
                    problem.render(self.path, f)?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(key: &str, line: Option<usize>, message: &str) -> Problem {
        Problem {
            key: key.to_owned(),
            line,
            message: message.to_owned(),
        }
    }

    #[test]
    fn single_problem_is_one_line_with_path_line_and_key() {
        let error = Error::Invalid {
            path: "s.toml".into(),
            problems: vec![problem("load.vus[1]", Some(7), "must rise")],
        };
        assert_eq!(error.to_string(), "s.toml:7: load.vus[1]: must rise");
    }

    #[test]
    fn several_problems_are_counted_and_listed() {
        let error = Error::Invalid {
            path: "s.toml".into(),
            problems: vec![
                problem("description", None, "is required"),
                problem("timing.repeats", Some(3), "must be at least 1"),
            ],
        };
        assert_eq!(
            error.to_string(),
            "s.toml: 2 problems:\n  s.toml: description: is required\n  \
             s.toml:3: timing.repeats: must be at least 1"
        );
    }
}
