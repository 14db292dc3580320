//! Parquet encoding and decoding of whole files in memory.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{DataType, FieldRef, Schema, SchemaRef};
use bytes::Bytes;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::arrow_writer::{compute_leaves, ArrowRowGroupWriterFactory};
use parquet::arrow::{
    add_encoded_arrow_schema_to_metadata, ArrowSchemaConverter, ArrowWriter, ProjectionMask,
};
use parquet::basic::{Compression, ZstdLevel};
use parquet::column::writer::ColumnCloseResult;
use parquet::file::metadata::{PageIndexPolicy, ParquetMetaDataReader};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterPropertiesBuilder};
use parquet::file::writer::SerializedFileWriter;
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
/// `identifiers.list.item.id_value` is not one of them: a file holds each
/// identifier about 2.4 times (1M-person world), and `cdp resolve` reads the
/// file's dictionary instead of a string per occurrence.
const EVENTS_UNIQUE_COLUMNS: [&str; 5] = [
    "event_id",
    "event_time",
    "order_id",
    "properties",
    "provenance_offset",
];

/// The identifier values of the `events` table, as a dotted column path.
const ID_VALUE_COLUMN: &str = "identifiers.list.item.id_value";

/// Columns whose min/max nobody filters on and that are long: no statistics.
const EVENTS_UNFILTERED_COLUMNS: [&str; 2] = [ID_VALUE_COLUMN, "properties"];

/// The identifier values' dictionary may grow to a whole row group's
/// distinct values (128k rows of ~1.6 identifiers of ≤ 64 bytes): past the
/// default 1 MB the writer falls back to plain pages for the rest of the
/// chunk, and a reader asking for the dictionary, as `cdp resolve` does,
/// must then hash every value to build one again (profiled: ~4% of a
/// resolve's CPU at 1M persons, from the largest online partitions).
const ID_VALUE_DICTIONARY_LIMIT: usize = 16 << 20;

/// The path of a column named with dots, `identifiers.list.item.id_value`
/// for a nested one: `ColumnPath::from(&str)` makes a path of one part, which
/// names no nested column, and a setting for it is silently ignored.
fn column_path(dotted: &str) -> ColumnPath {
    ColumnPath::new(dotted.split('.').map(String::from).collect())
}

/// `props` without a dictionary for `columns` (paths absent from the schema
/// are ignored).
fn without_dictionary(
    mut props: WriterPropertiesBuilder,
    columns: &[&str],
) -> WriterPropertiesBuilder {
    for column in columns {
        props = props.set_column_dictionary_enabled(column_path(column), false);
    }
    props
}

