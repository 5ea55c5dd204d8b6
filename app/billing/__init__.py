"""Billing: invoices with gapless numbers, payments, credit notes, expenses, the P&L, and invoice and ROI report PDFs."""
