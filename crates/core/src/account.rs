//! What both servers do with an account, whatever their auth style: check a login against
//! main_DB, and answer a balance.

use authbench_contract::error::Chain;
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::balances::Balances;
use crate::http::ApiError;
use crate::maindb::MainDb;
use crate::password::Passwords;

/// Longer names or passwords can't belong to a seeded account; they are checked like unknown
/// users (against the dummy hash), so their answer takes the same time.
const MAX_USERNAME_BYTES: usize = 256;
const MAX_PASSWORD_BYTES: usize = 1024;

/// The body of `POST /login`.
#[derive(Deserialize, schemars::JsonSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Checks `request` against main_DB and returns the user name, or one 401 for unknown users and
/// wrong passwords alike (both cost a full argon2id check). 503 when main_DB is down.
pub async fn check_login(
    main_db: &MainDb,
    passwords: &Passwords,
    request: LoginRequest,
) -> Result<String, ApiError> {
    let LoginRequest { username, password } = request;
    let plausible = !username.is_empty()
        && username.len() <= MAX_USERNAME_BYTES
        && password.len() <= MAX_PASSWORD_BYTES;
    let stored_hash = if plausible {
        main_db.password_hash(&username).await.map_err(|error| {
            tracing::warn!(error = %Chain(&error), "main_DB unavailable at login");
            ApiError::unavailable("main_db")
        })?
    } else {
        None
    };
    let password = if password.len() <= MAX_PASSWORD_BYTES {
        password
    } else {
        String::new()
    };
    let verified = passwords
        .verify(password, stored_hash)
        .await
        .map_err(|error| {
            tracing::error!(%error, "password check failed");
            ApiError::internal()
        })?;
    if verified {
        Ok(username)
    } else {
        Err(ApiError::bad_credentials())
    }
}

/// The body of `GET /user/balance`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Balance {
    username: String,
    balance_cents: i64,
}

/// The balance of an authenticated user; 401 if the account is gone since the credentials were
/// issued, 503 if main_DB is down.
pub async fn balance(balances: &Balances, username: String) -> Result<Json<Balance>, ApiError> {
    match balances.get(&username).await {
        Ok(Some(balance_cents)) => Ok(Json(Balance {
            username,
            balance_cents,
        })),
        Ok(None) => Err(ApiError::unauthorized()),
        Err(error) => {
            tracing::warn!(error = %Chain(&error), "main_DB unavailable");
            Err(ApiError::unavailable("main_db"))
        }
    }
}

/// The body of `GET /`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct About {
    service: &'static str,
    version: &'static str,
}

/// No auth, no store, no database: the floor the other routes are measured against.
pub fn about(service: &'static str) -> Json<About> {
    Json(About {
        service,
        version: env!("CARGO_PKG_VERSION"),
    })
}
