//! The identity graph (`cdp resolve`): one stable `one_id` per person across
//! every source, from the identifiers that occur together in events, without
//! gluing strangers together through a store's phone typed for every
//! walk-in, a placeholder mobile or a family tablet.
//!
//! - identifiers are interned once into integer node ids ([`nodes`]); the
//!   distinct sets of identifiers seen together in one event are the edges
//!   ([`sets`]); a union-find with per-type counts joins them ([`components`])
//!   under the rules of `[identity]` ([`rules`], [`engine`], [`hot`]);
//! - one_keys are stable: allocated in order of first appearance, never
//!   reused; a merge keeps the older (smaller) key and is recorded; the graph
//!   state lives in the lake, so a run reads only new events files ([`run`],
//!   [`state`]);
//! - outputs: `identity_map`, `resolved_events`, `identity_merges`,
//!   `identity_conflicts`, a summary ([`publish`]);
//! - operators: [`explain`], [`unbind()`], [`forget()`]; quality: [`eval()`].
//!
//! Memory: about 113 bytes per identifier while a run holds the graph
//! (nodes ~60, union-find ~17, sets ~40 per identifier at 0.4 sets per
//! identifier); measured by `benches/resolve_vs_peers.sh`.

pub mod components;
pub mod engine;
pub mod error;
pub mod eval;
pub mod events_in;
pub mod explain;
pub mod forget;
pub mod hot;
mod id_table;
pub mod identity_map;
pub mod lineage;
pub mod nodes;
pub mod one_id;
pub mod publish;
pub mod resolved;
pub mod rules;
pub mod run;
pub mod sets;
pub mod state;
pub mod summary;
pub mod tables;
pub mod unbind;

use cdp_config::IdentityConfig;
use cdp_lake::Lake;

pub use error::IdentityError;
pub use eval::{eval, EvalReport};
pub use explain::{explain, Explanation};
pub use forget::{forget, ErasureRecord};
pub use identity_map::{lookup, IdentityMap};
pub use one_id::{one_id, parse_one_id, OneKey};
pub use rules::Rules;
pub use summary::ResolveSummary;
pub use unbind::{unbind, UnbindOutcome};

/// Resolves the events files of the lake not resolved yet (all of them the
/// first time) into the identity graph and publishes identity_map,
/// resolved_events, merges, conflicts and the summary.
pub async fn resolve(
    lake: &Lake,
    config: &IdentityConfig,
) -> Result<ResolveSummary, IdentityError> {
    use tracing::Instrument;
    let rules = Rules::from_config(config)?;
    async {
        let mut run = run::Run::start(lake, rules).await?;
        run.read_new_events().await?;
        run.finish(run::Action::Resolve, Default::default()).await
    }
    .instrument(tracing::info_span!("resolve"))
    .await
}

/// Parses `TYPE:VALUE` (the value in any form the normalisers accept) into
/// a canonical identifier.
pub fn parse_identifier(
    text: &str,
    junk: &cdp_model::JunkList,
) -> Result<cdp_model::Identifier, IdentityError> {
    let (t, v) = text
        .split_once(':')
        .ok_or_else(|| IdentityError::BadIdentifier(text.to_string()))?;
    let t: cdp_model::IdType = t
        .trim()
        .parse()
        .map_err(|_| IdentityError::BadIdentifier(text.to_string()))?;
    cdp_model::canonicalise(t, v, junk)
        .ok_or_else(|| IdentityError::BadIdentifier(text.to_string()))
}
