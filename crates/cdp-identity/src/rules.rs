//! The rules of the graph, compiled from `[identity]` and `[junk]` into
//! arrays indexed by identifier type: the union loop asks them millions of
//! times.

use cdp_config::IdentityConfig;
use cdp_model::{IdType, JunkList};

use crate::error::Result;

pub(crate) const TYPES: usize = IdType::ALL.len();

/// Index of a type in `IdType::ALL` (its declaration order).
pub(crate) fn type_index(t: IdType) -> usize {
    t as usize
}

pub(crate) fn type_of(index: u8) -> IdType {
    IdType::ALL[usize::from(index)]
}

/// Why an edge was refused (`identity_conflicts.reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Refusal {
    /// The merged one_id would hold more identifiers of one type than allowed.
    Limit(IdType),
    /// The merged one_id would hold more identifiers than the hard cap.
    Cap,
    /// A weak identifier would join two persons who each have a device.
    SharedDevice,
    /// One side is a value seen with implausibly many strong identifiers.
    HotValue,
    /// One side was detached by `cdp identity unbind`.
    Unbound,
}

impl Refusal {
    /// The reason as stored: `limit:phone`, `cap`, `shared_device`,
    /// `hot_value`, `unbound`.
    pub fn as_string(&self) -> String {
        match self {
            Refusal::Limit(t) => format!("limit:{t}"),
            Refusal::Cap => "cap".into(),
            Refusal::SharedDevice => "shared_device".into(),
            Refusal::HotValue => "hot_value".into(),
            Refusal::Unbound => "unbound".into(),
        }
    }

    pub(crate) fn code(&self) -> u8 {
        match self {
            Refusal::Limit(t) => *t as u8,
            Refusal::Cap => 100,
            Refusal::SharedDevice => 101,
            Refusal::HotValue => 102,
            Refusal::Unbound => 103,
        }
    }
}

/// The compiled rules.
#[derive(Debug, Clone)]
pub struct Rules {
    /// Priority rank per type: 0 is the strongest of all; strong types rank
    /// before every weak one.
    rank: [u8; TYPES],
    strong: [bool; TYPES],
    /// Most identifiers of each type per one_id (`u32::MAX`: none).
    limits: [u32; TYPES],
    pub cap: u32,
    pub hot_threshold: u32,
    pub shared_device: bool,
    pub map_rows_per_file: usize,
    pub junk: JunkList,
    /// The `[junk]` extras `junk` was built with (a change re-checks the graph).
    pub junk_extra: Vec<String>,
}

impl Rules {
    pub fn from_config(config: &IdentityConfig) -> Result<Self> {
        config.validate()?;
        let (strong_types, weak_types) = config.priority()?;
        let mut rank = [0u8; TYPES];
        let mut strong = [false; TYPES];
        for (r, t) in strong_types.iter().chain(&weak_types).enumerate() {
            rank[type_index(*t)] = r as u8;
        }
        for t in &strong_types {
            strong[type_index(*t)] = true;
        }
        let mut limits = [u32::MAX; TYPES];
        for (t, n) in config.parsed_limits()? {
            limits[type_index(t)] = n;
        }
        let junk = JunkList::with_extra(&config.junk_extra)
            .map_err(|e| cdp_config::ConfigError::field("junk.extra", e.to_string()))?;
        Ok(Self {
            rank,
            strong,
            limits,
            cap: config.max_identifiers,
            hot_threshold: config.hot_value_threshold,
            shared_device: config.shared_device,
            map_rows_per_file: config.map_rows_per_file,
            junk,
            junk_extra: config.junk_extra.clone(),
        })
    }

    pub fn is_strong(&self, t: IdType) -> bool {
        self.strong[type_index(t)]
    }

    pub(crate) fn is_strong_ix(&self, ix: u8) -> bool {
        self.strong[usize::from(ix)]
    }

    pub(crate) fn rank_ix(&self, ix: u8) -> u8 {
        self.rank[usize::from(ix)]
    }

    pub fn limit(&self, t: IdType) -> Option<u32> {
        let l = self.limits[type_index(t)];
        (l != u32::MAX).then_some(l)
    }

    pub(crate) fn limits(&self) -> &[u32; TYPES] {
        &self.limits
    }
}

impl Default for Rules {
    fn default() -> Self {
        Self::from_config(&IdentityConfig::default()).expect("the default identity config is valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strong_types_outrank_weak_ones() {
        let r = Rules::default();
        assert!(r.is_strong(IdType::MemberId) && !r.is_strong(IdType::AnonymousId));
        let strongest_weak = IdType::ALL
            .iter()
            .filter(|t| !r.is_strong(**t))
            .map(|t| r.rank_ix(*t as u8))
            .min()
            .unwrap();
        for t in IdType::ALL.iter().filter(|t| r.is_strong(**t)) {
            assert!(r.rank_ix(*t as u8) < strongest_weak, "{t}");
        }
        assert_eq!(r.rank_ix(IdType::MemberId as u8), 0);
        assert_eq!(r.limit(IdType::MemberId), Some(1));
        assert_eq!(r.cap, 50);
    }

    #[test]
    fn refusal_reasons_read_as_stored() {
        assert_eq!(Refusal::Limit(IdType::Phone).as_string(), "limit:phone");
        assert_eq!(Refusal::SharedDevice.as_string(), "shared_device");
        assert_ne!(Refusal::Cap.code(), Refusal::Limit(IdType::ImeiMd5).code());
    }
}
