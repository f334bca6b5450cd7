//! Progress of the long commands (`causeway devnet`, `bench`, `run`'s catch-up): a bar on a
//! terminal (indicatif), plain lines at most once per interval when standard error is a file or
//! a pipe (a CI log, `2> file`: no carriage returns, no escape sequences, one line per update),
//! and nothing with `--quiet`. Results (summaries, tables, errors) are printed by the commands
//! themselves in every mode.

use std::fmt::Display;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

static QUIET: AtomicBool = AtomicBool::new(false);

/// The bar's look: spinner, elapsed time, bar, count, what is happening.
const TEMPLATE: &str = "{spinner} [{elapsed_precise}] [{bar:30}] {pos}/{len} {wide_msg}";

/// Sets `--quiet` for the whole process (from `main`, before any command runs).
pub(crate) fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// How progress is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Standard error is a terminal: a redrawn bar.
    Bar,
    /// Standard error is a file or a pipe: whole lines, throttled.
    Lines,
    /// `--quiet`: nothing.
    Quiet,
}

/// The mode of this process: `--quiet`, else by whether standard error is a terminal (a
/// `TERM=dumb` terminal gets lines).
pub(crate) fn mode() -> Mode {
    if QUIET.load(Ordering::Relaxed) {
        Mode::Quiet
    } else if std::io::stderr().is_terminal() && std::env::var("TERM").map_or(true, |t| t != "dumb")
    {
        Mode::Bar
    } else {
        Mode::Lines
    }
}

/// A step of a command ("[1/4] starting the chains"): one line, except with `--quiet`.
// Only the devnet-feature commands have steps.
#[cfg_attr(not(feature = "devnet"), allow(dead_code))]
pub(crate) fn step(text: impl Display) {
    if mode() != Mode::Quiet {
        eprintln!("{text}");
    }
}

/// One long task's progress towards `total` (see the module's docs).
#[derive(Debug)]
pub(crate) struct Progress {
    mode: Mode,
    bar: Option<ProgressBar>,
    every: Duration,
    last_line: Option<Instant>,
    total: u64,
}

impl Progress {
    /// Progress towards `total`, printing a line at most every `every` when not on a terminal.
    pub(crate) fn new(total: u64, every: Duration) -> Progress {
        let mode = mode();
        let bar = (mode == Mode::Bar).then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            // The template is a constant: a bad one is a bug caught by this module's test.
            if let Ok(style) = ProgressStyle::with_template(TEMPLATE) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Progress {
            mode,
            bar,
            every,
            last_line: None,
            total,
        }
    }

    /// Changes the total (a task whose end moves, like an endless sender's).
    pub(crate) fn set_total(&mut self, total: u64) {
        self.total = total;
        if let Some(bar) = &self.bar {
            bar.set_length(total);
        }
    }

    /// Moves to `position` of the total, described by `message`.
    pub(crate) fn set(&mut self, position: u64, message: impl Display) {
        match (&self.bar, self.mode) {
            (Some(bar), _) => {
                bar.set_position(position.min(self.total));
                bar.set_message(message.to_string());
            }
            (None, Mode::Lines) => {
                if self.last_line.is_none_or(|t| t.elapsed() >= self.every) {
                    eprintln!("      {message}");
                    self.last_line = Some(Instant::now());
                }
            }
            (None, _) => {}
        }
    }

    /// Ends the task: clears the bar and prints `message` as its last line (not with
    /// `--quiet`).
    pub(crate) fn finish(self, message: impl Display) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        if self.mode != Mode::Quiet {
            eprintln!("      {message}");
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar
            && !bar.is_finished()
        {
            bar.abandon();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_template_is_valid() {
        assert!(ProgressStyle::with_template(TEMPLATE).is_ok());
    }

    #[test]
    fn quiet_wins_over_everything() {
        set_quiet(true);
        assert_eq!(mode(), Mode::Quiet);
        let mut p = Progress::new(10, Duration::ZERO);
        assert!(p.bar.is_none());
        p.set(5, "half");
        assert!(p.last_line.is_none(), "nothing printed");
        set_quiet(false);
        assert_ne!(mode(), Mode::Quiet);
    }
}
