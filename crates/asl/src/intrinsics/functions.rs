//! Evaluation of the 18 functions. Errors are the detail part of AWS's cause; the caller wraps
//! them in `The function '...' had the following error: ...`.

use super::Function;
use super::java::{self, Capacity, JavaRandom};
use super::parser::{Arg, Call, PathArg};
use crate::path::{Env, Root};
use crate::rng::Rng;
use base64::Engine as _;
use md5::Md5;
use serde_json::{Map, Number, Value};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};

/// The most items `States.ArrayRange` may produce.
const MAX_RANGE_ITEMS: i64 = 1000;
/// The longest string (in UTF-16 code units, as Java counts) Base64 and hash functions accept.
const MAX_STRING_CHARS: usize = 10_000;

/// Evaluates a call: its arguments first, left to right, then the function.
pub(super) fn eval_call(call: &Call, env: &Env, rng: &mut Rng) -> Result<Value, String> {
    let mut args = Vec::with_capacity(call.args.len());
    for arg in &call.args {
        args.push(eval_arg(arg, env, rng)?);
    }
    let f = call.function;
    match f {
        Function::Format => format(call, &args),
        Function::StringToJson => string_to_json(f, &args),
        Function::JsonToString => {
            let [value] = exact::<1>(f, &args)?;
            Ok(Value::String(java::to_json(value)))
        }
        Function::Array => Ok(Value::Array(args)),
        Function::ArrayPartition => array_partition(f, &args),
        Function::ArrayContains => {
            let [array, wanted] = exact::<2>(f, &args)?;
            let items = array.as_array().ok_or_else(|| invalid(f))?;
            let wanted = java::to_java_string(wanted);
            Ok(Value::Bool(
                items
                    .iter()
                    .any(|item| java::to_java_string(item) == wanted),
            ))
        }
        Function::ArrayRange => array_range(f, &args),
        Function::ArrayGetItem => array_get_item(f, &args),
        Function::ArrayLength => {
            let [array] = exact::<1>(f, &args)?;
            let items = array.as_array().ok_or_else(|| invalid(f))?;
            Ok(Value::from(items.len()))
        }
        Function::ArrayUnique => array_unique(f, &args),
        Function::Base64Encode => {
            let [text] = exact::<1>(f, &args)?;
            let text = limited_string(f, text)?;
            Ok(Value::String(
                base64::engine::general_purpose::STANDARD.encode(text.as_bytes()),
            ))
        }
        Function::Base64Decode => {
            let [text] = exact::<1>(f, &args)?;
            let bytes = base64_decode_lenient(limited_string(f, text)?);
            Ok(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        }
        Function::Hash => hash(f, &args),
        Function::JsonMerge => json_merge(f, &args),
        Function::MathRandom => math_random(f, &args, rng),
        Function::MathAdd => math_add(f, &args),
        Function::StringSplit => {
            let [text, delimiters] = exact::<2>(f, &args)?;
            let (Some(text), Some(delimiters)) = (text.as_str(), delimiters.as_str()) else {
                return Err(invalid(f));
            };
            let tokens = text
                .split(|c| delimiters.contains(c))
                .filter(|t| !t.is_empty())
                .map(|t| Value::String(t.to_string()))
                .collect();
            Ok(Value::Array(tokens))
        }
        Function::Uuid => {
            exact::<0>(f, &args)?;
            Ok(Value::String(rng.uuid()))
        }
    }
}

fn eval_arg(arg: &Arg, env: &Env, rng: &mut Rng) -> Result<Value, String> {
    match arg {
        Arg::Str(s) => Ok(Value::String(s.value.clone())),
        Arg::Number(n) => Ok(Value::Number(n.clone())),
        Arg::Bool(b) => Ok(Value::Bool(*b)),
        Arg::Null => Ok(Value::Null),
        Arg::Path(p) => p.path.select(env).ok_or_else(|| missing_path(p, env)),
        Arg::Call(c) => eval_call(c, env, rng),
    }
}

/// AWS names a `$$` path as `$...` and, for `$` and `$$` alike, prints the state input.
fn missing_path(p: &PathArg, env: &Env) -> String {
    let (path, doc) = match p.path.root() {
        Root::Context => (
            p.text.strip_prefix('$').unwrap_or(&p.text),
            env.input.clone(),
        ),
        Root::Variable(_) => (p.text.as_str(), Value::Object(env.variables.clone())),
        Root::Input => (p.text.as_str(), env.input.clone()),
    };
    format!(
        "The JsonPath argument for the field '{path}' could not be found in the input '{}'",
        java::to_json(&doc)
    )
}

fn invalid(f: Function) -> String {
    format!("Invalid arguments in {}", f.name())
}

/// The arguments when there are exactly `N` of them.
fn exact<const N: usize>(f: Function, args: &[Value]) -> Result<&[Value; N], String> {
    <&[Value; N]>::try_from(args).map_err(|_| invalid(f))
}

/// A number cut to an integer towards zero, as Java's `intValue` does to a decimal.
fn truncated(v: &Value) -> Option<i64> {
    let n = v.as_number()?;
    if let Some(i) = n.as_i64() {
        Some(i)
    } else if n.as_u64().is_some() {
        Some(i64::MAX)
    } else {
        n.as_f64().map(|f| f.trunc() as i64)
    }
}

/// A 32-bit integer argument, fractions cut towards zero.
fn truncated_i32(f: Function, v: &Value) -> Result<i64, String> {
    truncated(v)
        .filter(|i| i32::try_from(*i).is_ok())
        .ok_or_else(|| invalid(f))
}

/// A string argument of at most [`MAX_STRING_CHARS`] characters.
fn limited_string(f: Function, v: &Value) -> Result<&str, String> {
    let s = v.as_str().ok_or_else(|| invalid(f))?;
    if s.encode_utf16().count() > MAX_STRING_CHARS {
        return Err(invalid(f));
    }
    Ok(s)
}

/// How `States.Format` (and `States.Hash` for non-strings) writes a value: strings bare, other
/// values as JSON.
fn format_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => java::to_json(other),
    }
}

