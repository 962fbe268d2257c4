//! Where a server reads balances from on `GET /user/balance`.
//!
//! A real application reads main_DB on each request, and that read costs as much as the session
//! lookup. To measure the cost of authentication alone, a server can instead copy every balance
//! into memory at start and serve from the copy.

use std::collections::HashMap;

use crate::maindb::{self, MainDb};

pub use authbench_contract::BalanceSource;

/// Balances, from the chosen source.
#[derive(Clone, Debug)]
pub enum Balances {
    MainDb(MainDb),
    InProcess(HashMap<String, i64>),
}

impl Balances {
    /// Sets up the source; `InProcess` reads every account once, now.
    pub async fn open(source: BalanceSource, db: &MainDb) -> Result<Balances, maindb::Error> {
        Ok(match source {
            BalanceSource::MainDb => Balances::MainDb(db.clone()),
            BalanceSource::InProcess => {
                Balances::InProcess(db.all_balances().await?.into_iter().collect())
            }
        })
    }

    /// The balance of `username` in cents, if the account exists.
    pub async fn get(&self, username: &str) -> Result<Option<i64>, maindb::Error> {
        match self {
            // Boxed: sqlx's query future is kilobytes, and inline it would make every handler
            // that awaits this as large, copied whole at each layer, even when balances are
            // served from the copy.
            Balances::MainDb(db) => Box::pin(db.balance_cents(username)).await,
            Balances::InProcess(copy) => Ok(copy.get(username).copied()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::{balance_cents, seeded_test_db};

    #[tokio::test]
    async fn both_sources_give_the_seeded_balances() {
        let (db, _) = seeded_test_db(5).await;
        for source in [BalanceSource::MainDb, BalanceSource::InProcess] {
            let balances = Balances::open(source, &db).await.unwrap();
            assert_eq!(balances.get("user3").await.unwrap(), Some(balance_cents(3)));
            assert_eq!(balances.get("nobody").await.unwrap(), None);
        }
    }
}
