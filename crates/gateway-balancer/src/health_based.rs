//! Health based: round robin over the endpoints whose health score is (nearly) the best.

use gateway_core::HealthScore;

use crate::round_robin::RoundRobin;

/// Endpoints whose score is within this distance of the best score share the top tier.
///
/// Scores come from latency and recent failures and jitter a little between checks;
/// without a tolerance the single best endpoint of the moment would take all traffic.
pub const HEALTH_TIER_TOLERANCE: f32 = 0.05;

/// Round robin over the top tier, which is a prefix of the set.
///
/// The balancer sorts a health-based set by score, best first, so the top tier is the
/// first `tier_len` endpoints and the fallbacks that follow it run from healthy to sick.
/// The tier is computed once per set; a pick is one atomic add, O(1).
#[derive(Debug)]
pub(crate) struct HealthBased {
    tier_len: usize,
    rotation: RoundRobin,
}

impl HealthBased {
    /// `best_first` are the set's scores in descending order.
    pub(crate) fn new(best_first: impl IntoIterator<Item = HealthScore>) -> Self {
        let mut scores = best_first.into_iter();
        let tier_len = match scores.next() {
            None => 0,
            Some(best) => {
                let floor = best.get() - HEALTH_TIER_TOLERANCE;
                1 + scores.take_while(|s| s.get() >= floor).count()
            }
        };
        Self {
            tier_len,
            rotation: RoundRobin::new(tier_len),
        }
    }

    /// How many endpoints share the top tier.
    #[cfg(test)]
    pub(crate) fn tier_len(&self) -> usize {
        self.tier_len
    }

    /// The next endpoint of the top tier. The set must not be empty.
    pub(crate) fn pick(&self) -> usize {
        self.rotation.pick(self.tier_len.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scores(s: &[f32]) -> Vec<HealthScore> {
        s.iter().map(|&s| HealthScore::new(s)).collect()
    }

    #[test]
    fn tier_holds_scores_near_the_best() {
        assert_eq!(
            HealthBased::new(scores(&[1.0, 0.97, 0.95, 0.9])).tier_len(),
            3
        );
        assert_eq!(HealthBased::new(scores(&[0.8, 0.5, 0.1])).tier_len(), 1);
        assert_eq!(HealthBased::new(scores(&[0.0, 0.0])).tier_len(), 2);
        assert_eq!(HealthBased::new(scores(&[])).tier_len(), 0);
    }

    #[test]
    fn picks_spread_over_the_tier_only() {
        let hb = HealthBased::new(scores(&[1.0, 0.99, 0.98, 0.5, 0.2]));
        let mut counts = [0; 5];
        for _ in 0..300 {
            counts[hb.pick()] += 1;
        }
        assert_eq!(counts, [100, 100, 100, 0, 0]);
    }
}
