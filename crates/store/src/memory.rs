//! The in-process backend: a map inside one server, fastest, but invisible to its replicas
//! (which is what it is there to show).

use std::collections::{BTreeSet, HashMap};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::backend::Backend;
use crate::error::Error;
use crate::record::{Record, UnixMillis, now_millis};

/// Records by id, plus each user's ids ordered by `(created, id)`: the eviction order and the
/// order `list_user` returns.
#[derive(Debug, Default)]
struct State {
    records: HashMap<Arc<str>, Record>,
    by_user: HashMap<Arc<str>, BTreeSet<(UnixMillis, Arc<str>)>>,
}

impl State {
    fn remove(&mut self, id: &str) -> Option<Record> {
        let record = self.records.remove(id)?;
        if let Some(ids) = self.by_user.get_mut(&*record.user) {
            ids.remove(&(record.created, record.id.clone()));
            if ids.is_empty() {
                self.by_user.remove(&*record.user);
            }
        }
        Some(record)
    }

    /// The user's live records, oldest first.
    fn live_of<'a>(&'a self, user: &str, now: UnixMillis) -> impl Iterator<Item = &'a Record> {
        self.by_user
            .get(user)
            .into_iter()
            .flatten()
            .filter_map(|(_, id)| self.records.get(&**id))
            .filter(move |record| record.is_live(now))
    }
}

/// One mutex for both maps: create and its eviction must be atomic, and every operation is a
/// few map lookups, so a reader-writer split would buy nothing.
#[derive(Debug, Default)]
pub struct MemoryBackend {
    state: Mutex<State>,
}

impl MemoryBackend {
    pub fn new() -> Self {
        MemoryBackend::default()
    }

    /// No operation can leave the maps half-updated by panicking, so a poisoned lock still
    /// guards consistent data.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Backend for MemoryBackend {
    async fn create(&self, record: &Record, max_per_user: Option<NonZeroU32>) -> Result<(), Error> {
        let now = now_millis();
        let mut state = self.lock();
        // Through `remove`, so that a replaced record leaves its old user's index, whoever that was.
        state.remove(&record.id);
        state.records.insert(record.id.clone(), record.clone());
        state
            .by_user
            .entry(record.user.clone())
            .or_default()
            .insert((record.created, record.id.clone()));

        let Some(cap) = max_per_user else {
            // Uncapped, expired records wait for purge_expired rather than make every create
            // scan all of the user's records.
            return Ok(());
        };
        // Expired records go first, so that they never take a live record's place under the cap.
        let (dead, live): (Vec<&Record>, Vec<&Record>) = state
            .by_user
            .get(&*record.user)
            .into_iter()
            .flatten()
            .filter_map(|(_, id)| state.records.get(&**id))
            .partition(|record| !record.is_live(now));
        let cap = cap.get() as usize;
        let evicted: Vec<Arc<str>> = dead
            .into_iter()
            .chain(live.iter().copied().take(live.len().saturating_sub(cap)))
            .map(|record| record.id.clone())
            .collect();
        for id in evicted {
            state.remove(&id);
        }
        Ok(())
    }

    async fn create_many(&self, records: &[Record]) -> Result<u64, Error> {
        for record in records {
            self.create(record, None).await?;
        }
        Ok(records.len() as u64)
    }

    async fn count_live(&self) -> Result<u64, Error> {
        let now = now_millis();
        let state = self.lock();
        Ok(state.records.values().filter(|r| r.is_live(now)).count() as u64)
    }

    async fn count_stored(&self) -> Result<u64, Error> {
        Ok(self.lock().records.len() as u64)
    }

    async fn load(&self, id: &str) -> Result<Option<Record>, Error> {
        let now = now_millis();
        let state = self.lock();
        Ok(state
            .records
            .get(id)
            .filter(|record| record.is_live(now))
            .cloned())
    }

    async fn touch(&self, record: &Record) -> Result<bool, Error> {
        let now = now_millis();
        let mut state = self.lock();
        match state.records.get_mut(&*record.id) {
            Some(stored) if stored.is_live(now) => {
                stored.expires = record.expires;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn replace_data(&self, id: &str, expected: &str, new: &str) -> Result<bool, Error> {
        let now = now_millis();
        let mut state = self.lock();
        match state.records.get_mut(id) {
            Some(stored) if stored.is_live(now) && &*stored.data == expected => {
                stored.data = new.into();
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn delete(&self, id: &str) -> Result<bool, Error> {
        let now = now_millis();
        Ok(self
            .lock()
            .remove(id)
            .is_some_and(|record| record.is_live(now)))
    }

    async fn list_user(&self, user: &str) -> Result<Vec<Record>, Error> {
        let now = now_millis();
        Ok(self.lock().live_of(user, now).cloned().collect())
    }

    async fn count_user(&self, user: &str) -> Result<u64, Error> {
        let now = now_millis();
        Ok(self.lock().live_of(user, now).count() as u64)
    }

    async fn delete_user(&self, user: &str) -> Result<u64, Error> {
        let now = now_millis();
        let mut state = self.lock();
        let Some(ids) = state.by_user.remove(user) else {
            return Ok(0);
        };
        let mut live = 0;
        for (_, id) in ids {
            if state
                .records
                .remove(&*id)
                .is_some_and(|record| record.is_live(now))
            {
                live += 1;
            }
        }
        Ok(live)
    }

    async fn purge_expired(&self) -> Result<u64, Error> {
        let now = now_millis();
        let mut state = self.lock();
        let expired: Vec<Arc<str>> = state
            .records
            .values()
            .filter(|record| !record.is_live(now))
            .map(|record| record.id.clone())
            .collect();
        for id in &expired {
            state.remove(id);
        }
        Ok(expired.len() as u64)
    }

    async fn ping(&self) -> Result<(), Error> {
        Ok(())
    }
}
