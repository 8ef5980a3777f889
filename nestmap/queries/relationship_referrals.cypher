// Every parent-infant relationship referral link from an active service (to a service of any
// status), with its count (null when blank), its count's unit and whether the receiving service
// has a specialised offer: the facts of concentration, link by link. nestmap.analysis.slices keeps
// them beside the results of a dataset version and sums one LA's links from them
// (concentration's shares are of the LA's own total per unit, so they cannot be cut out of the
// whole country's).
MATCH (t:Service)
OPTIONAL MATCH (t)-[o:OFFERS]->(:Level)
WHERE o.focus = 'specialised'
WITH t, count(o) > 0 AS specialised
MATCH (src:Service)-[r:REFERS_TO]->(t)
WHERE src.status = 'active' AND r.reason = 'parent_infant_relationship'
RETURN src.id AS from_service, t.id AS to_service, r.count AS count,
       coalesce(r.count_basis, 'per_year') AS count_basis, specialised
