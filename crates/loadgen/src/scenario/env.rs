//! `${VAR}` and `${VAR:-default}` in URLs, so that one scenario file can name a store that lives
//! at a different address on each machine (and keep passwords out of the file).
//!
//! A `$` that does not start `${` is kept as written: URLs may contain `$` in a password.

/// Why a string could not be expanded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExpandError {
    /// `${NAME}` without a default, and `NAME` is unset or empty.
    Unset { name: String },
    /// `${` with no closing `}`.
    Unterminated,
    /// What is between `${` and `}` (or `:-`) is not a variable name.
    BadName { name: String },
}

/// Replaces every `${NAME}` and `${NAME:-default}` in `text`, looking variables up with `lookup`.
/// As in a shell, an empty variable counts as unset, so `${NAME:-default}` gives the default.
pub fn expand(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, ExpandError> {
    let mut expanded = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        expanded.push_str(&rest[..start]);
        let after_open = &rest[start + 2..];
        let end = after_open.find('}').ok_or(ExpandError::Unterminated)?;
        let reference = &after_open[..end];
        let (name, default) = match reference.split_once(":-") {
            Some((name, default)) => (name, Some(default)),
            None => (reference, None),
        };
        if !is_variable_name(name) {
            return Err(ExpandError::BadName {
                name: name.to_owned(),
            });
        }
        match (lookup(name).filter(|value| !value.is_empty()), default) {
            (Some(value), _) => expanded.push_str(&value),
            (None, Some(default)) => expanded.push_str(default),
            (None, None) => {
                return Err(ExpandError::Unset {
                    name: name.to_owned(),
                });
            }
        }
        rest = &after_open[end + 1..];
    }
    expanded.push_str(rest);
    Ok(expanded)
}

/// The names a shell accepts: a letter or `_`, then letters, digits and `_`.
fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The process environment, as [`expand`] wants it.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_env(name: &str) -> Option<String> {
        match name {
            "REDIS_HOST" => Some("10.0.0.6".to_owned()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    fn expand_fake(text: &str) -> Result<String, ExpandError> {
        expand(text, &fake_env)
    }

    #[test]
    fn text_without_references_is_unchanged() {
        assert_eq!(
            expand_fake("redis://127.0.0.1:6379"),
            Ok("redis://127.0.0.1:6379".into())
        );
    }

    #[test]
    fn set_variable_is_substituted_in_place() {
        assert_eq!(
            expand_fake("redis://${REDIS_HOST}:6379/0"),
            Ok("redis://10.0.0.6:6379/0".into())
        );
    }

    #[test]
    fn set_variable_wins_over_its_default() {
        assert_eq!(
            expand_fake("${REDIS_HOST:-localhost}"),
            Ok("10.0.0.6".into())
        );
    }

    #[test]
    fn unset_variable_takes_its_default() {
        assert_eq!(
            expand_fake("${AUTHBENCH_REDIS_URL:-redis://127.0.0.1:6379}"),
            Ok("redis://127.0.0.1:6379".into())
        );
    }

    #[test]
    fn empty_variable_counts_as_unset() {
        assert_eq!(expand_fake("${EMPTY:-fallback}"), Ok("fallback".into()));
        assert_eq!(
            expand_fake("${EMPTY}"),
            Err(ExpandError::Unset {
                name: "EMPTY".into()
            })
        );
    }

    #[test]
    fn empty_default_is_allowed() {
        assert_eq!(expand_fake("a${MISSING:-}b"), Ok("ab".into()));
    }

    #[test]
    fn unset_variable_without_default_names_the_variable() {
        assert_eq!(
            expand_fake("redis://${AUTHBENCH_REDIS_HOST}:6379"),
            Err(ExpandError::Unset {
                name: "AUTHBENCH_REDIS_HOST".into()
            })
        );
    }

    #[test]
    fn several_references_in_one_string_all_expand() {
        assert_eq!(
            expand_fake("postgres://${USER_X:-postgres}@${REDIS_HOST}/${DB:-test}"),
            Ok("postgres://postgres@10.0.0.6/test".into())
        );
    }

    #[test]
    fn dollar_without_brace_is_kept() {
        assert_eq!(
            expand_fake("redis://:pa$$word@host:6379"),
            Ok("redis://:pa$$word@host:6379".into())
        );
    }

    #[test]
    fn unterminated_reference_is_an_error() {
        assert_eq!(
            expand_fake("redis://${REDIS_HOST:6379"),
            Err(ExpandError::Unterminated)
        );
    }

    #[test]
    fn reference_that_is_not_a_name_is_an_error() {
        assert_eq!(
            expand_fake("${1ABC}"),
            Err(ExpandError::BadName {
                name: "1ABC".into()
            })
        );
        assert_eq!(
            expand_fake("${}"),
            Err(ExpandError::BadName {
                name: String::new()
            })
        );
    }
}
