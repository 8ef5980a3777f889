// Provenance and quality of the referral links from the report's scope: how many there are,
// how many have a blank count, and how many come from an illustrative source.
MATCH (src:Service)-[r:REFERS_TO]->(:Service)
WHERE $area = '' OR EXISTS { MATCH (src)-[:COVERS]->(:Area {code: $area}) }
RETURN count(r) AS links,
       sum(CASE WHEN r.count IS NULL THEN 1 ELSE 0 END) AS blank_counts,
       sum(CASE WHEN toLower(r.source) STARTS WITH 'illustrative' THEN 1 ELSE 0 END)
         AS illustrative
