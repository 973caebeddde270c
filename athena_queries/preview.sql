-- name: preview
-- answers: What do the interactions look like? The first 50 rows, as in the workshop, in a stable order.
-- Every column the table has (EVENT_VALUE too, when the job writes it), in the CSV's order.
SELECT *
FROM "${database}"."${table}"
ORDER BY "timestamp", user_id, item_id, event_type
LIMIT 50
