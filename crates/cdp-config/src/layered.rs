//! Config layering: a TOML file, then `CDP__SECTION__KEY=value` environment
//! variables on top (`__` separates levels, names are lower-cased), then the
//! typed struct with its defaults and `deny_unknown_fields`.

use toml::{Table, Value};

use crate::error::{ConfigError, Result};

pub const ENV_PREFIX: &str = "CDP__";

/// Applies `CDP__…` overrides from `vars` to `table`.
pub fn apply_env(
    table: &mut Table,
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<()> {
    let mut vars: Vec<_> = vars
        .into_iter()
        .filter(|(k, _)| k.starts_with(ENV_PREFIX))
        .collect();
    vars.sort();
    for (key, raw) in vars {
        let path: Vec<String> = key[ENV_PREFIX.len()..]
            .split("__")
            .map(str::to_lowercase)
            .collect();
        if path.iter().any(String::is_empty) {
            return Err(ConfigError::Field {
                field: key,
                reason: "empty level in variable name".into(),
            });
        }
        let mut node = &mut *table;
        for (i, part) in path.iter().enumerate() {
            if i + 1 == path.len() {
                node.insert(part.clone(), parse_scalar(&raw));
            } else {
                let next = node
                    .entry(part.clone())
                    .or_insert_with(|| Value::Table(Table::new()));
                node = next.as_table_mut().ok_or_else(|| ConfigError::Field {
                    field: key.clone(),
                    reason: format!("`{part}` is not a section"),
                })?;
            }
        }
    }
    Ok(())
}

/// `42`, `true`, `["a"]` keep their TOML type; anything else is a string.
fn parse_scalar(raw: &str) -> Value {
    format!("v = {raw}")
        .parse::<Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| Value::String(raw.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_nest_and_keep_types() {
        let mut t: Table = "[kafka]\nbrokers = \"a:1\"\n".parse().unwrap();
        apply_env(
            &mut t,
            [
                ("CDP__KAFKA__BROKERS".to_string(), "b:2".to_string()),
                (
                    "CDP__WRITER__MAX_ROWS_PER_FILE".to_string(),
                    "10".to_string(),
                ),
                ("OTHER".to_string(), "x".to_string()),
            ],
        )
        .unwrap();
        assert_eq!(t["kafka"]["brokers"].as_str(), Some("b:2"));
        assert_eq!(t["writer"]["max_rows_per_file"].as_integer(), Some(10));
        assert!(!t.contains_key("other"));
    }

    #[test]
    fn an_override_into_a_value_names_the_variable() {
        let mut t: Table = "junk = 1\n".parse().unwrap();
        let err =
            apply_env(&mut t, [("CDP__JUNK__EXTRA".to_string(), "x".to_string())]).unwrap_err();
        assert!(err.to_string().contains("CDP__JUNK__EXTRA"), "{err}");
    }
}
