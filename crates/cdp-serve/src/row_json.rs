//! Rows of a served table as JSON, whatever their columns: the profile and
//! LTV columns belong to `cdp build` and change with it, so every column of
//! a row is written, typed by its Arrow type:
//!
//! | Arrow type | JSON |
//! |---|---|
//! | integers | number |
//! | floats | number; NaN and infinities as `null` |
//! | Decimal128/256 | string (`"1234.50"`): money keeps every digit |
//! | Utf8 (plain, large, view, dictionary) | string |
//! | Boolean | `true` / `false` |
//! | Timestamp | RFC 3339 string, UTC (`Z`) when the column has a time zone |
//! | Date32/Date64 | `"YYYY-MM-DD"` |
//! | List, LargeList, FixedSizeList | array |
//! | Struct | object |
//! | anything else | Arrow's display form, as a string |
//!
//! Null values are `null`. Tables are compacted once at load ([`compact`]):
//! strings that repeat (channel codes, stores, platforms, tags) are interned
//! into a dictionary, so a row costs a 2- or 4-byte key per such column.

use std::collections::HashSet;
use std::io::Write as _;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, GenericListArray, OffsetSizeTrait, StringArray};
use arrow::compute::cast;
use arrow::datatypes::{
    DataType, Date32Type, Date64Type, Decimal128Type, Decimal256Type, Float16Type, Float32Type,
    Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, TimeUnit, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt16Type, UInt32Type,
    UInt64Type, UInt8Type,
};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use chrono::{DateTime, SecondsFormat};

/// Appends the JSON of `array[row]` to `out`.
pub fn write_value(out: &mut Vec<u8>, array: &dyn Array, row: usize) {
    if array.is_null(row) {
        out.extend_from_slice(b"null");
        return;
    }
    macro_rules! int {
        ($t:ty) => {{
            let _ = write!(out, "{}", array.as_primitive::<$t>().value(row));
        }};
    }
    macro_rules! float {
        ($t:ty) => {{
            let v = f64::from(array.as_primitive::<$t>().value(row));
            write_f64(out, v);
        }};
    }
    match array.data_type() {
        DataType::Null => out.extend_from_slice(b"null"),
        DataType::Boolean => {
            let v = array.as_boolean().value(row);
            out.extend_from_slice(if v { b"true" } else { b"false" });
        }
        DataType::Int8 => int!(Int8Type),
        DataType::Int16 => int!(Int16Type),
        DataType::Int32 => int!(Int32Type),
        DataType::Int64 => int!(Int64Type),
        DataType::UInt8 => int!(UInt8Type),
        DataType::UInt16 => int!(UInt16Type),
        DataType::UInt32 => int!(UInt32Type),
        DataType::UInt64 => int!(UInt64Type),
        DataType::Float16 => {
            let v = array.as_primitive::<Float16Type>().value(row).to_f64();
            write_f64(out, v);
        }
        DataType::Float32 => float!(Float32Type),
        DataType::Float64 => float!(Float64Type),
        DataType::Decimal128(_, _) => write_str(
            out,
            &array.as_primitive::<Decimal128Type>().value_as_string(row),
        ),
        DataType::Decimal256(_, _) => write_str(
            out,
            &array.as_primitive::<Decimal256Type>().value_as_string(row),
        ),
        DataType::Utf8 => write_str(out, array.as_string::<i32>().value(row)),
        DataType::LargeUtf8 => write_str(out, array.as_string::<i64>().value(row)),
        DataType::Utf8View => write_str(out, array.as_string_view().value(row)),
        DataType::Dictionary(key, _) => {
            let dict = array.as_any_dictionary();
            let index = match key.as_ref() {
                DataType::UInt16 => dict.keys().as_primitive::<UInt16Type>().value(row) as usize,
                DataType::UInt32 => dict.keys().as_primitive::<UInt32Type>().value(row) as usize,
                DataType::Int32 => dict.keys().as_primitive::<Int32Type>().value(row) as usize,
                _ => return write_display(out, array, row),
            };
            write_value(out, dict.values().as_ref(), index);
        }
        DataType::Timestamp(unit, tz) => {
            let v = match unit {
                TimeUnit::Second => array.as_primitive::<TimestampSecondType>().value(row),
                TimeUnit::Millisecond => {
                    array.as_primitive::<TimestampMillisecondType>().value(row)
                }
                TimeUnit::Microsecond => {
                    array.as_primitive::<TimestampMicrosecondType>().value(row)
                }
                TimeUnit::Nanosecond => array.as_primitive::<TimestampNanosecondType>().value(row),
            };
            let at = match unit {
                TimeUnit::Second => DateTime::from_timestamp(v, 0),
                TimeUnit::Millisecond => DateTime::from_timestamp_millis(v),
                TimeUnit::Microsecond => DateTime::from_timestamp_micros(v),
                TimeUnit::Nanosecond => Some(DateTime::from_timestamp_nanos(v)),
            };
            match (at, tz) {
                (Some(at), Some(_)) => {
                    write_str(out, &at.to_rfc3339_opts(SecondsFormat::AutoSi, true))
                }
                // No time zone: a wall-clock time, written without an offset.
                (Some(at), None) => write_str(
                    out,
                    &at.naive_utc().format("%Y-%m-%dT%H:%M:%S%.f").to_string(),
                ),
                (None, _) => out.extend_from_slice(b"null"),
            }
        }
        DataType::Date32 => {
            let days = array.as_primitive::<Date32Type>().value(row);
            match DateTime::from_timestamp(i64::from(days) * 86_400, 0) {
                Some(d) => write_str(out, &d.date_naive().to_string()),
                None => out.extend_from_slice(b"null"),
            }
        }
        DataType::Date64 => {
            let ms = array.as_primitive::<Date64Type>().value(row);
            match DateTime::from_timestamp_millis(ms) {
                Some(d) => write_str(out, &d.date_naive().to_string()),
                None => out.extend_from_slice(b"null"),
            }
        }
        DataType::List(_) => write_list(out, array.as_list::<i32>().value(row).as_ref()),
        DataType::LargeList(_) => write_list(out, array.as_list::<i64>().value(row).as_ref()),
        DataType::FixedSizeList(_, _) => {
            write_list(out, array.as_fixed_size_list().value(row).as_ref())
        }
        DataType::Struct(fields) => {
            let s = array.as_struct();
            out.push(b'{');
            for (i, (field, column)) in fields.iter().zip(s.columns()).enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(out, field.name());
                out.push(b':');
                write_value(out, column.as_ref(), row);
            }
            out.push(b'}');
        }
        _ => write_display(out, array, row),
    }
}

