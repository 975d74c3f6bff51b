//! SNS subscription filter policies: parsed and checked once (`FilterPolicy::parse`), then matched
//! against each published message (`FilterPolicy::matches`).
//!
//! # What a policy says
//! A policy is a JSON object. Each key names a message attribute (scope `MessageAttributes`, the
//! default) or a property of the JSON message body (scope `MessageBody`, where a key may hold a
//! nested object to reach deeper properties). A message matches when every key matches (AND);
//! a key matches when at least one of the conditions in its array does (OR). A key `"$or"` whose
//! value is an array of at least two non-empty objects is an alternative of sub-policies (one
//! must match); otherwise `"$or"` is an ordinary key, as AWS reads it. An empty policy (`{}`)
//! matches every message.
//!
//! | Condition | Matches |
//! | --- | --- |
//! | `"text"`, `12.5`, `true`, `null` | a value equal to it (numbers compared with 5 decimals) |
//! | `{"prefix": "ab"}`, `{"suffix": "yz"}` | a string value that starts / ends with it |
//! | `{"equals-ignore-case": "Red"}` | a string value equal to it, case aside |
//! | `{"anything-but": X}` | a present value none of whose values is `X` (a value, a list of values, or `{"prefix": "ab"}`) |
//! | `{"numeric": [">", 0, "<=", 150]}` | a number value in the range (`=`, `<`, `<=`, `>`, `>=`; one comparison, or a lower then an upper bound) |
//! | `{"exists": true}` / `{"exists": false}` | the key is present / absent |
//! | `{"cidr": "10.0.0.0/24"}` | a string value that is an IP address in the block |
//!
//! Values come from attributes of type `String` (one string), `Number` (one number),
//! `String.Array` (each element of the JSON array on its own; `anything-but` then needs every
//! element to be outside the list); `Binary` attributes are not seen by filter policies. In the
//! body, an array value is matched element by element the same way; a message whose body is not a
//! JSON object matches no policy that has keys.
//!
//! # Limits (AWS's)
//! A policy may have at most five keys along any one alternative, and at most 150 combinations
//! (the product of the condition counts, summed over `$or` alternatives). Numbers lie between
//! -1,000,000,000 and 1,000,000,000. Scope `MessageAttributes` refuses nested objects.
//! `anything-but` with `suffix` is refused, as AWS refuses it.

use serde_json::{Map, Value};
use std::net::IpAddr;

/// The most keys along one alternative of a policy.
const MAX_KEYS: usize = 5;

/// The most value combinations of a policy.
const MAX_COMBINATIONS: u64 = 150;

/// The largest number a policy or a compared value may hold.
const MAX_NUMBER: f64 = 1e9;

/// What a filter policy is applied to (`FilterPolicyScope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scope {
    /// The message's attributes (SNS's default).
    #[default]
    MessageAttributes,
    /// The message's JSON body.
    MessageBody,
}

impl Scope {
    /// The scope named `text` (`MessageAttributes` or `MessageBody`).
    pub fn parse(text: &str) -> Option<Scope> {
        match text {
            "MessageAttributes" => Some(Scope::MessageAttributes),
            "MessageBody" => Some(Scope::MessageBody),
            _ => None,
        }
    }

    /// Its name, as SNS writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::MessageAttributes => "MessageAttributes",
            Scope::MessageBody => "MessageBody",
        }
    }
}

/// A checked filter policy with its scope.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterPolicy {
    scope: Scope,
    root: Policy,
}

/// One level of a policy: keys that must all match, and `$or` groups of which one alternative
/// must match.
#[derive(Debug, Clone, PartialEq, Default)]
struct Policy {
    keys: Vec<(String, Node)>,
    alternatives: Vec<Vec<Policy>>,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    /// Conditions on one value, any of which may match.
    Leaf(Vec<Condition>),
    /// A policy on a nested object of the body.
    Nested(Policy),
}

