//! Where production log lines go: whole lines gathered in memory and written out together, at
//! most `interval` after the first of them was logged or as soon as `FLUSH_BYTES` have gathered
//! (by a thread of their own, so no request waits for the disk or pipe), and at once, after
//! everything logged before it, for a WARN or ERROR line. One `write` per many lines instead of
//! one per request, which a cached API read notices (docs/BENCHMARKS.md, "Measured reasons behind
//! code choices"); the same trade as Envoy's and nginx's buffered access logs. tracing-appender's
//! non-blocking writer was measured in its place, with the rest of the crate-based logging, and
//! cost more (`telemetry`, top).
//!
//! Lines keep their order and are never split. A normal stop, a start-up failure and a panic
//! flush ([`LineBuffer::flush`]); lines still buffered when the process is killed (SIGKILL, out
//! of memory) are lost, which is the price. An interval of zero writes each line at once.

use std::io::Write;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tracing::{Level, Metadata};
use tracing_subscriber::fmt::MakeWriter;

/// Gathered bytes that the flusher writes without waiting for the interval.
pub const FLUSH_BYTES: usize = 64 * 1024;
/// Gathered bytes that the logging thread writes itself (the flusher is behind or absent).
pub const MAX_PENDING: usize = 16 * FLUSH_BYTES;

type Out = Box<dyn FnMut(&[u8]) + Send>;

pub struct LineBuffer {
    interval: Duration,
    /// Lines not yet written.
    pending: Mutex<Vec<u8>>,
    /// Signalled when `pending` stops being empty (the flusher thread sleeps on it when idle).
    filled: Condvar,
    /// The destination, and a spare buffer swapped with `pending` so neither is reallocated.
    /// Taken before `pending` by every flush: batches go out in the order they were taken.
    out: Mutex<(Out, Vec<u8>)>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section leaves its data whole (a Vec append or swap): a panic elsewhere
    // cannot leave it half done.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl LineBuffer {
    /// A buffer writing through `writer`. With a non-zero `interval`, call [`Self::spawn_flusher`]
    /// once it is shared.
    pub fn new<W>(writer: W, interval: Duration) -> Self
    where
        W: for<'a> MakeWriter<'a> + Send + 'static,
    {
        let out: Out = Box::new(move |bytes: &[u8]| {
            // Nowhere to report a failed log write; the line is dropped.
            let _ = writer.make_writer().write_all(bytes);
        });
        Self {
            interval,
            pending: Mutex::new(Vec::with_capacity(FLUSH_BYTES)),
            filled: Condvar::new(),
            out: Mutex::new((out, Vec::with_capacity(FLUSH_BYTES))),
        }
    }

    /// Starts the thread that writes gathered lines `interval` after the first of them arrived,
    /// or as soon as `FLUSH_BYTES` have gathered: the `write` happens on this thread, not in a
    /// request. It sleeps while nothing is pending: an idle server does not wake for its log.
    pub fn spawn_flusher(&'static self) -> std::io::Result<()> {
        if self.interval.is_zero() {
            return Ok(());
        }
        std::thread::Builder::new()
            .name("log-flush".into())
            .spawn(move || {
                loop {
                    let mut pending = lock(&self.pending);
                    while pending.is_empty() {
                        pending = self.wait(pending, None);
                    }
                    let due = Instant::now() + self.interval;
                    while pending.len() < FLUSH_BYTES {
                        let left = due.saturating_duration_since(Instant::now());
                        if left.is_zero() {
                            break;
                        }
                        pending = self.wait(pending, Some(left));
                    }
                    drop(pending);
                    self.flush();
                }
            })
            .map(drop)
    }

    /// Waits for a signal on `filled` (or at most `most`).
    fn wait<'a>(
        &self,
        pending: MutexGuard<'a, Vec<u8>>,
        most: Option<Duration>,
    ) -> MutexGuard<'a, Vec<u8>> {
        match most {
            None => self
                .filled
                .wait(pending)
                .unwrap_or_else(PoisonError::into_inner),
            Some(d) => {
                (self.filled.wait_timeout(pending, d))
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            }
        }
    }

    /// Adds one whole line; `urgent` (WARN, ERROR) writes it and everything before it now.
    pub fn push(&self, line: &[u8], urgent: bool) {
        if self.interval.is_zero() {
            let mut out = lock(&self.out);
            (out.0)(line);
            return;
        }
        let mut pending = lock(&self.pending);
        let before = pending.len();
        pending.extend_from_slice(line);
        let after = pending.len();
        drop(pending);
        if urgent || after >= MAX_PENDING {
            // A warning now; or the flusher cannot keep up (or was never started): write here.
            self.flush();
        } else if before == 0 || (before < FLUSH_BYTES && after >= FLUSH_BYTES) {
            // The first line of a batch starts the flusher's clock; a full batch goes now.
            self.filled.notify_one();
        }
    }

    /// Writes every gathered line.
    pub fn flush(&self) {
        let mut out = lock(&self.out);
        let (write, spare) = &mut *out;
        std::mem::swap(spare, &mut *lock(&self.pending));
        if !spare.is_empty() {
            write(spare);
            spare.clear();
        }
    }
}

