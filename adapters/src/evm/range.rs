//! [`RangeSizer`]: how many blocks one `eth_getLogs` asks for, adapting to what the node allows.
//!
//! Nodes cap log queries by block span, result count, response size or time, each with its own
//! wording (see `rpc::is_range_error`). The sizer halves the span on every refusal (or jumps to
//! the span the node suggested), and grows it back by a quarter only after a run of successes,
//! so a node near its limit is not hit with refused queries every other call.

/// The adaptive block span of log queries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RangeSizer {
    current: u64,
    max: u64,
    successes: u32,
    grow_after: u32,
}

impl RangeSizer {
    /// Starts at `initial` blocks (clamped to 1..=`max`), growing after `grow_after` successes
    /// in a row (at least 1).
    pub fn new(initial: u64, max: u64, grow_after: u32) -> Self {
        let max = max.max(1);
        RangeSizer {
            current: initial.clamp(1, max),
            max,
            successes: 0,
            grow_after: grow_after.max(1),
        }
    }

    /// The span the next query should cover.
    pub fn current(&self) -> u64 {
        self.current
    }

    /// The node refused a query over `span` blocks; `suggested` is the span it proposed, if any.
    /// Returns `false` when the span was already a single block (nothing left to shrink).
    pub fn too_large(&mut self, span: u64, suggested: Option<u64>) -> bool {
        self.successes = 0;
        if span <= 1 {
            self.current = 1;
            return false;
        }
        let halved = (span / 2).max(1);
        self.current = match suggested {
            Some(s) if s >= 1 && s < span => s,
            _ => halved,
        };
        true
    }

    /// A query succeeded; after enough successes in a row the span grows by a quarter.
    pub fn succeeded(&mut self) {
        self.successes = self.successes.saturating_add(1);
        if self.successes >= self.grow_after {
            self.successes = 0;
            let step = (self.current / 4).max(1);
            self.current = self.current.saturating_add(step).min(self.max);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_on_refusal_down_to_one_block() {
        let mut s = RangeSizer::new(1000, 10_000, 3);
        assert_eq!(s.current(), 1000);
        assert!(s.too_large(1000, None));
        assert_eq!(s.current(), 500);
        for _ in 0..20 {
            let span = s.current();
            s.too_large(span, None);
        }
        assert_eq!(s.current(), 1);
        assert!(!s.too_large(1, None), "a single block cannot shrink");
    }

    #[test]
    fn follows_a_smaller_suggestion_only() {
        let mut s = RangeSizer::new(1000, 10_000, 3);
        assert!(s.too_large(1000, Some(32)));
        assert_eq!(s.current(), 32);
        // A suggestion that is not smaller is ignored in favour of halving.
        assert!(s.too_large(32, Some(64)));
        assert_eq!(s.current(), 16);
    }

    #[test]
    fn grows_back_slowly_after_successes_and_never_past_max() {
        let mut s = RangeSizer::new(100, 150, 3);
        s.succeeded();
        s.succeeded();
        assert_eq!(s.current(), 100, "no growth before three successes");
        s.succeeded();
        assert_eq!(s.current(), 125);
        // A refusal resets the streak.
        s.succeeded();
        s.succeeded();
        s.too_large(125, None);
        assert_eq!(s.current(), 62);
        s.succeeded();
        assert_eq!(s.current(), 62);
        for _ in 0..100 {
            s.succeeded();
        }
        assert_eq!(s.current(), 150);
    }

    #[test]
    fn clamps_its_configuration() {
        assert_eq!(RangeSizer::new(0, 10, 0).current(), 1);
        assert_eq!(RangeSizer::new(50, 10, 1).current(), 10);
        let mut s = RangeSizer::new(1, 10, 0);
        s.succeeded();
        assert_eq!(s.current(), 2, "grow_after 0 behaves as 1");
    }
}
