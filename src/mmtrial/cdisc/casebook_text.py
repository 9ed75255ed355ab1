"""Every string of a casebook, in English and Japanese."""

from __future__ import annotations

STRINGS: dict[str, dict[str, str]] = {
    "title": {"en": "Casebook", "ja": "症例報告書（ケースブック）"},
    "header": {
        "en": "{study} casebook · {subject} · site {site}",
        "ja": "{study} 症例報告書 · {subject} · 施設 {site}",
    },
    "footer": {
        "en": "Exported {when} UTC by mmtrial {version} · complete copy of the EDC records",
        "ja": "出力 {when} UTC（mmtrial {version}）· EDC記録の完全な写し",
    },
    "page": {"en": "Page", "ja": "ページ"},
    "statement": {
        "en": "This casebook is a complete copy of the participant's records in the EDC: every "
        "form's data as stored at the time of export, each record's audit history (who, when "
        "in UTC, what changed from what to what, and why), the queries and the electronic "
        "signatures. Deleted records are kept and marked. * marks a value changed after its "
        "first entry.",
        "ja": "本症例報告書は、EDCに記録された当該被験者の記録の完全な写しである。出力時点の各フォームの"
        "データ、各記録の監査証跡（誰が、いつ（UTC）、何を何から何へ変更したか、その理由）、問い合わせ"
        "及び電子署名を含む。削除された記録も残し、その旨を示す。* は初回入力後に変更された値を示す。",
    },
    "participant": {"en": "Participant", "ja": "被験者"},
    "site": {"en": "Site", "ja": "施設"},
    "protocol": {"en": "Protocol", "ja": "治験実施計画書"},
    "status": {"en": "Status", "ja": "状態"},
    "exported": {"en": "Exported", "ja": "出力日時"},
    "signatures": {"en": "Electronic signatures", "ja": "電子署名"},
    "no_signatures": {"en": "No signature.", "ja": "署名なし。"},
    "signature": {"en": "Signature {n}", "ja": "署名 {n}"},
    "signer": {"en": "Signed by", "ja": "署名者"},
    "signed_at": {"en": "Date and time", "ja": "日時"},
    "meaning": {"en": "Meaning", "ja": "署名の意味"},
    "signature_status": {"en": "Status", "ja": "状態"},
    "valid": {"en": "valid", "ja": "有効"},
    "invalidated": {"en": "invalidated on {when}: {reason}", "ja": "無効（{when}）：{reason}"},
    "content_sha256": {"en": "SHA-256 of the signed data", "ja": "署名対象データのSHA-256"},
    "confirmation": {"en": "Confirmation text version", "ja": "確認文の版"},
    "queries": {"en": "Queries", "ja": "問い合わせ"},
    "no_queries": {"en": "No query.", "ja": "問い合わせなし。"},
    "query": {
        "en": "Query {n} on {target} ({status}, {origin})",
        "ja": "問い合わせ {n}：{target}（{status}、{origin}）",
    },
    "record": {"en": "{form} #{pk}", "ja": "{form} #{pk}"},
    "deleted": {"en": "deleted", "ja": "削除済み"},
    "edited": {"en": "edited after first entry", "ja": "初回入力後に変更あり"},
    "history": {"en": "Audit history (UTC)", "ja": "監査証跡（UTC）"},
    "reason": {"en": "reason", "ja": "理由"},
    "first_entry": {"en": "first entry", "ja": "初回入力"},
    "stands_for": {"en": "demo: stands for {day}", "ja": "デモ：{day} の記録"},
    "cycle": {"en": "{event} {n}", "ja": "{event} {n}"},
    "other_events": {"en": "Other audit events", "ja": "その他の監査証跡"},
    "no_records": {"en": "No records.", "ja": "記録なし。"},
    "yes": {"en": "Yes", "ja": "はい"},
    "no": {"en": "No", "ja": "いいえ"},
    "blank": {"en": "—", "ja": "—"},
    "action_create": {"en": "created", "ja": "作成"},
    "action_update": {"en": "changed", "ja": "変更"},
    "action_delete": {"en": "deleted", "ja": "削除"},
    "action_lock": {"en": "locked", "ja": "ロック"},
    "action_unlock": {"en": "unlocked", "ja": "ロック解除"},
    "action_sign": {"en": "signed", "ja": "署名"},
    "action_signature_invalidated": {"en": "signature invalidated", "ja": "署名無効化"},
    "action_query_open": {"en": "query opened", "ja": "問い合わせ発行"},
    "action_query_answer": {"en": "query answered", "ja": "問い合わせ回答"},
    "action_query_reopen": {"en": "query reopened", "ja": "問い合わせ再発行"},
    "action_query_close": {"en": "query closed", "ja": "問い合わせ終了"},
}


def text(key: str, lang: str, **values: object) -> str:
    entry = STRINGS[key]
    return entry.get(lang, entry["en"]).format(**values)


def action(name: str, lang: str) -> str:
    key = f"action_{name}"
    return text(key, lang) if key in STRINGS else name.replace("_", " ")
