//! When the drawing pad's picture is analysed: a quiet delay after the last change (so a stroke
//! in progress does not queue an analysis per pointer move), and never more than one analysis in
//! flight (a change made meanwhile is analysed once that one is done). The page's driver loop
//! asks [`DrawSchedule::next`] what to do; this module decides, the browser only waits.

/// The quiet time after the last change before the picture is analysed.
pub const QUIET_MS: f64 = 300.0;

/// What the driver loop does now.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Step {
    /// Analyse the picture as it is now, then call [`DrawSchedule::finished`].
    Start,
    /// Look again after this many milliseconds.
    Wait(f64),
    /// Nothing to do: the loop ends (a later change starts a new one).
    Idle,
}

/// The state of the debounce; times are milliseconds on any monotonic clock.
#[derive(Clone, Debug, PartialEq)]
pub struct DrawSchedule {
    quiet_ms: f64,
    last_change: f64,
    dirty: bool,
    in_flight: bool,
    driving: bool,
}

impl Default for DrawSchedule {
    fn default() -> Self {
        Self::new(QUIET_MS)
    }
}

impl DrawSchedule {
    pub fn new(quiet_ms: f64) -> Self {
        Self {
            quiet_ms: quiet_ms.max(0.0),
            last_change: f64::NEG_INFINITY,
            dirty: false,
            in_flight: false,
            driving: false,
        }
    }

    /// The picture changed at `now`. Returns true when no driver loop is running, so the caller
    /// must start one.
    pub fn changed(&mut self, now: f64) -> bool {
        self.dirty = true;
        self.last_change = now;
        let start = !self.driving;
        self.driving = true;
        start
    }

    /// What to do at `now`. While an analysis is in flight the driver waits for it (it is the
    /// driver that runs it, so this is only reached if the caller polls meanwhile).
    pub fn next(&mut self, now: f64) -> Step {
        if self.in_flight {
            return Step::Wait(self.quiet_ms.max(1.0));
        }
        if !self.dirty {
            self.driving = false;
            return Step::Idle;
        }
        let due = self.last_change + self.quiet_ms;
        if now >= due {
            self.dirty = false;
            self.in_flight = true;
            Step::Start
        } else {
            Step::Wait(due - now)
        }
    }

    /// The analysis started by [`Step::Start`] is over (whatever its outcome).
    pub fn finished(&mut self) {
        self.in_flight = false;
    }

    /// Whether the picture on the pad differs from the last one analysed, or is being analysed.
    pub fn pending(&self) -> bool {
        self.dirty || self.in_flight
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_for_quiet_then_starts_once() {
        let mut s = DrawSchedule::new(300.0);
        assert_eq!(s.next(0.0), Step::Idle);
        assert!(s.changed(0.0), "the first change starts a driver");
        assert!(!s.changed(100.0), "a driver is already running");
        assert_eq!(s.next(150.0), Step::Wait(250.0));
        assert!(s.pending());
        assert_eq!(s.next(400.0), Step::Start);
        assert_eq!(s.next(500.0), Step::Wait(300.0), "in flight: wait");
        s.finished();
        assert!(!s.pending());
        assert_eq!(s.next(800.0), Step::Idle);
        assert!(s.changed(900.0), "after Idle a change needs a new driver");
    }

    #[test]
    fn a_change_during_an_analysis_runs_once_after_it() {
        let mut s = DrawSchedule::new(300.0);
        s.changed(0.0);
        assert_eq!(s.next(300.0), Step::Start);
        // Strokes while the analysis runs: no second analysis in flight.
        assert!(!s.changed(350.0));
        assert!(!s.changed(420.0));
        assert_eq!(s.next(900.0), Step::Wait(300.0));
        s.finished();
        assert_eq!(
            s.next(900.0),
            Step::Start,
            "quiet since 420 ms: start at once"
        );
        s.finished();
        assert_eq!(s.next(1000.0), Step::Idle);
    }

    #[test]
    fn each_change_restarts_the_quiet_delay() {
        let mut s = DrawSchedule::new(300.0);
        s.changed(0.0);
        for t in [100.0, 200.0, 350.0, 600.0] {
            s.changed(t);
            assert!(matches!(s.next(t + 299.0), Step::Wait(_)));
        }
        assert_eq!(s.next(900.0), Step::Start);
        assert_eq!(DrawSchedule::new(-5.0).quiet_ms, 0.0);
    }
}