fn write_list(out: &mut Vec<u8>, values: &dyn Array) {
    out.push(b'[');
    for i in 0..values.len() {
        if i > 0 {
            out.push(b',');
        }
        write_value(out, values, i);
    }
    out.push(b']');
}

fn write_display(out: &mut Vec<u8>, array: &dyn Array, row: usize) {
    match ArrayFormatter::try_new(array, &FormatOptions::default()) {
        Ok(f) => write_str(out, &f.value(row).to_string()),
        Err(_) => out.extend_from_slice(b"null"),
    }
}

fn write_f64(out: &mut Vec<u8>, v: f64) {
    // serde_json writes NaN and infinities as null, everything else exactly.
    serde_json::to_writer(&mut *out, &v).expect("writing to a Vec cannot fail");
}

/// Appends `s` as a JSON string.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    serde_json::to_writer(&mut *out, s).expect("writing to a Vec cannot fail");
}

/// `array` in its compact in-memory form: strings that repeat become a
/// dictionary (UInt16 keys below 65,536 distinct values, else UInt32), lists
/// of strings intern their items, string views and large strings become
/// plain strings. Values are unchanged.
pub fn compact(array: ArrayRef) -> ArrayRef {
    match array.data_type() {
        DataType::Utf8View | DataType::LargeUtf8 => match cast(&array, &DataType::Utf8) {
            Ok(plain) => compact(plain),
            Err(_) => array,
        },
        DataType::Utf8 => intern_strings(array),
        DataType::List(_) => compact_list::<i32>(array.as_list::<i32>()).unwrap_or(array),
        DataType::LargeList(_) => compact_list::<i64>(array.as_list::<i64>()).unwrap_or(array),
        _ => array,
    }
}

fn compact_list<O: OffsetSizeTrait>(list: &GenericListArray<O>) -> Option<ArrayRef> {
    let values = compact(list.values().clone());
    if values.data_type() == list.values().data_type() {
        return None;
    }
    let field = Arc::new(arrow::datatypes::Field::new(
        "item",
        values.data_type().clone(),
        true,
    ));
    GenericListArray::<O>::try_new(field, list.offsets().clone(), values, list.nulls().cloned())
        .ok()
        .map(|l| Arc::new(l) as ArrayRef)
}

