use std::fmt;
use std::str::FromStr;

/// The four reference sources of the contract (§1). A brand-specific payload
/// described by a mapping in `pipelines/*.toml` is normalised into one of
/// these kinds too, under its own source name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Online,
    Offline,
    Ad,
    Transaction,
}

impl SourceKind {
    pub const ALL: [SourceKind; 4] = [Self::Online, Self::Offline, Self::Ad, Self::Transaction];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Online => "online",
            Self::Offline => "offline",
            Self::Ad => "ad",
            Self::Transaction => "transaction",
        }
    }

    /// The reference Kafka topic of this source (contract §1).
    pub fn default_topic(self) -> &'static str {
        match self {
            Self::Online => "cdp.online",
            Self::Offline => "cdp.offline",
            Self::Ad => "cdp.ad",
            Self::Transaction => "cdp.transaction",
        }
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown source kind {0:?}: expected one of online, offline, ad, transaction")]
pub struct UnknownSourceKind(pub String);

impl FromStr for SourceKind {
    type Err = UnknownSourceKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "online" => Ok(Self::Online),
            "offline" => Ok(Self::Offline),
            "ad" => Ok(Self::Ad),
            "transaction" => Ok(Self::Transaction),
            other => Err(UnknownSourceKind(other.to_string())),
        }
    }
}

/// How to read one source's payload: a reference format, or a mapping.
#[derive(Debug, Clone)]
pub enum SourceFormat {
    Reference(SourceKind),
    Mapped(std::sync::Arc<crate::mapping::MappedSource>),
}

impl SourceFormat {
    /// The `source` of the lake: the reference name or the mapping's name.
    pub fn source_name(&self) -> &str {
        match self {
            Self::Reference(k) => k.as_str(),
            Self::Mapped(m) => &m.name,
        }
    }

    pub fn kind(&self) -> SourceKind {
        match self {
            Self::Reference(k) => *k,
            Self::Mapped(m) => m.kind,
        }
    }
}
