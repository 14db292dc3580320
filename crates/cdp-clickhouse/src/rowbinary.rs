//! Arrow record batches → ClickHouse RowBinary, driven by the target table's
//! column types (read from the server), not by a Rust struct: the lake's
//! Parquet columns are matched to the table's columns by name.
//!
//! Rules, per ClickHouse column:
//! - `_load_version` (UInt64): the load's version, the same for every row;
//! - a lake column of the same name, cast to the ClickHouse type (integers
//!   widened or narrowed with overflow checks, decimals rescaled, timestamps
//!   to whole seconds for DateTime, to days for Date);
//! - `X_us` (Int64) with no lake column of that name but a timestamp `X`:
//!   X in microseconds since 1970 (18.16 has no DateTime64);
//! - a column with a DEFAULT expression and no lake column: left to the server;
//! - anything else is refused by name.
//!
//! A NULL in a column that is not Nullable is refused, except for arrays,
//! where it becomes the empty array (ClickHouse has no Nullable(Array)).

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray};
use arrow::buffer::{Buffer, NullBuffer, OffsetBuffer};
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::{DataType, Schema, TimeUnit};

use crate::column_type::ChType;
use crate::tables::LOAD_VERSION_COLUMN;

/// A column of the ClickHouse table, as `system.columns` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetColumn {
    pub name: String,
    pub ty: ChType,
    /// `DEFAULT`, `MATERIALIZED` or `ALIAS` expression present.
    pub has_default: bool,
}

/// What feeds one ClickHouse column.
#[derive(Debug, Clone)]
enum Source {
    Lake(usize),
    LakeMicros(usize),
    LoadVersion,
}

/// How the rows of one lake file become RowBinary for one table.
#[derive(Debug, Clone)]
pub struct RowEncoder {
    columns: Vec<(TargetColumn, Source)>,
    /// Lake columns no ClickHouse column takes.
    pub unused: Vec<String>,
}

impl RowEncoder {
    /// Matches `target` (the table's columns) with `schema` (a lake file's).
    /// The error names the column and says what is wrong.
    pub fn bind(target: &[TargetColumn], schema: &Schema) -> Result<Self, (String, String)> {
        let mut columns = Vec::new();
        let mut used = vec![false; schema.fields().len()];
        for column in target {
            let source = if column.name == LOAD_VERSION_COLUMN {
                if column.ty
                    != (ChType::Int {
                        bytes: 8,
                        signed: false,
                    })
                {
                    return Err((column.name.clone(), "must be UInt64".into()));
                }
                Source::LoadVersion
            } else if let Ok(i) = schema.index_of(&column.name) {
                used[i] = true;
                Source::Lake(i)
            } else if let Some(i) = column
                .name
                .strip_suffix("_us")
                .and_then(|base| schema.index_of(base).ok())
                .filter(|&i| matches!(schema.field(i).data_type(), DataType::Timestamp(..)))
            {
                if column.ty
                    != (ChType::Int {
                        bytes: 8,
                        signed: true,
                    })
                {
                    return Err((
                        column.name.clone(),
                        "microseconds of a timestamp must be Int64".into(),
                    ));
                }
                used[i] = true;
                Source::LakeMicros(i)
            } else if column.has_default {
                continue;
            } else {
                return Err((
                    column.name.clone(),
                    "the lake file has no column of that name (the lake's schema and the table's migration disagree)"
                        .into(),
                ));
            };
            columns.push((column.clone(), source));
        }
        let unused = schema
            .fields()
            .iter()
            .zip(&used)
            .filter(|(_, used)| !**used)
            .map(|(f, _)| f.name().clone())
            .collect();
        Ok(Self { columns, unused })
    }

    /// The ClickHouse columns this encoder writes, in order: the column list
    /// of the INSERT.
    pub fn column_names(&self) -> Vec<&str> {
        self.columns.iter().map(|(c, _)| c.name.as_str()).collect()
    }

