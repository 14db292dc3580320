//! Running the world: persons in fixed blocks, blocks split into contiguous
//! ranges per worker thread, each worker writing its own part files, parts
//! concatenated in order. Block boundaries (not thread count) decide where
//! held-back retries land, so the bytes do not depend on the thread count.

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::ids::MAX_PERSONS;
use crate::sink::{Counts, PersonLines, SourceOut};
use crate::truth::{self, Owned};
use crate::world::{Ctx, Src, World, HOUSEHOLD_GROUP};
use crate::{life, GenerateError, SourceCounts, WorldConfig, WorldSummary};

/// Persons per block (a multiple of the household group size).
pub const BLOCK: u64 = 8192;
const _: () = assert!(matches!(BLOCK % HOUSEHOLD_GROUP, 0));

const IDENTIFIERS_HEADER: &str = "person_id,id_type,id_value\n";
const REVENUE_HEADER: &str = "person_id,net_revenue_fen,orders_paid,orders_refunded\n";
const SHARED_HEADER: &str = "id_type,id_value,reason\n";

/// The files one worker writes; index = `Src as usize`, then truth files.
const OUTPUTS: [&str; 6] = [
    "online.jsonl",
    "offline.jsonl",
    "ad.jsonl",
    "transaction.jsonl",
    "truth/identifiers.csv",
    "truth/revenue.csv",
];

struct WorkerResult {
    counts: [Counts; 4],
    truth_rows: u64,
    store_phones_used: u64,
}

pub fn generate(config: &WorldConfig, out_dir: &Path) -> Result<WorldSummary, GenerateError> {
    // Two cores is the target machine; more threads only help on bigger ones.
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8) as u64;
    generate_with_threads(config, out_dir, threads)
}

pub(crate) fn generate_with_threads(
    config: &WorldConfig,
    out_dir: &Path,
    threads: u64,
) -> Result<WorldSummary, GenerateError> {
    let started = Instant::now();
    if config.days == 0 {
        return Err(GenerateError::InvalidConfig(
            "days must be at least 1".into(),
        ));
    }
    if config.persons > MAX_PERSONS {
        return Err(GenerateError::InvalidConfig(format!(
            "{} persons exceed the {MAX_PERSONS} the identifier spaces hold without reuse",
            config.persons
        )));
    }
    let truth_dir = out_dir.join("truth");
    fs::create_dir_all(&truth_dir).map_err(|e| GenerateError::io(&truth_dir, e))?;
    let world = World::new(config);
    let blocks = config.persons.div_ceil(BLOCK);
    let threads = threads.min(blocks).max(1);
    let done = AtomicU64::new(0);
    tracing::info!(persons = config.persons, seed = config.seed, threads, out = %out_dir.display(), "generating world");

    let part = |w: u64, name: &str| out_dir.join(format!("{name}.part{w}"));
    let results: Vec<Result<WorkerResult, GenerateError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|w| {
                let first = blocks * w / threads;
                let last = blocks * (w + 1) / threads;
                let paths: Vec<PathBuf> = OUTPUTS.iter().map(|n| part(w, n)).collect();
                let (world, done) = (&world, &done);
                scope.spawn(move || worker(world, first..last, &paths, w == 0, done))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(Err(GenerateError::WorkerPanicked)))
            .collect()
    });

    let mut counts = [Counts::default(); 4];
    let mut truth_rows = 0;
    let mut store_phones_used = 0u64;
    for r in results {
        let r = r?;
        for (c, rc) in counts.iter_mut().zip(r.counts) {
            c.add(rc);
        }
        truth_rows += r.truth_rows;
        store_phones_used |= r.store_phones_used;
    }
    for name in OUTPUTS {
        let parts: Vec<PathBuf> = (0..threads).map(|w| part(w, name)).collect();
        concatenate(&parts, &out_dir.join(name))?;
    }
    write_shared(
        &world,
        store_phones_used,
        &truth_dir.join("shared_identifiers.csv"),
    )?;

    let mut sources: Vec<SourceCounts> = Src::ALL
        .iter()
        .map(|&s| {
            let c = counts[s as usize];
            SourceCounts {
                source: s.name().to_string(),
                path: OUTPUTS[s as usize].to_string(),
                lines: c.lines,
                malformed: c.malformed,
                duplicates: c.duplicates,
            }
        })
        .collect();
    sources.sort_by(|a, b| a.source.cmp(&b.source));
    let summary = WorldSummary {
        persons: config.persons,
        seed: config.seed,
        sources,
        truth_identifiers: truth_rows,
        elapsed_ms: started.elapsed().as_millis() as u64,
    };
    let path = truth_dir.join("summary.json");
    let json = serde_json::to_vec_pretty(&summary).expect("summary serialises");
    fs::write(&path, json).map_err(|e| GenerateError::io(&path, e))?;
    tracing::info!(
        elapsed_ms = summary.elapsed_ms,
        truth_identifiers = truth_rows,
        "world written"
    );
    Ok(summary)
}

