//! A transaction's read/write set while it is simulated, and its `kvrwset` encoding in
//! `ChaincodeAction.results` (sorted by namespace and key, as Fabric's rwset builder sorts).

use std::collections::BTreeMap;

use prost::Message as _;

use crate::fabric::proto::kvrwset::{self, KvRead, KvRwSet, KvWrite};
use causeway_adapters::fabric::proto::rwset::{NsReadWriteSet, TxReadWriteSet, tx_read_write_set};

/// The version of a committed key: the block and the transaction within it that wrote it
/// (`kvrwset.Version`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// Block number.
    pub block_num: u64,
    /// Index of the transaction in the block.
    pub tx_num: u64,
}

/// The reads and writes of one namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct NsRwSet {
    /// Committed version read per key (`None`: the key did not exist).
    pub(crate) reads: BTreeMap<String, Option<Version>>,
    /// Value written per key (`None`: deleted).
    pub(crate) writes: BTreeMap<String, Option<Vec<u8>>>,
}

/// A transaction's reads and writes, per namespace (chaincode).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RwSet {
    pub(crate) namespaces: BTreeMap<String, NsRwSet>,
}

impl RwSet {
    /// Records the first read of `key` (later reads see the same committed version).
    pub(crate) fn record_read(&mut self, namespace: &str, key: &str, version: Option<Version>) {
        self.namespaces
            .entry(namespace.to_owned())
            .or_default()
            .reads
            .entry(key.to_owned())
            .or_insert(version);
    }

    /// Records a write (`None` deletes).
    pub(crate) fn record_write(&mut self, namespace: &str, key: &str, value: Option<Vec<u8>>) {
        self.namespaces
            .entry(namespace.to_owned())
            .or_default()
            .writes
            .insert(key.to_owned(), value);
    }

    /// The transaction's own pending write of `key`: `Some(None)` when it deleted it.
    pub(crate) fn pending_write(&self, namespace: &str, key: &str) -> Option<Option<&Vec<u8>>> {
        self.namespaces
            .get(namespace)
            .and_then(|ns| ns.writes.get(key))
            .map(Option::as_ref)
    }

    /// Drops every write, keeping the reads.
    pub(crate) fn discard_writes(&mut self) {
        for ns in self.namespaces.values_mut() {
            ns.writes.clear();
        }
    }

    /// The `rwset.TxReadWriteSet` bytes of `ChaincodeAction.results`.
    pub fn encode(&self) -> Vec<u8> {
        self.to_proto().encode_to_vec()
    }

    /// The `rwset.TxReadWriteSet` with one `kvrwset.KVRWSet` per namespace.
    pub fn to_proto(&self) -> TxReadWriteSet {
        let ns_rwset = self
            .namespaces
            .iter()
            .filter(|(_, ns)| !ns.reads.is_empty() || !ns.writes.is_empty())
            .map(|(namespace, ns)| NsReadWriteSet {
                namespace: namespace.clone(),
                rwset: KvRwSet {
                    reads: ns
                        .reads
                        .iter()
                        .map(|(key, version)| KvRead {
                            key: key.clone(),
                            version: version.map(|v| kvrwset::Version {
                                block_num: v.block_num,
                                tx_num: v.tx_num,
                            }),
                        })
                        .collect(),
                    writes: ns
                        .writes
                        .iter()
                        .map(|(key, value)| KvWrite {
                            key: key.clone(),
                            is_delete: value.is_none(),
                            value: value.clone().unwrap_or_default(),
                        })
                        .collect(),
                }
                .encode_to_vec(),
                collection_hashed_rwset: Vec::new(),
            })
            .collect();
        TxReadWriteSet {
            data_model: tx_read_write_set::DataModel::Kv as i32,
            ns_rwset,
        }
    }

    /// Decodes `ChaincodeAction.results` (what the committer validates and applies).
    pub fn decode(bytes: &[u8]) -> Result<Self, prost::DecodeError> {
        let tx = TxReadWriteSet::decode(bytes)?;
        let mut out = RwSet::default();
        for ns in tx.ns_rwset {
            let kv = KvRwSet::decode(ns.rwset.as_slice())?;
            let entry = out.namespaces.entry(ns.namespace).or_default();
            for read in kv.reads {
                entry.reads.insert(
                    read.key,
                    read.version.map(|v| Version {
                        block_num: v.block_num,
                        tx_num: v.tx_num,
                    }),
                );
            }
            for write in kv.writes {
                entry
                    .writes
                    .insert(write.key, (!write.is_delete).then_some(write.value));
            }
        }
        Ok(out)
    }

    /// The value written to `key` of `namespace`, if the set writes it (`Some(None)`:
    /// deleted).
    pub fn write(&self, namespace: &str, key: &str) -> Option<Option<&[u8]>> {
        self.pending_write(namespace, key)
            .map(|v| v.map(Vec::as_slice))
    }

    /// The committed version read for `key` of `namespace`, if the set reads it (`Some(None)`:
    /// read as absent).
    pub fn read(&self, namespace: &str, key: &str) -> Option<Option<Version>> {
        self.namespaces
            .get(namespace)
            .and_then(|ns| ns.reads.get(key))
            .copied()
    }
}
