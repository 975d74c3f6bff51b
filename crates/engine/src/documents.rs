//! How the resources kept as store documents with JSON bodies (queues, topics, subscriptions,
//! event-source mappings) write and read the parts they share: attributes and tags (objects of
//! strings) and times (RFC 3339 text).

use crate::error::Error;
use jiff::Timestamp;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The stored body of a resource with attributes and tags: `attributes`, `tags`, `created` and,
/// for a resource that keeps it, `modified`, in that order.
pub(crate) fn labelled_body(
    attributes: &BTreeMap<String, String>,
    tags: &BTreeMap<String, String>,
    created: Timestamp,
    modified: Option<Timestamp>,
) -> String {
    let mut body = json!({
        "attributes": attributes,
        "tags": tags,
        "created": created.to_string(),
    });
    if let Some(modified) = modified {
        body["modified"] = json!(modified.to_string());
    }
    body.to_string()
}

/// `Corrupt` for the stored `what` (`queue`, `topic`, ...) keyed `key`.
pub(crate) fn corrupt(what: &str, key: &str, detail: impl Into<String>) -> Error {
    Error::Corrupt {
        what: format!("{what} {key}"),
        detail: detail.into(),
    }
}

/// A stored document's body as JSON; `Corrupt` when it is not JSON.
pub(crate) fn parse(what: &str, key: &str, text: &str) -> Result<Value, Error> {
    serde_json::from_str(text).map_err(|e| corrupt(what, key, e.to_string()))
}

/// The strings of a JSON array (other items and non-arrays give none).
pub(crate) fn string_array(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The object of strings at `value` (attributes, tags); empty when there is none.
pub(crate) fn strings(value: &Value) -> BTreeMap<String, String> {
    value
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// The time written at `value[key]`, if one is.
pub(crate) fn timestamp(value: &Value, key: &str) -> Option<Timestamp> {
    value[key].as_str().and_then(|t| t.parse().ok())
}

/// Creates or replaces the document `kind`/`key` with `body`, whatever version it has (for
/// documents only one writer changes: a task's progress, an alarm's window or model).
pub(crate) async fn upsert(
    store: &dyn store::Store,
    kind: &str,
    key: &str,
    body: String,
) -> Result<(), Error> {
    let expected = store.get_document(kind, key).await?.map(|d| d.version);
    store.put_document(kind, key, body, expected).await?;
    Ok(())
}

/// How [`edit`] reads and writes one kind of record.
pub(crate) struct Codec<T, R, W>
where
    R: Fn(&str) -> Result<T, Error>,
    W: Fn(&T) -> String,
{
    /// The document kind.
    pub kind: &'static str,
    /// The record from a document's body.
    pub read: R,
    /// A record's body.
    pub write: W,
}

/// Reads the record `key`, lets `change` edit it and writes it back; when another writer changed
/// the document meanwhile, starts again from its new version. `missing` is the error for a
/// record that does not exist (or was deleted meanwhile).
pub(crate) async fn edit<T, R, W>(
    store: &dyn store::Store,
    codec: &Codec<T, R, W>,
    key: &str,
    missing: impl Fn() -> Error,
    change: impl Fn(&mut T) -> Result<(), Error>,
) -> Result<T, Error>
where
    R: Fn(&str) -> Result<T, Error>,
    W: Fn(&T) -> String,
{
    loop {
        let Some(document) = store.get_document(codec.kind, key).await? else {
            return Err(missing());
        };
        let mut record = (codec.read)(&document.body)?;
        change(&mut record)?;
        let body = (codec.write)(&record);
        match store
            .put_document(codec.kind, key, body, Some(document.version))
            .await
        {
            Ok(_) => return Ok(record),
            Err(store::Error::Conflict { .. }) => continue,
            Err(store::Error::NotFound { .. }) => return Err(missing()),
            Err(e) => return Err(e.into()),
        }
    }
}
