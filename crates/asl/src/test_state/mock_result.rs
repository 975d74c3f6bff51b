//! A Task's mocked result checked against the output shape of the service API the Task calls, as
//! AWS's TestState checks it under `mock.fieldValidationMode` `STRICT` (the default) and `PRESENT`.
//!
//! The shapes come from `shapes.json` beside this file, generated from the AWS SDK's service models
//! by `scripts/gen-mock-shapes.py` (which documents its format and how to add an operation) and
//! embedded in the binary. A Task whose `Resource` (without `arn:<partition>:states:<region>:
//! <account>:`) is not listed there, such as `lambda:invoke` or any `.sync` or `.waitForTaskToken`
//! resource, is not checked.
//!
//! # Rules
//!
//! - A field the shape does not know is accepted, and so is a `null` one (it counts as absent).
//! - `STRICT` requires a structure's required members; `PRESENT` only checks the fields present.
//! - A present field must have its shape's JSON type: a string for a string, blob or (also a
//!   number) timestamp, a number for an integer, long, float or double, a boolean, an array for a
//!   list, an object for a structure or a map. A list's items and a map's values are checked as
//!   the field itself; a document takes any value.
//! - A string's value must be one of its `enum`, and its length (a blob's too, as the string the
//!   mock holds) within `min` and `max`; a number's value within `min` and `max`.
//! - The first problem found refuses the request: required members first, then the fields in the
//!   mock's order, depth first.
//!
//! The messages are AWS's as the conformance corpus recorded them (`Field 'X' must be a string`,
//! `must be a number`, `must be an array`, `is not an expected value`, `is smaller than the minimum
//! length`, `is less than the minimum value`, `exceeds the maximum value`), naming the innermost
//! member, without its path. Not recorded, chosen here: `must be a boolean`, `must be an object`,
//! `exceeds the maximum length`, and `Required field 'X' is missing` (LocalStack's wording, which
//! mirrors AWS's TestState); a result that is not a JSON object answers AWS's `Mocked result must be
//! a JSON object.` (recorded for a Map state's `ResultWriter` result).

use super::{FieldValidationMode, TestStateError};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::OnceLock;

/// The generated shapes (see `scripts/gen-mock-shapes.py`).
const SHAPES_JSON: &str = include_str!("shapes.json");

/// The types a shape reference may name without a shape of its own.
const BARE_TYPES: [&str; 9] = [
    "string",
    "integer",
    "long",
    "double",
    "float",
    "boolean",
    "timestamp",
    "blob",
    "document",
];

/// The output shapes of the operations whose mocked results are checked.
#[derive(Debug)]
struct Models {
    /// A `Resource` without its `arn:...:states:::` prefix -> its output shape.
    resources: HashMap<String, String>,
    /// Shape name (or bare type name) -> shape.
    shapes: HashMap<String, Shape>,
}

/// One shape of an API model, in the compact form of `shapes.json`.
#[derive(Debug, Default)]
struct Shape {
    kind: Kind,
    /// A string's allowed values (none: any).
    allowed: Vec<String>,
    /// The least length (string, blob) or value (number).
    min: Option<f64>,
    /// The greatest length (string, blob) or value (number).
    max: Option<f64>,
}

#[derive(Debug, Default)]
enum Kind {
    Structure {
        /// Member name -> shape name.
        members: HashMap<String, String>,
        required: Vec<String>,
    },
    List(String),
    Map(String),
    String,
    Blob,
    Timestamp,
    Number,
    Boolean,
    #[default]
    Document,
}

/// The embedded models, parsed once.
fn models() -> &'static Models {
    static MODELS: OnceLock<Models> = OnceLock::new();
    MODELS.get_or_init(|| {
        parse(SHAPES_JSON)
            .expect("shapes.json is written by scripts/gen-mock-shapes.py; a unit test parses it")
    })
}

