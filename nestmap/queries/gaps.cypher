// The coverage matrix: every local authority x level x stage, with the services serving it.
MATCH (a:Area {kind: 'local_authority'})
WHERE $area = '' OR a.code = $area
MATCH (l:Level)
UNWIND $stages AS stage
OPTIONAL MATCH (a)<-[:COVERS]-(s:Service)-[o:OFFERS]->(l)
WHERE s.status = 'active' AND stage IN s.stages
RETURN a.code AS area_code, a.name AS area_name, l.name AS level, l.rank AS rank, stage,
       collect(DISTINCT CASE WHEN o.focus = 'specialised' THEN s.id END) AS specialised_services,
       collect(DISTINCT s.id) AS any_services
