//! Whole numbers in request bodies, written as JSON integers or as numbers with no
//! fraction (`3` or `3.0`). JSON Schema calls both integers, and clients that hold
//! numbers as floats (Python, spreadsheets) send the second; anything else with a
//! fraction, or out of the field's range, is refused with the usual field error.
//!
//! ```
//! #[derive(serde::Deserialize)]
//! struct Body {
//!     #[serde(default, deserialize_with = "gateway_core::api::whole::option")]
//!     retries: Option<u32>,
//! }
//! let b: Body = serde_json::from_str(r#"{"retries": 3.0}"#).unwrap();
//! assert_eq!(b.retries, Some(3));
//! assert!(serde_json::from_str::<Body>(r#"{"retries": 2.5}"#).is_err());
//! ```

use serde::{Deserialize, Deserializer, de::Error};
use serde_json::Number;

/// Deserialises an optional whole number into `T` (`null` and absence are `None`).
pub fn option<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<u64> + TryFrom<i64>,
{
    let Some(number) = Option::<Number>::deserialize(deserializer)? else {
        return Ok(None);
    };
    let out_of_range = || D::Error::custom(format!("{number} is out of range"));
    if let Some(u) = number.as_u64() {
        return T::try_from(u).map(Some).map_err(|_| out_of_range());
    }
    if let Some(i) = number.as_i64() {
        return T::try_from(i).map(Some).map_err(|_| out_of_range());
    }
    match number.as_f64() {
        // Exactly representable range of i64 in f64, so the cast below is exact.
        Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
            #[allow(clippy::cast_possible_truncation)]
            let whole = f as i64;
            T::try_from(whole).map(Some).map_err(|_| out_of_range())
        }
        _ => Err(D::Error::custom(format!(
            "expected a whole number, got {number}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Body {
        #[serde(default, deserialize_with = "super::option")]
        n: Option<u32>,
    }

    fn parse(json: &str) -> Result<Option<u32>, String> {
        serde_json::from_str::<Body>(json)
            .map(|b| b.n)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn integers_and_integral_floats_are_accepted() {
        assert_eq!(parse(r#"{"n": 7}"#), Ok(Some(7)));
        assert_eq!(parse(r#"{"n": 7.0}"#), Ok(Some(7)));
        assert_eq!(parse(r#"{"n": 0.0}"#), Ok(Some(0)));
        assert_eq!(parse(r#"{"n": null}"#), Ok(None));
        assert_eq!(parse(r#"{}"#), Ok(None));
    }

    #[test]
    fn fractions_negatives_and_huge_values_are_refused() {
        assert!(parse(r#"{"n": 7.5}"#).unwrap_err().contains("whole number"));
        assert!(parse(r#"{"n": -1}"#).unwrap_err().contains("out of range"));
        assert!(
            parse(r#"{"n": 1e300}"#)
                .unwrap_err()
                .contains("whole number")
        );
        assert!(
            parse(r#"{"n": 5000000000}"#)
                .unwrap_err()
                .contains("out of range")
        );
        assert!(parse(r#"{"n": "7"}"#).is_err());
    }
}
