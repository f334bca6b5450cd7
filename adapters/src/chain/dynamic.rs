//! Object-safe twins of the chain traits, for holding chains of different families behind one
//! type (`Arc<dyn DynSource>`): every implementation of [`Source`], [`Destination`] and
//! [`StateReader`] is one of these too, its futures boxed.

use core::future::Future;
use core::pin::Pin;

use causeway_proofs::{Domain, MessageId};

use super::{
    Cursor, DeliveryBatch, DeliveryStatus, Destination, Recorder, Source, SourceBatch, StateQuery,
    StateRead, StateReader, Submission, SubmissionHandle, SubmissionOutcome,
};
use crate::Error;

/// A boxed, `Send` future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// [`Source`] with boxed futures (object safe).
pub trait DynSource: Send + Sync {
    /// See [`Source::domain`].
    fn domain(&self) -> Domain;
    /// See [`Source::next_batch`].
    fn next_batch<'a>(&'a self, cursor: &'a Cursor) -> BoxFuture<'a, Result<SourceBatch, Error>>;
}

impl<T: Source> DynSource for T {
    fn domain(&self) -> Domain {
        Source::domain(self)
    }

    fn next_batch<'a>(&'a self, cursor: &'a Cursor) -> BoxFuture<'a, Result<SourceBatch, Error>> {
        Box::pin(Source::next_batch(self, cursor))
    }
}

/// [`Destination`] with boxed futures (object safe).
pub trait DynDestination: Send + Sync {
    /// See [`Destination::domain`].
    fn domain(&self) -> Domain;
    /// See [`Destination::submit_recorded`].
    fn submit_recorded<'a>(
        &'a self,
        batch: &'a DeliveryBatch,
        recorder: &'a dyn Recorder,
    ) -> BoxFuture<'a, Result<Vec<Submission>, Error>>;
    /// See [`Destination::outcome_recorded`].
    fn outcome_recorded<'a>(
        &'a self,
        handle: &'a SubmissionHandle,
        signed: Option<&'a [u8]>,
    ) -> BoxFuture<'a, Result<SubmissionOutcome, Error>>;
    /// See [`Destination::delivery_status`].
    fn delivery_status<'a>(
        &'a self,
        id: &'a MessageId,
    ) -> BoxFuture<'a, Result<DeliveryStatus, Error>>;
    /// See [`Destination::delivery_statuses`]; exactly one status per id (a miscounting
    /// adapter is a decoding error).
    fn delivery_statuses<'a>(
        &'a self,
        ids: &'a [MessageId],
    ) -> BoxFuture<'a, Result<Vec<DeliveryStatus>, Error>>;
}

impl<T: Destination> DynDestination for T {
    fn domain(&self) -> Domain {
        Destination::domain(self)
    }

    fn submit_recorded<'a>(
        &'a self,
        batch: &'a DeliveryBatch,
        recorder: &'a dyn Recorder,
    ) -> BoxFuture<'a, Result<Vec<Submission>, Error>> {
        Box::pin(Destination::submit_recorded(self, batch, recorder))
    }

    fn outcome_recorded<'a>(
        &'a self,
        handle: &'a SubmissionHandle,
        signed: Option<&'a [u8]>,
    ) -> BoxFuture<'a, Result<SubmissionOutcome, Error>> {
        Box::pin(Destination::outcome_recorded(self, handle, signed))
    }

    fn delivery_status<'a>(
        &'a self,
        id: &'a MessageId,
    ) -> BoxFuture<'a, Result<DeliveryStatus, Error>> {
        Box::pin(Destination::delivery_status(self, id))
    }

    fn delivery_statuses<'a>(
        &'a self,
        ids: &'a [MessageId],
    ) -> BoxFuture<'a, Result<Vec<DeliveryStatus>, Error>> {
        Box::pin(async move {
            let statuses = Destination::delivery_statuses(self, ids).await?;
            // One status per id, in order, whatever the adapter: callers zip the two.
            if statuses.len() != ids.len() {
                return Err(Error::Decode {
                    what: "delivery statuses",
                    reason: format!("{} statuses for {} messages", statuses.len(), ids.len()),
                });
            }
            Ok(statuses)
        })
    }
}

/// [`StateReader`] with boxed futures (object safe).
pub trait DynStateReader: Send + Sync {
    /// See [`StateReader::read`].
    fn read<'a>(&'a self, query: &'a StateQuery) -> BoxFuture<'a, Result<StateRead, Error>>;
}

impl<T: StateReader> DynStateReader for T {
    fn read<'a>(&'a self, query: &'a StateQuery) -> BoxFuture<'a, Result<StateRead, Error>> {
        Box::pin(StateReader::read(self, query))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;

    use super::*;
    use crate::memory::MemoryChain;

    #[tokio::test]
    async fn chains_of_any_family_fit_behind_one_type() {
        let chain = MemoryChain::new(Domain(4), 0);
        let sources: Vec<Arc<dyn DynSource>> = vec![Arc::new(chain.clone())];
        let destinations: Vec<Arc<dyn DynDestination>> = vec![Arc::new(chain)];
        assert_eq!(sources[0].domain(), Domain(4));
        assert_eq!(destinations[0].domain(), Domain(4));
        let batch = sources[0]
            .next_batch(&Cursor::Start { height: 0 })
            .await
            .unwrap();
        assert!(batch.messages.is_empty());
        let id = MessageId(causeway_proofs::Hash32([9; 32]));
        assert_eq!(
            destinations[0].delivery_status(&id).await.unwrap(),
            DeliveryStatus::NotDelivered
        );
    }
}
