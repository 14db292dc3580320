//! Buffered events spilled to a local temp file when they outgrow the
//! writer's memory budget, so that memory stays flat while each partition
//! still becomes one file. Batches are Arrow IPC streams, written and read
//! back without re-encoding; the file is deleted when dropped.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::StreamWriter;

use crate::error::{LakeError, Result};
use crate::schema::EVENTS_TABLE;

/// Where one spilled batch is in the spill file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SpillRef {
    offset: u64,
    len: u64,
}

pub(crate) struct SpillFile {
    // Removes the file when the spill is dropped.
    _dir: tempfile::TempDir,
    path: PathBuf,
    file: Arc<File>,
    len: u64,
}

impl SpillFile {
    /// A new, empty spill file in `dir` (the system temp folder if `None`).
    pub(crate) fn create(dir: Option<&Path>) -> Result<Self> {
        let base = dir.map_or_else(std::env::temp_dir, Path::to_path_buf);
        let spill_err = |source| LakeError::Spill {
            path: base.clone(),
            source,
        };
        let tmp = tempfile::Builder::new()
            .prefix("cdp-spill-")
            .tempdir_in(&base)
            .map_err(spill_err)?;
        let path = tmp.path().join("events.arrows");
        let file = File::options()
            .create_new(true)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(spill_err)?;
        Ok(Self {
            _dir: tmp,
            path,
            file: Arc::new(file),
            len: 0,
        })
    }

    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Appends `batch`; the returned reference reads it back.
    pub(crate) fn append(&mut self, batch: &RecordBatch) -> Result<SpillRef> {
        let arrow_err = |source| LakeError::Arrow {
            table: EVENTS_TABLE,
            source,
        };
        let mut bytes = Vec::with_capacity(batch.get_array_memory_size() + 4096);
        let mut writer = StreamWriter::try_new(&mut bytes, &batch.schema()).map_err(arrow_err)?;
        writer.write(batch).map_err(arrow_err)?;
        writer.finish().map_err(arrow_err)?;
        drop(writer);
        (&*self.file)
            .write_all(&bytes)
            .map_err(|source| LakeError::Spill {
                path: self.path.clone(),
                source,
            })?;
        let r = SpillRef {
            offset: self.len,
            len: bytes.len() as u64,
        };
        self.len += r.len;
        Ok(r)
    }

    /// A handle that reads spilled batches from another thread.
    pub(crate) fn reader(&self) -> SpillReader {
        SpillReader {
            path: self.path.clone(),
            file: self.file.clone(),
        }
    }
}

pub(crate) struct SpillReader {
    path: PathBuf,
    file: Arc<File>,
}

impl SpillReader {
    pub(crate) fn read(&self, r: &SpillRef) -> Result<RecordBatch> {
        let mut bytes = vec![0; r.len as usize];
        self.file
            .read_exact_at(&mut bytes, r.offset)
            .map_err(|source| LakeError::Spill {
                path: self.path.clone(),
                source,
            })?;
        let arrow_err = |source| LakeError::Arrow {
            table: EVENTS_TABLE,
            source,
        };
        let mut reader =
            StreamReader::try_new(std::io::Cursor::new(bytes), None).map_err(arrow_err)?;
        match reader.next() {
            Some(batch) => batch.map_err(arrow_err),
            None => Err(LakeError::Spill {
                path: self.path.clone(),
                source: std::io::Error::other("a spilled batch is missing"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    #[test]
    fn spilled_batches_read_back_equal() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int64, false),
            Field::new("b", DataType::Utf8, true),
        ]));
        let batch = |n: i64| {
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(Int64Array::from_iter_values(0..n)),
                    Arc::new(StringArray::from_iter(
                        (0..n).map(|i| (i % 3 != 0).then(|| format!("v{i}"))),
                    )),
                ],
            )
            .unwrap()
        };
        let dir = tempfile::tempdir().unwrap();
        let mut spill = SpillFile::create(Some(dir.path())).unwrap();
        let (one, two) = (batch(5), batch(1000));
        let r1 = spill.append(&one).unwrap();
        let r2 = spill.append(&two).unwrap();
        let reader = spill.reader();
        assert_eq!(reader.read(&r2).unwrap(), two);
        assert_eq!(reader.read(&r1).unwrap(), one);
        drop(reader);
        drop(spill);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "spill removed"
        );
    }
}
