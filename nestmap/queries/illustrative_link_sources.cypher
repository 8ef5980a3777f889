// The source texts of the referral links that mention "illustrative" anywhere, each with how
// many links give it: nestmap.provenance applies its rules once per text, so that a page can
// tell whether any (or every) link rests on illustrative values without reading the links.
MATCH ()-[r:REFERS_TO]->()
WHERE toLower(r.source) CONTAINS 'illustrative'
RETURN r.source AS source, count(*) AS links
