//! `causeway-privacy`: how Causeway keeps private payloads private while chains see only
//! commitments.
//!
//! This crate sits at the bottom of the architecture beside `causeway-proofs` (whose Merkle log
//! it reuses for selective disclosure). It does no I/O beyond reading and writing key files:
//! payloads stream through caller-provided [`std::io::Read`] and [`std::io::Write`]. Work over
//! large payloads is CPU-bound; async callers run it on `spawn_blocking`.
//!
//! - [`keys`]: X25519 privacy keys, key ids, key files (mode 0600, zeroized, never printed),
//!   XEdDSA signatures.
//! - [`hpke`]: RFC 9180 HPKE (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128/256-GCM, all modes),
//!   the `hpke` crate behind our key and error types.
//! - [`envelope`]: a payload encrypted once (AES-256-GCM STREAM, 64 KiB chunks), its content key
//!   wrapped per recipient with HPKE base mode, key-committing, with one message commitment to
//!   put on chain that binds the envelope, its recipients and its disclosure tree.
//! - [`grant`]: a reader gives another reader access without re-encrypting, in a history
//!   signed with the members' privacy keys (XEdDSA); the grantor can revoke.
//! - [`disclosure`]: per-field salted commitments of a JSON payload in a Merkle tree; any subset
//!   of fields can be disclosed and checked against the root.
//!
//! ```
//! use causeway_privacy::envelope::{self, EnvelopeContext, ExpectedMessage, SealRequest};
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
//! // The gateway reads the context and the commitment (the message body) from the chain.
//! let expected = ExpectedMessage { context: request.context, commitment: sealed.commitment };
//! let opened = envelope::open_to_vec(&alice, &bytes, &expected)?;
//! assert_eq!(&opened.plaintext[..], b"private payload");
//! # Ok::<(), causeway_privacy::Error>(())
//! ```

pub mod disclosure;
pub mod envelope;
mod error;
pub mod grant;
pub mod hpke;
pub mod keys;

pub use disclosure::{AnchoredDisclosure, CommittedPayload, Disclosure, PayloadRoot};
pub use envelope::{
    CommitmentInputs, EnvelopeContext, EnvelopeHeader, EnvelopeId, ExpectedMessage,
    MessageCommitment, Opened, OpenedPayload, SealRequest, Sealed, open, open_to_vec, seal,
    seal_json, seal_to_vec,
};
pub use error::Error;
pub use grant::Grant;
pub use keys::{KeyId, KeyPair, PublicKey};
