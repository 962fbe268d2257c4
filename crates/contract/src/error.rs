//! How authbench's errors read. Each layer's message says what it was doing, once; the layer
//! below is its `source`, never repeated in its message; and a foreign error (a driver's, the
//! OS's) becomes a [`Cause`] at the crate that met it: the root of the chain, flattened into one
//! message with nothing repeated. [`Chain`] prints a chain as `doing: doing: root cause`, as
//! the CLI prints errors with `{:#}`.

use std::error::Error;
use std::fmt;

/// The root cause of a failure, as the driver, the store server or the OS said it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Cause(String);

impl Cause {
    /// A cause worded by the caller (a server's message with its code, say).
    pub fn new(message: impl Into<String>) -> Cause {
        Cause(message.into())
    }

    /// `error` and its sources in one message. Drivers often repeat a source's text in their
    /// own message (and sometimes not); a source whose text is already there is left out.
    pub fn of(error: &(dyn Error + 'static)) -> Cause {
        let mut text = error.to_string();
        let mut source = error.source();
        while let Some(next) = source {
            let part = next.to_string();
            if !part.is_empty() && !text.contains(&part) {
                text.push_str(": ");
                text.push_str(&part);
            }
            source = next.source();
        }
        Cause(text)
    }
}

/// `error: source: source ...`, for a log line or an HTTP body where `{:#}` is not at hand.
#[derive(Clone, Copy)]
pub struct Chain<'a>(pub &'a (dyn Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(next) = source {
            write!(f, ": {next}")?;
            source = next.source();
        }
        Ok(())
    }
}

impl fmt::Debug for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("error connecting to server: Connection refused (os error 111)")]
    struct Repeating(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("db error")]
    struct Terse(#[source] Cause);

    #[derive(Debug, thiserror::Error)]
    #[error("opening the session store")]
    struct Layer(#[source] Cause);

    fn refused() -> std::io::Error {
        std::io::Error::from_raw_os_error(111)
    }

    #[test]
    fn a_cause_keeps_what_a_driver_hid_in_its_source_and_drops_what_it_repeated() {
        assert_eq!(
            Cause::of(&Repeating(refused())).to_string(),
            "error connecting to server: Connection refused (os error 111)"
        );
        let terse = Terse(Cause::new("relation \"x\" does not exist (SQLSTATE 42P01)"));
        assert_eq!(
            Cause::of(&terse).to_string(),
            "db error: relation \"x\" does not exist (SQLSTATE 42P01)"
        );
    }

    #[test]
    fn a_chain_reads_each_layer_once_and_ends_with_the_root_cause() {
        let error = Layer(Cause::of(&refused()));
        assert_eq!(
            Chain(&error).to_string(),
            "opening the session store: Connection refused (os error 111)"
        );
    }
}
