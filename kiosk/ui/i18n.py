"""Every word the kiosk shows, in Japanese and English, in one catalogue.

Why one table: a test checks that both languages have the same keys and that the bundled font
has a glyph for every character here; a string outside this file could show as tofu boxes on
a customer's screen. Placeholders use str.format names (``{seconds}``); both languages of a key
use the same names.
"""

from __future__ import annotations

from dataclasses import dataclass

LANGUAGES = ("ja", "en")

CATALOGUE: dict[str, dict[str, str]] = {
    # customer screens
    "starting": {"ja": "起動しています…", "en": "Starting…"},
    "tap_to_start": {"ja": "画面にタッチしてスタート", "en": "Touch the screen to start"},
    "pay_with_paypay": {"ja": "PayPayでお支払いできます", "en": "Pay with PayPay"},
    "choose_on_machine": {
        "ja": "自販機で商品をお選びください",
        "en": "Choose your drink on the machine",
    },
    "credit_start": {
        "ja": "タッチして{amount}をお支払い、自販機で商品をお選びください",
        "en": "Touch to pay {amount}, then choose on the machine",
    },
    "vending_credit": {"ja": "自販機クレジット", "en": "Vending credit"},
    "machine_item": {"ja": "商品番号 {item}", "en": "Item {item}"},
    "mdb_link": {"ja": "自販機：{state}", "en": "Vending machine: {state}"},
    "choose_item": {"ja": "商品をお選びください", "en": "Choose an item"},
    "enter_amount": {"ja": "金額を入力してください", "en": "Enter the amount"},
    "tax_included": {"ja": "税込", "en": "tax incl."},
    "page": {"ja": "{page} / {pages}", "en": "{page} / {pages}"},
    "confirm": {"ja": "確定", "en": "Confirm"},
    "back": {"ja": "戻る", "en": "Back"},
    "clear": {"ja": "クリア", "en": "Clear"},
    "delete": {"ja": "1字消す", "en": "Delete"},
    "cancel": {"ja": "キャンセル", "en": "Cancel"},
    "previous": {"ja": "前へ", "en": "Previous"},
    "next": {"ja": "次へ", "en": "Next"},
    "amount_to_pay": {"ja": "お支払い金額", "en": "Amount to pay"},
    "creating": {"ja": "QRコードを準備しています…", "en": "Preparing your QR code…"},
    "scan_with_paypay": {"ja": "PayPayで読み取ってください", "en": "Scan with PayPay"},
    "seconds_left": {"ja": "残り {seconds} 秒", "en": "{seconds} s left"},
    "pay_url": {"ja": "ブラウザでも支払えます：", "en": "Or pay in a browser:"},
    "confirming": {"ja": "お支払いを確認しています…", "en": "Checking your payment…"},
    "please_wait": {"ja": "そのままお待ちください", "en": "Please wait a moment"},
    "vending": {"ja": "商品をご用意しています…", "en": "Preparing your item…"},
    "succeeded": {"ja": "お支払いが完了しました", "en": "Payment complete"},
    "thank_you": {"ja": "ありがとうございました", "en": "Thank you!"},
    "failed": {"ja": "お支払いできませんでした", "en": "The payment did not go through"},
    "cancelled": {"ja": "お支払いを取り消しました", "en": "Payment cancelled"},
    "expired": {"ja": "時間切れになりました", "en": "Time ran out"},
    "refunded": {"ja": "ご返金しました", "en": "Your money was returned"},
    "held_paid": {"ja": "お支払いを受け付けました", "en": "Payment received"},
    "held_unconfirmed": {
        "ja": "お支払いを確認しています",
        "en": "We are still checking your payment",
    },
    "done": {"ja": "OK", "en": "Done"},
    "returning": {
        "ja": "まもなく最初の画面に戻ります",
        "en": "Returning to the start screen shortly",
    },
    # reasons, in words a customer understands
    "reason_expired": {
        "ja": "QRコードの有効期限が切れました。料金は発生していません。",
        "en": "The QR code expired. You have not been charged.",
    },
    "reason_cancelled": {
        "ja": "料金は発生していません。",
        "en": "You have not been charged.",
    },
    # the kiosk gave up on a code PayPay would not withdraw: it watches it in the background
    "reason_watched": {
        "ja": "このQRコードでお支払いがあった場合は、自動的に全額をご返金します。",
        "en": "If a payment to this QR code still goes through, it will be returned in full"
        " automatically.",
    },
    "reason_watched_hold": {
        "ja": "このQRコードでお支払いがあった場合は、係員がご返金します。",
        "en": "If a payment to this QR code still goes through, a member of staff will return it.",
    },
    "reason_payment_failed": {
        "ja": "PayPayでお支払いが完了しませんでした。アプリをご確認ください。",
        "en": "PayPay did not complete the payment. Please check the app.",
    },
    "reason_vend_failed": {
        "ja": "商品をお渡しできなかったため、全額をご返金しました。",
        "en": "We could not hand out your item, so your money was returned in full.",
    },
    "reason_held_paid": {
        "ja": "係員がご対応しますので、そのままお待ちください。",
        "en": "A member of staff will help you. Please wait here.",
    },
    "reason_held_unconfirmed": {
        "ja": "係員がご対応しますので、お声がけください。",
        "en": "A member of staff will help you. Please ask them.",
    },
    "reason_default": {
        "ja": "もう一度お試しいただくか、係員にお声がけください。",
        "en": "Please try again, or ask a member of staff.",
    },
    # out of service
    "out_of_service": {"ja": "ただいま休止中です", "en": "Temporarily out of service"},
    "ask_staff": {"ja": "係員にお声がけください", "en": "Please ask a member of staff"},
    "issue_network": {"ja": "原因：ネットワークに接続できません", "en": "Cause: no network"},
    "issue_clock": {"ja": "原因：時計が正しくありません", "en": "Cause: the clock is wrong"},
    "issue_maintenance": {
        "ja": "原因：PayPayがメンテナンス中です",
        "en": "Cause: PayPay maintenance",
    },
    "issue_configuration": {
        "ja": "原因：設定に誤りがあります",
        "en": "Cause: configuration error",
    },
    "issue_held_sale": {
        "ja": "原因：係員の対応が必要な取引があります",
        "en": "Cause: a sale is held for the attendant",
    },
    "issue_journal": {
        "ja": "原因：取引記録を保存できません",
        "en": "Cause: the sales journal cannot be written",
    },
    "issue_engine": {
        "ja": "原因：販売処理が停止しました（自動的に再起動します）",
        "en": "Cause: the sale engine stopped (the kiosk restarts itself)",
    },
    "issue_attendant": {
        "ja": "原因：係員が休止に設定しました",
        "en": "Cause: switched off by the attendant",
    },
    "recovers_by_itself": {
        "ja": "原因が解消すると自動的に再開します",
        "en": "The kiosk resumes by itself when the cause clears",
    },
    # banners
    "demo_banner": {"ja": "DEMO：PayPayシミュレーター", "en": "DEMO: simulated PayPay"},
    "sandbox_watermark": {"ja": "SANDBOX", "en": "SANDBOX"},
    "language_toggle": {"ja": "English", "en": "日本語"},
    # attendant
    "attendant": {"ja": "係員メニュー", "en": "Attendant"},
    "enter_pin": {"ja": "暗証番号を入力してください", "en": "Enter the PIN"},
    "wrong_pin": {
        "ja": "暗証番号が違います（あと {tries} 回）",
        "en": "Wrong PIN ({tries} tries left)",
    },
    "locked_out": {
        "ja": "ロック中：{seconds} 秒後に再入力できます",
        "en": "Locked: try again in {seconds} s",
    },
    "checking_pin": {"ja": "確認しています…", "en": "Checking…"},
    "ok": {"ja": "OK", "en": "OK"},
    "close": {"ja": "閉じる", "en": "Close"},
    "cancel_sale": {"ja": "取引を中止", "en": "Cancel current sale"},
    "recent_sales": {"ja": "最近の取引・返金", "en": "Recent sales, refunds"},
    "totals_today": {"ja": "本日の集計", "en": "Today's totals"},
    "reconcile_now": {"ja": "今すぐ照合", "en": "Reconcile now"},
    "service_off": {"ja": "休止にする", "en": "Out of service"},
    "service_on": {"ja": "営業を再開", "en": "Back in service"},
    "exit_kiosk": {"ja": "キオスクを終了", "en": "Exit kiosk"},
    "exit_confirm": {"ja": "キオスクを終了しますか？", "en": "Exit the kiosk?"},
    "yes": {"ja": "はい", "en": "Yes"},
    "no": {"ja": "いいえ", "en": "No"},
    "no_sale_in_progress": {"ja": "進行中の取引はありません", "en": "No sale in progress"},
    "sale_cancel_requested": {"ja": "取引の中止を要求しました", "en": "Sale cancel requested"},
    "no_sales": {"ja": "取引はまだありません", "en": "No sales yet"},
    "refund": {"ja": "返金", "en": "Refund"},
    "refund_full": {"ja": "全額返金", "en": "Full refund"},
    "refund_partial": {"ja": "一部返金", "en": "Partial refund"},
    "refundable": {"ja": "返金可能 {amount}", "en": "Refundable {amount}"},
    "refund_amount": {"ja": "返金額を入力", "en": "Enter the refund amount"},
    "refund_confirm": {"ja": "{amount} を返金しますか？", "en": "Refund {amount}?"},
    "refund_requested": {"ja": "返金を受け付けました", "en": "Refund requested"},
    "held_sales": {"ja": "保留中の取引", "en": "Held sales"},
    "held_explain": {
        "ja": "キオスクだけでは完了できなかった取引です",
        "en": "Sales the kiosk could not settle on its own",
    },
    "held_none": {"ja": "保留中の取引はありません", "en": "No held sales"},
    "held_why_anomaly": {"ja": "PayPayの回答が記録と不一致", "en": "PayPay's answer did not match"},
    "held_why_paid_late": {
        "ja": "時間切れ・再起動後の支払い",
        "en": "Paid late (timeout, restart)",
    },
    "held_why_vend": {"ja": "商品を出せませんでした", "en": "Goods not handed out"},
    "held_why_unknown": {"ja": "PayPayの結果を確認できず", "en": "PayPay's answer unknown"},
    "held_why_refused": {"ja": "PayPayが処理を拒否", "en": "PayPay refused our request"},
    "held_why_error": {"ja": "キオスクの内部エラー", "en": "Kiosk error"},
    "held_hand_out": {"ja": "手渡し済み", "en": "Handed out"},
    "held_hand_out_confirm": {
        "ja": "{amount} の商品を手渡しましたか？",
        "en": "Goods for {amount} handed out?",
    },
    "held_handed_out": {"ja": "手渡し済みとして記録しました", "en": "Recorded as handed out"},
    "held_release": {"ja": "仮売上を取消", "en": "Release"},
    "held_check": {"ja": "再確認", "en": "Check again"},
    "held_release_confirm": {
        "ja": "{amount} の仮売上を取り消しますか？お客様への請求はなくなります",
        "en": "Release the {amount} authorisation? The customer will not be charged",
    },
    "held_check_confirm": {
        "ja": "{amount} の取引をPayPayに再確認しますか？支払いがあれば返金します",
        "en": "Check the {amount} sale with PayPay again? A payment found is given back",
    },
    "held_release_requested": {
        "ja": "仮売上の取消をPayPayに依頼しました",
        "en": "Releasing the authorisation at PayPay",
    },
    "held_check_requested": {"ja": "PayPayに確認しています", "en": "Checking with PayPay"},
    "held_not_paid": {
        "ja": "未払いのため手渡しできません",
        "en": "Not paid: there is nothing to hand out",
    },
    "sales_count": {"ja": "取引数", "en": "Sales"},
    "sales_amount": {"ja": "売上", "en": "Takings"},
    "refunded_amount": {"ja": "返金額", "en": "Refunded"},
    "net_amount": {"ja": "差引", "en": "Net"},
    "reconcile_started": {"ja": "照合を実行しました", "en": "Reconciliation run"},
    "reconcile_none": {"ja": "照合結果はまだありません", "en": "No reconciliation result yet"},
    "service_now_off": {"ja": "休止にしました", "en": "Now out of service"},
    "service_now_on": {"ja": "営業を再開しました", "en": "Back in service"},
    "error": {"ja": "エラー：{message}", "en": "Error: {message}"},
    "status_succeeded": {"ja": "完了", "en": "Paid"},
    "status_refunded": {"ja": "返金済", "en": "Refunded"},
    "status_partly_refunded": {"ja": "一部返金", "en": "Part refunded"},
    "status_failed": {"ja": "失敗", "en": "Failed"},
    "status_cancelled": {"ja": "取消", "en": "Cancelled"},
    "status_expired": {"ja": "期限切れ", "en": "Expired"},
    "status_held": {"ja": "保留", "en": "Held"},
    "status_open": {"ja": "処理中", "en": "In progress"},
}