    /// Prepares `batch` for encoding; the error names the column.
    pub fn prepare(
        &self,
        batch: &RecordBatch,
        version: u64,
    ) -> Result<BatchEncoder, (String, String)> {
        let mut values = Vec::with_capacity(self.columns.len());
        for (column, source) in &self.columns {
            let value = match source {
                Source::LoadVersion => Ok(Value::Const(version.to_le_bytes().to_vec())),
                Source::Lake(i) => value_for(batch.column(*i), &column.ty),
                Source::LakeMicros(i) => micros(batch.column(*i)),
            }
            .map_err(|reason| (column.name.clone(), reason))?;
            values.push(value);
        }
        Ok(BatchEncoder {
            values,
            rows: batch.num_rows(),
        })
    }
}

/// One batch, ready to be written row by row.
pub struct BatchEncoder {
    values: Vec<Value>,
    rows: usize,
}

impl BatchEncoder {
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Appends row `row` in RowBinary.
    #[inline]
    pub fn write_row(&self, row: usize, out: &mut Vec<u8>) {
        for value in &self.values {
            value.write(row, out);
        }
    }
}

/// A column of a batch in the shape RowBinary wants.
enum Value {
    /// Little-endian fixed-width values: `width` bytes every `stride` bytes
    /// (a Decimal(18, s) is the low 8 bytes of Arrow's 16-byte i128).
    Fixed {
        bytes: Buffer,
        width: usize,
        stride: usize,
    },
    Str(StringArray),
    Nullable {
        nulls: NullBuffer,
        inner: Box<Value>,
    },
    /// An array per row: `offsets` into the child's values.
    List {
        offsets: OffsetBuffer<i32>,
        nulls: Option<NullBuffer>,
        inner: Box<Value>,
    },
    Const(Vec<u8>),
}

impl Value {
    #[inline]
    fn write(&self, row: usize, out: &mut Vec<u8>) {
        match self {
            Value::Fixed {
                bytes,
                width,
                stride,
            } => {
                let start = row * stride;
                out.extend_from_slice(&bytes.as_slice()[start..start + width]);
            }
            Value::Str(array) => {
                let v = array.value(row).as_bytes();
                write_varint(v.len() as u64, out);
                out.extend_from_slice(v);
            }
            Value::Nullable { nulls, inner } => {
                if nulls.is_null(row) {
                    out.push(1);
                } else {
                    out.push(0);
                    inner.write(row, out);
                }
            }
            Value::List {
                offsets,
                nulls,
                inner,
            } => {
                if nulls.as_ref().is_some_and(|n| n.is_null(row)) {
                    out.push(0);
                    return;
                }
                let (start, end) = (offsets[row] as usize, offsets[row + 1] as usize);
                write_varint((end - start) as u64, out);
                for child in start..end {
                    inner.write(child, out);
                }
            }
            Value::Const(bytes) => out.extend_from_slice(bytes),
        }
    }
}

/// LEB128, as RowBinary prefixes strings and arrays.
#[inline]
pub fn write_varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn cast(array: &ArrayRef, to: &DataType) -> Result<ArrayRef, String> {
    if array.data_type() == to {
        return Ok(array.clone());
    }
    let options = CastOptions {
        safe: false,
        ..Default::default()
    };
    cast_with_options(array, to, &options)
        .map_err(|e| format!("cannot convert {} to {to}: {e}", array.data_type()))
}

/// The little-endian bytes of a primitive array's values.
fn fixed(array: &ArrayRef, width: usize, stride: usize) -> Value {
    let data = array.to_data();
    let bytes = data.buffers()[0].slice_with_length(data.offset() * stride, data.len() * stride);
    Value::Fixed {
        bytes,
        width,
        stride,
    }
}

fn value_for(array: &ArrayRef, ty: &ChType) -> Result<Value, String> {
    if let ChType::Nullable(inner) = ty {
        let inner_value = value_for_non_null(array, inner)?;
        return Ok(match array.logical_nulls() {
            Some(nulls) if nulls.null_count() > 0 => Value::Nullable {
                nulls,
                inner: Box::new(inner_value),
            },
            _ => Value::Nullable {
                nulls: NullBuffer::new_valid(array.len()),
                inner: Box::new(inner_value),
            },
        });
    }
    if array.null_count() > 0 && !matches!(ty, ChType::Array(_)) {
        return Err(format!(
            "{} NULL value(s), but the ClickHouse column is not Nullable",
            array.null_count()
        ));
    }
    value_for_non_null(array, ty)
}

