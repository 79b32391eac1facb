//! Affinity: a consistent hash ring, so the same key goes to the same instance.
//!
//! Each endpoint owns about [`VNODES_PER_ENDPOINT`] points on a ring of `u64` hashes,
//! scaled by its weight (`round(64·n·w_i/W)`, at least one), so a key's share follows
//! weight and the ring stays about `64·n` points long. A point is derived from the
//! instance id, not from the endpoint's position, so two sets that list instances in a
//! different order build the same ring, and removing one instance of equal weight
//! moves only the keys it owned, about `1/n` of them (with unequal weights the other
//! endpoints' point counts shift by a few, which moves a few more).
//!
//! A key hashes to `mix64(fnv1a64(key))` and goes to the first point at or after it,
//! wrapping around: a binary search, O(log n). The next point owned by another endpoint
//! is the key's fallback, where it would land if its owner were removed. The hash is a
//! fixed algorithm (see `hash.rs`), so every gateway process agrees on the ring.
//!
//! The ring is built with the set: `64·n` hashes and a sort, about 12 bytes a point
//! (7.7 MB and tens of milliseconds for 10,000 endpoints), paid on rebuild, not per
//! request.

use crate::hash::{GOLDEN_GAMMA, fnv1a64, key_hash, mix64};

/// Virtual nodes per endpoint of average weight.
pub(crate) const VNODES_PER_ENDPOINT: u64 = 64;

/// How far past the key's point to look for the owner of the fallback.
const MAX_FALLBACK_WALK: usize = 256;

/// The consistent hash ring of one endpoint set.
#[derive(Debug, Default)]
pub(crate) struct Ring {
    /// Point hashes, ascending.
    points: Box<[u64]>,
    /// `owners[k]` is the endpoint index owning `points[k]`.
    owners: Box<[u32]>,
}

impl Ring {
    /// Builds the ring for endpoints given as `(instance id bytes, weight)`, in index
    /// order. Endpoints past index `u32::MAX` get no points.
    pub(crate) fn new<'a>(members: impl IntoIterator<Item = (&'a [u8], u32)>) -> Self {
        let members: Vec<(u64, u64)> = members
            .into_iter()
            .map(|(id, w)| (fnv1a64(id), u64::from(w.max(1))))
            .collect();
        let n = members.len() as u64;
        let total: u64 = members.iter().map(|&(_, w)| w).sum();
        let mut ring: Vec<(u64, u32)> = Vec::with_capacity(members.len() * 65);
        for (index, &(id_hash, weight)) in members.iter().enumerate() {
            let Ok(owner) = u32::try_from(index) else {
                break;
            };
            let share = u128::from(VNODES_PER_ENDPOINT) * u128::from(n) * u128::from(weight);
            let vnodes = ((share + u128::from(total / 2)) / u128::from(total)).max(1);
            for replica in 1..=vnodes as u64 {
                let point = mix64(id_hash.wrapping_add(replica.wrapping_mul(GOLDEN_GAMMA)));
                ring.push((point, owner));
            }
        }
        // Sorting by owner too makes colliding points (about 1 in 2^64 / n^2) resolve
        // the same way in every process.
        ring.sort_unstable();
        let (points, owners) = ring.into_iter().unzip::<_, _, Vec<_>, Vec<_>>();
        Self {
            points: points.into_boxed_slice(),
            owners: owners.into_boxed_slice(),
        }
    }

    /// How many points the ring holds.
    pub(crate) fn len(&self) -> usize {
        self.points.len()
    }

    /// The endpoint owning `key`, and the fallback (the next owner clockwise, or the
    /// first one again if none is found within a short walk). `None` on an empty ring.
    pub(crate) fn lookup(&self, key: &[u8]) -> Option<(usize, usize)> {
        let len = self.points.len();
        if len == 0 {
            return None;
        }
        let h = key_hash(key);
        let mut pos = self.points.partition_point(|&p| p < h);
        if pos == len {
            pos = 0;
        }
        let first = *self.owners.get(pos)?;
        let second = (1..len.min(MAX_FALLBACK_WALK))
            .map(|step| self.owners[(pos + step) % len])
            .find(|&o| o != first)
            .unwrap_or(first);
        Some((first as usize, second as usize))
    }
}

#[cfg(test)]
mod tests;
