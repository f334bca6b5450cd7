//! Fabric messages the adapter's generated protos do not carry, declared with prost's derive
//! under Fabric's own package, message and field names and numbers: the key/value read-write
//! set (`kvrwset`, hyperledger/fabric-protos `ledger/rwset/kvrwset/kvrwset.proto`) and the
//! parts of the channel configuration (`common/configtx.proto`, `msp/msp_config.proto`) the
//! genesis block holds.

#![allow(missing_docs)]

/// Package `kvrwset`.
pub mod kvrwset {
    /// `kvrwset.KVRWSet`: the public reads and writes of one namespace.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct KvRwSet {
        #[prost(message, repeated, tag = "1")]
        pub reads: Vec<KvRead>,
        /// `range_queries_info` (2) and `metadata_writes` (4) are never produced here.
        #[prost(message, repeated, tag = "3")]
        pub writes: Vec<KvWrite>,
    }

    /// `kvrwset.KVRead`: a key read and the version it had (absent: the key did not exist).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct KvRead {
        #[prost(string, tag = "1")]
        pub key: String,
        #[prost(message, optional, tag = "2")]
        pub version: Option<Version>,
    }

    /// `kvrwset.KVWrite`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct KvWrite {
        #[prost(string, tag = "1")]
        pub key: String,
        #[prost(bool, tag = "2")]
        pub is_delete: bool,
        #[prost(bytes = "vec", tag = "3")]
        pub value: Vec<u8>,
    }

    /// `kvrwset.Version`: the height (block, transaction) that last wrote a key.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Version {
        #[prost(uint64, tag = "1")]
        pub block_num: u64,
        #[prost(uint64, tag = "2")]
        pub tx_num: u64,
    }
}

/// Package `common` (configtx.proto): the genesis block's configuration.
pub mod configtx {
    use std::collections::HashMap;

    /// `common.ConfigEnvelope`: the data of a CONFIG transaction.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ConfigEnvelope {
        #[prost(message, optional, tag = "1")]
        pub config: Option<Config>,
        #[prost(message, optional, tag = "2")]
        pub last_update: Option<causeway_adapters::fabric::proto::common::Envelope>,
    }

    /// `common.Config`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Config {
        #[prost(uint64, tag = "1")]
        pub sequence: u64,
        #[prost(message, optional, tag = "2")]
        pub channel_group: Option<ConfigGroup>,
    }

    /// `common.ConfigGroup` (`policies`, tag 4, is left empty).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ConfigGroup {
        #[prost(uint64, tag = "1")]
        pub version: u64,
        #[prost(map = "string, message", tag = "2")]
        pub groups: HashMap<String, ConfigGroup>,
        #[prost(map = "string, message", tag = "3")]
        pub values: HashMap<String, ConfigValue>,
        #[prost(string, tag = "5")]
        pub mod_policy: String,
    }

    /// `common.ConfigValue`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ConfigValue {
        #[prost(uint64, tag = "1")]
        pub version: u64,
        #[prost(bytes = "vec", tag = "2")]
        pub value: Vec<u8>,
        #[prost(string, tag = "3")]
        pub mod_policy: String,
    }

    /// `msp.MSPConfig` (`type` 0 is FABRIC).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct MspConfig {
        #[prost(int32, tag = "1")]
        pub r#type: i32,
        #[prost(bytes = "vec", tag = "2")]
        pub config: Vec<u8>,
    }

    /// `msp.FabricMSPConfig`, the fields this network fills.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct FabricMspConfig {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(bytes = "vec", repeated, tag = "2")]
        pub root_certs: Vec<Vec<u8>>,
        #[prost(bytes = "vec", repeated, tag = "4")]
        pub admins: Vec<Vec<u8>>,
        #[prost(bytes = "vec", repeated, tag = "9")]
        pub tls_root_certs: Vec<Vec<u8>>,
    }

    /// `common.HashingAlgorithm` (channel config value `HashingAlgorithm`).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct HashingAlgorithm {
        #[prost(string, tag = "1")]
        pub name: String,
    }

    /// `orderer.BatchSize` (orderer config value `BatchSize`).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct BatchSize {
        #[prost(uint32, tag = "1")]
        pub max_message_count: u32,
        #[prost(uint32, tag = "2")]
        pub absolute_max_bytes: u32,
        #[prost(uint32, tag = "3")]
        pub preferred_max_bytes: u32,
    }

    /// `orderer.BatchTimeout` (orderer config value `BatchTimeout`, e.g. "2s").
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct BatchTimeout {
        #[prost(string, tag = "1")]
        pub timeout: String,
    }
}
