//! Purchases → one [`Rfm`] per customer, following contract §6: purchases on
//! the same calendar day are one transaction (their amounts summed);
//! frequency = purchase days − 1; recency = days from the first to the last
//! purchase day; age = days from the first purchase day to the as-of day;
//! monetary = mean spend over the repeat purchase days (the first day
//! excluded); all times divided by the unit's days.
//!
//! Sorting is the whole cost. Customer keys are usually dense (`one_key`s are
//! allocated 1, 2, 3, …), so a radix sort by customer followed by a check
//! (rarely a tiny sort) of each customer's few purchases is linear; sparse
//! keys fall back to one comparison sort. Either way the result does not
//! depend on the order of the input: a day's amounts are added in ascending
//! order.

use std::ops::Range;
use std::thread;

use crate::parallel::default_threads;
use crate::{LtvError, Rfm, TimeUnit};

/// One purchase: a paid order (or a day's net spend) of a customer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Purchase {
    /// The customer (`one_key` in the pipeline).
    pub customer: i64,
    /// Days since 1970-01-01 (UTC) of the purchase.
    pub day: i32,
    /// Amount paid.
    pub amount: f64,
}

/// Customers with their histories, ascending by customer key; `customers[i]`
/// has history `rfm[i]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomerSummaries {
    pub customers: Vec<i64>,
    pub rfm: Vec<Rfm>,
}

impl CustomerSummaries {
    pub fn len(&self) -> usize {
        self.customers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.customers.is_empty()
    }
}

/// Summarises `purchases` as of the end of `as_of_day` (days since the
/// epoch): purchases after it are ignored, and customers without a purchase
/// on or before it are left out. May reorder `purchases`. An amount that is
/// not finite is refused, naming its position. Uses every core.
pub fn summarise(
    purchases: &mut [Purchase],
    as_of_day: i32,
    unit: TimeUnit,
) -> Result<CustomerSummaries, LtvError> {
    let mut range: Option<(i64, i64)> = None;
    let mut kept = 0;
    for (index, p) in purchases.iter().enumerate() {
        if !p.amount.is_finite() {
            return Err(LtvError::Purchase {
                index,
                reason: format!("amount {} is not a number", p.amount),
            });
        }
        if p.day <= as_of_day {
            kept += 1;
            range = Some(range.map_or((p.customer, p.customer), |(lo, hi)| {
                (lo.min(p.customer), hi.max(p.customer))
            }));
        }
    }
    let Some((min_key, max_key)) = range else {
        return Ok(CustomerSummaries::default());
    };
    // i128: the range of two i64 keys may not fit an i64.
    let key_range = (max_key as i128 - min_key as i128) as u128;
    if key_range < 2 * kept as u128 + 1024 && kept < u32::MAX as usize {
        let dense = Dense {
            min_key,
            keys: key_range as usize + 1,
            as_of_day,
            unit,
        };
        return Ok(dense.summarise(purchases, kept, default_threads()));
    }
    // Sparse keys: move the purchases that count to the front and sort them.
    let mut front = 0;
    for i in 0..purchases.len() {
        if purchases[i].day <= as_of_day {
            purchases.swap(front, i);
            front += 1;
        }
    }
    let purchases = &mut purchases[..front];
    purchases.sort_unstable_by(|a, b| {
        a.customer
            .cmp(&b.customer)
            .then(a.day.cmp(&b.day))
            .then(a.amount.total_cmp(&b.amount))
    });
    let mut out = Summariser::new(as_of_day, unit);
    for customer in purchases.chunk_by(|a, b| a.customer == b.customer) {
        out.customer(
            customer[0].customer,
            customer.iter().map(|p| (p.day, p.amount)),
        );
    }
    Ok(out.summaries)
}

/// Keys are grouped in buckets of 2^12 consecutive keys.
const BUCKET_BITS: u32 = 12;
const BUCKET_KEYS: usize = 1 << BUCKET_BITS;

