"""Every string of the study report, in English and Japanese."""

from __future__ import annotations

LANGUAGES = ("en", "ja")

#: Font families for each language; Japanese needs a CJK font (Debian: fonts-noto-cjk).
FONT_FAMILIES = {
    "en": ["DejaVu Sans"],
    "ja": ["Noto Sans CJK JP", "Noto Sans CJK", "IPAexGothic", "DejaVu Sans"],
}

STRINGS: dict[str, dict[str, str]] = {
    "report_title": {
        "en": "{study} study: efficacy and safety report",
        "ja": "{study}試験：有効性・安全性報告書",
    },
    "data_cut": {"en": "Data cut-off date", "ja": "データカットオフ日"},
    "not_stated": {"en": "not stated", "ja": "記載なし"},
    "generated": {"en": "Report generated", "ja": "作成日"},
    "source": {"en": "Source datasets", "ja": "元データセット"},
    "populations": {"en": "Analysis populations", "ja": "解析対象集団"},
    "efficacy_title": {
        "en": "Efficacy: populations, best overall response and response rates",
        "ja": "有効性：解析対象集団・最良総合効果・奏効率",
    },
    "enrolled": {"en": "Enrolled", "ja": "登録例"},
    "safety": {
        "en": "Safety population (received any study drug)",
        "ja": "安全性解析対象集団（治験薬を1回以上投与）",
    },
    "evaluable": {
        "en": "Response-evaluable population",
        "ja": "奏効評価可能集団",
    },
    "bor_title": {
        "en": "Confirmed best overall response (IMWG), response-evaluable population",
        "ja": "確定最良総合効果（IMWG）・奏効評価可能集団",
    },
    "response": {"en": "Response", "ja": "効果"},
    "rates_title": {
        "en": "Response rates with exact (Clopper-Pearson) 95% CI",
        "ja": "奏効率と正確な（Clopper-Pearson）95%信頼区間",
    },
    "endpoint": {"en": "Endpoint", "ja": "評価項目"},
    "ci95": {"en": "95% CI", "ja": "95%信頼区間"},
    "orr": {"en": "ORR (PR or better)", "ja": "奏効率（PR以上）"},
    "vgpr_or_better": {"en": "VGPR or better (primary endpoint)", "ja": "VGPR以上（主要評価項目）"},
    "cr_or_better": {"en": "CR or better", "ja": "CR以上"},
    "tte_title": {
        "en": "Time-to-event endpoints: Kaplan-Meier median, Brookmeyer-Crowley 95% CI (log(-log))",
        "ja": "イベントまでの時間：Kaplan-Meier中央値とBrookmeyer-Crowley 95%信頼区間（log(-log)）",
    },
    "events": {"en": "Events", "ja": "イベント数"},
    "median_months": {"en": "Median (months)", "ja": "中央値（月）"},
    "ci95_months": {"en": "95% CI (months)", "ja": "95%信頼区間（月）"},
    "not_reached": {"en": "not reached", "ja": "未到達"},
    "ne": {"en": "NE", "ja": "NE"},
    "nr_note": {
        "en": "Not reached: fewer than half of the participants had the event. NE: not "
        "estimable (the confidence limit is not reached). Months = days / 30.4375.",
        "ja": "未到達：イベントを発現した被験者が半数未満。NE：推定不能（信頼限界に到達せず）。"
        "月数 = 日数 / 30.4375。",
    },
    "PFS": {"en": "Progression-free survival", "ja": "無増悪生存期間"},
    "OS": {"en": "Overall survival", "ja": "全生存期間"},
    "TTP": {"en": "Time to progression", "ja": "無増悪期間"},
    "DOR": {"en": "Duration of response", "ja": "奏効期間"},
    "TTR": {"en": "Time to response", "ja": "奏効までの期間"},
    "km_title": {"en": "Kaplan-Meier plot: {name}", "ja": "Kaplan-Meier曲線：{name}"},
    "months": {"en": "Months since first dose", "ja": "初回投与からの月数"},
    "months_short": {"en": "Months", "ja": "月"},
    "survival_probability": {"en": "Probability without event", "ja": "イベント非発生割合"},
    "at_risk": {"en": "Number at risk", "ja": "リスク集合の人数"},
    "censored": {"en": "Censored", "ja": "打ち切り"},
    "median_label": {
        "en": "Median {median} months (95% CI {low} to {high})",
        "ja": "中央値 {median} か月（95%信頼区間 {low}～{high}）",
    },
    "median_not_reached_label": {
        "en": "Median not reached (95% CI {low} to {high})",
        "ja": "中央値 未到達（95%信頼区間 {low}～{high}）",
    },
    "band": {"en": "95% pointwise CI (log(-log))", "ja": "95%信頼区間（log(-log)）"},
    "swimmer_title": {
        "en": "Swimmer plot: treatment duration with response and progression",
        "ja": "スイマープロット：投与期間と効果・増悪",
    },
    "subjects": {"en": "Participants", "ja": "被験者"},
    "treatment_months": {"en": "Months on treatment", "ja": "投与期間（月）"},
    "first_response": {"en": "First PR or better", "ja": "初回PR以上"},
    "first_cr": {"en": "First CR or better", "ja": "初回CR以上"},
    "progression": {"en": "Progressive disease", "ja": "病勢進行"},
    "ongoing": {"en": "Ongoing at the cut-off", "ja": "カットオフ時継続中"},
    "waterfall_title": {
        "en": "Waterfall plot: best percent change from baseline in the followed M-protein",
        "ja": "ウォーターフォールプロット：測定M蛋白のベースラインからの最良変化率",
    },
    "best_change": {
        "en": "Best change from baseline (%)",
        "ja": "ベースラインからの最良変化率（%）",
    },
    "spider_title": {
        "en": "Spider plot: percent change from baseline in the followed M-protein over time",
        "ja": "スパイダープロット：測定M蛋白のベースラインからの変化率の推移",
    },
    "change": {"en": "Change from baseline (%)", "ja": "ベースラインからの変化率（%）"},
    "best_response_legend": {"en": "Best response", "ja": "最良効果"},
    "plot_skipped": {
        "en": "{plot} not drawn: {reason}",
        "ja": "{plot}は作成できませんでした：{reason}",
    },
    "no_ovr": {
        "en": "no per-visit responses (ADRS records with PARAMCD OVR and ADY)",
        "ja": "来院ごとの効果データ（ADRSのPARAMCD OVRとADY）がありません",
    },
    "no_adlb": {
        "en": "no M-protein data (adlb.csv / adlb.xpt with PARAMCD SMPROT or UMPROT)",
        "ja": "M蛋白データ（adlb.csv / adlb.xpt、PARAMCD SMPROTまたはUMPROT）がありません",
    },
    "no_tte": {"en": "no {param} records in ADTTE", "ja": "ADTTEに{param}のレコードがありません"},
    "safety_title": {
        "en": "Adverse events (CTCAE v5), safety population",
        "ja": "有害事象（CTCAE v5）・安全性解析対象集団",
    },
    "ae_overview": {"en": "Overview", "ja": "概要"},
    "any": {"en": "Any adverse event", "ja": "全有害事象"},
    "grade_3_or_higher": {"en": "Grade 3 or higher", "ja": "グレード3以上"},
    "grade_5": {"en": "Grade 5 (fatal)", "ja": "グレード5（死亡）"},
    "serious": {"en": "Serious", "ja": "重篤"},
    "led_to_discontinuation": {"en": "Leading to discontinuation", "ja": "投与中止に至った"},
    "term": {"en": "Preferred term", "ja": "基本語"},
    "ae_by_term": {
        "en": "Participants by preferred term and worst CTCAE grade",
        "ja": "基本語別・最悪CTCAEグレード別の被験者数",
    },
    "any_grade": {"en": "Any grade", "ja": "全グレード"},
    "grade": {"en": "Grade", "ja": "グレード"},
    "grade_3_plus": {"en": "Grade >= 3", "ja": "グレード3以上"},
    "no_adae": {
        "en": "no adverse-event data (adae.csv / adae.xpt)",
        "ja": "有害事象データ（adae.csv / adae.xpt）がありません",
    },
    "exposure_title": {"en": "Exposure and dose modifications", "ja": "曝露と用量調整"},
    "drug": {"en": "Drug", "ja": "薬剤"},
    "cycles": {"en": "Cycles, median (range)", "ja": "サイクル数 中央値（範囲）"},
    "rdi": {
        "en": "Relative dose intensity %, median (range)",
        "ja": "相対用量強度% 中央値（範囲）",
    },
    "rdi_n": {"en": "N (RDI)", "ja": "N（相対用量強度）"},
    "rdi_note": {
        "en": "Relative dose intensity: dose given / dose planned over completed cycles; a cycle "
        "in progress at the data cut-off is not counted.",
        "ja": "相対用量強度：完了したサイクルの投与量／計画投与量。データカットオフ日に進行中の"
        "サイクルは含めない。",
    },
    "reductions": {"en": "With dose reduction", "ja": "減量あり"},
    "holds": {"en": "With dose hold", "ja": "休薬あり"},
    "no_adex": {
        "en": "no exposure data (adex.csv / adex.xpt)",
        "ja": "曝露データ（adex.csv / adex.xpt）がありません",
    },
    "page": {"en": "Page", "ja": "ページ"},
    "building": {"en": "Building the report", "ja": "報告書を作成中"},
    # a randomized study: the arms compared (unblinded readers only)
    "two_arm_title": {"en": "Arms compared", "ja": "群間比較"},
    "arm_rates": {
        "en": "Response rates by arm (exact 95% CI); difference with Newcombe's 95% CI",
        "ja": "群別奏効率（正確な95%信頼区間）と群間差（Newcombe法95%信頼区間）",
    },
    "arm_tte": {
        "en": "Time to event by arm: median months; stratified Cox HR and log-rank p",
        "ja": "群別イベントまでの期間：中央値（月）、層別Cox HRと層別ログランクp値",
    },
    "difference": {"en": "Difference, % points (95% CI)", "ja": "差（%ポイント、95%信頼区間）"},
    "hr_ci": {"en": "Hazard ratio (95% CI)", "ja": "ハザード比（95%信頼区間）"},
    "logrank_p": {"en": "Stratified log-rank p", "ja": "層別ログランクp値"},
    "km_by_arm_title": {
        "en": "Kaplan-Meier plot by arm: {name}",
        "ja": "群別Kaplan-Meier曲線：{name}",
    },
    "hr_line": {
        "en": "Stratified HR (95% CI): {hr}",
        "ja": "層別ハザード比（95%信頼区間）：{hr}",
    },
    "forest_title": {
        "en": "Hazard ratio by stratum: {name}",
        "ja": "層別ハザード比（フォレストプロット）：{name}",
    },
    "overall_stratified": {"en": "Overall (stratified)", "ja": "全体（層別）"},
    "hr_axis": {
        "en": "Hazard ratio, first arm vs second (log scale)",
        "ja": "ハザード比（第1群対第2群、対数目盛）",
    },
    "blinded_note": {
        "en": "Blinded study: the arms are compared only for the unblinded statistician or once "
        "the study is unblinded; this report pools both arms.",
        "ja": "盲検試験：群間比較は非盲検の統計担当者のみ、または盲検解除後に示されます。"
        "本報告書は両群を併合しています。",
    },
}


