// The coverage matrix's served cells: per local authority x level x stage, the active services
// serving it with an offer at that level, and those whose offer there is specialised. A cell
// nothing serves has no row; the analysis adds it (every LA x level x stage is reported).
// No predicate on the offer (see need.cypher for a shape the embedded engine gets wrong). The
// offers are matched first and the areas after a WITH: from the offers' side the embedded
// engine joins the 50,000-service country's coverage in 0.2 s, from the areas' side in 0.35 s.
MATCH (s:Service)-[o:OFFERS]->(l:Level)
WHERE s.status = 'active'
WITH s, o, l
MATCH (s)-[:COVERS]->(a:Area)
WHERE a.kind = 'local_authority' AND ($area = '' OR a.code = $area)
UNWIND s.stages AS stage
RETURN a.code AS area_code, l.name AS level, stage,
       collect(CASE WHEN o.focus = 'specialised' THEN s.id END) AS specialised_services,
       collect(s.id) AS any_services
