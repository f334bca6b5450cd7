//! The fixed words of `causeway_envelope_operations_total`: what was done with a private
//! message's envelope ([`EnvelopeOperation`]) and how it ended ([`Outcome`]), so the family's
//! label values are known in advance (6 × 5 series at most).

/// An operation on a private message's envelope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EnvelopeOperation {
    /// Another member's gateway asked this one for an envelope over the peer protocol
    /// (`FetchEnvelope`): served, or refused to a member that is not a reader.
    Fetch,
    /// An application read the ciphertext (`GET /v1/envelopes/{id}`).
    Read,
    /// An application asked for the plaintext (`POST /v1/envelopes/{id}/decrypt`): allowed
    /// to a reader, denied otherwise.
    Decrypt,
    /// A grant to another member (`POST /v1/envelopes/{id}/grants`).
    Grant,
    /// A grant revoked (`DELETE /v1/envelopes/{id}/grants/{member}`).
    Revoke,
    /// A message's disclosed fields checked against its commitment and served
    /// (`GET /v1/messages/{id}/disclosure`).
    Disclosure,
}

impl EnvelopeOperation {
    /// Every operation, in label order.
    pub const ALL: [EnvelopeOperation; 6] = [
        EnvelopeOperation::Fetch,
        EnvelopeOperation::Read,
        EnvelopeOperation::Decrypt,
        EnvelopeOperation::Grant,
        EnvelopeOperation::Revoke,
        EnvelopeOperation::Disclosure,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            EnvelopeOperation::Fetch => "fetch",
            EnvelopeOperation::Read => "read",
            EnvelopeOperation::Decrypt => "decrypt",
            EnvelopeOperation::Grant => "grant",
            EnvelopeOperation::Revoke => "revoke",
            EnvelopeOperation::Disclosure => "disclosure",
        }
    }
}

/// How an operation ended, as a class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    /// Done: served, decrypted, granted, revoked, verified.
    Ok,
    /// Not allowed: the caller (a token, a member) may not do it, e.g. not a reader.
    Denied,
    /// No such message or envelope here.
    NotFound,
    /// The request or the message does not allow it: malformed, a public message, already a
    /// reader, a disclosure that does not verify.
    Rejected,
    /// The gateway could not answer now (its store or the other members), or failed.
    Error,
}

impl Outcome {
    /// Every class, in label order.
    pub const ALL: [Outcome; 5] = [
        Outcome::Ok,
        Outcome::Denied,
        Outcome::NotFound,
        Outcome::Rejected,
        Outcome::Error,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Denied => "denied",
            Outcome::NotFound => "not_found",
            Outcome::Rejected => "rejected",
            Outcome::Error => "error",
        }
    }

    /// The class of an HTTP response status: 2xx ok, 401 and 403 denied, 404 not found, 408
    /// and 5xx error, any other a rejection.
    pub fn of_http(status: u16) -> Outcome {
        match status {
            200..=299 => Outcome::Ok,
            401 | 403 => Outcome::Denied,
            404 => Outcome::NotFound,
            408 | 500..=599 => Outcome::Error,
            _ => Outcome::Rejected,
        }
    }
}

/// How many operations of one kind ended in one class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EnvelopeFigures {
    /// The operation.
    pub operation: EnvelopeOperation,
    /// The outcome class.
    pub outcome: Outcome,
    /// Operations since the gateway started.
    pub count: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_statuses_fall_into_their_classes() {
        for (status, class) in [
            (200, Outcome::Ok),
            (201, Outcome::Ok),
            (400, Outcome::Rejected),
            (401, Outcome::Denied),
            (403, Outcome::Denied),
            (404, Outcome::NotFound),
            (408, Outcome::Error),
            (409, Outcome::Rejected),
            (413, Outcome::Rejected),
            (503, Outcome::Error),
        ] {
            assert_eq!(Outcome::of_http(status), class, "{status}");
        }
    }
}
