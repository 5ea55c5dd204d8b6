"""What billing publishes (NeuraCRM guide §8.1: `invoice.paid`), each with the invoice's figures as exact JSON numbers."""

from __future__ import annotations

EVENTS = {
    "invoice.created": "An invoice was created (a numbered draft)",
    "invoice.sent": "An invoice was issued (or sent again): `emailed_to` when its PDF is e-mailed",
    "invoice.payment_recorded": "A payment was recorded against an invoice (`amount`, `payment_method`, `payment_reference`)",
    "invoice.paid": "An invoice was paid in full (the payment that completed it: `amount`, `payment_method`, `payment_reference`; "
    "or a credit note settled the rest: `settled_by` is `credit_note`, with `credit_note_id`)",
    "invoice.overdue": "An invoice passed its due date with money still owed (`days_overdue`)",
    "invoice.credited": "A credit note took an amount off an invoice (`credit_note_id`, `credit_amount`, `reason`)",
    "invoice.voided": "An invoice or a credit note was voided (`void_reason`); it keeps its number",
    "invoice.credit_voided": "A credit note was voided: its amount is owed again on the invoice it corrected (`credit_note_id`, "
    "`credit_note_number`, `credit_amount`)",
}
