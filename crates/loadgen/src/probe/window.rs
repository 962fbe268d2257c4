//! What every probe has in common: cumulative counters sampled at a turn's start and end, the
//! turn's load being the difference; the same probe on each replica of a system read as one.

use std::future::Future;

use super::Error;

/// A source of cumulative counters (a process's CPU time, a store's command count, a server's
/// request count).
pub trait Probe {
    type Sample: Send;
    type Load;

    /// One reading, now.
    fn sample(&self) -> impl Future<Output = Result<Self::Sample, Error>> + Send;

    /// The load from `start` to `end`; `None` when the two readings cannot be compared (they
    /// come from different kinds of store, or from different sets of replicas).
    fn delta(start: &Self::Sample, end: &Self::Sample) -> Option<Self::Load>;
}

/// A load that adds up over the replicas of one system.
pub trait Summable {
    fn add(&mut self, other: Self);
}

/// The same probe on each replica of a system, read as one: every replica sampled, their loads
/// summed. A sample fails if any replica's does, since a figure for some of the replicas would
/// pass for the whole system's.
#[derive(Debug)]
pub struct Replicas<P>(pub Vec<P>);

impl<P> Probe for Replicas<P>
where
    P: Probe + Sync,
    P::Load: Summable,
{
    type Sample = Vec<P::Sample>;
    type Load = P::Load;

    async fn sample(&self) -> Result<Vec<P::Sample>, Error> {
        let mut samples = Vec::with_capacity(self.0.len());
        for probe in &self.0 {
            samples.push(probe.sample().await?);
        }
        Ok(samples)
    }

    fn delta(start: &Self::Sample, end: &Self::Sample) -> Option<P::Load> {
        if start.len() != end.len() {
            return None;
        }
        let mut loads = start
            .iter()
            .zip(end)
            .map(|(start, end)| P::delta(start, end));
        let mut sum = loads.next()??;
        for load in loads {
            sum.add(load?);
        }
        Some(sum)
    }
}

/// A probe read at a turn's start, waiting to be read at its end.
#[derive(Debug)]
pub struct Window<'a, P: Probe> {
    probe: &'a P,
    /// `None` when the first reading failed: there is nothing to measure the turn against.
    start: Option<P::Sample>,
}

impl<'a, P: Probe> Window<'a, P> {
    pub async fn open(probe: &'a P) -> Self {
        Window {
            probe,
            start: probe.sample().await.ok(),
        }
    }

    /// The load since [`open`](Self::open): `Ok(None)` when the first reading failed or the
    /// two cannot be compared, `Err` when the closing reading failed (worth an event: the
    /// probe worked at the start).
    pub async fn close(self) -> Result<Option<P::Load>, Error> {
        let Some(start) = self.start else {
            return Ok(None);
        };
        let end = self.probe.sample().await?;
        Ok(P::delta(&start, &end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// A counter that grows by `step` at every reading.
    #[derive(Debug)]
    struct Counter {
        value: AtomicU64,
        step: u64,
    }

    impl Probe for Counter {
        type Sample = u64;
        type Load = u64;

        async fn sample(&self) -> Result<u64, Error> {
            Ok(self.value.fetch_add(self.step, Ordering::Relaxed))
        }

        fn delta(start: &u64, end: &u64) -> Option<u64> {
            end.checked_sub(*start)
        }
    }

    impl Summable for u64 {
        fn add(&mut self, other: u64) {
            *self += other;
        }
    }

    fn counter(step: u64) -> Counter {
        Counter {
            value: AtomicU64::new(100),
            step,
        }
    }

    #[tokio::test]
    async fn a_window_is_the_growth_between_its_readings() {
        let probe = counter(7);
        let window = Window::open(&probe).await;
        assert_eq!(window.close().await.unwrap(), Some(7));
    }

    #[tokio::test]
    async fn replicas_are_summed_and_any_incomparable_one_spoils_the_sum() {
        let replicas = Replicas(vec![counter(2), counter(5)]);
        let window = Window::open(&replicas).await;
        assert_eq!(window.close().await.unwrap(), Some(7));
        assert_eq!(Replicas::<Counter>::delta(&vec![1, 9], &vec![3, 4]), None);
        assert_eq!(Replicas::<Counter>::delta(&vec![1], &vec![3, 4]), None);
        assert_eq!(Replicas::<Counter>::delta(&vec![], &vec![]), None);
    }
}
