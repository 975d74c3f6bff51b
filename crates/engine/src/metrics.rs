//! Prometheus metrics: every metric weir exports is defined here, with its name, labels and
//! meaning; `GET /metrics` serves [`Metrics::render`] in the OpenMetrics text format.
//!
//! | Metric | Type | Labels | What it counts |
//! | --- | --- | --- | --- |
//! | `weir_executions_started_total` | counter | `state_machine` | Standard executions started |
//! | `weir_executions_ended_total` | counter | `state_machine`, `status` | executions that ended: `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED` |
//! | `weir_execution_duration_seconds` | histogram | `state_machine`, `status` | start to end of each ended execution |
//! | `weir_task_duration_seconds` | histogram | `state_machine`, `state` | one task attempt, from its start to its handler's answer |
//! | `weir_state_errors_total` | counter | `state_machine`, `state`, `error`, `outcome` | errors states met; `outcome` is `retried`, `caught` or `unhandled` |
//! | `weir_task_timeouts_total` | counter | `state_machine`, `state` | task attempts that ran past `TimeoutSeconds` |
//! | `weir_heartbeats_missed_total` | counter | `state_machine`, `state` | activities whose worker went silent past `HeartbeatSeconds` |
//! | `weir_queue_messages` | gauge | `queue`, `state` | messages by state: `visible`, `in_flight`, `delayed` |
//! | `weir_queue_oldest_message_age_seconds` | gauge | `queue` | age of the oldest message |
//! | `weir_queue_events_total` | counter | `queue`, `event` | messages `sent`, `received`, `deleted`, `moved_to_dlq`, `redriven` |
//! | `weir_mapping_records_total` | counter | `mapping`, `queue`, `outcome` | records an event-source mapping handed over: `succeeded`, `failed` (they come back), `given_up` |
//! | `weir_mapping_lag_seconds` | gauge | `mapping`, `queue` | age of the oldest record the mapping has not yet handled (its queue's oldest message) |
//! | `weir_function_invocations_total` | counter | `function`, `outcome` | function attempts: `succeeded`, `failed`, `timed_out` |
//! | `weir_function_duration_seconds` | histogram | `function` | one function attempt, from its start (after any wait for a concurrency slot) to its end |
//! | `weir_function_throttles_total` | counter | `function` | attempts that had to wait for a slot under the function's `concurrency` |
//! | `weir_store_commit_seconds` | histogram | | one write transaction of the store (a group of requests), `BEGIN` to durable `COMMIT` |
//! | `weir_store_commit_batch_size` | histogram | | requests per write transaction (group commit) |
//! | `weir_custom_NAME[_total]` | counter or gauge | `namespace`, dimensions, `function` | custom metrics functions and jobs report (see [`custom`]) |
//!
//! Counters start at zero when the process starts, as Prometheus expects of counters; queue and
//! mapping gauges are read from the store when the metrics are scraped.

pub mod custom;

use crate::engine::Engine;
use asl::execution::{ErrorHandled, ErrorOutcome};
use asl::history::HistoryEvent;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

/// `state_machine`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MachineLabels {
    /// The state machine's name.
    pub state_machine: String,
}

/// `state_machine`, `status`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EndLabels {
    /// The state machine's name.
    pub state_machine: String,
    /// The execution's final status.
    pub status: String,
}

/// `state_machine`, `state`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabels {
    /// The state machine's name.
    pub state_machine: String,
    /// The state's name.
    pub state: String,
}

/// `state_machine`, `state`, `error`, `outcome`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    /// The state machine's name.
    pub state_machine: String,
    /// The state's name.
    pub state: String,
    /// The error name.
    pub error: String,
    /// `retried`, `caught` or `unhandled`.
    pub outcome: String,
}

/// `queue`, `state`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueStateLabels {
    /// The queue's name.
    pub queue: String,
    /// `visible`, `in_flight` or `delayed`.
    pub state: String,
}

