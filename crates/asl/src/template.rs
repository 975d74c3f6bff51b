//! Payload templates: `Parameters`, `ResultSelector`, `ItemSelector`, `Assign` (JSONPath mode) and
//! JSONata `Arguments`/`Output`, compiled once when the definition is loaded.
//!
//! In JSONPath mode a key ending in `.$` takes its value from a path or an intrinsic function call;
//! every other value is copied as written. Subtrees without a dynamic part collapse into one
//! constant so evaluating them is a clone.

use crate::error::Failure;
use crate::intrinsics::Intrinsic;
use crate::jsonata::{self, Expression};
use crate::path::{Env, Path, Root};
use crate::rng::Rng;
use serde_json::{Map, Value};

/// A value computed at run time from a `.$` field: a path or an intrinsic function call.
#[derive(Debug, Clone, PartialEq)]
pub enum Dynamic {
    /// A JSONPath such as `$.a`, `$$.Execution.Id` or `$var`.
    Path(Path),
    /// An intrinsic function call such as `States.Format(...)`.
    Intrinsic(Intrinsic),
}

impl Dynamic {
    /// Parses the value of a `.$` field; `None` when it is neither a path nor an intrinsic call.
    pub fn parse(text: &str) -> Option<Dynamic> {
        if Intrinsic::looks_like_call(text) {
            Intrinsic::parse(text).ok().map(Dynamic::Intrinsic)
        } else {
            Path::parse(text).ok().map(Dynamic::Path)
        }
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        match self {
            Dynamic::Path(p) => p.as_str(),
            Dynamic::Intrinsic(i) => i.as_str(),
        }
    }

    /// Evaluates the expression. `field` names the field for error messages (`value.$`).
    pub fn evaluate(&self, env: &Env, rng: &mut Rng, field: &str) -> Result<Value, Failure> {
        match self {
            Dynamic::Path(p) => p.select(env).ok_or_else(|| missing_path(p, field, env)),
            Dynamic::Intrinsic(i) => i.evaluate(env, rng),
        }
    }
}

/// The `States.Runtime` failure AWS raises when a field's path matches nothing.
pub fn missing_path(path: &Path, field: &str, env: &Env) -> Failure {
    let doc = match path.root() {
        Root::Variable(_) => Value::Object(env.variables.clone()),
        _ => env.input.clone(),
    };
    Failure::runtime(format!(
        "The JSONPath '{}' specified for the field '{}' could not be found in the input '{}'",
        path.as_str(),
        field,
        doc
    ))
}

/// A compiled payload template.
#[derive(Debug, Clone, PartialEq)]
pub enum Template {
    /// A constant: copied as written.
    Const(Value),
    /// An object with at least one dynamic field; keys are stored without their `.$` suffix.
    Object(Vec<Field>),
    /// An array with at least one dynamic element.
    Array(Vec<Template>),
    /// A `.$` value.
    Dynamic(Dynamic),
    /// A JSONata `{% expression %}` string.
    Jsonata(Expression),
}

/// One field of an object template.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The output key (without `.$`).
    pub key: String,
    /// The key as written in the definition (with `.$` for dynamic fields), for error messages.
    pub source_key: String,
    /// The value template.
    pub value: Template,
}

/// A template that failed to compile: the JSON-pointer location, the offending key and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// The key whose value is not a valid path, intrinsic call or JSONata expression.
    pub key: String,
    /// Where the key sits, relative to the template root (`/` separated).
    pub location: String,
    /// What is wrong, as AWS words it.
    pub message: String,
}

impl Template {
    /// Compiles a JSONPath-mode template (`.$` keys are dynamic).
    pub fn jsonpath(value: &Value) -> Result<Template, Vec<TemplateError>> {
        let mut errors = Vec::new();
        let t = compile_jsonpath(value, "", &mut errors);
        if errors.is_empty() {
            Ok(t)
        } else {
            Err(errors)
        }
    }

    /// Compiles a JSONata-mode template (`{% %}` strings are dynamic, at any depth).
    pub fn jsonata(value: &Value) -> Result<Template, Vec<TemplateError>> {
        let mut errors = Vec::new();
        let t = compile_jsonata(value, "", &mut errors);
        if errors.is_empty() {
            Ok(t)
        } else {
            Err(errors)
        }
    }

    /// Whether the template has no dynamic part.
    pub fn is_const(&self) -> bool {
        matches!(self, Template::Const(_))
    }

