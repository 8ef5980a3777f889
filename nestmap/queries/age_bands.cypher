// Specialised postnatal help by the child's age: per LA and level, each active service with a
// specialised offer at that level that lists the postnatal stage and covers the LA, with its age
// range (a blank bound is open). nestmap.analysis.age_bands puts each into the bands (0-5, 6-11,
// 12-17, 18-23 months) its range overlaps and adds the empty cells.
MATCH (s:Service)-[o:OFFERS]->(l:Level)
WHERE s.status = 'active' AND o.focus = 'specialised'
WITH s, l
WHERE 'postnatal' IN s.stages
MATCH (s)-[:COVERS]->(a:Area)
WHERE a.kind = 'local_authority' AND ($area = '' OR a.code = $area)
RETURN a.code AS area_code, l.name AS level, s.id AS service_id,
       s.min_age_months AS min_age_months, s.max_age_months AS max_age_months