/// `queue`, `event`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueEventLabels {
    /// The queue's name.
    pub queue: String,
    /// `sent`, `received`, `deleted`, `moved_to_dlq` or `redriven`.
    pub event: String,
}

/// `queue`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueName {
    /// The queue's name.
    pub queue: String,
}

/// `mapping`, `queue`, `outcome`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MappingOutcomeLabels {
    /// The mapping's UUID.
    pub mapping: String,
    /// The queue it reads.
    pub queue: String,
    /// `succeeded`, `failed` or `given_up`.
    pub outcome: String,
}

/// `mapping`, `queue`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MappingLabels {
    /// The mapping's UUID.
    pub mapping: String,
    /// The queue it reads.
    pub queue: String,
}

/// `function`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FunctionLabels {
    /// The function's name.
    pub function: String,
}

/// `function`, `outcome`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FunctionOutcomeLabels {
    /// The function's name.
    pub function: String,
    /// `succeeded`, `failed` or `timed_out`.
    pub outcome: String,
}

/// Makes duration histograms: 1 ms to about 9 hours, doubling.
#[derive(Clone)]
pub struct Durations;

impl MetricConstructor<Histogram> for Durations {
    fn new_metric(&self) -> Histogram {
        Histogram::new(exponential_buckets(0.001, 2.0, 25))
    }
}

/// How a function attempt ended, for `weir_function_invocations_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunctionOutcome {
    /// It succeeded.
    Succeeded,
    /// It failed (any error but a timeout).
    Failed,
    /// It ran out of time (`Sandbox.Timedout`, `States.Timeout`).
    TimedOut,
}

/// The metrics parts outside the engine report: function runners (invocations and their custom
/// metrics on stderr) and the API (`Weir.PutMetricData`). Shared through [`Engine::reporter`].
pub struct Reporter {
    enabled: bool,
    /// Custom metrics.
    pub custom: std::sync::Arc<custom::CustomMetrics>,
    function_invocations: Family<FunctionOutcomeLabels, Counter>,
    function_duration: Family<FunctionLabels, Histogram, Durations>,
    function_throttles: Family<FunctionLabels, Counter>,
}

impl std::fmt::Debug for Reporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reporter")
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

