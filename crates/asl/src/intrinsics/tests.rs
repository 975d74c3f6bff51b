//! Tests of the intrinsic functions. Tests named `corpus_*` replay calls, inputs and outputs that
//! the conformance corpus recorded against AWS (`cases/*/...`, named in each test).

use super::java::{self, Capacity, JavaRandom};
use super::*;
use crate::error::names;
use serde_json::{Map, json};

const INPUT_ERROR: &str = "The function '";

fn parse(text: &str) -> Intrinsic {
    match Intrinsic::parse(text) {
        Ok(i) => i,
        Err(e) => panic!("{e}"),
    }
}

fn run_in(text: &str, input: Value, context: Value, variables: Value) -> Result<Value, Failure> {
    let variables: Map<String, Value> = match variables {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let env = Env {
        input: &input,
        context: &context,
        variables: &variables,
    };
    parse(text).evaluate(&env, &mut Rng::new(7))
}

fn run(text: &str, input: Value) -> Result<Value, Failure> {
    run_in(text, input, json!({}), json!({}))
}

fn ok(text: &str, input: Value) -> Value {
    match run(text, input) {
        Ok(v) => v,
        Err(f) => panic!("{text}: {f}"),
    }
}

/// Asserts a `States.Runtime` failure and returns its cause.
fn fails(text: &str, input: Value) -> String {
    match run(text, input) {
        Ok(v) => panic!("{text} gave {v}"),
        Err(f) => {
            assert_eq!(f.error, names::RUNTIME, "{text}");
            assert!(f.cause.starts_with(INPUT_ERROR), "{}", f.cause);
            f.cause
        }
    }
}

/// Asserts `Invalid arguments in States.<Name>`.
fn invalid(text: &str, input: Value) {
    let cause = fails(text, input);
    let name = parse(text).function().name();
    assert_eq!(
        cause,
        format!("The function '{text}' had the following error: Invalid arguments in {name}")
    );
}

fn parse_error(text: &str) -> String {
    match Intrinsic::parse(text) {
        Ok(i) => panic!("{text} parsed as {i:?}"),
        Err(e) => e.reason,
    }
}

// ---------------------------------------------------------------------------------------------
// Parser

#[test]
fn looks_like_call_only_for_states_prefix() {
    assert!(Intrinsic::looks_like_call("States.UUID()"));
    assert!(Intrinsic::looks_like_call("  States.Array()"));
    assert!(!Intrinsic::looks_like_call("$.States"));
    assert!(!Intrinsic::looks_like_call("states.UUID()"));
}

#[test]
fn parses_every_argument_kind() {
    let i = parse(
        "States.Array('a', -1.5e2, 0, true, false, null, $, $.a[0], $$.Execution.Id, $v.x, States.UUID())",
    );
    assert_eq!(i.function(), Function::Array);
    assert_eq!(
        i.as_str(),
        "States.Array('a', -1.5e2, 0, true, false, null, $, $.a[0], $$.Execution.Id, $v.x, States.UUID())"
    );
    let paths: Vec<&str> = i.paths().iter().map(|p| p.as_str()).collect();
    assert_eq!(paths, ["$", "$.a[0]", "$$.Execution.Id", "$v.x"]);
}

#[test]
fn function_names_round_trip() {
    for f in Function::ALL {
        assert_eq!(Function::from_name(f.name()), Some(f));
    }
    assert_eq!(Function::from_name("States.uuid"), None);
}

#[test]
fn whitespace_around_arguments_is_allowed() {
    assert_eq!(
        ok("  States.Array( 1 ,\t$.a ,'x' )  ", json!({"a": 2})),
        json!([1, 2, "x"])
    );
    assert_eq!(ok("States.Array( )", json!({})), json!([]));
}

#[test]
fn unknown_function_is_rejected_with_its_position() {
    assert_eq!(
        parse_error("States.Array(States.Foo(1))"),
        "unknown intrinsic function 'States.Foo' at character 14"
    );
    assert_eq!(
        parse_error("States.format('x')"),
        "unknown intrinsic function 'States.format' at character 1"
    );
}

#[test]
fn malformed_calls_say_what_and_where() {
    assert_eq!(
        parse_error("$.a"),
        "an intrinsic function call starts with 'States.' (at character 1)"
    );
    assert_eq!(
        parse_error("States.(1)"),
        "expected a function name after 'States.' at character 8"
    );
    assert_eq!(
        parse_error("States.UUID"),
        "expected '(' after 'States.UUID' at character 12"
    );
    assert_eq!(
        parse_error("States.Array (1)"),
        "expected '(' after 'States.Array' at character 13"
    );
    assert_eq!(
        parse_error("States.Array(1"),
        "missing ')' to close the '(' of 'States.Array' at character 13"
    );
    assert_eq!(
        parse_error("States.Array("),
        "expected an argument at character 14 but the text ended"
    );
    assert_eq!(
        parse_error("States.Array(1,)"),
        "expected an argument at character 16 but found ')'"
    );
    assert_eq!(
        parse_error("States.Array(,1)"),
        "expected an argument at character 14 but found ','"
    );
    assert_eq!(
        parse_error("States.Array(1 2)"),
        "expected ',' or ')' at character 16 but found '2'"
    );
    assert_eq!(
        parse_error("States.Array($.a) trailing"),
        "unexpected 't' after the end of the call at character 19"
    );
    assert!(parse_error("States.Array([1,2])").starts_with("unexpected '[' at character 14"));
    assert!(parse_error("States.Array(yes)").starts_with("unexpected 'yes' at character 14"));
    assert!(parse_error("States.Array(\"x\")").starts_with("unexpected '\"' at character 14"));
}

#[test]
fn numbers_follow_json_grammar() {
    assert_eq!(
        ok("States.Array(0, -0.5, 12, 1.25, 2E3, -1e-2)", json!({})),
        json!([0, -0.5, 12, 1.25, 2000.0, -0.01])
    );
    assert_eq!(
        parse_error("States.Array(1.)"),
        "invalid number '1.' at character 14"
    );
    assert_eq!(
        parse_error("States.Array(01)"),
        "invalid number '01' at character 14"
    );
    assert_eq!(
        parse_error("States.Array(-)"),
        "invalid number '-' at character 14"
    );
    assert_eq!(
        parse_error("States.Array(1e999)"),
        "number '1e999' at character 14 is out of range"
    );
    assert!(parse_error("States.Array(.5)").starts_with("unexpected '.' at character 14"));
}

#[test]
fn string_escapes() {
    assert_eq!(
        ok(r"States.Array('it\'s', '\{\}', 'a\\b', '')", json!({})),
        json!(["it's", "{}", "a\\b", ""])
    );
    assert_eq!(
        parse_error(r"States.Array('a\nb')"),
        r"invalid escape sequence '\n' at character 16; only \', \{, \} and \\ may follow a backslash in a string"
    );
    assert_eq!(
        parse_error("States.Array('abc"),
        "unterminated string starting at character 14"
    );
    assert_eq!(
        parse_error(r"States.Array('abc\"),
        "unterminated string starting at character 14"
    );
}

/// cases/pure/scenarios/..._test_illegal_escapes_ESCAPE_SEQUENCES_ILLEGAL_INTRINSIC_-2b1d03aa:
/// AWS rejects `\"` at CreateStateMachine.
#[test]
fn corpus_illegal_escaped_double_quote_in_format() {
    let reason = parse_error(r#"States.Format('He said, \"Hello, {}!\"', 'Test \"Name\" Here')"#);
    assert_eq!(
        reason,
        r#"invalid escape sequence '\"' at character 25; only \', \{, \} and \\ may follow a backslash in a string"#
    );
}

/// cases/pure/scenarios/..._ESCAPE_SEQUENCES_ILLEGAL_INTRINSIC_-4c9c8b61.
#[test]
fn corpus_illegal_escaped_double_quote_in_string_to_json() {
    let reason =
        parse_error(r#"States.StringToJson('{"text":"An \"escaped double quote\" here"}')"#);
    assert!(
        reason.starts_with(r#"invalid escape sequence '\"' at character 34"#),
        "{reason}"
    );
}

/// cases/pure/intrinsic_functions/..._test_escape_sequence_exec_hist_resp_0: a literal newline
/// character (not a backslash sequence) inside a string.
#[test]
fn corpus_escape_sequence_real_newline() {
    assert_eq!(
        ok(
            "States.StringSplit('Hello\nWorld', '\n')",
            json!({"FunctionInput": null})
        ),
        json!(["Hello", "World"])
    );
}

#[test]
fn paths_end_at_delimiters_outside_brackets() {
    let input = json!({"a": {"b c": 1, "x,y": 2}, "l": [5, 6]});
    let i = parse("States.Array($.l[1],$.a)");
    let paths: Vec<&str> = i.paths().iter().map(|p| p.as_str()).collect();
    assert_eq!(paths, ["$.l[1]", "$.a"]);
    assert_eq!(
        ok("States.Array($.l[1],$.a)", input),
        json!([6, {"b c": 1, "x,y": 2}])
    );
    // A comma inside brackets belongs to the path (whether or not `Path` supports the syntax).
    match Intrinsic::parse("States.Array($['x,y'], $.b)") {
        Ok(quoted) => {
            let paths: Vec<&str> = quoted.paths().iter().map(|p| p.as_str()).collect();
            assert_eq!(paths, ["$['x,y']", "$.b"]);
        }
        Err(e) => assert!(
            e.reason
                .starts_with("invalid path '$['x,y']' at character 14"),
            "{e}"
        ),
    }
}

#[test]
fn invalid_paths_are_rejected() {
    let reason = parse_error("States.Array($.a[x])");
    assert!(
        reason.starts_with("invalid path '$.a[x]' at character 14: "),
        "{reason}"
    );
}

#[test]
fn nesting_is_limited_to_ten_levels() {
    let nested = |levels: usize| {
        let mut text = "1".to_string();
        for _ in 0..levels {
            text = format!("States.Array({text})");
        }
        text
    };
    assert_eq!(ok(&nested(10), json!({})), json!([[[[[[[[[[1]]]]]]]]]]));
    assert_eq!(
        parse_error(&nested(11)),
        "intrinsic functions nest at most 10 deep; the call at character 131 is nested 11 deep"
    );
}

#[test]
fn argument_count_is_checked_when_running() {
    // AWS accepts the definition and fails the execution.
    invalid("States.ArrayLength()", json!({}));
    invalid("States.UUID(1)", json!({}));
}

// ---------------------------------------------------------------------------------------------
// Evaluation errors shared by all functions

#[test]
fn missing_path_fails_with_the_aws_cause() {
    assert_eq!(
        fails("States.Format('{}', $.nope)", json!({"other": 1})),
        "The function 'States.Format('{}', $.nope)' had the following error: The JsonPath \
         argument for the field '$.nope' could not be found in the input '{\"other\":1}'"
    );
    // The call is echoed as written and the first failing argument is named.
    assert_eq!(
        fails(
            "States.Format('{} {}',$.other,  $.a.b)",
            json!({"other": 1})
        ),
        "The function 'States.Format('{} {}',$.other,  $.a.b)' had the following error: The \
         JsonPath argument for the field '$.a.b' could not be found in the input '{\"other\":1}'"
    );
    // An index past the end of an array is a miss too.
    assert!(
        fails("States.Array($.l[5])", json!({"l": [1]})).contains("'$.l[5]' could not be found")
    );
}

#[test]
fn missing_path_in_a_nested_call_names_the_whole_call() {
    assert_eq!(
        fails(
            "States.Format('{}', States.Format('{}', $.nope))",
            json!({"other": 1})
        ),
        "The function 'States.Format('{}', States.Format('{}', $.nope))' had the following \
         error: The JsonPath argument for the field '$.nope' could not be found in the input \
         '{\"other\":1}'"
    );
}

#[test]
fn missing_context_path_is_reported_against_the_state_input() {
    let f = run_in(
        "States.Format('{}', $$.Nope.Deep)",
        json!({"other": 1}),
        json!({"State": {"Name": "P"}}),
        json!({}),
    );
    assert_eq!(
        f.map_err(|f| f.cause),
        Err(
            "The function 'States.Format('{}', $$.Nope.Deep)' had the following error: The \
             JsonPath argument for the field '$.Nope.Deep' could not be found in the input \
             '{\"other\":1}'"
                .to_string()
        )
    );
}

#[test]
fn missing_variable_fails() {
    let f = run_in("States.Array($nope)", json!({}), json!({}), json!({"v": 1}));
    assert_eq!(
        f.map_err(|f| f.cause),
        Err(
            "The function 'States.Array($nope)' had the following error: The JsonPath argument \
             for the field '$nope' could not be found in the input '{\"v\":1}'"
                .to_string()
        )
    );
}

#[test]
fn explicit_null_is_a_value_not_a_miss() {
    assert_eq!(
        ok("States.Format('{}', $.n)", json!({"n": null})),
        json!("null")
    );
}

// ---------------------------------------------------------------------------------------------
// States.Format

/// cases/pure/intrinsic_functions/..._test_format_1_exec_hist_resp_0..6.
#[test]
fn corpus_format_1() {
    let call = "States.Format('Formatting argument {}.', $.FunctionInput)";
    for (input, expected) in [
        (json!(""), "Formatting argument ."),
        (json!(" "), "Formatting argument  ."),
        (json!("HelloWorld"), "Formatting argument HelloWorld."),
        (json!(null), "Formatting argument null."),
        (json!(1), "Formatting argument 1."),
        (json!(1.1), "Formatting argument 1.1."),
        (
            json!("{\"Arg1\": 1, \"Arg2\": []}"),
            "Formatting argument {\"Arg1\": 1, \"Arg2\": []}.",
        ),
    ] {
        assert_eq!(ok(call, json!({ "FunctionInput": input })), json!(expected));
    }
}

/// cases/other-service/credentials/..._test_cross_account_states_start_sync_execution.
#[test]
fn corpus_format_single_path() {
    assert_eq!(
        ok(
            "States.Format('{}', $.CredentialsRoleArn)",
            json!({"CredentialsRoleArn": "arn:aws:iam::111111111111:role/x"})
        ),
        json!("arn:aws:iam::111111111111:role/x")
    );
}

/// cases/pure/assign/..._test_reference_in_map_state_MAP_STAT-13364d68 and -d3508db3: the
/// template comes from a path or a variable, the value from the context object.
#[test]
fn corpus_format_template_from_path_and_variable() {
    let context = json!({"Map": {"Item": {"Index": 0, "Value": "Charizard"}}});
    assert_eq!(
        run_in(
            "States.Format($.AnswerTemplate, $$.Map.Item.Value)",
            json!({"AnswerTemplate": "It's {}!"}),
            context.clone(),
            json!({}),
        ),
        Ok(json!("It's Charizard!"))
    );
    assert_eq!(
        run_in(
            "States.Format($AnswerTemplate, $$.Map.Item.Value)",
            json!({}),
            context,
            json!({"AnswerTemplate": "It's {}!"}),
        ),
        Ok(json!("It's Charizard!"))
    );
}

#[test]
fn format_renders_values_as_java_does() {
    assert_eq!(
        ok(
            "States.Format('{}|{}|{}|{}|{}|{}|{}', $.s, $.b, $.i, $.d, $.whole, $.big, $.tiny)",
            json!({"s": "x", "b": false, "i": -1, "d": 3.5, "whole": 1.0, "big": 1e21, "tiny": 0.0001})
        ),
        json!("x|false|-1|3.5|1.0|1.0E21|1.0E-4")
    );
    assert_eq!(ok("States.Format('{}', 1.0)", json!({})), json!("1.0"));
    assert_eq!(
        ok(
            "States.Format('{} {}', $.o, $.a)",
            json!({"o": {"k": 1, "s": "v"}, "a": [1, "x"]})
        ),
        json!("{\"k\":1,\"s\":\"v\"} [1,\"x\"]")
    );
}

#[test]
fn format_escapes_in_a_literal_template() {
    assert_eq!(
        ok(r"States.Format('\{\}{}\\ it\'s', 7)", json!({})),
        json!("{}7\\ it's")
    );
    assert_eq!(
        ok(
            r"States.Format('\{\'key\':\'{}\'\}', $.v)",
            json!({"v": "test123"})
        ),
        json!("{'key':'test123'}")
    );
    // A template from a path has no escapes: a backslash stays.
    assert_eq!(
        ok("States.Format($.t, 1)", json!({"t": "a\\b {}"})),
        json!("a\\b 1")
    );
}

#[test]
fn format_keeps_whitespace_and_template_without_placeholders() {
    assert_eq!(
        ok("States.Format('  {}  ', 'x')", json!({})),
        json!("  x  ")
    );
    assert_eq!(
        ok("States.Format('no placeholders')", json!({})),
        json!("no placeholders")
    );
    assert_eq!(
        ok(
            "States.Format('{}:{}', 'arn', States.JsonToString($.o))",
            json!({"o": {"k": 1}})
        ),
        json!("arn:{\"k\":1}")
    );
}

#[test]
fn format_errors() {
    invalid("States.Format()", json!({}));
    invalid("States.Format($.t, 'x')", json!({"t": 123}));
    let mismatch = "Invalid arguments in States.Format: number of arguments do not match the \
                    occurrences of {}.";
    assert!(fails("States.Format('{} {}', 'x')", json!({})).ends_with(mismatch));
    assert!(fails("States.Format('{}', 'x', 'y')", json!({})).ends_with(mismatch));
    assert!(
        fails("States.Format('Hello {', 'x')", json!({}))
            .ends_with("Invalid template in States.Format: matching '}' not found for '{'.")
    );
    assert!(
        fails("States.Format('Hello {{}}', 'x')", json!({}))
            .ends_with("Invalid template in States.Format: matching '}' not found for '{'.")
    );
    assert!(
        fails("States.Format('}')", json!({}))
            .ends_with("Invalid template in States.Format: matching '{' not found for '}'.")
    );
}

// ---------------------------------------------------------------------------------------------
// States.StringToJson, States.JsonToString

/// cases/pure/assign/..._test_reference_assign_BASE_REFERENCE-bdd6d085 (jsonOps).
#[test]
fn corpus_string_to_json_and_back() {
    let vars = json!({"jsonString": "{\"key\":\"value\"}", "jsonObject": {"test": "object"}});
    assert_eq!(
        run_in(
            "States.StringToJson($jsonString)",
            json!({}),
            json!({}),
            vars.clone()
        ),
        Ok(json!({"key": "value"}))
    );
    assert_eq!(
        run_in(
            "States.JsonToString($jsonObject)",
            json!({}),
            json!({}),
            vars
        ),
        Ok(json!("{\"test\":\"object\"}"))
    );
}

#[test]
fn string_to_json_parses_any_json_value() {
    for (text, expected) in [
        ("{\"a\":1}", json!({"a": 1})),
        ("[1,2,3]", json!([1, 2, 3])),
        ("\"hello\"", json!("hello")),
        ("123", json!(123)),
        ("1.5", json!(1.5)),
        ("true", json!(true)),
        ("null", json!(null)),
        (" {\"a\":1} ", json!({"a": 1})),
        ("{\"a\":\"it's\"}", json!({"a": "it's"})),
        ("", json!(null)),
        ("  ", json!(null)),
        ("{\"a\":1} {\"b\":2}", json!({"a": 1})),
    ] {
        assert_eq!(
            ok("States.StringToJson($.j)", json!({ "j": text })),
            expected,
            "{text}"
        );
    }
    assert_eq!(
        ok("States.StringToJson('{\"b\":1,\"a\":2}')", json!({})).to_string(),
        "{\"b\":1,\"a\":2}"
    );
}

#[test]
fn string_to_json_errors() {
    for bad in [
        json!("{bad json}"),
        json!("{\"a\":1"),
        json!("undefined"),
        json!(123),
        json!({"a": 1}),
        json!([1]),
    ] {
        invalid("States.StringToJson($.j)", json!({ "j": bad }));
    }
    invalid("States.StringToJson()", json!({}));
    invalid("States.StringToJson('1', '2')", json!({}));
}

#[test]
fn json_to_string_writes_compact_json_with_java_numbers() {
    for (value, expected) in [
        (json!({"a": 1}), "{\"a\":1}"),
        (json!([1, 2, 3]), "[1,2,3]"),
        (json!("hello"), "\"hello\""),
        (json!(123), "123"),
        (json!(false), "false"),
        (json!(null), "null"),
        (json!({}), "{}"),
        (json!([]), "[]"),
        (
            json!({"z": {"a": 1}, "arr": [true, null]}),
            "{\"z\":{\"a\":1},\"arr\":[true,null]}",
        ),
        (
            json!([-1, 3.5, 1.0, 1e7, 0.001, -9007199254740991i64]),
            "[-1,3.5,1.0,1.0E7,0.001,-9007199254740991]",
        ),
        (json!("q\"b\\n\n\u{1}"), "\"q\\\"b\\\\n\\n\\u0001\""),
    ] {
        assert_eq!(
            ok("States.JsonToString($.v)", json!({ "v": value })),
            json!(expected)
        );
    }
    assert_eq!(ok("States.JsonToString('x')", json!({})), json!("\"x\""));
    assert_eq!(
        ok("States.JsonToString(States.Array($.a, 2))", json!({"a": 1})),
        json!("[1,2]")
    );
    invalid("States.JsonToString()", json!({}));
    invalid("States.JsonToString($.a, $.a)", json!({"a": 1}));
}

// ---------------------------------------------------------------------------------------------
// Arrays

#[test]
fn array_builds_from_any_arguments() {
    assert_eq!(ok("States.Array()", json!({})), json!([]));
    assert_eq!(
        ok(
            "States.Array(42, true, null, 'hello', $.o, States.Array(2, 3))",
            json!({"o": {"k": 1}})
        ),
        json!([42, true, null, "hello", {"k": 1}, [2, 3]])
    );
}

#[test]
fn array_partition() {
    let arr = json!({"arr": [1, 2, 3, 4, 5, 6, 7, 8, 9]});
    assert_eq!(
        ok("States.ArrayPartition($.arr, 4)", arr.clone()),
        json!([[1, 2, 3, 4], [5, 6, 7, 8], [9]])
    );
    assert_eq!(
        ok("States.ArrayPartition($.arr, 9)", arr.clone()),
        json!([[1, 2, 3, 4, 5, 6, 7, 8, 9]])
    );
    assert_eq!(
        ok("States.ArrayPartition($.arr, 2147483647)", arr.clone()),
        json!([[1, 2, 3, 4, 5, 6, 7, 8, 9]])
    );
    assert_eq!(
        ok(
            "States.ArrayPartition($.arr, 2.6)",
            json!({"arr": [1, 2, 3, 4, 5]})
        ),
        json!([[1, 2], [3, 4], [5]])
    );
    assert_eq!(
        ok("States.ArrayPartition($.arr, 3)", json!({"arr": []})),
        json!([])
    );
    assert_eq!(
        ok(
            "States.ArrayPartition(States.Array(1, 2, 3, 4, 5), 2)",
            json!({})
        ),
        json!([[1, 2], [3, 4], [5]])
    );
    for bad in ["0", "-1", "0.6", "-0.4", "'2'", "null"] {
        invalid(&format!("States.ArrayPartition($.arr, {bad})"), arr.clone());
    }
    invalid("States.ArrayPartition('not-array', 2)", json!({}));
    invalid("States.ArrayPartition($.arr)", arr.clone());
    invalid("States.ArrayPartition($.arr, 2, 999)", arr);
}

#[test]
fn array_contains_compares_java_text() {
    let contains = |arr: Value, wanted: Value| {
        ok(
            "States.ArrayContains($.arr, $.w)",
            json!({ "arr": arr, "w": wanted }),
        )
    };
    assert_eq!(contains(json!([1, 2, 3]), json!(2)), json!(true));
    assert_eq!(contains(json!([1, 2, 3]), json!(5)), json!(false));
    assert_eq!(contains(json!(["A", "B", "C"]), json!("C")), json!(true));
    assert_eq!(contains(json!([1, null, 3]), json!(null)), json!(true));
    assert_eq!(
        contains(json!([{"a": 1}, {"b": 2}]), json!({"a": 1})),
        json!(true)
    );
    assert_eq!(
        contains(json!([[1, 2], [3, 4]]), json!([1, 2])),
        json!(true)
    );
    assert_eq!(contains(json!([]), json!(1)), json!(false));
    assert_eq!(
        contains(json!([{"a": 1}]), json!({"a": 1, "extra": null})),
        json!(false)
    );
    assert_eq!(
        contains(json!([0, 1, -1, -1.5]), json!(false)),
        json!(false)
    );
    // AWS observations: key order matters, and a value matches its text.
    assert_eq!(
        contains(json!([{"a": 1, "b": 2}]), json!({"b": 2, "a": 1})),
        json!(false)
    );
    assert_eq!(contains(json!(["true", "false"]), json!(true)), json!(true));
    assert_eq!(
        contains(json!(["9007199254740991"]), json!(9007199254740991i64)),
        json!(true)
    );
    assert_eq!(
        ok("States.ArrayContains(States.Array(1, 2, 3), 2)", json!({})),
        json!(true)
    );
    invalid("States.ArrayContains('not-array', 'x')", json!({}));
    invalid("States.ArrayContains($.arr)", json!({"arr": [1]}));
    invalid("States.ArrayContains($.arr, 2, 999)", json!({"arr": [1]}));
}

#[test]
fn array_range() {
    assert_eq!(
        ok("States.ArrayRange(1, 9, 2)", json!({})),
        json!([1, 3, 5, 7, 9])
    );
    assert_eq!(
        ok("States.ArrayRange(-2, 2, 2)", json!({})),
        json!([-2, 0, 2])
    );
    assert_eq!(ok("States.ArrayRange(3, 3, -1)", json!({})), json!([3]));
    assert_eq!(
        ok("States.ArrayRange(5, 1, -2)", json!({})),
        json!([5, 3, 1])
    );
    assert_eq!(ok("States.ArrayRange(5, 1, 1)", json!({})), json!([]));
    assert_eq!(ok("States.ArrayRange(1, 5, -1)", json!({})), json!([]));
    // Fractions are cut towards zero.
    assert_eq!(
        ok("States.ArrayRange(1.4, 5.6, 2.2)", json!({})),
        json!([1, 3, 5])
    );
    assert_eq!(ok("States.ArrayRange(1.6, 1.4, 1)", json!({})), json!([1]));
    assert_eq!(
        ok("States.ArrayRange(5.4, -0.6, -2.4)", json!({})),
        json!([5, 3, 1])
    );
    assert_eq!(
        ok(
            "States.ArrayRange(States.MathAdd($.b, 1), States.MathAdd($.b, 5), 2)",
            json!({"b": 0})
        ),
        json!([1, 3, 5])
    );
    let thousand = ok("States.ArrayRange(1000, 1, -1)", json!({}));
    assert_eq!(thousand.as_array().map(Vec::len), Some(1000));
    assert_eq!(
        ok("States.ArrayRange(1, 1000, 1)", json!({}))[999],
        json!(1000)
    );
    invalid("States.ArrayRange(1, 1001, 1)", json!({}));
    invalid("States.ArrayRange(1001, 1, -1)", json!({}));
    invalid("States.ArrayRange(1, 10, 0)", json!({}));
    invalid("States.ArrayRange(1, 10, 0.49)", json!({}));
    invalid("States.ArrayRange('a', 5, 1)", json!({}));
    invalid("States.ArrayRange(1, 'b', 1)", json!({}));
    invalid("States.ArrayRange(1, 5, 'c')", json!({}));
    invalid("States.ArrayRange(1, 5)", json!({}));
    invalid("States.ArrayRange(1, 5, 1, 99)", json!({}));
    invalid("States.ArrayRange(0, 3000000000, 1)", json!({}));
}

/// cases/pure/intrinsic_functions/..._test_array_get_item_exec_hist_resp_0.
#[test]
fn corpus_array_get_item() {
    assert_eq!(
        ok(
            "States.ArrayGetItem($.FunctionInput.fst, $.FunctionInput.snd)",
            json!({"FunctionInput": {"fst": [1, 2, 3, 4, 5, 6, 7, 8, 9], "snd": 5}})
        ),
        json!(6)
    );
}

#[test]
fn array_get_item() {
    let arr = json!({"arr": [10, 20, 30], "obj": [{"a": 1}, {"b": 2}], "empty": []});
    assert_eq!(ok("States.ArrayGetItem($.arr, 0)", arr.clone()), json!(10));
    assert_eq!(
        ok("States.ArrayGetItem($.obj, 1)", arr.clone()),
        json!({"b": 2})
    );
    assert_eq!(
        ok("States.ArrayGetItem($.arr, 1.2)", arr.clone()),
        json!(20)
    );
    assert_eq!(
        ok("States.ArrayGetItem(States.Array('x', 'y'), 1)", json!({})),
        json!("y")
    );
    assert_eq!(
        ok("States.ArrayGetItem($.empty, 999)", arr.clone()),
        json!(null)
    );
    invalid("States.ArrayGetItem($.arr, 3)", arr.clone());
    invalid("States.ArrayGetItem($.arr, -1)", arr.clone());
    invalid("States.ArrayGetItem($.arr, '1')", arr.clone());
    invalid("States.ArrayGetItem('not-array', 0)", arr.clone());
    invalid("States.ArrayGetItem($.arr)", arr);
}

/// cases/pure/intrinsic_functions/..._test_nested_calls_1_exec_hist_resp_0.
#[test]
fn corpus_nested_calls() {
    assert_eq!(
        run_in(
            "States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), 0)",
            json!({"FunctionInput": null}),
            json!({"StateMachine": {"Name": "statemachine_2e0e7c5f-a1b2"}}),
            json!({}),
        ),
        Ok(json!("statemachine_2e0e7c5f"))
    );
}

/// cases/pure/intrinsic_functions/..._test_array_length_exec_hist_resp_0 and
/// ..._test_array_unique_exec_hist_resp_0 (which calls ArrayLength).
#[test]
fn corpus_array_length() {
    assert_eq!(
        ok(
            "States.ArrayLength($.FunctionInput)",
            json!({"FunctionInput": [1, 2, 3, 4, 5, 6, 7, 8, 9]})
        ),
        json!(9)
    );
    let input = json!({"FunctionInput": [null, null, true, true, false, false, 1, 1, 1.1, 0, 0,
        "HelloWorld", "HelloWorld", [], [], [null], [null], {"a": 1, "b": 2}, {"a": 1, "b": 2},
        {"a": 1, "b": 1}]});
    assert_eq!(ok("States.ArrayLength($.FunctionInput)", input), json!(20));
}

#[test]
fn array_length() {
    assert_eq!(
        ok("States.ArrayLength(States.Array())", json!({})),
        json!(0)
    );
    assert_eq!(
        ok("States.ArrayLength($.a)", json!({"a": [[1], [2], [3]]})),
        json!(3)
    );
    invalid("States.ArrayLength('not-array')", json!({}));
    invalid("States.ArrayLength($.o)", json!({"o": {"k": 1}}));
    invalid("States.ArrayLength($.a, 999)", json!({"a": []}));
}

#[test]
fn array_unique_iterates_like_a_java_hash_set() {
    let unique = |arr: Value| ok("States.ArrayUnique($.arr)", json!({ "arr": arr }));
    assert_eq!(unique(json!([1, 2, 3, 3, 3, 4])), json!([1, 2, 3, 4]));
    assert_eq!(
        unique(json!(["a", "b", "a", "c", "b"])),
        json!(["a", "b", "c"])
    );
    assert_eq!(unique(json!([])), json!([]));
    assert_eq!(unique(json!([null, null, 1, null])), json!([null, 1]));
    assert_eq!(unique(json!([1, "1", 1, "01"])), json!([1, "1", "01"]));
    assert_eq!(unique(json!([{"a": 1}, {"a": 1}])), json!([{"a": 1}]));
    assert_eq!(
        unique(json!([{"a": 1, "b": 2}, {"b": 2, "a": 1}])),
        json!([{"a": 1, "b": 2}])
    );
    assert_eq!(
        unique(json!([{"n": {"x": 1}}, {"n": {"x": 1}}])),
        json!([{"n": {"x": 1}}])
    );
    // AWS observations: hash order, not first-seen order.
    assert_eq!(
        unique(json!([true, false, true, false])),
        json!([false, true])
    );
    assert_eq!(
        unique(json!([[1, 2], [1, 2], [2, 1]])),
        json!([[2, 1], [1, 2]])
    );
    // 1 and 1.0 are an Integer and a Double: distinct.
    assert_eq!(unique(json!([1, 1.0])).as_array().map(Vec::len), Some(2));
    assert_eq!(
        ok("States.ArrayUnique(States.Array(1,1,2,2,3))", json!({})),
        json!([1, 2, 3])
    );
    invalid("States.ArrayUnique('not-array')", json!({}));
    invalid("States.ArrayUnique($.o)", json!({"o": {"a": 1}}));
    invalid("States.ArrayUnique()", json!({}));
}

// ---------------------------------------------------------------------------------------------
// Encoding and hashing

/// cases/pure/assign/..._test_reference_assign_BASE_REFERENCE-bdd6d085 (encodingOps, hashOps).
#[test]
fn corpus_base64_and_hash_of_variables() {
    let vars = json!({"rawString": "Hello World", "encodedString": "SGVsbG8gV29ybGQ=",
        "inputString": "Hash this string"});
    let run_vars = |text: &str| run_in(text, json!({}), json!({}), vars.clone());
    assert_eq!(
        run_vars("States.Base64Encode($rawString)"),
        Ok(json!("SGVsbG8gV29ybGQ="))
    );
    assert_eq!(
        run_vars("States.Base64Decode($encodedString)"),
        Ok(json!("Hello World"))
    );
    assert_eq!(
        run_vars("States.Hash($inputString, 'SHA-256')"),
        Ok(json!(
            "1cac63f39fd68d8c531f27b807610fb3d50f0fc3f186995767fb6316e7200a3e"
        ))
    );
}

#[test]
fn base64_encode() {
    for (text, expected) in [
        ("hello", "aGVsbG8="),
        ("", ""),
        ("✓", "4pyT"),
        ("こんにちは", "44GT44KT44Gr44Gh44Gv"),
        ("line1\nline2", "bGluZTEKbGluZTI="),
        ("abc\u{0}def", "YWJjAGRlZg=="),
        ("🚀", "8J+agA=="),
    ] {
        assert_eq!(
            ok("States.Base64Encode($.s)", json!({ "s": text })),
            json!(expected)
        );
    }
    assert_eq!(
        ok(
            "States.Base64Encode(States.Format('{}-{}', 'x', 'y'))",
            json!({})
        ),
        json!("eC15")
    );
    assert!(ok("States.Base64Encode($.s)", json!({"s": "a".repeat(10_000)})).is_string());
    invalid("States.Base64Encode($.s)", json!({"s": "a".repeat(10_001)}));
    invalid("States.Base64Encode(123)", json!({}));
    invalid("States.Base64Encode($.o)", json!({"o": {}}));
    invalid("States.Base64Encode()", json!({}));
    invalid("States.Base64Encode('a', 'b')", json!({}));
}

#[test]
fn base64_decode_is_lenient_like_aws() {
    for (text, expected) in [
        ("aGVsbG8=", "hello"),
        ("", ""),
        ("4pyT", "✓"),
        ("44GT44KT44Gr44Gh44Gv", "こんにちは"),
        ("YWJjZA==", "abcd"),
        ("IA==", " "),
        ("YWJjAGRlZg==", "abc\u{0}def"),
        // Accepted by AWS: junk is skipped, decoding stops at '=', partial groups still count.
        (" YWJjZA== ", "abcd"),
        ("YWJj\nZA==", "abcd"),
        ("abc", "i\u{fffd}"),
        ("ab==cd", "i"),
        ("aGVs_-8", "hel\u{fffd}\u{fffd}"),
    ] {
        assert_eq!(
            ok("States.Base64Decode($.s)", json!({ "s": text })),
            json!(expected),
            "{text}"
        );
    }
    assert_eq!(
        ok(
            "States.Base64Decode(States.Base64Encode($.s))",
            json!({"s": "hello"})
        ),
        json!("hello")
    );
    invalid("States.Base64Decode($.s)", json!({"s": "A".repeat(10_001)}));
    invalid("States.Base64Decode(123)", json!({}));
    invalid("States.Base64Decode()", json!({}));
    invalid("States.Base64Decode('aGVsbG8=', 'extra')", json!({}));
}

/// cases/pure/intrinsic_functions/..._test_hash_exec_hist_resp_0..4.
#[test]
fn corpus_hash() {
    for (algorithm, expected) in [
        ("MD5", "812f45842bc6d66ee14572ce20db8e86"),
        ("SHA-1", "aaff4a450a104cd177d28d18d74485e8cae074b7"),
        (
            "SHA-256",
            "b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3",
        ),
        (
            "SHA-384",
            "d28a7d5cf25a74f11a50a18452b75e04bb3d70c9dd0510d6123aa008c756511b87525bdc835ebb27e1fb9e9374a15562",
        ),
        (
            "SHA-512",
            "6ce4adb348546d4f449c4d25aad9a7c9cb711d9e91982d3f0b29ca2f3f47d4ce2deba23bf2954f0f1d593fc50283731a533d30d425402d4f91316d871303aac4",
        ),
    ] {
        assert_eq!(
            ok(
                "States.Hash($.FunctionInput.fst, $.FunctionInput.snd)",
                json!({"FunctionInput": {"fst": "input data", "snd": algorithm}})
            ),
            json!(expected)
        );
    }
}

#[test]
fn hash() {
    assert_eq!(
        ok("States.Hash('hello', 'MD5')", json!({})),
        json!("5d41402abc4b2a76b9719d911017c592")
    );
    assert_eq!(
        ok("States.Hash('', 'SHA-256')", json!({})),
        json!("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
    assert_eq!(
        ok("States.Hash($.s, 'SHA-256')", json!({"s": "こんにちは"})),
        json!("125aeadf27b0459b8760c13a3d80912dfa8a81a68261906f60d87f4a0268646c")
    );
    assert_eq!(
        ok("States.Hash($.s, 'MD5')", json!({"s": "abc\u{0}def"})),
        json!("a5e4d5963ae44c1f4bfb37b1a3d55a3c")
    );
    // AWS hashes a non-string by its text.
    assert_eq!(
        ok("States.Hash(123, 'MD5')", json!({})),
        ok("States.Hash('123', 'MD5')", json!({}))
    );
    assert!(
        ok(
            "States.Hash($.s, 'SHA-1')",
            json!({"s": "a".repeat(10_000)})
        )
        .is_string()
    );
    invalid(
        "States.Hash($.s, 'SHA-1')",
        json!({"s": "a".repeat(10_001)}),
    );
    for algorithm in ["'sha-256'", "'SHA256'", "'MD-5'", "'SHA-257'", "''", "123"] {
        invalid(&format!("States.Hash('data', {algorithm})"), json!({}));
    }
    invalid("States.Hash()", json!({}));
    invalid("States.Hash('hello')", json!({}));
    invalid("States.Hash('hello', 'SHA-256', 'extra')", json!({}));
}

// ---------------------------------------------------------------------------------------------
// States.JsonMerge

/// cases/pure/intrinsic_functions/..._test_json_merge_exec_hist_resp_0: key order as AWS
/// recorded it.
#[test]
fn corpus_json_merge() {
    let merged = ok(
        "States.JsonMerge($.FunctionInput.fst, $.FunctionInput.snd, false)",
        json!({"FunctionInput": {"fst": {"a": {"a1": 1, "a2": 2}, "b": 2, "d": 3},
            "snd": {"a": {"a3": 1, "a4": 2}, "c": 3, "d": 4}}}),
    );
    assert_eq!(
        merged.to_string(),
        r#"{"a":{"a3":1,"a4":2},"b":2,"c":3,"d":4}"#
    );
}

/// cases/pure/intrinsic_functions/..._test_json_merge_escaped_argument_get_exe-3ad7747d.
#[test]
fn corpus_json_merge_escaped_argument() {
    let merged = run_in(
        "States.JsonMerge(States.StringToJson('{\"constant_in_literal\": \"false\"}'), $$.Execution.Input.input_field, false)",
        json!({"input_field": {"constant_input_field": "constant_value"}}),
        json!({"Execution": {"Input": {"input_field": {"constant_input_field": "constant_value"}}}}),
        json!({}),
    );
    assert_eq!(
        merged.map(|v| v.to_string()),
        Ok(
            r#"{"constant_input_field":"constant_value","constant_in_literal":"false"}"#
                .to_string()
        )
    );
}

/// cases/pure/assign/..._test_reference_assign_BASE_REFERENCE-bdd6d085 (mergedJson).
#[test]
fn corpus_json_merge_of_variables() {
    let merged = run_in(
        "States.JsonMerge($json1, $json2, false)",
        json!({}),
        json!({}),
        json!({"json1": {"a": 1, "b": 2}, "json2": {"c": 3, "d": 4}}),
    );
    assert_eq!(merged, Ok(json!({"a": 1, "b": 2, "c": 3, "d": 4})));
}

#[test]
fn json_merge_is_shallow() {
    let merge = |a: Value, b: Value| {
        ok(
            "States.JsonMerge($.a, $.b, false)",
            json!({ "a": a, "b": b }),
        )
    };
    assert_eq!(
        merge(json!({"x": 1}), json!({"y": 2})),
        json!({"x": 1, "y": 2})
    );
    assert_eq!(
        merge(json!({"x": 1, "y": 2}), json!({"y": 3, "z": 4})),
        json!({"x": 1, "y": 3, "z": 4})
    );
    assert_eq!(merge(json!({}), json!({})), json!({}));
    assert_eq!(
        merge(json!({"n": {"a1": 1}, "keep": 1}), json!({"n": null})),
        json!({"n": null, "keep": 1})
    );
    // AWS reads the flag leniently: only true (or "true") asks for the unsupported deep merge.
    assert_eq!(
        ok(
            "States.JsonMerge($.a, $.b, $.deep)",
            json!({"a": {}, "b": {"k": 1}, "deep": "false"})
        ),
        json!({"k": 1})
    );
    invalid(
        "States.JsonMerge($.a, $.b, true)",
        json!({"a": {}, "b": {}}),
    );
    invalid(
        "States.JsonMerge($.a, $.b, 'true')",
        json!({"a": {}, "b": {}}),
    );
    invalid(
        "States.JsonMerge($.a, $.b, false)",
        json!({"a": null, "b": {}}),
    );
    invalid(
        "States.JsonMerge($.a, $.b, false)",
        json!({"a": {}, "b": "x"}),
    );
    invalid(
        "States.JsonMerge($.a, $.b, false)",
        json!({"a": [], "b": {}}),
    );
    invalid("States.JsonMerge($.a, $.b)", json!({"a": {}, "b": {}}));
    invalid(
        "States.JsonMerge($.a, $.b, false, 1)",
        json!({"a": {}, "b": {}}),
    );
}

#[test]
fn json_merge_orders_keys_like_a_java_hash_map() {
    // Buckets of a 16-slot table: "b" 2, "a" 1, "q" 1 (113 & 15), "z" 10.
    assert_eq!(
        ok(
            "States.JsonMerge($.a, $.b, false)",
            json!({"a": {"z": 1, "b": 2}, "b": {"q": 3, "a": 4}})
        )
        .to_string(),
        r#"{"q":3,"a":4,"b":2,"z":1}"#
    );
}

// ---------------------------------------------------------------------------------------------
// Math

/// cases/pure/intrinsic_functions/..._test_math_random_exec_hist_resp_0..2.
#[test]
fn corpus_math_random() {
    for (start, end) in [
        (json!(12.5), 12..44),
        (json!(9999), 9999..99999),
        (json!(-99999), -99999..-9999),
    ] {
        let end_value = json!(end.end);
        let v = ok(
            "States.MathRandom($.FunctionInput.fst, $.FunctionInput.snd)",
            json!({"FunctionInput": {"fst": start, "snd": end_value}}),
        );
        let n = v.as_i64().unwrap_or(i64::MIN);
        assert!(end.contains(&n), "{n} not in {end:?}");
    }
    let v = ok("States.MathRandom(12.5, 44.51)", json!({}));
    assert!((12..44).contains(&v.as_i64().unwrap_or(0)));
}

#[test]
fn math_random_draws_from_the_given_rng() {
    let draw = |seed: u64| {
        let (input, context, vars) = (json!({}), json!({}), Map::new());
        let env = Env {
            input: &input,
            context: &context,
            variables: &vars,
        };
        parse("States.MathRandom(1, 1000)").evaluate(&env, &mut Rng::new(seed))
    };
    assert_eq!(draw(3), draw(3));
    let values: Vec<i64> = (0..50).filter_map(|s| draw(s).ok()?.as_i64()).collect();
    assert_eq!(values.len(), 50);
    assert!(values.iter().all(|v| (1..1000).contains(v)));
    assert!(values.iter().any(|v| *v != values[0]));
    // Truncation: 1.6 and 5.4 give [1, 5).
    for seed in 0..50 {
        let (input, context, vars) = (json!({}), json!({}), Map::new());
        let env = Env {
            input: &input,
            context: &context,
            variables: &vars,
        };
        let v = parse("States.MathRandom(1.6, 5.4)").evaluate(&env, &mut Rng::new(seed));
        assert!(v.is_ok_and(|v| (1..5).contains(&v.as_i64().unwrap_or(0))));
    }
}

#[test]
fn math_random_with_a_seed_is_java_random() {
    // AWS: seed 42 over [-5, 5) gives -5, i.e. new Random(42).nextInt(10) == 0.
    assert_eq!(ok("States.MathRandom(-5, 5, 42)", json!({})), json!(-5));
    let a = ok("States.MathRandom(1, 100, 42)", json!({}));
    assert_eq!(a, ok("States.MathRandom(1, 100, 42)", json!({})));
    assert_eq!(
        ok("States.MathRandom(1, 10, -10)", json!({})),
        ok("States.MathRandom(1, 10, -10.7)", json!({}))
    );
    let v = ok(
        "States.MathRandom($.s, $.e, $.seed)",
        json!({"s": 2147483640, "e": 2147483647, "seed": 1}),
    );
    assert!((2147483640..2147483647).contains(&v.as_i64().unwrap_or(0)));
}

#[test]
fn math_random_errors() {
    for bad in [
        "1, 1",
        "10, 5",
        "1.4, 1.6",
        "1.49, 1.49",
        "'a', 10",
        "1, 'b'",
        "1, 10, 'seed'",
        "1, 10, null",
        "1",
        "1, 10, 5, 99",
        "-2147483648, 2147483647",
        "0, 3000000000",
    ] {
        invalid(&format!("States.MathRandom({bad})"), json!({}));
    }
    invalid("States.MathRandom($.s, $.e)", json!({"s": null, "e": 10}));
}

#[test]
fn java_random_matches_the_jdk() {
    // Values of java.util.Random, well known from the JDK.
    let mut r = JavaRandom::new(42);
    assert_eq!(r.next_int(10), 0);
    assert_eq!(r.next_int(10), 3);
    let mut r = JavaRandom::new(0);
    assert_eq!(r.next_int(100), 60);
    let mut r = JavaRandom::new(42);
    assert_eq!(r.next_int(16), 11);
}

/// cases/lambda/scenarios/..._test_map_state_config_distributed_reentrant_lambda and
/// cases/pure/assign/..._test_reference_assign_BASE_REFERENCE-aef88320 (bias 4.3).
#[test]
fn corpus_math_add() {
    assert_eq!(
        ok("States.MathAdd($.Iterations, -1)", json!({"Iterations": 1})),
        json!(0)
    );
    assert_eq!(
        run_in(
            "States.MathAdd(States.MathAdd(States.MathAdd($yCurrent, $xCurrent), $zCurrent), $bias)",
            json!({}),
            json!({}),
            json!({"xCurrent": 9, "yCurrent": 44, "zCurrent": 6, "bias": 4.3}),
        ),
        Ok(json!(63))
    );
    assert_eq!(
        run_in(
            "States.MathAdd($value1, $value2)",
            json!({}),
            json!({}),
            json!({"value1": 5, "value2": 3})
        ),
        Ok(json!(8))
    );
}

#[test]
fn math_add() {
    for (call, expected) in [
        ("States.MathAdd(5, 3)", 8),
        ("States.MathAdd(-5, -3)", -8),
        ("States.MathAdd(-5, 3)", -2),
        ("States.MathAdd(1.6, 2.7)", 5),
        ("States.MathAdd(0.1, 0.2)", 0),
        ("States.MathAdd(2.5, 0)", 3),
        ("States.MathAdd(-1.5, 0)", -1),
        ("States.MathAdd(2147483647, 0)", 2147483647),
        ("States.MathAdd(-2147483648, 0)", -2147483648),
        ("States.MathAdd(2147483646, 1)", 2147483647),
        ("States.MathAdd(-2147483647, -1)", -2147483648),
        ("States.MathAdd(States.MathAdd(5, 1), 2)", 8),
    ] {
        assert_eq!(ok(call, json!({})), json!(expected), "{call}");
    }
    for bad in [
        "2147483647, 1",
        "-2147483648, -1",
        "3000000000, 1",
        "-3000000000, 1",
        "'a', 1",
        "1, 'b'",
        "null, 1",
        "true, 1",
        "'-1', 2",
        "1",
        "1, 2, 999",
    ] {
        invalid(&format!("States.MathAdd({bad})"), json!({}));
    }
    invalid("States.MathAdd($.t, $.p)", json!({"t": "1", "p": [1]}));
}

// ---------------------------------------------------------------------------------------------
// States.StringSplit, States.UUID

/// cases/pure/intrinsic_functions/..._test_string_split_context_object_exec_hi-532789cd.
#[test]
fn corpus_string_split_context_object() {
    let text =
        "Value1,Value2,Value3\nValue4,Value5,Value6\n,,,\ntrue,1,'HelloWorld'\nNull,None,\n   \n";
    assert_eq!(
        run_in(
            "States.StringSplit($$.Execution.Input.FunctionInput, ',')",
            json!({"FunctionInput": text}),
            json!({"Execution": {"Input": {"FunctionInput": text}}}),
            json!({}),
        ),
        Ok(json!([
            "Value1",
            "Value2",
            "Value3\nValue4",
            "Value5",
            "Value6\n",
            "\ntrue",
            "1",
            "'HelloWorld'\nNull",
            "None",
            "\n   \n"
        ]))
    );
}

/// cases/pure/assign/..._test_reference_assign_BASE_REFERENCE-bdd6d085 (stringOps).
#[test]
fn corpus_string_ops_of_variables() {
    let vars = json!({"csvString": "a,b,c,d,e", "name": "John", "place": "LocalStack"});
    assert_eq!(
        run_in(
            "States.StringSplit($csvString, ',')",
            json!({}),
            json!({}),
            vars.clone()
        ),
        Ok(json!(["a", "b", "c", "d", "e"]))
    );
    assert_eq!(
        run_in(
            "States.Format('Hello {}, welcome to {}!', $name, $place)",
            json!({}),
            json!({}),
            vars
        ),
        Ok(json!("Hello John, welcome to LocalStack!"))
    );
}

#[test]
fn string_split_uses_each_delimiter_character() {
    let split = |s: &str, d: &str| ok("States.StringSplit($.s, $.d)", json!({ "s": s, "d": d }));
    assert_eq!(split("1+2,3.4", ".+,"), json!(["1", "2", "3", "4"]));
    assert_eq!(
        split("This,is+a,test+string", ",+"),
        json!(["This", "is", "a", "test", "string"])
    );
    assert_eq!(split("1a2b3ab4", "ab"), json!(["1", "2", "3", "4"]));
    assert_eq!(split("a,,b", ","), json!(["a", "b"]));
    assert_eq!(split(",a,b,", ","), json!(["a", "b"]));
    assert_eq!(split(",", ","), json!([]));
    assert_eq!(split("", ","), json!([]));
    assert_eq!(split("abc", ""), json!(["abc"]));
    assert_eq!(split("a|b.c", "|."), json!(["a", "b", "c"]));
    assert_eq!(
        ok(
            "States.StringSplit(States.Format('{}-{}', 'x', 'y'), '-')",
            json!({})
        ),
        json!(["x", "y"])
    );
    for input in [
        json!({"s": 123, "d": ","}),
        json!({"s": "a,b", "d": 1}),
        json!({"s": null, "d": ","}),
        json!({"s": "a,b", "d": null}),
        json!({"s": false, "d": ","}),
        json!({"s": "a,b", "d": [","]}),
    ] {
        invalid("States.StringSplit($.s, $.d)", input);
    }
    invalid("States.StringSplit('a')", json!({}));
    invalid("States.StringSplit('a', ',', 'x')", json!({}));
}

#[test]
fn uuid_comes_from_the_rng() {
    let v = ok("States.UUID()", json!({}));
    let id = v.as_str().unwrap_or_default();
    assert_eq!(id, Rng::new(7).uuid());
    assert_eq!(id.len(), 36);
    assert_eq!(&id[14..15], "4");
    invalid("States.UUID('x')", json!({}));
}

// ---------------------------------------------------------------------------------------------
// Java renderings

#[test]
fn double_to_string_matches_java() {
    for (v, expected) in [
        (1.0, "1.0"),
        (1.1, "1.1"),
        (-3.5, "-3.5"),
        (0.0, "0.0"),
        (-0.0, "-0.0"),
        (100.0, "100.0"),
        (0.001, "0.001"),
        (0.0001, "1.0E-4"),
        (1234567.0, "1234567.0"),
        (1e7, "1.0E7"),
        (12345678.9, "1.23456789E7"),
        (1e21, "1.0E21"),
        (1.5e300, "1.5E300"),
        (0.1 + 0.2, "0.30000000000000004"),
        (f64::MAX, "1.7976931348623157E308"),
        (5e-324, "4.9E-324"),
        (2e-3, "0.002"),
        (9e22, "9.0E22"),
    ] {
        assert_eq!(java::double_to_string(v), expected, "{v:e}");
    }
}

#[test]
fn java_hash_codes() {
    assert_eq!(java::string_hash("a"), 97);
    assert_eq!(java::string_hash("hello"), 99162322);
    assert_eq!(java::hash_code(&json!(true)), 1231);
    assert_eq!(java::hash_code(&json!([1, 2])), 994);
    assert_eq!(java::hash_code(&json!(1.0)), 1072693248);
    assert_eq!(java::hash_code(&json!(5_000_000_000i64)), 705032705);
    assert_eq!(java::hash_code(&json!({"a": 1})), 96);
}

#[test]
fn hash_order_grows_the_table_like_java() {
    // Thirteen keys overflow 16 buckets (threshold 12): the table doubles to 32.
    let hashes: Vec<i32> = (0..13).map(|i| i * 16 + (i % 2)).collect();
    let order = java::hash_order(&hashes, Capacity::Default);
    let buckets: Vec<i32> = order.iter().map(|&i| hashes[i] & 31).collect();
    assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
    // Nine keys in one bucket of a small table double it.
    let same: Vec<i32> = (0..9).map(|i| i * 16).collect();
    let order = java::hash_order(&same, Capacity::Default);
    assert_eq!(order, [0, 2, 4, 6, 8, 1, 3, 5, 7]);
}