/// A purchase in its key's bucket.
#[derive(Debug, Clone, Copy, Default)]
struct Staged {
    /// The key's offset in its bucket.
    offset: u32,
    day: i32,
    amount: f64,
}

/// Dense keys `min_key .. min_key + keys`: a two-pass radix sort by key.
/// The first pass spreads purchases over buckets of 4096 keys (few enough
/// write streams to stay cache- and TLB-friendly); the second sorts each
/// bucket by key inside a cache-sized scratch buffer, and its customers are
/// summarised straight from there. Buckets are shared out between threads.
/// Both passes are stable, so a date-ordered input leaves every customer's
/// purchases in day order and their final sort is a mere check.
struct Dense {
    min_key: i64,
    keys: usize,
    as_of_day: i32,
    unit: TimeUnit,
}

impl Dense {
    fn summarise(&self, purchases: &[Purchase], kept: usize, threads: usize) -> CustomerSummaries {
        let counted = |p: &&Purchase| p.day <= self.as_of_day;
        let slot = |p: &Purchase| (p.customer - self.min_key) as usize;
        let buckets = (self.keys >> BUCKET_BITS) + 1;
        // starts[b] = first position of bucket b in `staged`.
        let mut starts = vec![0usize; buckets + 1];
        for p in purchases.iter().filter(counted) {
            starts[(slot(p) >> BUCKET_BITS) + 1] += 1;
        }
        for b in 0..buckets {
            starts[b + 1] += starts[b];
        }
        let mut staged = vec![Staged::default(); kept];
        let mut cursor = starts.clone();
        for p in purchases.iter().filter(counted) {
            let s = slot(p);
            let at = &mut cursor[s >> BUCKET_BITS];
            staged[*at] = Staged {
                offset: (s & (BUCKET_KEYS - 1)) as u32,
                day: p.day,
                amount: p.amount,
            };
            *at += 1;
        }
        // Contiguous bucket ranges with about equal numbers of purchases.
        let threads = threads.clamp(1, kept.div_ceil(1 << 16));
        let mut bounds = vec![0];
        for t in 1..threads {
            let target = kept * t / threads;
            bounds.push(starts.partition_point(|&s| s < target).min(buckets));
        }
        bounds.push(buckets);
        let (staged, starts) = (&staged, &starts);
        let parts: Vec<CustomerSummaries> = if threads == 1 {
            vec![self.buckets(staged, starts, 0..buckets)]
        } else {
            thread::scope(|scope| {
                let handles: Vec<_> = bounds
                    .windows(2)
                    .map(|w| scope.spawn(move || self.buckets(staged, starts, w[0]..w[1])))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("a summary thread panicked"))
                    .collect()
            })
        };
        let mut out = CustomerSummaries::default();
        for part in parts {
            out.customers.extend(part.customers);
            out.rfm.extend(part.rfm);
        }
        out
    }

    /// Sorts each bucket of the range by key and summarises its customers.
    fn buckets(
        &self,
        staged: &[Staged],
        starts: &[usize],
        range: Range<usize>,
    ) -> CustomerSummaries {
        let mut out = Summariser::new(self.as_of_day, self.unit);
        let mut ends = vec![0u32; BUCKET_KEYS + 1];
        let mut scratch: Vec<(i32, f64)> = Vec::new();
        for bucket in range {
            let entries = &staged[starts[bucket]..starts[bucket + 1]];
            if entries.is_empty() {
                continue;
            }
            // Counting sort by offset; ends[k] ends as the end of key k.
            ends.fill(0);
            for e in entries {
                ends[e.offset as usize + 1] += 1;
            }
            for k in 0..BUCKET_KEYS {
                ends[k + 1] += ends[k];
            }
            scratch.resize(entries.len(), (0, 0.0));
            for e in entries {
                let at = &mut ends[e.offset as usize];
                scratch[*at as usize] = (e.day, e.amount);
                *at += 1;
            }
            let first_key = self.min_key + (bucket << BUCKET_BITS) as i64;
            let mut start = 0;
            for (offset, &end) in ends[..BUCKET_KEYS].iter().enumerate() {
                let end = end as usize;
                if start == end {
                    continue;
                }
                let history = &mut scratch[start..end];
                let in_order =
                    |a: &(i32, f64), b: &(i32, f64)| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1));
                if !history.is_sorted_by(|a, b| in_order(a, b).is_le()) {
                    history.sort_unstable_by(in_order);
                }
                out.customer(first_key + offset as i64, history.iter().copied());
                start = end;
            }
        }
        out.summaries
    }
}

