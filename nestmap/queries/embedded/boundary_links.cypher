// Embedded sibling of boundary_links.cypher (same rows): the LAs two services share are read
// from the covered-LA lists each Service carries in the embedded graph (see misdirected).
MATCH (src:Service)-[r:REFERS_TO]->(tgt:Service)
WHERE src.status = 'active' AND tgt.status = 'active'
  AND ($area = '' OR $area IN src.covers)
WITH src, r, tgt,
     src.threshold <> tgt.threshold AS threshold_change,
     'postnatal' IN src.stages AND 'postnatal' IN tgt.stages
       AND (src.min_age_months IS NOT NULL OR src.max_age_months IS NOT NULL)
       AND (tgt.min_age_months IS NOT NULL OR tgt.max_age_months IS NOT NULL)
       AND (coalesce(src.max_age_months, $max_age_months) < coalesce(tgt.min_age_months, 0)
            OR coalesce(tgt.max_age_months, $max_age_months) < coalesce(src.min_age_months, 0)) AS age_mismatch,
     list_has_any(src.covers, tgt.covers) AS shares_area,
     list_has_all(tgt.covers, src.covers) AS covers_all,
     NOT list_has_any(src.stages, tgt.stages) AS stage_handover
WITH src, r, tgt, threshold_change, age_mismatch, stage_handover,
     shares_area AND NOT covers_all AS geography_partial, NOT shares_area AS geography_none
WHERE threshold_change OR age_mismatch OR geography_partial OR geography_none OR stage_handover
RETURN src.id AS from_service, tgt.id AS to_service, r.reason AS reason,
       threshold_change, age_mismatch, geography_partial, geography_none, stage_handover,
       src.threshold AS from_threshold, tgt.threshold AS to_threshold
