//! In-memory executions per second: a 10-state Pass chain and a Map over 100 items.
//!
//! Run with `cargo bench -p asl --bench executions`. Each workload is also compared with a floor
//! measured in the same run: the JSON work any interpreter must do for it (copy the input into
//! every state and record an entered and an exited event per state), so the printed ratio says
//! how much the engine costs on top of moving the data, whatever the machine's speed today.

use asl::definition::StateMachine;
use asl::driver::{self, TaskAnswer};
use asl::execution::{ExecutionInfo, Status};
use serde_json::{Value, json};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn pass_chain(n: usize) -> Value {
    let mut states = serde_json::Map::new();
    for i in 0..n {
        let mut s = json!({"Type": "Pass", "ResultPath": format!("$.step{i}"), "Result": {"n": i}});
        if i + 1 < n {
            s["Next"] = json!(format!("S{}", i + 1));
        } else {
            s["End"] = json!(true);
        }
        states.insert(format!("S{i}"), s);
    }
    json!({"StartAt": "S0", "States": states})
}

/// Ten states that each count and copy a field, in one query language or the other.
fn counting_chain(jsonata: bool) -> Value {
    let mut states = serde_json::Map::new();
    for i in 0..10 {
        let mut s = if jsonata {
            json!({"Type": "Pass", "Output": {
                "total": "{% $states.input.total + 1 %}",
                "items": "{% $states.input.items %}",
                "label": "{% 'step ' & $string($states.input.total) %}"
            }})
        } else {
            json!({"Type": "Pass", "Parameters": {
                "total.$": "States.MathAdd($.total, 1)",
                "items.$": "$.items",
                "label.$": "States.Format('step {}', $.total)"
            }})
        };
        if i + 1 < 10 {
            s["Next"] = json!(format!("S{}", i + 1));
        } else {
            s["End"] = json!(true);
        }
        states.insert(format!("S{i}"), s);
    }
    let mut def = json!({"StartAt": "S0", "States": states});
    if jsonata {
        def["QueryLanguage"] = json!("JSONata");
    }
    def
}

fn map_over_items() -> Value {
    json!({
        "StartAt": "Map",
        "States": {
            "Map": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemSelector": {"value.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index"},
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Double",
                    "States": {"Double": {"Type": "Pass", "Parameters": {"v.$": "$.value"}, "End": true}}
                },
                "End": true
            }
        }
    })
}

/// Runs `f` repeatedly for about `budget` and returns runs per second.
fn rate(budget: Duration, mut f: impl FnMut()) -> f64 {
    for _ in 0..10 {
        f();
    }
    let start = Instant::now();
    let mut runs = 0u64;
    while start.elapsed() < budget {
        for _ in 0..10 {
            f();
        }
        runs += 10;
    }
    runs as f64 / start.elapsed().as_secs_f64()
}

fn execute(def: &StateMachine, input: &Value) {
    let info = ExecutionInfo::new(
        &driver::local_state_machine_arn("bench"),
        "bench",
        input.clone(),
        jiff::Timestamp::UNIX_EPOCH,
    );
    let outcome = driver::run(def, info, 1, &mut |_| TaskAnswer::ok(Value::Null));
    assert_eq!(outcome.status, Status::Succeeded);
    black_box(outcome);
}

/// The floor: copy the input through `states` states and build two event payloads per state.
fn floor(input: &Value, states: usize) {
    let mut events = Vec::with_capacity(states * 2 + 2);
    let mut doc = input.clone();
    for i in 0..states {
        events.push(json!({"name": i, "input": doc.clone()}));
        if let Value::Object(m) = &mut doc {
            m.insert(format!("step{i}"), json!({"n": i}));
        }
        events.push(json!({"name": i, "output": doc.clone()}));
    }
    black_box(events);
}

fn main() {
    let budget = Duration::from_millis(
        std::env::var("WEIR_BENCH_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(2000),
    );
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("machine: {cores} cores; one thread per measurement; budget {budget:?} each");

    let chain = StateMachine::from_value(&pass_chain(10)).expect("the chain is valid");
    let input = json!({"order": {"id": 42, "lines": [1, 2, 3]}});
    let weir = rate(budget, || execute(&chain, &input));
    let base = rate(budget, || floor(&input, 10));
    println!(
        "10-state Pass chain: {weir:>10.0} executions/s   floor {base:>10.0}/s   weir/floor = {:.3}",
        weir / base
    );

    let input = json!({"total": 0, "items": [1, 2, 3]});
    let path_twin = StateMachine::from_value(&counting_chain(false)).expect("valid");
    let jsonata = StateMachine::from_value(&counting_chain(true)).expect("valid");
    let outputs: Vec<Value> = [&path_twin, &jsonata]
        .iter()
        .map(|def| {
            let info = ExecutionInfo::new(
                &driver::local_state_machine_arn("bench"),
                "check",
                input.clone(),
                jiff::Timestamp::UNIX_EPOCH,
            );
            let outcome = driver::run(def, info, 1, &mut |_| TaskAnswer::ok(Value::Null));
            outcome.output.unwrap_or(Value::Null)
        })
        .collect();
    assert_eq!(
        outputs[0], outputs[1],
        "the twins must compute the same output"
    );
    let path_rate = rate(budget, || execute(&path_twin, &input));
    let jsonata_rate = rate(budget, || execute(&jsonata, &input));
    println!(
        "10 counting states, JSONPath + intrinsics: {path_rate:>8.0} executions/s   JSONata: {jsonata_rate:>8.0}/s   JSONata/JSONPath = {:.3}",
        jsonata_rate / path_rate
    );

    let map = StateMachine::from_value(&map_over_items()).expect("the map is valid");
    let items: Vec<Value> = (0..100).map(|i| json!({"id": i})).collect();
    let input = json!({ "items": items });
    let weir = rate(budget, || execute(&map, &input));
    let base = rate(budget, || {
        for item in input["items"].as_array().into_iter().flatten() {
            floor(item, 1);
        }
    });
    println!(
        "Map over 100 items:  {weir:>10.0} executions/s   floor {base:>10.0}/s   weir/floor = {:.3}",
        weir / base
    );
}
