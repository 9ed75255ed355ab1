"""Efficacy and safety analyses of the study (pandas, lifelines, scipy, matplotlib).

Modules (import what you need; this package imports nothing heavy by itself):

- `adam_io`: `read_adam_dir(directory) -> AdamDatasets` with the contract's checks.
- `populations`: `enrolled`, `safety_population`, `response_evaluable`, `population_counts`.
- `efficacy`: `clopper_pearson_ci`, `response_rate`, `derive_best_response`,
  `best_overall_response_table`, `response_rates`.
- `survival`: `km_estimate(durations=..., event_observed=...) -> KaplanMeierEstimate` (median and
  Brookmeyer-Crowley CI), `survival_quantile`, `pointwise_band`, `days_to_months`.
- `time_to_event`: `km_by_parameter(adtte)`, `time_to_event_summary(adtte)`.
- `summary`: `efficacy_summary(adsl, adrs=..., adtte=...)` (the `mmtrial analyze` JSON).
- `safety`: `ae_overview`, `ae_by_grade_and_term`; `exposure`: `exposure_summary`,
  `cycles_received`, `dose_intensity`.
- `derive`: `derive_adsl`, `derive_adrs`, `derive_adtte`, `derive_adlb`, `StudySource`.
- `profiles`: swimmer / waterfall / spider data; `plots`: the figures; `report`: `build_report`.
- `fixtures`: `published_study`, `random_study`, `write_adam_dir`.

Methods: docs/analysis.md.
"""
