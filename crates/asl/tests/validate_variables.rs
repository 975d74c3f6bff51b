//! The variable rule of definition validation: a JSONPath state must not read a workflow variable
//! that no path from `StartAt` can have assigned before it, while JSONata states are left alone
//! (AWS runs a JSONata machine that reads an unassigned variable and fails the execution
//! instead). Each case is a small definition, accepted or refused, with the refusal's location.

use asl::validate::{Diagnostic, Severity, codes, validate};
use serde_json::{Value, json};

/// The errors `validate` reports, as (location, message).
fn errors(definition: &Value) -> Vec<(String, String)> {
    validate(definition)
        .into_iter()
        .filter(|d: &Diagnostic| d.severity == Severity::Error)
        .map(|d| {
            assert_eq!(d.code, codes::SCHEMA_VALIDATION_FAILED, "{d:?}");
            (d.location.unwrap_or_default(), d.message)
        })
        .collect()
}

/// The locations of the errors, sorted, each of which must name `$var`.
fn refused(definition: &Value, var: &str) -> Vec<String> {
    let mut locations: Vec<String> = errors(definition)
        .into_iter()
        .map(|(location, message)| {
            assert!(
                message.contains(&format!("'${var}'")),
                "{message} does not name ${var}"
            );
            location
        })
        .collect();
    locations.sort();
    locations
}

/// `locations`, sorted, to compare with [`refused`].
fn sorted<const N: usize>(locations: [&str; N]) -> Vec<String> {
    let mut out: Vec<String> = locations.iter().map(|l| l.to_string()).collect();
    out.sort();
    out
}

fn accepted(definition: &Value) {
    assert_eq!(errors(definition), Vec::<(String, String)>::new());
}

#[test]
fn reading_before_any_assignment_is_refused_at_the_field() {
    let def = json!({
        "StartAt": "Read",
        "States": {
            "Read": {"Type": "Pass", "Parameters": {"x.$": "$myVar.x"}, "Next": "Set"},
            "Set": {"Type": "Pass", "Assign": {"myVar": {"x": 1}}, "End": true}
        }
    });
    assert_eq!(
        refused(&def, "myVar"),
        sorted(["/States/Read/Parameters/x.$"])
    );
    let (_, message) = &errors(&def)[0];
    assert_eq!(
        message,
        "Variable '$myVar' is not assigned by any state that can run before it is referenced"
    );
}

#[test]
fn reading_after_an_assignment_is_accepted() {
    accepted(&json!({
        "StartAt": "Set",
        "States": {
            "Set": {"Type": "Pass", "Assign": {"myVar": {"x": 1}, "from.$": "$.a"}, "Next": "Read"},
            "Read": {
                "Type": "Pass",
                "InputPath": "$myVar",
                "Parameters": {"x.$": "$myVar.x", "y.$": "$from", "in.$": "$", "ctx.$": "$$.State"},
                "OutputPath": "$",
                "End": true
            }
        }
    }));
}

#[test]
fn a_state_does_not_see_its_own_assignments() {
    let def = json!({
        "StartAt": "Only",
        "States": {
            "Only": {
                "Type": "Pass",
                "Assign": {"answer": 42, "copy.$": "$answer"},
                "OutputPath": "$answer",
                "End": true
            }
        }
    });
    assert_eq!(
        refused(&def, "answer"),
        sorted(["/States/Only/OutputPath", "/States/Only/Assign/copy.$"])
    );
}

