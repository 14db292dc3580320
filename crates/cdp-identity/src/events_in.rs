//! Reading the `events` table: which files exist, which partition each is
//! in, and each row's identifiers.

use arrow::array::{Array, AsArray, GenericListArray, RecordBatch, StringArray, StructArray};
use arrow::datatypes::TimestampMicrosecondType;
use cdp_lake::partition::hive_value;
use cdp_lake::schema::EVENTS_TABLE;
use cdp_lake::Lake;
use cdp_model::IdType;

use crate::error::{IdentityError, Result};

/// One events partition: `(source, dt)` as in the Hive path.
pub type Partition = (String, String);

/// Every events data file of the lake, sorted.
pub async fn list_event_files(lake: &Lake) -> Result<Vec<String>> {
    Ok(lake
        .list(EVENTS_TABLE)
        .await?
        .into_iter()
        .filter(|p| p.ends_with(".parquet"))
        .collect())
}

/// The partition of an events (or resolved_events) file path.
pub fn partition_of(path: &str) -> Partition {
    (
        hive_value(path, "source").unwrap_or("unknown").to_string(),
        hive_value(path, "dt").unwrap_or("unknown").to_string(),
    )
}

/// The identifier type named by an `id_type` cell; a `match` is several
/// times faster than a search of `IdType::ALL`, and it runs per identifier.
pub fn parse_type(s: &str) -> Option<IdType> {
    Some(match s {
        "phone" => IdType::Phone,
        "phone_md5" => IdType::PhoneMd5,
        "phone_sha256" => IdType::PhoneSha256,
        "email" => IdType::Email,
        "openid" => IdType::Openid,
        "unionid" => IdType::Unionid,
        "member_id" => IdType::MemberId,
        "anonymous_id" => IdType::AnonymousId,
        "wecom_external_userid" => IdType::WecomExternalUserid,
        "android_id" => IdType::AndroidId,
        "idfa" => IdType::Idfa,
        "idfa_md5" => IdType::IdfaMd5,
        "oaid" => IdType::Oaid,
        "oaid_md5" => IdType::OaidMd5,
        "imei_md5" => IdType::ImeiMd5,
        _ => return None,
    })
}

/// The identifiers and event times of a decoded events batch.
pub struct IdColumns<'a> {
    pub offsets: &'a [i32],
    pub types: &'a StringArray,
    pub values: &'a StringArray,
    pub times: Option<&'a [i64]>,
}

impl<'a> IdColumns<'a> {
    pub fn of(location: &str, batch: &'a RecordBatch) -> Result<Self> {
        let bad = |column: &'static str, reason: &str| IdentityError::BadColumn {
            location: location.to_string(),
            column,
            reason: reason.to_string(),
        };
        let list: &GenericListArray<i32> = batch
            .column_by_name("identifiers")
            .ok_or_else(|| bad("identifiers", "missing"))?
            .as_list_opt::<i32>()
            .ok_or_else(|| bad("identifiers", "not a list"))?;
        let items: &StructArray = list
            .values()
            .as_struct_opt()
            .ok_or_else(|| bad("identifiers", "items are not structs"))?;
        let string = |name: &'static str| -> Result<&'a StringArray> {
            let col = items
                .column_by_name(name)
                .ok_or_else(|| bad("identifiers", "no id_type / id_value"))?;
            col.as_string_opt::<i32>()
                .ok_or_else(|| bad("identifiers", "id_type / id_value not Utf8"))
        };
        let times = match batch.column_by_name("event_time") {
            None => None,
            Some(t) => Some(
                t.as_primitive_opt::<TimestampMicrosecondType>()
                    .ok_or_else(|| bad("event_time", "not a timestamp"))?
                    .values()
                    .as_ref(),
            ),
        };
        Ok(Self {
            offsets: list.value_offsets(),
            types: string("id_type")?,
            values: string("id_value")?,
            times,
        })
    }

    pub fn rows(&self) -> usize {
        self.offsets.len() - 1
    }

    /// The (type, value) pairs of row `i`; unknown types are skipped.
    pub fn row(&self, i: usize) -> impl Iterator<Item = (IdType, &'a str)> + '_ {
        let (a, b) = (self.offsets[i] as usize, self.offsets[i + 1] as usize);
        (a..b).filter_map(move |j| {
            if self.types.is_null(j) || self.values.is_null(j) {
                return None;
            }
            Some((parse_type(self.types.value(j))?, self.values.value(j)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_name_parses() {
        for t in IdType::ALL {
            assert_eq!(parse_type(t.as_str()), Some(t));
        }
        assert_eq!(parse_type("imei"), None);
    }

    #[test]
    fn partitions_come_from_the_hive_path() {
        assert_eq!(
            partition_of("events/source=ad/dt=2026-03-01/part-1.parquet"),
            ("ad".to_string(), "2026-03-01".to_string())
        );
    }
}
