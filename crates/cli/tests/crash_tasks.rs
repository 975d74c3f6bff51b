//! The crash test of the task runtime: a real `weir server` on a SQLite store runs executions
//! that call a command function, an activity and a `.waitForTaskToken` callback, and is killed
//! with SIGKILL at random moments and started again: while commands run, while a worker holds an
//! activity task, while callbacks wait. The test is the activity worker and the callback's
//! answerer, over the HTTP API, across the restarts. At the end every execution must have
//! succeeded with the results of all three tasks, and every token a worker or callback was
//! given must have been accepted, even when the server that issued it had died since.
//!
//! `WEIR_CRASH_TASK_EXECUTIONS` (default 150) and `WEIR_CRASH_TASK_KILLS` (default 8) size the
//! test; `WEIR_CRASH_SEED` replays a run's kill timings (the seed is printed).

mod support;

use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};
use support::{Crashable, Rng, Target, env_or};

fn agent(timeout: Duration) -> ureq::Agent {
    support::agent(timeout)
}

/// Calls to the crash test's Step Functions API, across restarts.
trait Calls {
    /// One Step Functions call (see `Target::try_call`).
    fn sfn(
        &self,
        agent: &ureq::Agent,
        operation: &str,
        input: &Value,
    ) -> Option<Result<Value, String>>;
    /// Calls until a server answers (with a result or an error code).
    fn call(&self, agent: &ureq::Agent, operation: &str, input: &Value) -> Result<Value, String>;
    /// Like `call`, and says whether an earlier try got no answer: that try may have been
    /// carried out by a server killed before it could answer.
    fn call_counting(
        &self,
        agent: &ureq::Agent,
        operation: &str,
        input: &Value,
    ) -> (Result<Value, String>, bool);
    /// Answers a task by its token (see the impl).
    fn answer(&self, agent: &ureq::Agent, token: &str, output: &str) -> Option<String>;
}

impl Calls for Target {
    fn sfn(
        &self,
        agent: &ureq::Agent,
        operation: &str,
        input: &Value,
    ) -> Option<Result<Value, String>> {
        self.try_call(agent, &format!("AWSStepFunctions.{operation}"), input)
    }

    /// Calls until a server answers (with a result or an error code).
    fn call(&self, agent: &ureq::Agent, operation: &str, input: &Value) -> Result<Value, String> {
        self.call_counting(agent, operation, input).0
    }

    /// Like [`Target::call`], and says whether an earlier try got no answer: that try may have
    /// been carried out by a server killed before it could answer.
    fn call_counting(
        &self,
        agent: &ureq::Agent,
        operation: &str,
        input: &Value,
    ) -> (Result<Value, String>, bool) {
        let mut retried = false;
        loop {
            match self.sfn(agent, operation, input) {
                Some(Ok(body)) => return (Ok(body), retried),
                Some(Err(code)) => return (Err(code), retried),
                None => {
                    retried = true;
                    thread::sleep(Duration::from_millis(50));
                }
            }
        }
    }

    /// Answers a task by its token. An answer the server refused counts against the test,
    /// unless an earlier try of the same answer was cut off by a kill: then `TaskTimedOut` only
    /// says that try had landed (whether it did is checked on the executions' outputs).
    fn answer(&self, agent: &ureq::Agent, token: &str, output: &str) -> Option<String> {
        let input = json!({"taskToken": token, "output": output});
        match self.call_counting(agent, "SendTaskSuccess", &input) {
            (Ok(_), _) => None,
            (Err(code), true) if code == "TaskTimedOut" => None,
            (Err(code), _) => Some(code),
        }
    }
}

fn write_functions(dir: &Path) -> PathBuf {
    let tokens = dir.join("tokens");
    std::fs::create_dir_all(&tokens).expect("the token dir");
    let ledger = dir.join("ledger");
    let functions = json!({"functions": {
        // Runs for a while so that kills land while commands run; records every run.
        "stamp": {
            "command": ["sh", "-c", "echo \"$WEIR_IDEMPOTENCY_KEY\" >> \"$LEDGER\"; sleep 0.05; cat"],
            "env": {"LEDGER": ledger.to_string_lossy()},
        },
        // Hands the callback's token to the test: one file per execution.
        "tokens": {
            "command": ["python3", "-c",
                "import json, os, sys\nevent = json.load(sys.stdin)\npath = os.path.join(os.environ['TOKENS'], event['key'])\nwith open(path + '.tmp', 'w') as f:\n    f.write(event['token'])\nos.replace(path + '.tmp', path)\nprint('{}')"],
            "env": {"TOKENS": tokens.to_string_lossy()},
        },
    }});
    let path = dir.join("functions.json");
    std::fs::write(&path, functions.to_string()).expect("the registry is written");
    tokens
}

