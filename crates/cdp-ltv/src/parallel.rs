//! Sums over many rows on a few threads, reproducibly.
//!
//! Rows are cut into blocks whose boundaries depend only on the number of
//! rows, each block is summed in order, and the block sums are added in block
//! order: the result is the same bits whatever the number of threads, so a
//! fit gives identical parameters on a laptop and on a server.

use std::num::NonZeroUsize;
use std::thread;

/// At most this many blocks; more would only add thread hand-offs.
const MAX_BLOCKS: usize = 64;
/// Blocks are at least this long, so small inputs are not split at all.
const MIN_BLOCK_ROWS: usize = 8 * 1024;

/// Threads to use when the caller says 0: what the machine offers.
pub fn default_threads() -> usize {
    thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

/// `Σ block(rows[i..j])` over fixed blocks, element-wise, on up to `threads`
/// threads.
pub fn sum_blocks<T: Sync, const N: usize>(
    rows: &[T],
    threads: usize,
    block: impl Fn(&[T]) -> [f64; N] + Sync,
) -> [f64; N] {
    let blocks = rows.len().div_ceil(MIN_BLOCK_ROWS).clamp(1, MAX_BLOCKS);
    let block_len = rows.len().div_ceil(blocks).max(1);
    let chunks: Vec<&[T]> = rows.chunks(block_len).collect();
    let threads = threads.clamp(1, chunks.len().max(1));
    let mut partial = vec![[0.0; N]; chunks.len()];
    if threads == 1 {
        for (out, chunk) in partial.iter_mut().zip(&chunks) {
            *out = block(chunk);
        }
    } else {
        // Thread k takes blocks k, k + threads, …: equal shares of equal blocks.
        let block = &block;
        let chunks = &chunks;
        let results: Vec<Vec<(usize, [f64; N])>> = thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|k| {
                    scope.spawn(move || {
                        (k..chunks.len())
                            .step_by(threads)
                            .map(|i| (i, block(chunks[i])))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a likelihood thread panicked"))
                .collect()
        });
        for (i, sums) in results.into_iter().flatten() {
            partial[i] = sums;
        }
    }
    let mut total = [0.0; N];
    for sums in &partial {
        for (t, s) in total.iter_mut().zip(sums) {
            *t += s;
        }
    }
    total
}

/// Runs `work(offset, share)` on contiguous shares of `items` on up to
/// `threads` threads; `offset` is the share's first index. Results land in
/// place.
pub fn for_each_chunk<T: Send>(
    items: &mut [T],
    threads: usize,
    work: impl Fn(usize, &mut [T]) + Sync,
) {
    let threads = threads.clamp(1, items.len().div_ceil(MIN_BLOCK_ROWS).max(1));
    if threads == 1 {
        work(0, items);
        return;
    }
    let share = items.len().div_ceil(threads);
    let work = &work;
    thread::scope(|scope| {
        for (i, chunk) in items.chunks_mut(share).enumerate() {
            scope.spawn(move || work(i * share, chunk));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_are_the_same_bits_on_any_number_of_threads() {
        // Values whose sum depends on the order of addition.
        let rows: Vec<f64> = (0..300_000)
            .map(|i| 1.0 / (1.0 + i as f64).powf(1.3) * if i % 3 == 0 { -1e3 } else { 1.0 })
            .collect();
        let sum = |threads| {
            sum_blocks(&rows, threads, |chunk| {
                [chunk.iter().sum::<f64>(), chunk.len() as f64]
            })
        };
        let one = sum(1);
        assert_eq!(one[1], 300_000.0);
        for threads in [2, 3, 8, 100] {
            assert_eq!(sum(threads), one, "{threads} threads");
        }
    }

    #[test]
    fn empty_input_sums_to_zero() {
        let rows: Vec<f64> = Vec::new();
        assert_eq!(sum_blocks(&rows, 4, |c| [c.len() as f64]), [0.0]);
    }

    #[test]
    fn for_each_chunk_visits_every_element_once() {
        let mut items: Vec<u64> = (0..100_000).collect();
        for_each_chunk(&mut items, 2, |offset, chunk| {
            for (i, v) in chunk.iter_mut().enumerate() {
                assert_eq!(*v, (offset + i) as u64);
                *v *= 2;
            }
        });
        assert!(items.iter().enumerate().all(|(i, v)| *v == 2 * i as u64));
    }
}
