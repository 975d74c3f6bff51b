//! Choice rules: comparisons, `And`/`Or`/`Not`, and their evaluation against a state's input.
//!
//! A comparison whose operands have the wrong types is simply false (AWS does not raise an
//! error); a `Variable` or `...Path` operand that matches nothing is a `States.Runtime` error,
//! except for `IsPresent`, which exists to ask exactly that.

use crate::error::Failure;
use crate::path::{Env, Path};
use jiff::Timestamp;
use serde_json::Value;
use std::cmp::Ordering;

/// One Choice rule.
#[derive(Debug, Clone, PartialEq)]
pub enum ChoiceRule {
    /// `And`: all nested rules hold.
    And(Vec<ChoiceRule>),
    /// `Or`: at least one nested rule holds.
    Or(Vec<ChoiceRule>),
    /// `Not`: the nested rule does not hold.
    Not(Box<ChoiceRule>),
    /// `Variable` with one comparison operator.
    Compare {
        /// `Variable`.
        variable: Box<Path>,
        /// The operator and its operand.
        comparison: Comparison,
    },
    /// A JSONata `Condition` (evaluated by the JSONata engine).
    Condition(crate::jsonata::Expression),
    /// A JSONata `Condition` written as a literal boolean.
    Const(bool),
}

/// The right-hand side of a comparison: a literal or a `...Path` operand.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A literal from the definition.
    Const(Value),
    /// A path read at evaluation time.
    Path(Path),
}

/// The family of a comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `String...`.
    String,
    /// `Numeric...`.
    Numeric,
    /// `Timestamp...`.
    Timestamp,
    /// `BooleanEquals`.
    Boolean,
}

/// The relation a comparison tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// `...Equals`.
    Equals,
    /// `...LessThan`.
    LessThan,
    /// `...GreaterThan`.
    GreaterThan,
    /// `...LessThanEquals`.
    LessThanEquals,
    /// `...GreaterThanEquals`.
    GreaterThanEquals,
}

/// A type test (`IsNull`, `IsPresent`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeTest {
    /// `IsNull`.
    Null,
    /// `IsPresent`.
    Present,
    /// `IsNumeric`.
    Numeric,
    /// `IsString`.
    String,
    /// `IsBoolean`.
    Boolean,
    /// `IsTimestamp`.
    Timestamp,
}

/// A comparison operator with its operand.
#[derive(Debug, Clone, PartialEq)]
pub enum Comparison {
    /// `StringEquals`, `NumericLessThan`, `TimestampGreaterThanEquals`, ... and their `Path` forms.
    Relation {
        /// The operator family.
        family: Family,
        /// The relation.
        relation: Relation,
        /// The operand.
        operand: Operand,
    },
    /// `StringMatches` with its pattern.
    Matches(Operand),
    /// `IsNull`, `IsPresent`, ... with the expected answer.
    Is(TypeTest, bool),
}

const RELATIONS: [(&str, Relation); 5] = [
    ("Equals", Relation::Equals),
    ("LessThan", Relation::LessThan),
    ("GreaterThan", Relation::GreaterThan),
    ("LessThanEquals", Relation::LessThanEquals),
    ("GreaterThanEquals", Relation::GreaterThanEquals),
];

const FAMILIES: [(&str, Family); 4] = [
    ("String", Family::String),
    ("Numeric", Family::Numeric),
    ("Timestamp", Family::Timestamp),
    ("Boolean", Family::Boolean),
];

const TYPE_TESTS: [(&str, TypeTest); 6] = [
    ("IsNull", TypeTest::Null),
    ("IsPresent", TypeTest::Present),
    ("IsNumeric", TypeTest::Numeric),
    ("IsString", TypeTest::String),
    ("IsBoolean", TypeTest::Boolean),
    ("IsTimestamp", TypeTest::Timestamp),
];

fn relation_of(op: &str) -> Option<(Family, Relation)> {
    FAMILIES.iter().find_map(|(prefix, family)| {
        let rest = op.strip_prefix(prefix)?;
        let relation = RELATIONS.iter().find(|(r, _)| *r == rest)?.1;
        (*family != Family::Boolean || relation == Relation::Equals).then_some((*family, relation))
    })
}

impl Comparison {
    /// Whether `op` is a comparison operator name (without a `Path` suffix).
    pub fn is_operator(op: &str) -> bool {
        op == "StringMatches"
            || relation_of(op).is_some()
            || TYPE_TESTS.iter().any(|(name, _)| *name == op)
    }

