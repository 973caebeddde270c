-- name: event_values
-- answers: How are EVENT_VALUEs spread per event type: how many set or empty, min, max, average?
-- requires: event_value
-- Only on a table with EVENT_VALUE (the job ran with --EVENT_VALUE_FIELD). An empty cell is NULL: the
-- job leaves it empty when the event's value was missing or not a number (its report counts them).
SELECT
  event_type,
  count(*) AS interactions,
  count(event_value) AS with_value,
  count(*) - count(event_value) AS without_value,
  round(100 * CAST(count(event_value) AS double) / count(*), 2) AS pct_with_value,
  min(event_value) AS min_value,
  max(event_value) AS max_value,
  round(avg(event_value), 2) AS avg_value
FROM "${database}"."${table}"
GROUP BY event_type
ORDER BY interactions DESC, event_type
