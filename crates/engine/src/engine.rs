//! The durable engine: state machines and Standard executions on a [`Store`], one actor per busy
//! execution, a timer service, and resumption of stored work at start.

use crate::clock::Clock;
use crate::error::Error;
use crate::task::{Handler, TaskRequest};
use crate::work;
use asl::definition::StateMachine;
use asl::execution::{
    Command, Event, Execution, ExecutionInfo, PAYLOAD_LIMIT, Status, TaskCommand, ThreadId,
    is_activity_arn, step,
};
use asl::history::HistoryEvent;
use asl::validate::{Diagnostic, Severity, ValidationOptions};
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use store::{
    Commit, EventRecord, ExecutionFilter, ExecutionRecord, Page, StateMachineRecord, Store,
};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

/// How the engine runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// This node's name: the owner of the work it claims. A restarted node with the same name
    /// takes its work back at once; another node waits for the leases to end.
    pub node: String,
    /// The region in ARNs.
    pub region: String,
    /// The account in ARNs.
    pub account: String,
    /// How long an execution's actor stays in memory with nothing to do.
    pub idle: std::time::Duration,
    /// How long a claimed work item stays leased to this node.
    pub lease: SignedDuration,
    /// Whether to keep Prometheus metrics (`false` measures what they cost).
    pub metrics: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            node: "local".to_string(),
            region: "us-east-1".to_string(),
            account: "000000000000".to_string(),
            idle: std::time::Duration::from_millis(500),
            lease: SignedDuration::from_mins(10),
            metrics: true,
        }
    }
}

/// A state machine to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewStateMachine {
    /// Its name (1 to 80 characters, AWS's character rules).
    pub name: String,
    /// The ASL definition text.
    pub definition: String,
    /// `true` for an `EXPRESS` machine.
    pub express: bool,
    /// The role ARN; a default one when empty.
    pub role_arn: String,
}

/// What `StartExecution` answers.
#[derive(Debug, Clone, PartialEq)]
pub struct StartedExecution {
    /// The execution ARN.
    pub execution_arn: String,
    /// When it started.
    pub start_date: Timestamp,
}

/// The durable engine. Cheap to clone; all clones drive the same executions.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    tasks: Arc<dyn Handler>,
    options: Options,
    machines: Mutex<HashMap<(String, u64), Arc<StateMachine>>>,
    /// The latest revision of each machine this node started executions of. Updates and deletes
    /// made through this node replace or drop the entry.
    // FIXME: with several nodes on one store, another node's update is seen here only when this
    // entry is dropped; the PostgreSQL backend's LISTEN/NOTIFY must invalidate it.
    latest: Mutex<HashMap<String, Startable>>,
    actors: Mutex<HashMap<String, mpsc::UnboundedSender<Message>>>,
    waiters: Mutex<HashMap<String, Vec<oneshot::Sender<ExecutionRecord>>>>,
    timers: mpsc::UnboundedSender<Timer>,
    /// Activity tasks waiting for a worker, and workers waiting for a task.
    pub(crate) activities: crate::activities::Dispatcher,
    /// Queue long polls, purges and move tasks.
    pub(crate) queues: crate::queues::Queues,
    /// Prometheus metrics.
    pub(crate) metrics: crate::metrics::Metrics,
    /// The pollers of enabled event-source mappings.
    pub(crate) mappings: crate::mappings::Mappings,
    /// What wakes the topic delivery worker, and its attempt slots.
    pub(crate) topics: crate::topics::Topics,
    /// The metric alarms' datapoint windows.
    pub(crate) alarms: crate::alarms::Alarms,
}

/// The latest revision of a machine, with its compiled definition.
#[derive(Clone)]
pub(crate) struct Startable {
    /// The stored machine.
    pub(crate) record: Arc<StateMachineRecord>,
    /// Its definition, parsed once.
    pub(crate) definition: Arc<StateMachine>,
    /// The version ARN (and the alias ARN) the execution was started on, if it was.
    pub(crate) origin: Option<(String, Option<String>)>,
}

/// The document kind that records the version and alias an execution was started on.
const ORIGIN: &str = "execution-origin";

/// One event for an execution's actor.
pub(crate) struct Message {
    pub(crate) event: Event,
    /// The work item this event answers, deleted in the commit that consumes it.
    pub(crate) work: Option<String>,
    /// The task attempt (thread, wake id) the event is for, when its sender needs to know
    /// whether that attempt still waited ([`Delivered::task_waited`]).
    pub(crate) task: Option<(ThreadId, u64)>,
    /// Who waits for the commit.
    pub(crate) reply: Option<oneshot::Sender<Result<Delivered, Error>>>,
}

/// What the sender of an event learns once it is committed.
pub(crate) struct Delivered {
    /// The execution's row after the commit.
    pub(crate) record: ExecutionRecord,
    /// Whether the message's task attempt still waited when the event arrived (`false` when the
    /// message names none).
    pub(crate) task_waited: bool,
}

/// A timer the timer service fires.
struct Timer {
    due: Timestamp,
    arn: String,
    event: Event,
    work: Option<String>,
}

