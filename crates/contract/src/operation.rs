//! The requests a flow makes.

names! {
    /// One kind of request in a flow: `login -> balance x N -> [refresh] -> [logout]`.
    pub enum Operation("an operation") {
        /// `POST /login`.
        Login = "login",
        /// `GET /user/balance`, the authenticated request.
        Balance = "balance",
        /// `POST /refresh` (JWT only).
        Refresh = "refresh",
        /// `POST /logout`.
        Logout = "logout",
    }
}

impl Operation {
    /// Its position in [`Operation::ALL`], for per-operation arrays.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The route it requests.
    pub const fn path(self) -> &'static str {
        match self {
            Operation::Login => crate::routes::LOGIN,
            Operation::Balance => crate::routes::BALANCE,
            Operation::Refresh => crate::routes::REFRESH,
            Operation::Logout => crate::routes::LOGOUT,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_follows_all() {
        for (index, operation) in Operation::ALL.iter().enumerate() {
            assert_eq!(operation.index(), index);
        }
    }

    #[test]
    fn one_spelling_in_serde_display_and_from_str() {
        for operation in Operation::ALL {
            let json = serde_json::to_string(&operation).unwrap();
            assert_eq!(json, format!("\"{operation}\""));
            assert_eq!(serde_json::from_str::<Operation>(&json).unwrap(), operation);
            assert_eq!(operation.as_str().parse::<Operation>(), Ok(operation));
        }
        let error = "balanse".parse::<Operation>().unwrap_err().to_string();
        assert_eq!(
            error,
            "\"balanse\" is not an operation; use login, balance, refresh or logout"
        );
    }
}
