//! JSONPath as AWS Step Functions evaluates it: Paths that read the state input (`$`), the context
//! object (`$$`) or a workflow variable (`$name`), and Reference Paths that also write
//! (ResultPath).
//!
//! AWS evaluates paths with the Java library Jayway JsonPath. This module reimplements the parts
//! of Jayway that a state machine can reach, and follows its behaviour where it is observable:
//! which paths are accepted, what a read returns, when a read has no result at all.
//!
//! # Design notes
//!
//! A path is parsed once, when the definition loads, into a [`Path`]: a root, then the longest
//! run of leading names and single indexes (the *keys*), then the remaining segments from the
//! first indefinite one on, then an optional function call. Reading a definite path walks the keys
//! by reference and clones only the node it ends on; nothing else allocates. Regular expressions
//! are compiled at parse time.
//!
//! Paths MUST NOT do I/O, read clocks or draw randomness: evaluation is a pure function of the
//! path and the [`Env`].
//!
//! ## Reading
//!
//! - A *definite* path (no wildcard, deep scan, filter, slice or multi-index union) names at most
//!   one node: [`Path::select`] returns it, or `None` when any step is missing (no such key, index
//!   out of range, wrong type).
//! - An *indefinite* path returns `Some(Value::Array(matches))`, possibly empty, in Jayway's order
//!   (document order; deep scans are pre-order, a node before its descendants). Like Jayway, a
//!   step that fails *before* the first indefinite segment, or the first indefinite segment itself
//!   applied to the wrong type, makes the whole read fail: `$.missing[*]` and `$.s[0,1]` on a
//!   string give `None`, while `$.list[*].missing` gives `Some([])`. An index out of range before
//!   the first indefinite segment gives `Some([])`, as in Jayway.
//! - `['a','b']` as the *last* segment is Jayway's "merge" form: it is definite and yields one
//!   object holding those of the keys that exist (`$['a','b']` on `{"a":1,"b":2,"c":3}` gives
//!   `{"a":1,"b":2}`). Anywhere else it visits each key in turn.
//! - Filters `[?(...)]` test each element of an array, or an object itself. Under a deep scan
//!   (`$..[?(...)]`) they test every object at any depth, as Jayway does. A filter path that
//!   matches nothing is *undefined*: `==`, `<`, `in`... are false for it, `!=` and `nin` are true,
//!   and `=~` matches it as the empty string. Operators that need a list (`subsetof`, `anyof`,
//!   `noneof`, the right side of `in`) reject the whole filter for that element, even under `!`,
//!   when given something that is neither an array nor an object: Jayway throws there.
//! - Equality follows Jayway: numbers compare by value (`1 == 1.0`), a number on the left equals a
//!   string holding the same number, a string on the left equals a number written the same way;
//!   arrays and objects compare structurally. `<`-style operators compare numbers by value and
//!   strings by UTF-16 code units, as Java does, and are false across other types. `=~` matches
//!   the whole string (Java's `matches()`), numbers and booleans as their text; an array matches
//!   when any element does.
//! - A function call ends the path: `length()` / `size()` (elements of an array, keys of an
//!   object, else `null`), `min()`, `max()`, `avg()`, `sum()`, `stddev()` (over the numbers of an
//!   array and of the arguments; no numbers at all is a failure; results are doubles such as
//!   `6.0`), `keys()`, `first()`, `last()`, `concat(...)`, `append(...)`. On a definite path the
//!   function applies to the node. After an indefinite path it applies to each match, giving an
//!   array of results, except when the path starts with a deep scan (`$..price.sum()`): then it
//!   applies once to all matches, and `length()` counts the children of every match (Jayway
//!   rewrites `$..x.fn()` to `$.fn($..x)`). Function arguments that are paths are read from the
//!   root document, for `@` and `$` alike.
//!
//! ## Normalised form
//!
//! [`Path::normalized`] prints Jayway's normalised form, as it appears in AWS error messages:
//! `$['a'][0]['b']`, `$..['a']`, `[*]`, `[1:3]`, `['a','b']`, `[0,1]`, a filter as `[?]` and a
//! call as `.length()` (or `.concat(...)` with arguments). The root is kept as written (`$`,
//! `$$`, `$name`). Unlike Jayway, `'` and `\` inside names are escaped so that the normalised form
//! of a reference path parses back to the same path.
//!
//! ## Writing
//!
//! [`Path::assign`] implements ResultPath: only reference paths rooted at `$` can be written; `$`
//! replaces the whole target; missing names create objects on the way; an index must exist in an
//! existing array; a node of the wrong type on the way is an error that names it. A failed
//! assign leaves the target untouched.
//!
//! ## Deliberate deviations from Jayway
//!
//! - Slices accept a step (`[start:end:step]`) and use Python's rules throughout (Jayway ignores a
//!   step and gives `[]` for `[1:-1]`).
//! - `$..[0].a` applies `[0]` then `.a`; Jayway applies `.a` to every element of every array.
//! - `max()` of only negative numbers is the largest of them (Jayway gives `4.9E-324`).
//! - Regular expressions use the `regex` crate: Java-only syntax (look-around, back-references,
//!   possessive quantifiers) is a syntax error at parse time, and `\w`, `\d`, `\b` are Unicode-aware
//!   as with Java's `U` flag. Flags `i`, `m`, `s`, `x` apply; `u`, `U`, `d` are accepted.
//! - Existence checks `[?(@.x)]` on an indefinite path are true when it can be evaluated at all.
//! - `!@.x == 1` negates the comparison (Jayway ignores the `!`).
//! - Names in dot notation may not contain whitespace, brackets or parentheses, nor start with a
//!   quote or `*`; Jayway accepts some of these and reads them in surprising ways. Quoted names in
//!   brackets may be empty (`['']`), since `""` is a valid JSON key.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt::Display;

use regex::{Regex, RegexBuilder};
use serde_json::{Map, Number, Value};
use thiserror::Error;

/// What a path reads from while a state runs.
#[derive(Debug, Clone, Copy)]
pub struct Env<'a> {
    /// The state's effective input, addressed by `$`.
    pub input: &'a Value,
    /// The context object, addressed by `$$`.
    pub context: &'a Value,
    /// The workflow variables visible to the state, addressed by `$name`.
    pub variables: &'a Map<String, Value>,
}

/// Where a path starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Root {
    /// `$`: the state input.
    Input,
    /// `$$`: the context object.
    Context,
    /// `$name`: a workflow variable.
    Variable(String),
}

/// A path that could not be parsed or applied.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PathError {
    /// The text is not a valid path.
    #[error("invalid JSONPath '{path}': {reason}")]
    Syntax {
        /// The path text.
        path: String,
        /// What is wrong with it, and at which character offset (counted from 0).
        reason: String,
    },
    /// A reference path was required but the path has wildcards, filters or other operators.
    #[error("'{path}' is not a reference path")]
    NotReference {
        /// The path text.
        path: String,
    },
    /// Writing through a reference path met a node of the wrong type, an index out of bounds, or
    /// a root that cannot be written.
    #[error("unable to apply '{path}': {reason}")]
    Assign {
        /// The path text.
        path: String,
        /// Why the write failed, naming the node (in normalised form) where it failed.
        reason: String,
    },
}

/// A parsed JSONPath.
///
/// Two paths are equal when they were written the same way.
#[derive(Debug, Clone)]
pub struct Path {
    text: String,
    root: Root,
    steps: Steps,
}

impl PartialEq for Path {
    fn eq(&self, other: &Path) -> bool {
        // Parsing is deterministic, so the text decides everything else.
        self.text == other.text
    }
}

impl Path {
    /// Parses a path such as `$.a.b[0]`, `$$.Execution.Id`, `$myVar.field` or
    /// `$.items[?(@.price > 8)].name`.
    pub fn parse(text: &str) -> Result<Path, PathError> {
        let mut parser = Parser::new(text);
        parser.skip_ws();
        let start = parser.pos;
        if !parser.eat('$') {
            return Err(parser.error(start, "a path must start with '$'"));
        }
        let root = if parser.eat('$') {
            Root::Context
        } else if let Some(name) = parser.variable_name() {
            Root::Variable(name)
        } else {
            Root::Input
        };
        let steps = parser.steps(false)?;
        parser.skip_ws();
        if let Some(c) = parser.peek() {
            return Err(parser.unexpected(c));
        }
        Ok(Path {
            text: text.to_string(),
            root,
            steps,
        })
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Where the path starts.
    pub fn root(&self) -> &Root {
        &self.root
    }

    /// Whether the path names at most one node, so that [`Path::select`] returns that node
    /// rather than an array of matches.
    ///
    /// A path is definite when it has no wildcard, deep scan, filter, slice or multi-index union;
    /// a trailing `['a','b']` (which builds one object) and a function call after a leading deep
    /// scan (`$..price.sum()`) are definite too, as in Jayway.
    pub fn is_definite(&self) -> bool {
        self.steps.is_definite()
    }

    /// Whether the path is `$` alone: the whole input, unchanged.
    pub fn is_whole_input(&self) -> bool {
        matches!(self.root, Root::Input)
            && self.steps.keys.is_empty()
            && self.steps.merge.is_none()
            && self.steps.rest.is_empty()
    }

    /// Whether the path is a Reference Path: names and single integer indexes only, no
    /// wildcards, filters, slices, unions, deep scans or functions.
    pub fn is_reference(&self) -> bool {
        self.steps.is_reference()
    }

    /// The path in Jayway's normalised bracket notation, as AWS prints it in error messages:
    /// `$.a[0].b` gives `$['a'][0]['b']`. The root stays as written (`$$['Execution']['Id']`,
    /// `$var['field']`); see the module documentation for the other segments.
    pub fn normalized(&self) -> String {
        let mut out = String::with_capacity(self.text.len() + 8);
        match &self.root {
            Root::Input => out.push('$'),
            Root::Context => out.push_str("$$"),
            Root::Variable(name) => {
                out.push('$');
                out.push_str(name);
            }
        }
        self.steps.write_normalized(&mut out);
        out
    }

    /// Reads the path. A definite path gives the one node it names, or `None` when nothing
    /// matches; an indefinite path gives an array of every match (possibly empty), or `None` when
    /// a step before its first indefinite segment fails. A missing variable gives `None`.
    pub fn select(&self, env: &Env) -> Option<Value> {
        let env = *env;
        let start = match &self.root {
            Root::Input => env.input,
            Root::Context => env.context,
            Root::Variable(name) => env.variables.get(name)?,
        };
        let cx = Ctx { env, doc: start };
        let Some(output) = self.steps.run(start, &cx) else {
            // Jayway gives nothing when a step before the first wildcard fails, but AWS answers an
            // indefinite path that matches nothing with an empty array either way.
            return (!self.is_definite()).then(|| Value::Array(Vec::new()));
        };
        Some(match output {
            Output::Node(node) => node.clone(),
            Output::Nodes(nodes) => Value::Array(nodes.into_iter().map(Cow::into_owned).collect()),
            Output::Value(value) => value,
        })
    }

    /// Writes `value` at this reference path inside `target` (ResultPath semantics).
    ///
    /// `$` replaces the whole target. Otherwise missing names create objects on the way, an index
    /// must exist in an existing array, and a node of the wrong type on the way is an error. Only
    /// paths rooted at `$` can be written. On error `target` is left as it was.
    pub fn assign(&self, target: &mut Value, value: Value) -> Result<(), PathError> {
        if !self.is_reference() {
            return Err(PathError::NotReference {
                path: self.text.clone(),
            });
        }
        match &self.root {
            Root::Input => {}
            Root::Context => return Err(self.assign_error("the context object ($$) is read-only")),
            Root::Variable(name) => {
                return Err(
                    self.assign_error(format!("variable ${name} cannot be written through a path"))
                );
            }
        }
        let keys = &self.steps.keys;
        self.check_assign(target)?;
        let mut node = target;
        for (depth, key) in keys.iter().enumerate() {
            let last = depth + 1 == keys.len();
            node = match key {
                Key::Name(name) => match node {
                    Value::Object(map) if last => {
                        map.insert(name.clone(), value);
                        return Ok(());
                    }
                    Value::Object(map) => map
                        .entry(name.clone())
                        .or_insert_with(|| Value::Object(Map::new())),
                    other => return Err(self.wrong_type(depth, other, key)),
                },
                Key::Index(index) => match node {
                    Value::Array(items) => {
                        let len = items.len();
                        match resolve(*index, len).and_then(|i| items.get_mut(i)) {
                            Some(slot) => slot,
                            None => return Err(self.out_of_bounds(depth, *index, len)),
                        }
                    }
                    other => return Err(self.wrong_type(depth, other, key)),
                },
            };
        }
        *node = value;
        Ok(())
    }

    /// Checks, without writing, that [`Path::assign`] will succeed on `target`.
    fn check_assign(&self, target: &Value) -> Result<(), PathError> {
        let mut node = Some(target);
        for (depth, key) in self.steps.keys.iter().enumerate() {
            node = match (key, node) {
                // Missing names are created as objects.
                (Key::Name(_), None) => None,
                (Key::Name(name), Some(Value::Object(map))) => map.get(name),
                (Key::Index(index), None) => {
                    return Err(self.assign_error(format!(
                        "{} does not exist, and index [{index}] needs an existing array",
                        self.prefix(depth)
                    )));
                }
                (Key::Index(index), Some(Value::Array(items))) => {
                    match resolve(*index, items.len()).and_then(|i| items.get(i)) {
                        Some(item) => Some(item),
                        None => return Err(self.out_of_bounds(depth, *index, items.len())),
                    }
                }
                (_, Some(other)) => return Err(self.wrong_type(depth, other, key)),
            };
        }
        Ok(())
    }

    /// The root and the first `depth` keys, normalised: where an assign failed.
    fn prefix(&self, depth: usize) -> String {
        let mut out = match &self.root {
            Root::Input => "$".to_string(),
            Root::Context => "$$".to_string(),
            Root::Variable(name) => format!("${name}"),
        };
        for key in self.steps.keys.iter().take(depth) {
            key.write_normalized(&mut out);
        }
        out
    }

    fn assign_error(&self, reason: impl Into<String>) -> PathError {
        PathError::Assign {
            path: self.text.clone(),
            reason: reason.into(),
        }
    }

    fn wrong_type(&self, depth: usize, found: &Value, key: &Key) -> PathError {
        let at = self.prefix(depth);
        let kind = kind(found);
        self.assign_error(match key {
            Key::Name(name) => {
                format!("{at} is {kind}, not an object, so field '{name}' cannot be set in it")
            }
            Key::Index(index) => {
                format!("{at} is {kind}, not an array, so index [{index}] cannot be set in it")
            }
        })
    }

    fn out_of_bounds(&self, depth: usize, index: i64, len: usize) -> PathError {
        self.assign_error(format!(
            "index [{index}] is out of bounds for {} (length {len})",
            self.prefix(depth)
        ))
    }
}

/// A name or single index in the leading, definite part of a path.
#[derive(Debug, Clone)]
enum Key {
    Name(String),
    Index(i64),
}

impl Key {
    fn write_normalized(&self, out: &mut String) {
        match self {
            Key::Name(name) => write_names(out, std::slice::from_ref(name)),
            Key::Index(index) => out.push_str(&format!("[{index}]")),
        }
    }
}

/// One step of a path.
#[derive(Debug, Clone)]
enum Segment {
    /// `.name`, `['name']`.
    Name(String),
    /// `[n]`, negative from the end.
    Index(i64),
    /// `['a','b']` followed by more segments: visits each key in turn.
    Names(Vec<String>),
    /// `['a','b']` at the end of a path: one object of the keys that exist.
    Merge(Vec<String>),
    /// `[0,2]`.
    Indexes(Vec<i64>),
    /// `[start:end:step]`.
    Slice(Slice),
    /// `.*`, `[*]`.
    Wildcard,
    /// `[?(...)]`.
    Filter(Box<Filter>),
    /// `..`: the following segment applies to the node and every descendant, pre-order. The
    /// parser always puts another segment after it.
    Scan,
}

impl Segment {
    fn into_key(self) -> Result<Key, Segment> {
        match self {
            Segment::Name(name) => Ok(Key::Name(name)),
            Segment::Index(index) => Ok(Key::Index(index)),
            other => Err(other),
        }
    }

