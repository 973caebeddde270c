-- name: top_categories
-- answers: Which 20 item categories have the most interactions (a multi-valued "a|b" counts in each)?
-- tables: items
-- ${category} is the Items column holding the category: category, else CATEGORY_L1 (the ECOMMERCE field),
-- unless named. The job joins an array's values with "|"; an interaction with an item in two categories
-- counts in both, so the shares can add up to more than 100. Items without a category are left out.
WITH item_categories AS (
  SELECT DISTINCT m.item_id, t.category
  FROM "${database}"."${items_table}" m
  CROSS JOIN UNNEST(split(m."${category}", '|')) AS t(category)
  WHERE t.category <> ''
)
SELECT
  c.category,
  count(*) AS interactions,
  round(100 * CAST(count(*) AS double) / (SELECT count(*) FROM "${database}"."${table}"), 2)
    AS pct_of_interactions,
  count(DISTINCT i.user_id) AS users,
  count(DISTINCT i.item_id) AS items
FROM "${database}"."${table}" i
JOIN item_categories c ON i.item_id = c.item_id
GROUP BY c.category
ORDER BY interactions DESC, c.category
LIMIT 20
