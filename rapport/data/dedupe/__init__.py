"""Duplicate detection for contacts and companies: the pure, database-free layer.

``normalize`` turns raw records into comparison-ready values, ``blocking`` chooses the candidate
pairs, ``compare`` gives each candidate pair a comparison level per field. Weights for the levels
are learned from the data (Fellegi-Sunter, EM) by a later layer.
"""

from rapport.data.dedupe.blocking import BlockingReport, block_keys, candidate_pairs
from rapport.data.dedupe.compare import (
    COMPANY_LEVELS,
    CONTACT_LEVELS,
    compare_companies,
    compare_companies_detail,
    compare_contacts,
    compare_contacts_detail,
    explain,
)
from rapport.data.dedupe.normalize import NormCompany, NormContact, normalize_company, normalize_contact

__all__ = [
    "COMPANY_LEVELS",
    "CONTACT_LEVELS",
    "BlockingReport",
    "NormCompany",
    "NormContact",
    "block_keys",
    "candidate_pairs",
    "compare_companies",
    "compare_companies_detail",
    "compare_contacts",
    "compare_contacts_detail",
    "explain",
    "normalize_company",
    "normalize_contact",
]