    /// Builds a comparison from its operator name and operand, checking the operand's type.
    pub fn new(op: &str, operand: Operand) -> Result<Comparison, String> {
        if let Some((_, test)) = TYPE_TESTS.iter().find(|(name, _)| *name == op) {
            return match operand {
                Operand::Const(Value::Bool(b)) => Ok(Comparison::Is(*test, b)),
                _ => Err(format!("{op} takes a boolean")),
            };
        }
        if op == "StringMatches" {
            return match operand {
                Operand::Const(Value::String(_)) | Operand::Path(_) => {
                    Ok(Comparison::Matches(operand))
                }
                _ => Err("StringMatches takes a string".to_string()),
            };
        }
        let (family, relation) = relation_of(op).ok_or_else(|| format!("unknown operator {op}"))?;
        if let Operand::Const(v) = &operand {
            let ok = match family {
                Family::String => v.is_string(),
                Family::Numeric => v.is_number(),
                Family::Boolean => v.is_boolean(),
                Family::Timestamp => v.as_str().and_then(parse_timestamp).is_some(),
            };
            if !ok {
                return Err(format!("{op} has an operand of the wrong type: {v}"));
            }
        }
        Ok(Comparison::Relation {
            family,
            relation,
            operand,
        })
    }
}

/// Parses an ISO-8601 / RFC 3339 date-time with a zone, as Choice timestamps require.
pub fn parse_timestamp(text: &str) -> Option<Timestamp> {
    if !text.contains('T') {
        return None;
    }
    text.parse::<Timestamp>().ok()
}

fn read_operand(operand: &Operand, env: &Env) -> Result<Value, Failure> {
    match operand {
        Operand::Const(v) => Ok(v.clone()),
        Operand::Path(p) => p.select(env).ok_or_else(|| invalid_path(p)),
    }
}

fn invalid_path(path: &Path) -> Failure {
    Failure::runtime(format!(
        "Invalid path '{}': The choice state's condition path references an invalid value.",
        path.as_str()
    ))
}

fn holds(relation: Relation, ordering: Ordering) -> bool {
    match relation {
        Relation::Equals => ordering == Ordering::Equal,
        Relation::LessThan => ordering == Ordering::Less,
        Relation::GreaterThan => ordering == Ordering::Greater,
        Relation::LessThanEquals => ordering != Ordering::Greater,
        Relation::GreaterThanEquals => ordering != Ordering::Less,
    }
}

fn compare_numbers(a: &serde_json::Number, b: &serde_json::Number) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return Some(x.cmp(&y));
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return Some(x.cmp(&y));
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

