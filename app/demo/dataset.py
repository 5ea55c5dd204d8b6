"""Realistic datasets in one SQL statement each, used by --demo and bench/.

Leads (a few thousand in the demo, a million in bench/leads_bench.py): statuses weighted so 13.5% are
QUALIFIED, ~60% with an e-mail, budgets from 300k to 15M, seven property types, five languages, six
sources, creation times over two years, names from common first and last names (so searches both hit
and miss).

Properties (a few hundred in the demo, 100,000 in bench/properties_bench.py): nine Dubai neighbourhoods
with their own property types, buildings and prices per square foot, every stage and listing status,
owners, tags, scores, and listing dates over the last nine months; PROPERTY_TIMELINE gives them the
timeline the service would have written.
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


# --------------------------------------------------------------------------- properties

# Dubai neighbourhoods (the demo leads' six preferred locations first, spelt as the leads spell them, each with
# twice the share of the other three):
# (name, latitude, longitude, property types weighted by repetition, AED per square foot of an apartment, buildings or clusters).
NEIGHBOURHOODS = [
    ("Dubai Marina", 25.0805, 55.1403, ["APARTMENT", "APARTMENT", "STUDIO", "APARTMENT", "PENTHOUSE", "STUDIO", "RETAIL", "OFFICE"], 1900,
     ["Marina Gate 2", "Cayan Tower", "Princess Tower", "Silverene", "Marina Promenade", "Emaar 6 Towers"]),
    ("JBR", 25.0780, 55.1340, ["APARTMENT", "APARTMENT", "PENTHOUSE", "APARTMENT", "STUDIO", "RETAIL"], 2100,
     ["Sadaf 5", "Rimal 3", "Shams 1", "Bahar 4", "Amwaj 2"]),
    ("Business Bay", 25.1850, 55.2650, ["APARTMENT", "STUDIO", "OFFICE", "APARTMENT", "PENTHOUSE", "RETAIL", "OFFICE", "LAND"], 1800,
     ["Executive Towers", "Bay Square 7", "Churchill Tower", "Damac Maison", "Peninsula One"]),
    ("Downtown", 25.1950, 55.2740, ["APARTMENT", "APARTMENT", "STUDIO", "PENTHOUSE", "APARTMENT", "RETAIL", "OFFICE", "PENTHOUSE"], 2600,
     ["Burj Vista 1", "Boulevard Point", "Act One", "The Address Residences", "29 Boulevard"]),
    ("Palm Jumeirah", 25.1124, 55.1390, ["VILLA", "APARTMENT", "PENTHOUSE", "APARTMENT", "VILLA", "LAND", "TOWNHOUSE", "STUDIO"], 3300,
     ["Shoreline 7", "Tiara Residences", "Oceana Atlantic", "Frond G", "Frond K", "Serenia Residences"]),
    ("JVC", 25.0590, 55.2060, ["APARTMENT", "STUDIO", "TOWNHOUSE", "APARTMENT", "STUDIO", "VILLA", "LAND", "OFFICE", "RETAIL"], 1050,
     ["Belgravia 2", "Bloom Towers", "District 12", "Circle Mall Residences", "Park Villas"]),
    ("Jumeirah Lake Towers", 25.0690, 55.1410, ["APARTMENT", "STUDIO", "OFFICE", "APARTMENT", "OFFICE", "RETAIL"], 1250,
     ["Cluster D", "Lake Terrace", "Goldcrest Views", "Mazaya BB1", "Almas Tower"]),
    ("Dubai Hills", 25.1030, 55.2450, ["VILLA", "TOWNHOUSE", "APARTMENT", "VILLA", "APARTMENT", "LAND"], 1900,
     ["Maple 3", "Sidra 2", "Park Heights", "Collective 2.0", "Golf Place"]),
    ("Arabian Ranches", 25.0550, 55.2700, ["VILLA", "TOWNHOUSE", "VILLA", "TOWNHOUSE", "LAND"], 1350,
     ["Saheel", "Alvorada", "Palmera 3", "Mirador", "Savannah"]),
]  # fmt: skip
PROPERTY_TAGS = [
    "motivated-seller",
    "owner-occupied",
    "high-priority",
    "investor",
    "sea-view",
    "upgraded",
    "vacant",
    "tenanted",
    "price-reduced",
    "golden-visa",
    "off-plan",
    "corner-unit",
]

_HOODS = ",\n       ".join(
    f"({n}, '{name}', {lat}, {lon}, ARRAY{types!r}::text[], {psf}, ARRAY{buildings!r}::text[])"
    for n, (name, lat, lon, types, psf, buildings) in enumerate(NEIGHBOURHOODS, start=1)
)

# Properties numbered $2..$3 of tenant $1 in one statement. Each number hashes (Weyl sequences) into a
# neighbourhood and a type it has, a size and bedrooms for that type, a price from the neighbourhood's price
# per square foot (penthouses and retail dearer, townhouses and land cheaper), an estimate within ±8 % of it,
# and a stage (about a quarter new, an eighth closed won); the listing status follows the stage (under
# contract is under offer, closed won sold or rented), rentals (a few cheap homes) are priced by the year.
# Owners get names from FIRST/LAST and +971 50 numbers from $8; three quarters are assigned to $6's people.
PROPERTIES = f"""
WITH hood(n, name, lat, lon, types, psf, buildings) AS (VALUES
       {_HOODS}),
