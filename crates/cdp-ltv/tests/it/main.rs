//! Integration tests of cdp-ltv, one binary (see DEVELOPERS.md).

mod cdnow;
mod cdnow_tests;
mod summary_tests;
