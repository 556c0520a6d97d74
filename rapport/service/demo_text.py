"""What the demo tickets say (rapport.service.demo): topics with their queue, types, tags and
message templates, canned replies and CSAT comments. Plain data; `{first}` is the requester's
first name, `{agent}` the agent's, the other fields are filled per ticket (see demo._fill)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    """A kind of request: where it is routed, what type it is, and how its thread reads."""

    key: str
    queue: str
    weight: int
    types: dict[str, int]
    tags: tuple[str, ...]
    subjects: tuple[str, ...]
    asks: tuple[str, ...]  # the customer's first message
    replies: tuple[str, ...]  # an agent's answer or question
    followups: tuple[str, ...]  # the customer's next message
    notes: tuple[str, ...]  # internal notes
    fixes: tuple[str, ...]  # the reply that solves it


HELLO = "Hello,\n\n"
THANKS = "\n\nThanks,\n{first}"
REGARDS = "\n\nBest regards,\n{agent}"

TOPICS: tuple[Topic, ...] = (
    Topic(
        "invoice", "Billing", 9, {"question": 80, "task": 20}, ("billing", "invoice"),
        ("Copy of invoice {invoice}", "Invoice {invoice} shows the wrong address", "Need a PO number on our invoices"),
        (HELLO + "Could you send me a copy of invoice {invoice}? Our accounting team cannot find it." + THANKS,
         HELLO + "Invoice {invoice} still shows our old address. We moved last month, can you reissue it?" + THANKS),
        ("Hi {first},\n\nCould you confirm the billing address and the PO number that should appear?" + REGARDS,
         "Hi {first},\n\nI'm looking into it with our finance team and will get back to you today." + REGARDS),
        ("The PO number is {po}, the address is the one on our website." + THANKS, "Any news on this?" + THANKS),
        ("Finance asked for the PO before reissuing.", "Reissued in the billing system, PDF attached to the account."),
        ("Hi {first},\n\nI've reissued invoice {invoice} with the corrected details; you'll find the PDF attached."
         + REGARDS,),
    ),
    Topic(
        "refund", "Billing", 5, {"question": 60, "task": 40}, ("billing", "refund"),
        ("Refund request for order {order}", "We were charged twice this month", "Cancel and refund annual plan"),
        (HELLO + "We were charged twice for {product} this month (order {order}). Please refund the duplicate."
         + THANKS,
         HELLO + "We cancelled within the 30-day window. How do we get the refund for order {order}?" + THANKS),
        ("Hi {first},\n\nSorry about that. Could you send the last four digits of the card that was charged?"
         + REGARDS,),
        ("It ends with {digits}." + THANKS, "Any update on the refund?" + THANKS),
        ("Duplicate charge confirmed by the payment provider.", "Refund above 500 — needs approval from Mona."),
        ("Hi {first},\n\nThe refund has been issued; it takes 5 to 10 business days to show on your statement."
         + REGARDS,),
    ),
    Topic(
        "payment", "Billing", 6, {"question": 50, "incident": 20, "task": 30}, ("billing", "payment"),
        ("Payment failed for our subscription", "Card declined on renewal", "Switch from card to bank transfer"),
        (HELLO + "Our renewal payment failed and we received a warning that the account will be suspended." + THANKS,
         HELLO + "We'd like to pay by bank transfer from now on. Is that possible for our plan?" + THANKS),
        ("Hi {first},\n\nThe bank declined the charge. Could you update the card under Settings → Billing?"
         + REGARDS,
         "Hi {first},\n\nBank transfer is available on annual plans; shall I switch you to annual billing?" + REGARDS),
        ("Done, the new card is in. Can you retry?" + THANKS, "Yes please, annual is fine." + THANKS),
        ("Suspension paused for 7 days while they sort out the card.",),
        ("Hi {first},\n\nThe payment went through and your subscription is active. Nothing else to do." + REGARDS,),
    ),
    Topic(
        "plan", "Billing", 4, {"question": 60, "task": 40}, ("billing", "plan-change"),
        ("Upgrade to {plan}", "Add {n} seats to our plan", "Downgrade at renewal"),
        (HELLO + "We need {n} more seats for the new team. How is that billed mid-term?" + THANKS,
         HELLO + "We'd like to move to the {plan} plan. What happens to our current credits?" + THANKS),
        ("Hi {first},\n\nNew seats are prorated to your renewal date. Shall I add them now?" + REGARDS,),
        ("Yes, please go ahead." + THANKS,),
        ("Sales owns this account — cc'd the account owner.",),
        ("Hi {first},\n\nDone: your plan is updated and the prorated invoice is on its way." + REGARDS,),
    ),
    Topic(
        "login", "Technical", 12, {"incident": 70, "question": 30}, ("login", "2fa"),
        ("Cannot log in", "Locked out after 2FA phone change", "Password reset email never arrives"),
        (HELLO + "I can't log in since this morning: it says my password is wrong but the reset email never arrives."
         + THANKS,
         HELLO + "I changed phones and lost my authenticator app. How do I get back into my account?" + THANKS),
        ("Hi {first},\n\nCould you check your spam folder and tell me which address you use to sign in?" + REGARDS,
         "Hi {first},\n\nFor security we need your admin to confirm the reset. Could you ask them to reply here?"
         + REGARDS),
        ("Nothing in spam. I use {email}." + THANKS, "Our admin confirmed by email a minute ago." + THANKS),
        ("Reset mails to their domain bounced — their mail server rejects our sender.", "Identity verified by admin."),
        ("Hi {first},\n\nI've reset the second factor; you can sign in and set up the new phone now." + REGARDS,
         "Hi {first},\n\nThe reset email is delivered now (your mail server was rejecting it). Please try again."
         + REGARDS),
    ),
    Topic(
        "sync", "Technical", 9, {"incident": 60, "problem": 40}, ("sync", "integration"),
        ("Calendar sync stopped", "Emails are not synced since {date}", "Duplicate contacts after sync"),
        (HELLO + "Our calendar sync stopped on {date}; new meetings no longer appear in the CRM." + THANKS,
         HELLO + "After last night's sync every contact appears twice in our list." + THANKS),
        ("Hi {first},\n\nCould you send a screenshot of the integration status page and the time it last ran?"
         + REGARDS,
         "Hi {first},\n\nWe found the cause and a fix is being deployed; I'll update you as soon as it's live."
         + REGARDS),
        ("Screenshot attached, last run {date} 06:00." + THANKS, "Still seeing duplicates this morning." + THANKS),
        ("Token expired on the provider side — same as the other sync tickets this week.",
         "Linked to the problem ticket for the sync regression."),
        ("Hi {first},\n\nThe sync is running again and the missing items were re-imported. Sorry for the trouble."
         + REGARDS,),
    ),
    Topic(
        "api", "Technical", 7, {"incident": 50, "problem": 30, "question": 20}, ("api",),
        ("API returns {error} on POST /contacts", "Rate limit too low for our import", "Webhook deliveries failing"),
        (HELLO + "Our integration gets HTTP {error} from the API since this morning. Request id {request_id}."
         + THANKS,
         HELLO + "Our webhook endpoint stopped receiving events. Is something wrong on your side?" + THANKS),
        ("Hi {first},\n\nThanks for the request id. Could you share the payload you send (without secrets)?"
         + REGARDS,
         "Hi {first},\n\nWe see the failed deliveries: your endpoint answers 410. Did its URL change?" + REGARDS),
        ("Payload attached." + THANKS, "Yes, we moved it. Updated now." + THANKS),
        ("Reproduced with their payload: a date field in the wrong format.", "Escalated to engineering."),
        ("Hi {first},\n\nThe fix is deployed and your requests go through now. Thanks for the details!" + REGARDS,),
    ),
    Topic(
        "performance", "Technical", 6, {"incident": 60, "problem": 40}, ("performance",),
        ("The contact list is very slow", "Reports take minutes to load", "Timeouts when exporting"),
        (HELLO + "Since {date} the contact list takes 20 seconds to open. It used to be instant." + THANKS,
         HELLO + "Our export of {n} contacts times out every time." + THANKS),
        ("Hi {first},\n\nWhich filters do you use when it's slow? That helps us reproduce it." + REGARDS,),
        ("Only the 'My contacts' view, sorted by last activity." + THANKS,),
        ("Missing index on the sort they use — engineering has a patch.", "Seen on 3 accounts this week."),
        ("Hi {first},\n\nWe deployed an improvement; the list opens in under a second again on your account."
         + REGARDS,),
    ),
    Topic(
        "import", "Technical", 5, {"incident": 40, "question": 60}, ("import",),
        ("CSV import fails at row {n}", "Import mixes up first and last names", "Special characters broken"),
        (HELLO + "Our CSV import stops at row {n} with 'invalid value'. The file opens fine in Excel." + THANKS,
         HELLO + "Accented names look broken after the import (MÃ¼ller instead of Müller)." + THANKS),
        ("Hi {first},\n\nCould you send the first few rows? It looks like the file is not saved as UTF-8."
         + REGARDS,),
        ("Here they are." + THANKS,),
        ("Excel export in Windows-1252.",),
        ("Hi {first},\n\nSaving the file as 'CSV UTF-8' fixes it — I re-ran the import for you and all rows are in."
         + REGARDS,),
    ),
    Topic(
        "email", "Technical", 5, {"incident": 70, "question": 30}, ("email",),
        ("Emails go to spam", "Sent emails not logged on the timeline", "Mailbox connection error"),
        (HELLO + "Emails we send from the CRM land in our customers' spam folders." + THANKS,
         HELLO + "The mailbox connection shows 'authentication failed' since we changed our password." + THANKS),
        ("Hi {first},\n\nHave you added our sending server to your domain's SPF record?" + REGARDS,
         "Hi {first},\n\nPlease re-enter the new password under Settings → Mailboxes." + REGARDS),
        ("We have now, thanks." + THANKS, "Done, it says connected." + THANKS),
        ("Their SPF record lacks our include.",),
        ("Hi {first},\n\nDelivery looks good now: the SPF check passes. Let us know if anything lands in spam again."
         + REGARDS,),
    ),
    Topic(
        "howto", "Support", 14, {"question": 100}, ("how-to",),
        ("How do I export my contacts?", "How to set up a second pipeline", "Where are the custom fields settings?"),
        (HELLO + "How can I export all contacts with their custom fields to a spreadsheet?" + THANKS,
         HELLO + "We want a separate pipeline for renewals. Where do I set that up?" + THANKS),
        ("Hi {first},\n\nGood question! Is this for all contacts or only one segment?" + REGARDS,),
        ("All of them, please." + THANKS, "Just our customers in {country}." + THANKS),
        ("Pointed them to the help article; worth a canned reply.",),
        ("Hi {first},\n\nOpen the list, choose the columns, then Export → CSV; the help article has screenshots."
         + REGARDS,
         "Hi {first},\n\nGo to Settings → Pipelines → New pipeline; stages can be copied from the existing one."
         + REGARDS),
    ),
    Topic(
        "users", "Support", 7, {"question": 50, "task": 50}, ("users", "permissions"),
        ("Add a new user for {name}", "User can't see team deals", "Remove a former employee"),
        (HELLO + "Please give {name} access; she starts on Monday in the sales team." + THANKS,
         HELLO + "A colleague can't see the deals of his team. What role does he need?" + THANKS),
        ("Hi {first},\n\nAdmins can do this under Settings → Members. Would you like me to walk you through it?"
         + REGARDS,),
        ("Yes please, I'm not an admin myself." + THANKS,),
        ("Requester is not an admin — confirmed with the account admin.",),
        ("Hi {first},\n\nThe role 'Sales' with team access does it; your admin has updated it." + REGARDS,),
    ),
    Topic(
        "feature", "Support", 6, {"task": 70, "question": 30}, ("feature-request",),
        ("Feature request: {feature}", "Is {feature} on the roadmap?", "Suggestion: {feature}"),
        (HELLO + "It would help us a lot to have {feature}. Is that planned?" + THANKS,),
        ("Hi {first},\n\nThanks for the suggestion — could you tell me more about how your team would use it?"
         + REGARDS,),
        ("We'd use it every week for our reviews." + THANKS,),
        ("Added their vote to the roadmap item.", "Third request for this feature this month."),
        ("Hi {first},\n\nI've passed this to our product team and added your vote; we'll let you know when it ships."
         + REGARDS,),
    ),
    Topic(
        "training", "Support", 3, {"task": 100}, ("training",),
        ("Training session for new hires", "Onboarding call for our team"),
        (HELLO + "We have {n} new people joining. Can we book an onboarding session?" + THANKS,),
        ("Hi {first},\n\nOf course. Which days next week work for you?" + REGARDS,),
        ("Tuesday or Thursday morning." + THANKS,),
        ("Booked with the customer success team.",),
        ("Hi {first},\n\nThe session is booked for Thursday at 10:00; the invitation is in your inbox." + REGARDS,),
    ),
    Topic(
        "privacy", "Support", 2, {"task": 100}, ("gdpr",),
        ("GDPR data request", "Delete my personal data", "Data processing agreement"),
        (HELLO + "Under GDPR I'd like a copy of all personal data you hold about me." + THANKS,
         HELLO + "Please send us your data processing agreement for signature." + THANKS),
        ("Hi {first},\n\nTo protect your data we need to verify your identity; please reply from {email}."
         + REGARDS,),
        ("Replying from that address now." + THANKS,),
        ("Identity verified; export requested from the privacy tools.",),
        ("Hi {first},\n\nYour data export is ready; the link in the separate email is valid for 7 days." + REGARDS,),
    ),
)  # fmt: skip

FEATURES = ("a Gantt view of tasks", "SMS reminders", "dark mode", "a Slack integration", "custom report charts")
PLANS = ("Professional", "Business", "Enterprise")
ERRORS = ("500", "502", "422", "429", "401")
HOLD_NOTES = (
    "Waiting for engineering before we can answer.",
    "On hold until the vendor confirms the fix.",
    "Waiting on finance to approve.",
)

# (name, body, set_status, set_priority, add_tags)
CANNED_REPLIES: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    ("Greeting — looking into it",
     'Hi {{ contact.first_name|default:"there" }},\n\nThanks for reaching out about "{{ ticket.subject }}". '
     "I'm looking into it and will get back to you shortly.\n\nBest regards,\n{{ agent.name }}", "open", "", ()),
    ("Need more information",
     'Hi {{ contact.first_name|default:"there" }},\n\nTo help you with ticket #{{ ticket.number }}, could you send '
     "a screenshot and the steps that lead to the problem?\n\nThanks,\n{{ agent.name }}", "pending", "", ()),
    ("Solved — anything else?",
     'Hi {{ contact.first_name|default:"there" }},\n\nI\'ve marked this as solved. If anything else comes up, just '
     "reply to this email and the ticket reopens.\n\nBest regards,\n{{ agent.name }}", "solved", "", ()),
    ("Password reset steps",
     'Hi {{ contact.first_name|default:"there" }},\n\nUse "Forgot password?" on the sign-in page; the link is '
     "valid for one hour. If the email doesn't arrive, check your spam folder.\n\n{{ agent.name }}",
     "pending", "", ("login",)),
    ("Invoice copy sent",
     'Hi {{ contact.first_name|default:"there" }},\n\nYou\'ll find the invoice attached. Invoices are also under '
     "Settings → Billing.\n\nBest regards,\n{{ agent.name }}", "solved", "", ("billing",)),
    ("Refund issued",
     'Hi {{ contact.first_name|default:"there" }},\n\nThe refund has been issued and will show on your statement '
     "within 5 to 10 business days.\n\n{{ agent.name }}", "solved", "", ("billing", "refund")),
    ("Escalated to engineering",
     'Hi {{ contact.first_name|default:"there" }},\n\nI\'ve escalated ticket #{{ ticket.number }} to our '
     "engineering team; I'll update you as soon as I hear back.\n\n{{ agent.name }}", "on_hold", "high",
     ("escalated",)),
    ("Known incident",
     'Hi {{ contact.first_name|default:"there" }},\n\nWe are aware of an incident affecting this feature and are '
     "working on a fix; follow the status page for updates.\n\n{{ agent.name }}", "on_hold", "", ("incident",)),
    ("Feature request logged",
     'Hi {{ contact.first_name|default:"there" }},\n\nThanks for the idea! I\'ve logged it for our product team '
     "with your vote.\n\n{{ agent.name }}", "solved", "low", ("feature-request",)),
    ("CSV import tips",
     'Hi {{ contact.first_name|default:"there" }},\n\nSave the file as "CSV UTF-8", keep one header row, and map '
     "the columns on the second step of the import.\n\n{{ agent.name }}", "pending", "", ("import",)),
)  # fmt: skip

GOOD_COMMENTS = (
    "Quick and friendly, thank you!",
    "Solved in minutes. Great service.",
    "Very clear explanation.",
    "Thanks for following up so fast.",
    "",
    "",
)
MIXED_COMMENTS = ("Took a while but it works now.", "OK, though I had to explain twice.", "")
BAD_COMMENTS = (
    "Waited days for an answer.",
    "The problem is still not really fixed.",
    "I had to chase you several times.",
    "Nobody told me what was going on.",
)
