//! Progress of batch stages on stderr, one way for every command: while
//! stderr is a terminal, a spinner with the stage's name and elapsed time
//! (or a bar, when the stage knows how many steps it has); when it is not (a
//! pipe, a scheduler, CI), nothing — the stage's tracing logs, text or JSON,
//! are the progress. Log lines written while a bar is drawn go above it
//! (see [`StderrWriter`]), so the two never tear each other.
//!
//! `cdp ingest` draws its own byte-counting bar (cdp-ingest); the others use
//! [`spin`] or [`steps`].

use std::future::Future;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// The bar being drawn, for [`StderrWriter`].
static ACTIVE: Mutex<Option<ProgressBar>> = Mutex::new(None);

fn attached() -> bool {
    std::io::stderr().is_terminal()
}

/// A drawn bar; cleared when dropped.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    fn start(bar: ProgressBar) -> Self {
        if !bar.is_hidden() {
            bar.enable_steady_tick(Duration::from_millis(120));
            *ACTIVE.lock().unwrap_or_else(|e| e.into_inner()) = Some(bar.clone());
        }
        Self { bar }
    }

    /// Sets the position of a [`steps`] bar and what it is doing.
    pub fn step(&self, done: usize, what: &str) {
        self.bar.set_position(done as u64);
        self.bar.set_message(what.to_string());
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
        *ACTIVE.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// A spinner named `stage` while `work` runs.
pub async fn spin<F: Future>(stage: &str, work: F) -> F::Output {
    let bar = if attached() {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix} {elapsed}")
                .expect("valid progress template"),
        );
        bar.set_prefix(stage.to_string());
        bar
    } else {
        ProgressBar::hidden()
    };
    let _progress = Progress::start(bar);
    work.await
}

/// A bar of `total` steps named `stage`; [`Progress::step`] moves it.
pub fn steps(stage: &str, total: usize) -> Progress {
    let bar = if attached() {
        let bar = ProgressBar::new(total as u64);
        bar.set_style(
            ProgressStyle::with_template("{prefix} {bar:40} {pos}/{len} {elapsed} {msg}")
                .expect("valid progress template"),
        );
        bar.set_prefix(stage.to_string());
        bar
    } else {
        ProgressBar::hidden()
    };
    Progress::start(bar)
}

/// Stderr for the logs: a line written while a bar is drawn is printed
/// above the bar instead of through it.
#[derive(Clone, Copy)]
pub struct StderrWriter;

impl Write for StderrWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        let active = ACTIVE.lock().unwrap_or_else(|e| e.into_inner()).clone();
        match active {
            Some(bar) => bar.suspend(|| std::io::stderr().write_all(buf)),
            None => std::io::stderr().write_all(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for StderrWriter {
    type Writer = StderrWriter;

    fn make_writer(&'a self) -> Self::Writer {
        *self
    }
}
