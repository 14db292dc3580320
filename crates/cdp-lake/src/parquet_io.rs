//! Parquet encoding and decoding of whole files in memory.

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::SchemaRef;
use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::{ArrowWriter, ProjectionMask};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterPropertiesBuilder};
use parquet::schema::types::ColumnPath;

use crate::error::{LakeError, Result};
use crate::schema::events_schema;

/// Row groups of 128k rows: large enough for ClickHouse and DuckDB to read
/// efficiently, small enough that a reader can skip by event_time statistics.
pub const ROW_GROUP_ROWS: usize = 128 * 1024;

/// zstd level 1: per-day partitions make many small column chunks, where
/// the higher levels' larger contexts cost more than they save (profiled).
fn writer_properties() -> WriterPropertiesBuilder {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(1).expect("zstd level 1 is valid"),
        ))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_created_by("cdp".to_string())
}

/// Columns of the `events` table with (nearly) a distinct value per row: a
/// dictionary only costs there (every value hashed, then the dictionary
/// abandoned or bigger than the data), so they are written plain.
const EVENTS_UNIQUE_COLUMNS: [&str; 6] = [
    "event_id",
    "event_time",
    "identifiers.list.item.id_value",
    "order_id",
    "properties",
    "provenance_offset",
];

/// Columns whose min/max nobody filters on and that are long: no statistics.
const EVENTS_UNFILTERED_COLUMNS: [&str; 2] = ["identifiers.list.item.id_value", "properties"];

/// `props` without a dictionary for `columns` (paths absent from the schema
/// are ignored).
fn without_dictionary(
    mut props: WriterPropertiesBuilder,
    columns: &[&str],
) -> WriterPropertiesBuilder {
    for column in columns {
        props = props.set_column_dictionary_enabled(ColumnPath::from(*column), false);
    }
    props
}

fn events_writer_properties() -> WriterProperties {
    let mut props = without_dictionary(writer_properties(), &EVENTS_UNIQUE_COLUMNS);
    for column in EVENTS_UNFILTERED_COLUMNS {
        props =
            props.set_column_statistics_enabled(ColumnPath::from(column), EnabledStatistics::None);
    }
    props.build()
}

/// Encodes `batches` of the `events` table as one Parquet file.
pub fn encode_events(location: &str, batches: &[RecordBatch]) -> Result<Bytes> {
    encode_with(
        location,
        events_schema(),
        batches,
        events_writer_properties(),
    )
}

/// Encodes `batches` (all of `schema`) as one Parquet file.
pub fn encode(location: &str, schema: SchemaRef, batches: &[RecordBatch]) -> Result<Bytes> {
    encode_with(location, schema, batches, writer_properties().build())
}

/// [`encode`], with `unique_columns` (nearly a distinct value per row)
/// written without a dictionary: there a dictionary only costs (every value
/// hashed, then the dictionary abandoned or bigger than the data).
pub fn encode_with_unique_columns(
    location: &str,
    schema: SchemaRef,
    batches: &[RecordBatch],
    unique_columns: &[&str],
) -> Result<Bytes> {
    let props = without_dictionary(writer_properties(), unique_columns).build();
    encode_with(location, schema, batches, props)
}

fn encode_with(
    location: &str,
    schema: SchemaRef,
    batches: &[RecordBatch],
    props: WriterProperties,
) -> Result<Bytes> {
    let encode_err = |source| LakeError::Encode {
        location: location.to_string(),
        source,
    };
    let mut buf = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut buf, schema, Some(props)).map_err(encode_err)?;
    for batch in batches {
        writer.write(batch).map_err(encode_err)?;
    }
    writer.close().map_err(encode_err)?;
    Ok(Bytes::from(buf))
}

