"""Seeded synthetic book of business for a Japanese B2B SaaS company (a maintainer tool: ``cs-dojo data regenerate``).

``generate()`` returns every table as a DataFrame; ``write(out_dir)`` writes them as UTF-8 CSV that is
byte-identical for the same seed. The story behind the data (documented in ``datasets/README.md``):

* Each account has a hidden *destiny*: a base engagement level, and for accounts that will churn an
  onset month (2–7 months before a renewal) after which usage decays, seats go unused, tickets spike,
  ticket sentiment sours and NPS falls. Churn only happens at a renewal anniversary.
* Confounders make naive scores weaker than sensible ones: new accounts ramp up for their first months
  (low usage that is not risk), small healthy accounts have low absolute logins, some industries have
  seasonal dips (education in August, restaurants in February), a few healthy accounts have temporary dips,
  and CSM meetings follow ARR and ticket noise rather than risk.
* The commercial lifecycle (module 06) adds contract terms, ARR movements and contact changes from their own
  random streams, so the tables above stay byte-identical (see the section before the public API).
"""
from __future__ import annotations

import argparse
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..data import SNAPSHOT  # the "today" of the data set (runtime code reads it from data)

SEED = 20261123
N_ACCOUNTS = 600
FIRST_MONTH = pd.Timestamp("2023-10-01")
N_MONTHS = 36

INDUSTRIES = ["製造", "小売", "医療・介護", "不動産", "IT・ソフトウェア", "建設", "物流", "金融", "教育", "飲食"]
INDUSTRY_WEIGHTS = [0.16, 0.12, 0.11, 0.08, 0.14, 0.09, 0.08, 0.06, 0.07, 0.09]
INDUSTRY_SUFFIX = {
    "製造": ["精機", "工業", "製作所", "マテリアル"], "小売": ["ストア", "商店", "リテール", "マート"],
    "医療・介護": ["ケアサービス", "メディカル", "ライフケア", "会"], "不動産": ["不動産", "ホーム", "エステート", "住建"],
    "IT・ソフトウェア": ["システムズ", "テクノロジー", "ソフト", "ラボ"], "建設": ["建設", "工務店", "組", "建工"],
    "物流": ["ロジスティクス", "運輸", "物流", "エクスプレス"], "金融": ["ファイナンス", "信用金庫", "証券", "保険サービス"],
    "教育": ["アカデミー", "学院", "ゼミナール", "教育研究所"], "飲食": ["フーズ", "ダイニング", "キッチン", "食堂"],
}
NAME_STEMS = ["みなと", "さくら", "東和", "北斗", "あおば", "ひかり", "大和", "みどり", "富士", "若葉", "光洋", "中央",
              "三つ葉", "新星", "朝日", "青空", "白鷺", "丸山", "西海", "つばさ", "やまびこ", "千代田", "浪速", "瀬戸",
              "銀河", "日の出", "梅田", "葵", "暁", "東邦"]
SURNAMES = ["佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤", "吉田", "山田", "佐々木",
            "山口", "松本", "井上", "木村", "林", "斎藤", "清水", "山崎", "森", "池田", "橋本", "阿部", "石川", "前田",
            "藤田", "小川", "岡田", "後藤", "長谷川", "村上", "近藤", "石井", "坂本", "遠藤", "青木", "藤井", "西村"]
GIVEN = ["翔太", "美咲", "大輔", "陽菜", "健一", "由美", "拓也", "彩", "直樹", "麻衣", "誠", "恵", "亮", "愛", "悠斗",
         "結衣", "和也", "真理子", "隆", "裕子", "剛", "千尋", "聡", "舞", "浩二", "沙織", "修", "香織", "哲也", "奈々"]
CSMS = [("C01", "佐藤 美咲"), ("C02", "鈴木 大輔"), ("C03", "高橋 彩"), ("C04", "田中 健一"), ("C05", "伊藤 麻衣"),
        ("C06", "渡辺 拓也"), ("C07", "山本 千尋"), ("C08", "中村 亮"), ("C09", "小林 結衣"), ("C10", "加藤 誠")]
PLANS = ["スターター", "スタンダード", "エンタープライズ"]
PRICE_PER_SEAT = {"スターター": 9_600, "スタンダード": 19_200, "エンタープライズ": 31_200}  # yen per seat per year
N_KEY_FEATURES = 8
TICKET_CATEGORIES = ["操作方法", "不具合", "機能要望", "データ連携", "請求・契約"]
SEVERITIES = ["低", "中", "高", "緊急"]
MEETING_TYPES = ["キックオフ", "定例", "QBR", "トレーニング", "エスカレーション"]
SPEAKER_ROLES = ["CEO", "情報システム部", "現場"]
LABELS = ["導入目的", "利用用途"]


