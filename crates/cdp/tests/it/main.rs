//! Tests of the `cdp` binary as an operator runs it.

mod load_cli_tests;
