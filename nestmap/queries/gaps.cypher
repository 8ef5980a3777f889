// The coverage matrix's served cells: per local authority x level x stage, the active services
// serving it with an offer at that level, and those whose offer there is specialised. A cell
// nothing serves has no row; the analysis adds it (every LA x level x stage is reported).
// One pattern, no predicate on the offer: see need.cypher for a shape the embedded engine gets
// wrong.
MATCH (a:Area)<-[:COVERS]-(s:Service)-[o:OFFERS]->(l:Level)
WHERE a.kind = 'local_authority' AND s.status = 'active' AND ($area = '' OR a.code = $area)
UNWIND s.stages AS stage
RETURN a.code AS area_code, l.name AS level, stage,
       collect(CASE WHEN o.focus = 'specialised' THEN s.id END) AS specialised_services,
       collect(s.id) AS any_services
