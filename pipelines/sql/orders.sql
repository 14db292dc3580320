-- orders: one row per paid order as of the end of the as-of day (contract §6).
--
-- `cdp build` registers this query as the view `orders`; profiles.sql and
-- purchases.sql read it. An order arrives once per status change
-- (`paid`, `refunded`, `cancelled`), each status once in the lake. An order
-- counts once, however many times it was delivered; a refund cancels it
-- whether it arrived before or after its payment, and whichever one_id its
-- message resolved to (or none). A refund without a payment is not revenue
-- and cancels nothing. Cancelled orders were never paid.
--
-- Reads resolved_events (written by `cdp resolve`).
-- ${as_of_end}: the first instant after the as-of day, UTC (filled in by cdp).

SELECT
    source,
    order_id,
    min(one_key) FILTER (WHERE event_type = 'paid') AS one_key,
    max(amount) FILTER (WHERE event_type = 'paid') AS amount,
    min(event_time) FILTER (WHERE event_type = 'paid') AS paid_at,
    bool_or(event_type = 'refunded') AS refunded
FROM resolved_events
WHERE order_id IS NOT NULL
  AND event_type IN ('paid', 'refunded')
  AND event_time < '${as_of_end}'
GROUP BY source, order_id
HAVING bool_or(event_type = 'paid')
