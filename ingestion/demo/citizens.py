"""Human-made events of the demo: citizen reports, social posts and CCTV event metadata.

Free texts are French and varied; about one report in five carries personal data a
governance scan must find (names, phones in several French formats, e-mails, licence
plates, street addresses). All of it is fictitious: phone numbers are drawn from the
range ARCEP reserves for fiction (06 39 98 xx xx), e-mails use reserved domains.
Incident-related events are drawn from a stream seeded by the incident, then kept if
they fall inside the requested window, so windows are independent.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa

from ingestion.demo.model import LOCAL_TZ, DemoModel, epoch, local_clock, stable_code, utc
from ingestion.demo.territory import COMMUNE, STREETS, Territory
from ingestion.spec import UTC_TS

POSTCODE = "59990"  # fictitious

FIRST_NAMES = (
    "Camille",
    "Léa",
    "Manon",
    "Chloé",
    "Inès",
    "Jade",
    "Louise",
    "Emma",
    "Sarah",
    "Nathalie",
    "Sylvie",
    "Isabelle",
    "Martine",
    "Hugo",
    "Lucas",
    "Thomas",
    "Nicolas",
    "Julien",
    "Karim",
    "Mehdi",
    "Antoine",
    "Pierre",
    "Jean-Marc",
    "Philippe",
    "Bernard",
    "Mamadou",
    "Yannick",
    "Éric",
)
LAST_NAMES = (
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefebvre",
    "Michel",
    "Garcia",
    "Roux",
    "Fontaine",
    "Caron",
    "Deschamps",
    "Vandenberghe",
    "Delattre",
    "Lemaire",
    "Dupont",
    "Benali",
    "Nguyen",
    "Diallo",
)
EMAIL_DOMAINS = ("exemple.fr", "example.org", "courriel.test", "example.net")
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTVWXYZ"
CHANNELS = ("application", "web", "telephone", "open311", "accueil")
CHANNEL_WEIGHTS = (0.45, 0.25, 0.15, 0.1, 0.05)
PLATFORMS = ("mastodon", "x", "facebook", "instagram", "bluesky")
CCTV_TYPES = ("attroupement", "vehicule_arrete", "stationnement_interdit", "intrusion", "depot_sauvage")
CCTV_WEIGHTS = (0.3, 0.25, 0.25, 0.08, 0.12)

CATEGORY_WEIGHTS = {
    "fuite_eau": 3,
    "coupure_eau": 1,
    "nid_de_poule": 10,
    "stationnement": 9,
    "signalisation": 4,
    "depot_sauvage": 12,
    "proprete": 10,
    "tag": 6,
    "eclairage_panne": 6,
    "bruit": 7,
    "pollution_air": 2,
    "espaces_verts": 5,
    "securite": 4,
    "vandalisme": 4,
}
SUBCATEGORIES = {
    "fuite_eau": ("chaussée inondée", "bouche à clé", "borne incendie"),
    "coupure_eau": ("pression faible", "eau coupée"),
    "nid_de_poule": ("chaussée", "trottoir", "piste cyclable"),
    "stationnement": ("trottoir", "passage piéton", "place PMR", "double file"),
    "signalisation": ("feu tricolore", "panneau", "marquage au sol"),
    "depot_sauvage": ("encombrants", "gravats", "sacs d'ordures"),
    "proprete": ("corbeille pleine", "déjections", "verre brisé"),
    "tag": ("façade", "mobilier urbain"),
    "eclairage_panne": ("lampadaire éteint", "lampadaire clignotant", "rue entière"),
    "bruit": ("voisinage", "fête", "deux-roues"),
    "pollution_air": ("odeur", "fumée", "brûlage"),
    "espaces_verts": ("arbre dangereux", "branche tombée", "tonte"),
    "securite": ("incivilité", "rodéo urbain", "regroupement"),
    "vandalisme": ("abribus", "banc", "borne de recharge"),
}
TEMPLATES = {
    "fuite_eau": (
        "De l'eau s'écoule sur la chaussée {where} depuis {since}.",
        "Grosse fuite d'eau {where}, ça coule en continu sur le trottoir.",
        "Une flaque qui ne sèche jamais {where}, on entend l'eau couler sous la plaque.",
    ),
    "coupure_eau": (
        "Plus d'eau au robinet {where} depuis {since}.",
        "Pression très faible ce matin {where}, est-ce qu'il y a des travaux ?",
    ),
    "nid_de_poule": (
        "Nid-de-poule profond {where}, dangereux pour les vélos.",
        "La chaussée est complètement défoncée {where}, j'ai abîmé une roue.",
        "Trou dans le trottoir {where}, une personne âgée a failli tomber.",
    ),
    "stationnement": (
        "Voiture garée sur le trottoir {where} depuis {since}, impossible de passer avec une poussette.",
        "Stationnement en double file tous les matins {where}, le bus ne passe plus.",
        "Un véhicule occupe la place handicapé {where} sans macaron.",
    ),
    "signalisation": (
        "Le feu tricolore {where} reste bloqué au rouge.",
        "Panneau stop couché par terre {where}.",
        "Le marquage du passage piéton {where} a disparu, c'est dangereux.",
    ),
    "depot_sauvage": (
        "Dépôt sauvage d'encombrants {where} : matelas, frigo et sacs.",
        "Quelqu'un a encore jeté des gravats {where}.",
        "Des sacs poubelles éventrés s'entassent {where} depuis {since}.",
    ),
    "proprete": (
        "Les corbeilles {where} débordent, des déchets partout.",
        "Beaucoup de verre brisé {where}, attention aux chiens.",
        "Trottoir très sale {where}, merci de passer nettoyer.",
    ),
    "tag": ("Nouveaux tags sur la façade {where}.", "Graffitis insultants sur l'abribus {where}."),
    "eclairage_panne": (
        "Le lampadaire {where} est éteint depuis {since}.",
        "Toute la rue est dans le noir {where}, on ne voit rien le soir.",
        "Un lampadaire clignote sans arrêt {where}.",
    ),
    "bruit": (
        "Musique très forte {where} jusqu'à 2 h du matin.",
        "Fête bruyante {where}, impossible de dormir.",
        "Des scooters font des allers-retours bruyants {where} tous les soirs.",
    ),
    "pollution_air": (
        "Forte odeur de brûlé {where}.",
        "Quelqu'un brûle des déchets verts {where}, fumée épaisse.",
        "L'air est irrespirable {where} aujourd'hui, ma fille tousse.",
    ),
    "espaces_verts": (
        "Une grosse branche menace de tomber {where}.",
        "Arbre penché dangereusement {where}.",
        "La pelouse du square {where} n'a pas été tondue depuis {since}.",
    ),
    "securite": (
        "Rodéo de motos {where} en fin de journée.",
        "Regroupement bruyant et insultes {where} le soir.",
        "Des jeunes escaladent le grillage {where}.",
    ),
    "vandalisme": (
        "La vitre de l'abribus {where} est cassée.",
        "Banc arraché {where}.",
        "Borne de recharge vandalisée {where}.",
    ),
}
SINCE = ("hier soir", "trois jours", "une semaine", "ce matin", "lundi", "plusieurs semaines")
OPENERS = ("", "", "", "Bonjour, ", "Bonjour, je vous signale que ", "Madame, Monsieur, ", "Urgent : ", "Re-bonjour, ")
CLOSERS = (
    "",
    "",
    "",
    " Merci d'intervenir.",
    " Merci !",
    " Cordialement.",
    " C'est la deuxième fois que je le signale.",
    " Merci de faire le nécessaire rapidement.",
)

SOCIAL_GENERIC = (
    "Très beau marché ce matin {place} #ValDeLys",
    "Encore des travaux {place}, ça ne finit jamais…",
    "Quelqu'un sait pourquoi la médiathèque ferme plus tôt ce soir ? #ValDeLys",
    "Balade le long de la Lys, le printemps arrive enfin 🌱",
    "Le bus 12 a encore 20 minutes de retard {place}",
    "Bravo aux agents qui ont nettoyé {place} ce matin 👏",
    "Concert gratuit samedi {place}, venez nombreux !",
    "Les trottoirs {place} sont impraticables avec une poussette",
    "Qui a perdu un chat tigré {place} ?",
    "Réunion de quartier jeudi à 19 h à la salle des fêtes #ValDeLys",
)
SOCIAL_INCIDENT = {
    "traffic_jam": (
        "Bouchon monstre {place}, ça n'avance plus du tout 🚗🚗🚗",
        "Accident {place}, évitez le secteur !",
        "45 minutes pour traverser Val-de-Lys ce soir, c'est quoi ce bazar {place} ?",
    ),
    "pollution_peak": (
        "On respire vraiment mal aujourd'hui {place}, pic de pollution ? #ValDeLys",
        "Ciel tout gris et odeur de gaz d'échappement {place}, ça pique les yeux",
    ),
    "lamp_failure_cluster": (
        "Toute la rue est plongée dans le noir {place} depuis hier soir 🔦",
        "Plus aucun lampadaire ne marche {place}, c'est dangereux !",
    ),
    "report_burst": (
        "Quelle fête {place} cette nuit, impossible de dormir 😡",
        "Ça dégénère {place}, police sur place ?",
    ),
    "leak": ("De l'eau coule sur la route {place} depuis ce matin",),
}


def _pick(rng: random.Random, items, weights=None):
    return rng.choices(items, weights=weights)[0] if weights else rng.choice(items)


def phone(rng: random.Random) -> str:
    a, b = rng.randrange(100), rng.randrange(100)
    return _pick(
        rng,
        (
            f"06 39 98 {a:02d} {b:02d}",
            f"+33 6 39 98 {a:02d} {b:02d}",
            f"06.39.98.{a:02d}.{b:02d}",
            f"063998{a:02d}{b:02d}",
            f"+33639 98{a:02d}{b:02d}",
        ),
    )


def email(rng: random.Random, first: str, last: str) -> str:
    norm = str.maketrans("éèëêàçï -'", "eeeeaci.__")
    local = _pick(rng, (f"{first}.{last}", f"{first[0]}{last}", f"{last}{rng.randrange(1950, 2006)}"))
    return f"{local.lower().translate(norm)}@{_pick(rng, EMAIL_DOMAINS)}"


def plate(rng: random.Random) -> str:
    letters = lambda: "".join(rng.choice(PLATE_LETTERS) for _ in range(2))  # noqa: E731
    return f"{letters()}-{rng.randrange(1, 1000):03d}-{letters()}"


def _district_index(territory: Territory, district_id: str) -> int:
    return [d.district_id for d in territory.districts].index(district_id)


def address(rng: random.Random, territory: Territory, district_id: str) -> tuple[str, str]:
    i = _district_index(territory, district_id)
    street = rng.choice(STREETS[4 * i : 4 * i + 4])
    return street, f"{rng.randrange(1, 120)} {street}, {POSTCODE} {COMMUNE}"


def _point(rng: random.Random, territory: Territory, district_id: str) -> tuple[float, float]:
    d = territory.district(district_id)
    return round(d.lat + rng.uniform(-0.006, 0.006), 6), round(d.lon + rng.uniform(-0.01, 0.01), 6)


def _pii_sentence(rng: random.Random, category: str, street: str) -> str:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    options = [
        f" Vous pouvez me joindre au {phone(rng)}.",
        f" Mon numéro : {phone(rng)}.",
        f" Contact : {email(rng, first, last)}",
        f" Je suis {_pick(rng, ('M.', 'Mme', ''))} {first} {last}".replace("  ", " ")
        + f", j'habite au {rng.randrange(1, 120)} {street}.",
        f" Signalé par {first} {last} ({phone(rng)}).",
    ]
    if category in ("stationnement", "securite", "vandalisme"):
        options += [f" Le véhicule immatriculé {plate(rng)} est encore là.", f" Plaque relevée : {plate(rng)}."]
    return rng.choice(options)


def _report(
    rng: random.Random, m: DemoModel, report_id: str, created: datetime, district_id: str, category: str
) -> dict:
    territory = m.territory
    street, addr = address(rng, territory, district_id)
    where = _pick(
        rng,
        (
            f"rue {street.split(' ', 1)[1]}" if street.startswith("Rue ") else street.lower(),
            f"au niveau du {rng.randrange(1, 120)} {street}",
            f"devant l'école {street}",
            f"à l'angle de {street}",
        ),
    )
    text = rng.choice(TEMPLATES[category]).format(where=where, since=rng.choice(SINCE))
    text = rng.choice(OPENERS) + (text[0].lower() + text[1:] if rng.random() < 0.3 else text) + rng.choice(CLOSERS)
    if rng.random() < 0.2:
        text += _pii_sentence(rng, category, street)
    anonymous = rng.random() < 0.35
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    updated = created + timedelta(hours=rng.uniform(0.5, 30))
    closed = created + timedelta(hours=rng.uniform(4, 24 * 6))
    end = utc(m.end)
    status = "closed" if closed < end else ("in_progress" if updated < end else "open")
    lat, lon = _point(rng, territory, district_id)
    return {
        "report_id": report_id,
        "channel": _pick(rng, CHANNELS, CHANNEL_WEIGHTS),
        "created_at": created,
        "updated_at": min(updated, closed) if status != "open" else None,
        "closed_at": closed if status == "closed" else None,
        "status": status,
        "category": category,
        "subcategory": rng.choice(SUBCATEGORIES[category]),
        "description": text,
        "address": addr,
        "district_id": district_id,
        "lat": lat,
        "lon": lon,
        "reporter_name": None if anonymous else f"{first} {last}",
        "reporter_phone": None if anonymous or rng.random() < 0.3 else phone(rng),
        "reporter_email": None if anonymous or rng.random() < 0.4 else email(rng, first, last),
        "source_tz": LOCAL_TZ,
    }


def _daytime(rng: random.Random, day_start: int) -> datetime:
    """An instant of the UTC day weighted towards local waking hours."""
    while True:
        ts = day_start + rng.randrange(86400)
        hour, _ = local_clock(np.array([ts]))
        if rng.random() < (1.0 if 7 <= hour[0] < 22 else 0.15):
            return utc(ts)


def _incident_reports(m: DemoModel) -> list[tuple[datetime, str, str]]:
    """(created_at, district, category) of reports caused by incidents, over the whole period."""
    out = []
    for inc in m.incidents:
        rng = random.Random(stable_code(f"{m.seed}/{inc.incident_id}/reports"))
        span = (inc.end - inc.start).total_seconds()
        if inc.kind == "report_burst":
            categories = ("bruit",) * 6 + ("vandalisme", "securite", "proprete")
            for _ in range(inc.details["reports"]):
                out.append(
                    (inc.start + timedelta(seconds=rng.uniform(0, span)), inc.district_id, rng.choice(categories))
                )
        elif inc.kind == "lamp_failure_cluster":
            out += [
                (inc.start + timedelta(minutes=rng.uniform(20, 200)), inc.district_id, "eclairage_panne")
                for _ in range(4)
            ]
        elif inc.kind == "leak":
            out += [(inc.start + timedelta(hours=h), inc.district_id, "fuite_eau") for h in (31.5, 52.2)]
        elif inc.kind == "pollution_peak":
            out += [(inc.start + timedelta(hours=h), inc.district_id, "pollution_air") for h in (9.3, 15.7)]
    return out


def citizen_reports(m: DemoModel, t0: int, t1: int) -> pa.Table:
    """Reports created in [t0, t1), numbered per day (the whole day is drawn, then cut)."""
    day_start = t0 - t0 % 86400
    rng = random.Random(stable_code(f"{m.seed}/reports/{day_start}"))
    rows = []
    categories = list(CATEGORY_WEIGHTS)
    weights = [CATEGORY_WEIGHTS[c] * 1.0 for c in categories]
    populations = [d.population for d in m.territory.districts]
    for _ in range(int(np.random.default_rng(stable_code(f"{m.seed}/n/{day_start}")).poisson(24))):
        created = _daytime(rng, day_start)
        district = rng.choices(m.territory.districts, weights=populations)[0].district_id
        rows.append((created, district, rng.choices(categories, weights=weights)[0]))
    rows += [r for r in _incident_reports(m) if day_start <= epoch(r[0]) < day_start + 86400]
    day = utc(day_start).strftime("%Y%m%d")
    records = [_report(rng, m, f"VDL-{day}-{i + 1:04d}", *r) for i, r in enumerate(sorted(rows))]
    records = [r for r in records if t0 <= epoch(r["created_at"]) < t1]
    return _table(
        records,
        (
            "report_id",
            "channel",
            "created_at",
            "updated_at",
            "closed_at",
            "status",
            "category",
            "subcategory",
            "description",
            "address",
            "district_id",
            "lat",
            "lon",
            "reporter_name",
            "reporter_phone",
            "reporter_email",
            "source_tz",
        ),
    )


def _place(rng: random.Random, territory: Territory, district_id: str | None = None) -> str:
    i = _district_index(territory, district_id) if district_id else rng.randrange(len(territory.districts))
    street = rng.choice(STREETS[4 * i : 4 * i + 4])
    return _pick(rng, (f"{street.split(' ', 1)[0].lower()} {street.split(' ', 1)[1]}", f"vers {street}", f"({street})"))


def social_posts(m: DemoModel, t0: int, t1: int) -> pa.Table:
    day_start = t0 - t0 % 86400
    rng = random.Random(stable_code(f"{m.seed}/social/{day_start}"))
    items = []
    for _ in range(int(np.random.default_rng(stable_code(f"{m.seed}/ns/{day_start}")).poisson(14))):
        items.append((_daytime(rng, day_start), rng.choice(SOCIAL_GENERIC), None))
    for inc in m.incidents:
        if inc.kind not in SOCIAL_INCIDENT:
            continue
        irng = random.Random(stable_code(f"{m.seed}/{inc.incident_id}/social"))
        span = min((inc.end - inc.start).total_seconds(), 6 * 3600)
        for _ in range(6 if inc.kind != "leak" else 2):
            when = inc.start + timedelta(seconds=irng.uniform(0, span) + (9 * 3600 if inc.kind == "leak" else 0))
            items.append((when, irng.choice(SOCIAL_INCIDENT[inc.kind]), inc.district_id))
    items = sorted((i for i in items if day_start <= epoch(i[0]) < day_start + 86400), key=lambda i: (i[0], i[1]))
    records = []
    for k, (when, template, district) in enumerate(items):
        text = template.format(place=_place(rng, m.territory, district))
        if rng.random() < 0.05:
            text += f" Appelez-moi au {phone(rng)} si vous avez vu quelque chose."
        geo = (
            _point(rng, m.territory, district or rng.choice(m.territory.districts).district_id)
            if rng.random() < 0.3
            else (None, None)
        )
        handle = f"@{rng.choice(FIRST_NAMES).lower().replace('é', 'e').replace('-', '')}_{rng.choice(('vdl', 'lys', '59', 'nord'))}{rng.randrange(100)}"
        records.append(
            {
                "post_id": f"SOC-{when:%Y%m%d%H%M%S}-{k:03d}",
                "platform": rng.choice(PLATFORMS),
                "author_handle": handle,
                "text": text,
                "posted_at": when,
                "lat": geo[0],
                "lon": geo[1],
                "source_tz": LOCAL_TZ,
            }
        )
    records = [r for r in records if t0 <= epoch(r["posted_at"]) < t1]
    return _table(records, ("post_id", "platform", "author_handle", "text", "posted_at", "lat", "lon", "source_tz"))


def cctv_events(m: DemoModel, t0: int, t1: int) -> pa.Table:
    day_start = t0 - t0 % 86400
    rng = random.Random(stable_code(f"{m.seed}/cctv/{day_start}"))
    items = []
    for cam in m.territory.cameras:
        for _ in range(
            int(np.random.default_rng(stable_code(f"{m.seed}/nc/{cam.camera_id}/{day_start}")).poisson(3.5))
        ):
            items.append((utc(day_start + rng.randrange(86400)), cam, rng.choices(CCTV_TYPES, CCTV_WEIGHTS)[0]))
    for inc in m.incidents:
        cams = [c for c in m.territory.cameras if c.district_id == inc.district_id]
        kind = {"traffic_jam": "vehicule_arrete", "report_burst": "attroupement"}.get(inc.kind)
        if not kind or not cams:
            continue
        irng = random.Random(stable_code(f"{m.seed}/{inc.incident_id}/cctv"))
        span = (inc.end - inc.start).total_seconds()
        for _ in range(8):
            items.append((inc.start + timedelta(seconds=irng.uniform(0, span)), irng.choice(cams), kind))
    items = sorted(
        (i for i in items if day_start <= epoch(i[0]) < day_start + 86400), key=lambda i: (i[0], i[1].camera_id)
    )
    records = [
        {
            "event_id": f"EVT-{cam.camera_id}-{when:%Y%m%d%H%M%S}-{k:03d}",
            "camera_id": cam.camera_id,
            "event_type": kind,
            "occurred_at": when.replace(microsecond=0),
            "zone": cam.zone,
            "confidence": round(rng.uniform(0.55, 0.99), 2),
            "source_tz": LOCAL_TZ,
        }
        for k, (when, cam, kind) in enumerate(items)
    ]
    records = [r for r in records if t0 <= epoch(r["occurred_at"]) < t1]
    return _table(records, ("event_id", "camera_id", "event_type", "occurred_at", "zone", "confidence", "source_tz"))


TIME_COLUMNS = {"created_at", "updated_at", "closed_at", "posted_at", "occurred_at"}
FLOAT_COLUMNS = {"lat", "lon", "confidence"}


def _table(records: list[dict], columns: tuple[str, ...]) -> pa.Table:
    arrays = {}
    for c in columns:
        values = [r[c] for r in records]
        if c in TIME_COLUMNS:
            values = [v.astimezone(UTC).replace(microsecond=0) if v else None for v in values]
            arrays[c] = pa.array(values, UTC_TS)
        else:
            arrays[c] = pa.array(values, pa.float64() if c in FLOAT_COLUMNS else pa.string())
    return pa.table(arrays)


GENERATORS = {
    "citizen.reports": citizen_reports,
    "social.posts": social_posts,
    "cctv.events": cctv_events,
}
