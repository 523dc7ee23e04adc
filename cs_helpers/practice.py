"""Answer keys and explanations for the lesson practices, kept out of the cells a learner runs.

A lesson asks, the learner answers in a variable or a widget, and one call checks it::

    from cs_helpers import practice as P
    P.quiz("02.prep")                                  # dropdowns + 答え合わせ button
    P.check("01.self_running", practice_self_running)  # ✅ / ❌, which item is wrong and why
    P.check("02.first_industry", first_industry, counts=industry_counts)  # key computed from the data

Static practices (``_STATIC``) store the items, the key and a reason per item (``why``) or per option.
Computed practices (``_COMPUTED``) derive the key from the data the lesson shows, with the helper the
lesson taught, so it follows a learner's variant. ``ids()`` lists every practice; ``tests/test_practice.py``
checks each key against an independent answer and that wrong answers are named with their reason.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from . import checks


class PracticeError(ValueError):
    """A lesson asked for a practice that does not exist, or gave it the wrong data."""


@dataclass(frozen=True)
class Static:
    kind: str                        # "labels" | "choice" | "quiz"
    expected: Any                    # labels/quiz: {item: label}; choice: the right option
    options: tuple = ()
    items: Mapping[str, str] = field(default_factory=dict)   # quiz: id -> text shown
    why: Mapping[Any, str] = field(default_factory=dict)
    hint: str = ""
    title: str = ""


# --- 01 マインドセット ----------------------------------------------------------------------------------

_CS_OR_SUPPORT = {
    "ログインできないという問い合わせに、手順を案内して解決する":
        ("サポート", "お客様からの問い合わせを受けて、いま起きている困りごとを解決しています。"),
    "利用が3か月続けて落ちている顧客に、こちらから連絡して原因を一緒に探る":
        ("CS", "データの兆しを見て、こちらから動いています。目的は成果への道のりを立て直すことです。"),
    "更新の半年前に、導入目的をどこまで達成できたかを顧客と振り返る場を設ける":
        ("CS", "導入目的の達成度という「成果」を、更新より前にこちらから確かめに行っています。"),
    "不具合の報告を受けて再現手順を整理し、開発チームに引き継ぐ":
        ("サポート", "報告を受けてから動く、1件ごとの問題解決です。CSにとっても大事な手がかりにはなります。"),
    "顧客の推進役が社内勉強会を開けるよう、資料と進め方を一緒に準備する":
        ("CS", "お客様が自分たちで活用を広げられる (自走に近づく) よう、先回りして支えています。"),
    "請求書の宛名を変えてほしいという依頼を受けて処理する":
        ("サポート", "依頼を受けて処理する事務手続きで、成果に向けた働きかけではありません。"),
}

_COMPETENCY = {
    "定例会でいつも発言する部長が今日は一言も話さなかったことに気づき、会議のあと担当者に様子を聞いた":
        ("非言語コミュニケーション", "言葉ではなく「発言がない」という態度の変化に気づいています。"),
    "QBRの資料を作る前に、顧客の業界団体のレポートと同業他社の決算説明資料を読んだ":
        ("業界の知識", "お客様の業界の動きを事前に調べています。"),
    "顧客の要望10件を並べ、どれも「月末の締め作業が重い」という同じ根っこから来ていると整理した":
        ("概念的思考", "ばらばらの要望の奥にある共通の構造をつかんでいます。"),
    "営業と開発で意見が割れた機能要望について、双方の条件を聞き、段階的に提供する案でまとめた":
        ("交渉と対立の解消", "利害の違う相手の条件を聞き、双方が受け入れられる案にまとめています。"),
}

_INTERACTION = {
    "i1": ("キックオフで、発言の少ない現場の方に「普段の流れで一番手間がかかるのはどこですか」と話を振り、全員の意見を引き出した",
           "ファシリテーション", "会議の場で全員が話せるように進めています。主役は参加者です。"),
    "i2": ("権限のない他部署に、解約理由のデータと顧客の声を持って行き、改善の優先度を上げてもらった",
           "リーダーシップと影響力", "役職や権限ではなく、データと筋道で人を動かしています。"),
    "i3": ("大口顧客の障害対応で、サポート・開発・営業の担当と役割を分け、連絡の窓口を一本にした",
           "チームワーク", "社内の複数の部署と役割を分けて、一つのチームとして動いています。"),
    "i4": ("「全機能を今月中に」と求める部長と、「現場が追いつかない」と言う課長の間に入り、段階的な展開で合意した",
           "交渉と対立の解消", "利害が食い違う二人の間で、双方が受け入れられる案にまとめています。"),
    "i5": ("お客様の推進役が社内で説明できるよう、集計の考え方を例題つきで教え、最後は本人に説明してもらった",
           "教えるスキル", "相手が自分でできるようになることを目標に教えています。"),
}

_V3 = {
    "v1": ("問い合わせの多くがヘルプ記事やチャットで片づき、人と話す時間は「まだ言葉になっていない要望」を聞く場になった",
           "傾聴", "決まった答えのある質問が減るほど、相手が言葉にしきれていないことを聞き取る力が効いてきます。"),
    "v2": ("商談も定例もオンラインが中心になり、画面越しの表情や沈黙から気持ちの変化を読み取る必要が増えた",
           "非言語コミュニケーション", "会う回数が減った分、態度や反応の小さな変化が数少ない手がかりになります。"),
    "v3": ("一社に決裁者・管理者・現場・情報システム部が関わり、部署ごとに望むことが食い違う導入が増えた",
           "交渉と対立の解消", "関係者が増えるほど利害はぶつかります。全員が受け入れられる落としどころを作る力が要ります。"),
    "v4": ("お客様の業務の流れを図に描き、どの工程でサービスを使うかを一緒に確かめる進め方が広がった",
           "ビジュアル思考", "複雑な業務は言葉だけでは共有できません。図にすると、お客様と同じ絵を見て話せます。"),
    "v5": ("チームでプレイブックに沿って支援し、うまくいかなかった手順そのものを見直すようになった",
           "方法論の知識", "個人の腕前ではなく、決まった進め方 (方法論) でチームとして再現し、改善する時代になっています。"),
}

_TRAIT = {
    "大口顧客から強い口調で個別機能の開発を求められ、同じ課題を持つ顧客が何社あるかをデータで確かめてから開発と相談した":
        ("感情より論理とデータ", "一社の強い声に流されず、他の顧客も含めたデータで判断しています。"),
    "今期の売上のために追加契約を急ぐより、来年の更新で成果を示せるよう、まず利用の定着を優先する提案をした":
        ("長期の関係と全体への目配り", "目先の売上より、長く続く関係 (顧客生涯価値) を選んでいます。"),
    "権限のない他部署の部長に顧客の声のデータを持って相談し、改善の優先度を上げてもらった":
        ("違うタイプの人との協働", "立場の違う相手を、権限ではなく信頼とデータで巻き込んでいます。"),
    "新機能のリリースノートを誰よりも早く読み込み、社内にまだ事例のない使い方を顧客と試した":
        ("未知への好奇心", "前例のない使い方を面白がって試しています。自社製品が好きであることも表れています。"),
}

_INDICATOR = {
    "年間の解約率": ("遅行", "1年が終わって初めて確定する結果の数字です。"),
    "契約後90日以内のオンボーディング完了率": ("先行", "解約より前に動き、CSの働きかけで変えられます。"),
    "GRR (解約と減額を引いた売上の維持率)": ("遅行", "解約と減額の結果として、期間が終わってから確定します。"),
    "月間アクティブ率 (アクティブユーザー ÷ 契約ライセンス数)":
        ("先行", "利用の定着は解約より先に動き、活用支援で上げられます。"),
    "更新率": ("遅行", "更新日が来て初めて分かる結果です。"),
    "ヘルススコアが赤になった顧客へ7日以内に連絡した割合": ("先行", "自分の行動そのものを測っていて、今日から変えられます。"),
}


def _labels(table: Mapping[str, tuple[str, str]], hint: str) -> Static:
    return Static("labels", {k: v[0] for k, v in table.items()}, why={k: v[1] for k, v in table.items()}, hint=hint)


def _quiz(table: Mapping[str, tuple[str, str, str]], options, hint: str, title: str = "") -> Static:
    return Static("quiz", {k: v[1] for k, v in table.items()}, tuple(options), items={k: v[0] for k, v in table.items()},
                  why={k: v[2] for k, v in table.items()}, hint=hint, title=title)


_STATIC: dict[str, Static] = {
    "01.cs_or_support": _labels(_CS_OR_SUPPORT, "動き出すきっかけが顧客からの依頼か、それとも顧客の成果に向けてこちらから"
                                                 "動いているかで考えてみましょう。"),
    "01.self_running": Static("choice", "B", ("A", "B", "C"), why={
        "A": "喜ばれますが、毎月の作業がCSMに残り続けます。お客様にやり方が身につかず、自走から遠ざかります。",
        "B": "最初は横について一緒に作り、次からはお客様が作る。手を離す時期まで決めた伴走です。",
        "C": "突き放すと、お客様はつまずいたまま止まってしまいます。自走には、走り方を一緒に確かめる段階が要ります。",
    }, hint="代わりにやり続けるのも、突き放すのも、自走にはつながりません。伴走の形を探しましょう。"),
    "01.competency": _labels(_COMPETENCY, "表の「CSでの姿」の列と見比べてみましょう。★のついた項目も候補です。"),
    "01.interaction": _quiz(_INTERACTION, ["ファシリテーション", "リーダーシップと影響力", "チームワーク",
                                           "交渉と対立の解消", "教えるスキル"],
                            "その人が場を進めているのか、人を動かしているのか、一緒に働いているのか、利害を調整しているのか、"
                            "教えているのかを見分けましょう。"),
    "01.v3": _quiz(_V3, ["概念的思考", "ビジュアル思考", "方法論の知識", "非言語コミュニケーション", "傾聴",
                         "交渉と対立の解消"],
                   "仕事のどの変化が、どの力を必要にしているかを考えましょう。"),
    "01.trait": _labels(_TRAIT, "その人が「何を大切にして」動いたのかに注目しましょう。"),
    "01.mission": Static("choice", "C", ("A", "B", "C"), why={
        "A": "追加契約という自社の都合が判断の基準になっています。全拠点を代わりに設定しても、お客様に運用の力は残りません。",
        "B": "契約の範囲を理由に断るだけでは、お客様の成功に近づきません。判断の基準が「自分たちの決まり」になっています。",
        "C": "「この対応はお客様の成功につながるか」で考えています。最初は一緒に設定し、残りはお客様が進められる形にしています。",
    }, hint="ミッションを判断の基準にすると、「自分たちがどうしたいか」ではなく「お客様に対してどうあるべきか」で選ぶことになります。"),
    "01.indicator": _labels(_INDICATOR, "結果が出たあとに確定する数字か、結果より先に動いて行動で変えられる数字かで分けましょう。"),
}

# --- 02 顧客理解 ----------------------------------------------------------------------------------------

PREP, HEAR = "事前に調べる", "ヒアリングで聞く"
_PREP = {
    "p1": ("介護業界で記録の作成が義務づけられている理由", PREP, "業界の制度は公開情報で、どのお客様にも共通です。"),
    "p2": ("このお客様で、稟議が誰の承認を経て決まるか", HEAR, "社内の決め方はお客様ごとに違い、外からは見えません。"),
    "p3": ("店長という職種の一日の流れと忙しい時間帯", PREP, "職種の一般的な流れは本や記事で調べられます。"),
    "p4": ("導入を社内で強く推した人は誰か", HEAR, "組織の中の人の動きは、聞かないと分かりません。"),
    "p5": ("お客様の中期経営計画に書かれた重点テーマ", PREP, "上場企業ならIR資料で公開されています。"),
    "p6": ("現場でいま一番時間を取られている作業", HEAR,
           "業界の一般論で想像はできますが、このお客様で本当にそうかは聞いて確かめます。"),
}
_STATIC["02.prep"] = _quiz(_PREP, [PREP, HEAR], "その答えは、お客様の社外からでも見つけられますか?")
_STATIC["02.mindset"] = Static("choice", 1, (1, 2, 3), why={
    1: "業界でよくある課題を、このお店でも一番の課題だと決めつけています。まず「いま一番困っていることは何ですか」と確かめます。",
    2: "答えを引き出す姿勢も足りませんが、その手前で「分かったつもり」になっていることが根っこです。",
    3: "食材ロスという業界の課題を知っているので、業界の知識は準備できています。",
}, hint="業界の知識はある前提で、何を確かめずに決めつけていますか?")
_STATIC["02.first_move"] = Static("choice", "B", ("A", "B", "C"), why={
    "A": "理由を確かめる前の値引きは、課題が価格ではなかったときに何も解決せず、売上だけを失います。",
    "B": "サインは確かめに行くきっかけです。具体的な話題を添えて、状況の変化を聞く場を早めに打診します。",
    "C": "待つほど打てる手が減ります。1つのサインでも、確かめに行くには十分です。",
}, hint="サインは確かめに行くきっかけでしたね。")

# --- 03 期待値調整 --------------------------------------------------------------------------------------

_PHASE = {
    "s1": ("CSMがお客様の代わりに、全拠点のユーザー登録を一括で行った", "代走", "手を動かしているのはCSMです。"),
    "s2": ("お客様の現場リーダーが作った運用ルールを、CSMが定例で見直して助言した", "伴走",
           "作ったのはお客様で、CSMは横で助言しています。"),
    "s3": ("お客様が自分たちで月次の活用レポートを作り、経営会議で報告した", "自走", "お客様だけで作って使っています。"),
    "s4": ("CSMが画面を共有しながら、お客様自身に集計の設定を操作してもらった", "伴走",
           "操作しているのはお客様で、CSMは横についています。"),
    "s5": ("新しく入った社員に、お客様の社内担当者が使い方を教えた", "自走", "お客様の社内で知識が受け継がれています。"),
}
_STATIC["03.phase"] = _quiz(_PHASE, ["代走", "伴走", "自走"], "手を動かしているのは誰か、に注目しましょう。")

_DAISOU = {
    "d1": ("年に1回だけ行う期初の組織情報の一括更新。手順は複雑で、お客様が次に触るのは1年後", "代走",
           "覚えても1年後には忘れてしまう作業です。CSMが率先して引き受けた方が、お客様は本業に集中できます。"),
    "d2": ("現場が毎日行う記録入力の運用ルールづくり", "伴走",
           "毎日続く業務そのものです。お客様が自分で回せるようにならないと、自走にたどり着きません。"),
    "d3": ("旧システムからの一度きりのデータ移行。専用の変換ツールの知識が要る", "代走",
           "一度きりで専門知識が要る作業です。お客様に覚えてもらう意味は小さいので、代走が合っています。"),
    "d4": ("経営会議で毎月使う活用レポートの作成", "伴走",
           "毎月続き、お客様の社内で成果を語る材料です。お客様が作れるようになることに価値があります。"),
    "d5": ("現場リーダーが新人に使い方を教える社内研修", "伴走",
           "社内で教えられる状態こそ自走の姿です。CSMは教材づくりを支え、教えるのはお客様です。"),
}
_STATIC["03.daisou_or_bansou"] = _quiz(
    _DAISOU, ["代走", "伴走"],
    "その作業をお客様が自分でできるようになる必要はありますか? 一度きりか、毎日続くかを考えましょう。")

_STANCE = {
    "f1": ("承知しました。毎月こちらで作成してお送りします。", "御用聞き",
           "頼まれたことをそのまま引き受け続けると、代走から抜け出せません。"),
    "f2": ("それはお客様の業務なので、弊社では対応できません。", "突き放す",
           "責任範囲は正しくても、次の一歩が示されていません。お客様は立ち止まってしまいます。"),
    "f3": ("最初の2か月は一緒に作り、3か月目からは御社で回せるよう、手順書もご用意しますね。", "フラット",
           "同じ目的に向かいながら、手を離す時期まで見えています。"),
    "f4": ("このやり方が正解なので、この通りに運用してください。", "指導役",
           "正解を押しつけると、お客様は自分で考えなくなります。"),
    "f5": ("現場の皆さんが一番迷うのはどこでしょう。そこから一緒に手順を決めませんか。", "フラット",
           "お客様の考えを引き出し、決めるのはお客様です。CSMは進め方を支えています。"),
}
_STATIC["03.stance"] = _quiz(_STANCE, ["御用聞き", "指導役", "突き放す", "フラット"],
                             "お客様とCSMのどちらが「上」に立っているか、次の一歩が見えているかを考えましょう。")

_TRUST = {
    "t1": ("障害発生の30分後に、分かっていることと次の連絡時刻を伝えた", "トラブルに速く誠実に",
           "分からないことも含めて早く伝え、次の連絡を約束しています。"),
    "t2": ("Excelが苦手な担当者のために、集計テンプレートを用意した", "苦手を手伝う",
           "お客様の弱いところを先回りして補っています。"),
    "t3": ("全社展開が遅れて落ち込む担当者と、週1回の立て直し会議を続けた", "大変な時期を共にする",
           "苦しい時期を一緒に乗り越える経験が、仲間としての信頼になります。"),
    "t4": ("お客様の要望はどんなものでも「できます」と即答した", "信頼につながりにくい",
           "できないことまで約束すると、守れなかったときに信頼を大きく失います。"),
    "t5": ("社内への説明が苦手な推進役に、役員向け資料の骨組みを一緒に作った", "苦手を手伝う",
           "推進役が苦手な「社内への説明」を支えています。"),
    "t6": ("不具合の原因が分からないうちは、お客様への連絡を控えた", "信頼につながりにくい",
           "黙っている時間が長いほど、お客様の不安は大きくなります。途中経過でも伝えるのが誠実な対応です。"),
}
_STATIC["03.trust"] = _quiz(_TRUST, ["苦手を手伝う", "大変な時期を共にする", "トラブルに速く誠実に", "信頼につながりにくい"],
                            "その行動のあと、お客様は「この人がいて助かった」と感じるでしょうか。")

_STATIC["03.opinion"] = Static("choice", "B", ("A", "B", "C"), why={
    "A": "決まった答えがある操作の質問です。答えを求められている段階です。",
    "B": "進め方について、一緒に考えてほしいと意見を求めています。信頼が育ったサインです。",
    "C": "事務手続きの依頼で、信頼の深さとは関係がありません。",
}, hint="決まった答えがある質問と、一緒に考えてほしい相談の違いです。")

_HEAT = {
    "h1": ("お客様の担当者が、自分の上司に半年の成果を報告するパートを設ける", "熱量を生む",
           "担当者が社内で成果を語る場になり、走り続ける動機が生まれます。"),
    "h2": ("CSMが利用状況の数字を1ページずつ読み上げる", "報告だけ",
           "数字は大事ですが、読み上げるだけではお客様は聞き手のままです。"),
    "h3": ("次の半年の目標を、お客様自身に言葉にしてもらう時間を取る", "熱量を生む",
           "自分で決めた目標は、自分から追いかけたくなります。"),
    "h4": ("ユーザー会で取り組みを発表してもらう案を、お客様と一緒に考える", "熱量を生む",
           "他社の前で発表する経験は、担当者の誇りと社内での推進力になります。"),
    "h5": ("新機能の一覧を紹介して終える", "報告だけ",
           "お客様の業務や目標とのつながりがないと、情報の提供で終わってしまいます。"),
}
_STATIC["03.heat"] = _quiz(_HEAT, ["熱量を生む", "報告だけ"],
                           "その時間、話しているのは誰でしょう。お客様が自分の言葉で語る場になっていますか。")

# --- 05 チームと成長 ------------------------------------------------------------------------------------

_FIT = {
    "a1": ("相性の良し悪しで、そのお客様のマイルストーンの通過条件をゆるめる", "合わない",
           "中間目標は誰が担当しても同じです。相性が変えてよいのは伴走のしかただけです。"),
    "a2": ("図で説明されると理解が早いお客様に、図を使って話すのが得意なCSMを付ける", "合う",
           "コミュニケーションの好みに合わせて担当を選んでいます。目標はそのままです。"),
    "a3": ("CSMの性格診断の結果を、本人の同意なくお客様に伝える", "合わない",
           "診断結果は本人の同意を得て、チームの中で使うものです。"),
    "a4": ("話がかみ合わないと感じたら、定例の頻度や伝え方を変え、中間目標はそのままにする", "合う",
           "相性の問題を、伴走のしかたの調整で乗り越えています。"),
    "a5": ("「あの人は慎重なタイプだから」と、新しいお客様を担当させない", "合わない",
           "診断はラベルではありません。決めつけると、成長の機会も奪います。"),
    "a6": ("チームで診断結果を見せ合い、誰にどう声をかけると伝わりやすいかを話し合う", "合う",
           "まず自社のCSMの特性を見えるようにする。相性を組織で扱う出発点です。"),
}
_STATIC["05.fit_ways"] = _quiz(_FIT, ["合う", "合わない"],
                               "相性が変えてよいのは「伴走のしかた」です。ゴールや中間目標は変えません。")

_STATIC["05.modeling"] = Static("choice", "C", ("A", "B", "C"), why={
    "A": "リーダーの話し方をまねても、お客様の業務を理解する力は育ちません。見るべきはリーダーではなくお客様の業務です。",
    "B": "製品知識は必要ですが、お客様の業務の流れが分からないと、どこでどう使うかを描けません。",
    "C": "お客様の業務を工程に分け、工程ごとの成果物を集めて見比べる。これがお客様の業務をモデルにする練習です。",
}, hint="モデリング力は「お客様の業務を理解する力」でした。何を見れば、その力が育つでしょう。")

WHY, HOW, WHAT = "Why (なぜ)", "How (どうやって)", "What (何を)"
_GOLDEN = {
    "s1": ("物流のお客様の現場では、配車の締め切り直前に入力が集中し、毎日30分の残業が生まれている", WHY,
           "お客様が困っている状況そのものです。話の起点になります。"),
    "s2": ("締め切り前の入力を、まとめて取り込める形に変える", HOW, "困りごとをどう解決するかの方針で、まだ機能名ではありません。"),
    "s3": ("CSV一括取り込み機能を、次のリリースで提供する", WHAT, "具体的な機能と時期です。"),
    "s4": ("お客様が自分たちで運用を回せる状態に導きたい", WHY, "お客様をどんな姿に導きたいかという目的です。"),
    "s5": ("まず物流の3社で試してもらい、入力にかかる時間の変化を一緒に測ってから広げる", HOW,
           "どうやって進めるかの段取りです。何を作るかではありません。"),
}
_STATIC["05.golden"] = _quiz(_GOLDEN, [WHY, HOW, WHAT], "お客様の状況や目指す姿は Why です。具体的な機能名は What です。")


# --- 04 ヘルスデータ分析 ------------------------------------------------------------------------------

_LEAK_04 = {
    "3月14日に起票された問い合わせ": ("使える", "カットオフ (3月15日) より前に記録されています。"),
    "3月の月間アクティブユーザー数": ("使えない", "3月はまだ終わっていません。月の途中の数字は後半の分だけ少なく見えます。"),
    "顧客表の解約日": ("使えない", "解約したかどうかは、予測したい答えそのものです。"),
    "前年9月に回答されたNPS": ("使える", "カットオフより前に回答されています。古いので重みは慎重に考えます。"),
    "2月の月間ログイン回数": ("使える", "2月は3月15日の時点で終わっていて、数字が確定しています。"),
    "3月20日に起票された問い合わせ": ("使えない", "カットオフより後の出来事です。その日にはまだ起きていません。"),
}
_INDICATOR_04 = {
    "四半期の解約率": ("遅行", "四半期が終わって初めて確定する結果です。"),
    "ライセンス利用率の3か月の傾き": ("先行", "解約より先に動き、活用支援で変えられます。"),
    "NRR (売上の純継続率)": ("遅行", "解約・減額・拡大の結果として、期間が終わってから確定します。"),
    "問い合わせ文面の温度感": ("先行", "不満は解約より先に文面に表れ、対応で変えられます。"),
    "主要機能の活用数": ("先行", "活用の広がりは解約より先に動きます。"),
    "年間の更新率": ("遅行", "更新日が来て初めて分かる結果です。"),
}
_STATIC["04.leak"] = _labels(_LEAK_04, "3月15日の朝に、その数字がもう確定していたかどうかで考えましょう。月次の数字は月末を過ぎるまで確定しません。")
_STATIC["04.indicator"] = _labels(_INDICATOR_04, "その数字が分かった時点で、まだ結果を変えられるかどうかで考えましょう。")


# --- computed practices: the key follows the data the lesson shows ------------------------------------------

def _need(context: Mapping[str, Any], *names: str):
    missing = [n for n in names if n not in context]
    if missing:
        raise PracticeError("この練習には " + "・".join(f"{n}=..." for n in missing) + " を渡してください。")
    return [context[n] for n in names]


def _top_industry(answer, ctx):
    (by_industry,) = _need(ctx, "by_industry")
    counts = by_industry["顧客数"]
    expected = counts.idxmax()
    why = {name: f"{name} は{int(n)}社で、いちばん多い業界ではありません。" for name, n in counts.items() if name != expected}
    why[expected] = f"{expected} が{int(counts.max())}社でいちばん多い業界です。"
    return checks.check_choice(answer, expected, list(counts.index), why=why,
                               hint="左のグラフで一番高い棒を探してみましょう。", display=False)


def _broken_kpis(answer, ctx):
    (cascade,) = _need(ctx, "cascade")
    from . import kpi

    report = kpi.check_cascade(cascade)
    failed = {}
    for c in report.checks:
        if not c.ok:
            failed.setdefault(c.target, set()).add(c.kind)
    expected = {t for t, kinds in failed.items() if kinds & {"link", "leading"}}
    clue_text = {"link": "上の段とのつながり (名指しする段、または頑張ったときの向き) に問題があるKPI",
                 "leading": "結果が出たあとにしか分からない指標を、個人KPIにしているもの"}
    clues = {t: "、".join(clue_text[k] for k in sorted(failed[t] & {"link", "leading"})) for t in expected}
    unsupported = set(getattr(report, "unsupported", ()) or ()) | {t for t, kinds in failed.items() if "coverage" in kinds}
    why = {}
    for k in cascade.kpis:
        if k.id in expected:
            continue
        if k.id in unsupported:
            why[k.id] = ("自分の線がこのKPIを支えていないだけです。同僚のKPIが支えているかもしれないので、"
                         "切れているとは言えません。この線に入れるかどうかは、あなたが決めることです。")
        else:
            why[k.id] = "上の段と正しい向きでつながっています。"
    return checks.check_set(answer, expected, why=why, clues=clues,
                            hint="個人KPIが2段上につながっていないか、頑張るほど上の指標が悪くなる組み合わせがないか、"
                                 "結果の数字を個人KPIにしていないかを見ます。", display=False)


def _high_touch_grr(answer, ctx):
    accounts, as_of = _need(ctx, "accounts", "as_of")
    from . import kpi

    expected = kpi.lagging_indicators(accounts[accounts["touch_model"] == "high"], as_of=as_of)["grr"]
    return checks.check_equal(answer, expected, tol=0.001, name="GRR",
                              hint="accounts を touch_model で絞ってから、期初の顧客・期間中の解約を同じ条件で求めます。"
                                   "割合は0〜1の小数で。", display=False)


def _first_industry(answer, ctx):
    (counts,) = _need(ctx, "counts")
    expected = counts.idxmax()
    why = {name: f"{name} は{int(n)}社です。もっと多い業界があります。" for name, n in counts.items() if name != expected}
    return checks.check_choice(answer, expected, list(counts.index), why=why,
                               hint="value_counts() の結果は多い順に並んでいます。", display=False)


def _notes_quiz(ctx):
    notes, seed = _need(ctx, "notes", "seed")
    from .understanding import LABELS

    unique = notes.drop_duplicates("text").sample(n=6, random_state=int(seed) % 2**32)
    reason = {"導入目的": "経営として目指す状態や、お金を払って入れた理由を話しています。",
              "利用用途": "誰が・いつ・どの業務で・どう使っているかを話しています。"}
    items = dict(zip(unique["note_id"], unique["text"]))
    expected = dict(zip(unique["note_id"], unique["label"].astype(str)))
    why = {k: reason.get(v, "") for k, v in expected.items()}
    return checks.Quiz(items, LABELS, expected, why=why,
                       hint="「〜したい」は目指す状態、「〜している」は日々の使い方を表すことが多いです。")


def _it_usage_rate(answer, ctx):
    (notes,) = _need(ctx, "notes")
    rows = notes[(notes["speaker_role"] == "情報システム部") & (notes["label"] == "利用用途")]
    expected = float((rows["clarity"] == "明確").mean())
    return checks.check_equal(answer, expected, tol=0.005, name="割合",
                              hint="条件で絞り込んだあと、clarity が「明確」の行の割合を mean() で求めます。", display=False)


def _who_to_ask(answer, ctx):
    (matrix,) = _need(ctx, "matrix")
    expected = {topic: matrix[topic].idxmax() for topic in ("導入目的", "利用用途")}
    why = {topic: f"{topic}に最も明確に答えたのは{role} ({matrix.loc[role, topic]:.0%}) です。"
           for topic, role in expected.items()}
    if not isinstance(answer, Mapping):
        return checks.check_labels({}, expected, why=why, display=False)
    return checks.check_labels(answer, expected, why=why, hint="ヒートマップで、列ごとに一番濃いマスを探します。", display=False)


def _field_people(answer, ctx):
    contacts, account = _need(ctx, "contacts", "account")
    from . import understanding as U

    expected = set(U.field_users_to_name(contacts, account))
    table = U.stakeholder_table(contacts, account).set_index("contact_id")
    why = {cid: f"{row['name']}さんは{row['deal_role']}です。日々の使い方を一番よく知っているのは、毎日使う利用者です。"
           for cid, row in table.iterrows() if cid not in expected}
    clues = {cid: "毎日サービスを使っている人 (利用者)" for cid in expected}
    return checks.check_set(answer, expected, why=why, clues=clues,
                            hint="利用用途を一番よく知っているのは、毎日使っている人たちです。", display=False)


def _high_at_40(answer, ctx):
    (book,) = _need(ctx, "book")
    from . import calibration as K

    expected = int((K.assign_touch(book, 40)["assigned_touch"] == "high").sum())
    return checks.check_equal(answer, expected, name="社数",
                              hint="スライダーを40にしたときの表と、K.assign_touch(book, 40) の assigned_touch 列を見比べます。", display=False)


def requests_03():
    """The six requests of lesson 03's practice (their attributes are the key, so they live here)."""
    from . import calibration as K

    return [
        K.Request("R1", "全店舗のシフト表を、毎週CSMが代わりに作ってほしい", area="業務", doer="CSM"),
        K.Request("R2", "管理画面の権限設定を一緒に見直したい", area="サービス", doer="共同"),
        K.Request("R3", "導入3か月で人件費を15%下げると約束してほしい", area="業務", doer="顧客", promise_outcome=True),
        K.Request("R4", "来週月曜までに全拠点で本番運用を始めたい (この規模だと準備に4週間ほどかかる)", area="サービス", doer="共同",
                  days_needed=20, days_available=5),
        K.Request("R5", "店長向けの操作説明会を開いてほしい", area="サービス", doer="CSM"),
        K.Request("R6", "旧システムのデータを移したいが、どの項目を残すかはまだ決まっていない", area="サービス",
                  doer="共同", inputs_ready=False),
    ]


