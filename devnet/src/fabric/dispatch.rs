//! Committing a transaction as a client would (endorse, submit, wait for the commit), and
//! dispatching a message through the outbox chaincode that way.

use causeway_adapters::fabric::request::Invocation;
use causeway_adapters::fabric::{CommitStatus, FabricClient, TransactionId};
use causeway_proofs::{Address32, Domain};

use super::pki::err;
use crate::{Error, Result};
use causeway_chaincode::OUTBOX_CHAINCODE;

/// The invocation of `causeway_outbox.dispatch(destination, recipient, body)` on `channel`.
pub fn dispatch_invocation(
    channel: &str,
    destination: Domain,
    recipient: Address32,
    body: &[u8],
) -> Invocation {
    Invocation::new(
        channel,
        OUTBOX_CHAINCODE,
        "dispatch",
        vec![
            destination.0.to_string().into_bytes(),
            recipient.to_hex().into_bytes(),
            body.to_vec(),
        ],
    )
}

/// Endorses `invocation` as `client` (with the gateway's choice of endorsers), submits it and
/// waits for its commit. Returns the transaction id and how it was committed, valid or not.
pub async fn commit_invocation(
    client: &FabricClient,
    invocation: &Invocation,
) -> Result<(TransactionId, CommitStatus)> {
    let endorsed = client
        .endorse(invocation, &[])
        .await
        .map_err(err("endorsing a transaction"))?;
    client
        .submit(&endorsed)
        .await
        .map_err(err("submitting a transaction"))?;
    let status = client
        .commit_status(&endorsed.tx_id, &invocation.channel_id)
        .await
        .map_err(err("waiting for a transaction to commit"))?;
    Ok((endorsed.tx_id, status))
}

/// Dispatches `body` to `recipient` on `destination` through the outbox of `channel` as
/// `client`: endorses, submits and waits for the commit. Returns the transaction id and where
/// it was committed; fails with [`Error::Fabric`] unless it was committed VALID.
pub async fn dispatch(
    client: &FabricClient,
    channel: &str,
    destination: Domain,
    recipient: Address32,
    body: &[u8],
) -> Result<(TransactionId, CommitStatus)> {
    let invocation = dispatch_invocation(channel, destination, recipient, body);
    let (tx_id, status) = commit_invocation(client, &invocation).await?;
    if status.code.is_valid() {
        Ok((tx_id, status))
    } else {
        Err(Error::Fabric {
            context: "dispatching through the outbox",
            reason: format!("dispatch committed as {}", status.code),
        })
    }
}

/// Evaluates `chaincode.function(args)` on `channel` as `client` and returns its payload as
/// text; fails unless the chaincode answered with status 200 and UTF-8.
pub async fn evaluate_text(
    client: &FabricClient,
    channel: &str,
    chaincode: &str,
    function: &str,
    args: Vec<Vec<u8>>,
) -> Result<String> {
    let invocation = Invocation::new(channel, chaincode, function, args);
    let response = client
        .evaluate(&invocation, &[])
        .await
        .map_err(err("evaluate"))?;
    if response.status != 200 {
        return Err(Error::Fabric {
            context: "evaluate",
            reason: format!(
                "{chaincode}.{function} answered status {}: {}",
                response.status, response.message
            ),
        });
    }
    String::from_utf8(response.payload).map_err(err("evaluate result as UTF-8"))
}
