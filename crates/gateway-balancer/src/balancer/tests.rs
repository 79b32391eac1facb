use std::{collections::HashMap, sync::Arc};

use gateway_core::{HealthScore, InstanceId, Weight};

use super::*;
use crate::least_conn::{InFlight, InFlightCounter};

fn id(i: usize) -> InstanceId {
    InstanceId::parse(&format!("instance-{i}")).unwrap()
}

fn endpoints(n: usize) -> Vec<Endpoint<usize>> {
    (0..n).map(|i| Endpoint::new(id(i), i)).collect()
}

fn first(b: &Balancer<usize>) -> usize {
    *b.select().next().unwrap().value()
}

fn tally(b: &Balancer<usize>, picks: usize) -> Vec<usize> {
    let mut c = vec![0; b.len()];
    for _ in 0..picks {
        c[first(b)] += 1;
    }
    c
}

#[test]
fn balancer_is_send_and_sync() {
    fn assert_send_sync<X: Send + Sync>() {}
    fn for_any<'a, T: Send + Sync + 'a>() {
        assert_send_sync::<Balancer<T>>();
        assert_send_sync::<Endpoint<T>>();
        assert_send_sync::<Candidates<'a, T>>();
    }
    for_any::<Arc<String>>();
    assert_send_sync::<InFlight>();
    assert_send_sync::<InFlightCounter>();
}

#[test]
fn round_robin_visits_all_evenly() {
    let b = Balancer::new(Strategy::RoundRobin, endpoints(4));
    assert_eq!(tally(&b, 400), [100; 4]);
}

#[test]
fn least_connections_picks_the_idle_endpoint() {
    let counters: Vec<InFlightCounter> = (0..3).map(|_| InFlightCounter::new()).collect();
    let set = || {
        endpoints(3)
            .into_iter()
            .zip(&counters)
            .map(|(e, c)| e.with_counter(c.clone()))
    };
    let b = Balancer::new(Strategy::LeastConnections, set());
    let guards: Vec<InFlight> = [0, 2].iter().map(|&i| b.endpoints()[i].enter()).collect();
    for _ in 0..10 {
        assert_eq!(first(&b), 1);
    }
    // A rebuilt set shares the counters, so it sees the same load.
    let rebuilt = Balancer::new(Strategy::LeastConnections, set());
    assert_eq!(first(&rebuilt), 1);
    // Taking the candidate's guard makes it busy too.
    let chosen = b.select().next().unwrap();
    let g = chosen.enter();
    assert_eq!(chosen.in_flight().get(), 1);
    drop(g);
    drop(guards);
    assert!(counters.iter().all(|c| c.get() == 0));
    assert!(b.endpoints().iter().all(|e| e.in_flight().get() == 0));
}

#[test]
fn least_connections_spreads_equal_load() {
    let b = Balancer::new(Strategy::LeastConnections, endpoints(5));
    assert_eq!(tally(&b, 500), [100; 5]);
    let big = Balancer::new(Strategy::LeastConnections, endpoints(50));
    assert!(tally(&big, 50_000).iter().all(|&c| c > 700));
}

#[test]
fn weighted_follows_weights_smoothly() {
    let set = [5, 1, 1]
        .iter()
        .enumerate()
        .map(|(i, &w)| Endpoint::new(id(i), i).with_weight(Weight::new(w).unwrap()));
    let b = Balancer::new(Strategy::Weighted, set);
    let seq: Vec<usize> = (0..14).map(|_| first(&b)).collect();
    assert_eq!(seq, [0, 1, 0, 0, 2, 0, 0, 0, 1, 0, 0, 2, 0, 0]);
}