/// The value encoding of `array` for `ty`, ignoring NULL slots (the caller
/// writes those).
fn value_for_non_null(array: &ArrayRef, ty: &ChType) -> Result<Value, String> {
    Ok(match ty {
        ChType::String => Value::Str(cast(array, &DataType::Utf8)?.as_string::<i32>().clone()),
        ChType::Int { bytes, signed } => {
            let to = match (bytes, signed) {
                (1, true) => DataType::Int8,
                (2, true) => DataType::Int16,
                (4, true) => DataType::Int32,
                (8, true) => DataType::Int64,
                (1, false) => DataType::UInt8,
                (2, false) => DataType::UInt16,
                (4, false) => DataType::UInt32,
                _ => DataType::UInt64,
            };
            let from = if array.data_type() == &DataType::Boolean && *bytes == 1 {
                cast(array, &DataType::UInt8)?
            } else {
                array.clone()
            };
            fixed(&cast(&from, &to)?, *bytes as usize, *bytes as usize)
        }
        ChType::Float32 => fixed(&cast(array, &DataType::Float32)?, 4, 4),
        ChType::Float64 => fixed(&cast(array, &DataType::Float64)?, 8, 8),
        ChType::Date => {
            let days = match array.data_type() {
                DataType::Timestamp(..) => {
                    cast(&cast(array, &DataType::Date32)?, &DataType::Int32)?
                }
                _ => cast(&cast(array, &DataType::Date32)?, &DataType::Int32)?,
            };
            fixed(
                &cast(&days, &DataType::UInt16)
                    .map_err(|e| format!("{e} (Date holds 1970-01-01 to 2149-06-06)"))?,
                2,
                2,
            )
        }
        ChType::DateTime => {
            let seconds = match array.data_type() {
                DataType::Timestamp(_, tz) => {
                    cast(array, &DataType::Timestamp(TimeUnit::Second, tz.clone()))?
                }
                DataType::Date32 | DataType::Date64 => {
                    cast(array, &DataType::Timestamp(TimeUnit::Second, None))?
                }
                other => return Err(format!("cannot convert {other} to DateTime")),
            };
            let seconds = cast(&seconds, &DataType::Int64)?;
            fixed(
                &cast(&seconds, &DataType::UInt32)
                    .map_err(|e| format!("{e} (DateTime holds 1970 to 2106)"))?,
                4,
                4,
            )
        }
        ChType::Decimal { precision, scale } => {
            let decimal = cast(array, &DataType::Decimal128(*precision, *scale))?;
            fixed(&decimal, ChType::decimal_bytes(*precision), 16)
        }
        ChType::Array(inner) => {
            let (offsets, values, nulls) = match array.data_type() {
                DataType::List(_) => {
                    let list = array.as_list::<i32>();
                    (
                        list.offsets().clone(),
                        list.values().clone(),
                        list.logical_nulls(),
                    )
                }
                DataType::LargeList(field) => {
                    let as_list = cast(array, &DataType::List(field.clone()))?;
                    let list = as_list.as_list::<i32>();
                    (
                        list.offsets().clone(),
                        list.values().clone(),
                        list.logical_nulls(),
                    )
                }
                other => return Err(format!("cannot convert {other} to an Array")),
            };
            Value::List {
                offsets,
                nulls,
                inner: Box::new(value_for(&values, inner)?),
            }
        }
        ChType::Nullable(inner) => return value_for(array, &ChType::Nullable(inner.clone())),
    })
}

