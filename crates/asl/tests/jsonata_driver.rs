//! JSONata states and workflow variables run end to end on the in-memory driver: `$states`,
//! `Assign` scoping, Map/Parallel children, Catch, and the errors AWS raises.

use asl::definition::StateMachine;
use asl::driver::{self, Outcome, TaskAnswer};
use asl::execution::{ExecutionInfo, Status, TaskCommand};
use asl::validate::ValidationOptions;
use jiff::Timestamp;
use serde_json::{Value, json};

fn run(def: Value, input: Value, tasks: impl FnMut(&TaskCommand) -> TaskAnswer) -> Outcome {
    let machine =
        StateMachine::load(&def, &ValidationOptions::default()).expect("valid definition");
    let start: Timestamp = "2024-05-01T12:00:00Z".parse().expect("timestamp");
    let info = ExecutionInfo::new(&driver::local_state_machine_arn("t"), "e", input, start);
    let mut tasks = tasks;
    driver::run(&machine, info, 3, &mut tasks)
}

fn no_tasks(task: &TaskCommand) -> TaskAnswer {
    panic!("no task expected, got {}", task.resource)
}

fn output(outcome: &Outcome) -> &Value {
    assert_eq!(outcome.status, Status::Succeeded, "{:?}", outcome.failure);
    outcome.output.as_ref().expect("output")
}

fn failure(outcome: &Outcome) -> (&str, &str) {
    assert_eq!(outcome.status, Status::Failed, "{:?}", outcome.output);
    let f = outcome.failure.as_ref().expect("failure");
    (&f.error, &f.cause)
}

const LAMBDA: &str = "arn:aws:lambda:us-east-1:000000000000:function:f";

#[test]
fn every_assignment_of_one_state_sees_the_values_from_before_it() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "Init", "States": {
        "Init": {"Type": "Pass", "Assign": {"a": 1, "b": 2}, "Next": "Swap"},
        "Swap": {"Type": "Pass", "Assign": {"a": "{% $b %}", "b": "{% $a %}"}, "Next": "Show"},
        "Show": {"Type": "Pass", "Output": {"a": "{% $a %}", "b": "{% $b %}"}, "End": true}
    }});
    assert_eq!(
        output(&run(def, json!({}), no_tasks)),
        &json!({"a": 2, "b": 1})
    );
}

#[test]
fn output_sees_the_variables_from_before_the_state() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "Init", "States": {
        "Init": {"Type": "Pass", "Assign": {"x": "old"}, "Next": "Both"},
        "Both": {"Type": "Pass", "Assign": {"x": "new"}, "Output": {"x": "{% $x %}"}, "Next": "After"},
        "After": {"Type": "Pass", "Output": {"before": "{% $states.input.x %}", "now": "{% $x %}"}, "End": true}
    }});
    assert_eq!(
        output(&run(def, json!({}), no_tasks)),
        &json!({"before": "old", "now": "new"})
    );
}

#[test]
fn states_input_result_and_context_reach_a_task() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": LAMBDA,
              "Arguments": {"n": "{% $states.input.n * 2 %}", "state": "{% $states.context.State.Name %}"},
              "Output": {"in": "{% $states.input.n %}", "out": "{% $states.result.doubled %}"},
              "End": true}
    }});
    let mut seen = Value::Null;
    let outcome = run(def, json!({"n": 21}), |task| {
        seen = task.input.clone();
        TaskAnswer::ok(json!({"doubled": task.input["n"]}))
    });
    assert_eq!(output(&outcome), &json!({"in": 21, "out": 42}));
    assert_eq!(seen, json!({"n": 42, "state": "T"}));
}

#[test]
fn a_task_without_output_passes_its_result_on() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": LAMBDA, "End": true}
    }});
    let outcome = run(def, json!({"ignored": true}), |_| {
        TaskAnswer::ok(json!({"r": 1}))
    });
    assert_eq!(output(&outcome), &json!({"r": 1}));
}

#[test]
fn catch_output_and_assign_read_the_error_output() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": LAMBDA, "End": true, "Catch": [{
            "ErrorEquals": ["States.ALL"], "Next": "Handled",
            "Output": {"kind": "{% $states.errorOutput.Error %}", "input": "{% $states.input %}"},
            "Assign": {"why": "{% $states.errorOutput.Cause %}"}
        }]},
        "Handled": {"Type": "Pass", "Output": {"got": "{% $states.input %}", "why": "{% $why %}"}, "End": true}
    }});
    let outcome = run(def, json!({"id": 7}), |_| {
        TaskAnswer::fail("Boom", "it broke")
    });
    assert_eq!(
        output(&outcome),
        &json!({"got": {"kind": "Boom", "input": {"id": 7}}, "why": "it broke"})
    );
}

#[test]
fn map_children_read_outer_variables_but_their_assignments_stay_inside() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "Init", "States": {
        "Init": {"Type": "Pass", "Assign": {"factor": 10, "seen": "outer"}, "Next": "Map"},
        "Map": {"Type": "Map", "Items": "{% $states.input.items %}",
                "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Scale", "States": {
                    "Scale": {"Type": "Pass", "Assign": {"seen": "inner"},
                              "Output": "{% $states.input * $factor %}", "End": true}
                }},
                "Next": "After"},
        "After": {"Type": "Pass", "Output": {"results": "{% $states.input %}", "seen": "{% $seen %}"}, "End": true}
    }});
    assert_eq!(
        output(&run(def, json!({"items": [1, 2, 3]}), no_tasks)),
        &json!({"results": [10, 20, 30], "seen": "outer"})
    );
}

