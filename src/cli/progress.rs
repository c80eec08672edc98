//! Progress on stderr for `train` and `bench`: on a terminal, an indicatif bar with the rate
//! and the time left; anywhere else (a pipe, a log file, CI) nothing is drawn, and the commands
//! print plain lines instead, so that logs hold no carriage returns or escape codes.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// One progress bar; it is hidden when stderr is not a terminal.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar of `len` steps with `template` (indicatif's syntax), drawn on stderr when it is a
    /// terminal.
    pub fn new(len: u64, template: &str) -> Self {
        Self::with_target(len, template, ProgressDrawTarget::stderr())
    }

    /// The same on another target (tests use a hidden one).
    pub fn with_target(len: u64, template: &str, target: ProgressDrawTarget) -> Self {
        let style = ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        let bar = ProgressBar::with_draw_target(Some(len), target).with_style(style);
        Self { bar }
    }

    /// True when the bar is drawn (stderr is a terminal): plain progress lines are then not
    /// needed.
    pub fn drawn(&self) -> bool {
        !self.bar.is_hidden()
    }

    /// Starts over (a new epoch, a new measurement): position 0, a fresh rate and time left.
    pub fn restart(&self, len: u64, prefix: String) {
        self.bar.set_prefix(prefix);
        self.bar.set_length(len);
        self.bar.reset();
    }

    pub fn set(&self, pos: u64, msg: String) {
        self.bar.set_position(pos);
        self.bar.set_message(msg);
    }

    pub fn inc(&self) {
        self.bar.inc(1);
    }

    /// Runs `f` (which prints) with the bar cleared, so that the bar does not tear the output.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }

    /// A plain line on stderr when no bar is drawn (the terminal shows the bar instead).
    pub fn plain(&self, line: impl FnOnce() -> String) {
        if !self.drawn() {
            eprintln!("{}", line());
        }
    }

    /// Removes the bar from the terminal.
    pub fn clear(&self) {
        self.bar.finish_and_clear();
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.clear();
    }
}

/// The training bar: epoch, steps, then the running loss, accuracy, learning rate and images/s,
/// and the time left in the epoch (about 90 columns).
pub const TRAIN_TEMPLATE: &str = "{prefix} [{bar:16}] {pos}/{len} {msg}, {eta} left";

/// The benchmark bar: what is measured, runs done, runs per second and time left.
pub const BENCH_TEMPLATE: &str = "{prefix} [{bar:16}] {pos}/{len} runs, {per_sec}, {eta} left";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse() {
        for t in [TRAIN_TEMPLATE, BENCH_TEMPLATE] {
            assert!(ProgressStyle::with_template(t).is_ok(), "{t}");
        }
    }

    #[test]
    fn a_hidden_bar_counts_and_asks_for_plain_lines() {
        let p = Progress::with_target(4, TRAIN_TEMPLATE, ProgressDrawTarget::hidden());
        assert!(!p.drawn());
        p.restart(10, "epoch 1".into());
        p.set(3, "loss 1.0".into());
        p.inc();
        assert_eq!(p.bar.position(), 4);
        assert_eq!(p.bar.length(), Some(10));
        assert_eq!(p.suspend(|| 7), 7);
    }
}
