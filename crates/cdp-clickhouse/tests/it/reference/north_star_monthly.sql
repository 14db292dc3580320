SELECT
    month,
    count(*) FILTER (WHERE kind = 'person') AS new_one_ids,
    count(*) FILTER (WHERE kind = 'member') AS new_members
FROM (
    SELECT CAST(date_trunc('month', first_seen) AS DATE) AS month, 'person' AS kind FROM first_touch
    UNION ALL
    SELECT CAST(date_trunc('month', min(event_time)) AS DATE), 'member'
    FROM resolved_events
    WHERE one_key IS NOT NULL AND event_type IN ('member_signup', 'register')
    GROUP BY one_key
)
GROUP BY month
ORDER BY month
