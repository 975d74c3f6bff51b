//! Queue attributes as SQS defines them: names, defaults, allowed ranges, and the redrive
//! policies, checked with SQS's error wording (`InvalidAttributeName`, `InvalidAttributeValue`).

use serde_json::Value;
use std::collections::BTreeMap;

/// The attributes a queue's owner sets, with SQS's defaults.
pub(crate) const DEFAULTS: [(&str, &str); 5] = [
    ("DelaySeconds", "0"),
    ("MaximumMessageSize", "262144"),
    ("MessageRetentionPeriod", "345600"),
    ("ReceiveMessageWaitTimeSeconds", "0"),
    ("VisibilityTimeout", "30"),
];

/// Settable attributes that are numbers, with their inclusive range.
const RANGES: [(&str, u64, u64); 5] = [
    ("DelaySeconds", 0, 900),
    ("MaximumMessageSize", 1024, 1_048_576),
    ("MessageRetentionPeriod", 60, 1_209_600),
    ("ReceiveMessageWaitTimeSeconds", 0, 20),
    ("VisibilityTimeout", 0, 43_200),
];

/// Settable attributes weir stores but does not act on (encryption and access policy belong to
/// AWS's infrastructure).
const KEPT: [&str; 6] = [
    "Policy",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "SqsManagedSseEnabled",
    "DeduplicationScope",
    "FifoThroughputLimit",
];

/// Attributes only a FIFO queue takes.
const FIFO_ONLY: [&str; 3] = [
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
];

/// A queue's parsed `RedrivePolicy`.
#[derive(Debug, Clone, PartialEq)]
pub struct RedrivePolicy {
    /// The dead-letter queue's ARN.
    pub dead_letter_target_arn: String,
    /// Receives before a message moves there.
    pub max_receive_count: u64,
}

/// Why an attribute is refused: SQS's error code and message.
pub(crate) type Refusal = (&'static str, String);

fn invalid_value(name: &str, why: &str) -> Refusal {
    (
        "InvalidAttributeValue",
        format!("Invalid value for the parameter {name}. Reason: {why}"),
    )
}

/// Checks attributes to set on a queue (`fifo`: whether it is a FIFO queue) and returns them
/// normalised; the first problem is refused as SQS refuses it.
pub(crate) fn check(
    given: &BTreeMap<String, String>,
    fifo: bool,
) -> Result<BTreeMap<String, String>, Refusal> {
    let mut out = BTreeMap::new();
    for (name, value) in given {
        let name = name.as_str();
        if let Some((_, low, high)) = RANGES.iter().find(|(n, _, _)| *n == name) {
            let number: u64 = value.trim().parse().map_err(|_| {
                invalid_value(name, &format!("Must be an integer from {low} to {high}."))
            })?;
            if number < *low || number > *high {
                return Err(invalid_value(
                    name,
                    &format!("Must be an integer from {low} to {high}."),
                ));
            }
            out.insert(name.to_string(), number.to_string());
        } else if name == "FifoQueue" {
            let wants = parse_bool(name, value)?;
            if wants != fifo {
                return Err(invalid_value(
                    name,
                    "The name of a FIFO queue can only include alphanumeric characters, \
                     hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.",
                ));
            }
            if fifo {
                out.insert(name.to_string(), "true".to_string());
            }
        } else if name == "ContentBasedDeduplication" {
            if !fifo {
                return Err(fifo_only(name));
            }
            out.insert(name.to_string(), parse_bool(name, value)?.to_string());
        } else if name == "RedrivePolicy" {
            if !value.is_empty() {
                redrive_policy(value)?;
            }
            out.insert(name.to_string(), value.clone());
        } else if name == "RedriveAllowPolicy" {
            if !value.is_empty() {
                redrive_allow_policy(value)?;
            }
            out.insert(name.to_string(), value.clone());
        } else if KEPT.contains(&name) {
            if FIFO_ONLY.contains(&name) && !fifo {
                return Err(fifo_only(name));
            }
            out.insert(name.to_string(), value.clone());
        } else {
            return Err(("InvalidAttributeName", format!("Unknown Attribute {name}.")));
        }
    }
    Ok(out)
}

fn fifo_only(name: &str) -> Refusal {
    ("InvalidAttributeName", format!("Unknown Attribute {name}."))
}

fn parse_bool(name: &str, value: &str) -> Result<bool, Refusal> {
    match value.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid_value(name, "Must be true or false.")),
    }
}