_REQUEST_OK_WHY = {
    "R2": "サービスの設定を一緒に見直すのは自社の責任範囲で、伴走の形です。",
    "R5": "サービスの使い方を教えるのは自社の責任範囲です。",
}


def _requests(answer, ctx):
    (requests,) = _need(ctx, "requests")
    from . import calibration as K

    table = K.check_requests(requests)
    expected = set(table.loc[~table["ok"], "id"])
    kinds = dict(zip(table["id"], table["指摘"]))
    clue_text = {"責任範囲": "お客様の業務をCSMが代わりに担う、または業務の成果を約束する依頼",
                 "無理ゲー": "期限・担当・前提のデータなどの条件がそろわず、誰が伴走しても達成できない依頼"}
    clues = {i: "、".join(clue_text[k] for k in clue_text if k in kinds[i]) for i in expected}
    why = {i: _REQUEST_OK_WHY.get(i, "この依頼には問題が見つかりません。") for i in table["id"] if i not in expected}
    return checks.check_set(answer, expected, why=why, clues=clues,
                            hint="業務をCSMが代わりに担うもの、業務の成果を約束するもの、条件がそろわないものです。", display=False)


def _promotable(answer, ctx):
    (members,) = _need(ctx, "members")
    from . import growth

    expected, why = set(), {}
    for name, row in members.iterrows():
        reqs = {k: bool(v) for k, v in row.items() if k != "目標の達成率"}
        if growth.promotion_decision(reqs):
            expected.add(name)
        else:
            unmet = "・".join(k for k, v in reqs.items() if not v)
            why[name] = f"{name}さんは「{unmet}」をまだ満たしていません。達成率が高くても、定性要件がそろうまで昇格しません。"
    return checks.check_set(answer, expected, why=why, clues={n: "定性要件をすべて満たしている人" for n in expected},
                            hint="達成率も評価の材料ですが、この考え方では昇格の条件にしません。定性要件の列だけで判断します。", display=False)