fn format(call: &Call, args: &[Value]) -> Result<Value, String> {
    let f = Function::Format;
    let Some((template, values)) = args.split_first() else {
        return Err(invalid(f));
    };
    // A literal template keeps its escapes so that `\{` is a brace, not a placeholder.
    let (text, escapes) = match call.args.first() {
        Some(Arg::Str(s)) => (s.raw.as_str(), true),
        _ => (template.as_str().ok_or_else(|| invalid(f))?, false),
    };
    let mut parts: Vec<Option<String>> = Vec::new();
    let mut literal = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if escapes => {
                if let Some(next) = chars.next() {
                    literal.push(next);
                }
            }
            '{' => {
                if chars.next() != Some('}') {
                    return Err(format!(
                        "Invalid template in {}: matching '}}' not found for '{{'.",
                        f.name()
                    ));
                }
                parts.push(Some(std::mem::take(&mut literal)));
                parts.push(None);
            }
            '}' => {
                return Err(format!(
                    "Invalid template in {}: matching '{{' not found for '}}'.",
                    f.name()
                ));
            }
            c => literal.push(c),
        }
    }
    parts.push(Some(literal));
    let placeholders = parts.iter().filter(|p| p.is_none()).count();
    if placeholders != values.len() {
        return Err(format!(
            "Invalid arguments in {}: number of arguments do not match the occurrences of {{}}.",
            f.name()
        ));
    }
    let mut values = values.iter();
    let mut out = String::new();
    for part in parts {
        match part {
            Some(text) => out.push_str(&text),
            None => {
                if let Some(v) = values.next() {
                    out.push_str(&format_value(v));
                }
            }
        }
    }
    Ok(Value::String(out))
}

