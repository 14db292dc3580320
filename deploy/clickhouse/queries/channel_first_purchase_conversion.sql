-- Acquisition channel → first purchase: per acquisition channel (the live
-- code of a person's earliest event carrying one; '(none)' without), how
-- many people came, how many bought at least once (a paid order not
-- refunded), the conversion rate, and the average days from first seen to
-- the first such order.
-- Needs: resolved_events (and the views first_touch, orders).

SELECT
    acquisition_channel,
    count() AS one_ids,
    countIf(first_order_us > 0) AS purchasers,
    round(purchasers / one_ids, 6) AS conversion_rate,
    if(purchasers = 0, NULL, round(avgIf((first_order_us - first_seen_us) / 86400e6, first_order_us > 0), 3)) AS avg_days_to_first_order
FROM
(
    SELECT one_key AS person, acquisition_channel, first_seen_us
    FROM first_touch
) AS lhs
ANY LEFT JOIN
(
    SELECT assumeNotNull(one_key) AS person, min(paid_at_us) AS first_order_us
    FROM orders
    WHERE refunded = 0 AND one_key IS NOT NULL
    GROUP BY person
) AS rhs USING person
GROUP BY acquisition_channel
ORDER BY one_ids DESC, acquisition_channel
