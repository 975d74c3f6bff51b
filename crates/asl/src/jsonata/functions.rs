//! The functions Step Functions adds to JSONata, and the built-ins it replaces.
//!
//! Each added function treats a missing argument and an `undefined` one alike, refuses a surplus
//! argument with `T0410` naming it, and words its errors as AWS does:
//!
//! | Function | Undefined when | Error when |
//! |---|---|---|
//! | `$partition(array, size)` | `array` missing or empty, `size` truncates to 0 | `array` not an array (`T0412`), `size` not a number (`T0410`), `size` < 0 (`D3137`) |
//! | `$range(start, end, step)` | `step` missing or 0, or its sign disagrees with `end - start` | a bound missing or not a number, `step` not a number (`T0410`), more than 360,145 elements |
//! | `$hash(string, algorithm)` | `algorithm` missing | `string` not a string, `algorithm` not a string (`T0410`), unknown algorithm (`D3137`) |
//! | `$random([seed])` | | `seed` not a number (`T0410`) |
//! | `$uuid()` | | any argument (`T0410`) |
//! | `$parse(json)` | `json` missing | `json` not a string (`T0410`), not one JSON document (`D3137`) |
//!
//! Numeric arguments are truncated towards zero. `$partition` with no size is the whole array as
//! one chunk; `$range` collapses a one-element result to the bare number (AWS-recorded:
//! `$range(1, 9, 9)` is `1`). Hash algorithms are case-sensitive.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::LazyLock;

use jsonata_core::ast::AstNode;
use jsonata_core::evaluator::{Context, Evaluator, EvaluatorError, HostFnResult};
use jsonata_core::value::JValue;
use md5::Md5;
use serde_json::Value;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};

use super::Scope;
use super::causes::MEMORY_LIMIT;
use super::convert::parse_json;
use crate::rng::Rng;

/// The most elements `$range` builds; AWS refuses one more.
const MAX_RANGE_ELEMENTS: i128 = 360_145;

/// A function this module installs, by the name an expression calls it with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Host {
    Partition,
    Range,
    Hash,
    Random,
    Uuid,
    Parse,
    Now,
    Millis,
    Eval,
}

impl Host {
    const ALL: [Host; 9] = [
        Host::Partition,
        Host::Range,
        Host::Hash,
        Host::Random,
        Host::Uuid,
        Host::Parse,
        Host::Now,
        Host::Millis,
        Host::Eval,
    ];

    /// The host function an expression's `$name` refers to, if any.
    pub(super) fn named(name: &str) -> Option<Host> {
        Host::ALL.into_iter().find(|host| host.name() == name)
    }

    fn name(self) -> &'static str {
        match self {
            Host::Partition => "partition",
            Host::Range => "range",
            Host::Hash => "hash",
            Host::Random => "random",
            Host::Uuid => "uuid",
            Host::Parse => "parse",
            Host::Now => "now",
            Host::Millis => "millis",
            Host::Eval => "eval",
        }
    }

    fn bit(self) -> u16 {
        1 << self as u16
    }
}

/// A set of [`Host`] functions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct HostSet(u16);

impl HostSet {
    pub(super) fn insert(&mut self, host: Host) {
        self.0 |= host.bit();
    }

    pub(super) fn contains(self, host: Host) -> bool {
        self.0 & host.bit() != 0
    }
}

/// State the installed functions share with the evaluation that installed them.
pub(super) struct Installed {
    rng: Rc<RefCell<Rng>>,
}

impl Installed {
    /// Hands the generator, advanced by the draws the expression made, back to the caller.
    pub(super) fn restore(&self, rng: &mut Rng) {
        if let Ok(advanced) = self.rng.try_borrow() {
            *rng = advanced.clone();
        }
    }
}

/// Installs the functions in `hosts` (`$eval` is the caller's: it is unbound, not installed).
/// Returns the shared generator when a function draws from it.
pub(super) fn install(
    evaluator: &mut Evaluator,
    hosts: HostSet,
    scope: &Scope<'_>,
    rng: &Rng,
) -> Result<Option<Installed>, EvaluatorError> {
    if hosts.contains(Host::Partition) {
        evaluator.register_fn("partition", partition)?;
    }
    if hosts.contains(Host::Range) {
        evaluator.register_fn("range", range)?;
    }
    if hosts.contains(Host::Hash) {
        evaluator.register_fn("hash", hash)?;
    }
    if hosts.contains(Host::Parse) {
        evaluator.register_fn("parse", parse)?;
    }
    if hosts.contains(Host::Now) || hosts.contains(Host::Millis) {
        let instant = instant(scope.context);
        if hosts.contains(Host::Now) {
            let instant = instant.clone();
            evaluator.register_fn_override("now", move |args: &[JValue]| now(args, &instant))?;
        }
        if hosts.contains(Host::Millis) {
            evaluator.register_fn_override("millis", move |_: &[JValue]| {
                instant
                    .clone()
                    .map(JValue::Number)
                    .map_err(EvaluatorError::EvaluationError)
            })?;
        }
    }
    if !hosts.contains(Host::Random) && !hosts.contains(Host::Uuid) {
        return Ok(None);
    }
    let shared = Rc::new(RefCell::new(rng.clone()));
    if hosts.contains(Host::Random) {
        let rng = Rc::clone(&shared);
        evaluator.register_fn_override("random", move |args: &[JValue]| random(args, &rng))?;
    }
    if hosts.contains(Host::Uuid) {
        let rng = Rc::clone(&shared);
        evaluator.register_fn("uuid", move |args: &[JValue]| uuid(args, &rng))?;
    }
    Ok(Some(Installed { rng: shared }))
}

