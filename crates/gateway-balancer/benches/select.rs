//! Nanoseconds per selection for each strategy, and for affinity, at 3, 100 and 10,000
//! endpoints; plus the cost of building a set (which includes the affinity ring).
//!
//! `cargo bench -p gateway-balancer --bench select -- --warm-up-time 0.5 --measurement-time 1`
//!
//! Single-threaded: contention on the round-robin counter or the weighted mutex is not
//! measured here.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use gateway_balancer::{Balancer, Endpoint, InFlight, InFlightCounter};
use gateway_core::{HealthScore, InstanceId, Strategy, Weight};

const SIZES: [usize; 3] = [3, 100, 10_000];

/// A set of `n` endpoints with varied weights, scores and in-flight loads; the guards
/// returned keep the loads in place for the benchmark's lifetime.
fn endpoints(n: usize, rng: &mut fastrand::Rng) -> (Vec<Endpoint<usize>>, Vec<InFlight>) {
    let mut guards = Vec::new();
    let set = (0..n)
        .filter_map(|i| {
            let id = InstanceId::parse(&format!("instance-{i}")).ok()?;
            let counter = InFlightCounter::new();
            guards.extend((0..rng.usize(..8)).map(|_| counter.enter()));
            Some(
                Endpoint::new(id, i)
                    .with_weight(Weight::new(rng.i64(1..=10)).unwrap_or(Weight::ONE))
                    .with_score(HealthScore::new(rng.f32()))
                    .with_counter(counter),
            )
        })
        .collect();
    (set, guards)
}

fn select(c: &mut Criterion) {
    let mut rng = fastrand::Rng::with_seed(42);
    let keys: Vec<Vec<u8>> = (0..1024)
        .map(|k| format!("session-{k:08x}").into_bytes())
        .collect();
    for strategy in Strategy::ALL {
        let mut group = c.benchmark_group(strategy.as_str());
        for n in SIZES {
            let (set, _guards) = endpoints(n, &mut rng);
            let balancer = Balancer::new(strategy, set);
            group.bench_with_input(BenchmarkId::from_parameter(n), &balancer, |b, balancer| {
                b.iter(|| black_box(balancer.select().next().map(Endpoint::value)))
            });
        }
        group.finish();
    }
    let mut group = c.benchmark_group("affinity");
    for n in SIZES {
        let (set, _guards) = endpoints(n, &mut rng);
        let balancer = Balancer::new(Strategy::RoundRobin, set);
        let mut k = 0usize;
        group.bench_with_input(BenchmarkId::from_parameter(n), &balancer, |b, balancer| {
            b.iter(|| {
                k = (k + 1) & 1023;
                black_box(balancer.select_by_key(&keys[k]).next().map(Endpoint::value))
            })
        });
    }
    group.finish();
}

fn build(c: &mut Criterion) {
    let mut rng = fastrand::Rng::with_seed(7);
    let mut group = c.benchmark_group("build");
    group.sample_size(10);
    for n in SIZES {
        let (set, _guards) = endpoints(n, &mut rng);
        group.bench_with_input(BenchmarkId::from_parameter(n), &set, |b, set| {
            b.iter(|| black_box(Balancer::new(Strategy::Weighted, set.iter().cloned()).len()))
        });
    }
    group.finish();
}

criterion_group!(benches, select, build);
criterion_main!(benches);
