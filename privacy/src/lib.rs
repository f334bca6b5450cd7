//! `causeway-privacy`: how Causeway keeps private payloads private while chains see only
//! commitments.
//!
//! This crate sits at the bottom of the architecture beside `causeway-proofs` (whose Merkle log
//! it reuses for selective disclosure). It does no I/O beyond reading and writing key files:
//! payloads stream through caller-provided [`std::io::Read`] and [`std::io::Write`]. Work over
//! large payloads is CPU-bound; async callers run it on `spawn_blocking`.
//!
//! - [`keys`]: X25519 privacy keys, key ids, key files (mode 0600, zeroized, never printed).
//! - [`hpke`]: RFC 9180 HPKE (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128/256-GCM, all modes),
//!   the `hpke` crate behind our key and error types.
//! - [`envelope`]: a payload encrypted once (AES-256-GCM STREAM, 64 KiB chunks), its content key
//!   wrapped per recipient with HPKE base mode, key-committing, with a salted plaintext
//!   commitment to put on chain.
//! - [`grant`]: a reader gives another reader access without re-encrypting.
//! - [`disclosure`]: per-field salted commitments of a JSON payload in a Merkle tree; any subset
//!   of fields can be disclosed and checked against the root.
//!
//! ```
//! use causeway_privacy::envelope::{self, EnvelopeContext, SealRequest};
//! use causeway_privacy::keys::KeyPair;
//! use causeway_proofs::Domain;
//! use causeway_proofs::message::{Address32, Nonce};
//!
//! let alice = KeyPair::generate();
//! let request = SealRequest {
//!     context: EnvelopeContext {
//!         origin: Domain(1),
//!         destination: Domain(2),
//!         nonce: Nonce(0),
//!         sender: Address32([7; 32]),
//!     },
//!     recipients: &[*alice.public_key()],
//! };
//! let (bytes, sealed) = envelope::seal_to_vec(&request, b"private payload")?;
//! let (plaintext, opened) = envelope::open_to_vec(&alice, &bytes)?;
//! assert_eq!(plaintext, b"private payload");
//! opened.verify_commitment(&sealed.commitment)?; // the message body on chain
//! # Ok::<(), causeway_privacy::Error>(())
//! ```

pub mod disclosure;
pub mod envelope;
mod error;
pub mod grant;
pub mod hpke;
pub mod keys;

pub use disclosure::{CommittedPayload, Disclosure, PayloadRoot};
pub use envelope::{
    EnvelopeContext, EnvelopeHeader, EnvelopeId, Opened, PayloadCommitment, SealRequest, Sealed,
    open, open_to_vec, seal, seal_to_vec,
};
pub use error::Error;
pub use grant::Grant;
pub use keys::{KeyId, KeyPair, PublicKey};
