//! A Parquet file encoded column by column, in as many goes as its columns
//! become known. A column given early is encoded and compressed at once and
//! only its compressed chunks are held; the file is laid out when the last
//! column arrives. `cdp resolve` encodes identity_map's identifiers and
//! seen times while the union-find still runs on the other core, and only
//! the one_id columns after it (docs/architecture.md, "Time").
//!
//! The file is what [`crate::parquet_io::encode_with_unique_columns`] writes
//! for the same rows: row groups of [`ROW_GROUP_ROWS`], the same properties,
//! the Arrow schema in its metadata.

use arrow::array::{Array, ArrayRef};
use arrow::datatypes::SchemaRef;
use bytes::Bytes;
use parquet::arrow::arrow_writer::{
    compute_leaves, ArrowColumnChunk, ArrowColumnWriter, ArrowRowGroupWriterFactory,
};
use parquet::errors::ParquetError;
use parquet::file::writer::SerializedFileWriter;

use crate::error::{LakeError, Result};
use crate::parquet_io::{file_writer, ROW_GROUP_ROWS};

/// One column of one row group: waiting for its values, or encoded.
enum Chunk {
    // Both boxed: each is over a kilobyte, and a file has a slot per
    // column and row group.
    Waiting(Box<ArrowColumnWriter>),
    Encoded(Box<ArrowColumnChunk>),
}

/// A file of `rows` rows of `schema` (flat: one Parquet column per field)
/// whose columns are given one at a time, in any order.
pub struct StagedFile {
    location: String,
    schema: SchemaRef,
    rows: usize,
    writer: SerializedFileWriter<Vec<u8>>,
    /// Per row group, per column.
    row_groups: Vec<Vec<Option<Chunk>>>,
}

impl StagedFile {
    /// A file of `rows` rows; `unique_columns` (nearly a distinct value per
    /// row) are written without a dictionary.
    pub fn new(
        location: &str,
        schema: SchemaRef,
        rows: usize,
        unique_columns: &[&str],
    ) -> Result<Self> {
        let encode_err = encode_err(location);
        let writer = file_writer(&schema, unique_columns).map_err(encode_err)?;
        let columns = writer.schema_descr().num_columns();
        if columns != schema.fields().len() {
            return Err(encode_err(ParquetError::General(format!(
                "a staged file needs one Parquet column per field: {columns} columns for {} fields",
                schema.fields().len()
            ))));
        }
        let factory = ArrowRowGroupWriterFactory::new(&writer, schema.clone());
        let row_groups = (0..rows.div_ceil(ROW_GROUP_ROWS))
            .map(|i| {
                let writers = factory.create_column_writers(i).map_err(encode_err)?;
                Ok(writers
                    .into_iter()
                    .map(|w| Some(Chunk::Waiting(Box::new(w))))
                    .collect())
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            location: location.to_string(),
            schema,
            rows,
            writer,
            row_groups,
        })
    }

    /// The rows of each row group, in order.
    pub fn row_groups(&self) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
        (0..self.row_groups.len()).map(|i| {
            let first = i * ROW_GROUP_ROWS;
            first..self.rows.min(first + ROW_GROUP_ROWS)
        })
    }

    /// Encodes the column named `name` from the values of every row.
    pub fn encode_column(&mut self, name: &str, values: &ArrayRef) -> Result<()> {
        if values.len() != self.rows {
            return Err(encode_err(&self.location)(ParquetError::General(format!(
                "column {name} has {} values for {} rows",
                values.len(),
                self.rows
            ))));
        }
        let groups: Vec<_> = self.row_groups().collect();
        for (i, rows) in groups.into_iter().enumerate() {
            self.encode_row_group(i, name, &values.slice(rows.start, rows.len()))?;
        }
        Ok(())
    }

    /// Encodes the column named `name` of row group `index` (see
    /// [`StagedFile::row_groups`]) from the values of its rows: a caller
    /// building the values holds one row group's, not the file's.
    pub fn encode_row_group(&mut self, index: usize, name: &str, values: &ArrayRef) -> Result<()> {
        let encode_err = encode_err(&self.location);
        let general = |reason: String| encode_err(ParquetError::General(reason));
        let (column, field) = self
            .schema
            .column_with_name(name)
            .ok_or_else(|| general(format!("no column {name} in the schema")))?;
        let rows = self
            .row_groups()
            .nth(index)
            .ok_or_else(|| general(format!("no row group {index}")))?;
        if values.len() != rows.len() {
            return Err(general(format!(
                "column {name} has {} values for the {} rows of row group {index}",
                values.len(),
                rows.len()
            )));
        }
        let slot = &mut self.row_groups[index][column];
        let mut writer = match slot.take() {
            Some(Chunk::Waiting(writer)) => writer,
            encoded => {
                *slot = encoded;
                return Err(general(format!("column {name} given twice")));
            }
        };
        for leaf in compute_leaves(field, values).map_err(encode_err)? {
            writer.write(&leaf).map_err(encode_err)?;
        }
        *slot = Some(Chunk::Encoded(Box::new(
            writer.close().map_err(encode_err)?,
        )));
        Ok(())
    }

    /// Lays out the file; every column must have been given.
    pub fn finish(mut self) -> Result<Bytes> {
        let encode_err = encode_err(&self.location);
        for row_group in self.row_groups {
            let mut out = self.writer.next_row_group().map_err(encode_err)?;
            for (field, chunk) in self.schema.fields().iter().zip(row_group) {
                let Some(Chunk::Encoded(chunk)) = chunk else {
                    return Err(encode_err(ParquetError::General(format!(
                        "column {} was never given",
                        field.name()
                    ))));
                };
                chunk.append_to_row_group(&mut out).map_err(encode_err)?;
            }
            out.close().map_err(encode_err)?;
        }
        Ok(Bytes::from(self.writer.into_inner().map_err(encode_err)?))
    }
}

