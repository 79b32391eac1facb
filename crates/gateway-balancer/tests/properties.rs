//! Properties of selection that must hold for every strategy and endpoint set
//! (proptest: random sets, weights, scores and keys, shrunk to the smallest failure).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use gateway_balancer::{Balancer, Endpoint};
use gateway_core::{HealthScore, InstanceId, Strategy, Weight};
use proptest::prelude::*;

fn endpoints(weights: &[u16], scores: &[u8]) -> Vec<Endpoint<usize>> {
    weights
        .iter()
        .zip(scores.iter().cycle())
        .enumerate()
        .map(|(i, (&w, &s))| {
            Endpoint::new(InstanceId::parse(&format!("i{i}")).unwrap(), i)
                .with_weight(Weight::new(i64::from(w)).unwrap())
                .with_score(HealthScore::new(f32::from(s) / 255.0))
        })
        .collect()
}

fn strategy() -> impl proptest::strategy::Strategy<Value = Strategy> {
    proptest::sample::select(Strategy::ALL.to_vec())
}

proptest! {
    /// Candidates are a permutation: the choice first, then every other endpoint once.
    #[test]
    fn every_selection_offers_each_endpoint_exactly_once(
        strategy in strategy(),
        weights in proptest::collection::vec(1u16..=100, 1..24),
        scores in proptest::collection::vec(any::<u8>(), 1..24),
        key in proptest::collection::vec(any::<u8>(), 0..32),
        rounds in 1usize..8,
    ) {
        let balancer = Balancer::new(strategy, endpoints(&weights, &scores));
        for _ in 0..rounds {
            for mut seen in [
                balancer.select().map(|e| *e.value()).collect::<Vec<_>>(),
                balancer.select_by_key(&key).map(|e| *e.value()).collect::<Vec<_>>(),
            ] {
                seen.sort_unstable();
                prop_assert_eq!(seen, (0..weights.len()).collect::<Vec<_>>());
            }
        }
    }

    /// Round robin: n × k selections choose each endpoint first exactly k times.
    #[test]
    fn round_robin_is_exactly_even(n in 1usize..20, k in 1usize..6) {
        let balancer = Balancer::new(Strategy::RoundRobin, endpoints(&vec![1; n], &[255]));
        let mut counts = vec![0usize; n];
        for _ in 0..n * k {
            counts[*balancer.select().next().unwrap().value()] += 1;
        }
        prop_assert!(counts.iter().all(|&c| c == k), "{:?}", counts);
    }

    /// Weighted: over whole cycles each endpoint's share is its weight.
    #[test]
    fn weighted_shares_follow_weights(
        weights in proptest::collection::vec(1u16..=20, 1..10),
        cycles in 1usize..4,
    ) {
        let balancer = Balancer::new(Strategy::Weighted, endpoints(&weights, &[255]));
        let total: usize = weights.iter().map(|&w| usize::from(w)).sum();
        let mut counts = vec![0usize; weights.len()];
        for _ in 0..total * cycles {
            counts[*balancer.select().next().unwrap().value()] += 1;
        }
        let want: Vec<usize> = weights.iter().map(|&w| usize::from(w) * cycles).collect();
        prop_assert_eq!(counts, want);
    }

    /// Consistent hashing: a key stays on its owner while the owner stays in the set,
    /// and moves to its second candidate when the owner leaves.
    #[test]
    fn removing_an_endpoint_moves_only_its_keys(
        n in 2usize..16,
        removed in any::<prop::sample::Index>(),
        keys in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..16), 1..64),
    ) {
        let all = Balancer::new(Strategy::RoundRobin, endpoints(&vec![1; n], &[255]));
        let gone = removed.index(n);
        let rest: Vec<_> = endpoints(&vec![1; n], &[255])
            .into_iter()
            .filter(|e| *e.value() != gone)
            .collect();
        let fewer = Balancer::new(Strategy::RoundRobin, rest);
        for key in &keys {
            let mut before = all.select_by_key(key);
            let owner = *before.next().unwrap().value();
            let second = *before.next().unwrap().value();
            let after = *fewer.select_by_key(key).next().unwrap().value();
            if owner == gone {
                prop_assert_eq!(after, second, "the owner's keys go to its successor");
            } else {
                prop_assert_eq!(after, owner, "a key moved although its owner stayed");
            }
        }
    }
}