base AS (
  SELECT g, (g * 7919) % 1000 / 1000.0 AS r,
         ((g * 104729) % 1000003) / 1000003.0 AS v1, ((g * 15485863) % 1000003) / 1000003.0 AS v2,
         ((g * 32452843) % 1000003) / 1000003.0 AS v3, ((g * 49979687) % 1000003) / 1000003.0 AS v4,
         (g * 2654435761) % 4294967296 AS h
    FROM generate_series($2::bigint, $3::bigint) g),
typed AS (
  SELECT b.*, d.name AS hood, d.lat, d.lon, d.psf, d.buildings[1 + (b.h / 97) % array_length(d.buildings, 1)] AS building,
         d.types[1 + (b.h / 15) % array_length(d.types, 1)] AS ptype,
         CASE WHEN r < 0.24 THEN 'new' WHEN r < 0.42 THEN 'outreach' WHEN r < 0.57 THEN 'qualified' WHEN r < 0.69 THEN 'negotiation'
              WHEN r < 0.78 THEN 'under_contract' WHEN r < 0.90 THEN 'closed_won' ELSE 'closed_lost' END AS stage
    FROM base b JOIN hood d ON d.n = (ARRAY[1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 8, 9])[1 + b.h % 15]),
sized AS (
  SELECT t.*,
         CASE ptype WHEN 'STUDIO' THEN 0 WHEN 'APARTMENT' THEN 1 + (h % 10 >= 4)::int + (h % 10 >= 8)::int + (h % 10 = 9)::int
                    WHEN 'PENTHOUSE' THEN 3 + (h % 3)::int WHEN 'TOWNHOUSE' THEN 2 + (h % 3)::int
                    WHEN 'VILLA' THEN 3 + (h % 5)::int END AS beds,
         CASE ptype WHEN 'STUDIO' THEN 1.0 WHEN 'OFFICE' THEN 1.0 + (h % 2) WHEN 'RETAIL' THEN 1.0 WHEN 'LAND' THEN NULL END AS fixed_baths,
         CASE ptype WHEN 'STUDIO' THEN 1.05 WHEN 'PENTHOUSE' THEN 1.6 WHEN 'TOWNHOUSE' THEN 0.9 WHEN 'VILLA' THEN 1.1
                    WHEN 'OFFICE' THEN 0.85 WHEN 'RETAIL' THEN 1.2 WHEN 'LAND' THEN 0.45 ELSE 1.0 END AS factor
    FROM typed t),
