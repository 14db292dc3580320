SELECT
    coalesce(p.first_channel_code, '(none)') AS acquisition_channel,
    count(*) AS customers,
    sum(l.historical_net_revenue) AS historical_net_revenue,
    round(sum(l.predicted_clv_365d), 2) AS predicted_clv_365d,
    round(avg(l.predicted_clv_365d), 2) AS predicted_clv_365d_per_customer,
    round(avg(l.p_alive), 4) AS mean_p_alive,
    sum(CASE WHEN l.churn_risk = 'high' THEN 1 ELSE 0 END) AS high_churn_risk
FROM ltv AS l
LEFT JOIN profiles AS p ON p.one_key = l.one_key
GROUP BY coalesce(p.first_channel_code, '(none)')