#[test]
fn health_based_prefers_the_best_and_spreads_over_ties() {
    let scores = [0.5, 1.0, 0.2, 0.98, 0.7];
    let set = scores
        .iter()
        .enumerate()
        .map(|(i, &s)| Endpoint::new(id(i), i).with_score(HealthScore::new(s)));
    let b = Balancer::new(Strategy::HealthBased, set);
    // Sorted best first: 1, 3 (the tier), then 4, 0, 2.
    let order: Vec<usize> = b.endpoints().iter().map(|e| *e.value()).collect();
    assert_eq!(order, [1, 3, 4, 0, 2]);
    let mut counts = HashMap::new();
    for _ in 0..100 {
        *counts.entry(first(&b)).or_insert(0) += 1;
    }
    assert_eq!(counts, HashMap::from([(1, 50), (3, 50)]));
    // Fallbacks after the tier run from healthy to sick.
    let c: Vec<usize> = b.select().map(|e| *e.value()).collect();
    assert!(c == [1, 3, 4, 0, 2] || c == [3, 4, 0, 2, 1], "{c:?}");
}

#[test]
fn random_covers_all_endpoints() {
    let b = Balancer::new(Strategy::Random, endpoints(6));
    assert!(tally(&b, 6_000).iter().all(|&c| c > 700));
}

#[test]
fn candidates_yield_every_endpoint_once_starting_with_the_choice() {
    for strategy in Strategy::ALL {
        let b = Balancer::new(strategy, endpoints(7));
        for _ in 0..20 {
            let mut got: Vec<usize> = b.select().map(|e| *e.value()).collect();
            assert_eq!(got.len(), 7);
            got.sort_unstable();
            assert_eq!(got, (0..7).collect::<Vec<_>>(), "{strategy}");
        }
        let mut got: Vec<usize> = b.select_by_key(b"k").map(|e| *e.value()).collect();
        got.sort_unstable();
        assert_eq!(got, (0..7).collect::<Vec<_>>());
    }
}

#[test]
fn empty_set_yields_nothing() {
    for strategy in Strategy::ALL {
        let b: Balancer<usize> = Balancer::new(strategy, []);
        assert!(b.is_empty());
        assert_eq!(b.select().count(), 0);
        assert_eq!(b.select_by_key(b"k").count(), 0);
    }
}

#[test]
fn single_endpoint_always_chosen() {
    for strategy in Strategy::ALL {
        let b = Balancer::new(strategy, endpoints(1));
        assert_eq!(b.select().map(|e| *e.value()).collect::<Vec<_>>(), [0]);
    }
}

#[test]
fn affinity_is_sticky_and_independent_of_strategy_and_order() {
    let rr = Balancer::new(Strategy::RoundRobin, endpoints(5));
    let mut reversed = endpoints(5);
    reversed.reverse();
    let random = Balancer::new(Strategy::Random, reversed);
    for k in 0..200 {
        let key = format!("session-{k}");
        let a = rr
            .select_by_key(key.as_bytes())
            .next()
            .unwrap()
            .id()
            .clone();
        for _ in 0..3 {
            assert_eq!(rr.select_by_key(key.as_bytes()).next().unwrap().id(), &a);
        }
        assert_eq!(
            random.select_by_key(key.as_bytes()).next().unwrap().id(),
            &a
        );
    }
}

#[test]
fn affinity_fallback_is_where_the_key_goes_after_removal() {
    let full = Balancer::new(Strategy::RoundRobin, endpoints(6));
    for k in 0..300 {
        let key = format!("session-{k}");
        let mut c = full.select_by_key(key.as_bytes());
        let (owner, fallback) = (c.next().unwrap().id(), c.next().unwrap().id());
        let without = Balancer::new(
            Strategy::RoundRobin,
            endpoints(6).into_iter().filter(|e| e.id() != owner),
        );
        assert_eq!(
            without.select_by_key(key.as_bytes()).next().unwrap().id(),
            fallback
        );
    }
}

#[test]
fn debug_output_names_the_strategy() {
    let b = Balancer::new(Strategy::Weighted, endpoints(2));
    let s = format!("{b:?}");
    assert!(s.contains("Weighted") && s.contains("instance-1"), "{s}");
}
