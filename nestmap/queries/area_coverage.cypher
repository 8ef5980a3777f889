// Per LA, its name and the services covering it (any status; a region in a service's areas was
// expanded to its LAs at load, so COVERS reaches LAs only). nestmap.analysis.slices keeps this
// beside the results of a dataset version: it reads an --area (a code or a name) and cuts one
// LA's referral links out of a whole-country answer without opening the graph.
MATCH (a:Area)
WHERE a.kind = 'local_authority'
OPTIONAL MATCH (s:Service)-[:COVERS]->(a)
RETURN a.code AS area_code, a.name AS area_name, collect(s.id) AS services