/// Reads a `RedrivePolicy` attribute.
pub(crate) fn redrive_policy(text: &str) -> Result<RedrivePolicy, Refusal> {
    let value: Value =
        serde_json::from_str(text).map_err(|_| invalid_value("RedrivePolicy", "Invalid JSON."))?;
    let arn = value
        .get("deadLetterTargetArn")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            invalid_value(
                "RedrivePolicy",
                "Redrive policy does not contain mandatory attribute: deadLetterTargetArn.",
            )
        })?;
    let count = match value.get("maxReceiveCount") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    }
    .ok_or_else(|| {
        invalid_value(
            "RedrivePolicy",
            "Redrive policy does not contain mandatory attribute: maxReceiveCount.",
        )
    })?;
    if !(1..=1000).contains(&count) {
        return Err(invalid_value(
            "RedrivePolicy",
            "Value of maxReceiveCount must be an integer from 1 to 1000.",
        ));
    }
    Ok(RedrivePolicy {
        dead_letter_target_arn: arn.to_string(),
        max_receive_count: count,
    })
}

/// A parsed `RedriveAllowPolicy`: which source queues may use a queue as their dead-letter queue.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RedriveAllow {
    /// Any queue (the default).
    All,
    /// No queue.
    None,
    /// These queue ARNs.
    ByQueue(Vec<String>),
}

/// Reads a `RedriveAllowPolicy` attribute.
pub(crate) fn redrive_allow_policy(text: &str) -> Result<RedriveAllow, Refusal> {
    let value: Value = serde_json::from_str(text)
        .map_err(|_| invalid_value("RedriveAllowPolicy", "Invalid JSON."))?;
    match value.get("redrivePermission").and_then(Value::as_str) {
        Some("allowAll") => Ok(RedriveAllow::All),
        Some("denyAll") => Ok(RedriveAllow::None),
        Some("byQueue") => {
            let arns = crate::documents::string_array(&value["sourceQueueArns"]);
            if arns.is_empty() || arns.len() > 10 {
                return Err(invalid_value(
                    "RedriveAllowPolicy",
                    "sourceQueueArns must list 1 to 10 queue ARNs when redrivePermission is byQueue.",
                ));
            }
            Ok(RedriveAllow::ByQueue(arns))
        }
        _ => Err(invalid_value(
            "RedriveAllowPolicy",
            "redrivePermission must be one of allowAll, denyAll or byQueue.",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn ranges_names_and_fifo_only_attributes_are_checked() {
        assert!(check(&attrs(&[("VisibilityTimeout", "45")]), false).is_ok());
        assert_eq!(
            check(&attrs(&[("VisibilityTimeout", "43201")]), false).map_err(|e| e.0),
            Err("InvalidAttributeValue")
        );
        assert_eq!(
            check(&attrs(&[("Color", "blue")]), false).map_err(|e| e.0),
            Err("InvalidAttributeName")
        );
        assert_eq!(
            check(&attrs(&[("ContentBasedDeduplication", "true")]), false).map_err(|e| e.0),
            Err("InvalidAttributeName")
        );
        assert!(check(&attrs(&[("ContentBasedDeduplication", "true")]), true).is_ok());
    }

    #[test]
    fn redrive_policies_need_a_target_and_a_count() {
        let ok = redrive_policy(
            r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:1:dlq","maxReceiveCount":"3"}"#,
        );
        assert_eq!(ok.map(|p| p.max_receive_count), Ok(3));
        assert!(redrive_policy(r#"{"maxReceiveCount":3}"#).is_err());
        assert!(redrive_policy(r#"{"deadLetterTargetArn":"a","maxReceiveCount":0}"#).is_err());
        assert_eq!(
            redrive_allow_policy(r#"{"redrivePermission":"denyAll"}"#),
            Ok(RedriveAllow::None)
        );
    }
}
