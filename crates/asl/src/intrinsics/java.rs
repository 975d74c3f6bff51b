//! What the JVM that runs AWS's intrinsic functions makes visible: number text, `toString`,
//! `hashCode`/`equals`, `HashMap` iteration order and `java.util.Random`.
//!
//! JSON values are modelled as the Java objects a JSON parser gives: `Integer` when the number
//! fits in 32 bits, `Long` in 64, `BigInteger` beyond, `Double` for decimals, `String`, `Boolean`,
//! `null`, `List` and `Map`.

use serde_json::{Number, Value};

/// A number as Java prints it: integers in full, decimals with `Double.toString`.
pub(super) fn number_to_string(n: &Number) -> String {
    match n.as_f64() {
        Some(f) if n.is_f64() => double_to_string(f),
        _ => n.to_string(),
    }
}

/// Java's `Double.toString`: shortest round-trip digits, plain between `1e-3` and `1e7` with at
/// least one fraction digit (`1.0`), otherwise `d.dddE±n` (`1.0E21`, `1.0E-4`).
pub(super) fn double_to_string(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.to_string();
    }
    let sign = if v.is_sign_negative() { "-" } else { "" };
    if v == 0.0 {
        return format!("{sign}0.0");
    }
    // Rust's `{:e}` writes the same shortest digits as Java 19 and later (`1.2345e6`), except
    // that where one digit suffices Java writes the closest two-digit decimal (`4.9E-324`).
    let (mut digits, mut exp) = scientific(&format!("{:e}", v.abs()));
    if digits.len() == 1 {
        (digits, exp) = scientific(&format!("{:.1e}", v.abs()));
        while digits.len() > 1 && digits.ends_with('0') {
            digits.pop();
        }
    }
    let abs = v.abs();
    if (1e-3..1e7).contains(&abs) {
        if exp >= 0 {
            let int_len = usize::try_from(exp).unwrap_or(0) + 1;
            if digits.len() <= int_len {
                let zeros = "0".repeat(int_len - digits.len());
                format!("{sign}{digits}{zeros}.0")
            } else {
                format!("{sign}{}.{}", &digits[..int_len], &digits[int_len..])
            }
        } else {
            let zeros = "0".repeat(usize::try_from(-exp - 1).unwrap_or(0));
            format!("{sign}0.{zeros}{digits}")
        }
    } else {
        let (first, rest) = digits.split_at(1.min(digits.len()));
        let rest = if rest.is_empty() { "0" } else { rest };
        format!("{sign}{first}.{rest}E{exp}")
    }
}

/// The digits and decimal exponent of Rust's `{:e}` output (`1.25e-3` is `125`, -3).
fn scientific(text: &str) -> (String, i32) {
    let (mantissa, exp) = text.split_once('e').unwrap_or((text, "0"));
    let digits = mantissa.chars().filter(char::is_ascii_digit).collect();
    (digits, exp.parse().unwrap_or(0))
}

/// Compact JSON as Jackson writes it: no spaces, Java number text, `\uXXXX` in upper case.
pub(super) fn to_json(v: &Value) -> String {
    let mut out = String::new();
    write_json(v, &mut out);
    out
}

fn write_json(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number_to_string(n)),
        Value::String(s) => write_json_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(k, out);
                out.push(':');
                write_json(item, out);
            }
            out.push('}');
        }
    }
}

fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `String.valueOf` of the Java object: strings bare, `[a, b]`, `{k=v, k2=v2}`.
pub(super) fn to_java_string(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => number_to_string(n),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(to_java_string).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Object(map) => {
            let parts: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k}={}", to_java_string(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
    }
}

/// The Java class a JSON number becomes.
#[derive(PartialEq)]
enum JavaNumber {
    Integer(i32),
    Long(i64),
    BigInteger(u64),
    Double(u64),
}

fn java_number(n: &Number) -> JavaNumber {
    if let Some(i) = n.as_i64() {
        match i32::try_from(i) {
            Ok(small) => JavaNumber::Integer(small),
            Err(_) => JavaNumber::Long(i),
        }
    } else if let Some(u) = n.as_u64() {
        JavaNumber::BigInteger(u)
    } else {
        JavaNumber::Double(n.as_f64().unwrap_or(0.0).to_bits())
    }
}

/// Java's `equals` on the modelled objects (maps compare regardless of key order).
pub(super) fn java_equals(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => java_number(x) == java_number(y),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| java_equals(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| java_equals(v, w)))
        }
        _ => a == b,
    }
}

