//! Reading the report back (its `data-chart` figures and `data-figure`
//! values) and reading lake tables straight from Parquet, without DataFusion
//! or the report's SQL.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use arrow::array::{AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// One chart of the page.
#[derive(Debug)]
pub struct ChartFigure {
    pub id: String,
    pub bars: usize,
    /// The reason it is empty (`data-empty`), for a chart without data.
    pub empty: Option<String>,
    /// The figure's markup.
    pub markup: String,
}

/// The value of `attr="…"` in `tag` (an element's opening tag).
pub fn attribute(tag: &str, attr: &str) -> Option<String> {
    let start = tag.find(&format!(" {attr}=\""))? + attr.len() + 3;
    let end = tag[start..].find('"')? + start;
    Some(unescape(&tag[start..end]))
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Every `<figure … data-chart=…>` of the page, in order.
pub fn charts(html: &str) -> Vec<ChartFigure> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<figure ") {
        let end = rest[start..].find("</figure>").expect("a closed figure") + start;
        let markup = &rest[start..end];
        let tag = &markup[..markup.find('>').unwrap()];
        if let Some(id) = attribute(tag, "data-chart") {
            out.push(ChartFigure {
                id,
                bars: attribute(tag, "data-bars").unwrap().parse().unwrap(),
                empty: attribute(tag, "data-empty"),
                markup: markup.to_string(),
            });
        }
        rest = &rest[end..];
    }
    out
}

/// Every `data-figure` of the page with its `data-value`.
pub fn figures(html: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = html;
    while let Some(at) = rest.find("<td ") {
        let tag_end = rest[at..].find('>').unwrap() + at;
        let tag = &rest[at..tag_end];
        if let (Some(key), Some(value)) =
            (attribute(tag, "data-figure"), attribute(tag, "data-value"))
        {
            assert!(out.insert(key.clone(), value).is_none(), "{key} twice");
        }
        rest = &rest[tag_end..];
    }
    out
}

/// Every `.parquet` file below `dir`.
pub fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(parquet_files(&path));
        } else if path.extension().is_some_and(|e| e == "parquet") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The rows of the given files.
pub fn read(files: &[PathBuf]) -> Vec<RecordBatch> {
    let mut batches = Vec::new();
    for file in files {
        let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(file).unwrap())
            .unwrap()
            .build()
            .unwrap();
        for batch in reader {
            batches.push(batch.unwrap());
        }
    }
    batches
}

/// The files `builds/current.json` lists for `table`.
pub fn build_files(lake_dir: &Path, table: &str) -> Vec<PathBuf> {
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(lake_dir.join("builds/current.json")).unwrap())
            .unwrap();
    manifest["tables"][table]
        .as_array()
        .map(|files| {
            files
                .iter()
                .map(|f| lake_dir.join(f.as_str().unwrap()))
                .collect()
        })
        .unwrap_or_default()
}

pub fn texts(batches: &[RecordBatch], column: &str) -> Vec<Option<String>> {
    batches
        .iter()
        .flat_map(|b| {
            let c = cast(b.column_by_name(column).unwrap(), &DataType::Utf8).unwrap();
            c.as_string::<i32>()
                .iter()
                .map(|v| v.map(str::to_string))
                .collect::<Vec<_>>()
        })
        .collect()
}

pub fn ints(batches: &[RecordBatch], column: &str) -> Vec<Option<i64>> {
    batches
        .iter()
        .flat_map(|b| {
            let c = cast(b.column_by_name(column).unwrap(), &DataType::Int64).unwrap();
            c.as_primitive::<Int64Type>().iter().collect::<Vec<_>>()
        })
        .collect()
}

pub fn floats(batches: &[RecordBatch], column: &str) -> Vec<Option<f64>> {
    batches
        .iter()
        .flat_map(|b| {
            let c = cast(b.column_by_name(column).unwrap(), &DataType::Float64).unwrap();
            c.as_primitive::<Float64Type>().iter().collect::<Vec<_>>()
        })
        .collect()
}

/// Rows of the files, by their metadata.
pub fn row_count(files: &[PathBuf]) -> u64 {
    files
        .iter()
        .map(|f| {
            let builder =
                ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(f).unwrap()).unwrap();
            builder.metadata().file_metadata().num_rows() as u64
        })
        .sum()
}
