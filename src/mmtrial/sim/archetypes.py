"""The demo study's sites and the stage each of its 34 participants has reached.

The hospitals are fictional, with Japanese-style names (16 sites, as in the published study).
Each archetype fixes what the demo must show: where the participant is (screening, on treatment
in cycle n, progressed and followed, stopped for an adverse event), the kind of measurable
disease, the depth of response the M-protein kinetics lead to, renal dosing, the toxicities
that trigger the protocol's dose rules, and the roles the demo gives it (signed, locked,
response disagreement, out-of-window visit). The seed varies everything else.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ARCHETYPES", "SITES", "Archetype", "SiteSpec"]


@dataclass(frozen=True)
class SiteSpec:
    code: str
    name: str
    name_ja: str
    timezone: str = "Asia/Tokyo"


SITES: tuple[SiteSpec, ...] = (
    SiteSpec("JP-01", "Sakuragaoka University Hospital", "桜ヶ丘大学病院"),
    SiteSpec("JP-02", "Minato Central Hospital", "港中央病院"),
    SiteSpec("JP-03", "Kitanomori Medical Center", "北の森医療センター"),
    SiteSpec("JP-04", "Aoba Municipal Hospital", "青葉市立病院"),
    SiteSpec("JP-05", "Higashiyama General Hospital", "東山総合病院"),
    SiteSpec("JP-06", "Nishikaigan Cancer Center", "西海岸がんセンター"),
    SiteSpec("JP-07", "Midorigaoka Prefectural Hospital", "緑ヶ丘県立病院"),
    SiteSpec("JP-08", "Hoshizora University Medical Hospital", "星空大学医学部附属病院"),
    SiteSpec("JP-09", "Kawabe Memorial Hospital", "川辺記念病院"),
    SiteSpec("JP-10", "Shirakaba Medical Center", "白樺医療センター"),
    SiteSpec("JP-11", "Tsubakiyama Hospital", "椿山病院"),
    SiteSpec("JP-12", "Uminomori General Hospital", "海の森総合病院"),
    SiteSpec("JP-13", "Kotobuki Central Hospital", "寿中央病院"),
    SiteSpec("JP-14", "Asahigawa City Hospital", "朝日川市民病院"),
    SiteSpec("JP-15", "Yamabuki University Hospital", "山吹大学病院"),
    SiteSpec("JP-16", "Fujimidai Medical Center", "富士見台医療センター"),
)


@dataclass(frozen=True)
class Archetype:
    site: int  # 1-based index into SITES
    stage: str  # screening, screen_failed, ongoing, progressed, ae_stop
    cycles: int = 0  # ongoing: cycles started by the cut-off; otherwise the last cycle
    disease: str = "serum"  # serum, urine, flc
    kinetics: str = "PR"  # a key of disease_kinetics.KINETICS
    renal: bool = False  # CrCl below the renal threshold: lenalidomide starts reduced
    events: tuple[
        tuple[str, int], ...
    ] = ()  # (thrombocytopenia|neutropenia|hyperglycemia|delay, cycle)
    pd_at: int = 0  # progressed: the assessment with the first PD
    dies: bool = False
    start_offset_days: int = 0  # progressed / stopped: C1D1 after the first consent
    consent_days_before_cutoff: int = 0  # screening
    registered_only: bool = False  # screening: no screening data yet
    roles: tuple[str, ...] = ()  # signed, locked, disagreement, out_of_window, query


ARCHETYPES: tuple[Archetype, ...] = (
    # JP-01 (the demo coordinator's and investigator's site)
    Archetype(
        1, "ongoing", 9, kinetics="VGPR", events=(("thrombocytopenia", 2),), roles=("signed",)
    ),
    Archetype(1, "ongoing", 6, kinetics="SLOW_THEN_PR", renal=True),
    Archetype(1, "ongoing", 4, kinetics="VGPR", roles=("disagreement",)),
    Archetype(1, "progressed", 7, kinetics="VGPR", pd_at=6, start_offset_days=60, roles=("query",)),
    Archetype(1, "screening", consent_days_before_cutoff=9),
    # JP-02
    Archetype(
        2, "ongoing", 20, kinetics="VGPR", events=(("thrombocytopenia", 3), ("neutropenia", 9))
    ),
    Archetype(
        2,
        "progressed",
        3,
        kinetics="PD",
        pd_at=2,
        dies=True,
        start_offset_days=20,
        roles=("locked",),
    ),
    Archetype(2, "screen_failed", consent_days_before_cutoff=40),
    # JP-03
    Archetype(3, "ongoing", 13, disease="urine", kinetics="VGPR", events=(("delay", 4),)),
    Archetype(3, "ongoing", 3, kinetics="PR_FAST", renal=True),
    Archetype(3, "screening", consent_days_before_cutoff=6),
    # JP-04
    Archetype(4, "ongoing", 11, disease="flc", kinetics="VGPR"),
    Archetype(4, "ongoing", 5, kinetics="PR_FAST", renal=True, events=(("thrombocytopenia", 2),)),
    Archetype(4, "ae_stop", 4, kinetics="PR", start_offset_days=150),
    # JP-05
    Archetype(5, "ongoing", 8, kinetics="CR"),
    Archetype(5, "screening", consent_days_before_cutoff=3, registered_only=True),
    # JP-06
    Archetype(6, "ongoing", 7, kinetics="PR", events=(("hyperglycemia", 2),)),
    Archetype(
        6, "progressed", 5, disease="urine", kinetics="PR", pd_at=4, dies=True, start_offset_days=35
    ),
    # JP-07
    Archetype(7, "ongoing", 2, kinetics="PR", roles=("out_of_window",)),
    Archetype(7, "ongoing", 6, kinetics="MR"),
    # JP-08
    Archetype(8, "ongoing", 5, disease="flc", kinetics="PR"),
    Archetype(8, "progressed", 9, kinetics="PR", pd_at=8, start_offset_days=100),
    # JP-09
    Archetype(9, "ongoing", 4, kinetics="PR_FAST", renal=True),
    Archetype(9, "ongoing", 1, kinetics="VGPR"),
    # JP-10
    Archetype(10, "ongoing", 3, kinetics="SD", events=(("neutropenia", 1),)),
    Archetype(10, "progressed", 4, kinetics="MR", pd_at=3, start_offset_days=200),
    # JP-11
    Archetype(11, "ongoing", 2, kinetics="VGPR"),
    Archetype(11, "ongoing", 1, kinetics="PR", renal=True),
    # JP-12
    Archetype(12, "ongoing", 3, disease="urine", kinetics="PR"),
    Archetype(12, "ongoing", 2, kinetics="PR"),
    # JP-13 .. JP-16
    Archetype(13, "ongoing", 4, kinetics="VGPR"),
    Archetype(14, "ongoing", 3, kinetics="PR"),
    Archetype(15, "ongoing", 1, kinetics="PR"),
    Archetype(16, "ongoing", 2, kinetics="VGPR"),
)