fn encode_err(location: &str) -> impl Fn(ParquetError) -> LakeError + Copy + '_ {
    move |source| LakeError::Encode {
        location: location.to_string(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int64Array, RecordBatch, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;
    use crate::parquet_io;

    fn table(rows: usize) -> (SchemaRef, Vec<ArrayRef>) {
        let schema = Arc::new(Schema::new(vec![
            Field::new("name", DataType::Utf8, false),
            Field::new("key", DataType::Int64, false),
            Field::new("note", DataType::Utf8, true),
        ]));
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(
                (0..rows).map(|i| format!("n{i:07}")),
            )),
            Arc::new(Int64Array::from_iter_values(
                (0..rows as i64).map(|i| i * 7),
            )),
            Arc::new(StringArray::from_iter(
                (0..rows).map(|i| (i % 3 != 0).then(|| format!("x{}", i % 5))),
            )),
        ];
        (schema, columns)
    }

    /// Columns given in any order, over several row groups, read back as
    /// the rows of the same table encoded in one go, row groups and all.
    #[test]
    fn columns_given_apart_read_back_as_one_encoded_file() {
        let rows = 2 * ROW_GROUP_ROWS + 5;
        let (schema, columns) = table(rows);
        let mut staged = StagedFile::new("t", schema.clone(), rows, &["name"]).unwrap();
        for i in [2, 0] {
            staged
                .encode_column(schema.field(i).name(), &columns[i])
                .unwrap();
        }
        // The last one a row group at a time, as its values are built.
        let groups: Vec<_> = staged.row_groups().collect();
        assert_eq!(groups.last(), Some(&(2 * ROW_GROUP_ROWS..rows)));
        for (g, rows) in groups.into_iter().enumerate() {
            let values = columns[1].slice(rows.start, rows.len());
            staged.encode_row_group(g, "key", &values).unwrap();
        }
        let bytes = staged.finish().unwrap();

        let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
        let whole = parquet_io::encode_with_unique_columns(
            "t",
            schema.clone(),
            std::slice::from_ref(&batch),
            &["name"],
        )
        .unwrap();
        let read = |bytes: Bytes| {
            let batches = parquet_io::decode("t", bytes, None).unwrap();
            arrow::compute::concat_batches(&schema, &batches).unwrap()
        };
        let groups = |bytes: &Bytes| {
            parquet::file::metadata::ParquetMetaDataReader::new()
                .parse_and_finish(bytes)
                .unwrap()
                .row_groups()
                .iter()
                .map(|g| g.num_rows())
                .collect::<Vec<_>>()
        };
        assert_eq!(groups(&bytes), groups(&whole));
        assert_eq!(groups(&bytes).len(), 3);
        assert_eq!(read(bytes), batch);
    }

    #[test]
    fn a_column_never_given_or_given_twice_is_named() {
        let (schema, columns) = table(10);
        let mut staged = StagedFile::new("t", schema.clone(), 10, &[]).unwrap();
        staged.encode_column("name", &columns[0]).unwrap();
        let twice = staged.encode_column("name", &columns[0]).unwrap_err();
        assert!(
            twice.to_string().contains("column name given twice"),
            "{twice}"
        );
        staged.encode_column("key", &columns[1]).unwrap();
        let missing = staged.finish().unwrap_err();
        assert!(
            missing.to_string().contains("column note was never given"),
            "{missing}"
        );

        let mut staged = StagedFile::new("t", schema, 10, &[]).unwrap();
        let short = staged
            .encode_column("key", &columns[1].slice(0, 9))
            .unwrap_err();
        assert!(
            short.to_string().contains("9 values for 10 rows"),
            "{short}"
        );
        let short = staged
            .encode_row_group(0, "key", &columns[1].slice(0, 9))
            .unwrap_err();
        assert!(
            short
                .to_string()
                .contains("9 values for the 10 rows of row group 0"),
            "{short}"
        );
    }
}
