"""Person names the spaCy model misses in French administrative and clinical writing.

Rules, strongest first (overlaps keep the strongest):
1. after a title, glued or not: « Dr.Martin », « Mme LE GOFF », « M. J-L Abras » (0.9);
2. a known first name (lexicon, any case) next to a surname, either order: « Jean DUPONT »,
   « DUPONT Jean-Pierre », « Marie Dubois » (0.85);
3. initials then a surname: « J-L ABRAS », « J. Dupont », « Z.Phillot » (0.7);
4. an UPPERCASE word next to a Capitalised one: « FERRAND Kasia », « Kasia FERRAND » (0.6),
   unless the UPPERCASE one is an acronym (« Analyste GRC ») or the Capitalised one a known
   place (« INSA Lyon »); when the Capitalised one is a French word (« MERLE Maja »,
   « Correction RÉSERVE ») only right after a name label, as in rule 5;
5. two names of the same case the lexicon lacks, not both French words (« LENOIR GASPARE »,
   « Carre Paulina »), right after a name label (« Fille : », « Suivi par », « pt ») (0.65).
Common words in capitals (« CENTRE », « SERVICE »…) and at sentence start (« Patient »)
are not names. Rule 4 gives way, away from a name label, where the spaCy model (run anyway)
sees an organisation or a product over the whole span and no person (« Microsoft DART »,
« XPO Logistics »). The first-name lexicon (``first_names.json``) comes from Faker's French
locales (MIT licence); names it lacks are still caught by rules 1, 3, 4 and the spaCy model.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

from spacy.lang.fr.stop_words import STOP_WORDS

from governance.pii import context
from governance.pii.base import SpanRecognizer
from governance.pii.letters import LOW, UP, WS
from governance.pii.lexicon import is_french_word
from governance.pii.place_names import is_place

UPW = rf"[{UP}][{UP}'’]+(?:-[{UP}][{UP}'’]+)*"
CAPW = rf"[{UP}][{LOW}'’]+(?:-[{UP}][{LOW}'’]+)*"
WORD = rf"(?:{UPW}|{CAPW})"
PARTICLE = r"(?:de|du|des|van|von|der|den|da|di|le|la|ben|el|al|d['’])"
INIT = rf"[{UP}](?:\.?-[{UP}]\.?|\.)"
TITLE = r"(?:M\.|MM\.|Mme|Mmes|Mlle|Mr\.?|Dr\.?|Drs|Pr\.?|Me|Monsieur|Madame|Mademoiselle|Docteur|Professeur|Maître)"
NAME_AFTER_TITLE = re.compile(
    rf"(?<![\w]){TITLE}(?:{WS}+|(?<=\.)|(?=[{UP}]))((?:{INIT}{WS}*)?(?:{PARTICLE}{WS}+)?{WORD}(?:{WS}+(?:{PARTICLE}{WS}+)?{WORD}){{0,2}})"
)
PAIR = re.compile(rf"(?<![\w\-])({WORD})(?:{WS}+({PARTICLE}){WS}+|{WS}+)({WORD})(?:{WS}+({WORD}))?(?![\w\-])")
INITIALS = re.compile(rf"(?<![\w.\-])({INIT}){WS}?({PARTICLE}{WS}+)?({WORD})(?![\w\-])")
TITLE_WORDS = {
    "m",
    "mm",
    "mme",
    "mmes",
    "mlle",
    "mr",
    "dr",
    "drs",
    "pr",
    "me",
    "monsieur",
    "madame",
    "mademoiselle",
    "docteur",
    "professeur",
    "maître",
}
NON_NAME_WORDS = (
    "Centre Hospitalier Hôpital Clinique Service Mairie Cedex Rue Avenue Boulevard Place Chemin Route Compte Rendu "
    "Objet Urgences Urgence Tél Tel Fax Siret Siren Nir Iban Rdv Ide Samu Smur Chu Chr Irm Ecg Ehpad Cpam Caf Rcs Sas "
    "Sarl Tva Eur Pdf Rh Drh Pdg Nb Ps Ok France Patient Patiente Adresse Contact Demandeur Suivi Personne Dossier "
    "Facture Commande Transmission Retour Fille Fils Mère Père Épouse Époux Cher Chère Bien Merci Bonjour Cordialement "
    "Secrétariat Cardiologie Pneumologie Gériatrie Médecine Interne Cabinet Consultation Hospitalisation Ordonnance "
    "Maire Président Présidente Directeur Directrice Préfet Préfecture Conseil Département Région Commune Ville "
    "Madame Monsieur Docteur Professeur Courriel Mail Email Domicile Demeurant Né Née Nom Prénom Date Signé Signature "
    "Glycémie Ta Fc Spo2 Hta Avc Bpco Pa Ecbu Nfs Crp Tdm Scanner Radio Bilan Traitement Conclusion Diagnostic Motif "
    "Antécédents Examen Allergie Allergies Sortie Entrée État Civil Employeur Projet Réunion Équipe Société Entreprise "
    "Groupe Direction Ressources Humaines Janvier Février Mars Avril Mai Juin Juillet Août Septembre Octobre Novembre "
    "Décembre Lundi Mardi Mercredi Jeudi Vendredi Samedi Dimanche Ans Mois Jours Cher Confrère Chers Collègues Vu Appel "
    "Transfert Unité Pôle Secteur Bureau Accueil Standard Poste Code Postal Numéro Sécurité Sociale Assuré Assurée "
    "Carte Vitale Mutuelle Urgent Important Attention Note Notes Annexe Page Total Montant Prix Euros Euro Saint Sainte"
)
# Job titles next to names in French business writing (« M. Kevin Zhang, VP Engineering »)
JOB_TITLE_WORDS = (
    "vp evp svp ceo cfo cto coo cio ciso cso cdo dpo rssi dsi drh dg pdg chief officer manager director head lead "
    "engineering engineer developer counsel consultant consultante analyste analyst architecte partner"
)
JOB_TITLES = frozenset(JOB_TITLE_WORDS.split())
NOT_NAMES = {w.lower() for w in NON_NAME_WORDS.split()} | set(STOP_WORDS) | TITLE_WORDS | JOB_TITLES
VOWEL = re.compile(r"[AEIOUYÀÂÄÉÈÊËÎÏÔÖÙÛÜŸ]")  # acronyms (GRC, SQL, WAF) have none
TITLE_SCORE, LEXICON_SCORE, INITIALS_SCORE, SHAPE_SCORE = 0.9, 0.85, 0.7, 0.6
TITLE_REASON, LEXICON_REASON, SHAPE_REASON = "titre + nom", "prénom connu + nom", "NOM + Prénom"
MODEL_ORG_LABELS, MODEL_OTHER_LABELS = ("ORG", "MISC"), ("ORG", "MISC", "LOC")
CUE_SCORE = 0.65  # only right after a name label (« Fille : », « Suivi par », « pt »)
NAME_LABEL = re.compile(
    rf"(?i)(?<![\w])(?:{'|'.join(map(re.escape, context.NAME_LABELS))})(?:\(e\))?{WS}*[:\-–]?{WS}*$"
)


@functools.lru_cache(maxsize=1)
def first_names() -> frozenset[str]:
    data = json.loads((Path(__file__).parent / "first_names.json").read_text(encoding="utf-8"))
    return frozenset(n.lower() for n in data["names"])


def is_first_name(word: str) -> bool:
    return all(part.lower() in first_names() for part in word.split("-"))


def is_name_word(word: str) -> bool:
    return word.lower().strip("'’") not in NOT_NAMES and len(word) > 1


def is_upper(word: str) -> bool:
    return word.isupper() and len(word) >= 2


def _surname_shape(upper: str) -> bool:
    """« FERRAND », not an acronym (« GRC », « WAF »)."""
    return len(upper) >= 3 and bool(VOWEL.search(upper))


def _labelled(text: str, start: int) -> bool:
    return bool(NAME_LABEL.search(text, max(0, start - 25), start))


def _unknown_pair(a: str, b: str) -> bool:
    """« LENOIR GASPARE », « Carre Paulina »: two names the lexicon lacks, not two ordinary words."""
    if is_upper(a) and not (VOWEL.search(a) and VOWEL.search(b)):
        return False
    return not (is_french_word(a) and is_french_word(b))


def _overlapping(pattern: re.Pattern, text: str):
    """Matches starting at every word, so « Patiente DUPONT Marie » also yields « DUPONT Marie »."""
    pos = 0
    while (m := pattern.search(text, pos)) is not None:
        yield m
        pos = m.end(1) + 1


def _model_sees_organisation(result, ents) -> bool:
    """Every word of the span inside the model's organisations, products or places, one at least an organisation."""
    inside = [e for e in ents if e.start_char < result.end and result.start < e.end_char]
    if not any(e.label_ in MODEL_ORG_LABELS for e in inside) or any(e.label_ not in MODEL_OTHER_LABELS for e in inside):
        return False
    tokens = ents[0].doc.char_span(result.start, result.end, alignment_mode="expand")
    return tokens is not None and all(any(e.start_char <= t.idx < e.end_char for e in inside) for t in tokens)