#[test]
fn parallel_branches_read_outer_variables_but_cannot_write_them() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "Init", "States": {
        "Init": {"Type": "Pass", "Assign": {"v": "outer"}, "Next": "Par"},
        "Par": {"Type": "Parallel", "Next": "After", "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Pass", "Assign": {"v": "a"}, "Output": "{% $v %}", "End": true}}},
            {"StartAt": "B", "States": {"B": {"Type": "Pass", "Output": "{% $v %}", "End": true}}}
        ]},
        "After": {"Type": "Pass", "Output": {"branches": "{% $states.input %}", "v": "{% $v %}"}, "End": true}
    }});
    assert_eq!(
        output(&run(def, json!({}), no_tasks)),
        &json!({"branches": ["outer", "outer"], "v": "outer"})
    );
}

#[test]
fn choice_conditions_route_and_rule_assign_applies() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [
            {"Condition": "{% $states.input.n > 10 %}", "Next": "Big", "Assign": {"size": "big"}}
        ], "Default": "Small", "Assign": {"size": "small"}},
        "Big": {"Type": "Pass", "Output": "{% $size %}", "End": true},
        "Small": {"Type": "Pass", "Output": "{% $size %}", "End": true}
    }});
    assert_eq!(
        output(&run(def.clone(), json!({"n": 11}), no_tasks)),
        &json!("big")
    );
    assert_eq!(
        output(&run(def, json!({"n": 1}), no_tasks)),
        &json!("small")
    );
}

#[test]
fn a_condition_that_is_not_a_boolean_fails_with_query_evaluation_error() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Condition": "{% $states.input.n %}", "Next": "D"}], "Default": "D"},
        "D": {"Type": "Succeed"}
    }});
    let outcome = run(def, json!({"n": 5}), no_tasks);
    let (error, cause) = failure(&outcome);
    assert_eq!(error, "States.QueryEvaluationError");
    assert!(cause.contains("'Condition'"), "{cause}");
    assert!(
        outcome
            .history
            .iter()
            .any(|e| e.event_type == "EvaluationFailed"),
        "AWS records an EvaluationFailed event"
    );
}

#[test]
fn wait_seconds_and_fail_texts_take_expressions() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": "{% $states.input.delay * 2 %}", "Next": "F"},
        "F": {"Type": "Fail", "Error": "{% 'E.' & $states.input.code %}", "Cause": "{% $string($states.input.delay) %}"}
    }});
    let outcome = run(def, json!({"delay": 30, "code": "Late"}), no_tasks);
    assert_eq!(failure(&outcome), ("E.Late", "30"));
    assert_eq!(
        outcome.ended.duration_since(outcome.started).as_secs(),
        60,
        "the wait runs on the virtual clock"
    );
}

#[test]
fn map_items_that_are_not_an_array_fail_with_aws_wording() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "M", "States": {
        "M": {"Type": "Map", "Items": "{% $states.input.items %}",
              "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true}
    }});
    let outcome = run(def, json!({"items": "nope"}), no_tasks);
    let (error, cause) = failure(&outcome);
    assert_eq!(error, "States.QueryEvaluationError");
    assert!(
        cause.ends_with("The JSONata expression '$states.input.items' specified for the field 'Items' returned an unexpected result type. Expected 'array', but was 'string' for value: \"nope\""),
        "{cause}"
    );
}

#[test]
fn an_undefined_output_is_an_error_and_undefined_fields_are_left_out() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {
        "P": {"Type": "Pass", "Output": {"kept": 1, "gone": "{% $states.input.missing %}"}, "End": true}
    }});
    assert_eq!(output(&run(def, json!({}), no_tasks)), &json!({"kept": 1}));
    let whole = json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {
        "P": {"Type": "Pass", "Output": "{% $states.input.missing %}", "End": true}
    }});
    let outcome = run(whole, json!({}), no_tasks);
    let (error, _) = failure(&outcome);
    assert_eq!(error, "States.QueryEvaluationError");
}

#[test]
fn eval_is_not_available_and_parse_is() {
    let parse = json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {
        "P": {"Type": "Pass", "Output": "{% $parse($states.input.text).a %}", "End": true}
    }});
    assert_eq!(
        output(&run(parse, json!({"text": "{\"a\": 5}"}), no_tasks)),
        &json!(5)
    );
    let eval = json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {
        "P": {"Type": "Pass", "Output": "{% $eval('1 + 1') %}", "End": true}
    }});
    let outcome = run(eval, json!({}), no_tasks);
    let (error, _) = failure(&outcome);
    assert_eq!(error, "States.QueryEvaluationError");
}

#[test]
fn variables_cross_query_languages() {
    let def = json!({"StartAt": "PathAssign", "States": {
        "PathAssign": {"Type": "Pass", "Assign": {"name.$": "$.user.name", "fixed": 3}, "Next": "Ata"},
        "Ata": {"QueryLanguage": "JSONata", "Type": "Pass",
                "Output": {"greeting": "{% 'hi ' & $name %}", "n": "{% $fixed + 1 %}"}, "Next": "PathRead"},
        "PathRead": {"Type": "Pass", "Parameters": {"g.$": "$.greeting", "name.$": "$name"}, "End": true}
    }});
    assert_eq!(
        output(&run(def, json!({"user": {"name": "ada"}}), no_tasks)),
        &json!({"g": "hi ada", "name": "ada"})
    );
}

#[test]
fn integers_print_as_integers_and_key_order_is_kept() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {
        "P": {"Type": "Pass", "Output": "{% {'z': 6 / 2, 'a': 1.5 * 2, 'm': $sum([1, 2])} %}", "End": true}
    }});
    let out = run(def, json!({}), no_tasks);
    let text = serde_json::to_string(output(&out)).expect("serialises");
    assert_eq!(text, r#"{"z":3,"a":3,"m":3}"#);
}