/// A timestamp as microseconds since 1970, Int64.
fn micros(array: &ArrayRef) -> Result<Value, String> {
    if array.null_count() > 0 {
        return Err(format!(
            "{} NULL timestamp(s) for a microseconds column",
            array.null_count()
        ));
    }
    let tz = match array.data_type() {
        DataType::Timestamp(_, tz) => tz.clone(),
        other => return Err(format!("cannot take microseconds of {other}")),
    };
    let us = cast(array, &DataType::Timestamp(TimeUnit::Microsecond, tz))?;
    Ok(fixed(&cast(&us, &DataType::Int64)?, 8, 8))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{
        Decimal128Array, Int64Array, ListBuilder, StringBuilder, TimestampMicrosecondArray,
    };
    use arrow::datatypes::Field;
    use std::sync::Arc;

    fn col(name: &str, ty: &str) -> TargetColumn {
        TargetColumn {
            name: name.into(),
            ty: ChType::parse(ty).unwrap(),
            has_default: false,
        }
    }

    #[test]
    fn varints_are_leb128() {
        let mut out = Vec::new();
        for v in [0u64, 127, 128, 300] {
            write_varint(v, &mut out);
        }
        assert_eq!(out, [0, 127, 0x80, 1, 0xac, 2]);
    }

    #[test]
    fn a_row_is_encoded_as_clickhouse_reads_it() {
        let ts = Arc::new(
            TimestampMicrosecondArray::from(vec![Some(1_700_000_000_123_456)]).with_timezone("UTC"),
        ) as ArrayRef;
        let mut tags = ListBuilder::new(StringBuilder::new());
        tags.values().append_value("a");
        tags.values().append_value("bc");
        tags.append(true);
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Int64, false),
            Field::new("s", DataType::Utf8, true),
            Field::new("t", ts.data_type().clone(), false),
            Field::new("amount", DataType::Decimal128(18, 2), true),
            Field::new(
                "tags",
                DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
                true,
            ),
            Field::new("extra", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(vec![-2])),
                Arc::new(StringArray::from(vec![None::<&str>])),
                ts,
                Arc::new(
                    Decimal128Array::from(vec![Some(1234)])
                        .with_precision_and_scale(18, 2)
                        .unwrap(),
                ),
                Arc::new(tags.finish()),
                Arc::new(StringArray::from(vec!["x"])),
            ],
        )
        .unwrap();
        let target = [
            col("k", "Int32"),
            col("s", "Nullable(String)"),
            col("t", "DateTime('UTC')"),
            col("t_us", "Int64"),
            col("amount", "Nullable(Decimal(18, 4))"),
            col("tags", "Array(String)"),
            col("_load_version", "UInt64"),
        ];
        let encoder = RowEncoder::bind(&target, &schema).unwrap();
        assert_eq!(encoder.unused, ["extra"]);
        let mut out = Vec::new();
        encoder.prepare(&batch, 7).unwrap().write_row(0, &mut out);
        let mut want = Vec::new();
        want.extend((-2i32).to_le_bytes());
        want.push(1); // NULL
        want.extend(1_700_000_000u32.to_le_bytes());
        want.extend(1_700_000_000_123_456i64.to_le_bytes());
        want.push(0);
        want.extend(123_400i64.to_le_bytes()); // 12.34 at scale 4
        want.extend([2, 1, b'a', 2, b'b', b'c']);
        want.extend(7u64.to_le_bytes());
        assert_eq!(out, want);
    }

    #[test]
    fn a_missing_column_and_a_null_in_a_plain_column_are_named() {
        let schema = Arc::new(Schema::new(vec![Field::new("k", DataType::Int64, true)]));
        let err = RowEncoder::bind(&[col("nope", "String")], &schema).unwrap_err();
        assert_eq!(err.0, "nope");
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(Int64Array::from(vec![None, Some(1)]))],
        )
        .unwrap();
        let encoder = RowEncoder::bind(&[col("k", "Int64")], &schema).unwrap();
        let err = encoder.prepare(&batch, 1).err().unwrap();
        assert_eq!(err.0, "k");
        assert!(err.1.contains("not Nullable"), "{}", err.1);
    }

    #[test]
    fn an_integer_that_does_not_fit_is_refused() {
        let schema = Arc::new(Schema::new(vec![Field::new("k", DataType::Int64, false)]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(Int64Array::from(vec![70_000]))],
        )
        .unwrap();
        let encoder = RowEncoder::bind(&[col("k", "UInt16")], &schema).unwrap();
        assert!(encoder.prepare(&batch, 1).is_err());
    }

    #[test]
    fn a_sliced_batch_encodes_its_own_rows() {
        let schema = Arc::new(Schema::new(vec![Field::new("k", DataType::Int64, false)]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(Int64Array::from(vec![1, 2, 3]))],
        )
        .unwrap();
        let encoder = RowEncoder::bind(&[col("k", "Int64")], &schema).unwrap();
        let mut out = Vec::new();
        encoder
            .prepare(&batch.slice(1, 2), 1)
            .unwrap()
            .write_row(0, &mut out);
        assert_eq!(out, 2i64.to_le_bytes());
    }
}
