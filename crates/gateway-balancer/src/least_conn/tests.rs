use super::*;

fn counters(n: usize) -> Vec<InFlightCounter> {
    (0..n).map(|_| InFlightCounter::new()).collect()
}

#[test]
fn guard_counts_and_returns_to_zero() {
    let c = InFlightCounter::new();
    let clone = c.clone();
    let g1 = c.enter();
    let g2 = clone.enter();
    assert_eq!(c.get(), 2);
    drop(g1);
    assert_eq!(clone.get(), 1);
    drop(g2);
    assert_eq!(c.get(), 0);
}

#[test]
fn exact_scan_picks_the_idle_endpoint() {
    let cs = counters(4);
    let _busy: Vec<InFlight> = [0, 1, 3].iter().map(|&i| cs[i].enter()).collect();
    let lc = LeastConn::new(4);
    for _ in 0..20 {
        assert_eq!(lc.pick(4, |i| cs[i].get()), 2);
    }
}

#[test]
fn exact_scan_picks_the_minimum() {
    let cs = counters(5);
    let loads = [3, 1, 4, 2, 5];
    let _guards: Vec<InFlight> = (0..5)
        .flat_map(|i| (0..loads[i]).map(|_| cs[i].enter()).collect::<Vec<_>>())
        .collect();
    let lc = LeastConn::new(5);
    for _ in 0..20 {
        assert_eq!(lc.pick(5, |i| cs[i].get()), 1);
    }
}

#[test]
fn ties_rotate() {
    let lc = LeastConn::new(4);
    let mut counts = [0; 4];
    for _ in 0..400 {
        counts[lc.pick(4, |_| 0)] += 1;
    }
    assert_eq!(counts, [100; 4]);
    // Only the three tied endpoints, and in equal turns.
    let mut counts = [0; 4];
    for _ in 0..300 {
        counts[lc.pick(4, |i| if i == 2 { 9 } else { 1 })] += 1;
    }
    assert_eq!(counts, [100, 100, 0, 100]);
}

#[test]
fn two_choices_avoids_the_most_loaded() {
    // Endpoint 0 is far busier than the rest: it can only win when both draws avoid
    // every other endpoint, which two distinct draws never do.
    let n = 100;
    for _ in 0..2_000 {
        let i = LeastConn::new(n).pick(n, |i| if i == 0 { 1_000 } else { 1 });
        assert_ne!(i, 0);
    }
}

#[test]
fn two_choices_spreads() {
    let n = 40;
    let lc = LeastConn::new(n);
    let mut counts = vec![0u32; n];
    for _ in 0..40_000 {
        counts[lc.pick(n, |_| 0)] += 1;
    }
    assert!(counts.iter().all(|&c| c > 700), "{counts:?}");
}
