"""The report's central monitoring pages draw from a KRI report and a forecast."""

from __future__ import annotations

import datetime as dt

from mmtrial.analysis.enrollment_forecast import forecast_enrollment
from mmtrial.analysis.kri import site_kris
from mmtrial.analysis.report_kri import OperationsInput, central_monitoring_pages
from tests.analysis.test_kri import AS_OF, SETTINGS, _simulated_study


def test_central_monitoring_pages_table_funnel_and_forecast():
    kris = site_kris(_simulated_study(outlier_factor=5, seed=1), settings=SETTINGS, as_of=AS_OF)
    forecast = forecast_enrollment(
        enrollment_dates={"A": [dt.date(2026, 1, 5), dt.date(2026, 2, 1)], "B": [dt.date(2026, 2, 9)]},
        planned=10, closure_months=24, as_of=AS_OF,
    )  # fmt: skip
    pages = central_monitoring_pages(OperationsInput(kris, SETTINGS, forecast), "en")
    assert [p.title for p in pages] == [
        "Central monitoring", "Funnel plot: AE rate", "Enrollment: actual and forecast",
    ]  # fmt: skip
    _subtitle, header, rows = pages[0].blocks[0]
    assert header[1] == "AE rate"
    assert [r[1].endswith("(!!)") for r in rows if r[0] == "S05"] == [True]
    for page in pages:
        assert page.draw() is not None
