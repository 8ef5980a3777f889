// Nodes per label; the Dataset node is metadata (shown separately), not part of the map.
MATCH (n)
WHERE NOT n:Dataset
RETURN labels(n)[0] AS label, count(*) AS count
