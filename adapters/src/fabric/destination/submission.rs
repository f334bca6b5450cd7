//! Sending a part: its `deliverBatch` endorsed (the simulation, where the inbox refuses a bad
//! batch with its named reason), and the [`FabricSubmission`] a relayer keeps as the handle of
//! the transaction sent.

use causeway_proofs::bundle::ChainFamily;
use serde::{Deserialize, Serialize};

use super::FabricDestination;
use crate::Error;
use crate::chain::{DeliveryBatch, RevertReason, SubmissionHandle};
use crate::fabric::client::EndorsedTransaction;
use crate::fabric::inbox_wire::{
    DeliveryResult, FabricDeliveryBatch, decode_revert, parse_results,
};

/// The data of a Fabric [`SubmissionHandle`]: the transaction, its channel, and the results the
/// endorsed simulation returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FabricSubmission {
    /// The transaction id.
    pub tx_id: String,
    /// The channel.
    pub channel: String,
    /// When it was submitted, in seconds since the Unix epoch.
    pub submitted_at: u64,
    /// Per-message results of the endorsement (what the commit makes true if it is VALID).
    pub results: Vec<DeliveryResult>,
}

impl FabricSubmission {
    /// The handle carrying this submission.
    pub fn to_handle(&self) -> SubmissionHandle {
        SubmissionHandle {
            family: ChainFamily::Fabric,
            data: serde_json::to_value(self).expect("plain data serialises"),
        }
    }

    /// The submission a handle carries; [`Error::InvalidHandle`] if it is not a Fabric one.
    pub fn from_handle(handle: &SubmissionHandle) -> Result<Self, Error> {
        if handle.family != ChainFamily::Fabric {
            return Err(Error::InvalidHandle {
                reason: format!("handle of family {:?}, not fabric", handle.family),
            });
        }
        FabricSubmission::deserialize(&handle.data).map_err(|e| Error::InvalidHandle {
            reason: e.to_string(),
        })
    }
}

impl FabricDestination {
    /// Endorses `deliverBatch` of `part`; a refusal by the inbox is [`Error::Reverted`].
    pub(super) async fn endorse(
        &self,
        part: &DeliveryBatch,
    ) -> Result<(EndorsedTransaction, Vec<DeliveryResult>), Error> {
        let json = FabricDeliveryBatch::from_batch(part).to_json();
        let invocation = self.invocation("deliverBatch", vec![json]);
        let endorsed = self
            .client
            .endorse(&invocation, &self.config.endorsing_orgs)
            .await
            .map_err(refusal)?;
        let payload = response_payload(&endorsed)?;
        let results = parse_results(&payload)?;
        Ok((endorsed, results))
    }
}

/// An endorsement failure: the inbox's named reason when its message carries one, else the
/// gateway's error as it was.
pub(super) fn refusal(error: Error) -> Error {
    let text = match &error {
        Error::Rpc { message, .. } => message.clone(),
        other => other.to_string(),
    };
    match decode_revert(&text) {
        Some(reason) => Error::Reverted { reason },
        None => error,
    }
}

/// The chaincode response payload of an endorsed transaction; a status other than 200 is the
/// inbox's refusal.
fn response_payload(endorsed: &EndorsedTransaction) -> Result<Vec<u8>, Error> {
    let response = endorsed.chaincode_response()?;
    if response.status != 200 {
        return Err(Error::Reverted {
            reason: decode_revert(&response.message).unwrap_or(RevertReason::Message {
                message: response.message,
            }),
        });
    }
    Ok(response.payload)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use causeway_proofs::{Hash32, MessageId};

    use super::*;
    use crate::chain::MessageOutcome;

    #[test]
    fn handles_round_trip_and_refuse_other_families() {
        let sub = FabricSubmission {
            tx_id: "ab".repeat(32),
            channel: "causeway".into(),
            submitted_at: 1_700_000_000,
            results: vec![DeliveryResult {
                id: MessageId(Hash32([3; 32])),
                outcome: MessageOutcome::Delivered,
            }],
        };
        let handle = sub.to_handle();
        assert_eq!(FabricSubmission::from_handle(&handle).unwrap(), sub);
        let json = serde_json::to_string(&handle).unwrap();
        let back: SubmissionHandle = serde_json::from_str(&json).unwrap();
        assert_eq!(FabricSubmission::from_handle(&back).unwrap(), sub);
        let evm = SubmissionHandle {
            family: ChainFamily::Evm,
            data: handle.data.clone(),
        };
        assert!(matches!(
            FabricSubmission::from_handle(&evm),
            Err(Error::InvalidHandle { .. })
        ));
    }

    #[test]
    fn refusals_carry_the_inbox_reason() {
        let reason = RevertReason::ZeroRoot;
        let error = Error::Rpc {
            endpoint: "https://127.0.0.1:1".into(),
            method: "gateway.Gateway/Endorse",
            code: 10,
            message: format!(
                "failed to endorse; peer p (Org1MSP): chaincode response 500, {}",
                crate::fabric::inbox_wire::encode_revert(&reason)
            ),
        };
        assert!(matches!(
            refusal(error),
            Error::Reverted {
                reason: RevertReason::ZeroRoot
            }
        ));
        let other = refusal(Error::Rpc {
            endpoint: "https://127.0.0.1:1".into(),
            method: "gateway.Gateway/Endorse",
            code: 14,
            message: "peer down".into(),
        });
        assert!(matches!(other, Error::Rpc { .. }));
    }
}
