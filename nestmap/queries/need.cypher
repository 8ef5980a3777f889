// Specialised capacity per LA x level: for each active service's specialised offer at a need
// level, its yearly capacity (null when not recorded), the under-2 population of all the LAs it
// covers and k, the number of need levels at which it has a specialised offer, on a row for
// each covered LA (the analysis counts the capacity once: split evenly across the k levels,
// then shared out in proportion to population among the LAs that have one; a service whose
// capacity is not recorded is counted as unrecorded, not as 0).
// The offer's focus and its level are filtered in separate steps: with a predicate on both in
// one pattern followed by another MATCH, the embedded engine (ladybug 0.22) returns rows that
// break the predicates.
MATCH (s:Service)-[o:OFFERS]->(l:Level)
WHERE s.status = 'active' AND o.focus = 'specialised'
WITH s, l
WHERE l.name IN $levels
WITH s, collect(DISTINCT l.name) AS levels
MATCH (s)-[:COVERS]->(b:Area)
WITH s, levels, sum(b.under2_population) AS served_population
UNWIND levels AS level
MATCH (s)-[:COVERS]->(a:Area)
WHERE $area = '' OR a.code = $area
RETURN a.code AS area_code, level,
       collect([s.capacity_per_year, served_population, size(levels)]) AS capacity_shares
