"""Bursts of topics and keywords in citizen reports and social posts.

Every message increments counters for a few keys: (district, category), (district, all)
and its keywords (accents folded, French stop words removed). Counts are kept per hour
bucket; each key keeps an exponentially weighted hourly rate. A key bursts when the
count of the current plus previous hour is improbably high under a Poisson law with
that rate (tail probability below ``p_value``) and at least ``min_count``. The number
of keys is capped (least recently seen forgotten), so memory is bounded.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import OrderedDict

from alerting.anomaly import poisson_sf
from alerting.signals import Signal

STOP_WORDS = frozenset(
    [
        "alors",
        "aussi",
        "autre",
        "avant",
        "avec",
        "avoir",
        "bien",
        "cela",
        "celle",
        "celui",
        "cette",
        "comme",
        "dans",
        "depuis",
        "devant",
        "donc",
        "elle",
        "elles",
        "encore",
        "entre",
        "etait",
        "etre",
        "fait",
        "faire",
        "faut",
        "leur",
        "leurs",
        "mais",
        "meme",
        "moins",
        "notre",
        "nous",
        "pour",
        "plus",
        "quand",
        "quel",
        "quelle",
        "quels",
        "sans",
        "selon",
        "sont",
        "sous",
        "tous",
        "tout",
        "toute",
        "toutes",
        "tres",
        "vers",
        "votre",
        "vous",
        "depuis",
        "deja",
        "ici",
        "merci",
        "bonjour",
        "svp",
        "rien",
        "chez",
        "encore",
        "jour",
        "jours",
        "hier",
        "matin",
        "soir",
        "nuit",
        "heure",
        "heures",
        "http",
        "https",
        "www",
        "avec",
        "pres",
        "plus",
        "quoi",
        "qui",
        "que",
        "quoi",
        "cest",
        "ete",
        "sera",
    ]
)
WORD = re.compile(r"[a-z]{4,}")


def keywords(text: str, limit: int = 12) -> set[str]:
    folded = unicodedata.normalize("NFKD", text.lower()).encode("ascii", "ignore").decode()
    return (
        {w for w in WORD.findall(folded)[:200] if w not in STOP_WORDS and not w.startswith("http")} if text else set()
    )


class _Key:
    __slots__ = ("bucket", "count", "prev", "rate", "seen", "active")

    def __init__(self, bucket: int):
        self.bucket, self.count, self.prev, self.rate, self.seen, self.active = bucket, 0, 0, 0.0, 0, False


class BurstDetector:
    def __init__(
        self,
        ref,
        bucket_s: float = 3600,
        alpha: float = 0.05,
        p_value: float = 1e-4,
        min_count: int = 5,
        rate_floor: float = 0.3,
        warmup_buckets: int = 12,
        max_keys: int = 50_000,
    ):
        self.ref = ref
        self.bucket_s, self.alpha, self.p_value = bucket_s, alpha, p_value
        self.min_count, self.rate_floor, self.warmup = min_count, rate_floor, warmup_buckets
        self.max_keys = max_keys
        self.keys: OrderedDict[tuple, _Key] = OrderedDict()
        self.first_bucket: int | None = None

    def _roll(self, k: _Key, bucket: int) -> None:
        gap = bucket - k.bucket
        if gap <= 0:
            return
        # fold the finished bucket, then decay through the empty ones
        k.rate += self.alpha * (k.count - k.rate)
        if gap > 1:
            k.rate *= (1 - self.alpha) ** (gap - 1)
        k.prev = k.count if gap == 1 else 0
        k.count, k.bucket, k.seen = 0, bucket, k.seen + gap

    def _key(self, key, bucket) -> _Key:
        k = self.keys.get(key)
        if k is None:
            if len(self.keys) >= self.max_keys:
                self.keys.popitem(last=False)
            # a key never seen before has had zero counts since the stream began
            k = self.keys[key] = _Key(bucket)
            k.seen = bucket - (self.first_bucket if self.first_bucket is not None else bucket)
        else:
            self.keys.move_to_end(key)
            self._roll(k, bucket)
        return k

    def process(self, ev) -> list[Signal]:
        if ev.kind == "reports":
            text = " ".join(str(ev.data.get(f) or "") for f in ("subcategory", "description"))
            district = ev.data.get("district_id")
            keys = (
                [(ev.kind, "district", district, "*"), (ev.kind, "district", district, ev.data.get("category") or "?")]
                if district
                else []
            )
        elif ev.kind == "social":
            text = str(ev.data.get("text") or "")
            district = self.ref.district_at(ev.data.get("lat"), ev.data.get("lon"))
            keys = []
        else:
            return []
        keys += [(ev.kind, "commune", "commune", f"mot:{w}") for w in keywords(text)]
        bucket = int(ev.ts // self.bucket_s)
        if self.first_bucket is None:
            self.first_bucket = bucket
        out = []
        for key in keys:
            k = self._key(key, bucket)
            k.count += 1
            if k.active or k.seen < self.warmup:
                continue
            n = k.count + k.prev
            lam = 2 * max(k.rate, self.rate_floor)
            if n >= self.min_count and poisson_sf(n, lam) < self.p_value:
                k.active = True
                out.append(self._signal(key, ev, n, lam, district))
        return out

    def tick(self, now: float) -> list[Signal]:
        """Clear bursts whose last two hours are back within the usual rate."""
        bucket = int(now // self.bucket_s)
        out = []
        for key, k in self.keys.items():
            if k.active:
                self._roll(k, bucket)
                if k.count + k.prev <= 2 * max(k.rate, self.rate_floor) + 2:
                    k.active = False
                    kind, etype, eid, topic = key
                    out.append(
                        Signal(
                            source=self._source(kind, topic),
                            origin="rafale",
                            state="clear",
                            hazard=self._hazard(topic),
                            entity_type=etype,
                            entity_id=eid,
                            ts=now,
                            details={"sujet": topic},
                        )
                    )
        return out

    @staticmethod
    def _source(kind: str, topic: str) -> str:
        return f"rafale.{kind}.{'mot.' + topic[4:] if topic.startswith('mot:') else topic}"

    @staticmethod
    def _hazard(topic: str) -> str:
        return "signalements" if not topic.startswith("mot:") else "signal_faible"

    def _signal(self, key, ev, n, lam, district) -> Signal:
        kind, etype, eid, topic = key
        what = (
            f"le mot-clé « {topic[4:]} »"
            if topic.startswith("mot:")
            else ("les signalements" if topic == "*" else f"la catégorie « {topic} »")
        )
        where = self.ref.label("district", eid) if etype == "district" else "la commune"
        p = poisson_sf(n, lam)
        conf = min(0.95, 0.5 + 0.05 * min(9.0, -math.log10(max(p, 1e-300)) - 4))
        return Signal(
            source=self._source(kind, topic),
            origin="rafale",
            state="raise",
            hazard=self._hazard(topic),
            entity_type=etype,
            entity_id=eid,
            ts=ev.ts,
            district_id=eid if etype == "district" else district,
            severity="Minor" if topic.startswith("mot:") else "Moderate",
            urgency="Expected",
            certainty="Possible",
            category="Safety",
            confidence=round(conf, 3),
            value=float(n),
            threshold=round(lam, 2),
            event_fr="Rafale de signalements" if ev.kind == "reports" else "Signal faible (réseaux sociaux)",
            headline_fr=f"Rafale : {n} messages en 2 h sur {what} à {where} (habituellement ≈ {lam:.1f})",
            details={"sujet": topic, "p": p},
        )
