"""A realistic lead dataset in one SQL statement: used by --demo (a few thousand) and bench/ (a million).

Distributions: statuses weighted so 13.5% are QUALIFIED, ~60% with an e-mail, budgets from 300k to
15M, seven property types, five languages, six sources, creation times over two years, names from
common first and last names (so searches both hit and miss).
"""

from __future__ import annotations

FIRST = [
    "Ali",
    "Sarah",
    "Omar",
    "Fatima",
    "John",
    "Maria",
    "Ahmed",
    "Elena",
    "Wei",
    "Priya",
    "Tom",
    "Aisha",
    "Lucas",
    "Noor",
    "Ivan",
    "Sofia",
]
LAST = [
    "Hassan",
    "Ahmed",
    "Smith",
    "Khan",
    "Garcia",
    "Chen",
    "Novak",
    "Rossi",
    "Haddad",
    "Okafor",
    "Müller",
    "Silva",
    "Raman",
    "Lee",
    "Ali",
    "Brown",
]

GENERATE = """
INSERT INTO lead (tenant_id, name, phone, email, source, language, status, budget_min, budget_max, budget_currency,
                  transaction_type, property_type, purpose, preferred_location, preferred_locations, hotness_score,
                  temperature, score_factors, score_confidence, message_count, voice_messages_sent, images_uploaded,
                  conversation_data, custom_fields, notes, created_at, updated_at, last_interaction, ghost_reminder_sent)
SELECT $1,
       ($2::text[])[1 + (g * 7) % array_length($2::text[], 1)] || ' ' || ($3::text[])[1 + (g * 13 / 7) % array_length($3::text[], 1)],
       '+' || ($4 + g)::text,
       CASE WHEN g % 5 < 3 THEN 'lead' || g || '@example.com' END,
       (ARRAY['website', 'telegram', 'whatsapp', 'referral', 'portal', 'import'])[1 + g % 6],
       (ARRAY['en', 'ar', 'ru', 'fr', 'hi'])[1 + (g / 3) % 5],
       CASE WHEN r < 0.30 THEN 'NEW' WHEN r < 0.50 THEN 'CONTACTED' WHEN r < 0.635 THEN 'QUALIFIED'
            WHEN r < 0.735 THEN 'VIEWING_SCHEDULED' WHEN r < 0.815 THEN 'NEGOTIATING' WHEN r < 0.90 THEN 'WON' ELSE 'LOST' END,
       b, b + (g % 4) * 500000, 'AED',
       (ARRAY['BUY', 'BUY', 'RENT', 'SELL'])[1 + g % 4],
       (ARRAY['APARTMENT', 'VILLA', 'TOWNHOUSE', 'PENTHOUSE', 'STUDIO', 'OFFICE', 'LAND'])[1 + (g / 5) % 7],
       (ARRAY['INVESTMENT', 'LIVING', 'RESIDENCY'])[1 + g % 3],
       (ARRAY['Dubai Marina', 'JBR', 'Business Bay', 'Downtown', 'Palm Jumeirah', 'JVC'])[1 + g % 6], '{}',
       (g * 37) % 101, CASE WHEN (g * 37) % 101 >= 70 THEN 'hot' WHEN (g * 37) % 101 >= 40 THEN 'warm' ELSE 'cold' END,
       '{}', 0.7, g % 20, g % 2, 0, '{}', '{}', '',
       now() - (g % 730) * interval '1 day' - (g % 86400) * interval '1 second', now(),
       now() - (g % 90) * interval '1 day', (g % 90) > 1
FROM (SELECT g, ((g * 7919) % 1000) / 1000.0 AS r, 300000 + ((g * 104729) % 147) * 100000 AS b
      FROM generate_series($5::bigint, $6::bigint) g) s
"""

BATCH = 100_000


def generate_args(tenant_id: int, phone_base: int, first: int, last: int) -> tuple[object, ...]:
    """Arguments of GENERATE for leads numbered first..last of a tenant."""
    return (tenant_id, FIRST, LAST, phone_base, first, last)
