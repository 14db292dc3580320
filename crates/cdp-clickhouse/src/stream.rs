//! Streams lake files into one ClickHouse table as RowBinary INSERTs.
//!
//! A blocking thread reads each Parquet file batch by batch and encodes rows
//! into ~1 MiB chunks; the async side sends them as they come, one INSERT per
//! `batch_rows` rows. Memory stays flat: one file's compressed bytes, one
//! decoded batch, and the chunks of the INSERT in flight (kept until it
//! succeeds, to resend it after a transient error).
//!
//! An INSERT of at most `batch_rows` (≤ 1,048,576) rows is one server block:
//! it lands whole or not at all. After a transient failure the loader counts
//! the table's rows to learn which, and only resends when it did not land.

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use cdp_lake::Lake;
use clickhouse::Row;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::Deserialize;
use tokio::sync::mpsc;
use tracing::{debug, warn};

use crate::column_type::ChType;
use crate::error::ClickHouseError;
use crate::rowbinary::{RowEncoder, TargetColumn};
use crate::server::{quote_string, Server};

/// Bytes of RowBinary per chunk handed to the client.
const CHUNK_BYTES: usize = 1 << 20;
/// Chunks in flight between the encoder thread and the sender.
const CHANNEL_CHUNKS: usize = 8;
/// Rows decoded from Parquet at a time.
const DECODE_ROWS: usize = 16 * 1024;

/// What streaming a set of files did.
#[derive(Debug, Clone, Default)]
pub struct Streamed {
    pub files: usize,
    pub rows: u64,
    /// RowBinary bytes sent (before compression).
    pub bytes: u64,
    /// Lake columns the ClickHouse table has no column for (not loaded).
    pub ignored_columns: BTreeSet<String>,
}

enum Message {
    /// A new INSERT with these columns.
    Begin(Vec<String>),
    Chunk(Bytes),
    /// The INSERT is complete with this many rows.
    End(u64),
}

#[derive(Row, Deserialize)]
struct ColumnRow {
    name: String,
    #[serde(rename = "type")]
    ty: String,
    default_kind: String,
}

/// The columns of `table` as the server has them.
pub async fn target_columns(
    server: &Server,
    table: &str,
) -> Result<Vec<TargetColumn>, ClickHouseError> {
    let rows: Vec<ColumnRow> = server
        .fetch_all(&format!(
            "SELECT name, type, default_kind FROM system.columns WHERE database = {} AND table = {}",
            quote_string(&server.config.database),
            quote_string(table)
        ))
        .await?;
    rows.into_iter()
        .map(|r| {
            let ty = ChType::parse(&r.ty).map_err(|reason| ClickHouseError::Column {
                table: table.to_string(),
                column: r.name.clone(),
                file: "-".into(),
                reason,
            })?;
            Ok(TargetColumn {
                name: r.name,
                ty,
                has_default: !r.default_kind.is_empty(),
            })
        })
        .collect()
}

/// Streams `files` into `into` (a staging table holding `rows_before` rows),
/// each row stamped with `version`. `table` names the analysts' table in
/// errors.
pub async fn stream_files(
    server: &Server,
    lake: &Lake,
    table: &str,
    into: &str,
    files: Vec<String>,
    version: u64,
    rows_before: u64,
) -> Result<Streamed, ClickHouseError> {
    let columns = target_columns(server, into).await?;
    let (tx, mut rx) = mpsc::channel::<Message>(CHANNEL_CHUNKS);
    let producer = {
        let lake = lake.clone();
        let table = table.to_string();
        let batch_rows = server.settings.batch_rows as u64;
        let runtime = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            encode_files(
                &runtime, &lake, &table, &files, &columns, version, batch_rows, &tx,
            )
        })
    };

    let mut sent = Sender {
        server,
        into,
        committed: rows_before,
        columns: Vec::new(),
        chunks: Vec::new(),
        insert: None,
        failure: None,
        bytes: 0,
    };
    let mut consumer_result = Ok(());
    while let Some(message) = rx.recv().await {
        let step = match message {
            Message::Begin(columns) => {
                sent.begin(columns);
                Ok(())
            }
            Message::Chunk(chunk) => {
                sent.chunk(chunk).await;
                Ok(())
            }
            Message::End(rows) => sent.end(rows).await,
        };
        if let Err(e) = step {
            consumer_result = Err(e);
            break;
        }
    }
    drop(rx);
    let produced = producer.await.map_err(|e| ClickHouseError::State {
        table: table.to_string(),
        reason: format!("the encoder thread failed: {e}"),
    })?;
    consumer_result?;
    let mut streamed = produced?;
    streamed.bytes = sent.bytes;
    for column in &streamed.ignored_columns {
        warn!(%table, %column, "lake column has no ClickHouse column: not loaded (add it with a migration to load it)");
    }
    Ok(streamed)
}

