//! Fee arithmetic and the classification of a node's refusals of a raw transaction.

use crate::Error;

/// Geth's and most pools' minimum bump for a replacement: 10 % for both fees. We require
/// 12.5 % (`MIN_BUMP_PER_MILLE`), which also clears pools configured like Besu and Nethermind.
pub(crate) const MIN_BUMP_PER_MILLE: u64 = 125;

/// `fee` raised by `per_mille` thousandths (at least [`MIN_BUMP_PER_MILLE`]), rounded up, and
/// by at least one wei.
pub(crate) fn bumped(fee: u128, per_mille: u64) -> u128 {
    let per_mille = u128::from(per_mille.max(MIN_BUMP_PER_MILLE));
    let raised = fee
        .saturating_mul(1000 + per_mille)
        .div_ceil(1000)
        .max(fee.saturating_add(1));
    raised.max(1)
}

/// EIP-1559 fees of one transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Fees {
    /// `maxFeePerGas`.
    pub(crate) max_fee: u128,
    /// `maxPriorityFeePerGas`.
    pub(crate) priority_fee: u128,
}

impl Fees {
    /// The fees of a replacement for a transaction sent with `self`, given the `current`
    /// estimate: each bumped by `per_mille` and never below the current estimate. `None` when
    /// `cap` does not leave room for the required bump.
    pub(crate) fn replacement(
        self,
        current: Fees,
        per_mille: u64,
        cap: Option<u128>,
    ) -> Option<Fees> {
        let priority_fee = bumped(self.priority_fee, per_mille).max(current.priority_fee);
        let max_fee = bumped(self.max_fee, per_mille)
            .max(current.max_fee)
            .max(priority_fee);
        match cap {
            Some(cap) if max_fee > cap => None,
            _ => Some(Fees {
                max_fee,
                priority_fee,
            }),
        }
    }

    /// The estimate limited by `cap` (the priority fee never exceeds the max fee).
    pub(crate) fn capped(self, cap: Option<u128>) -> Fees {
        let max_fee = cap.map_or(self.max_fee, |c| self.max_fee.min(c));
        Fees {
            max_fee,
            priority_fee: self.priority_fee.min(max_fee),
        }
    }
}

/// How a node's refusal of `eth_sendRawTransaction` should be handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SendRefusal {
    /// The node already has this exact transaction: it was sent.
    AlreadyKnown,
    /// The nonce is used.
    NonceTooLow,
    /// The fees are too low (as a replacement, or for the pool).
    Underpriced,
    /// The account cannot pay.
    InsufficientFunds,
    /// Anything else.
    Other,
}

/// Classifies a node's message about a refused raw transaction (geth, Erigon, Nethermind,
/// Besu, reth and anvil wordings).
pub(crate) fn classify_refusal(message: &str) -> SendRefusal {
    let m = message.to_ascii_lowercase();
    if m.contains("already known")
        || m.contains("known transaction")
        || m.contains("already imported")
        || m.contains("already exists")
    {
        SendRefusal::AlreadyKnown
    } else if m.contains("nonce too low")
        || m.contains("nonce is too low")
        || m.contains("oldnonce")
        || m.contains("nonce too small")
    {
        SendRefusal::NonceTooLow
    } else if m.contains("underpriced")
        || m.contains("fee too low")
        || m.contains("less than block base fee")
        || m.contains("feetoolow")
        || m.contains("max fee per gas less than")
    {
        SendRefusal::Underpriced
    } else if m.contains("insufficient funds") || m.contains("insufficient balance") {
        SendRefusal::InsufficientFunds
    } else {
        SendRefusal::Other
    }
}

/// The message of a node's JSON-RPC refusal, if `e` is one.
pub(crate) fn refusal_message(e: &Error) -> Option<&str> {
    match e {
        Error::Rpc { message, .. } => Some(message),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bumps_are_at_least_twelve_and_a_half_percent() {
        assert_eq!(bumped(1000, 125), 1125);
        assert_eq!(bumped(1000, 100), 1125, "below the minimum is raised to it");
        assert_eq!(bumped(1000, 200), 1200);
        assert_eq!(bumped(7, 125), 8, "rounded up: 7.875 -> 8");
        assert_eq!(bumped(1, 125), 2);
        assert_eq!(bumped(0, 125), 1, "zero fees still move");
        assert_eq!(bumped(u128::MAX, 125), u128::MAX, "saturates");
        for fee in [1u128, 3, 8, 99, 1_000_000_007, 30_000_000_000] {
            let b = bumped(fee, 125);
            assert!(b * 1000 >= fee * 1125, "{fee} -> {b}");
        }
    }

    #[test]
    fn replacement_fees_bump_both_and_follow_the_market() {
        let old = Fees {
            max_fee: 100,
            priority_fee: 10,
        };
        let calm = Fees {
            max_fee: 50,
            priority_fee: 1,
        };
        let r = old.replacement(calm, 125, None).expect("no cap");
        assert_eq!(
            r,
            Fees {
                max_fee: 113,
                priority_fee: 12
            }
        );
        let busy = Fees {
            max_fee: 500,
            priority_fee: 40,
        };
        let r = old.replacement(busy, 125, None).expect("no cap");
        assert_eq!(
            r,
            Fees {
                max_fee: 500,
                priority_fee: 40
            }
        );
        assert_eq!(old.replacement(calm, 125, Some(112)), None);
        assert!(old.replacement(calm, 125, Some(113)).is_some());
    }

    #[test]
    fn caps_limit_estimates() {
        let f = Fees {
            max_fee: 100,
            priority_fee: 60,
        };
        assert_eq!(f.capped(None), f);
        assert_eq!(
            f.capped(Some(50)),
            Fees {
                max_fee: 50,
                priority_fee: 50
            }
        );
    }

    #[test]
    fn refusals_are_classified() {
        assert_eq!(classify_refusal("already known"), SendRefusal::AlreadyKnown);
        assert_eq!(
            classify_refusal("nonce too low: next nonce 5, tx nonce 4"),
            SendRefusal::NonceTooLow
        );
        assert_eq!(
            classify_refusal("replacement transaction underpriced"),
            SendRefusal::Underpriced
        );
        assert_eq!(
            classify_refusal("max fee per gas less than block base fee"),
            SendRefusal::Underpriced
        );
        assert_eq!(
            classify_refusal("insufficient funds for gas * price + value"),
            SendRefusal::InsufficientFunds
        );
        assert_eq!(
            classify_refusal("intrinsic gas too low"),
            SendRefusal::Other
        );
    }
}