/// `String.hashCode`: over UTF-16 code units.
pub(super) fn string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, u| h.wrapping_mul(31).wrapping_add(i32::from(u)))
}

/// `hashCode` of the modelled object (`HashMap` hashes `null` as 0).
pub(super) fn hash_code(v: &Value) -> i32 {
    match v {
        Value::Null => 0,
        Value::Bool(true) => 1231,
        Value::Bool(false) => 1237,
        Value::Number(n) => match java_number(n) {
            JavaNumber::Integer(i) => i,
            JavaNumber::Long(l) => fold_long(l as u64),
            JavaNumber::BigInteger(u) => {
                // Magnitude as big-endian 32-bit words, signum 1.
                let (hi, lo) = ((u >> 32) as i32, u as i32);
                hi.wrapping_mul(31).wrapping_add(lo)
            }
            JavaNumber::Double(bits) => fold_long(bits),
        },
        Value::String(s) => string_hash(s),
        Value::Array(items) => items.iter().fold(1i32, |h, item| {
            h.wrapping_mul(31).wrapping_add(hash_code(item))
        }),
        Value::Object(map) => map.iter().fold(0i32, |h, (k, item)| {
            h.wrapping_add(string_hash(k) ^ hash_code(item))
        }),
    }
}

fn fold_long(bits: u64) -> i32 {
    (bits ^ (bits >> 32)) as i32
}

/// How a `java.util.HashMap` is created, which fixes its first table size.
pub(super) enum Capacity {
    /// `new HashMap<>()`: 16 buckets.
    Default,
    /// `new HashSet<>(collection)` of `n` elements: room for `n` without growing.
    ForCollection(usize),
}

/// The order in which a `java.util.HashMap` iterates keys inserted in the given order (distinct
/// keys, given by their `hashCode`): by bucket, and within a bucket by insertion. The table grows
/// as Java's does, on size and on a long bucket in a small table; tree bins (nine keys in one
/// bucket of a table of 64 or more) are not modelled.
pub(super) fn hash_order(hashes: &[i32], capacity: Capacity) -> Vec<usize> {
    let mut cap = match capacity {
        Capacity::Default => 16,
        Capacity::ForCollection(n) => {
            // max((int) (n / .75f) + 1, 16), rounded up to a power of two.
            let wanted = ((n as f32 / 0.75f32) as usize + 1).max(16);
            wanted.next_power_of_two()
        }
    };
    let spread: Vec<u32> = hashes
        .iter()
        .map(|h| {
            let h = *h as u32;
            h ^ (h >> 16)
        })
        .collect();
    let bucket = |i: usize, cap: usize| (spread[i] as usize) & (cap - 1);
    let mut counts = vec![0usize; cap];
    for i in 0..spread.len() {
        let b = bucket(i, cap);
        counts[b] += 1;
        let mut grown = false;
        if counts[b] > 8 && cap < 64 {
            cap *= 2;
            grown = true;
        }
        if i + 1 > cap / 4 * 3 {
            cap *= 2;
            grown = true;
        }
        if grown {
            counts = vec![0; cap];
            for j in 0..=i {
                counts[bucket(j, cap)] += 1;
            }
        }
    }
    let mut order: Vec<usize> = (0..spread.len()).collect();
    order.sort_by_key(|&i| bucket(i, cap));
    order
}

/// `java.util.Random`: the 48-bit linear congruential generator.
pub(super) struct JavaRandom {
    seed: i64,
}

const MULTIPLIER: i64 = 0x5_DEEC_E66D;
const MASK: i64 = (1 << 48) - 1;

impl JavaRandom {
    /// `new Random(seed)`.
    pub(super) fn new(seed: i64) -> Self {
        JavaRandom {
            seed: (seed ^ MULTIPLIER) & MASK,
        }
    }

    fn next(&mut self, bits: u32) -> i32 {
        self.seed = (self.seed.wrapping_mul(MULTIPLIER).wrapping_add(0xB)) & MASK;
        (self.seed >> (48 - bits)) as i32
    }

    /// `nextInt(bound)` for `bound > 0`: uniform in `[0, bound)`.
    pub(super) fn next_int(&mut self, bound: i32) -> i32 {
        let mut r = self.next(31);
        let m = bound.wrapping_sub(1);
        if bound & m == 0 {
            ((i64::from(bound) * i64::from(r)) >> 31) as i32
        } else {
            let mut u = r;
            loop {
                r = u % bound;
                if u.wrapping_sub(r).wrapping_add(m) >= 0 {
                    return r;
                }
                u = self.next(31);
            }
        }
    }
}
