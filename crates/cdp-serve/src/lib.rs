//! Unified profiles for marketing tools (issue 8): the lookup API
//! (`cdp serve`), audience exports (`cdp export`) and the change feed
//! (`cdp publish-changes`, or [`changes::publish`] at the end of a build).
//!
//! Everything reads one build: the files `builds/current.json` lists
//! (docs/architecture.md, "builds"), never a mix of two.
//!
//! - [`server`]: binds, loads the current build whole into memory
//!   ([`snapshot`]: compact columns, integer keys, interned strings; the
//!   identifier index in [`identity_index`]), polls the pointer and swaps a
//!   new build in atomically; [`api`] answers from the build a request took.
//! - [`export`]: segment members' phones, hashed as ad platforms expect.
//! - [`changes`]: profiles added, changed and removed since the last
//!   published build, and identity merges, to a Kafka topic.
//! - [`fixture_lake`]: a test fixture writing a lake as the identity and
//!   build stages would.

pub mod api;
pub mod auth;
pub mod changes;
pub mod error;
pub mod export;
pub mod fixture_lake;
pub mod identity_index;
pub mod manifest;
pub mod metrics;
pub mod row_json;
pub mod server;
pub mod snapshot;

pub use error::ServeError;
pub use manifest::BuildManifest;
pub use server::{start, RunningServer, ServeOptions};
pub use snapshot::Snapshot;
