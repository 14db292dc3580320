//! The pipeline config (`pipelines/*.toml`): one file for every stage, each
//! stage reading its own section. Everything has a default, so the reference
//! sources need no file at all.
//!
//! Loading is layered — the TOML file, then `CDP__SECTION__KEY=value`
//! environment variables, then the typed structs with their defaults and
//! `deny_unknown_fields` — and validated in a pure step before any stage
//! connects to anything. Errors name the field.
//!
//! A stage that needs settings adds its section here as a plain data type
//! (its own module), so that one file can hold every stage's settings and an
//! unknown key anywhere is refused by name.

pub mod build;
pub mod clickhouse;
pub mod error;
pub mod identity;
pub mod kafka;
pub mod layered;
pub mod serve;
pub mod tags;

use std::path::Path;

use cdp_model::{JunkList, MappedSource, Normaliser, SourceFormat, SourceKind};
use serde::Deserialize;

pub use build::BuildConfig;
pub use clickhouse::ClickHouseSection;
pub use error::{ConfigError, Result};
pub use identity::IdentityConfig;
pub use kafka::{KafkaConfig, RollConfig};
pub use serve::ServeConfig;
pub use tags::{TagGroup, TagGroupKind, TagRule};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    #[serde(default)]
    pub junk: JunkConfig,
    /// Brand-specific payloads described by field paths.
    #[serde(default)]
    pub mapped_source: Vec<MappedSource>,
    #[serde(default)]
    pub writer: WriterConfig,
    #[serde(default)]
    pub kafka: KafkaConfig,
    /// `cdp load`: batches, retries, timeouts.
    #[serde(default)]
    pub clickhouse: ClickHouseSection,
    /// The identity graph's rules (`cdp resolve`).
    #[serde(default)]
    pub identity: IdentityConfig,
    /// `cdp build`: tag thresholds, LTV discount rate, output sizes.
    #[serde(default)]
    pub build: BuildConfig,
    /// Tag groups added to (or replacing) the built-in ones.
    #[serde(default)]
    pub tag_group: Vec<TagGroup>,
    /// The profile API and the change feed (`cdp serve`, `cdp publish-changes`).
    #[serde(default)]
    pub serve: ServeConfig,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JunkConfig {
    /// Further junk values: `VALUE` for every identifier type, or `TYPE:VALUE`.
    #[serde(default)]
    pub extra: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WriterConfig {
    /// Roll an events file at this many rows.
    pub max_rows_per_file: usize,
    /// Spill buffered events to a local temp file once this many MiB are
    /// buffered (each partition still becomes one file).
    pub max_buffered_mib: usize,
}

impl Default for WriterConfig {
    fn default() -> Self {
        Self {
            max_rows_per_file: 1_000_000,
            max_buffered_mib: 512,
        }
    }
}

impl PipelineConfig {
    /// Reads `path` (when given), applies `CDP__…` environment overrides and
    /// validates the result. No connection is made.
    pub fn load(path: Option<&Path>) -> Result<Self> {
        Self::load_with_env(path, std::env::vars())
    }

    pub fn load_with_env(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self> {
        let mut table = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| ConfigError::File {
                    path: p.to_path_buf(),
                    source,
                })?;
                text.parse::<toml::Table>()
                    .map_err(|e| ConfigError::Field {
                        field: p.display().to_string(),
                        reason: e.to_string(),
                    })?
            }
            None => toml::Table::new(),
        };
        layered::apply_env(&mut table, env)?;
        let origin = path.map_or_else(|| "environment".to_string(), |p| p.display().to_string());
        let config: Self = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Field {
                field: origin,
                reason: e.message().to_string(),
            })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what types alone cannot; errors name the field.
    pub fn validate(&self) -> Result<()> {
        self.junk_list()?;
        self.clickhouse.validate()?;
        self.identity.validate()?;
        if self.writer.max_rows_per_file == 0 {
            return Err(ConfigError::Field {
                field: "writer.max_rows_per_file".into(),
                reason: "must be > 0".into(),
            });
        }
        if self.writer.max_buffered_mib == 0 {
            return Err(ConfigError::Field {
                field: "writer.max_buffered_mib".into(),
                reason: "must be > 0".into(),
            });
        }
        self.kafka
            .validate(|source| self.format(source).is_some())?;
        self.build.validate()?;
        tags::validate_tag_groups(&self.tag_group)?;
        self.serve.validate()?;
        let mut names = std::collections::BTreeSet::new();
        for (i, m) in self.mapped_source.iter().enumerate() {
            m.validate().map_err(|e| ConfigError::Field {
                field: format!("mapped_source[{i}] ({})", m.name),
                reason: e.to_string(),
            })?;
            if !names.insert(m.name.clone()) {
                return Err(ConfigError::Field {
                    field: format!("mapped_source[{i}].name"),
                    reason: format!("{:?} is defined twice", m.name),
                });
            }
        }
        Ok(())
    }

    pub fn normaliser(&self) -> Result<Normaliser> {
        Ok(Normaliser::new(self.junk_list()?))
    }

    /// The `[identity]` section with the `[junk]` extras it applies.
    pub fn identity_config(&self) -> IdentityConfig {
        IdentityConfig {
            junk_extra: self.junk.extra.clone(),
            ..self.identity.clone()
        }
    }

    /// The junk values of the contract plus `[junk] extra`.
    pub fn junk_list(&self) -> Result<JunkList> {
        JunkList::with_extra(&self.junk.extra).map_err(|e| ConfigError::Field {
            field: "junk.extra".into(),
            reason: e.to_string(),
        })
    }

    /// The tag groups `cdp build` computes: the built-ins (replaced by a
    /// configured group of the same name), then the configured ones.
    pub fn tag_groups(&self) -> Vec<TagGroup> {
        tags::effective_tag_groups(&self.tag_group)
    }

    /// The format of a source name: a reference source or a mapped one.
    pub fn format(&self, name: &str) -> Option<SourceFormat> {
        if let Ok(kind) = name.parse::<SourceKind>() {
            return Some(SourceFormat::Reference(kind));
        }
        self.mapped_source
            .iter()
            .find(|m| m.name == name)
            .map(|m| SourceFormat::Mapped(std::sync::Arc::new(m.clone())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        f
    }

    #[test]
    fn no_file_gives_the_defaults() {
        let c = PipelineConfig::load_with_env(None, []).unwrap();
        assert!(c.mapped_source.is_empty());
        assert!(matches!(
            c.format("online"),
            Some(SourceFormat::Reference(SourceKind::Online))
        ));
        assert!(c.format("nope").is_none());
    }

    #[test]
    fn an_unknown_field_is_named() {
        let f = write("[writer]\nmax_rows_per_fil = 3\n");
        let err = PipelineConfig::load_with_env(Some(f.path()), [])
            .unwrap_err()
            .to_string();
        assert!(err.contains("max_rows_per_fil"), "{err}");
    }

    #[test]
    fn a_zero_limit_is_refused_with_its_field() {
        let err = PipelineConfig::load_with_env(
            None,
            [("CDP__WRITER__MAX_ROWS_PER_FILE".into(), "0".into())],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("writer.max_rows_per_file"), "{err}");
    }

    #[test]
    fn the_shipped_kafka_pipeline_loads_with_its_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../pipelines/kafka.toml");
        let c =
            PipelineConfig::load_with_env(Some(&path), [("CDP__KAFKA__GROUP".into(), "eu".into())])
                .unwrap();
        assert_eq!(c.kafka.group, "eu");
        assert_eq!(
            c.kafka.topic_sources(),
            KafkaConfig::default().topic_sources()
        );
        assert_eq!(c.kafka.roll.max_records, RollConfig::default().max_records);
    }

    #[test]
    fn a_clickhouse_setting_comes_from_the_environment_and_is_validated() {
        let c = PipelineConfig::load_with_env(
            None,
            [("CDP__CLICKHOUSE__BATCH_ROWS".into(), "1000".into())],
        )
        .unwrap();
        assert_eq!(c.clickhouse.batch_rows, 1000);
        let err = PipelineConfig::load_with_env(
            None,
            [("CDP__CLICKHOUSE__COMPRESSION".into(), "gzip".into())],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("clickhouse.compression"), "{err}");
    }

    #[test]
    fn the_shipped_identity_defaults_are_the_defaults_in_code() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../pipelines/identity_defaults.toml");
        let c = PipelineConfig::load_with_env(Some(&path), []).unwrap();
        assert_eq!(c.identity, IdentityConfig::default());
    }

    #[test]
    fn identity_limits_are_overridden_from_the_environment_and_junk_extras_handed_over() {
        let c = PipelineConfig::load_with_env(
            None,
            [
                ("CDP__IDENTITY__LIMITS__PHONE".into(), "2".into()),
                ("CDP__JUNK__EXTRA".into(), "[\"phone:13912345678\"]".into()),
            ],
        )
        .unwrap();
        assert_eq!(c.identity.limits["phone"], 2);
        assert_eq!(
            c.identity_config().junk_extra,
            vec!["phone:13912345678".to_string()]
        );
        let err = PipelineConfig::load_with_env(
            None,
            [("CDP__IDENTITY__MAX_IDENTIFIERS".into(), "1".into())],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("identity.max_identifiers"), "{err}");
    }

    #[test]
    fn the_shipped_example_pipeline_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../pipelines/example_pos.toml");
        let c = PipelineConfig::load_with_env(Some(&path), []).unwrap();
        assert!(!c.mapped_source.is_empty());
        let name = c.mapped_source[0].name.clone();
        assert!(matches!(c.format(&name), Some(SourceFormat::Mapped(_))));
    }
}
