-- purchases: the input of the LTV models, one row per net order (paid and
-- not refunded as of the as-of day): the person, the UTC day of payment and
-- the amount. The models merge purchases of one day into one transaction.
--
-- Reads the view `orders` (orders.sql). Functions: utc_day(ts), as in
-- profiles.sql. Sorted so that the models see the same input on every run.

SELECT
    one_key,
    utc_day(paid_at) AS day,
    CAST(amount AS DOUBLE) AS amount
FROM orders
WHERE one_key IS NOT NULL
  AND NOT refunded
ORDER BY one_key, day, amount