/// The fmt subscriber's writer: each formatted event arrives in one `write` call.
pub struct LineWriter<'a> {
    buffer: &'a LineBuffer,
    urgent: bool,
}

impl Write for LineWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.buffer.push(buf, self.urgent);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for &'static LineBuffer {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            buffer: self,
            urgent: false,
        }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        LineWriter {
            buffer: self,
            urgent: *meta.level() <= Level::WARN,
        }
    }
}

/// A log destination that keeps what is written, for tests.
#[cfg(test)]
pub(crate) mod capture {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;

    use super::lock;

    #[derive(Clone, Default)]
    pub(crate) struct Capture(Arc<Mutex<Vec<u8>>>);

    impl Capture {
        /// Everything written so far.
        pub(crate) fn text(&self) -> String {
            String::from_utf8(lock(&self.0).clone()).expect("utf-8")
        }
    }

    impl Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            lock(&self.0).extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Capture {
        type Writer = Capture;
        fn make_writer(&'a self) -> Capture {
            self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::capture::Capture;
    use super::*;

    #[test]
    fn lines_wait_for_a_flush_a_warning_or_a_full_buffer() {
        let capture = Capture::default();
        let buffer = LineBuffer::new(capture.clone(), Duration::from_secs(3600));
        buffer.push(b"one\n", false);
        buffer.push(b"two\n", false);
        assert_eq!(capture.text(), "", "an info line waits");
        buffer.push(b"warn\n", true);
        assert_eq!(
            capture.text(),
            "one\ntwo\nwarn\n",
            "a warning goes out after earlier lines"
        );
        buffer.push(b"three\n", false);
        buffer.flush();
        assert_eq!(capture.text(), "one\ntwo\nwarn\nthree\n");
        buffer.flush();
        assert_eq!(
            capture.text(),
            "one\ntwo\nwarn\nthree\n",
            "nothing written twice"
        );

        // Without a flusher, lines wait until the logging thread must write them itself.
        let before = capture.text().len();
        let line = [b'x'; 1023]
            .iter()
            .chain(b"\n")
            .copied()
            .collect::<Vec<_>>();
        for _ in 0..MAX_PENDING / line.len() - 1 {
            buffer.push(&line, false);
        }
        assert_eq!(
            capture.text().len(),
            before,
            "below the cap nothing is written"
        );
        buffer.push(&line, false);
        assert_eq!(
            capture.text().len(),
            before + MAX_PENDING,
            "at the cap all is written"
        );
    }

    #[test]
    fn zero_interval_writes_each_line_at_once() {
        let capture = Capture::default();
        let buffer = LineBuffer::new(capture.clone(), Duration::ZERO);
        buffer.push(b"one\n", false);
        assert_eq!(capture.text(), "one\n");
    }

    /// Polls until `capture` holds `len` bytes (at most 10 s).
    fn wait_for(capture: &Capture, len: usize) -> String {
        let give_up = std::time::Instant::now() + Duration::from_secs(10);
        while capture.text().len() < len && std::time::Instant::now() < give_up {
            std::thread::sleep(Duration::from_millis(5));
        }
        capture.text()
    }

    #[test]
    fn the_flusher_writes_gathered_lines_after_the_interval() {
        let capture = Capture::default();
        let buffer: &'static LineBuffer = Box::leak(Box::new(LineBuffer::new(
            capture.clone(),
            Duration::from_millis(10),
        )));
        buffer.spawn_flusher().expect("thread");
        for round in 1..=2 {
            buffer.push(b"line\n", false);
            assert_eq!(
                wait_for(&capture, 5 * round),
                "line\n".repeat(round),
                "round {round}"
            );
        }
    }

    #[test]
    fn the_flusher_writes_a_full_batch_without_waiting_for_the_interval() {
        let capture = Capture::default();
        let buffer: &'static LineBuffer = Box::leak(Box::new(LineBuffer::new(
            capture.clone(),
            Duration::from_secs(3600),
        )));
        buffer.spawn_flusher().expect("thread");
        let line = [b'x'; 1023]
            .iter()
            .chain(b"\n")
            .copied()
            .collect::<Vec<_>>();
        for _ in 0..FLUSH_BYTES / line.len() {
            buffer.push(&line, false);
        }
        assert_eq!(wait_for(&capture, FLUSH_BYTES).len(), FLUSH_BYTES);
    }
}