#[test]
fn every_jsonpath_field_that_reads_is_checked() {
    let def = json!({
        "StartAt": "Wait",
        "States": {
            "Wait": {"Type": "Wait", "SecondsPath": "$v", "Next": "Task"},
            "Task": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"list": [{"s.$": "States.Format('{} {}', $v, $.a)"}]},
                "ResultSelector": {"r.$": "$v"},
                "Credentials": {"RoleArn.$": "$v"},
                "TimeoutSecondsPath": "$v",
                "Next": "Choice"
            },
            "Choice": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$v", "StringEquals": "a", "Next": "Map"},
                    {"Not": {"Variable": "$.a", "StringEqualsPath": "$v"}, "Next": "Map"},
                    {"Variable": "$v", "IsPresent": true, "Next": "Map"}
                ],
                "Default": "Fail"
            },
            "Map": {
                "Type": "Map",
                "ItemsPath": "$v",
                "ItemSelector": {"i.$": "$v"},
                "MaxConcurrencyPath": "$v",
                "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
                "End": true
            },
            "Fail": {"Type": "Fail", "ErrorPath": "$v", "CausePath": "States.Format('{}', $v)"}
        }
    });
    assert_eq!(
        refused(&def, "v"),
        sorted([
            "/States/Wait/SecondsPath",
            "/States/Task/TimeoutSecondsPath",
            "/States/Task/Parameters/list[0]/s.$",
            "/States/Task/ResultSelector/r.$",
            "/States/Task/Credentials/RoleArn.$",
            "/States/Choice/Choices[0]/Variable",
            "/States/Choice/Choices[1]/Not/StringEqualsPath",
            "/States/Map/ItemsPath",
            "/States/Map/MaxConcurrencyPath",
            "/States/Map/ItemSelector/i.$",
            "/States/Fail/ErrorPath",
            "/States/Fail/CausePath",
        ])
    );
}

#[test]
fn distributed_map_configuration_is_checked() {
    let def = json!({
        "StartAt": "Map",
        "States": {
            "Map": {
                "Type": "Map",
                "ItemReader": {
                    "Resource": "arn:aws:states:::s3:getObject",
                    "ReaderConfig": {"InputType": "JSON", "MaxItemsPath": "$n"},
                    "Parameters": {"Bucket.$": "$n", "Key": "k"}
                },
                "ItemBatcher": {"MaxItemsPerBatchPath": "$n", "BatchInput": {"b.$": "$n"}},
                "ResultWriter": {
                    "Resource": "arn:aws:states:::s3:putObject",
                    "Parameters": {"Bucket.$": "$n", "Prefix": "p"}
                },
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "P",
                    "States": {"P": {"Type": "Pass", "End": true}}
                },
                "End": true
            }
        }
    });
    assert_eq!(
        refused(&def, "n"),
        sorted([
            "/States/Map/ItemReader/ReaderConfig/MaxItemsPath",
            "/States/Map/ItemReader/Parameters/Bucket.$",
            "/States/Map/ItemBatcher/MaxItemsPerBatchPath",
            "/States/Map/ItemBatcher/BatchInput/b.$",
            "/States/Map/ResultWriter/Parameters/Bucket.$",
        ])
    );
}

#[test]
fn map_and_parallel_children_read_what_was_assigned_before_their_state() {
    accepted(&json!({
        "StartAt": "Set",
        "States": {
            "Set": {"Type": "Pass", "Assign": {"bias": 1}, "Next": "Map"},
            "Map": {
                "Type": "Map",
                "ItemProcessor": {
                    "StartAt": "Inner",
                    "States": {
                        "Inner": {"Type": "Pass", "Assign": {"own.$": "$bias"}, "Next": "Last"},
                        "Last": {"Type": "Pass", "Parameters": {"a.$": "$own", "b.$": "$bias"}, "End": true}
                    }
                },
                "Next": "Parallel"
            },
            "Parallel": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "B", "States": {"B": {"Type": "Pass", "InputPath": "$bias", "End": true}}}
                ],
                "End": true
            }
        }
    }));
}

#[test]
fn a_child_does_not_see_what_its_state_assigns_on_leaving() {
    let def = json!({
        "StartAt": "Map",
        "States": {
            "Map": {
                "Type": "Map",
                "Assign": {"total": 0},
                "ItemProcessor": {
                    "StartAt": "Inner",
                    "States": {"Inner": {"Type": "Pass", "InputPath": "$total", "End": true}}
                },
                "End": true
            }
        }
    });
    assert_eq!(
        refused(&def, "total"),
        sorted(["/States/Map/ItemProcessor/States/Inner/InputPath"])
    );
}

