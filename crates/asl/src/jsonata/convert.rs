//! Conversion between JSON (`serde_json::Value`) and the engine's values.
//!
//! In: every number becomes an `f64`, object keys keep their order. Out: see the module
//! documentation of [`super`] (integers, non-finite numbers, functions, `undefined`).

use std::collections::HashSet;
use std::fmt;
use std::rc::Rc;

use jsonata_core::value::{JArray, JMap, JValue, with_stack};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::error::Failure;

/// Results nested deeper than this are refused rather than handed to code that recurses on them.
const MAX_OUTPUT_DEPTH: usize = 1000;

/// A JSON value as an engine value.
pub(super) fn to_jvalue(value: &Value) -> JValue {
    match value {
        Value::Null => JValue::Null,
        Value::Bool(b) => JValue::Bool(*b),
        Value::Number(n) => n.as_f64().map_or(JValue::Null, JValue::Number),
        Value::String(s) => JValue::String(Rc::from(s.as_str())),
        Value::Array(items) => with_stack(|| {
            let flat = !items.iter().any(Value::is_array);
            JValue::Array(JArray::new_flat(
                items.iter().map(to_jvalue).collect(),
                flat,
            ))
        }),
        Value::Object(map) => with_stack(|| {
            let members = map
                .iter()
                .map(|(key, value)| (key.clone(), to_jvalue(value)));
            JValue::Object(Rc::new(members.collect::<JMap>()))
        }),
    }
}

/// An engine value as JSON; `None` for `undefined` (and for a function, which JSON cannot hold).
pub(super) fn to_value(value: &JValue) -> Result<Option<Value>, Failure> {
    convert(value, 0)
}

fn convert(value: &JValue, depth: usize) -> Result<Option<Value>, Failure> {
    if depth > MAX_OUTPUT_DEPTH {
        return Err(super::query_failure(format!(
            "The result is nested deeper than {MAX_OUTPUT_DEPTH} levels"
        )));
    }
    Ok(Some(match value {
        JValue::Null => Value::Null,
        JValue::Bool(b) => Value::Bool(*b),
        JValue::Number(n) => number(*n),
        JValue::String(s) => Value::String(s.to_string()),
        JValue::Array(items) => with_stack(|| -> Result<Value, Failure> {
            let mut out = Vec::with_capacity(items.len());
            for item in items.iter() {
                match item {
                    JValue::Undefined => {}
                    item if item.is_function() || item.is_regex() => out.push(Value::Null),
                    item => out.extend(convert(item, depth + 1)?),
                }
            }
            Ok(Value::Array(out))
        })?,
        JValue::Object(map) => with_stack(|| -> Result<Value, Failure> {
            let mut out = Map::with_capacity(map.len());
            for (key, item) in map.iter() {
                if let Some(item) = convert(item, depth + 1)? {
                    out.insert(key.clone(), item);
                }
            }
            Ok(Value::Object(out))
        })?,
        // Undefined, functions and regular expressions have no JSON form.
        _ => return Ok(None),
    }))
}

/// A number as AWS writes it: integral values in the `i64`/`u64` range as integers (`-0` is
/// `0`), non-finite values as the strings Java's serializer writes, the rest as doubles.
pub(super) fn number(n: f64) -> Value {
    if n.is_nan() {
        return Value::String("NaN".to_owned());
    }
    if n.is_infinite() {
        let name = if n > 0.0 { "Infinity" } else { "-Infinity" };
        return Value::String(name.to_owned());
    }
    // 2^63 and 2^64 are exact as doubles; the ranges are half-open so the casts are exact.
    const I64_END: f64 = 9_223_372_036_854_775_808.0;
    const U64_END: f64 = 18_446_744_073_709_551_616.0;
    if n.fract() == 0.0 {
        if (-I64_END..I64_END).contains(&n) {
            return Value::from(n as i64);
        }
        if (0.0..U64_END).contains(&n) {
            return Value::from(n as u64);
        }
    }
    Number::from_f64(n).map_or(Value::Null, Value::Number)
}

/// Parses JSON text straight into an engine value, as AWS's `$parse` reads it: one document,
/// no repeated key, no number too large for a double.
pub(super) fn parse_json(text: &str) -> Result<JValue, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = JsonSeed.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

struct JsonSeed;

impl<'de> DeserializeSeed<'de> for JsonSeed {
    type Value = JValue;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<JValue, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = JValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<JValue, E> {
        Ok(JValue::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<JValue, E> {
        Ok(JValue::Number(v as f64))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<JValue, E> {
        Ok(JValue::Number(v as f64))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<JValue, E> {
        if v.is_finite() {
            Ok(JValue::Number(v))
        } else {
            Err(E::custom("number out of range"))
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<JValue, E> {
        Ok(JValue::String(Rc::from(v)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<JValue, E> {
        Ok(JValue::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<JValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(JsonSeed)? {
            items.push(item);
        }
        let flat = !items.iter().any(JValue::is_array);
        Ok(JValue::Array(JArray::new_flat(items, flat)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JValue, A::Error> {
        let mut seen = HashSet::new();
        let mut members = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(JsonSeed)?;
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format!("duplicate key {key}")));
            }
            members.push((key, value));
        }
        Ok(JValue::Object(Rc::new(members.into_iter().collect())))
    }
}
