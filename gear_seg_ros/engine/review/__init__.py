"""Human review of an engine output folder: decisions (review.json, honoured by the export), the review page
(`gear-seg engine review OUT`) and the labelme round trip for mask corrections."""