/// Argument `index`, `None` when missing or `undefined`.
fn arg(args: &[JValue], index: usize) -> Option<&JValue> {
    args.get(index).filter(|value| !value.is_undefined())
}

/// `T0410` for argument `number` (1-based) of `function`.
fn signature_error(function: &str, number: usize) -> EvaluatorError {
    EvaluatorError::TypeError(format!(
        "T0410: Argument {number} of function \"{function}\" does not match function signature"
    ))
}

/// Refuses an argument past the first `arity`.
fn no_surplus(args: &[JValue], function: &str, arity: usize) -> Result<(), EvaluatorError> {
    match args
        .iter()
        .skip(arity)
        .position(|value| !value.is_undefined())
    {
        Some(offset) => Err(signature_error(function, arity + offset + 1)),
        None => Ok(()),
    }
}

/// A number argument truncated towards zero (saturating), as AWS reads integer arguments.
fn truncated(value: &JValue, function: &str, number: usize) -> Result<i64, EvaluatorError> {
    match value {
        JValue::Number(n) => Ok(n.trunc() as i64),
        _ => Err(signature_error(function, number)),
    }
}

fn partition(args: &[JValue]) -> HostFnResult {
    no_surplus(args, "partition", 2)?;
    let items = match arg(args, 0) {
        None => return Ok(JValue::Undefined),
        Some(value) => value.as_array().ok_or_else(|| {
            EvaluatorError::TypeError(
                "T0412: Argument 1 of function \"partition\" must be an array of undefined"
                    .to_owned(),
            )
        })?,
    };
    if items.is_empty() {
        return Ok(JValue::Undefined);
    }
    let size = match arg(args, 1) {
        None => return Ok(JValue::array(vec![JValue::array(items.clone())])),
        Some(size) => truncated(size, "partition", 2)?,
    };
    if size < 0 {
        return Err(EvaluatorError::EvaluationError(
            "D3137: Second argument must be zero or greater".to_owned(),
        ));
    }
    let Ok(size @ 1..) = usize::try_from(size) else {
        return Ok(JValue::Undefined);
    };
    Ok(JValue::array(
        items
            .chunks(size)
            .map(|chunk| JValue::array(chunk.to_vec()))
            .collect(),
    ))
}

fn range(args: &[JValue]) -> HostFnResult {
    no_surplus(args, "range", 3)?;
    let bound = |index: usize| match arg(args, index) {
        Some(value) => truncated(value, "range", index + 1),
        None => Err(signature_error("range", index + 1)),
    };
    let (start, end) = (bound(0)?, bound(1)?);
    let step = match arg(args, 2) {
        None => return Ok(JValue::Undefined),
        Some(step) => truncated(step, "range", 3)?,
    };
    if step == 0 || (step > 0 && start > end) || (step < 0 && start < end) {
        return Ok(JValue::Undefined);
    }
    let (start, end, step) = (i128::from(start), i128::from(end), i128::from(step));
    let count = (end - start) / step + 1;
    if count > MAX_RANGE_ELEMENTS {
        return Err(EvaluatorError::EvaluationError(MEMORY_LIMIT.to_owned()));
    }
    if count == 1 {
        return Ok(JValue::Number(start as f64));
    }
    Ok(JValue::array(
        (0..count)
            .map(|index| JValue::Number((start + index * step) as f64))
            .collect(),
    ))
}

fn hash(args: &[JValue]) -> HostFnResult {
    no_surplus(args, "hash", 2)?;
    let Some(JValue::String(text)) = arg(args, 0) else {
        return Err(signature_error("hash", 1));
    };
    let algorithm = match arg(args, 1) {
        None => return Ok(JValue::Undefined),
        Some(JValue::String(algorithm)) => algorithm,
        Some(_) => return Err(signature_error("hash", 2)),
    };
    let bytes = text.as_bytes();
    let digest = match &**algorithm {
        "MD5" => Md5::digest(bytes).to_vec(),
        "SHA-1" => Sha1::digest(bytes).to_vec(),
        "SHA-256" => Sha256::digest(bytes).to_vec(),
        "SHA-384" => Sha384::digest(bytes).to_vec(),
        "SHA-512" => Sha512::digest(bytes).to_vec(),
        other => {
            return Err(EvaluatorError::EvaluationError(format!(
                "D3137: Hash algorithm '{other}' must be one of SHA-1, SHA-384, SHA-256, SHA-512, \
                 MD5"
            )));
        }
    };
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    Ok(JValue::from(hex))
}