valued AS (
  SELECT s.*,
         round(CASE ptype WHEN 'STUDIO' THEN 380 + v1 * 220 WHEN 'APARTMENT' THEN 450 + beds * 420 + v1 * 300
                          WHEN 'PENTHOUSE' THEN 2800 + beds * 700 + v1 * 2500 WHEN 'TOWNHOUSE' THEN 1500 + beds * 350 + v1 * 600
                          WHEN 'VILLA' THEN 2800 + beds * 700 + v1 * 3000 WHEN 'OFFICE' THEN 700 + v1 * 4300
                          WHEN 'RETAIL' THEN 500 + v1 * 2500 ELSE 5000 + v1 * 25000 END)::int AS sqft
    FROM sized s),
priced AS (
  SELECT v.*, round(sqft * psf * factor * (0.85 + v2 * 0.35), -4) AS value,
         CASE WHEN stage IN ('new', 'outreach', 'qualified', 'negotiation') THEN
                   CASE WHEN h % 20 < 11 THEN 'for_sale' WHEN h % 20 < 17 THEN 'off_market'
                        WHEN h % 20 = 17 AND ptype IN ('STUDIO', 'APARTMENT') AND sqft * psf < 2500000 THEN 'for_rent' ELSE 'for_sale' END
              WHEN stage = 'under_contract' THEN 'under_offer'
              WHEN stage = 'closed_won' THEN CASE WHEN h % 6 = 0 AND ptype IN ('STUDIO', 'APARTMENT') THEN 'rented' ELSE 'sold' END
              ELSE CASE WHEN h % 2 = 0 THEN 'off_market' ELSE 'for_sale' END END AS listing,
         now() - (5 + (g * 389) % 270) * interval '1 day' - (g * 3571 % 86400) * interval '1 second' AS created
    FROM valued v)
INSERT INTO property (tenant_id, address, city, state, zip_code, neighborhood, owner_name, owner_phone, owner_email, assigned_user_id,
                      bird_dog_score, estimated_value, price, currency, bedrooms, bathrooms, square_feet, property_type, listing_status,
                      listed_on, latitude, longitude, current_stage, stage_changed_at, closed_at, tags, notes, last_contact_at,
                      has_memo, has_reply, created_by, created_at, updated_at)
SELECT $1,
       CASE WHEN ptype IN ('VILLA', 'TOWNHOUSE') THEN initcap(lower(ptype)) || ' ' || (1 + h % 180) || ', ' || building
            WHEN ptype = 'LAND' THEN 'Plot ' || (100 + h % 900) || '-' || (1 + g % 40) || ', ' || hood
            WHEN ptype IN ('OFFICE', 'RETAIL')
                 THEN CASE ptype WHEN 'OFFICE' THEN 'Office ' ELSE 'Shop ' END || (1 + h % 40) || lpad((1 + g % 20)::text, 2, '0')
                      || ', ' || building
            ELSE 'Apartment ' || (1 + h % 60) || lpad((1 + g % 12)::text, 2, '0') || ', ' || building END,
       'Dubai', 'Dubai', '', hood,
       ($4::text[])[1 + (g * 11) % array_length($4::text[], 1)] || ' ' || ($5::text[])[1 + (g * 5 / 3) % array_length($5::text[], 1)],
       '+' || ($8 + g * 7)::text,
       CASE WHEN g % 3 <> 0 THEN 'owner' || g || '@example.com' END,
       CASE WHEN g % 4 <> 0 AND cardinality($6::bigint[]) > 0 THEN ($6::bigint[])[1 + (g / 4) % cardinality($6::bigint[])] END,
       CASE WHEN stage = 'new' AND g % 12 = 0 THEN NULL
            ELSE round((CASE stage WHEN 'new' THEN 0.15 + v3 * 0.6 WHEN 'outreach' THEN 0.3 + v3 * 0.55
                                   WHEN 'closed_lost' THEN 0.1 + v3 * 0.5 ELSE 0.55 + v3 * 0.43 END)::numeric, 3) END,
       round(value * (0.92 + v4 * 0.16), -3),
       CASE WHEN listing IN ('for_rent', 'rented') THEN round(value * 0.065, -3) ELSE value END,
       'AED', beds, coalesce(fixed_baths, CASE WHEN beds IS NOT NULL THEN beds + 0.5 * (h % 3 > 0)::int END), sqft, ptype, listing,
       CASE WHEN listing <> 'off_market' THEN (created + (now() - created) * 0.3 * v2)::date END,
       round((lat + (v1 - 0.5) * 0.012)::numeric, 6), round((lon + (v2 - 0.5) * 0.012)::numeric, 6),
       stage,
       CASE WHEN stage = 'new' THEN created ELSE created + (now() - created) * (0.3 + v4 * 0.6) END,
       CASE WHEN stage IN ('closed_won', 'closed_lost') THEN created + (now() - created) * (0.3 + v4 * 0.6) END,
       ARRAY(SELECT t FROM unnest($9::text[]) WITH ORDINALITY AS x(t, i) WHERE (g * 7 + i * 5) % 13 = 0 OR (g + i * 3) % 17 = 0),
       '',
       CASE WHEN stage <> 'new' THEN created + (now() - created) * (0.3 + v4 * 0.7) END,
       stage NOT IN ('new', 'outreach') OR (stage = 'outreach' AND g % 3 = 0),
       stage IN ('qualified', 'negotiation', 'under_contract', 'closed_won') OR (stage = 'outreach' AND g % 9 = 0),
       $7, created,
       CASE WHEN stage = 'new' THEN created ELSE created + (now() - created) * (0.3 + v4 * 0.6) END
  FROM priced
