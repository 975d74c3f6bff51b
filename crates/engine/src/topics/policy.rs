//! A subscription's delivery policy (how often and how long apart failed function and HTTP
//! deliveries are tried again) and its redrive policy (the dead-letter queue of deliveries that
//! failed for good), read and checked as SNS reads them.
//!
//! # Delivery policy
//! A subscription's `DeliveryPolicy` is `{"healthyRetryPolicy": {...}}`; a topic's is
//! `{"http": {"defaultHealthyRetryPolicy": {...}}}` and applies to its subscriptions that have
//! none. The retry policy's members, all optional:
//!
//! | Member | Default | Meaning |
//! | --- | --- | --- |
//! | `numRetries` | 3 | retries after the first attempt (0 to 100) |
//! | `minDelayTarget` | 1 | the shortest delay, in seconds (1 to `maxDelayTarget`) |
//! | `maxDelayTarget` | 20 | the longest delay, in seconds (at most 3600) |
//! | `numNoDelayRetries` | 0 | the first retries, made at once |
//! | `numMinDelayRetries` | 0 | the next retries, `minDelayTarget` apart |
//! | `numMaxDelayRetries` | 0 | the last retries, `maxDelayTarget` apart |
//! | `backoffFunction` | `exponential` | how the retries in between grow from the shortest delay: `exponential` and `geometric` double it, `linear` and `arithmetic` step evenly to the longest; never beyond the longest |
//!
//! The default therefore retries three times, after 1, 2 and 4 seconds.

use serde_json::{Map, Value, json};

/// The most retries a policy may ask for.
const MAX_RETRIES: u64 = 100;

/// The longest delay a policy may ask for, in seconds.
const MAX_DELAY: u64 = 3600;

/// How retries grow between the shortest and the longest delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backoff {
    /// Doubling (`exponential`, `geometric`).
    Doubling,
    /// Even steps (`linear`, `arithmetic`).
    Linear,
}

/// When failed deliveries are tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryPolicy {
    /// Retries after the first attempt.
    pub retries: u64,
    /// The shortest delay, in seconds.
    pub min_delay: u64,
    /// The longest delay, in seconds.
    pub max_delay: u64,
    /// Retries made at once.
    pub no_delay_retries: u64,
    /// Retries at the shortest delay.
    pub min_delay_retries: u64,
    /// Retries at the longest delay (the last ones).
    pub max_delay_retries: u64,
    /// How the retries in between grow.
    pub backoff: Backoff,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        DeliveryPolicy {
            retries: 3,
            min_delay: 1,
            max_delay: 20,
            no_delay_retries: 0,
            min_delay_retries: 0,
            max_delay_retries: 0,
            backoff: Backoff::Doubling,
        }
    }
}

impl DeliveryPolicy {
    /// A subscription's `DeliveryPolicy` text; the problem in SNS's words.
    pub fn parse_subscription(text: &str) -> Result<DeliveryPolicy, String> {
        let value = object(text, "DeliveryPolicy")?;
        match value.get("healthyRetryPolicy") {
            Some(Value::Object(retry)) => retry_policy(retry),
            None => Ok(DeliveryPolicy::default()),
            Some(_) => Err(
                "Invalid parameter: DeliveryPolicy: healthyRetryPolicy must be an object"
                    .to_string(),
            ),
        }
    }

    /// A topic's `DeliveryPolicy` text (`{"http": {"defaultHealthyRetryPolicy": ...}}`).
    pub fn parse_topic(text: &str) -> Result<DeliveryPolicy, String> {
        let value = object(text, "DeliveryPolicy")?;
        match value
            .get("http")
            .and_then(|http| http.get("defaultHealthyRetryPolicy"))
        {
            Some(Value::Object(retry)) => retry_policy(retry),
            None => Ok(DeliveryPolicy::default()),
            Some(_) => Err(
                "Invalid parameter: DeliveryPolicy: defaultHealthyRetryPolicy must be an object"
                    .to_string(),
            ),
        }
    }

