-- 005: ltv_model — the fitted lifetime-value models of the current build
-- (contract §4): BG/NBD (purchase frequency, P(alive)) and Gamma-Gamma
-- (spend). Lake: ltv_model/*.parquet, listed by builds/current.json. Loaded
-- whole and swapped in.

CREATE TABLE IF NOT EXISTS ltv_model
(
    model String COMMENT 'bgnbd or gamma_gamma',
    param String COMMENT 'parameter name: r, alpha, a, b (bgnbd); p, q, v (gamma_gamma)',
    value Float64 COMMENT 'fitted value of the parameter',
    log_likelihood Float64 COMMENT 'log-likelihood of the model at the fitted parameters',
    customers Int64 COMMENT 'customers the model was fitted on',
    time_unit String COMMENT 'day or week: the unit of frequency, recency and age in the fit',
    as_of Date COMMENT 'the build''s as-of day: purchases up to the end of it (UTC)',
    _load_version UInt64 COMMENT 'the cdp load that wrote the row (its start, microseconds since 1970)'
)
ENGINE = ReplacingMergeTree(_load_version)
ORDER BY (model, param);
