// Embedded sibling of network_services.cypher (the same rows; covers in any order): reads the
// covered-LA list each Service carries in the embedded graph (embedded/schema.cypher) instead
// of following its COVERS links: 0.2 s instead of 0.65 s for 50,000 services.
MATCH (s:Service)
WHERE $area = '' OR $area IN s.covers
OPTIONAL MATCH (s)-[o:OFFERS]->(l:Level)
WITH s, collect([l.name, o.focus]) AS offers
RETURN s.id AS id, s.status AS status, s.covers AS covers, s.stages AS stages, offers
