//! Backfills from JSONL files (plain or `.gz`), one JSON object per line.
//!
//! A reader thread cuts the input into chunks of whole lines; worker
//! threads, one per core, normalise chunks straight into Arrow column
//! builders; the async side takes the normalised chunks in input order
//! (dedup keeps the first copy, as a sequential read would) and writes. A
//! fixed number of chunks is in flight at once, so memory stays flat.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cdp_lake::event_writer::EventWriterOptions;
use cdp_lake::{IngestReport, Lake, RowOrigin};
use cdp_model::{Normaliser, SourceFormat, SourceKind};
use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

use crate::error::{IngestError, Result};
use crate::sink::{ChunkNormaliser, LakeSink, NormalisedChunk};
use cdp_config::PipelineConfig;

/// Bytes of input per chunk: large enough that handing a chunk between
/// threads costs nothing per record and that each partition's rows in a
/// chunk are a long run (input exported per customer spreads every chunk
/// over every day), small enough to keep memory flat.
const CHUNK_BYTES: usize = 16 << 20;
/// The input reader's buffer.
const READ_BYTES: usize = 1 << 20;
/// Chunks in flight (read, being normalised, or waiting for their turn at
/// the writer) per worker.
const CHUNKS_PER_WORKER: usize = 2;

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
    Ok(Box::new(BufReader::with_capacity(READ_BYTES, reader)))
}

/// Whole lines of one input, numbered from `first_line`.
struct RawChunk {
    seq: u64,
    input: usize,
    first_line: i64,
    bytes: Vec<u8>,
    /// Held until the chunk is recorded: bounds the chunks in flight.
    permit: OwnedSemaphorePermit,
}

struct Normalised {
    seq: u64,
    chunk: NormalisedChunk,
    _permit: OwnedSemaphorePermit,
}

/// Reads every input in order and cuts it into chunks of whole lines.
fn read_inputs(
    inputs: &[InputSpec],
    chunk_bytes: usize,
    tx: &std::sync::mpsc::SyncSender<RawChunk>,
    window: &Arc<Semaphore>,
    runtime: &tokio::runtime::Handle,
    progress: &ProgressBar,
) -> Result<()> {
    let mut seq = 0;
    for (index, input) in inputs.iter().enumerate() {
        let mut reader = open_lines(&input.path)?;
        let mut carry: Vec<u8> = Vec::new();
        let mut lines_before = 0i64;
        loop {
            let mut bytes = Vec::with_capacity(chunk_bytes + carry.len() + 64 * 1024);
            bytes.append(&mut carry);
            let mut eof = false;
            // Fill to chunk_bytes, and on until a line ends.
            while !eof && (bytes.len() < chunk_bytes || memchr::memrchr(b'\n', &bytes).is_none()) {
                // Reads of at least the reader's buffer go straight into
                // the chunk, without a copy through that buffer (nor zeroing
                // the chunk first).
                let want = if bytes.len() < chunk_bytes {
                    chunk_bytes - bytes.len()
                } else {
                    READ_BYTES.min(chunk_bytes)
                };
                let n = (&mut reader)
                    .take(want as u64)
                    .read_to_end(&mut bytes)
                    .map_err(|source| IngestError::Input {
                        path: input.path.clone(),
                        line: lines_before as u64 + 1,
                        source,
                    })?;
                eof = n < want;
                progress.inc(n as u64);
            }
            if bytes.is_empty() {
                break;
            }
            if !eof {
                let cut = memchr::memrchr(b'\n', &bytes).map_or(bytes.len(), |i| i + 1);
                carry.extend_from_slice(&bytes[cut..]);
                bytes.truncate(cut);
            }
            let lines = memchr::memchr_iter(b'\n', &bytes).count() as i64
                + i64::from(!bytes.ends_with(b"\n"));
            let Ok(permit) = runtime.block_on(window.clone().acquire_owned()) else {
                return Ok(()); // closed: the writer stopped; its error is reported
            };
            let chunk = RawChunk {
                seq,
                input: index,
                first_line: lines_before + 1,
                bytes,
                permit,
            };
            if tx.send(chunk).is_err() {
                return Ok(());
            }
            seq += 1;
            lines_before += lines;
            if eof {
                break;
            }
        }
    }
    Ok(())
}