    /// Evaluates the template against the environment.
    pub fn evaluate(&self, env: &Env, rng: &mut Rng) -> Result<Value, Failure> {
        match self {
            Template::Const(v) => Ok(v.clone()),
            Template::Object(fields) => {
                let mut out = Map::with_capacity(fields.len());
                for f in fields {
                    let v = match &f.value {
                        Template::Dynamic(d) => d.evaluate(env, rng, &f.source_key)?,
                        other => other.evaluate(env, rng)?,
                    };
                    out.insert(f.key.clone(), v);
                }
                Ok(Value::Object(out))
            }
            Template::Array(items) => items
                .iter()
                .map(|t| t.evaluate(env, rng))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            Template::Dynamic(d) => d.evaluate(env, rng, d.as_str()),
            Template::Jsonata(expr) => Err(Failure::new(
                crate::error::names::QUERY_EVALUATION_ERROR,
                format!(
                    "The JSONata expression '{}' cannot be evaluated in a JSONPath state",
                    expr.as_str()
                ),
            )),
        }
    }

    /// Evaluates a JSONata-mode template. `field` names the field (`Output`, `Arguments`, ...)
    /// for error messages. A field whose expression is undefined is left out of its object or
    /// array; a whole template that is undefined is an error, as on AWS.
    pub fn evaluate_jsonata(
        &self,
        scope: &jsonata::Scope,
        rng: &mut Rng,
        field: &str,
    ) -> Result<Value, Failure> {
        self.jsonata_value(scope, rng, field)?.ok_or_else(|| {
            let cause = match self {
                Template::Jsonata(e) => e.undefined_cause(field),
                _ => format!("The field '{field}' evaluated to nothing (undefined)."),
            };
            Failure::new(crate::error::names::QUERY_EVALUATION_ERROR, cause)
        })
    }

    fn jsonata_value(
        &self,
        scope: &jsonata::Scope,
        rng: &mut Rng,
        field: &str,
    ) -> Result<Option<Value>, Failure> {
        match self {
            Template::Const(v) => Ok(Some(v.clone())),
            Template::Object(fields) => {
                let mut out = Map::with_capacity(fields.len());
                for f in fields {
                    if let Some(v) = f.value.jsonata_value(scope, rng, field)? {
                        out.insert(f.key.clone(), v);
                    }
                }
                Ok(Some(Value::Object(out)))
            }
            Template::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for t in items {
                    if let Some(v) = t.jsonata_value(scope, rng, field)? {
                        out.push(v);
                    }
                }
                Ok(Some(Value::Array(out)))
            }
            Template::Dynamic(d) => Err(Failure::new(
                crate::error::names::QUERY_EVALUATION_ERROR,
                format!("'{}' is a JSONPath value in a JSONata state", d.as_str()),
            )),
            Template::Jsonata(expr) => expr
                .evaluate(scope, rng)
                .map_err(|f| expression_failure(expr, field, f)),
        }
    }
}

/// Words a failed JSONata expression as AWS does, naming the expression and the field.
pub fn expression_failure(expr: &Expression, field: &str, failure: Failure) -> Failure {
    Failure {
        cause: expr.error_cause(field, &failure.cause),
        ..failure
    }
}

/// The expression inside a `{% ... %}` string, or `None` for an ordinary string.
pub fn jsonata_expression(s: &str) -> Option<&str> {
    let inner = s.strip_prefix("{%")?.strip_suffix("%}")?;
    Some(inner.trim())
}

fn compile_jsonata(value: &Value, at: &str, errors: &mut Vec<TemplateError>) -> Template {
    match value {
        Value::String(s) => match jsonata_expression(s) {
            None => Template::Const(value.clone()),
            Some(text) => match Expression::parse(text) {
                Ok(e) => Template::Jsonata(e),
                Err(e) => {
                    errors.push(TemplateError {
                        key: at.rsplit('/').next().unwrap_or_default().to_string(),
                        location: at.to_string(),
                        message: format!("The JSONata expression '{text}' is not valid: {e}"),
                    });
                    Template::Const(Value::Null)
                }
            },
        },
        Value::Object(map) => {
            let fields: Vec<Field> = map
                .iter()
                .map(|(k, v)| Field {
                    key: k.clone(),
                    source_key: k.clone(),
                    value: compile_jsonata(v, &format!("{at}/{k}"), errors),
                })
                .collect();
            if fields.iter().all(|f| f.value.is_const()) {
                Template::Const(value.clone())
            } else {
                Template::Object(fields)
            }
        }
        Value::Array(items) => {
            let items: Vec<Template> = items
                .iter()
                .enumerate()
                .map(|(i, v)| compile_jsonata(v, &format!("{at}/{i}"), errors))
                .collect();
            if items.iter().all(Template::is_const) {
                Template::Const(value.clone())
            } else {
                Template::Array(items)
            }
        }
        _ => Template::Const(value.clone()),
    }
}