"""

# The timeline of tenant $1's properties that have none, as app.properties.service writes it ($2 the stages in
# order, $3 their labels): "Added …" when
# created, then a stage change for every stage its path went through (lost ones after outreach or
# qualification), at times spread between its creation and its last stage change, by its assignee.
PROPERTY_TIMELINE = """
INSERT INTO activity (tenant_id, subject_type, subject_id, contact_id, kind, summary, changes, actor_user_id, actor, created_at)
SELECT p.tenant_id, 'property', p.id, NULL::bigint, 'created', 'Added ' || p.address, '{}'::jsonb, p.created_by, coalesce(c.email, ''),
       p.created_at
  FROM property p LEFT JOIN app_user c ON c.id = p.created_by
 WHERE p.tenant_id = $1
   AND NOT EXISTS (SELECT 1 FROM activity a WHERE a.tenant_id = $1 AND a.subject_type = 'property' AND a.subject_id = p.id)
UNION ALL
SELECT p.tenant_id, 'property', p.id, NULL, 'stage_changed',
       'Stage ' || ($3::text[])[array_position($2::text[], path[i - 1])] || ' → ' || ($3::text[])[array_position($2::text[], path[i])],
       jsonb_build_object('current_stage', jsonb_build_array(path[i - 1], path[i])),
       coalesce(p.assigned_user_id, p.created_by), coalesce(u.email, c.email, ''),
       p.created_at + (p.stage_changed_at - p.created_at) * (i - 1) / (cardinality(path) - 1)
  FROM (SELECT p.*, CASE WHEN p.current_stage = 'closed_lost'
                         THEN CASE WHEN p.id % 2 = 0 THEN ARRAY['new', 'outreach', 'closed_lost']
                                   ELSE ARRAY['new', 'outreach', 'qualified', 'closed_lost'] END
                         ELSE ($2::text[])[1:array_position($2::text[], p.current_stage)] END AS path
          FROM property p WHERE p.tenant_id = $1 AND p.current_stage <> 'new'
           AND NOT EXISTS (SELECT 1 FROM activity a WHERE a.tenant_id = $1 AND a.subject_type = 'property' AND a.subject_id = p.id)) p
  CROSS JOIN LATERAL generate_series(2, cardinality(p.path)) AS i
  LEFT JOIN app_user u ON u.id = p.assigned_user_id LEFT JOIN app_user c ON c.id = p.created_by
"""


def property_args(tenant_id: int, first: int, last: int, people: list[int], created_by: int | None, phone_base: int) -> tuple[object, ...]:
    """Arguments of PROPERTIES for properties numbered first..last of a tenant, assigned among `people`."""
    return (tenant_id, first, last, FIRST, LAST, people, created_by, phone_base, PROPERTY_TAGS)
