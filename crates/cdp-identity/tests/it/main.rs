//! Integration tests of the identity stage: a generated 100k-person world
//! (accuracy against its truth, determinism, incremental runs), and small
//! hand-written lakes for each rule, resolved_events, explain, unbind,
//! forget and eval.
//!
//! The world test reads the tables back with DuckDB: it needs
//! `CDP_TEST_PYTHON` (a python with duckdb), which `make test` sets.

mod eval_tests;
mod forget_tests;
mod household_tests;
mod incremental_tests;
mod resolved_events_tests;
mod rules_tests;
mod support;
mod world_accuracy_tests;
