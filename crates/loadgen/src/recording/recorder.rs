//! Where the VU tasks of one turn record, concurrently: one [`Recording`] per runtime thread
//! rather than per VU, so that memory follows the thread count (a few MB) instead of the VU count
//! (512 VUs x 4 operations x 2 histograms would be hundreds of MB). Every thread writes to its own
//! shard, so the lock taken per request is uncontended.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::live::thread_slot;
use crate::recording::{LatencyModel, Recording, Sample};

/// Where the tasks of one turn record: one [`Recording`] per runtime thread, merged by
/// [`Recorder::take`].
#[derive(Debug)]
pub struct Recorder {
    model: LatencyModel,
    shards: Box<[Mutex<Recording>]>,
}

/// More threads than this share shards, which stays correct, only with some lock contention.
const SHARDS: usize = 32;

impl Recorder {
    pub fn new(model: LatencyModel) -> Recorder {
        Recorder {
            model,
            shards: (0..SHARDS)
                .map(|_| Mutex::new(Recording::new(model)))
                .collect(),
        }
    }

    pub fn record(&self, sample: &Sample) {
        self.shard().record(sample);
    }

    pub fn record_flow_start(&self, lag: Duration, waited_for_connection: bool) {
        self.shard().record_flow_start(lag, waited_for_connection);
    }

    /// Everything recorded so far, merged; the shards start again empty.
    pub fn take(&self) -> Recording {
        let mut total = Recording::new(self.model);
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
            total.merge(std::mem::replace(&mut *shard, Recording::new(self.model)));
        }
        total
    }

    fn shard(&self) -> MutexGuard<'_, Recording> {
        // A panic while holding the lock can only leave a counter un-incremented: the data is
        // still worth keeping.
        self.shards[thread_slot() % SHARDS]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Operation;

    #[test]
    fn recorder_merges_what_every_thread_recorded() {
        let recorder = Recorder::new(LatencyModel::Closed);
        std::thread::scope(|scope| {
            for _ in 0..40 {
                scope.spawn(|| {
                    for millis in 1..=100 {
                        recorder.record(&Sample::for_test(Operation::Balance, None, millis));
                    }
                });
            }
        });
        let recording = recorder.take();
        assert_eq!(recording.ok(Operation::Balance), 4000);
        assert_eq!(recorder.take().total_requests(), 0);
    }
}
