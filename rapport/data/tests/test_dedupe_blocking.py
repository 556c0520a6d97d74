import random

from rapport.data.dedupe.blocking import BlockingReport, block_keys, candidate_pairs
from rapport.data.dedupe.normalize import normalize_company, normalize_contact

FIRST = [
    "John",
    "Robert",
    "William",
    "Elizabeth",
    "Margaret",
    "José",
    "Hans",
    "Marie",
    "Pierre",
    "Anna",
    "Lucas",
    "Sofia",
    "Ahmed",
    "Chen",
    "Olga",
    "Ivan",
    "Emma",
    "Noah",
    "Liam",
    "Mia",
]
LAST = [
    "Smith",
    "Müller",
    "Garcia",
    "Dupont",
    "Rossi",
    "Nguyen",
    "Kowalski",
    "Johansson",
    "Brown",
    "Martin",
    "Schmidt",
    "Lopez",
    "Bernard",
    "Wagner",
    "Novak",
    "Silva",
    "Kim",
    "Tanaka",
    "Ali",
    "Petrov",
]

PAIRS = [
    ({"name": "Jon Smtih"}, {"name": "John Smith"}),
    ({"first_name": "Smith", "last_name": "John"}, {"first_name": "John", "last_name": "Smith"}),
    ({"first_name": "Bob", "last_name": "Jones"}, {"first_name": "Robert", "last_name": "Jones"}),
    ({"first_name": "Bill", "last_name": "Gates"}, {"first_name": "William", "last_name": "Gates"}),
    ({"last_name": "Müller", "first_name": "Hans"}, {"last_name": "Mueller", "first_name": "Hans"}),
    ({"first_name": "José", "last_name": "García"}, {"first_name": "Jose", "last_name": "Garcia"}),
    ({"email": "john.smith+x@gmail.com"}, {"email": "johnsmith@googlemail.com", "name": "J Smith"}),
    ({"phone": "+33 6 12 34 56 78", "name": "A B"}, {"phone": "06 12 34 56 78", "name": "C D"}),
    ({"name": "Kathryn Xu", "dob": "1980-05-17"}, {"name": "Catherine Xu", "dob": "1980-05-17"}),
    ({"name": "Peter Pan", "dob": "1980-05-17"}, {"name": "Peter Qan", "dob": "1980-05-17"}),
    ({"name": "Anna Karenina", "postal_code": "75001"}, {"name": "Ana Karenin", "postal_code": "75001"}),
]


def test_every_hand_written_true_pair_shares_a_block_key():
    for a, b in PAIRS:
        keys_a = block_keys(normalize_contact(a, region="FR"))
        keys_b = block_keys(normalize_contact(b, region="FR"))
        assert keys_a & keys_b, (a, b)


def _typo(rng, text):
    if len(text) < 3:
        return text
    i = rng.randrange(1, len(text) - 1)
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


def _person(rng, n):
    first, last = rng.choice(FIRST), rng.choice(LAST) + rng.choice(["", "son", "er", "ini", "ova", "ez"])
    return {
        "first_name": first,
        "last_name": last,
        "email": f"{first.lower()}.{last.lower()}{n}@example.com",
        "phone": f"+336{rng.randrange(10_000_000, 99_999_999)}",
        "birth_date": f"{rng.randrange(1940, 2005)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
        "postal_code": f"{rng.randrange(1000, 99999):05d}",
    }


def _messy_copy(rng, record):
    copy = dict(record)
    change = rng.randrange(5)
    if change == 0:
        copy["last_name"] = _typo(rng, copy["last_name"])
    elif change == 1:
        copy["first_name"], copy["last_name"] = copy["last_name"], copy["first_name"]
    elif change == 2:
        copy.pop("email")
        copy["first_name"] = _typo(rng, copy["first_name"])
    elif change == 3:
        copy.pop("phone")
        copy.pop("birth_date")
    else:
        copy["email"] = copy["email"].upper()
        copy.pop("last_name")
    return copy


def test_blocking_recall_on_synthetic_duplicates():
    rng = random.Random(7)
    records, truth = [], set()
    for n in range(300):
        original = _person(rng, n)
        records.append(original)
        if n % 3 == 0:
            records.append(_messy_copy(rng, original))
            truth.add((len(records) - 2, len(records) - 1))
    norms = [normalize_contact(r) for r in records]
    found = set(candidate_pairs(norms, max_block=200))
    assert truth <= found, truth - found


def test_candidate_pairs_yields_each_pair_once_in_order():
    norms = [normalize_contact({"name": "John Smith", "email": "j@x.com", "phone": "+33612345678"}) for _ in range(4)]
    pairs = list(candidate_pairs(norms))
    assert pairs == sorted(set(pairs)) and len(pairs) == 6
    assert all(i < j for i, j in pairs)


def test_oversized_blocks_are_skipped_and_reported():
    norms = [normalize_contact({"name": f"John Smith{n}", "email": f"j{n}@x.com"}) for n in range(30)]
    report = BlockingReport()
    pairs = list(candidate_pairs(norms, max_block=10, report=report))
    assert report.oversized and all(size == 30 for size in report.oversized.values())
    assert report.pairs == len(pairs) and report.records == 30


def test_ten_thousand_records_give_far_fewer_pairs_than_all_pairs():
    rng = random.Random(11)
    norms = [normalize_contact(_person(rng, n)) for n in range(10_000)]
    report = BlockingReport()
    count = sum(1 for _ in candidate_pairs(norms, max_block=100, report=report))
    assert count == report.pairs
    assert report.all_pairs == 49_995_000
    assert count < report.all_pairs / 100, count


def test_company_block_keys_join_suffix_variants_and_domains():
    a = block_keys(normalize_company({"name": "ACME Inc.", "city": "Boston"}))
    b = block_keys(normalize_company({"name": "Acme, Incorporated", "city": "Boston"}))
    c = block_keys(normalize_company({"name": "Totally Different", "website": "https://acme.com"}))
    d = block_keys(normalize_company({"name": "Acme Widgets", "email": "x@acme.com"}))
    assert a & b and c & d
