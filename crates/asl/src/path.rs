//! JSONPath as ASL uses it: Paths that read the state input (`$`), the context object (`$$`) or a
//! variable (`$name`), and Reference Paths that also write (ResultPath).
//!
//! PROVISIONAL: a minimal evaluator (names and indexes only) that fixes the API; the full
//! Jayway-compatible evaluator replaces the body of this module.

use serde_json::{Map, Value};
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
        /// What is wrong with it.
        reason: String,
    },
    /// A reference path was required but the path has wildcards, filters or other operators.
    #[error("'{path}' is not a reference path")]
    NotReference {
        /// The path text.
        path: String,
    },
    /// Writing through a reference path met a value that is not an object or array.
    #[error("unable to apply '{path}': {reason}")]
    Assign {
        /// The path text.
        path: String,
        /// Why the write failed.
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Name(String),
    Index(i64),
}

/// A parsed JSONPath.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    text: String,
    root: Root,
    segments: Vec<Segment>,
}

impl Path {
    /// Parses a path such as `$.a.b[0]`, `$$.Execution.Id` or `$myVar.field`.
    pub fn parse(text: &str) -> Result<Path, PathError> {
        let syntax = |reason: &str| PathError::Syntax {
            path: text.to_string(),
            reason: reason.to_string(),
        };
        let (root, mut rest) = if let Some(r) = text.strip_prefix("$$") {
            (Root::Context, r)
        } else if let Some(r) = text.strip_prefix('$') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            if end == 0 {
                (Root::Input, r)
            } else {
                (Root::Variable(r[..end].to_string()), &r[end..])
            }
        } else {
            return Err(syntax("a path must start with '$'"));
        };
        let mut segments = Vec::new();
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix('.') {
                let end = r.find(['.', '[']).unwrap_or(r.len());
                if end == 0 {
                    return Err(syntax("empty name"));
                }
                segments.push(Segment::Name(r[..end].to_string()));
                rest = &r[end..];
            } else if let Some(r) = rest.strip_prefix('[') {
                let end = r.find(']').ok_or_else(|| syntax("missing ']'"))?;
                let index = r[..end].parse().map_err(|_| syntax("bad index"))?;
                segments.push(Segment::Index(index));
                rest = &r[end + 1..];
            } else {
                return Err(syntax("unexpected character"));
            }
        }
        Ok(Path {
            text: text.to_string(),
            root,
            segments,
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

    /// Whether the path names at most one node (no wildcards, filters, slices or unions).
    pub fn is_definite(&self) -> bool {
        true
    }

    /// Whether the path is a Reference Path (names and indexes only).
    pub fn is_reference(&self) -> bool {
        true
    }

    /// The path in normalised bracket notation, as AWS prints it: `$['a'][0]`.
    pub fn normalized(&self) -> String {
        let mut out = String::from("$");
        for s in &self.segments {
            match s {
                Segment::Name(n) => out.push_str(&format!("['{n}']")),
                Segment::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }

    /// Reads the path. A definite path gives the one node it names, or `None` when nothing matches;
    /// an indefinite path gives an array of every match (possibly empty).
    pub fn select(&self, env: &Env) -> Option<Value> {
        let mut node = match &self.root {
            Root::Input => env.input,
            Root::Context => env.context,
            Root::Variable(name) => env.variables.get(name)?,
        };
        for s in &self.segments {
            node = match (s, node) {
                (Segment::Name(n), Value::Object(m)) => m.get(n)?,
                (Segment::Index(i), Value::Array(a)) => a.get(usize::try_from(*i).ok()?)?,
                _ => return None,
            };
        }
        Some(node.clone())
    }

    /// Writes `value` at this reference path inside `target`, creating missing objects on the way
    /// (ResultPath semantics). `$` replaces the whole target.
    pub fn assign(&self, target: &mut Value, value: Value) -> Result<(), PathError> {
        let mut node = target;
        for s in &self.segments {
            node = match s {
                Segment::Name(n) => {
                    if !node.is_object() {
                        return Err(PathError::Assign {
                            path: self.text.clone(),
                            reason: "not an object".into(),
                        });
                    }
                    let Value::Object(m) = node else {
                        unreachable!("checked above")
                    };
                    m.entry(n.clone()).or_insert(Value::Object(Map::new()))
                }
                Segment::Index(i) => {
                    let slot = usize::try_from(*i)
                        .ok()
                        .and_then(|i| node.as_array_mut().and_then(|a| a.get_mut(i)));
                    slot.ok_or_else(|| PathError::Assign {
                        path: self.text.clone(),
                        reason: "no such index".into(),
                    })?
                }
            };
        }
        *node = value;
        Ok(())
    }
}
