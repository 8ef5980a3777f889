// Capacity for specialised work per LA x level: each active service's capacity shared among
// the LAs it covers in proportion to their under-2 population.
MATCH (a:Area {kind: 'local_authority'})
WHERE $area = '' OR a.code = $area
MATCH (l:Level)
WHERE l.name IN $levels
// Level matched by name (see gaps.cypher: an optional link between two bound nodes).
OPTIONAL MATCH (a)<-[:COVERS]-(s:Service)-[o:OFFERS]->(offered:Level)
WHERE offered.name = l.name AND a.under2_population IS NOT NULL AND s.status = 'active'
  AND o.focus = 'specialised'
OPTIONAL MATCH (s)-[:COVERS]->(b:Area)
WHERE b.under2_population IS NOT NULL
WITH a, l, s, sum(b.under2_population) AS served_population
RETURN a.code AS area_code, l.name AS level, l.rank AS rank,
       a.under2_population AS under2_population,
       collect(CASE WHEN s IS NULL THEN NULL
               ELSE [coalesce(s.capacity_per_year, 0), served_population] END) AS capacity_shares