    fn write_normalized(&self, out: &mut String) {
        match self {
            Segment::Name(name) => write_names(out, std::slice::from_ref(name)),
            Segment::Names(names) | Segment::Merge(names) => write_names(out, names),
            Segment::Index(index) => out.push_str(&format!("[{index}]")),
            Segment::Indexes(indexes) => {
                let list: Vec<String> = indexes.iter().map(i64::to_string).collect();
                out.push_str(&format!("[{}]", list.join(",")));
            }
            Segment::Slice(slice) => {
                let part = |bound: Option<i64>| bound.map(|b| b.to_string()).unwrap_or_default();
                out.push_str(&format!("[{}:{}", part(slice.start), part(slice.end)));
                if let Some(step) = slice.step {
                    out.push_str(&format!(":{step}"));
                }
                out.push(']');
            }
            Segment::Wildcard => out.push_str("[*]"),
            Segment::Filter(_) => out.push_str("[?]"),
            Segment::Scan => out.push_str(".."),
        }
    }
}

fn write_names(out: &mut String, names: &[String]) {
    out.push('[');
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('\'');
        for c in name.chars() {
            if matches!(c, '\'' | '\\') {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('\'');
    }
    out.push(']');
}

/// A slice `[start:end:step]` with Python's rules.
#[derive(Debug, Clone, Copy)]
struct Slice {
    start: Option<i64>,
    end: Option<i64>,
    step: Option<i64>,
}

impl Slice {
    /// The indexes this slice selects in an array of `len` elements, in order.
    fn indices(&self, len: usize) -> Vec<usize> {
        let len = i64::try_from(len).unwrap_or(i64::MAX);
        let step = self.step.unwrap_or(1);
        let absolute = |i: i64| if i < 0 { i.saturating_add(len) } else { i };
        let mut out = Vec::new();
        if step > 0 {
            let start = self.start.map_or(0, |s| absolute(s).clamp(0, len));
            let end = self.end.map_or(len, |e| absolute(e).clamp(0, len));
            let mut i = start;
            while i < end {
                out.extend(usize::try_from(i).ok());
                i = i.saturating_add(step);
            }
        } else {
            let start = self
                .start
                .map_or(len - 1, |s| absolute(s).clamp(-1, len - 1));
            let end = self.end.map_or(-1, |e| absolute(e).clamp(-1, len - 1));
            let mut i = start;
            while i > end {
                out.extend(usize::try_from(i).ok());
                i = i.saturating_add(step);
            }
        }
        out
    }
}

/// Resolves a possibly negative index against an array length.
fn resolve(index: i64, len: usize) -> Option<usize> {
    if index >= 0 {
        usize::try_from(index).ok().filter(|&i| i < len)
    } else {
        let back = usize::try_from(index.unsigned_abs()).ok()?;
        len.checked_sub(back)
    }
}

/// The parsed body of a path after its root.
#[derive(Debug, Clone, Default)]
struct Steps {
    /// Leading names and single indexes, walked by reference.
    keys: Vec<Key>,
    /// A trailing `['a','b']` right after the keys: builds one object.
    merge: Option<Vec<String>>,
    /// Everything from the first indefinite segment on.
    rest: Vec<Segment>,
    /// A function call that ends the path.
    call: Option<Call>,
}

impl Steps {
    fn build(segments: Vec<Segment>, call: Option<Call>) -> Steps {
        let mut keys = Vec::new();
        let mut rest = Vec::new();
        for segment in segments {
            if rest.is_empty() {
                match segment.into_key() {
                    Ok(key) => keys.push(key),
                    Err(segment) => rest.push(segment),
                }
            } else {
                rest.push(segment);
            }
        }
        if call.is_none()
            && let Some(last) = rest.last_mut()
            && let Segment::Names(names) = last
        {
            *last = Segment::Merge(std::mem::take(names));
        }
        let merge = match rest.as_mut_slice() {
            [Segment::Merge(names)] => {
                let names = std::mem::take(names);
                rest.clear();
                Some(names)
            }
            _ => None,
        };
        Steps {
            keys,
            merge,
            rest,
            call,
        }
    }

    fn is_definite(&self) -> bool {
        self.rest.is_empty() || (self.call.is_some() && self.scan_first())
    }

    fn is_reference(&self) -> bool {
        self.rest.is_empty() && self.merge.is_none() && self.call.is_none()
    }

    /// Whether the path starts with a deep scan (Jayway's `$..x.fn()` rewrite applies).
    fn scan_first(&self) -> bool {
        self.keys.is_empty() && matches!(self.rest.first(), Some(Segment::Scan))
    }

    fn write_normalized(&self, out: &mut String) {
        for key in &self.keys {
            key.write_normalized(out);
        }
        if let Some(names) = &self.merge {
            write_names(out, names);
        }
        for segment in &self.rest {
            segment.write_normalized(out);
        }
        if let Some(call) = &self.call {
            out.push('.');
            out.push_str(call.func.name());
            out.push_str(if call.args.is_empty() { "()" } else { "(...)" });
        }
    }

    /// Evaluates these steps from `start`. `None` means no result at all (Jayway's
    /// `PathNotFoundException`).
    fn run<'a>(&'a self, start: &'a Value, cx: &Ctx<'a>) -> Option<Output<'a>> {
        let mut node = start;
        for key in &self.keys {
            node = match key {
                Key::Name(name) => node.as_object()?.get(name)?,
                Key::Index(index) => {
                    let items = node.as_array()?;
                    match resolve(*index, items.len()).and_then(|i| items.get(i)) {
                        Some(item) => item,
                        // Jayway skips an index out of range instead of failing.
                        None => return self.nothing(),
                    }
                }
            };
        }
        if let Some(names) = &self.merge {
            return Some(Output::Value(merge(node.as_object()?, names)));
        }
        if self.rest.is_empty() {
            return match &self.call {
                None => Some(Output::Node(node)),
                Some(call) => call.apply(node, cx).map(Output::Value),
            };
        }
        let mut found = Vec::new();
        walk(&self.rest, node, cx, true, &mut found).ok()?;
        match &self.call {
            None => Some(Output::Nodes(found)),
            Some(call) if self.scan_first() => call.apply_to_matches(&found, cx).map(Output::Value),
            Some(call) => found
                .iter()
                .map(|node| call.apply(node, cx))
                .collect::<Option<Vec<_>>>()
                .map(|results| Output::Value(Value::Array(results))),
        }
    }

    /// The result when the definite prefix runs out of range: nothing for a definite path, no
    /// matches for an indefinite one.
    fn nothing<'a>(&self) -> Option<Output<'a>> {
        if self.is_definite() {
            None
        } else if self.call.is_some() {
            Some(Output::Value(Value::Array(Vec::new())))
        } else {
            Some(Output::Nodes(Vec::new()))
        }
    }
}

/// The object of those `names` that `map` has, in the order of `names`.
fn merge(map: &Map<String, Value>, names: &[String]) -> Value {
    let mut out = Map::new();
    for name in names {
        if let Some(value) = map.get(name) {
            out.insert(name.clone(), value.clone());
        }
    }
    Value::Object(out)
}

/// What the evaluation of a path's steps reads besides the node it starts from.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    env: Env<'a>,
    /// The document `$` refers to inside filters: where the outermost path started.
    doc: &'a Value,
}

/// The result of evaluating steps.
enum Output<'a> {
    /// A definite path's node.
    Node(&'a Value),
    /// An indefinite path's matches; merged objects are owned.
    Nodes(Vec<Cow<'a, Value>>),
    /// A computed value (function call, merged object).
    Value(Value),
}

impl<'a> Output<'a> {
    fn into_cow(self) -> Cow<'a, Value> {
        match self {
            Output::Node(node) => Cow::Borrowed(node),
            Output::Nodes(nodes) => Cow::Owned(Value::Array(
                nodes.into_iter().map(Cow::into_owned).collect(),
            )),
            Output::Value(value) => Cow::Owned(value),
        }
    }
}

/// The read fails as a whole: a step whose upstream is definite met the wrong type.
struct Miss;

/// Applies `rest` to `node`, pushing every match. `strict` is true for the first indefinite
/// segment, whose upstream is definite: there a type mismatch fails the whole read, as in Jayway.
fn walk<'a>(
    rest: &'a [Segment],
    node: &'a Value,
    cx: &Ctx<'a>,
    strict: bool,
    out: &mut Vec<Cow<'a, Value>>,
) -> Result<(), Miss> {
    let Some((segment, tail)) = rest.split_first() else {
        out.push(Cow::Borrowed(node));
        return Ok(());
    };
    let miss = if strict { Err(Miss) } else { Ok(()) };
    match segment {
        Segment::Name(name) => match node.as_object().and_then(|map| map.get(name)) {
            Some(child) => walk(tail, child, cx, false, out),
            None => miss,
        },
        Segment::Index(index) => match node {
            Value::Array(items) => match resolve(*index, items.len()).and_then(|i| items.get(i)) {
                Some(item) => walk(tail, item, cx, false, out),
                None => Ok(()),
            },
            _ => miss,
        },
        Segment::Names(names) => match node {
            Value::Object(map) => {
                for child in names.iter().filter_map(|name| map.get(name)) {
                    walk(tail, child, cx, false, out)?;
                }
                Ok(())
            }
            _ => miss,
        },
        Segment::Merge(names) => match node {
            Value::Object(map) => {
                out.push(Cow::Owned(merge(map, names)));
                Ok(())
            }
            _ => miss,
        },
        Segment::Indexes(indexes) => match node {
            Value::Array(items) => {
                for index in indexes {
                    if let Some(item) = resolve(*index, items.len()).and_then(|i| items.get(i)) {
                        walk(tail, item, cx, false, out)?;
                    }
                }
                Ok(())
            }
            _ => miss,
        },
        Segment::Slice(slice) => match node {
            Value::Array(items) => {
                for item in slice
                    .indices(items.len())
                    .into_iter()
                    .filter_map(|i| items.get(i))
                {
                    walk(tail, item, cx, false, out)?;
                }
                Ok(())
            }
            _ => miss,
        },
        Segment::Wildcard => {
            match node {
                Value::Object(map) => {
                    for child in map.values() {
                        walk(tail, child, cx, false, out)?;
                    }
                }
                Value::Array(items) => {
                    for item in items {
                        walk(tail, item, cx, false, out)?;
                    }
                }
                _ => {}
            }
            Ok(())
        }
        Segment::Filter(filter) => match node {
            Value::Object(_) => {
                if filter.test(node, cx) {
                    walk(tail, node, cx, false, out)?;
                }
                Ok(())
            }
            Value::Array(items) => {
                for item in items {
                    if filter.test(item, cx) {
                        walk(tail, item, cx, false, out)?;
                    }
                }
                Ok(())
            }
            _ => miss,
        },
        Segment::Scan => {
            descend(tail, node, cx, out);
            Ok(())
        }
    }
}

/// Applies `rest` (the segment after a `..`, then the others) to `node` and to each of its
/// descendants, pre-order. Like Jayway, only objects and arrays are visited.
fn descend<'a>(rest: &'a [Segment], node: &'a Value, cx: &Ctx<'a>, out: &mut Vec<Cow<'a, Value>>) {
    let Some((target, after)) = rest.split_first() else {
        return;
    };
    match (target, node) {
        (_, Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_)) => return,
        // Jayway tests filters against the scanned objects themselves.
        (Segment::Filter(filter), Value::Object(_)) => {
            if filter.test(node, cx) {
                // A non-strict walk never misses.
                let _ = walk(after, node, cx, false, out);
            }
        }
        (Segment::Filter(_), _) => {}
        // Jayway merges only the objects that have every key.
        (Segment::Merge(names), Value::Object(map)) => {
            if names.iter().all(|name| map.contains_key(name)) {
                out.push(Cow::Owned(merge(map, names)));
            }
        }
        _ => {
            // A non-strict walk never misses.
            let _ = walk(rest, node, cx, false, out);
        }
    }
    match node {
        Value::Object(map) => {
            for child in map.values() {
                descend(rest, child, cx, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                descend(rest, item, cx, out);
            }
        }
        _ => {}
    }
}

/// The article and name of a JSON type, for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

// ----------------------------------------------------------------------------------------------
// Functions

/// A function that can end a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Func {
    Length,
    Size,
    Min,
    Max,
    Avg,
    Sum,
    StdDev,
    Keys,
    First,
    Last,
    Concat,
    Append,
}

impl Func {
    const ALL: [Func; 12] = [
        Func::Length,
        Func::Size,
        Func::Min,
        Func::Max,
        Func::Avg,
        Func::Sum,
        Func::StdDev,
        Func::Keys,
        Func::First,
        Func::Last,
        Func::Concat,
        Func::Append,
    ];

    fn name(self) -> &'static str {
        match self {
            Func::Length => "length",
            Func::Size => "size",
            Func::Min => "min",
            Func::Max => "max",
            Func::Avg => "avg",
            Func::Sum => "sum",
            Func::StdDev => "stddev",
            Func::Keys => "keys",
            Func::First => "first",
            Func::Last => "last",
            Func::Concat => "concat",
            Func::Append => "append",
        }
    }

    fn takes_arguments(self) -> bool {
        matches!(
            self,
            Func::Min
                | Func::Max
                | Func::Avg
                | Func::Sum
                | Func::StdDev
                | Func::Concat
                | Func::Append
        )
    }
}

/// A function call with its arguments.
#[derive(Debug, Clone)]
struct Call {
    func: Func,
    args: Vec<Operand>,
}

