//! When open-model flows are due: an even rate, or an even rate with a burst at several times
//! it (`[overload]`). Flow `n` is due when the expected count of arrivals reaches `n`, so a
//! burst changes only the spacing of flows inside it.

use std::time::Duration;

/// A window of a turn in which flows arrive `factor` times as fast.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Burst {
    pub start: Duration,
    pub end: Duration,
    pub factor: f64,
}

/// The arrival schedule of one turn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Arrivals {
    /// Flows per second outside a burst; positive and finite for any flow to start.
    pub rate: f64,
    pub burst: Option<Burst>,
}

impl Arrivals {
    pub fn steady(rate: f64) -> Arrivals {
        Arrivals { rate, burst: None }
    }

    pub fn is_valid(&self) -> bool {
        let burst_ok = self
            .burst
            .is_none_or(|b| b.factor.is_finite() && b.factor > 0.0 && b.start <= b.end);
        self.rate.is_finite() && self.rate > 0.0 && burst_ok
    }

    /// Flows expected in the first `elapsed` of the turn (not rounded).
    fn expected(&self, elapsed: Duration) -> f64 {
        let t = elapsed.as_secs_f64();
        let mut flows = self.rate * t;
        if let Some(burst) = self.burst {
            let inside = (t.min(burst.end.as_secs_f64()) - burst.start.as_secs_f64()).max(0.0);
            flows += self.rate * (burst.factor - 1.0) * inside;
        }
        flows
    }

    /// Flows due strictly inside the first `window` of the turn.
    pub fn within(&self, window: Duration) -> u64 {
        // The epsilon keeps an exact product (4 s x 200/s) from rounding up to one flow too many.
        (self.expected(window) - 1e-9).ceil().max(0.0) as u64
    }

    /// When flow `n` (from 0) is due, from the start of the turn.
    pub fn due(&self, n: u64) -> Duration {
        let n = n as f64;
        let seconds = match self.burst {
            None => n / self.rate,
            Some(burst) => {
                let before = self.expected(burst.start);
                let through = self.expected(burst.end);
                if n < before {
                    n / self.rate
                } else if n < through {
                    burst.start.as_secs_f64() + (n - before) / (self.rate * burst.factor)
                } else {
                    burst.end.as_secs_f64() + (n - through) / self.rate
                }
            }
        };
        Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_even_schedule_counts_flows_strictly_inside_the_window() {
        let within = |window, rate| Arrivals::steady(rate).within(window);
        assert_eq!(within(Duration::from_secs(4), 200.0), 800);
        assert_eq!(within(Duration::from_millis(4010), 200.0), 802);
        assert_eq!(within(Duration::from_millis(4012), 200.0), 803);
        assert_eq!(within(Duration::from_secs(1), 0.5), 1);
        assert_eq!(within(Duration::ZERO, 10.0), 0);
    }

    #[test]
    fn a_burst_packs_its_flows_closer_and_leaves_the_rest_even() {
        let arrivals = Arrivals {
            rate: 10.0,
            burst: Some(Burst {
                start: Duration::from_secs(2),
                end: Duration::from_secs(3),
                factor: 5.0,
            }),
        };
        // 20 flows before the burst, 50 in its second, 10 a second after.
        assert_eq!(arrivals.within(Duration::from_secs(2)), 20);
        assert_eq!(arrivals.within(Duration::from_secs(3)), 70);
        assert_eq!(arrivals.within(Duration::from_secs(5)), 90);
        assert_eq!(arrivals.due(19), Duration::from_millis(1900));
        assert_eq!(arrivals.due(20), Duration::from_secs(2));
        assert_eq!(arrivals.due(21), Duration::from_millis(2020));
        assert_eq!(arrivals.due(70), Duration::from_secs(3));
        assert_eq!(arrivals.due(71), Duration::from_millis(3100));
        // Every flow is due inside the window that counts it.
        for n in 0..90 {
            assert!(arrivals.within(arrivals.due(n) + Duration::from_nanos(1)) > n);
        }
    }
}