#: CTCAE v5.0 terms in Japanese (JCOG translation, 有害事象共通用語規準 v5.0 日本語訳JCOG版)
#: for the terms this study reports; a term not listed is shown as recorded.
CTCAE_TERMS_JA: dict[str, str] = {
    "Anemia": "貧血",
    "Back pain": "背部痛",
    "Constipation": "便秘",
    "Diarrhea": "下痢",
    "Edema limbs": "四肢浮腫",
    "Fatigue": "疲労",
    "Hyperglycemia": "高血糖",
    "Insomnia": "不眠症",
    "Lung infection": "肺感染",
    "Nausea": "悪心",
    "Neutrophil count decreased": "好中球数減少",
    "Peripheral motor neuropathy": "末梢性運動ニューロパチー",
    "Peripheral sensory neuropathy": "末梢性感覚ニューロパチー",
    "Platelet count decreased": "血小板数減少",
    "Rash maculo-papular": "斑状丘疹状皮疹",
    "Upper respiratory infection": "上気道感染",
    "Vomiting": "嘔吐",
    "White blood cell decreased": "白血球減少",
}


def ae_term(term: str, lang: str) -> str:
    """An adverse-event term as CTCAE v5.0 writes it, in `lang` (as recorded when unknown)."""
    if lang == "ja":
        return CTCAE_TERMS_JA.get(term, term)
    return term


def drug_name(extrt: str, lang: str, drugs: dict | None = None) -> str:
    """The drug's name as the protocol file writes it (`name` / `name_ja`), found by its key
    or name in any case (ADEX EXTRT holds "ixazomib" from the database, "IXAZOMIB" in CDISC
    datasets); a drug the protocol does not name is shown as given."""
    if drugs is None:
        from mmtrial.protocol import load_protocol

        drugs = load_protocol().drugs
    wanted = str(extrt).strip().casefold()
    for key, drug in drugs.items():
        if wanted in (key.casefold(), drug.name.casefold()):
            return drug.name_ja if lang == "ja" else drug.name
    return str(extrt)


def text(key: str, lang: str, **values: object) -> str:
    """The report string `key` in `lang`, with `{placeholders}` filled from `values`."""
    entry = STRINGS[key]
    return entry.get(lang, entry["en"]).format(**values)
