//! [`HeaderWindow`]: the recent block headers the EVM source processed, and the parent-hash
//! continuity checks that detect a reorganisation among them.
//!
//! Every header the source fetches (the cursor's block, the blocks holding logs, the end of a
//! scanned range) goes through [`HeaderWindow::observe`]. A header conflicts with the window if
//! the window holds another hash at its height, if its parent hash is not the window's hash one
//! below, or if the window's block one above does not name it as parent. A conflict at or
//! below the cursor is a reorganisation of something already treated as final
//! ([`Error::ReorgBelowCursor`]: alert, stop the lane); above the cursor it is a chain that
//! moved during a scan ([`Error::ReorgAboveCursor`]: forget those headers and scan again).

use std::collections::BTreeMap;

use alloy::primitives::B256;

use crate::Error;
use crate::chain::BlockId;

/// The facts of one header the window keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SeenHeader {
    /// Block number.
    pub(crate) height: u64,
    /// Block hash.
    pub(crate) hash: B256,
    /// Its parent's hash.
    pub(crate) parent: B256,
}

/// Two different blocks seen at one height.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Conflict {
    /// Height of the disputed block.
    pub(crate) height: u64,
    /// The hash the window holds (or implies) there.
    pub(crate) expected: B256,
    /// The hash the new header holds (or implies) there.
    pub(crate) actual: B256,
}

impl Conflict {
    /// The error for this conflict relative to a cursor at `cursor_height` (`None`: nothing
    /// processed yet, so every conflict is above the cursor).
    pub(crate) fn into_error(self, cursor_height: Option<u64>) -> Error {
        let expected = BlockId::from(self.expected.0);
        let actual = BlockId::from(self.actual.0);
        match cursor_height {
            Some(c) if self.height <= c => Error::ReorgBelowCursor {
                height: self.height,
                expected,
                actual,
            },
            _ => Error::ReorgAboveCursor {
                height: self.height,
                expected,
                actual,
            },
        }
    }
}

/// A bounded window of recently processed headers, by height.
#[derive(Clone, Debug)]
pub(crate) struct HeaderWindow {
    headers: BTreeMap<u64, SeenHeader>,
    capacity: usize,
}

impl HeaderWindow {
    /// An empty window holding at most `capacity` headers (at least 2).
    pub(crate) fn new(capacity: usize) -> Self {
        HeaderWindow {
            headers: BTreeMap::new(),
            capacity: capacity.max(2),
        }
    }

    /// Checks `header` against the window, then records it. On a conflict nothing is recorded.
    pub(crate) fn observe(&mut self, header: SeenHeader) -> Result<(), Conflict> {
        if let Some(known) = self.headers.get(&header.height)
            && known.hash != header.hash
        {
            return Err(Conflict {
                height: header.height,
                expected: known.hash,
                actual: header.hash,
            });
        }
        if let Some(below) = header
            .height
            .checked_sub(1)
            .and_then(|h| self.headers.get(&h))
            && below.hash != header.parent
        {
            return Err(Conflict {
                height: below.height,
                expected: below.hash,
                actual: header.parent,
            });
        }
        if let Some(above) = header
            .height
            .checked_add(1)
            .and_then(|h| self.headers.get(&h))
            && above.parent != header.hash
        {
            return Err(Conflict {
                height: header.height,
                expected: above.parent,
                actual: header.hash,
            });
        }
        self.headers.insert(header.height, header);
        while self.headers.len() > self.capacity {
            self.headers.pop_first();
        }
        Ok(())
    }

    /// Forgets every header above `height` (they were not final; a re-scan fetches them again).
    pub(crate) fn forget_above(&mut self, height: u64) {
        self.headers.split_off(&height.saturating_add(1));
    }

    /// The recorded hash at `height`.
    #[cfg(test)]
    pub(crate) fn get(&self, height: u64) -> Option<B256> {
        self.headers.get(&height).map(|h| h.hash)
    }

    /// Number of recorded headers.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.headers.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(n: u8) -> B256 {
        B256::repeat_byte(n)
    }

    /// A chain of headers `from..=to` where block i has hash `tag + i` and parent `tag + i - 1`.
    fn header(height: u64, tag: u8) -> SeenHeader {
        SeenHeader {
            height,
            hash: h(tag + height as u8),
            parent: h(tag + height as u8 - 1),
        }
    }

    #[test]
    fn a_continuous_chain_is_accepted_in_any_order() {
        let mut w = HeaderWindow::new(16);
        for height in [5, 7, 6, 8, 1] {
            w.observe(header(height, 10)).expect("same chain");
        }
        assert_eq!(w.len(), 5);
        // Seeing a header again is fine.
        w.observe(header(6, 10)).expect("idempotent");
    }

    #[test]
    fn another_hash_at_a_known_height_conflicts() {
        let mut w = HeaderWindow::new(16);
        w.observe(header(5, 10)).expect("first");
        let c = w.observe(header(5, 50)).expect_err("fork");
        assert_eq!(
            c,
            Conflict {
                height: 5,
                expected: h(15),
                actual: h(55)
            }
        );
        assert_eq!(w.get(5), Some(h(15)), "nothing recorded on conflict");
    }

    #[test]
    fn a_broken_parent_link_conflicts_below_or_at_the_header() {
        let mut w = HeaderWindow::new(16);
        w.observe(header(5, 10)).expect("first");
        // Block 6 of another chain names another parent: the dispute is about block 5.
        let c = w.observe(header(6, 50)).expect_err("parent mismatch");
        assert_eq!(c.height, 5);
        assert_eq!(c.expected, h(15));
        assert_eq!(c.actual, h(55));
        // Block 4 of another chain is not the parent block 5 names: the dispute is about 4.
        let c = w.observe(header(4, 50)).expect_err("child mismatch");
        assert_eq!(c.height, 4);
        assert_eq!(c.expected, h(14));
        assert_eq!(c.actual, h(54));
    }

    #[test]
    fn conflicts_are_classified_against_the_cursor() {
        let c = Conflict {
            height: 5,
            expected: h(1),
            actual: h(2),
        };
        assert!(matches!(
            c.into_error(Some(5)),
            Error::ReorgBelowCursor { height: 5, .. }
        ));
        assert!(matches!(
            c.into_error(Some(9)),
            Error::ReorgBelowCursor { .. }
        ));
        assert!(matches!(
            c.into_error(Some(4)),
            Error::ReorgAboveCursor { .. }
        ));
        assert!(matches!(c.into_error(None), Error::ReorgAboveCursor { .. }));
    }

    #[test]
    fn forgetting_above_allows_the_new_chain_and_capacity_bounds_memory() {
        let mut w = HeaderWindow::new(4);
        for height in 1..=6 {
            w.observe(header(height, 10)).expect("chain");
        }
        assert_eq!(w.len(), 4);
        assert_eq!(w.get(2), None, "oldest evicted");
        // A fork from block 4 on: rejected until the old blocks above 4 are forgotten.
        let fork5 = SeenHeader {
            height: 5,
            hash: h(99),
            parent: h(14),
        };
        assert!(w.observe(fork5).is_err());
        w.forget_above(4);
        w.observe(fork5).expect("fork accepted after forgetting");
        assert_eq!(w.get(5), Some(h(99)));
        assert_eq!(w.get(6), None);
    }
}
