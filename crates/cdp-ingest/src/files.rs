//! Backfills from JSONL files (plain or `.gz`), one JSON object per line.
//!
//! A reader thread reads and normalises; the async side writes. They meet in
//! a bounded channel of chunks, so memory stays flat and both cores work.

use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cdp_lake::event_writer::EventWriterOptions;
use cdp_lake::{DeadLetter, IngestReport, Lake};
use cdp_model::{Normaliser, Provenance, SourceFormat, SourceKind};
use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::mpsc;

use crate::error::{IngestError, Result};
use crate::sink::{LakeSink, Outcome};
use cdp_config::PipelineConfig;

/// Records per chunk handed from the reader to the writer.
const CHUNK: usize = 4096;
/// Chunks in flight between them.
const CHANNEL_CHUNKS: usize = 8;

/// One `--input KIND=PATH`.
#[derive(Debug, Clone)]
pub struct InputSpec {
    pub format: SourceFormat,
    pub path: PathBuf,
}

impl InputSpec {
    /// The four reference source files of a folder laid out as `cdp generate`
    /// writes it: `online.jsonl`, `offline.jsonl`, `ad.jsonl`, `transaction.jsonl`.
    pub fn reference_files(dir: &Path) -> Vec<Self> {
        SourceKind::ALL
            .iter()
            .map(|k| Self {
                format: SourceFormat::Reference(*k),
                path: dir.join(format!("{k}.jsonl")),
            })
            .collect()
    }

    /// Parses `KIND=PATH`, where KIND is a reference source or a mapped source
    /// of the config.
    pub fn parse(spec: &str, config: &PipelineConfig) -> Result<Self> {
        let (kind, path) = spec.split_once('=').ok_or_else(|| IngestError::InputSpec {
            spec: spec.into(),
            reason: "expected KIND=PATH, e.g. online=events.jsonl".into(),
        })?;
        let format = config.format(kind).ok_or_else(|| IngestError::InputSpec {
            spec: spec.into(),
            reason: format!(
                "unknown source {kind:?}: expected online, offline, ad, transaction or a mapped_source of the config"
            ),
        })?;
        let path = PathBuf::from(path);
        if !path.is_file() {
            return Err(IngestError::InputSpec {
                spec: spec.into(),
                reason: format!("{} is not a file", path.display()),
            });
        }
        Ok(Self { format, path })
    }
}

pub(crate) fn open_lines(path: &Path) -> Result<Box<dyn BufRead + Send>> {
    let file = File::open(path).map_err(|source| IngestError::Input {
        path: path.into(),
        line: 0,
        source,
    })?;
    let reader: Box<dyn Read + Send> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    Ok(Box::new(BufReader::with_capacity(1 << 20, reader)))
}

type Chunk = Vec<Outcome>;

/// Reads and normalises every input in order, sending chunks to `tx`.
fn read_inputs(
    inputs: &[InputSpec],
    normaliser: &Normaliser,
    tx: &mpsc::Sender<Chunk>,
    progress: &ProgressBar,
) -> Result<()> {
    for input in inputs {
        let source = input.format.source_name().to_string();
        let origin = input.path.display().to_string();
        let mut lines = open_lines(&input.path)?;
        let mut buf = Vec::with_capacity(4096);
        let mut chunk = Vec::with_capacity(CHUNK);
        let mut line_no = 0i64;
        loop {
            buf.clear();
            let n = lines
                .read_until(b'\n', &mut buf)
                .map_err(|source| IngestError::Input {
                    path: input.path.clone(),
                    line: line_no as u64 + 1,
                    source,
                })?;
            if n == 0 {
                break;
            }
            line_no += 1;
            progress.inc(n as u64);
            let raw = buf.trim_ascii();
            // A blank line carries no record: nothing to account for.
            if raw.is_empty() {
                continue;
            }
            let provenance = Provenance::file_line(origin.clone(), line_no);
            let outcome = match normaliser.normalise(&input.format, raw, &provenance) {
                Ok(event) => Outcome::Normalised(event),
                Err(rejection) => Outcome::Rejected(DeadLetter {
                    source: source.clone(),
                    raw: raw.to_vec(),
                    reason: rejection.reason,
                    field: rejection.field,
                    provenance,
                }),
            };
            chunk.push(outcome);
            if chunk.len() == CHUNK {
                let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
                if tx.blocking_send(full).is_err() {
                    return Ok(()); // the writer stopped; its error is reported
                }
            }
        }
        if !chunk.is_empty() && tx.blocking_send(chunk).is_err() {
            return Ok(());
        }
    }
    Ok(())
}

