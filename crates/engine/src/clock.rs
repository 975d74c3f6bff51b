//! Time for the engine: a [`Clock`] that tells the time and sleeps until a moment, so tests can
//! run durable timers on a virtual clock ([`ManualClock`]) that never waits on the wall.

use crate::BoxFuture;
use jiff::{SignedDuration, Timestamp};
use std::sync::Mutex;
use tokio::sync::watch;

/// The engine's source of time.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> Timestamp;

    /// Resolves once the clock reads `at` or later.
    fn sleep_until(&self, at: Timestamp) -> BoxFuture<'_, ()>;
}

/// The wall clock, with Tokio's timer for sleeping.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }

    fn sleep_until(&self, at: Timestamp) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let wait = at.duration_since(Timestamp::now());
            if let Ok(wait) = std::time::Duration::try_from(wait) {
                tokio::time::sleep(wait).await;
            }
        })
    }
}

/// A clock that runs `factor` times faster than the wall from the moment it is made: a 60-second
/// Wait takes 60 ms at factor 1000. For test servers and benchmarks (`weir server
/// --time-scale`), never for real work: timestamps drift from the wall.
#[derive(Debug)]
pub struct ScaledClock {
    origin: Timestamp,
    started: std::time::Instant,
    factor: i32,
}

impl ScaledClock {
    /// A clock reading the wall time now and running `factor` times faster (at least 1).
    pub fn new(factor: u32) -> Self {
        ScaledClock {
            origin: Timestamp::now(),
            started: std::time::Instant::now(),
            factor: i32::try_from(factor.max(1)).unwrap_or(i32::MAX),
        }
    }
}

impl Clock for ScaledClock {
    fn now(&self) -> Timestamp {
        let elapsed = SignedDuration::try_from(self.started.elapsed()).unwrap_or_default();
        self.origin
            .saturating_add(elapsed * self.factor)
            .unwrap_or(Timestamp::MAX)
    }

    fn sleep_until(&self, at: Timestamp) -> BoxFuture<'_, ()> {
        let wait = at.duration_since(self.now()) / self.factor;
        Box::pin(async move {
            if let Ok(wait) = std::time::Duration::try_from(wait) {
                tokio::time::sleep(wait).await;
            }
        })
    }
}

/// A virtual clock that moves only when a test calls [`ManualClock::advance`] or
/// [`ManualClock::set`]; sleepers wake when it passes their moment.
#[derive(Debug)]
pub struct ManualClock {
    now: watch::Sender<Timestamp>,
    guard: Mutex<()>,
}

impl ManualClock {
    /// A clock reading `start`.
    pub fn new(start: Timestamp) -> Self {
        ManualClock {
            now: watch::Sender::new(start),
            guard: Mutex::new(()),
        }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: SignedDuration) {
        let _serial = self
            .guard
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let next = self
            .now
            .borrow()
            .saturating_add(by)
            .unwrap_or(Timestamp::MAX);
        self.now.send_replace(next);
    }

    /// Sets the clock to `at` (never backwards).
    pub fn set(&self, at: Timestamp) {
        let _serial = self
            .guard
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if at > *self.now.borrow() {
            self.now.send_replace(at);
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.now.borrow()
    }

    fn sleep_until(&self, at: Timestamp) -> BoxFuture<'_, ()> {
        let mut rx = self.now.subscribe();
        Box::pin(async move {
            // `wait_for` returns an error only when the sender is gone: then nothing will ever
            // move the clock, so the sleeper wakes rather than hang.
            let _ = rx.wait_for(|now| *now >= at).await;
        })
    }
}
