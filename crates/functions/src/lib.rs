//! The function runtime: local commands and HTTP endpoints that stand in for AWS Lambda
//! functions, the HTTP Task (`http:invoke`), the registry that names them and the logs of every
//! attempt.
//!
//! `weir run` loads a registry file and runs tasks synchronously ([`Registry::run`]);
//! `weir run --durable` and `weir server` run them through [`FunctionHandler`], the engine's
//! task handler, with a registry kept in the store that the API changes while the engine runs
//! ([`Registry::create`], [`Registry::update`], [`Registry::delete`]).
//!
//! # The registry file
//!
//! `--functions FILE` names each function and how to run it:
//!
//! ```json
//! {
//!   "functions": {
//!     "validate-order": {
//!       "command": ["python3", "functions/validate.py"],
//!       "timeout-seconds": 30,
//!       "env": {"LOG_LEVEL": "debug"},
//!       "cwd": ".",
//!       "memory-mb": 512,
//!       "concurrency": 4,
//!       "description": "Checks an order against the catalogue."
//!     },
//!     "price": {"url": "http://127.0.0.1:9000/price", "headers": {"X-Token": "t"}}
//!   }
//! }
//! ```
//!
//! Keys are kebab-case, like every weir options file, and unknown keys are refused with the name of
//! the function they appear in; every problem of the file is listed at once. A function name
//! follows Lambda's rule: 1 to 64 letters, digits, hyphens and underscores. A function has exactly
//! one of `command` (a local program) and `url` (an HTTP endpoint).
//!
//! - `command`: the program and its arguments. The program is looked up on `PATH` unless it
//!   contains a `/`, in which case it is relative to the registry file's directory. Arguments are
//!   passed as they are, never through a shell.
//! - `cwd` (commands; default `.`): the working directory, relative to the registry file's
//!   directory. Relative paths in arguments and in the event are therefore relative to the
//!   registry file by default.
//! - `env` (commands; default none): variables added to weir's own environment.
//! - `url` (HTTP functions): an `http://` URL the event is POSTed to. `https://` is refused: weir
//!   has no TLS yet.
//! - `headers` (HTTP functions; default none): headers sent with every request.
//! - `timeout-seconds` (default none): the function's own timeout, like a Lambda function's
//!   configured timeout. The Task state's `TimeoutSeconds` applies as well; the shorter one wins.
//! - `memory-mb` (commands; default none, at least 32): the process's address-space limit, set
//!   with `prlimit --as=BYTES` (util-linux), which must be on `PATH`. An allocation beyond it
//!   fails inside the function; what the user sees is what the program does then: usually it
//!   exits non-zero, and weir reports `Runtime.OutOfMemory` when the function's stderr says an
//!   allocation failed (Python's `MemoryError`, `Cannot allocate memory`, `out of memory`,
//!   Rust's `memory allocation of N bytes failed`, `std::bad_alloc`), else `Runtime.ExitError`.
//!   It limits address space, not resident memory: runtimes that reserve large virtual ranges up
//!   front (the JVM, Go, Node.js) need a limit well above what they use.
//! - `concurrency` (default none, 1 to 10,000): at most this many attempts of the function run at
//!   once under the engine (`weir server`, `weir run --durable`); further attempts wait their
//!   turn (the wait counts towards their timeouts). `weir run` without `--durable` runs one task
//!   at a time anyway.
//! - `description` (default none, up to 256 characters): free text.
//!
//! `weir server` keeps its functions in the store (see `registry`): on start it loads the stored
//! functions, then registers (creating or replacing, and storing) those of `--functions FILE`.
//!
//! # Which function a Task runs
//!
//! | `Resource` | function | event | task result |
//! | --- | --- | --- | --- |
//! | `arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]` | `NAME` | the task input | the function's result |
//! | `arn:aws:states:::lambda:invoke` | `FunctionName` (a name, `NAME:QUALIFIER`, a partial or full ARN) | `Payload` (`{}` if absent; a string is the JSON text of the event) | `{"ExecutedVersion", "Payload": result, "SdkHttpMetadata", "SdkResponseMetadata", "StatusCode": 200}` as AWS wraps it |
//! | `arn:aws:states:::lambda:invoke.waitForTaskToken` | as `lambda:invoke` | as `lambda:invoke` | as `lambda:invoke`; the engine then waits for the token (refused by `weir run`, which cannot wait) |
//! | `arn:aws:states:::http:invoke` | none: an HTTP request (see `http_task`) | | `{"Headers", "ResponseBody", "StatusCode", "StatusText"}` |
//!
//! [`supports`] tells which resources these are. Qualifiers (versions, aliases) are accepted and
//! ignored: every call runs the registered function and reports `ExecutedVersion` `$LATEST`.
//! `lambda:invoke` supports the `RequestResponse` invocation type only. Other resources fail with
//! `States.TaskFailed` and a cause saying weir does not support them yet.
//!
//! # The protocol
//!
//! A command function is started once per task attempt. It reads the event as JSON on stdin and
//! writes its result as JSON on stdout (empty stdout is `null`, like a Lambda handler returning
//! nothing). The environment carries `WEIR_FUNCTION_NAME`, `WEIR_IDEMPOTENCY_KEY` (unique per
//! execution, state, Map index and attempt: the same key means the same piece of work) and
//! `WEIR_ATTEMPT` (0 for the first attempt, 1 for the first retry, ...). An invocation ends when
//! the process has exited and closed its stdout. The payload never goes into argv or a shell
//! string.
//!
//! An HTTP function gets the event as the body of a `POST` (`Content-Type: application/json`
//! unless its `headers` say otherwise) with the headers `X-Weir-Function-Name`,
//! `X-Weir-Idempotency-Key` and `X-Weir-Attempt`; a 2xx answer's body is the result (empty is
//! `null`).
//!
//! Each line a command function writes to stderr is copied as it comes: to weir's stderr
//! prefixed with `[NAME] ` under `weir run`, as a DEBUG `tracing` event with the function's name
//! under `weir server` (shown with `--log-level functions=debug,info`); see [`Echo`].
//!
//! # Errors
//!
//! Errors carry the names AWS Step Functions reports for Lambda, so `Retry` and `Catch` written for
//! AWS work unchanged. A weir-made cause is the JSON error object Lambda itself would return, or
//! the AWS SDK's wording for errors of the Lambda service.
//!
//! | What happens | Error | Cause |
//! | --- | --- | --- |
//! | non-zero exit (or an HTTP status outside 2xx), output a JSON object with a string `errorType` | that `errorType` | the output as written (function ARN) or compacted (`lambda:invoke`) |
//! | non-zero exit otherwise (or killed by a signal) | `Runtime.ExitError` | `{"errorType":"Runtime.ExitError","errorMessage":"RequestId: ID Error: Runtime exited with error: exit status N"}` |
//! | non-zero exit under `memory-mb` with an allocation failure on stderr | `Runtime.OutOfMemory` | as `Runtime.ExitError`, naming the limit |
//! | success, output not JSON | `Runtime.MarshalError` | `{"errorType":"Runtime.MarshalError","errorMessage":"Unable to marshal response: ..."}` |
//! | output larger than 6 MiB (Lambda's response limit) | `Function.ResponseSizeTooLarge` | the limit |
//! | the program cannot be started | `Runtime.InvalidEntrypoint` | the program, directory and OS error |
//! | the function's `timeout-seconds` passed (process killed, request abandoned) | `Sandbox.Timedout` | `{"errorType":"Sandbox.Timedout","errorMessage":"RequestId: ID Error: Task timed out after N.00 seconds"}` |
//! | the Task's `TimeoutSeconds` passed | `States.Timeout` | empty |
//! | HTTP function: status 429 | `Lambda.TooManyRequestsException` | `Rate Exceeded. (Service: AWSLambda; Status Code: 429; ...)`, then the URL and body |
//! | HTTP function: status 502, 503 or 504 | `Lambda.ServiceException` | likewise |
//! | HTTP function: any other status outside 2xx | `Lambda.Unknown` | likewise |
//! | HTTP function: no connection (refused, unreachable, reset) | `Lambda.SdkClientException` | `Unable to execute HTTP request (...)`, then the URL and error |
//! | no such function in the registry | `Lambda.ResourceNotFoundException` | AWS's `Function not found: ARN (...)`, then the registry and what it registers |
//! | `lambda:invoke` with a string `Payload` that is not JSON | `Lambda.InvalidRequestContentException` | `Could not parse request body into json` |
//!
//! A function that succeeds (exit 0, a 2xx status) succeeds whatever its JSON says, even
//! `{"errorType": ...}`: only a failing call reports an error, as only a raising handler does on
//! Lambda. AWS documents unhandled Lambda errors as `Lambda.Unknown`; Lambda today returns an
//! `errorType` for process exits (`Runtime.ExitError`) and timeouts (`Sandbox.Timedout`), and
//! Step Functions reports that type, so weir does too. `Lambda.ServiceException`,
//! `Lambda.TooManyRequestsException` and `Lambda.SdkClientException` are the transient errors AWS
//! recommends retrying, so the usual Retry blocks retry an HTTP function's endpoint that is down
//! or overloaded. All of these match `States.TaskFailed` and `States.ALL` except
//! `States.Timeout`, which matches `States.Timeout` and `States.ALL`.
//!
//! Killing a function kills its process, not processes it started itself.
//!
//! # Logs
//!
//! With a store, every attempt [`FunctionHandler`] runs leaves a [`TaskLog`]: its stdout (the
//! response body for HTTP calls) and stderr, the last 256 KiB of each with a `truncated` flag,
//! how it ended, its error, and which execution, state, attempt and function it was. [`logs`]
//! reads one execution's logs; the `logs` module has the stored format.

mod error;
mod http;
pub mod http_task;
mod invoke;
pub mod logs;
pub mod registry;
mod spec;

pub use error::Error;
pub use invoke::Echo;
pub use logs::{Stream, TaskLog, logs};
pub use registry::{FunctionHandler, FunctionRecord, Registry};
pub use spec::{
    Function, FunctionConfig, Kind, MAX_CONCURRENCY, MAX_DESCRIPTION, MIN_MEMORY_MB, Naming,
    is_function_name,
};

/// Whether [`FunctionHandler`] runs tasks with this `Resource`: a Lambda function ARN,
/// `arn:aws:states:::lambda:invoke`, `arn:aws:states:::lambda:invoke.waitForTaskToken` or
/// `arn:aws:states:::http:invoke` (in any partition).
pub fn supports(resource: &str) -> bool {
    invoke::classify(resource).is_some()
}
