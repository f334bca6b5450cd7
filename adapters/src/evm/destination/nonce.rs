//! [`NonceManager`]: the local nonce counter of one sending account, so that many transactions
//! can be in flight without asking the node for each nonce.
//!
//! The counter is fetched from the node (`pending` count) when unknown, then advanced locally.
//! A nonce is taken and the transaction broadcast under one lock, so nonces reach the node in
//! order and a failed broadcast hands its nonce to the next transaction (no gap that would
//! hold every later transaction in the node's queue). A node that says "nonce too low" or
//! refuses the nonce as taken makes the counter unknown again, to be re-read from the node.

use core::future::Future;

use tokio::sync::Mutex;

use crate::Error;

/// The next nonce of one account, or `None` when it must be read from the node.
#[derive(Debug, Default)]
pub(crate) struct NonceManager {
    next: Mutex<Option<u64>>,
}

impl NonceManager {
    /// A manager that reads the nonce from the node on first use.
    pub(crate) fn new() -> Self {
        NonceManager::default()
    }

    /// Runs `send` with the next nonce (read with `fetch` when unknown). On success the nonce
    /// is consumed; on [`Error::NonceTooLow`] or [`Error::Underpriced`] (the nonce is taken by a
    /// transaction this manager does not know) the counter is forgotten; on any other error
    /// the nonce stays available for the next transaction.
    pub(crate) async fn with_next<T, Fetch, FetchFut, Op, OpFut>(
        &self,
        fetch: Fetch,
        send: Op,
    ) -> Result<T, Error>
    where
        Fetch: FnOnce() -> FetchFut,
        FetchFut: Future<Output = Result<u64, Error>>,
        Op: FnOnce(u64) -> OpFut,
        OpFut: Future<Output = Result<T, Error>>,
    {
        let mut next = self.next.lock().await;
        let nonce = match *next {
            Some(n) => n,
            None => fetch().await?,
        };
        match send(nonce).await {
            Ok(v) => {
                *next = Some(nonce.saturating_add(1));
                Ok(v)
            }
            Err(e @ (Error::NonceTooLow { .. } | Error::Underpriced { .. })) => {
                *next = None;
                Err(e)
            }
            Err(e) => {
                *next = Some(nonce);
                Err(e)
            }
        }
    }

    /// Forgets the counter (it is re-read from the node before the next transaction).
    pub(crate) async fn resync(&self) {
        *self.next.lock().await = None;
    }

    /// The next nonce, if known.
    #[cfg(test)]
    pub(crate) async fn peek(&self) -> Option<u64> {
        *self.next.lock().await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[tokio::test]
    async fn concurrent_senders_get_contiguous_nonces_and_fetch_once() {
        let m = Arc::new(NonceManager::new());
        let fetches = Arc::new(AtomicU32::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..50 {
            let m = m.clone();
            let fetches = fetches.clone();
            tasks.spawn(async move {
                m.with_next(
                    || async move {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        Ok(7)
                    },
                    |n| async move {
                        tokio::task::yield_now().await;
                        Ok(n)
                    },
                )
                .await
                .unwrap()
            });
        }
        let mut got = tasks.join_all().await;
        got.sort_unstable();
        assert_eq!(got, (7..57).collect::<Vec<_>>());
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        assert_eq!(m.peek().await, Some(57));
    }

    #[tokio::test]
    async fn a_failed_send_leaves_no_gap_and_nonce_errors_resync() {
        let m = NonceManager::new();
        let fetch = || async { Ok(3) };
        let err = m
            .with_next(fetch, |_| async {
                Err::<(), _>(Error::InsufficientFunds {
                    account: "0x".into(),
                })
            })
            .await;
        assert!(err.is_err());
        assert_eq!(m.peek().await, Some(3), "nonce 3 is still free");
        let n = m.with_next(fetch, |n| async move { Ok(n) }).await.unwrap();
        assert_eq!(n, 3);
        let err = m
            .with_next(fetch, |n| async move {
                Err::<(), _>(Error::NonceTooLow {
                    account: "0x".into(),
                    nonce: n,
                })
            })
            .await;
        assert!(matches!(err, Err(Error::NonceTooLow { nonce: 4, .. })));
        assert_eq!(m.peek().await, None, "re-read from the node next time");
        let n = m
            .with_next(|| async { Ok(10) }, |n| async move { Ok(n) })
            .await
            .unwrap();
        assert_eq!(n, 10);
        m.resync().await;
        assert_eq!(m.peek().await, None);
    }
}
