//! Where generated lines go. A person's lines are collected per source,
//! sorted by event time and written in one go; producer retries
//! (duplicates) are either re-sent shortly after the original or held back
//! until the end of the current block of persons, i.e. thousands of lines
//! later in the file.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use crate::GenerateError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Accepted,
    Duplicate,
    /// A duplicate re-sent only at the end of the block.
    LateDuplicate,
    Malformed,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    key: i64,
    start: u32,
    end: u32,
    kind: LineKind,
}

/// One person's lines of one source, before sorting.
#[derive(Default)]
pub struct PersonLines {
    buf: Vec<u8>,
    entries: Vec<Entry>,
}

impl PersonLines {
    /// Appends `line` (no trailing newline) to be written at time `key`.
    pub fn push(&mut self, key: i64, line: &[u8], kind: LineKind) -> (u32, u32) {
        let start = self.buf.len() as u32;
        self.buf.extend_from_slice(line);
        let end = self.buf.len() as u32;
        self.entries.push(Entry {
            key,
            start,
            end,
            kind,
        });
        (start, end)
    }

    /// Another delivery of bytes already pushed (a producer retry).
    pub fn push_again(&mut self, key: i64, span: (u32, u32), kind: LineKind) {
        self.entries.push(Entry {
            key,
            start: span.0,
            end: span.1,
            kind,
        });
    }

    #[cfg(test)]
    pub fn bytes(&self, span: (u32, u32)) -> &[u8] {
        &self.buf[span.0 as usize..span.1 as usize]
    }

    pub fn clear(&mut self) {
        self.buf.clear();
        self.entries.clear();
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub lines: u64,
    pub malformed: u64,
    pub duplicates: u64,
}

impl Counts {
    pub fn add(&mut self, o: Counts) {
        self.lines += o.lines;
        self.malformed += o.malformed;
        self.duplicates += o.duplicates;
    }
}

/// One worker's output file for one source.
pub struct SourceOut {
    path: PathBuf,
    writer: BufWriter<File>,
    late: Vec<u8>,
    pub counts: Counts,
}

impl SourceOut {
    pub fn create(path: PathBuf) -> Result<Self, GenerateError> {
        let file = File::create(&path).map_err(|e| GenerateError::io(&path, e))?;
        Ok(Self {
            writer: BufWriter::with_capacity(1 << 20, file),
            path,
            late: Vec::new(),
            counts: Counts::default(),
        })
    }

    /// Writes a person's lines in time order (ties keep generation order).
    pub fn write_person(&mut self, lines: &mut PersonLines) -> Result<(), GenerateError> {
        lines.entries.sort_by_key(|e| e.key);
        for e in &lines.entries {
            let bytes = &lines.buf[e.start as usize..e.end as usize];
            self.counts.lines += 1;
            match e.kind {
                LineKind::Accepted => {}
                LineKind::Duplicate => self.counts.duplicates += 1,
                LineKind::Malformed => self.counts.malformed += 1,
                LineKind::LateDuplicate => {
                    self.counts.duplicates += 1;
                    self.late.extend_from_slice(bytes);
                    self.late.push(b'\n');
                    continue;
                }
            }
            self.writer
                .write_all(bytes)
                .map_err(|err| GenerateError::io(&self.path, err))?;
            self.writer
                .write_all(b"\n")
                .map_err(|err| GenerateError::io(&self.path, err))?;
        }
        lines.clear();
        Ok(())
    }

    /// Releases the held-back retries at the end of a block.
    pub fn end_block(&mut self) -> Result<(), GenerateError> {
        self.writer
            .write_all(&self.late)
            .map_err(|e| GenerateError::io(&self.path, e))?;
        self.late.clear();
        Ok(())
    }

    pub fn finish(mut self) -> Result<Counts, GenerateError> {
        self.end_block()?;
        self.writer
            .flush()
            .map_err(|e| GenerateError::io(&self.path, e))?;
        Ok(self.counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_sorted_and_defers_late_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.jsonl");
        let mut out = SourceOut::create(path.clone()).unwrap();
        let mut p = PersonLines::default();
        let b = p.push(20, b"b", LineKind::Accepted);
        p.push(10, b"a", LineKind::Accepted);
        p.push(15, b"bad", LineKind::Malformed);
        p.push_again(21, b, LineKind::Duplicate);
        p.push_again(22, b, LineKind::LateDuplicate);
        out.write_person(&mut p).unwrap();
        let c = p.push(5, b"c", LineKind::Accepted);
        assert_eq!(p.bytes(c), b"c");
        out.write_person(&mut p).unwrap();
        let counts = out.finish().unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "a\nbad\nb\nb\nc\nb\n"
        );
        assert_eq!(
            counts,
            Counts {
                lines: 6,
                malformed: 1,
                duplicates: 2
            }
        );
    }
}
