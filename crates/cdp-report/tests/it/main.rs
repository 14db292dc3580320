//! Integration tests of `cdp report` (one binary: see docs/architecture.md).
//! Every test reads the report of one generated world, made once: cdp-generate
//! → ingest → resolve (two runs, so that the second records merges) → build →
//! report.

mod chromium_render_tests;
mod lake_figures_tests;
mod support;
mod world;
