//! Scenarios: a TOML file, parsed, then validated into a typed [`Scenario`].
//!
//! # Layout
//!
//! - `file`: the file as serde reads it, key for key; unknown keys are errors.
//! - `validate`, with `load`, `sections` and `systems`: defaults, ranges and cross-key rules,
//!   into [`Scenario`]; `checker` collects the problems.
//! - `mapping`: [`Mapping`], a flow on a service's own routes; `mapping_check` checks
//!   `[systems.mapping]` into one.
//! - `faults`: `[[faults]]`, against each system's run-owned store within every turn.
//! - `env`: `${VAR}` and `${VAR:-default}` in URLs.
//! - `values`: single values (durations, error rates, URLs) and why one is refused.
//! - `location`: key paths to lines, so every message points at what to fix.
//! - `overrides`: [`Overrides`], the command line's changes, applied before validation.
//! - `error`: [`Error`], which names the file, the line and the key.

mod checker;
mod env;
mod error;
mod faults;
mod file;
mod load;
mod location;
mod mapping;
mod mapping_check;
mod model;
mod overload;
mod overrides;
mod population;
mod resource;
mod sections;
mod stores;
mod systems;
mod validate;
mod values;

use std::path::Path;

use toml::de::DeTable;

pub use env::{ExpandError, expand};
pub use error::{Error, Problem};
pub use mapping::*;
pub use model::*;
pub use overrides::Overrides;

use checker::Lookup;
use file::ScenarioFile;
use location::{Locator, line_column};

/// Reads and validates the scenario at `path`.
pub fn load(path: &Path) -> Result<Scenario, Error> {
    load_with(path, &Overrides::default())
}

/// Reads the scenario at `path`, applies `overrides` to it, and validates the result once.
pub fn load_with(path: &Path, overrides: &Overrides) -> Result<Scenario, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })?;
    parse_with_env(path, &text, overrides, &env::process_env)
}

/// Validates scenario `text`, as if read from `path`: `path` appears in messages, gives the
/// default name (its stem), and is where a relative `credentials_csv` is found from.
/// `${VAR}` references read the process environment.
pub fn parse(path: &Path, text: &str) -> Result<Scenario, Error> {
    parse_with_env(path, text, &Overrides::default(), &env::process_env)
}

/// [`parse`], with `${VAR}` references looked up by `lookup` instead of in the process
/// environment.
pub fn parse_with_lookup(
    path: &Path,
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Scenario, Error> {
    parse_with_env(path, text, &Overrides::default(), lookup)
}

/// [`parse`], with `overrides` applied and environment variables looked up by `lookup`.
pub(crate) fn parse_with_env(
    path: &Path,
    text: &str,
    overrides: &Overrides,
    lookup: Lookup<'_>,
) -> Result<Scenario, Error> {
    let root = DeTable::parse(text).map_err(|error| {
        let (line, column) = line_column(text, error.span().map_or(0, |span| span.start));
        Error::Syntax {
            path: path.to_owned(),
            line,
            column,
            message: error.message().trim_end().to_owned(),
        }
    })?;
    let locator = Locator::new(root.into_inner(), text);
    let invalid = |problems: Vec<(String, String)>| Error::Invalid {
        path: path.to_owned(),
        problems: problems
            .into_iter()
            .map(|(key, message)| {
                let mut problem = Problem {
                    line: locator.line_of(&key),
                    key,
                    message,
                };
                overrides.attribute(&mut problem);
                problem
            })
            .collect(),
    };
    let mut file: ScenarioFile = toml::from_str(text).map_err(|error| {
        let offset = error.span().map_or(0, |span| span.start);
        let key = locator.key_at(offset);
        let line = error.span().map(|span| line_column(text, span.start).0);
        Error::Invalid {
            path: path.to_owned(),
            problems: vec![Problem {
                key,
                line,
                message: in_toml_terms(error.message().trim_end()),
            }],
        }
    })?;
    // A refused override is listed with the file's own problems, not instead of them.
    let mut problems = overrides.apply(&mut file);
    match validate::validate(file, path, text, lookup) {
        Ok(scenario) if problems.is_empty() => Ok(scenario),
        Ok(_) => Err(invalid(problems)),
        Err(more) => {
            problems.extend(more);
            Err(invalid(problems))
        }
    }
}

/// serde speaks of fields, variants and sequences; the reader of a TOML file knows keys, values
/// and arrays.
fn in_toml_terms(serde_message: &str) -> String {
    serde_message
        .replace("unknown field `", "unknown key `")
        .replace("unknown variant `", "unknown value `")
        .replace(", expected one of ", "; allowed: ")
        .replace("expected a sequence", "expected an array")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCENARIO: &str = r#"
description = "d"
main_db = "${MAIN_DB_URL:-sqlite}"

[users]
accounts = 4

[flow]
balances_per_login = 1

[load]
model = "closed"
vus = [1]

[timing]
step_duration = "1s"

[[systems]]
name = "s"
kind = "session"
store = "redis://${REDIS_HOST:-127.0.0.1}:6379"
"#;

    fn env_with_hosts(name: &str) -> Option<String> {
        match name {
            "REDIS_HOST" => Some("10.0.0.6".to_owned()),
            "MAIN_DB_URL" => Some("postgres://app@10.0.0.7/main".to_owned()),
            _ => None,
        }
    }

    #[test]
    fn set_variables_replace_their_defaults_in_urls() {
        let scenario = parse_with_env(
            Path::new("s.toml"),
            SCENARIO,
            &Overrides::default(),
            &env_with_hosts,
        );
        let scenario = scenario.map_err(|error| error.to_string());
        let store = scenario.as_ref().map(|s| s.systems[0].target.clone());
        let expected = Target::Spawned(Server::Session {
            store: StoreSpec::Redis {
                url: "redis://10.0.0.6:6379".into(),
            },
            touch: None,
            ttl: None,
            idle_timeout: None,
        });
        assert_eq!(store, Ok(expected));
        assert_eq!(
            scenario.map(|s| s.main_db),
            Ok(MainDb::Postgres {
                url: "postgres://app@10.0.0.7/main".into()
            })
        );
    }

    #[test]
    fn unset_variables_fall_back_to_their_defaults() {
        let scenario = parse_with_env(
            Path::new("s.toml"),
            SCENARIO,
            &Overrides::default(),
            &|_| None,
        );
        let scenario = scenario.map_err(|error| error.to_string());
        assert_eq!(scenario.map(|s| s.main_db), Ok(MainDb::Sqlite));
    }
}
