//! The accounts a VU logs in as, one flow each in turn, with their login bodies prepared once.

use super::routes::FlowRoutes;
use crate::client::RequestBody;

/// One account a VU logs in as.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub username: String,
    pub password: String,
}

/// Keeps the password out of logs and panic messages.
impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// One login body per account this VU logs in as, in turn: a flow that ends (by logout or by
/// abandoning the login) starts the next one as the next account.
#[derive(Debug)]
pub(super) struct Accounts {
    login_bodies: Vec<Option<RequestBody>>,
    current: usize,
}

impl Accounts {
    pub(super) fn new(credentials: &[Credential], routes: &FlowRoutes) -> Accounts {
        let login_bodies = credentials
            .iter()
            .map(|credential| routes.login_body(credential))
            .collect();
        Accounts {
            login_bodies,
            current: 0,
        }
    }

    /// What the login request sends for the current account.
    pub(super) fn login_body(&self) -> Option<&RequestBody> {
        self.login_bodies.get(self.current)?.as_ref()
    }

    /// The next account of this VU's own, for the next flow.
    pub(super) fn next(&mut self) {
        self.current = (self.current + 1) % self.login_bodies.len().max(1);
    }
}
