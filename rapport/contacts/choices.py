"""The standard value lists of contacts and companies.

Each list is a Django ``TextChoices`` class: use it directly as ``choices=`` on a model field,
``.values`` for the keys and ``.choices`` for (key, label) pairs. The UPPER_CASE names are the
same classes, under the names the rest of the app refers to. Keys are stable slugs stored in
the database and used by the API; labels are for people and may be translated.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class LifecycleStage(models.TextChoices):
    SUBSCRIBER = "subscriber", _("Subscriber")
    LEAD = "lead", _("Lead")
    MARKETING_QUALIFIED = "marketing_qualified", _("Marketing qualified lead")
    SALES_QUALIFIED = "sales_qualified", _("Sales qualified lead")
    OPPORTUNITY = "opportunity", _("Opportunity")
    CUSTOMER = "customer", _("Customer")
    EVANGELIST = "evangelist", _("Evangelist")
    OTHER = "other", _("Other")


class LeadStatus(models.TextChoices):
    NEW = "new", _("New")
    ATTEMPTED_TO_CONTACT = "attempted_to_contact", _("Attempted to contact")
    CONNECTED = "connected", _("Connected")
    OPEN_DEAL = "open_deal", _("Open deal")
    UNQUALIFIED = "unqualified", _("Unqualified")
    BAD_TIMING = "bad_timing", _("Bad timing")


class LeadSource(models.TextChoices):
    WEBSITE = "website", _("Website")
    REFERRAL = "referral", _("Referral")
    EVENT = "event", _("Event")
    COLD_OUTREACH = "cold_outreach", _("Cold outreach")
    ADVERTISING = "advertising", _("Advertising")
    SOCIAL_MEDIA = "social_media", _("Social media")
    PARTNER = "partner", _("Partner")
    IMPORT = "import", _("Import")
    API = "api", _("API")
    OTHER = "other", _("Other")


class Gender(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    NON_BINARY = "non_binary", _("Non-binary")
    OTHER = "other", _("Other")
    UNSPECIFIED = "unspecified", _("Unspecified")


class EmailKind(models.TextChoices):
    WORK = "work", _("Work")
    PERSONAL = "personal", _("Personal")
    OTHER = "other", _("Other")


class PhoneKind(models.TextChoices):
    MOBILE = "mobile", _("Mobile")
    WORK = "work", _("Work")
    HOME = "home", _("Home")
    FAX = "fax", _("Fax")
    OTHER = "other", _("Other")


class SocialNetwork(models.TextChoices):
    LINKEDIN = "linkedin", _("LinkedIn")
    X = "x", _("X (Twitter)")
    FACEBOOK = "facebook", _("Facebook")
    INSTAGRAM = "instagram", _("Instagram")
    GITHUB = "github", _("GitHub")
    WEBSITE = "website", _("Website")
    OTHER = "other", _("Other")


class Industry(models.TextChoices):
    """The 20 sectors of NAICS 2022 (North American Industry Classification System, top level).

    Labels are the official sector titles; the NAICS sector code is in the comment of each line,
    so that reports can be joined with public statistics that use the same classification.
    """

    AGRICULTURE = "agriculture", _("Agriculture, Forestry, Fishing and Hunting")  # 11
    MINING = "mining", _("Mining, Quarrying, and Oil and Gas Extraction")  # 21
    UTILITIES = "utilities", _("Utilities")  # 22
    CONSTRUCTION = "construction", _("Construction")  # 23
    MANUFACTURING = "manufacturing", _("Manufacturing")  # 31-33
    WHOLESALE_TRADE = "wholesale_trade", _("Wholesale Trade")  # 42
    RETAIL_TRADE = "retail_trade", _("Retail Trade")  # 44-45
    TRANSPORTATION_WAREHOUSING = "transportation_warehousing", _("Transportation and Warehousing")  # 48-49
    INFORMATION = "information", _("Information")  # 51
    FINANCE_INSURANCE = "finance_insurance", _("Finance and Insurance")  # 52
    REAL_ESTATE = "real_estate", _("Real Estate and Rental and Leasing")  # 53
    PROFESSIONAL_SERVICES = "professional_services", _("Professional, Scientific, and Technical Services")  # 54
    MANAGEMENT_OF_COMPANIES = "management_of_companies", _("Management of Companies and Enterprises")  # 55
    ADMINISTRATIVE_SUPPORT = (
        "administrative_support",
        _("Administrative and Support and Waste Management and Remediation Services"),
    )  # 56
    EDUCATIONAL_SERVICES = "educational_services", _("Educational Services")  # 61
    HEALTH_CARE = "health_care", _("Health Care and Social Assistance")  # 62
    ARTS_ENTERTAINMENT = "arts_entertainment", _("Arts, Entertainment, and Recreation")  # 71
    ACCOMMODATION_FOOD = "accommodation_food", _("Accommodation and Food Services")  # 72
    OTHER_SERVICES = "other_services", _("Other Services (except Public Administration)")  # 81
    PUBLIC_ADMINISTRATION = "public_administration", _("Public Administration")  # 92


class CompanySize(models.TextChoices):
    """Head-count bands, in increasing order (the order is meaningful for sorting and segments)."""

    S1 = "1", _("1 employee")
    S2_10 = "2-10", _("2-10 employees")
    S11_50 = "11-50", _("11-50 employees")
    S51_200 = "51-200", _("51-200 employees")
    S201_500 = "201-500", _("201-500 employees")
    S501_1000 = "501-1000", _("501-1,000 employees")
    S1001_5000 = "1001-5000", _("1,001-5,000 employees")
    S5001_10000 = "5001-10000", _("5,001-10,000 employees")
    S10001_PLUS = "10001-plus", _("10,001+ employees")


class SupportTier(models.TextChoices):
    """A customer's support level: SLA policies can give a tier faster targets."""

    STANDARD = "standard", _("Standard")
    PREMIUM = "premium", _("Premium")
    ENTERPRISE = "enterprise", _("Enterprise")


LIFECYCLE_STAGES = LifecycleStage
LEAD_STATUSES = LeadStatus
LEAD_SOURCES = LeadSource
GENDERS = Gender
EMAIL_KINDS = EmailKind
PHONE_KINDS = PhoneKind
SOCIAL_NETWORKS = SocialNetwork
INDUSTRIES = Industry
COMPANY_SIZES = CompanySize
SUPPORT_TIERS = SupportTier
