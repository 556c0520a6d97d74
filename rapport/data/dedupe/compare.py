"""Comparison levels of two normalised records, field by field, for a Fellegi-Sunter model.

Each field gets a small integer *level*, not a score: the weight of every level (how much more
often it happens between duplicates than between different records) is learned from the data by
EM later, never set here. ``-1`` always means "missing on one side or both": it carries no
evidence and its weight is zero. Higher levels are stronger agreement. The thresholds (Jaro-Winkler
0.92 / 0.8 …) only cut the similarity into bands; the bands' meaning is in ``LEVELS``.

``compare_contacts(a, b)`` returns ``{field: level}``; ``compare_contacts_detail`` also returns a
short reason per field ("swapped first/last", "nickname"), and ``explain`` turns either into
sentences a user reads next to a suggested merge.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import jellyfish
from rapidfuzz import fuzz
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler

from rapport.data.dedupe.normalize import GENERIC_EMAIL_LOCALS, NormCompany, NormContact, loose

MISSING = -1

# field: {level: meaning}. The same tables document the levels and word the explanations.
NAME_LEVELS = {
    3: "identical",
    2: "nearly identical (small typo, umlaut spelling, extra name, or first/last swapped)",
    1: "similar (nickname, same sound, initial, or a larger typo)",
    0: "different",
    MISSING: "missing",
}
CONTACT_LEVELS: dict[str, dict[int, str]] = {
    "first_name": NAME_LEVELS,
    "last_name": NAME_LEVELS,
    "generation": {1: "same generation suffix", 0: "different generation (Jr/Sr)", MISSING: "missing"},
    "email": {
        2: "same address",
        1: "same personal mailbox name on another domain, or a one-letter typo",
        0: "different",
        MISSING: "missing",
    },
    "phone": {2: "same number", 1: "same last 7 digits", 0: "different", MISSING: "missing"},
    "company": {
        3: "same company",
        2: "nearly the same company name",
        1: "similar company name",
        0: "different",
        MISSING: "missing",
    },
    "city": {
        2: "same postal code",
        1: "same city, or postal code one digit apart",
        0: "different",
        MISSING: "missing",
    },
    "address": {
        3: "same street address",
        2: "same number, nearly the same street",
        1: "similar street",
        0: "different",
        MISSING: "missing",
    },
    "birth_date": {
        2: "same birth date",
        1: "birth date with day and month swapped or one digit different",
        0: "different",
        MISSING: "missing",
    },
}
COMPANY_LEVELS: dict[str, dict[int, str]] = {
    "name": {
        3: "same name",
        2: "nearly the same name",
        1: "similar name",
        0: "different",
        MISSING: "missing",
    },
    "domain": {2: "same web domain", 1: "same domain name, other extension", 0: "different", MISSING: "missing"},
    "phone": CONTACT_LEVELS["phone"],
    "city": CONTACT_LEVELS["city"],
    "address": CONTACT_LEVELS["address"],
    "country": {1: "same country", 0: "different country", MISSING: "missing"},
}
FIELD_LABELS = {
    "first_name": "First name",
    "last_name": "Last name",
    "generation": "Jr/Sr",
    "email": "Email",
    "phone": "Phone",
    "company": "Company",
    "city": "City / postal code",
    "address": "Street address",
    "birth_date": "Birth date",
    "name": "Name",
    "domain": "Web domain",
    "country": "Country",
}

Detail = dict[str, tuple[int, str]]


def jaro_winkler(a: str, b: str) -> float:
    """Jaro-Winkler similarity in [0, 1] (rapidfuzz)."""
    return float(JaroWinkler.similarity(a, b))


# --- names -----------------------------------------------------------------------------------


def _name_level(a: str, b: str, a_tokens: tuple[str, ...], b_tokens: tuple[str, ...]) -> tuple[int, str]:
    """Level of two folded name parts (no nickname or phonetic rule: see ``_first_name_level``)."""
    if not a or not b:
        return MISSING, ""
    if a == b:
        return 3, ""
    compact_a, compact_b = a.replace(" ", ""), b.replace(" ", "")
    if compact_a == compact_b:
        return 2, "spacing"
    if loose(compact_a) == loose(compact_b):
        return 2, "umlaut spelling"
    if set(a_tokens) <= set(b_tokens) or set(b_tokens) <= set(a_tokens):
        return 2, "one name contains the other"
    similarity = jaro_winkler(compact_a, compact_b)
    if similarity >= 0.92:
        return 2, "typo"
    if similarity >= 0.8:
        return 1, "similar spelling"
    if jellyfish.metaphone(compact_a) == jellyfish.metaphone(compact_b) or jellyfish.nysiis(
        compact_a
    ) == jellyfish.nysiis(compact_b):
        return 1, "same sound"
    return 0, ""


def _first_name_level(a: NormContact, b: NormContact) -> tuple[int, str]:
    level, reason = _name_level(a.first, b.first, a.first_tokens, b.first_tokens)
    if level != 0:
        return level, reason
    if a.first_canon & b.first_canon:
        return 1, "nickname"
    first_a, first_b = a.first_tokens[0], b.first_tokens[0]
    if (len(first_a) == 1 and first_b.startswith(first_a)) or (len(first_b) == 1 and first_a.startswith(first_b)):
        return 1, "initial"
    return 0, ""


def _swapped_levels(a: NormContact, b: NormContact) -> tuple[int, int] | None:
    """Levels of a's first vs b's last and a's last vs b's first, when that fits better."""
    if not (a.first and a.last and b.first and b.last):
        return None
    cross_first = _name_level(a.first, b.last, a.first_tokens, b.last_tokens)[0]
    cross_last = _name_level(a.last, b.first, a.last_tokens, b.first_tokens)[0]
    if min(cross_first, cross_last) < 2:
        return None
    return min(cross_first, 2), min(cross_last, 2)


def _names(a: NormContact, b: NormContact) -> Detail:
    first = _first_name_level(a, b)
    last = _name_level(a.last, b.last, a.last_tokens, b.last_tokens)
    if first[0] < 2 and last[0] < 2:
        swapped = _swapped_levels(a, b)
        if swapped is not None:
            first, last = (swapped[0], "first/last swapped"), (swapped[1], "first/last swapped")
    if a.generation and b.generation:
        generation = (1, "") if a.generation == b.generation else (0, f"{a.generation} vs {b.generation}")
    else:
        generation = (MISSING, "")
    return {"first_name": first, "last_name": last, "generation": generation}


# --- emails, phones --------------------------------------------------------------------------


def _emails(a: NormContact, b: NormContact) -> tuple[int, str]:
    if not a.emails or not b.emails:
        return MISSING, ""
    if set(a.emails) & set(b.emails):
        return 2, ""
    best = (0, "")
    for email_a in a.emails:
        local_a, _, domain_a = email_a.rpartition("@")
        for email_b in b.emails:
            local_b, _, domain_b = email_b.rpartition("@")
            if local_a == local_b and len(local_a) >= 4 and local_a not in GENERIC_EMAIL_LOCALS:
                best = (1, "same mailbox name, other domain")
            elif domain_a == domain_b and len(local_a) >= 4 and DamerauLevenshtein.distance(local_a, local_b) <= 1:
                best = (1, "one-letter typo")
    return best


def _phones(
    a_phones: tuple[str, ...], b_phones: tuple[str, ...], a_tails: Iterable[str], b_tails: Iterable[str]
) -> int:
    if not a_phones or not b_phones:
        return MISSING
    if set(a_phones) & set(b_phones):
        return 2
    if set(a_tails) & set(b_tails):
        return 1
    return 0


# --- places, companies, dates ----------------------------------------------------------------


def company_name_level(a: str, b: str) -> tuple[int, str]:
    """Level of two folded, suffix-free company names."""
    if not a or not b:
        return MISSING, ""
    if a == b:
        return 3, ""
    if a.replace(" ", "") == b.replace(" ", ""):
        return 2, "spacing"
    token_set = fuzz.token_set_ratio(a, b) / 100
    similarity = max(jaro_winkler(a, b), fuzz.token_sort_ratio(a, b) / 100)
    if similarity >= 0.92 or (token_set == 1.0 and min(len(a), len(b)) >= 4):
        return 2, "typo or extra word"
    if similarity >= 0.8 or token_set >= 0.85:
        return 1, "similar"
    return 0, ""


def _city(a_postal: str, a_city: str, b_postal: str, b_city: str) -> int:
    postal_known = bool(a_postal and b_postal)
    city_known = bool(a_city and b_city)
    if not postal_known and not city_known:
        return MISSING
    same_city = city_known and (a_city == b_city or jaro_winkler(a_city, b_city) >= 0.92)
    if postal_known and a_postal == b_postal and (not city_known or same_city):
        return 2
    if same_city or (postal_known and len(a_postal) == len(b_postal) and _hamming(a_postal, b_postal) == 1):
        return 1
    return 0


def _address(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    if not a or not b:
        return MISSING
    if a == b:
        return 3
    numbers_a = [t for t in a if t.isdigit()]
    numbers_b = [t for t in b if t.isdigit()]
    words_a = " ".join(t for t in a if not t.isdigit())
    words_b = " ".join(t for t in b if not t.isdigit())
    similarity = fuzz.token_sort_ratio(words_a, words_b) / 100 if words_a and words_b else 0.0
    if numbers_a == numbers_b and similarity >= 0.85:
        return 2
    if similarity >= 0.75 and (not numbers_a or not numbers_b or set(numbers_a) & set(numbers_b) or similarity >= 0.9):
        return 1
    return 0


def _hamming(a: str, b: str) -> int:
    return sum(x != y for x, y in zip(a, b, strict=True))


def birth_date_level(a: str, b: str) -> tuple[int, str]:
    """Level of two ``YYYYMMDD`` birth dates (see ``CONTACT_LEVELS["birth_date"]``)."""
    if len(a) != 8 or len(b) != 8:
        return MISSING, ""
    if a == b:
        return 2, ""
    if a[:4] == b[:4] and a[4:6] == b[6:8] and a[6:8] == b[4:6]:
        return 1, "day and month swapped"
    if _hamming(a, b) == 1:
        return 1, "one digit different"
    if DamerauLevenshtein.distance(a, b) == 1:
        return 1, "two digits transposed"
    return 0, ""


# --- public ----------------------------------------------------------------------------------


def compare_contacts_detail(a: NormContact, b: NormContact) -> Detail:
    """``{field: (level, reason)}`` for two contacts; fields and levels are in ``CONTACT_LEVELS``."""
    detail = _names(a, b)
    detail["email"] = _emails(a, b)
    detail["phone"] = (_phones(a.phones, b.phones, a.phone_tails, b.phone_tails), "")
    detail["company"] = company_name_level(a.company, b.company)
    detail["city"] = (_city(a.postal_code, a.city, b.postal_code, b.city), "")
    detail["address"] = (_address(a.street, b.street), "")
    detail["birth_date"] = birth_date_level(a.birth, b.birth)
    return detail


def compare_contacts(a: NormContact, b: NormContact) -> dict[str, int]:
    """Comparison level per field of two normalised contacts, for Fellegi-Sunter (``-1`` = missing)."""
    return {name: level for name, (level, _reason) in compare_contacts_detail(a, b).items()}


def _domain_level(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    if not a or not b:
        return MISSING
    if set(a) & set(b):
        return 2
    # "acme.com" and "acme.fr", "acme.co.uk": the label before the public suffix is the same.
    labels_a = {_main_label(d) for d in a}
    labels_b = {_main_label(d) for d in b}
    return 1 if labels_a & labels_b - {""} else 0


def _main_label(domain: str) -> str:
    parts = domain.split(".")
    while len(parts) > 2 and len(parts[-1]) <= 3 and len(parts[-2]) <= 3:  # co.uk, com.au
        parts = parts[:-1]
    return parts[-2] if len(parts) >= 2 and len(parts[-2]) >= 3 else ""


def compare_companies_detail(a: NormCompany, b: NormCompany) -> Detail:
    """``{field: (level, reason)}`` for two companies; fields and levels are in ``COMPANY_LEVELS``."""
    country = (MISSING if not (a.country and b.country) else int(a.country == b.country), "")
    return {
        "name": company_name_level(a.name, b.name),
        "domain": (_domain_level(a.domains, b.domains), ""),
        "phone": (_phones(a.phones, b.phones, a.phone_tails, b.phone_tails), ""),
        "city": (_city(a.postal_code, a.city, b.postal_code, b.city), ""),
        "address": (_address(a.street, b.street), ""),
        "country": country,
    }


def compare_companies(a: NormCompany, b: NormCompany) -> dict[str, int]:
    """Comparison level per field of two normalised companies (``-1`` = missing)."""
    return {name: level for name, (level, _reason) in compare_companies_detail(a, b).items()}


def explain(
    levels: Mapping[str, int | tuple[int, str]], *, kind: str = "contact", include_missing: bool = False
) -> list[str]:
    """Sentences saying how each field compared, strongest agreement first.

    ``levels`` is what ``compare_*`` or ``compare_*_detail`` returned; ``kind`` is "contact" or
    "company". Missing fields are left out unless ``include_missing``.
    """
    tables = CONTACT_LEVELS if kind == "contact" else COMPANY_LEVELS
    rows: list[tuple[float, str]] = []
    for name, value in levels.items():
        level, reason = value if isinstance(value, tuple) else (value, "")
        if level == MISSING and not include_missing:
            continue
        meaning = reason or tables[name].get(level, str(level))
        if reason and level > 0 and reason not in tables[name].get(level, ""):
            meaning = f"{tables[name][level]}: {reason}"
        elif reason and level == 0:
            meaning = f"different ({reason})"
        top = max(tables[name])
        strength = level / top if level >= 0 else -1.0
        rows.append((strength, f"{FIELD_LABELS.get(name, name)}: {meaning}"))
    rows.sort(key=lambda row: -row[0])
    return [text for _strength, text in rows]
