//! Writes whose answer is always true. A write runs to its end in a task of its own, so a caller
//! that leaves (a closed connection, a timeout) cannot cut it short between "sent to the
//! database" and "result known", and whatever depends on the result (a cache) is settled by
//! that task, when the result is known. The caller waits at most the store timeout and is then
//! told one of three true things: the result; `Unavailable` when the write had not started yet
//! (it is called off and will never run); or `OutcomeUnknown` when it had started and is still
//! running (it may yet commit).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use super::DbError;

const WAITING: u8 = 0;
const STARTED: u8 = 1;
const CALLED_OFF: u8 = 2;

/// Shared between a waiting caller and its write: the write starts only if the caller has not
/// called it off, and the caller calls it off only if it has not started.
#[derive(Clone, Debug)]
pub struct WriteTicket(Arc<AtomicU8>);

impl Default for WriteTicket {
    fn default() -> Self {
        Self(Arc::new(AtomicU8::new(WAITING)))
    }
}

impl WriteTicket {
    pub fn new() -> Self {
        Self::default()
    }

    /// Call right before the write's first statement is sent: `false` if the caller called it
    /// off, and then the write must not run.
    pub fn start(&self) -> bool {
        self.0
            .compare_exchange(WAITING, STARTED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    pub fn started(&self) -> bool {
        self.0.load(Ordering::Acquire) == STARTED
    }

    /// `true` if the write had not started: it never will.
    fn call_off(&self) -> bool {
        self.0
            .compare_exchange(WAITING, CALLED_OFF, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }
}

/// Runs `write` (which calls `ticket.start()` before its first statement) in its own task and
/// waits for its result at most `deadline`.
pub async fn settle<T: Send + 'static>(
    deadline: Duration,
    ticket: WriteTicket,
    write: impl Future<Output = Result<T, DbError>> + Send + 'static,
) -> Result<T, DbError> {
    match tokio::time::timeout(deadline, tokio::spawn(write)).await {
        Ok(Ok(result)) => result,
        Ok(Err(join)) => Err(DbError::Failed(format!("the write task failed: {join}"))),
        Err(_) if ticket.call_off() => Err(DbError::Unavailable),
        Err(_) => {
            tracing::warn!("a write is still running at the store timeout: outcome unknown");
            Err(DbError::OutcomeUnknown)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use tokio::sync::oneshot;

    const DEADLINE: Duration = Duration::from_millis(50);

    #[tokio::test]
    async fn a_write_that_had_not_started_is_called_off_for_good() {
        let ticket = WriteTicket::new();
        let (go, wait) = oneshot::channel::<()>();
        let ran = Arc::new(AtomicBool::new(false));
        let write = {
            let (ticket, ran) = (ticket.clone(), Arc::clone(&ran));
            async move {
                let _ = wait.await; // e.g. queued behind another write
                if !ticket.start() {
                    return Err(DbError::Unavailable);
                }
                ran.store(true, Ordering::SeqCst);
                Ok(())
            }
        };
        let answer = settle(DEADLINE, ticket.clone(), write).await;
        assert!(matches!(answer, Err(DbError::Unavailable)), "{answer:?}");
        go.send(()).unwrap();
        tokio::time::sleep(DEADLINE).await;
        assert!(!ran.load(Ordering::SeqCst), "a called-off write never runs");
        assert!(!ticket.start());
    }

    #[tokio::test]
    async fn a_started_write_outlives_its_caller_and_settles_when_known() {
        let ticket = WriteTicket::new();
        let (finish, finished) = oneshot::channel::<()>();
        let (settled_tx, settled) = oneshot::channel::<Result<u32, ()>>();
        let write = {
            let ticket = ticket.clone();
            async move {
                assert!(ticket.start());
                let _ = finished.await; // a slow commit
                let result = Ok(7);
                let _ = settled_tx.send(Ok(7)); // what a cache would record
                result
            }
        };
        let answer = settle(DEADLINE, ticket.clone(), write).await;
        assert!(matches!(answer, Err(DbError::OutcomeUnknown)), "{answer:?}");
        assert!(ticket.started());
        finish.send(()).unwrap();
        assert_eq!(
            settled.await.unwrap(),
            Ok(7),
            "the write finished after its caller left"
        );
    }

    #[tokio::test]
    async fn a_prompt_write_answers_its_result() {
        let ticket = WriteTicket::new();
        let t = ticket.clone();
        let answer = settle(DEADLINE, ticket, async move {
            assert!(t.start());
            Ok::<_, DbError>(1)
        });
        assert_eq!(answer.await.unwrap(), 1);
    }
}