def _flat_csm(answer, ctx):
    (fit_table,) = _need(ctx, "fit_table")
    flat = fit_table.columns[(fit_table.abs() < 1e-12).all()].tolist()
    if len(flat) != 1:
        raise PracticeError("適合度がすべて0になるCSMがちょうど1人いる表を渡してください。")
    why = {c: f"{c} の適合度は顧客によって変わります (0 ではありません)。" for c in fit_table.columns if c != flat[0]}
    return checks.check_choice(answer, flat[0], list(fit_table.columns), why=why,
                               hint="相対的な強みのヒートマップで、行がすべて0になっている人を探しましょう。", display=False)


def _team_grr(answer, ctx):
    (accounts,) = _need(ctx, "accounts")
    from . import team

    expected = team.retention(accounts, "2024-12-31", "2025-12-31")["grr"].iloc[0]
    return checks.check_equal(answer, expected, tol=0.002, name="GRR",
                              hint="期初 (2024-12-31) に契約中だった顧客の年間契約額のうち、期間中に解約した分の割合を1から引きます。", display=False)


def _ops(answer, ctx):
    (team_size,) = _need(ctx, "team_size")
    from . import team

    s = team.ops_staffing(team_size)
    return checks.check_equal(answer, (s.min_people, s.max_people), name="人数の組",
                              hint=f"{team_size} × 0.02 を切り上げ、{team_size} × 0.05 を切り捨てます。", display=False)


