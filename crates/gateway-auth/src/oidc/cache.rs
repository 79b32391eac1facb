//! [`TokenCache`]: verified external tokens, keyed by their SHA-256, so a token used
//! again costs a hash and a lookup instead of a signature check. An entry lasts until the
//! token expires and stands only while its issuer's keys are those that verified it (a
//! rotation makes the next use verify again, so a withdrawn key stops working).

use std::{collections::HashMap, sync::Arc};

use parking_lot::RwLock;
use sha2::{Digest, Sha256};

use crate::Principal;

/// Most cached tokens; beyond it, expired entries are dropped (then all).
const MAX_ENTRIES: usize = 20_000;

/// A verified token.
pub(crate) struct Entry {
    pub(crate) issuer: usize,
    pub(crate) generation: u64,
    /// Its `aud` values (checked per request: the accepted set depends on the endpoint).
    pub(crate) audiences: Box<[String]>,
    /// Unix seconds after which it is no longer accepted (`exp` + leeway).
    pub(crate) valid_until: u64,
    pub(crate) principal: Arc<Principal>,
}

/// The SHA-256 of a token.
pub(crate) type Digest32 = [u8; 32];

pub(crate) fn digest(token: &str) -> Digest32 {
    Sha256::digest(token.as_bytes()).into()
}

#[derive(Default)]
pub(crate) struct TokenCache {
    entries: RwLock<HashMap<Digest32, Arc<Entry>>>,
}

impl TokenCache {
    pub(crate) fn get(&self, key: &Digest32) -> Option<Arc<Entry>> {
        self.entries.read().get(key).cloned()
    }

    pub(crate) fn insert(&self, key: Digest32, entry: Entry, now: u64) {
        let mut entries = self.entries.write();
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(&key) {
            entries.retain(|_, e| e.valid_until > now);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, Arc::new(entry));
    }

    pub(crate) fn remove(&self, key: &Digest32) {
        self.entries.write().remove(key);
    }

    /// Drops expired entries.
    pub(crate) fn prune(&self, now: u64) {
        self.entries.write().retain(|_, e| e.valid_until > now);
    }
}