impl Reporter {
    /// Records one function attempt: how it ended and how long it ran.
    pub fn function_attempt(&self, function: &str, outcome: FunctionOutcome, seconds: f64) {
        if !self.enabled {
            return;
        }
        let outcome = match outcome {
            FunctionOutcome::Succeeded => "succeeded",
            FunctionOutcome::Failed => "failed",
            FunctionOutcome::TimedOut => "timed_out",
        };
        self.function_invocations
            .get_or_create(&FunctionOutcomeLabels {
                function: function.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
        self.function_duration
            .get_or_create(&FunctionLabels {
                function: function.to_string(),
            })
            .observe(seconds);
    }

    /// Records an attempt that had to wait for a concurrency slot.
    pub fn function_throttled(&self, function: &str) {
        if self.enabled {
            self.function_throttles
                .get_or_create(&FunctionLabels {
                    function: function.to_string(),
                })
                .inc();
        }
    }
}

/// Makes commit-time histograms: 100 µs to about 52 s, doubling.
/// The store's write transactions, as `weir_store_commit_seconds` and
/// `weir_store_commit_batch_size`.
struct StoreWrites {
    seconds: Histogram,
    batch_size: Histogram,
}

impl store::WriteObserver for StoreWrites {
    fn transaction(&self, requests: usize, seconds: f64) {
        self.seconds.observe(seconds);
        self.batch_size.observe(requests as f64);
    }
}

/// weir's metrics (see the module documentation for the list).
pub struct Metrics {
    enabled: bool,
    registry: Registry,
    executions_started: Family<MachineLabels, Counter>,
    executions_ended: Family<EndLabels, Counter>,
    execution_duration: Family<EndLabels, Histogram, Durations>,
    task_duration: Family<StateLabels, Histogram, Durations>,
    state_errors: Family<ErrorLabels, Counter>,
    task_timeouts: Family<StateLabels, Counter>,
    heartbeats_missed: Family<StateLabels, Counter>,
    queue_messages: Family<QueueStateLabels, Gauge<f64, AtomicU64>>,
    queue_oldest: Family<QueueName, Gauge<f64, AtomicU64>>,
    queue_events: Family<QueueEventLabels, Counter>,
    mapping_records: Family<MappingOutcomeLabels, Counter>,
    mapping_lag: Family<MappingLabels, Gauge<f64, AtomicU64>>,
    reporter: std::sync::Arc<Reporter>,
    store_writes: std::sync::Arc<StoreWrites>,
}

impl Metrics {
    /// The metrics, kept (`enabled`) or not (every record is then a no-op).
    pub fn new(enabled: bool) -> Self {
        let mut registry = Registry::with_prefix("weir");
        let executions_started = Family::default();
        registry.register(
            "executions_started",
            "Standard executions started",
            executions_started.clone(),
        );
        let executions_ended = Family::default();
        registry.register(
            "executions_ended",
            "Executions that ended, by final status",
            executions_ended.clone(),
        );
        let execution_duration = Family::new_with_constructor(Durations);
        registry.register(
            "execution_duration_seconds",
            "Start to end of ended executions",
            execution_duration.clone(),
        );
        let task_duration = Family::new_with_constructor(Durations);
        registry.register(
            "task_duration_seconds",
            "One task attempt, from its start to its handler's answer",
            task_duration.clone(),
        );
        let state_errors = Family::default();
        registry.register(
            "state_errors",
            "Errors states met, by what their Retry and Catch did",
            state_errors.clone(),
        );
        let task_timeouts = Family::default();
        registry.register(
            "task_timeouts",
            "Task attempts that ran past TimeoutSeconds",
            task_timeouts.clone(),
        );
        let heartbeats_missed = Family::default();
        registry.register(
            "heartbeats_missed",
            "Activities whose worker went silent past HeartbeatSeconds",
            heartbeats_missed.clone(),
        );
        let queue_messages = Family::default();
        registry.register(
            "queue_messages",
            "Messages in a queue by state (visible, in_flight, delayed)",
            queue_messages.clone(),
        );
        let queue_oldest = Family::default();
        registry.register(
            "queue_oldest_message_age_seconds",
            "Age of a queue's oldest message",
            queue_oldest.clone(),
        );
        let queue_events = Family::default();
        registry.register(
            "queue_events",
            "Messages sent, received, deleted, moved to the DLQ and redriven",
            queue_events.clone(),
        );
        let mapping_records = Family::default();
        registry.register(
            "mapping_records",
            "Records event-source mappings handed over, by outcome",
            mapping_records.clone(),
        );
        let mapping_lag = Family::default();
        registry.register(
            "mapping_lag_seconds",
            "Age of the oldest record a mapping has not yet handled",
            mapping_lag.clone(),
        );
        let reporter = std::sync::Arc::new(Reporter {
            enabled,
            custom: std::sync::Arc::default(),
            function_invocations: Family::default(),
            function_duration: Family::new_with_constructor(Durations),
            function_throttles: Family::default(),
        });
        registry.register(
            "function_invocations",
            "Function attempts, by outcome",
            reporter.function_invocations.clone(),
        );
        registry.register(
            "function_duration_seconds",
            "One function attempt, after any wait for a concurrency slot",
            reporter.function_duration.clone(),
        );
        registry.register(
            "function_throttles",
            "Function attempts that waited for a concurrency slot",
            reporter.function_throttles.clone(),
        );
        registry.register_collector(Box::new(std::sync::Arc::clone(&reporter.custom)));
        let store_writes = std::sync::Arc::new(StoreWrites {
            seconds: Histogram::new(exponential_buckets(0.0001, 2.0, 20)),
            batch_size: Histogram::new(exponential_buckets(1.0, 2.0, 14)),
        });
        registry.register(
            "store_commit_seconds",
            "One write transaction of the store, BEGIN to durable COMMIT",
            store_writes.seconds.clone(),
        );
        registry.register(
            "store_commit_batch_size",
            "Requests per write transaction (group commit)",
            store_writes.batch_size.clone(),
        );
        Metrics {
            enabled,
            mapping_records,
            mapping_lag,
            reporter,
            store_writes,
            registry,
            executions_started,
            executions_ended,
            execution_duration,
            task_duration,
            state_errors,
            task_timeouts,
            heartbeats_missed,
            queue_messages,
            queue_oldest,
            queue_events,
        }
    }
}

/// The state machine's name in an execution ARN
/// (`arn:aws:states:REGION:ACCOUNT:execution:MACHINE:NAME`).
pub fn machine_of(execution_arn: &str) -> String {
    execution_arn
        .split(':')
        .nth(6)
        .unwrap_or_default()
        .to_string()
}

impl Metrics {
    /// The handle other parts report through.
    pub(crate) fn reporter(&self) -> &std::sync::Arc<Reporter> {
        &self.reporter
    }

    /// Starts observing `store`'s write transactions (when metrics are kept).
    pub(crate) fn observe(&self, store: &dyn store::Store) {
        if self.enabled {
            store.observe_writes(self.store_writes.clone());
        }
    }

    /// Counts `count` records of a mapping that ended with `outcome` (`succeeded`, `failed`,
    /// `given_up`).
    pub(crate) fn record_mapping(&self, mapping: &str, queue: &str, outcome: &str, count: usize) {
        if !self.enabled || count == 0 {
            return;
        }
        self.mapping_records
            .get_or_create(&MappingOutcomeLabels {
                mapping: mapping.to_string(),
                queue: queue.to_string(),
                outcome: outcome.to_string(),
            })
            .inc_by(count as u64);
    }

    /// Counts an Express execution that ended (Express runs keep no history to count from).
    pub(crate) fn record_express(&self, execution_arn: &str, status: &str, seconds: f64) {
        if !self.enabled {
            return;
        }
        let labels = EndLabels {
            state_machine: machine_of(execution_arn),
            status: status.to_string(),
        };
        self.executions_ended.get_or_create(&labels).inc();
        self.execution_duration
            .get_or_create(&labels)
            .observe(seconds);
    }

    /// Counts what one committed step recorded: its history events and its errors.
    pub(crate) fn record_step(
        &self,
        execution_arn: &str,
        events: &[HistoryEvent],
        errors: &[ErrorHandled],
        duration_seconds: impl Fn() -> f64,
    ) {
        // Most steps only move states along: nothing here counts them, so skip the labels.
        let counted = |kind: &str| kind.starts_with("Execution") || kind.ends_with("TimedOut");
        if !self.enabled || (errors.is_empty() && !events.iter().any(|e| counted(&e.event_type))) {
            return;
        }
        let machine = machine_of(execution_arn);
        for error in errors {
            let outcome = match error.outcome {
                ErrorOutcome::Retried => "retried",
                ErrorOutcome::Caught => "caught",
                ErrorOutcome::Unhandled => "unhandled",
            };
            self.state_errors
                .get_or_create(&ErrorLabels {
                    state_machine: machine.clone(),
                    state: error.state.clone(),
                    error: error.error.clone(),
                    outcome: outcome.to_string(),
                })
                .inc();
        }
        for event in events {
            let kind = event.event_type.as_str();
            if matches!(
                kind,
                "TaskTimedOut" | "LambdaFunctionTimedOut" | "ActivityTimedOut"
            ) {
                // The task's own state meets the error first (before it goes up to a Map or
                // Parallel state), so the first error of that name in the step names it.
                let error = event
                    .details
                    .as_ref()
                    .and_then(|(_, d)| d["error"].as_str())
                    .unwrap_or(asl::error::names::TIMEOUT);
                let state = errors
                    .iter()
                    .find(|e| e.error == error)
                    .map(|e| e.state.clone())
                    .unwrap_or_default();
                let labels = StateLabels {
                    state_machine: machine.clone(),
                    state,
                };
                if error == asl::error::names::HEARTBEAT_TIMEOUT {
                    self.heartbeats_missed.get_or_create(&labels).inc();
                } else {
                    self.task_timeouts.get_or_create(&labels).inc();
                }
                continue;
            }
            let status = match kind {
                "ExecutionStarted" => {
                    self.executions_started
                        .get_or_create(&MachineLabels {
                            state_machine: machine.clone(),
                        })
                        .inc();
                    continue;
                }
                "ExecutionSucceeded" => "SUCCEEDED",
                "ExecutionFailed" => "FAILED",
                "ExecutionTimedOut" => "TIMED_OUT",
                "ExecutionAborted" => "ABORTED",
                _ => continue,
            };
            let labels = EndLabels {
                state_machine: machine.clone(),
                status: status.to_string(),
            };
            self.executions_ended.get_or_create(&labels).inc();
            self.execution_duration
                .get_or_create(&labels)
                .observe(duration_seconds());
        }
    }

    /// Records one task attempt's duration.
    pub(crate) fn record_task(&self, execution_arn: &str, state: &str, seconds: f64) {
        if !self.enabled {
            return;
        }
        self.task_duration
            .get_or_create(&StateLabels {
                state_machine: machine_of(execution_arn),
                state: state.to_string(),
            })
            .observe(seconds);
    }
}

impl Engine {
    /// Every metric in the OpenMetrics text format, queue gauges read from the store now.
    pub async fn render_metrics(&self) -> Result<String, crate::Error> {
        let metrics = &self.inner().metrics;
        let queues = self.queue_metrics().await?;
        // A mapping's lag is its queue's oldest message: the oldest record it has not handled.
        metrics.mapping_lag.clear();
        for mapping in self.list_event_source_mappings(None, None).await? {
            if let Some(queue) = queues.iter().find(|q| q.queue == mapping.queue) {
                metrics
                    .mapping_lag
                    .get_or_create(&MappingLabels {
                        mapping: mapping.uuid.clone(),
                        queue: mapping.queue.clone(),
                    })
                    .set(queue.oldest_age_seconds);
            }
        }
        for queue in queues {
            for (kind, value) in [
                ("visible", queue.visible),
                ("in_flight", queue.in_flight),
                ("delayed", queue.delayed),
            ] {
                metrics
                    .queue_messages
                    .get_or_create(&QueueStateLabels {
                        queue: queue.queue.clone(),
                        state: kind.to_string(),
                    })
                    .set(value as f64);
            }
            metrics
                .queue_oldest
                .get_or_create(&QueueName {
                    queue: queue.queue.clone(),
                })
                .set(queue.oldest_age_seconds);
            for (kind, total) in [
                ("sent", queue.sent),
                ("received", queue.received),
                ("deleted", queue.deleted),
                ("moved_to_dlq", queue.moved_to_dead_letter),
                ("redriven", queue.redriven),
            ] {
                let counter = metrics.queue_events.get_or_create(&QueueEventLabels {
                    queue: queue.queue.clone(),
                    event: kind.to_string(),
                });
                let seen = counter.get();
                if total > seen {
                    counter.inc_by(total - seen);
                }
            }
        }
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &metrics.registry).map_err(|e| {
            crate::Error::Corrupt {
                what: "metrics".to_string(),
                detail: e.to_string(),
            }
        })?;
        Ok(text)
    }
}