    /// The delay before retry `n` (1 for the first retry), in seconds.
    pub fn delay(&self, n: u64) -> u64 {
        let backoff_retries = self.retries.saturating_sub(
            self.no_delay_retries + self.min_delay_retries + self.max_delay_retries,
        );
        if n <= self.no_delay_retries {
            return 0;
        }
        let n = n - self.no_delay_retries;
        if n <= self.min_delay_retries {
            return self.min_delay;
        }
        let step = n - self.min_delay_retries - 1;
        if step >= backoff_retries {
            return self.max_delay;
        }
        let delay = match self.backoff {
            Backoff::Doubling => self
                .min_delay
                .saturating_mul(1u64.checked_shl(step as u32).unwrap_or(u64::MAX)),
            Backoff::Linear if backoff_retries > 1 => {
                self.min_delay + (self.max_delay - self.min_delay) * step / (backoff_retries - 1)
            }
            Backoff::Linear => self.min_delay,
        };
        delay.min(self.max_delay)
    }

    /// The policy as `EffectiveDeliveryPolicy` shows it.
    pub fn to_json(&self) -> Value {
        json!({"healthyRetryPolicy": {
            "minDelayTarget": self.min_delay,
            "maxDelayTarget": self.max_delay,
            "numRetries": self.retries,
            "numNoDelayRetries": self.no_delay_retries,
            "numMinDelayRetries": self.min_delay_retries,
            "numMaxDelayRetries": self.max_delay_retries,
            "backoffFunction": match self.backoff {
                Backoff::Doubling => "exponential",
                Backoff::Linear => "linear",
            },
        }})
    }
}

fn object(text: &str, attribute: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_str(text) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(format!(
            "Invalid parameter: {attribute}: it must be a JSON object"
        )),
        Err(e) => Err(format!(
            "Invalid parameter: {attribute}: failed to parse JSON: {e}"
        )),
    }
}

fn retry_policy(retry: &Map<String, Value>) -> Result<DeliveryPolicy, String> {
    let refuse = |why: String| format!("Invalid parameter: DeliveryPolicy: {why}");
    let mut policy = DeliveryPolicy::default();
    for (key, value) in retry {
        let count = || {
            value
                .as_u64()
                .ok_or_else(|| refuse(format!("{key} must be a whole number, not {value}")))
        };
        match key.as_str() {
            "numRetries" => policy.retries = count()?,
            "minDelayTarget" => policy.min_delay = count()?,
            "maxDelayTarget" => policy.max_delay = count()?,
            "numNoDelayRetries" => policy.no_delay_retries = count()?,
            "numMinDelayRetries" => policy.min_delay_retries = count()?,
            "numMaxDelayRetries" => policy.max_delay_retries = count()?,
            "backoffFunction" => {
                policy.backoff = match value.as_str() {
                    Some("exponential" | "geometric") => Backoff::Doubling,
                    Some("linear" | "arithmetic") => Backoff::Linear,
                    _ => {
                        return Err(refuse(format!(
                            "backoffFunction must be exponential, geometric, linear or \
                             arithmetic, not {value}"
                        )));
                    }
                }
            }
            other => return Err(refuse(format!("unknown member {other}"))),
        }
    }
    if policy.retries > MAX_RETRIES {
        return Err(refuse(format!("numRetries must be at most {MAX_RETRIES}")));
    }
    if policy.min_delay == 0 || policy.min_delay > policy.max_delay || policy.max_delay > MAX_DELAY
    {
        return Err(refuse(format!(
            "the delays must satisfy 1 <= minDelayTarget <= maxDelayTarget <= {MAX_DELAY}"
        )));
    }
    if policy.no_delay_retries + policy.min_delay_retries + policy.max_delay_retries
        > policy.retries
    {
        return Err(refuse(
            "numNoDelayRetries + numMinDelayRetries + numMaxDelayRetries must not exceed \
             numRetries"
                .to_string(),
        ));
    }
    Ok(policy)
}

