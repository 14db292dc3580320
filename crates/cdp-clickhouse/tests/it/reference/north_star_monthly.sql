SELECT
    month,
    sum(CASE WHEN kind = 'person' THEN 1 ELSE 0 END) AS new_one_ids,
    sum(CASE WHEN kind = 'member' THEN 1 ELSE 0 END) AS new_members
FROM (
    SELECT CAST(date_trunc('month', first_seen) AS DATE) AS month, 'person' AS kind FROM first_touch
    UNION ALL
    SELECT CAST(date_trunc('month', min(event_time)) AS DATE) AS month, 'member' AS kind
    FROM resolved_events
    WHERE one_key IS NOT NULL AND event_type IN ('member_signup', 'register')
    GROUP BY one_key
) AS firsts
GROUP BY month
ORDER BY month
