"""Who may do what with billing: the one place the API guards, the services, the screens and the templates read.

Finance and admins (and write integrations) issue invoices, record payments and keep the expenses; managers
read them and the P&L; agents and support see no invoice. ROI reports are the sales side's: admins, managers
and agents (and finance) make them for a lead; support does not.
"""

from __future__ import annotations

from app.core.policy import INTEGRATION, SYSTEM, permission

BOOKKEEPERS = frozenset({"admin", "finance", INTEGRATION, SYSTEM})
READERS = frozenset({*BOOKKEEPERS, "manager"})

VIEW = permission("invoices.view", READERS, "Only finance, admins and managers see invoices")
MANAGE = permission("invoices.manage", BOOKKEEPERS, "Only finance and admins issue invoices and record payments")
VIEW_EXPENSES = permission("expenses.view", READERS, "Only finance, admins and managers see expenses")
MANAGE_EXPENSES = permission("expenses.manage", BOOKKEEPERS, "Only finance and admins record expenses")
REPORTS = permission("reports.profit_loss", READERS, "Only finance, admins and managers read the P&L")
SETTINGS = permission("billing.settings", {"admin", "finance", INTEGRATION}, "Only finance and admins change the billing settings")
ROI = permission("roi.create", {"admin", "manager", "agent", "finance", INTEGRATION}, "Your role cannot make ROI reports")
