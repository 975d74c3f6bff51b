//! Amazon States Language (ASL) as AWS Step Functions runs it.
//!
//! This crate parses and validates state machine definitions, evaluates JSONPath paths, payload
//! templates, intrinsic functions and Choice rules, and decides state transitions with the pure
//! [`step`](execution::step) function. It never does I/O, never reads a clock and never draws randomness of its
//! own: time and entropy arrive as arguments, so every decision can be replayed.

pub mod choice;
pub mod definition;
pub mod driver;
pub mod error;
pub mod execution;
pub mod history;
pub mod intrinsics;
pub mod json_text;
pub mod jsonata;
pub mod path;
pub mod rng;
pub mod template;
pub mod test_state;
pub mod validate;

pub use error::Failure;
pub use path::{Env, Path};
pub use rng::Rng;
