use super::*;

fn ids(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("instance-{i}")).collect()
}

fn ring(ids: &[String], weights: &[u32]) -> Ring {
    Ring::new(ids.iter().zip(weights).map(|(id, &w)| (id.as_bytes(), w)))
}

fn equal(ids: &[String]) -> Ring {
    ring(ids, &vec![1; ids.len()])
}

/// The instance id owning `key`.
fn owner<'a>(ring: &Ring, ids: &'a [String], key: &[u8]) -> &'a str {
    let (first, _) = ring.lookup(key).unwrap();
    &ids[first]
}

fn keys(count: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|k| format!("session-{k}").into_bytes())
        .collect()
}

#[test]
fn same_key_same_endpoint() {
    let ids = ids(7);
    let r = equal(&ids);
    let again = equal(&ids);
    for key in keys(500) {
        assert_eq!(r.lookup(&key), r.lookup(&key));
        assert_eq!(r.lookup(&key), again.lookup(&key));
    }
}

#[test]
fn ring_size_follows_vnodes() {
    assert_eq!(equal(&ids(10)).len(), 640);
    assert_eq!(Ring::new(std::iter::empty()).len(), 0);
    assert!(Ring::new(std::iter::empty()).lookup(b"k").is_none());
}

#[test]
fn keys_spread_over_all_endpoints() {
    let n = 10;
    let ids = ids(n);
    let r = equal(&ids);
    let mut counts = vec![0u32; n];
    for key in keys(20_000) {
        counts[r.lookup(&key).unwrap().0] += 1;
    }
    // 2,000 each on average; 64 points each keep every share within about ±40%.
    assert!(
        counts.iter().all(|&c| (1_200..2_800).contains(&c)),
        "{counts:?}"
    );
}

#[test]
fn removing_one_endpoint_moves_about_one_nth() {
    let n = 10;
    let all = ids(n);
    let before = equal(&all);
    let removed = "instance-3";
    let rest: Vec<String> = all.iter().filter(|id| *id != removed).cloned().collect();
    let after = equal(&rest);
    let keys = keys(20_000);
    let mut moved = 0;
    for key in &keys {
        let (was, is) = (owner(&before, &all, key), owner(&after, &rest, key));
        if was == removed {
            moved += 1;
            // It lands on the fallback the full ring named for it.
            let (_, fallback) = before.lookup(key).unwrap();
            assert_eq!(is, all[fallback]);
        } else {
            assert_eq!(was, is, "a key not on the removed endpoint moved");
        }
    }
    let fraction = f64::from(moved) / keys.len() as f64;
    assert!((0.06..0.14).contains(&fraction), "moved {fraction}");
}

#[test]
fn order_of_the_set_does_not_matter() {
    let ids = ids(6);
    let mut reversed = ids.clone();
    reversed.reverse();
    let (a, b) = (equal(&ids), equal(&reversed));
    for key in keys(2_000) {
        assert_eq!(owner(&a, &ids, &key), owner(&b, &reversed, &key));
    }
}

#[test]
fn share_follows_weight() {
    let ids = ids(3);
    let r = ring(&ids, &[4, 1, 1]);
    assert_eq!(r.len(), 128 + 32 + 32);
    let mut counts = [0u32; 3];
    for key in keys(30_000) {
        counts[r.lookup(&key).unwrap().0] += 1;
    }
    // 20,000 / 5,000 / 5,000 expected.
    assert!(
        counts[0] > 16_000 && counts[1] > 3_000 && counts[2] > 3_000,
        "{counts:?}"
    );
}

#[test]
fn fallback_is_another_endpoint() {
    let ids = ids(4);
    let r = equal(&ids);
    for key in keys(1_000) {
        let (first, second) = r.lookup(&key).unwrap();
        assert_ne!(first, second);
    }
    let single = equal(&ids[..1]);
    assert_eq!(single.lookup(b"k"), Some((0, 0)));
}

#[test]
fn ring_is_pinned() {
    // The owners of a few keys over a fixed set: a change here re-homes sessions in a
    // rolling upgrade, since old and new gateways would disagree.
    let ids = ids(5);
    let r = equal(&ids);
    let owners: Vec<usize> = (0..8)
        .map(|k| r.lookup(format!("session-{k}").as_bytes()).unwrap().0)
        .collect();
    assert_eq!(owners, PINNED_OWNERS);
}

// Cross-checked with an independent Python implementation of the same ring.
const PINNED_OWNERS: [usize; 8] = [2, 4, 0, 1, 2, 0, 1, 0];
