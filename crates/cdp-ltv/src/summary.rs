//! Purchases → one [`Rfm`] per customer, following contract §6: purchases on
//! the same calendar day are one transaction (their amounts summed);
//! frequency = purchase days − 1; recency = days from the first to the last
//! purchase day; age = days from the first purchase day to the as-of day;
//! monetary = mean spend over the repeat purchase days (the first day
//! excluded); all times divided by the unit's days.
//!
//! Sorting is the whole cost. Customer keys are usually dense (`one_key`s are
//! allocated 1, 2, 3, …), so a counting sort by customer followed by a tiny
//! sort of each customer's few purchases is linear; sparse keys fall back to
//! one comparison sort. Either way the result does not depend on the order of
//! the input: a day's amounts are added in ascending order.

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
/// on or before it are left out. Reorders `purchases` (it sorts them in
/// place). An amount that is not finite is refused, naming its position.
pub fn summarise(
    purchases: &mut [Purchase],
    as_of_day: i32,
    unit: TimeUnit,
) -> Result<CustomerSummaries, LtvError> {
    if let Some(index) = purchases.iter().position(|p| !p.amount.is_finite()) {
        return Err(LtvError::Purchase {
            index,
            reason: format!("amount {} is not a number", purchases[index].amount),
        });
    }
    // Move the purchases that count to the front.
    let mut kept = 0;
    for i in 0..purchases.len() {
        if purchases[i].day <= as_of_day {
            purchases.swap(kept, i);
            kept += 1;
        }
    }
    let purchases = &mut purchases[..kept];
    let Some((min_key, max_key)) = key_range(purchases) else {
        return Ok(CustomerSummaries::default());
    };
    let mut out = Summariser::new(as_of_day, unit);
    // i128: the range of two i64 keys may not fit an i64.
    let key_range = (max_key as i128 - min_key as i128) as u128;
    let dense = key_range < 2 * purchases.len() as u128 + 1024;
    if dense && purchases.len() < u32::MAX as usize {
        summarise_dense(purchases, min_key, key_range as usize + 1, &mut out);
    } else {
        purchases.sort_unstable_by(|a, b| {
            a.customer
                .cmp(&b.customer)
                .then(a.day.cmp(&b.day))
                .then(a.amount.total_cmp(&b.amount))
        });
        for customer in purchases.chunk_by(|a, b| a.customer == b.customer) {
            out.customer(
                customer[0].customer,
                customer.iter().map(|p| (p.day, p.amount)),
            );
        }
    }
    Ok(out.summaries)
}

fn key_range(purchases: &[Purchase]) -> Option<(i64, i64)> {
    purchases.iter().fold(None, |range, p| match range {
        None => Some((p.customer, p.customer)),
        Some((lo, hi)) => Some((lo.min(p.customer), hi.max(p.customer))),
    })
}

/// Counting sort by customer into a (day, amount) buffer, then each
/// customer's purchases sorted by day.
fn summarise_dense(purchases: &[Purchase], min_key: i64, keys: usize, out: &mut Summariser) {
    let slot = |p: &Purchase| (p.customer - min_key) as usize;
    // cursor[k] starts as the first position of key k and, once every
    // purchase is placed, ends as the position after its last one.
    let mut cursor = vec![0u32; keys + 1];
    for p in purchases {
        cursor[slot(p) + 1] += 1;
    }
    for i in 0..keys {
        cursor[i + 1] += cursor[i];
    }
    let mut sorted = vec![(0i32, 0.0f64); purchases.len()];
    for p in purchases {
        let at = &mut cursor[slot(p)];
        sorted[*at as usize] = (p.day, p.amount);
        *at += 1;
    }
    let mut start = 0;
    for (key, &end) in cursor[..keys].iter().enumerate() {
        let end = end as usize;
        if start == end {
            continue;
        }
        let history = &mut sorted[start..end];
        history.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        out.customer(min_key + key as i64, history.iter().copied());
        start = end;
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