fn string_to_json(f: Function, args: &[Value]) -> Result<Value, String> {
    let [text] = exact::<1>(f, args)?;
    let text = text.as_str().ok_or_else(|| invalid(f))?;
    if text.trim_matches([' ', '\t', '\n', '\r']).is_empty() {
        return Ok(Value::Null);
    }
    // Like Jackson's `readTree`, read the first value and ignore what follows it.
    match serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .next()
    {
        Some(Ok(value)) => Ok(value),
        _ => Err(invalid(f)),
    }
}

fn array_partition(f: Function, args: &[Value]) -> Result<Value, String> {
    let [array, size] = exact::<2>(f, args)?;
    let items = array.as_array().ok_or_else(|| invalid(f))?;
    let size = truncated(size)
        .filter(|s| *s >= 1)
        .ok_or_else(|| invalid(f))?;
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    Ok(Value::Array(
        items
            .chunks(size)
            .map(|chunk| Value::Array(chunk.to_vec()))
            .collect(),
    ))
}

fn array_range(f: Function, args: &[Value]) -> Result<Value, String> {
    let [first, last, step] = exact::<3>(f, args)?;
    let first = truncated_i32(f, first)?;
    let last = truncated_i32(f, last)?;
    let step = truncated_i32(f, step)?;
    if step == 0 {
        return Err(invalid(f));
    }
    let count = if (step > 0 && first > last) || (step < 0 && first < last) {
        0
    } else {
        (last - first) / step + 1
    };
    if count > MAX_RANGE_ITEMS {
        return Err(invalid(f));
    }
    Ok(Value::Array(
        (0..count).map(|i| Value::from(first + i * step)).collect(),
    ))
}

fn array_get_item(f: Function, args: &[Value]) -> Result<Value, String> {
    let [array, index] = exact::<2>(f, args)?;
    let items = array.as_array().ok_or_else(|| invalid(f))?;
    let index = truncated(index).ok_or_else(|| invalid(f))?;
    if index < 0 {
        return Err(invalid(f));
    }
    if items.is_empty() {
        // AWS answers null for any index into an empty array.
        return Ok(Value::Null);
    }
    usize::try_from(index)
        .ok()
        .and_then(|i| items.get(i))
        .cloned()
        .ok_or_else(|| invalid(f))
}

fn array_unique(f: Function, args: &[Value]) -> Result<Value, String> {
    let [array] = exact::<1>(f, args)?;
    let items = array.as_array().ok_or_else(|| invalid(f))?;
    let mut unique: Vec<&Value> = Vec::new();
    for item in items {
        if !unique.iter().any(|u| java::java_equals(u, item)) {
            unique.push(item);
        }
    }
    let hashes: Vec<i32> = unique.iter().map(|v| java::hash_code(v)).collect();
    let order = java::hash_order(&hashes, Capacity::ForCollection(items.len()));
    Ok(Value::Array(
        order.into_iter().map(|i| unique[i].clone()).collect(),
    ))
}

/// Base64 decoding that skips characters outside the alphabet (standard or URL-safe) and stops
/// at the first `=`; leftover bits that do not make a byte are dropped.
fn base64_decode_lenient(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut bits, mut count) = (0u32, 0u32);
    for c in text.chars() {
        let sextet = match c {
            'A'..='Z' => u32::from(c) - u32::from('A'),
            'a'..='z' => u32::from(c) - u32::from('a') + 26,
            '0'..='9' => u32::from(c) - u32::from('0') + 52,
            '+' | '-' => 62,
            '/' | '_' => 63,
            '=' => break,
            _ => continue,
        };
        bits = (bits << 6) | sextet;
        count += 1;
        if count == 4 {
            out.extend_from_slice(&[(bits >> 16) as u8, (bits >> 8) as u8, bits as u8]);
            (bits, count) = (0, 0);
        }
    }
    match count {
        2 => out.push((bits >> 4) as u8),
        3 => out.extend_from_slice(&[(bits >> 10) as u8, (bits >> 2) as u8]),
        _ => {}
    }
    out
}