def _health_auc():
    from .health.metrics import auc
    return auc


def _red_count(answer, ctx):
    (scored,) = _need(ctx, "scored")
    return checks.check_equal(answer, int((scored["band"].astype(str) == "赤").sum()), name="赤の顧客数", display=False,
                              hint="帯 (band) の列が「赤」の行だけを数えます。True / False の列は、合計すると True の数になります。")


def _auc_level(answer, ctx):
    (frame,) = _need(ctx, "frame")
    return checks.check_equal(answer, _health_auc()(frame["churned"], frame["utilisation_level"]), tol=0.005, name="AUC",
                              display=False,
                              hint="1つ目の引数は「解約したか」、2つ目はスコアとみなす列です。値が 0.5 より小さいなら、引数の順番を確かめましょう。")


def _hits(answer, ctx):
    frame, calls = _need(ctx, "frame", "calls")
    return checks.check_equal(answer, int(frame.loc[calls.index, "churned"].sum()), name="拾えた解約の数", display=False,
                              hint="コールリストの index が顧客IDです。その顧客だけを選び、解約した (churned が True の) 顧客を数えます。")


_COMPUTED: dict[str, Callable[[Any, Mapping[str, Any]], checks.CheckResult]] = {
    "00.top_industry": _top_industry,
    "01.broken_kpis": _broken_kpis,
    "01.high_touch_grr": _high_touch_grr,
    "02.first_industry": _first_industry,
    "02.it_usage_rate": _it_usage_rate,
    "02.who_to_ask": _who_to_ask,
    "02.field_people": _field_people,
    "03.high_at_40": _high_at_40,
    "03.requests": _requests,
    "05.promotable": _promotable,
    "05.1.flat_csm": _flat_csm,
    "05.1.team_grr": _team_grr,
    "05.1.ops": _ops,
    "04.red_count": _red_count,
    "04.auc_level": _auc_level,
    "04.hits": _hits,
}
_COMPUTED_QUIZ: dict[str, Callable[[Mapping[str, Any]], checks.Quiz]] = {"02.notes": _notes_quiz}


