//! The intrinsic functions of JSONPath mode (`States.Format(...)` and friends).
//!
//! A `.$` value of `Parameters`, `ResultSelector`, `ItemSelector` or `Assign`, and a Fail state's
//! `ErrorPath`/`CausePath`, may be an intrinsic call instead of a path. [`Intrinsic::parse`] checks
//! the call when the definition is loaded (AWS rejects a malformed call at `CreateStateMachine`);
//! [`Intrinsic::evaluate`] runs it against a state's [`Env`].
//!
//! # Syntax
//!
//! `States.Name(arg, ...)`, where an argument is a single-quoted string, a JSON number (negative,
//! decimal and exponent forms), `true`, `false`, `null`, a path (`$`, `$.a[0]`, `$$.Execution.Id`,
//! `$var.x`) or another call. Whitespace may surround arguments. Calls nest at most
//! [`MAX_NESTING`] deep. Inside a string `\'`, `\{`, `\}` and `\\` stand for `'`, `{`, `}` and
//! `\`; any other backslash sequence is rejected, as AWS does (it refuses `\"` at definition
//! time). The number of arguments is not checked by the parser: AWS accepts such a definition and
//! fails the execution.
//!
//! # Failures
//!
//! Every run-time failure is `States.Runtime`: every recorded AWS failure of an intrinsic call
//! has that name, none has `States.IntrinsicFailure` (so `States.ALL` does not catch them). The
//! cause is AWS's
//! `The function '<call as written>' had the following error: <detail>`; the caller prefixes the
//! state (`An error occurred while executing the state ...`). Details:
//!
//! - a path argument that matches nothing: `The JsonPath argument for the field '<path>' could not
//!   be found in the input '<state input>'` (a `$$` path is reported with one `$` removed, as AWS
//!   does; a missing variable is reported against the variables);
//! - a wrong number or type of arguments, or a value out of range: `Invalid arguments in
//!   States.<Name>`.
//!
//! # AWS behaviour reproduced here
//!
//! AWS runs these functions on the JVM and it shows:
//!
//! - numbers print as Java does: `1.0` stays `1.0`, `1e21` prints `1.0E21` (`Double.toString`);
//! - `States.ArrayUnique` keeps one of each value and returns them in the iteration order of a
//!   `java.util.HashSet` built from the array (`[true, false]` comes back as `[false, true]`);
//! - `States.JsonMerge` returns its keys in `java.util.HashMap` order;
//! - `States.ArrayContains` compares values by their Java `toString` text, so `true` matches
//!   `"true"` but `{"a":1,"b":2}` does not match `{"b":2,"a":1}`;
//! - `States.MathRandom` with a seed draws `start + new java.util.Random(seed).nextInt(end - start)`;
//! - `States.MathAdd` rounds its operands to the nearest integer (`Math.round`) and works in 32
//!   bits; `States.ArrayRange`, `States.ArrayPartition`, `States.ArrayGetItem` and
//!   `States.MathRandom` truncate fractions towards zero;
//! - `States.StringSplit` splits on every character of the delimiter and drops empty tokens
//!   (`java.util.StringTokenizer`);
//! - `States.Base64Decode` skips characters outside the alphabet and stops at `=`, like Apache
//!   Commons Codec;
//! - `States.StringToJson('')` is `null`, and text after the first JSON value is ignored.
//!
//! Sources: the conformance corpus, and published test suites that captured AWS's answers
//! (outputs, error names, fragments of causes). Where AWS could not be observed the code says
//! what it assumes: `States.Format` writes objects and arrays as compact JSON; the texts after
//! `Invalid arguments in States.Format` are unconfirmed.

mod functions;
mod java;
mod parser;

#[cfg(test)]
mod tests;

use crate::error::Failure;
use crate::path::{Env, Path};
use crate::rng::Rng;
use parser::{Arg, Call};
use serde_json::Value;
use thiserror::Error;

/// How deep calls may nest: the outermost call is level 1.
pub const MAX_NESTING: usize = 10;

/// An intrinsic function call that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid intrinsic function '{text}': {reason}")]
pub struct IntrinsicError {
    /// The call as written.
    pub text: String,
    /// What is wrong with it and at which character (counted from 1).
    pub reason: String,
}