fn compile_jsonpath(value: &Value, at: &str, errors: &mut Vec<TemplateError>) -> Template {
    match value {
        Value::Object(map) => {
            let mut fields = Vec::with_capacity(map.len());
            for (k, v) in map {
                let here = format!("{at}/{k}");
                let field = match (k.strip_suffix(".$"), v) {
                    (Some(key), Value::String(text)) => match Dynamic::parse(text) {
                        Some(d) => Field {
                            key: key.to_string(),
                            source_key: k.clone(),
                            value: Template::Dynamic(d),
                        },
                        None => {
                            errors.push(TemplateError {
                                key: k.clone(),
                                location: at.to_string(),
                                message: format!(
                                    "The value for the field '{k}' must be a valid JSONPath or a valid intrinsic function call"
                                ),
                            });
                            continue;
                        }
                    },
                    _ => Field {
                        key: k.clone(),
                        source_key: k.clone(),
                        value: compile_jsonpath(v, &here, errors),
                    },
                };
                fields.push(field);
            }
            if fields
                .iter()
                .all(|f| f.value.is_const() && f.key == f.source_key)
            {
                Template::Const(value.clone())
            } else {
                Template::Object(fields)
            }
        }
        Value::Array(items) => {
            let items: Vec<Template> = items
                .iter()
                .enumerate()
                .map(|(i, v)| compile_jsonpath(v, &format!("{at}/{i}"), errors))
                .collect();
            if items.iter().all(Template::is_const) {
                Template::Const(value.clone())
            } else {
                Template::Array(items)
            }
        }
        _ => Template::Const(value.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env<'a>(input: &'a Value, context: &'a Value, vars: &'a Map<String, Value>) -> Env<'a> {
        Env {
            input,
            context,
            variables: vars,
        }
    }

    #[test]
    fn constant_subtrees_collapse() {
        let t = Template::jsonpath(&json!({"a": 1, "b": {"c": [1, 2]}})).expect("valid");
        assert!(t.is_const());
    }

    #[test]
    fn dynamic_fields_read_input_context_and_variables() {
        let t = Template::jsonpath(&json!({
            "x.$": "$.x", "nested": {"id.$": "$$.Execution.Id", "v.$": "$v"}, "list": [{"y.$": "$.y"}]
        }))
        .expect("valid");
        let input = json!({"x": 1, "y": 2});
        let context = json!({"Execution": {"Id": "arn"}});
        let mut vars = Map::new();
        vars.insert("v".into(), json!("var"));
        let out = t
            .evaluate(&env(&input, &context, &vars), &mut Rng::new(0))
            .expect("evaluates");
        assert_eq!(
            out,
            json!({"x": 1, "nested": {"id": "arn", "v": "var"}, "list": [{"y": 2}]})
        );
    }

    #[test]
    fn missing_path_names_the_field_and_input() {
        let t = Template::jsonpath(&json!({"value.$": "$.nope"})).expect("valid");
        let input = json!({"a": 1});
        let vars = Map::new();
        let err = t
            .evaluate(&env(&input, &Value::Null, &vars), &mut Rng::new(0))
            .expect_err("path is missing");
        assert_eq!(err.error, "States.Runtime");
        assert_eq!(
            err.cause,
            "The JSONPath '$.nope' specified for the field 'value.$' could not be found in the input '{\"a\":1}'"
        );
    }

    #[test]
    fn bad_dynamic_value_is_reported_with_its_location() {
        let errors = Template::jsonpath(&json!({"a": {"b.$": "not a path"}})).expect_err("invalid");
        assert_eq!(
            errors,
            vec![TemplateError {
                key: "b.$".into(),
                location: "/a".into(),
                message: "The value for the field 'b.$' must be a valid JSONPath or a valid intrinsic function call".into(),
            }]
        );
    }

    #[test]
    fn jsonata_strings_are_found_at_any_depth() {
        let t = Template::jsonata(&json!({"a": ["{% $x %}", 1], "b": "plain"})).expect("valid");
        assert!(!t.is_const());
        assert_eq!(jsonata_expression("{% 1 + 2 %}"), Some("1 + 2"));
        assert_eq!(jsonata_expression("plain"), None);
    }
}
