// FTE and practitioners per LA and AiMH level, counting every active service covering the LA
// (a region-wide team counts in each of its LAs).
MATCH (a:Area {kind: 'local_authority'})
WHERE $area = '' OR a.code = $area
OPTIONAL MATCH (a)<-[:COVERS]-(s:Service)-[:STAFFED_BY]->(p:StaffPost)
WHERE s.status = 'active'
RETURN a.code AS area_code, a.name AS area_name, p.aimh_level AS aimh_level,
       sum(p.fte) AS fte, count(p) AS practitioners