def _lifecycle(pid: str) -> Callable[[Any, Mapping[str, Any]], checks.CheckResult]:
    """Lesson 06's practices: their items, keys and reasons sit next to the lesson's other material in
    ``cs_helpers.lifecycle``; the lesson reaches them here like every other practice."""
    def run(answer, _ctx):
        from . import lifecycle
        return lifecycle.practice(pid, answer, display=False)
    return run


for _pid in ("handoff", "prep_rule", "grr_nrr", "qbr_ebr", "champion_moved", "save_play", "takeover"):
    _COMPUTED[f"06.{_pid}"] = _lifecycle(_pid)


def ids() -> list[str]:
    return sorted(set(_STATIC) | set(_COMPUTED) | set(_COMPUTED_QUIZ))


def _unknown(pid: str) -> PracticeError:
    return PracticeError(f"練習「{pid}」はありません。ノートブックのセルを書き換えていないか確かめてください。")


def check(pid: str, answer: Any, *, display: bool = True, **context: Any) -> checks.CheckResult:
    """Check ``answer`` for practice ``pid``; computed practices take the data they are about as keywords."""
    if pid in _COMPUTED:
        result = _COMPUTED[pid](answer, context)
    elif pid in _STATIC and _STATIC[pid].kind in ("labels", "quiz"):
        p = _STATIC[pid]
        result = checks.check_labels(answer if answer is not None else {}, p.expected, why=p.why, hint=p.hint,
                                     names={k: checks._short(t) for k, t in p.items.items()}, display=False) \
            if isinstance(answer, Mapping) or answer is None else \
            checks.CheckResult(False, "答えは {項目: ラベル} の辞書で入力してください。", p.hint)
    elif pid in _STATIC:
        p = _STATIC[pid]
        result = checks.check_choice(answer, p.expected, p.options, why=p.why, hint=p.hint, display=False)
    else:
        raise _unknown(pid)
    result._shown = False
    return checks._show(result, display) if display else result


