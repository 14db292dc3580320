-- Predicted LTV by acquisition channel: per first-touch channel of the
-- profile, customers, historical net revenue, predicted 365-day CLV (BG/NBD
-- + Gamma-Gamma), mean P(alive), and how many are at high churn risk.
-- Needs: profiles, ltv — PROVISIONAL until `cdp build` lands (issue 6):
-- column names are guesses; not yet checked by a test.

SELECT
    acquisition_channel,
    count() AS customers,
    sum(revenue) AS historical_net_revenue,
    round(sum(clv), 2) AS predicted_clv_365d,
    round(avg(clv), 2) AS predicted_clv_365d_per_customer,
    round(avg(p_alive), 4) AS mean_p_alive,
    countIf(churn_risk = 'high') AS high_churn_risk
FROM
(
    SELECT one_key, historical_net_revenue AS revenue, predicted_clv_365d AS clv, p_alive, churn_risk
    FROM ltv
) AS lhs
ANY LEFT JOIN
(
    SELECT one_key, if(first_channel_code IS NULL, '(none)', assumeNotNull(first_channel_code)) AS acquisition_channel
    FROM profiles
) AS rhs USING one_key
GROUP BY acquisition_channel
ORDER BY predicted_clv_365d DESC, acquisition_channel
