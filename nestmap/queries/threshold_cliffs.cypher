// Specialised support on each side of the child-protection threshold: per LA x stage, the
// active services serving it with a specialised offer (any level) whose threshold is below
// (open, pre_statutory) or above (open, statutory). An LA x stage with neither has no row; the
// analysis adds it with status none.
MATCH (a:Area)<-[:COVERS]-(s:Service)-[o:OFFERS]->(:Level)
WHERE a.kind = 'local_authority' AND s.status = 'active' AND o.focus = 'specialised'
  AND ($area = '' OR a.code = $area)
WITH DISTINCT a, s
UNWIND s.stages AS stage
RETURN a.code AS area_code, stage,
       collect(CASE WHEN s.threshold IN ['open', 'pre_statutory'] THEN s.id END) AS below,
       collect(CASE WHEN s.threshold IN ['open', 'statutory'] THEN s.id END) AS above