fn worker(
    world: &World,
    blocks: std::ops::Range<u64>,
    paths: &[PathBuf],
    first_worker: bool,
    done: &AtomicU64,
) -> Result<WorkerResult, GenerateError> {
    let mut outs = Vec::with_capacity(4);
    for p in &paths[..4] {
        outs.push(SourceOut::create(p.clone())?);
    }
    let mut identifiers = TextOut::create(&paths[4])?;
    let mut revenue = TextOut::create(&paths[5])?;
    if first_worker {
        identifiers
            .buf
            .extend_from_slice(IDENTIFIERS_HEADER.as_bytes());
        revenue.buf.extend_from_slice(REVENUE_HEADER.as_bytes());
    }
    let mut lines: [PersonLines; 4] = Default::default();
    let mut scratch = Vec::with_capacity(2048);
    let mut truth_rows = 0;
    let mut store_phones_used = 0;
    let total = world.persons.max(1);
    for block in blocks {
        let from = block * BLOCK;
        let to = (from + BLOCK).min(world.persons);
        for pid in from..to {
            let mut ctx = Ctx::new(world, pid, &mut lines, scratch);
            life::simulate(&mut ctx);
            let me = &ctx.me;
            let owned = Owned {
                anon: &me.anon,
                openid: &me.openid,
                unionid: &me.unionid,
                member_id: &me.member_id,
                wecom: &me.wecom,
                email: &me.email,
                phones: &me.phones,
                device: &me.device,
                tablet: ctx.tablet.as_ref().map(|t| (t.anon.as_str(), &t.device)),
            };
            truth_rows += truth::write_identifiers(&mut identifiers.buf, pid, ctx.mask, &owned);
            if ctx.revenue.has_transactions {
                truth::write_revenue(&mut revenue.buf, pid, &ctx.revenue);
            }
            store_phones_used |= ctx.store_phones_used;
            scratch = std::mem::take(&mut ctx.line);
            drop(ctx);
            for (out, l) in outs.iter_mut().zip(lines.iter_mut()) {
                out.write_person(l)?;
            }
            identifiers.flush_if_large()?;
            revenue.flush_if_large()?;
        }
        for out in &mut outs {
            out.end_block()?;
        }
        let before = done.fetch_add(to - from, Ordering::Relaxed);
        let after = before + (to - from);
        if after * 10 / total != before * 10 / total {
            tracing::info!(
                persons_done = after,
                of = world.persons,
                "generating: {}%",
                after * 100 / total
            );
        }
    }
    let mut counts = [Counts::default(); 4];
    for (c, out) in counts.iter_mut().zip(outs) {
        *c = out.finish()?;
    }
    identifiers.finish()?;
    revenue.finish()?;
    Ok(WorkerResult {
        counts,
        truth_rows,
        store_phones_used,
    })
}

/// A CSV part file filled through a byte buffer.
struct TextOut {
    path: PathBuf,
    file: BufWriter<File>,
    buf: Vec<u8>,
}

