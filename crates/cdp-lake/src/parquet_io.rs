//! Parquet encoding and decoding of whole files in memory.

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::SchemaRef;
use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::{ArrowWriter, ProjectionMask};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use crate::error::{LakeError, Result};

/// Row groups of 128k rows: large enough for ClickHouse and DuckDB to read
/// efficiently, small enough that a reader can skip by event_time statistics.
pub const ROW_GROUP_ROWS: usize = 128 * 1024;

/// zstd level 1: per-day partitions make many small column chunks, where
/// the higher levels' larger contexts cost more than they save (profiled).
fn writer_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(1).expect("zstd level 1 is valid"),
        ))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_created_by("cdp".to_string())
        .build()
}

/// Encodes `batches` (all of `schema`) as one Parquet file.
pub fn encode(location: &str, schema: SchemaRef, batches: &[RecordBatch]) -> Result<Bytes> {
    let encode_err = |source| LakeError::Encode {
        location: location.to_string(),
        source,
    };
    let mut buf = Vec::new();
    let mut writer =
        ArrowWriter::try_new(&mut buf, schema, Some(writer_properties())).map_err(encode_err)?;
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
