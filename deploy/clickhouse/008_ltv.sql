-- 008: ltv — lifetime value per customer (a person with at least one net
-- order by the as-of day): historical and predicted (BG/NBD + Gamma-Gamma).
-- Lake: ltv/*.parquet, listed by builds/current.json. Loaded whole and
-- swapped in.
--
-- PROVISIONAL: `cdp build` (issue 6) has not landed; the columns are the best
-- guess from the issue and the jobs branch's ltv.sql. Adjust as 006 says.

CREATE TABLE IF NOT EXISTS ltv
(
    one_key Int64 COMMENT 'the person: integer key',
    one_id String COMMENT 'the person: OID + one_key zero-padded to 12 digits',
    historical_net_revenue Decimal(18, 2) COMMENT 'yuan: net revenue up to the as-of day (contract §6)',
    orders Int64 COMMENT 'net orders up to the as-of day',
    purchase_days Int64 COMMENT 'distinct days with a net order',
    frequency Float64 COMMENT 'BTYD frequency: purchase days - 1 (in the build''s time unit)',
    recency Float64 COMMENT 'BTYD recency: first to last purchase day (time unit of the build)',
    age Float64 COMMENT 'BTYD age T: first purchase day to the as-of day (time unit of the build)',
    mean_repeat_spend Float64 COMMENT 'yuan: mean spend over repeat purchase days (the first excluded)',
    p_alive Float64 COMMENT 'probability the customer is still active (BG/NBD)',
    expected_purchases_90d Float64 COMMENT 'expected purchases in the next 90 days (BG/NBD)',
    expected_purchases_365d Float64 COMMENT 'expected purchases in the next 365 days (BG/NBD)',
    expected_average_spend Float64 COMMENT 'yuan: expected spend per purchase (Gamma-Gamma)',
    predicted_clv_365d Float64 COMMENT 'yuan: discounted value of the next 365 days',
    churn_risk String COMMENT 'churn-risk band from p_alive: low, medium, high',
    _load_version UInt64 COMMENT 'the cdp load that wrote the row (its start, microseconds since 1970)'
)
ENGINE = ReplacingMergeTree(_load_version)
ORDER BY one_key;
