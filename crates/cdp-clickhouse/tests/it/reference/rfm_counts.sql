SELECT
    t.tag AS rfm_class,
    count(*) AS one_ids,
    sum(p.net_revenue) AS net_revenue,
    round(avg(p.days_since_last_order), 1) AS avg_days_since_last_order
FROM tags AS t
LEFT JOIN profiles AS p ON p.one_key = t.one_key
WHERE t.tag_group = 'rfm'
GROUP BY t.tag