struct Summariser {
    as_of_day: i32,
    unit_days: f64,
    summaries: CustomerSummaries,
}

impl Summariser {
    fn new(as_of_day: i32, unit: TimeUnit) -> Self {
        Self {
            as_of_day,
            unit_days: unit.days(),
            summaries: CustomerSummaries::default(),
        }
    }

    /// One customer's purchases, ascending by day.
    fn customer(&mut self, customer: i64, purchases: impl Iterator<Item = (i32, f64)>) {
        let mut purchases = purchases.peekable();
        let Some(&(first_day, _)) = purchases.peek() else {
            return;
        };
        let mut last_day = first_day;
        let mut repeat_days = 0u32;
        let mut repeat_spend = 0.0;
        for (day, amount) in purchases {
            if day == first_day {
                continue;
            }
            if day != last_day {
                repeat_days += 1;
                last_day = day;
            }
            repeat_spend += amount;
        }
        let frequency = f64::from(repeat_days);
        self.summaries.customers.push(customer);
        self.summaries.rfm.push(Rfm {
            frequency,
            recency: f64::from(last_day - first_day) / self.unit_days,
            age: f64::from(self.as_of_day - first_day) / self.unit_days,
            monetary: if repeat_days > 0 {
                repeat_spend / frequency
            } else {
                0.0
            },
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(customer: i64, day: i32, amount: f64) -> Purchase {
        Purchase {
            customer,
            day,
            amount,
        }
    }

    #[test]
    fn same_day_purchases_are_one_transaction_and_the_first_day_is_not_spend() {
        let mut purchases = vec![
            p(7, 100, 10.0),
            p(7, 100, 5.0),
            p(7, 103, 20.0),
            p(7, 103, 2.0),
            p(7, 110, 8.0),
        ];
        let s = summarise(&mut purchases, 114, TimeUnit::Day).unwrap();
        assert_eq!(s.customers, vec![7]);
        assert_eq!(
            s.rfm[0],
            Rfm {
                frequency: 2.0,
                recency: 10.0,
                age: 14.0,
                monetary: 15.0
            }
        );
        let w = summarise(&mut purchases, 114, TimeUnit::Week).unwrap();
        assert_eq!(w.rfm[0].recency, 10.0 / 7.0);
        assert_eq!(w.rfm[0].age, 2.0);
    }

    #[test]
    fn purchases_after_the_as_of_day_do_not_count() {
        let mut purchases = vec![p(1, 10, 1.0), p(1, 20, 2.0), p(2, 21, 3.0), p(1, 21, 4.0)];
        let s = summarise(&mut purchases, 20, TimeUnit::Day).unwrap();
        assert_eq!(s.customers, vec![1]);
        assert_eq!(s.rfm[0].frequency, 1.0);
        assert_eq!(s.rfm[0].monetary, 2.0);
        assert_eq!(s.rfm[0].age, 10.0);
    }

    #[test]
    fn a_single_purchase_day_has_zero_frequency_recency_and_spend() {
        let mut purchases = vec![p(3, 5, 9.0), p(3, 5, 1.0)];
        let s = summarise(&mut purchases, 5, TimeUnit::Day).unwrap();
        assert_eq!(
            s.rfm,
            vec![Rfm {
                frequency: 0.0,
                recency: 0.0,
                age: 0.0,
                monetary: 0.0
            }]
        );
    }

    #[test]
    fn dense_and_sparse_keys_give_the_same_histories() {
        // The same purchases under dense keys (counting sort) and spread-out
        // keys (comparison sort), in a scrambled order.
        let mut dense = Vec::new();
        for i in 0..5_000i64 {
            let k = (i * 7919) % 5_000;
            dense.push(p(
                k,
                (k % 97) as i32 + (i % 13) as i32,
                (i % 17) as f64 + 0.25,
            ));
        }
        let mut sparse: Vec<Purchase> = dense
            .iter()
            .map(|q| p(q.customer * 1_000_003 - 4_000_000_000, q.day, q.amount))
            .collect();
        let d = summarise(&mut dense, 60, TimeUnit::Week).unwrap();
        let s = summarise(&mut sparse, 60, TimeUnit::Week).unwrap();
        assert!(!d.is_empty());
        assert_eq!(d.rfm, s.rfm);
        let mapped: Vec<i64> = d
            .customers
            .iter()
            .map(|k| k * 1_000_003 - 4_000_000_000)
            .collect();
        assert_eq!(mapped, s.customers);
    }

    #[test]
    fn the_input_order_does_not_change_a_single_bit() {
        let mut purchases: Vec<Purchase> = (0..2_000)
            .map(|i| {
                p(
                    i % 50,
                    (i % 7) as i32,
                    0.1 * (i % 11) as f64 + 1e-3 * i as f64,
                )
            })
            .collect();
        let forward = summarise(&mut purchases.clone(), 10, TimeUnit::Day).unwrap();
        purchases.reverse();
        let backward = summarise(&mut purchases, 10, TimeUnit::Day).unwrap();
        assert_eq!(forward, backward);
    }

    #[test]
    fn the_number_of_threads_does_not_change_the_summary() {
        // Enough purchases (and buckets) for several threads, in date order.
        let mut purchases: Vec<Purchase> = (0..400_000i64)
            .map(|i| {
                p(
                    (i * 7_919) % 150_000 + 10,
                    (i / 1_000) as i32,
                    (i % 13) as f64,
                )
            })
            .collect();
        let dense = Dense {
            min_key: 10,
            keys: 150_000,
            as_of_day: 350,
            unit: TimeUnit::Day,
        };
        let kept = purchases.iter().filter(|q| q.day <= 350).count();
        let one = dense.summarise(&purchases, kept, 1);
        assert_eq!(one.len(), 150_000);
        for threads in [2, 3, 7] {
            assert_eq!(
                dense.summarise(&purchases, kept, threads),
                one,
                "{threads} threads"
            );
        }
        assert_eq!(summarise(&mut purchases, 350, TimeUnit::Day).unwrap(), one);
    }

    #[test]
    fn extreme_keys_do_not_overflow() {
        let mut purchases = vec![
            p(i64::MIN, 1, 1.0),
            p(i64::MAX, 1, 1.0),
            p(i64::MAX, 2, 3.0),
        ];
        let s = summarise(&mut purchases, 2, TimeUnit::Day).unwrap();
        assert_eq!(s.customers, vec![i64::MIN, i64::MAX]);
        assert_eq!(s.rfm[1].monetary, 3.0);
    }

    #[test]
    fn a_non_finite_amount_is_refused_by_position() {
        let mut purchases = vec![p(1, 1, 1.0), p(1, 2, f64::NAN)];
        let error = summarise(&mut purchases, 5, TimeUnit::Day).unwrap_err();
        assert!(
            matches!(error, LtvError::Purchase { index: 1, .. }),
            "{error}"
        );
    }

    #[test]
    fn no_purchases_no_customers() {
        assert!(summarise(&mut [], 0, TimeUnit::Day).unwrap().is_empty());
        assert!(summarise(&mut [p(1, 9, 1.0)], 8, TimeUnit::Day)
            .unwrap()
            .is_empty());
    }
}
