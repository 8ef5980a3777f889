// The coverage matrix: every local authority x level x stage, with the services serving it.
MATCH (a:Area {kind: 'local_authority'})
WHERE $area = '' OR a.code = $area
MATCH (l:Level)
UNWIND $stages AS stage
// The offered level is matched by name, not by closing the pattern on the bound l: the
// embedded engine crashes reading a property of an optional link between two bound nodes.
OPTIONAL MATCH (a)<-[:COVERS]-(s:Service)-[o:OFFERS]->(offered:Level)
WHERE offered.name = l.name AND s.status = 'active' AND stage IN s.stages
RETURN a.code AS area_code, a.name AS area_name, l.name AS level, l.rank AS rank, stage,
       collect(DISTINCT CASE WHEN o.focus = 'specialised' THEN s.id END) AS specialised_services,
       collect(DISTINCT s.id) AS any_services
