-- ltv: lifetime value per customer (one_id with at least one net order as of
-- the as-of day): what they brought so far and what the models predict.
--
-- Reads profiles and ltv_predictions: one row per one_key from the BG/NBD and
-- Gamma-Gamma models (crate cdp-ltv, fitted on purchases.sql), in the time
-- unit of the build; the horizons below are in days whatever the unit.

SELECT
    p.one_key,
    p.one_id,
    p.net_revenue AS historical_net_revenue,
    p.orders,
    p.purchase_days,
    l.frequency,
    l.recency,
    l.age,
    l.mean_repeat_spend,
    l.p_alive,
    l.expected_purchases_90d,
    l.expected_purchases_365d,
    l.expected_average_spend,
    l.predicted_clv_365d,
    l.churn_risk
FROM ltv_predictions AS l
JOIN profiles AS p ON p.one_key = l.one_key
ORDER BY p.one_key
