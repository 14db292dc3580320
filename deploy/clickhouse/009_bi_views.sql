-- 009: views the BI queries share, so that every query counts an order and
-- attributes a person the same way. Views hold no data: they read
-- resolved_events at query time, so they follow every load.

-- orders: one row per paid order (contract §6). An order arrives once per
-- status change; it counts once however often it was delivered; a refund
-- cancels it whether it arrived before or after the payment, and whichever
-- person its message resolved to. Net revenue = sum(amount) of the orders
-- with refunded = 0. A refund without a payment is not an order.
CREATE VIEW IF NOT EXISTS orders AS
SELECT
    source,
    order_id,
    one_key,
    one_id,
    amount,
    paid_at,
    paid_at_us,
    refunded
FROM
(
    SELECT
        source,
        order_id,
        minIf(one_key, event_type = 'paid') AS one_key,
        minIf(one_id, event_type = 'paid') AS one_id,
        maxIf(amount, event_type = 'paid') AS amount,
        minIf(event_time, event_type = 'paid') AS paid_at,
        minIf(event_time_us, event_type = 'paid') AS paid_at_us,
        max(event_type = 'refunded') AS refunded,
        max(event_type = 'paid') AS has_paid
    FROM resolved_events
    WHERE order_id IS NOT NULL AND event_type IN ('paid', 'refunded')
    GROUP BY source, order_id
)
WHERE has_paid = 1;

-- first_touch: one row per person: when they were first seen, and their
-- acquisition channel, the live code (channel_code) of their earliest event
-- carrying one (ties: the smallest code); '(none)' when no event had one.
CREATE VIEW IF NOT EXISTS first_touch AS
SELECT
    person AS one_key,
    first_seen,
    first_seen_us,
    if(first_channel = '', '(none)', first_channel) AS acquisition_channel
FROM
(
    SELECT
        assumeNotNull(one_key) AS person,
        min(event_time) AS first_seen,
        min(event_time_us) AS first_seen_us
    FROM resolved_events
    WHERE one_key IS NOT NULL
    GROUP BY person
) AS lhs
ANY LEFT JOIN
(
    SELECT
        assumeNotNull(one_key) AS person,
        argMin(assumeNotNull(channel_code), tuple(event_time_us, assumeNotNull(channel_code))) AS first_channel
    FROM resolved_events
    WHERE one_key IS NOT NULL AND channel_code IS NOT NULL
    GROUP BY person
) AS rhs USING person;
