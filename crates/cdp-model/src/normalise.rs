//! One normaliser per reference source (contract §1) plus mapped sources:
//! raw message bytes in, a [`CanonicalEvent`] or a [`Rejection`] out.
//!
//! Normalising never panics and never fails on anything but the message
//! itself: every fault is a `Rejection` naming the field, bound for the
//! dead-letter table.

mod ad;
mod amount;
mod fields;
mod json;
mod mapped;
mod offline;
mod online;
mod rejection;
mod time;
#[cfg(test)]
mod testkit;
mod transaction;

use std::sync::Arc;

pub use rejection::Rejection;

use crate::event::{CanonicalEvent, Provenance};
use crate::identifier::JunkList;
use crate::source::{SourceFormat, SourceKind};

/// The statuses a transaction event may have (for mapping validation).
pub(crate) fn transaction_statuses() -> &'static [&'static str] {
    &transaction::STATUSES
}

/// Turns raw messages of any source into canonical events. Cheap to clone
/// (the junk list is shared), so each consumer task can hold its own.
#[derive(Debug, Clone, Default)]
pub struct Normaliser {
    junk: Arc<JunkList>,
}

impl Normaliser {
    pub fn new(junk: JunkList) -> Self {
        Self { junk: Arc::new(junk) }
    }

    pub fn junk(&self) -> &JunkList {
        &self.junk
    }

    /// Normalises one message of `format` received at `provenance`.
    pub fn normalise(
        &self,
        format: &SourceFormat,
        raw: &[u8],
        provenance: &Provenance,
    ) -> Result<CanonicalEvent, Rejection> {
        match format {
            SourceFormat::Reference(SourceKind::Online) => online::normalise(raw, &self.junk, provenance),
            SourceFormat::Reference(SourceKind::Offline) => offline::normalise(raw, &self.junk, provenance),
            SourceFormat::Reference(SourceKind::Ad) => ad::normalise(raw, &self.junk, provenance),
            SourceFormat::Reference(SourceKind::Transaction) => transaction::normalise(raw, &self.junk, provenance),
            SourceFormat::Mapped(map) => mapped::normalise(map, raw, &self.junk, provenance),
        }
    }
}