fn intern_strings(array: ArrayRef) -> ArrayRef {
    let strings: &StringArray = array.as_string::<i32>();
    let total_bytes = strings.values().len();
    let mut distinct: HashSet<&str> = HashSet::new();
    let mut distinct_bytes = 0usize;
    for s in strings.iter().flatten() {
        if distinct.insert(s) {
            distinct_bytes += s.len();
            // Mostly distinct values (ids, free text): interning only costs.
            if distinct.len() > strings.len() / 2 + 1 {
                return array;
            }
        }
    }
    let key = if distinct.len() < usize::from(u16::MAX) {
        DataType::UInt16
    } else {
        DataType::UInt32
    };
    let key_bytes = if key == DataType::UInt16 { 2 } else { 4 };
    // Plain: 4-byte offsets and every value's bytes; interned: a key per row,
    // the distinct values once.
    let plain = 4 * strings.len() + total_bytes;
    let interned = key_bytes * strings.len() + 4 * distinct.len() + distinct_bytes;
    if interned >= plain {
        return array;
    }
    cast(
        &array,
        &DataType::Dictionary(Box::new(key), Box::new(DataType::Utf8)),
    )
    .unwrap_or(array)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{
        BooleanArray, Date32Array, Decimal128Array, Float64Array, Int64Array, ListArray,
        StringViewArray, StructArray, TimestampMicrosecondArray,
    };
    use arrow::datatypes::Field;

    fn json(array: &dyn Array, row: usize) -> String {
        let mut out = Vec::new();
        write_value(&mut out, array, row);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn each_arrow_type_has_its_json_form() {
        assert_eq!(json(&Int64Array::from(vec![Some(-7), None]), 0), "-7");
        assert_eq!(json(&Int64Array::from(vec![Some(-7), None]), 1), "null");
        assert_eq!(json(&Float64Array::from(vec![0.1, f64::NAN]), 0), "0.1");
        assert_eq!(json(&Float64Array::from(vec![0.1, f64::NAN]), 1), "null");
        assert_eq!(json(&BooleanArray::from(vec![true]), 0), "true");
        let money = Decimal128Array::from(vec![123450, -5])
            .with_precision_and_scale(18, 2)
            .unwrap();
        assert_eq!(json(&money, 0), "\"1234.50\"");
        assert_eq!(json(&money, 1), "\"-0.05\"");
        let ts = TimestampMicrosecondArray::from(vec![1_795_000_000_123_456]).with_timezone("UTC");
        assert_eq!(json(&ts, 0), "\"2026-11-18T11:06:40.123456Z\"");
        let whole =
            TimestampMicrosecondArray::from(vec![1_795_000_000_000_000]).with_timezone("UTC");
        assert_eq!(json(&whole, 0), "\"2026-11-18T11:06:40Z\"");
        assert_eq!(json(&Date32Array::from(vec![20_000]), 0), "\"2024-10-04\"");
        assert_eq!(json(&StringArray::from(vec!["a\"b\n"]), 0), r#""a\"b\n""#);
        assert_eq!(json(&StringViewArray::from(vec!["view"]), 0), "\"view\"");
        let list = ListArray::from_iter_primitive::<Int64Type, _, _>(vec![
            Some(vec![Some(1), None]),
            None,
        ]);
        assert_eq!(json(&list, 0), "[1,null]");
        assert_eq!(json(&list, 1), "null");
        let s = StructArray::from(vec![(
            Arc::new(Field::new("k", DataType::Utf8, true)),
            Arc::new(StringArray::from(vec!["v"])) as ArrayRef,
        )]);
        assert_eq!(json(&s, 0), r#"{"k":"v"}"#);
    }

    #[test]
    fn repeated_strings_are_interned_and_read_the_same() {
        let values: Vec<Option<&str>> = (0..1000)
            .map(|i| match i % 4 {
                0 => None,
                1 => Some("store_SZ001_qr"),
                2 => Some("pkg_card_2026q4"),
                _ => Some("livestream_双11"),
            })
            .collect();
        let plain: ArrayRef = Arc::new(StringArray::from(values.clone()));
        let compacted = compact(plain.clone());
        assert!(
            matches!(compacted.data_type(), DataType::Dictionary(k, _) if **k == DataType::UInt16)
        );
        assert!(compacted.get_array_memory_size() < plain.get_array_memory_size());
        for row in 0..values.len() {
            assert_eq!(json(compacted.as_ref(), row), json(plain.as_ref(), row));
        }
    }

    #[test]
    fn distinct_strings_stay_plain() {
        let ids: ArrayRef = Arc::new(StringArray::from(
            (0..100).map(|i| format!("OID{i:012}")).collect::<Vec<_>>(),
        ));
        assert_eq!(compact(ids).data_type(), &DataType::Utf8);
    }

    #[test]
    fn lists_of_strings_intern_their_items() {
        let mut builder = arrow::array::ListBuilder::new(arrow::array::StringBuilder::new());
        for i in 0..500 {
            if i % 5 == 0 {
                builder.append_null();
            } else {
                builder.values().append_value("mini_program");
                builder
                    .values()
                    .append_value(if i % 2 == 0 { "ios" } else { "android" });
                builder.append(true);
            }
        }
        let plain: ArrayRef = Arc::new(builder.finish());
        let compacted = compact(plain.clone());
        assert_ne!(compacted.data_type(), plain.data_type());
        for row in 0..plain.len() {
            assert_eq!(json(compacted.as_ref(), row), json(plain.as_ref(), row));
        }
    }
}