# Sale record statuses (journal states or PayPay statuses) -> a catalogue key.
STATUS_KEYS: dict[str, str] = {
    "SUCCEEDED": "status_succeeded",
    "COMPLETED": "status_succeeded",
    "REFUNDED": "status_refunded",
    "PARTLY_REFUNDED": "status_partly_refunded",
    "FAILED": "status_failed",
    "CANCELLED": "status_cancelled",
    "CANCELED": "status_cancelled",
    "EXPIRED": "status_expired",
    "HELD": "status_held",
    # a sale the machine is still settling (e.g. a code watched in the background while the
    # kiosk sells): "in progress", not the machine's word
    **{
        state: "status_open"
        for state in (
            "CREATING",
            "CREATE_UNKNOWN",
            "SHOWING",
            "DELETING",
            "WATCHING",
            "GRACE",
            "CANCELLING",
            "VENDING",
            "CAPTURING",
            "REVERTING",
            "REFUNDING",
        )
    },
}


def format_yen(amount_yen: int) -> str:
    return f"¥{amount_yen:,}"


@dataclass(frozen=True)
class Strings:
    """The catalogue seen through one language."""

    language: str

    def __post_init__(self) -> None:
        if self.language not in LANGUAGES:
            raise ValueError(f"language must be one of {LANGUAGES}, got {self.language!r}")

    def __call__(self, key: str, **values: object) -> str:
        text = CATALOGUE[key][self.language]
        return text.format(**values) if values else text

    def status(self, status: str) -> str:
        key = STATUS_KEYS.get(status.upper())
        return self(key) if key else status

    def reason(self, reason: str | None) -> str:
        key = f"reason_{reason}"
        return self(key) if key in CATALOGUE else self("reason_default")


def other_language(language: str) -> str:
    return LANGUAGES[(LANGUAGES.index(language) + 1) % len(LANGUAGES)]


# why a sale was held (its journal end_reason) -> the words the attendant reads; by prefix
# for the families ("vend_failed", "grace_unresolved", "refund_refused", "engine_error: X")
HELD_WHY = (
    ("anomaly", "held_why_anomaly"),
    ("paid_", "held_why_paid_late"),
    ("vend_", "held_why_vend"),
    ("already_paid_unconfirmed", "held_why_unknown"),
    ("engine_error", "held_why_error"),
)


def held_why_key(reason: str | None) -> str | None:
    """The i18n key for a held sale's reason; None: no known words (the code is shown)."""
    text = reason or ""
    if text.endswith("_unresolved"):
        return "held_why_unknown"
    if text.endswith("_refused"):
        return "held_why_refused"
    return next((key for prefix, key in HELD_WHY if text.startswith(prefix)), None)
