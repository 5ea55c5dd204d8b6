"""Appointments and viewings: booked with a lead, an agent and a time; no agent is booked twice at once."""