#[derive(Debug, Clone, PartialEq)]
enum Condition {
    Equals(Scalar),
    Prefix(String),
    Suffix(String),
    EqualsIgnoreCase(String),
    AnythingBut(Excluded),
    Numeric(Vec<(Comparison, f64)>),
    Exists(bool),
    Cidr(IpAddr, u32),
}

#[derive(Debug, Clone, PartialEq)]
enum Excluded {
    Values(Vec<Scalar>),
    Prefix(String),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Comparison {
    Equal,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

/// A value a condition compares.
#[derive(Debug, Clone, PartialEq)]
enum Scalar {
    Text(String),
    Number(f64),
    Bool(bool),
    Null,
}

impl Scalar {
    fn of(value: &Value) -> Option<Scalar> {
        match value {
            Value::String(text) => Some(Scalar::Text(text.clone())),
            Value::Number(n) => n.as_f64().map(Scalar::Number),
            Value::Bool(b) => Some(Scalar::Bool(*b)),
            Value::Null => Some(Scalar::Null),
            Value::Array(_) | Value::Object(_) => None,
        }
    }

    fn same(&self, other: &Scalar) -> bool {
        match (self, other) {
            (Scalar::Number(a), Scalar::Number(b)) => five_decimals(*a) == five_decimals(*b),
            _ => self == other,
        }
    }
}

/// A number at the precision SNS compares (five decimals).
fn five_decimals(n: f64) -> i64 {
    (n * 100_000.0).round() as i64
}

/// What a key finds in a message: nothing, or its values (none for a value no condition reads,
/// such as an object).
enum Field {
    Absent,
    Present(Vec<Scalar>),
}

impl FilterPolicy {
    /// Reads and checks a policy for `scope`; the problem in SNS's words
    /// (`Invalid parameter: FilterPolicy: ...`) when it is not one.
    pub fn parse(text: &str, scope: Scope) -> Result<FilterPolicy, String> {
        let refuse = |why: String| format!("Invalid parameter: FilterPolicy: {why}");
        let value: Value =
            serde_json::from_str(text).map_err(|e| refuse(format!("failed to parse JSON: {e}")))?;
        let Value::Object(object) = value else {
            return Err(refuse("Filter policy must be a JSON object".to_string()));
        };
        let root = policy(&object, scope).map_err(refuse)?;
        let keys = root.most_keys();
        if keys > MAX_KEYS {
            return Err(refuse(format!(
                "Filter policy can not have more than {MAX_KEYS} keys (it has {keys})"
            )));
        }
        let combinations = root.combinations();
        if combinations > MAX_COMBINATIONS {
            return Err(refuse(format!(
                "Filter policy is too complex: {combinations} combinations, the limit is \
                 {MAX_COMBINATIONS}"
            )));
        }
        Ok(FilterPolicy { scope, root })
    }

    /// Its scope.
    pub fn scope(&self) -> Scope {
        self.scope
    }

    /// Whether a message with these attributes (`{"name": {"DataType", "StringValue" |
    /// "BinaryValue"}}`) and this body passes the policy.
    pub fn matches(&self, attributes: &Map<String, Value>, message: &str) -> bool {
        if self.root.is_empty() {
            return true;
        }
        match self.scope {
            Scope::MessageAttributes => self.root.matches(&Data::Attributes(attributes)),
            Scope::MessageBody => match serde_json::from_str::<Value>(message) {
                Ok(Value::Object(body)) => self.root.matches(&Data::Body(Some(&body))),
                _ => false,
            },
        }
    }
}

/// Where keys are looked up.
enum Data<'a> {
    Attributes(&'a Map<String, Value>),
    /// A body object; `None` below a property that is missing or not an object.
    Body(Option<&'a Map<String, Value>>),
}

impl Data<'_> {
    fn field(&self, key: &str) -> Field {
        match self {
            Data::Attributes(attributes) => match attributes.get(key) {
                None => Field::Absent,
                Some(attribute) => attribute_field(attribute),
            },
            Data::Body(object) => match object.and_then(|o| o.get(key)) {
                None => Field::Absent,
                Some(Value::Array(items)) => {
                    Field::Present(items.iter().filter_map(Scalar::of).collect())
                }
                Some(value) => Field::Present(Scalar::of(value).into_iter().collect()),
            },
        }
    }

    fn nested(&self, key: &str) -> Data<'_> {
        match self {
            Data::Body(Some(object)) => Data::Body(object.get(key).and_then(Value::as_object)),
            _ => Data::Body(None),
        }
    }
}

/// What a message attribute offers a policy, by its data type.
fn attribute_field(attribute: &Value) -> Field {
    let data_type = attribute
        .get("DataType")
        .or_else(|| attribute.get("Type"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let text = attribute
        .get("StringValue")
        .or_else(|| attribute.get("Value"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    match data_type.split('.').next().unwrap_or_default() {
        "Binary" => Field::Absent,
        "Number" => Field::Present(
            text.trim()
                .parse::<f64>()
                .ok()
                .map(Scalar::Number)
                .into_iter()
                .collect(),
        ),
        _ if data_type == "String.Array" => match serde_json::from_str::<Value>(text) {
            Ok(Value::Array(items)) => {
                Field::Present(items.iter().filter_map(Scalar::of).collect())
            }
            _ => Field::Present(Vec::new()),
        },
        _ => Field::Present(vec![Scalar::Text(text.to_string())]),
    }
}

impl Policy {
    fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.alternatives.is_empty()
    }

    fn matches(&self, data: &Data<'_>) -> bool {
        self.keys.iter().all(|(key, node)| match node {
            Node::Leaf(conditions) => {
                let field = data.field(key);
                conditions.iter().any(|c| c.matches(&field))
            }
            Node::Nested(policy) => policy.matches(&data.nested(key)),
        }) && self
            .alternatives
            .iter()
            .all(|group| group.iter().any(|policy| policy.matches(data)))
    }

    /// The most keys one message is checked against along any choice of alternatives.
    fn most_keys(&self) -> usize {
        let own: usize = self
            .keys
            .iter()
            .map(|(_, node)| match node {
                Node::Leaf(_) => 1,
                Node::Nested(policy) => policy.most_keys(),
            })
            .sum();
        let chosen: usize = self
            .alternatives
            .iter()
            .map(|group| group.iter().map(Policy::most_keys).max().unwrap_or(0))
            .sum();
        own + chosen
    }

    fn combinations(&self) -> u64 {
        let own = self.keys.iter().fold(1u64, |product, (_, node)| {
            product.saturating_mul(match node {
                Node::Leaf(conditions) => conditions.len() as u64,
                Node::Nested(policy) => policy.combinations(),
            })
        });
        self.alternatives.iter().fold(own, |product, group| {
            product.saturating_mul(group.iter().map(Policy::combinations).sum())
        })
    }
}

/// Whether `value` is an `$or` group as AWS recognises one.
fn is_or_group(value: &Value) -> bool {
    value.as_array().is_some_and(|items| {
        items.len() >= 2
            && items
                .iter()
                .all(|item| item.as_object().is_some_and(|o| !o.is_empty()))
    })
}

fn policy(object: &Map<String, Value>, scope: Scope) -> Result<Policy, String> {
    let mut out = Policy::default();
    for (key, value) in object {
        if key == "$or" && is_or_group(value) {
            let group = value
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_object)
                .map(|o| policy(o, scope))
                .collect::<Result<Vec<_>, _>>()?;
            out.alternatives.push(group);
            continue;
        }
        let node = match value {
            Value::Array(items) if items.is_empty() => {
                return Err(format!("Empty arrays are not allowed (key \"{key}\")"));
            }
            Value::Array(items) => Node::Leaf(
                items
                    .iter()
                    .map(|item| condition(key, item))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(nested) if scope == Scope::MessageBody => {
                Node::Nested(policy(nested, scope)?)
            }
            Value::Object(_) => {
                return Err(format!(
                    "Filter policy scope MessageAttributes does not support nested filter \
                     policy (key \"{key}\")"
                ));
            }
            _ => {
                return Err(format!(
                    "\"{key}\" must be an object or an array of conditions"
                ));
            }
        };
        out.keys.push((key.clone(), node));
    }
    Ok(out)
}

fn number(key: &str, value: &Value) -> Result<f64, String> {
    let n = value
        .as_f64()
        .ok_or_else(|| format!("Value of \"{key}\" must be numeric, not {value}"))?;
    if n.abs() > MAX_NUMBER {
        return Err(format!(
            "Value of \"{key}\" ({n}) must be between -1000000000 and 1000000000"
        ));
    }
    Ok(n)
}

fn text<'v>(key: &str, operator: &str, value: &'v Value) -> Result<&'v str, String> {
    value
        .as_str()
        .ok_or_else(|| format!("\"{operator}\" of \"{key}\" must be a string, not {value}"))
}

fn condition(key: &str, item: &Value) -> Result<Condition, String> {
    let object = match item {
        Value::Number(_) => return Ok(Condition::Equals(Scalar::Number(number(key, item)?))),
        Value::Array(_) => {
            return Err(format!(
                "Match value of \"{key}\" must be a string, number, true, false, null or an \
                 operator object"
            ));
        }
        Value::Object(object) => object,
        scalar => {
            return Ok(Condition::Equals(
                Scalar::of(scalar).unwrap_or(Scalar::Null),
            ));
        }
    };
    let mut entries = object.iter();
    let (Some((operator, operand)), None) = (entries.next(), entries.next()) else {
        return Err(format!(
            "an operator object of \"{key}\" must have exactly one operator"
        ));
    };
    let operator = operator.as_str();
    Ok(match operator {
        "prefix" => Condition::Prefix(text(key, operator, operand)?.to_string()),
        "suffix" => Condition::Suffix(text(key, operator, operand)?.to_string()),
        "equals-ignore-case" => {
            Condition::EqualsIgnoreCase(text(key, operator, operand)?.to_lowercase())
        }
        "exists" => Condition::Exists(
            operand
                .as_bool()
                .ok_or_else(|| format!("\"exists\" of \"{key}\" must be true or false"))?,
        ),
        "anything-but" => Condition::AnythingBut(excluded(key, operand)?),
        "numeric" => Condition::Numeric(numeric(key, operand)?),
        "cidr" => {
            let block = text(key, operator, operand)?;
            let (address, bits) =
                cidr(block).ok_or_else(|| format!("Malformed CIDR, one '/' required ({block})"))?;
            Condition::Cidr(address, bits)
        }
        other => return Err(format!("Unrecognized match type {other}")),
    })
}

fn excluded(key: &str, operand: &Value) -> Result<Excluded, String> {
    let scalar = |value: &Value| -> Result<Scalar, String> {
        match value {
            Value::String(text) => Ok(Scalar::Text(text.clone())),
            Value::Number(_) => Ok(Scalar::Number(number(key, value)?)),
            other => Err(format!(
                "\"anything-but\" of \"{key}\" takes strings or numbers, not {other}"
            )),
        }
    };
    match operand {
        Value::Array(items) if items.is_empty() => Err(format!(
            "Empty arrays are not allowed (\"anything-but\" of \"{key}\")"
        )),
        Value::Array(items) => Ok(Excluded::Values(
            items.iter().map(scalar).collect::<Result<_, _>>()?,
        )),
        Value::Object(object) => match (object.len(), object.get("prefix")) {
            (1, Some(prefix)) => Ok(Excluded::Prefix(text(key, "prefix", prefix)?.to_string())),
            _ => Err(format!(
                "Unsupported anything-but pattern for \"{key}\": {operand} (only prefix is \
                 supported)"
            )),
        },
        value => Ok(Excluded::Values(vec![scalar(value)?])),
    }
}

fn numeric(key: &str, operand: &Value) -> Result<Vec<(Comparison, f64)>, String> {
    let bad = || {
        format!(
            "\"numeric\" of \"{key}\" must be [OPERATOR, NUMBER] or [\">\"|\">=\", NUMBER, \
             \"<\"|\"<=\", NUMBER], not {operand}"
        )
    };
    let items = operand.as_array().ok_or_else(bad)?;
    let mut comparisons = Vec::new();
    for pair in items.chunks(2) {
        let [operator, bound] = pair else {
            return Err(bad());
        };
        let comparison = match operator.as_str() {
            Some("=") => Comparison::Equal,
            Some("<") => Comparison::Less,
            Some("<=") => Comparison::LessOrEqual,
            Some(">") => Comparison::Greater,
            Some(">=") => Comparison::GreaterOrEqual,
            _ => return Err(format!("Unrecognized numeric range operator: {operator}")),
        };
        comparisons.push((comparison, number(key, bound)?));
    }
    let lower = |c: Comparison| matches!(c, Comparison::Greater | Comparison::GreaterOrEqual);
    let upper = |c: Comparison| matches!(c, Comparison::Less | Comparison::LessOrEqual);
    match comparisons.as_slice() {
        [_] => Ok(comparisons),
        [(low, from), (high, to)] if lower(*low) && upper(*high) && from < to => Ok(comparisons),
        _ => Err(bad()),
    }
}

/// An address block `ADDRESS/BITS`: the address and the prefix length.
fn cidr(block: &str) -> Option<(IpAddr, u32)> {
    let (address, bits) = block.split_once('/')?;
    let address: IpAddr = address.parse().ok()?;
    let bits: u32 = bits.parse().ok()?;
    let most = if address.is_ipv4() { 32 } else { 128 };
    (bits <= most).then_some((address, bits))
}

/// Whether `address` lies in the block `network/bits`.
fn in_block(address: &str, network: IpAddr, bits: u32) -> bool {
    let Ok(address) = address.parse::<IpAddr>() else {
        return false;
    };
    let (value, base, width) = match (address, network) {
        (IpAddr::V4(a), IpAddr::V4(n)) => (u128::from(u32::from(a)), u128::from(u32::from(n)), 32),
        (IpAddr::V6(a), IpAddr::V6(n)) => (u128::from(a), u128::from(n), 128),
        _ => return false,
    };
    let shift = width - bits;
    if shift >= 128 {
        return true;
    }
    (value >> shift) == (base >> shift)
}

impl Condition {
    fn matches(&self, field: &Field) -> bool {
        let values = match field {
            Field::Absent => return matches!(self, Condition::Exists(false)),
            Field::Present(values) => values,
        };
        match self {
            Condition::Exists(exists) => *exists,
            Condition::AnythingBut(excluded) => {
                !values.is_empty() && values.iter().all(|v| !excluded.holds(v))
            }
            _ => values.iter().any(|value| self.matches_value(value)),
        }
    }

    fn matches_value(&self, value: &Scalar) -> bool {
        let text = match value {
            Scalar::Text(text) => Some(text.as_str()),
            _ => None,
        };
        match self {
            Condition::Equals(expected) => expected.same(value),
            Condition::Prefix(prefix) => text.is_some_and(|t| t.starts_with(prefix.as_str())),
            Condition::Suffix(suffix) => text.is_some_and(|t| t.ends_with(suffix.as_str())),
            Condition::EqualsIgnoreCase(lower) => text.is_some_and(|t| t.to_lowercase() == *lower),
            Condition::Numeric(comparisons) => match value {
                Scalar::Number(n) => comparisons.iter().all(|(comparison, bound)| {
                    let (n, bound) = (five_decimals(*n), five_decimals(*bound));
                    match comparison {
                        Comparison::Equal => n == bound,
                        Comparison::Less => n < bound,
                        Comparison::LessOrEqual => n <= bound,
                        Comparison::Greater => n > bound,
                        Comparison::GreaterOrEqual => n >= bound,
                    }
                }),
                _ => false,
            },
            Condition::Cidr(network, bits) => text.is_some_and(|t| in_block(t, *network, *bits)),
            Condition::Exists(_) | Condition::AnythingBut(_) => false,
        }
    }
}

impl Excluded {
    fn holds(&self, value: &Scalar) -> bool {
        match self {
            Excluded::Values(values) => values.iter().any(|v| v.same(value)),
            Excluded::Prefix(prefix) => {
                matches!(value, Scalar::Text(text) if text.starts_with(prefix.as_str()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attributes(pairs: &[(&str, &str, &str)]) -> Map<String, Value> {
        pairs
            .iter()
            .map(|(name, data_type, value)| {
                let member = if *data_type == "Binary" {
                    "BinaryValue"
                } else {
                    "StringValue"
                };
                (
                    name.to_string(),
                    json!({"DataType": data_type, member: value}),
                )
            })
            .collect()
    }

    fn on_attributes(policy: Value, pairs: &[(&str, &str, &str)]) -> bool {
        FilterPolicy::parse(&policy.to_string(), Scope::MessageAttributes)
            .expect("a valid policy")
            .matches(&attributes(pairs), "")
    }

    fn on_body(policy: Value, body: Value) -> bool {
        FilterPolicy::parse(&policy.to_string(), Scope::MessageBody)
            .expect("a valid policy")
            .matches(&Map::new(), &body.to_string())
    }

    fn refused(policy: Value, scope: Scope) -> String {
        FilterPolicy::parse(&policy.to_string(), scope).expect_err("an invalid policy")
    }

    #[test]
    fn an_empty_policy_matches_everything() {
        assert!(on_attributes(json!({}), &[]));
        assert!(on_body(json!({}), json!("not an object")));
    }

    #[test]
    fn exact_strings_and_numbers_match_any_listed_value() {
        let policy = json!({"sport": ["rugby", "tennis"]});
        assert!(on_attributes(
            policy.clone(),
            &[("sport", "String", "rugby")]
        ));
        assert!(!on_attributes(
            policy.clone(),
            &[("sport", "String", "baseball")]
        ));
        assert!(
            !on_attributes(policy.clone(), &[]),
            "absent keys never match"
        );
        assert!(on_attributes(
            policy.clone(),
            &[("sport", "String.Array", r#"["golf", "tennis"]"#)]
        ));
        assert!(!on_attributes(
            policy,
            &[("sport", "String.Array", r#"["golf"]"#)]
        ));
        let price = json!({"price": [100]});
        assert!(on_attributes(
            price.clone(),
            &[("price", "Number", "100.0")]
        ));
        assert!(on_attributes(
            price.clone(),
            &[("price", "Number", "100.000001")]
        ));
        assert!(
            !on_attributes(price.clone(), &[("price", "String", "100")]),
            "a number matches Number attributes only"
        );
        assert!(!on_attributes(price, &[("price", "Binary", "MTAw")]));
        assert!(on_body(json!({"flag": [true]}), json!({"flag": true})));
        assert!(on_body(json!({"gone": [null]}), json!({"gone": null})));
    }

    #[test]
    fn keys_are_and_and_values_are_or() {
        let policy = json!({"sport": ["rugby"], "size": ["big", "small"]});
        assert!(on_attributes(
            policy.clone(),
            &[("sport", "String", "rugby"), ("size", "String", "small")]
        ));
        assert!(!on_attributes(policy, &[("sport", "String", "rugby")]));
    }

    #[test]
    fn prefix_suffix_and_equals_ignore_case_match_strings() {
        let prefix = json!({"region": [{"prefix": "us-"}]});
        assert!(on_attributes(
            prefix.clone(),
            &[("region", "String", "us-east-1")]
        ));
        assert!(!on_attributes(prefix, &[("region", "String", "eu-west-1")]));
        let suffix = json!({"file": [{"suffix": ".png"}]});
        assert!(on_attributes(
            suffix.clone(),
            &[("file", "String", "cat.png")]
        ));
        assert!(!on_attributes(suffix, &[("file", "String", "cat.jpg")]));
        let case = json!({"colour": [{"equals-ignore-case": "Red"}]});
        assert!(on_attributes(case.clone(), &[("colour", "String", "rED")]));
        assert!(!on_attributes(case, &[("colour", "String", "redder")]));
    }

    #[test]
    fn anything_but_needs_a_present_value_outside_the_list() {
        let policy = json!({"sport": [{"anything-but": ["rugby", "tennis"]}]});
        assert!(on_attributes(
            policy.clone(),
            &[("sport", "String", "golf")]
        ));
        assert!(!on_attributes(
            policy.clone(),
            &[("sport", "String", "rugby")]
        ));
        assert!(
            !on_attributes(policy.clone(), &[]),
            "an absent key is not anything-but"
        );
        assert!(
            !on_attributes(
                policy.clone(),
                &[("sport", "String.Array", r#"["golf", "rugby"]"#)]
            ),
            "every element must be outside the list"
        );
        assert!(on_attributes(
            policy,
            &[("sport", "String.Array", r#"["golf", "polo"]"#)]
        ));
        let single = json!({"n": [{"anything-but": 5}]});
        assert!(on_attributes(single.clone(), &[("n", "Number", "6")]));
        assert!(!on_attributes(single, &[("n", "Number", "5")]));
        let prefix = json!({"region": [{"anything-but": {"prefix": "us-"}}]});
        assert!(on_attributes(
            prefix.clone(),
            &[("region", "String", "eu-west-1")]
        ));
        assert!(!on_attributes(prefix, &[("region", "String", "us-west-2")]));
        let with_absent = json!({"sport": [{"anything-but": "rugby"}, {"exists": false}]});
        assert!(on_attributes(with_absent, &[]));
    }

    #[test]
    fn numeric_ranges_compare_numbers() {
        let range = json!({"price": [{"numeric": [">", 0, "<=", 150]}]});
        assert!(on_attributes(range.clone(), &[("price", "Number", "150")]));
        assert!(!on_attributes(range.clone(), &[("price", "Number", "0")]));
        assert!(!on_attributes(
            range.clone(),
            &[("price", "Number", "150.5")]
        ));
        assert!(!on_attributes(range, &[("price", "String", "10")]));
        let equal = json!({"price": [{"numeric": ["=", 3.5]}]});
        assert!(on_attributes(equal, &[("price", "Number", "3.50")]));
        for (operator, value, expected) in [
            ("<", "9", true),
            ("<", "10", false),
            ("<=", "10", true),
            (">", "10", false),
            (">=", "10", true),
        ] {
            let policy = json!({"n": [{"numeric": [operator, 10]}]});
            assert_eq!(
                on_attributes(policy, &[("n", "Number", value)]),
                expected,
                "{value} {operator} 10"
            );
        }
        assert!(on_body(
            json!({"price": [{"numeric": [">=", 10]}]}),
            json!({"price": 12})
        ));
    }

    #[test]
    fn exists_checks_presence() {
        let present = json!({"store": [{"exists": true}]});
        assert!(on_attributes(present.clone(), &[("store", "String", "x")]));
        assert!(!on_attributes(present, &[]));
        let absent = json!({"store": [{"exists": false}]});
        assert!(on_attributes(absent.clone(), &[]));
        assert!(!on_attributes(absent, &[("store", "String", "x")]));
        assert!(on_body(
            json!({"a": {"b": [{"exists": false}]}}),
            json!({"c": 1})
        ));
    }

    #[test]
    fn cidr_matches_addresses_in_the_block() {
        let policy = json!({"source_ip": [{"cidr": "10.0.0.0/24"}]});
        assert!(on_attributes(
            policy.clone(),
            &[("source_ip", "String", "10.0.0.255")]
        ));
        assert!(!on_attributes(
            policy.clone(),
            &[("source_ip", "String", "10.0.1.0")]
        ));
        assert!(!on_attributes(
            policy,
            &[("source_ip", "String", "not an ip")]
        ));
        let v6 = json!({"ip": [{"cidr": "2001:db8::/32"}]});
        assert!(on_attributes(v6, &[("ip", "String", "2001:db8::1")]));
    }

    #[test]
    fn or_groups_need_one_alternative() {
        let policy = json!({
            "source": ["aws.cloudwatch"],
            "$or": [{"metric": ["CPU"]}, {"namespace": ["AWS/EC2"]}]
        });
        assert!(on_attributes(
            policy.clone(),
            &[
                ("source", "String", "aws.cloudwatch"),
                ("metric", "String", "CPU")
            ]
        ));
        assert!(on_attributes(
            policy.clone(),
            &[
                ("source", "String", "aws.cloudwatch"),
                ("namespace", "String", "AWS/EC2")
            ]
        ));
        assert!(!on_attributes(
            policy,
            &[
                ("source", "String", "aws.cloudwatch"),
                ("metric", "String", "RAM")
            ]
        ));
        // With fewer than two alternatives "$or" is an ordinary attribute name.
        let plain = json!({"$or": ["x"]});
        assert!(on_attributes(plain, &[("$or", "String", "x")]));
    }

    #[test]
    fn body_policies_reach_nested_properties() {
        let policy = json!({"order": {"status": ["paid"], "total": [{"numeric": [">", 10]}]}});
        assert!(on_body(
            policy.clone(),
            json!({"order": {"status": "paid", "total": 12}})
        ));
        assert!(!on_body(
            policy.clone(),
            json!({"order": {"status": "paid", "total": 5}})
        ));
        assert!(!on_body(
            policy.clone(),
            json!({"status": "paid", "total": 12})
        ));
        assert!(!on_body(policy, json!("not an object")));
        assert!(on_body(
            json!({"tags": ["urgent"]}),
            json!({"tags": ["later", "urgent"]})
        ));
    }

    #[test]
    fn malformed_policies_are_refused_with_the_reason() {
        let attrs = Scope::MessageAttributes;
        assert!(refused(json!(["x"]), attrs).contains("must be a JSON object"));
        assert!(refused(json!({"a": []}), attrs).contains("Empty arrays"));
        assert!(refused(json!({"a": "x"}), attrs).contains("must be an object or an array"));
        assert!(refused(json!({"a": {"b": ["x"]}}), attrs).contains("nested"));
        assert!(
            refused(json!({"a": [{"regex": "x"}]}), attrs)
                .contains("Unrecognized match type regex")
        );
        assert!(refused(json!({"a": [{"numeric": ["<", 1, ">", 0]}]}), attrs).contains("numeric"));
        assert!(refused(json!({"a": [{"numeric": ["~", 1]}]}), attrs).contains("operator"));
        assert!(refused(json!({"a": [{"exists": "yes"}]}), attrs).contains("exists"));
        assert!(refused(json!({"a": [2e9]}), attrs).contains("between"));
        assert!(
            refused(json!({"a": [{"anything-but": {"suffix": "x"}}]}), attrs)
                .contains("anything-but")
        );
        assert!(refused(json!({"a": [{"cidr": "10.0.0.0"}]}), attrs).contains("CIDR"));
        assert!(
            refused(json!({"a": [{"prefix": "x", "suffix": "y"}]}), attrs).contains("exactly one")
        );
        let six = json!({"a": ["1"], "b": ["1"], "c": ["1"], "d": ["1"], "e": ["1"], "f": ["1"]});
        assert!(refused(six, attrs).contains("more than 5 keys"));
        let values: Vec<Value> = (0..13).map(|n| json!(n.to_string())).collect();
        let big = json!({"a": values, "b": values});
        assert!(refused(big, attrs).contains("too complex"));
        assert!(refused(json!("{"), attrs).starts_with("Invalid parameter: FilterPolicy:"));
    }
}
