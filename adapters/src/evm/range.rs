//! [`RangeSizer`]: how many blocks one `eth_getLogs` asks for, adapting to what the node allows.
//!
//! Nodes cap log queries by block span, result count, response size or time, each with its own
//! wording (see `rpc::is_range_error`). The sizer halves the span on every refusal (or jumps to
//! the span the node suggested), and grows it back by a quarter only after a run of successes,
//! so a node near its limit is not hit with refused queries every other call. [`LogWindows`]:
//! the ranges of a newest-first search for a recent event, sized by one.

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

/// Most blocks one `eth_getLogs` request of a [`LogWindows`] scan spans: public providers refuse
/// wider ranges (10,000 blocks is a common cap).
pub const LOG_WINDOW: u64 = 10_000;

/// The block ranges of a scan from `head` back to block 0, newest first (a search for a recent
/// event: the Anchor's last checkpoint, a dispatched message after a crash), each as wide as a
/// [`RangeSizer`] allows: halved when the node refuses a range (down to one block), grown back
/// by a quarter after each served one.
#[derive(Debug)]
pub struct LogWindows {
    /// The highest block not yet read (`None`: block 0 was read).
    next_to: Option<u64>,
    sizer: RangeSizer,
    /// The range handed out last and not yet answered.
    pending: Option<(u64, u64)>,
}

impl LogWindows {
    /// A scan from `head` down to block 0.
    pub fn newest_first(head: u64) -> Self {
        LogWindows {
            next_to: Some(head),
            sizer: RangeSizer::new(LOG_WINDOW, LOG_WINDOW, 1),
            pending: None,
        }
    }

    /// The next range to read, `(from, to)` inclusive; `None` once block 0 was read.
    pub fn next_window(&mut self) -> Option<(u64, u64)> {
        let to = self.next_to?;
        let from = to.saturating_sub(self.sizer.current() - 1);
        self.pending = Some((from, to));
        Some((from, to))
    }

    /// The last range was read.
    pub fn served(&mut self) {
        if let Some((from, _)) = self.pending.take() {
            self.next_to = from.checked_sub(1);
            self.sizer.succeeded();
        }
    }

    /// The node refused the last range: the next one is narrower. `false` when it was a single
    /// block already (nothing narrower to ask for).
    pub fn refused(&mut self) -> bool {
        match self.pending.take() {
            Some((from, to)) => self.sizer.too_large(to - from + 1, None),
            None => true,
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

    /// Every range a scan asks for when the node serves each one.
    fn served_scan(head: u64) -> Vec<(u64, u64)> {
        let mut w = LogWindows::newest_first(head);
        let mut out = Vec::new();
        while let Some(r) = w.next_window() {
            out.push(r);
            w.served();
        }
        out
    }

    #[test]
    fn a_scan_covers_every_block_once_newest_first_in_capped_windows() {
        assert_eq!(served_scan(0), vec![(0, 0)]);
        assert_eq!(served_scan(9_999), vec![(0, 9_999)]);
        assert_eq!(
            served_scan(25_000),
            vec![(15_001, 25_000), (5_001, 15_000), (0, 5_000)]
        );
        for head in [1, 10_000, 10_001, 123_456] {
            let ranges = served_scan(head);
            assert_eq!(ranges[0].1, head);
            assert_eq!(ranges.last().map(|r| r.0), Some(0));
            for pair in ranges.windows(2) {
                assert_eq!(pair[1].1 + 1, pair[0].0, "contiguous, no gap or overlap");
            }
            assert!(ranges.iter().all(|(f, t)| t - f < LOG_WINDOW));
        }
    }

    #[test]
    fn a_refused_window_is_asked_again_narrower_and_the_scan_grows_back() {
        let mut w = LogWindows::newest_first(100_000);
        assert_eq!(w.next_window(), Some((90_001, 100_000)));
        assert!(w.refused());
        // The same blocks' newest half, then the next ones a quarter wider.
        assert_eq!(w.next_window(), Some((95_001, 100_000)));
        w.served();
        assert_eq!(w.next_window(), Some((88_751, 95_000)));
        // A node that refuses everything: down to one block, then the scan gives up.
        let mut w = LogWindows::newest_first(100_000);
        let mut asked = 0;
        while w.next_window().is_some() {
            asked += 1;
            if !w.refused() {
                break;
            }
        }
        assert_eq!(asked, 14, "10,000 halved to 1 is 13 halvings");
    }
}
