//! A stable 64-bit hash for affinity keys and ring points.
//!
//! FNV-1a 64 followed by the splitmix64 finalizer. Both are fixed published algorithms,
//! so a key lands on the same instance in every gateway process, on every platform and
//! with every Rust version; `std`'s `DefaultHasher` promises none of that. FNV-1a alone
//! mixes short keys poorly into the high bits, which the ring's binary search relies on;
//! the finalizer gives full avalanche.

/// FNV-1a 64-bit offset basis.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
/// FNV-1a 64-bit prime.
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
/// The golden-ratio increment of splitmix64, used to derive a sequence from one seed.
pub(crate) const GOLDEN_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// FNV-1a over `bytes`.
pub(crate) fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(FNV_OFFSET, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(FNV_PRIME)
    })
}

/// The splitmix64 output function (Stafford's "mix13" variant): a bijective avalanche.
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The hash of an affinity key: `mix64(fnv1a64(key))`.
pub(crate) fn key_hash(key: &[u8]) -> u64 {
    mix64(fnv1a64(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_published_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn mix64_matches_splitmix64() {
        // splitmix64 seeded with 0: its first output is mix64(0 + GOLDEN_GAMMA).
        assert_eq!(mix64(GOLDEN_GAMMA), 0xe220_a839_7b1d_cdaf);
    }

    #[test]
    fn key_hash_is_pinned() {
        // Changing this value re-homes every sticky session in a rolling upgrade: the
        // ring must agree across processes, platforms and releases.
        assert_eq!(key_hash(b"session-1"), 0x8f9d_4a83_e238_4785);
        assert_eq!(key_hash(b"foobar"), mix64(0x8594_4171_f739_67e8));
    }
}