/// Reads every row of a Parquet file, optionally only some columns.
pub fn decode(location: &str, bytes: Bytes, columns: Option<&[&str]>) -> Result<Vec<RecordBatch>> {
    let decode_err = |source| LakeError::Decode {
        location: location.to_string(),
        source,
    };
    let mut builder = ParquetRecordBatchReaderBuilder::try_new(bytes).map_err(decode_err)?;
    if let Some(columns) = columns {
        let mask = ProjectionMask::columns(builder.parquet_schema(), columns.iter().copied());
        builder = builder.with_projection(mask);
    }
    let reader = builder
        .with_batch_size(64 * 1024)
        .build()
        .map_err(decode_err)?;
    reader
        .map(|b| b.map_err(|e| decode_err(parquet::errors::ParquetError::from(e))))
        .collect()
}

/// The values of one string column of a Parquet file.
pub fn read_strings(location: &str, bytes: Bytes, column: &'static str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for batch in decode(location, bytes, Some(&[column]))? {
        let array = batch
            .column_by_name(column)
            .ok_or_else(|| LakeError::BadColumn {
                location: location.to_string(),
                column,
                reason: "missing".into(),
            })?;
        let strings = array
            .as_string_opt::<i32>()
            .ok_or_else(|| LakeError::BadColumn {
                location: location.to_string(),
                column,
                reason: format!("type {} instead of Utf8", array.data_type()),
            })?;
        out.extend(strings.iter().map(|s| s.unwrap_or_default().to_string()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event_batch::EventBatchBuilder;
    use parquet::file::reader::{FileReader, SerializedFileReader};

    /// The per-column settings name real columns of the events schema.
    #[test]
    fn events_column_settings_name_real_columns() {
        let mut rows = EventBatchBuilder::default();
        let mut e = cdp_model::CanonicalEvent::new(
            "e1".into(),
            "online".into(),
            "page_view".into(),
            0,
            cdp_model::Provenance::file_line("f", 1),
        );
        e.identifiers = vec![cdp_model::Identifier::new(cdp_model::IdType::Openid, "o1")];
        e.properties = Some("{}".into());
        rows.append(&e);
        let bytes = encode_events("t", &[rows.finish().unwrap()]).unwrap();
        let reader = SerializedFileReader::new(bytes).unwrap();
        let row_group = reader.metadata().row_group(0);
        let columns: Vec<String> = row_group
            .columns()
            .iter()
            .map(|c| c.column_path().string())
            .collect();
        for name in EVENTS_UNIQUE_COLUMNS
            .iter()
            .chain(&EVENTS_UNFILTERED_COLUMNS)
        {
            assert!(
                columns.contains(&name.to_string()),
                "{name} not in {columns:?}"
            );
        }
        let column = |name: &str| {
            row_group
                .columns()
                .iter()
                .find(|c| c.column_path().string() == name)
                .unwrap()
        };
        assert!(column("properties").statistics().is_none());
        assert!(column("event_time").statistics().is_some());
        assert!(column("event_id").dictionary_page_offset().is_none());
        assert!(column("event_type").dictionary_page_offset().is_some());
    }

    #[test]
    fn unique_columns_are_written_without_a_dictionary() {
        use arrow::array::{Int64Array, StringArray};
        use arrow::datatypes::{DataType, Field, Schema};
        use std::sync::Arc;
        let schema = Arc::new(Schema::new(vec![
            Field::new("one_id", DataType::Utf8, false),
            Field::new("tag", DataType::Utf8, false),
            Field::new("one_key", DataType::Int64, false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec!["OID1", "OID2", "OID3"])),
                Arc::new(StringArray::from(vec!["a", "a", "b"])),
                Arc::new(Int64Array::from(vec![1, 2, 3])),
            ],
        )
        .unwrap();
        let bytes =
            encode_with_unique_columns("t", schema, &[batch], &["one_id", "one_key", "absent"])
                .unwrap();
        let reader = SerializedFileReader::new(bytes).unwrap();
        let columns = reader.metadata().row_group(0).columns();
        assert!(columns[0].dictionary_page_offset().is_none());
        assert!(columns[1].dictionary_page_offset().is_some());
        assert!(columns[2].dictionary_page_offset().is_none());
    }
}