def _rng(seed: int, *keys: object) -> np.random.Generator:
    """An independent stream per (seed, keys) so adding one table never shifts another."""
    digest = hashlib.sha256("|".join(map(str, (seed, *keys))).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def _months() -> pd.DatetimeIndex:
    return pd.date_range(FIRST_MONTH, periods=N_MONTHS, freq="MS")


def _add_months(ts: pd.Timestamp, n: int) -> pd.Timestamp:
    return ts + pd.DateOffset(months=int(n))


def _months_since(start: pd.Timestamp, month: pd.Timestamp) -> int:
    """Whole calendar months from ``start``'s month to ``month`` (negative before it)."""
    return (month.year - start.year) * 12 + month.month - start.month


# --------------------------------------------------------------------------------------------------
# accounts and their hidden destiny
# --------------------------------------------------------------------------------------------------
@dataclass
class Destiny:
    engagement: float      # base share of seats in active use (0.3–0.95)
    adoption: int          # plateau number of key features used
    onset: pd.Timestamp | None  # when decay starts (churners only)
    churn_date: pd.Timestamp | None
    dip_start: pd.Timestamp | None  # a temporary dip that recovers (healthy accounts)
    distress: float        # 0..1 background dissatisfaction


def _accounts(seed: int) -> tuple[pd.DataFrame, dict[str, Destiny]]:
    rng = _rng(seed, "accounts")
    rows, destinies, used_names = [], {}, set()
    for i in range(1, N_ACCOUNTS + 1):
        aid = f"A{i:04d}"
        industry = INDUSTRIES[rng.choice(len(INDUSTRIES), p=INDUSTRY_WEIGHTS)]
        name = f"{NAME_STEMS[rng.integers(len(NAME_STEMS))]}{INDUSTRY_SUFFIX[industry][rng.integers(4)]}"
        company = f"株式会社{name}" if rng.random() < 0.6 else f"{name}株式会社"
        if company in used_names:
            company = f"{company}（{i}）"
        used_names.add(company)
        employees = int(np.clip(rng.lognormal(5.0, 1.2), 8, 30_000))
        size = "小規模" if employees < 100 else ("中堅" if employees < 1000 else "大企業")
        plan_p = {"小規模": [0.65, 0.32, 0.03], "中堅": [0.2, 0.6, 0.2], "大企業": [0.03, 0.37, 0.6]}[size]
        plan = PLANS[rng.choice(3, p=plan_p)]
        seats = int(np.clip(round(employees * rng.uniform(0.08, 0.45)), 5, 2500))
        arr = int(round(seats * PRICE_PER_SEAT[plan] * rng.uniform(0.85, 1.05), -3))
        complexity = int(np.clip(round(1 + 2.2 * PLANS.index(plan) / 2 + rng.normal(0.6, 0.9)), 1, 5))
        # contract start: a mix of long-standing and recent customers
        start_month = int(rng.integers(-33, N_MONTHS - 3)) if rng.random() < 0.55 else int(rng.integers(-33, 0))
        contract_start = _add_months(FIRST_MONTH, start_month) + pd.Timedelta(days=int(rng.integers(0, 27)))
        contract_start = contract_start.normalize()
        if arr >= 3_000_000 or (complexity >= 4 and arr >= 1_500_000):
            touch = "high"
        elif arr >= 700_000:
            touch = "low"
        else:
            touch = "tech"
        if rng.random() < 0.08:  # about 5% end up not matching the rule (module 03 asks learners to spot them)
            touch = ["high", "low", "tech"][rng.integers(3)]
        csm_id, csm_name = CSMS[rng.integers(len(CSMS))]

        # hidden destiny --------------------------------------------------------------------------
        engagement = float(np.clip(rng.beta(5, 2.4), 0.25, 0.97))
        risk_logit = -1.75 + 1.9 * (0.68 - engagement) + 0.35 * (plan == "スターター") - 0.3 * (touch == "high")
        risk_logit += rng.normal(0, 0.45)
        distress = float(1 / (1 + np.exp(-risk_logit)))
        churn_date = onset = None
        renewals = [_add_months(contract_start, 12 * k) for k in range(1, 10)]
        for renewal in renewals:
            if renewal <= FIRST_MONTH + pd.Timedelta(days=150) or renewal > SNAPSHOT:
                continue
            if rng.random() < distress:
                churn_date = renewal
                onset = _add_months(renewal, -int(rng.integers(2, 8)))
                break
        dip_start = None
        if churn_date is None and rng.random() < 0.18:
            dip_start = _add_months(FIRST_MONTH, int(rng.integers(3, N_MONTHS - 2)))
        adoption = int(np.clip(round(2 + 6 * engagement + rng.normal(0, 1.2)), 1, N_KEY_FEATURES))
        destinies[aid] = Destiny(engagement, adoption, onset, churn_date, dip_start, distress)
        next_renewal = next((r for r in renewals if r > SNAPSHOT), renewals[-1])
        rows.append({
            "account_id": aid, "company_name": company, "industry": industry, "employees": employees,
            "company_size": size, "plan": plan, "seats": seats, "arr_jpy": arr, "complexity": complexity,
            "contract_start": contract_start.date(), "renewal_date": (churn_date or next_renewal).date(),
            "csm_id": csm_id, "csm_name": csm_name, "touch_model": touch,
            "churned": churn_date is not None, "churn_date": churn_date.date() if churn_date is not None else None,
        })
    return pd.DataFrame(rows), destinies


def _season(industry: str, month: int) -> float:
    if industry == "教育" and month == 8:
        return 0.55
    if industry == "飲食" and month == 2:
        return 0.8
    if month in (1, 5):  # New Year and Golden Week holidays
        return 0.9
    return 1.0


def _decay(dest: Destiny, month: pd.Timestamp) -> float:
    """Multiplier on usage: 1 when healthy, falling towards churn; temporary dips recover."""
    factor = 1.0
    if dest.onset is not None and month >= dest.onset:
        span = max((dest.churn_date - dest.onset).days, 30)
        progress = min((month - dest.onset).days / span, 1.0)
        factor *= 1 - 0.6 * progress ** 0.9
    if dest.dip_start is not None:
        k = _months_since(dest.dip_start, month)
        if 0 <= k < 3:
            factor *= [0.75, 0.7, 0.85][k]
    return factor


def _active_months(acc: pd.Series, dest: Destiny) -> list[pd.Timestamp]:
    start = pd.Timestamp(acc.contract_start)
    out = []
    for m in _months():
        month_end = _add_months(m, 1) - pd.Timedelta(days=1)
        if month_end < start:
            continue
        if dest.churn_date is not None and m >= dest.churn_date:
            continue
        out.append(m)
    return out


# --------------------------------------------------------------------------------------------------
# monthly usage
# --------------------------------------------------------------------------------------------------
def _usage(seed: int, accounts: pd.DataFrame, destinies: dict[str, Destiny]) -> pd.DataFrame:
    rows = []
    for acc in accounts.itertuples(index=False):
        rng = _rng(seed, "usage", acc.account_id)
        dest = destinies[acc.account_id]
        start = pd.Timestamp(acc.contract_start)
        logins_per_user = rng.uniform(9, 22)
        for m in _active_months(acc, dest):
            age = _months_since(start, m)
            ramp = min(1.0, 0.35 + 0.22 * max(age, 0))
            util = dest.engagement * ramp * _season(acc.industry, m.month) * _decay(dest, m)
            util = float(np.clip(util * rng.normal(1, 0.11), 0.02, 1.0))
            active = int(round(acc.seats * util))
            logins = int(rng.poisson(max(active * logins_per_user * rng.normal(1, 0.1), 0.5)))
            features = dest.adoption * min(1.0, 0.3 + 0.25 * max(age, 0)) * (0.55 + 0.45 * _decay(dest, m))
            features = int(np.clip(round(features + rng.normal(0, 0.5)), 0, N_KEY_FEATURES))
            rows.append({"account_id": acc.account_id, "month": m.date(), "seats": acc.seats,
                         "active_users": active, "logins": logins, "key_features_used": features})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------------
# support tickets
# --------------------------------------------------------------------------------------------------
def _tickets(seed: int, accounts: pd.DataFrame, destinies: dict[str, Destiny]) -> pd.DataFrame:
    rows = []
    for acc in accounts.itertuples(index=False):
        rng = _rng(seed, "tickets", acc.account_id)
        dest = destinies[acc.account_id]
        start = pd.Timestamp(acc.contract_start)
        base = 0.12 + 0.05 * np.log1p(acc.seats) + 0.1 * (acc.complexity - 1)
        for m in _active_months(acc, dest):
            age = _months_since(start, m)
            trouble = 1 - _decay(dest, m)  # 0 when healthy
            rate = base * (1.8 if age < 3 else 1.0) * (1 + 3.0 * trouble) * rng.uniform(0.6, 1.4)
            for _ in range(int(rng.poisson(rate))):
                cat_p = np.array([0.34, 0.22, 0.2, 0.14, 0.1])
                if trouble > 0.1:
                    cat_p = cat_p + np.array([0.0, 0.12, 0.0, 0.06, 0.06])
                cat = TICKET_CATEGORIES[rng.choice(5, p=cat_p / cat_p.sum())]
                sev_p = np.array([0.45, 0.35, 0.15, 0.05]) if trouble < 0.1 else np.array([0.25, 0.35, 0.28, 0.12])
                sev = int(rng.choice(4, p=sev_p))
                day = int(rng.integers(0, 28))
                hours = float(round(rng.lognormal(1.2 + 0.7 * sev, 0.7) * (1 + trouble), 1))
                sentiment = float(np.clip(rng.normal(0.25 - 0.3 * sev / 3 - 1.1 * trouble - 0.4 * dest.distress, 0.3),
                                          -1, 1))
                rows.append({"account_id": acc.account_id, "opened_at": (m + pd.Timedelta(days=day)).date(),
                             "category": cat, "severity": SEVERITIES[sev], "hours_to_resolve": hours,
                             "sentiment": round(sentiment, 2)})
    df = pd.DataFrame(rows).sort_values(["opened_at", "account_id"], kind="stable").reset_index(drop=True)
    df.insert(0, "ticket_id", [f"T{i:06d}" for i in range(1, len(df) + 1)])
    return df


# --------------------------------------------------------------------------------------------------
# contacts
# --------------------------------------------------------------------------------------------------
DEPARTMENTS = {
    "決裁者": [("経営", "経営者", "代表取締役"), ("経営企画部", "経営企画", "部長"), ("事業部", "事業責任者", "事業部長")],
    "管理者": [("情報システム部", "情報システム", "課長"), ("業務推進部", "業務企画", "主任"), ("総務部", "総務", "係長")],
}
FIELD_DEPARTMENTS = {
    "製造": [("製造部", "生産管理"), ("品質保証部", "品質管理")], "小売": [("店舗運営部", "店長"), ("販売部", "販売スタッフ")],
    "医療・介護": [("介護事業部", "介護職"), ("看護部", "看護師")], "不動産": [("営業部", "不動産営業"), ("管理部", "物件管理")],
    "IT・ソフトウェア": [("開発部", "エンジニア"), ("営業部", "インサイドセールス")], "建設": [("工事部", "現場監督"), ("設計部", "設計")],
    "物流": [("配送センター", "配車担当"), ("倉庫管理部", "倉庫作業リーダー")], "金融": [("営業推進部", "渉外担当"), ("事務センター", "事務")],
    "教育": [("教務部", "講師"), ("事務局", "教務事務")], "飲食": [("店舗運営部", "店長"), ("セントラルキッチン", "調理リーダー")],
}


def _person(rng: np.random.Generator) -> str:
    return f"{SURNAMES[rng.integers(len(SURNAMES))]} {GIVEN[rng.integers(len(GIVEN))]}"


def _contacts(seed: int, accounts: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for acc in accounts.itertuples(index=False):
        rng = _rng(seed, "contacts", acc.account_id)
        n_users = int(np.clip(rng.poisson(1.5 + np.log10(acc.seats)), 1, 6))
        people = [("決裁者", *DEPARTMENTS["決裁者"][rng.integers(3)])]
        people.append(("管理者", *DEPARTMENTS["管理者"][rng.integers(3)]))
        if acc.complexity >= 4:
            people.append(("管理者", *DEPARTMENTS["管理者"][0]))
        for _ in range(n_users):
            dept, job = FIELD_DEPARTMENTS[acc.industry][rng.integers(2)]
            people.append(("利用者", dept, job, "リーダー" if rng.random() < 0.3 else "一般"))
        champion = int(rng.integers(len(people)))
        for k, (role, dept, job, title) in enumerate(people):
            rows.append({"account_id": acc.account_id, "name": _person(rng), "deal_role": role, "department": dept,
                         "job_type": job, "title": title, "is_champion": k == champion})
    df = pd.DataFrame(rows)
    df.insert(0, "contact_id", [f"P{i:05d}" for i in range(1, len(df) + 1)])
    return df


# --------------------------------------------------------------------------------------------------
# NPS survey responses
# --------------------------------------------------------------------------------------------------
NPS_COMMENTS = {
    "promoter": [
        "現場の入力が楽になり、月末の集計作業がほぼなくなりました。", "担当の方が毎回こちらの業務を理解したうえで提案してくれます。",
        "他部署にも広げたいと考えています。", "サポートの返答が早く、安心して使えています。",
        "ダッシュボードを経営会議でそのまま使っています。", "操作が直感的で、新人でもすぐに覚えられました。",
    ],
    "passive": [
        "便利ですが、使いこなせている人が一部に限られています。", "機能は十分ですが、もう少し帳票の自由度がほしいです。",
        "大きな不満はありませんが、効果をまだ数字で示せていません。", "導入時の説明は丁寧でしたが、その後の接点が少ないと感じます。",
        "価格に見合っているかは、次の更新までに判断したいです。",
    ],
    "detractor": [
        "現場が結局エクセルに戻ってしまっています。", "不具合の問い合わせへの回答に時間がかかりすぎます。",
        "導入の目的だった工数削減が実感できていません。", "担当者が替わってから状況を分かってもらえていない気がします。",
        "他社サービスへの切り替えも社内で話題になっています。", "連携機能が不安定で、二重入力が発生しています。",
    ],
}


def _nps(seed: int, accounts: pd.DataFrame, contacts: pd.DataFrame, destinies: dict[str, Destiny]) -> pd.DataFrame:
    rows = []
    survey_months = [m for m in _months() if m.month in (3, 9)]
    by_account = {aid: g for aid, g in contacts.groupby("account_id", sort=True)}
    for acc in accounts.itertuples(index=False):
        rng = _rng(seed, "nps", acc.account_id)
        dest = destinies[acc.account_id]
        active = set(_active_months(acc, dest))
        people = by_account[acc.account_id]
        for m in survey_months:
            if m not in active:
                continue
            n = int(rng.integers(0, min(3, len(people)) + 1))
            for idx in rng.choice(len(people), size=n, replace=False):
                person = people.iloc[int(idx)]
                trouble = 1 - _decay(dest, m)
                mean = 8.3 - 2.2 * dest.distress - 5.5 * trouble - 0.6 * (person.deal_role == "利用者")
                score = int(np.clip(round(rng.normal(mean, 1.6)), 0, 10))
                kind = "promoter" if score >= 9 else ("passive" if score >= 7 else "detractor")
                comment = NPS_COMMENTS[kind][rng.integers(len(NPS_COMMENTS[kind]))] if rng.random() < 0.7 else ""
                day = int(rng.integers(5, 25))
                rows.append({"account_id": acc.account_id, "contact_id": person.contact_id,
                             "responded_at": (m + pd.Timedelta(days=day)).date(), "score": score, "comment": comment})
    df = pd.DataFrame(rows).sort_values(["responded_at", "account_id", "contact_id"], kind="stable")
    df = df.reset_index(drop=True)
    df.insert(0, "response_id", [f"N{i:05d}" for i in range(1, len(df) + 1)])
    return df


# --------------------------------------------------------------------------------------------------
# meetings (touch)
# --------------------------------------------------------------------------------------------------
def _meetings(seed: int, accounts: pd.DataFrame, destinies: dict[str, Destiny], tickets: pd.DataFrame) -> pd.DataFrame:
    rows = []
    severe = tickets[tickets.severity.isin(["高", "緊急"])]
    severe_by_account = {aid: g for aid, g in severe.groupby("account_id", sort=True)}
    for acc in accounts.itertuples(index=False):
        rng = _rng(seed, "meetings", acc.account_id)
        dest = destinies[acc.account_id]
        months = _active_months(acc, dest)
        start = pd.Timestamp(acc.contract_start)
        if FIRST_MONTH <= start:
            rows.append((acc.account_id, start + pd.Timedelta(days=int(rng.integers(1, 10))), "キックオフ", 60))
        for m in months:
            age = _months_since(start, m)
            if 0 <= age < 3 and acc.touch_model != "tech":
                rows.append((acc.account_id, m + pd.Timedelta(days=int(rng.integers(5, 20))), "トレーニング", 90))
            every = {"high": 1, "low": 3, "tech": 0}[acc.touch_model]
            # attention follows ARR, not risk: bigger accounts get their regular meetings more reliably
            if every and age % every == 0 and rng.random() < 0.75 + 0.2 * (acc.arr_jpy > 3_000_000):
                rows.append((acc.account_id, m + pd.Timedelta(days=int(rng.integers(3, 26))), "定例", 30))
            if acc.touch_model == "high" and age > 0 and age % 3 == 0:
                rows.append((acc.account_id, m + pd.Timedelta(days=int(rng.integers(10, 26))), "QBR", 60))
        for t in (severe_by_account.get(acc.account_id, pd.DataFrame()).itertuples(index=False)):
            if t.severity == "緊急" or rng.random() < 0.3:
                rows.append((acc.account_id, pd.Timestamp(t.opened_at) + pd.Timedelta(days=int(rng.integers(0, 4))),
                             "エスカレーション", 45))
    df = pd.DataFrame(rows, columns=["account_id", "date", "meeting_type", "duration_min"])
    df["date"] = pd.to_datetime(df["date"]).dt.date
    df = df[pd.to_datetime(df["date"]) <= SNAPSHOT]
    df = df.sort_values(["date", "account_id", "meeting_type"], kind="stable").reset_index(drop=True)
    csm = accounts.set_index("account_id")["csm_id"]
    df.insert(2, "csm_id", df["account_id"].map(csm))
    df.insert(0, "meeting_id", [f"M{i:05d}" for i in range(1, len(df) + 1)])
    return df


# --------------------------------------------------------------------------------------------------
# hearing notes (purpose of adoption vs usage, by speaker role)
# --------------------------------------------------------------------------------------------------
PURPOSE_NOTES = {
    "製造": ["不良品の原因をすぐ追える体制をつくり、品質クレームを減らしたい。", "熟練者に頼っている段取りを標準化し、若手でも回せる工場にしたい。"],
    "小売": ["欠品による機会損失を減らし、既存店の売上を伸ばしたい。", "本部と店舗の情報格差をなくし、施策の実行スピードを上げたい。"],
    "医療・介護": ["記録業務の負担を減らして、利用者さんと向き合う時間を増やしたい。", "職員の離職を防ぐために、夜勤の引き継ぎ負担を軽くしたい。"],
    "不動産": ["反響から契約までの期間を短くし、営業一人当たりの成約数を増やしたい。", "物件情報を一元化して、担当者が替わっても顧客対応の質を保ちたい。"],
    "IT・ソフトウェア": ["受注案件の採算を見える化し、赤字プロジェクトを早期に止めたい。", "属人化した問い合わせ対応を仕組み化し、開発に集中できる時間を確保したい。"],
    "建設": ["現場の進捗を本社がリアルタイムで把握し、工期遅れを防ぎたい。", "残業時間の上限規制に対応するため、書類作成の時間を削りたい。"],
    "物流": ["配送ルートの無駄をなくし、燃料費とドライバーの拘束時間を減らしたい。", "誤出荷をゼロに近づけ、荷主からの信頼を高めたい。"],
    "金融": ["顧客対応の記録を残し、監査で説明できる状態にしたい。", "紙の稟議をなくして、融資判断までの日数を短くしたい。"],
    "教育": ["生徒一人ひとりの理解度を把握し、退塾を減らしたい。", "講師の事務作業を減らし、授業準備に使える時間を増やしたい。"],
    "飲食": ["食材ロスを減らして原価率を下げたい。", "店長の経験に頼らないシフト作成で、人件費を適正にしたい。"],
}
USAGE_NOTES = {
    "製造": ["朝礼のあとに前日の不良件数を画面で確認している。", "検査結果はタブレットから入力し、写真も一緒に添付している。"],
    "小売": ["開店前に在庫アラートを見て、発注数を調整している。", "売場の写真を撮って本部への報告に使っている。"],
    "医療・介護": ["訪問先でスマートフォンから介護記録を入力している。", "申し送りは紙をやめて、アプリのメモ欄に書いている。"],
    "不動産": ["内見の予定をカレンダー機能で共有している。", "問い合わせが来たら物件ページのURLをそのまま送っている。"],
    "IT・ソフトウェア": ["毎週金曜に工数を入力し、案件ごとに集計している。", "問い合わせはチケットにしてSlack通知で拾っている。"],
    "建設": ["現場写真を撮影して工程表に紐づけている。", "日報は帰りの車の中でスマホから入力している。"],
    "物流": ["出荷前にハンディで読み取り、検品結果を登録している。", "配車表を前日の夕方に作って、ドライバーに共有している。"],
    "金融": ["面談の記録を当日中に入力し、上長が確認している。", "申込書の不備チェックにチェックリスト機能を使っている。"],
    "教育": ["授業後に小テストの点数を入力している。", "保護者面談の前に生徒のカルテ画面を印刷している。"],
    "飲食": ["閉店後に食材の残量を入力して翌日の仕込み量を決めている。", "シフトの希望はアプリでスタッフから集めている。"],
}
VAGUE_NOTES = [
    "目的は経営のほうで決めたので、詳しいことは分かりません。", "現場がどう使っているかは把握していないので、直接聞いてください。",
    "とりあえず全社で入れることになった、という理解です。", "セキュリティ要件さえ満たしていれば、使い方は各部署に任せています。",
]


def _hearing_notes(seed: int, accounts: pd.DataFrame, meetings: pd.DataFrame) -> pd.DataFrame:
    rng = _rng(seed, "hearing")
    kickoffs = meetings[meetings.meeting_type.isin(["キックオフ", "QBR"])].drop_duplicates("account_id")
    chosen = kickoffs.sort_values("meeting_id").head(120)
    industry = accounts.set_index("account_id")["industry"]
    rows = []
    for mt in chosen.itertuples(index=False):
        ind = industry[mt.account_id]
        for role in SPEAKER_ROLES:
            for _ in range(int(rng.integers(1, 3))):
                if role == "CEO":
                    label = "導入目的" if rng.random() < 0.9 else "利用用途"
                    clear = rng.random() < 0.9
                elif role == "現場":
                    label = "利用用途" if rng.random() < 0.85 else "導入目的"
                    clear = rng.random() < 0.85
                else:
                    label = "導入目的" if rng.random() < 0.5 else "利用用途"
                    clear = rng.random() < 0.35
                if clear:
                    pool = PURPOSE_NOTES[ind] if label == "導入目的" else USAGE_NOTES[ind]
                    text = pool[rng.integers(len(pool))]
                else:
                    text = VAGUE_NOTES[rng.integers(len(VAGUE_NOTES))]
                    label = "導入目的" if "目的" in text or "全社" in text else "利用用途"
                rows.append({"account_id": mt.account_id, "meeting_id": mt.meeting_id, "speaker_role": role,
                             "label": label, "clarity": "明確" if clear else "曖昧", "text": text})
    df = pd.DataFrame(rows)
    df.insert(0, "note_id", [f"H{i:04d}" for i in range(1, len(df) + 1)])
    return df


# --------------------------------------------------------------------------------------------------
# the commercial lifecycle (module 06): contract terms, ARR movements, contact changes
#
# These tables use their own random streams ("contracts", "revenue", "contact_changes") and only read the
# tables above, so adding them leaves every earlier table byte-identical. They follow the same destiny:
# churners lose their champion more often (mostly at the April reshuffle, shortly before the decline),
# contract less at renewals and stop expanding once the decline starts; accounts that use the product
# fully are the ones that add seats.
# --------------------------------------------------------------------------------------------------
FISCAL_YEAR_ENDS = [3, 12, 9, 6, 2, 8, 10, 1]
FISCAL_YEAR_END_WEIGHTS = [0.62, 0.14, 0.06, 0.05, 0.04, 0.03, 0.03, 0.03]
APPROVAL_ROUTES = ["部長決裁", "役員稟議", "取締役会"]
MOVEMENT_TYPES = ["新規", "拡大", "縮小", "解約", "価格改定"]
MOVEMENT_REASONS = ["新規契約", "ライセンス追加", "オプション追加", "上位プラン", "ライセンス削減", "オプション解約",
                    "下位プラン", "解約", "価格改定"]
PRICE_REVISION_FROM = pd.Timestamp("2025-04-01")  # list prices rose for renewals from this day
CHANGE_TYPES = ["異動", "退職"]


def _contracts(seed: int, accounts: pd.DataFrame, destinies: dict[str, Destiny]) -> pd.DataFrame:
    rows = []
    for acc in accounts.itertuples(index=False):
        rng = _rng(seed, "contracts", acc.account_id)
        dest = destinies[acc.account_id]
        start, end = pd.Timestamp(acc.contract_start), pd.Timestamp(acc.renewal_date)
        term = int(rng.choice([12, 24, 36], p=[0.8, 0.12, 0.08] if acc.company_size != "小規模" else [0.95, 0.05, 0.0]))
        if _add_months(end, -term) < start:
            term = 12
        auto_p = {"小規模": 0.9, "中堅": 0.75, "大企業": 0.5}[acc.company_size]
        auto = bool(rng.random() < auto_p)
        notice = int(rng.choice([30, 60, 90], p={"小規模": [0.7, 0.25, 0.05], "中堅": [0.35, 0.45, 0.2],
                                                 "大企業": [0.1, 0.4, 0.5]}[acc.company_size]))
        if acc.arr_jpy < 500_000:
            route = APPROVAL_ROUTES[int(rng.choice(3, p=[0.85, 0.15, 0.0]))]
        elif acc.arr_jpy < 5_000_000:
            route = APPROVAL_ROUTES[int(rng.choice(3, p=[0.3, 0.65, 0.05]))]
        else:
            route = APPROVAL_ROUTES[int(rng.choice(3, p=[0.0, 0.6, 0.4]))]
        fye = FISCAL_YEAR_ENDS[int(rng.choice(len(FISCAL_YEAR_ENDS), p=FISCAL_YEAR_END_WEIGHTS))]
        notice_on = None
        if dest.churn_date is not None:
            # the customer says so in writing: on time for auto-renewing contracts, a little earlier otherwise
            deadline = dest.churn_date - pd.Timedelta(days=notice)
            notice_on = (deadline - pd.Timedelta(days=int(rng.integers(0, 21 if auto else 45)))).date()
        rows.append({"account_id": acc.account_id, "term_start": _add_months(end, -term).date(),
                     "term_end": end.date(), "term_months": term, "auto_renew": auto, "notice_days": notice,
                     "approval_route": route, "fiscal_year_end_month": fye, "cancel_notice_on": notice_on})
    return pd.DataFrame(rows)


def _revenue_movements(seed: int, accounts: pd.DataFrame, destinies: dict[str, Destiny],
                       usage: pd.DataFrame, contracts: pd.DataFrame) -> pd.DataFrame:
    util = {(a, m): u / s for a, m, u, s in zip(usage.account_id, pd.to_datetime(usage.month),
                                                usage.active_users, usage.seats)}
    term_start = dict(zip(contracts.account_id, pd.to_datetime(contracts.term_start)))
    rows = []
    for acc in accounts.itertuples(index=False):
        rng = _rng(seed, "revenue", acc.account_id)
        dest = destinies[acc.account_id]
        start = pd.Timestamp(acc.contract_start)
        last = dest.churn_date if dest.churn_date is not None else SNAPSHOT
        renewals = [r for r in (_add_months(start, 12 * k) for k in range(1, 10)) if r <= last]
        plan_level = PLANS.index(acc.plan)
        events = []  # (date, type, reason, factor) on a relative ARR of 1.0 at the start
        upgraded = downgraded = False
        for m in pd.date_range(start.to_period("M").to_timestamp(), last, freq="MS"):
            age = _months_since(start, m)
            if age < 3 or (dest.onset is not None and m >= _add_months(dest.onset, -1)):
                continue
            u = util.get((acc.account_id, _add_months(m, -1)))
            pull = 1.0 if u is None else (3.0 if u >= 0.85 else (1.0 if u >= 0.65 else 0.15))
            p = (0.014 + 0.1 * max(dest.engagement - 0.5, 0)) * pull
            if rng.random() >= p:
                continue
            day = m + pd.Timedelta(days=int(rng.integers(0, 27)))
            if day <= start or day > last:
                continue
            kind = rng.random()
            if kind < 0.15 and plan_level > 0 and not upgraded and not downgraded:
                events.append((day, "拡大", "上位プラン", 1 + rng.uniform(0.25, 0.5)))
                upgraded = True
            elif kind < 0.45:
                events.append((day, "拡大", "オプション追加", 1 + rng.uniform(0.06, 0.15)))
            else:
                events.append((day, "拡大", "ライセンス追加", 1 + rng.uniform(0.08, 0.3)))
        for r in renewals:
            if r == dest.churn_date or r > term_start[acc.account_id]:
                continue  # the churn itself comes below; no renegotiation inside the current (multi-year) term
            if r >= PRICE_REVISION_FROM and start < _add_months(PRICE_REVISION_FROM, -6) \
                    and not any(e[1] == "価格改定" for e in events) and rng.random() < 0.6:
                events.append((r, "価格改定", "価格改定", 1 + float(rng.choice([0.05, 0.08, 0.1]))))
            churner_soon = dest.churn_date is not None and r >= _add_months(dest.churn_date, -12)
            if rng.random() < 0.04 + 0.35 * dest.distress + 0.25 * churner_soon:
                kind = rng.random()
                if kind < 0.2 and plan_level < 2 and not upgraded and not downgraded:
                    events.append((r, "縮小", "下位プラン", 1 - rng.uniform(0.25, 0.4)))
                    downgraded = True
                elif kind < 0.4:
                    events.append((r, "縮小", "オプション解約", 1 - rng.uniform(0.05, 0.12)))
                else:
                    events.append((r, "縮小", "ライセンス削減", 1 - rng.uniform(0.1, 0.3)))
        events.sort(key=lambda e: (e[0], MOVEMENT_TYPES.index(e[1])))  # the table's own row order
        rel = [1.0]
        for e in events:
            rel.append(rel[-1] * e[3])
        scale = acc.arr_jpy / rel[-1]
        values = [int(round(v * scale, -3)) for v in rel]
        values[-1] = int(acc.arr_jpy)
        if values[0] <= 0:
            values[0] = 1000
        out = [(start, "新規", "新規契約", values[0], values[0])]
        for e, before, after in zip(events, values, values[1:]):
            if after != before:
                out.append((e[0], e[1], e[2], after - before, after))
        if dest.churn_date is not None:
            out.append((dest.churn_date, "解約", "解約", -values[-1], 0))
        for day, kind, reason, change, after in out:
            rows.append({"account_id": acc.account_id, "effective_date": day.date(),
                         "month": day.to_period("M").to_timestamp().date(), "movement_type": kind,
                         "reason": reason, "arr_change_jpy": int(change), "arr_after_jpy": int(after)})
    df = pd.DataFrame(rows)
    order = {k: i for i, k in enumerate(MOVEMENT_TYPES)}
    df["_k"] = df["movement_type"].map(order)
    df = df.sort_values(["effective_date", "account_id", "_k"], kind="stable").drop(columns="_k")
    df = df.reset_index(drop=True)
    df.insert(0, "movement_id", [f"R{i:05d}" for i in range(1, len(df) + 1)])
    return df


def _contact_changes(seed: int, accounts: pd.DataFrame, destinies: dict[str, Destiny],
                     contacts: pd.DataFrame) -> pd.DataFrame:
    by_account = {aid: g for aid, g in contacts.groupby("account_id", sort=True)}
    rows = []
    for acc in accounts.itertuples(index=False):
        rng = _rng(seed, "contact_changes", acc.account_id)
        dest = destinies[acc.account_id]
        people = by_account[acc.account_id]
        champion = people[people.is_champion].iloc[0]
        deciders = people[(people.deal_role == "決裁者") & ~people.is_champion]
        start = max(pd.Timestamp(acc.contract_start), FIRST_MONTH)
        last = min(dest.churn_date or SNAPSHOT, SNAPSHOT)
        aprils = [pd.Timestamp(f"{y}-04-01") for y in range(start.year, last.year + 1)
                  if start < pd.Timestamp(f"{y}-04-01") <= last]
        changes = []  # (contact row, date, type, handover)
        if dest.onset is not None and rng.random() < 0.55:
            near = [a for a in aprils if _add_months(dest.onset, -3) <= a <= _add_months(dest.onset, 1)]
            day = near[0] if near else dest.onset - pd.Timedelta(days=int(rng.integers(0, 40)))
            if start < day <= last:
                changes.append((champion, day, "異動" if rng.random() < 0.7 else "退職", rng.random() < 0.25))
        elif rng.random() < 0.5:
            for a in aprils:
                if rng.random() < 0.09:
                    changes.append((champion, a, "異動", rng.random() < 0.7))
                    break
            else:
                if rng.random() < 0.08:
                    day = _add_months(start, int(rng.integers(1, max(_months_since(start, last), 2))))
                    day = day + pd.Timedelta(days=int(rng.integers(0, 27)))
                    if start < day <= last:
                        changes.append((champion, day, "退職", rng.random() < 0.6))
        for a in aprils:
            if len(deciders) and rng.random() < 0.07:
                changes.append((deciders.iloc[0], a, "異動", rng.random() < 0.5))
                break
        for person, day, kind, handover in changes:
            learned = day + pd.Timedelta(days=int(rng.integers(0, 10) if handover else rng.integers(14, 120)))
            rows.append({"account_id": acc.account_id, "contact_id": person.contact_id, "changed_on": day.date(),
                         "change_type": kind, "successor_name": _person(rng) if rng.random() < 0.85 else None,
                         "handover_meeting": bool(handover), "csm_learned_on": min(learned, SNAPSHOT).date()})
    df = pd.DataFrame(rows).sort_values(["changed_on", "account_id", "contact_id"], kind="stable")
    df = df.reset_index(drop=True)
    df.insert(0, "change_id", [f"X{i:04d}" for i in range(1, len(df) + 1)])
    return df


# --------------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------------
TABLE_ORDER = ["accounts", "contacts", "usage_monthly", "tickets", "nps", "meetings", "hearing_notes",
               "contracts", "revenue_movements", "contact_changes"]


def generate(seed: int = SEED) -> dict[str, pd.DataFrame]:
    """Every table of the synthetic book of business, keyed by table name."""
    accounts, destinies = _accounts(seed)
    contacts = _contacts(seed, accounts)
    usage = _usage(seed, accounts, destinies)
    tickets = _tickets(seed, accounts, destinies)
    nps = _nps(seed, accounts, contacts, destinies)
    meetings = _meetings(seed, accounts, destinies, tickets)
    notes = _hearing_notes(seed, accounts, meetings)
    contracts = _contracts(seed, accounts, destinies)
    revenue = _revenue_movements(seed, accounts, destinies, usage, contracts)
    changes = _contact_changes(seed, accounts, destinies, contacts)
    return {"accounts": accounts, "contacts": contacts, "usage_monthly": usage, "tickets": tickets,
            "nps": nps, "meetings": meetings, "hearing_notes": notes, "contracts": contracts,
            "revenue_movements": revenue, "contact_changes": changes}


def write(out_dir: str | Path, seed: int = SEED) -> dict[str, Path]:
    """Write every table as ``<name>.csv`` (UTF-8, LF, fixed float format); returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, df in generate(seed).items():
        path = out / f"{name}.csv"
        df.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
        paths[name] = path
    return paths


def _cmd_regenerate(args: argparse.Namespace) -> int:
    import sys

    from ..paths import datasets_dir

    out = Path(args.out) if args.out else datasets_dir()
    try:
        paths = write(out, seed=args.seed)
    except OSError as exc:
        where = exc.filename or out
        print(f"エラー: 「{where}」に書き込めません ({exc.strerror or type(exc).__name__})。"
              "書き込み権限のあるフォルダを --out で指定してください。", file=sys.stderr)
        return 1
    for name, path in paths.items():
        print(f"{name:>17}: {path} ({sum(1 for _ in path.open(encoding='utf-8')) - 1} 行)")
    return 0


def register(subparsers) -> None:
    import functools

    from ..cli import print_help_of

    data = subparsers.add_parser(
        "data", help="同梱データの再生成 (shipped synthetic data)",
        description="同梱の合成データ (datasets/*.csv) を扱います。サブコマンドを指定してください。",
        epilog="例: cs-dojo data regenerate",
    )
    sub = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    regen = sub.add_parser(
        "regenerate", help="datasets/ の CSV をシードから作り直す (byte-identical for the same seed)",
        description="合成データ (顧客・利用状況・問い合わせ・NPS・面談・ヒアリングメモ・契約条件・ARRの変動・"
                    "担当者の異動) を再生成します。同じシードなら毎回 1 バイトも変わりません。",
        epilog="例: cs-dojo data regenerate --out ./data_copy  (読むもの: なし / 書くもの: OUT/*.csv、既定は datasets/*.csv)",
    )
    regen.add_argument("--out", metavar="DIR", help="出力フォルダ (既定: datasets/)")
    regen.add_argument("--seed", metavar="N", type=int, default=SEED, help=f"乱数シード (既定: {SEED})")
    regen.set_defaults(func=_cmd_regenerate)
    data.set_defaults(func=functools.partial(print_help_of, data))
