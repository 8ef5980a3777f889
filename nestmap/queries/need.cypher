// Specialised capacity per LA x level: for each active service's specialised offer, its yearly
// capacity and the under-2 population of all the LAs it covers, on a row for each covered LA
// that has a population (the analysis shares the capacity out in proportion to population).
// The offer's focus and its level are filtered in separate steps: with a predicate on both in
// one pattern followed by another MATCH, the embedded engine (ladybug 0.22) returns rows that
// break the predicates.
MATCH (s:Service)-[o:OFFERS]->(l:Level)
WHERE s.status = 'active' AND o.focus = 'specialised'
WITH s, l
WHERE l.name IN $levels
MATCH (s)-[:COVERS]->(b:Area)
WITH s, l, sum(b.under2_population) AS served_population
MATCH (s)-[:COVERS]->(a:Area)
WHERE a.under2_population IS NOT NULL AND ($area = '' OR a.code = $area)
RETURN a.code AS area_code, l.name AS level,
       collect([coalesce(s.capacity_per_year, 0), served_population]) AS capacity_shares