impl TextOut {
    fn create(path: &Path) -> Result<Self, GenerateError> {
        let f = File::create(path).map_err(|e| GenerateError::io(path, e))?;
        Ok(Self {
            path: path.to_path_buf(),
            file: BufWriter::with_capacity(1 << 20, f),
            buf: Vec::with_capacity(1 << 16),
        })
    }
    fn flush_if_large(&mut self) -> Result<(), GenerateError> {
        if self.buf.len() >= 1 << 16 {
            self.file
                .write_all(&self.buf)
                .map_err(|e| GenerateError::io(&self.path, e))?;
            self.buf.clear();
        }
        Ok(())
    }
    fn finish(mut self) -> Result<(), GenerateError> {
        self.file
            .write_all(&self.buf)
            .map_err(|e| GenerateError::io(&self.path, e))?;
        self.file
            .flush()
            .map_err(|e| GenerateError::io(&self.path, e))
    }
}

/// Renames the first part into place and appends the others (`io::copy`
/// between files uses `copy_file_range` on Linux: no trip through user space).
fn concatenate(parts: &[PathBuf], dest: &Path) -> Result<(), GenerateError> {
    fs::rename(&parts[0], dest).map_err(|e| GenerateError::io(dest, e))?;
    if parts.len() == 1 {
        return Ok(());
    }
    let mut out = OpenOptions::new()
        .append(true)
        .open(dest)
        .map_err(|e| GenerateError::io(dest, e))?;
    for p in &parts[1..] {
        let mut input = File::open(p).map_err(|e| GenerateError::io(p, e))?;
        std::io::copy(&mut input, &mut out).map_err(|e| GenerateError::io(dest, e))?;
        fs::remove_file(p).map_err(|e| GenerateError::io(p, e))?;
    }
    Ok(())
}

/// `truth/shared_identifiers.csv`: every household tablet (2–4 users) and
/// every store phone typed for walk-ins in an accepted line.
fn write_shared(world: &World, store_phones_used: u64, path: &Path) -> Result<(), GenerateError> {
    let mut buf = Vec::from(SHARED_HEADER.as_bytes());
    for group in 0..world.persons.div_ceil(HOUSEHOLD_GROUP) {
        if let Some(t) = world.household(group) {
            truth::write_shared_device(&mut buf, &t.anon, &t.device, "household_tablet");
        }
    }
    for (i, store) in world.stores.iter().enumerate() {
        if store_phones_used & (1 << i) != 0 {
            truth::write_shared_phone(
                &mut buf,
                &crate::ids::Phone::new(store.phone),
                "store_phone",
            );
        }
    }
    fs::write(path, buf).map_err(|e| GenerateError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_does_not_depend_on_the_thread_count() {
        let config = WorldConfig {
            persons: BLOCK * 2 + 100,
            seed: 9,
            ..WorldConfig::default()
        };
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let sa = generate_with_threads(&config, a.path(), 1).unwrap();
        let sb = generate_with_threads(&config, b.path(), 3).unwrap();
        for name in OUTPUTS
            .iter()
            .copied()
            .chain(["truth/shared_identifiers.csv"])
        {
            let x = fs::read(a.path().join(name)).unwrap();
            assert!(!x.is_empty());
            assert!(
                x == fs::read(b.path().join(name)).unwrap(),
                "{name} depends on the thread count"
            );
        }
        assert_eq!(sa.truth_identifiers, sb.truth_identifiers);
        // No part files are left behind.
        let leftovers: Vec<_> = fs::read_dir(b.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".part"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn refuses_an_empty_calendar() {
        let dir = tempfile::tempdir().unwrap();
        let err = generate(
            &WorldConfig {
                days: 0,
                ..WorldConfig::default()
            },
            dir.path(),
        )
        .unwrap_err();
        assert!(matches!(err, GenerateError::InvalidConfig(_)));
    }

    #[test]
    fn zero_persons_gives_empty_sources_with_headers() {
        let dir = tempfile::tempdir().unwrap();
        let s = generate(
            &WorldConfig {
                persons: 0,
                ..WorldConfig::default()
            },
            dir.path(),
        )
        .unwrap();
        assert!(s.sources.iter().all(|c| c.lines == 0));
        let ids = fs::read_to_string(dir.path().join("truth/identifiers.csv")).unwrap();
        assert_eq!(ids, IDENTIFIERS_HEADER);
    }
}