def quiz(pid: str, **context: Any) -> checks.Quiz:
    """The dropdown quiz for practice ``pid`` (displayed when it is the cell's last expression)."""
    if pid in _COMPUTED_QUIZ:
        return _COMPUTED_QUIZ[pid](context)
    p = _STATIC.get(pid)
    if p is None or p.kind != "quiz":
        raise _unknown(pid)
    return checks.Quiz(p.items, p.options, p.expected, why=p.why, hint=p.hint, title=p.title)


# --- work products: the learner writes first, then compares with a model ----------------------------------

_MODELS: dict[str, list[tuple[str, str]]] = {
    "02.kickoff_questions": [
        ("導入を決めたとき、施設として一番変えたかったことは何でしたか。",
         "課題を決めつけず、導入目的をお客様自身の言葉で話してもらう問いです (心構え1・2)。"),
        ("夜勤から日勤への引き継ぎは、いまどんな流れで、どこに一番時間がかかっていますか。",
         "介護の現場では引き継ぎの記録が重い、という業界の知識を使いつつ、このお客様で本当にそうかを確かめています (心構え3)。"),
        ("半年後に「入れてよかった」と言えるのは、現場のどんな様子が見えたときでしょう。",
         "成果の姿をお客様に描いてもらい、サクセスプランの通過条件につなげる問いです。"),
    ],
}


def model(pid: str, written: str | None = None, *, display: bool = True) -> checks.CheckResult:
    """A model answer for a written practice, shown only once the learner has written their own."""
    if pid not in _MODELS:
        raise _unknown(pid)
    if not (written or "").strip():
        result = checks.CheckResult(False, "先に自分の答えを書いてから実行してください。書く前に模範例を見ると、考える練習になりません。")
    else:
        lines = [f"{q} — {why}" for q, why in _MODELS[pid]]
        result = checks.CheckResult(True, "模範例です。自分の質問と見比べ、決めつけていないか、お客様に話してもらう問いになっているかを確かめましょう。",
                                    details=lines)
    return checks._show(result, display) if display else result
