//! [`SealedBlock`]: a block built and sealed the way FISCO BCOS builds one (transaction and
//! receipt roots by [`super::merkle`], header hash, sealer signatures over it), for the devnet
//! test node and for tests. Building needs the sealers' secret keys; verifying never does.

use ::sm2::elliptic_curve::rand_core::CryptoRngCore;

use super::merkle::{merkle_proof, merkle_root};
use super::{CryptoMode, FiscoError, Header, NodeSecret, ParentInfo, Receipt, SealerSignature};
use crate::Hash32;

/// The header version FISCO BCOS 3.3 writes (0x03030000), as in the published examples.
pub const HEADER_VERSION: i32 = 0x0303_0000;

/// A block's contents and seal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedBlock {
    /// The header.
    pub header: Header,
    /// The sealers' signatures over the header hash.
    pub signatures: Vec<SealerSignature>,
    /// The transaction hashes in block order.
    pub tx_hashes: Vec<Hash32>,
    /// The receipts, one per transaction.
    pub receipts: Vec<Receipt>,
    /// The chain's crypto mode.
    pub mode: CryptoMode,
}

/// What goes into a block besides its transactions.
#[derive(Debug, Clone)]
pub struct BlockParams {
    /// The block number.
    pub number: i64,
    /// The parent (absent for genesis).
    pub parent: Option<ParentInfo>,
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    /// The state root the executor reports.
    pub state_root: Hash32,
}

impl SealedBlock {
    /// Builds the block over `tx_hashes` and `receipts` (equal lengths), lists every key of
    /// `sealers` in the header, and has the first `signing` of them sign it.
    ///
    /// Fails with [`FiscoError::Mismatch`] if the lengths differ, or if signing fails.
    pub fn build(
        mode: CryptoMode,
        params: &BlockParams,
        tx_hashes: Vec<Hash32>,
        receipts: Vec<Receipt>,
        sealers: &[NodeSecret],
        signing: usize,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Self, FiscoError> {
        if tx_hashes.len() != receipts.len() {
            return Err(FiscoError::Mismatch {
                what: "receipts per transaction",
                expected: tx_hashes.len().to_string(),
                found: receipts.len().to_string(),
            });
        }
        let receipt_hashes: Vec<Hash32> = receipts.iter().map(|r| r.hash(mode)).collect();
        let gas: u128 = receipts
            .iter()
            .map(|r| r.gas_used.parse::<u128>().unwrap_or(0))
            .sum();
        let header = Header {
            version: HEADER_VERSION,
            parents: params.parent.into_iter().collect(),
            txs_root: merkle_root(&tx_hashes, mode),
            receipts_root: merkle_root(&receipt_hashes, mode),
            state_root: params.state_root,
            number: params.number,
            gas_used: gas.to_string(),
            timestamp: params.timestamp,
            sealer: 0,
            sealer_list: sealers
                .iter()
                .map(|s| s.public_key().to_bytes().to_vec())
                .collect(),
            extra_data: Vec::new(),
            consensus_weights: vec![1; sealers.len()],
        };
        let hash = header.hash(mode);
        let mut signatures = Vec::with_capacity(signing);
        for (i, sealer) in sealers.iter().enumerate().take(signing) {
            let mut signature = sealer.sign(&hash, rng)?;
            // FISCO BCOS's SM block signatures are r ‖ s alone (the published example).
            signature.truncate(match mode {
                CryptoMode::Ecdsa => super::ECDSA_SIGNATURE_LEN,
                CryptoMode::Sm => 64,
            });
            signatures.push(SealerSignature {
                sealer_index: i64::try_from(i).unwrap_or(i64::MAX),
                signature,
            });
        }
        Ok(SealedBlock {
            header,
            signatures,
            tx_hashes,
            receipts,
            mode,
        })
    }

    /// The block hash.
    pub fn hash(&self) -> Hash32 {
        self.header.hash(self.mode)
    }

    /// The receipt proof of transaction `index` (`txReceiptProof`), or `None`.
    pub fn receipt_proof(&self, index: usize) -> Option<Vec<Hash32>> {
        let leaves: Vec<Hash32> = self.receipts.iter().map(|r| r.hash(self.mode)).collect();
        merkle_proof(&leaves, index, self.mode)
    }

    /// The transaction proof of transaction `index` (`txProof`), or `None`.
    pub fn transaction_proof(&self, index: usize) -> Option<Vec<Hash32>> {
        merkle_proof(&self.tx_hashes, index, self.mode)
    }
}
