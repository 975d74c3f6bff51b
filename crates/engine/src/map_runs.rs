//! Map Runs: the record of each distributed Map's run, for `ListMapRuns`, `DescribeMapRun` and
//! `UpdateMapRun`.
//!
//! `step` reports a Map Run when it starts, changes or ends; the engine writes each report as a
//! store document in the same commit as the step (`map-run`, keyed by the Map Run ARN), and, at
//! the start, an index entry under the execution (`map-runs-of`, keyed `<execution>|<run>`).
//! While a run is RUNNING its item counts are read live from the execution's snapshot.

use crate::engine::Engine;
use crate::error::Error;
use asl::execution::{Blocked, Event, MapRunReport};
use jiff::Timestamp;
use serde_json::{Value, json};
use store::ExecutionRecord;

const MAP_RUN: &str = "map-run";
const MAP_RUNS_OF: &str = "map-runs-of";

/// A Map Run as `DescribeMapRun` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct MapRun {
    /// The execution that runs it.
    pub execution_arn: String,
    /// The state machine of that execution.
    pub state_machine_arn: String,
    /// When it started.
    pub start_date: Timestamp,
    /// When it ended, if it did.
    pub stop_date: Option<Timestamp>,
    /// Its state and counts now.
    pub report: MapRunReport,
}

/// The documents a step's Map Run reports write.
pub(crate) fn documents(
    record: &ExecutionRecord,
    reports: &[MapRunReport],
) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for report in reports {
        let body = json!({
            "execution": record.arn,
            "stateMachine": record.state_machine_arn,
            "report": report,
        });
        if report.start {
            out.push((
                MAP_RUNS_OF.to_string(),
                format!("{}|{}", record.arn, report.arn),
                json!({"started": report.at}).to_string(),
            ));
        }
        out.push((MAP_RUN.to_string(), report.arn.clone(), body.to_string()));
    }
    out
}

fn corrupt(what: &str, detail: impl std::fmt::Display) -> Error {
    Error::Corrupt {
        what: what.to_string(),
        detail: detail.to_string(),
    }
}

fn not_found(arn: &str) -> Error {
    Error::NotAllowed {
        code: "ResourceNotFound",
        message: format!("Resource not found: '{arn}'"),
    }
}

impl Engine {
    /// The Map Runs an execution started, oldest first.
    pub async fn list_map_runs(&self, execution_arn: &str) -> Result<Vec<MapRun>, Error> {
        self.describe_execution(execution_arn).await?;
        let index = self
            .store()
            .list_documents(MAP_RUNS_OF, &format!("{execution_arn}|"))
            .await?;
        let mut runs = Vec::new();
        for entry in index {
            let Some((_, arn)) = entry.key.split_once('|') else {
                continue;
            };
            runs.push(self.describe_map_run(arn).await?);
        }
        runs.sort_by_key(|run| run.start_date);
        Ok(runs)
    }

    /// One Map Run, with live item counts while it runs.
    pub async fn describe_map_run(&self, map_run_arn: &str) -> Result<MapRun, Error> {
        let Some(document) = self.store().get_document(MAP_RUN, map_run_arn).await? else {
            return Err(not_found(map_run_arn));
        };
        let body: Value = serde_json::from_str(&document.body)
            .map_err(|e| corrupt(&format!("Map Run {map_run_arn}"), e))?;
        let mut report: MapRunReport = serde_json::from_value(body["report"].clone())
            .map_err(|e| corrupt(&format!("Map Run {map_run_arn}"), e))?;
        let execution_arn = body["execution"].as_str().unwrap_or_default().to_string();
        let start_date = match self
            .store()
            .get_document(MAP_RUNS_OF, &format!("{execution_arn}|{map_run_arn}"))
            .await?
        {
            Some(entry) => serde_json::from_str::<Value>(&entry.body)
                .ok()
                .and_then(|v| serde_json::from_value(v["started"].clone()).ok())
                .unwrap_or(report.at),
            None => report.at,
        };
        if report.status == "RUNNING" {
            let (record, execution) = self.load_for_map_run(&execution_arn).await?;
            let live = execution
                .threads
                .values()
                .find_map(|thread| match &thread.blocked {
                    Blocked::Children(fan) if fan.map_run.as_deref() == Some(map_run_arn) => {
                        fan.map_run_report("RUNNING", self.clock().now())
                    }
                    _ => None,
                });
            match live {
                Some(live) => report = live,
                // The execution ended without the run reporting its end: it was stopped.
                None if record.status != "RUNNING" => {
                    report.status = "ABORTED".to_string();
                    report.at = record.stop_date.unwrap_or(report.at);
                }
                None => {}
            }
        }
        let stop_date = (report.status != "RUNNING").then_some(report.at);
        Ok(MapRun {
            execution_arn,
            state_machine_arn: body["stateMachine"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            start_date,
            stop_date,
            report,
        })
    }

    /// Changes a running Map Run's concurrency or failure tolerance (`UpdateMapRun`).
    pub async fn update_map_run(
        &self,
        map_run_arn: &str,
        max_concurrency: Option<u64>,
        tolerated_count: Option<u64>,
        tolerated_percentage: Option<f64>,
    ) -> Result<(), Error> {
        let run = self.describe_map_run(map_run_arn).await?;
        if run.report.status != "RUNNING" {
            return Err(Error::NotAllowed {
                code: "ValidationException",
                message: format!(
                    "Map Run {map_run_arn} is {}, not RUNNING",
                    run.report.status
                ),
            });
        }
        self.send(
            &run.execution_arn,
            Event::UpdateMapRun {
                map_run_arn: map_run_arn.to_string(),
                max_concurrency,
                tolerated_count,
                tolerated_percentage,
            },
        )
        .await?;
        Ok(())
    }
}