fn events_writer_properties() -> WriterProperties {
    let mut props = without_dictionary(writer_properties(), &EVENTS_UNIQUE_COLUMNS);
    for column in EVENTS_UNFILTERED_COLUMNS {
        props = props.set_column_statistics_enabled(column_path(column), EnabledStatistics::None);
    }
    props
        .set_column_dictionary_page_size_limit(
            column_path(ID_VALUE_COLUMN),
            ID_VALUE_DICTIONARY_LIMIT,
        )
        .build()
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

/// One input of [`splice`]: a Parquet file and, for all its rows, the
/// arrays of the columns it lacks.
pub struct SpliceInput {
    pub location: String,
    pub bytes: Bytes,
    pub new_columns: Vec<ArrayRef>,
}

/// Writes one file of `schema` whose first columns (as many as each input's
/// `new_columns`) are encoded from arrays and whose other columns are copied,
/// still encoded and compressed, from the same-named columns of the inputs:
/// one row group out per row group in, in input order. Copying the chunks
/// costs a memcpy where decoding and re-encoding them cost most of a resolve
/// (profiled); statistics and offset indexes come along.
pub fn splice(
    location: &str,
    schema: SchemaRef,
    inputs: Vec<SpliceInput>,
    unique_columns: &[&str],
) -> Result<Bytes> {
    let encode_err = |source| LakeError::Encode {
        location: location.to_string(),
        source,
    };
    let new_count = inputs.first().map_or(0, |i| i.new_columns.len());
    let new_schema = Arc::new(Schema::new(schema.fields()[..new_count].to_vec()));
    let mut writer = file_writer(&schema, unique_columns).map_err(encode_err)?;
    let leaves = writer.schema_descr().columns().to_vec();
    let factory = ArrowRowGroupWriterFactory::new(&writer, new_schema.clone());
    let mut row_group = 0;
    for input in inputs {
        let layout_err = |column: &str, reason: String| LakeError::ColumnLayout {
            location: input.location.clone(),
            column: column.to_string(),
            reason,
        };
        let meta = ParquetMetaDataReader::new()
            .with_offset_index_policy(PageIndexPolicy::Optional)
            .parse_and_finish(&input.bytes)
            .map_err(|source| LakeError::Decode {
                location: input.location.clone(),
                source,
            })?;
        let file_rows = meta.file_metadata().num_rows() as usize;
        if input.new_columns.len() != new_count
            || input.new_columns.iter().any(|a| a.len() != file_rows)
        {
            return Err(encode_err(parquet::errors::ParquetError::General(format!(
                "the new columns for {} are not {new_count} columns of its {file_rows} rows",
                input.location
            ))));
        }
        let mut first_row = 0usize;
        for (rg_index, rg) in meta.row_groups().iter().enumerate() {
            let rows = rg.num_rows() as usize;
            let mut out = writer.next_row_group().map_err(encode_err)?;
            let writers = factory
                .create_column_writers(row_group)
                .map_err(encode_err)?;
            for ((mut w, field), array) in writers
                .into_iter()
                .zip(new_schema.fields())
                .zip(&input.new_columns)
            {
                let slice = array.slice(first_row, rows);
                for leaf in compute_leaves(field, &slice).map_err(encode_err)? {
                    w.write(&leaf).map_err(encode_err)?;
                }
                w.close()
                    .map_err(encode_err)?
                    .append_to_row_group(&mut out)
                    .map_err(encode_err)?;
            }
            for leaf in &leaves[new_count..] {
                let path = leaf.path();
                let (chunk_index, chunk) = rg
                    .columns()
                    .iter()
                    .enumerate()
                    .find(|(_, c)| c.column_path() == path)
                    .ok_or_else(|| layout_err(&path.string(), "missing".into()))?;
                // The new columns have their offset index; parquet cannot
                // write a file where some chunks lack one.
                let offset_index = meta
                    .offset_index()
                    .and_then(|o| o.get(rg_index)?.get(chunk_index))
                    .cloned()
                    .ok_or_else(|| layout_err(&path.string(), "no offset index".into()))?;
                if chunk.column_descr() != leaf.as_ref() {
                    return Err(layout_err(
                        &path.string(),
                        format!("{:?} where {:?} is expected", chunk.column_descr(), leaf),
                    ));
                }
                let close = ColumnCloseResult {
                    bytes_written: chunk.compressed_size() as u64,
                    rows_written: rows as u64,
                    metadata: chunk.clone(),
                    bloom_filter: None,
                    column_index: None,
                    offset_index: Some(offset_index),
                };
                out.append_column(&input.bytes, close)
                    .map_err(|e| layout_err(&path.string(), e.to_string()))?;
            }
            out.close().map_err(encode_err)?;
            first_row += rows;
            row_group += 1;
        }
    }
    Ok(Bytes::from(writer.into_inner().map_err(encode_err)?))
}

/// A writer of a Parquet file of `schema` into memory, with the lake's
/// properties and the Arrow schema in its metadata, for files written
/// column chunk by column chunk; `unique_columns` without a dictionary.
pub(crate) fn file_writer(
    schema: &SchemaRef,
    unique_columns: &[&str],
) -> parquet::errors::Result<SerializedFileWriter<Vec<u8>>> {
    let mut props = without_dictionary(writer_properties(), unique_columns).build();
    add_encoded_arrow_schema_to_metadata(schema, &mut props);
    let descr = ArrowSchemaConverter::new()
        .with_coerce_types(props.coerce_types())
        .convert(schema)?;
    SerializedFileWriter::new(Vec::new(), descr.root_schema_ptr(), Arc::new(props))
}

/// Reads every row of a Parquet file, optionally only some columns.
pub fn decode(location: &str, bytes: Bytes, columns: Option<&[&str]>) -> Result<Vec<RecordBatch>> {
    decode_with_dictionaries(location, bytes, columns, &[])
}

/// As [`decode`], but string fields named in `dictionary_fields` (at any
/// depth: `id_value` inside `identifiers`) come as `Dictionary(Int32, Utf8)`
/// arrays: the file's own dictionary pages, not copied into one string per
/// row, and the keys tell equal values apart without comparing them.
pub fn decode_with_dictionaries(
    location: &str,
    bytes: Bytes,
    columns: Option<&[&str]>,
    dictionary_fields: &[&str],
) -> Result<Vec<RecordBatch>> {
    let decode_err = |source| LakeError::Decode {
        location: location.to_string(),
        source,
    };
    let mut metadata =
        ArrowReaderMetadata::load(&bytes, ArrowReaderOptions::new()).map_err(decode_err)?;
    if !dictionary_fields.is_empty() {
        let fields: Vec<FieldRef> = metadata
            .schema()
            .fields()
            .iter()
            .map(|f| with_dictionaries(f, dictionary_fields))
            .collect();
        let hint = Arc::new(Schema::new_with_metadata(
            fields,
            metadata.schema().metadata().clone(),
        ));
        metadata = ArrowReaderMetadata::try_new(
            metadata.metadata().clone(),
            ArrowReaderOptions::new().with_schema(hint),
        )
        .map_err(decode_err)?;
    }
    let mut builder = ParquetRecordBatchReaderBuilder::new_with_metadata(bytes, metadata);
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

/// `field` with its Utf8 fields named in `names`, nested ones included,
/// typed as dictionaries.
fn with_dictionaries(field: &FieldRef, names: &[&str]) -> FieldRef {
    let data_type = match field.data_type() {
        DataType::Utf8 if names.contains(&field.name().as_str()) => {
            DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
        }
        DataType::List(item) => DataType::List(with_dictionaries(item, names)),
        DataType::LargeList(item) => DataType::LargeList(with_dictionaries(item, names)),
        DataType::Struct(children) => DataType::Struct(
            children
                .iter()
                .map(|c| with_dictionaries(c, names))
                .collect(),
        ),
        _ => return field.clone(),
    };
    Arc::new(field.as_ref().clone().with_data_type(data_type))
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
    use parquet::file::metadata::{ColumnChunkMetaData, RowGroupMetaData};
    use parquet::file::reader::{FileReader, SerializedFileReader};

    /// The chunk of the column at dotted path `name` in `row_group`.
    fn column_chunk<'a>(row_group: &'a RowGroupMetaData, name: &str) -> &'a ColumnChunkMetaData {
        row_group
            .columns()
            .iter()
            .find(|c| c.column_path().string() == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    }

    /// An events file of `n` events whose ids start with `prefix`, in row
    /// groups of at most `group` rows.
    fn events_file(prefix: &str, n: usize, group: usize) -> Bytes {
        let mut batches = Vec::new();
        for start in (0..n).step_by(group) {
            let mut rows = EventBatchBuilder::default();
            for i in start..n.min(start + group) {
                let mut e = cdp_model::CanonicalEvent::new(
                    format!("{prefix}{i}"),
                    "online".into(),
                    "page_view".into(),
                    i as i64 * 1_000_000,
                    cdp_model::Provenance::file_line("f", i as i64),
                );
                e.identifiers = vec![cdp_model::Identifier::new(
                    cdp_model::IdType::Openid,
                    format!("o{i}"),
                )];
                rows.append(&e);
            }
            batches.push(rows.finish().unwrap());
        }
        let mut buf = Vec::new();
        let props = events_writer_properties();
        let mut writer = ArrowWriter::try_new(&mut buf, events_schema(), Some(props)).unwrap();
        for b in &batches {
            writer.write(b).unwrap();
            writer.flush().unwrap();
        }
        writer.close().unwrap();
        Bytes::from(buf)
    }

    /// Nested string fields read as dictionaries hold the same values as
    /// read plainly; other fields keep their types.
    #[test]
    fn nested_strings_decode_as_dictionaries_with_the_same_values() {
        use arrow::array::ListArray;
        use arrow::compute::cast;
        let file = events_file("e", 50, 20);
        let columns = Some(&["event_id", "identifiers"][..]);
        let plain = decode("f", file.clone(), columns).unwrap();
        let dict = decode_with_dictionaries("f", file, columns, &["id_type", "id_value"]).unwrap();
        assert_eq!(plain.len(), dict.len());
        for (p, d) in plain.iter().zip(&dict) {
            assert_eq!(d.schema().field(0).data_type(), &DataType::Utf8);
            assert_eq!(p.column(0), d.column(0));
            let items = |b: &RecordBatch| {
                b.column(1)
                    .as_any()
                    .downcast_ref::<ListArray>()
                    .unwrap()
                    .values()
                    .as_struct()
                    .clone()
            };
            let (p, d) = (items(p), items(d));
            for name in ["id_type", "id_value"] {
                let d = d.column_by_name(name).unwrap();
                assert!(
                    matches!(d.data_type(), DataType::Dictionary(_, _)),
                    "{name}: {}",
                    d.data_type()
                );
                let back = cast(d, &DataType::Utf8).unwrap();
                assert_eq!(&back, p.column_by_name(name).unwrap(), "{name}");
            }
        }
    }

    /// Spliced: the new columns as given, the copied ones as in the inputs,
    /// row group by row group, and the file reads back with its Arrow types.
    #[test]
    fn splice_adds_columns_and_copies_the_others_as_they_are() {
        use arrow::array::{Int64Array, StringArray};
        use arrow::datatypes::{DataType, Field};
        let events = events_schema();
        let mut fields = vec![
            Field::new("k", DataType::Int64, true),
            Field::new("label", DataType::Utf8, true),
        ];
        for name in ["event_id", "event_time", "event_type"] {
            fields.push(events.field_with_name(name).unwrap().clone());
        }
        let schema = Arc::new(Schema::new(fields));
        let input = |location: &str, prefix: &str, n: usize, group: usize| {
            let keys: Int64Array = (0..n as i64).map(|i| (i % 3 != 0).then_some(i)).collect();
            let labels: StringArray = (0..n).map(|i| Some(format!("{prefix}-{i}"))).collect();
            SpliceInput {
                location: location.into(),
                bytes: events_file(prefix, n, group),
                new_columns: vec![Arc::new(keys), Arc::new(labels)],
            }
        };
        let inputs = vec![input("a", "a", 5, 2), input("b", "b", 3, 10)];
        let bytes = splice("out", schema.clone(), inputs, &["k"]).unwrap();
        let reader = SerializedFileReader::new(bytes.clone()).unwrap();
        assert_eq!(reader.metadata().num_row_groups(), 4, "3 from a, 1 from b");
        let batches = decode("out", bytes, None).unwrap();
        assert_eq!(batches[0].schema(), schema);
        let all = arrow::compute::concat_batches(&schema, &batches).unwrap();
        let strings = |name: &str| -> Vec<String> {
            let column = all.column_by_name(name).unwrap().as_string::<i32>();
            column.iter().map(|v| v.unwrap().to_string()).collect()
        };
        assert_eq!(
            strings("event_id"),
            ["a0", "a1", "a2", "a3", "a4", "b0", "b1", "b2"]
        );
        assert_eq!(
            strings("label"),
            ["a-0", "a-1", "a-2", "a-3", "a-4", "b-0", "b-1", "b-2"]
        );
        let keys = all
            .column_by_name("k")
            .unwrap()
            .as_primitive::<arrow::datatypes::Int64Type>();
        let keys: Vec<Option<i64>> = keys.iter().collect();
        assert_eq!(
            keys,
            [
                None,
                Some(1),
                Some(2),
                None,
                Some(4),
                None,
                Some(1),
                Some(2)
            ]
        );
        let times = all
            .column_by_name("event_time")
            .unwrap()
            .as_primitive::<arrow::datatypes::TimestampMicrosecondType>();
        assert_eq!(times.value(4), 4_000_000);
    }

    /// A copied column whose layout differs from the schema's is refused,
    /// naming the input and the column.
    #[test]
    fn splice_refuses_a_column_of_another_type() {
        use arrow::array::Int64Array;
        use arrow::datatypes::{DataType, Field};
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Int64, true),
            Field::new("event_id", DataType::Int64, false),
        ]));
        let inputs = vec![SpliceInput {
            location: "events/x.parquet".into(),
            bytes: events_file("a", 2, 2),
            new_columns: vec![Arc::new(Int64Array::from(vec![1, 2]))],
        }];
        let err = splice("out", schema, inputs, &[]).unwrap_err().to_string();
        assert!(err.contains("events/x.parquet"), "{err}");
        assert!(err.contains("event_id"), "{err}");
    }

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
        let column = |name: &str| column_chunk(row_group, name);
        assert!(column("properties").statistics().is_none());
        assert!(column(ID_VALUE_COLUMN).statistics().is_none());
        assert!(column("event_time").statistics().is_some());
        assert!(column("event_id").dictionary_page_offset().is_none());
        assert!(column("event_type").dictionary_page_offset().is_some());
        assert!(column(ID_VALUE_COLUMN).dictionary_page_offset().is_some());
    }

    /// A row group's identifier values stay in one dictionary however many
    /// distinct ones it has (here 3 MB of them, thrice the default limit):
    /// every data page dictionary-encoded, none fallen back to plain.
    #[test]
    fn identifier_values_keep_their_dictionary_past_a_megabyte() {
        use parquet::basic::Encoding;
        let mut rows = EventBatchBuilder::default();
        for i in 0..50_000 {
            let mut e = cdp_model::CanonicalEvent::new(
                format!("e{i}"),
                "online".into(),
                "page_view".into(),
                i,
                cdp_model::Provenance::file_line("f", i),
            );
            let value = format!("{i:064x}");
            e.identifiers = vec![cdp_model::Identifier::new(
                cdp_model::IdType::PhoneSha256,
                value,
            )];
            rows.append(&e);
        }
        let bytes = encode_events("t", &[rows.finish().unwrap()]).unwrap();
        let reader = SerializedFileReader::new(bytes).unwrap();
        let row_group = reader.metadata().row_group(0);
        let id_value = column_chunk(row_group, ID_VALUE_COLUMN);
        assert!(id_value.dictionary_page_offset().is_some());
        let data_pages = id_value.page_encoding_stats_mask().unwrap();
        assert!(
            data_pages.is_only(Encoding::RLE_DICTIONARY),
            "{data_pages:?}"
        );
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