/// Parses `shapes.json`.
fn parse(text: &str) -> Result<Models, String> {
    let doc: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let resources = doc
        .get("resources")
        .and_then(Value::as_object)
        .ok_or("no resources")?
        .iter()
        .map(|(resource, shape)| {
            let shape = shape
                .as_str()
                .ok_or(format!("{resource}: not a shape name"))?;
            Ok((resource.clone(), shape.to_string()))
        })
        .collect::<Result<HashMap<_, _>, String>>()?;
    let mut shapes = HashMap::new();
    for name in BARE_TYPES {
        shapes.insert(
            name.to_string(),
            Shape {
                kind: kind_of(name, &Value::Null)?,
                ..Shape::default()
            },
        );
    }
    for (name, spec) in doc
        .get("shapes")
        .and_then(Value::as_object)
        .ok_or("no shapes")?
    {
        let kind_name = spec
            .get("type")
            .and_then(Value::as_str)
            .ok_or(format!("{name}: no type"))?;
        let shape = Shape {
            kind: kind_of(kind_name, spec).map_err(|e| format!("{name}: {e}"))?,
            allowed: texts(spec.get("enum")),
            min: spec.get("min").and_then(Value::as_f64),
            max: spec.get("max").and_then(Value::as_f64),
        };
        shapes.insert(name.clone(), shape);
    }
    let models = Models { resources, shapes };
    models.check_references()?;
    Ok(models)
}

/// The kind of a shape whose `type` is `name`, with its members, items or values from `spec`.
fn kind_of(name: &str, spec: &Value) -> Result<Kind, String> {
    let reference = |key: &str| {
        spec.get(key)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or(format!("a {name} without \"{key}\""))
    };
    Ok(match name {
        "structure" => Kind::Structure {
            members: spec
                .get("members")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                        .collect()
                })
                .unwrap_or_default(),
            required: texts(spec.get("required")),
        },
        "list" => Kind::List(reference("member")?),
        "map" => Kind::Map(reference("value")?),
        "string" => Kind::String,
        "blob" => Kind::Blob,
        "timestamp" => Kind::Timestamp,
        "integer" | "long" | "double" | "float" => Kind::Number,
        "boolean" => Kind::Boolean,
        "document" => Kind::Document,
        other => return Err(format!("unknown type {other}")),
    })
}

/// The strings of a JSON array (none when absent).
fn texts(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

impl Models {
    /// Every shape named by a resource, member, item or value exists.
    fn check_references(&self) -> Result<(), String> {
        let known = |name: &String| {
            self.shapes
                .contains_key(name)
                .then_some(())
                .ok_or(format!("unknown shape {name}"))
        };
        self.resources.values().try_for_each(known)?;
        self.shapes
            .values()
            .try_for_each(|shape| match &shape.kind {
                Kind::Structure { members, .. } => members.values().try_for_each(known),
                Kind::List(item) | Kind::Map(item) => known(item),
                _ => Ok(()),
            })
    }

    fn shape(&self, name: &str) -> &Shape {
        static DOCUMENT: Shape = Shape {
            kind: Kind::Document,
            allowed: Vec::new(),
            min: None,
            max: None,
        };
        self.shapes.get(name).unwrap_or(&DOCUMENT)
    }
}

/// The part of a Task's `Resource` that names its service and operation:
/// `arn:aws:states:::aws-sdk:kms:encrypt` -> `aws-sdk:kms:encrypt`.
fn integration(resource: &str) -> Option<&str> {
    let parts: Vec<&str> = resource.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, "states", _, _, rest] => Some(rest),
        _ => None,
    }
}

/// Checks a Task's mocked `result` (parsed) against its operation's output shape.
pub(super) fn check(
    resource: &str,
    result: &Value,
    mode: FieldValidationMode,
) -> Result<(), TestStateError> {
    if mode == FieldValidationMode::None {
        return Ok(());
    }
    let models = models();
    let Some(output) = integration(resource).and_then(|key| models.resources.get(key)) else {
        return Ok(());
    };
    let checker = Checker {
        models,
        strict: mode == FieldValidationMode::Strict,
    };
    match result {
        Value::Null => Ok(()),
        Value::Object(fields) => checker
            .fields(fields, models.shape(output))
            .map_err(|reason| TestStateError::MockResultSchema { reason }),
        _ => Err(TestStateError::MockResultNotObject),
    }
}