/// `StringMatches`: `*` matches any run of characters; `\*` and `\\` are literal.
pub fn string_matches(text: &str, pattern: &str) -> bool {
    #[derive(PartialEq)]
    enum Tok {
        Any,
        Char(char),
    }
    let mut toks = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n) => toks.push(Tok::Char(n)),
                None => toks.push(Tok::Char('\\')),
            },
            '*' => toks.push(Tok::Any),
            c => toks.push(Tok::Char(c)),
        }
    }
    let text: Vec<char> = text.chars().collect();
    // Classic wildcard matching with backtracking to the last star.
    let (mut t, mut p) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match toks.get(p) {
            Some(Tok::Char(c)) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            Some(Tok::Any) => {
                star = Some((p, t));
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    toks[p..].iter().all(|tok| *tok == Tok::Any)
}

impl ChoiceRule {
    /// Evaluates the rule. JSONata conditions are evaluated by the caller through `jsonata`.
    pub fn evaluate(
        &self,
        env: &Env,
        jsonata: &mut dyn FnMut(&crate::jsonata::Expression) -> Result<bool, Failure>,
    ) -> Result<bool, Failure> {
        match self {
            ChoiceRule::And(rules) => {
                for r in rules {
                    if !r.evaluate(env, jsonata)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            ChoiceRule::Or(rules) => {
                for r in rules {
                    if r.evaluate(env, jsonata)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            ChoiceRule::Not(r) => Ok(!r.evaluate(env, jsonata)?),
            ChoiceRule::Condition(expr) => jsonata(expr),
            ChoiceRule::Const(b) => Ok(*b),
            ChoiceRule::Compare {
                variable,
                comparison,
            } => {
                let value = variable.select(env);
                if let Comparison::Is(TypeTest::Present, expected) = comparison {
                    return Ok(value.is_some() == *expected);
                }
                let value = value.ok_or_else(|| invalid_path(variable))?;
                compare(&value, comparison, env)
            }
        }
    }
}

fn compare(value: &Value, comparison: &Comparison, env: &Env) -> Result<bool, Failure> {
    Ok(match comparison {
        Comparison::Is(test, expected) => {
            let is = match test {
                TypeTest::Null => value.is_null(),
                TypeTest::Present => true,
                TypeTest::Numeric => value.is_number(),
                TypeTest::String => value.is_string(),
                TypeTest::Boolean => value.is_boolean(),
                TypeTest::Timestamp => value.as_str().and_then(parse_timestamp).is_some(),
            };
            is == *expected
        }
        Comparison::Matches(pattern) => {
            let pattern = read_operand(pattern, env)?;
            match (value.as_str(), pattern.as_str()) {
                (Some(text), Some(pattern)) => string_matches(text, pattern),
                _ => false,
            }
        }
        Comparison::Relation {
            family,
            relation,
            operand,
        } => {
            let other = read_operand(operand, env)?;
            let ordering = match (family, value, &other) {
                (Family::String, Value::String(a), Value::String(b)) => Some(a.cmp(b)),
                (Family::Numeric, Value::Number(a), Value::Number(b)) => compare_numbers(a, b),
                (Family::Boolean, Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
                (Family::Timestamp, Value::String(a), Value::String(b)) => {
                    match (parse_timestamp(a), parse_timestamp(b)) {
                        (Some(x), Some(y)) => Some(x.cmp(&y)),
                        _ => None,
                    }
                }
                _ => None,
            };
            ordering.is_some_and(|o| holds(*relation, o))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, json};

    fn check(op: &str, operand: Value, variable: Value) -> Result<bool, Failure> {
        let rule = ChoiceRule::Compare {
            variable: Box::new(Path::parse("$.v").expect("path")),
            comparison: Comparison::new(op, Operand::Const(operand)).expect("operator"),
        };
        let input = json!({ "v": variable, "other": "x" });
        let vars = Map::new();
        let env = Env {
            input: &input,
            context: &Value::Null,
            variables: &vars,
        };
        rule.evaluate(&env, &mut |_| Ok(false))
    }

    fn yes(op: &str, operand: Value, variable: Value) -> bool {
        check(op, operand, variable).expect("no runtime error")
    }

    #[test]
    fn string_relations() {
        assert!(yes("StringEquals", json!("a"), json!("a")));
        assert!(!yes("StringEquals", json!("a"), json!(1)));
        assert!(yes("StringLessThan", json!("b"), json!("a")));
        assert!(!yes("StringLessThan", json!("a"), json!("a")));
        assert!(yes("StringLessThanEquals", json!("a"), json!("a")));
        assert!(yes("StringGreaterThan", json!("A"), json!("AB")));
        assert!(yes("StringGreaterThanEquals", json!("AB"), json!("AB")));
        assert!(!yes("StringGreaterThanEquals", json!("AB"), json!("A")));
    }

    #[test]
    fn numeric_relations_mix_integers_and_floats() {
        assert!(yes("NumericEquals", json!(1), json!(1.0)));
        assert!(!yes("NumericEquals", json!(1), json!(1.1)));
        assert!(!yes("NumericEquals", json!(1), json!(true)));
        assert!(!yes("NumericEquals", json!(0), json!("0")));
        assert!(yes("NumericLessThan", json!(1), json!(0)));
        assert!(yes("NumericGreaterThan", json!(-1), json!(0)));
        assert!(yes("NumericLessThanEquals", json!(1.5), json!(1.5)));
        assert!(yes("NumericGreaterThanEquals", json!(2), json!(3)));
        assert!(!yes("NumericGreaterThanEquals", json!(2), json!(1)));
    }

    #[test]
    fn boolean_equals() {
        assert!(yes("BooleanEquals", json!(true), json!(true)));
        assert!(!yes("BooleanEquals", json!(false), json!(0)));
        assert!(!yes("BooleanEquals", json!(true), json!("true")));
    }

    #[test]
    fn timestamp_relations() {
        let t = json!("2012-10-09T19:00:55Z");
        assert!(yes(
            "TimestampEquals",
            t.clone(),
            json!("2012-10-09T20:00:55+01:00")
        ));
        assert!(yes(
            "TimestampLessThan",
            json!("2012-10-09T19:00:56Z"),
            t.clone()
        ));
        assert!(yes(
            "TimestampGreaterThan",
            t.clone(),
            json!("2012-10-09T19:00:56Z")
        ));
        assert!(yes("TimestampLessThanEquals", t.clone(), t.clone()));
        assert!(yes("TimestampGreaterThanEquals", t.clone(), t.clone()));
        assert!(!yes("TimestampEquals", t.clone(), json!("2012-10-09")));
        assert!(!yes("TimestampEquals", t, json!(5)));
    }

    #[test]
    fn type_tests() {
        assert!(yes("IsNull", json!(true), json!(null)));
        assert!(yes("IsNull", json!(false), json!(0)));
        assert!(yes("IsNumeric", json!(true), json!(1.5)));
        assert!(!yes("IsNumeric", json!(true), json!("1")));
        assert!(yes("IsString", json!(true), json!("")));
        assert!(yes("IsBoolean", json!(true), json!(false)));
        assert!(!yes("IsBoolean", json!(true), json!([])));
        assert!(yes(
            "IsTimestamp",
            json!(true),
            json!("2012-10-09T19:00:55Z")
        ));
        assert!(!yes(
            "IsTimestamp",
            json!(true),
            json!("2012-10-09T19:00:55")
        ));
        assert!(yes("IsPresent", json!(true), json!(null)));
    }

    #[test]
    fn is_present_on_a_missing_variable_is_false_not_an_error() {
        let rule = ChoiceRule::Compare {
            variable: Box::new(Path::parse("$.missing").expect("path")),
            comparison: Comparison::Is(TypeTest::Present, false),
        };
        let input = json!({});
        let vars = Map::new();
        let env = Env {
            input: &input,
            context: &Value::Null,
            variables: &vars,
        };
        assert_eq!(rule.evaluate(&env, &mut |_| Ok(false)), Ok(true));
    }

    #[test]
    fn a_missing_variable_is_a_runtime_error() {
        let rule = ChoiceRule::Compare {
            variable: Box::new(Path::parse("$.missing").expect("path")),
            comparison: Comparison::Is(TypeTest::Null, true),
        };
        let input = json!({});
        let vars = Map::new();
        let env = Env {
            input: &input,
            context: &Value::Null,
            variables: &vars,
        };
        let err = rule
            .evaluate(&env, &mut |_| Ok(false))
            .expect_err("missing");
        assert_eq!(err.error, "States.Runtime");
        assert!(err.cause.contains("$.missing"));
    }

    #[test]
    fn string_matches_wildcards_and_escapes() {
        assert!(string_matches("log-2023.txt", "log-*.txt"));
        assert!(string_matches("anything", "*"));
        assert!(string_matches("", "*"));
        assert!(!string_matches("log.txt", "log-*"));
        assert!(string_matches("a*b", "a\\*b"));
        assert!(!string_matches("axb", "a\\*b"));
        assert!(string_matches("a\\b", "a\\\\b"));
        assert!(string_matches("abcbc", "a*bc"));
        assert!(yes("StringMatches", json!("x*"), json!("xyz")));
        assert!(!yes("StringMatches", json!("x*"), json!(1)));
    }

    #[test]
    fn path_operands_and_combinators() {
        let input = json!({"a": 1, "b": 2, "s": "x"});
        let vars = Map::new();
        let env = Env {
            input: &input,
            context: &Value::Null,
            variables: &vars,
        };
        let less = ChoiceRule::Compare {
            variable: Box::new(Path::parse("$.a").expect("path")),
            comparison: Comparison::new(
                "NumericLessThan",
                Operand::Path(Path::parse("$.b").expect("path")),
            )
            .expect("op"),
        };
        let missing = ChoiceRule::Compare {
            variable: Box::new(Path::parse("$.a").expect("path")),
            comparison: Comparison::new(
                "NumericLessThan",
                Operand::Path(Path::parse("$.zz").expect("path")),
            )
            .expect("op"),
        };
        let mut never = |_: &crate::jsonata::Expression| Ok(false);
        assert_eq!(less.evaluate(&env, &mut never), Ok(true));
        let not = ChoiceRule::Not(Box::new(less.clone()));
        assert_eq!(not.evaluate(&env, &mut never), Ok(false));
        let and = ChoiceRule::And(vec![less.clone(), not.clone()]);
        assert_eq!(and.evaluate(&env, &mut never), Ok(false));
        let or = ChoiceRule::Or(vec![not, less]);
        assert_eq!(or.evaluate(&env, &mut never), Ok(true));
        assert!(missing.evaluate(&env, &mut never).is_err());
    }

    #[test]
    fn operands_of_the_wrong_type_are_rejected_when_built() {
        assert!(Comparison::new("NumericEquals", Operand::Const(json!("1"))).is_err());
        assert!(Comparison::new("TimestampEquals", Operand::Const(json!("yesterday"))).is_err());
        assert!(Comparison::new("IsNull", Operand::Const(json!(1))).is_err());
        assert!(Comparison::new("BooleanLessThan", Operand::Const(json!(true))).is_err());
        assert!(Comparison::is_operator("StringMatches"));
        assert!(!Comparison::is_operator("StringMatchesPath"));
    }
}
