// Specialised support on each side of the child-protection threshold, per LA x stage.
MATCH (a:Area {kind: 'local_authority'})
WHERE $area = '' OR a.code = $area
UNWIND $stages AS stage
OPTIONAL MATCH (a)<-[:COVERS]-(s:Service)
WHERE s.status = 'active' AND stage IN s.stages
  AND EXISTS { MATCH (s)-[o:OFFERS]->(:Level) WHERE o.focus = 'specialised' }
WITH a, stage,
     collect(DISTINCT CASE WHEN s.threshold IN ['open', 'pre_statutory'] THEN s.id END) AS below,
     collect(DISTINCT CASE WHEN s.threshold IN ['open', 'statutory'] THEN s.id END) AS above
RETURN a.code AS area_code, stage, below, above,
       CASE
         WHEN size(below) > 0 AND size(above) > 0 THEN 'ok'
         WHEN size(below) = 0 AND size(above) = 0 THEN 'none'
         ELSE 'cliff'
       END AS status
