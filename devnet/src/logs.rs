//! Log lines captured by a test: the writer a test's own `tracing` subscriber writes to
//! (`tracing_subscriber::fmt().with_writer(move || captured.clone())`), read back to count what
//! was logged (a warning once per outage, not once per poll).

use std::sync::{Arc, Mutex};

/// Everything written to it, shared by its clones.
#[derive(Clone, Debug, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Makes this the current thread's log until the guard drops: every event at INFO and
    /// above, as plain text (a test on a current-thread runtime captures its tasks' lines too).
    pub fn install(&self) -> tracing::subscriber::DefaultGuard {
        let writer = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    /// The log so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes()).into_owned()
    }

    /// Lines of the log so far that contain `needle`.
    pub fn count(&self, needle: &str) -> usize {
        self.text().lines().filter(|l| l.contains(needle)).count()
    }

    /// The buffer; a writer that panicked while holding it left whole lines before it.
    fn bytes(&self) -> std::sync::MutexGuard<'_, Vec<u8>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    #[test]
    fn clones_share_one_log_and_lines_are_counted() -> std::io::Result<()> {
        let log = Captured::default();
        let mut writer = log.clone();
        writer.write_all(b"WARN delivery rounds fail\nINFO work again\n")?;
        writer.write_all(b"WARN delivery rounds fail\n")?;
        assert_eq!(log.count("delivery rounds fail"), 2);
        assert_eq!(log.count("work again"), 1);
        assert_eq!(log.count("absent"), 0);
        assert!(log.text().starts_with("WARN delivery"));
        Ok(())
    }
}
