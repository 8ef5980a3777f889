MATCH (n)
WHERE label(n) <> 'Dataset'
RETURN label(n) AS label, count(*) AS count
