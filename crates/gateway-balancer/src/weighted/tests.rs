use super::*;

fn sequence(weights: &[u32], picks: usize) -> Vec<usize> {
    let w = Weighted::new(weights.iter().copied());
    (0..picks).map(|_| w.pick()).collect()
}

fn counts(seq: &[usize], n: usize) -> Vec<u64> {
    let mut c = vec![0; n];
    for &i in seq {
        c[i] += 1;
    }
    c
}

/// nginx's smooth weighted round robin (ngx_http_upstream_get_peer), as the reference.
fn nginx(weights: &[u32], picks: usize) -> Vec<usize> {
    let total: i64 = weights.iter().map(|&w| i64::from(w)).sum();
    let mut current = vec![0i64; weights.len()];
    (0..picks)
        .map(|_| {
            let mut best = 0;
            for (i, w) in weights.iter().enumerate() {
                current[i] += i64::from(*w);
                if current[i] > current[best] {
                    best = i;
                }
            }
            current[best] -= total;
            best
        })
        .collect()
}

/// The longest run of each endpoint in the schedule repeated forever (`seq` is one
/// whole period), so runs across the period boundary count too.
fn longest_runs(seq: &[usize], n: usize) -> Vec<usize> {
    let mut longest = vec![0; n];
    let mut run = 0;
    let doubled: Vec<usize> = seq.iter().chain(seq).copied().collect();
    for (k, &i) in doubled.iter().enumerate() {
        run = if k > 0 && doubled[k - 1] == i {
            run + 1
        } else {
            1
        };
        longest[i] = longest[i].max(run.min(seq.len()));
    }
    longest
}

fn random_weight_sets() -> Vec<Vec<u32>> {
    let mut rng = fastrand::Rng::with_seed(7);
    let mut sets = vec![vec![5, 1, 1], vec![3, 2, 1], vec![7, 3, 3, 1], vec![10, 1]];
    for _ in 0..300 {
        let n = rng.usize(2..=12);
        let max = [3, 10, 30][rng.usize(..3)];
        sets.push((0..n).map(|_| rng.u32(1..=max)).collect());
    }
    sets
}

#[test]
fn five_one_one_is_exact_and_interleaved() {
    let seq = sequence(&[5, 1, 1], 7);
    assert_eq!(counts(&seq, 3), [5, 1, 1]);
    assert_eq!(seq, [0, 1, 0, 0, 2, 0, 0]);
    // nginx: a a b a c a a, whose longest run across periods is 4; ours is 3.
    assert_eq!(longest_runs(&seq, 3), [3, 1, 1]);
    assert_eq!(longest_runs(&nginx(&[5, 1, 1], 7), 3), [4, 1, 1]);
}

#[test]
fn three_two_one_over_1000_picks() {
    let seq = sequence(&[3, 2, 1], 1000);
    // Every whole period of 6 picks is exactly 3/2/1...
    for period in seq.chunks_exact(6) {
        assert_eq!(counts(period, 3), [3, 2, 1], "{period:?}");
    }
    // ...so the first 996 picks are exact multiples, and all 1000 within one pick.
    assert_eq!(counts(&seq[..996], 3), [498, 332, 166]);
    let c = counts(&seq, 3);
    for (i, ideal) in [500.0, 333.3, 166.7].into_iter().enumerate() {
        assert!((c[i] as f64 - ideal).abs() < 1.0, "{c:?}");
    }
    assert!(longest_runs(&seq[..6], 3).iter().all(|&r| r == 1));
}

#[test]
fn every_prefix_is_within_one_pick_of_the_share() {
    for weights in random_weight_sets() {
        let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        let seq = sequence(&weights, 2 * total as usize + 17);
        let mut c = vec![0u64; weights.len()];
        for (t, &i) in seq.iter().enumerate() {
            c[i] += 1;
            let t = t as u64 + 1;
            for (i, &w) in weights.iter().enumerate() {
                // |p_i - t·w_i/W| < 1  <=>  |p_i·W - t·w_i| < W
                let lag = (c[i] * total).abs_diff(t * u64::from(w));
                assert!(lag < total, "{weights:?}: endpoint {i} after {t} picks");
            }
        }
    }
}

#[test]
fn schedule_repeats_every_period() {
    for weights in random_weight_sets() {
        let total: usize = weights.iter().map(|&w| w as usize).sum();
        let seq = sequence(&weights, 3 * total);
        assert_eq!(seq[..total], seq[total..2 * total], "{weights:?}");
        assert_eq!(seq[..total], seq[2 * total..], "{weights:?}");
    }
}

#[test]
fn runs_are_bounded_and_never_longer_than_nginx() {
    for weights in random_weight_sets() {
        let n = weights.len();
        let total: u32 = weights.iter().sum();
        let ours = longest_runs(&sequence(&weights, total as usize), n);
        let theirs = longest_runs(&nginx(&weights, total as usize), n);
        for (i, &w) in weights.iter().enumerate() {
            let bound = w.div_ceil(total - w) as usize + 1;
            assert!(ours[i] <= bound, "{weights:?}: run {} > {bound}", ours[i]);
        }
        let (ours_max, theirs_max) = (ours.iter().max(), theirs.iter().max());
        assert!(
            ours_max <= theirs_max,
            "{weights:?}: {ours:?} vs nginx {theirs:?}"
        );
    }
}

#[test]
fn equal_weights_are_round_robin() {
    let seq = sequence(&[4, 4, 4], 9);
    assert_eq!(seq, [0, 1, 2, 0, 1, 2, 0, 1, 2]);
}

#[test]
fn large_weights_and_sets() {
    let weights: Vec<u32> = (0..1000).map(|i| 1 + (i % 7) * 1_000).collect();
    let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
    let w = Weighted::new(weights.iter().copied());
    let mut c = vec![0u64; weights.len()];
    let picks = 200_000u64;
    for _ in 0..picks {
        c[w.pick()] += 1;
    }
    for (i, &wi) in weights.iter().enumerate() {
        assert!((c[i] * total).abs_diff(picks * u64::from(wi)) < total);
    }
}

#[test]
fn single_endpoint() {
    assert_eq!(sequence(&[9], 3), [0, 0, 0]);
}