fn hash(f: Function, args: &[Value]) -> Result<Value, String> {
    let [data, algorithm] = exact::<2>(f, args)?;
    let data = format_value(data);
    if data.encode_utf16().count() > MAX_STRING_CHARS {
        return Err(invalid(f));
    }
    let bytes = data.as_bytes();
    let digest: Vec<u8> = match algorithm.as_str() {
        Some("MD5") => Md5::digest(bytes).to_vec(),
        Some("SHA-1") => Sha1::digest(bytes).to_vec(),
        Some("SHA-256") => Sha256::digest(bytes).to_vec(),
        Some("SHA-384") => Sha384::digest(bytes).to_vec(),
        Some("SHA-512") => Sha512::digest(bytes).to_vec(),
        _ => return Err(invalid(f)),
    };
    Ok(Value::String(
        digest.iter().map(|b| format!("{b:02x}")).collect(),
    ))
}

fn json_merge(f: Function, args: &[Value]) -> Result<Value, String> {
    let [left, right, deep] = exact::<3>(f, args)?;
    let (Some(left), Some(right)) = (left.as_object(), right.as_object()) else {
        return Err(invalid(f));
    };
    // Deep merging is not supported; AWS reads the flag leniently, so only "true" refuses.
    if java::to_java_string(deep).eq_ignore_ascii_case("true") {
        return Err(invalid(f));
    }
    let mut merged = left.clone();
    for (k, v) in right {
        merged.insert(k.clone(), v.clone());
    }
    let entries: Vec<(String, Value)> = merged.into_iter().collect();
    let hashes: Vec<i32> = entries.iter().map(|(k, _)| java::string_hash(k)).collect();
    let order = java::hash_order(&hashes, Capacity::Default);
    let mut slots: Vec<Option<(String, Value)>> = entries.into_iter().map(Some).collect();
    let mut out = Map::new();
    for i in order {
        if let Some((k, v)) = slots.get_mut(i).and_then(Option::take) {
            out.insert(k, v);
        }
    }
    Ok(Value::Object(out))
}

fn math_random(f: Function, args: &[Value], rng: &mut Rng) -> Result<Value, String> {
    let (start, end, seed) = match args {
        [start, end] => (start, end, None),
        [start, end, seed] => (start, end, Some(seed)),
        _ => return Err(invalid(f)),
    };
    let start = truncated_i32(f, start)?;
    let end = truncated_i32(f, end)?;
    let bound = i32::try_from(end - start)
        .ok()
        .filter(|b| *b > 0)
        .ok_or_else(|| invalid(f))?;
    let value = match seed {
        Some(seed) => {
            let seed = truncated(seed).ok_or_else(|| invalid(f))?;
            start + i64::from(JavaRandom::new(seed).next_int(bound))
        }
        None => rng.range_inclusive(start, end - 1),
    };
    Ok(Value::from(value))
}

/// Java's `Math.round`: the nearest integer, halves towards positive infinity.
fn java_round(n: &Number) -> Option<i64> {
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    if n.as_u64().is_some() {
        return Some(i64::MAX);
    }
    let x = n.as_f64()?;
    let rounded = if x - x.floor() == 0.5 {
        x.floor() + 1.0
    } else {
        x.round()
    };
    Some(rounded as i64)
}

fn math_add(f: Function, args: &[Value]) -> Result<Value, String> {
    let [a, b] = exact::<2>(f, args)?;
    let operand = |v: &Value| {
        v.as_number()
            .and_then(java_round)
            .filter(|i| i32::try_from(*i).is_ok())
            .ok_or_else(|| invalid(f))
    };
    let sum = operand(a)? + operand(b)?;
    if i32::try_from(sum).is_err() {
        return Err(invalid(f));
    }
    Ok(Value::from(sum))
}