impl Call {
    /// Applies the function to `model`; `None` when it fails (an aggregate of no numbers, an
    /// argument path with no result).
    fn apply<'a>(&'a self, model: &Value, cx: &Ctx<'a>) -> Option<Value> {
        let args = self
            .args
            .iter()
            .map(|arg| match arg.eval(cx.doc, cx) {
                Val::Json(value) => Some(value),
                Val::Undefined | Val::Pattern(_) => None,
            })
            .collect::<Option<Vec<_>>>()?;
        match self.func {
            Func::Length | Func::Size => Some(match model {
                Value::Array(items) => Value::from(items.len()),
                Value::Object(map) => Value::from(map.len()),
                _ => Value::Null,
            }),
            Func::Min | Func::Max | Func::Avg | Func::Sum | Func::StdDev => {
                let own = model.as_array().into_iter().flatten();
                let given = args.iter().flat_map(|arg| match arg.as_ref() {
                    Value::Array(items) => items.iter().collect::<Vec<_>>(),
                    other => vec![other],
                });
                aggregate(self.func, own.chain(given).filter_map(Value::as_f64))
            }
            Func::Keys => Some(match model {
                Value::Object(map) => {
                    Value::Array(map.keys().cloned().map(Value::String).collect())
                }
                _ => Value::Null,
            }),
            Func::First => Some(
                model
                    .as_array()
                    .and_then(|items| items.first())
                    .cloned()
                    .unwrap_or(Value::Null),
            ),
            Func::Last => Some(
                model
                    .as_array()
                    .and_then(|items| items.last())
                    .cloned()
                    .unwrap_or(Value::Null),
            ),
            Func::Concat => {
                let mut out = String::new();
                for item in model.as_array().into_iter().flatten() {
                    if let Value::String(s) = item {
                        out.push_str(s);
                    }
                }
                for arg in &args {
                    match arg.as_ref() {
                        Value::String(s) => out.push_str(s),
                        Value::Array(items) => {
                            for item in items {
                                match item {
                                    Value::String(s) => out.push_str(s),
                                    Value::Null => {}
                                    other => out.push_str(&other.to_string()),
                                }
                            }
                        }
                        _ => {}
                    }
                }
                Some(Value::String(out))
            }
            Func::Append => Some(match model {
                Value::Array(items) => {
                    let mut items = items.clone();
                    items.extend(args.into_iter().map(Cow::into_owned));
                    Value::Array(items)
                }
                other => other.clone(),
            }),
        }
    }

    /// Applies the function once to all matches of a path that starts with a deep scan.
    fn apply_to_matches<'a>(&'a self, found: &[Cow<'a, Value>], cx: &Ctx<'a>) -> Option<Value> {
        match self.func {
            // Jayway counts `$..x[*]`: the children of every match.
            Func::Length | Func::Size => Some(Value::from(
                found
                    .iter()
                    .map(|node| match node.as_ref() {
                        Value::Array(items) => items.len(),
                        Value::Object(map) => map.len(),
                        _ => 0,
                    })
                    .sum::<usize>(),
            )),
            _ => {
                let all = Value::Array(found.iter().map(|node| node.as_ref().clone()).collect());
                self.apply(&all, cx)
            }
        }
    }
}

/// Jayway's numeric aggregates; `None` for no numbers at all.
fn aggregate(func: Func, numbers: impl Iterator<Item = f64>) -> Option<Value> {
    let (mut count, mut sum, mut sum_sq) = (0.0_f64, 0.0_f64, 0.0_f64);
    let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
    for n in numbers {
        count += 1.0;
        sum += n;
        sum_sq += n * n;
        min = min.min(n);
        max = max.max(n);
    }
    if count == 0.0 {
        return None;
    }
    let result = match func {
        Func::Min => min,
        Func::Max => max,
        Func::Avg => sum / count,
        Func::Sum => sum,
        // Population standard deviation, computed as Jayway does.
        _ => (sum_sq / count - sum * sum / count / count).max(0.0).sqrt(),
    };
    Number::from_f64(result).map(Value::Number)
}

// ----------------------------------------------------------------------------------------------
// Filters

/// A filter `[?(...)]`.
#[derive(Debug, Clone)]
struct Filter {
    expr: Expr,
}

impl Filter {
    /// Whether `item` passes; an evaluation that Jayway would abort does not.
    fn test<'a>(&'a self, item: &'a Value, cx: &Ctx<'a>) -> bool {
        self.expr.eval(item, cx).unwrap_or(false)
    }
}

/// A filter expression.
#[derive(Debug, Clone)]
enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Not(Box<Expr>),
    /// `@.x` (or `!@.x` when negated) standing alone.
    Exists {
        path: Sub,
        negated: bool,
    },
    Compare {
        left: Operand,
        op: Op,
        right: Operand,
    },
}

/// Jayway threw while evaluating a filter: the element does not pass, whatever the operators
/// around the failure.
struct Abort;

impl Expr {
    fn eval<'a>(&'a self, item: &'a Value, cx: &Ctx<'a>) -> Result<bool, Abort> {
        match self {
            Expr::Or(items) => {
                for expr in items {
                    if expr.eval(item, cx)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Expr::And(items) => {
                for expr in items {
                    if !expr.eval(item, cx)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Expr::Not(expr) => Ok(!expr.eval(item, cx)?),
            Expr::Exists { path, negated } => Ok(path.eval(item, cx).is_some() != *negated),
            Expr::Compare { left, op, right } => {
                op.apply(&left.eval(item, cx), &right.eval(item, cx))
            }
        }
    }
}

/// A value in a filter or a function argument.
#[derive(Debug, Clone)]
enum Operand {
    Literal(Value),
    Pattern(Regex),
    Path(Box<Sub>),
}

impl Operand {
    fn eval<'a>(&'a self, item: &'a Value, cx: &Ctx<'a>) -> Val<'a> {
        match self {
            Operand::Literal(value) => Val::Json(Cow::Borrowed(value)),
            Operand::Pattern(regex) => Val::Pattern(regex),
            Operand::Path(sub) => match sub.eval(item, cx) {
                Some(output) => Val::Json(output.into_cow()),
                None => Val::Undefined,
            },
        }
    }
}

/// A path inside a filter or a function argument.
#[derive(Debug, Clone)]
struct Sub {
    start: Start,
    steps: Steps,
}

impl Sub {
    fn eval<'a>(&'a self, item: &'a Value, cx: &Ctx<'a>) -> Option<Output<'a>> {
        let start = match &self.start {
            Start::Current => item,
            Start::Document => cx.doc,
            Start::Context => cx.env.context,
            Start::Variable(name) => cx.env.variables.get(name)?,
        };
        self.steps.run(start, cx)
    }
}

/// Where a path inside a filter starts.
#[derive(Debug, Clone)]
enum Start {
    /// `@`: the element under test.
    Current,
    /// `$`: the document the outermost path reads.
    Document,
    /// `$$`: the context object.
    Context,
    /// `$name`: a workflow variable.
    Variable(String),
}

/// An evaluated operand.
enum Val<'a> {
    /// A path that matched nothing.
    Undefined,
    Json(Cow<'a, Value>),
    Pattern(&'a Regex),
}

/// A filter's relational operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    StrictEq,
    StrictNe,
    Lt,
    Le,
    Gt,
    Ge,
    Regex,
    In,
    Nin,
    SubsetOf,
    AnyOf,
    NoneOf,
    Size,
    Empty,
    Contains,
}

impl Op {
    fn from_text(text: &str) -> Option<Op> {
        Some(match text.to_ascii_lowercase().as_str() {
            "==" => Op::Eq,
            "!=" => Op::Ne,
            "===" => Op::StrictEq,
            "!==" => Op::StrictNe,
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            "=~" => Op::Regex,
            "in" => Op::In,
            "nin" => Op::Nin,
            "subsetof" => Op::SubsetOf,
            "anyof" => Op::AnyOf,
            "noneof" => Op::NoneOf,
            "size" => Op::Size,
            "empty" => Op::Empty,
            "contains" => Op::Contains,
            _ => return None,
        })
    }

    fn apply(self, left: &Val, right: &Val) -> Result<bool, Abort> {
        Ok(match self {
            Op::Eq => equals(left, right),
            Op::Ne => !equals(left, right),
            Op::StrictEq => same_type(left, right) && equals(left, right),
            Op::StrictNe => !(same_type(left, right) && equals(left, right)),
            Op::Lt => order(left, right) == Some(Ordering::Less),
            Op::Le => matches!(order(left, right), Some(Ordering::Less | Ordering::Equal)),
            Op::Gt => order(left, right) == Some(Ordering::Greater),
            Op::Ge => matches!(
                order(left, right),
                Some(Ordering::Greater | Ordering::Equal)
            ),
            Op::Regex => regex_matches(left, right),
            Op::In => contains(list(right)?, left),
            Op::Nin => !contains(list(right)?, left),
            Op::SubsetOf => {
                let Some(right) = list(right)? else {
                    return Ok(false);
                };
                let Some(left) = list(left)? else {
                    return Ok(false);
                };
                left.iter().all(|l| right.iter().any(|r| value_eq(l, r)))
            }
            Op::AnyOf | Op::NoneOf => {
                let Some(right) = list(right)? else {
                    return Ok(false);
                };
                let Some(left) = list(left)? else {
                    return Ok(false);
                };
                let any = left.iter().any(|l| right.iter().any(|r| value_eq(l, r)));
                if self == Op::AnyOf { any } else { !any }
            }
            Op::Size => {
                let Val::Json(expected) = right else {
                    return Ok(false);
                };
                let Value::Number(expected) = expected.as_ref() else {
                    return Ok(false);
                };
                // Java's intValue() truncates.
                let expected = expected
                    .as_i64()
                    .or_else(|| expected.as_f64().map(|f| f.trunc() as i64));
                let actual = match left {
                    Val::Json(value) => match value.as_ref() {
                        Value::String(s) => i64::try_from(s.encode_utf16().count()).ok(),
                        Value::Array(items) => i64::try_from(items.len()).ok(),
                        Value::Object(_) => Some(-1),
                        _ => return Ok(false),
                    },
                    _ => return Ok(false),
                };
                actual.is_some() && actual == expected
            }
            Op::Empty => {
                let is_empty = match left {
                    Val::Json(value) => match value.as_ref() {
                        Value::String(s) => s.is_empty(),
                        Value::Array(items) => items.is_empty(),
                        Value::Object(map) => map.is_empty(),
                        _ => return Ok(false),
                    },
                    _ => return Ok(false),
                };
                match right {
                    Val::Json(value) => match value.as_ref() {
                        Value::Bool(expected) => is_empty == *expected,
                        _ => return Err(Abort),
                    },
                    _ => return Err(Abort),
                }
            }
            Op::Contains => match left {
                Val::Json(value) => match (value.as_ref(), right) {
                    (Value::String(s), Val::Json(needle)) => match needle.as_ref() {
                        Value::String(needle) => s.contains(needle.as_str()),
                        _ => false,
                    },
                    (Value::Array(items), right) => items.iter().any(|item| loose_eq(right, item)),
                    _ => false,
                },
                _ => false,
            },
        })
    }
}

/// The elements of an operand that must be a list: `Some` for an array, `None` (the operator is
/// false) for an object, [`Abort`] for anything else, as Jayway does.
fn list<'v>(val: &'v Val) -> Result<Option<&'v [Value]>, Abort> {
    match val {
        Val::Json(value) => match value.as_ref() {
            Value::Array(items) => Ok(Some(items)),
            Value::Object(_) => Ok(None),
            _ => Err(Abort),
        },
        _ => Err(Abort),
    }
}

fn contains(list: Option<&[Value]>, needle: &Val) -> bool {
    list.is_some_and(|items| items.iter().any(|item| loose_eq(needle, item)))
}

/// Jayway's `left.equals(right)` for a relational `==`.
fn equals(left: &Val, right: &Val) -> bool {
    match right {
        Val::Json(right) => loose_eq(left, right),
        Val::Undefined | Val::Pattern(_) => false,
    }
}

fn loose_eq(left: &Val, right: &Value) -> bool {
    match left {
        Val::Json(left) => value_eq(left, right),
        Val::Undefined | Val::Pattern(_) => false,
    }
}

/// Jayway's value equality, with `left` as the receiver (it is not symmetric across numbers and
/// strings).
fn value_eq(left: &Value, right: &Value) -> bool {
    match (left, right) {
        (Value::Array(_) | Value::Object(_), Value::Array(_) | Value::Object(_)) => left == right,
        (Value::Null, Value::Null) => true,
        (Value::Bool(l), Value::Bool(r)) => l == r,
        (Value::String(l), Value::String(r)) => l == r,
        (Value::String(l), Value::Number(r)) => *l == r.to_string(),
        (Value::Number(l), Value::Number(r)) => compare_numbers(l, r) == Some(Ordering::Equal),
        (Value::Number(l), Value::String(r)) => {
            parse_decimal(r).is_some_and(|r| compare_numbers(l, &r) == Some(Ordering::Equal))
        }
        _ => false,
    }
}

/// The Jayway node class of an operand, for `===`.
fn same_type(left: &Val, right: &Val) -> bool {
    fn class(val: &Val) -> u8 {
        match val {
            Val::Undefined => 0,
            Val::Pattern(_) => 1,
            Val::Json(value) => match value.as_ref() {
                Value::Null => 2,
                Value::Bool(_) => 3,
                Value::Number(_) => 4,
                Value::String(_) => 5,
                Value::Array(_) | Value::Object(_) => 6,
            },
        }
    }
    class(left) == class(right)
}

/// Jayway's ordering for `<`, `<=`, `>`, `>=`; `None` when they are all false.
fn order(left: &Val, right: &Val) -> Option<Ordering> {
    let (Val::Json(left), Val::Json(right)) = (left, right) else {
        return None;
    };
    match (left.as_ref(), right.as_ref()) {
        (Value::Number(l), Value::Number(r)) => compare_numbers(l, r),
        (Value::String(l), Value::String(r)) => Some(java_cmp(l, r)),
        (Value::String(l), Value::Number(r)) => Some(java_cmp(l, &r.to_string())),
        (Value::Number(l), Value::String(r)) => Some(java_cmp(&l.to_string(), r)),
        _ => None,
    }
}

/// Java's `String.compareTo`: by UTF-16 code units.
fn java_cmp(left: &str, right: &str) -> Ordering {
    left.encode_utf16().cmp(right.encode_utf16())
}

fn compare_numbers(left: &Number, right: &Number) -> Option<Ordering> {
    if let (Some(l), Some(r)) = (left.as_i64(), right.as_i64()) {
        return Some(l.cmp(&r));
    }
    if let (Some(l), Some(r)) = (left.as_u64(), right.as_u64()) {
        return Some(l.cmp(&r));
    }
    left.as_f64()?.partial_cmp(&right.as_f64()?)
}

/// A string as Java's `new BigDecimal(s)` reads it, or `None`.
fn parse_decimal(text: &str) -> Option<Number> {
    let bytes = text.as_bytes();
    let mut i = usize::from(matches!(bytes.first(), Some(b'+' | b'-')));
    let mut digits = 0;
    while bytes.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
        digits += 1;
    }
    let mut integral = true;
    if bytes.get(i) == Some(&b'.') {
        integral = false;
        i += 1;
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
            digits += 1;
        }
    }
    if digits == 0 {
        return None;
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        integral = false;
        i += 1;
        i += usize::from(matches!(bytes.get(i), Some(b'+' | b'-')));
        let exp_start = i;
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == exp_start {
            return None;
        }
    }
    if i != bytes.len() {
        return None;
    }
    let unsigned = text.strip_prefix('+').unwrap_or(text);
    if integral {
        if let Ok(n) = unsigned.parse::<i64>() {
            return Some(Number::from(n));
        }
        if let Ok(n) = unsigned.parse::<u64>() {
            return Some(Number::from(n));
        }
    }
    unsigned.parse::<f64>().ok().and_then(Number::from_f64)
}

