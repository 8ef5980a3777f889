// The Overview's counts: active services (of one LA, or all), and those among them with an
// offer at the universal level (either focus): where families first meet the system.
MATCH (s:Service)
WHERE s.status = 'active'
  AND ($area = '' OR EXISTS { MATCH (s)-[:COVERS]->(:Area {code: $area}) })
OPTIONAL MATCH (s)-[:OFFERS]->(u:Level {name: 'universal'})
WITH s, count(u) > 0 AS universal
RETURN count(s) AS active, sum(CASE WHEN universal THEN 1 ELSE 0 END) AS universal