struct Checker<'a> {
    models: &'a Models,
    strict: bool,
}

impl Checker<'_> {
    /// A structure's fields: its required members (`STRICT`), then the known fields present.
    fn fields(&self, fields: &Map<String, Value>, shape: &Shape) -> Result<(), String> {
        let Kind::Structure { members, required } = &shape.kind else {
            return Ok(());
        };
        if self.strict
            && let Some(missing) = required
                .iter()
                .find(|name| fields.get(name.as_str()).is_none_or(Value::is_null))
        {
            return Err(format!("Required field '{missing}' is missing"));
        }
        for (name, value) in fields {
            if let Some(member) = members.get(name) {
                self.value(value, self.models.shape(member), name)?;
            }
        }
        Ok(())
    }

    /// One present value, reported as `field`.
    fn value(&self, value: &Value, shape: &Shape, field: &str) -> Result<(), String> {
        let problem = |what: &str| Err(format!("Field '{field}' {what}"));
        match (&shape.kind, value) {
            (_, Value::Null) | (Kind::Document, _) => Ok(()),
            (Kind::Structure { .. }, Value::Object(fields)) => self.fields(fields, shape),
            (Kind::List(item), Value::Array(items)) => {
                let item = self.models.shape(item);
                items.iter().try_for_each(|v| self.value(v, item, field))
            }
            (Kind::Map(entry), Value::Object(entries)) => {
                let entry = self.models.shape(entry);
                entries
                    .values()
                    .try_for_each(|v| self.value(v, entry, field))
            }
            (Kind::String | Kind::Blob, Value::String(text)) => {
                if !shape.allowed.is_empty() && !shape.allowed.iter().any(|a| a == text) {
                    return problem("is not an expected value");
                }
                let length = text.chars().count() as f64;
                if shape.min.is_some_and(|min| length < min) {
                    return problem("is smaller than the minimum length");
                }
                if shape.max.is_some_and(|max| length > max) {
                    return problem("exceeds the maximum length");
                }
                Ok(())
            }
            (Kind::Timestamp, Value::String(_) | Value::Number(_)) => Ok(()),
            (Kind::Number, Value::Number(n)) => match n.as_f64() {
                Some(n) if shape.min.is_some_and(|min| n < min) => {
                    problem("is less than the minimum value")
                }
                Some(n) if shape.max.is_some_and(|max| n > max) => {
                    problem("exceeds the maximum value")
                }
                _ => Ok(()),
            },
            (Kind::Boolean, Value::Bool(_)) => Ok(()),
            (Kind::Structure { .. } | Kind::Map(_), _) => problem("must be an object"),
            (Kind::List(_), _) => problem("must be an array"),
            (Kind::String | Kind::Blob | Kind::Timestamp, _) => problem("must be a string"),
            (Kind::Number, _) => problem("must be a number"),
            (Kind::Boolean, _) => problem("must be a boolean"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generated_shapes_parse() {
        let models = parse(SHAPES_JSON).expect("shapes.json parses");
        for resource in [
            "aws-sdk:kms:encrypt",
            "aws-sdk:s3:getObject",
            "aws-sdk:lambda:getFunction",
            "dynamodb:putItem",
            "events:putEvents",
        ] {
            assert!(models.resources.contains_key(resource), "{resource}");
        }
    }

    #[test]
    fn resources_name_their_integration() {
        assert_eq!(
            integration("arn:aws:states:::aws-sdk:kms:encrypt"),
            Some("aws-sdk:kms:encrypt")
        );
        assert_eq!(
            integration("arn:aws-cn:states:cn-north-1:123456789012:dynamodb:putItem"),
            Some("dynamodb:putItem")
        );
        assert_eq!(integration("arn:aws:lambda:us-east-1:1:function:f"), None);
        let checked = |resource: &str| {
            check(resource, &Value::Bool(true), FieldValidationMode::Strict).is_err()
        };
        assert!(checked("arn:aws:states:::events:putEvents"));
        assert!(!checked(
            "arn:aws:states:::events:putEvents.waitForTaskToken"
        ));
        assert!(!checked("arn:aws:states:::lambda:invoke"));
    }
}
