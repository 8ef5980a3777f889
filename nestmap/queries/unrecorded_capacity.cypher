// Active services with a specialised offer at a need level whose capacity_per_year is blank
// (not recorded), once per service and level, with the LAs they cover: what a shortfall that
// is only an upper bound rests on. Focus and level filtered in separate steps (see need).
MATCH (s:Service)-[o:OFFERS]->(l:Level)
WHERE s.status = 'active' AND o.focus = 'specialised' AND s.capacity_per_year IS NULL
WITH s, l
WHERE l.name IN $levels
MATCH (s)-[:COVERS]->(a:Area)
WHERE $area = '' OR a.code = $area
RETURN s.id AS service_id, l.name AS level, collect(a.code) AS area_codes
