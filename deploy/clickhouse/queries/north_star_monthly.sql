-- North-star metrics per month (北极星指标): new people — one_ids first seen
-- that month (their earliest event) — and new members — one_ids whose first
-- member_signup or register event falls in that month.
-- Needs: resolved_events (and the view first_touch).

SELECT
    month,
    countIf(kind = 'person') AS new_one_ids,
    countIf(kind = 'member') AS new_members
FROM
(
    SELECT toStartOfMonth(first_seen) AS month, 'person' AS kind
    FROM first_touch
    UNION ALL
    SELECT toStartOfMonth(min(event_time)) AS month, 'member' AS kind
    FROM resolved_events
    WHERE one_key IS NOT NULL AND event_type IN ('member_signup', 'register')
    GROUP BY one_key
)
GROUP BY month
ORDER BY month
