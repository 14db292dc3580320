//! `cdp identity unbind TYPE:VALUE`: an operator found a wrong merge (a
//! shared device, a mistyped phone) and detaches one identifier from its
//! one_id. The identifier gets a one_id of its own; what it alone held
//! together falls apart into pieces (the piece with the oldest identifier
//! keeps the one_id, the others get new ones); every new one_id is recorded
//! as a split in `identity_merges`. The rule is kept in
//! `identity/rules.json`, so later runs never join it again.

use cdp_config::IdentityConfig;
use cdp_lake::Lake;
use cdp_model::Identifier;

use crate::error::{IdentityError, Result};
use crate::one_id::one_id;
use crate::rules::Rules;
use crate::run::{Action, Run};
use crate::state::UnbindRule;
use crate::summary::ResolveSummary;

#[derive(Debug, Clone)]
pub struct UnbindOutcome {
    pub identifier: String,
    /// The one_id it belonged to.
    pub from_one_id: Option<String>,
    /// Its own one_id now.
    pub to_one_id: Option<String>,
    /// False when a rule already kept it apart (nothing was done).
    pub changed: bool,
    pub summary: Option<ResolveSummary>,
}

pub async fn unbind(
    lake: &Lake,
    config: &IdentityConfig,
    id: &Identifier,
) -> Result<UnbindOutcome> {
    let rules = Rules::from_config(config)?;
    let mut run = Run::start(lake, rules).await?;
    let n = run
        .graph
        .nodes
        .find(id.id_type, &id.value)
        .ok_or_else(|| IdentityError::UnknownIdentifier(id.to_string()))?;
    let key = run.graph.keys.get(n as usize).copied().unwrap_or(0);
    let from_one_id = (key != 0).then(|| one_id(key));
    let exists = run
        .book
        .unbind
        .iter()
        .any(|r| r.id_type == id.id_type.as_str() && r.id_value == id.value);
    if exists {
        return Ok(UnbindOutcome {
            identifier: id.to_string(),
            from_one_id: from_one_id.clone(),
            to_one_id: from_one_id,
            changed: false,
            summary: None,
        });
    }
    run.book.unbind.push(UnbindRule {
        id_type: id.id_type.as_str().into(),
        id_value: id.value.clone(),
        at: run.started_at.to_rfc3339(),
        from_one_id: from_one_id.clone(),
    });
    let summary = run.finish(Action::Unbind, Default::default()).await?;
    let to_one_id = crate::identity_map::lookup(lake, id).await?;
    Ok(UnbindOutcome {
        identifier: id.to_string(),
        from_one_id,
        to_one_id,
        changed: true,
        summary: Some(summary),
    })
}
