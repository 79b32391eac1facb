use gateway_core::InstanceId;

use super::*;

fn set(n: usize) -> Vec<Endpoint<usize>> {
    (0..n)
        .map(|i| Endpoint::new(InstanceId::parse(&format!("i{i}")).unwrap(), i))
        .collect()
}

fn order(c: Candidates<'_, usize>) -> Vec<usize> {
    c.map(|e| *e.value()).collect()
}

#[test]
fn every_endpoint_once_starting_with_the_choice() {
    let s = set(5);
    assert_eq!(order(Candidates::new(&s, 0)), [0, 1, 2, 3, 4]);
    assert_eq!(order(Candidates::new(&s, 3)), [3, 4, 0, 1, 2]);
    assert_eq!(order(Candidates::new(&s, 4)), [4, 0, 1, 2, 3]);
}

#[test]
fn preferred_fallback_comes_second_and_is_not_repeated() {
    let s = set(5);
    assert_eq!(order(Candidates::with_fallback(&s, 1, 3)), [1, 3, 2, 4, 0]);
    assert_eq!(order(Candidates::with_fallback(&s, 4, 0)), [4, 0, 1, 2, 3]);
    assert_eq!(order(Candidates::with_fallback(&s, 2, 2)), [2, 3, 4, 0, 1]);
}

#[test]
fn exhaustive_permutation_check() {
    for n in 1..8 {
        let s = set(n);
        for first in 0..n {
            for second in 0..n {
                let mut got = order(Candidates::with_fallback(&s, first, second));
                assert_eq!(got[0], first);
                if second != first {
                    assert_eq!(got[1], second);
                }
                got.sort_unstable();
                assert_eq!(got, (0..n).collect::<Vec<_>>());
            }
        }
    }
}

#[test]
fn exact_size_and_fused() {
    let s = set(3);
    let mut c = Candidates::new(&s, 1);
    assert_eq!(c.len(), 3);
    c.next();
    assert_eq!(c.len(), 2);
    c.next();
    c.next();
    assert_eq!(c.len(), 0);
    assert!(c.next().is_none());
    assert!(c.next().is_none());
}

#[test]
fn empty_set_yields_nothing() {
    assert_eq!(Candidates::<usize>::empty().count(), 0);
    assert_eq!(Candidates::<usize>::new(&[], 0).len(), 0);
}

#[test]
fn out_of_range_choice_still_yields_each_once() {
    let s = set(3);
    let mut got = order(Candidates::with_fallback(&s, 7, 9));
    got.sort_unstable();
    assert_eq!(got, [0, 1, 2]);
}
