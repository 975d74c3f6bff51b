//! What SQS computes about messages: the MD5 digests clients check, receipt handles, and the
//! message attribute rules.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use md5::{Digest, Md5};
use serde_json::{Map, Value};
use store::queue::Receipt;

/// The MD5 of a message body, in hex (`MD5OfMessageBody`).
pub(crate) fn md5_hex(bytes: &[u8]) -> String {
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The MD5 of message attributes as SQS computes it (`MD5OfMessageAttributes`): the attributes
/// sorted by name, each encoded as its name, data type and value, every part preceded by its
/// length (4 bytes, big-endian) and the value by its transport type (1: string, 2: binary).
/// `None` when there are no attributes.
pub(crate) fn md5_of_attributes(attributes: &Map<String, Value>) -> Option<String> {
    if attributes.is_empty() {
        return None;
    }
    let mut names: Vec<&String> = attributes.keys().collect();
    names.sort();
    let mut bytes = Vec::new();
    let part = |data: &[u8], bytes: &mut Vec<u8>| {
        bytes.extend_from_slice(&(data.len() as u32).to_be_bytes());
        bytes.extend_from_slice(data);
    };
    for name in names {
        let attribute = &attributes[name];
        let data_type = attribute["DataType"].as_str().unwrap_or_default();
        part(name.as_bytes(), &mut bytes);
        part(data_type.as_bytes(), &mut bytes);
        if let Some(text) = attribute.get("StringValue").and_then(Value::as_str) {
            bytes.push(1);
            part(text.as_bytes(), &mut bytes);
        } else if let Some(binary) = attribute.get("BinaryValue").and_then(Value::as_str) {
            bytes.push(2);
            let raw = base64::engine::general_purpose::STANDARD
                .decode(binary)
                .unwrap_or_default();
            part(&raw, &mut bytes);
        }
    }
    Some(md5_hex(&bytes))
}

/// Checks message attributes as SQS does (at most 10; names, data types and values); the
/// problem in SQS's words.
pub(crate) fn check_attributes(attributes: &Map<String, Value>) -> Result<(), String> {
    if attributes.len() > 10 {
        return Err(format!(
            "Number of message attributes [{}] exceeds the allowed maximum [10].",
            attributes.len()
        ));
    }
    for (name, attribute) in attributes {
        let valid_name = !name.is_empty()
            && name.len() <= 256
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            && !name.starts_with('.')
            && !name.ends_with('.')
            && !name.contains("..")
            && !name.to_ascii_lowercase().starts_with("aws.")
            && !name.to_ascii_lowercase().starts_with("amazon.");
        if !valid_name {
            return Err(format!("Message attribute name '{name}' is invalid."));
        }
        let data_type = attribute
            .get("DataType")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let base = data_type.split('.').next().unwrap_or_default();
        if !matches!(base, "String" | "Number" | "Binary") {
            return Err(format!(
                "The message attribute '{name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String."
            ));
        }
        let has_value = match base {
            "Binary" => attribute.get("BinaryValue").is_some_and(Value::is_string),
            _ => attribute
                .get("StringValue")
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty()),
        };
        if !has_value {
            return Err(format!(
                "The message attribute '{name}' must contain non-empty message attribute value for message attribute type '{base}'."
            ));
        }
        if base == "Number"
            && attribute
                .get("StringValue")
                .and_then(Value::as_str)
                .is_some_and(|s| s.trim().parse::<f64>().is_err())
        {
            return Err(format!(
                "Can't cast the value of message (user) attribute '{name}' to a number."
            ));
        }
    }
    Ok(())
}

/// The size SQS counts for a message: its body plus its attributes' names, types and values.
pub(crate) fn message_size(body: &str, attributes: &Map<String, Value>) -> usize {
    let attributes: usize = attributes
        .iter()
        .map(|(name, a)| {
            name.len()
                + a["DataType"].as_str().map_or(0, str::len)
                + a.get("StringValue")
                    .and_then(Value::as_str)
                    .map_or(0, str::len)
                + a.get("BinaryValue").and_then(Value::as_str).map_or(0, |b| {
                    base64::engine::general_purpose::STANDARD
                        .decode(b)
                        .map_or(b.len(), |raw| raw.len())
                })
        })
        .sum();
    body.len() + attributes
}

/// Characters SQS allows in a message body (XML 1.0's).
pub(crate) fn body_is_valid(body: &str) -> bool {
    body.chars().all(|c| {
        matches!(c, '\u{9}' | '\u{A}' | '\u{D}')
            || ('\u{20}'..='\u{D7FF}').contains(&c)
            || ('\u{E000}'..='\u{FFFD}').contains(&c)
            || ('\u{10000}'..='\u{10FFFF}').contains(&c)
    })
}

/// The marker at the start of every receipt handle.
const MARKER: &str = "weirq1";

/// A receipt handle: names the queue, the message and which receive of it.
pub(crate) fn receipt_handle(queue: &str, receipt: Receipt) -> String {
    URL_SAFE_NO_PAD.encode(format!(
        "{MARKER}\n{}\n{}\n{queue}",
        receipt.sequence, receipt.receive_count
    ))
}

/// Reads a receipt handle of `queue`; `None` if it is not one weir made for that queue.
pub(crate) fn read_receipt(queue: &str, handle: &str) -> Option<Receipt> {
    let bytes = URL_SAFE_NO_PAD.decode(handle.trim()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let mut parts = text.splitn(4, '\n');
    if parts.next()? != MARKER {
        return None;
    }
    let sequence = parts.next()?.parse().ok()?;
    let receive_count = parts.next()?.parse().ok()?;
    (parts.next()? == queue).then_some(Receipt {
        sequence,
        receive_count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn body_md5_is_hex() {
        assert_eq!(md5_hex(b"hello"), "5d41402abc4b2a76b9719d911017c592");
    }

    #[test]
    fn attribute_md5_follows_the_sqs_encoding() {
        // Worked by hand from the encoding SQS documents: name, type, transport 1, value, each
        // with a 4-byte length.
        let attributes = json!({"a": {"DataType": "String", "StringValue": "b"}});
        let mut bytes = Vec::new();
        for (part, transport) in [("a", false), ("String", false), ("b", true)] {
            if transport {
                bytes.push(1u8);
            }
            bytes.extend_from_slice(&(part.len() as u32).to_be_bytes());
            bytes.extend_from_slice(part.as_bytes());
        }
        let map = attributes.as_object().cloned().unwrap_or_default();
        assert_eq!(md5_of_attributes(&map), Some(md5_hex(&bytes)));
        assert_eq!(md5_of_attributes(&Map::new()), None);
    }

    #[test]
    fn receipts_name_their_queue() {
        let receipt = Receipt {
            sequence: 12,
            receive_count: 3,
        };
        let handle = receipt_handle("orders", receipt);
        assert_eq!(read_receipt("orders", &handle), Some(receipt));
        assert_eq!(read_receipt("other", &handle), None);
        assert_eq!(read_receipt("orders", "garbage"), None);
    }

    #[test]
    fn attributes_are_checked_as_sqs_checks_them() {
        let ok = json!({"n": {"DataType": "Number", "StringValue": "12"}});
        assert!(check_attributes(ok.as_object().expect("object")).is_ok());
        let bad = json!({"n": {"DataType": "Number", "StringValue": "x"}});
        assert!(check_attributes(bad.as_object().expect("object")).is_err());
        let reserved = json!({"AWS.x": {"DataType": "String", "StringValue": "v"}});
        assert!(check_attributes(reserved.as_object().expect("object")).is_err());
    }
}
