//! `[[tag_group]]`: tag rules over profile columns. The built-in groups
//! (lifecycle, RFM, value tier) are `pipelines/builtin_tags.toml`, compiled
//! in; a group of the pipeline config with the same name replaces one, new
//! groups come after them.

use std::collections::BTreeSet;

use serde::Deserialize;

use crate::build::TAG_PLACEHOLDERS;
use crate::error::{ConfigError, Result};

/// The built-in groups, as an analyst reads them.
pub const BUILTIN_TAGS_TOML: &str = include_str!("../../../pipelines/builtin_tags.toml");

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TagGroupKind {
    /// Every one_id gets exactly one tag: the first matching rule, or the default.
    Exclusive,
    /// Every matching rule adds its tag.
    Multi,
}

impl TagGroupKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Exclusive => "exclusive",
            Self::Multi => "multi",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagGroup {
    /// Lower-case letters, digits and `_`; unique.
    pub name: String,
    pub kind: TagGroupKind,
    /// The tag of one_ids no rule matches; required for exclusive groups,
    /// refused for multi-valued ones.
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default)]
    pub rule: Vec<TagRule>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagRule {
    pub tag: String,
    /// A SQL boolean expression over profile columns; `{placeholders}` of
    /// the `[build]` thresholds are filled in at build time.
    pub when: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BuiltinFile {
    tag_group: Vec<TagGroup>,
}

/// The built-in groups.
pub fn builtin_tag_groups() -> Vec<TagGroup> {
    toml::from_str::<BuiltinFile>(BUILTIN_TAGS_TOML)
        .expect("pipelines/builtin_tags.toml parses (checked by a test)")
        .tag_group
}

/// The groups a build computes: the built-ins, each replaced by a configured
/// group of the same name, then the other configured groups in file order.
pub fn effective_tag_groups(configured: &[TagGroup]) -> Vec<TagGroup> {
    let mut groups: Vec<TagGroup> = builtin_tag_groups()
        .into_iter()
        .map(|b| {
            configured
                .iter()
                .find(|c| c.name == b.name)
                .cloned()
                .unwrap_or(b)
        })
        .collect();
    for c in configured {
        if !groups.iter().any(|g| g.name == c.name) {
            groups.push(c.clone());
        }
    }
    groups
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

/// The `{name}` placeholders of a rule, in order.
pub fn placeholders(when: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = when;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                out.push(&after[..close]);
                rest = &after[close + 1..];
            }
            None => {
                out.push(after);
                break;
            }
        }
    }
    out
}

/// Checks configured groups (names, kinds, defaults, rules, placeholders);
/// errors name the group and rule. SQL itself is checked by `cdp build`
/// against the profile columns before anything is computed.
pub fn validate_tag_groups(groups: &[TagGroup]) -> Result<()> {
    let mut names = BTreeSet::new();
    for (i, g) in groups.iter().enumerate() {
        let at = |what: &str| format!("tag_group[{i}] ({}).{what}", g.name);
        if !is_identifier(&g.name) {
            return Err(ConfigError::field(
                format!("tag_group[{i}].name"),
                format!(
                    "{:?} must be lower-case letters, digits and _, not starting with a digit",
                    g.name
                ),
            ));
        }
        if !names.insert(g.name.as_str()) {
            return Err(ConfigError::field(
                at("name"),
                "is defined twice in this config",
            ));
        }
        match (&g.kind, &g.default) {
            (TagGroupKind::Exclusive, None) => {
                return Err(ConfigError::field(
                    at("default"),
                    "an exclusive group needs a default tag, so that every one_id gets one",
                ))
            }
            (TagGroupKind::Multi, Some(_)) => {
                return Err(ConfigError::field(
                    at("default"),
                    "a multi-valued group has no default tag",
                ))
            }
            (TagGroupKind::Multi, None) if g.rule.is_empty() => {
                return Err(ConfigError::field(
                    at("rule"),
                    "a multi-valued group needs at least one rule",
                ))
            }
            _ => {}
        }
        if g.default.as_deref().is_some_and(|d| d.trim().is_empty()) {
            return Err(ConfigError::field(at("default"), "is empty"));
        }
        let mut tags = BTreeSet::new();
        for (j, r) in g.rule.iter().enumerate() {
            let field = format!("tag_group[{i}] ({}).rule[{j}] ({})", g.name, r.tag);
            if r.tag.trim().is_empty() {
                return Err(ConfigError::field(format!("{field}.tag"), "is empty"));
            }
            if g.kind == TagGroupKind::Multi && !tags.insert(r.tag.as_str()) {
                return Err(ConfigError::field(
                    format!("{field}.tag"),
                    "appears twice in a multi-valued group; join the conditions with OR",
                ));
            }
            if r.when.trim().is_empty() {
                return Err(ConfigError::field(format!("{field}.when"), "is empty"));
            }
            for p in placeholders(&r.when) {
                if !TAG_PLACEHOLDERS.contains(&p) {
                    return Err(ConfigError::field(
                        format!("{field}.when"),
                        format!(
                            "unknown placeholder {{{p}}}; known: {}",
                            TAG_PLACEHOLDERS.join(", ")
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(toml_text: &str) -> Vec<TagGroup> {
        toml::from_str::<BuiltinFile>(toml_text).unwrap().tag_group
    }

    #[test]
    fn builtin_groups_parse_and_validate() {
        let groups = builtin_tag_groups();
        let names: Vec<_> = groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names, ["lifecycle", "rfm", "value_tier"]);
        assert!(groups.iter().all(|g| g.kind == TagGroupKind::Exclusive));
        assert_eq!(groups[1].rule.len(), 8, "RFM has 8 classes");
        validate_tag_groups(&groups).unwrap();
    }

    #[test]
    fn a_configured_group_replaces_the_builtin_of_its_name() {
        let configured = group(
            r#"
            [[tag_group]]
            name = "big_spender"
            kind = "multi"
            rule = [{ tag = "yes", when = "net_revenue > 1000" }]
            [[tag_group]]
            name = "value_tier"
            kind = "exclusive"
            default = "low"
            "#,
        );
        let groups = effective_tag_groups(&configured);
        let names: Vec<_> = groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names, ["lifecycle", "rfm", "value_tier", "big_spender"]);
        assert_eq!(groups[2].default.as_deref(), Some("low"));
    }

    #[test]
    fn an_exclusive_group_without_default_is_refused_by_name() {
        let err = validate_tag_groups(&group(
            "[[tag_group]]\nname = \"gender\"\nkind = \"exclusive\"\n",
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("tag_group[0] (gender).default"), "{err}");
    }

    #[test]
    fn an_unknown_placeholder_is_named() {
        let err = validate_tag_groups(&group(
            r#"
            [[tag_group]]
            name = "x"
            kind = "multi"
            rule = [{ tag = "t", when = "orders > {min_orders}" }]
            "#,
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("rule[0] (t).when"), "{err}");
        assert!(err.contains("{min_orders}"), "{err}");
    }

    #[test]
    fn placeholders_are_found_in_order() {
        assert_eq!(placeholders("a < {x} AND b > {y_1}"), vec!["x", "y_1"]);
        assert!(placeholders("a < 1").is_empty());
    }

    #[test]
    fn a_bad_group_name_is_refused() {
        let err = validate_tag_groups(&group(
            "[[tag_group]]\nname = \"Life Cycle\"\nkind = \"multi\"\nrule = [{ tag = \"t\", when = \"true\" }]\n",
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("tag_group[0].name"), "{err}");
    }
}