class FrPersonRecognizer(SpanRecognizer):
    ENTITIES = ("PERSON",)
    CONTEXT = context.PERSON

    def analyze(self, text, entities, nlp_artifacts=None):
        results = super().analyze(text, entities, nlp_artifacts)
        doc = getattr(nlp_artifacts, "tokens", None)
        if doc is None or not len(doc.ents):
            return results
        return [
            r
            for r in results
            if r.analysis_explanation.textual_explanation != SHAPE_REASON
            or _labelled(text, r.start)
            or not _model_sees_organisation(r, doc.ents)
        ]

    def spans(self, text: str):
        found = []
        for m in NAME_AFTER_TITLE.finditer(text):
            words = [w for w in re.split(rf"{WS}+", m.group(1)) if not re.fullmatch(PARTICLE, w, re.IGNORECASE)]
            if words and is_name_word(words[0]):
                end = self._trim(text, m.start(1), m.end(1))
                found.append((m.start(1), end, TITLE_SCORE, TITLE_REASON))
        for m in _overlapping(PAIR, text):
            a, b, c = m.group(1), m.group(3), m.group(4)
            if not (is_name_word(a) and is_name_word(b)):
                continue
            end = m.end(4) if c and is_name_word(c) and (is_upper(c) or is_first_name(c)) else m.end(3)
            if is_first_name(a) or (is_first_name(b) and is_upper(a)):
                found.append((m.start(1), end, LEXICON_SCORE, LEXICON_REASON))
            elif is_upper(a) != is_upper(b) and _surname_shape(upper := a if is_upper(a) else b):
                other = b if upper is a else a
                if is_place(other):  # « INSA Lyon », « IBM Europe »
                    continue
                if not is_french_word(other):
                    found.append((m.start(1), end, SHAPE_SCORE, SHAPE_REASON))
                elif _labelled(text, m.start(1)):  # « MERLE Maja », not « Correction RÉSERVE »
                    found.append((m.start(1), end, CUE_SCORE, "NOM + Prénom après « Fille : »…"))
            elif is_upper(a) == is_upper(b) and _unknown_pair(a, b) and _labelled(text, m.start(1)):
                found.append((m.start(1), end, CUE_SCORE, "deux noms après « Fille : »…"))
        for m in INITIALS.finditer(text):
            if m.group(1).rstrip(".").lower() in TITLE_WORDS or not is_name_word(m.group(3)):
                continue
            found.append((m.start(1), m.end(3), INITIALS_SCORE, "initiales + nom"))
        kept = []
        for s, e, score, why in sorted(found, key=lambda f: (-f[2], -(f[1] - f[0]))):
            if not any(ks < e and s < ke for ks, ke, _, _ in kept):
                kept.append((s, e, score, why))
        for s, e, score, why in kept:
            yield s, e, "PERSON", score, why

    @staticmethod
    def _trim(text: str, start: int, end: int) -> int:
        """Drop trailing common words the title rule took (« Dr Martin Service »)."""
        words = text[start:end].split(" ")
        while len(words) > 1 and not is_name_word(words[-1]):
            words.pop()
        return start + len(" ".join(words))
