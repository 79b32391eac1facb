//! [`RawObject`]: an order-preserving JSON object whose values stay raw, for the few
//! rewrites the gateway makes (`_meta.progressToken`, injected `_meta` keys).

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::jsonrpc::to_raw;

/// A JSON object as an ordered list of (key, raw value). Editing one key leaves every
/// other value byte-for-byte as it was.
#[derive(Debug, Clone, Default)]
pub struct RawObject(Vec<(String, Box<RawValue>)>);

impl RawObject {
    /// Parses a JSON object.
    pub fn parse(raw: &RawValue) -> Result<Self, serde_json::Error> {
        serde_json::from_str(raw.get())
    }

    /// The raw value of `key`.
    pub fn get(&self, key: &str) -> Option<&RawValue> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| &**v)
    }

    /// Sets `key` (in place when present, appended otherwise).
    pub fn insert(&mut self, key: &str, value: Box<RawValue>) {
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some((_, slot)) => *slot = value,
            None => self.0.push((key.to_owned(), value)),
        }
    }

    /// Sets `key` to a value the gateway built.
    pub fn insert_value<T: serde::Serialize + ?Sized>(&mut self, key: &str, value: &T) {
        self.insert(key, to_raw(value));
    }

    /// Removes `key`, returning its raw value.
    pub fn remove(&mut self, key: &str) -> Option<Box<RawValue>> {
        let at = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(at).1)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }

    /// Encodes the object. Serialised by serde_json (keys escaped, raw values written
    /// as they are), so the result is not parsed again to be validated.
    pub fn to_raw(&self) -> Box<RawValue> {
        to_raw(self)
    }

    /// Edits the nested object under `key` (created when absent or not an object) and
    /// writes it back.
    pub fn edit_object(&mut self, key: &str, edit: impl FnOnce(&mut RawObject)) {
        let mut inner = self
            .get(key)
            .and_then(|raw| RawObject::parse(raw).ok())
            .unwrap_or_default();
        edit(&mut inner);
        self.insert(key, inner.to_raw());
    }
}

impl serde::Serialize for RawObject {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for RawObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = RawObject;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawObject, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(4));
                while let Some((k, v)) = map.next_entry::<String, Box<RawValue>>()? {
                    entries.push((k, v));
                }
                Ok(RawObject(entries))
            }
        }
        d.deserialize_map(ObjectVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_one_key_and_keeps_the_rest() {
        let raw = RawValue::from_string(
            r#"{"z":1.50,"name":"t","_meta":{"progressToken":7,"keep":[1, 2]},"a":{"x" : true}}"#
                .into(),
        )
        .unwrap();
        let mut obj = RawObject::parse(&raw).unwrap();
        obj.edit_object("_meta", |meta| meta.insert_value("progressToken", "gw-1"));
        assert_eq!(
            obj.to_raw().get(),
            r#"{"z":1.50,"name":"t","_meta":{"progressToken":"gw-1","keep":[1, 2]},"a":{"x" : true}}"#
        );
        obj.edit_object("new", |o| o.insert_value("k", &1));
        assert_eq!(obj.get("new").unwrap().get(), r#"{"k":1}"#);
        assert!(obj.remove("z").is_some() && !obj.contains_key("z"));
        assert!(RawObject::parse(&RawValue::from_string("[1]".into()).unwrap()).is_err());
    }
}