fn definition(activity: &str) -> Value {
    json!({"StartAt": "Command", "States": {
        "Command": {"Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:000000000000:function:stamp",
            "ResultPath": "$.command", "Next": "Activity"},
        // A worker given the task by a server that died before answering it loses the token;
        // the heartbeat deadline (which starts over when a worker takes the task, so time spent
        // queued behind other tasks does not count) and the retry bring such a task back, as
        // they would on AWS.
        "Activity": {"Type": "Task", "Resource": activity, "HeartbeatSeconds": 10,
            "Retry": [{"ErrorEquals": ["States.HeartbeatTimeout"], "IntervalSeconds": 1, "MaxAttempts": 5}],
            "ResultPath": "$.activity", "Next": "Callback"},
        "Callback": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "tokens",
                "Payload": {"token.$": "$$.Task.Token", "key.$": "$$.Execution.Name"}},
            "ResultPath": "$.callback", "End": true}
    }})
}

#[test]
fn tasks_callbacks_and_activities_survive_repeated_sigkills() {
    let executions = env_or("WEIR_CRASH_TASK_EXECUTIONS", 150);
    let kills = env_or("WEIR_CRASH_TASK_KILLS", 8);
    let seed = env_or(
        "WEIR_CRASH_SEED",
        jiff::Timestamp::now().as_nanosecond() as u64,
    ) | 1;
    println!("seed {seed} (WEIR_CRASH_SEED replays the kill timings)");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().expect("a temp dir");
    let tokens_dir = write_functions(dir.path());
    let functions = dir.path().join("functions.json");
    let functions = functions.to_string_lossy().to_string();
    let mut server = Crashable::start(dir.path(), &["--functions", &functions]);
    let target = server.target();
    let api = agent(Duration::from_secs(30));

    let activity = target
        .call(&api, "CreateActivity", &json!({"name": "crash-work"}))
        .expect("the activity is created")["activityArn"]
        .as_str()
        .expect("an ARN")
        .to_string();
    let machine = target
        .call(
            &api,
            "CreateStateMachine",
            &json!({"name": "crash-tasks", "definition": definition(&activity).to_string(),
                    "roleArn": "arn:aws:iam::000000000000:role/crash"}),
        )
        .expect("the machine is created")["stateMachineArn"]
        .as_str()
        .expect("an ARN")
        .to_string();

    let done = Arc::new(AtomicBool::new(false));
    let refused: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));

    // The activity worker: polls, answers every task with its input's number.
    let worker = {
        let (target, done, refused, activity) = (
            target.clone(),
            done.clone(),
            refused.clone(),
            activity.clone(),
        );
        thread::spawn(move || {
            let poll = agent(Duration::from_secs(70));
            let api = agent(Duration::from_secs(30));
            let mut answered = 0u64;
            while !done.load(Ordering::SeqCst) {
                let task = match target.sfn(
                    &poll,
                    "GetActivityTask",
                    &json!({"activityArn": activity, "workerName": "crash-worker"}),
                ) {
                    Some(Ok(task)) => task,
                    Some(Err(code)) => panic!("GetActivityTask refused: {code}"),
                    None => {
                        thread::sleep(Duration::from_millis(50));
                        continue;
                    }
                };
                let Some(token) = task["taskToken"].as_str() else {
                    continue;
                };
                let input: Value = serde_json::from_str(task["input"].as_str().unwrap_or("{}"))
                    .expect("the task input is JSON");
                let output = json!({"worked": input["i"]}).to_string();
                // Answered even if the server that handed the task out has died since.
                if let Some(code) = target.answer(&api, token, &output) {
                    refused
                        .lock()
                        .expect("not poisoned")
                        .push(format!("activity: {code}"));
                }
                answered += 1;
            }
            answered
        })
    };

    // The callback answerer: sends each token the `tokens` function wrote, once.
    let answerer = {
        let (target, done, refused, tokens_dir) = (
            target.clone(),
            done.clone(),
            refused.clone(),
            tokens_dir.clone(),
        );
        thread::spawn(move || {
            let api = agent(Duration::from_secs(30));
            let mut sent: BTreeSet<String> = BTreeSet::new();
            while !done.load(Ordering::SeqCst) {
                let entries = std::fs::read_dir(&tokens_dir).expect("the token dir reads");
                for entry in entries.flatten() {
                    let name = entry.file_name().to_string_lossy().to_string();
                    if name.ends_with(".tmp") {
                        continue;
                    }
                    let Ok(token) = std::fs::read_to_string(entry.path()) else {
                        continue;
                    };
                    if !sent.insert(token.clone()) {
                        continue;
                    }
                    let output = json!({"ok": name}).to_string();
                    if let Some(code) = target.answer(&api, &token, &output) {
                        refused
                            .lock()
                            .expect("not poisoned")
                            .push(format!("callback {name}: {code}"));
                    }
                }
                thread::sleep(Duration::from_millis(20));
            }
            sent.len()
        })
    };

    // Start every execution (a start repeated after a kill is idempotent: same name and input).
    let names: Vec<String> = (0..executions).map(|i| format!("e{i}")).collect();
    let starter = {
        let (target, machine, names) = (target.clone(), machine.clone(), names.clone());
        thread::spawn(move || {
            let api = agent(Duration::from_secs(30));
            for (i, name) in names.iter().enumerate() {
                target
                    .call(
                        &api,
                        "StartExecution",
                        &json!({"stateMachineArn": machine, "name": name,
                                "input": json!({"i": i}).to_string()}),
                    )
                    .expect("the start is accepted");
            }
        })
    };

    for kill in 0..kills {
        thread::sleep(Duration::from_millis(300 + rng.below(1200)));
        server.kill_and_restart();
        println!("kill {} of {kills} done", kill + 1);
    }
    starter.join().expect("every execution was started");

    // Wait for every execution to end.
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut results: BTreeMap<String, Value> = BTreeMap::new();
    while results.len() < names.len() {
        assert!(
            Instant::now() < deadline,
            "{} executions still running after 180 s",
            names.len() - results.len()
        );
        for name in &names {
            if results.contains_key(name) {
                continue;
            }
            let arn = machine.replace(":stateMachine:", ":execution:") + ":" + name;
            let described = target
                .call(&api, "DescribeExecution", &json!({"executionArn": arn}))
                .expect("the execution exists");
            if described["status"] != "RUNNING" {
                results.insert(name.clone(), described);
            }
        }
        thread::sleep(Duration::from_millis(100));
    }
    done.store(true, Ordering::SeqCst);
    let callbacks = answerer.join().expect("the answerer ends");

    for (i, name) in names.iter().enumerate() {
        let described = &results[name];
        assert_eq!(described["status"], "SUCCEEDED", "{name}: {described}");
        let output: Value = serde_json::from_str(described["output"].as_str().expect("an output"))
            .expect("JSON output");
        assert_eq!(output["i"], json!(i), "{name}");
        assert_eq!(
            output["command"],
            json!({"i": i}),
            "{name}: the command's result"
        );
        assert_eq!(
            output["activity"],
            json!({"worked": i}),
            "{name}: the worker's answer"
        );
        assert_eq!(
            output["callback"],
            json!({"ok": name}),
            "{name}: the callback's answer"
        );
    }
    let refused = refused.lock().expect("not poisoned").clone();
    assert!(
        refused.is_empty(),
        "tokens refused after restarts: {refused:?}"
    );
    assert!(callbacks >= names.len(), "every callback token was sent");

    // Every execution's command ran at least once under its own idempotency key.
    let ledger = std::fs::read_to_string(dir.path().join("ledger")).expect("the ledger reads");
    let keys: BTreeSet<&str> = ledger.lines().collect();
    for name in &names {
        assert!(
            keys.iter()
                .any(|k| k.contains(&format!(":{name}/Command/"))),
            "{name}'s command never ran"
        );
    }
    println!(
        "{} command runs for {} commands; {callbacks} callback tokens answered",
        ledger.lines().count(),
        names.len()
    );

    // The worker is left polling: stop the server under it.
    server.kill();
    drop(worker);
}
