//! State machine versions, aliases and tags, kept as store documents.
//!
//! - A **version** (`<machine ARN>:<n>`) is a published, immutable revision; publishing the
//!   revision that the newest version already has returns that version, as AWS does.
//! - An **alias** (`<machine ARN>:<name>`) routes executions to one or two versions by weight.
//! - **Tags** are a key/value map per resource.
//!
//! Starting an execution on a version or alias ARN runs that version's revision.

use crate::engine::Engine;
use crate::error::Error;
use jiff::Timestamp;
use serde_json::{Map, Value, json};
use store::Document;

const VERSION: &str = "version";
const ALIAS: &str = "alias";
pub(crate) const TAGS: &str = "tags";

/// The most tags a resource may carry (AWS: 50).
pub const MAX_TAGS: usize = 50;

/// A published version of a state machine.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionRecord {
    /// `<machine ARN>:<n>`.
    pub arn: String,
    /// The machine's ARN.
    pub state_machine_arn: String,
    /// Its number, from 1.
    pub version: u64,
    /// The revision it publishes.
    pub revision: u64,
    /// Its description.
    pub description: Option<String>,
    /// When it was published.
    pub created_at: Timestamp,
}

/// One route of an alias.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// The version ARN.
    pub version_arn: String,
    /// Its share of executions, 0 to 100.
    pub weight: u64,
}

