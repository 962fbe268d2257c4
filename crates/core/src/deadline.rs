//! [`Watchdog`]: one timer that bounds many operations in time, instead of one timer per
//! operation.
//!
//! A `tokio::time::timeout` per operation inserts an entry into the runtime's timer wheel and
//! removes it again on every call, on the hot path of every request, to catch an event (a stalled
//! store, a hung handler) that almost never happens. Here one background task advances a tick
//! count, and an operation still waiting leaves its waker in the list of the tick at which its
//! limit will have passed; that tick wakes only those, and each one woken compares its own start
//! time with the limit. An operation that answers at once costs a shared pointer's count up and
//! down; one that waits and answers in time, a waker put into a list and taken out again under an
//! uncontended lock. One that stalls fails between `limit` and `limit + 2 ticks` after it
//! started.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;

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
    /// One waiter list per tick, reused round-robin: the list of tick `t` is `lists[t % len]`.
    /// One more than the ticks in a limit (plus one for the tick under way), so that a list is
    /// never woken before the tick it was chosen for.
    lists: Box<[WaiterList]>,
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
            lists: (0..ticks_per_limit + 2)
                .map(|_| WaiterList::default())
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
                shared.list(now).wake_all();
            }
        });
        Watchdog { shared }
    }

    /// `future`, failing with [`Elapsed`] once the limit has passed since `started`.
    pub fn bound<F: Future>(&self, started: Instant, future: F) -> Bounded<F> {
        Bounded::new(Some(self), started, future)
    }
}

impl Shared {
    fn list(&self, tick: u64) -> &WaiterList {
        &self.lists[(tick % self.lists.len() as u64) as usize]
    }

    /// Leaves `waker` in the list of the tick `ahead` ticks from now.
    fn wait(&self, ahead: u64, waker: &Waker) -> Registration {
        let tick = self.now.load(Ordering::Relaxed) + ahead;
        let (round, key) = self.list(tick).add(waker);
        Registration { tick, round, key }
    }
}

/// Where an operation's waker waits: the list, the list's round it was added in, its place.
#[derive(Clone, Copy, Debug)]
struct Registration {
    tick: u64,
    round: u64,
    key: usize,
}

/// Wakers waiting for one tick. Emptied (and its round advanced) when the tick comes; a waker
/// taken out by its operation before that leaves a free place for the next.
#[derive(Debug, Default)]
struct WaiterList {
    round: AtomicU64,
    waiting: Mutex<Waiting>,
}

#[derive(Debug, Default)]
struct Waiting {
    wakers: Vec<Option<Waker>>,
    free: Vec<usize>,
}

impl WaiterList {
    fn lock(&self) -> std::sync::MutexGuard<'_, Waiting> {
        // A waker list holds no invariant a panic could break half-way.
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn add(&self, waker: &Waker) -> (u64, usize) {
        let mut waiting = self.lock();
        let round = self.round.load(Ordering::Relaxed);
        let key = match waiting.free.pop() {
            Some(key) => {
                waiting.wakers[key] = Some(waker.clone());
                key
            }
            None => {
                waiting.wakers.push(Some(waker.clone()));
                waiting.wakers.len() - 1
            }
        };
        (round, key)
    }

    /// Whether the tick this registration waits for has come (the list was emptied since).
    fn has_woken(&self, registration: Registration) -> bool {
        self.round.load(Ordering::Acquire) != registration.round
    }

    /// Replaces the waker of a registration still waiting, if the task's waker changed.
    fn update(&self, registration: Registration, waker: &Waker) {
        let mut waiting = self.lock();
        if self.round.load(Ordering::Relaxed) != registration.round {
            return;
        }
        if let Some(Some(kept)) = waiting.wakers.get_mut(registration.key)
            && !kept.will_wake(waker)
        {
            kept.clone_from(waker);
        }
    }

    fn remove(&self, registration: Registration) {
        let mut waiting = self.lock();
        if self.round.load(Ordering::Relaxed) != registration.round {
            return;
        }
        if let Some(slot) = waiting.wakers.get_mut(registration.key)
            && slot.take().is_some()
        {
            waiting.free.push(registration.key);
        }
    }

    fn wake_all(&self) {
        let wakers = {
            let mut waiting = self.lock();
            self.round.fetch_add(1, Ordering::Release);
            waiting.free.clear();
            std::mem::take(&mut waiting.wakers)
        };
        for waker in wakers.into_iter().flatten() {
            waker.wake();
        }
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
        watchdog: Option<Arc<Shared>>,
        // Made the first time the operation is not answered at once.
        registration: Option<Registration>,
        started: Instant,
    }

    impl<F> PinnedDrop for Bounded<F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let (Some(watchdog), Some(registration)) = (this.watchdog.as_deref(), *this.registration) {
                watchdog.list(registration.tick).remove(registration);
            }
        }
    }
}

impl<F> Bounded<F> {
    /// `future` under `watchdog`, its limit counted from `started`.
    #[inline(always)]
    pub fn new(watchdog: Option<&Watchdog>, started: Instant, future: F) -> Self {
        Bounded {
            future,
            watchdog: watchdog.map(|watchdog| watchdog.shared.clone()),
            registration: None,
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
        let this = self.project();
        if let Poll::Ready(output) = this.future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        let Some(watchdog) = this.watchdog.as_deref() else {
            return Poll::Pending;
        };
        let ahead = match *this.registration {
            // The tick count may be up to one tick stale: one more keeps the first wake at or
            // after the limit.
            None => watchdog.ticks_per_limit + 1,
            Some(registration) => {
                let list = watchdog.list(registration.tick);
                if !list.has_woken(registration) {
                    list.update(registration, cx.waker());
                    return Poll::Pending;
                }
                if this.started.elapsed() >= watchdog.limit {
                    *this.registration = None;
                    return Poll::Ready(Err(Elapsed));
                }
                // Woken a little early (the ticker ran late): wait for the next tick.
                1
            }
        };
        *this.registration = Some(watchdog.wait(ahead, cx.waker()));
        Poll::Pending
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
    async fn operations_that_answer_in_time_leave_no_waker_behind() {
        let watchdog = Watchdog::start(Duration::from_secs(10));
        for _ in 0..100 {
            let waits_once = tokio::time::sleep(Duration::from_micros(100));
            assert_eq!(watchdog.bound(Instant::now(), waits_once).await, Ok(()));
        }
        let waiting: usize = (watchdog.shared.lists.iter())
            .map(|list| list.lock().wakers.iter().flatten().count())
            .sum();
        assert_eq!(waiting, 0);
        let places: usize = (watchdog.shared.lists.iter())
            .map(|list| list.lock().wakers.len())
            .sum();
        assert!(
            places <= 2,
            "{places} places kept for no waker: freed places are not reused"
        );
    }

    #[tokio::test]
    async fn without_a_watchdog_the_operation_is_unbounded() {
        let bounded = Bounded::new(None, Instant::now(), async { 3 });
        assert_eq!(bounded.await, Ok(3));
    }
}