/// Java's `matcher(input).matches()`: the pattern on one side, the input on the other.
fn regex_matches(left: &Val, right: &Val) -> bool {
    let (pattern, other) = match (left, right) {
        (Val::Pattern(_), Val::Pattern(_)) => return false,
        (Val::Pattern(pattern), other) | (other, Val::Pattern(pattern)) => (*pattern, other),
        _ => return false,
    };
    match other {
        Val::Json(value) => match value.as_ref() {
            Value::Array(items) => items
                .iter()
                .any(|item| pattern.is_match(&regex_input(item))),
            value => pattern.is_match(&regex_input(value)),
        },
        _ => pattern.is_match(""),
    }
}

/// The text a regular expression sees: strings, numbers and booleans as written, else nothing.
fn regex_input(value: &Value) -> Cow<'_, str> {
    match value {
        Value::String(s) => Cow::Borrowed(s),
        Value::Number(n) => Cow::Owned(n.to_string()),
        Value::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
        _ => Cow::Borrowed(""),
    }
}

// ----------------------------------------------------------------------------------------------
// Parser

/// How deeply filters, parentheses, literals and calls may nest.
const MAX_DEPTH: usize = 32;

/// A recursive-descent parser over the whole path text; positions are byte offsets, errors report
/// character offsets.
struct Parser<'t> {
    text: &'t str,
    pos: usize,
    depth: usize,
}

impl<'t> Parser<'t> {
    fn new(text: &'t str) -> Parser<'t> {
        Parser {
            text,
            pos: 0,
            depth: 0,
        }
    }

    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn peek2(&self) -> Option<char> {
        self.text[self.pos..].chars().nth(1)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn eat_str(&mut self, s: &str) -> bool {
        if self.text[self.pos..].starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    fn error(&self, at: usize, what: impl Display) -> PathError {
        let offset = self.text[..at].chars().count();
        PathError::Syntax {
            path: self.text.to_string(),
            reason: format!("{what} at offset {offset}"),
        }
    }

    fn unexpected(&self, c: char) -> PathError {
        match c {
            ']' => self.error(self.pos, "unbalanced brackets: ']' was never opened"),
            ')' => self.error(self.pos, "unbalanced parentheses: ')' was never opened"),
            c => self.error(
                self.pos,
                format!("unexpected character '{c}' (expected '.', '[' or the end)"),
            ),
        }
    }

    fn unclosed(&self, open: usize) -> PathError {
        self.error(open, "unbalanced brackets: '[' is never closed")
    }

    fn enter(&mut self) -> Result<(), PathError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(self.pos, "expression nested too deeply"));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// A variable name right after `$`: letters, digits and `_`.
    fn variable_name(&mut self) -> Option<String> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
            self.bump();
        }
        (self.pos > start).then(|| self.text[start..self.pos].to_string())
    }

    /// The segments after a root, and a final function call. `embedded` paths (in filters and
    /// arguments) stop at the first character that cannot continue them; top-level paths leave
    /// that character to the caller, which rejects it.
    fn steps(&mut self, embedded: bool) -> Result<Steps, PathError> {
        let mut segments = Vec::new();
        let mut call = None;
        loop {
            match self.peek() {
                Some('.') => {
                    let dot = self.pos;
                    self.bump();
                    if self.eat('.') {
                        let target = self.scan_target(dot, embedded)?;
                        segments.push(Segment::Scan);
                        segments.push(target);
                        continue;
                    }
                    match self.peek() {
                        None => return Err(self.error(dot, "a path must not end with '.'")),
                        Some('[') => segments.push(self.bracket()?),
                        Some('*') => {
                            self.bump();
                            segments.push(Segment::Wildcard);
                        }
                        Some(c) if is_name_start(c, embedded) => {
                            let name_at = self.pos;
                            let name = self.dot_name(embedded)?;
                            if self.peek() == Some('(') {
                                call = Some(self.call(name_at, &name)?);
                                break;
                            }
                            segments.push(Segment::Name(name));
                        }
                        Some(c) if c.is_whitespace() => {
                            return Err(
                                self.error(self.pos, "expected a name after '.', found whitespace")
                            );
                        }
                        Some(c) => {
                            return Err(self.error(
                                self.pos,
                                format!("expected a name, '*' or '[' after '.', found '{c}'"),
                            ));
                        }
                    }
                }
                Some('[') => segments.push(self.bracket()?),
                _ => break,
            }
        }
        if call.is_some() && matches!(self.peek(), Some('.' | '[')) {
            return Err(self.error(self.pos, "a function call must end the path"));
        }
        Ok(Steps::build(segments, call))
    }

    /// The segment after `..`.
    fn scan_target(&mut self, dot: usize, embedded: bool) -> Result<Segment, PathError> {
        match self.peek() {
            None => Err(self.error(dot, "a path must not end with '..'")),
            Some('.') => Err(self.error(self.pos, "'.' is not valid after '..'")),
            Some('[') => self.bracket(),
            Some('*') => {
                self.bump();
                Ok(Segment::Wildcard)
            }
            Some(c) if is_name_start(c, embedded) => {
                let name = self.dot_name(embedded)?;
                if self.peek() == Some('(') {
                    return Err(self.error(
                        self.pos,
                        "a function call needs a single '.' before its name",
                    ));
                }
                Ok(Segment::Name(name))
            }
            Some(c) => Err(self.error(
                self.pos,
                format!("expected a name, '*' or '[' after '..', found '{c}'"),
            )),
        }
    }

    /// A name in dot notation.
    fn dot_name(&mut self, embedded: bool) -> Result<String, PathError> {
        let start = self.pos;
        while self.peek().is_some_and(|c| is_name_char(c, embedded)) {
            self.bump();
        }
        let name = self.text[start..self.pos].to_string();
        if !embedded
            && self.peek().is_some_and(char::is_whitespace)
            && !self.text[self.pos..].trim().is_empty()
        {
            return Err(self.error(
                self.pos,
                "whitespace in a name (write names with blanks as ['my name'])",
            ));
        }
        Ok(name)
    }

    /// A bracket segment, from `[` through `]`.
    fn bracket(&mut self) -> Result<Segment, PathError> {
        let open = self.pos;
        self.bump();
        self.skip_ws();
        match self.peek() {
            None => Err(self.unclosed(open)),
            Some('\'' | '"') => self.names(open),
            Some('*') => {
                self.bump();
                self.close(open)?;
                Ok(Segment::Wildcard)
            }
            Some('?') => {
                self.bump();
                let filter = self.filter()?;
                self.close(open)?;
                Ok(Segment::Filter(Box::new(filter)))
            }
            Some(c) if c == '-' || c == ':' || c.is_ascii_digit() => self.indexes(open),
            Some(']') => Err(self.error(self.pos, "empty brackets")),
            Some(c) => Err(self.error(
                self.pos,
                format!(
                    "expected a quoted name, an index, a slice, '*' or '?(' after '[', found '{c}'"
                ),
            )),
        }
    }

    /// The `]` that closes the bracket opened at `open`.
    fn close(&mut self, open: usize) -> Result<(), PathError> {
        self.skip_ws();
        match self.peek() {
            Some(']') => {
                self.bump();
                Ok(())
            }
            None => Err(self.unclosed(open)),
            Some(c) => Err(self.error(self.pos, format!("expected ']', found '{c}'"))),
        }
    }

    /// `'a'` or `'a', "b", ...` then `]`.
    fn names(&mut self, open: usize) -> Result<Segment, PathError> {
        let mut names = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                Some('\'' | '"') => names.push(self.string()?),
                None => return Err(self.unclosed(open)),
                Some(c) => {
                    return Err(
                        self.error(self.pos, format!("expected a quoted name, found '{c}'"))
                    );
                }
            }
            self.skip_ws();
            let at = self.pos;
            match self.bump() {
                Some(',') => {}
                Some(']') => break,
                None => return Err(self.unclosed(open)),
                Some(c) => {
                    return Err(self.error(
                        at,
                        format!("expected ',' or ']' after a quoted name, found '{c}'"),
                    ));
                }
            }
        }
        Ok(one_or(names, Segment::Name, Segment::Names))
    }

    /// A quoted string with JSON-style escapes; either quote may delimit it.
    fn string(&mut self) -> Result<String, PathError> {
        let start = self.pos;
        let quote = self.bump();
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return Err(self.error(start, "unterminated string")),
                Some(c) if Some(c) == quote => return Ok(out),
                Some('\\') => {
                    let escape = self.pos - 1;
                    match self.bump() {
                        None => return Err(self.error(start, "unterminated string")),
                        Some('n') => out.push('\n'),
                        Some('t') => out.push('\t'),
                        Some('r') => out.push('\r'),
                        Some('b') => out.push('\u{8}'),
                        Some('f') => out.push('\u{c}'),
                        Some('u') => out.push(self.unicode_escape(escape)?),
                        // \' \" \\ \/ and any other character stand for themselves.
                        Some(c) => out.push(c),
                    }
                }
                Some(c) => out.push(c),
            }
        }
    }

    /// The code point of `\uXXXX` (or a surrogate pair of them); `u` is consumed.
    fn unicode_escape(&mut self, escape: usize) -> Result<char, PathError> {
        let high = self.hex4(escape)?;
        let code = if (0xD800..0xDC00).contains(&high) && self.eat_str("\\u") {
            let low = self.hex4(escape)?;
            if !(0xDC00..0xE000).contains(&low) {
                return Err(self.error(escape, "invalid \\u escape (unpaired surrogate)"));
            }
            0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
        } else {
            high
        };
        char::from_u32(code).ok_or_else(|| self.error(escape, "invalid \\u escape"))
    }

    fn hex4(&mut self, escape: usize) -> Result<u32, PathError> {
        let digits = self.text.get(self.pos..self.pos + 4).unwrap_or("");
        if digits.len() != 4 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(self.error(escape, "invalid \\u escape (expected 4 hex digits)"));
        }
        self.pos += 4;
        u32::from_str_radix(digits, 16).map_err(|_| self.error(escape, "invalid \\u escape"))
    }

    /// `[n]`, `[n,m,...]` or `[start:end:step]`, from after `[` through `]`.
    fn indexes(&mut self, open: usize) -> Result<Segment, PathError> {
        let first = self.integer()?;
        self.skip_ws();
        if self.eat(':') {
            let end = self.integer()?;
            self.skip_ws();
            let step_at = self.pos;
            let step = if self.eat(':') { self.integer()? } else { None };
            if step == Some(0) {
                return Err(self.error(step_at, "a slice step must not be zero"));
            }
            self.close(open)?;
            return Ok(Segment::Slice(Slice {
                start: first,
                end,
                step,
            }));
        }
        let Some(first) = first else {
            return Err(self.error(self.pos, "expected an index"));
        };
        let mut list = vec![first];
        loop {
            self.skip_ws();
            let at = self.pos;
            match self.bump() {
                Some(',') => match self.integer()? {
                    Some(index) => list.push(index),
                    None => return Err(self.error(self.pos, "expected an index after ','")),
                },
                Some(']') => break,
                None => return Err(self.unclosed(open)),
                Some(c) => {
                    return Err(self.error(
                        at,
                        format!("expected ',' or ']' in an index list, found '{c}'"),
                    ));
                }
            }
        }
        Ok(one_or(list, Segment::Index, Segment::Indexes))
    }

    /// An optional integer, after optional whitespace.
    fn integer(&mut self) -> Result<Option<i64>, PathError> {
        self.skip_ws();
        let start = self.pos;
        self.eat('-');
        let digits = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
        }
        if self.pos == digits {
            return if self.pos == start {
                Ok(None)
            } else {
                Err(self.error(start, "expected digits after '-'"))
            };
        }
        self.text[start..self.pos]
            .parse()
            .map(Some)
            .map_err(|_| self.error(start, "index out of range"))
    }

    /// A filter body after `[?`: a parenthesised expression.
    fn filter(&mut self) -> Result<Filter, PathError> {
        self.skip_ws();
        if self.peek() != Some('(') {
            return Err(self.error(self.pos, "expected '(' after '[?'"));
        }
        self.enter()?;
        let expr = self.or()?;
        self.leave();
        Ok(Filter { expr })
    }

    fn or(&mut self) -> Result<Expr, PathError> {
        let mut items = vec![self.and()?];
        loop {
            self.skip_ws();
            if !self.eat_str("||") {
                break;
            }
            items.push(self.and()?);
        }
        Ok(one_or(items, |e| e, Expr::Or))
    }

    fn and(&mut self) -> Result<Expr, PathError> {
        let mut items = vec![self.unary()?];
        loop {
            self.skip_ws();
            if !self.eat_str("&&") {
                break;
            }
            items.push(self.unary()?);
        }
        Ok(one_or(items, |e| e, Expr::And))
    }

    fn unary(&mut self) -> Result<Expr, PathError> {
        self.skip_ws();
        match self.peek() {
            Some('!') if self.peek2() != Some('=') => {
                self.bump();
                self.skip_ws();
                if matches!(self.peek(), Some('@' | '$')) {
                    return Ok(match self.relation()? {
                        Expr::Exists { path, negated } => Expr::Exists {
                            path,
                            negated: !negated,
                        },
                        other => Expr::Not(Box::new(other)),
                    });
                }
                self.enter()?;
                let expr = self.unary()?;
                self.leave();
                Ok(Expr::Not(Box::new(expr)))
            }
            Some('(') => {
                let open = self.pos;
                self.bump();
                self.enter()?;
                let expr = self.or()?;
                self.leave();
                self.skip_ws();
                match self.peek() {
                    Some(')') => {
                        self.bump();
                        Ok(expr)
                    }
                    None => Err(self.error(open, "unbalanced parentheses: '(' is never closed")),
                    Some(c) => Err(self.error(self.pos, format!("expected ')', found '{c}'"))),
                }
            }
            _ => self.relation(),
        }
    }

    /// `value op value`, or a path alone (an existence check).
    fn relation(&mut self) -> Result<Expr, PathError> {
        self.skip_ws();
        let at = self.pos;
        let left = self.operand()?;
        self.skip_ws();
        match self.peek() {
            None | Some(')' | '&' | '|' | ']') => match left {
                Operand::Path(path) => Ok(Expr::Exists {
                    path: *path,
                    negated: false,
                }),
                _ => Err(self.error(at, "a literal needs a comparison operator after it")),
            },
            _ => {
                let op = self.operator()?;
                let right = self.operand()?;
                Ok(Expr::Compare { left, op, right })
            }
        }
    }

    fn operator(&mut self) -> Result<Op, PathError> {
        let at = self.pos;
        let symbolic = |c: char| matches!(c, '<' | '>' | '=' | '~' | '!');
        if self.peek().is_some_and(symbolic) {
            while self.peek().is_some_and(symbolic) {
                self.bump();
            }
        } else {
            while self.peek().is_some_and(char::is_alphabetic) {
                self.bump();
            }
        }
        let text = &self.text[at..self.pos];
        if text.is_empty() {
            let found = self
                .peek()
                .map(|c| format!(", found '{c}'"))
                .unwrap_or_default();
            return Err(self.error(at, format!("expected a comparison operator{found}")));
        }
        Op::from_text(text).ok_or_else(|| self.error(at, format!("unknown operator '{text}'")))
    }

    /// A path, a literal or a `/regex/`.
    fn operand(&mut self) -> Result<Operand, PathError> {
        self.skip_ws();
        match self.peek() {
            Some('@') => {
                self.bump();
                let steps = self.steps(true)?;
                Ok(Operand::Path(Box::new(Sub {
                    start: Start::Current,
                    steps,
                })))
            }
            Some('$') => {
                self.bump();
                let start = if self.eat('$') {
                    Start::Context
                } else if let Some(name) = self.variable_name() {
                    Start::Variable(name)
                } else {
                    Start::Document
                };
                let steps = self.steps(true)?;
                Ok(Operand::Path(Box::new(Sub { start, steps })))
            }
            Some('/') => self.pattern(),
            _ => Ok(Operand::Literal(self.literal()?)),
        }
    }

    /// A JSON literal, leniently: strings in either quote, bare object keys.
    fn literal(&mut self) -> Result<Value, PathError> {
        self.skip_ws();
        let at = self.pos;
        match self.peek() {
            Some('\'' | '"') => Ok(Value::String(self.string()?)),
            Some('[') => {
                self.bump();
                self.enter()?;
                let mut items = Vec::new();
                self.skip_ws();
                if !self.eat(']') {
                    loop {
                        items.push(self.literal()?);
                        self.skip_ws();
                        let sep = self.pos;
                        match self.bump() {
                            Some(',') => {}
                            Some(']') => break,
                            None => return Err(self.unclosed(at)),
                            Some(c) => {
                                return Err(self.error(
                                    sep,
                                    format!("expected ',' or ']' in an array, found '{c}'"),
                                ));
                            }
                        }
                    }
                }
                self.leave();
                Ok(Value::Array(items))
            }
            Some('{') => {
                self.bump();
                self.enter()?;
                let mut map = Map::new();
                self.skip_ws();
                if !self.eat('}') {
                    loop {
                        self.skip_ws();
                        let key_at = self.pos;
                        let key = match self.peek() {
                            Some('\'' | '"') => self.string()?,
                            _ => {
                                while self
                                    .peek()
                                    .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$')
                                {
                                    self.bump();
                                }
                                if self.pos == key_at {
                                    return Err(self.error(key_at, "expected an object key"));
                                }
                                self.text[key_at..self.pos].to_string()
                            }
                        };
                        self.skip_ws();
                        if !self.eat(':') {
                            return Err(self.error(self.pos, "expected ':' after an object key"));
                        }
                        let value = self.literal()?;
                        map.insert(key, value);
                        self.skip_ws();
                        let sep = self.pos;
                        match self.bump() {
                            Some(',') => {}
                            Some('}') => break,
                            None => {
                                return Err(
                                    self.error(at, "unbalanced braces: '{' is never closed")
                                );
                            }
                            Some(c) => {
                                return Err(self.error(
                                    sep,
                                    format!("expected ',' or '}}' in an object, found '{c}'"),
                                ));
                            }
                        }
                    }
                }
                self.leave();
                Ok(Value::Object(map))
            }
            Some(c) if c == '-' || c.is_ascii_digit() => self.number(),
            Some(c) if c.is_alphabetic() => {
                while self.peek().is_some_and(char::is_alphanumeric) {
                    self.bump();
                }
                match &self.text[at..self.pos] {
                    "true" => Ok(Value::Bool(true)),
                    "false" => Ok(Value::Bool(false)),
                    "null" => Ok(Value::Null),
                    word => Err(self.error(at, format!("unknown literal '{word}'"))),
                }
            }
            Some(c) => Err(self.error(at, format!("expected a value, found '{c}'"))),
            None => Err(self.error(at, "expected a value")),
        }
    }

    fn number(&mut self) -> Result<Value, PathError> {
        let start = self.pos;
        self.eat('-');
        let digits = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
        }
        if self.pos == digits {
            return Err(self.error(start, "expected a number"));
        }
        if self.peek() == Some('.') && self.peek2().is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.bump();
            }
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            self.bump();
            if !self.eat('-') {
                self.eat('+');
            }
            let exp = self.pos;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.bump();
            }
            if self.pos == exp {
                return Err(self.error(start, "malformed number"));
            }
        }
        parse_decimal(&self.text[start..self.pos])
            .map(Value::Number)
            .ok_or_else(|| self.error(start, "number out of range"))
    }

    /// `/pattern/flags`.
    fn pattern(&mut self) -> Result<Operand, PathError> {
        let start = self.pos;
        self.bump();
        let body_start = self.pos;
        loop {
            match self.bump() {
                None => return Err(self.error(start, "unterminated regular expression")),
                Some('\\') => {
                    self.bump();
                }
                Some('/') => break,
                Some(_) => {}
            }
        }
        let body = &self.text[body_start..self.pos - 1];
        let (mut case, mut multi, mut dot, mut verbose) = (false, false, false, false);
        while let Some(flag) = self.peek().filter(char::is_ascii_alphabetic) {
            match flag {
                'i' => case = true,
                'm' => multi = true,
                's' => dot = true,
                'x' => verbose = true,
                'u' | 'U' | 'd' => {}
                other => {
                    return Err(self.error(
                        self.pos,
                        format!("unknown regular expression flag '{other}'"),
                    ));
                }
            }
            self.bump();
        }
        // Java's matches() needs the whole input; in verbose mode a comment must not swallow the
        // closing anchor.
        let anchored = if verbose {
            format!("\\A(?:{body}\n)\\z")
        } else {
            format!("\\A(?:{body})\\z")
        };
        RegexBuilder::new(&anchored)
            .case_insensitive(case)
            .multi_line(multi)
            .dot_matches_new_line(dot)
            .ignore_whitespace(verbose)
            .build()
            .map(Operand::Pattern)
            .map_err(|error| {
                let detail = error.to_string();
                let detail = detail
                    .lines()
                    .rev()
                    .map(str::trim)
                    .find(|line| !line.is_empty())
                    .unwrap_or("")
                    .trim_start_matches("error: ")
                    .to_string();
                self.error(
                    start,
                    format!("invalid or unsupported regular expression /{body}/ ({detail})"),
                )
            })
    }

    /// `(args)` after a function name.
    fn call(&mut self, name_at: usize, name: &str) -> Result<Call, PathError> {
        let func = Func::ALL
            .into_iter()
            .find(|f| f.name() == name)
            .ok_or_else(|| self.error(name_at, format!("unknown function '{name}()'")))?;
        let open = self.pos;
        self.bump();
        self.enter()?;
        let mut args = Vec::new();
        self.skip_ws();
        if !self.eat(')') {
            loop {
                self.skip_ws();
                let at = self.pos;
                let arg = self.operand()?;
                if matches!(arg, Operand::Pattern(_)) {
                    return Err(
                        self.error(at, "a regular expression cannot be a function argument")
                    );
                }
                args.push(arg);
                self.skip_ws();
                let sep = self.pos;
                match self.bump() {
                    Some(',') => {}
                    Some(')') => break,
                    None => {
                        return Err(self.error(open, "unbalanced parentheses: '(' is never closed"));
                    }
                    Some(c) => {
                        return Err(self.error(
                            sep,
                            format!(
                                "expected ',' or ')' in the arguments of {name}(), found '{c}'"
                            ),
                        ));
                    }
                }
            }
        }
        self.leave();
        if !args.is_empty() && !func.takes_arguments() {
            return Err(self.error(open, format!("{name}() takes no arguments")));
        }
        Ok(Call { func, args })
    }
}

