//! [`Watchdog`]: one timer that bounds many operations in time, instead of one timer per
//! operation.
//!
//! A `tokio::time::timeout` per operation inserts an entry into the runtime's timer wheel and
//! removes it again on every call, on the hot path of every request, to catch an event (a stalled
//! store, a hung handler) that almost never happens. Here one background task advances a tick
//! count, and an operation still waiting registers in the waiter list of the tick at which its
//! limit will have passed; that tick wakes only those, and each one woken compares its own start
//! time with the limit. An operation that answers at once costs a shared pointer's count up
//! and down; one that waits and answers in time, a registration in a [`Notify`]'s list and its
//! removal; one that stalls fails between `limit` and `limit + 2 ticks`
//! after it started.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;
use tokio::sync::Notify;
use tokio::sync::futures::OwnedNotified;

/// How often the watchdog ticks: a twentieth of the limit, between 1 ms and 100 ms (12.5 ms at a
/// limit of 250 ms).
fn tick_for(limit: Duration) -> Duration {
    (limit / 20).clamp(Duration::from_millis(1), Duration::from_millis(100))
}

/// Bounds operations by one limit. Cheap to clone; the ticking task ends when the last clone is
/// dropped.
#[derive(Clone, Debug)]
pub struct Watchdog {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    limit: Duration,
    /// Whole ticks in the limit, rounded up.
    ticks_per_limit: u64,
    /// Ticks since the start.
    now: AtomicU64,
    /// One waiter list per tick, reused round-robin: the list of tick `t` is `slots[t % len]`.
    /// One more than the ticks in a limit (plus one for the tick under way), so that a list is
    /// never woken before the tick it was chosen for.
    slots: Box<[Arc<Notify>]>,
}

impl Watchdog {
    /// Starts the ticking task. Needs a tokio runtime with timers.
    pub fn start(limit: Duration) -> Watchdog {
        let tick = tick_for(limit);
        let ticks_per_limit = limit.as_nanos().div_ceil(tick.as_nanos().max(1)) as u64;
        let shared = Arc::new(Shared {
            limit,
            ticks_per_limit,
            now: AtomicU64::new(0),
            slots: (0..ticks_per_limit + 2)
                .map(|_| Arc::new(Notify::new()))
                .collect(),
        });
        let weak: Weak<Shared> = Arc::downgrade(&shared);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(tick);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let Some(shared) = weak.upgrade() else { return };
                let now = shared.now.fetch_add(1, Ordering::Relaxed) + 1;
                shared.slot(now).notify_waiters();
            }
        });
        Watchdog { shared }
    }

    pub fn limit(&self) -> Duration {
        self.shared.limit
    }

    /// `future`, failing with [`Elapsed`] once the limit has passed since `started`.
    pub fn bound<F: Future>(&self, started: Instant, future: F) -> Bounded<F> {
        Bounded::new(Some(self), started, future)
    }
}

impl Shared {
    fn slot(&self, tick: u64) -> &Arc<Notify> {
        &self.slots[(tick % self.slots.len() as u64) as usize]
    }

    /// The waiter list of the tick `ahead` ticks from now.
    fn after(&self, ahead: u64) -> OwnedNotified {
        self.slot(self.now.load(Ordering::Relaxed) + ahead)
            .clone()
            .notified_owned()
    }
}

/// The limit passed before the operation answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elapsed;

pin_project! {
    /// An operation under a [`Watchdog`], or under none (then it is just the operation). Made
    /// in place around the operation, so that bounding it adds no copy of the operation's
    /// state.
    pub struct Bounded<F> {
        #[pin]
        future: F,
        // Registered the first time the operation is not answered at once.
        #[pin]
        tick: Option<OwnedNotified>,
        watchdog: Option<Arc<Shared>>,
        started: Instant,
    }
}

impl<F> Bounded<F> {
    /// `future` under `watchdog`, its limit counted from `started`.
    pub fn new(watchdog: Option<&Watchdog>, started: Instant, future: F) -> Self {
        Bounded {
            future,
            tick: None,
            watchdog: watchdog.map(|watchdog| watchdog.shared.clone()),
            started,
        }
    }

    pub fn started(&self) -> Instant {
        self.started
    }
}

impl<F: Future> Future for Bounded<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if let Poll::Ready(output) = this.future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        let Some(watchdog) = this.watchdog.as_deref() else {
            return Poll::Pending;
        };
        loop {
            if this.tick.is_none() {
                // The tick count may be up to one tick stale: one more keeps the first wake at
                // or after the limit.
                this.tick
                    .set(Some(watchdog.after(watchdog.ticks_per_limit + 1)));
            }
            let Some(tick) = this.tick.as_mut().as_pin_mut() else {
                return Poll::Pending;
            };
            if tick.poll(cx).is_pending() {
                return Poll::Pending;
            }
            if this.started.elapsed() >= watchdog.limit {
                return Poll::Ready(Err(Elapsed));
            }
            // Woken a little early (the ticker ran late): wait for the next tick.
            this.tick.set(Some(watchdog.after(1)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_operation_that_stalls_fails_within_two_ticks_of_the_limit() {
        for limit in [Duration::from_millis(40), Duration::from_millis(100)] {
            let watchdog = Watchdog::start(limit);
            let started = Instant::now();
            let result = watchdog.bound(started, std::future::pending::<()>()).await;
            let took = started.elapsed();
            assert_eq!(result, Err(Elapsed));
            assert!(took >= limit, "failed early, after {took:?}");
            assert!(
                took < limit + tick_for(limit) * 4,
                "failed {took:?} after the start, the limit is {limit:?}"
            );
        }
    }

    #[tokio::test]
    async fn an_operation_that_answers_in_time_keeps_its_answer() {
        let watchdog = Watchdog::start(Duration::from_millis(200));
        let slow_but_in_time = async {
            tokio::time::sleep(Duration::from_millis(30)).await;
            7
        };
        let answer = watchdog.bound(Instant::now(), slow_but_in_time).await;
        assert_eq!(answer, Ok(7));
    }

    #[tokio::test]
    async fn many_waiting_operations_each_fail_on_time() {
        let limit = Duration::from_millis(50);
        let watchdog = Watchdog::start(limit);
        let mut waiting = Vec::new();
        for n in 0..50u64 {
            let watchdog = watchdog.clone();
            waiting.push(tokio::spawn(async move {
                // Started across several ticks, so they land in different waiter lists.
                tokio::time::sleep(Duration::from_millis(n % 7)).await;
                let started = Instant::now();
                let result = watchdog.bound(started, std::future::pending::<()>()).await;
                (result, started.elapsed())
            }));
        }
        for one in waiting {
            let (result, took) = one.await.expect("no panic");
            assert_eq!(result, Err(Elapsed));
            assert!(took >= limit && took < limit * 2, "failed after {took:?}");
        }
    }

    #[tokio::test]
    async fn without_a_watchdog_the_operation_is_unbounded() {
        let bounded = Bounded::new(None, Instant::now(), async { 3 });
        assert_eq!(bounded.await, Ok(3));
    }
}
