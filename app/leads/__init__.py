"""Leads: capture, qualify, score and follow up."""