/// One of the 18 intrinsic functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    /// `States.Format(template, value...)`: fills each `{}` of the template with a value.
    Format,
    /// `States.StringToJson(string)`: parses JSON text.
    StringToJson,
    /// `States.JsonToString(value)`: writes a value as compact JSON text.
    JsonToString,
    /// `States.Array(value...)`: an array of the arguments.
    Array,
    /// `States.ArrayPartition(array, size)`: chunks of `size` items.
    ArrayPartition,
    /// `States.ArrayContains(array, value)`: whether the array holds the value.
    ArrayContains,
    /// `States.ArrayRange(first, last, step)`: at most 1000 integers.
    ArrayRange,
    /// `States.ArrayGetItem(array, index)`: one item.
    ArrayGetItem,
    /// `States.ArrayLength(array)`: the number of items.
    ArrayLength,
    /// `States.ArrayUnique(array)`: the array without duplicates.
    ArrayUnique,
    /// `States.Base64Encode(string)`: Base64 of the UTF-8 bytes.
    Base64Encode,
    /// `States.Base64Decode(string)`: the UTF-8 text of Base64 data.
    Base64Decode,
    /// `States.Hash(data, algorithm)`: a hex digest (MD5, SHA-1, SHA-256, SHA-384, SHA-512).
    Hash,
    /// `States.JsonMerge(object, object, false)`: a shallow merge.
    JsonMerge,
    /// `States.MathRandom(start, end[, seed])`: a random integer in `[start, end)`.
    MathRandom,
    /// `States.MathAdd(a, b)`: the sum of two 32-bit integers.
    MathAdd,
    /// `States.StringSplit(string, delimiters)`: the tokens between delimiter characters.
    StringSplit,
    /// `States.UUID()`: a random version 4 UUID.
    Uuid,
}

impl Function {
    /// Every function, in the order of the AWS documentation.
    pub const ALL: [Function; 18] = [
        Function::Format,
        Function::StringToJson,
        Function::JsonToString,
        Function::Array,
        Function::ArrayPartition,
        Function::ArrayContains,
        Function::ArrayRange,
        Function::ArrayGetItem,
        Function::ArrayLength,
        Function::ArrayUnique,
        Function::Base64Encode,
        Function::Base64Decode,
        Function::Hash,
        Function::JsonMerge,
        Function::MathRandom,
        Function::MathAdd,
        Function::StringSplit,
        Function::Uuid,
    ];

    /// The full name, e.g. `States.Format`.
    pub fn name(self) -> &'static str {
        match self {
            Function::Format => "States.Format",
            Function::StringToJson => "States.StringToJson",
            Function::JsonToString => "States.JsonToString",
            Function::Array => "States.Array",
            Function::ArrayPartition => "States.ArrayPartition",
            Function::ArrayContains => "States.ArrayContains",
            Function::ArrayRange => "States.ArrayRange",
            Function::ArrayGetItem => "States.ArrayGetItem",
            Function::ArrayLength => "States.ArrayLength",
            Function::ArrayUnique => "States.ArrayUnique",
            Function::Base64Encode => "States.Base64Encode",
            Function::Base64Decode => "States.Base64Decode",
            Function::Hash => "States.Hash",
            Function::JsonMerge => "States.JsonMerge",
            Function::MathRandom => "States.MathRandom",
            Function::MathAdd => "States.MathAdd",
            Function::StringSplit => "States.StringSplit",
            Function::Uuid => "States.UUID",
        }
    }

    /// The function with this full name (case-sensitive), e.g. `States.UUID`.
    pub fn from_name(name: &str) -> Option<Function> {
        Function::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// A parsed intrinsic function call.
#[derive(Debug, Clone, PartialEq)]
pub struct Intrinsic {
    text: String,
    call: Call,
}

impl Intrinsic {
    /// Whether a `.$` value is written as an intrinsic call rather than a path.
    pub fn looks_like_call(text: &str) -> bool {
        text.trim_start().starts_with("States.")
    }

    /// Parses a call such as `States.Format('{} {}', $.a, States.UUID())`.
    pub fn parse(text: &str) -> Result<Intrinsic, IntrinsicError> {
        match parser::parse(text) {
            Ok(call) => Ok(Intrinsic {
                text: text.to_string(),
                call,
            }),
            Err(reason) => Err(IntrinsicError {
                text: text.to_string(),
                reason,
            }),
        }
    }

    /// The call as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The outermost function.
    pub fn function(&self) -> Function {
        self.call.function
    }

    /// Every path the call reads, nested calls included, in the order written.
    pub fn paths(&self) -> Vec<&Path> {
        fn walk<'a>(call: &'a Call, out: &mut Vec<&'a Path>) {
            for arg in &call.args {
                match arg {
                    Arg::Path(p) => out.push(&p.path),
                    Arg::Call(c) => walk(c, out),
                    Arg::Str(_) | Arg::Number(_) | Arg::Bool(_) | Arg::Null => {}
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.call, &mut out);
        out
    }

    /// Evaluates the call. A failure is `States.Runtime` with AWS's cause, without the
    /// `An error occurred while executing the state ...` prefix the caller adds. `rng` is drawn
    /// from only by `States.UUID` and an unseeded `States.MathRandom`.
    pub fn evaluate(&self, env: &Env, rng: &mut Rng) -> Result<Value, Failure> {
        functions::eval_call(&self.call, env, rng).map_err(|detail| {
            Failure::runtime(format!(
                "The function '{}' had the following error: {}",
                self.text, detail
            ))
        })
    }
}