/// An alias of a state machine.
#[derive(Debug, Clone, PartialEq)]
pub struct AliasRecord {
    /// `<machine ARN>:<name>`.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: Option<String>,
    /// Where executions go.
    pub routes: Vec<Route>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// What a qualified state machine ARN names.
#[derive(Debug, Clone, PartialEq)]
pub enum Qualified {
    /// The machine itself (its latest revision).
    Machine(String),
    /// A version: the machine ARN and the number.
    Version(String, u64),
    /// An alias: the machine ARN and the alias name.
    Alias(String, String),
}

/// Splits `arn:aws:states:<region>:<account>:stateMachine:<name>[:<qualifier>]`.
pub fn qualify(arn: &str) -> Qualified {
    let parts: Vec<&str> = arn.splitn(8, ':').collect();
    match parts.get(7) {
        Some(qualifier) => {
            let machine = parts[..7].join(":");
            match qualifier.parse::<u64>() {
                Ok(n) => Qualified::Version(machine, n),
                Err(_) => Qualified::Alias(machine, (*qualifier).to_string()),
            }
        }
        None => Qualified::Machine(arn.to_string()),
    }
}

fn corrupt(document: &Document, detail: impl std::fmt::Display) -> Error {
    Error::Corrupt {
        what: format!("{} document {}", document.kind, document.key),
        detail: detail.to_string(),
    }
}

fn micros(at: Timestamp) -> i64 {
    at.as_microsecond()
}

fn from_micros(document: &Document, value: &Value) -> Result<Timestamp, Error> {
    let n = value
        .as_i64()
        .ok_or_else(|| corrupt(document, "a timestamp is missing"))?;
    Timestamp::from_microsecond(n).map_err(|e| corrupt(document, e))
}

fn body(document: &Document) -> Result<Value, Error> {
    serde_json::from_str(&document.body).map_err(|e| corrupt(document, e))
}

fn version_from(document: &Document) -> Result<VersionRecord, Error> {
    let value = body(document)?;
    let Qualified::Version(machine, version) = qualify(&document.key) else {
        return Err(corrupt(document, "the key is not a version ARN"));
    };
    Ok(VersionRecord {
        arn: document.key.clone(),
        state_machine_arn: machine,
        version,
        revision: value["revision"]
            .as_u64()
            .ok_or_else(|| corrupt(document, "no revision"))?,
        description: value["description"].as_str().map(str::to_string),
        created_at: from_micros(document, &value["created"])?,
    })
}

fn alias_from(document: &Document) -> Result<AliasRecord, Error> {
    let value = body(document)?;
    let routes = value["routes"]
        .as_array()
        .ok_or_else(|| corrupt(document, "no routes"))?
        .iter()
        .map(|route| {
            Ok(Route {
                version_arn: route["version"]
                    .as_str()
                    .ok_or_else(|| corrupt(document, "a route has no version"))?
                    .to_string(),
                weight: route["weight"].as_u64().unwrap_or(0),
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(AliasRecord {
        arn: document.key.clone(),
        name: value["name"].as_str().unwrap_or_default().to_string(),
        description: value["description"].as_str().map(str::to_string),
        routes,
        created_at: from_micros(document, &value["created"])?,
        updated_at: from_micros(document, &value["updated"])?,
    })
}

fn alias_body(alias: &AliasRecord) -> String {
    let routes: Vec<Value> = alias
        .routes
        .iter()
        .map(|r| json!({"version": r.version_arn, "weight": r.weight}))
        .collect();
    json!({
        "name": alias.name,
        "description": alias.description,
        "routes": routes,
        "created": micros(alias.created_at),
        "updated": micros(alias.updated_at),
    })
    .to_string()
}

fn validation(message: String) -> Error {
    Error::NotAllowed {
        code: "ValidationException",
        message,
    }
}

fn conflict(message: String) -> Error {
    Error::NotAllowed {
        code: "ConflictException",
        message,
    }
}

impl Engine {
    /// Publishes the machine's latest revision as a version (or returns the version that already
    /// publishes it). `revision_id`, when given, must be the latest revision.
    pub async fn publish_version(
        &self,
        machine_arn: &str,
        description: Option<&str>,
        revision_id: Option<&str>,
    ) -> Result<VersionRecord, Error> {
        let machine = self.describe_state_machine(machine_arn).await?;
        if let Some(expected) = revision_id
            && expected != machine.revision.to_string()
        {
            return Err(conflict(format!(
                "Failed to publish the State Machine version for revision {expected}. The \
                 current State Machine revision is {}.",
                machine.revision
            )));
        }
        loop {
            let versions = self.list_versions(machine_arn).await?;
            if let Some(newest) = versions.first()
                && newest.revision == machine.revision
            {
                return Ok(newest.clone());
            }
            let next = versions.first().map_or(1, |v| v.version + 1);
            let arn = format!("{machine_arn}:{next}");
            let created_at = self.clock().now();
            let body = json!({
                "revision": machine.revision,
                "description": description,
                "created": micros(created_at),
            })
            .to_string();
            match self.store().put_document(VERSION, &arn, body, None).await {
                Ok(_) => {
                    return Ok(VersionRecord {
                        arn,
                        state_machine_arn: machine_arn.to_string(),
                        version: next,
                        revision: machine.revision,
                        description: description.map(str::to_string),
                        created_at,
                    });
                }
                // Someone published the same number first: look again.
                Err(store::Error::AlreadyExists { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// A machine's versions, newest first.
    pub async fn list_versions(&self, machine_arn: &str) -> Result<Vec<VersionRecord>, Error> {
        let documents = self
            .store()
            .list_documents(VERSION, &format!("{machine_arn}:"))
            .await?;
        let mut versions = documents
            .iter()
            .map(version_from)
            .collect::<Result<Vec<_>, _>>()?;
        versions.sort_by_key(|v| std::cmp::Reverse(v.version));
        Ok(versions)
    }

    /// One version.
    pub async fn describe_version(&self, version_arn: &str) -> Result<VersionRecord, Error> {
        match self.store().get_document(VERSION, version_arn).await? {
            Some(document) => version_from(&document),
            None => Err(Error::StateMachineDoesNotExist {
                arn: version_arn.to_string(),
            }),
        }
    }

    /// Deletes a version; refused while an alias routes to it.
    pub async fn delete_version(&self, version_arn: &str) -> Result<(), Error> {
        let Qualified::Version(machine, _) = qualify(version_arn) else {
            return Err(validation(format!("{version_arn} is not a version ARN")));
        };
        for alias in self.list_aliases(&machine).await? {
            if alias.routes.iter().any(|r| r.version_arn == version_arn) {
                return Err(conflict(format!(
                    "Version to be deleted must not be referenced by an alias. Current list of \
                     aliases referencing this version: [{}]",
                    alias.arn
                )));
            }
        }
        self.store().delete_document(VERSION, version_arn).await?;
        Ok(())
    }

    async fn check_routes(&self, machine_arn: &str, routes: &[Route]) -> Result<(), Error> {
        if routes.is_empty() || routes.len() > 2 {
            return Err(validation(
                "routingConfiguration must have one or two versions".to_string(),
            ));
        }
        if routes.iter().map(|r| r.weight).sum::<u64>() != 100 {
            return Err(validation(
                "The weights of routingConfiguration must add up to 100".to_string(),
            ));
        }
        for route in routes {
            match qualify(&route.version_arn) {
                Qualified::Version(machine, _) if machine == machine_arn => {
                    self.describe_version(&route.version_arn).await?;
                }
                _ => {
                    return Err(validation(format!(
                        "{} is not a version of {machine_arn}",
                        route.version_arn
                    )));
                }
            }
        }
        Ok(())
    }

    /// Creates an alias routing to one or two versions of the machine.
    pub async fn create_alias(
        &self,
        name: &str,
        description: Option<&str>,
        routes: Vec<Route>,
    ) -> Result<AliasRecord, Error> {
        if name.is_empty()
            || name.len() > 80
            || name.chars().all(|c| c.is_ascii_digit())
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(Error::InvalidName {
                name: name.to_string(),
                reason: "an alias name is 1 to 80 letters, digits, '-' or '_', not only digits",
            });
        }
        let first = routes
            .first()
            .map(|r| r.version_arn.clone())
            .unwrap_or_default();
        let Qualified::Version(machine_arn, _) = qualify(&first) else {
            return Err(validation(format!("{first} is not a version ARN")));
        };
        self.describe_state_machine(&machine_arn).await?;
        self.check_routes(&machine_arn, &routes).await?;
        let now = self.clock().now();
        let alias = AliasRecord {
            arn: format!("{machine_arn}:{name}"),
            name: name.to_string(),
            description: description.map(str::to_string),
            routes,
            created_at: now,
            updated_at: now,
        };
        match self
            .store()
            .put_document(ALIAS, &alias.arn, alias_body(&alias), None)
            .await
        {
            Ok(_) => Ok(alias),
            Err(store::Error::AlreadyExists { .. }) => {
                let existing = self.describe_alias(&alias.arn).await?;
                if existing.routes == alias.routes && existing.description == alias.description {
                    Ok(existing)
                } else {
                    Err(conflict(format!(
                        "Failed to create alias because an alias with the same name and a \
                         different routing configuration already exists: {}",
                        alias.arn
                    )))
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// One alias.
    pub async fn describe_alias(&self, alias_arn: &str) -> Result<AliasRecord, Error> {
        match self.store().get_document(ALIAS, alias_arn).await? {
            Some(document) => alias_from(&document),
            None => Err(Error::NotAllowed {
                code: "ResourceNotFound",
                message: format!("Resource not found: '{alias_arn}'"),
            }),
        }
    }

    /// Changes an alias's description and/or routes.
    pub async fn update_alias(
        &self,
        alias_arn: &str,
        description: Option<&str>,
        routes: Option<Vec<Route>>,
    ) -> Result<AliasRecord, Error> {
        loop {
            let Some(document) = self.store().get_document(ALIAS, alias_arn).await? else {
                return self.describe_alias(alias_arn).await;
            };
            let mut alias = alias_from(&document)?;
            if let Some(routes) = &routes {
                let Qualified::Alias(machine, _) = qualify(alias_arn) else {
                    return Err(validation(format!("{alias_arn} is not an alias ARN")));
                };
                self.check_routes(&machine, routes).await?;
                alias.routes = routes.clone();
            }
            if let Some(description) = description {
                alias.description = Some(description.to_string());
            }
            alias.updated_at = self.clock().now();
            match self
                .store()
                .put_document(ALIAS, alias_arn, alias_body(&alias), Some(document.version))
                .await
            {
                Ok(_) => return Ok(alias),
                Err(store::Error::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Deletes an alias (nothing to do if there is none).
    pub async fn delete_alias(&self, alias_arn: &str) -> Result<(), Error> {
        self.store().delete_document(ALIAS, alias_arn).await?;
        Ok(())
    }

    /// A machine's aliases, by name.
    pub async fn list_aliases(&self, machine_arn: &str) -> Result<Vec<AliasRecord>, Error> {
        let documents = self
            .store()
            .list_documents(ALIAS, &format!("{machine_arn}:"))
            .await?;
        documents.iter().map(alias_from).collect()
    }

    /// The version an execution started on an alias runs, picked by the routes' weights.
    pub(crate) async fn route(&self, alias_arn: &str) -> Result<VersionRecord, Error> {
        let alias = self.describe_alias(alias_arn).await?;
        let pick = crate::express::random_below(100);
        let mut total = 0;
        for route in &alias.routes {
            total += route.weight;
            if pick < total {
                return self.describe_version(&route.version_arn).await;
            }
        }
        match alias.routes.last() {
            Some(route) => self.describe_version(&route.version_arn).await,
            None => Err(validation(format!("the alias {alias_arn} routes nowhere"))),
        }
    }

    /// Adds or replaces tags on a state machine (at most [`MAX_TAGS`] in all).
    pub async fn tag_resource(&self, arn: &str, tags: &[(String, String)]) -> Result<(), Error> {
        self.edit_tags(arn, |map| {
            for (key, value) in tags {
                map.insert(key.clone(), Value::String(value.clone()));
            }
            if map.len() > MAX_TAGS {
                return Err(Error::NotAllowed {
                    code: "TooManyTags",
                    message: format!("Too many tags: a resource may have at most {MAX_TAGS}"),
                });
            }
            Ok(())
        })
        .await
    }

    /// Removes tags by key.
    pub async fn untag_resource(&self, arn: &str, keys: &[String]) -> Result<(), Error> {
        self.edit_tags(arn, |map| {
            for key in keys {
                map.shift_remove(key);
            }
            Ok(())
        })
        .await
    }

    /// Reads a state machine's tags, applies `edit` and writes them back at the version read,
    /// trying again when someone else wrote them in between. No tags before and none after
    /// writes nothing.
    async fn edit_tags(
        &self,
        arn: &str,
        edit: impl Fn(&mut Map<String, Value>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        self.check_taggable(arn).await?;
        loop {
            let current = self.store().get_document(TAGS, arn).await?;
            let mut map = match &current {
                Some(document) => match body(document)? {
                    Value::Object(map) => map,
                    _ => Map::new(),
                },
                None => Map::new(),
            };
            edit(&mut map)?;
            if current.is_none() && map.is_empty() {
                return Ok(());
            }
            let written = self
                .store()
                .put_document(
                    TAGS,
                    arn,
                    Value::Object(map).to_string(),
                    current.as_ref().map(|d| d.version),
                )
                .await;
            match written {
                Ok(_) => return Ok(()),
                Err(store::Error::Conflict { .. } | store::Error::AlreadyExists { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// A resource's tags, in the order they were first set.
    pub async fn list_tags(&self, arn: &str) -> Result<Vec<(String, String)>, Error> {
        self.check_taggable(arn).await?;
        let Some(document) = self.store().get_document(TAGS, arn).await? else {
            return Ok(Vec::new());
        };
        let Value::Object(map) = body(&document)? else {
            return Ok(Vec::new());
        };
        Ok(map
            .into_iter()
            .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_string()))
            .collect())
    }

    /// Fails unless `arn` is a resource that takes tags (a state machine or an activity).
    async fn check_taggable(&self, arn: &str) -> Result<(), Error> {
        if asl::execution::is_activity_arn(arn) {
            self.describe_activity(arn).await.map(drop)
        } else {
            self.describe_state_machine(arn).await.map(drop)
        }
    }

    /// Deletes a machine's versions, aliases and tags (the machine is being deleted).
    pub(crate) async fn delete_resources_of(&self, machine_arn: &str) -> Result<(), Error> {
        for alias in self.list_aliases(machine_arn).await? {
            self.store().delete_document(ALIAS, &alias.arn).await?;
        }
        for version in self.list_versions(machine_arn).await? {
            self.store().delete_document(VERSION, &version.arn).await?;
        }
        self.store().delete_document(TAGS, machine_arn).await?;
        Ok(())
    }
}
