// Per LA x stage: the active services serving it whose assessment covers the relationship.
MATCH (a:Area {kind: 'local_authority'})
WHERE $area = '' OR a.code = $area
UNWIND $stages AS stage
OPTIONAL MATCH (a)<-[:COVERS]-(s:Service)
WHERE s.status = 'active' AND stage IN s.stages
RETURN a.code AS area_code, a.name AS area_name, stage,
       collect(DISTINCT CASE WHEN s.assesses_relationship THEN s.id END) AS assessing_services,
       count(DISTINCT s) AS services