/// An execution held by its actor: its row, its state and its definition.
struct Loaded {
    record: ExecutionRecord,
    execution: Execution,
    definition: Arc<StateMachine>,
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves plain maps behind, still usable.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Engine {
    /// Starts an engine on `store`: launches the timer service and resumes every stored work
    /// item (unanswered tasks are delivered again, timers re-armed). Must run inside a Tokio
    /// runtime.
    pub async fn start(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        tasks: Arc<dyn Handler>,
        options: Options,
    ) -> Result<Engine, Error> {
        let (timers, timer_rx) = mpsc::unbounded_channel();
        let metrics = crate::metrics::Metrics::new(options.metrics);
        metrics.observe(store.as_ref());
        let inner = Arc::new(Inner {
            store,
            clock,
            tasks,
            options,
            machines: Mutex::new(HashMap::new()),
            latest: Mutex::new(HashMap::new()),
            actors: Mutex::new(HashMap::new()),
            waiters: Mutex::new(HashMap::new()),
            timers,
            activities: crate::activities::Dispatcher::default(),
            queues: crate::queues::Queues::default(),
            metrics,
            mappings: crate::mappings::Mappings::default(),
            topics: crate::topics::Topics::default(),
            alarms: crate::alarms::Alarms::default(),
        });
        tokio::spawn(timer_service(Arc::downgrade(&inner), timer_rx));
        tokio::spawn(crate::queues::sweeper(Arc::downgrade(&inner)));
        tokio::spawn(crate::topics::delivery::worker(Arc::downgrade(&inner)));
        tokio::spawn(crate::alarms::evaluator(Arc::downgrade(&inner)));
        let engine = Engine { inner };
        engine.tasks().report_to(engine.reporter());
        engine.resume().await?;
        if let Err(error) = engine.resume_move_tasks().await {
            tracing::warn!(%error, "Message move tasks not resumed.");
        }
        engine.resume_mappings().await?;
        Ok(engine)
    }

    /// The engine's clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// The handler that runs every task.
    pub(crate) fn tasks(&self) -> &Arc<dyn Handler> {
        &self.inner.tasks
    }

    /// Claims every stored work item and carries it out again.
    async fn resume(&self) -> Result<(), Error> {
        let inner = &self.inner;
        let now = inner.clock.now();
        let lease_until = now
            .saturating_add(inner.options.lease)
            .unwrap_or(Timestamp::MAX);
        // Small pages, so the first resumed work starts while the rest is still being claimed.
        const PAGE: usize = 1_000;
        loop {
            let claimed = inner
                .store
                .claim_work(&inner.options.node, now, Timestamp::MAX, lease_until, PAGE)
                .await?;
            let full = claimed.len() == PAGE;
            for claim in claimed {
                let command = work::command(&claim.item).map_err(|detail| Error::Corrupt {
                    what: format!("work item {}", claim.item.id),
                    detail,
                })?;
                inner.carry_out(&claim.item.execution_arn, command);
            }
            if !full {
                return Ok(());
            }
        }
    }

    /// Creates a state machine (revision 1). Creating one that exists with the same definition
    /// and settings returns it, as AWS does.
    pub async fn create_state_machine(
        &self,
        machine: NewStateMachine,
    ) -> Result<StateMachineRecord, Error> {
        check_name(&machine.name)?;
        self.check_definition(&machine.definition, machine.express)?;
        let arn = format!(
            "arn:aws:states:{}:{}:stateMachine:{}",
            self.inner.options.region, self.inner.options.account, machine.name
        );
        let role_arn = if machine.role_arn.is_empty() {
            format!(
                "arn:aws:iam::{}:role/weir-execution",
                self.inner.options.account
            )
        } else {
            machine.role_arn
        };
        let now = self.inner.clock.now();
        let mut record = StateMachineRecord {
            arn: arn.clone(),
            name: machine.name,
            kind: if machine.express {
                "EXPRESS"
            } else {
                "STANDARD"
            }
            .to_string(),
            role_arn,
            revision: 1,
            definition: machine.definition,
            config: "{}".to_string(),
            created_at: now,
            updated_at: now,
        };
        loop {
            match self.inner.store.create_state_machine(record.clone()).await {
                Ok(()) => return Ok(record),
                Err(store::Error::AlreadyExists { .. }) => {
                    match self.inner.store.get_state_machine(&arn).await? {
                        Some(existing) => {
                            return if existing.definition == record.definition
                                && existing.role_arn == record.role_arn
                                && existing.kind == record.kind
                            {
                                Ok(existing)
                            } else {
                                Err(Error::StateMachineAlreadyExists { arn })
                            };
                        }
                        // A deleted machine of this name left its revisions for its executions:
                        // this one starts after them.
                        None => record.revision += 1,
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Updates a state machine's definition and/or role: a new revision. Running executions keep
    /// the revision they started on.
    pub async fn update_state_machine(
        &self,
        arn: &str,
        definition: Option<String>,
        role_arn: Option<String>,
    ) -> Result<StateMachineRecord, Error> {
        loop {
            let current = self.describe_state_machine(arn).await?;
            let mut next = current.clone();
            if let Some(definition) = &definition {
                self.check_definition(definition, current.kind == "EXPRESS")?;
                next.definition = definition.clone();
            }
            if let Some(role_arn) = &role_arn {
                next.role_arn = role_arn.clone();
            }
            next.revision = current.revision + 1;
            next.updated_at = self.inner.clock.now();
            match self.inner.store.update_state_machine(next.clone()).await {
                Ok(()) => {
                    lock(&self.inner.latest).remove(arn);
                    return Ok(next);
                }
                Err(store::Error::Conflict { .. }) => continue,
                Err(store::Error::NotFound { .. }) => {
                    return Err(Error::StateMachineDoesNotExist {
                        arn: arn.to_string(),
                    });
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Checks a definition for a new machine or revision: valid ASL, and every Task's
    /// `Resource` one this engine can run, so that nothing is discovered halfway through an
    /// execution. Problems are reported as AWS reports invalid definitions, with the state and
    /// the resource named.
    fn check_definition(&self, text: &str, express: bool) -> Result<(), Error> {
        let options = ValidationOptions { express };
        let machine = StateMachine::load_text(text, &options)
            .map_err(|diagnostics| Error::invalid_definition(diagnostics, text))?;
        // Activities in Express machines are refused by validation, as AWS refuses them.
        let unsupported: Vec<Diagnostic> = machine
            .task_resources()
            .into_iter()
            .filter(|task| {
                !is_activity_arn(task.resource)
                    && !crate::nested::runs(task.resource)
                    && !crate::queues::integration::runs(task.resource)
                    && !crate::topics::integration::runs(task.resource)
                    && !self.inner.tasks.supports(task.resource)
            })
            .map(|task| Diagnostic {
                severity: Severity::Error,
                code: "UNSUPPORTED_RESOURCE".to_string(),
                message: format!(
                    "State '{}' calls '{}', which weir cannot run: weir runs Lambda functions \
                     registered with it (arn:aws:lambda:REGION:ACCOUNT:function:NAME, \
                     arn:aws:states:::lambda:invoke), activities, \
                     arn:aws:states:::states:startExecution, arn:aws:states:::sqs:sendMessage, \
                     arn:aws:states:::sns:publish and arn:aws:states:::http:invoke",
                    task.state, task.resource
                ),
                location: Some(task.location),
            })
            .collect();
        if unsupported.is_empty() {
            Ok(())
        } else {
            Err(Error::invalid_definition(unsupported, text))
        }
    }

    /// The latest revision of a state machine.
    pub async fn describe_state_machine(&self, arn: &str) -> Result<StateMachineRecord, Error> {
        self.inner
            .store
            .get_state_machine(arn)
            .await?
            .ok_or_else(|| Error::StateMachineDoesNotExist {
                arn: arn.to_string(),
            })
    }

    /// The latest revision of a machine to start an execution of, with its definition, from this
    /// node's cache.
    pub(crate) async fn machine_to_start(&self, arn: &str) -> Result<Startable, Error> {
        if let Some(found) = lock(&self.inner.latest).get(arn) {
            return Ok(found.clone());
        }
        let record = self.describe_state_machine(arn).await?;
        let definition = self.inner.definition(&record.arn, record.revision).await?;
        let startable = Startable {
            record: Arc::new(record),
            definition,
            origin: None,
        };
        lock(&self.inner.latest).insert(arn.to_string(), startable.clone());
        Ok(startable)
    }

    /// State machines by ARN, a page at a time.
    pub async fn list_state_machines(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<StateMachineRecord>, Error> {
        Ok(self.inner.store.list_state_machines(cursor, limit).await?)
    }

    /// Deletes a state machine; its running executions run on to their end.
    pub async fn delete_state_machine(&self, arn: &str) -> Result<(), Error> {
        lock(&self.inner.latest).remove(arn);
        self.delete_resources_of(arn).await?;
        match self.inner.store.delete_state_machine(arn).await {
            Ok(()) | Err(store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The store the engine runs on.
    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// The handle through which function runners and the API report metrics (function
    /// attempts, custom metrics).
    pub fn reporter(&self) -> Arc<crate::metrics::Reporter> {
        Arc::clone(self.inner.metrics.reporter())
    }

    /// The machine revision and definition an execution started on `arn` runs: the latest
    /// revision for a machine ARN, the version's for a version ARN, the routed version's for an
    /// alias ARN.
    pub(crate) async fn startable(&self, arn: &str) -> Result<Startable, Error> {
        use crate::resources::{Qualified, qualify};
        let (version, alias) = match qualify(arn) {
            Qualified::Machine(machine) => return self.machine_to_start(&machine).await,
            Qualified::Version(..) => (self.describe_version(arn).await?, None),
            Qualified::Alias(..) => (self.route(arn).await?, Some(arn.to_string())),
        };
        let record = self
            .state_machine_revision(&version.state_machine_arn, version.revision)
            .await?;
        let definition = self
            .inner
            .definition(&version.state_machine_arn, version.revision)
            .await?;
        Ok(Startable {
            record: Arc::new(record),
            definition,
            origin: Some((version.arn, alias)),
        })
    }

    /// The version ARN (and alias ARN) an execution was started on, if it was started on one.
    pub async fn execution_origin(
        &self,
        execution_arn: &str,
    ) -> Result<Option<(String, Option<String>)>, Error> {
        let Some(document) = self.inner.store.get_document(ORIGIN, execution_arn).await? else {
            return Ok(None);
        };
        let value: Value = serde_json::from_str(&document.body).map_err(|e| Error::Corrupt {
            what: format!("origin of {execution_arn}"),
            detail: e.to_string(),
        })?;
        Ok(value["version"].as_str().map(|version| {
            (
                version.to_string(),
                value["alias"].as_str().map(str::to_string),
            )
        }))
    }

    /// Starts an execution of the latest revision of a state machine. `name` defaults to a
    /// fresh UUID and `input` to `{}`. Starting again with the same name and input while the
    /// first is running returns the first, as AWS does; otherwise a used name is refused.
    pub async fn start_execution(
        &self,
        state_machine_arn: &str,
        name: Option<&str>,
        input: Option<&str>,
    ) -> Result<StartedExecution, Error> {
        let Startable {
            record: machine,
            definition,
            origin,
        } = self.startable(state_machine_arn).await?;
        let name = match name {
            Some(name) => {
                check_name(name)?;
                name.to_string()
            }
            None => crate::express::fresh_uuid(),
        };
        if machine.kind == "EXPRESS" {
            let info = self.express_info(&machine, Some(&name), input, false)?;
            let started = StartedExecution {
                execution_arn: info.arn.clone(),
                start_date: info.start_time,
            };
            let engine = self.clone();
            tokio::spawn(async move { engine.run_express(definition, info).await });
            return Ok(started);
        }
        let input_text = input.unwrap_or("{}");
        let input = parse_input(input_text)?;
        let now = self.inner.clock.now();
        let mut info = ExecutionInfo::new(&machine.arn, &name, input, now);
        info.role_arn = machine.role_arn.clone();
        let arn = info.arn.clone();
        let started = step(
            &definition,
            Execution::new(info),
            Event::Start,
            now,
            seed(&arn, 0),
        );
        let record = ExecutionRecord {
            arn: arn.clone(),
            state_machine_arn: machine.arn.clone(),
            revision: machine.revision,
            name,
            status: String::new(),
            input: input_text.to_string(),
            output: None,
            error: None,
            cause: None,
            start_date: now,
            stop_date: None,
            redrive_count: 0,
            redrive_date: None,
            last_event_id: 0,
            version: 0,
        };
        let record = next_record(&record, &started.execution, now);
        let mut commit = build_commit(
            &record,
            None,
            Decided {
                execution: &started.execution,
                events: &started.events,
                commands: &started.commands,
                map_runs: &started.map_runs,
            },
            vec![],
            now,
        )?;
        if let Some((version, alias)) = &origin {
            let body = serde_json::json!({"version": version, "alias": alias}).to_string();
            commit
                .documents
                .push((ORIGIN.to_string(), arn.clone(), body));
        }
        match self.inner.store.commit(commit).await {
            Ok(()) => {}
            Err(store::Error::AlreadyExists { .. }) => {
                let existing = self.describe_execution(&arn).await?;
                if existing.status == "RUNNING" && existing.input == input_text {
                    return Ok(StartedExecution {
                        execution_arn: arn,
                        start_date: existing.start_date,
                    });
                }
                return Err(Error::ExecutionAlreadyExists { arn });
            }
            Err(e) => return Err(e.into()),
        }
        self.inner
            .metrics
            .record_step(&arn, &started.events, &started.errors, || 0.0);
        let start_date = record.start_date;
        let terminal = record.status != "RUNNING";
        let loaded = Loaded {
            record: record.clone(),
            execution: started.execution,
            definition,
        };
        if terminal {
            self.inner.finished(&record);
        } else {
            self.inner.adopt(arn.clone(), loaded);
        }
        for command in started.commands {
            self.inner.carry_out(&arn, command);
        }
        Ok(StartedExecution {
            execution_arn: arn,
            start_date,
        })
    }

    /// An execution's row.
    pub async fn describe_execution(&self, arn: &str) -> Result<ExecutionRecord, Error> {
        match self.inner.store.load_execution(arn).await? {
            Some((record, _)) => Ok(record),
            None => Err(Error::ExecutionDoesNotExist {
                arn: arn.to_string(),
            }),
        }
    }

    /// Executions, newest first, a page at a time.
    pub async fn list_executions(
        &self,
        filter: ExecutionFilter,
    ) -> Result<Page<ExecutionRecord>, Error> {
        Ok(self.inner.store.list_executions(filter).await?)
    }

    /// History events after `after` (before it when `reverse`), at most `limit`.
    pub async fn history(
        &self,
        arn: &str,
        after: u64,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<HistoryEvent>, Error> {
        self.describe_execution(arn).await?;
        let records = self.inner.store.history(arn, after, limit, reverse).await?;
        records
            .iter()
            .map(|record| {
                serde_json::from_str(&record.body).map_err(|e| Error::Corrupt {
                    what: format!("history event {} of {arn}", record.id),
                    detail: e.to_string(),
                })
            })
            .collect()
    }

    /// Stops a running execution (status `ABORTED`); stopping a finished one changes nothing.
    pub async fn stop_execution(
        &self,
        arn: &str,
        error: Option<String>,
        cause: Option<String>,
    ) -> Result<ExecutionRecord, Error> {
        let record = self.describe_execution(arn).await?;
        if record.status != "RUNNING" {
            return Ok(record);
        }
        self.send(arn, Event::Stop { error, cause }).await
    }

    /// Restarts a failed, timed-out or aborted execution from where it stopped
    /// (`RedriveExecution`); refused with `ExecutionNotRedrivable` and AWS's reason otherwise.
    pub async fn redrive_execution(&self, arn: &str) -> Result<ExecutionRecord, Error> {
        let loaded = self.inner.load_existing(arn).await?;
        asl::execution::redrivable(&loaded.execution, self.inner.clock.now()).map_err(
            |reason| Error::NotAllowed {
                code: asl::execution::redrive::NOT_REDRIVABLE_ERROR,
                message: reason.to_string(),
            },
        )?;
        self.send(arn, Event::Redrive).await
    }

    /// An execution's row and whether it could be redriven now (`Err(reason)` with AWS's
    /// reason when not), from one read of the store.
    pub async fn describe_execution_for_api(
        &self,
        arn: &str,
    ) -> Result<(ExecutionRecord, Result<(), String>), Error> {
        let loaded = self.inner.load_existing(arn).await?;
        let redrivable = asl::execution::redrivable(&loaded.execution, self.inner.clock.now())
            .map_err(|reason| reason.to_string());
        Ok((loaded.record, redrivable))
    }

    /// One revision of a state machine, as an execution of it sees it.
    pub async fn state_machine_revision(
        &self,
        arn: &str,
        revision: u64,
    ) -> Result<StateMachineRecord, Error> {
        self.inner
            .store
            .get_revision(arn, revision)
            .await?
            .ok_or_else(|| Error::StateMachineDoesNotExist {
                arn: arn.to_string(),
            })
    }

    /// An execution's row and state, as stored.
    pub(crate) async fn load_for_map_run(
        &self,
        arn: &str,
    ) -> Result<(ExecutionRecord, Execution), Error> {
        let loaded = self.inner.load_existing(arn).await?;
        Ok((loaded.record, loaded.execution))
    }

    /// Delivers an event to an execution and waits for the commit that handles it.
    pub(crate) async fn send(&self, arn: &str, event: Event) -> Result<ExecutionRecord, Error> {
        let delivered = self.inner.send(arn, event, None, None).await?;
        Ok(delivered.record)
    }

    /// The engine's shared state, for the modules that deliver events of their own.
    pub(crate) fn inner(&self) -> &Arc<Inner> {
        &self.inner
    }

    /// An engine handle on shared state (for tasks the engine spawns).
    pub(crate) fn from_inner(inner: Arc<Inner>) -> Engine {
        Engine { inner }
    }

    /// How the engine runs.
    pub fn options(&self) -> &Options {
        &self.inner.options
    }

    /// Waits until an execution has ended and returns its final row.
    pub async fn wait(&self, arn: &str) -> Result<ExecutionRecord, Error> {
        let (tx, rx) = oneshot::channel();
        lock(&self.inner.waiters)
            .entry(arn.to_string())
            .or_default()
            .push(tx);
        let record = self.describe_execution(arn).await?;
        if record.status != "RUNNING" {
            return Ok(record);
        }
        rx.await.map_err(|_| Error::Store(store::Error::Closed))
    }
}

impl Inner {
    /// Delivers an event (answering work item `work`, about task attempt `task`) and waits for
    /// the commit that handles it.
    pub(crate) async fn send(
        self: &Arc<Self>,
        arn: &str,
        event: Event,
        work: Option<String>,
        task: Option<(ThreadId, u64)>,
    ) -> Result<Delivered, Error> {
        let (reply, answer) = oneshot::channel();
        self.deliver(
            arn,
            Message {
                event,
                work,
                task,
                reply: Some(reply),
            },
        );
        answer.await.map_err(|_| store::Error::Closed)?
    }

    /// The compiled definition of one revision, parsed once.
    async fn definition(&self, arn: &str, revision: u64) -> Result<Arc<StateMachine>, Error> {
        let key = (arn.to_string(), revision);
        if let Some(found) = lock(&self.machines).get(&key) {
            return Ok(found.clone());
        }
        let record = self
            .store
            .get_revision(arn, revision)
            .await?
            .ok_or_else(|| Error::StateMachineDoesNotExist {
                arn: arn.to_string(),
            })?;
        let options = ValidationOptions {
            express: record.kind == "EXPRESS",
        };
        let compiled =
            StateMachine::load_text(&record.definition, &options).map_err(|d| Error::Corrupt {
                what: format!("definition of {arn} revision {revision}"),
                detail: format!("{} problems, first: {:?}", d.len(), d.first()),
            })?;
        let compiled = Arc::new(compiled);
        lock(&self.machines).insert(key, compiled.clone());
        Ok(compiled)
    }

    /// Loads an execution from the store for its actor.
    async fn load(&self, arn: &str) -> Result<Option<Loaded>, Error> {
        let Some((record, snapshot)) = self.store.load_execution(arn).await? else {
            return Ok(None);
        };
        let execution: Execution = serde_json::from_str(&snapshot).map_err(|e| Error::Corrupt {
            what: format!("snapshot of {arn}"),
            detail: e.to_string(),
        })?;
        let definition = self
            .definition(&record.state_machine_arn, record.revision)
            .await?;
        Ok(Some(Loaded {
            record,
            execution,
            definition,
        }))
    }

    /// Loads an execution that must exist.
    async fn load_existing(&self, arn: &str) -> Result<Loaded, Error> {
        self.load(arn)
            .await?
            .ok_or_else(|| Error::ExecutionDoesNotExist {
                arn: arn.to_string(),
            })
    }

    /// Hands a freshly started execution to a new actor, unless an actor exists already.
    fn adopt(self: &Arc<Self>, arn: String, loaded: Loaded) {
        let mut actors = lock(&self.actors);
        if actors.contains_key(&arn) {
            return;
        }
        let (tx, rx) = mpsc::unbounded_channel();
        actors.insert(arn.clone(), tx);
        let span = tracing::info_span!("execution", execution = %arn);
        tokio::spawn(actor(self.clone(), arn, rx, Some(loaded)).instrument(span));
    }

    /// Sends an event to an execution's actor, starting one if none is running.
    pub(crate) fn deliver(self: &Arc<Self>, arn: &str, message: Message) {
        let mut actors = lock(&self.actors);
        let message = match actors.get(arn) {
            Some(tx) => match tx.send(message) {
                Ok(()) => return,
                Err(mpsc::error::SendError(message)) => message,
            },
            None => message,
        };
        let (tx, rx) = mpsc::unbounded_channel();
        // The receiver is alive: it was made a line above.
        let _ = tx.send(message);
        actors.insert(arn.to_string(), tx);
        let span = tracing::info_span!("execution", execution = %arn);
        tokio::spawn(actor(self.clone(), arn.to_string(), rx, None).instrument(span));
    }

    /// Carries out one committed command.
    fn carry_out(self: &Arc<Self>, arn: &str, command: Command) {
        if let Some((event, work)) = work::timer_event(arn, &command) {
            let due = match command {
                Command::StartTimer { at, .. }
                | Command::ExecutionTimeout { at }
                | Command::TaskTimer { at, .. } => at,
                _ => self.clock.now(),
            };
            let _ = self.timers.send(Timer {
                due,
                arn: arn.to_string(),
                event,
                work: Some(work),
            });
            return;
        }
        if let Command::RunTask(task) = command {
            self.run_task(arn, task);
        }
    }

    /// Runs one task attempt and delivers its answer. Activities wait for a worker; nested
    /// executions run on this engine; everything else goes to the handler. Deadlines
    /// (`TimeoutSeconds`, `HeartbeatSeconds`) are durable timers of their own
    /// ([`Command::TaskTimer`]), so a late answer is simply ignored.
    fn run_task(self: &Arc<Self>, arn: &str, task: TaskCommand) {
        if is_activity_arn(&task.resource) {
            self.activities.offer(arn, task);
            return;
        }
        let work_id = work::task_id(arn, task.thread, task.wake);
        let answer = if crate::nested::runs(&task.resource) {
            let engine = Engine {
                inner: self.clone(),
            };
            crate::nested::run(engine, arn.to_string(), task.clone())
        } else if crate::queues::integration::runs(&task.resource) {
            let engine = Engine {
                inner: self.clone(),
            };
            crate::queues::integration::run(engine, task.clone())
        } else if crate::topics::integration::runs(&task.resource) {
            let engine = Engine {
                inner: self.clone(),
            };
            crate::topics::integration::run(engine, task.clone())
        } else {
            self.tasks.call(TaskRequest::of(arn, &task))
        };
        let inner = self.clone();
        let span = tracing::info_span!(
            "task",
            execution = %arn,
            state = %task.state,
            attempt = task.attempt,
            resource = %task.resource,
        );
        let arn = arn.to_string();
        let attempt = async move {
            let started = std::time::Instant::now();
            tracing::debug!("Task attempt started.");
            let result = answer.await;
            let seconds = started.elapsed().as_secs_f64();
            match &result {
                Ok(_) => tracing::debug!(seconds, "Task attempt succeeded."),
                Err(failure) => tracing::info!(
                    seconds,
                    error = %failure.error,
                    "Task attempt failed."
                ),
            }
            inner.metrics.record_task(&arn, &task.state, seconds);
            let event = crate::task::answer(&task, result);
            inner.deliver(
                &arn,
                Message {
                    event,
                    work: Some(work_id),
                    task: None,
                    reply: None,
                },
            );
        };
        tokio::spawn(attempt.instrument(span));
    }

    /// Tells whoever waits for this execution that it ended.
    fn finished(&self, record: &ExecutionRecord) {
        if let Some(waiters) = lock(&self.waiters).remove(&record.arn) {
            for waiter in waiters {
                let _ = waiter.send(record.clone());
            }
        }
    }
}

/// The seed of one step: fixed by the execution and its position, so a step decided again after
/// a crash draws the same jitter.
fn seed(arn: &str, last_event_id: u64) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in arn.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash ^ last_event_id.wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// The row after a step.
fn next_record(
    previous: &ExecutionRecord,
    execution: &Execution,
    now: Timestamp,
) -> ExecutionRecord {
    let mut record = previous.clone();
    record.status = execution.status.as_str().to_string();
    record.output = execution.output.as_ref().map(|output| output.to_string());
    record.error = execution.failure.as_ref().map(|f| f.error.clone());
    record.cause = execution.failure.as_ref().map(|f| f.cause.clone());
    if execution.status == Status::Running {
        // Running again after a redrive: the stop belongs to the attempt before.
        record.stop_date = None;
    } else if previous.stop_date.is_none() {
        record.stop_date = Some(now);
    }
    record.redrive_count = u64::from(execution.info.redrive_count.unwrap_or(0));
    record.redrive_date = execution.info.redrive_time;
    record.last_event_id = execution.last_event_id;
    record.version = previous.version + 1;
    record
}

/// One commit for a step (or a batch of steps) of an execution.
/// What one or more steps decided, to be committed together.
struct Decided<'a> {
    execution: &'a Execution,
    events: &'a [HistoryEvent],
    commands: &'a [Command],
    map_runs: &'a [asl::execution::MapRunReport],
}

fn build_commit(
    record: &ExecutionRecord,
    expected_version: Option<u64>,
    decided: Decided<'_>,
    mut done_work: Vec<String>,
    now: Timestamp,
) -> Result<Commit, Error> {
    let Decided {
        execution,
        events,
        commands,
        map_runs,
    } = decided;
    let corrupt = |what: &str, detail: String| Error::Corrupt {
        what: format!("{what} of {}", record.arn),
        detail,
    };
    let snapshot =
        serde_json::to_string(execution).map_err(|e| corrupt("snapshot", e.to_string()))?;
    let events = events
        .iter()
        .map(|event| {
            Ok(EventRecord {
                id: event.id,
                event_type: event.event_type.clone(),
                timestamp: event.timestamp,
                body: serde_json::to_string(event)
                    .map_err(|e| corrupt("history event", e.to_string()))?,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let changes = work::changes(&record.arn, now, commands).map_err(|e| corrupt("work", e))?;
    done_work.extend(changes.done);
    let terminal = execution.status != Status::Running;
    Ok(Commit {
        execution: record.clone(),
        expected_version,
        snapshot,
        events,
        add_work: if terminal { Vec::new() } else { changes.add },
        done_work,
        clear_work: terminal,
        documents: crate::map_runs::documents(record, map_runs),
    })
}

/// The actor of one execution: handles its events a batch at a time, commits, then acts; goes
/// away when idle.
async fn actor(
    inner: Arc<Inner>,
    arn: String,
    mut rx: mpsc::UnboundedReceiver<Message>,
    loaded: Option<Loaded>,
) {
    let mut loaded = match loaded {
        Some(loaded) => Some(loaded),
        None => match inner.load(&arn).await {
            Ok(found) => found,
            Err(error) => {
                tracing::error!(execution = %arn, %error, "Could not load the execution.");
                None
            }
        },
    };
    loop {
        let first = match tokio::time::timeout(inner.options.idle, rx.recv()).await {
            Ok(Some(message)) => message,
            Ok(None) => return,
            Err(_idle) => {
                let mut actors = lock(&inner.actors);
                if rx.is_empty() {
                    actors.remove(&arn);
                    return;
                }
                continue;
            }
        };
        let mut batch = vec![first];
        while batch.len() < 256 {
            match rx.try_recv() {
                Ok(message) => batch.push(message),
                Err(_) => break,
            }
        }
        let Some(current) = loaded.as_mut() else {
            for message in batch {
                if let Some(reply) = message.reply {
                    let _ = reply.send(Err(Error::ExecutionDoesNotExist { arn: arn.clone() }));
                }
            }
            continue;
        };
        match decide(&inner, current, &mut batch).await {
            Ok((commands, waited)) => {
                for (message, task_waited) in batch.into_iter().zip(waited) {
                    if let Some(reply) = message.reply {
                        let _ = reply.send(Ok(Delivered {
                            record: current.record.clone(),
                            task_waited,
                        }));
                    }
                }
                if current.record.status != "RUNNING" {
                    inner.finished(&current.record);
                }
                for command in commands {
                    inner.carry_out(&arn, command);
                }
            }
            Err(Error::Store(store::Error::Conflict { .. })) => {
                // Someone else moved the execution on: take the stored state and decide again.
                match inner.load(&arn).await {
                    Ok(Some(fresh)) => *current = fresh,
                    Ok(None) => loaded = None,
                    Err(error) => {
                        tracing::error!(execution = %arn, %error, "Could not reload the execution.");
                    }
                }
                requeue(&inner, &arn, batch);
            }
            Err(error) => {
                tracing::error!(execution = %arn, %error, "Could not commit a step; retrying.");
                let mut keep = Vec::new();
                for mut message in batch {
                    if let Some(reply) = message.reply.take() {
                        let _ = reply.send(Err(Error::Corrupt {
                            what: format!("commit of {arn}"),
                            detail: error.to_string(),
                        }));
                    }
                    keep.push(message);
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                requeue(&inner, &arn, keep);
            }
        }
    }
}

/// Puts messages back at the end of an execution's queue.
fn requeue(inner: &Arc<Inner>, arn: &str, batch: Vec<Message>) {
    for message in batch {
        inner.deliver(arn, message);
    }
}

/// Steps every event of a batch, commits the result once, and returns the commands to carry
/// out, with whether each message's task attempt still waited. On error nothing changed in
/// memory.
async fn decide(
    inner: &Arc<Inner>,
    current: &mut Loaded,
    batch: &mut [Message],
) -> Result<(Vec<Command>, Vec<bool>), Error> {
    let now = inner.clock.now();
    let mut execution = current.execution.clone();
    let mut events = Vec::new();
    let mut commands = Vec::new();
    let mut map_runs = Vec::new();
    let mut errors = Vec::new();
    let mut done = Vec::new();
    let mut waited = Vec::with_capacity(batch.len());
    for message in batch.iter_mut() {
        done.extend(message.work.take());
        waited.push(message.task.is_some_and(|(thread, wake)| {
            execution.status == Status::Running && execution.waits_for_task(thread, wake)
        }));
        if execution.status != Status::Running && !matches!(message.event, Event::Redrive) {
            continue;
        }
        let event = std::mem::replace(&mut message.event, Event::Start);
        let seed = seed(&current.record.arn, execution.last_event_id);
        let stepped = step(&current.definition, execution, event, now, seed);
        execution = stepped.execution;
        events.extend(stepped.events);
        commands.extend(stepped.commands);
        map_runs.extend(stepped.map_runs);
        errors.extend(stepped.errors);
    }
    if events.is_empty() && done.is_empty() && map_runs.is_empty() && commands.is_empty() {
        return Ok((Vec::new(), waited));
    }
    let record = next_record(&current.record, &execution, now);
    let commit = build_commit(
        &record,
        Some(current.record.version),
        Decided {
            execution: &execution,
            events: &events,
            commands: &commands,
            map_runs: &map_runs,
        },
        done.clone(),
        now,
    )?;
    if let Err(error) = inner.store.commit(commit).await {
        // Give the work ids back so a retry deletes them too.
        for (message, id) in batch.iter_mut().zip(done) {
            message.work = Some(id);
        }
        return Err(error.into());
    }
    inner
        .metrics
        .record_step(&record.arn, &events, &errors, || {
            now.duration_since(record.start_date).as_secs_f64().max(0.0)
        });
    current.record = record;
    current.execution = execution;
    if current.record.status != "RUNNING" {
        commands.retain(|command| !matches!(command, Command::RunTask(_)));
    }
    Ok((commands, waited))
}

/// Fires timers when they are due, on the engine's clock.
async fn timer_service(inner: Weak<Inner>, mut rx: mpsc::UnboundedReceiver<Timer>) {
    let mut heap: BinaryHeap<Reverse<(Timestamp, u64)>> = BinaryHeap::new();
    let mut pending: HashMap<u64, Timer> = HashMap::new();
    let mut seq = 0u64;
    loop {
        let next_due = heap.peek().map(|Reverse((due, _))| *due);
        let clock = match inner.upgrade() {
            Some(inner) => inner.clock.clone(),
            None => return,
        };
        tokio::select! {
            received = rx.recv() => match received {
                Some(timer) => {
                    seq += 1;
                    heap.push(Reverse((timer.due, seq)));
                    pending.insert(seq, timer);
                }
                None => return,
            },
            () = async {
                match next_due {
                    Some(due) => clock.sleep_until(due).await,
                    None => std::future::pending().await,
                }
            } => {
                let Some(inner) = inner.upgrade() else { return };
                let now = inner.clock.now();
                while let Some(Reverse((due, id))) = heap.peek().copied() {
                    if due > now {
                        break;
                    }
                    heap.pop();
                    if let Some(timer) = pending.remove(&id) {
                        inner.deliver(&timer.arn, Message {
                            event: timer.event,
                            work: timer.work,
                            task: None,
                            reply: None,
                        });
                    }
                }
            }
        }
    }
}

/// Checks a state machine or execution name against AWS's rules.
pub(crate) fn check_name(name: &str) -> Result<(), Error> {
    let invalid = |reason| {
        Err(Error::InvalidName {
            name: name.to_string(),
            reason,
        })
    };
    let length = name.chars().count();
    if length == 0 || length > 80 {
        return invalid("a name must be 1 to 80 characters long");
    }
    for c in name.chars() {
        if c.is_whitespace() {
            return invalid("a name must not contain whitespace");
        }
        if "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c) {
            return invalid("a name must not contain brackets, wildcards or special characters");
        }
        if c.is_control() {
            return invalid("a name must not contain control characters");
        }
    }
    Ok(())
}

/// Parses an execution input as AWS does: JSON text of at most 256 KiB.
pub(crate) fn parse_input(text: &str) -> Result<Value, Error> {
    if text.len() > PAYLOAD_LIMIT {
        return Err(Error::InvalidExecutionInput {
            detail: format!(
                "Invalid State Machine Execution Input: 'The input is {} bytes, more than the \
                 limit of {PAYLOAD_LIMIT}'",
                text.len()
            ),
        });
    }
    asl::json_text::parse_execution_input(text)
        .map_err(|detail| Error::InvalidExecutionInput { detail })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_aws_rules() {
        assert!(check_name("orders-2026_11").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name(&"x".repeat(81)).is_err());
        assert!(check_name("has space").is_err());
        assert!(check_name("a:b").is_err());
    }

    #[test]
    fn a_seed_depends_on_execution_and_position() {
        assert_eq!(seed("arn:a", 3), seed("arn:a", 3));
        assert_ne!(seed("arn:a", 3), seed("arn:a", 4));
        assert_ne!(seed("arn:a", 3), seed("arn:b", 3));
    }
}