/// The async side: one INSERT at a time, kept whole until it succeeded.
struct Sender<'a> {
    server: &'a Server,
    into: &'a str,
    /// Rows the table holds once every finished INSERT landed.
    committed: u64,
    columns: Vec<String>,
    chunks: Vec<Bytes>,
    insert: Option<clickhouse::insert_formatted::InsertFormatted>,
    failure: Option<clickhouse::error::Error>,
    bytes: u64,
}

impl Sender<'_> {
    fn sql(&self) -> String {
        let columns: Vec<String> = self.columns.iter().map(|c| crate::quote_ident(c)).collect();
        format!(
            "INSERT INTO {} ({}) FORMAT RowBinary",
            crate::quote_ident(self.into),
            columns.join(", ")
        )
    }

    fn new_insert(&self) -> clickhouse::insert_formatted::InsertFormatted {
        let settings = &self.server.settings;
        self.server
            .client
            .insert_formatted_with(self.sql())
            .with_timeouts(
                Some(Duration::from_secs(settings.send_timeout_secs)),
                Some(Duration::from_secs(settings.statement_timeout_secs)),
            )
    }

    fn begin(&mut self, columns: Vec<String>) {
        self.columns = columns;
        self.chunks.clear();
        self.failure = None;
        self.insert = Some(self.new_insert());
    }

    async fn chunk(&mut self, chunk: Bytes) {
        self.bytes += chunk.len() as u64;
        self.chunks.push(chunk.clone());
        if self.failure.is_some() {
            return;
        }
        if let Some(insert) = self.insert.as_mut() {
            if let Err(e) = insert.send(chunk).await {
                self.failure = Some(e);
            }
        }
    }

    async fn end(&mut self, rows: u64) -> Result<(), ClickHouseError> {
        let insert = self.insert.take().expect("End follows Begin");
        let first = match self.failure.take() {
            Some(e) => Err(e),
            None => insert.end().await,
        };
        let mut error = match first {
            Ok(()) => {
                self.committed += rows;
                return Ok(());
            }
            Err(e) => ClickHouseError::external(&self.server.config, &self.sql(), e),
        };
        let settings = self.server.settings.clone();
        let mut attempt = 1;
        loop {
            if !error.is_transient() || attempt >= settings.max_attempts {
                return Err(error);
            }
            let wait = crate::retry::backoff(&settings, attempt);
            warn!(table = self.into, rows, attempt, wait_ms = wait.as_millis() as u64, %error, "INSERT failed; checking what landed before retrying");
            tokio::time::sleep(wait).await;
            attempt += 1;
            let now = self.server.count_rows(self.into, None).await?;
            if now == self.committed + rows {
                debug!(table = self.into, "the failed INSERT had landed");
                self.committed = now;
                return Ok(());
            }
            if now != self.committed {
                return Err(ClickHouseError::State {
                    table: self.into.to_string(),
                    reason: format!(
                        "after a failed INSERT of {rows} rows the staging table holds {now} rows, \
                         expected {} or {}",
                        self.committed,
                        self.committed + rows
                    ),
                });
            }
            let mut insert = self.new_insert();
            let mut result = Ok(());
            for chunk in &self.chunks {
                result = insert.send(chunk.clone()).await;
                if result.is_err() {
                    break;
                }
            }
            let result = match result {
                Ok(()) => insert.end().await,
                Err(e) => Err(e),
            };
            match result {
                Ok(()) => {
                    self.committed += rows;
                    return Ok(());
                }
                Err(e) => error = ClickHouseError::external(&self.server.config, &self.sql(), e),
            }
        }
    }
}