fn progress_bar(total_bytes: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total_bytes);
    bar.set_style(
        ProgressStyle::with_template(
            "ingest {bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .expect("valid progress template"),
    );
    bar
}

/// The events writer's limits from the `[writer]` section.
pub fn writer_options(writer: &cdp_config::WriterConfig) -> EventWriterOptions {
    EventWriterOptions {
        max_rows_per_file: writer.max_rows_per_file,
        max_buffered_bytes: writer.max_buffered_mib << 20,
    }
}

/// Ingests `inputs` into the lake and stores the report.
pub async fn ingest_files(
    lake: &Lake,
    config: &PipelineConfig,
    inputs: Vec<InputSpec>,
) -> Result<IngestReport> {
    let started_at = chrono::Utc::now();
    let run_id = started_at.format("%Y%m%dT%H%M%S%3fZ").to_string();
    let span = tracing::info_span!("ingest_files", run_id = %run_id, inputs = inputs.len());
    let _guard = span.enter();
    let normaliser = config.normaliser()?;
    let mut sink = LakeSink::open(lake, &run_id, writer_options(&config.writer)).await?;
    for input in &inputs {
        sink.expect_source(input.format.source_name());
    }
    let total_bytes = inputs
        .iter()
        .filter_map(|i| std::fs::metadata(&i.path).ok())
        .map(|m| m.len())
        .sum();
    let progress = progress_bar(total_bytes);

    let (tx, mut rx) = mpsc::channel::<Chunk>(CHANNEL_CHUNKS);
    let reader = {
        let inputs = inputs.clone();
        let progress = progress.clone();
        tokio::task::spawn_blocking(move || read_inputs(&inputs, &normaliser, &tx, &progress))
    };
    let mut records = 0u64;
    let mut last_log = Instant::now();
    while let Some(chunk) = rx.recv().await {
        for outcome in chunk {
            sink.record(outcome).await?;
            records += 1;
        }
        if progress.is_hidden() && last_log.elapsed() > Duration::from_secs(10) {
            tracing::info!(records, "ingest progress");
            last_log = Instant::now();
        }
    }
    reader
        .await
        .map_err(|e| IngestError::Internal(format!("reader thread failed: {e}")))??;
    sink.flush().await?;
    progress.finish_and_clear();

    let sources = sink.counts();
    let report = IngestReport {
        run_id,
        lake: lake.url().to_string(),
        inputs: inputs
            .iter()
            .map(|i| format!("{}={}", i.format.source_name(), i.path.display()))
            .collect(),
        started_at: started_at.to_rfc3339(),
        finished_at: chrono::Utc::now().to_rfc3339(),
        balanced: sources.iter().all(|s| s.balances()),
        sources,
        files_written: sink.files_written(),
    };
    report.store(lake).await?;
    tracing::info!(
        records,
        files = report.files_written,
        balanced = report.balanced,
        "ingest finished"
    );
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn gzip_and_plain_files_give_the_same_lines() {
        let dir = tempfile::tempdir().unwrap();
        let text = b"{\"a\":1}\n\n{\"b\":2}\n";
        let plain = dir.path().join("x.jsonl");
        std::fs::write(&plain, text).unwrap();
        let gz = dir.path().join("x.jsonl.gz");
        let mut enc =
            flate2::write::GzEncoder::new(File::create(&gz).unwrap(), flate2::Compression::fast());
        enc.write_all(text).unwrap();
        enc.finish().unwrap();
        let read = |p: &Path| {
            let mut s = String::new();
            open_lines(p).unwrap().read_to_string(&mut s).unwrap();
            s
        };
        assert_eq!(read(&gz), read(&plain));
        assert_eq!(read(&gz).as_bytes(), text);
    }

    #[test]
    fn an_input_spec_names_what_is_wrong() {
        let config = PipelineConfig::default();
        let err = InputSpec::parse("online", &config).unwrap_err().to_string();
        assert!(err.contains("KIND=PATH"), "{err}");
        let err = InputSpec::parse("pos=/nonexistent", &config)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown source \"pos\""), "{err}");
        let err = InputSpec::parse("online=/nonexistent/x.jsonl", &config)
            .unwrap_err()
            .to_string();
        assert!(err.contains("is not a file"), "{err}");
    }
}