/// Normalises chunks until the reader is done.
fn normalise_chunks(
    inputs: &[InputSpec],
    origins: &[String],
    normaliser: Normaliser,
    rx: &Mutex<std::sync::mpsc::Receiver<RawChunk>>,
    tx: &mpsc::Sender<Result<Normalised>>,
) {
    let mut chunks = ChunkNormaliser::new(normaliser);
    loop {
        let next = rx.lock().map(|rx| rx.recv());
        let Ok(Ok(raw)) = next else {
            return; // the reader is done (or died: its error is reported)
        };
        let format = &inputs[raw.input].format;
        let origin = &origins[raw.input];
        let mut start = 0;
        let ends = memchr::memchr_iter(b'\n', &raw.bytes).chain([raw.bytes.len()]);
        for (line_no, end) in (raw.first_line..).zip(ends) {
            let record = raw.bytes[start..end].trim_ascii();
            start = (end + 1).min(raw.bytes.len());
            // A blank line carries no record: nothing to account for.
            if record.is_empty() {
                continue;
            }
            chunks.push(
                format,
                record,
                RowOrigin {
                    origin,
                    partition: None,
                    offset: line_no,
                },
            );
        }
        let done = chunks.finish().map(|chunk| Normalised {
            seq: raw.seq,
            chunk,
            _permit: raw.permit,
        });
        if tx.blocking_send(done).is_err() {
            return;
        }
    }
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
        ..Default::default()
    }
}

/// Ingests `inputs` into the lake and stores the report.
pub async fn ingest_files(
    lake: &Lake,
    config: &PipelineConfig,
    inputs: Vec<InputSpec>,
) -> Result<IngestReport> {
    ingest_files_in_chunks(lake, config, inputs, CHUNK_BYTES).await
}