/// The blocking side: Parquet → RowBinary chunks, INSERT boundaries every
/// `batch_rows` rows (and wherever the column list changes).
#[allow(clippy::too_many_arguments)]
fn encode_files(
    runtime: &tokio::runtime::Handle,
    lake: &Lake,
    table: &str,
    files: &[String],
    columns: &[TargetColumn],
    version: u64,
    batch_rows: u64,
    tx: &mpsc::Sender<Message>,
) -> Result<Streamed, ClickHouseError> {
    let mut streamed = Streamed::default();
    let mut current_columns: Option<Vec<String>> = None;
    let mut rows_in_insert = 0u64;
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK_BYTES + 64 * 1024);
    // A closed channel means the sender stopped on an error it reports itself.
    let send = |message: Message| tx.blocking_send(message).is_ok();

    for file in files {
        let bytes = runtime
            .block_on(lake.get(file))
            .map_err(|source| ClickHouseError::Lake {
                table: table.to_string(),
                source,
            })?;
        let parquet_err = |e: &dyn std::fmt::Display| ClickHouseError::Parquet {
            file: file.clone(),
            reason: e.to_string(),
        };
        let builder =
            ParquetRecordBatchReaderBuilder::try_new(bytes).map_err(|e| parquet_err(&e))?;
        let encoder = RowEncoder::bind(columns, builder.schema()).map_err(|(column, reason)| {
            ClickHouseError::Column {
                table: table.to_string(),
                column,
                file: file.clone(),
                reason,
            }
        })?;
        streamed
            .ignored_columns
            .extend(encoder.unused.iter().cloned());
        let names: Vec<String> = encoder
            .column_names()
            .into_iter()
            .map(String::from)
            .collect();
        if current_columns.as_ref().is_some_and(|c| *c != names) && rows_in_insert > 0 {
            if !flush(&mut buf, &send) || !send(Message::End(rows_in_insert)) {
                return Ok(streamed);
            }
            rows_in_insert = 0;
        }
        current_columns = Some(names);
        let reader = builder
            .with_batch_size(DECODE_ROWS)
            .build()
            .map_err(|e| parquet_err(&e))?;
        for batch in reader {
            let batch = batch.map_err(|e| parquet_err(&e))?;
            let rows = encoder
                .prepare(&batch, version)
                .map_err(|(column, reason)| ClickHouseError::Column {
                    table: table.to_string(),
                    column,
                    file: file.clone(),
                    reason,
                })?;
            for row in 0..rows.rows() {
                if rows_in_insert == 0 {
                    let columns = current_columns.clone().expect("set for this file");
                    if !send(Message::Begin(columns)) {
                        return Ok(streamed);
                    }
                }
                rows.write_row(row, &mut buf);
                rows_in_insert += 1;
                if buf.len() >= CHUNK_BYTES && !flush(&mut buf, &send) {
                    return Ok(streamed);
                }
                if rows_in_insert == batch_rows {
                    if !flush(&mut buf, &send) || !send(Message::End(rows_in_insert)) {
                        return Ok(streamed);
                    }
                    rows_in_insert = 0;
                }
            }
            streamed.rows += rows.rows() as u64;
        }
        streamed.files += 1;
    }
    if rows_in_insert > 0 && flush(&mut buf, &send) {
        send(Message::End(rows_in_insert));
    }
    Ok(streamed)
}

fn flush(buf: &mut Vec<u8>, send: &impl Fn(Message) -> bool) -> bool {
    if buf.is_empty() {
        return true;
    }
    let full = std::mem::replace(buf, Vec::with_capacity(CHUNK_BYTES + 64 * 1024));
    send(Message::Chunk(Bytes::from(full)))
}
