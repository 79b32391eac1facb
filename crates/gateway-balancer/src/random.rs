//! Random: a uniformly random endpoint, with no shared state.

/// A uniformly random index in `0..n`; `n` must not be zero.
///
/// O(1): fastrand's thread-local wyrand generator, so threads share no cache line and
/// take no lock. Not cryptographic, which a load spread does not need.
pub(crate) fn pick(n: usize) -> usize {
    fastrand::usize(..n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covers_every_endpoint() {
        let mut counts = [0u32; 8];
        for _ in 0..8_000 {
            counts[pick(8)] += 1;
        }
        // Expected 1000 each; 700 is more than 9 standard deviations away.
        assert!(counts.iter().all(|&c| c > 700), "{counts:?}");
    }

    #[test]
    fn single_endpoint() {
        assert_eq!(pick(1), 0);
    }
}