async fn ingest_files_in_chunks(
    lake: &Lake,
    config: &PipelineConfig,
    inputs: Vec<InputSpec>,
    chunk_bytes: usize,
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
    // Lines of the reference sources average some 400 bytes: sizing the
    // dedup index for one event per 512 bytes spares most of its rebuilds.
    sink.reserve_events((total_bytes / 512) as usize);

    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let window = Arc::new(Semaphore::new(workers * CHUNKS_PER_WORKER));
    let (raw_tx, raw_rx) = std::sync::mpsc::sync_channel::<RawChunk>(workers);
    let raw_rx = Arc::new(Mutex::new(raw_rx));
    let (tx, mut rx) = mpsc::channel::<Result<Normalised>>(workers * CHUNKS_PER_WORKER);
    let inputs = Arc::new(inputs);
    let origins: Arc<Vec<String>> = Arc::new(
        inputs
            .iter()
            .map(|i| i.path.display().to_string())
            .collect(),
    );
    let reader = {
        let (inputs, window, progress) = (inputs.clone(), window.clone(), progress.clone());
        let runtime = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            read_inputs(&inputs, chunk_bytes, &raw_tx, &window, &runtime, &progress)
        })
    };
    for _ in 0..workers {
        let (inputs, origins, rx, tx) =
            (inputs.clone(), origins.clone(), raw_rx.clone(), tx.clone());
        let normaliser = normaliser.clone();
        std::thread::Builder::new()
            .name("cdp-normalise".into())
            .spawn(move || normalise_chunks(&inputs, &origins, normaliser, &rx, &tx))
            .map_err(|e| IngestError::Internal(format!("cannot start a worker thread: {e}")))?;
    }
    drop(tx);

    // Chunks are recorded in input order, whichever worker finishes first.
    let mut waiting: BTreeMap<u64, Normalised> = BTreeMap::new();
    let mut next_seq = 0;
    let mut records = 0u64;
    let mut last_log = Instant::now();
    let recorded = async {
        while let Some(done) = rx.recv().await {
            let done = done?;
            waiting.insert(done.seq, done);
            while let Some(done) = waiting.remove(&next_seq) {
                records += done.chunk.len() as u64;
                sink.record_chunk(done.chunk).await?;
                next_seq += 1;
            }
            if progress.is_hidden() && last_log.elapsed() > Duration::from_secs(10) {
                tracing::info!(records, "ingest progress");
                last_log = Instant::now();
            }
        }
        Ok::<_, IngestError>(())
    }
    .await;
    // On a failure, stop the reader and the workers before reporting it.
    window.close();
    drop(rx);
    recorded?;
    reader
        .await
        .map_err(|e| IngestError::Internal(format!("reader thread failed: {e}")))??;
    if !waiting.is_empty() {
        return Err(IngestError::Internal(format!(
            "{} normalised chunks were never recorded",
            waiting.len()
        )));
    }
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

    /// (provenance_offset, event_id or reason) of every row of a table.
    async fn provenance(lake: &Lake, table: &str, column: &str) -> Vec<(i64, String)> {
        use arrow::array::AsArray;
        let mut out = Vec::new();
        for f in lake.list(table).await.unwrap() {
            let bytes = lake.get(&f).await.unwrap();
            for b in cdp_lake::parquet_io::decode(&f, bytes, None).unwrap() {
                let offsets = b
                    .column_by_name("provenance_offset")
                    .unwrap()
                    .as_primitive::<arrow::datatypes::Int64Type>();
                let text = b.column_by_name(column).unwrap().as_string::<i32>();
                out.extend(
                    (0..b.num_rows()).map(|i| (offsets.value(i), text.value(i).to_string())),
                );
            }
        }
        out.sort();
        out
    }

    /// Lines cut into chunks anywhere keep their line numbers, whatever the
    /// chunk size: blank lines, a line longer than a chunk, no final newline.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn chunked_reads_keep_line_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("online.jsonl");
        let long = "x".repeat(300);
        let lines = [
            r#"{"event_id":"a","event":"page_view","ts":1763620385123}"#.to_string(),
            String::new(),
            "not json".to_string(),
            format!(
                r#"{{"event_id":"b","event":"page_view","ts":1763620385124,"properties":{{"p":"{long}"}}}}"#
            ),
            "   ".to_string(),
            r#"{"event_id":"a","event":"page_view","ts":1763620385125}"#.to_string(),
            r#"{"event_id":"c","event":"page_view","ts":1763620385126}"#.to_string(),
        ];
        std::fs::write(&input, lines.join("\n")).unwrap();
        let config = PipelineConfig::default();
        let spec =
            || vec![InputSpec::parse(&format!("online={}", input.display()), &config).unwrap()];
        for chunk_bytes in [1, 17, 64, 1 << 20] {
            let lake = Lake::open(
                dir.path()
                    .join(format!("lake{chunk_bytes}"))
                    .to_str()
                    .unwrap(),
            )
            .unwrap();
            let report = ingest_files_in_chunks(&lake, &config, spec(), chunk_bytes)
                .await
                .unwrap();
            let online = &report.sources[0];
            assert_eq!(
                (
                    online.received,
                    online.accepted,
                    online.duplicates,
                    online.dead_lettered
                ),
                (5, 3, 1, 1),
                "{chunk_bytes}"
            );
            let events = provenance(&lake, "events", "event_id").await;
            let expected = [(1, "a".to_string()), (4, "b".into()), (7, "c".into())];
            assert_eq!(events, expected, "{chunk_bytes}");
            let dead = provenance(&lake, "dlq", "reason").await;
            assert_eq!(dead.len(), 1);
            assert_eq!(dead[0].0, 3, "{chunk_bytes}");
        }
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