#[test]
fn what_a_branch_assigns_stays_in_the_branch() {
    let def = json!({
        "StartAt": "Parallel",
        "States": {
            "Parallel": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "A", "States": {"A": {"Type": "Pass", "Assign": {"x": 1}, "End": true}}},
                    {"StartAt": "B", "States": {"B": {"Type": "Pass", "InputPath": "$x", "End": true}}}
                ],
                "Next": "After"
            },
            "After": {"Type": "Pass", "OutputPath": "$x", "End": true}
        }
    });
    assert_eq!(
        refused(&def, "x"),
        sorted([
            "/States/After/OutputPath",
            "/States/Parallel/Branches[1]/States/B/InputPath"
        ])
    );
}

#[test]
fn a_catcher_assigns_for_its_handler() {
    accepted(&json!({
        "StartAt": "Task",
        "States": {
            "Task": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Assign": {"error.$": "$.Error"}, "Next": "Handle"}],
                "End": true
            },
            "Handle": {"Type": "Fail", "ErrorPath": "$error", "CausePath": "$.Cause"}
        }
    }));
    // The failing state's own Assign does not happen on the way to its handler.
    let def = json!({
        "StartAt": "Task",
        "States": {
            "Task": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Assign": {"result.$": "$"},
                "Catch": [{"ErrorEquals": ["States.ALL"], "Assign": {"err.$": "$result"}, "Next": "Handle"}],
                "Next": "Done"
            },
            "Handle": {"Type": "Pass", "InputPath": "$result", "End": true},
            "Done": {"Type": "Pass", "InputPath": "$result", "End": true}
        }
    });
    assert_eq!(
        refused(&def, "result"),
        sorted([
            "/States/Task/Catch[0]/Assign/err.$",
            "/States/Handle/InputPath"
        ])
    );
}

#[test]
fn an_assignment_on_any_path_counts_loops_included() {
    // `Poll` reads `$status` on its first run, before anything assigns it, but the loop back from
    // `Check` may have: AWS runs the same shape (local_mocking corpus case, in JSONata).
    accepted(&json!({
        "StartAt": "Poll",
        "States": {
            "Poll": {
                "Type": "Pass",
                "Parameters": {"previous.$": "$status"},
                "Assign": {"status": "done"},
                "Next": "Check"
            },
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$status", "StringEquals": "done", "Next": "End"}],
                "Default": "Poll"
            },
            "End": {"Type": "Succeed"}
        }
    }));
    // Assigned on one Choice branch only, read where the branches meet.
    accepted(&json!({
        "StartAt": "Choice",
        "States": {
            "Choice": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.a", "IsPresent": true, "Assign": {"seen": true}, "Next": "Join"}],
                "Default": "Join"
            },
            "Join": {"Type": "Pass", "OutputPath": "$seen", "End": true}
        }
    }));
}

#[test]
fn jsonata_states_are_not_checked() {
    // AWS creates this machine and fails the execution with `States.QueryEvaluationError`.
    accepted(&json!({
        "QueryLanguage": "JSONata",
        "StartAt": "State0",
        "States": {
            "State0": {
                "Type": "Pass",
                "Assign": {"result": "{% $doesNotExist %}"},
                "Output": "{% ($x := 2; $sum([$x, $states.input.n]) & $map([1], function($v) { $v })) %}",
                "End": true
            }
        }
    }));
    // A JSONata state's Assign feeds a JSONPath state.
    accepted(&json!({
        "StartAt": "Set",
        "States": {
            "Set": {"Type": "Pass", "QueryLanguage": "JSONata", "Assign": {"answer": 42}, "Next": "Read"},
            "Read": {"Type": "Pass", "OutputPath": "$answer", "End": true}
        }
    }));
}

#[test]
fn other_errors_come_alone() {
    // A definition refused for another reason is not also checked for variables.
    let def = json!({
        "StartAt": "Read",
        "States": {"Read": {"Type": "Pass", "InputPath": "$v", "Next": "Missing"}}
    });
    let found = validate(&def);
    assert!(
        found
            .iter()
            .any(|d| d.code == codes::MISSING_TRANSITION_TARGET),
        "{found:?}"
    );
    assert!(
        !found.iter().any(|d| d.message.contains("'$v'")),
        "{found:?}"
    );
}