/// Whether `c` may appear in a name in dot notation. Embedded paths also stop at the operators
/// and separators of filters and argument lists.
fn is_name_char(c: char, embedded: bool) -> bool {
    !(c.is_whitespace()
        || matches!(c, '.' | '[' | ']' | '(' | ')')
        || (embedded && matches!(c, '<' | '>' | '=' | '~' | '!' | '&' | '|' | ',')))
}

fn is_name_start(c: char, embedded: bool) -> bool {
    is_name_char(c, embedded) && !matches!(c, '*' | '\'' | '"')
}

/// `one(item)` for a single item, else `many(items)`.
fn one_or<T, U>(mut items: Vec<T>, one: impl FnOnce(T) -> U, many: impl FnOnce(Vec<T>) -> U) -> U {
    if items.len() == 1
        && let Some(item) = items.pop()
    {
        return one(item);
    }
    many(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn store() -> Value {
        json!({
            "store": {
                "book": [
                    {"category": "reference", "author": "Nigel Rees",
                     "title": "Sayings of the Century", "price": 8.95},
                    {"category": "fiction", "author": "Evelyn Waugh",
                     "title": "Sword of Honour", "price": 12.99},
                    {"category": "fiction", "author": "Herman Melville", "title": "Moby Dick",
                     "isbn": "0-553-21311-3", "price": 8.99},
                    {"category": "fiction", "author": "J. R. R. Tolkien",
                     "title": "The Lord of the Rings", "isbn": "0-395-19395-8", "price": 22.99}
                ],
                "bicycle": {"color": "red", "price": 19.95}
            },
            "expensive": 10
        })
    }

    fn path(text: &str) -> Path {
        Path::parse(text).expect("test path parses")
    }

    fn select_in(text: &str, input: &Value, context: &Value, variables: &Value) -> Option<Value> {
        let variables = variables.as_object().cloned().unwrap_or_default();
        path(text).select(&Env {
            input,
            context,
            variables: &variables,
        })
    }

    fn sel(text: &str, input: &Value) -> Option<Value> {
        select_in(text, input, &json!({}), &json!({}))
    }

    fn syntax(text: &str) -> String {
        match Path::parse(text) {
            Err(PathError::Syntax { path, reason }) => {
                assert_eq!(path, text);
                reason
            }
            other => panic!("expected a syntax error for {text:?}, got {other:?}"),
        }
    }

    fn assign(text: &str, target: &Value, value: Value) -> Result<Value, PathError> {
        let mut target = target.clone();
        path(text).assign(&mut target, value).map(|()| target)
    }

    // ------------------------------------------------------------------------------------------
    // Roots

    #[test]
    fn roots() {
        let input = json!({"a": 1});
        let context = json!({"Execution": {"Id": "arn:x", "Input": {"k": [1, 2]}}});
        let variables = json!({"myVar": {"field": ["v0", "v1"]}, "n_2": 7});
        assert_eq!(
            select_in("$", &input, &context, &variables),
            Some(input.clone())
        );
        assert_eq!(
            select_in("$$", &input, &context, &variables),
            Some(context.clone())
        );
        assert_eq!(
            select_in("$$.Execution.Id", &input, &context, &variables),
            Some(json!("arn:x"))
        );
        assert_eq!(
            select_in("$$['Execution'].Input.k[1]", &input, &context, &variables),
            Some(json!(2))
        );
        assert_eq!(
            select_in("$myVar.field[0]", &input, &context, &variables),
            Some(json!("v0"))
        );
        assert_eq!(
            select_in("$myVar['field'][-1]", &input, &context, &variables),
            Some(json!("v1"))
        );
        assert_eq!(
            select_in("$n_2", &input, &context, &variables),
            Some(json!(7))
        );
        assert_eq!(select_in("$missing", &input, &context, &variables), None);
        assert_eq!(select_in("$missing[*]", &input, &context, &variables), None);

        assert_eq!(path("$.a").root(), &Root::Input);
        assert_eq!(path("$$.a").root(), &Root::Context);
        assert_eq!(path("$x.a").root(), &Root::Variable("x".into()));
        assert_eq!(path("$x").root(), &Root::Variable("x".into()));
        assert_eq!(path("$.a").as_str(), "$.a");
    }

    #[test]
    fn filters_see_the_root_document_context_and_variables() {
        let input = json!({"limit": 2, "items": [{"n": 1}, {"n": 2}, {"n": 3}]});
        let context = json!({"Max": 1});
        let variables = json!({"threshold": 3, "doc": {"min": 2, "xs": [1, 2, 3]}});
        let run = |text: &str| select_in(text, &input, &context, &variables);
        assert_eq!(run("$.items[?(@.n >= $.limit)].n"), Some(json!([2, 3])));
        assert_eq!(run("$.items[?(@.n <= $$.Max)].n"), Some(json!([1])));
        assert_eq!(run("$.items[?(@.n == $threshold)].n"), Some(json!([3])));
        // Inside a path rooted at a variable, `$` is that variable's value.
        assert_eq!(run("$doc.xs[?(@ >= $.min)]"), Some(json!([2, 3])));
        // A missing variable inside a filter is undefined.
        assert_eq!(run("$.items[?(@.n == $nope)].n"), Some(json!([])));
    }

    // ------------------------------------------------------------------------------------------
    // Names and indexes

    #[test]
    fn names_in_every_notation() {
        let input = json!({
            "a": {"b": 1}, "a-b": 2, "naïve": 3, "with space": 4, "it's": 5, "q\"q": 6,
            "": 7, "x:y": 8, "$x": 9, "a,b": 10, "back\\slash": 11, "tab\t": 12
        });
        assert_eq!(sel("$.a.b", &input), Some(json!(1)));
        assert_eq!(sel("$['a']['b']", &input), Some(json!(1)));
        assert_eq!(sel("$[\"a\"][\"b\"]", &input), Some(json!(1)));
        assert_eq!(sel("$.['a'].['b']", &input), Some(json!(1)));
        assert_eq!(sel("$.a['b']", &input), Some(json!(1)));
        assert_eq!(sel("$[ 'a' ][ 'b' ]", &input), Some(json!(1)));
        assert_eq!(sel("$.a-b", &input), Some(json!(2)));
        assert_eq!(sel("$.naïve", &input), Some(json!(3)));
        assert_eq!(sel("$['with space']", &input), Some(json!(4)));
        assert_eq!(sel("$.it's", &input), Some(json!(5)));
        assert_eq!(sel("$['it\\'s']", &input), Some(json!(5)));
        assert_eq!(sel("$[\"it's\"]", &input), Some(json!(5)));
        assert_eq!(sel("$['q\"q']", &input), Some(json!(6)));
        assert_eq!(sel("$[\"q\\\"q\"]", &input), Some(json!(6)));
        assert_eq!(sel("$['']", &input), Some(json!(7)));
        assert_eq!(sel("$.x:y", &input), Some(json!(8)));
        assert_eq!(sel("$.$x", &input), Some(json!(9)));
        assert_eq!(sel("$.a,b", &input), Some(json!(10)));
        assert_eq!(sel("$['back\\\\slash']", &input), Some(json!(11)));
        assert_eq!(sel("$['tab\\t']", &input), Some(json!(12)));
        assert_eq!(sel("$['na\\u00efve']", &input), Some(json!(3)));
        assert_eq!(sel("  $.a.b  ", &input), Some(json!(1)));
    }

    #[test]
    fn unicode_escapes_with_surrogate_pairs() {
        let input = json!({"😀": 1});
        assert_eq!(sel("$['\\ud83d\\ude00']", &input), Some(json!(1)));
        assert_eq!(syntax("$['\\ud83d']"), "invalid \\u escape at offset 3");
        assert_eq!(
            syntax("$['\\ud83d\\u0041']"),
            "invalid \\u escape (unpaired surrogate) at offset 3"
        );
        assert!(syntax("$['\\u12']").contains("4 hex digits"));
    }

    #[test]
    fn definite_paths_give_the_node_or_none() {
        let input = json!({"a": {"b": [10, 20, 30]}, "s": "text", "n": null});
        assert_eq!(sel("$.a.b[0]", &input), Some(json!(10)));
        assert_eq!(sel("$.a.b[2]", &input), Some(json!(30)));
        assert_eq!(sel("$.a.b[-1]", &input), Some(json!(30)));
        assert_eq!(sel("$.a.b[-3]", &input), Some(json!(10)));
        assert_eq!(sel("$.n", &input), Some(Value::Null));
        // Missing steps.
        assert_eq!(sel("$.a.b[3]", &input), None);
        assert_eq!(sel("$.a.b[-4]", &input), None);
        assert_eq!(sel("$.a.c", &input), None);
        assert_eq!(sel("$.a.c.d", &input), None);
        assert_eq!(sel("$.s.x", &input), None);
        assert_eq!(sel("$.s[0]", &input), None);
        assert_eq!(sel("$.a[0]", &input), None);
        assert_eq!(sel("$.a.b.x", &input), None);
        assert_eq!(sel("$.n.x", &input), None);
        assert!(path("$.a.b[0]").is_definite());
    }

    // ------------------------------------------------------------------------------------------
    // Indefinite segments

    #[test]
    fn wildcards() {
        let doc = store();
        assert_eq!(
            sel("$.store.book[*].author", &doc),
            Some(json!([
                "Nigel Rees",
                "Evelyn Waugh",
                "Herman Melville",
                "J. R. R. Tolkien"
            ]))
        );
        assert_eq!(
            sel("$.store.book.*.price", &doc),
            sel("$.store.book[*].price", &doc)
        );
        assert_eq!(
            sel("$.store.*", &doc),
            Some(json!([doc["store"]["book"], doc["store"]["bicycle"]]))
        );
        assert_eq!(
            sel("$.store.bicycle[ * ]", &doc),
            Some(json!(["red", 19.95]))
        );
        // A wildcard on a scalar matches nothing; it is not a failure.
        assert_eq!(sel("$.expensive[*]", &doc), Some(json!([])));
        assert_eq!(
            sel("$.store.book[*].isbn", &doc),
            Some(json!(["0-553-21311-3", "0-395-19395-8"]))
        );
        assert!(!path("$.a[*]").is_definite());
        assert!(!path("$.a.*").is_definite());
    }

    #[test]
    fn deep_scans_follow_jayway_order() {
        let doc = store();
        assert_eq!(
            sel("$..author", &doc),
            Some(json!([
                "Nigel Rees",
                "Evelyn Waugh",
                "Herman Melville",
                "J. R. R. Tolkien"
            ]))
        );
        assert_eq!(
            sel("$.store..price", &doc),
            Some(json!([8.95, 12.99, 8.99, 22.99, 19.95]))
        );
        assert_eq!(sel("$..book[2].title", &doc), Some(json!(["Moby Dick"])));
        assert_eq!(sel("$..book[-2].title", &doc), Some(json!(["Moby Dick"])));
        assert_eq!(
            sel("$..book[0,1].title", &doc),
            Some(json!(["Sayings of the Century", "Sword of Honour"]))
        );
        assert_eq!(sel("$..book.[2].title", &doc), Some(json!(["Moby Dick"])));
        let nested = json!({"a": {"a": 1, "b": [{"a": 2}, 3]}, "c": [[4, 5], [6]]});
        assert_eq!(
            sel("$..a", &nested),
            Some(json!([{"a": 1, "b": [{"a": 2}, 3]}, 1, 2]))
        );
        assert_eq!(
            sel("$..*", &nested),
            Some(json!([
                {"a": 1, "b": [{"a": 2}, 3]}, [[4, 5], [6]],
                1, [{"a": 2}, 3],
                {"a": 2}, 3,
                2,
                [4, 5], [6],
                4, 5,
                6
            ]))
        );
        assert_eq!(
            sel("$..[0]", &nested),
            Some(json!([{"a": 2}, [4, 5], 4, 6]))
        );
        assert_eq!(
            sel("$..['a','b']", &nested),
            Some(json!([{"a": 1, "b": [{"a": 2}, 3]}]))
        );
        assert_eq!(sel("$..missing", &nested), Some(json!([])));
        assert_eq!(sel("$..x", &json!(5)), Some(json!([])));
        assert_eq!(sel("$..*", &json!("s")), Some(json!([])));
        assert!(!path("$..a").is_definite());
    }

    #[test]
    fn unions() {
        let input = json!({"a": 1, "b": 2, "c": 3, "l": [10, 20, 30],
                           "o": {"x": {"v": 1}, "y": {"v": 2}}});
        assert_eq!(sel("$.l[0,2]", &input), Some(json!([10, 30])));
        assert_eq!(sel("$.l[2, 0, -1]", &input), Some(json!([30, 10, 30])));
        // Indexes out of range are skipped.
        assert_eq!(sel("$.l[1,7]", &input), Some(json!([20])));
        // A trailing union of names builds one object (Jayway's merge), and is definite.
        assert_eq!(sel("$['a','c']", &input), Some(json!({"a": 1, "c": 3})));
        assert_eq!(
            sel("$['c', \"a\", 'zz']", &input),
            Some(json!({"c": 3, "a": 1}))
        );
        assert_eq!(sel("$['zz','yy']", &input), Some(json!({})));
        assert!(path("$['a','c']").is_definite());
        assert!(!path("$['a','c']").is_reference());
        assert_eq!(sel("$.l['a','b']", &input), None);
        // Followed by more segments, it visits each name.
        assert_eq!(sel("$.o['x','y'].v", &input), Some(json!([1, 2])));
        assert_eq!(sel("$.o['x','zz'].v", &input), Some(json!([1])));
        assert!(!path("$.o['x','y'].v").is_definite());
        // After an indefinite segment, the merge applies to each match.
        assert_eq!(
            sel("$.o.*['v','w']", &input),
            Some(json!([{"v": 1}, {"v": 2}]))
        );
        assert!(!path("$.l[0,1]").is_definite());
    }

    #[test]
    fn slices() {
        let input = json!({"l": [0, 1, 2, 3, 4, 5]});
        let cases = [
            ("$.l[1:3]", json!([1, 2])),
            ("$.l[:2]", json!([0, 1])),
            ("$.l[4:]", json!([4, 5])),
            ("$.l[-2:]", json!([4, 5])),
            ("$.l[:-4]", json!([0, 1])),
            ("$.l[1:-1]", json!([1, 2, 3, 4])),
            ("$.l[-3:-1]", json!([3, 4])),
            ("$.l[:]", json!([0, 1, 2, 3, 4, 5])),
            ("$.l[::2]", json!([0, 2, 4])),
            ("$.l[1::2]", json!([1, 3, 5])),
            ("$.l[::-1]", json!([5, 4, 3, 2, 1, 0])),
            ("$.l[4:1:-2]", json!([4, 2])),
            ("$.l[-1:-3:-1]", json!([5, 4])),
            ("$.l[3:1]", json!([])),
            ("$.l[10:20]", json!([])),
            ("$.l[-20:2]", json!([0, 1])),
            ("$.l[ 1 : 3 ]", json!([1, 2])),
            ("$.l[0:6:100]", json!([0])),
        ];
        for (text, expected) in cases {
            assert_eq!(sel(text, &input), Some(expected), "{text}");
            assert!(!path(text).is_definite(), "{text}");
        }
        assert_eq!(sel("$[1:3]", &json!([])), Some(json!([])));
        // A slice of a non-array matches nothing: AWS answers an empty array.
        assert_eq!(sel("$[1:3]", &json!({"a": 1})), Some(json!([])));
    }

    #[test]
    fn indefinite_paths_that_match_nothing_give_an_empty_array() {
        // Jayway fails these reads; AWS answers `[]` (corpus: test_json_path_array_wildcard_or_
        // slice_with_no_input, where `$.item.items[*]` on `{}` gives `[]`).
        let input = json!({"list": [{"a": 1}, {"b": 2}], "s": "text", "arr": [1, 2]});
        assert_eq!(sel("$.missing[*]", &input), Some(json!([])));
        assert_eq!(sel("$.missing..a", &input), Some(json!([])));
        assert_eq!(sel("$.s[0,1]", &input), Some(json!([])));
        assert_eq!(sel("$.s[?(@.a)]", &input), Some(json!([])));
        assert_eq!(sel("$.s['a','b'].c", &input), Some(json!([])));
        assert_eq!(sel("$.list[*].missing", &input), Some(json!([])));
        assert_eq!(sel("$.list[*].a", &input), Some(json!([1])));
        assert_eq!(sel("$.list[*][0,1]", &input), Some(json!([])));
        assert_eq!(sel("$.list[*][?(@.x)]", &input), Some(json!([])));
        // Jayway skips an index out of range instead of failing.
        assert_eq!(sel("$.arr[9][*]", &input), Some(json!([])));
        assert_eq!(sel("$.arr[9].length()", &input), None);
    }

    // ------------------------------------------------------------------------------------------
    // Filters

    #[test]
    fn filters_on_the_store() {
        let doc = store();
        let titles = |text: &str| sel(text, &doc);
        assert_eq!(
            titles("$.store.book[?(@.price < 10)].title"),
            Some(json!(["Sayings of the Century", "Moby Dick"]))
        );
        assert_eq!(
            titles("$..book[?(@.price <= $['expensive'])].title"),
            Some(json!(["Sayings of the Century", "Moby Dick"]))
        );
        assert_eq!(
            titles("$..book[?(@.isbn)].title"),
            Some(json!(["Moby Dick", "The Lord of the Rings"]))
        );
        assert_eq!(
            titles("$..book[?(!@.isbn)].title"),
            Some(json!(["Sayings of the Century", "Sword of Honour"]))
        );
        assert_eq!(
            titles("$..book[?(@.author =~ /.*REES/i)].title"),
            Some(json!(["Sayings of the Century"]))
        );
        assert_eq!(
            titles("$.store.book[?(@.price > 8 && @.category == 'fiction')].price"),
            Some(json!([12.99, 8.99, 22.99]))
        );
        assert_eq!(
            titles("$.store.book[?(@.category == \"reference\" || @.price > 20)].price"),
            Some(json!([8.95, 22.99]))
        );
        // A filter on an object tests the object itself.
        assert_eq!(
            titles("$.store.bicycle[?(@.color == 'red')].price"),
            Some(json!([19.95]))
        );
        assert_eq!(
            titles("$.store.bicycle[?(@.color == 'blue')]"),
            Some(json!([]))
        );
        // Under a deep scan, every object at any depth is tested.
        assert_eq!(
            titles("$..[?(@.price > 19)].price"),
            Some(json!([22.99, 19.95]))
        );
        assert!(!path("$.a[?(@.b)]").is_definite());
    }

    #[test]
    fn logical_operators_and_precedence() {
        let input = json!([
            {"a": "x", "b": 1},
            {"a": "x", "b": 2},
            {"a": "y", "b": 2, "c": true},
            {"a": "y", "b": 3}
        ]);
        let bs = |text: &str| sel(&format!("$[?({text})].b"), &input);
        assert_eq!(
            bs("@.a == 'x' && @.b != 2 || !(@.c)"),
            Some(json!([1, 2, 3]))
        );
        assert_eq!(bs("@.a == 'x' && @.b != 2 || @.c"), Some(json!([1, 2])));
        // && binds tighter than ||.
        assert_eq!(
            bs("@.b == 3 || @.a == 'x' && @.b == 2"),
            Some(json!([2, 3]))
        );
        assert_eq!(bs("(@.b == 3 || @.a == 'x') && @.b == 2"), Some(json!([2])));
        assert_eq!(bs("!(@.a == 'x')"), Some(json!([2, 3])));
        assert_eq!(bs("!!(@.a == 'x')"), Some(json!([1, 2])));
        assert_eq!(bs("! @.c"), Some(json!([1, 2, 3])));
        assert_eq!(bs("@.a=='y'&&@.b>2"), Some(json!([3])));
        assert_eq!(bs("(@.a == 'y') && (@.b == 3)"), Some(json!([3])));
        assert_eq!(
            sel("$[?(@.a == 'y') && (@.b == 3)].b", &input),
            Some(json!([3]))
        );
        // `!path op value` negates the comparison.
        assert_eq!(bs("!@.b == 2"), Some(json!([1, 3])));
    }

    #[test]
    fn comparisons() {
        let input = json!([
            {"v": 1}, {"v": 1.0}, {"v": 2.5}, {"v": "1"}, {"v": "b"}, {"v": "a"},
            {"v": true}, {"v": null}, {"v": [1, 2]}, {"v": {"k": 1}}, {}
        ]);
        let idx = |cond: &str| -> Vec<usize> {
            let text = format!("$[?({cond})]");
            let Some(Value::Array(found)) = sel(&text, &input) else {
                panic!("{text} gave no array");
            };
            let items = input.as_array().expect("array");
            found
                .iter()
                .map(|f| {
                    items
                        .iter()
                        .position(|i| i == f)
                        .expect("match is an element")
                })
                .collect()
        };
        assert_eq!(idx("@.v == 1"), vec![0, 1, 3]);
        // A string on the left equals a number written the same way: "1" is not "1.0".
        assert_eq!(idx("@.v == 1.0"), vec![0, 1]);
        assert_eq!(idx("@.v === 1"), vec![0, 1]);
        assert_eq!(idx("@.v !== 1"), vec![2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert_eq!(idx("@.v == '1'"), vec![0, 1, 3]);
        assert_eq!(idx("@.v != 1"), vec![2, 4, 5, 6, 7, 8, 9, 10]);
        // Jayway orders a string against a number by the number's text.
        assert_eq!(idx("@.v > 1"), vec![2, 4, 5]);
        assert_eq!(idx("@.v >= 1"), vec![0, 1, 2, 3, 4, 5]);
        assert_eq!(idx("@.v < 2.5"), vec![0, 1, 3]);
        assert_eq!(idx("@.v <= -1"), Vec::<usize>::new());
        assert_eq!(idx("@.v > 'a'"), vec![4]);
        assert_eq!(idx("@.v >= 'a'"), vec![4, 5]);
        assert_eq!(idx("@.v == true"), vec![6]);
        assert_eq!(idx("@.v == false"), Vec::<usize>::new());
        assert_eq!(idx("@.v == null"), vec![7]);
        assert_eq!(idx("@.v == [1, 2]"), vec![8]);
        assert_eq!(idx("@.v == {'k': 1}"), vec![9]);
        assert_eq!(idx("@.v == {k: 1}"), vec![9]);
        assert_eq!(idx("@.v"), vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert_eq!(idx("!@.v"), vec![10]);
        assert_eq!(idx("@ == {}"), vec![10]);
        assert_eq!(idx("@.v == @.v"), vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert_eq!(idx("1 == @.v"), vec![0, 1, 3]);
        assert_eq!(idx("1e0 == @.v"), vec![0, 1, 3]);
    }

    #[test]
    fn string_order_is_by_utf16_code_units() {
        // U+FF5E sorts after U+1F600 in UTF-16 (0xFF5E > 0xD83D) but before it in UTF-8.
        let input = json!([{"v": "\u{1F600}"}, {"v": "\u{FF5E}"}]);
        assert_eq!(
            sel("$[?(@.v > '\u{1F600}')].v", &input),
            Some(json!(["\u{FF5E}"]))
        );
    }

    #[test]
    fn regular_expressions() {
        let input = json!([
            {"v": "abc"}, {"v": "ABC"}, {"v": "xabcx"}, {"v": 123}, {"v": true},
            {"v": ["zz", "abc"]}, {"v": "a\nb"}, {}
        ]);
        let idx = |cond: &str| -> Vec<usize> {
            let text = format!("$[?({cond})]");
            let Some(Value::Array(found)) = sel(&text, &input) else {
                panic!("{text} gave no array");
            };
            let items = input.as_array().expect("array");
            found
                .iter()
                .map(|f| {
                    items
                        .iter()
                        .position(|i| i == f)
                        .expect("match is an element")
                })
                .collect()
        };
        // The whole string must match.
        assert_eq!(idx("@.v =~ /abc/"), vec![0, 5]);
        assert_eq!(idx("@.v =~ /ABC/i"), vec![0, 1, 5]);
        assert_eq!(idx("@.v =~ /.*abc.*/"), vec![0, 2, 5]);
        assert_eq!(idx("@.v =~ /\\d+/"), vec![3]);
        assert_eq!(idx("@.v =~ /tru./"), vec![4]);
        assert_eq!(idx("@.v =~ /a.b/"), Vec::<usize>::new());
        assert_eq!(idx("@.v =~ /a.b/s"), vec![6]);
        assert_eq!(idx("@.v =~ /^b$/m"), Vec::<usize>::new());
        assert_eq!(idx("@.v =~ /a$\\n^b/m"), vec![6]);
        assert_eq!(idx("@.v =~ / a b c # comment/x"), vec![0, 5]);
        assert_eq!(idx("@.v =~ /a\\/c/"), Vec::<usize>::new());
        // A missing value matches as the empty string.
        assert_eq!(idx("@.v =~ /.*/"), vec![0, 1, 2, 3, 4, 5, 7]);
        assert_eq!(idx("/abc/ =~ @.v"), vec![0, 5]);
        assert_eq!(idx("@.v =~ 'abc'"), Vec::<usize>::new());
        assert_eq!(idx("@.v=~/ABC/iu"), vec![0, 1, 5]);
    }

    #[test]
    fn list_operators() {
        let input = json!([
            {"id": 0, "v": "a", "tags": ["x", "y"]},
            {"id": 1, "v": "b", "tags": ["y"]},
            {"id": 2, "v": 3, "tags": []},
            {"id": 3, "tags": {"x": 1}},
            {"id": 4, "v": "c"}
        ]);
        let ids = |cond: &str| sel(&format!("$[?({cond})].id"), &input);
        assert_eq!(ids("@.v in ['a', 3]"), Some(json!([0, 2])));
        // A number on the left equals a string holding the same number.
        assert_eq!(ids("@.v IN ['a', '3']"), Some(json!([0, 2])));
        assert_eq!(ids("@.v nin ['a', 3]"), Some(json!([1, 3, 4])));
        assert_eq!(ids("@.v in $[0].tags"), Some(json!([])));
        assert_eq!(ids("'y' in @.tags"), Some(json!([0, 1])));
        assert_eq!(
            ids("@.tags subsetof ['x', 'y', 'z']"),
            Some(json!([0, 1, 2]))
        );
        assert_eq!(ids("@.tags anyof ['x', 'q']"), Some(json!([0])));
        assert_eq!(ids("@.tags noneof ['x', 'q']"), Some(json!([1, 2])));
        // Jayway aborts the filter for an element whose operand is not a list, even under `!`.
        // An object is not a list: the operator is false there, without aborting.
        assert_eq!(ids("!(@.tags anyof ['x'])"), Some(json!([1, 2, 3])));
        assert_eq!(ids("@.tags anyof 'x'"), Some(json!([])));
        assert_eq!(ids("@.v in 'abc'"), Some(json!([])));
        assert_eq!(ids("@.v nin 'abc'"), Some(json!([])));
        assert_eq!(ids("@.tags size 2"), Some(json!([0])));
        assert_eq!(ids("@.tags size 0"), Some(json!([2])));
        assert_eq!(ids("@.v size 1"), Some(json!([0, 1, 4])));
        assert_eq!(ids("@.tags empty true"), Some(json!([2])));
        assert_eq!(ids("@.tags empty false"), Some(json!([0, 1, 3])));
        assert_eq!(ids("@.v empty false"), Some(json!([0, 1, 4])));
        assert_eq!(ids("@.tags contains 'x'"), Some(json!([0])));
        assert_eq!(ids("@.v contains 'b'"), Some(json!([1])));
    }

    #[test]
    fn filter_edge_cases() {
        let input = json!({"o": {"x": 1}, "n": null, "l": [1, 2, 3], "e": []});
        assert_eq!(sel("$.o[ ?( @.x ) ]", &input), Some(json!([{"x": 1}])));
        assert_eq!(sel("$.o[?(@.y)]", &input), Some(json!([])));
        assert_eq!(sel("$.e[?(@.y)]", &input), Some(json!([])));
        // A filter on a scalar matches nothing.
        assert_eq!(sel("$.n[?(@.y)]", &input), Some(json!([])));
        assert_eq!(sel("$.l[?(@ > 1)]", &input), Some(json!([2, 3])));
        // Under a deep scan only objects are tested, as in Jayway.
        assert_eq!(sel("$..[?(@ > 1)]", &input), Some(json!([])));
        assert_eq!(sel("$..[?(@.x)]", &input), Some(json!([{"x": 1}])));
        assert_eq!(sel("$[?(@.o.x == 1)].l[0]", &input), Some(json!([1])));
    }

    #[test]
    fn nested_filters_and_functions_in_filters() {
        let input = json!({"groups": [
            {"name": "g1", "members": [{"age": 10}, {"age": 40}]},
            {"name": "g2", "members": [{"age": 20}]},
            {"name": "g3", "members": []}
        ]});
        assert_eq!(
            sel("$.groups[?(@.members[?(@.age > 30)])].name", &input),
            Some(json!(["g1", "g2", "g3"]))
        );
        assert_eq!(
            sel("$.groups[?(@.members.length() > 1)].name", &input),
            Some(json!(["g1"]))
        );
        assert_eq!(
            sel("$.groups[?(@.members.length() == 0)].name", &input),
            Some(json!(["g3"]))
        );
        assert_eq!(
            sel("$.groups[?(@.members[*].age.max() > 30)].name", &input),
            Some(json!([]))
        );
        assert_eq!(
            sel("$.groups[?(@.name in ['g2','g3'])].members[*].age", &input),
            Some(json!([20]))
        );
        assert_eq!(
            sel("$.groups[?(@.members[0].age >= 20)].name", &input),
            Some(json!(["g2"]))
        );
    }

    // ------------------------------------------------------------------------------------------
    // Functions

    #[test]
    fn functions() {
        let input = json!({
            "nums": [3, 1, 2, "x", null],
            "neg": [-3, -1],
            "obj": {"b": 1, "a": 2},
            "strs": ["a", "b", 1],
            "empty": [],
            "s": "abc",
            "groups": [[1, 2], [3], {"k": 1}]
        });
        let f = |text: &str| sel(text, &input);
        assert_eq!(f("$.nums.length()"), Some(json!(5)));
        assert_eq!(f("$.nums.size()"), Some(json!(5)));
        assert_eq!(f("$.obj.length()"), Some(json!(2)));
        assert_eq!(f("$.s.length()"), Some(Value::Null));
        assert_eq!(f("$.length()"), Some(json!(7)));
        assert_eq!(f("$.nums.min()"), Some(json!(1.0)));
        assert_eq!(f("$.nums.max()"), Some(json!(3.0)));
        assert_eq!(f("$.neg.max()"), Some(json!(-1.0)));
        assert_eq!(f("$.nums.sum()"), Some(json!(6.0)));
        assert_eq!(f("$.nums.avg()"), Some(json!(2.0)));
        let stddev = f("$.nums.stddev()")
            .and_then(|v| v.as_f64())
            .expect("a number");
        assert!((stddev - (2.0_f64 / 3.0).sqrt()).abs() < 1e-12, "{stddev}");
        assert_eq!(f("$.nums.sum(4, $.neg)"), Some(json!(6.0)));
        assert_eq!(f("$.empty.sum(10)"), Some(json!(10.0)));
        assert_eq!(f("$.empty.sum()"), None);
        assert_eq!(f("$.s.avg()"), None);
        assert_eq!(f("$.nums.sum($.missing)"), None);
        assert_eq!(f("$.obj.keys()"), Some(json!(["b", "a"])));
        assert_eq!(f("$.nums.keys()"), Some(Value::Null));
        assert_eq!(f("$.nums.first()"), Some(json!(3)));
        assert_eq!(f("$.nums.last()"), Some(Value::Null));
        assert_eq!(f("$.neg.last()"), Some(json!(-1)));
        assert_eq!(f("$.empty.first()"), Some(Value::Null));
        assert_eq!(f("$.strs.concat()"), Some(json!("ab")));
        assert_eq!(f("$.strs.concat('-', \"z\", $.s)"), Some(json!("ab-zabc")));
        assert_eq!(f("$.s.concat('!')"), Some(json!("!")));
        assert_eq!(f("$.empty.append(1, 'x', [2])"), Some(json!([1, "x", [2]])));
        assert_eq!(f("$.s.append(1)"), Some(json!("abc")));
        assert_eq!(f("$.missing.length()"), None);
        // After an indefinite path, the function applies to each match.
        assert_eq!(f("$.groups[*].length()"), Some(json!([2, 1, 1])));
        assert_eq!(f("$.groups[0:2].sum()"), Some(json!([3.0, 3.0])));
        assert_eq!(f("$.groups[*].sum()"), Some(json!([])));
        assert!(!path("$.groups[*].length()").is_definite());
        assert!(path("$.nums.length()").is_definite());
        assert!(!path("$.nums.length()").is_reference());

        // A path that starts with a deep scan applies the function once to all matches.
        let doc = store();
        assert_eq!(
            sel("$..price.sum()", &doc),
            Some(json!(8.95 + 12.99 + 8.99 + 22.99 + 19.95))
        );
        assert_eq!(sel("$..price.max()", &doc), Some(json!(22.99)));
        assert_eq!(sel("$..book.length()", &doc), Some(json!(4)));
        assert_eq!(sel("$..author.first()", &doc), Some(json!("Nigel Rees")));
        assert!(path("$..price.sum()").is_definite());
        assert!(!path("$.store..price.sum()").is_definite());
    }

    // ------------------------------------------------------------------------------------------
    // Classification and normalised form

    #[test]
    fn reference_paths() {
        for text in [
            "$",
            "$.a",
            "$['a'].b[0]",
            "$.a[-1]",
            "$$.Execution.Id",
            "$v.a",
            "$.a.['b']",
        ] {
            assert!(path(text).is_reference(), "{text}");
            assert!(path(text).is_definite(), "{text}");
        }
        for text in [
            "$.a[*]",
            "$.*",
            "$..a",
            "$.a[0,1]",
            "$['a','b']",
            "$.a[1:2]",
            "$.a[?(@.b)]",
            "$.a.length()",
        ] {
            assert!(!path(text).is_reference(), "{text}");
        }
    }

    #[test]
    fn normalized_forms() {
        let cases = [
            ("$", "$"),
            ("$.NoSuchInputPath", "$['NoSuchInputPath']"),
            ("$.a[0].b", "$['a'][0]['b']"),
            ("$[\"a\"].['b'][-1]", "$['a']['b'][-1]"),
            ("$$.Execution.Id", "$$['Execution']['Id']"),
            ("$$", "$$"),
            ("$var.field[0]", "$var['field'][0]"),
            ("$.it's", "$['it\\'s']"),
            ("$['a\\\\b']", "$['a\\\\b']"),
            ("$..author", "$..['author']"),
            ("$..*", "$..[*]"),
            ("$..[0]", "$..[0]"),
            ("$.a.*", "$['a'][*]"),
            ("$.a[ 0 , 2 ]", "$['a'][0,2]"),
            ("$['a', \"b\"]", "$['a','b']"),
            ("$.o['x','y'].v", "$['o']['x','y']['v']"),
            ("$.a[1:3]", "$['a'][1:3]"),
            ("$.a[:3]", "$['a'][:3]"),
            ("$.a[::-1]", "$['a'][::-1]"),
            ("$.a[?(@.b > 1)].c", "$['a'][?]['c']"),
            ("$.a.length()", "$['a'].length()"),
            ("$.a.sum(1, 2)", "$['a'].sum(...)"),
        ];
        for (text, expected) in cases {
            assert_eq!(path(text).normalized(), expected, "{text}");
        }
    }

    #[test]
    fn paths_compare_by_text() {
        assert_eq!(path("$.a"), path("$.a"));
        assert_ne!(path("$.a"), path("$['a']"));
        assert_eq!(path("$[?(@ =~ /a/)]"), path("$[?(@ =~ /a/)]"));
    }

    // ------------------------------------------------------------------------------------------
    // Syntax errors

    #[test]
    fn syntax_errors_say_what_and_where() {
        let cases = [
            ("", "a path must start with '$' at offset 0"),
            ("a.b", "a path must start with '$' at offset 0"),
            ("@.a", "a path must start with '$' at offset 0"),
            ("$.", "a path must not end with '.' at offset 1"),
            ("$.a.", "a path must not end with '.' at offset 3"),
            ("$..", "a path must not end with '..' at offset 1"),
            ("$.a..", "a path must not end with '..' at offset 3"),
            ("$...a", "'.' is not valid after '..' at offset 3"),
            (
                "$.a[",
                "unbalanced brackets: '[' is never closed at offset 3",
            ),
            (
                "$.a[0",
                "unbalanced brackets: '[' is never closed at offset 3",
            ),
            (
                "$.a['b'",
                "unbalanced brackets: '[' is never closed at offset 3",
            ),
            (
                "$.a[0,1",
                "unbalanced brackets: '[' is never closed at offset 3",
            ),
            (
                "$.a[*",
                "unbalanced brackets: '[' is never closed at offset 3",
            ),
            (
                "$.a]",
                "unbalanced brackets: ']' was never opened at offset 3",
            ),
            (
                "$.a)",
                "unbalanced parentheses: ')' was never opened at offset 3",
            ),
            ("$['a", "unterminated string at offset 2"),
            ("$[\"a']", "unterminated string at offset 2"),
            ("$['a\\", "unterminated string at offset 2"),
            (
                "$.a b",
                "whitespace in a name (write names with blanks as ['my name']) at offset 3",
            ),
            (
                "$. a",
                "expected a name after '.', found whitespace at offset 2",
            ),
            ("$[]", "empty brackets at offset 2"),
            (
                "$[x]",
                "expected a quoted name, an index, a slice, '*' or '?(' after '[', found 'x' at offset 2",
            ),
            (
                "$['a' 'b']",
                "expected ',' or ']' after a quoted name, found ''' at offset 6",
            ),
            ("$['a',]", "expected a quoted name, found ']' at offset 6"),
            (
                "$[0 1]",
                "expected ',' or ']' in an index list, found '1' at offset 4",
            ),
            ("$[1,]", "expected an index after ',' at offset 4"),
            ("$[-]", "expected digits after '-' at offset 2"),
            ("$[1:2:0]", "a slice step must not be zero at offset 5"),
            ("$[1:2,3]", "expected ']', found ',' at offset 5"),
            ("$[99999999999999999999]", "index out of range at offset 2"),
            ("$[*x]", "expected ']', found 'x' at offset 3"),
            (
                "$.*a",
                "unexpected character 'a' (expected '.', '[' or the end) at offset 3",
            ),
            (
                "$$a",
                "unexpected character 'a' (expected '.', '[' or the end) at offset 2",
            ),
            (
                "$a-b",
                "unexpected character '-' (expected '.', '[' or the end) at offset 2",
            ),
            (
                "$.'a'",
                "expected a name, '*' or '[' after '.', found ''' at offset 2",
            ),
            ("$.a(", "unknown function 'a()' at offset 2"),
            ("$.foo()", "unknown function 'foo()' at offset 2"),
            ("$.length(1)", "length() takes no arguments at offset 8"),
            (
                "$.sum(1",
                "unbalanced parentheses: '(' is never closed at offset 5",
            ),
            (
                "$.sum(1 2)",
                "expected ',' or ')' in the arguments of sum(), found '2' at offset 8",
            ),
            (
                "$.a.length().b",
                "a function call must end the path at offset 12",
            ),
            (
                "$.a.length()[0]",
                "a function call must end the path at offset 12",
            ),
            (
                "$..length()",
                "a function call needs a single '.' before its name at offset 9",
            ),
            ("$[?@.a]", "expected '(' after '[?' at offset 3"),
            ("$[?(@.a == 1]", "expected ')', found ']' at offset 12"),
            (
                "$[?(@.a == 1",
                "unbalanced parentheses: '(' is never closed at offset 3",
            ),
            (
                "$[?(@.a == 1)",
                "unbalanced brackets: '[' is never closed at offset 1",
            ),
            ("$[?(@.a ==)]", "expected a value, found ')' at offset 10"),
            ("$[?(@.a <> 1)]", "unknown operator '<>' at offset 8"),
            ("$[?(@.a like 1)]", "unknown operator 'like' at offset 8"),
            (
                "$[?(@.a 1)]",
                "expected a comparison operator, found '1' at offset 8",
            ),
            (
                "$[?(1)]",
                "a literal needs a comparison operator after it at offset 4",
            ),
            ("$[?(@.a == 'x)]", "unterminated string at offset 11"),
            ("$[?(@.a == tru)]", "unknown literal 'tru' at offset 11"),
            (
                "$[?(@.a == [1, 2)]",
                "expected ',' or ']' in an array, found ')' at offset 16",
            ),
            ("$[?(@.a == {: 2})]", "expected an object key at offset 12"),
            (
                "$[?(@.a == {a 2})]",
                "expected ':' after an object key at offset 14",
            ),
            (
                "$[?(@.a == {a: 2]})]",
                "expected ',' or '}' in an object, found ']' at offset 16",
            ),
            ("$[?(@.a == -)]", "expected a number at offset 11"),
            ("$[?(@.a == 1e)]", "malformed number at offset 11"),
            (
                "$[?(@.a =~ /abc)]",
                "unterminated regular expression at offset 11",
            ),
            (
                "$[?(@.a =~ /abc/q)]",
                "unknown regular expression flag 'q' at offset 16",
            ),
            (
                "$[?(@.a. == 1)]",
                "expected a name after '.', found whitespace at offset 8",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(syntax(text), expected, "{text:?}");
        }
        let regex = syntax("$[?(@.a =~ /(?<=a)b/)]");
        assert!(
            regex.starts_with("invalid or unsupported regular expression /(?<=a)b/ (")
                && regex.ends_with(") at offset 11"),
            "{regex}"
        );
        let deep = format!("$[?({}@.a{})]", "(".repeat(40), ")".repeat(40));
        assert!(syntax(&deep).starts_with("expression nested too deeply"));
        let error = Path::parse("$.").expect_err("invalid");
        assert_eq!(
            error.to_string(),
            "invalid JSONPath '$.': a path must not end with '.' at offset 1"
        );
    }

    #[test]
    fn offsets_count_characters_not_bytes() {
        assert_eq!(
            syntax("$.é]"),
            "unbalanced brackets: ']' was never opened at offset 3"
        );
    }

    // ------------------------------------------------------------------------------------------
    // Assign

    #[test]
    fn assign_root_replaces_the_target() {
        assert_eq!(assign("$", &json!({"a": 1}), json!([1])), Ok(json!([1])));
        assert_eq!(
            assign("$", &json!("s"), json!({"x": 1})),
            Ok(json!({"x": 1}))
        );
    }

    #[test]
    fn assign_creates_missing_objects_and_keeps_siblings() {
        assert_eq!(
            assign("$.a.b", &json!({}), json!(1)),
            Ok(json!({"a": {"b": 1}}))
        );
        assert_eq!(
            assign("$.a.b", &json!({"a": {"c": 2}, "d": 3}), json!(1)),
            Ok(json!({"a": {"c": 2, "b": 1}, "d": 3}))
        );
        assert_eq!(
            assign("$.a", &json!({"a": [1], "b": 2}), json!("x")),
            Ok(json!({"a": "x", "b": 2}))
        );
        assert_eq!(
            assign("$['x y'].z", &json!({}), json!(null)),
            Ok(json!({"x y": {"z": null}}))
        );
        assert_eq!(
            assign("$.list[1].v", &json!({"list": [{}, {"w": 0}]}), json!(5)),
            Ok(json!({"list": [{}, {"w": 0, "v": 5}]}))
        );
        assert_eq!(
            assign("$.list[-1]", &json!({"list": [1, 2, 3]}), json!(9)),
            Ok(json!({"list": [1, 2, 9]}))
        );
        assert_eq!(assign("$[0]", &json!([1, 2]), json!(0)), Ok(json!([0, 2])));
    }

    #[test]
    fn assign_errors_name_the_node() {
        let reason = |text: &str, target: &Value| match assign(text, target, json!(1)) {
            Err(PathError::Assign { path, reason }) => {
                assert_eq!(path, text);
                reason
            }
            other => panic!("expected an assign error for {text}, got {other:?}"),
        };
        assert_eq!(
            reason("$.a.b", &json!({"a": "s"})),
            "$['a'] is a string, not an object, so field 'b' cannot be set in it"
        );
        assert_eq!(
            reason("$.a.b", &json!({"a": [1]})),
            "$['a'] is an array, not an object, so field 'b' cannot be set in it"
        );
        assert_eq!(
            reason("$.a.b.c", &json!({"a": {"b": 5}})),
            "$['a']['b'] is a number, not an object, so field 'c' cannot be set in it"
        );
        assert_eq!(
            reason("$.a.b", &json!({"a": null})),
            "$['a'] is null, not an object, so field 'b' cannot be set in it"
        );
        assert_eq!(
            reason("$.x", &json!("input")),
            "$ is a string, not an object, so field 'x' cannot be set in it"
        );
        assert_eq!(
            reason("$.x", &json!([1, 2])),
            "$ is an array, not an object, so field 'x' cannot be set in it"
        );
        assert_eq!(
            reason("$.a[0]", &json!({"a": {"0": 1}})),
            "$['a'] is an object, not an array, so index [0] cannot be set in it"
        );
        assert_eq!(
            reason("$.a[2]", &json!({"a": [1, 2]})),
            "index [2] is out of bounds for $['a'] (length 2)"
        );
        assert_eq!(
            reason("$.a[-3]", &json!({"a": [1, 2]})),
            "index [-3] is out of bounds for $['a'] (length 2)"
        );
        assert_eq!(
            reason("$.a.b[0]", &json!({})),
            "$['a']['b'] does not exist, and index [0] needs an existing array"
        );
        assert_eq!(
            reason("$$.a", &json!({})),
            "the context object ($$) is read-only"
        );
        assert_eq!(
            reason("$v.a", &json!({})),
            "variable $v cannot be written through a path"
        );
    }

    #[test]
    fn failed_assign_leaves_the_target_untouched() {
        let original = json!({"a": {}});
        let mut target = original.clone();
        let result = path("$.a.b.c[0]").assign(&mut target, json!(1));
        assert!(matches!(result, Err(PathError::Assign { .. })));
        assert_eq!(target, original);
    }

    #[test]
    fn assign_needs_a_reference_path() {
        for text in [
            "$.a[*]",
            "$..a",
            "$.a[0,1]",
            "$['a','b']",
            "$.a[1:]",
            "$.a[?(@)]",
            "$.a.length()",
        ] {
            assert_eq!(
                assign(text, &json!({}), json!(1)),
                Err(PathError::NotReference {
                    path: text.to_string()
                }),
                "{text}"
            );
        }
    }

    // ------------------------------------------------------------------------------------------
    // Properties: the ResultPath / OutputPath round trip

    /// A step from a document's root to one of its nodes.
    #[derive(Debug, Clone, PartialEq)]
    enum Step {
        Name(String),
        Index(usize),
    }

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => "[a-z]{1,3}",
            1 => "[ a-z'\"\\\\.\\[\\]*$@é,?()<=!-]{0,4}",
        ]
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            (-1e9..1e9_f64).prop_map(Value::from),
            key().prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec((key(), inner), 0..5)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
    }

    fn json_object() -> impl Strategy<Value = Value> {
        prop::collection::vec((key(), json_value()), 0..6)
            .prop_map(|entries| Value::Object(entries.into_iter().collect()))
    }

    /// Every node of `value` with the steps that lead to it, pre-order.
    fn nodes(value: &Value) -> Vec<(Vec<Step>, Value)> {
        fn go(value: &Value, steps: &mut Vec<Step>, out: &mut Vec<(Vec<Step>, Value)>) {
            out.push((steps.clone(), value.clone()));
            match value {
                Value::Object(map) => {
                    for (name, child) in map {
                        steps.push(Step::Name(name.clone()));
                        go(child, steps, out);
                        steps.pop();
                    }
                }
                Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        steps.push(Step::Index(i));
                        go(item, steps, out);
                        steps.pop();
                    }
                }
                _ => {}
            }
        }
        let mut out = Vec::new();
        go(value, &mut Vec::new(), &mut out);
        out
    }

    /// Writes steps in a mix of notations: dot names when simple, double-quoted brackets
    /// otherwise, and indexes from the end when `from_end` gives the array length.
    fn render(steps: &[Step], lengths: &[Option<usize>]) -> String {
        let mut out = String::from("$");
        for (i, step) in steps.iter().enumerate() {
            match step {
                Step::Name(name)
                    if !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase()) =>
                {
                    out.push('.');
                    out.push_str(name);
                }
                Step::Name(name) => {
                    out.push_str("[\"");
                    for c in name.chars() {
                        if matches!(c, '"' | '\\') {
                            out.push('\\');
                        }
                        out.push(c);
                    }
                    out.push_str("\"]");
                }
                Step::Index(index) => match lengths.get(i).copied().flatten() {
                    Some(len) => out.push_str(&format!("[-{}]", len - index)),
                    None => out.push_str(&format!("[{index}]")),
                },
            }
        }
        out
    }

    /// The reference model of ResultPath: whether writing along `steps` succeeds.
    fn can_assign(doc: &Value, steps: &[Step]) -> bool {
        let mut node = Some(doc);
        for step in steps {
            node = match (step, node) {
                (Step::Name(_), None) => None,
                (Step::Name(name), Some(Value::Object(map))) => map.get(name),
                (Step::Index(i), Some(Value::Array(items))) if *i < items.len() => items.get(*i),
                _ => return false,
            };
        }
        true
    }

    fn select_input(path: &Path, input: &Value) -> Option<Value> {
        let context = json!({});
        let variables = Map::new();
        path.select(&Env {
            input,
            context: &context,
            variables: &variables,
        })
    }

    proptest! {
        #[test]
        fn normalized_paths_select_their_nodes(doc in json_value()) {
            for (steps, node) in nodes(&doc) {
                let written = Path::parse(&render(&steps, &[])).expect("rendered path parses");
                prop_assert!(written.is_reference());
                prop_assert_eq!(select_input(&written, &doc), Some(node.clone()));
                let normalized = Path::parse(&written.normalized()).expect("normalised path parses");
                prop_assert_eq!(normalized.normalized(), written.normalized());
                prop_assert_eq!(select_input(&normalized, &doc), Some(node));
            }
        }

        #[test]
        fn assign_then_select_round_trips(
            doc in json_object(),
            choices in prop::collection::vec(any::<prop::sample::Index>(), 0..4),
            extra in prop::collection::vec(key(), 0..3),
            from_end in any::<bool>(),
            value in json_value(),
        ) {
            // Walk into the document, then maybe beyond it.
            let mut steps = Vec::new();
            let mut lengths = Vec::new();
            let mut node = &doc;
            for choice in &choices {
                match node {
                    Value::Object(map) if !map.is_empty() => {
                        let (name, child) = map.iter().nth(choice.index(map.len())).expect("in range");
                        steps.push(Step::Name(name.clone()));
                        lengths.push(None);
                        node = child;
                    }
                    Value::Array(items) if !items.is_empty() => {
                        let i = choice.index(items.len());
                        steps.push(Step::Index(i));
                        lengths.push(from_end.then_some(items.len()));
                        node = &items[i];
                    }
                    _ => break,
                }
            }
            steps.extend(extra.into_iter().map(Step::Name));
            let path = Path::parse(&render(&steps, &lengths)).expect("rendered path parses");
            prop_assert!(path.is_reference());

            let mut target = doc.clone();
            match path.assign(&mut target, value.clone()) {
                Ok(()) => {
                    prop_assert!(can_assign(&doc, &steps));
                    prop_assert_eq!(select_input(&path, &target), Some(value));
                    // Nodes off the written path are undisturbed.
                    for (other, original) in nodes(&doc) {
                        let related = other.starts_with(&steps) || steps.starts_with(&other);
                        if !related {
                            let other = Path::parse(&render(&other, &[])).expect("parses");
                            prop_assert_eq!(select_input(&other, &target), Some(original));
                        }
                    }
                }
                Err(PathError::Assign { .. }) => {
                    prop_assert!(!can_assign(&doc, &steps));
                    prop_assert_eq!(target, doc);
                }
                Err(other) => prop_assert!(false, "unexpected error {:?}", other),
            }
        }

        #[test]
        fn assign_on_root_replaces(doc in json_value(), value in json_value()) {
            let mut target = doc;
            Path::parse("$").expect("root").assign(&mut target, value.clone()).expect("root assign");
            prop_assert_eq!(target, value);
        }

        #[test]
        fn parsing_and_reading_never_panic(
            text in prop_oneof![
                "\\$[a-z.\\[\\]'\"*?@()0-9:,=<>!&|/~\\\\ -]{0,20}",
                "\\$\\PC{0,20}",
            ],
            doc in json_value(),
        ) {
            if let Ok(path) = Path::parse(&text) {
                let _ = select_input(&path, &doc);
                let _ = Path::parse(&path.normalized());
                let _ = path.assign(&mut doc.clone(), Value::Null);
            }
        }
    }
}