fn random(args: &[JValue], rng: &RefCell<Rng>) -> HostFnResult {
    no_surplus(args, "random", 1)?;
    match arg(args, 0) {
        Some(seed) => Ok(JValue::Number(
            JavaRandom::new(truncated(seed, "random", 1)?).next_double(),
        )),
        None => Ok(JValue::Number(borrow(rng)?.next_f64())),
    }
}

fn uuid(args: &[JValue], rng: &RefCell<Rng>) -> HostFnResult {
    no_surplus(args, "uuid", 0)?;
    Ok(JValue::from(borrow(rng)?.uuid()))
}

fn borrow(rng: &RefCell<Rng>) -> Result<std::cell::RefMut<'_, Rng>, EvaluatorError> {
    rng.try_borrow_mut().map_err(|_| {
        EvaluatorError::EvaluationError("the random generator is already in use".to_owned())
    })
}

fn parse(args: &[JValue]) -> HostFnResult {
    no_surplus(args, "parse", 1)?;
    match arg(args, 0) {
        None => Ok(JValue::Undefined),
        Some(JValue::String(text)) => parse_json(text)
            .map_err(|_| EvaluatorError::EvaluationError("D3137: Invalid JSON".to_owned())),
        Some(_) => Err(signature_error("parse", 1)),
    }
}

/// The state's entry time (else the execution's start) in milliseconds since the epoch.
fn instant(context: &Value) -> Result<f64, String> {
    ["/State/EnteredTime", "/Execution/StartTime"]
        .iter()
        .find_map(|pointer| context.pointer(pointer).and_then(Value::as_str))
        .and_then(|text| text.parse::<jiff::Timestamp>().ok())
        .map(|timestamp| timestamp.as_millisecond() as f64)
        .ok_or_else(|| {
            "$now() and $millis() need $states.context.State.EnteredTime or \
             $states.context.Execution.StartTime"
                .to_owned()
        })
}

/// `$fromMillis($m)`, `$fromMillis($m, $p)` and `$fromMillis($m, $p, $t)`: `$now(picture,
/// timezone)` is `$fromMillis` of the instant.
static FROM_MILLIS: LazyLock<[Option<AstNode>; 3]> = LazyLock::new(|| {
    [
        "$fromMillis($m)",
        "$fromMillis($m, $p)",
        "$fromMillis($m, $p, $t)",
    ]
    .map(|source| jsonata_core::parser::parse(source).ok())
});

fn now(args: &[JValue], instant: &Result<f64, String>) -> HostFnResult {
    let millis = instant.clone().map_err(EvaluatorError::EvaluationError)?;
    let given = args.len().min(2);
    let Some(Some(ast)) = FROM_MILLIS.get(given) else {
        return Err(EvaluatorError::EvaluationError(
            "$now() could not be prepared".to_owned(),
        ));
    };
    let mut context = Context::new();
    context.bind("m".to_owned(), JValue::Number(millis));
    for (name, value) in ["p", "t"].into_iter().zip(args) {
        context.bind(name.to_owned(), value.clone());
    }
    Evaluator::with_context(context).evaluate(ast, &JValue::Undefined)
}

/// `java.util.Random`, which AWS seeds for `$random(seed)`.
struct JavaRandom {
    seed: u64,
}

impl JavaRandom {
    const MULTIPLIER: u64 = 0x5_DEEC_E66D;
    const MASK: u64 = (1 << 48) - 1;

    /// `new Random(seed)`.
    fn new(seed: i64) -> Self {
        JavaRandom {
            seed: (seed as u64 ^ Self::MULTIPLIER) & Self::MASK,
        }
    }

    /// `next(bits)`: the top `bits` of the next 48-bit state.
    fn next(&mut self, bits: u32) -> u64 {
        self.seed = self.seed.wrapping_mul(Self::MULTIPLIER).wrapping_add(0xB) & Self::MASK;
        self.seed >> (48 - bits)
    }

    /// `nextDouble()`: 53 random bits scaled into `[0, 1)`.
    fn next_double(&mut self) -> f64 {
        let high = self.next(26) << 27;
        (high + self.next(27)) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::JavaRandom;

    #[test]
    fn java_random_matches_java() {
        // `new Random(seed).nextDouble()` in Java.
        assert_eq!(JavaRandom::new(42).next_double(), 0.7275636800328681);
        assert_eq!(JavaRandom::new(0).next_double(), 0.730967787376657);
        assert_eq!(JavaRandom::new(7).next_double(), 0.7306990420600421);
    }
}
