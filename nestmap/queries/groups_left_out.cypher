// Per LA: the active services that support fathers and partners, and those not recorded.
MATCH (a:Area {kind: 'local_authority'})
WHERE $area = '' OR a.code = $area
OPTIONAL MATCH (a)<-[:COVERS]-(s:Service)
WHERE s.status = 'active'
RETURN a.code AS area_code, a.name AS area_name,
       collect(CASE WHEN s.supports_fathers = true THEN s.id END) AS supporting_fathers,
       collect(CASE WHEN s.supports_fathers IS NULL THEN s.id END) AS not_recorded,
       count(s) AS services
