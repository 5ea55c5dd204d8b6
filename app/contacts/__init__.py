"""Contacts and the companies they work for."""
