MATCH (a:Area)
RETURN a.code AS code, a.name AS name, a.kind AS kind, a.parent_code AS parent_code,
       a.under2_population AS under2_population, a.births_per_year AS births_per_year,
       a.source AS source