/// The dead-letter queue a subscription's `RedrivePolicy`
/// (`{"deadLetterTargetArn": "arn:aws:sqs:REGION:ACCOUNT:NAME"}`) names: the queue's name; the
/// problem in SNS's words.
pub fn dead_letter_queue(text: &str) -> Result<String, String> {
    let value = object(text, "RedrivePolicy")?;
    let arn = value
        .get("deadLetterTargetArn")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            "Invalid parameter: RedrivePolicy: deadLetterTargetArn is missing".to_string()
        })?;
    match arn.split(':').collect::<Vec<_>>().as_slice() {
        ["arn", _, "sqs", _, _, name] if !name.is_empty() => Ok((*name).to_string()),
        _ => Err(format!(
            "Invalid parameter: RedrivePolicy: deadLetterTargetArn is an invalid arn: {arn}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_retries_three_times_after_one_two_and_four_seconds() {
        let policy = DeliveryPolicy::default();
        assert_eq!(
            (1..=3).map(|n| policy.delay(n)).collect::<Vec<_>>(),
            [1, 2, 4]
        );
    }

    #[test]
    fn phases_come_in_order_and_never_exceed_the_longest_delay() {
        let policy = DeliveryPolicy::parse_subscription(
            r#"{"healthyRetryPolicy": {"numRetries": 8, "numNoDelayRetries": 1,
                "numMinDelayRetries": 1, "numMaxDelayRetries": 1, "minDelayTarget": 2,
                "maxDelayTarget": 10}}"#,
        )
        .expect("a valid policy");
        assert_eq!(
            (1..=8).map(|n| policy.delay(n)).collect::<Vec<_>>(),
            [0, 2, 2, 4, 8, 10, 10, 10]
        );
        let linear = DeliveryPolicy::parse_subscription(
            r#"{"healthyRetryPolicy": {"numRetries": 3, "minDelayTarget": 1,
                "maxDelayTarget": 5, "backoffFunction": "linear"}}"#,
        )
        .expect("a valid policy");
        assert_eq!(
            (1..=3).map(|n| linear.delay(n)).collect::<Vec<_>>(),
            [1, 3, 5]
        );
    }

    #[test]
    fn topic_policies_give_the_default_for_subscriptions() {
        let policy = DeliveryPolicy::parse_topic(
            r#"{"http": {"defaultHealthyRetryPolicy": {"numRetries": 1}}}"#,
        )
        .expect("a valid policy");
        assert_eq!(policy.retries, 1);
    }

    #[test]
    fn bad_policies_are_refused() {
        for text in [
            "[]",
            r#"{"healthyRetryPolicy": {"numRetries": -1}}"#,
            r#"{"healthyRetryPolicy": {"minDelayTarget": 30, "maxDelayTarget": 20}}"#,
            r#"{"healthyRetryPolicy": {"backoffFunction": "random"}}"#,
            r#"{"healthyRetryPolicy": {"numRetries": 1, "numNoDelayRetries": 2}}"#,
            r#"{"healthyRetryPolicy": {"retries": 1}}"#,
        ] {
            let refused = DeliveryPolicy::parse_subscription(text).expect_err(text);
            assert!(
                refused.starts_with("Invalid parameter: DeliveryPolicy"),
                "{refused}"
            );
        }
    }

    #[test]
    fn redrive_policies_name_a_queue() {
        assert_eq!(
            dead_letter_queue(r#"{"deadLetterTargetArn": "arn:aws:sqs:us-east-1:0:dlq"}"#),
            Ok("dlq".to_string())
        );
        assert!(dead_letter_queue(r#"{"deadLetterTargetArn": "dlq"}"#).is_err());
        assert!(dead_letter_queue("{}").is_err());
    }
}
