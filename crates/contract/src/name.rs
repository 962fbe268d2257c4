//! One macro for every enum of the contract, so that each has exactly one spelling per value:
//! serde, `FromStr`, `Display` and `as_str` all read it from the same line.

use std::fmt;

/// A value that is none of an enum's names. Its message lists them:
/// ``"RS265" is not a signing algorithm; use HS256, RS256, ES256 or EdDSA``.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{given:?} is not {what}; use {}", AllowedList(allowed))]
pub struct UnknownName {
    /// What was given.
    pub given: String,
    /// What was expected, with its article ("a signing algorithm").
    pub what: &'static str,
    /// Every accepted name.
    pub allowed: &'static [&'static str],
}

/// `a, b or c`.
struct AllowedList(&'static [&'static str]);

impl fmt::Display for AllowedList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, name) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str(if index + 1 == self.0.len() {
                    " or "
                } else {
                    ", "
                })?;
            }
            f.write_str(name)?;
        }
        Ok(())
    }
}

/// `names! { /// doc  pub enum Alg("a signing algorithm") { /// doc  Hs256 = "HS256", ... } }`
///
/// Derives serde with the given spellings (and JSON Schema with the `schema` feature), and
/// implements `ALL`, `NAMES`, `as_str`, `Display` and a case-insensitive `FromStr` (flags are
/// typed by hand; serde, which reads files, stays exact).
macro_rules! names {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($what:literal) {
            $(
                $(#[$variant_meta:meta])*
                $variant:ident = $text:literal $(| $alias:literal)*
            ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
        )]
        #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
        $vis enum $name {
            $(
                $(#[$variant_meta])*
                #[serde(rename = $text $(, alias = $alias)*)]
                $variant,
            )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: [$name; [$($text),+].len()] = [$($name::$variant),+];
            /// Every value's name, in declaration order.
            pub const NAMES: [&'static str; [$($text),+].len()] = [$($text),+];

            /// The one spelling: in files, flags, report.json and messages.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::name::UnknownName;

            fn from_str(given: &str) -> Result<Self, Self::Err> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|value| value.as_str().eq_ignore_ascii_case(given.trim()))
                    .ok_or_else(|| $crate::name::UnknownName {
                        given: given.to_owned(),
                        what: $what,
                        allowed: &Self::NAMES,
                    })
            }
        }
    };
}
